"""The network a fit trains, and the weights it starts from.

``Model`` describes what is trained (units per layer, activations, loss, L2 and
dropout); ``starting_weights`` gives the weights a fit starts from: drawn by the
initializer, or (warm start, partial_fit, weights assigned before a first fit)
checked copies of the given ones, so the caller's arrays are never changed.

Weights are drawn on the host with the fit's ``random_state``, as for NumPy input,
and then moved to X's namespace and device: a fit on any namespace starts from the
same numbers.
"""

from numbers import Integral
from typing import NamedTuple

import numpy as np

from .._core.init import initializer
from .._core.layers import Dense
from .._core.network import forward, network_shapes, network_widths
from .._core.xp import device, host_dtype, is_numpy, namespace, to_namespace

__all__ = [
    "Model", "architecture_changed", "checked_weights", "hidden_layer_sizes",
    "network_output", "per_hidden_layer", "starting_weights"
]


class Model(NamedTuple):
    """What training differentiates, apart from the parameters: the layers (``_core.layers``)
    on inputs of ``n_features`` columns, the loss, the L2 penalty and the dropout."""

    n_features: int
    layers: tuple  # the network's layers, the output layer last
    loss: object  # a loss name or a Loss (see _core.losses.get_loss)
    alpha: float  # L2 penalty
    dropout: list  # one rate per hidden Dense layer, on the next Dense layer's input

    @property
    def shapes(self):
        """The shapes of every layer's parameters (``_core.network.network_shapes``)."""
        return network_shapes(self.layers, self.n_features)

    @property
    def widths(self):
        """The width of the input and of every layer's output."""
        return network_widths(self.layers, self.n_features)

    @property
    def perceptron(self):
        """``(layer_units, activations)`` when every layer is Dense (what the
        per-row path and the fused kernels write out), else None."""
        if not all(isinstance(layer, Dense) for layer in self.layers):
            return None
        return self.widths, [layer.activation for layer in self.layers]

    @property
    def input_rates(self):
        """The dropout rate on each layer's input, or None where none is drawn:
        each hidden Dense layer's rate on the input of the Dense layer after it
        (never on the network's inputs, nor between other layers)."""
        rates, dense = [], 0
        for layer in self.layers:
            is_dense = isinstance(layer, Dense)
            rates.append(self.dropout[dense - 1] if is_dense and dense else None)
            dense += is_dense
        return rates

    def output(self, params, X):
        """Output-layer values ``(A_L, Z_L)`` of the network on X."""
        return network_output(self.layers, params, X)


def network_output(layers, params, X):
    """Output-layer values ``(A_L, Z_L)`` of a network on X (what predictions
    need: the hidden layers' values are not kept)."""
    outputs, net_inputs = forward(X, layers, params, keep=False)
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
    """The parameters to start from (one list per layer), in X's dtype, namespace
    and device: ``given`` (one list per layer) checked against the model and
    copied, or else drawn layer by layer, each with ``weight_init`` and ``rng``."""
    if given is not None:
        return checked_weights(given, model, X.dtype, copy=True, warm_start=warm_start,
                               like=X)
    init, dtype = initializer(weight_init), host_dtype(X)
    xp, where = namespace(X), device(X)
    params = []
    for layer, fan_in, gain in zip(model.layers, model.widths, _gains(model.layers)):
        drawn = layer.initial_parameters(fan_in, init, rng, gain)
        params.append([to_namespace(np.asarray(p).astype(dtype, copy=False), xp, where)
                       for p in drawn])
    return params


def _gains(layers):
    """The activation that sets each layer's Glorot bound: a hidden layer's own; the
    output layer takes the last hidden Dense layer's, as sklearn does (a network
    without hidden layers, its own)."""
    dense = [layer.activation for layer in layers if isinstance(layer, Dense)]
    hidden = dense[:-1]
    gains, seen = [], 0
    for layer in layers:
        if isinstance(layer, Dense):
            seen += 1
            last = seen == len(dense)
            gains.append((hidden[-1] if hidden else layer.activation) if last
                         else layer.activation)
        else:
            gains.append(None)
    return gains


