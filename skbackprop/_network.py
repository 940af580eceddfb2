"""Forward and backward pass of a multi-layer perceptron, as plain functions.

A network is three lists of equal length, one entry per layer ``l = 1 .. L``:
``coefs[l]`` (the weights ``W_l``, shape fan_in x fan_out), ``intercepts[l]`` (the
biases ``b_l``) and ``activations[l]`` (the name of ``f_l``). With ``A_0 = X``:

    forward:   Z_l = A_{l-1} W_l + b_l,        A_l = f_l(Z_l)
    backward:  delta_L = dL/dZ_L               (from the loss, see ``output_delta``)
               dL/dW_l = A_{l-1}^T delta_l + alpha W_l / sum_i s_i
               dL/db_l = sum over rows of delta_l
               delta_{l-1} = (delta_l W_l^T) * f'_{l-1}(Z_{l-1})

Dropout (training only) multiplies a layer's input by a mask, ``A_{l-1} * M_l`` with
M_l = Bernoulli(1 - p) / (1 - p) (inverted dropout); the backward pass then uses
``A_{l-1} * M_l`` in dL/dW_l and multiplies ``delta_l W_l^T`` by ``M_l``.
"""

from itertools import pairwise

import numpy as np

from ._activations import ACTIVATIONS
from ._losses import l2_penalty, loss_value, output_delta


def forward(X, coefs, intercepts, activations, keep=True, masks=None):
    """Run the forward pass.

    Returns ``(outputs, net_inputs)``: ``outputs[0]`` is ``X`` and ``outputs[l]`` is
    ``A_l``; ``net_inputs[l - 1]`` is ``Z_l`` where it must be kept (the output layer,
    for the losses computed from logits, and activations whose derivative needs it),
    else None. With ``keep=False`` only the output layer's are kept
    (``outputs == [A_L]``, ``net_inputs == [Z_L]``): all prediction needs.
    ``masks[l]``, where not None, is layer l's dropout mask on its input.
    """
    outputs, net_inputs = [X], []
    last = len(coefs) - 1
    for layer, (W, b, name) in enumerate(zip(coefs, intercepts, activations)):
        A_in = outputs[-1] if masks is None else _layer_input(outputs[-1], masks, layer)
        Z = A_in @ W
        Z += b
        f = ACTIVATIONS[name]
        keep_Z = f.needs_input or (layer == last and name != "identity")
        Z_kept = Z.copy() if keep_Z else None
        A = f.forward(Z)
        if layer == last and Z_kept is None:
            Z_kept = A  # identity output: the net input is the output
        if keep:
            outputs.append(A)
            net_inputs.append(Z_kept)
        else:
            outputs, net_inputs = [A], [Z_kept]
    return outputs, net_inputs


def _layer_input(A, masks, layer):
    """A layer's input: the previous layer's output, through its dropout mask."""
    return A if masks[layer] is None else A * masks[layer]


def backward(outputs, net_inputs, delta, coefs, activations, alpha=0.0, sw_sum=1.0,
             masks=None):
    """Run the backward pass from the output layer's ``delta = dL/dZ_L``.

    ``outputs`` and ``net_inputs`` are what ``forward`` kept. Returns
    ``(coef_grads, intercept_grads)``,
    the gradients of the loss (including the L2 term) with respect to every ``W_l``
    and ``b_l``.
    """
    n_layers = len(coefs)
    coef_grads = [None] * n_layers
    intercept_grads = [None] * n_layers
    for layer in reversed(range(n_layers)):
        A_in = outputs[layer] if masks is None else _layer_input(outputs[layer], masks, layer)
        coef_grads[layer] = A_in.T @ delta
        if alpha:
            coef_grads[layer] += (alpha / sw_sum) * coefs[layer]
        intercept_grads[layer] = delta.sum(axis=0)
        if layer > 0:
            delta = delta @ coefs[layer].T
            if masks is not None and masks[layer] is not None:
                delta *= masks[layer]
            ACTIVATIONS[activations[layer - 1]].derivative(
                outputs[layer], delta, net_inputs[layer - 1]
            )
    return coef_grads, intercept_grads


def loss_and_gradients(
    X, Y, sample_weight, coefs, intercepts, activations, loss, alpha, masks=None
):
    """One forward and one backward pass over a batch.

    Returns ``(L, coef_grads, intercept_grads)`` where ``L`` is the (weighted) mean
    loss plus the L2 term, and the gradients are exactly ``dL/dW_l`` and ``dL/db_l``
    (of the network thinned by the dropout ``masks``, if any).
    """
    outputs, net_inputs = forward(X, coefs, intercepts, activations, masks=masks)
    A, Z_out = outputs[-1], net_inputs[-1]
    sw_sum = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    value = loss_value(loss, Y, Z_out, A, sample_weight)
    value += l2_penalty(coefs, alpha, sw_sum)
    delta = output_delta(loss, activations[-1], Y, A, Z_out)
    if sample_weight is None:
        delta /= sw_sum
    else:
        delta *= (sample_weight / sw_sum)[:, np.newaxis]
    coef_grads, intercept_grads = backward(
        outputs, net_inputs, delta, coefs, activations, alpha, sw_sum, masks
    )
    return value, coef_grads, intercept_grads


def pack(coefs, intercepts):
    """All parameters as one vector: every W_l (row-major), then every b_l."""
    return np.concatenate([p.ravel() for p in coefs + intercepts])


def unpack(theta, layer_units):
    """Inverse of ``pack`` for a network with the given units per layer."""
    coefs, intercepts, start = [], [], 0
    for fan_in, fan_out in pairwise(layer_units):
        coefs.append(theta[start : start + fan_in * fan_out].reshape(fan_in, fan_out))
        start += fan_in * fan_out
    for fan_out in layer_units[1:]:
        intercepts.append(theta[start : start + fan_out])
        start += fan_out
    return coefs, intercepts
