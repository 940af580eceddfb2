"""The training ingredients beyond sklearn's MLP as estimator parameters
(``weight_decay``, ``label_smoothing``): at their defaults a fit is sklearn's; on,
one or two steps of a tiny network are the updates of AdamW and SGDW and the
gradient of torch's smoothed cross-entropy, computed here independently."""

import inspect
import warnings
from itertools import pairwise

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.utils._param_validation import InvalidParameterError

from skbackprop import BackpropClassifier, BackpropRegressor

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _tiny(seed=0, n=12, features=3, outputs=1):
    """Rows, and the starting weights of a network of 4 tanh units."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, features))
    units = [features, 4, outputs]
    Ws = [rng.normal(scale=0.7, size=(a, b)) for a, b in pairwise(units)]
    bs = [rng.normal(scale=0.3, size=b) for b in units[1:]]
    return X, Ws, bs


def _started(model, Ws, bs):
    """``model`` set to start its first fit from these weights."""
    model.set_params(warm_start=True)
    model.coefs_, model.intercepts_ = [W.copy() for W in Ws], [b.copy() for b in bs]
    return model


# ------------------------------------------------------------------- parameters
def test_the_parameters_are_keyword_only_with_sklearns_defaults():
    for cls in (BackpropClassifier, BackpropRegressor):
        signature = inspect.signature(cls)
        for name in ("weight_decay", "label_smoothing"):
            if name == "label_smoothing" and cls is BackpropRegressor:
                assert name not in signature.parameters
                continue
            parameter = signature.parameters[name]
            assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
            assert parameter.default == 0.0
            assert cls().get_params()[name] == 0.0
            assert f"{name} : float, default=0.0" in cls.__doc__
            assert clone(cls(**{name: 0.25})).get_params()[name] == 0.25
    sklearn_names = set(MLPClassifier().get_params())
    ours = list(inspect.signature(BackpropClassifier).parameters)
    assert max(ours.index(n) for n in sklearn_names) < ours.index("weight_decay")


@pytest.mark.parametrize("params, message", [
    (dict(weight_decay=-0.1), "'weight_decay' parameter"),
    (dict(weight_decay="0.1"), "'weight_decay' parameter"),
    (dict(label_smoothing=1.0), "'label_smoothing' parameter"),
    (dict(label_smoothing=-0.1), "'label_smoothing' parameter"),
])
def test_bad_values_are_refused_by_sklearns_validation(params, message):
    with pytest.raises(InvalidParameterError, match=message):
        BackpropClassifier(**params).fit([[0.0], [1.0]], [0, 1])


def test_weight_decay_with_lbfgs_is_refused_naming_the_fix():
    with pytest.raises(ValueError, match=r"use alpha .* with lbfgs, or solver=.adam."):
        BackpropRegressor(solver="lbfgs", weight_decay=0.1).fit([[0.0], [1.0]], [0, 1])


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_at_their_defaults_a_fit_is_sklearns(kind, solver):
    """The parameters written out at 0 train exactly as left out (the same
    numbers, bit for bit) and as sklearn's MLP (to its rounding)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = X[:, 0] - X[:, 1] ** 2 if kind == "regressor" else (X[:, 0] > 0).astype(int)
    ours, theirs = ((BackpropRegressor, MLPRegressor) if kind == "regressor"
                    else (BackpropClassifier, MLPClassifier))
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=5, random_state=0,
                  learning_rate_init=0.05)
    zeros = {"weight_decay": 0.0, **({"label_smoothing": 0.0} if kind == "classifier"
                                     else {})}
    plain, explicit = _fit(ours(**params), X, y), _fit(ours(**params, **zeros), X, y)
    reference = _fit(theirs(**params), X, y)
    for a, b, c in zip(plain.coefs_ + plain.intercepts_,
                       explicit.coefs_ + explicit.intercepts_,
                       reference.coefs_ + reference.intercepts_):
        assert_array_equal(a, b)
        assert_allclose(a, c, rtol=0, atol=1e-12)
    assert explicit.loss_curve_ == plain.loss_curve_


# ----------------------------------------------------------------- weight decay
def _squared_error_gradients(X, y, Ws, bs):
    """dL/dW, dL/db of L = mean over rows of (y - yhat)^2 / 2 for the tanh network,
    by hand."""
    H = np.tanh(X @ Ws[0] + bs[0])
    delta2 = (H @ Ws[1] + bs[1] - y[:, None]) / len(X)
    delta1 = delta2 @ Ws[1].T * (1 - H**2)
    return [X.T @ delta1, H.T @ delta2], [delta1.sum(axis=0), delta2.sum(axis=0)]


