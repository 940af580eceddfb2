"""Fused kernels (_fused, _kernels): the one-number spellings equal the NumPy ones,
the compiled loops equal NumPy's step, and fits with and without them agree."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from numpy.testing import assert_allclose, assert_array_equal

from skbackprop import BackpropClassifier, BackpropRegressor, fast_kernels
from skbackprop._activations import ACTIVATIONS
from skbackprop._fused import DERIVATIVE_CODES, FORWARD_CODES, available, kernels
from skbackprop._optimizers import (
    adam_at,
    adam_init,
    adam_step,
    adam_step_size,
    sgd_at,
    sgd_init,
    sgd_step,
)

SPECIAL = np.array([0.0, -0.0, 1e-300, -1e-300, 3.5, -3.5, 1e300, -1e300, np.inf, -np.inf,
                    np.nan])


def values(size=200, seed=0):
    """Ordinary numbers, exact zeros and the special values, in a 2-D array."""
    z = np.random.default_rng(seed).normal(scale=3, size=size)
    return np.concatenate([z, SPECIAL])[None, :]


@pytest.mark.parametrize("name", sorted(FORWARD_CODES))
def test_each_forward_spelling_equals_the_numpy_one(name):
    Z = values()
    f = ACTIVATIONS[name]
    with np.errstate(all="ignore"):
        expected = f.forward(Z.copy())
        spelled = np.array([[f.forward_at(z) for z in Z[0]]])
    assert_array_equal(spelled, expected)  # bit for bit, NaN where NumPy has NaN


@pytest.mark.parametrize("name", sorted(DERIVATIVE_CODES))
def test_each_derivative_spelling_equals_the_numpy_one(name):
    f = ACTIVATIONS[name]
    with np.errstate(all="ignore"):
        A = f.forward(values().copy())
        delta = values(seed=1)[:, ::-1].copy()
        expected = f.derivative(A, delta.copy(), None)
        spelled = np.array([[f.derivative_at(a, d) for a, d in zip(A[0], delta[0])]])
    assert_array_equal(spelled, expected)


@pytest.mark.parametrize("momentum, nesterov", [(0, True), (0.9, True), (0.9, False)])
def test_the_optimizer_spellings_equal_the_numpy_steps(momentum, nesterov):
    rng = np.random.default_rng(0)
    p, g = rng.normal(size=(2, 50))
    sgd_params, adam_params = p.copy(), p.copy()
    sgd_state, adam_state = sgd_init([sgd_params]), adam_init([adam_params])
    w_sgd, v = p.copy(), np.zeros_like(p)
    w_adam, m, s = p.copy(), np.zeros_like(p), np.zeros_like(p)
    counted = {"t": 0}
    for _ in range(3):
        sgd_step([sgd_params], [g.copy()], sgd_state, 0.1, momentum, nesterov)
        adam_step([adam_params], [g.copy()], adam_state, 0.01)
        step = adam_step_size(counted, 0.01, 0.9, 0.999)
        for i in range(p.size):
            w_sgd[i], v[i] = sgd_at(w_sgd[i], g[i], v[i], 0.1, momentum, nesterov)
            w_adam[i], m[i], s[i] = adam_at(w_adam[i], g[i], m[i], s[i], step, 0.9, 0.999,
                                            1e-8)
    assert_array_equal(w_sgd, sgd_params)
    assert_array_equal(v, sgd_state["velocities"][0])
    assert_array_equal(w_adam, adam_params)
    assert_array_equal(s, adam_state["vs"][0])


def test_the_switch_turns_kernels_off_and_restores():
    before = available()
    with fast_kernels(False):
        assert not available()
        assert kernels(np.float64) is None
    assert available() == before
    assert kernels(np.float16) is None  # only float32 and float64 loops exist


def test_the_environment_variable_starts_a_process_without_kernels():
    code = "from skbackprop._fused import available; print(available())"
    env = dict(os.environ, SKBACKPROP_FAST="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"


# ------------------------------------------------------------ with numba only
numba = pytest.importorskip("numba")
K = kernels(np.float64)


@pytest.fixture(autouse=True)
def kernels_on():
    with fast_kernels(True):
        yield


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(FORWARD_CODES))
def test_the_bias_and_activation_loop_equals_numpy(name, dtype):
    rng = np.random.default_rng(0)
    Z, b = rng.normal(scale=3, size=(37, 11)).astype(dtype), rng.normal(size=11).astype(dtype)
    expected = ACTIVATIONS[name].forward(Z + b)
    K.add_bias_activate(Z, b, FORWARD_CODES[name])
    assert_allclose(Z, expected, rtol=1e-12 if dtype == np.float64 else 1e-6, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(DERIVATIVE_CODES))
def test_the_derivative_loop_equals_numpy(name, dtype):
    rng = np.random.default_rng(1)
    A = ACTIVATIONS[name].forward(rng.normal(scale=3, size=(37, 11))).astype(dtype)
    delta = rng.normal(size=A.shape).astype(dtype)
    expected = ACTIVATIONS[name].derivative(A, delta.copy(), None)
    K.times_derivative(delta, A, DERIVATIVE_CODES[name])
    assert_allclose(delta, expected, rtol=1e-12 if dtype == np.float64 else 1e-6,
                    atol=1e-45)


def test_nan_and_inf_pass_through_the_loops_as_through_numpy():
    Z = values()
    expected = ACTIVATIONS["relu"].forward(Z.copy())
    K.add_bias_activate(Z, np.zeros(Z.shape[1]), FORWARD_CODES["relu"])
    assert_array_equal(Z, expected)


def both_ways(make, X, y, **fit_params):
    """The fitted parameters with the kernels on and off."""
    fits = []
    for on in (True, False):
        with fast_kernels(on):
            fits.append(make().fit(X, y, **fit_params))
    return fits


def assert_same_fit(fast, plain, rtol=1e-12):
    for a, b in zip(fast.coefs_ + fast.intercepts_, plain.coefs_ + plain.intercepts_):
        assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    assert_allclose(fast.loss_curve_, plain.loss_curve_, rtol=rtol)


SETUPS = [
    dict(),
    dict(solver="sgd"),
    dict(solver="sgd", momentum=0.0),
    dict(solver="sgd", nesterovs_momentum=False, learning_rate="adaptive"),
    dict(activation="tanh", alpha=0.5),
    dict(activation="logistic", hidden_layer_sizes=(7, 5)),
    dict(activation=["leaky_relu", "elu"], hidden_layer_sizes=(7, 5)),
    dict(activation=["identity", "softplus", "gelu"], hidden_layer_sizes=(4, 6, 5)),
    dict(dropout=0.3, hidden_layer_sizes=(9, 4)),
    dict(clip_norm=0.5),
    dict(shuffle=False, batch_size=7),
]


@pytest.mark.parametrize("settings", SETUPS, ids=str)
def test_a_classifier_fit_with_kernels_equals_numpys_step(settings, digits):
    X, y = digits
    fast, plain = both_ways(lambda: BackpropClassifier(
        max_iter=15, random_state=0, **{"hidden_layer_sizes": (8,), **settings}), X, y)
    assert_same_fit(fast, plain)


def test_a_weighted_sparse_regression_with_kernels_equals_numpys_step():
    rng = np.random.default_rng(3)
    X = scipy.sparse.random(80, 12, density=0.3, random_state=3, format="csr")
    y = rng.normal(size=(80, 2))
    fast, plain = both_ways(
        lambda: BackpropRegressor(hidden_layer_sizes=(6,), max_iter=20, random_state=0,
                                  batch_size=16),
        X, y, sample_weight=rng.uniform(0, 2, size=80))
    assert_same_fit(fast, plain)


def test_a_float32_fit_with_kernels_stays_within_float32_rounding(digits):
    X, y = digits
    fast, plain = both_ways(lambda: BackpropClassifier(
        hidden_layer_sizes=(8,), max_iter=10, random_state=0, dtype="float32"), X, y)
    assert fast.coefs_[0].dtype == np.float32
    assert_same_fit(fast, plain, rtol=1e-4)


def test_cached_loops_are_dropped_when_a_spelling_changes(tmp_path):
    from skbackprop import _kernels

    stamp = Path(_kernels.adam._cache._cache_path) / "_kernels.sources"
    if not stamp.exists():
        pytest.skip("numba keeps no cache here")
    stamp.write_text("the sources of an older version")
    _kernels._drop_stale_cache([_kernels.adam])
    assert stamp.read_text() != "the sources of an older version"
    assert _kernels.adam._cache._cache_file._load_index() == {}
