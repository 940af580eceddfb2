"""Layers: the parts a network is a sequence of, each behind one small protocol.

A layer maps its input ``A_in`` (rows x fan_in) to its output ``A`` (rows x
``width(fan_in)``), and back. It is a ``NamedTuple`` of its settings (plain values:
``_asdict`` gives them); its parameters are arrays the network hands it as one list,
``params``, in the order of ``parameter_shapes``:

    kind                      its name in ``LAYERS`` (a model file loads only
                              networks whose layers are registered there)
    width(fan_in)             the number of its outputs
    parameter_shapes(fan_in)  the shapes of its parameter arrays (any number of
                              dimensions; none for a layer without parameters)
    parameter_names           one short name for each (``W``, ``b``), for the
                              teaching tools and error messages
    decayed                   which of them the L2 penalty alpha applies to (its
                              backward adds alpha p / sum_i s_i to their gradients),
                              and decoupled weight decay
    lr_factors                (optional) one learning-rate factor per array
                              (``lr_factors`` below; 1.0 each where absent)
    initial_parameters(fan_in, init, rng, activation)
                              its starting parameters (float64, on the host) drawn
                              with ``rng``; ``init(fan_in, fan_out, rng, activation)
                              -> (W, b)`` is the fit's initializer and
                              ``activation`` the one setting Glorot's bound for a
                              Dense layer (None for the other kinds: a layer that
                              calls ``init`` names its own)
    forward(A_in, params, buffers=None, keep=False)
                              -> (A, Z): its output, and its net input where kept
                                 (None otherwise)
    backward(delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None, upstream=True)
                              -> (list of its parameters' gradients, dL/dA_in):
                                 from delta = dL/dZ, the error at its net input;
                                 dL/dA_in is None when ``upstream`` is False (the
                                 first layer, whose input is the data)
    delta(upstream, A, Z, kernels=None)
                              -> dL/dZ: the error arriving at its output
                                 (``upstream`` = dL/dA) through its own derivative

    onnx(graph, A_in, params, fan_in)
                              (optional) -> the name of A: its forward pass added
                                 as ONNX nodes to ``graph`` (``skbackprop.onnx``'s
                                 helper: ``graph.node(op_type, inputs, **attributes)``
                                 and ``graph.const(values)``), from the name of its
                                 input and its parameters as NumPy arrays; a network
                                 with a layer lacking it is not exported

``buffers`` (NumPy's workspace) and ``kernels`` are optional speed-ups a layer may
ignore: it may allocate its results, and the workspace copies its gradients into
the flat gradient. In a training step the forward and backward passes of a layer
get the same ``buffers``, one after the other: values the backward pass would
compute again may be left in ``buffers.cache`` (a dict of its own) by the forward
pass (given ``buffers``, the backward pass can count on them). The network
(``_core.network``) only sequences layers: forward from X to the output, the
loss's dL/dZ at the output layer (which must be a layer with an ``activation``:
the network's last), then backward layer by layer, each
layer's ``dL/dA_in`` becoming the previous layer's ``upstream``. A layer of another
kind is a class with these methods, registered with ``register_layer``: the
starting weights, the workspace, the loop, the optimizers (which see one flat
parameter vector), the fitted state, model files and the gradient check and trace
walk every layer through them and do not change. Dropout stays between Dense layers
(each hidden Dense layer's rate, on the next Dense layer's input). (A layer whose
derivative needs its own parameters, such as an activation with a learnable slope,
returns ``upstream`` from ``delta`` and applies the derivative in ``backward``.)

``Dense`` is the multi-layer perceptron's layer, the textbook's

    Z = A_in W + b,      A = f(Z)
    dL/dW = A_in^T delta + alpha W / sum_i s_i,    dL/db = sum over rows of delta
    dL/dA_in = delta W^T

Each method optionally writes into preallocated ``Buffers`` (NumPy's workspace:
no array is allocated per step) and uses fused kernels where the workspace has
them; without buffers it allocates its results: the same operations in the same
order, the same numbers, on any Array API namespace.
"""

