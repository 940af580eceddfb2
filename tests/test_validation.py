"""Input checks (``_validation``): the fast path of prediction, ``plain_rows``.

A plain float ndarray skips ``validate_data``; everything else takes the full path.
Either way the predictions are the same numbers and bad input the same error.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn import config_context
from sklearn.datasets import load_iris

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._validation import plain_rows


@pytest.fixture(scope="module")
def fitted():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return X, BackpropClassifier(hidden_layer_sizes=(5,), max_iter=20,
                                     random_state=0).fit(X, y)


def test_plain_float_rows_take_the_fast_path(fitted):
    X, model = fitted
    row = X[:1]
    assert plain_rows(model, row) is row
    assert plain_rows(model, X.astype(np.float32)) is not None
    for other in (X.tolist(), X.astype(int), X[:, :3], X[0], X[:0], pd.DataFrame(X),
                  np.asfortranarray(X).astype(np.float16)):
        assert plain_rows(model, other) is None


def test_both_paths_give_the_same_predictions(fitted):
    X, model = fitted
    fast = model.predict_proba(X[:7])
    full = model.predict_proba(X[:7].tolist())  # a list: validate_data converts it
    assert_array_equal(fast, full)
    assert_array_equal(model.predict(X[3:4]), model.predict(X[3:4].tolist()))


@pytest.mark.parametrize("bad, message", [(np.nan, "contains NaN"),
                                          (np.inf, "contains infinity")])
def test_values_that_are_not_finite_get_the_explained_error(fitted, bad, message):
    X, model = fitted
    row = X[:1].copy()
    row[0, 2] = bad
    with pytest.raises(ValueError, match=rf"(?s){message}.*Fix"):
        model.predict(row)
    with config_context(assume_finite=True):
        assert plain_rows(model, row) is row  # the user's promise is kept


def test_finite_values_whose_sum_overflows_still_predict(fitted):
    _, model = fitted
    huge = np.full((2, 4), 1e308)
    assert plain_rows(model, huge) is None  # the full path looks closer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert model.predict(huge).shape == (2,)


def test_wrong_feature_count_and_feature_names_keep_their_checks(fitted):
    X, model = fitted
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:1, :3])
    named = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        named.fit(pd.DataFrame(X, columns=list("abcd")), X[:, 0])
    with pytest.warns(UserWarning, match="feature names"):
        named.predict(X[:1])


def test_a_float32_model_converts_float64_rows_as_before():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BackpropClassifier(hidden_layer_sizes=(5,), max_iter=5, dtype="float32",
                                   random_state=0).fit(X, y)
    assert plain_rows(model, X) is None
    assert plain_rows(model, X.astype(np.float32)) is not None
    assert model.predict_proba(X).dtype == np.float32
