"""Forward and backward pass of a network, as plain functions over its layers.

A network is a sequence of layers (``_core.layers``: the multi-layer perceptron's
are ``Dense``) and their parameters, ``params[l]`` the list of layer l's arrays
(``[W_l, b_l]`` for a Dense layer). For the perceptron, with ``A_0 = X`` and one
entry per layer ``l = 1 .. L``:

    forward:   Z_l = A_{l-1} W_l + b_l,        A_l = f_l(Z_l)
    backward:  delta_L = dL/dZ_L               (from the loss, see ``output_delta``)
               dL/dW_l = A_{l-1}^T delta_l + alpha W_l / sum_i s_i
               dL/db_l = sum over rows of delta_l
               delta_{l-1} = (delta_l W_l^T) * f'_{l-1}(Z_{l-1})

each line the method of a layer (``forward``, ``backward``, ``delta``); this module
only sequences them. Dropout (training only) multiplies a layer's input by a mask,
``A_{l-1} * M_l`` with M_l = Bernoulli(1 - p) / (1 - p) (inverted dropout); the
backward pass then uses ``A_{l-1} * M_l`` in dL/dW_l and multiplies
``delta_l W_l^T`` by ``M_l``. ``perceptron(coefs, intercepts, activations)`` gives
the layers and parameters of a perceptron written as scikit-learn's three lists.

The passes work on arrays of any Array API namespace (``_core.xp``); the ``Workspace``
of preallocated buffers is NumPy's optimisation of the same calls.
"""

import math
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from .layers import Buffers, matmul, perceptron_layers
from .losses import l2_penalty, output_delta, training_loss
from .xp import concat, copy, flat, namespace, scalar

__all__ = [
    "Workspace", "backward", "decayed", "first_array", "forward", "loop_layout",
    "loss_and_gradients", "make_workspace", "n_parameters", "network_shapes",
    "network_units", "network_widths", "pack", "perceptron", "unpack", "weight_sum"
]


class Workspace(NamedTuple):
    """The arrays training steps work on, allocated once per fit for batches of up to
    ``batch_size`` rows (a smaller batch uses their leading rows), so that a step
    allocates nothing. The parameters, their gradients and the optimizer's scratch
    space are each one flat vector, with every layer's arrays views into it (in
    ``pack`` order), so that an optimizer updates all of them in a few array
    operations. Every function below also runs without a workspace (``None``),
    allocating its results: the same operations in the same order, the same numbers.
    """

    batch_size: int
    X: np.ndarray  # a shuffled batch's rows, gathered here (batch, n_features)
    Y: np.ndarray  # and its targets (batch, n_outputs)
    deltas: list  # dL/dZ_l (batch, width_l)
    flat_params: np.ndarray  # all parameters; params[l] are views into it
    params: list
    grad: np.ndarray  # dL/dparams; each layer's Buffers hold views into it
    scratch: np.ndarray  # for the L2 gradient and the optimizers
    # the fused kernels (``_engine.fused``), or None: NumPy's calls. Their
    # add_bias_activate(Z, b, name) and times_derivative(delta, A, name) do the
    # work in place and return True, or return False where they have no loop
    kernels: object = None
    layers: list = ()  # each layer's Buffers: views of the arrays above
    terms: np.ndarray | None = None  # each row's loss (batch,), for the kernels


def perceptron(coefs, intercepts, activations):
    """``(layers, params)`` of the perceptron with weights ``coefs``, biases
    ``intercepts`` and one activation per layer (the output layer's last)."""
    layers = perceptron_layers([W.shape[1] for W in coefs], activations)
    return layers, [[W, b] for W, b in zip(coefs, intercepts)]


def network_widths(layers, n_features):
    """The width of the input and of every layer's output: ``[n_features, ...]``."""
    widths = [n_features]
    for layer in layers:
        widths.append(layer.width(widths[-1]))
    return widths


