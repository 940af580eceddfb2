"""One fit as a whole (_training): interrupts anywhere leave one consistent record;
warm start and partial_fit continue a fit; the same random_state gives the same bits.

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
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

import skbackprop
from skbackprop import BackpropClassifier, BackpropRegressor, load, save
from skbackprop._engine.steps import ArrayStep, PlannedStep

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PACKAGE = str(Path(skbackprop.__file__).resolve().parent)


class Interrupter:
    """Counts the lines run inside skbackprop; raises KeyboardInterrupt at the
    ``at``-th (never, with ``at=None``). ``first_commit`` is the count when the
    monitor's first epoch commit returned: an interrupt at any earlier line comes
    before the first completed epoch."""

    def __init__(self, at=None):
        self.at, self.count, self.first_commit = at, 0, None

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
        elif (event == "return" and frame.f_code.co_name == "end_epoch"
              and self.first_commit is None):
            self.first_commit = self.count
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
        "refit": Scenario(fitted(), "fit", X, y),
        "refit on other classes": Scenario(fitted(), "fit", X[y > 0], y[y > 0]),
        "refit lbfgs": Scenario(fitted(solver="lbfgs"), "fit", X, y),
        "per-row": Scenario(lambda: BackpropRegressor(
            hidden_layer_sizes=(2,), solver="sgd", batch_size=1, max_iter=6,
            random_state=0), "fit", place, place[:, 0] / 10),
    }


def _snapshot(model):
    if not model.__sklearn_is_fitted__():
        return None
    return model.n_iter_, list(model.loss_curve_), [W.copy() for W in model.coefs_]


def _state(model):
    """Everything the model holds but sklearn's callback context, copied."""
    import copy

    return {k: copy.deepcopy(v) for k, v in vars(model).items()
            if k != "_callback_fit_ctx"}