import math
from functools import lru_cache
from numbers import Real
from typing import NamedTuple

import numpy as np
from scipy.sparse import issparse

from .activations import ACTIVATIONS
from .xp import column_sums, copy, into, namespace

__all__ = ["LAYERS", "Buffers", "Dense", "dense_product", "layer_record", "lr_factors", "matmul",
           "perceptron_layers", "register_layer", "unregister_layer"]


class Buffers(NamedTuple):
    """One layer's arrays in the workspace (``_core.network.Workspace``), for batches of
    up to its rows (a smaller batch uses the leading rows)."""

    net_input: np.ndarray  # Z (A overwrites it unless Z is kept)
    output: np.ndarray | None  # A where Z is kept
    upstream: np.ndarray | None  # dL/dA_in, which is the previous layer's delta
    grads: tuple  # its parameters' gradients: views into the flat gradient
    scratch: tuple  # as many views into the flat scratch vector (the L2 term)
    ones: np.ndarray  # (rows,) of 1: column sums as a matrix-vector product
    kernels: object = None  # fused kernels (``_engine.fused``), or None: NumPy's calls
    # what a layer's forward pass leaves for its backward pass of the same training
    # step (values it would otherwise compute twice), by name
    cache: dict | None = None


def _rows(buffer, n):
    return None if buffer is None else buffer[:n]


class Dense(NamedTuple):
    """A fully connected layer of ``units`` units with activation ``activation``;
    ``output`` marks the network's last layer (whose net input the log losses
    read)."""

    units: int
    activation: str
    output: bool = False

    kind = "dense"
    parameter_names = ("W", "b")
    decayed = (0,)  # W

    def width(self, fan_in):
        return self.units

    def parameter_shapes(self, fan_in):
        """W (fan_in x units) and b (units)."""
        return [(fan_in, self.units), (self.units,)]

    def initial_parameters(self, fan_in, init, rng, activation):
        """W and b from the initializer (Glorot's bound set by ``activation``)."""
        return list(init(fan_in, self.units, rng, activation))

    def keeps_net_input(self):
        """Whether forward keeps Z next to A: where the derivative needs it, and at
        the output layer (the log losses are computed from the logits)."""
        return ACTIVATIONS[self.activation].needs_input or (
            self.output and self.activation != "identity")

    def forward(self, A_in, params, buffers=None, keep=False):
        """``(A, Z)``: A = f(A_in W + b), and Z where kept (every layer with
        ``keep``, for the backprop trace), else None (an identity output's Z is A)."""
        W, b = params
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

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        """``([dL/dW, dL/db], dL/dA_in)`` from delta = dL/dZ (dL/dA_in only with
        ``upstream``: not for the first layer, whose input is the data)."""
        W, _ = params
        b = buffers
        weight_grad = matmul(A_in.T, delta, out=b and b.grads[0])
        if alpha:
            weight_grad += into(b and b.scratch[0], namespace(delta).multiply, W,
                                alpha / sw_sum)
        bias_grad = column_sums(delta, b and b.ones, out=b and b.grads[1])
        if not upstream:
            return [weight_grad, bias_grad], None
        n = delta.shape[0]
        return [weight_grad, bias_grad], matmul(delta, W.T,
                                                out=b and _rows(b.upstream, n))

    def delta(self, upstream, A, Z, kernels=None):
        """dL/dZ = dL/dA * f'(Z), overwriting ``upstream``: in one fused pass where
        a kernel has f'."""
        if kernels and kernels.times_derivative(upstream, A, self.activation):
            return upstream
        return ACTIVATIONS[self.activation].derivative(A, upstream, Z)

    def onnx(self, graph, A_in, params, fan_in):
        """ONNX nodes of the forward pass: ``MatMul``, ``Add``, then the activation's
        builder (its record's ``onnx``); returns A's name."""
        W, b = params
        Z = graph.node("Add", [graph.node("MatMul", [A_in, graph.const(W)]), graph.const(b)])
        return ACTIVATIONS[self.activation].onnx(graph, Z)


