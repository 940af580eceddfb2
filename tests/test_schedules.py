"""Learning-rate schedules (_schedules), also across partial_fit calls; RealMLP's
flat-cosine and coslog4 by their formulas."""

import math
import warnings
from itertools import pairwise

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropRegressor
from skbackprop._engine.schedules import cosine, coslog4, flat_cosine

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("epoch", [0, 1, 5, 9, 10, 11, 25])
def test_cosine_restarts_every_max_iter_epochs(epoch):
    expected = 0.1 * (1 + math.cos(math.pi * (epoch % 10) / 10)) / 2
    assert cosine(0.1, epoch, 0, max_iter=10) == pytest.approx(expected, rel=1e-15)


@QUIET
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_cosine_under_partial_fit_never_stops_learning(solver):
    """From the max_iter-th call on the rate was 0.0 and the weights froze."""
    X, y = load_iris(return_X_y=True)
    reg = BackpropRegressor(hidden_layer_sizes=(3,), solver=solver,
                            learning_rate="cosine", learning_rate_init=0.01,
                            max_iter=4, random_state=0)
    weights = []
    for _ in range(10):
        reg.partial_fit(X, y)
        weights.append(reg.coefs_[0].copy())
    rates = reg.history_["learning_rate"].to_numpy()
    period = 0.01 * (1 + np.cos(np.pi * np.arange(4) / 4)) / 2
    assert_allclose(rates, np.tile(period, 3)[:10], rtol=1e-12)
    assert (rates > 0).all()
    assert all(np.abs(a - b).max() > 0 for a, b in pairwise(weights))


@QUIET
def test_cosine_within_one_fit_is_unchanged():
    X, y = load_iris(return_X_y=True)
    reg = BackpropRegressor(hidden_layer_sizes=(3,), solver="sgd", learning_rate="cosine",
                            max_iter=6, tol=0, n_iter_no_change=100,
                            random_state=0).fit(X, y)
    expected = [reg.learning_rate_init * (1 + math.cos(math.pi * e / 6)) / 2
                for e in range(6)]
    assert_allclose(reg.history_["learning_rate"], expected, rtol=1e-12)


