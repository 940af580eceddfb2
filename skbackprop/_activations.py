"""Activation functions, each written beside its derivative.

A layer computes its net input ``Z = A_prev @ W + b`` and its output ``A = f(Z)``.
Every ``forward`` below turns ``Z`` into ``A`` *in place* and returns it. Every
``derivative(A, delta, Z)`` multiplies the back-propagated error ``delta = dL/dA`` in
place by ``f'(Z)``, giving ``dL/dZ``. Where ``f'`` is a function of the output it is
written through ``A``, and the net input is not kept (``Z`` is None); only GELU, whose
output does not determine its input, asks the forward pass to keep ``Z``
(``needs_input``).

Every function works on arrays of any Array API namespace (``_xp``). "In place"
holds for NumPy, and for namespaces whose arrays are mutable; callers use the
returned array, which is where the result is.

Where a formula is cheap next to a pass over memory, it is also written on one
number (``*_at``, plain Python a compiler can read): the same operations in the same
order, so the same result to the last bit (NaN included). ``_fused`` compiles these
into loops that add the bias and activate, or multiply by the derivative, in one
pass (the optional ``fast`` extra, numba); the transcendental ones (exp, tanh) stay
with NumPy's vectorised loops, which a compiled scalar loop does not beat.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import _xp
from ._xp import (
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
    "Activation", "elu", "elu_derivative", "elu_derivative_at", "exp", "exp_derivative", "gelu",
    "gelu_derivative", "identity", "identity_at", "identity_derivative",
    "identity_derivative_at", "leaky_relu", "leaky_relu_at", "leaky_relu_derivative",
    "leaky_relu_derivative_at", "logistic", "logistic_derivative", "logistic_derivative_at",
    "relu", "relu_at", "relu_derivative", "relu_derivative_at", "softmax", "softmax_derivative",
    "softplus", "softplus_derivative", "tanh", "tanh_derivative", "tanh_derivative_at"
]


class Activation(NamedTuple):
    forward: Callable  # Z -> A = f(Z), in place
    derivative: Callable  # (A, delta, Z) -> delta * f'(Z), in place
    needs_input: bool = False  # the derivative needs Z, not just A
    forward_at: Callable | None = None  # z -> f(z) on one number
    derivative_at: Callable | None = None  # (a, d) -> d f'(z) on one number


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


def logistic(Z):
    """f(z) = 1 / (1 + exp(-z)), computed without overflow by ``scipy.special.expit``."""
    return expit(Z, out=Z)


def logistic_derivative(A, delta, Z=None):
    """f'(z) = f(z) (1 - f(z)) = A (1 - A)."""
    delta *= A
    delta *= 1 - A
    return delta


def logistic_derivative_at(a, d):
    return d * a * (1 - a)


def tanh(Z):
    """f(z) = tanh(z)."""
    return into(Z, namespace(Z).tanh, Z)


def tanh_derivative(A, delta, Z=None):
    """f'(z) = 1 - tanh(z)^2 = 1 - A^2."""
    delta *= 1 - A**2
    return delta


def tanh_derivative_at(a, d):
    return d * (1 - a * a)


def relu(Z):
    """f(z) = max(z, 0)."""
    return maximum(Z, 0, out=Z)


def relu_derivative(A, delta, Z=None):
    """f'(z) = 1 if z > 0 else 0, i.e. [A > 0] (the subgradient 0 is taken at z = 0)."""
    delta *= indicator(A > 0, delta.dtype)
    return delta


def relu_at(z):
    return z if not z < 0 else 0.0  # NaN stays NaN, as in np.maximum


def relu_derivative_at(a, d):
    return d * (1 if a > 0 else 0)


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
    return z if not z < LEAKY_SLOPE * z else LEAKY_SLOPE * z


def leaky_relu_derivative_at(a, d):
    return d if a > 0 else LEAKY_SLOPE * d


def elu(Z):
    """f(z) = z if z > 0 else exp(z) - 1 (exp taken of min(z, 0): no overflow)."""
    xp = namespace(Z)
    return xp.where(Z > 0, Z, xp.expm1(xp.clip(Z, None, 0.0)))


def elu_derivative(A, delta, Z=None):
    """f'(z) = 1 if z > 0 else exp(z) = A + 1."""
    return namespace(A).where(A > 0, delta, delta * (A + 1))


def elu_derivative_at(a, d):
    return d if a > 0 else d * (a + 1)


def softplus(Z):
    """f(z) = log(1 + exp(z)), computed without overflow."""
    return _xp.softplus(Z, out=Z)


def softplus_derivative(A, delta, Z=None):
    """f'(z) = sigmoid(z) = 1 - exp(-A) (as exp(A) = 1 + exp(z))."""
    delta *= -namespace(A).expm1(-A)
    return delta


def gelu(Z):
    """f(z) = z Phi(z), Phi the standard normal CDF (exact GELU)."""
    Z *= ndtr(Z)
    return Z


def gelu_derivative(A, delta, Z):
    """f'(z) = Phi(z) + z phi(z), phi the standard normal density."""
    delta *= ndtr(Z) + Z * namespace(Z).exp(-0.5 * Z**2) / SQRT_2PI
    return delta


ACTIVATIONS = {
    "identity": Activation(identity, identity_derivative, False, identity_at,
                           identity_derivative_at),
    "logistic": Activation(logistic, logistic_derivative,
                           derivative_at=logistic_derivative_at),
    "tanh": Activation(tanh, tanh_derivative, derivative_at=tanh_derivative_at),
    "relu": Activation(relu, relu_derivative, False, relu_at, relu_derivative_at),
    "exp": Activation(exp, exp_derivative),
    "softmax": Activation(softmax, softmax_derivative),
    "leaky_relu": Activation(leaky_relu, leaky_relu_derivative, False, leaky_relu_at,
                             leaky_relu_derivative_at),
    "elu": Activation(elu, elu_derivative, derivative_at=elu_derivative_at),
    "softplus": Activation(softplus, softplus_derivative),
    "gelu": Activation(gelu, gelu_derivative, needs_input=True),
}

HIDDEN_ACTIVATIONS = (
    "identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu",
)
