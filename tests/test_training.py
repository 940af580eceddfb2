"""One fit as a whole (_training): interrupts anywhere leave one consistent record.

The fault injector raises KeyboardInterrupt at the N-th line that Python executes
inside the skbackprop package during a call (``sys.settrace``), for N drawn across
the whole call: data checks, set-up, every part of the loop, the monitor's commit,
the outcome and the warnings after it.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

import skbackprop
from skbackprop import BackpropClassifier, BackpropRegressor, load, save

PACKAGE = str(Path(skbackprop.__file__).resolve().parent)


class Interrupter:
    """Counts the lines run inside skbackprop; raises KeyboardInterrupt at the
    ``at``-th (never, with ``at=None``)."""

    def __init__(self, at=None):
        self.at, self.count = at, 0

    def __enter__(self):
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)

    def _global(self, frame, event, arg):
        if frame.f_code.co_filename.startswith(PACKAGE):
            return self._local
        return None

    def _local(self, frame, event, arg):
        if event == "line":
            self.count += 1
            if self.count == self.at:
                raise KeyboardInterrupt
        return self._local


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


class Scenario:
    """A call to interrupt: ``make()`` builds the model (fitted first, for calls
    that continue one), ``call(model)`` trains it on X and y."""

    def __init__(self, make, method, X, y, **kwargs):
        self.make, self.method, self.X, self.y, self.kwargs = make, method, X, y, kwargs

    def call(self, model):
        return getattr(model, self.method)(self.X, self.y, **self.kwargs)


def _quietly(call, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args)


def _scenarios(X, y):
    small = dict(hidden_layer_sizes=(4,), random_state=0, max_iter=4)
    place = np.array([[8.0, 8.0], [7.0, 9.0], [6.0, 10.0], [5.0, 12.0]])

    def fitted(**params):
        return lambda: _quietly(BackpropClassifier(**small, **params).fit, X, y)

    return {
        "adam early stopping": Scenario(
            lambda: BackpropClassifier(**small, early_stopping=True), "fit", X, y),
        "sgd regressor": Scenario(lambda: BackpropRegressor(**small, solver="sgd"),
                                  "fit", X, y / 2),
        "lbfgs": Scenario(lambda: BackpropClassifier(**small, solver="lbfgs"),
                          "fit", X, y),
        "partial_fit": Scenario(fitted(), "partial_fit", X, y, epochs=3),
        "first partial_fit": Scenario(lambda: BackpropClassifier(**small),
                                      "partial_fit", X, y, classes=[0, 1, 2], epochs=3),
        "warm start": Scenario(fitted(warm_start=True), "fit", X, y),
        "per-row": Scenario(lambda: BackpropRegressor(
            hidden_layer_sizes=(2,), solver="sgd", batch_size=1, max_iter=6,
            random_state=0), "fit", place, place[:, 0] / 10),
    }


def _snapshot(model):
    if not model.__sklearn_is_fitted__():
        return None
    return model.n_iter_, list(model.loss_curve_), [W.copy() for W in model.coefs_]


def _check_consistent(model, scenario, before, path):
    """The invariants an interrupted (or completed) call must leave."""
    X = scenario.X
    if not model.__sklearn_is_fitted__():
        assert before is None, "a fitted model became unfitted"
        with pytest.raises(NotFittedError):
            model.predict(X)
        return
    history = model.history_  # readable
    assert len(history) == len(model.loss_curve_)
    assert_array_equal(history["train_loss"], model.loss_curve_)
    unchanged = before is not None and (model.n_iter_, len(model.loss_curve_)) == (
        before[0], len(before[1]))
    if unchanged:  # the call stored nothing: the model is as it was
        assert_array_equal(model.coefs_[0], before[2][0])
    else:  # partial_fit adds to n_iter_; fit (a warm start too) restarts it
        earlier = len(before[1]) if before and scenario.method == "fit" else 0
        assert earlier + model.n_iter_ == len(model.loss_curve_)
    if model.validation_scores_ is not None:
        assert len(model.validation_scores_) == len(model.loss_curve_)
    assert model.best_epoch_ is None or 1 <= model.best_epoch_ <= len(model.loss_curve_)
    assert np.isfinite(model.loss_)
    output = model.predict_proba(X) if hasattr(model, "classes_") else model.predict(X)
    assert np.isfinite(output).all()
    save(model, path)
    assert_array_equal(load(path).predict(X), model.predict(X))


def _interrupted(scenario, at):
    """(model, its state before the call, whether the call raised)."""
    model = scenario.make()
    before = _snapshot(model)
    try:
        with Interrupter(at):
            _quietly(scenario.call, model)
    except KeyboardInterrupt:
        return model, before, True
    return model, before, False


@pytest.mark.slow
@pytest.mark.parametrize("name", ["adam early stopping", "sgd regressor", "lbfgs",
                                  "partial_fit", "first partial_fit", "warm start",
                                  "per-row"])
def test_an_interrupt_anywhere_leaves_a_consistent_model(iris, name, tmp_path):
    scenario = _scenarios(*iris)[name]
    with Interrupter() as counter:
        _quietly(scenario.call, scenario.make())
    points = np.unique(np.random.RandomState(0).randint(1, counter.count + 1, size=100))
    raised = 0
    for at in points:
        model, before, raised_here = _interrupted(scenario, at)
        raised += raised_here
        _check_consistent(model, scenario, before, tmp_path / "model.npz")
        if model.__sklearn_is_fitted__():  # training goes on
            further = model.fit if model.solver == "lbfgs" or model.early_stopping else (
                model.partial_fit)
            _quietly(further, scenario.X, scenario.y)
            assert np.isfinite(model.loss_)
    assert 0 < raised < len(points)  # some interrupts re-raised, some returned
