"""Layers: the parts a network is a sequence of, each behind one small protocol.

A layer maps its input ``A_in`` (rows x fan_in) to its output ``A``, and back. The
network hands each layer its parameter arrays (``*params``, in the order of
``parameter_shapes``; ``W, b`` for ``Dense``):

    parameter_shapes(fan_in, units)
                              the shapes of its parameter arrays
    forward(A_in, *params)    -> (A, Z): its output, and its net input where kept
    backward(delta, A_in, *params)
                              -> (gradients of its parameters, dL/dA_in): from
                                 delta = dL/dZ, the error at its net input
    delta(upstream, A, Z)     -> dL/dZ = dL/dA * f'(Z): the error arriving at its
                                 output (``upstream``) through its own derivative

The network (``_core.network``) only sequences them: forward from X to the output,
the loss's dL/dZ at the output layer, then backward layer by layer, each layer's
``dL/dA_in`` becoming the previous layer's ``upstream``. A layer of another kind is
a class with these methods; the loop and the optimizers (which see one flat
parameter vector) do not change. (The rest of the package still knows the
perceptron's parameters as the pairs ``coefs_[l], intercepts_[l]``: the starting
weights, the workspace's views and model files; a layer with other parameters
extends those.)

``Dense`` is the multi-layer perceptron's layer, the textbook's

    Z = A_in W + b,      A = f(Z)
    dL/dW = A_in^T delta + alpha W / sum_i s_i,    dL/db = sum over rows of delta
    dL/dA_in = delta W^T

Each method optionally writes into preallocated ``Buffers`` (NumPy's workspace:
no array is allocated per step) and uses fused kernels where the workspace has
them; without buffers it allocates its results: the same operations in the same
order, the same numbers, on any Array API namespace.
"""

from typing import NamedTuple

import numpy as np
from scipy.sparse import issparse

from .activations import ACTIVATIONS
from .xp import column_sums, copy, into, namespace

__all__ = ["Buffers", "Dense", "dense_layers", "matmul"]


class Buffers(NamedTuple):
    """One layer's arrays in the workspace (``_core.network.Workspace``), for batches of
    up to its rows (a smaller batch uses the leading rows)."""

    net_input: np.ndarray  # Z (A overwrites it unless Z is kept)
    output: np.ndarray | None  # A where Z is kept
    upstream: np.ndarray | None  # dL/dA_in, which is the previous layer's delta
    weight_grad: np.ndarray  # views into the workspace's flat gradient
    bias_grad: np.ndarray
    scratch: np.ndarray  # for the L2 term
    ones: np.ndarray  # (rows,) of 1: column sums as a matrix-vector product
    kernels: object = None  # fused kernels (``_engine.fused``), or None: NumPy's calls


def _rows(buffer, n):
    return None if buffer is None else buffer[:n]


class Dense(NamedTuple):
    """A fully connected layer with activation ``activation``; ``output`` marks the
    network's last layer (whose net input the log losses read)."""

    activation: str
    output: bool = False

    def parameter_shapes(self, fan_in, units):
        """W (fan_in x units) and b (units)."""
        return [(fan_in, units), (units,)]

    def keeps_net_input(self):
        """Whether forward keeps Z next to A: where the derivative needs it, and at
        the output layer (the log losses are computed from the logits)."""
        return ACTIVATIONS[self.activation].needs_input or (
            self.output and self.activation != "identity")

    def forward(self, A_in, W, b, buffers=None, keep=False):
        """``(A, Z)``: A = f(A_in W + b), and Z where kept (every layer with
        ``keep``, for the backprop trace), else None (an identity output's Z is A)."""
        n = A_in.shape[0]
        Z = matmul(A_in, W, out=buffers and buffers.net_input[:n])
        f = ACTIVATIONS[self.activation]
        if keep or self.keeps_net_input():
            Z += b
            A_out = buffers and _rows(buffers.output, n)
            return f.forward(copy(Z) if A_out is None else _copy_into(A_out, Z)), Z
        kernels = buffers and buffers.kernels
        if not (kernels and kernels.add_bias_activate(Z, b, self.activation)):
            Z += b  # f(Z + b), overwriting Z (in one fused pass where a kernel has f)
            Z = f.forward(Z)
        return Z, (Z if self.output else None)

    def backward(self, delta, A_in, W, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        """``((dL/dW, dL/db), dL/dA_in)`` from delta = dL/dZ (dL/dA_in only with
        ``upstream``: not for the first layer, whose input is the data)."""
        b = buffers
        weight_grad = matmul(A_in.T, delta, out=b and b.weight_grad)
        if alpha:
            weight_grad += into(b and b.scratch, namespace(delta).multiply, W,
                                alpha / sw_sum)
        bias_grad = column_sums(delta, b and b.ones, out=b and b.bias_grad)
        if not upstream:
            return (weight_grad, bias_grad), None
        n = delta.shape[0]
        return (weight_grad, bias_grad), matmul(delta, W.T,
                                                out=b and _rows(b.upstream, n))

    def delta(self, upstream, A, Z, kernels=None):
        """dL/dZ = dL/dA * f'(Z), overwriting ``upstream``: in one fused pass where
        a kernel has f'."""
        if kernels and kernels.times_derivative(upstream, A, self.activation):
            return upstream
        return ACTIVATIONS[self.activation].derivative(A, upstream, Z)


def dense_layers(activations):
    """The layers of a multi-layer perceptron with these activations (one per layer
    of weights, the output layer's last)."""
    last = len(activations) - 1
    return [Dense(name, output=layer == last) for layer, name in enumerate(activations)]


def matmul(A, B, out=None):
    """A @ B, written into ``out`` if given; A may be a scipy sparse matrix. A product
    over a single inner index is an outer product, a_i b_j: a broadcast multiply
    gives the same numbers about twice as fast as BLAS."""
    if issparse(A):
        return A @ B if out is None else _copy_into(out, A @ B)
    xp = namespace(A, B)
    if A.shape[1] == 1:
        return into(out, xp.multiply, A, B)
    return into(out, xp.matmul, A, B)


def _copy_into(out, Z):
    np.copyto(out, Z)
    return out
