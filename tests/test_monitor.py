"""The monitor (_monitor): one record per epoch, and what a fitted model keeps."""

import pickle
import warnings

import numpy as np
import pytest
from math_helpers import split
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._engine.monitor import HISTORY_COLUMNS, Monitor, Row

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:500]), y[:500]


class Settings:
    n_iter_no_change, tol, scoring, solver, verbose = 2, 0.0, None, "adam", False


def test_an_epoch_is_committed_by_one_assignment():
    """A row appended but not committed does not count: the record decides."""
    weights = [[np.zeros((2, 1)), np.zeros(1)]]
    monitor = Monitor(Settings(), None, None, None, weights, watch_validation=False)
    for loss in (3.0, 2.0, 2.5, 2.6):
        monitor.end_epoch(loss, 0.1, 0.0, weights)
    monitor.rows.append(Row(5, 1.0, np.nan, np.nan, 0.1, 0.0))  # interrupted here
    attrs = monitor.attributes({}, incremental=False, rows_per_epoch=10)
    assert attrs["n_iter_"] == 4 and attrs["t_"] == 40
    assert attrs["loss_curve_"] == [3.0, 2.0, 2.5, 2.6] and attrs["loss_"] == 2.6
    assert len(attrs["_history"]) == 4 and attrs["best_epoch_"] == 2
    assert attrs["best_loss_"] == 2.0 and attrs["_no_improvement_count"] == 2


def test_each_row_and_record_fills_every_field():
    """Rows and records are built from their fields in order (without their named
    tuples' constructors, which would check the count): each has all of them."""
    weights = [[np.zeros((2, 1)), np.zeros(1)]]
    monitor = Monitor(Settings(), None, None, None, weights, watch_validation=False)
    for loss in (3.0, 2.0):
        monitor.end_epoch(loss, 0.1, 0.0, weights)
    record = monitor.record
    assert len(record) == len(type(record)._fields)
    assert all(len(row) == len(Row._fields) == len(HISTORY_COLUMNS) for row in monitor.rows)
    assert (record.n_rows, record.best_epoch, record.no_improvement) == (2, 2, 0)
    assert monitor.rows[-1].epoch == 2 and monitor.rows[-1].train_loss == 2.0


@QUIET
def test_a_fitted_model_keeps_no_copy_of_its_weights(digits):
    """A digits model carried a best-weights copy as large as its weights."""
    X, y = digits
    clf = BackpropClassifier(hidden_layer_sizes=(30,), max_iter=5,
                             random_state=0).fit(X, y)
    arrays = [v for v in vars(clf).values() if isinstance(v, np.ndarray)]
    lists = [a for v in vars(clf).values() if isinstance(v, list)
             for a in v if isinstance(a, np.ndarray)]
    weights = sum(W.nbytes for W in clf.coefs_ + clf.intercepts_)
    moments = sum(a.nbytes for key in ("ms", "vs") for a in clf._optimizer_state[key])
    stored = sum(a.nbytes for a in arrays + lists)
    assert stored == weights + clf.classes_.nbytes  # the weights, nothing else
    assert moments == 2 * weights  # Adam's moments, for warm_start and partial_fit
    assert len(pickle.dumps(clf)) < 1.1 * (weights + moments) + 20_000


