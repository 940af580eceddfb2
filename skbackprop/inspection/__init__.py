"""Look inside a network: the teaching tools and the pictures.

Every function here takes a ``BackpropRegressor``, a ``BackpropClassifier``, or a
``Pipeline`` whose last step is one, or is a Pipeline ending in one (read at that
step, with X passed through the steps before it); an unfitted one is read at the
starting weights a fit would use.

- :func:`backprop_trace`: every number of one forward and backward pass, by name,
  and the chain-rule walk-through as text.
- :func:`check_gradients`: backprop's gradients against finite differences.
- :func:`epoch_source`: the Python source of the per-row SGD epoch for a network,
  one line per unit and weight.
- :func:`n_parameters`: how many weights and biases a network has.
- :class:`NetworkDisplay`, :class:`LossCurveDisplay`: the network and its loss
  curves, drawn (the ``plots`` extra).
- :class:`WeightSnapshots` and :class:`TrainingAnimation`: weights recorded epoch
  by epoch, and training on two-feature data animated as a GIF.
"""

from collections.abc import Sequence
from numbers import Integral

import numpy as np

from .._core.network import n_parameters as _units_parameters
from .._engine.rowwise import epoch_source as _epoch_source
from .._engine.rowwise import update_rule as _update_rule
from .._engine.rowwise import writable as _writable
from .._engine.rowwise import written_activations as _written_activations
from .._engine.start import Model as _Model
from ._animation import TrainingAnimation, WeightSnapshots
from ._display import LossCurveDisplay, NetworkDisplay
from ._gradcheck import check_gradients
from ._trace import BackpropTrace, backprop_trace
from ._trace import training_problem as _training_problem
from ._unwrap import backprop_estimator as _backprop_estimator

__all__ = [
    "BackpropTrace", "LossCurveDisplay", "NetworkDisplay", "TrainingAnimation",
    "WeightSnapshots", "backprop_trace", "check_gradients", "epoch_source",
    "n_parameters",
]


def n_parameters(estimator_or_units):
    """The number of weights and biases of a network.

    Parameters
    ----------
    estimator_or_units : fitted estimator, Pipeline, or sequence of int
        A fitted BackpropRegressor or BackpropClassifier (or a Pipeline ending in
        one), or the units per layer, inputs first: at least two positive
        integers.

    Returns
    -------
    n : int

    Examples
    --------
    >>> from skbackprop.inspection import n_parameters
    >>> n_parameters((2, 2, 1))  # the tutorial's network: 4 + 2 + 2 + 1
    9
    """
    if hasattr(estimator_or_units, "fit"):
        model, _ = _backprop_estimator(estimator_or_units, caller="n_parameters")
        if not hasattr(model, "coefs_"):
            raise ValueError("n_parameters needs a fitted estimator, or the units per "
                             "layer (inputs first), such as (2, 2, 1).")
        return sum(int(p.size) for ps in model._fitted_network()[1] for p in ps)
    return int(_units_parameters(_checked_units(estimator_or_units)))


def _checked_units(units):
    """``units`` as a list of ints, refused unless a sequence of at least two
    positive integers (a string is no sequence of units)."""
    fix = ("Fix: pass the units per layer, inputs first, as a sequence of at least "
           "two positive integers such as (2, 2, 1), or a fitted estimator.")
    if isinstance(units, (str, bytes)) or not isinstance(units, (Sequence, np.ndarray)):
        raise TypeError(f"n_parameters got {type(units).__name__} {units!r}.\n{fix}")
    units = list(units)
    wrong = [k for k in units if isinstance(k, (bool, np.bool_))
             or not isinstance(k, (Integral, np.integer)) or k < 1]
    if wrong or len(units) < 2:
        problem = (f"{wrong[0]!r} is not a positive integer" if wrong else
                   "a network has at least an input and an output layer")
        raise ValueError(f"n_parameters got units {units!r}: {problem}.\n{fix}")
    return [int(k) for k in units]


def epoch_source(estimator, X=None, y=None, *, sample_weight=None, classes=None):
    """The Python source of one epoch of per-row SGD for an estimator's network.

    With ``solver="sgd"`` and ``batch_size=1``, a network of at most 500 weights and
    biases (see :func:`skbackprop.rowwise_limit`) trains on Python floats: the
    forward pass, the errors sent back and every weight's update are written out for
    that network, one line each, as the tutorials do on paper, and that code is what
    runs. This returns it, for the network's sizes, activations, loss, momentum and
    ``alpha``.

    Parameters
    ----------
    estimator : BackpropRegressor, BackpropClassifier or Pipeline
        Fitted, or not (then X and y give the network's sizes, as in fit).
    X, y : array-like, default=None
        Needed for an unfitted estimator.
    sample_weight : array-like, default=None
        Given, the epoch takes each row's weight.
    classes : array-like, default=None
        For an unfitted classifier on rows that miss some classes.

    Returns
    -------
    source : str
        The definition of ``epoch(X, Y, S, order, theta, velocity, learning_rate,
        momentum, alpha)``.

    Examples
    --------
    >>> from skbackprop import BackpropRegressor
    >>> from skbackprop.inspection import epoch_source
    >>> from skbackprop.datasets import load_placement
    >>> X, y = load_placement(return_X_y=True)
    >>> reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
    ...                         solver="sgd", momentum=0, alpha=0)
    >>> source = epoch_source(reg, X, y)
    >>> "z2_0 = a1_0 * w2_0_0 + a1_1 * w2_1_0 + b2_0" in source
    True
    >>> print([line.strip() for line in source.splitlines() if "d1_0 =" in line][0])
    d1_0 = d2_0 * w2_0_0
    """
    if X is None:
        model, _ = _backprop_estimator(estimator, caller="epoch_source")
        if not hasattr(model, "coefs_"):
            raise ValueError("epoch_source needs X and y for an unfitted estimator "
                             "(they give the network's sizes), or a fitted one.")
        weighted, settings = sample_weight is not None, model
        layers, loss = model._fitted_network()[0], model._loss_name()
        perceptron = _Model(model.n_features_in_, layers, loss, 0.0, []).perceptron
    else:
        problem = _training_problem(estimator, X, y, sample_weight, classes,
                                    caller="epoch_source")
        weighted, settings = problem.sample_weight is not None, problem.spec
        loss, perceptron = settings.loss, settings.model.perceptron
    units, activations = perceptron or ((), ("(layers other than Dense)",))
    if perceptron is None or not _writable(activations, loss):
        raise ValueError(
            f"The per-row path does not run this network (activations {activations}, "
            f"loss {loss!r}): it writes out {sorted(_written_activations())} with squared "
            "error, or an output activation matching a log loss; this network trains "
            "on the array path (see backprop_trace for its numbers).")
    return _epoch_source(tuple(units), tuple(activations), loss,
                         _update_rule(settings.momentum, settings.nesterovs_momentum),
                         bool(settings.alpha), weighted)