def _same(a, b):
    """Equal bit for bit (NaN equal to NaN), through lists, tuples and dicts."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(
            a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    return type(a) is type(b) and a == b


def _check_consistent(model, scenario, before, path, raised):
    """The invariants an interrupted (or completed) call must leave: one that
    raised left the model as it was (``_interrupted`` checks it bit for bit), one
    that returned stored the epochs it completed."""
    X = scenario.X
    if not model.__sklearn_is_fitted__():
        assert before is None, "a fitted model became unfitted"
        with pytest.raises(NotFittedError):
            model.predict(X)
        return
    history = model.history_  # readable
    assert len(history) == len(model.loss_curve_)
    assert_array_equal(history["train_loss"], model.loss_curve_)
    if not raised:  # partial_fit adds to n_iter_; fit restarts it (a warm start's
        # curve goes on)
        earlier = len(before[1]) if before and scenario.method == "fit" and (
            model.warm_start) else 0
        assert earlier + model.n_iter_ == len(model.loss_curve_)
        assert model.n_iter_ >= 1 + (before[0] if scenario.method == "partial_fit"
                                     and before else 0)
    if model.validation_scores_ is not None:
        assert len(model.validation_scores_) == len(model.loss_curve_)
    assert model.best_epoch_ is None or 1 <= model.best_epoch_ <= len(model.loss_curve_)
    assert np.isfinite(model.loss_)
    output = model.predict_proba(X) if hasattr(model, "classes_") else model.predict(X)
    assert np.isfinite(output).all()
    save(model, path)
    assert_array_equal(load(path).predict(X), model.predict(X))


def _interrupted(scenario, at):
    """(model, its state before the call, whether the call raised); a call that
    raised left the model exactly as it was (fitted or not)."""
    model = scenario.make()
    before, state = _snapshot(model), _state(model)
    try:
        with Interrupter(at):
            _quietly(scenario.call, model)
    except KeyboardInterrupt:
        assert _same(_state(model), state), f"interrupt at line {at} changed the model"
        return model, before, True
    return model, before, False


@pytest.mark.slow
@pytest.mark.parametrize("name", ["adam early stopping", "sgd regressor", "lbfgs",
                                  "partial_fit", "first partial_fit", "warm start",
                                  "per-row", "refit", "refit on other classes",
                                  "refit lbfgs"])
def test_an_interrupt_anywhere_leaves_a_consistent_model(iris, name, tmp_path):
    """An interrupt before the first completed epoch re-raises and leaves the model
    exactly as it was (a fitted one fitted, an unfitted one unfitted); one at any
    later line, the loop's end, the outcome and the store included, returns with
    the completed epochs kept."""
    scenario = _scenarios(*iris)[name]
    _quietly(scenario.call, scenario.make())  # (what runs once per process, run)
    model = scenario.make()
    with Interrupter() as counter:
        _quietly(scenario.call, model)
    last = counter.count
    points = np.unique(np.r_[
        np.random.RandomState(0).randint(1, last + 1, size=60),
        np.arange(max(1, counter.first_commit - 20), counter.first_commit + 5),
        np.arange(max(1, last - 40), last + 1)])  # the set-up, the first commit, the end
    raised = 0
    for at in points:
        model, before, raised_here = _interrupted(scenario, at)
        assert raised_here == (at < counter.first_commit), at
        raised += raised_here
        _check_consistent(model, scenario, before, tmp_path / "model.npz", raised_here)
        if model.__sklearn_is_fitted__():  # training goes on
            further = model.fit if model.solver == "lbfgs" or model.early_stopping else (
                model.partial_fit)
            _quietly(further, scenario.X, scenario.y)
            assert np.isfinite(model.loss_)
    assert 0 < raised < len(points)  # some interrupts re-raised, some returned


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

    def flaky(step):
        def flaky_step(self, *args):
            calls["n"] += 1
            if calls["n"] == 15:  # epoch 3 (6 batches of 100 per epoch)
                raise KeyboardInterrupt
            return step(self, *args)
        return flaky_step

    for cls in (ArrayStep, PlannedStep):  # (the general step and the planned one)
        monkeypatch.setattr(cls, "step", flaky(cls.step))
    with pytest.warns(UserWarning, match="interrupted"):
        clf.fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    assert np.isfinite(clf.predict_proba(X)).all()


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


@QUIET
def test_warm_start_keeps_optimizer_state_and_resets_counters(wavy):
    X, y = wavy
    params = dict(hidden_layer_sizes=(6,), solver="adam", shuffle=False, random_state=0)
    once = BackpropRegressor(max_iter=10, **params).fit(X, y)
    twice = BackpropRegressor(max_iter=5, warm_start=True, **params).fit(X, y)
    twice.fit(X, y)
    # Adam's moments carried over: 5 + 5 epochs equal 10 in one go
    for a, b in zip(once.coefs_, twice.coefs_):
        assert_allclose(a, b, rtol=1e-12)
    assert twice._optimizer_state["t"] == once._optimizer_state["t"]
    assert twice.n_iter_ == 5 and len(twice.loss_curve_) == 10
    assert twice.best_loss_ == min(twice.loss_curve_[5:])  # counters restarted


@QUIET
def test_partial_fit_epochs(wavy):
    X, y = wavy
    params = dict(hidden_layer_sizes=(5,), shuffle=False, random_state=0)
    a = BackpropRegressor(**params)
    a.partial_fit(X, y, epochs=4)
    b = BackpropRegressor(**params)
    for _ in range(4):
        b.partial_fit(X, y)
    assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-12)
    assert a.n_iter_ == b.n_iter_ == 4
    with pytest.raises(ValueError):
        a.partial_fit(X, y, epochs=0)


def test_an_interrupt_while_the_final_weights_look_blown_up_keeps_the_best(monkeypatch):
    """Ctrl-C in the final check while it judges, on every row, final weights
    that look like a blow-up on its rows (two full-batch steps at a learning rate
    far too high): not those unjudged weights, but the best epoch's, as an
    interrupt during training keeps them."""
    from sklearn.datasets import load_digits

    import skbackprop._engine.training as training

    X = load_digits().data / 16
    y = X @ np.random.default_rng(0).normal(size=X.shape[1])
    settings = dict(hidden_layer_sizes=(20,), solver="sgd", learning_rate_init=0.8,
                    max_iter=2, momentum=0.0, batch_size=len(X), activation="identity",
                    shuffle=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        checked = BackpropRegressor(**settings).fit(X, y)
    assert checked.diverged_  # (what the final check finds when it is let finish)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "whole_loss", interrupted)
    model = BackpropRegressor(**settings)
    with pytest.warns(UserWarning, match="interrupted by the user"):
        model.fit(X, y)
    assert not model.diverged_ and model.best_epoch_ == checked.best_epoch_
    for got, expected in zip(model.coefs_ + model.intercepts_,
                             checked.coefs_ + checked.intercepts_):
        assert_array_equal(got, expected)  # (the best weights, kept by both)
    assert np.mean((model.predict(X) - y) ** 2) < 100


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_an_interrupt_after_the_loop_keeps_the_final_weights(digits, solver, monkeypatch):
    """Ctrl-C in the final check, after the solver ended: the weights it ended on
    (not the best epoch's), with the optimizer state that goes with them."""
    from skbackprop._engine.guard import Guard

    X, y = digits
    settings = dict(hidden_layer_sizes=(10,), solver=solver, max_iter=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = BackpropClassifier(**settings).fit(X, y)

    def interrupted(self, *args):
        raise KeyboardInterrupt

    monkeypatch.setattr(Guard, "check_final", interrupted)
    clf = BackpropClassifier(**settings)
    with pytest.warns(UserWarning, match="interrupted by the user after its last epoch"):
        clf.fit(X, y)
    assert clf.n_iter_ == plain.n_iter_
    for got, expected in zip(clf.coefs_ + clf.intercepts_, plain.coefs_ + plain.intercepts_):
        assert_array_equal(got, expected)
