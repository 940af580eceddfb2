"""The network a fit trains, and the weights it starts from.

``Model`` describes what is trained (units per layer, activations, loss, L2 and
dropout); ``starting_weights`` gives the weights a fit starts from: drawn by the
initializer, or (warm start, partial_fit, weights assigned before a first fit)
checked copies of the given ones, so the caller's arrays are never changed.

Weights are drawn on the host with the fit's ``random_state``, as for NumPy input,
and then moved to X's namespace and device: a fit on any namespace starts from the
same numbers.
"""

from itertools import pairwise
from numbers import Integral
from typing import NamedTuple

import numpy as np

from .._core.init import initialize
from .._core.network import forward
from .._core.xp import device, host_dtype, is_numpy, namespace, to_namespace

__all__ = [
    "Model", "checked_weights", "hidden_layer_sizes", "network_output", "per_hidden_layer",
    "starting_weights"
]


class Model(NamedTuple):
    """What training differentiates, apart from the weights."""

    layer_units: list  # units per layer, inputs first
    activations: list  # one per layer of weights, the output layer's last
    loss: object  # a loss name or a Loss (see _core.losses.get_loss)
    alpha: float  # L2 penalty
    dropout: list  # one rate per hidden layer

    def output(self, coefs, intercepts, X):
        """Output-layer values ``(A_L, Z_L)`` of the network on X."""
        return network_output(coefs, intercepts, self.activations, X)


def network_output(coefs, intercepts, activations, X):
    """Output-layer values ``(A_L, Z_L)`` of a network on X (what predictions
    need: the hidden layers' values are not kept)."""
    outputs, net_inputs = forward(X, coefs, intercepts, activations, keep=False)
    return outputs[-1], net_inputs[-1]


def hidden_layer_sizes(sizes):
    """The ``hidden_layer_sizes`` parameter as a list of positive integers."""
    sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
    if not all(isinstance(s, Integral) and s > 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must hold positive integers, got {sizes}.")
    return sizes


def per_hidden_layer(name, value, n_hidden, valid, allowed, kind):
    """A parameter given once for all hidden layers or as a list (or array) with one
    entry per hidden layer, as a list of ``kind``; every entry must pass ``valid``."""
    many = isinstance(value, (list, tuple, np.ndarray))
    values = list(np.ravel(value)) if many else [value] * n_hidden
    if len(values) != n_hidden or not all(valid(v) for v in values):
        raise ValueError(
            f"{name} must be {allowed} or a list of them, one per hidden layer "
            f"({n_hidden} here); got {value!r}.")
    return [kind(v) for v in values]


def starting_weights(model, weight_init, X, rng, given=None, warm_start=False):
    """``(coefs, intercepts)`` to start from, in X's dtype, namespace and device:
    ``given`` (a pair of lists of arrays) checked against the model and copied, or
    else drawn by ``weight_init`` with ``rng``."""
    if given is not None:
        return checked_weights(*given, model.layer_units, X.dtype, copy=True,
                               warm_start=warm_start, like=X)
    hidden = model.activations[:-1]
    # Glorot's bound depends on the layer's activation; the output layer takes the
    # last hidden layer's, as sklearn does (a network without hidden layers, its own).
    init_activations = [*hidden, hidden[-1] if hidden else model.activations[-1]]
    coefs, intercepts = initialize(model.layer_units, weight_init, init_activations,
                                   rng, host_dtype(X))
    xp, where = namespace(X), device(X)
    return ([to_namespace(W, xp, where) for W in coefs],
            [to_namespace(b, xp, where) for b in intercepts])


def checked_weights(coefs, intercepts, layer_units, dtype, copy, warm_start=False,
                    like=None):
    """The weights as lists of C-contiguous ``dtype`` arrays (copies with ``copy``)
    in the namespace and on the device of the array ``like`` (NumPy if None),
    after checking that they fit ``layer_units``; ``warm_start`` words the errors
    for a fitted model whose architecture was changed since."""
    n_layers = len(layer_units) - 1
    if not isinstance(coefs, (list, tuple)) or not isinstance(intercepts, (list, tuple)):
        raise TypeError(
            "To start from given weights, set coefs_ and intercepts_ to lists of "
            f"{n_layers} arrays each (one per layer).")
    shapes = [np.shape(W) for W in coefs], [np.shape(b) for b in intercepts]
    expected = ([(i, o) for i, o in pairwise(layer_units)],
                [(o,) for o in layer_units[1:]])
    if shapes != expected:
        raise ValueError(_mismatch(shapes, expected, layer_units, warm_start))
    xp = np if like is None else namespace(like)
    if is_numpy(xp):
        return ([np.array(W, dtype=dtype, order="C", copy=copy or None) for W in coefs],
                [np.array(b, dtype=dtype, copy=copy or None) for b in intercepts])
    where = device(like)
    return ([xp.asarray(W, dtype=dtype, device=where, copy=copy or None) for W in coefs],
            [xp.asarray(b, dtype=dtype, device=where, copy=copy or None)
             for b in intercepts])


def _mismatch(shapes, expected, layer_units, warm_start):
    """Why the given weights do not fit the network, and the fix."""
    given_units = [s[0] for s in shapes[0]] + [s[-1] for s in shapes[0][-1:]]
    if warm_start:
        return (
            f"warm_start=True continues from the fitted weights, whose units per layer "
            f"are {given_units}, but the parameters and data now ask for "
            f"{layer_units}.\nFix: set warm_start=False to train the new network from "
            "scratch, or set hidden_layer_sizes back to match the fitted weights.")
    if len(shapes[0]) != len(expected[0]) or len(shapes[1]) != len(expected[1]):
        return (f"The network has {len(expected[0])} layers of weights (units per "
                f"layer: {layer_units}), but coefs_ has {len(shapes[0])} arrays and "
                f"intercepts_ {len(shapes[1])}. Match hidden_layer_sizes to the given "
                "weights.")
    for layer, (got, want) in enumerate(zip(shapes[0], expected[0])):
        if got != want:
            return (f"coefs_[{layer}] (layer {layer} -> {layer + 1}) has shape {got}; "
                    f"it must be {want} = (units in layer {layer}, units in layer "
                    f"{layer + 1}).")
    for layer, (got, want) in enumerate(zip(shapes[1], expected[1])):
        if got != want:
            return (f"intercepts_[{layer}] (layer {layer + 1}) has shape {got}; it "
                    f"must be {want}, one bias per unit of layer {layer + 1}.")
    raise AssertionError("unreachable: the shapes differ somewhere")
