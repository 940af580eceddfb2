"""Parity with sklearn's MLP: same start, same updates, same weights."""

import warnings
from itertools import pairwise

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor

PAIRS = {"regressor": (MLPRegressor, BackpropRegressor),
         "classifier": (MLPClassifier, BackpropClassifier)}


def regression_data():
    X, y = make_regression(n_samples=80, n_features=4, noise=1.0, random_state=0)
    return StandardScaler().fit_transform(X), y / 100


def binary_data():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X[:150]), y[:150]


def multiclass_data():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


PROBLEMS = {
    "regression": ("regressor", regression_data),
    "binary": ("classifier", binary_data),
    "multiclass": ("classifier", multiclass_data),
}


def assert_same_weights(a, b, atol):
    for pa, pb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_allclose(pa, pb, rtol=0, atol=atol)


def fit_quietly(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize(
    "batching", [dict(batch_size=10**6, shuffle=False), dict(batch_size=16, shuffle=True)],
    ids=["full_batch", "minibatch_shuffled"],
)
def test_same_weights_as_sklearn_from_same_random_state(problem, solver, batching):
    kind, data = PROBLEMS[problem]
    X, y = data()
    params = dict(hidden_layer_sizes=(6, 4), activation="tanh", solver=solver,
                  learning_rate_init=0.05, max_iter=6, random_state=3, alpha=1e-3,
                  **batching)
    theirs = fit_quietly(PAIRS[kind][0](**params), X, y)
    ours = fit_quietly(PAIRS[kind][1](**params), X, y)
    assert_same_weights(theirs, ours, atol=1e-10)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_ == 6
    assert ours.t_ == theirs.t_


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_same_weights_as_sklearn_from_given_weights(problem, solver):
    """Both start from weights we choose (warm_start), then train full-batch."""
    kind, data = PROBLEMS[problem]
    X, y = data()
    rng = np.random.RandomState(42)
    k = 3 if problem == "multiclass" else 1
    units = [X.shape[1], 5, k]
    start_W = [rng.uniform(-0.5, 0.5, (a, b)) for a, b in pairwise(units)]
    start_b = [rng.uniform(-0.5, 0.5, b) for b in units[1:]]
    params = dict(hidden_layer_sizes=(5,), activation="logistic", solver=solver,
                  batch_size=len(X), shuffle=False, learning_rate_init=0.1,
                  max_iter=10, momentum=0.5, n_iter_no_change=100)
    sk_class, our_class = PAIRS[kind]
    theirs = fit_quietly(sk_class(max_iter=1), X, y)  # sklearn needs a fit first
    theirs.set_params(warm_start=True, **params)
    theirs.coefs_ = [W.copy() for W in start_W]
    theirs.intercepts_ = [b.copy() for b in start_b]
    fit_quietly(theirs, X, y)
    ours = our_class(warm_start=True, **params)
    ours.coefs_ = [W.copy() for W in start_W]
    ours.intercepts_ = [b.copy() for b in start_b]
    fit_quietly(ours, X, y)
    assert ours.n_iter_ == 10
    assert_same_weights(theirs, ours, atol=1e-10)


def test_multi_output_regression_same_weights_loss_is_the_differentiated_one():
    """sklearn's gradient is ours; its reported loss is 1/n_outputs of the data term
    (sklearn #8349). Ours is the function the gradient belongs to."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    Y = np.column_stack([X @ [1, 2, 0], np.sin(X[:, 0]), X[:, 1] * X[:, 2]])
    params = dict(hidden_layer_sizes=(8,), solver="sgd", batch_size=60, shuffle=False,
                  max_iter=5, random_state=0, alpha=0.01, learning_rate_init=0.05)
    theirs = fit_quietly(MLPRegressor(**params), X, Y)
    ours = fit_quietly(BackpropRegressor(**params), X, Y)
    assert_same_weights(theirs, ours, atol=1e-10)
    # Full batch: epoch 6 reports the loss at the weights after epoch 5 (before its
    # own update), which we recompute here by hand from those weights.
    pred = ours.predict(X)
    l2 = 0.01 * sum((W**2).sum() for W in ours.coefs_) / (2 * 60)
    data_term = 0.5 * ((Y - pred) ** 2).sum(axis=1).mean()
    full = fit_quietly(BackpropRegressor(**{**params, "max_iter": 6}), X, Y)
    assert full.loss_curve_[-1] == pytest.approx(data_term + l2, rel=1e-12)
    sk_full = fit_quietly(MLPRegressor(**{**params, "max_iter": 6}), X, Y)
    assert sk_full.loss_curve_[-1] == pytest.approx(data_term / 3 + l2, rel=1e-12)


@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
def test_learning_rate_schedules_match_sklearn(schedule):
    X, y = regression_data()
    params = dict(hidden_layer_sizes=(5,), solver="sgd", learning_rate=schedule,
                  learning_rate_init=0.2, batch_size=20, max_iter=60, random_state=0,
                  n_iter_no_change=2, tol=1e-3, power_t=0.3)
    theirs = fit_quietly(MLPRegressor(**params), X, y)
    ours = fit_quietly(BackpropRegressor(**params), X, y)
    assert ours.n_iter_ == theirs.n_iter_
    assert_same_weights(theirs, ours, atol=1e-10)


def test_early_stopping_matches_sklearn_for_binary_targets():
    X, y = binary_data()
    params = dict(hidden_layer_sizes=(10,), early_stopping=True, random_state=1,
                  max_iter=300, n_iter_no_change=5, learning_rate_init=0.01)
    theirs = fit_quietly(MLPClassifier(**params), X, y)
    ours = fit_quietly(BackpropClassifier(**params), X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 300
    assert_allclose(ours.validation_scores_, theirs.validation_scores_)
    assert ours.best_validation_score_ == theirs.best_validation_score_
    assert_same_weights(theirs, ours, atol=1e-10)


@pytest.mark.parametrize("loader,kind", [
    (load_digits, "classifier"),
    (load_breast_cancer, "classifier"),
    (load_diabetes, "regressor"),
])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_held_out_score_within_two_points_of_sklearn(loader, kind, solver):
    X, y = loader(return_X_y=True)
    if kind == "regressor":
        y = (y - y.mean()) / y.std()
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    # diabetes has 442 rows: a 50-unit network needs strong L2 not to overfit
    alpha = 1e-3 if kind == "classifier" else 10.0
    params = dict(hidden_layer_sizes=(50,), solver=solver, random_state=0,
                  max_iter=300, alpha=alpha)
    scores = []
    for est_class in PAIRS[kind]:
        model = make_pipeline(StandardScaler(), est_class(**params))
        scores.append(fit_quietly(model, X_train, y_train).score(X_test, y_test))
    theirs, ours = scores
    assert abs(ours - theirs) <= 0.02
    assert ours > (0.9 if kind == "classifier" else 0.3)


@pytest.mark.parametrize("problem", PROBLEMS)
def test_plain_gradient_descent_per_row_matches_sklearn(problem):
    """momentum=0 and batch_size=1, the tutorial's algorithm (our fast path)."""
    kind, data = PROBLEMS[problem]
    X, y = data()
    params = dict(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0, batch_size=1,
                  learning_rate_init=0.01, max_iter=3, random_state=0)
    theirs = fit_quietly(PAIRS[kind][0](**params), X, y)
    ours = fit_quietly(PAIRS[kind][1](**params), X, y)
    assert_same_weights(theirs, ours, atol=1e-10)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
