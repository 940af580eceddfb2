"""TabularClassifier and TabularRegressor: raw tables in, predictions out, and
everything sklearn expects of an estimator."""

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbackprop._core.layers import Dense
from skbackprop._core.tabular import (
    CategoricalEmbedding,
    FeatureScale,
    ParametricActivation,
    PeriodicEmbedding,
)
from skbackprop.tabular import TabularClassifier, TabularRegressor

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")
SMALL = {"hidden_layer_sizes": (32, 32), "max_iter": 60, "random_state": 0}


def table(n=600, seed=0):
    """Numbers with NaN, a bool, a 3-level text column, a 12-level category (an
    embedding) and a nullable integer; the target depends on the categories
    through levels (not an order) and on a threshold of x."""
    rng = np.random.default_rng(seed)
    city = rng.choice([f"c{k}" for k in range(12)], size=n)
    X = pd.DataFrame({
        "x": rng.normal(size=n),
        "flag": rng.random(n) < 0.5,
        "color": rng.choice(["red", "green", None], size=n).astype(object),
        "city": pd.Categorical(city),
        "count": pd.array(rng.integers(0, 5, size=n), dtype="Int64"),
    })
    effect = dict(zip([f"c{k}" for k in range(12)], rng.normal(scale=1.5, size=12)))
    y = (np.array([effect[c] for c in city]) + 1.5 * (X["x"] > 0.3)
         + np.where(X["color"] == "red", 1.0, 0.0) + 0.5 * X["flag"])
    X.loc[rng.random(n) < 0.1, "x"] = np.nan
    X.loc[rng.random(n) < 0.05, "count"] = pd.NA
    return X, y.to_numpy()


def test_the_regressor_fits_a_raw_table_and_beats_the_mean():
    X, y = table()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    reg = TabularRegressor(**SMALL).fit(X_tr, y_tr)
    baseline = DummyRegressor().fit(X_tr, y_tr).score(X_te, y_te)
    assert reg.score(X_te, y_te) > 0.7 > baseline
    assert reg.n_features_in_ == 5
    assert_array_equal(reg.feature_names_in_, X.columns)
    # predictions stay within the training targets' range
    pred = reg.predict(X_te)
    assert y_tr.min() <= pred.min() and pred.max() <= y_tr.max()


def test_the_classifier_fits_a_raw_table_with_calibrated_probabilities():
    X, y = table(seed=1)
    labels = np.where(y > np.median(y), "high", "low")
    X_tr, X_te, y_tr, y_te = train_test_split(X, labels, random_state=0)
    clf = TabularClassifier(**SMALL).fit(X_tr, y_tr)
    proba = clf.predict_proba(X_te)
    assert_allclose(proba.sum(axis=1), 1.0)
    dummy = DummyClassifier().fit(X_tr, y_tr)
    assert clf.score(X_te, y_te) > 0.8 > dummy.score(X_te, y_te)
    assert log_loss(y_te, proba, labels=clf.classes_) < 0.5 * log_loss(
        y_te, dummy.predict_proba(X_te))
    assert set(clf.predict(X_te)) <= {"high", "low"}


def test_multiclass_probabilities_sum_to_one():
    X, y = table(300, seed=2)
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    clf = TabularClassifier(**SMALL).fit(X, labels)
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 3)
    # float32 weights (the default dtype), probabilities computed in float64
    assert clf.coefs_[0].dtype == np.float32 and proba.dtype == np.float64
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-10)


def test_unseen_categories_and_missing_values_at_predict():
    X, y = table(300)
    reg = TabularRegressor(**SMALL).fit(X, y)
    new = X.head(4).copy()
    new["color"] = ["purple", None, "red", np.nan]
    new["city"] = pd.Categorical(["c99", None, "c1", "c2"])
    new.loc[:, "x"] = np.nan
    pred = reg.predict(new)
    assert pred.shape == (4,) and np.isfinite(pred).all()


def test_the_network_follows_the_preprocessors_layout():
    X, y = table(200)
    reg = TabularRegressor(**SMALL).fit(X, y)
    layers = reg._fitted_network()[0]
    embedding, periodic, scale = layers[:3]
    codes = list(np.flatnonzero(reg.preprocessor_.output_kinds_ == "code"))
    assert isinstance(embedding, CategoricalEmbedding) and list(embedding.columns) == codes
    assert embedding.levels == (13,)  # 12 cities + the code of missing/unseen
    kept = [k for k in reg.preprocessor_.output_kinds_ if k != "code"]
    assert isinstance(periodic, PeriodicEmbedding) and list(periodic.columns) == [
        j for j, k in enumerate(kept) if k == "number"]
    assert isinstance(scale, FeatureScale)
    assert [type(layer) for layer in layers[3:]] == [
        Dense, ParametricActivation, Dense, ParametricActivation, Dense]
    assert layers[4].function == "mish" and layers[3].activation == "identity"
    assert [W.shape[1] for W in reg.coefs_] == [32, 32, 1]
    # parameters changed after the fit do not change the fitted network
    reg.set_params(periodic=False, embedding_dim=3, activation="relu")
    assert reg._fitted_network()[0] == layers
    plain = TabularClassifier(periodic=False, feature_scale=False, activation="relu",
                              **SMALL).fit(X, y > 0)
    assert [type(layer) for layer in plain._fitted_network()[0]] == [
        CategoricalEmbedding, Dense, Dense, Dense]


