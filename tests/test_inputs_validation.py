"""Validation data given to fit (_inputs.given_validation) in pipelines: routed
through the Pipeline's steps with scikit-learn's ``transform_input``, the same
validation curve as transforming X_val by hand; unrouted, an error that names
X_val and the route (issue 25)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skbackprop import BackpropClassifier


def frames(n, seed):
    rng = np.random.RandomState(seed)
    X = pd.DataFrame({"size": rng.normal(size=n), "colour": rng.choice(list("rgb"), n)})
    return X, ((X["size"] > 0) ^ (X["colour"] == "r")).astype(int)


def encoder():
    return ColumnTransformer([("size", StandardScaler(), ["size"]),
                              ("colour", OneHotEncoder(), ["colour"])])


@pytest.fixture
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.mark.usefixtures("quiet")
def test_x_val_is_transformed_by_the_pipeline_with_transform_input():
    X, y = frames(200, 0)
    X_val, y_val = frames(60, 1)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = BackpropClassifier(hidden_layer_sizes=(8,), max_iter=15, random_state=0)
        clf.set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline([("encode", encoder()), ("clf", clf)],
                        transform_input=["X_val"]).fit(X, y, X_val=X_val, y_val=y_val)
    # by hand: the encoder fitted on X, X_val transformed with it
    step = encoder().fit(X)
    by_hand = BackpropClassifier(hidden_layer_sizes=(8,), max_iter=15, random_state=0)
    by_hand.fit(step.transform(X), y, X_val=step.transform(X_val), y_val=y_val)
    assert_allclose(pipe[-1].validation_scores_, by_hand.validation_scores_)
    assert_allclose(pipe[-1].history_["val_loss"], by_hand.history_["val_loss"])


@pytest.mark.parametrize("routing", [False, True])
def test_an_untransformed_x_val_is_named_with_the_route(routing):
    X, y = frames(100, 0)
    X_val, y_val = frames(30, 1)
    clf = BackpropClassifier(max_iter=5)
    with sklearn.config_context(enable_metadata_routing=routing):
        if routing:
            clf.set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline([("encode", encoder()), ("clf", clf)])
        kwargs = ({"X_val": X_val, "y_val": y_val} if routing
                  else {"clf__X_val": X_val, "clf__y_val": y_val})
        with pytest.raises(ValueError, match=r"(?s)X_val has columns that are not numbers: "
                                             r"'colour'.*transform_input=\['X_val'\]"):
            pipe.fit(X, y, **kwargs)


def test_x_val_of_another_width_is_named():
    X, y = np.random.RandomState(0).normal(size=(50, 4)), np.arange(50) % 2
    with pytest.raises(ValueError, match="X_val has 3 features, but X has 4"):
        BackpropClassifier(max_iter=2).fit(X, y, X_val=X[:10, :3], y_val=y[:10])
