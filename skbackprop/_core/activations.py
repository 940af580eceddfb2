"""Activation functions, each written beside its derivative, and the registry of
every spelling of each.

A layer computes its net input ``Z = A_prev @ W + b`` and its output ``A = f(Z)``.
Every ``forward`` below turns ``Z`` into ``A`` *in place* and returns it. Every
``derivative(A, delta, Z)`` multiplies the back-propagated error ``delta = dL/dA`` in
place by ``f'(Z)``, giving ``dL/dZ``. Where ``f'`` is a function of the output it is
written through ``A``, and the net input is not kept (``Z`` is None); only GELU, whose
output does not determine its input, asks the forward pass to keep ``Z``
(``needs_input``).

Every function works on arrays of any Array API namespace (``_core.xp``). "In place"
holds for NumPy, and for namespaces whose arrays are mutable; callers use the
returned array, which is where the result is.

Where a formula is cheap next to a pass over memory, it is also written on one
number (``*_at``, plain Python a compiler can read): the same operations in the same
order, with constants in the number's own type as NumPy rounds a Python number it
combines with an array (``type(a)(1)``: float32 stays float32), so the same result to
the last bit in either dtype (NaN where NumPy gives NaN, whatever its sign bit).
``_engine.fused`` compiles these into loops that add the bias and activate, or
multiply by the derivative, in one pass (the optional ``fast`` extra, numba); the
transcendental ones (exp, tanh) stay with NumPy's vectorised loops, which a
compiled scalar loop does not beat.

Each activation is one ``Activation`` record in ``ACTIVATIONS`` holding every
spelling the paths read: the array formulas, the one-number ones, the per-row
source templates (``_engine.rowwise``), the ONNX builder (``skbackprop.onnx``), Glorot's
gain (``_core.init``) and the line the estimators' docs show. ``register`` adds one, and
every path takes it from there.
"""

import math
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import scipy.special

from . import xp as _xp
from .xp import (
    SQRT_2PI,
    eager,
    expit,
    indicator,
    into,
    maximum,
    namespace,
    ndtr,
    row_sums,
)

__all__ = [
    "ACTIVATIONS", "HIDDEN_ACTIVATIONS", "OUTPUT_ACTIVATIONS", "Activation", "elu",
    "elu_derivative", "elu_derivative_at", "exp", "exp_derivative", "gelu",
    "gelu_derivative", "identity", "identity_at", "identity_derivative",
    "identity_derivative_at", "leaky_relu", "leaky_relu_at", "leaky_relu_derivative",
    "leaky_relu_derivative_at", "logistic", "logistic_derivative", "logistic_derivative_at",
    "logistic_of_float", "on_change", "onnx_op", "register", "registered", "relu",
    "relu_at", "relu_derivative", "relu_derivative_at", "softmax", "softmax_derivative",
    "softplus", "softplus_derivative", "tanh", "tanh_derivative", "tanh_derivative_at",
    "unregister",
]


class Activation(NamedTuple):
    """Every spelling of one activation f, read by every path that computes it."""

    forward: Callable  # Z -> A = f(Z), in place
    derivative: Callable  # (A, delta, Z) -> delta * f'(Z), in place
    needs_input: bool = False  # the derivative needs Z, not just A
    forward_at: Callable | None = None  # z -> f(z) on one number
    derivative_at: Callable | None = None  # (a, d) -> d f'(z) on one number
    # per-row source (``_engine.rowwise``): f(z) from "{z}", and delta f'(z) through the
    # output from "{delta}" and "{a}"; None: not written out (the array path trains)
    row_forward: str | None = None
    row_derivative: str | None = None
    row_functions: Mapping = MappingProxyType({})  # name -> function those call
    onnx: Callable | None = None  # (graph, z) -> the name of f(z) added as ONNX nodes
    onnx_float32_only: str | None = None  # why its ONNX graph runs in float32 only
    gain: float = 6.0  # Glorot's bound: sqrt(gain / (fan_in + fan_out))
    doc: str = ""  # f as the estimators' docs show it
    hidden: bool = True  # a hidden layer may use it
    regression_output: bool = False  # a regressor's out_activation may be it


def onnx_op(op_type, **attributes):
    """The ONNX builder of an activation that is one operator."""
    def build(graph, z):
        return graph.node(op_type, [z], **attributes)

    build.__doc__ = f"``{op_type}``" + "".join(f" ({k}={v})" for k, v in attributes.items())
    return build


