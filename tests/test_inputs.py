"""fit's arguments checked and encoded (_inputs): what a call learns about its
inputs comes back as values, and nothing is written on the estimator."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.datasets import load_iris

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._inputs import checked_data


def test_float64_rows_are_kept_only_for_stochastic_float32_fits():
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30.0)
    for solver, kept in (("adam", True), ("sgd", True), ("lbfgs", False)):
        est = BackpropRegressor(dtype="float32", solver=solver)
        data = checked_data(est, X, y, np.ones(30), features=None, targets=None,
                            incremental=False).data
        assert (data.X.dtype == np.float64) is kept
        assert data.dtype == data.Y.dtype == data.sample_weight.dtype == np.float32
        assert data.computed().X.dtype == np.float32
    est = BackpropRegressor(dtype="float32")
    sparse = checked_data(est, scipy.sparse.csr_matrix(X), y, None, features=None,
                          targets=None, incremental=False).data
    assert sparse.X.dtype == np.float32  # sparse rows are converted as before


def test_features_and_classes_come_back_and_the_estimator_is_untouched():
    X, y = load_iris(return_X_y=True, as_frame=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = BackpropClassifier()
    before = dict(vars(clf))
    checked = checked_data(clf, X, labels, None, features=None, targets=None,
                           incremental=False)
    assert vars(clf) == before  # no n_features_in_, feature_names_in_ or classes_
    assert checked.features["n_features_in_"] == 4
    assert list(checked.features["feature_names_in_"]) == list(X.columns)
    assert list(checked.targets["classes_"]) == ["setosa", "versicolor", "virginica"]
    assert checked.targets["_y_type"] == "multiclass"
    assert checked.data.Y.shape == (150, 3)


def test_later_inputs_are_checked_against_the_given_features():
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = BackpropClassifier()
    first = checked_data(clf, X, y, None, features=None, targets=None,
                         incremental=False)
    renamed = X.rename(columns={X.columns[0]: "other"})
    with pytest.raises(ValueError, match="feature names"):
        checked_data(clf, renamed, y, None, features=first.features,
                     targets=first.targets, incremental=True)
    with pytest.raises(ValueError, match="4 features"), pytest.warns(UserWarning):
        checked_data(clf, pd.DataFrame(X.to_numpy()[:, :3]), y, None,
                     features=first.features, targets=first.targets, incremental=True)


def test_tags_that_read_a_parameter_still_work():
    """validate_data runs on a stand-in that keeps the parameters (not the fitted
    state): a subclass whose tags read one fits as before."""

    class Permissive(BackpropClassifier):
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.allow_nan = self.solver == "lbfgs"
            return tags

    X, y = load_iris(return_X_y=True)
    checked = checked_data(Permissive(solver="lbfgs"), X, y, None, features=None,
                           targets=None, incremental=False)
    assert checked.features == {"n_features_in_": 4}


def test_complex_targets_and_weights_are_refused_by_their_own_name():
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30.0)
    est = BackpropRegressor()
    for name, arguments in (("X", (X + 1j, y, None)), ("y", (X, y + 1j, None)),
                            ("sample_weight", (X, y, np.ones(30) + 0j))):
        with pytest.raises(ValueError, match=rf"(?s)^Complex data not supported: {name} "
                           rf"holds complex numbers.*Fix: .*{name}\.real"):
            checked_data(est, *arguments, features=None, targets=None,
                         incremental=False)
    with pytest.raises(ValueError, match=r"^Complex data not supported: y_val holds"):
        BackpropRegressor(max_iter=1).fit(X, y, X_val=X, y_val=y + 1j)


def test_tensors_that_require_grad_are_read_detached():
    torch = pytest.importorskip("torch")
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30.0)
    est = BackpropRegressor()
    expected = checked_data(est, X, y, np.ones(30), features=None, targets=None,
                            incremental=False).data
    tensors = [torch.asarray(a).requires_grad_() for a in (X, y, np.ones(30))]
    got = checked_data(est, *tensors, features=None, targets=None,
                       incremental=False).data
    for a, b in zip(got[:4], expected[:4]):
        np.testing.assert_array_equal(a, b)
    assert all(t.grad is None for t in tensors)