def network_shapes(layers, n_features):
    """The shapes of every layer's parameters, one list per layer."""
    widths = network_widths(layers, n_features)
    return [layer.parameter_shapes(fan_in) for layer, fan_in in zip(layers, widths)]


def network_units(coefs):
    """Units per layer, inputs first, of the perceptron with weights ``coefs``."""
    return [W.shape[0] for W in coefs] + [coefs[-1].shape[1]]


def n_parameters(layer_units):
    """Weights and biases of a perceptron with these units per layer, inputs first."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in pairwise(layer_units))


def first_array(params):
    """The first parameter array of the network (of its first layer that has
    any): what tells the namespace, device and dtype of all of them."""
    return next(p for ps in params for p in ps)


def decayed(layers, params):
    """The arrays the L2 penalty applies to (each layer's ``decayed``)."""
    return [p[i] for layer, p in zip(layers, params) for i in layer.decayed]


def make_workspace(layers, params, n_features, batch_size, kernels=None):
    """A ``Workspace`` holding a copy of the network's parameters, for inputs of
    ``n_features`` columns; steps in it use the fused ``kernels`` where they apply
    (see ``_engine.fused``)."""
    widths = network_widths(layers, n_features)
    dtype = first_array(params).dtype

    def zeros(*shape):
        # zeros, not np.empty: BLAS writes a product into its output as 0 x (what was
        # there) + A @ B; garbage NaNs there raise the CPU's invalid flag, which
        # training reads as a numerical problem (a spurious warning, found in 2026-12)
        return np.zeros(shape, dtype=dtype)

    shapes = [[np.shape(p) for p in ps] for ps in params]
    flat_params = pack(params)
    grad, scratch = np.zeros_like(flat_params), np.zeros_like(flat_params)
    views = unpack(flat_params, shapes)
    grads, scratches = unpack(grad, shapes), unpack(scratch, shapes)
    # A apart from Z for a layer that keeps Z (Dense's ``keeps_net_input``; a layer
    # without the method allocates its own output)
    outputs = [zeros(batch_size, k) if getattr(layer, "keeps_net_input", bool)() else None
               for layer, k in zip(layers, widths[1:])]
    deltas = [zeros(batch_size, k) for k in widths[1:]]
    ones = np.ones(batch_size, dtype=dtype)
    buffers = [Buffers(zeros(batch_size, k), outputs[l], deltas[l - 1] if l else None,
                       tuple(grads[l]), tuple(scratches[l]), ones, kernels, {})
               for l, k in enumerate(widths[1:])]
    return Workspace(batch_size, zeros(batch_size, widths[0]),
                     zeros(batch_size, widths[-1]), deltas, flat_params, views, grad,
                     scratch, kernels, buffers, zeros(batch_size))


def forward(X, layers, params, keep=True, masks=None, workspace=None, keep_all=False):
    """Run the forward pass.

    Returns ``(outputs, net_inputs)``: ``outputs[0]`` is ``X`` and ``outputs[l]`` is
    ``A_l``; ``net_inputs[l - 1]`` is ``Z_l`` where it must be kept (the output layer,
    for the losses computed from logits, and activations whose derivative needs it;
    every layer with ``keep_all``, for the backprop trace), else None. With
    ``keep=False`` only the output layer's are kept (``outputs == [A_L]``,
    ``net_inputs == [Z_L]``): all prediction needs.
    ``masks[l]``, where not None, is layer l's dropout mask on its input.
    """
    buffers = workspace.layers if workspace else [None] * len(layers)
    outputs, net_inputs = [X], []
    for l, (layer, p, buffer) in enumerate(zip(layers, params, buffers)):
        A_in = outputs[-1] if masks is None else _layer_input(outputs[-1], masks, l)
        A, Z = layer.forward(A_in, p, buffer, keep=keep_all)
        if keep:
            outputs.append(A)
            net_inputs.append(Z)
        else:
            outputs, net_inputs = [A], [Z]
    return outputs, net_inputs


def _layer_input(A, masks, layer):
    """A layer's input: the previous layer's output, through its dropout mask."""
    return A if masks[layer] is None else A * masks[layer]


def backward(outputs, net_inputs, delta, layers, params, alpha=0.0, sw_sum=1.0,
             masks=None, workspace=None, record=None):
    """Run the backward pass from the output layer's ``delta = dL/dZ_L``.

    ``outputs`` and ``net_inputs`` are what ``forward`` kept. Returns ``grads``,
    ``grads[l]`` the gradients of the loss (including the L2 term) with respect to
    each of layer l's parameters (``[dL/dW_l, dL/db_l]`` for a Dense layer). A
    ``record`` dict receives copies of every layer's ``delta``
    (``record["deltas"][l - 1]`` is dL/dZ_l) and of the error arriving at each hidden
    layer's output before its local derivative (``record["upstream"][l - 1]`` is
    dL/dA_l = delta_{l+1} W_{l+1}^T), for the backprop trace.
    """
    buffers = workspace.layers if workspace else [None] * len(layers)
    kernels = workspace and workspace.kernels
    grads = [None] * len(layers)
    if record is not None:
        record["deltas"], record["upstream"] = [None] * len(layers), [None] * len(layers)
    for l in reversed(range(len(layers))):
        if record is not None:
            record["deltas"][l] = copy(delta)
        A_in = outputs[l] if masks is None else _layer_input(outputs[l], masks, l)
        grads[l], upstream = layers[l].backward(delta, A_in, params[l], alpha, sw_sum,
                                                buffers[l], upstream=l > 0)
        if buffers[l] is not None:  # (a layer that allocated its gradients)
            grads[l] = _into_buffers(grads[l], buffers[l].grads, layers[l])
        if l > 0:  # the error arriving at layer l-1's output, through its derivative
            if masks is not None and masks[l] is not None:
                upstream *= masks[l]
            if record is not None:
                record["upstream"][l - 1] = copy(upstream)
            delta = layers[l - 1].delta(upstream, outputs[l], net_inputs[l - 1], kernels)
    return grads


def _into_buffers(grads, outs, layer):
    """A layer's gradients, in its views of the workspace's flat gradient (which
    the optimizer reads): those it returned in arrays of its own are copied there."""
    for g, out in zip(grads, outs, strict=True):
        if g is not out:
            if np.shape(g) != out.shape:
                raise ValueError(f"the {layer.kind} layer's backward gave a gradient of "
                                 f"shape {np.shape(g)} for a parameter of shape "
                                 f"{out.shape}")
            np.copyto(out, g)
    return list(outs)


def loss_and_gradients(X, Y, sample_weight, layers, params, loss, alpha, masks=None,
                       workspace=None, record=None, fold_l2=False):
    """One forward and one backward pass over a batch.

    Returns ``(L, grads)`` where ``L`` is the (weighted) mean loss plus the L2 term,
    and ``grads[l]`` are exactly the derivatives of L with respect to layer l's
    parameters (of the network thinned by the dropout ``masks``, if any). With a
    ``workspace`` the gradients are its arrays, overwritten by the next call. A
    ``record`` dict receives every intermediate value: ``outputs`` and
    ``net_inputs`` of every layer (from ``forward``), ``deltas`` and ``upstream``
    (from ``backward``). With ``fold_l2`` the gradients leave out the L2 term
    alpha W / sum_i s_i, which the caller's update adds (the fused kernels' pass).

    Where the workspace's kernels have a loop for the output layer's link and loss
    (``_engine.kernels.output_loss``; unweighted batches, nothing recorded), its
    bias, activation, loss and delta = (A - Y) / n are one pass over its rows.
    """
    fused = _fused_output(workspace, layers, sample_weight, record)
    outputs, net_inputs = forward(X, layers[:-1] if fused else layers, params,
                                  masks=masks, workspace=workspace,
                                  keep_all=record is not None)
    if record is not None:
        record["outputs"], record["net_inputs"] = outputs, net_inputs
    sw_sum = weight_sum(X, sample_weight)
    if fused:
        value, delta = _output_pass(X, Y, outputs, layers, params, masks, workspace)
        value += l2_penalty(decayed(layers, params), alpha, sw_sum)
    else:
        value, delta = _output_delta(X, Y, sample_weight, outputs, net_inputs, layers,
                                     params, loss, alpha, sw_sum, workspace)
    grads = backward(outputs, net_inputs, delta, layers, params,
                     0.0 if fold_l2 else alpha, sw_sum, masks, workspace, record)
    return value, grads


def weight_sum(X, sample_weight):
    """sum_i s_i over the batch X's rows (its number of rows without weights)."""
    if sample_weight is None:
        return X.shape[0]
    return scalar(namespace(sample_weight).sum(sample_weight))


def _output_delta(X, Y, sample_weight, outputs, net_inputs, layers, params, loss,
                  alpha, sw_sum, workspace):
    """``(L, delta)``: the training loss and dL/dZ at the output layer, averaged
    over the batch (``output_delta`` times s_i / sum_i s_i)."""
    A, Z_out = outputs[-1], net_inputs[-1]
    value = training_loss(loss, Y, Z_out, A, sample_weight, decayed(layers, params),
                          alpha, sw_sum)
    delta = output_delta(loss, layers[-1].activation, Y, A, Z_out,
                         out=workspace and workspace.deltas[-1][:X.shape[0]])
    if sample_weight is None:
        delta /= sw_sum
    else:
        delta *= (sample_weight / sw_sum)[:, None]
    return value, delta


def _fused_output(workspace, layers, sample_weight, record):
    """Whether the output layer runs in the kernels' one pass (see
    ``loss_and_gradients``)."""
    kernels = workspace and workspace.kernels
    return bool(kernels and kernels.output is not None and sample_weight is None
                and record is None and layers[-1].kind == "dense")


def _output_pass(X, Y, outputs, layers, params, masks, workspace):
    """``(mean loss, delta)`` of the output layer, Z = A_in W by BLAS, then its
    bias, link, loss and delta in one compiled pass; appends A to ``outputs``."""
    n, last = X.shape[0], len(layers) - 1
    (W, b), buffer = params[last], workspace.layers[last]
    A_in = outputs[-1] if masks is None else _layer_input(outputs[-1], masks, last)
    Z = matmul(A_in, W, out=buffer.net_input[:n])
    A = Z if buffer.output is None else buffer.output[:n]
    delta, terms = workspace.deltas[-1][:n], workspace.terms[:n]
    Y = loop_layout(Y)
    workspace.kernels.output_loss(Z, b, Y, A, delta, terms, n)
    outputs.append(A)
    # (np.add.reduce: what terms.sum() calls, without its Python wrapper)
    return scalar(np.add.reduce(terms) / n), delta


def loop_layout(A):
    """An array as the compiled loops (the kernels' output loop, the per-row epoch)
    are compiled for before training: row-major and writable. The rows of a
    column-major or read-only array (a memory map, as joblib's workers get) would
    compile another version in the middle of a fit: those are copied."""
    if A.flags.c_contiguous and A.flags.writeable:
        return A
    return np.array(A, order="C")


def pack(params):
    """All parameters as one vector, taken by position in each layer's list: every
    layer's first array (row-major), then every layer's second, ...: for a
    perceptron every W_l, then every b_l (scikit-learn's order)."""
    slots = max(len(p) for p in params)
    return concat([flat(p[k]) for k in range(slots) for p in params if k < len(p)])


def unpack(theta, shapes):
    """Inverse of ``pack``: views into ``theta``, one list per layer, of these
    shapes (``network_shapes``)."""
    params = [[None] * len(s) for s in shapes]
    xp, start = namespace(theta), 0
    for k in range(max(len(s) for s in shapes)):
        for l, layer_shapes in enumerate(shapes):
            if k < len(layer_shapes):
                shape = layer_shapes[k]
                size = math.prod(shape)
                params[l][k] = xp.reshape(theta[start:start + size], shape)
                start += size
    return params
