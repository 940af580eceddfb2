"""The training data (_data): weights, validation data and labels, checked with a fix."""

import warnings

import numpy as np
import pandas as pd
import pytest
from math_helpers import imbalanced, split
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skbackprop import BackpropClassifier, BackpropRegressor

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.mark.parametrize("class_weight", [{0: 0, 1: 0, 2: 0}, [{0: 0, 1: 0}] * 2])
def test_all_zero_class_weights_are_refused_like_sample_weights(iris, class_weight):
    """Were a 0/0 RuntimeWarning, a misleading divergence warning and no loss_."""
    X, y = iris
    if isinstance(class_weight, list):
        y = np.column_stack([y == 0, y == 1]).astype(int)
    clf = BackpropClassifier(max_iter=3, class_weight=class_weight)
    with pytest.raises(ValueError, match="at least one non-zero") as error:
        clf.fit(X, y)
    assert "class_weight" in str(error.value) and "Fix:" in str(error.value)
    with pytest.raises(ValueError, match="at least one non-zero"):
        BackpropClassifier(max_iter=3).fit(X, y, sample_weight=np.zeros(len(X)))


def test_negative_class_weights_are_refused_like_sample_weights(iris):
    """A weight of -1 trained a loss falling without bound (0.88 -> -2.89)."""
    X, y = iris
    with pytest.raises(ValueError, match="Negative values in data passed to "
                                         "`class_weight`: class 0 has weight -1"):
        BackpropClassifier(class_weight={0: -1, 1: 1, 2: 1}).fit(X, y)
    with pytest.raises(ValueError, match="Negative values in data passed to "
                                         "`sample_weight`"):
        BackpropClassifier().fit(X, y, sample_weight=-np.ones(len(X)))


@QUIET
def test_a_zero_class_weight_ignores_that_class(iris):
    X, y = iris
    keep = y != 2
    weighted = BackpropClassifier(max_iter=5, random_state=0,
                                  class_weight={0: 1, 1: 1, 2: 0}).fit(X, y)
    explicit = BackpropClassifier(max_iter=5, random_state=0).fit(
        X, y, sample_weight=keep.astype(float))
    assert_allclose(weighted.coefs_[0], explicit.coefs_[0], rtol=1e-12)


def test_sample_weight_val_needs_validation_data(iris):
    """Was silently ignored."""
    X, y = iris
    with pytest.raises(ValueError, match="sample_weight_val was given without X_val"):
        BackpropClassifier().fit(X, y, sample_weight_val=np.ones(5))


def test_a_wrong_length_sample_weight_val_is_named(iris):
    """Was reported as `sample_weight`."""
    X, y = iris
    with pytest.raises(ValueError, match=r"sample_weight_val\.shape == \(3,\), "
                                         r"expected \(75,\)") as error:
        BackpropClassifier().fit(X[::2], y[::2], X_val=X[1::2], y_val=y[1::2],
                                 sample_weight_val=np.ones(3))
    assert "Fix: pass one weight per row of X_val." in str(error.value)


def test_early_stopping_with_a_one_member_class_names_the_class(iris):
    """Said 'increase validation_fraction', which cannot help."""
    X, y = iris
    with pytest.raises(ValueError, match="class 1 has a single sample") as error:
        BackpropClassifier(early_stopping=True).fit(X[:51], y[:51])
    message = str(error.value)
    assert "pass X_val and y_val" in message and "validation_fraction" not in message
    # the fix it names works
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        BackpropClassifier(early_stopping=True, max_iter=3).fit(
            X[:51], y[:51], X_val=X[100:110], y_val=np.r_[y[:5], y[50:55]])


@pytest.mark.parametrize(("labels", "match"), [
    (np.array(["a", None, "b", "a"], dtype=object), "missing labels"),
    (np.array(["a", 1.0, "b", "a"], dtype=object), "mixes labels of different types"),
    (np.array([1.0, 2.0, 1.0, 2.0], dtype=object), "numbers as Python objects"),
    (pd.Series(["a", np.nan, "b", "a"]), "missing labels"),
])
def test_labels_python_cannot_order_get_a_fix(iris, labels, match):
    """Were a raw TypeError or 'Unknown label type: unknown' with no fix."""
    with pytest.raises(ValueError, match=match) as error:
        BackpropClassifier().fit(iris[0][:4], labels)
    assert "Fix:" in str(error.value)


@QUIET
def test_pandas_sparse_numeric_columns_are_accepted(iris):
    """Were refused as 'not numbers' with advice to one-hot encode."""
    y = iris[1]
    colors = pd.DataFrame({"color": np.array(list("rgb"))[np.arange(150) % 3]})
    sparse = pd.get_dummies(colors, sparse=True, dtype=float)
    dense = pd.get_dummies(colors, dtype=float)
    ours = BackpropClassifier(max_iter=5, random_state=0).fit(sparse, y)
    same = BackpropClassifier(max_iter=5, random_state=0).fit(dense, y)
    assert_allclose(ours.coefs_[0], same.coefs_[0], rtol=1e-12)
    MLPClassifier(max_iter=5).fit(sparse, y)  # sklearn accepts it too
    assert (ours.predict(sparse) == same.predict(dense)).all()


def test_large_features_get_one_warning_at_the_callers_line(iris):
    X, y = iris
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        BackpropClassifier(max_iter=2).fit(X * 1e6, y)
    assert any("X has values up to 7.9e+06" in str(w.message) for w in record)
    scale = [w for w in record if "X has values" in str(w.message)]
    assert len(scale) == 1 and scale[0].filename == __file__