@QUIET
def test_history_rows_agree_with_the_other_attributes(digits):
    X, y = digits
    clf = BackpropClassifier(hidden_layer_sizes=(10,), max_iter=30, random_state=0,
                             early_stopping=True, n_iter_no_change=3).fit(X, y)
    history = clf.history_
    assert list(history.columns) == list(HISTORY_COLUMNS)
    assert_array_equal(history["epoch"], np.arange(1, clf.n_iter_ + 1))
    assert_array_equal(history["train_loss"], clf.loss_curve_)
    assert_array_equal(history["val_score"], clf.validation_scores_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.validation_scores_[clf.best_epoch_ - 1] == clf.best_validation_score_
    clf.set_params(warm_start=True, max_iter=3, early_stopping=False).fit(X, y)
    assert len(clf.history_) == len(clf.loss_curve_) and clf.n_iter_ == 3


def test_an_interrupt_before_the_first_epoch_leaves_the_model_as_it_was(digits,
                                                                        monkeypatch):
    from skbackprop._engine.steps import ArrayStep, PlannedStep

    X, y = digits

    def interrupted(self, *args):
        raise KeyboardInterrupt

    for step in (ArrayStep, PlannedStep):  # (the general step and the planned one)
        monkeypatch.setattr(step, "step", interrupted)
    clf = BackpropClassifier(max_iter=3)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert not clf.__sklearn_is_fitted__()
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    before = (clf.n_iter_, list(clf.loss_curve_), clf.coefs_[0].copy())
    for step in (ArrayStep, PlannedStep):
        monkeypatch.setattr(step, "step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, y)
    assert (clf.n_iter_, clf.loss_curve_) == before[:2]
    assert_array_equal(clf.coefs_[0], before[2])




@QUIET
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_history_rows_are_the_recorded_epochs(wavy, solver):
    X, y = wavy
    X_tr, y_tr, X_val, y_val = split(X, y)
    reg = BackpropRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=15,
                            random_state=0, learning_rate_init=0.01)
    reg.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    h = reg.history_
    assert list(h.columns) == ["epoch", "train_loss", "val_loss", "val_score",
                               "learning_rate", "seconds"]
    assert len(h) == reg.n_iter_ == len(reg.loss_curve_)
    assert_allclose(h["train_loss"], reg.loss_curve_)
    assert_allclose(h["val_score"], reg.validation_scores_)
    assert (h["seconds"] > 0).all()
    if solver == "lbfgs":
        assert h["learning_rate"].isna().all()
    else:
        assert_allclose(h["learning_rate"], 0.01)
    # the last row is the final network, scored independently
    pred = reg.predict(X_val)
    assert h["val_loss"].iloc[-1] == pytest.approx(0.5 * np.mean((y_val - pred) ** 2),
                                                   rel=1e-9)
    assert h["val_score"].iloc[-1] == pytest.approx(reg.score(X_val, y_val), rel=1e-9)


def test_history_without_validation_and_across_partial_fit(wavy):
    X, y = wavy
    reg = BackpropRegressor(hidden_layer_sizes=(4,), random_state=0)
    reg.partial_fit(X, y, epochs=3)
    reg.partial_fit(X, y)
    h = reg.history_
    assert list(h["epoch"]) == [1, 2, 3, 4] and reg.n_iter_ == 4 and reg.t_ == 800
    assert h["val_loss"].isna().all() and h["val_score"].isna().all()
    assert not hasattr(BackpropRegressor(), "history_")


@QUIET
def test_early_stopping_on_validation_loss(wavy):
    X, y = wavy
    X_tr, y_tr, X_val, y_val = split(X, y)
    reg = BackpropRegressor(hidden_layer_sizes=(60,), early_stopping=True,
                            scoring="loss", n_iter_no_change=5, random_state=0,
                            learning_rate_init=0.05, max_iter=500)
    reg.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    val_loss = reg.history_["val_loss"].to_numpy()
    best = int(np.argmin(val_loss))
    assert reg.best_epoch_ == best + 1
    assert reg.best_validation_loss_ == pytest.approx(val_loss[best])
    assert reg.n_iter_ < 500
    # the kept weights are the best epoch's: their validation loss is the minimum
    pred = reg.predict(X_val)
    assert 0.5 * np.mean((y_val - pred) ** 2) == pytest.approx(val_loss[best], rel=1e-9)


@QUIET
def test_best_weights_are_restored_even_without_an_early_stop(wavy):
    X, y = wavy
    X_tr, y_tr, X_val, y_val = split(X, y)
    reg = BackpropRegressor(hidden_layer_sizes=(40,), early_stopping=True,
                            n_iter_no_change=1000, max_iter=60, random_state=0,
                            learning_rate_init=0.2, solver="sgd")  # noisy curve
    reg.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    scores = reg.validation_scores_
    assert reg.n_iter_ == 60  # ran to max_iter
    assert int(np.argmax(scores)) + 1 == reg.best_epoch_ < 60
    assert reg.score(X_val, y_val) == pytest.approx(max(scores), rel=1e-12)


@QUIET
def test_lbfgs_early_stopping(wavy):
    X, y = wavy
    X_tr, y_tr, X_val, y_val = split(X, y)
    reg = BackpropRegressor(hidden_layer_sizes=(80,), solver="lbfgs", alpha=0.0,
                            early_stopping=True, n_iter_no_change=10, max_iter=2000,
                            random_state=0)
    y_noisy = y_tr + np.random.RandomState(1).normal(scale=0.5, size=150)
    reg.fit(X_tr, y_noisy, X_val=X_val, y_val=y_val)  # overfits the noise
    assert reg.n_iter_ < 2000
    assert reg.n_iter_ == reg.best_epoch_ + 11
    assert reg.score(X_val, y_val) == pytest.approx(max(reg.validation_scores_))
