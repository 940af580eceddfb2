"""Learning-rate schedules (_schedules), also across partial_fit calls."""

import math
from itertools import pairwise

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris

from skbackprop import BackpropRegressor
from skbackprop._engine.schedules import cosine

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