def test_class_weight_equals_sample_weight():
    X, y = imbalanced()
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0)
    by_class = BackpropClassifier(class_weight={0: 1.0, 1: 9.0}, **params).fit(X, y)
    by_sample = BackpropClassifier(**params).fit(X, y, sample_weight=np.where(y, 9.0, 1.0))
    assert_allclose(by_class.coefs_[0], by_sample.coefs_[0], rtol=1e-10)
    # balanced: n / (2 * count) = 300 / 60 = 5 for class 1, 300 / 540 for class 0
    balanced = BackpropClassifier(class_weight="balanced", **params).fit(X, y)
    manual = BackpropClassifier(**params).fit(
        X, y, sample_weight=np.where(y, 5.0, 300 / 540))
    assert_allclose(balanced.coefs_[0], manual.coefs_[0], rtol=1e-10)


def test_class_weight_multiplies_sample_weight():
    X, y = imbalanced()
    sw = np.random.RandomState(1).uniform(0.5, 2, size=len(y))
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0)
    both = BackpropClassifier(class_weight={1: 3.0}, **params).fit(X, y, sample_weight=sw)
    product = BackpropClassifier(**params).fit(X, y, sample_weight=sw * np.where(y, 3, 1))
    assert_allclose(both.coefs_[0], product.coefs_[0], rtol=1e-10)


@QUIET
def test_balanced_class_weight_raises_minority_recall():
    from sklearn.metrics import recall_score
    X, y = imbalanced()
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0)
    plain = BackpropClassifier(**params).fit(X, y)
    balanced = BackpropClassifier(class_weight="balanced", **params).fit(X, y)
    assert recall_score(y, balanced.predict(X)) > recall_score(y, plain.predict(X)) + 0.2


def test_class_weight_in_partial_fit():
    X, y = imbalanced()
    clf = BackpropClassifier(class_weight="balanced", hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="compute_class_weight"):
        clf.partial_fit(X, y, classes=[0, 1])
    clf.set_params(class_weight={1: 5.0}).partial_fit(X, y, classes=[0, 1])
    assert clf.n_iter_ == 1


@QUIET
def test_given_validation_data_replaces_the_split(wavy):
    X, y = wavy
    X_tr, y_tr, X_val, y_val = split(X, y)
    params = dict(hidden_layer_sizes=(10,), early_stopping=True, random_state=0,
                  max_iter=300, learning_rate_init=0.01)
    reg = BackpropRegressor(**params).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    # the whole training set was trained on: t_ counts 150 rows per epoch
    assert reg.t_ == 150 * reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    with pytest.raises(ValueError, match="X_val and y_val together"):
        BackpropRegressor(**params).fit(X_tr, y_tr, X_val=X_val)
    with pytest.raises(ValueError, match="features"):
        BackpropRegressor(**params).fit(X_tr, y_tr, X_val=X_val[:, :1], y_val=y_val)


@QUIET
def test_validation_sample_weights_count():
    X, y = imbalanced()
    params = dict(hidden_layer_sizes=(5,), random_state=0, max_iter=5)
    sw_val = np.where(y[::3] == 1, 10.0, 1.0)
    clf = BackpropClassifier(**params).fit(X, y, X_val=X[::3], y_val=y[::3],
                                           sample_weight_val=sw_val)
    from sklearn.metrics import accuracy_score
    expected = accuracy_score(y[::3], clf.predict(X[::3]), sample_weight=sw_val)
    assert clf.validation_scores_[-1] == pytest.approx(expected)


@QUIET
def test_validation_labels_must_be_known_classes(wavy):
    X, y = imbalanced()
    with pytest.raises(ValueError, match="classes not in"):
        BackpropClassifier(max_iter=2).fit(X, y, X_val=X[:5], y_val=[0, 1, 2, 0, 1])


# ---------------------------------------- float64 rows of a float32 fit, batchwise
def _same_fits(a, b):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert p.dtype == q.dtype == np.float32
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)


BATCHWISE = [
    dict(), dict(shuffle=False, batch_size=7), dict(solver="sgd", dropout=0.2),
    dict(early_stopping=True), dict(solver="lbfgs"), dict(batch_size=1, solver="sgd"),
]


@QUIET
@pytest.mark.parametrize("settings", BATCHWISE, ids=str)
def test_a_float32_fit_of_float64_rows_equals_the_fit_of_float32_rows(iris, settings):
    """The batches are converted as they are gathered: the same float32 numbers as
    converting X first, so the same fit."""
    X, y = iris
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.5, 2, size=len(y))

    def fit(rows):
        return BackpropClassifier(hidden_layer_sizes=(6,), max_iter=4, random_state=0,
                                  dtype="float32", **settings).fit(rows, y, weights)

    _same_fits(fit(X), fit(X.astype(np.float32)))


@QUIET
def test_partial_fit_and_warm_start_of_float64_rows_in_float32(iris):
    X, y = iris
    fits = []
    for rows in (X, X.astype(np.float32)):
        model = BackpropRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0,
                                  dtype="float32", warm_start=True)
        model.fit(rows, y).fit(rows, y)
        model.partial_fit(rows, y)
        fits.append(model)
    _same_fits(*fits)


def test_a_float32_fit_holds_no_float32_copy_of_float64_rows():
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 50))
    y = X[:, 0] - X[:, 1]

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            BackpropRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0,
                              dtype="float32").fit(X, y)

    fit()  # first-use costs (imports, compiled kernels) are not the fit's
    tracemalloc.start()
    try:
        fit()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 2 / 4  # a float32 copy of X would be X.nbytes / 2
