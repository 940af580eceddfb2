"""Per-row epochs trained ahead (_rowahead): NumPy's stream and shuffle spelled
exactly, and a fit trained ahead equal, to the last bit, to the same fit trained
one epoch at a time (weights, history, counters, velocities, random state,
warnings), however it stops."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skbackprop import BackpropClassifier, BackpropRegressor, _base, config_context
from skbackprop._engine import fused as _fused
from skbackprop._engine import guard as _guard
from skbackprop._engine import loop as _loop
from skbackprop._engine import monitor as _monitor
from skbackprop._engine import rowahead as _rowahead
from skbackprop._engine import rowjit as _rowjit
from skbackprop._engine import rowwise as _rowwise
from skbackprop._prepare import random_state

EPOCHS_AHEAD = _rowahead.EPOCHS_AHEAD  # (the fixture below lowers it)


def stream(rng):
    return _rowahead.stream_of(rng)


@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1])
@pytest.mark.parametrize("drawn", [0, 5, 623, 624])
def test_the_stream_is_numpys_mt19937(seed, drawn):
    """``next_word`` from a generator's state, wherever it stands: NumPy's words,
    through three regenerations of the state."""
    rng = np.random.RandomState(seed)
    rng.randint(0, 2**32, size=drawn, dtype=np.uint32)
    key, position = stream(rng)
    words = [_rowahead.next_word(key, position) for _ in range(1400)]
    assert position[1] == 1400
    assert_array_equal(words, rng.randint(0, 2**32, size=1400, dtype=np.uint32))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, 1000])
def test_the_shuffle_is_numpys(n):
    """Three shuffles in a row give ``RandomState.shuffle``'s orders (its rejected
    words included: lengths just above a power of two reject most), and the words
    drawn advance a generator to where the shuffles leave it."""
    for seed in range(20):
        numpys, ours = np.random.RandomState(seed), np.random.RandomState(seed)
        key, position = stream(ours)
        expected, order = np.arange(n), np.arange(n)
        for _ in range(3):
            numpys.shuffle(expected)
            _rowahead.shuffle_with(order, key, position)
            assert_array_equal(order, expected)
        ours.randint(0, 2**32, size=position[1], dtype=np.uint32)
        assert ours.random_sample() == numpys.random_sample()


def test_a_generator_of_another_bit_generator_is_not_read():
    assert stream(np.random.RandomState(np.random.PCG64(0))) is None


@pytest.fixture
def compiled(monkeypatch):
    """Every per-row fit compiled, with a fresh set of compiled epochs; calls of at
    most 128 epochs, so that a 300-epoch fit of 4 rows takes three and a tail."""
    pytest.importorskip("numba")
    monkeypatch.setattr(_rowjit, "_EPOCHS", {})
    monkeypatch.setattr(_rowahead, "EPOCHS_AHEAD", 128)
    monkeypatch.setitem(_fused._STATE, "failure", None)
    with config_context(fast_kernels_min_work=0):
        yield _rowjit._EPOCHS


def test_the_compiled_stream_is_numpys(compiled):
    key = _rowwise.epoch_key((2, 2, 1), ("identity",) * 2, "squared_error", 0, False, 0,
                             False)
    spec = type("Spec", (), {"fast_kernels": True, "fast_kernels_min_work": 0})
    functions = _rowjit.epoch_for(key, 0, spec, _rowwise.numba_source)
    assert functions.ahead is not None and _rowahead.stream_matches(functions.draw)
    assert not _rowahead.stream_matches(lambda key, position, out: out.fill(0))


PLACEMENT = (np.array([[8, 8], [7, 9], [6, 10], [5, 12]], dtype=float),
             np.array([4, 5, 6, 7], dtype=float))


def noisy(n=24, classes=False):
    rng = np.random.RandomState(3)
    X = rng.normal(size=(n, 2))
    y = X @ [1.0, -0.5] + 0.3 * rng.normal(size=n)
    return X, (y > 0).astype(int) if classes else y


SETTINGS = dict(hidden_layer_sizes=(2,), solver="sgd", batch_size=1, random_state=0)
CASES = {
    "placement, plain SGD, 300 epochs (three calls and a tail)": (
        BackpropRegressor, PLACEMENT, dict(activation="identity", momentum=0.0,
                                           learning_rate_init=0.002, max_iter=300,
                                           tol=0.0, n_iter_no_change=np.inf)),
    "placement, a plateau stops it inside a call": (
        BackpropRegressor, PLACEMENT, dict(activation="identity", momentum=0.0,
                                           learning_rate_init=0.002)),
    "adaptive: plateaus lower the rate": (
        BackpropRegressor, PLACEMENT, dict(activation="identity", momentum=0.0,
                                           learning_rate="adaptive", max_iter=400)),
    "nesterov, L2, sample weights with zeros": (
        BackpropRegressor, noisy(), dict(activation="tanh", momentum=0.9, alpha=0.01,
                                         learning_rate_init=0.01, max_iter=150)),
    "classical momentum, no shuffle": (
        BackpropRegressor, noisy(), dict(activation="relu", momentum=0.5,
                                         nesterovs_momentum=False, shuffle=False,
                                         max_iter=60, tol=0.0)),
    "classifier: logistic output, log loss": (
        BackpropClassifier, noisy(classes=True), dict(activation="logistic",
                                                      max_iter=100)),
    "a loss that overflows within a call": (
        BackpropRegressor, PLACEMENT, dict(activation="identity", momentum=0.0,
                                           learning_rate_init=0.009, max_iter=300,
                                           tol=0.0, random_state=7)),
    "a finite blow-up within a call": (
        BackpropRegressor, PLACEMENT, dict(activation="identity", momentum=0.0,
                                           learning_rate_init=0.0085, max_iter=300,
                                           tol=0.0, random_state=7)),
}


def fitted(est, data, params, **fit_params):
    """The estimator fitted (seeded: the fit makes and owns its generator); the
    warnings, and that generator's next number afterwards."""
    made = []

    def recorded(seed):
        made.append(random_state(seed))
        return made[-1]

    model = est(**{**SETTINGS, **params})
    with warnings.catch_warnings(record=True) as record, pytest.MonkeyPatch.context() as m:
        warnings.simplefilter("always")
        m.setattr(_base, "random_state", recorded)
        model.fit(*data, **fit_params)
    return model, [str(w.message) for w in record], made[-1].random_sample()


