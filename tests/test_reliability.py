"""Reliability (issue 4): divergence, interrupts, numerics, determinism."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._steps import ArrayStep


def weights_finite(model):
    return all(np.isfinite(p).all() for p in model.coefs_ + model.intercepts_)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:600]), y[:600]


# ------------------------------------------------------------------ divergence
def test_a_finite_blow_up_is_caught(digits):
    """sklearn 1.9.1 at learning_rate_init=10 on digits runs its loss from ~1e6 to
    ~1e7 and returns the worst weights silently."""
    X, y = digits
    clf = BackpropClassifier(solver="sgd", learning_rate_init=10.0, max_iter=20,
                             random_state=0)
    with pytest.warns(ConvergenceWarning, match="Lower learning_rate_init") as record:
        clf.fit(X, y)
    assert "training loss reached" in str(record[0].message)
    assert clf.diverged_
    assert weights_finite(clf)
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    # the weights kept are those of the best epoch (or the start), not the blown-up
    assert len(clf.loss_curve_) == clf.n_iter_
    if clf.best_epoch_:
        assert clf.loss_curve_[clf.best_epoch_ - 1] == min(clf.loss_curve_)


def test_non_finite_loss_stops_at_once():
    X = np.random.RandomState(0).normal(size=(50, 2))
    y = np.exp(40 * X[:, 0])  # huge targets: squared error overflows quickly
    reg = BackpropRegressor(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=1.0,
                            max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="Kept the (best|starting) weights"):
            reg.fit(X, y)
    assert reg.diverged_ and reg.n_iter_ < 50
    assert np.isfinite(reg.predict(X)).all()


def test_no_false_alarm_on_a_healthy_fit(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = BackpropClassifier(hidden_layer_sizes=(30,), max_iter=300,
                                 random_state=0).fit(X, y)
    assert not clf.diverged_


def test_clip_norm_prevents_the_blow_up(digits):
    X, y = digits
    clf = BackpropClassifier(solver="sgd", learning_rate_init=10.0, max_iter=20,
                             clip_norm=0.1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert not clf.diverged_
    assert clf.score(X, y) > 0.8


def test_clip_gradient_norm_by_hand():
    from skbackprop._optimizers import clip_gradient_norm
    grads = [np.array([[3.0, 0.0]]), np.array([4.0])]  # joint norm 5
    assert clip_gradient_norm(grads, 1.0) == pytest.approx(5.0)
    assert_allclose(grads[0], [[0.6, 0.0]])
    assert_allclose(grads[1], [0.8])
    small = [np.array([0.3])]
    clip_gradient_norm(small, 1.0)
    assert_allclose(small[0], [0.3])


# ------------------------------------------------------------------ interrupts
class InterruptAt:
    """A callback that presses Ctrl-C at the end of epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch, self.seen = epoch, 0

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if context.task_name == "epoch":
            self.seen += 1
            if self.seen == self.epoch:
                raise KeyboardInterrupt

    def teardown(self, estimator, context):
        pass


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_an_interrupt_leaves_a_consistent_usable_model(digits, solver):
    X, y = digits
    clf = BackpropClassifier(hidden_layer_sizes=(20,), solver=solver, max_iter=50,
                             random_state=0).set_callbacks(InterruptAt(5))
    with pytest.warns(UserWarning, match="interrupted by the user"):
        clf.fit(X, y)
    assert clf.n_iter_ == 5 and len(clf.history_) == 5
    assert clf.predict(X).shape == (600,)
    # the weights kept are those with the lowest loss: for the stochastic solvers
    # the weights entering the best epoch (its loss is measured before each update),
    # for lbfgs the iterate of the best iteration
    best = int(np.argmin(clf.loss_curve_)) + 1
    assert clf.best_epoch_ == best
    epochs = best if solver == "lbfgs" else best - 1
    assert epochs >= 1
    refit = BackpropClassifier(hidden_layer_sizes=(20,), solver=solver, max_iter=epochs,
                               random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        refit.fit(X, y)
    for a, b in zip(clf.coefs_, refit.coefs_):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_an_interrupt_inside_a_step(digits, monkeypatch):
    """Ctrl-C in the middle of epoch 3's backprop: the half-done epoch is dropped."""
    X, y = digits
    clf = BackpropClassifier(hidden_layer_sizes=(10,), batch_size=100, max_iter=20,
                             random_state=0)
    calls = {"n": 0}
    step = ArrayStep.step

    def flaky_step(self, *args):
        calls["n"] += 1
        if calls["n"] == 15:  # epoch 3 (6 batches of 100 per epoch)
            raise KeyboardInterrupt
        return step(self, *args)

    monkeypatch.setattr(ArrayStep, "step", flaky_step)
    with pytest.warns(UserWarning, match="interrupted"):
        clf.fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    assert np.isfinite(clf.predict_proba(X)).all()


# ------------------------------------------------------------------ numerics
@pytest.mark.parametrize("scale", [1e4, 1e6])
def test_extreme_inputs_give_valid_probabilities_without_warnings(digits, scale):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = BackpropClassifier(hidden_layer_sizes=(10,), max_iter=3,
                                 random_state=0).fit(X * scale, y)
        proba = clf.predict_proba(X * scale)
        log_proba = clf.predict_log_proba(X * scale)
    assert np.all((proba >= 0) & (proba <= 1))
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.isfinite(log_proba).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["logistic", "softmax"])
def test_output_functions_are_stable_at_extreme_logits(dtype, activation):
    from skbackprop._activations import ACTIVATIONS
    from skbackprop._losses import loss_value
    Z = np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        A = ACTIVATIONS[activation].forward(Z.copy())
        Y = np.array([[1, 0, 0], [0, 1, 0]], dtype=dtype)
        loss = "log_loss" if activation == "softmax" else "binary_log_loss"
        value = loss_value(loss, Y, Z, A)
    assert np.all((A >= 0) & (A <= 1)) and A.dtype == dtype
    if activation == "softmax":
        assert_allclose(A.sum(axis=1), 1.0)
    assert np.isfinite(value) and value > 1e3  # confidently wrong costs ~1e4


# ------------------------------------------------------------------ determinism
def fitted_weights(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return est.coefs_ + est.intercepts_


@pytest.mark.parametrize("params", [
    dict(solver="adam"), dict(solver="sgd", batch_size=16),
    dict(dropout=0.3), dict(early_stopping=True), dict(solver="lbfgs"),
])
def test_same_random_state_same_bits(digits, params):
    X, y = digits
    est = BackpropClassifier(hidden_layer_sizes=(15,), max_iter=10, random_state=7,
                             **params)
    first = fitted_weights(est, X, y)
    again = fitted_weights(clone(est), X, y)
    for a, b in zip(first, again):
        assert_array_equal(a, b)


@pytest.mark.slow
def test_grid_search_in_two_processes_matches_sequential(digits):
    X, y = digits
    grid = {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(8,), (16,)]}
    est = BackpropClassifier(max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = GridSearchCV(est, grid, cv=2, n_jobs=1).fit(X, y)
        two = GridSearchCV(est, grid, cv=2, n_jobs=2).fit(X, y)
    assert_array_equal(one.cv_results_["mean_test_score"],
                       two.cv_results_["mean_test_score"])
    for a, b in zip(one.best_estimator_.coefs_, two.best_estimator_.coefs_):
        assert_array_equal(a, b)