@QUIET
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("schedule,expected", [
    ("constant", lambda e, t: 0.1),
    ("invscaling", lambda e, t: 0.1 / (t + 1) ** 0.25),
    ("step", lambda e, t: 0.1 * 0.5 ** (e // 3)),
    ("cosine", lambda e, t: 0.1 * (1 + np.cos(np.pi * e / 12)) / 2),
])
def test_time_based_schedules(wavy, solver, schedule, expected):
    X, y = wavy
    reg = BackpropRegressor(hidden_layer_sizes=(4,), solver=solver, learning_rate=schedule,
                            learning_rate_init=0.1, power_t=0.25, lr_step_epochs=3,
                            lr_decay=0.5, max_iter=12, n_iter_no_change=np.inf,
                            random_state=0).fit(X, y)
    # epoch e (1-based) runs at the rate set after epoch e - 1, with t = 200 (e - 1)
    want = [expected(e - 1, 200 * (e - 1)) if e > 1 else 0.1 for e in range(1, 13)]
    assert_allclose(reg.history_["learning_rate"], want, rtol=1e-12)


@QUIET
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_adaptive_schedule_divides_by_five_on_plateaus(wavy, solver):
    X, y = wavy
    reg = BackpropRegressor(hidden_layer_sizes=(4,), solver=solver, learning_rate="adaptive",
                            learning_rate_init=0.5, tol=10.0, n_iter_no_change=2,
                            max_iter=50, random_state=0).fit(X, y)
    rates = reg.history_["learning_rate"].to_numpy()
    # tol=10: no epoch improves by tol, except the first over -inf (as sklearn). The
    # count passes n_iter_no_change=2 after epoch 4, then every 3 epochs.
    assert_allclose(rates[:10], [0.5] * 4 + [0.1] * 3 + [0.02] * 3)
    # 9 divisions (after epochs 4, 7, ..., 28) take 0.5 to 2.56e-7 <= 1e-6; the
    # next plateau, at epoch 31, stops training
    assert reg.n_iter_ == 31
    assert rates[-1] == pytest.approx(0.5 / 5**9)


def _coslog(t, n_cycles=4):
    """RealMLP's coslog schedule at progress t in [0, 1]: n cosine cycles on a
    log2 time axis."""
    return 0.5 * (1 - np.cos(2 * np.pi * np.log2(1 + (2**n_cycles - 1) * t)))


def _flat_cos(t):
    """Flat for the first half, then a cosine from 1 to 0."""
    return 1.0 if t < 0.5 else 0.5 * (1 + np.cos(np.pi * (t - 0.5) / 0.5))


@pytest.mark.parametrize("epoch", [0, 1, 4, 5, 9, 10, 23])
def test_flat_cosine_and_coslog4_at_the_middle_of_each_epoch(epoch):
    u = (epoch % 10 + 0.5) / 10  # restarting every max_iter = 10 epochs
    assert flat_cosine(0.2, epoch, 0, max_iter=10) == pytest.approx(0.2 * _flat_cos(u),
                                                                    rel=1e-14)
    assert coslog4(0.2, epoch, 0, max_iter=10) == pytest.approx(0.2 * _coslog(u),
                                                                rel=1e-14, abs=1e-17)


def test_the_shapes_of_flat_cosine_and_coslog4():
    """Over 1000 epochs: flat-cosine holds eta_0 for 500, then falls to near 0;
    coslog4 has four peaks at eta_0 (u where log2(1 + 15 u) = k + 1/2), each
    cycle twice as long as the one before, and starts and ends near 0."""
    rates = np.array([flat_cosine(1.0, e, 0, max_iter=1000) for e in range(1000)])
    assert (rates[:500] == 1.0).all() and (np.diff(rates[500:]) < 0).all()
    assert rates[-1] < 1e-5
    rates = np.array([coslog4(1.0, e, 0, max_iter=1000) for e in range(1000)])
    peaks = [e for e in range(1, 999) if rates[e - 1] < rates[e] > rates[e + 1]]
    expected = [(2 ** (k + 0.5) - 1) / 15 * 1000 - 0.5 for k in range(4)]
    assert_allclose(peaks, expected, atol=1)
    assert rates[peaks].min() > 1 - 1e-3 and max(rates[0], rates[-1]) < 2e-3


@QUIET
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("schedule,formula", [("flat_cosine", _flat_cos),
                                              ("coslog4", _coslog)])
def test_fits_follow_flat_cosine_and_coslog4_from_their_first_epoch(wavy, solver,
                                                                    schedule, formula):
    """Every epoch, the first included, runs at the schedule's rate for its middle;
    partial_fit goes on from there and restarts after max_iter epochs."""
    X, y = wavy
    params = dict(hidden_layer_sizes=(4,), solver=solver, learning_rate=schedule,
                  learning_rate_init=0.1, n_iter_no_change=np.inf, random_state=0)
    reg = BackpropRegressor(max_iter=12, **params).fit(X, y)
    want = [0.1 * formula((e + 0.5) / 12) for e in range(12)]
    assert_allclose(reg.history_["learning_rate"], want, rtol=1e-12)
    streamed = BackpropRegressor(max_iter=5, **params)
    for _ in range(7):
        streamed.partial_fit(X, y)
    want = [0.1 * formula((e % 5 + 0.5) / 5) for e in range(7)]
    assert_allclose(streamed.history_["learning_rate"], want, rtol=1e-12)


@pytest.mark.parametrize("schedule", ["cosine", "flat_cosine", "coslog4"])
def test_cosine_schedules_end_at_max_iter_without_a_convergence_warning(wavy, schedule):
    """Their rate reaches 0 at max_iter: ending there is the plan, not a failure to
    converge, whereas the constant rate still warns."""
    X, y = wavy
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = BackpropRegressor(learning_rate=schedule, max_iter=3, tol=0.0,
                                  random_state=0).fit(X, y)
    assert model.n_iter_ == 3
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\)"):
        BackpropRegressor(learning_rate="constant", max_iter=3, tol=0.0,
                          random_state=0).fit(X, y)