def identity(Z):
    """f(z) = z."""
    return Z


def identity_derivative(A, delta, Z=None):
    """f'(z) = 1."""
    return delta


def identity_at(z):
    return z


def identity_derivative_at(a, d):
    return d


def identity_onnx(graph, z):
    """(nothing)"""
    return z


def logistic(Z):
    """f(z) = 1 / (1 + exp(-z)), computed without overflow by ``scipy.special.expit``."""
    return expit(Z, out=Z)


def logistic_derivative(A, delta, Z=None):
    """f'(z) = f(z) (1 - f(z)) = A (1 - A)."""
    delta *= A
    delta *= 1 - A
    return delta


def logistic_derivative_at(a, d):
    return d * a * (type(a)(1) - a)  # (1 in a's type: float32 stays float32)


def logistic_of_float(z, expit=scipy.special.expit):
    """``logistic`` of one Python float, as a Python float: scipy's ``expit`` itself
    (bound once: it is called per unit and row), so that the per-row path computes
    the array path's number."""
    return float(expit(z))


def tanh(Z):
    """f(z) = tanh(z)."""
    return into(Z, namespace(Z).tanh, Z)


def tanh_derivative(A, delta, Z=None):
    """f'(z) = 1 - tanh(z)^2 = 1 - A^2."""
    delta *= 1 - A**2
    return delta


def tanh_derivative_at(a, d):
    return d * (type(a)(1) - a * a)


def relu(Z):
    """f(z) = max(z, 0)."""
    return maximum(Z, 0, out=Z)


def relu_derivative(A, delta, Z=None):
    """f'(z) = 1 if z > 0 else 0, i.e. [A > 0] (the subgradient 0 is taken at z = 0)."""
    delta *= indicator(A > 0, delta.dtype)
    return delta


def relu_at(z):
    return z if not z < 0 else type(z)(0)  # NaN stays NaN, as in np.maximum


def relu_derivative_at(a, d):
    return d * (a > 0)  # (d times 1 or 0: in d's type, float32 too)


def exp(Z):
    """f(z) = exp(z): the output of a Poisson regression (log link)."""
    return into(Z, namespace(Z).exp, Z)


def exp_derivative(A, delta, Z=None):
    """f'(z) = exp(z) = A."""
    delta *= A
    return delta


_SAFE_EXP = {t: 0.8 * float(np.log(np.finfo(t).max)) for t in (np.float32, np.float64)}


def softmax(Z):
    """f(z)_k = exp(z_k) / sum_j exp(z_j), row by row.

    Where every |z| is below 80% of log(largest float) (568 in float64, 71 in
    float32), no exp overflows, no row sums to infinity or underflows to 0, and the
    formula is computed as written. Beyond that each row's maximum is subtracted
    first (softmax is unchanged by a shift per row). The two global bounds cost far
    less than a maximum per row.
    """
    xp = namespace(Z)
    if not _within_exp_range(Z, xp):  # also NaN, and off the host: the careful way
        Z -= xp.max(Z, axis=1, keepdims=True)
    Z = into(Z, xp.exp, Z)
    Z /= row_sums(Z)
    return Z


def _within_exp_range(Z, xp):
    """Whether every |z| is below the bound of ``softmax`` (checked on NumPy only:
    elsewhere reading the answer back would stall the device)."""
    if not eager(xp):
        return False
    bound = _SAFE_EXP.get(Z.dtype.type) or 0.8 * np.log(np.finfo(Z.dtype).max)
    return bool(Z.max() < bound and Z.min() > -bound)


def softmax_derivative(A, delta, Z=None):
    """Row by row, dL/dz_k = A_k (dL/dA_k - sum_j A_j dL/dA_j) (the softmax Jacobian
    applied to delta)."""
    delta -= namespace(A).sum(delta * A, axis=1, keepdims=True)
    delta *= A
    return delta


LEAKY_SLOPE = 0.01


def leaky_relu(Z):
    """f(z) = z if z > 0 else 0.01 z, i.e. max(z, 0.01 z)."""
    return into(Z, namespace(Z).maximum, Z, LEAKY_SLOPE * Z)