@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_with_weight_decay_is_sgdw_worked_by_hand(nesterov):
    """Two full-batch steps of SGDW (Loshchilov and Hutter): the weights (not the
    biases) shrink by eta * weight_decay * W, then the momentum step."""
    X, Ws, bs = _tiny()
    y = np.sin(X[:, 0]) + X[:, 1]
    eta, wd, mu = 0.1, 0.3, 0.9
    model = _started(BackpropRegressor(
        hidden_layer_sizes=(4,), activation="tanh", solver="sgd", batch_size=len(X),
        shuffle=False, learning_rate_init=eta, momentum=mu, nesterovs_momentum=nesterov,
        alpha=0.0, max_iter=2, weight_decay=wd), Ws, bs)
    _fit(model, X, y)
    W, b = [W.copy() for W in Ws], [v.copy() for v in bs]
    velocities = [np.zeros_like(p) for p in W + b]
    for _ in range(2):
        gW, gb = _squared_error_gradients(X, y, W, b)
        params = [W[0] * (1 - eta * wd), W[1] * (1 - eta * wd), b[0], b[1]]
        for k, g in enumerate(gW + gb):
            velocities[k] = mu * velocities[k] - eta * g
            params[k] = params[k] + (mu * velocities[k] - eta * g if nesterov
                                     else velocities[k])
        W, b = params[:2], params[2:]
    for got, want in zip(model.coefs_ + model.intercepts_, W + b):
        assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_adam_with_weight_decay_is_torchs_adamw():
    """Two full-batch steps against torch.optim.AdamW (decay on the weights, not
    the biases), on torch's own gradients of the same loss. torch adds epsilon to
    sqrt(v_hat) and we to sqrt(v): its epsilon is set to epsilon / sqrt(1 - beta_2^t)
    at each step, which makes the formulas equal."""
    torch = pytest.importorskip("torch")
    X, Ws, bs = _tiny(1)
    y = np.cos(X[:, 0]) * X[:, 2]
    eta, wd, beta_2, eps = 0.05, 0.2, 0.99, 1e-8
    model = _started(BackpropRegressor(
        hidden_layer_sizes=(4,), activation="tanh", batch_size=len(X), shuffle=False,
        learning_rate_init=eta, beta_2=beta_2, epsilon=eps, alpha=0.0, max_iter=2,
        weight_decay=wd), Ws, bs)
    _fit(model, X, y)
    W = [torch.tensor(W, requires_grad=True) for W in Ws]
    b = [torch.tensor(v, requires_grad=True) for v in bs]
    adamw = torch.optim.AdamW([{"params": W, "weight_decay": wd},
                               {"params": b, "weight_decay": 0.0}],
                              lr=eta, betas=(0.9, beta_2))
    Xt, yt = torch.tensor(X), torch.tensor(y)[:, None]
    for t in (1, 2):
        adamw.zero_grad()
        out = torch.tanh(Xt @ W[0] + b[0]) @ W[1] + b[1]
        (0.5 * ((out - yt) ** 2).sum(dim=1).mean()).backward()
        for group in adamw.param_groups:
            group["eps"] = eps / np.sqrt(1 - beta_2**t)
        adamw.step()
    for got, want in zip(model.coefs_ + model.intercepts_, W + b):
        assert_allclose(got, want.detach().numpy(), rtol=1e-11, atol=1e-14)
    assert model.loss_curve_[0] == pytest.approx(
        0.5 * np.mean((np.tanh(X @ Ws[0] + bs[0]) @ Ws[1] + bs[1] - y[:, None]) ** 2),
        rel=1e-13)  # (the loss has no decay term: it is decoupled)


# -------------------------------------------------------------- label smoothing
def _torch_smoothed_step(torch, X, labels, Ws, bs, epsilon, binary):
    """torch's cross-entropy with label smoothing at the starting weights (for a
    logistic output: two classes with the logits (0, z)), and its gradients."""
    params = [torch.tensor(p, requires_grad=True) for p in [*Ws, *bs]]
    W1, W2, b1, b2 = params
    Z = torch.tanh(torch.tensor(X) @ W1 + b1) @ W2 + b2
    if binary:
        Z = torch.cat([torch.zeros_like(Z), Z], dim=1)
    loss = torch.nn.CrossEntropyLoss(label_smoothing=epsilon)(Z, torch.tensor(labels))
    loss.backward()
    return loss.item(), [p.grad.numpy() for p in params]


@pytest.mark.parametrize("classes", [2, 3])
def test_label_smoothing_is_torchs_smoothed_cross_entropy(classes):
    """One full-batch step of gradient descent: the loss reported is torch's
    ``CrossEntropyLoss(label_smoothing=0.2)`` at the starting weights, and the step
    is -eta times its gradient. A binary model's logistic output z counts as two
    classes with the logits (0, z): its target is 1 - 0.2/2 for the class given."""
    torch = pytest.importorskip("torch")
    X, Ws, bs = _tiny(2, n=15, outputs=1 if classes == 2 else classes)
    labels = np.arange(15) % classes
    eta, epsilon = 0.5, 0.2
    model = _started(BackpropClassifier(
        hidden_layer_sizes=(4,), activation="tanh", solver="sgd", momentum=0.0,
        batch_size=15, shuffle=False, learning_rate_init=eta, alpha=0.0, max_iter=1,
        label_smoothing=epsilon), Ws, bs)
    _fit(model, X, labels)
    loss, grads = _torch_smoothed_step(torch, X, labels, Ws, bs, epsilon, classes == 2)
    assert model.loss_ == pytest.approx(loss, rel=1e-13)
    for got, start, g in zip(model.coefs_ + model.intercepts_, [*Ws, *bs], grads):
        assert_allclose(got, start - eta * g, rtol=1e-12, atol=1e-15)
    if classes == 2:  # the same as torch's BCEWithLogitsLoss on the targets y'
        z = torch.tensor(np.tanh(X @ Ws[0] + bs[0]) @ Ws[1] + bs[1])
        smoothed = torch.tensor(labels[:, None] * (1 - epsilon) + epsilon / 2)
        bce = torch.nn.BCEWithLogitsLoss()(z, smoothed).item()
        assert model.loss_ == pytest.approx(bce, rel=1e-13)


@QUIET
def test_smoothed_probabilities_stay_away_from_0_and_1():
    X, _, _ = _tiny(3, n=40)
    y = (X[:, 0] > 0).astype(int)
    params = dict(hidden_layer_sizes=(8,), max_iter=300, random_state=0,
                  learning_rate_init=0.05)
    sharp = BackpropClassifier(**params).fit(X, y).predict_proba(X)
    smooth = BackpropClassifier(label_smoothing=0.3, **params).fit(X, y).predict_proba(X)
    assert sharp.max() > 0.99
    assert smooth.max() < 0.9  # (the smoothed targets are 0.85 and 0.15)
