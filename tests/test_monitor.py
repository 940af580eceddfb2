"""The monitor (_monitor): one record per epoch, and what a fitted model keeps."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier
from skbackprop._monitor import HISTORY_COLUMNS, Monitor, Row

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:500]), y[:500]


class Settings:
    n_iter_no_change, tol, scoring, solver, verbose = 2, 0.0, None, "adam", False


def test_an_epoch_is_committed_by_one_assignment():
    """A row appended but not committed does not count: the record decides."""
    weights = ([np.zeros((2, 1))], [np.zeros(1)])
    monitor = Monitor(Settings(), None, None, None, weights, watch_validation=False)
    for loss in (3.0, 2.0, 2.5, 2.6):
        monitor.end_epoch(loss, 0.1, 0.0, weights)
    monitor.rows.append(Row(5, 1.0, np.nan, np.nan, 0.1, 0.0))  # interrupted here
    attrs = monitor.attributes({}, incremental=False, rows_per_epoch=10)
    assert attrs["n_iter_"] == 4 and attrs["t_"] == 40
    assert attrs["loss_curve_"] == [3.0, 2.0, 2.5, 2.6] and attrs["loss_"] == 2.6
    assert len(attrs["_history"]) == 4 and attrs["best_epoch_"] == 2
    assert attrs["best_loss_"] == 2.0 and attrs["_no_improvement_count"] == 2


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
    from skbackprop._steps import ArrayStep

    X, y = digits

    def interrupted(self, *args):
        raise KeyboardInterrupt

    monkeypatch.setattr(ArrayStep, "step", interrupted)
    clf = BackpropClassifier(max_iter=3)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert not clf.__sklearn_is_fitted__()
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    before = (clf.n_iter_, list(clf.loss_curve_), clf.coefs_[0].copy())
    monkeypatch.setattr(ArrayStep, "step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, y)
    assert (clf.n_iter_, clf.loss_curve_) == before[:2]
    assert_array_equal(clf.coefs_[0], before[2])