def both(monkeypatch, run):
    """``run()`` trained ahead (counting the calls that did) and one epoch at a
    time."""
    calls = []
    init = _rowahead.Ahead.__init__

    def counted(self, *args):
        init(self, *args)
        calls.append(self.count)

    with monkeypatch.context() as patch:
        patch.setattr(_rowahead.Ahead, "__init__", counted)
        ahead = run()
    with monkeypatch.context() as patch:
        patch.setattr(_rowahead, "MIN_EPOCHS_AHEAD", 10**9)
        plain = run()
    return ahead, plain, calls


def assert_same(ahead, plain):
    (a, a_warnings, a_next), (p, p_warnings, p_next) = ahead, plain
    for x, y in zip(a.coefs_ + a.intercepts_, p.coefs_ + p.intercepts_, strict=True):
        assert_array_equal(x, y)
    for name in ("loss_curve_", "n_iter_", "t_", "loss_", "best_loss_", "best_epoch_",
                 "_no_improvement_count", "_best_metric", "diverged_", "_learning_rate"):
        assert getattr(a, name) == getattr(p, name), name
    assert_array_equal(a._optimizer_state["velocities"][0],
                       p._optimizer_state["velocities"][0])
    columns = [c for c in _monitor.HISTORY_COLUMNS if c != "seconds"]
    assert a.history_[columns].equals(p.history_[columns])
    assert a_warnings == p_warnings and a_next == p_next  # (the generator's state)


@pytest.mark.parametrize("case", list(CASES))
def test_a_fit_trained_ahead_is_the_fit_trained_epoch_by_epoch(case, compiled,
                                                               monkeypatch):
    est, data, params = CASES[case]
    fit_params = {}
    if case.startswith("nesterov"):
        fit_params["sample_weight"] = np.random.RandomState(4).uniform(0, 2, len(data[1]))
        fit_params["sample_weight"][[3, 7]] = 0.0
    ahead, plain, calls = both(monkeypatch, lambda: fitted(est, data, params,
                                                           **fit_params))
    assert calls and all(count > 0 for count in calls[:-1])  # (it did train ahead)
    assert_same(ahead, plain)
    if case.startswith("a "):
        assert ahead[0].diverged_ and ahead[0].n_iter_ == 2
        assert ("became inf" if "overflows" in case else "loss reached") in " ".join(
            ahead[1])


def test_a_300_epoch_fit_of_4_rows_is_one_call(compiled, monkeypatch):
    monkeypatch.setattr(_rowahead, "EPOCHS_AHEAD", EPOCHS_AHEAD)
    est, data, params = CASES["placement, plain SGD, 300 epochs (three calls and a tail)"]
    ahead, plain, calls = both(monkeypatch, lambda: fitted(est, data, params))
    assert calls == [300]
    assert_same(ahead, plain)