def test_a_numpy_array_fits_and_the_targets_are_standardised():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = 1000 + 500 * X[:, 0] - 300 * np.abs(X[:, 1])
    reg = TabularRegressor(**SMALL).fit(X, y)
    assert reg.score(X, y) > 0.9
    assert not hasattr(reg, "feature_names_in_") and reg.n_features_in_ == 3
    assert reg._y_center == pytest.approx(y.mean())
    assert reg._y_scale == pytest.approx(y.std())
    with pytest.raises(ValueError, match="X has 2 features, but TabularRegressor is "
                                         "expecting 3 features"):
        reg.predict(X[:, :2])


def test_wrong_columns_are_named():
    X, y = table(100)
    reg = TabularRegressor(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="feature names should match"):
        reg.predict(X[X.columns[::-1]])


def test_clone_params_pipeline_search_and_pickle():
    X, y = table(300)
    reg = TabularRegressor(**SMALL)
    assert clone(reg).get_params() == reg.get_params()
    assert reg.set_params(periodic=False).periodic is False
    pipe = make_pipeline(FunctionTransformer(lambda frame: frame), TabularRegressor(**SMALL))
    assert pipe.fit(X, y).score(X, y) > 0.7
    search = GridSearchCV(TabularClassifier(**SMALL), {"embedding_dim": [2, 4]}, cv=2)
    search.fit(X, y > np.median(y))
    assert search.best_params_["embedding_dim"] in (2, 4)
    fitted = TabularRegressor(**SMALL).fit(X, y)
    loaded = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_warm_start_and_partial_fit_continue_with_the_fitted_encoding():
    X, y = table(300)
    reg = TabularRegressor(early_stopping=False, warm_start=True, **SMALL).fit(X, y)
    preprocessor, center = reg.preprocessor_, reg._y_center
    reg.fit(X.head(100), y[:100] + 100)  # the first fit's encoding and targets stay
    assert reg.preprocessor_ is preprocessor and reg._y_center == center
    inc = TabularClassifier(early_stopping=False, **SMALL)
    inc.partial_fit(X, y > 0, classes=[False, True]).partial_fit(X.head(50), y[:50] > 0)
    assert inc.n_iter_ == 2


def test_validation_data_may_be_a_raw_table():
    X, y = table(300)
    reg = TabularRegressor(**SMALL).fit(X[:200], y[:200], X_val=X[200:], y_val=y[200:])
    assert reg.best_epoch_ is not None and reg.score(X[200:], y[200:]) > 0.5


def test_rare_classes_are_held_out_at_random_not_refused():
    """A class of one row cannot be stratified: the tabular classifier holds out a
    plain random share (BackpropClassifier, as sklearn's MLP, refuses it)."""
    from skbackprop import BackpropClassifier

    X, y = table(60)
    labels = np.where(np.arange(60) < 59, (y > np.median(y)).astype(int), 2)  # one row of 2
    clf = TabularClassifier(**SMALL).fit(X, labels)
    assert list(clf.classes_) == [0, 1, 2]
    assert clf._stratify(labels) is None
    assert clf._stratify(labels % 2) is not None  # stratified where it can be
    with pytest.raises(ValueError, match="class 2 has a single sample"):
        BackpropClassifier(early_stopping=True, max_iter=3).fit(
            X[["x"]].fillna(0), labels)


# early_stopping=True (the default) holds out a random 20% of the rows (stratified
# for classifiers where every class can be on both sides): rows repeated and rows
# weighted are then split differently.
_HELD_OUT = "early_stopping=True: a random (stratified) held-out 20% of the rows"
_EXPECTED = {
    "TabularRegressor": {"check_sample_weight_equivalence_on_dense_data": _HELD_OUT},
    "TabularClassifier": {"check_sample_weight_equivalence_on_dense_data": _HELD_OUT},
}


@parametrize_with_checks(
    [TabularRegressor(hidden_layer_sizes=(16,), max_iter=30),
     TabularClassifier(hidden_layer_sizes=(16,), max_iter=30)],
    expected_failed_checks=lambda estimator: _EXPECTED[type(estimator).__name__])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
