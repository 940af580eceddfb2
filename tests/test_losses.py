"""Losses (_losses): values against sklearn's metrics and hand-worked numbers, dL/dz
as the chain rule, the L2 convention, finite log losses at saturated logits; label
smoothing against torch's cross-entropy and finite differences."""


import numpy as np
import pytest
from math_helpers import OUTPUTS, make_targets, mlp_loss_and_gradients
from numpy.testing import assert_allclose
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.metrics import mean_poisson_deviance, mean_squared_error

from skbackprop._core.activations import ACTIVATIONS
from skbackprop._core.losses import get_loss, huber, label_smoothed, loss_value, output_delta


@pytest.mark.parametrize("loss,out,k", OUTPUTS)
def test_output_delta_is_the_chain_rule(loss, out, k):
    """On the canonical link the fused a - y equals dl/da * f'(z) term by term."""
    rng = np.random.RandomState(1)
    Y = make_targets(loss, rng, 5, k)
    A = ACTIVATIONS[out].forward(rng.normal(size=(5, k)))
    A = np.clip(A, 1e-3, None) if out == "relu" else A
    expected = ACTIVATIONS[out].derivative(A, get_loss(loss).dL_dA(Y, A))
    assert_allclose(output_delta(loss, out, Y, A), expected, rtol=1e-10, atol=1e-12)


def test_l2_term_and_its_gradient_follow_the_convention():
    """L2 term = alpha ||W||^2 / (2 sum of weights); biases are not penalised."""
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    coefs = [rng.normal(size=(2, 3)), rng.normal(size=(3, 1))]
    intercepts = [rng.normal(size=3), rng.normal(size=1)]
    acts = ["tanh", "identity"]
    sw = np.array([1.0, 2.0, 0.5, 0.5])  # sums to 4
    base = mlp_loss_and_gradients(X, Y, sw, coefs, intercepts, acts, "squared_error", 0.0)
    reg = mlp_loss_and_gradients(X, Y, sw, coefs, intercepts, acts, "squared_error", 0.8)
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


# ------------------------------------------------------------------ label smoothing

def _torch_smoothed(torch, Z, labels, epsilon):
    """torch's cross-entropy with label smoothing (mean over rows) and its gradient
    with respect to the logits."""
    logits = torch.tensor(Z, requires_grad=True)
    value = torch.nn.functional.cross_entropy(logits, torch.tensor(labels),
                                              label_smoothing=epsilon)
    value.backward()
    return value.item(), logits.grad.numpy()


@pytest.mark.parametrize("epsilon", [0.1, 0.3])
def test_smoothed_log_loss_is_torchs_cross_entropy_with_label_smoothing(epsilon):
    torch = pytest.importorskip("torch")
    rng = np.random.RandomState(0)
    Z = rng.normal(scale=3, size=(9, 4))
    labels = rng.randint(4, size=9)
    A = ACTIVATIONS["softmax"].forward(Z.copy())
    loss = label_smoothed("log_loss", epsilon)
    value, grad = _torch_smoothed(torch, Z, labels, epsilon)
    Y = np.eye(4)[labels]
    assert loss_value(loss, Y, Z, A) == pytest.approx(value, rel=1e-13)
    assert_allclose(output_delta(loss, "softmax", Y, A) / 9, grad, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("epsilon", [0.1, 0.3])
def test_smoothed_binary_log_loss_is_torchs_two_class_cross_entropy(epsilon):
    """A sigmoid output z is a two-class softmax on the logits (0, z): each label
    output is torch's two-class cross-entropy with label smoothing, summed."""
    torch = pytest.importorskip("torch")
    rng = np.random.RandomState(1)
    Z = rng.normal(scale=3, size=(8, 3))  # three labels (multilabel)
    Y = (rng.uniform(size=(8, 3)) > 0.5).astype(float)
    A = ACTIVATIONS["logistic"].forward(Z.copy())
    loss = label_smoothed("binary_log_loss", epsilon)
    value, grad = 0.0, np.zeros_like(Z)
    for k in range(3):
        two = np.column_stack([np.zeros(8), Z[:, k]])
        v, g = _torch_smoothed(torch, two, Y[:, k].astype(int), epsilon)
        value, grad[:, k] = value + v, g[:, 1]
    assert loss_value(loss, Y, Z, A) == pytest.approx(value, rel=1e-13)
    assert_allclose(output_delta(loss, "logistic", Y, A) / 8, grad, rtol=1e-12,
                    atol=1e-16)


@pytest.mark.parametrize("name,out", [("log_loss", "softmax"),
                                      ("binary_log_loss", "logistic")])
def test_smoothed_losses_have_the_gradient_finite_differences_give(name, out):
    """dl/dz = a - y' (the fused delta) and dl/da through the chain rule, against
    central differences of the value in z."""
    rng = np.random.RandomState(2)
    Z = rng.normal(size=(5, 3))
    Y = np.eye(3)[rng.randint(3, size=5)]
    loss = label_smoothed(name, 0.2)
    f = ACTIVATIONS[out]

    def total(Z):
        return loss.value(Y, Z, f.forward(Z.copy())).sum()

    numeric, eps = np.zeros_like(Z), 1e-6
    for index in np.ndindex(Z.shape):
        up, down = Z.copy(), Z.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (total(up) - total(down)) / (2 * eps)
    A = f.forward(Z.copy())
    assert_allclose(output_delta(loss, out, Y, A), numeric, rtol=1e-7, atol=1e-9)
    if out == "logistic":  # (softmax's derivative is a matrix: the fused delta only)
        assert_allclose(f.derivative(A, loss.dL_dA(Y, A)), numeric, rtol=1e-7, atol=1e-9)


def test_smoothed_targets_by_hand_and_finite_at_saturated_logits():
    # y' = 0.9 y + 0.1 / 4: the true class 0.925, the others 0.025
    Y = np.array([[0.0, 1.0, 0.0, 0.0]])
    assert_allclose(label_smoothed("log_loss", 0.1).targets(Y),
                    [[0.025, 0.925, 0.025, 0.025]], rtol=1e-15)
    # binary: y' = 0.9 y + 0.05
    assert_allclose(label_smoothed("binary_log_loss", 0.1).targets(np.array([[1.0], [0.0]])),
                    [[0.95], [0.05]], rtol=1e-15)
    Z = np.array([[0.0, 1000.0, -1000.0]])
    S = ACTIVATIONS["softmax"].forward(Z.copy())  # (1, 0, 0) after rounding
    value = loss_value(label_smoothed("log_loss", 0.3), np.array([[1.0, 0, 0]]), Z, S)
    # -sum y'_k log a_k = 0.8 * 1000 + 0.1 * 0 + 0.1 * 2000 (from the logits)
    assert value == pytest.approx(1000.0, rel=1e-12)


def test_label_smoothing_is_checked_and_zero_changes_nothing():
    assert label_smoothed("log_loss", 0.0) == "log_loss"
    assert label_smoothed("log_loss", 0.1) == label_smoothed("log_loss", 0.1)
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\)"):
        label_smoothed("log_loss", 1.0)
    with pytest.raises(ValueError, match="applies to the log losses"):
        label_smoothed("squared_error", 0.1)
    with pytest.raises(ValueError, match="applies to the log losses"):
        label_smoothed(huber(1.0), 0.1)
