"""The namespace helpers (``_xp``) and the math core on other Array API namespaces.

Each helper is checked on array-api-strict (the standard and nothing more) and on
PyTorch (CPU) against NumPy's and scipy's own functions; the forward and backward
passes of every activation and loss against the NumPy computation of the same
network. A namespace that is not installed is skipped.
"""

from itertools import pairwise

import numpy as np
import pytest
import scipy.special
from math_helpers import mlp_loss_and_gradients, mlp_pack, mlp_unpack
from numpy.testing import assert_allclose, assert_array_equal

from skbackprop._core import xp as _xp
from skbackprop._core.activations import ACTIVATIONS

NAMESPACES = ["array_api_strict", "torch"]


@pytest.fixture(params=NAMESPACES)
def xp(request):
    module = pytest.importorskip(request.param)
    if request.param == "torch":
        return pytest.importorskip("sklearn.externals.array_api_compat.torch")
    return module


def put(xp, array):
    return xp.asarray(np.asarray(array))


@pytest.fixture
def Z():
    return np.random.RandomState(0).normal(scale=3, size=(7, 4))


def test_namespace_and_device_of_each_kind_of_array(xp, Z):
    assert _xp.namespace(Z) is np
    assert _xp.is_numpy(_xp.namespace(Z))
    moved = put(xp, Z)
    assert not _xp.is_numpy(_xp.namespace(moved))
    assert _xp.device(Z) == "cpu"
    assert _xp.device(moved) == xp.asarray(1.0).device
    assert _xp.host_dtype(moved) == np.float64
    assert _xp.host_dtype(_xp.astype(moved, xp.float32)) == np.float32


# PyTorch's ndtr computes the lower tail as 0.5 erfc(-z / sqrt 2): near Phi = 1e-14
# it is 1e-3 off relatively, 2e-17 absolutely (scipy's is exact there)
@pytest.mark.parametrize("name, reference, atol", [
    ("expit", scipy.special.expit, 1e-300),
    ("ndtr", scipy.special.ndtr, 1e-16),
    ("softplus", lambda z: np.logaddexp(0, z), 1e-300),
])
def test_special_functions_match_scipy(xp, Z, name, reference, atol):
    Z = np.concatenate([Z, [[-800.0, 800.0, 0.0, -40.0]]])  # overflow on either side
    result = getattr(_xp, name)(put(xp, Z))
    assert _xp.namespace(result) == _xp.namespace(put(xp, Z))
    assert_allclose(_xp.to_numpy(result), reference(Z), rtol=1e-15, atol=atol)


def test_xlogy_is_zero_where_x_is_zero(xp):
    X, Y = np.array([0.0, 1.0, 2.0, 0.0]), np.array([0.0, 0.5, 3.0, 2.0])
    assert_allclose(_xp.to_numpy(_xp.xlogy(put(xp, X), put(xp, Y))),
                    scipy.special.xlogy(X, Y), rtol=1e-15)


def test_reductions(xp, Z):
    W = np.random.RandomState(1).normal(size=Z.shape)
    moved, other = put(xp, Z), put(xp, W)
    assert_allclose(_xp.to_numpy(_xp.rowdot(moved, other)), (Z * W).sum(axis=1))
    assert_allclose(_xp.to_numpy(_xp.row_sums(moved)), Z.sum(axis=1, keepdims=True))
    assert_allclose(_xp.to_numpy(_xp.column_sums(moved)), Z.sum(axis=0))
    assert_allclose(_xp.float_value(_xp.squared_norm(moved)), (Z ** 2).sum())
    assert _xp.all_finite(moved)
    assert not _xp.all_finite(put(xp, [1.0, np.inf]))
    assert not _xp.all_finite(put(xp, [np.nan]))


def test_rows_flat_and_concat(xp, Z):
    moved = put(xp, Z)
    assert_array_equal(_xp.to_numpy(_xp.row_slice(moved, 2, 100)), Z[2:])
    rows = np.array([3, 0, 3, 6])
    assert_array_equal(_xp.to_numpy(_xp.take_rows(moved, rows)), Z[rows])
    assert_array_equal(_xp.to_numpy(_xp.take_rows(moved, put(xp, rows))), Z[rows])
    assert_array_equal(_xp.to_numpy(_xp.flat(moved)), Z.ravel())
    assert_array_equal(_xp.to_numpy(_xp.concat([moved, moved], axis=1)),
                       np.hstack([Z, Z]))
    assert_array_equal(_xp.to_numpy(_xp.concat([_xp.flat(moved), _xp.flat(moved)])),
                       np.concatenate([Z.ravel(), Z.ravel()]))


