"""Helpers shared by several test files (not tests themselves)."""

import numpy as np

from skbackprop._core.init import initialize
from skbackprop._core.losses import huber


def make_targets(loss, rng, n, k):
    """Targets a loss can take: 0/1 labels, one-hot classes, counts or reals."""
    if loss == "binary_log_loss":
        return (rng.uniform(size=(n, k)) > 0.5).astype(float)
    if loss == "log_loss":
        return np.eye(k)[rng.randint(k, size=n)]
    if loss == "poisson":
        return rng.poisson(2.0, size=(n, k)).astype(float)
    return rng.normal(size=(n, k))


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)


# Every (loss, output activation) pair the estimators can train with, and how many
# outputs to test it with.
OUTPUTS = [
    ("squared_error", "identity", 1),
    ("squared_error", "identity", 3),
    ("squared_error", "logistic", 2),
    ("squared_error", "tanh", 1),
    ("squared_error", "relu", 2),
    ("squared_error", "exp", 1),
    ("poisson", "exp", 2),
    ("binary_log_loss", "logistic", 1),
    ("binary_log_loss", "logistic", 3),  # multilabel
    ("log_loss", "softmax", 3),
    ("huber", "identity", 2),
    ("absolute_error", "identity", 1),
    (huber(0.3), "identity", 1),  # most residuals in the linear part
]


def network(activations, n_in, n_out, rng, dtype=np.float64):
    """Weights of a network with these activations (hidden sizes 5, 6, ...) and
    biases moved off 0."""
    sizes = [n_in, *[5 + i for i in range(len(activations) - 1)], n_out]
    coefs, intercepts = initialize(sizes, "glorot_uniform", activations, rng, dtype)
    intercepts = [b + rng.normal(scale=0.1, size=b.shape).astype(dtype) for b in intercepts]
    return coefs, intercepts


def split(X, y):
    return X[:150], y[:150], X[150:], y[150:]


def imbalanced():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, (270, 2)), rng.normal(1.2, 1, (30, 2))])
    y = np.array([0] * 270 + [1] * 30)
    return X, y
