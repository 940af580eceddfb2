"""Every warning the package gives points at the caller's line (_warnings)."""

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import cross_val_score

import skbackprop
from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._engine.steps import ArrayStep, PlannedStep

PACKAGE = str(Path(skbackprop.__file__).resolve().parent)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def _interrupt_in_epoch_2(monkeypatch):
    calls = {"n": 0}

    def flaky(step):
        def interrupted(self, *args):
            calls["n"] += 1
            if calls["n"] == 3:  # epoch 2 (two batches an epoch)
                raise KeyboardInterrupt
            return step(self, *args)
        return interrupted

    for cls in (ArrayStep, PlannedStep):  # (the general step and the planned one)
        monkeypatch.setattr(cls, "step", flaky(cls.step))


def _assigned(X, y):
    clf = BackpropClassifier(hidden_layer_sizes=(2,), max_iter=1)
    clf.coefs_ = [np.zeros((4, 2)), np.zeros((2, 3))]
    clf.intercepts_ = [np.zeros(2), np.zeros(3)]
    return clf.fit(X, y)


CASES = {  # what the call warns about -> the call
    "Maximum iterations": lambda X, y: BackpropClassifier(max_iter=1).fit(X, y),
    "batch_size=1000": lambda X, y: BackpropClassifier(max_iter=1,
                                                      batch_size=1000).fit(X, y),
    "Lower learning_rate_init": lambda X, y: BackpropClassifier(
        solver="sgd", learning_rate_init=1e3, momentum=0.99, max_iter=50,
        random_state=0).fit(X * 100, y),
    "lbfgs failed to converge": lambda X, y: BackpropClassifier(
        solver="lbfgs", max_iter=2).fit(X, y),
    "X has values up to": lambda X, y: BackpropRegressor(max_iter=1).fit(X * 1e7, y),
    "assigned before fitting": _assigned,
}


@pytest.mark.parametrize("expected", list(CASES))
def test_warnings_point_at_the_callers_line(iris, expected):
    """Five warnings had no stacklevel: users saw _base.py:703, not their line."""
    X, y = iris
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        CASES[expected](X, y)
    ours = [w for w in record if not w.filename.startswith(PACKAGE)]
    assert record, "no warning was given"
    assert all(w.filename == __file__ for w in record), [
        (w.filename, str(w.message)[:60]) for w in record]
    assert any(expected in str(w.message) for w in ours)


def test_an_interrupt_warns_at_the_callers_line(iris, monkeypatch):
    X, y = iris
    _interrupt_in_epoch_2(monkeypatch)
    with pytest.warns(UserWarning, match="interrupted") as record:
        BackpropClassifier(batch_size=100, max_iter=5, random_state=0).fit(X, y)
    assert all(w.filename == __file__ for w in record)


def test_inside_a_meta_estimator_the_warning_points_at_sklearn(iris):
    """Not into skbackprop: at the line of sklearn that called fit."""
    X, y = iris
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        cross_val_score(BackpropClassifier(max_iter=1), X, y, cv=2)
    assert record
    assert all("skbackprop" not in w.filename for w in record)
    assert any("sklearn" in w.filename for w in record)
