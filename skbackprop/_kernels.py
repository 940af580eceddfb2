"""The compiled loops of ``_fused`` (this module imports numba; see ``_fused``).

Each loop applies a one-number spelling from the math core to every element, in
one pass: the spellings are compiled from ``_activations`` and ``_optimizers``, not
written again here. An activation is chosen by its code (``_fused.FORWARD_CODES``,
``DERIVATIVE_CODES``): the choice is the same for every element, and the compiler
moves it out of the loop.
"""

import hashlib
from pathlib import Path

import numba

from . import _activations, _fused, _optimizers
from ._activations import ACTIVATIONS
from ._fused import DERIVATIVE_CODES, FORWARD_CODES
from ._optimizers import adam_at, sgd_at

__all__ = ["adam", "add_bias_activate", "derivative_at", "forward_at", "sgd", "times_derivative"]

jit = numba.njit(cache=True, error_model="numpy", nogil=True)
inline = numba.njit(error_model="numpy")  # compiled into the loops that call them


def _compiled(names, field):
    return [inline(getattr(ACTIVATIONS[name], field)) for name in names]


identity_at, relu_at, leaky_relu_at = _compiled(
    ("identity", "relu", "leaky_relu"), "forward_at")
(identity_derivative_at, logistic_derivative_at, tanh_derivative_at,
 relu_derivative_at, leaky_relu_derivative_at, elu_derivative_at) = _compiled(
    ("identity", "logistic", "tanh", "relu", "leaky_relu", "elu"), "derivative_at")
RELU, LEAKY_RELU = FORWARD_CODES["relu"], FORWARD_CODES["leaky_relu"]
D_LOGISTIC, D_TANH, D_RELU, D_LEAKY_RELU, D_ELU = (
    DERIVATIVE_CODES[name] for name in ("logistic", "tanh", "relu", "leaky_relu", "elu"))
_adam_at, _sgd_at = inline(adam_at), inline(sgd_at)


@inline
def forward_at(code, z):
    """f(z) for the activation with this code."""
    if code == RELU:
        return relu_at(z)
    if code == LEAKY_RELU:
        return leaky_relu_at(z)
    return identity_at(z)


@inline
def derivative_at(code, a, d):
    """d f'(z) for the activation with this code, from its output a."""
    if code == D_RELU:
        return relu_derivative_at(a, d)
    if code == D_LOGISTIC:
        return logistic_derivative_at(a, d)
    if code == D_TANH:
        return tanh_derivative_at(a, d)
    if code == D_LEAKY_RELU:
        return leaky_relu_derivative_at(a, d)
    if code == D_ELU:
        return elu_derivative_at(a, d)
    return identity_derivative_at(a, d)


@jit
def add_bias_activate(Z, b, code):
    """Z <- f(Z + b) in place, b added to every row."""
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            Z[i, j] = forward_at(code, Z[i, j] + b[j])


@jit
def times_derivative(delta, A, code):
    """delta <- delta * f'(Z) in place, f' written through the output A."""
    n, k = delta.shape
    for i in range(n):
        for j in range(k):
            delta[i, j] = derivative_at(code, A[i, j], delta[i, j])


@jit
def adam(p, g, m, v, step, beta_1, beta_2, epsilon):
    """Adam's update of every parameter in one pass (``_optimizers.adam_at``)."""
    for i in range(p.shape[0]):
        p[i], m[i], v[i] = _adam_at(p[i], g[i], m[i], v[i], step, beta_1, beta_2,
                                    epsilon)


@jit
def sgd(p, g, v, learning_rate, momentum, nesterov):
    """SGD's update of every parameter in one pass (``_optimizers.sgd_at``)."""
    for i in range(p.shape[0]):
        p[i], v[i] = _sgd_at(p[i], g[i], v[i], learning_rate, momentum, nesterov)


def _drop_stale_cache(kernels):
    """numba checks a cached kernel against the file it is defined in only; these
    loops also compile the spellings of ``_activations`` and ``_optimizers`` and the
    codes of ``_fused``, so when one of those files changes, the cached loops are
    dropped (and compiled again on first use)."""
    sources = b"".join(Path(module.__file__).read_bytes()
                       for module in (_activations, _optimizers, _fused))
    digest = hashlib.sha256(sources).hexdigest()
    stamp = Path(kernels[0]._cache._cache_path) / "_kernels.sources"
    try:
        if stamp.read_text() == digest:
            return
    except OSError:
        pass
    for kernel in kernels:
        kernel._cache.flush()
    try:
        stamp.write_text(digest)
    except OSError:  # a read-only installation: numba keeps no cache there either
        pass


_drop_stale_cache([add_bias_activate, times_derivative, adam, sgd])