def leaky_relu_derivative(A, delta, Z=None):
    """f'(z) = 1 if z > 0 else 0.01, i.e. by the sign of A."""
    return namespace(A).where(A > 0, delta, LEAKY_SLOPE * delta)


def leaky_relu_at(z):
    slope = type(z)(LEAKY_SLOPE) * z  # (the slope in z's type, as NumPy rounds it)
    return z if not z < slope else slope


def leaky_relu_derivative_at(a, d):
    return d if a > 0 else type(d)(LEAKY_SLOPE) * d


def leaky_relu_onnx(graph, z):
    """``max(z, 0.01 z)`` (ONNX's ``LeakyRelu`` with alpha 0.01 is the same function,
    but onnxruntime has no float64 kernel for it)"""
    return graph.node("Max", [z, graph.node("Mul", [z, graph.const(LEAKY_SLOPE)])])


def elu(Z):
    """f(z) = z if z > 0 else exp(z) - 1 (exp taken of min(z, 0): no overflow)."""
    xp = namespace(Z)
    return xp.where(Z > 0, Z, xp.expm1(xp.clip(Z, None, 0.0)))


def elu_derivative(A, delta, Z=None):
    """f'(z) = 1 if z > 0 else exp(z) = A + 1."""
    return namespace(A).where(A > 0, delta, delta * (A + 1))


def elu_derivative_at(a, d):
    return d if a > 0 else d * (a + type(a)(1))


def elu_onnx(graph, z):
    """``where(z > 0, z, exp(min(z, 0)) - 1)`` (ONNX's ``Elu`` with alpha 1, written
    out for the same reason)"""
    negative = graph.node("Sub", [graph.node("Exp", [graph.node("Min", [z, graph.const(0.0)])]),
                                  graph.const(1.0)])
    return graph.node("Where", [graph.node("Greater", [z, graph.const(0.0)]), z, negative])


def softplus(Z):
    """f(z) = log(1 + exp(z)), computed without overflow."""
    return _xp.softplus(Z, out=Z)


def softplus_derivative(A, delta, Z=None):
    """f'(z) = sigmoid(z) = 1 - exp(-A) (as exp(A) = 1 + exp(z))."""
    delta *= -namespace(A).expm1(-A)
    return delta


def softplus_onnx(graph, z):
    """``max(z, 0) + log(1 + exp(-|z|))`` from elementary operators (no overflow;
    onnxruntime has no float64 ``Softplus``)"""
    tail = graph.node("Log", [graph.node("Add", [
        graph.const(1.0), graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [z])])])])])
    return graph.node("Add", [graph.node("Relu", [z]), tail])


def gelu(Z):
    """f(z) = z Phi(z), Phi the standard normal CDF (exact GELU)."""
    Z *= ndtr(Z)
    return Z


def gelu_derivative(A, delta, Z):
    """f'(z) = Phi(z) + z phi(z), phi the standard normal density."""
    delta *= ndtr(Z) + Z * namespace(Z).exp(-0.5 * Z**2) / SQRT_2PI
    return delta


def gelu_onnx(graph, z):
    """exact GELU from elementary operators, ``z (1 + erf(z / sqrt 2)) / 2`` (the
    ``Gelu`` operator needs opset 20)"""
    erf = graph.node("Erf", [graph.node("Div", [z, graph.const(np.sqrt(2.0))])])
    phi = graph.node("Mul", [graph.node("Add", [erf, graph.const(1.0)]),
                             graph.const(0.5)])
    return graph.node("Mul", [z, phi])