LAYERS = {"dense": Dense}  # kind -> class: the layers model files may hold


def register_layer(cls):
    """Add a layer class (with the protocol above and a unique ``kind``) to
    ``LAYERS``, so that networks holding it train, save, load and are traced;
    returns ``cls`` (usable as a class decorator)."""
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or (kind in LAYERS and LAYERS[kind] is not cls):
        raise ValueError(f"a layer class needs a kind of its own; got {kind!r}")
    missing = [m for m in ("width", "parameter_shapes", "parameter_names", "decayed",
                           "initial_parameters", "forward", "backward", "delta",
                           "_asdict") if not hasattr(cls, m)]
    if missing:
        raise TypeError(f"{cls.__name__} lacks the layer protocol's {missing}")
    LAYERS[kind] = cls
    return cls


def unregister_layer(kind):
    """Remove a layer kind added by ``register_layer`` (``dense`` stays)."""
    if kind == "dense":
        raise ValueError("the dense layer cannot be removed")
    LAYERS.pop(kind, None)


def lr_factors(layer, n_arrays):
    """The learning-rate factor of each of ``layer``'s ``n_arrays`` parameter
    arrays, as a tuple of floats: its optional ``lr_factors`` (one finite number >= 0
    per array, in ``parameter_shapes`` order), else 1.0 for each. The stochastic
    solvers scale each array's step by its factor; lbfgs, which searches its own
    step along the whole gradient, does not read them."""
    given = getattr(layer, "lr_factors", None)
    if given is None:
        return (1.0,) * n_arrays
    given = list(given)
    if len(given) != n_arrays or not all(
            isinstance(f, Real) and math.isfinite(f) and f >= 0 for f in given):
        raise ValueError(
            f"The {layer.kind} layer's lr_factors {given!r} need one finite number "
            f">= 0 per parameter array ({n_arrays}: {list(layer.parameter_names)}); "
            "give 1.0 to train one as usual.")
    return tuple(float(f) for f in given)


def layer_record(layer):
    """A layer as plain data: ``{"kind": ..., **its settings}``."""
    return {"kind": layer.kind, **layer._asdict()}


@lru_cache(maxsize=256)
def _perceptron(units, activations):
    last = len(units) - 1
    return tuple(Dense(k, name, output=layer == last)
                 for layer, (k, name) in enumerate(zip(units, activations, strict=True)))


def perceptron_layers(units, activations):
    """The layers of a multi-layer perceptron: one ``Dense`` layer per entry of
    ``units`` (its outputs; the output layer's last) with these activations, as a
    tuple built once per network."""
    return _perceptron(tuple(int(k) for k in units), tuple(activations))


def matmul(A, B, out=None):
    """A @ B, written into ``out`` if given; A may be a scipy sparse matrix. A product
    over a single inner index is an outer product, a_i b_j: a broadcast multiply
    gives the same numbers about twice as fast as BLAS (``dense_product``)."""
    if type(A) is np.ndarray and type(B) is np.ndarray:  # (a training step's case, first)
        product = dense_product(A.shape[1])
        return product(A, B) if out is None else product(A, B, out=out)
    if issparse(A):
        return A @ B if out is None else _copy_into(out, A @ B)
    xp = namespace(A, B)
    if A.shape[1] == 1:
        return into(out, xp.multiply, A, B)
    return into(out, xp.matmul, A, B)


def dense_product(inner):
    """The NumPy function ``matmul`` takes A @ B of NumPy arrays with by their
    ``inner`` width: a broadcast multiply for a width of 1, else ``np.matmul``."""
    return np.multiply if inner == 1 else np.matmul


def _copy_into(out, Z):
    np.copyto(out, Z)
    return out
