"""Forward and backward pass of a network, as plain functions over its layers.

A network is a sequence of layers (``_core.layers``: the multi-layer perceptron's are
``Dense``) with their parameters; for the perceptron, three lists of equal length,
one entry per layer ``l = 1 .. L``: ``coefs[l]`` (the weights ``W_l``, shape
fan_in x fan_out), ``intercepts[l]`` (the biases ``b_l``) and ``activations[l]``
(the name of ``f_l``, which gives the layer). With ``A_0 = X``:

    forward:   Z_l = A_{l-1} W_l + b_l,        A_l = f_l(Z_l)
    backward:  delta_L = dL/dZ_L               (from the loss, see ``output_delta``)
               dL/dW_l = A_{l-1}^T delta_l + alpha W_l / sum_i s_i
               dL/db_l = sum over rows of delta_l
               delta_{l-1} = (delta_l W_l^T) * f'_{l-1}(Z_{l-1})

each line the method of a layer (``forward``, ``backward``, ``delta``); this module
only sequences them. Dropout (training only) multiplies a layer's input by a mask,
``A_{l-1} * M_l`` with M_l = Bernoulli(1 - p) / (1 - p) (inverted dropout); the
backward pass then uses ``A_{l-1} * M_l`` in dL/dW_l and multiplies
``delta_l W_l^T`` by ``M_l``.

The passes work on arrays of any Array API namespace (``_core.xp``); the ``Workspace``
of preallocated buffers is NumPy's optimisation of the same calls.
"""

from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from .layers import Buffers, Dense, dense_layers
from .losses import output_delta, training_loss
from .xp import concat, copy, flat, namespace, scalar

__all__ = [
    "Workspace", "backward", "forward", "keeps_net_input", "loss_and_gradients",
    "make_workspace", "n_parameters", "network_units", "pack", "unpack"
]


class Workspace(NamedTuple):
    """The arrays training steps work on, allocated once per fit for batches of up to
    ``batch_size`` rows (a smaller batch uses their leading rows), so that a step
    allocates nothing. The parameters, their gradients and the optimizer's scratch
    space are each one flat vector, with every W_l and b_l a view into it (in
    ``pack`` order), so that an optimizer updates all of them in a few array
    operations. Every function below also runs without a workspace (``None``),
    allocating its results: the same operations in the same order, the same numbers.
    """

    batch_size: int
    X: np.ndarray  # a shuffled batch's rows, gathered here (batch, n_features)
    Y: np.ndarray  # and its targets (batch, n_outputs)
    net_inputs: list  # Z_l (batch, units_l); A_l overwrites it unless Z_l is kept
    outputs: list  # A_l where Z_l is kept, else None
    deltas: list  # dL/dZ_l (batch, units_l)
    params: np.ndarray  # all parameters; coefs and intercepts are views into it
    coefs: list
    intercepts: list
    grad: np.ndarray  # dL/dparams; coef_grads and intercept_grads are views into it
    coef_grads: list
    intercept_grads: list
    scratch: np.ndarray  # for the L2 gradient (coef_scratch) and the optimizers
    coef_scratch: list
    ones: np.ndarray  # (batch,) of 1: column sums as a matrix-vector product
    # the fused kernels (``_engine.fused``), or None: NumPy's calls. Their
    # add_bias_activate(Z, b, name) and times_derivative(delta, A, name) do the
    # work in place and return True, or return False where they have no loop
    kernels: object = None
    layers: list = ()  # each layer's Buffers: views of the arrays above


def keeps_net_input(name, is_output_layer):
    """Whether the forward pass keeps a layer's net input Z next to its output A
    (``Dense.keeps_net_input``)."""
    return Dense(name, is_output_layer).keeps_net_input()


@lru_cache(maxsize=256)
def _dense_layers(activations):
    return tuple(dense_layers(activations))


def layers_of(activations):
    """The layers of a perceptron with these activations (one per layer of weights,
    the output layer's last): its ``Dense`` layers, built once per network."""
    return _dense_layers(tuple(activations))


