"""Learning-rate schedules (_schedules), also across partial_fit calls."""

import math
from itertools import pairwise

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris

from skbackprop import BackpropRegressor
from skbackprop._schedules import cosine

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
