"""The math core, checked through its pure functions against independent computations:
central finite differences for every derivative and gradient, sklearn's metrics for
every loss value."""

import zlib
from itertools import pairwise

import numpy as np
import pytest
from math_helpers import make_targets, relative_error
from numpy.testing import assert_allclose
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.metrics import mean_poisson_deviance, mean_squared_error

from skbackprop._activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from skbackprop._losses import get_loss, huber, loss_value, output_delta
from skbackprop._network import forward, loss_and_gradients, pack, unpack

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


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_finite_differences(name):
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(6, 4))
    Z[np.abs(Z) < 1e-3] = 0.5  # keep relu away from its kink
    upstream = rng.normal(size=Z.shape)  # dL/dA
    f = ACTIVATIONS[name]
    A = f.forward(Z.copy())
    analytic = f.derivative(A, upstream.copy(), Z.copy())  # dL/dZ
    # L = sum(upstream * f(Z)); its numerical gradient in Z is dL/dZ.
    eps = 1e-6
    numeric = np.zeros_like(Z)
    for idx in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += eps
        Zm[idx] -= eps
        numeric[idx] = (
            np.sum(upstream * f.forward(Zp)) - np.sum(upstream * f.forward(Zm))
        ) / (2 * eps)
    assert relative_error(analytic, numeric) < 1e-8


@pytest.mark.parametrize("loss,out,k", OUTPUTS)
def test_output_delta_is_the_chain_rule(loss, out, k):
    """On the canonical link the fused a - y equals dl/da * f'(z) term by term."""
    rng = np.random.RandomState(1)
    Y = make_targets(loss, rng, 5, k)
    A = ACTIVATIONS[out].forward(rng.normal(size=(5, k)))
    A = np.clip(A, 1e-3, None) if out == "relu" else A
    expected = ACTIVATIONS[out].derivative(A, get_loss(loss).dL_dA(Y, A))
    assert_allclose(output_delta(loss, out, Y, A), expected, rtol=1e-10, atol=1e-12)


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
        c, b = unpack(theta, units)
        return loss_and_gradients(X, Y, sw, c, b, acts, loss, alpha)[0]

    value, coef_grads, intercept_grads = loss_and_gradients(
        X, Y, sw, coefs, intercepts, acts, loss, alpha
    )
    analytic = pack(coef_grads, intercept_grads)
    theta = pack(coefs, intercepts)
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

    value, cg, ig = loss_and_gradients(
        X.astype(np.float32), Y.astype(np.float32), None, as32(coefs), as32(intercepts),
        acts, loss, 0.3)
    assert np.isfinite(value)
    assert all(g.dtype == np.float32 for g in cg + ig)
    theta = pack(as32(coefs), as32(intercepts)).astype(np.float64)

    def loss_at(t):
        c, b = unpack(t, units)
        return loss_and_gradients(X.astype(np.float32).astype(np.float64), Y, None, c, b,
                                  acts, loss, 0.3)[0]

    eps = 1e-6
    numeric = np.array([
        (loss_at(theta + eps * e) - loss_at(theta - eps * e)) / (2 * eps)
        for e in np.eye(theta.size)
    ])
    assert relative_error(pack(cg, ig).astype(np.float64), numeric) < 1e-4


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
        c, b = unpack(theta, units)
        return loss_and_gradients(X, Y, None, c, b, acts, "squared_error", 0.1, masks)[0]

    _, cg, ig = loss_and_gradients(X, Y, None, coefs, intercepts, acts,
                                   "squared_error", 0.1, masks)
    theta = pack(coefs, intercepts)
    eps = 1e-6
    numeric = np.array([(loss_at(theta + eps * e) - loss_at(theta - eps * e)) / (2 * eps)
                        for e in np.eye(theta.size)])
    assert relative_error(pack(cg, ig), numeric) < 1e-6
    # a dropped unit passes nothing on: its outgoing weights get no gradient from
    # rows where it was dropped; with it dropped in every row, none at all
    all_dropped = [None, np.ones((8, 6)), np.ones((8, 5))]
    all_dropped[1][:, 2] = 0.0
    _, cg, _ = loss_and_gradients(X, Y, None, coefs, intercepts, acts,
                                  "squared_error", 0.0, all_dropped)
    assert_allclose(cg[1][2], 0.0)


