"""The math core: activations, losses, layers, the network's forward and
backward passes, optimizers and initialisers, written once in Array API calls."""

from . import tabular  # noqa: F401  (registers the tabular layers in ``layers.LAYERS``)
