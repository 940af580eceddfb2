"""Helpers shared by several test files (not tests themselves)."""

from itertools import pairwise

import numpy as np

from skbackprop._core.init import initializer
from skbackprop._core.losses import huber
from skbackprop._core.network import (
    forward,
    loss_and_gradients,
    make_workspace,
    pack,
    perceptron,
    unpack,
)


def blas_adds_products_as_python(trials=200):
    """Whether NumPy's BLAS multiplies a row by a 2 x 2 matrix as Python adds the
    two products, a_0 w_0j + a_1 w_1j, each rounded first. Then the per-row path and
    the array path of a 2-2-1 network (every sum two terms, one row per update)
    train to the same bits. Some kernels (OpenBLAS's AVX-512 ones) fuse the multiply
    and the add, rounding once: then they agree to a few units in the last place."""
    rng = np.random.default_rng(0)
    W = rng.normal(size=(2, 2))
    for a in rng.normal(size=(trials, 1, 2)):
        python = [[a[0, 0] * W[0, j] + a[0, 1] * W[1, j] for j in range(2)]]
        if not np.array_equal(a @ W, python):
            return False
    return True


# the tolerance of a 2-2-1 network's per-row fit against its array path's, a few
# epochs long: none where BLAS adds as Python does (``blas_adds_products_as_python``)
TWO_TERM_TOLERANCE = (dict(rtol=0, atol=0) if blas_adds_products_as_python()
                      else dict(rtol=0, atol=1e-14))


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
    init = initializer("glorot_uniform")
    drawn = [init(i, o, rng, a) for (i, o), a in zip(pairwise(sizes), activations)]
    coefs = [W.astype(dtype) for W, _ in drawn]
    intercepts = [b.astype(dtype) for _, b in drawn]
    intercepts = [b + rng.normal(scale=0.1, size=b.shape).astype(dtype) for b in intercepts]
    return coefs, intercepts


def split(X, y):
    return X[:150], y[:150], X[150:], y[150:]


def imbalanced():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, (270, 2)), rng.normal(1.2, 1, (30, 2))])
    y = np.array([0] * 270 + [1] * 30)
    return X, y


# The perceptron as scikit-learn writes it (coefs, intercepts, activations), over
# the network functions that take layers and one parameter list per layer.
def mlp_loss_and_gradients(X, Y, sw, coefs, intercepts, activations, loss, alpha,
                           masks=None, workspace=None, record=None):
    """``(L, coef_grads, intercept_grads)`` of the perceptron."""
    layers, params = perceptron(coefs, intercepts, activations)
    value, grads = loss_and_gradients(X, Y, sw, layers, params, loss, alpha, masks,
                                      workspace, record)
    return value, [g[0] for g in grads], [g[1] for g in grads]


def mlp_forward(X, coefs, intercepts, activations, **kwargs):
    return forward(X, *perceptron(coefs, intercepts, activations), **kwargs)


def mlp_pack(coefs, intercepts):
    return pack([[W, b] for W, b in zip(coefs, intercepts)])


def mlp_unpack(theta, units):
    """``(coefs, intercepts)``: views into ``theta`` for these units per layer."""
    params = unpack(theta, [[(i, o), (o,)] for i, o in pairwise(units)])
    return [p[0] for p in params], [p[1] for p in params]


def mlp_workspace(coefs, intercepts, activations, batch_size, kernels=None):
    """``(ws, coefs, intercepts)``: a workspace for the perceptron and its views."""
    layers, params = perceptron(coefs, intercepts, activations)
    ws = make_workspace(layers, params, coefs[0].shape[0], batch_size, kernels)
    return ws, [p[0] for p in ws.params], [p[1] for p in ws.params]
