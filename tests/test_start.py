"""The starting network (_start): parameters and given weights, checked with a fix."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@QUIET
def test_a_warm_start_whose_architecture_changed_names_warm_start(iris):
    """Said 'coefs_[0] ... must be (4, 7)' without naming warm_start or the fix."""
    X, y = iris
    clf = BackpropClassifier(max_iter=2, warm_start=True, random_state=0).fit(X, y)
    clf.set_params(hidden_layer_sizes=(7,))
    with pytest.raises(ValueError, match="warm_start=True continues from the fitted "
                                         r"weights, whose units per layer are \[4, 100, "
                                         r"3\].*\[4, 7, 3\]") as error:
        clf.fit(X, y)
    assert "set warm_start=False" in str(error.value)
    assert clf.set_params(warm_start=False).fit(X, y).coefs_[0].shape == (4, 7)


@QUIET
@pytest.mark.parametrize("dtype", [np.float32, np.dtype("float32"), "float32"])
def test_numpy_dtypes_are_accepted(iris, dtype):
    """np.float32 raised InvalidParameterError."""
    X, y = iris
    clf = BackpropClassifier(max_iter=2, dtype=dtype, random_state=0).fit(X, y)
    assert clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32


@QUIET
def test_per_layer_parameters_may_be_arrays(iris):
    """dropout=np.array([.1, .2]) raised InvalidParameterError."""
    X, y = iris
    common = dict(hidden_layer_sizes=(4, 4), max_iter=3, random_state=0)
    arrays = BackpropClassifier(**common, dropout=np.array([0.1, 0.2]),
                                activation=np.array(["tanh", "relu"])).fit(X, y)
    lists = BackpropClassifier(**common, dropout=[0.1, 0.2],
                               activation=["tanh", "relu"]).fit(X, y)
    assert_array_equal(arrays.coefs_[0], lists.coefs_[0])
    assert arrays._layer_activations() == ["tanh", "relu", "softmax"]


def test_assigned_weights_are_never_changed(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(3,), warm_start=True, max_iter=3)
    rng = np.random.RandomState(0)
    clf.coefs_ = [rng.normal(size=(4, 3)), rng.normal(size=(3, 3))]
    clf.intercepts_ = [np.zeros(3), np.zeros(3)]
    given = [W.copy() for W in clf.coefs_]
    originals = clf.coefs_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    for W, W0 in zip(originals, given):
        assert_array_equal(W, W0)
    assert clf.coefs_[0] is not originals[0]


def test_a_warm_start_with_another_number_of_layers_names_both_networks():
    """The fitted activations are one per fitted layer: with hidden_layer_sizes
    given another length, the warm start is refused, not trained on the old network."""
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 4))
    reg = BackpropRegressor(hidden_layer_sizes=(5,), max_iter=3, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, Y)
    reg.set_params(hidden_layer_sizes=(5, 4))
    with pytest.raises(ValueError, match=r"units per layer are \[3, 5, 4\], but the "
                                         r"parameters and data now ask for \[3, 5, 4, 4\]"):
        reg.fit(X, Y)
    assert [W.shape for W in reg.coefs_] == [(3, 5), (5, 4)]  # the model is kept