def test_l2_term_and_its_gradient_follow_the_convention():
    """L2 term = alpha ||W||^2 / (2 sum of weights); biases are not penalised."""
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    coefs = [rng.normal(size=(2, 3)), rng.normal(size=(3, 1))]
    intercepts = [rng.normal(size=3), rng.normal(size=1)]
    acts = ["tanh", "identity"]
    sw = np.array([1.0, 2.0, 0.5, 0.5])  # sums to 4
    base = loss_and_gradients(X, Y, sw, coefs, intercepts, acts, "squared_error", 0.0)
    reg = loss_and_gradients(X, Y, sw, coefs, intercepts, acts, "squared_error", 0.8)
    squares = sum((W**2).sum() for W in coefs)
    assert reg[0] - base[0] == pytest.approx(0.8 * squares / (2 * 4))
    for W, g0, g1 in zip(coefs, base[1], reg[1]):
        assert_allclose(g1 - g0, 0.8 * W / 4, rtol=1e-12)
    for b0, b1 in zip(base[2], reg[2]):
        assert_allclose(b1, b0, rtol=1e-12)


def test_loss_values_match_sklearn_metrics():
    rng = np.random.RandomState(0)
    n = 50
    # squared error: 1/2 * mean over samples of the sum over outputs
    Y, A = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    expected = 0.5 * 3 * mean_squared_error(Y, A)
    assert loss_value("squared_error", Y, A, A) == pytest.approx(expected, rel=1e-12)
    # binary log loss from logits
    Z = rng.normal(scale=3, size=(n, 1))
    P = ACTIVATIONS["logistic"].forward(Z.copy())
    y = (rng.uniform(size=n) > 0.5).astype(float)
    assert loss_value("binary_log_loss", y[:, None], Z, P) == pytest.approx(
        sk_log_loss(y, P.ravel()), rel=1e-10
    )
    # multilabel: summed over labels
    Z3 = rng.normal(size=(n, 3))
    P3 = ACTIVATIONS["logistic"].forward(Z3.copy())
    Y3 = (rng.uniform(size=(n, 3)) > 0.5).astype(float)
    expected = sum(sk_log_loss(Y3[:, j], P3[:, j]) for j in range(3))
    assert loss_value("binary_log_loss", Y3, Z3, P3) == pytest.approx(expected, rel=1e-10)
    # softmax cross-entropy
    S = ACTIVATIONS["softmax"].forward(Z3.copy())
    labels = rng.randint(3, size=n)
    assert loss_value("log_loss", np.eye(3)[labels], Z3, S) == pytest.approx(
        sk_log_loss(labels, S, labels=[0, 1, 2]), rel=1e-10
    )
    # poisson: half the mean Poisson deviance
    counts = rng.poisson(3, size=(n, 1)).astype(float)
    Zp = rng.normal(size=(n, 1))
    mu = np.exp(Zp)
    assert loss_value("poisson", counts, Zp, mu) == pytest.approx(
        0.5 * mean_poisson_deviance(counts.ravel(), mu.ravel()), rel=1e-10
    )


def test_robust_regression_losses_by_hand():
    Y = np.array([[0.0], [0.0], [0.0]])
    A = np.array([[0.5], [-2.0], [3.0]])
    # huber, delta = 1: 0.5^2/2, 1 * (2 - 1/2), 1 * (3 - 1/2)
    assert loss_value(huber(1.0), Y, A, A) == pytest.approx((0.125 + 1.5 + 2.5) / 3)
    assert_allclose(huber(1.0).dL_dA(Y, A), [[0.5], [-1.0], [1.0]])
    assert loss_value("absolute_error", Y, A, A) == pytest.approx(5.5 / 3)
    assert_allclose(get_loss("absolute_error").dL_dA(Y, A), [[1.0], [-1.0], [1.0]])
    # neither has a fused link: the output delta is dl/da through the identity
    assert_allclose(output_delta(huber(1.0), "identity", Y, A), [[0.5], [-1.0], [1.0]])


def test_log_losses_stay_finite_for_saturated_logits():
    Z = np.array([[-800.0], [800.0]])
    P = ACTIVATIONS["logistic"].forward(Z.copy())  # rounds to exactly 0 and 1
    Y = np.array([[1.0], [0.0]])
    assert loss_value("binary_log_loss", Y, Z, P) == pytest.approx(800.0)
    Zs = np.array([[0.0, 1000.0, -1000.0]])
    S = ACTIVATIONS["softmax"].forward(Zs.copy())
    assert loss_value("log_loss", np.array([[1.0, 0, 0]]), Zs, S) == pytest.approx(1000.0)


def test_forward_without_keep_gives_the_same_output():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(5, 3))
    coefs = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))]
    intercepts = [rng.normal(size=4), rng.normal(size=2)]
    acts = ["relu", "softmax"]
    kept, net_inputs = forward(X, coefs, intercepts, acts)
    alone, last_input = forward(X, coefs, intercepts, acts, keep=False)
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
