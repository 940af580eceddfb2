"""Activations (_activations): each derivative against finite differences, and the
output functions stable at extreme logits."""


import warnings

import numpy as np
import pytest
from math_helpers import relative_error
from numpy.testing import assert_allclose

from skbackprop._core.activations import ACTIVATIONS
from skbackprop._core.losses import loss_value


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_finite_differences(name):
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(6, 4))
    Z[np.abs(Z) < 1e-3] = 0.5  # keep relu away from its kink
    upstream = rng.normal(size=Z.shape)  # dL/dA
    f = ACTIVATIONS[name]
    A = f.forward(Z.copy())
    analytic = f.derivative(A, upstream.copy(), Z.copy())  # dL/dZ
    # L = sum(upstream * f(Z)); its numerical gradient in Z is dL/dZ.
    eps = 1e-6
    numeric = np.zeros_like(Z)
    for idx in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += eps
        Zm[idx] -= eps
        numeric[idx] = (
            np.sum(upstream * f.forward(Zp)) - np.sum(upstream * f.forward(Zm))
        ) / (2 * eps)
    assert relative_error(analytic, numeric) < 1e-8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["logistic", "softmax"])
def test_output_functions_are_stable_at_extreme_logits(dtype, activation):
    from skbackprop._core.activations import ACTIVATIONS
    Z = np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        A = ACTIVATIONS[activation].forward(Z.copy())
        Y = np.array([[1, 0, 0], [0, 1, 0]], dtype=dtype)
        loss = "log_loss" if activation == "softmax" else "binary_log_loss"
        value = loss_value(loss, Y, Z, A)
    assert np.all((A >= 0) & (A <= 1)) and A.dtype == dtype
    if activation == "softmax":
        assert_allclose(A.sum(axis=1), 1.0)
    assert np.isfinite(value) and value > 1e3  # confidently wrong costs ~1e4


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
@pytest.mark.parametrize("scale", [1.0, 60.0, 1e4])
def test_softmax_without_the_row_shift_where_safe_equals_scipys(dtype, rtol, scale):
    """Within the bounds the row maximum is not subtracted (cheaper); beyond them it
    is: either way scipy's softmax to rounding, rows summing to 1."""
    from scipy.special import softmax as scipy_softmax

    from skbackprop._core.activations import softmax
    Z = (np.random.RandomState(0).normal(size=(50, 7)) * scale).astype(dtype)
    expected = scipy_softmax(Z.astype(np.float64), axis=1)
    got = softmax(Z.copy())
    assert got.dtype == dtype
    assert_allclose(got, expected, rtol=rtol, atol=1e-300 if dtype == np.float64 else 1e-37)
    assert_allclose(got.sum(axis=1), 1, rtol=rtol)
