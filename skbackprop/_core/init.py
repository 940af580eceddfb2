"""Initial weights and biases, one layer at a time.

Layers are drawn in order, each as its weights then its biases, so that the same
``random_state`` gives the same start as sklearn's MLP under ``"glorot_uniform"``.
"""

from numbers import Real

import numpy as np

from .activations import ACTIVATIONS

__all__ = ["glorot_uniform", "he_uniform", "initializer", "uniform"]


def glorot_uniform(fan_in, fan_out, rng, activation):
    """W, b ~ U(-r, r) with r = sqrt(g / (fan_in + fan_out)), g the activation's gain
    (``Activation.gain``: 6, and 2 for logistic units), as sklearn's MLP (Glorot &
    Bengio, 2010)."""
    bound = np.sqrt(ACTIVATIONS[activation].gain / (fan_in + fan_out))
    return (
        rng.uniform(-bound, bound, (fan_in, fan_out)),
        rng.uniform(-bound, bound, fan_out),
    )


def he_uniform(fan_in, fan_out, rng, activation):
    """W ~ U(-r, r) with r = sqrt(6 / fan_in) (He et al., 2015), b = 0."""
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, (fan_in, fan_out)), np.zeros(fan_out)


def uniform(fan_in, fan_out, rng, activation):
    """W, b ~ U[0, 1), as in the lab seed."""
    return rng.uniform(size=(fan_in, fan_out)), rng.uniform(size=fan_out)


INITIALIZERS = {
    "glorot_uniform": glorot_uniform,
    "he_uniform": he_uniform,
    "uniform": uniform,
}


def _constant(value):
    def init(fan_in, fan_out, rng, activation):
        return np.full((fan_in, fan_out), float(value)), np.zeros(fan_out)

    return init


def _from_callable(func):
    def init(fan_in, fan_out, rng, activation):
        W = np.asarray(func((fan_in, fan_out), rng), dtype=float)
        b = np.asarray(func((fan_out,), rng), dtype=float)
        for name, got, want in (("weights", W, (fan_in, fan_out)), ("biases", b, (fan_out,))):
            if got.shape != want:
                raise ValueError(
                    f"weight_init callable returned {name} of shape {got.shape} for "
                    f"shape={want}; it must return an array of exactly the shape it is "
                    "given."
                )
        return W, b

    return init


def initializer(weight_init):
    """``init(fan_in, fan_out, rng, activation) -> (W, b)`` for the ``weight_init``
    parameter: a name, a constant or a callable ``f(shape, rng)``."""
    if callable(weight_init):
        return _from_callable(weight_init)
    if isinstance(weight_init, Real):
        return _constant(weight_init)
    return INITIALIZERS[weight_init]
