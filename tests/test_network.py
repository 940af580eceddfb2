"""Forward and backward passes (_network): gradients against central finite
differences for every activation, loss and output, float32, dropout masks; the
workspace path bit for bit equal to the allocating path."""


import zlib
from itertools import pairwise

import numpy as np
import pytest
from math_helpers import (
    OUTPUTS,
    make_targets,
    mlp_forward,
    mlp_loss_and_gradients,
    mlp_pack,
    mlp_unpack,
    mlp_workspace,
    network,
    relative_error,
)
from numpy.testing import assert_allclose, assert_array_equal

from skbackprop._core.activations import HIDDEN_ACTIVATIONS

NETWORKS = [  # hidden activations + output activation, loss
    (["relu", "softmax"], "log_loss"),
    (["tanh", "logistic"], "binary_log_loss"),
    (["logistic", "gelu", "identity"], "squared_error"),
    (["elu", "exp"], "poisson"),
    (["softplus", "identity"], "absolute_error"),
]


@pytest.mark.parametrize("activations, loss", NETWORKS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_workspace_gives_the_allocating_path_bit_for_bit(activations, loss, weighted,
                                                          dtype):
    rng = np.random.RandomState(0)
    n, n_in, n_out = 13, 4, 3
    X = rng.normal(size=(n, n_in)).astype(dtype)
    Y = make_targets(loss, rng, n, n_out).astype(dtype)
    sw = rng.uniform(0.5, 2, size=n).astype(dtype) if weighted else None
    coefs, intercepts = network(activations, n_in, n_out, rng, dtype)
    plain = mlp_loss_and_gradients(X, Y, sw, coefs, intercepts, activations, loss, 0.3)
    ws, ws_coefs, ws_intercepts = mlp_workspace(coefs, intercepts, activations,
                                                batch_size=20)  # n < batch
    fast = mlp_loss_and_gradients(X, Y, sw, ws_coefs, ws_intercepts, activations, loss,
                                  0.3, workspace=ws)
    assert fast[0] == plain[0]
    for got, expected in zip(fast[1] + fast[2], plain[1] + plain[2]):
        assert_array_equal(got, expected)
    # and the gradients are the workspace's flat vector
    assert all(np.shares_memory(g, ws.grad) for g in fast[1] + fast[2])


@pytest.mark.parametrize("hidden", [(5,), (4, 3)], ids=["1hidden", "2hidden"])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("loss,out,k", OUTPUTS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_gradients_match_finite_differences(hidden, activation, loss, out, k, weighted):
    key = repr((hidden, activation, getattr(loss, "link", loss), out, k)).encode()
    rng = np.random.RandomState(zlib.crc32(key))
    n, d = 7, 3
    X = rng.normal(size=(n, d))
    Y = make_targets(loss, rng, n, k)
    sw = rng.uniform(0.5, 2.0, size=n) if weighted else None
    units = [d, *hidden, k]
    coefs = [rng.uniform(-0.8, 0.8, size=(a, b)) for a, b in pairwise(units)]
    intercepts = [rng.uniform(-0.3, 0.3, size=b) for b in units[1:]]
    acts = [activation] * len(hidden) + [out]
    alpha = 0.3

    def loss_at(theta):
        c, b = mlp_unpack(theta, units)
        return mlp_loss_and_gradients(X, Y, sw, c, b, acts, loss, alpha)[0]

    value, coef_grads, intercept_grads = mlp_loss_and_gradients(
        X, Y, sw, coefs, intercepts, acts, loss, alpha
    )
    analytic = mlp_pack(coef_grads, intercept_grads)
    theta = mlp_pack(coefs, intercepts)
    eps = 1e-6
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        numeric[i] = (loss_at(theta + step) - loss_at(theta - step)) / (2 * eps)
    assert np.isfinite(value)
    assert relative_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("loss,out,k", OUTPUTS)
def test_float32_gradients_match_finite_differences(activation, loss, out, k):
    """Gradients computed end to end in float32 agree with float64 central
    differences of the same loss to float32 precision."""
    rng = np.random.RandomState(zlib.crc32(repr((activation, out, k)).encode()))
    units = [3, 5, 4, k]
    X = rng.normal(size=(6, 3))
    Y = make_targets(loss, rng, 6, k)
    coefs = [rng.uniform(-0.8, 0.8, size=(a, b)) for a, b in pairwise(units)]
    intercepts = [rng.uniform(-0.3, 0.3, size=b) for b in units[1:]]
    acts = [activation, activation, out]

    def as32(arrays):
        return [a.astype(np.float32) for a in arrays]

    value, cg, ig = mlp_loss_and_gradients(
        X.astype(np.float32), Y.astype(np.float32), None, as32(coefs), as32(intercepts),
        acts, loss, 0.3)
    assert np.isfinite(value)
    assert all(g.dtype == np.float32 for g in cg + ig)
    theta = mlp_pack(as32(coefs), as32(intercepts)).astype(np.float64)

    def loss_at(t):
        c, b = mlp_unpack(t, units)
        return mlp_loss_and_gradients(X.astype(np.float32).astype(np.float64), Y, None, c, b,
                                  acts, loss, 0.3)[0]

    eps = 1e-6
    numeric = np.array([
        (loss_at(theta + eps * e) - loss_at(theta - eps * e)) / (2 * eps)
        for e in np.eye(theta.size)
    ])
    assert relative_error(mlp_pack(cg, ig).astype(np.float64), numeric) < 1e-4


@pytest.mark.parametrize("activation", ["relu", "logistic", "gelu"])
def test_gradients_with_dropout_masks_match_finite_differences(activation):
    """With the masks held fixed, backprop differentiates the thinned network."""
    rng = np.random.RandomState(7)
    units = [3, 6, 5, 2]
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    coefs = [rng.uniform(-0.8, 0.8, size=(a, b)) for a, b in pairwise(units)]
    intercepts = [rng.uniform(-0.3, 0.3, size=b) for b in units[1:]]
    acts = [activation, activation, "identity"]
    masks = [None] + [(rng.uniform(size=(8, u)) >= 0.4) / 0.6 for u in units[1:-1]]

    def loss_at(theta):
        c, b = mlp_unpack(theta, units)
        return mlp_loss_and_gradients(X, Y, None, c, b, acts, "squared_error", 0.1, masks)[0]

    _, cg, ig = mlp_loss_and_gradients(X, Y, None, coefs, intercepts, acts,
                                   "squared_error", 0.1, masks)
    theta = mlp_pack(coefs, intercepts)
    eps = 1e-6
    numeric = np.array([(loss_at(theta + eps * e) - loss_at(theta - eps * e)) / (2 * eps)
                        for e in np.eye(theta.size)])
    assert relative_error(mlp_pack(cg, ig), numeric) < 1e-6
    # a dropped unit passes nothing on: its outgoing weights get no gradient from
    # rows where it was dropped; with it dropped in every row, none at all
    all_dropped = [None, np.ones((8, 6)), np.ones((8, 5))]
    all_dropped[1][:, 2] = 0.0
    _, cg, _ = mlp_loss_and_gradients(X, Y, None, coefs, intercepts, acts,
                                  "squared_error", 0.0, all_dropped)
    assert_allclose(cg[1][2], 0.0)


def test_forward_without_keep_gives_the_same_output():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(5, 3))
    coefs = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))]
    intercepts = [rng.normal(size=4), rng.normal(size=2)]
    acts = ["relu", "softmax"]
    kept, net_inputs = mlp_forward(X, coefs, intercepts, acts)
    alone, last_input = mlp_forward(X, coefs, intercepts, acts, keep=False)
    assert len(kept) == 3 and len(alone) == 1
    assert net_inputs[0] is None  # relu's derivative needs only its output
    assert_allclose(alone[0], kept[-1])
    Z = net_inputs[-1]
    assert_allclose(Z, last_input[0])
    # by hand: A1 = relu(X W1 + b1), A2 = softmax(A1 W2 + b2)
    A1 = np.maximum(X @ coefs[0] + intercepts[0], 0)
    Z_hand = A1 @ coefs[1] + intercepts[1]
    E = np.exp(Z_hand)
    assert_allclose(kept[-1], E / E.sum(axis=1, keepdims=True), rtol=1e-12)
    assert_allclose(Z, Z_hand, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_new_workspace_holds_no_garbage(dtype):
    """Its buffers start at zero: BLAS computes 0 x (old contents) into an output,
    and NaN garbage there raised the invalid flag that training reports as a
    numerical problem (a spurious, memory-dependent RuntimeWarning, 2026-12)."""
    coefs = [np.ones((20, 64), dtype), np.ones((64, 32), dtype), np.ones((32, 1), dtype)]
    intercepts = [np.zeros(64, dtype), np.zeros(32, dtype), np.zeros(1, dtype)]
    for _ in range(3):  # freed NaN blocks of the buffers' sizes, for the allocator to reuse
        poison = [np.full((200, k), np.nan, dtype) for k in (20, 64, 32, 1)]
        poison.append(np.full(20 * 64 + 64 * 32 + 32 + 64 + 32 + 1, np.nan, dtype))
        del poison
    ws = mlp_workspace(coefs, intercepts, ["relu", "relu", "identity"], 200)[0]
    buffers = [ws.X, ws.Y, ws.grad, ws.scratch, *ws.deltas,
               *(b.net_input for b in ws.layers),
               *(b.output for b in ws.layers if b.output is not None)]
    assert all(np.count_nonzero(B) == 0 for B in buffers)