def checked_weights(params, model, dtype, copy, warm_start=False, like=None):
    """The parameters (one list per layer) as C-contiguous ``dtype`` arrays (copies
    with ``copy``) in the namespace and on the device of the array ``like`` (NumPy
    if None), after checking that they fit the model's layers; ``warm_start`` words
    the errors for a fitted model whose architecture was changed since."""
    expected = model.shapes
    if not isinstance(params, (list, tuple)) or not all(
            isinstance(p, (list, tuple)) for p in params):
        raise TypeError(
            "To start from given weights, set coefs_ and intercepts_ to lists of "
            f"{len(model.layers)} arrays each (one per layer).")
    shapes = [[np.shape(p) for p in ps] for ps in params]
    if shapes != [list(map(tuple, s)) for s in expected]:
        raise ValueError(_mismatch(shapes, expected, model, warm_start))
    xp = np if like is None else namespace(like)
    if is_numpy(xp):
        return [[np.array(p, dtype=dtype, order="C", copy=copy or None) for p in ps]
                for ps in params]
    where = device(like)
    return [[xp.asarray(p, dtype=dtype, device=where, copy=copy or None) for p in ps]
            for ps in params]


def _mismatch(shapes, expected, model, warm_start):
    """Why the given parameters do not fit the network, and the fix."""
    layer_units = model.widths
    if warm_start:
        dense = [s[0] for s in shapes if len(s) == 2 and len(s[0]) == 2]
        given = ([s[0] for s in dense] + [dense[-1][1]] if model.perceptron and dense
                 else shapes)
        return architecture_changed(given, layer_units)
    if len(shapes) != len(expected):
        return (f"The network has {len(expected)} layers of weights (units per "
                f"layer: {layer_units}), but coefs_ and intercepts_ give "
                f"{len(shapes)}. Match hidden_layer_sizes to the given weights.")
    for layer, (got, want) in enumerate(zip(shapes, expected)):
        if len(got) != len(want):
            return f"layer {layer + 1} has {len(want)} parameter arrays, not {len(got)}."
    dense = [sum(isinstance(x, Dense) for x in model.layers[:l]) for l in range(
        len(model.layers))]  # a layer's index among the Dense ones: coefs_[i]
    for k in range(max(map(len, expected))):  # (pack's order: every W, then every b)
        for layer, (got, want) in enumerate(zip(shapes, expected)):
            if k < len(want) and tuple(got[k]) != tuple(want[k]):
                spec = model.layers[layer]
                index = dense[layer] if isinstance(spec, Dense) else layer
                return _wrong_shape(spec, spec.parameter_names[k], index, tuple(got[k]),
                                    tuple(want[k]))
    raise AssertionError("unreachable: the shapes differ somewhere")


def architecture_changed(given, asked):
    """The error of a warm start (or partial_fit) whose fitted network (``given``:
    units per layer, or parameter shapes) is not the one the parameters and data
    now ask for."""
    return (
        f"warm_start=True continues from the fitted weights, whose "
        f"{'units per layer' if np.ndim(given[0]) == 0 else 'shapes'} are {given}, "
        f"but the parameters and data now ask for {asked}.\nFix: set "
        "warm_start=False to train the new network from scratch, or set "
        "hidden_layer_sizes back to match the fitted weights.")


def _wrong_shape(layer, name, index, got, want):
    """A parameter of the wrong shape, as the user knows it: coefs_[l] and
    intercepts_[l] for a Dense layer's W and b (l counts Dense layers, as the
    lists do), else by its layer and name."""
    if name == "W" and isinstance(layer, Dense):
        return (f"coefs_[{index}] (layer {index} -> {index + 1}) has shape {got}; it "
                f"must be {want} = (units in layer {index}, units in layer "
                f"{index + 1}).")
    if name == "b" and isinstance(layer, Dense):
        return (f"intercepts_[{index}] (layer {index + 1}) has shape {got}; it must "
                f"be {want}, one bias per unit of layer {index + 1}.")
    return (f"{name} of layer {index + 1} ({layer.kind}) has shape {got}; it must be "
            f"{want}.")