def test_a_float32_tol_is_compared_as_a_float(compiled, monkeypatch):
    """``tol`` given as a NumPy float32: both paths compare in float64, as with a
    Python float (a float32 tol once made the epoch-by-epoch comparison float32's)."""
    est, data, params = CASES["classical momentum, no shuffle"]
    params = {**params, "activation": "tanh", "momentum": 0.9, "learning_rate_init": 0.01,
              "max_iter": 5000, "tol": 1e-9}
    ahead, plain, calls = both(monkeypatch, lambda: fitted(
        est, data, {**params, "tol": np.float32(1e-9)}))
    as_float = fitted(est, data, params)
    assert calls and 100 < ahead[0].n_iter_ < 5000
    assert_same(ahead, plain)
    assert_same(ahead, as_float)


def test_a_row_function_may_not_take_a_name_of_the_file(monkeypatch):
    """The generated file defines the epoch and rowahead's functions: a record's
    row function of one of those names would be replaced by it, silently."""
    import math

    from skbackprop._core import activations as _activations
    tanh = _activations.ACTIVATIONS["tanh"]
    monkeypatch.setitem(_activations.ACTIVATIONS, "tanh",
                        tanh._replace(row_functions={"within": math.tanh}))
    with pytest.raises(ValueError, match="'within', a name the written-out epoch"):
        _rowwise.row_functions(("tanh", "identity"), "squared_error")


def test_verbose_prints_the_same_lines(compiled, monkeypatch, capsys):
    est, data, params = CASES["placement, a plateau stops it inside a call"]
    printed = []

    def run():
        result = fitted(est, data, {**params, "verbose": True})
        printed.append(capsys.readouterr().out)
        return result

    assert_same(*both(monkeypatch, run)[:2])
    assert printed[0] == printed[1] and printed[0].count("Iteration") > 16


def test_warm_start_and_partial_fit_continue_the_same_way(compiled, monkeypatch):
    est, data, params = CASES["placement, plain SGD, 300 epochs (three calls and a tail)"]

    def run():
        model, _, _ = fitted(est, data, {**params, "max_iter": 40, "warm_start": True})
        model.fit(*data)
        for _ in range(3):
            model.partial_fit(*data)
        return model, [], 0.0

    assert_same(*both(monkeypatch, run)[:2])


def test_a_loss_the_guard_does_not_pass_is_trained_again_by_the_loop(compiled,
                                                                      monkeypatch):
    """A call stops before an epoch whose loss the guard's test does not pass (here
    every loss above the median of the fit's, as if the guard's limit were there,
    while the guard itself passes them all): the loop trains that epoch itself,
    hands it to the guard, and goes on ahead: the same fit."""
    est, data, params = CASES["placement, plain SGD, 300 epochs (three calls and a tail)"]
    limit = float(np.median(fitted(est, data, params)[0].loss_curve_))
    train_ahead = _rowwise.RowStep.train_ahead
    judged = []

    def low_limit(self, order, rng, learning_rate, most, stream, judging):
        judged.append(judging)
        return train_ahead(self, order, rng, learning_rate, most, stream,
                           (judging[0], limit, *judging[2:]))

    monkeypatch.setattr(_rowwise.RowStep, "train_ahead", low_limit)
    ahead, plain, calls = both(monkeypatch, lambda: fitted(est, data, params))
    assert 0 in calls and any(0 < c < 128 for c in calls) and len(calls) > 10
    assert all(j[1] > 1e3 for j in judged)  # (the guard's own limit: far above)
    assert_same(ahead, plain)


def test_a_blow_up_the_guard_finds_keeps_the_same_weights(compiled, monkeypatch):
    """A finite loss above the guard's limit (made low here) ends both fits on the
    same epoch, with the same weights kept."""
    monkeypatch.setattr(_guard, "DIVERGENCE_FACTOR", 0.05)
    est, data, params = CASES["placement, plain SGD, 300 epochs (three calls and a tail)"]
    ahead, plain, calls = both(monkeypatch, lambda: fitted(est, data, params))
    assert calls and ahead[0].diverged_
    assert_same(ahead, plain)


def interrupted_at(monkeypatch, cls, name, epochs, after=False):
    """``cls.name`` raising KeyboardInterrupt once ``epochs`` epochs are committed
    (before running, or ``after`` it)."""
    method = getattr(cls, name)

    def interrupting(self, *args):
        monitor = getattr(self, "monitor", self)
        if not after and monitor.record.n_rows >= epochs:
            raise KeyboardInterrupt
        result = method(self, *args)
        if after and len(calls_made) == 2:
            raise KeyboardInterrupt
        return result

    calls_made = []
    if after:
        def counting(self, *args):
            calls_made.append(self)
            return interrupting(self, *args)
        monkeypatch.setattr(cls, name, counting)
    else:
        monkeypatch.setattr(cls, name, interrupting)


