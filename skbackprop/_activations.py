"""Activation functions, each written beside its derivative.

A layer computes its net input ``Z = A_prev @ W + b`` and its output ``A = f(Z)``.
Every ``forward`` below turns ``Z`` into ``A`` *in place* and returns it. Every
``derivative`` multiplies the back-propagated error ``delta = dL/dA`` in place by
``f'(Z)``, giving ``dL/dZ``; it is written through the output ``A`` the forward pass
kept (``f'`` of all these functions is a function of ``f``), so no net input has to
be stored.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.special import expit


class Activation(NamedTuple):
    forward: Callable  # Z -> A = f(Z), in place
    derivative: Callable  # (A, delta) -> delta * f'(Z), in place


def identity(Z):
    """f(z) = z."""
    return Z


def identity_derivative(A, delta):
    """f'(z) = 1."""
    return delta


def logistic(Z):
    """f(z) = 1 / (1 + exp(-z)), computed without overflow by ``scipy.special.expit``."""
    return expit(Z, out=Z)


def logistic_derivative(A, delta):
    """f'(z) = f(z) (1 - f(z)) = A (1 - A)."""
    delta *= A
    delta *= 1 - A
    return delta


def tanh(Z):
    """f(z) = tanh(z)."""
    return np.tanh(Z, out=Z)


def tanh_derivative(A, delta):
    """f'(z) = 1 - tanh(z)^2 = 1 - A^2."""
    delta *= 1 - A**2
    return delta


def relu(Z):
    """f(z) = max(z, 0)."""
    return np.maximum(Z, 0, out=Z)


def relu_derivative(A, delta):
    """f'(z) = 1 if z > 0 else 0, i.e. [A > 0] (the subgradient 0 is taken at z = 0)."""
    return np.multiply(delta, A > 0, out=delta)


def exp(Z):
    """f(z) = exp(z): the output of a Poisson regression (log link)."""
    return np.exp(Z, out=Z)


def exp_derivative(A, delta):
    """f'(z) = exp(z) = A."""
    delta *= A
    return delta


def softmax(Z):
    """f(z)_k = exp(z_k) / sum_j exp(z_j), row by row; the row maximum is subtracted first
    so that no exp overflows."""
    Z -= Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def softmax_derivative(A, delta):
    """Row by row, dL/dz_k = A_k (dL/dA_k - sum_j A_j dL/dA_j) (the softmax Jacobian
    applied to delta)."""
    delta -= (delta * A).sum(axis=1, keepdims=True)
    delta *= A
    return delta


ACTIVATIONS = {
    "identity": Activation(identity, identity_derivative),
    "logistic": Activation(logistic, logistic_derivative),
    "tanh": Activation(tanh, tanh_derivative),
    "relu": Activation(relu, relu_derivative),
    "exp": Activation(exp, exp_derivative),
    "softmax": Activation(softmax, softmax_derivative),
}

HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