def test_copies_and_writes_stay_in_their_namespace(xp, Z):
    moved = put(xp, Z)
    copied = _xp.copy(moved)
    copied *= 0  # the original is untouched
    assert_array_equal(_xp.to_numpy(moved), Z)
    assert _xp.write(copied, xp.add, moved, moved) is copied
    assert_array_equal(_xp.to_numpy(copied), 2 * Z)
    assert_array_equal(_xp.to_numpy(_xp.into(None, xp.multiply, moved, moved)), Z * Z)
    out = np.empty_like(Z)
    assert _xp.into(out, np.multiply, Z, Z) is out  # NumPy writes into its buffer


def test_host_transfers(xp, Z):
    moved = _xp.to_namespace(Z, xp, _xp.device(put(xp, Z)))
    assert_array_equal(_xp.to_numpy(moved), Z)
    assert _xp.to_namespace(Z, np, "cpu") is Z
    assert _xp.to_namespace(None, xp, None) is None
    labels = np.array([0, 2, 1])
    followed = _xp.follow(labels, moved)
    assert _xp.namespace(followed) == _xp.namespace(moved)
    strings = np.array(["a", "b"])
    assert _xp.follow(strings, moved) is strings  # labels that are not numbers
    assert _xp.float_value(xp.sum(moved)) == pytest.approx(Z.sum(), rel=1e-14)
    assert _xp.to_numpy([1, 2]).tolist() == [1, 2]


# ------------------------------------------------------ the math core, any namespace
CASES = [
    (["relu", "identity"], "squared_error"),
    (["tanh", "logistic"], "binary_log_loss"),
    (["logistic", "softmax"], "log_loss"),
    (["leaky_relu", "exp"], "poisson"),
    (["elu", "identity"], "huber"),
    (["softplus", "identity"], "absolute_error"),
    (["gelu", "tanh"], "squared_error"),  # another output activation: the chain rule
    (["exp", "softmax"], "log_loss"),
]


def network(activations, loss, seed=0):
    rng = np.random.RandomState(seed)
    units = [3, 5, 2]
    X = rng.normal(size=(11, 3))
    if loss == "log_loss":
        Y = np.eye(2)[rng.randint(2, size=11)]
    elif loss == "binary_log_loss":
        Y = rng.randint(2, size=(11, 2)).astype(float)
    else:
        Y = np.abs(rng.normal(size=(11, 2)))
    coefs = [rng.normal(scale=0.5, size=(a, b)) for a, b in pairwise(units)]
    intercepts = [rng.normal(scale=0.5, size=b) for b in units[1:]]
    return X, Y, rng.uniform(0.5, 2, size=11), coefs, intercepts


@pytest.mark.parametrize("activations, loss", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_and_gradients_equal_numpys(xp, activations, loss, weighted):
    X, Y, sw, coefs, intercepts = network(activations, loss)
    sw = sw if weighted else None
    expected = mlp_loss_and_gradients(X, Y, sw, coefs, intercepts, activations, loss, 0.3)

    def moved(arrays):
        return [put(xp, a) for a in arrays]

    value, coef_grads, intercept_grads = mlp_loss_and_gradients(
        put(xp, X), put(xp, Y), None if sw is None else put(xp, sw), moved(coefs),
        moved(intercepts), activations, loss, 0.3)
    assert _xp.float_value(value) == pytest.approx(expected[0], rel=1e-13)
    for got, want in zip(coef_grads + intercept_grads, expected[1] + expected[2]):
        assert _xp.namespace(got) == _xp.namespace(put(xp, X))
        assert_allclose(_xp.to_numpy(got), want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_and_derivative_equals_numpys(xp, Z, name):
    f = ACTIVATIONS[name]
    delta = np.random.RandomState(2).normal(size=Z.shape)
    A = f.forward(Z.copy())
    A_moved = f.forward(put(xp, Z))
    atol = 1e-15 if name == "gelu" else 1e-300  # gelu: z Phi(z), see ndtr above
    assert_allclose(_xp.to_numpy(A_moved), A, rtol=1e-14, atol=atol)
    expected = f.derivative(A, delta.copy(), Z)
    got = f.derivative(A_moved, put(xp, delta), put(xp, Z))
    assert_allclose(_xp.to_numpy(got), expected, rtol=1e-13, atol=atol)


def test_pack_and_unpack_share_the_vector(xp):
    _, _, _, coefs, intercepts = network(["relu", "identity"], "squared_error")
    theta = mlp_pack([put(xp, W) for W in coefs], [put(xp, b) for b in intercepts])
    assert_array_equal(_xp.to_numpy(theta), mlp_pack(coefs, intercepts))
    W, b = mlp_unpack(theta, [3, 5, 2])
    theta += 1  # an update of the vector is seen through the layer views
    assert_array_equal(_xp.to_numpy(W[0]), coefs[0] + 1)
    assert_array_equal(_xp.to_numpy(b[1]), intercepts[1] + 1)