def network_units(coefs):
    """Units per layer, inputs first, of the network with weights ``coefs``."""
    return [W.shape[0] for W in coefs] + [coefs[-1].shape[1]]


def n_parameters(layer_units):
    """Weights and biases of a network with these units per layer, inputs first."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in pairwise(layer_units))


def make_workspace(coefs, intercepts, activations, batch_size, kernels=None):
    """A ``Workspace`` holding a copy of the network's parameters; steps in it use
    the fused ``kernels`` where they apply (see ``_engine.fused``)."""
    units_per_layer = network_units(coefs)
    dtype = coefs[0].dtype

    def zeros(*shape):
        # zeros, not np.empty: BLAS writes a product into its output as 0 x (what was
        # there) + A @ B; garbage NaNs there raise the CPU's invalid flag, which
        # training reads as a numerical problem (a spurious warning, found in 2026-12)
        return np.zeros(shape, dtype=dtype)

    units = units_per_layer[1:]
    last = len(units) - 1
    params = pack(coefs, intercepts)
    grad, scratch = np.zeros_like(params), np.zeros_like(params)
    coef_views, intercept_views = unpack(params, units_per_layer)
    coef_grads, intercept_grads = unpack(grad, units_per_layer)
    ws = Workspace(
        batch_size,
        X=zeros(batch_size, units_per_layer[0]),
        Y=zeros(batch_size, units_per_layer[-1]),
        net_inputs=[zeros(batch_size, k) for k in units],
        outputs=[zeros(batch_size, k) if keeps_net_input(name, layer == last) else None
                 for layer, (k, name) in enumerate(zip(units, activations))],
        deltas=[zeros(batch_size, k) for k in units],
        params=params,
        coefs=coef_views,
        intercepts=intercept_views,
        grad=grad,
        coef_grads=coef_grads,
        intercept_grads=intercept_grads,
        scratch=scratch,
        coef_scratch=unpack(scratch, units_per_layer)[0],
        ones=np.ones(batch_size, dtype=dtype),
        kernels=kernels,
    )
    return ws._replace(layers=[
        Buffers(ws.net_inputs[l], ws.outputs[l], ws.deltas[l - 1] if l else None,
                ws.coef_grads[l], ws.intercept_grads[l], ws.coef_scratch[l], ws.ones,
                kernels) for l in range(len(units))])


def forward(X, coefs, intercepts, activations, keep=True, masks=None, workspace=None,
            keep_all=False):
    """Run the forward pass.

    Returns ``(outputs, net_inputs)``: ``outputs[0]`` is ``X`` and ``outputs[l]`` is
    ``A_l``; ``net_inputs[l - 1]`` is ``Z_l`` where it must be kept (the output layer,
    for the losses computed from logits, and activations whose derivative needs it;
    every layer with ``keep_all``, for the backprop trace), else None. With
    ``keep=False`` only the output layer's are kept (``outputs == [A_L]``,
    ``net_inputs == [Z_L]``): all prediction needs.
    ``masks[l]``, where not None, is layer l's dropout mask on its input.
    """
    layers = layers_of(activations)
    buffers = workspace.layers if workspace else [None] * len(layers)
    outputs, net_inputs = [X], []
    for l, (layer, W, b, buffer) in enumerate(zip(layers, coefs, intercepts, buffers)):
        A_in = outputs[-1] if masks is None else _layer_input(outputs[-1], masks, l)
        A, Z = layer.forward(A_in, W, b, buffer, keep=keep_all)
        if keep:
            outputs.append(A)
            net_inputs.append(Z)
        else:
            outputs, net_inputs = [A], [Z]
    return outputs, net_inputs


def _layer_input(A, masks, layer):
    """A layer's input: the previous layer's output, through its dropout mask."""
    return A if masks[layer] is None else A * masks[layer]


def backward(outputs, net_inputs, delta, coefs, activations, alpha=0.0, sw_sum=1.0,
             masks=None, workspace=None, record=None):
    """Run the backward pass from the output layer's ``delta = dL/dZ_L``.

    ``outputs`` and ``net_inputs`` are what ``forward`` kept. Returns
    ``(coef_grads, intercept_grads)``,
    the gradients of the loss (including the L2 term) with respect to every ``W_l``
    and ``b_l``. A ``record`` dict receives copies of every layer's ``delta``
    (``record["deltas"][l - 1]`` is dL/dZ_l) and of the error arriving at each hidden
    layer's output before its local derivative (``record["upstream"][l - 1]`` is
    dL/dA_l = delta_{l+1} W_{l+1}^T), for the backprop trace.
    """
    layers = layers_of(activations)
    buffers = workspace.layers if workspace else [None] * len(layers)
    kernels = workspace and workspace.kernels
    grads = [None] * len(layers)
    if record is not None:
        record["deltas"], record["upstream"] = [None] * len(layers), [None] * len(layers)
    for l in reversed(range(len(layers))):
        if record is not None:
            record["deltas"][l] = copy(delta)
        A_in = outputs[l] if masks is None else _layer_input(outputs[l], masks, l)
        grads[l], upstream = layers[l].backward(delta, A_in, coefs[l], alpha, sw_sum,
                                                buffers[l], upstream=l > 0)
        if l > 0:  # the error arriving at layer l-1's output, through its derivative
            if masks is not None and masks[l] is not None:
                upstream *= masks[l]
            if record is not None:
                record["upstream"][l - 1] = copy(upstream)
            delta = layers[l - 1].delta(upstream, outputs[l], net_inputs[l - 1], kernels)
    return [g[0] for g in grads], [g[1] for g in grads]


def loss_and_gradients(
    X, Y, sample_weight, coefs, intercepts, activations, loss, alpha, masks=None,
    workspace=None, record=None,
):
    """One forward and one backward pass over a batch.

    Returns ``(L, coef_grads, intercept_grads)`` where ``L`` is the (weighted) mean
    loss plus the L2 term, and the gradients are exactly ``dL/dW_l`` and ``dL/db_l``
    (of the network thinned by the dropout ``masks``, if any). With a ``workspace``
    the gradients are its arrays, overwritten by the next call. A ``record`` dict
    receives every intermediate value: ``outputs`` and ``net_inputs`` of every layer
    (from ``forward``), ``deltas`` and ``upstream`` (from ``backward``).
    """
    outputs, net_inputs = forward(X, coefs, intercepts, activations, masks=masks,
                                  workspace=workspace, keep_all=record is not None)
    if record is not None:
        record["outputs"], record["net_inputs"] = outputs, net_inputs
    A, Z_out = outputs[-1], net_inputs[-1]
    sw_sum = X.shape[0] if sample_weight is None else scalar(
        namespace(sample_weight).sum(sample_weight))
    value = training_loss(loss, Y, Z_out, A, sample_weight, coefs, alpha, sw_sum)
    delta = output_delta(loss, activations[-1], Y, A, Z_out,
                         out=workspace and workspace.deltas[-1][:X.shape[0]])
    if sample_weight is None:
        delta /= sw_sum
    else:
        delta *= (sample_weight / sw_sum)[:, None]
    coef_grads, intercept_grads = backward(
        outputs, net_inputs, delta, coefs, activations, alpha, sw_sum, masks, workspace,
        record,
    )
    return value, coef_grads, intercept_grads


def pack(coefs, intercepts):
    """All parameters as one vector: every W_l (row-major), then every b_l."""
    return concat([flat(p) for p in coefs + intercepts])


def unpack(theta, layer_units):
    """Inverse of ``pack`` for a network with the given units per layer."""
    coefs, intercepts, start = [], [], 0
    for fan_in, fan_out in pairwise(layer_units):
        coefs.append(namespace(theta).reshape(theta[start : start + fan_in * fan_out],
                                              (fan_in, fan_out)))
        start += fan_in * fan_out
    for fan_out in layer_units[1:]:
        intercepts.append(theta[start : start + fan_out])
        start += fan_out
    return coefs, intercepts
