"""The planned path: a perceptron's training step with its arrays and loops bound once.

On small networks a NumPy step is short enough that the Python around its calls
counts: the general step (``_engine.steps.WorkspaceStep``) walks the layer protocol,
looks up each activation's record and kernel, and checks every option on every
batch, about a hundred Python calls around a dozen array operations. For the
common case, a perceptron of ``Dense`` layers without dropout, sample weights,
gradient clipping or per-layer learning-rate factors, ``Plan`` (run by
``_engine.steps.PlannedStep``) binds once per fit each layer's views of the
workspace and its compiled loops (the fused kernels, ``_engine.fused``, where the
fit has them), and a step is then the array operations alone:

    forward     Z_l = A_{l-1} W_l (BLAS), A_l = f(Z_l + b_l) (one loop)
    output      Z_L = A_{L-1} W_L, then its bias, link, loss and delta (one loop)
    backward    dL/dW_l = A_{l-1}^T delta_l, dL/db_l = 1^T delta_l,
                delta_{l-1} = (delta_l W_l^T) * f'(Z_{l-1}) (one loop; with the
                product too where layer l has one unit, an outer product)
    update      Adam or SGD on every parameter, the L2 term added (one loop)

(an activation without a loop for f or f' takes NumPy's calls there, as in ``Dense``;
an output layer without the kernels' loop, NumPy's calls of ``Dense.forward`` and the
loss, ``training_loss`` and ``output_delta``; and without the kernels the update is
NumPy's, the L2 term added to the weights' gradients by the backward pass, as in
``Dense.backward``: a fit without numba takes this path too, its Python around the
calls cut the same way).

These are ``Dense.forward``, ``Dense.backward`` and ``Dense.delta`` with the
workspace's buffers and kernels, the general step's calls in the general step's
order (the products as ``_core.layers.matmul`` takes them, the column sums by
``_core.xp.column_sums``, the loss's L2 term by ``_core.losses.l2_penalty``, the
update by the fit's ``_engine.steps.optimizer_update``); no formula is written
here, and a fit takes the same numbers on either step, to the last bit (tested on
every loss, solver and layout the step accepts).
"""

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from .._core.activations import ACTIVATIONS
from .._core.layers import dense_product, matmul
from .._core.losses import l2_penalty, output_delta, training_loss
from .._core.network import decayed, loop_layout
from .._core.xp import column_sums, scalar

__all__ = ["Plan", "accepts"]


def accepts(model, spec, data):
    """Whether ``PlannedStep`` trains this fit: a perceptron whose hidden
    activations keep no net input for their derivatives, on unweighted rows without
    dropout or gradient clipping, with the fused kernels or NumPy's calls. (The
    caller has checked that no layer has learning-rate factors or decoupled
    decay.)"""
    if data.sample_weight is not None or spec.clip_norm is not None or any(model.dropout):
        return False
    layers = model.layers
    if not all(layer.kind == "dense" for layer in layers):
        return False
    return not any(layer.keeps_net_input() for layer in layers[:-1])


# where a fit has no kernels: no loop for anything (NumPy's calls everywhere)
_NO_LOOPS = SimpleNamespace(forward={}, derivative={}, outer_derivative={}, output=None)


class _Bound(NamedTuple):
    """One layer's parameters, buffers and loops, bound for the fit."""

    W: np.ndarray
    b: np.ndarray
    net_input: np.ndarray  # Z, overwritten by A (hidden layers)
    output: np.ndarray | None  # A where the output layer keeps Z
    upstream: np.ndarray | None  # dL/dA_in (None for the first layer)
    weight_grad: np.ndarray
    bias_grad: np.ndarray
    ones: np.ndarray
    scratch: np.ndarray  # the L2 term's, where the backward pass adds it
    activation: object  # its record (``_core.activations.Activation``)
    activate: object  # the bias-and-activate loop, or None (NumPy's calls)
    derivative: object  # the derivative loop, or None (NumPy's calls)
    outer_derivative: object  # the loop of (d w^T) * f' before one output, or None