# ------------------------------------------------------------------ the registry
# name -> Activation: every activation the paths compute, the built-in ones first
ACTIVATIONS = {
    "identity": Activation(
        identity, identity_derivative, forward_at=identity_at,
        derivative_at=identity_derivative_at, row_forward="{z}",
        row_derivative="{delta}", onnx=identity_onnx, doc="f(z) = z",
        regression_output=True),
    "logistic": Activation(
        logistic, logistic_derivative, derivative_at=logistic_derivative_at,
        row_forward="logistic({z})", row_derivative="({delta}) * {a} * (1 - {a})",
        row_functions={"logistic": logistic_of_float}, onnx=onnx_op("Sigmoid"),
        gain=2.0, doc="f(z) = 1 / (1 + exp(-z))", regression_output=True),
    # (math.tanh, not NumPy's vectorised tanh: the same function, which may differ
    # in the last bit; NumPy's on one float would double the per-row cost)
    "tanh": Activation(
        tanh, tanh_derivative, derivative_at=tanh_derivative_at,
        row_forward="tanh({z})", row_derivative="({delta}) * (1 - {a} * {a})",
        row_functions={"tanh": math.tanh}, onnx=onnx_op("Tanh"), doc="f(z) = tanh(z)",
        regression_output=True),
    "relu": Activation(
        relu, relu_derivative, forward_at=relu_at, derivative_at=relu_derivative_at,
        row_forward="({z} if {z} > 0 else 0.0)", row_derivative="({delta}) * ({a} > 0)",
        onnx=onnx_op("Relu"), doc="f(z) = max(z, 0)", regression_output=True),
    "exp": Activation(
        exp, exp_derivative, onnx=onnx_op("Exp"),
        doc="f(z) = exp(z), the output of a Poisson regression", hidden=False,
        regression_output=True),
    "softmax": Activation(
        softmax, softmax_derivative, onnx=onnx_op("Softmax", axis=1),
        doc="f(z)_k = exp(z_k) / sum_j exp(z_j), a multiclass classifier's output",
        hidden=False),
    "leaky_relu": Activation(
        leaky_relu, leaky_relu_derivative, forward_at=leaky_relu_at,
        derivative_at=leaky_relu_derivative_at, onnx=leaky_relu_onnx,
        doc="f(z) = max(z, 0.01 z)"),
    "elu": Activation(
        elu, elu_derivative, derivative_at=elu_derivative_at, onnx=elu_onnx,
        doc="f(z) = z if z > 0 else exp(z) - 1"),
    "softplus": Activation(
        softplus, softplus_derivative, onnx=softplus_onnx,
        doc="f(z) = log(1 + exp(z))"),
    "gelu": Activation(
        gelu, gelu_derivative, needs_input=True, onnx=gelu_onnx,
        doc="f(z) = z Phi(z), Phi the standard normal CDF"),
}
BUILT_IN = frozenset(ACTIVATIONS)

# The names each role accepts, in registration order, and the same as sets for
# sklearn's StrOptions: the estimators' parameter constraints hold these very
# objects, which ``register`` updates in place, so they accept what is added later.
HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS = [], []  # hidden layers; a regressor's output
HIDDEN_NAMES, OUTPUT_NAMES = set(), set()
_LISTENERS = []


def register(name, activation):
    """Add ``activation`` (an ``Activation``) under ``name``: the estimators'
    parameters accept it from then on, and every path computes it from its record
    (the per-row path and ONNX where it has their spellings). Private: for
    extensions and tests; ``registered`` undoes it after a ``with`` block."""
    if not isinstance(activation, Activation):
        raise TypeError(f"register takes an Activation record, got {activation!r}.")
    if not isinstance(name, str) or name in ACTIVATIONS:
        raise ValueError(f"Cannot register an activation as {name!r}: the name must be "
                         "a string that no activation has yet.")
    ACTIVATIONS[name] = activation
    _changed()


def unregister(name):
    """Remove an activation added by ``register`` (the built-in ones stay)."""
    if name in BUILT_IN or name not in ACTIVATIONS:
        raise ValueError(f"{name!r} is not a registered activation that can be removed.")
    del ACTIVATIONS[name]
    _changed()


@contextmanager
def registered(name, activation):
    """``register`` for the duration of a ``with`` block, ``unregister`` after it."""
    register(name, activation)
    try:
        yield activation
    finally:
        unregister(name)


def on_change(callback):
    """Call ``callback()`` after every change to the registry (caches built from it)."""
    _LISTENERS.append(callback)


def _changed():
    """Bring the name lists in step with the registry, in place, and tell the caches."""
    HIDDEN_ACTIVATIONS[:] = [n for n, f in ACTIVATIONS.items() if f.hidden]
    OUTPUT_ACTIVATIONS[:] = [n for n, f in ACTIVATIONS.items() if f.regression_output]
    for names, listed in ((HIDDEN_NAMES, HIDDEN_ACTIVATIONS),
                          (OUTPUT_NAMES, OUTPUT_ACTIVATIONS)):
        names.clear()
        names.update(listed)
    for callback in _LISTENERS:
        callback()


_changed()
