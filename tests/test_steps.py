"""The step seam (_steps): a whole fit through ArrayStep against a reference loop
written here from the plain functions (one array per parameter, nothing
preallocated), within 1e-12; dropout, reproducible and off at predict time."""

import warnings

import numpy as np
import pytest
from math_helpers import mlp_loss_and_gradients, network
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._core.optimizers import adam_init, adam_step, sgd_init, sgd_step

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def reference_fit(X, Y, coefs, intercepts, activations, loss, solver, batch_size,
                  epochs, learning_rate, alpha):
    """Mini-batch training from the plain functions: rows in order, one array per
    parameter, every result freshly allocated (no workspace, no flat vector)."""
    params = [W.copy() for W in coefs] + [b.copy() for b in intercepts]
    n_layers = len(coefs)
    state = (sgd_init if solver == "sgd" else adam_init)(params)
    for _ in range(epochs):
        for start in range(0, X.shape[0], batch_size):
            rows = slice(start, start + batch_size)
            _, cg, ig = mlp_loss_and_gradients(X[rows], Y[rows], None, params[:n_layers],
                                           params[n_layers:], activations, loss, alpha)
            if solver == "sgd":
                sgd_step(params, cg + ig, state, learning_rate, momentum=0.9)
            else:
                adam_step(params, cg + ig, state, learning_rate)
    return params[:n_layers], params[n_layers:]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_fit_equals_a_reference_loop(solver, kind):
    rng = np.random.RandomState(2)
    X = rng.normal(size=(95, 6))
    if kind == "regressor":
        y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
        Y, loss, out = y[:, None], "squared_error", "identity"
        est = BackpropRegressor
    else:
        y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
        Y, loss, out = np.eye(3)[y], "log_loss", "softmax"
        est = BackpropClassifier
    activations = ["relu", "relu", out]
    coefs, intercepts = network(activations, 6, Y.shape[1], rng)
    model = est(hidden_layer_sizes=(5, 6), solver=solver, batch_size=16, shuffle=False,
                max_iter=5, learning_rate_init=0.01, alpha=0.01, warm_start=True)
    model.coefs_, model.intercepts_ = coefs, intercepts  # the start weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    ref_coefs, ref_intercepts = reference_fit(
        X, Y, coefs, intercepts, activations, loss, solver, 16, 5, 0.01, 0.01)
    for got, expected in zip(model.coefs_ + model.intercepts_, ref_coefs + ref_intercepts):
        assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@QUIET
def test_dropout_is_reproducible_and_off_at_predict_time(wavy):
    X, y = wavy
    params = dict(hidden_layer_sizes=(20, 10), dropout=[0.3, 0.1], max_iter=10)
    a = BackpropRegressor(random_state=3, **params).fit(X, y)
    b = BackpropRegressor(random_state=3, **params).fit(X, y)
    c = BackpropRegressor(random_state=4, **params).fit(X, y)
    for p, q in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(p, q)  # bit-identical
    assert not np.allclose(a.coefs_[0], c.coefs_[0])
    # prediction uses every unit, unscaled: the plain forward pass by hand
    H1 = np.maximum(X @ a.coefs_[0] + a.intercepts_[0], 0)
    H2 = np.maximum(H1 @ a.coefs_[1] + a.intercepts_[1], 0)
    assert_allclose(a.predict(X), (H2 @ a.coefs_[2] + a.intercepts_[2]).ravel(),
                    rtol=1e-12)
    assert_allclose(a.predict(X), a.predict(X))


@QUIET
def test_dropout_zero_changes_nothing(wavy):
    X, y = wavy
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    plain = BackpropRegressor(**params).fit(X, y)
    zero = BackpropRegressor(dropout=0.0, **params).fit(X, y)
    np.testing.assert_array_equal(plain.coefs_[0], zero.coefs_[0])


@QUIET
def test_dropout_regularizes():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5))
    y = X[:, 0] + rng.normal(scale=1.0, size=60)  # mostly noise to memorise
    params = dict(hidden_layer_sizes=(200,), max_iter=400, random_state=0,
                  learning_rate_init=0.01, n_iter_no_change=np.inf)
    free = BackpropRegressor(**params).fit(X, y)
    dropped = BackpropRegressor(dropout=0.5, **params).fit(X, y)
    # dropout keeps the big network from memorising the training noise
    assert dropped.score(X, y) < free.score(X, y) - 0.1


def test_dropout_is_checked(wavy):
    X, y = wavy
    with pytest.raises(ValueError, match="lbfgs"):
        BackpropRegressor(solver="lbfgs", dropout=0.2).fit(X, y)
    with pytest.raises(ValueError, match="one per hidden"):
        BackpropRegressor(hidden_layer_sizes=(4, 4), dropout=[0.1]).fit(X, y)
    with pytest.raises(ValueError):
        BackpropRegressor(dropout=1.0).fit(X, y)