class Plan:
    """A plain perceptron's step, bound to its workspace ``ws``
    (``_core.network.Workspace``) and its kernels (``ws.kernels``, or None: NumPy's
    calls) for the fit: ``step(X, Y, learning_rate)`` trains on one batch through
    the optimizer's ``update`` (``_engine.steps.optimizer_update``, the L2 term
    folded in for the first ``n_decayed`` parameters; with none, the backward pass
    adds it) and returns the batch loss. ``_engine.steps.PlannedStep`` runs it."""

    def __init__(self, model, ws, update, optimizer_state, n_decayed):
        loops = ws.kernels or _NO_LOOPS
        self.bound = [
            _Bound(p[0], p[1], buffer.net_input, buffer.output, buffer.upstream,
                   buffer.grads[0], buffer.grads[1], buffer.ones, buffer.scratch[0],
                   ACTIVATIONS[layer.activation], loops.forward.get(layer.activation),
                   loops.derivative.get(layer.activation),
                   loops.outer_derivative.get(layer.activation))
            for layer, p, buffer in zip(model.layers, ws.params, ws.layers)]
        # (as vectors: the same sums of squares, without flattening them each step)
        self.coefs = [W.reshape(-1) if W.flags.c_contiguous else W  # (views)
                      for W in decayed(model.layers, ws.params)]
        # each layer's forward product, and the product of its delta by W^T, as
        # ``matmul`` chooses them for these widths (an inner width of 1: a multiply);
        # the first layer's by ``matmul`` itself (X may be a sparse matrix)
        self.forward = [matmul] + [dense_product(layer.W.shape[0])
                                   for layer in self.bound[1:]]
        self.backward = [dense_product(layer.W.shape[1]) for layer in self.bound]
        self.ws, self.output_loop, self.alpha = ws, loops.output, model.alpha
        self.loss, self.out_activation = model.loss, model.layers[-1].activation
        self.update, self.optimizer_state = update, optimizer_state
        self.n_decayed = n_decayed
        self.l2_backward = bool(model.alpha) and not n_decayed  # (Dense.backward's)
        self.arrays = [ws.flat_params], [ws.grad], [ws.scratch]

    def step(self, X, Y, learning_rate):
        """Backprop on one batch and one update; returns the batch loss."""
        n = X.shape[0]
        inputs, A = [], X
        for layer, product in zip(self.bound[:-1], self.forward):
            inputs.append(A)
            A = product(A, layer.W, out=layer.net_input[:n])
            if layer.activate is None:  # (no loop for f: NumPy's, as Dense.forward)
                A += layer.b
                A = layer.activation.forward(A)
            else:
                layer.activate(A, layer.b)
        inputs.append(A)
        value, delta = self._output(A, Y, n)
        for l in range(len(self.bound) - 1, -1, -1):
            delta = self._backward(l, delta, inputs[l], n)
        if self.n_decayed:
            self.update(*self.arrays, self.optimizer_state, learning_rate,
                        self.alpha / n)
        else:
            self.update(*self.arrays, self.optimizer_state, learning_rate)
        return value

    def _output(self, A_in, Y, n):
        """``(batch loss, delta)`` of the output layer: Z = A_in W, then its bias,
        link, loss and delta = dL/dZ / n in the kernels' one pass, or by NumPy's
        calls (``Dense.forward``, ``training_loss``, ``output_delta``)."""
        last, ws = self.bound[-1], self.ws
        Z = self.forward[-1](A_in, last.W, out=last.net_input[:n])
        delta = ws.deltas[-1][:n]
        if self.output_loop is not None:
            terms = ws.terms[:n]
            A = Z if last.output is None else last.output[:n]
            self.output_loop(Z, last.b, loop_layout(Y), A, delta, terms, float(n))
            # (np.add.reduce: what terms.sum() calls, without its Python wrapper)
            value = scalar(np.add.reduce(terms) / n)
            return value + l2_penalty(self.coefs, self.alpha, n), delta
        Z += last.b
        if last.output is None:  # (an identity output keeps no Z: A is Z)
            A = last.activation.forward(Z)
        else:
            np.copyto(last.output[:n], Z)
            A = last.activation.forward(last.output[:n])
        value = training_loss(self.loss, Y, Z, A, None, self.coefs, self.alpha, n)
        delta = output_delta(self.loss, self.out_activation, Y, A, Z, out=delta)
        delta /= n
        return value, delta

    def _backward(self, l, delta, A_in, n):
        """Layer l's gradients into the workspace from its delta; the previous
        layer's delta (None for the first layer)."""
        layer = self.bound[l]
        weight_grad = matmul(A_in.T, delta, out=layer.weight_grad)
        if self.l2_backward:  # (alpha W / n, as Dense.backward adds it)
            weight_grad += np.multiply(layer.W, self.alpha / n, out=layer.scratch)
        column_sums(delta, layer.ones, out=layer.bias_grad)
        if l == 0:
            return None
        below, upstream = self.bound[l - 1], layer.upstream[:n]
        if below.outer_derivative is not None and layer.W.shape[1] == 1:
            below.outer_derivative(delta, layer.W, A_in, upstream)  # (one pass)
            return upstream
        upstream = self.backward[l](delta, layer.W.T, out=upstream)
        if below.derivative is None:  # (no loop for f': NumPy's, as Dense.delta)
            return below.activation.derivative(A_in, upstream, None)
        below.derivative(upstream, A_in)
        return upstream