def plain_interrupted(monkeypatch, est, data, params, epochs):
    """The fit trained epoch by epoch, interrupted before epoch ``epochs + 1``."""
    with monkeypatch.context() as patch:
        patch.setattr(_rowahead, "MIN_EPOCHS_AHEAD", 10**9)
        interrupted_at(patch, _loop.Loop, "epoch", epochs)
        return fitted(est, data, params)


def assert_interrupted_alike(ahead, plain, epochs):
    """The same fit kept after an interrupt: the epochs committed, the best weights
    among them, the velocities and random state where they stood."""
    assert ahead[0].n_iter_ == plain[0].n_iter_ == epochs
    assert any("interrupted" in w for w in ahead[1])
    assert_same(ahead, plain)


def test_an_interrupt_while_epochs_are_committed_keeps_those_before(compiled,
                                                                     monkeypatch):
    est, data, params = CASES["placement, plain SGD, 300 epochs (three calls and a tail)"]
    plain = plain_interrupted(monkeypatch, est, data, params, 128)
    with monkeypatch.context() as patch:
        interrupted_at(patch, _monitor.Monitor, "end_epochs", 128)
        ahead = fitted(est, data, params)
    assert_interrupted_alike(ahead, plain, 128)


def test_an_interrupt_during_the_compiled_call_changes_nothing(compiled, monkeypatch):
    """Ctrl-C arrives when the compiled call returns (numba's code does not stop
    for it): the call trained on copies, so the parameters, velocities, row order
    and generator stand where the last commit left them."""
    est, data, params = CASES["placement, plain SGD, 300 epochs (three calls and a tail)"]
    plain = plain_interrupted(monkeypatch, est, data, params, 128)
    with monkeypatch.context() as patch:
        interrupted_at(patch, _rowahead.Ahead, "__init__", 128, after=True)
        ahead = fitted(est, data, params)
    assert_interrupted_alike(ahead, plain, 128)


def test_partial_fit_at_another_rate_trains_its_first_epoch_at_it(compiled,
                                                                   monkeypatch):
    """A 'constant' fit continued by partial_fit after learning_rate_init changed:
    its first epoch runs at the rate the fit ended on, as epoch by epoch, the
    others at the new rate (trained ahead)."""
    est, data, params = CASES["placement, plain SGD, 300 epochs (three calls and a tail)"]

    def run():
        model = fitted(est, data, {**params, "max_iter": 30})[0]
        model.set_params(learning_rate_init=0.0005)
        model.partial_fit(*data, epochs=40)
        return model, [], 0.0

    ahead, plain, calls = both(monkeypatch, run)
    assert calls and ahead[0].history_.learning_rate.tolist()[30:32] == [0.002, 0.0005]
    assert_same(ahead, plain)


@pytest.mark.parametrize("seed", ["generator", None])
def test_a_generator_the_fit_does_not_own_is_drawn_epoch_by_epoch(seed, compiled,
                                                                   monkeypatch):
    """A RandomState passed in, or NumPy's global one (random_state=None), may be
    drawn from elsewhere (another thread's fit) while a call would read it ahead:
    such fits shuffle epoch by epoch, with the generator's own shuffle."""
    est, data, params = CASES["placement, plain SGD, 300 epochs (three calls and a tail)"]
    rng = np.random.RandomState(7) if seed else None
    ahead, _, calls = both(monkeypatch, lambda: fitted(
        est, data, {**params, "random_state": rng}))
    assert not calls and ahead[0].n_iter_ == 300
    _, _, calls = both(monkeypatch, lambda: fitted(
        est, data, {**params, "random_state": rng, "shuffle": False}))
    assert calls  # (without a shuffle, nothing is read from the generator)


def test_without_its_source_no_epochs_are_trained_ahead(compiled, monkeypatch):
    """An installation without source files (only .pyc): rowahead's functions
    cannot be read for compiling, and fits train epoch by epoch, compiled."""
    def no_source(function):
        raise OSError("could not get source code")

    monkeypatch.setattr(_rowahead.inspect, "getsource", no_source)
    est, data, params = CASES["placement, plain SGD, 300 epochs (three calls and a tail)"]
    ahead, plain, calls = both(monkeypatch, lambda: fitted(est, data, params))
    assert not calls and [f.ahead for f in compiled.values()] == [None]
    assert_same(ahead, plain)


def test_a_stream_that_is_not_numpys_trains_epoch_by_epoch(compiled, monkeypatch):
    """Should the compiled stream ever differ from NumPy's (checked once, when the
    epoch is compiled), no epochs are trained ahead, and the fit is the same."""
    monkeypatch.setattr(_rowahead, "stream_matches", lambda draw: False)
    est, data, params = CASES["placement, plain SGD, 300 epochs (three calls and a tail)"]
    ahead, plain, calls = both(monkeypatch, lambda: fitted(est, data, params))
    assert not calls
    assert_same(ahead, plain)
