"""Training features beyond sklearn's MLP (issue 3), each through the estimators."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def wavy():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(200, 2))
    y = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] ** 2
    return X, y


# ------------------------------------------------------------ activations
@QUIET
@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "softplus", "gelu"])
def test_new_activations_learn_a_nonlinear_function(wavy, activation):
    X, y = wavy
    reg = BackpropRegressor(hidden_layer_sizes=(30,), activation=activation,
                            solver="lbfgs", random_state=0, max_iter=500).fit(X, y)
    assert reg.score(X, y) > 0.95


@QUIET
def test_activation_per_hidden_layer(wavy):
    X, y = wavy
    reg = BackpropRegressor(hidden_layer_sizes=(10, 8), activation=["tanh", "gelu"],
                            solver="lbfgs", random_state=0, max_iter=300).fit(X, y)
    assert reg._layer_activations() == ["tanh", "gelu", "identity"]
    # by hand: tanh layer, gelu layer, identity output
    from scipy.special import ndtr
    H1 = np.tanh(X @ reg.coefs_[0] + reg.intercepts_[0])
    Z2 = H1 @ reg.coefs_[1] + reg.intercepts_[1]
    H2 = Z2 * ndtr(Z2)
    assert_allclose(reg.predict(X), (H2 @ reg.coefs_[2] + reg.intercepts_[2]).ravel(),
                    rtol=1e-10)
    # the list is fixed at fit: changing the parameter does not change predictions
    before = reg.predict(X)
    reg.set_params(activation="relu")
    assert_allclose(reg.predict(X), before)


@pytest.mark.parametrize("activation", [["tanh"], ["tanh", "swish"]])
def test_activation_list_is_checked(wavy, activation):
    X, y = wavy
    with pytest.raises(ValueError, match="one per hidden layer"):
        BackpropRegressor(hidden_layer_sizes=(4, 4), activation=activation).fit(X, y)


def test_activation_list_in_grid_search(wavy):
    X, y = wavy
    grid = GridSearchCV(
        BackpropRegressor(hidden_layer_sizes=(8, 8), solver="lbfgs", random_state=0),
        {"activation": [["relu", "relu"], ["tanh", "elu"]]}, cv=2)
    with pytest.warns(Warning):
        grid.fit(X, y)
    assert grid.best_params_["activation"] in (["relu", "relu"], ["tanh", "elu"])


# ------------------------------------------------------- robust regression losses
@QUIET
@pytest.mark.parametrize("loss", ["huber", "absolute_error"])
def test_robust_losses_resist_outliers(loss):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 1))
    y = 2 * X[:, 0] + 0.05 * rng.standard_normal(300)
    y_dirty = y.copy()
    y_dirty[:30] += 20  # 10% gross outliers, all upwards
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0, max_iter=500)
    robust = BackpropRegressor(loss=loss, huber_delta=0.5, **params).fit(X, y_dirty)
    plain = BackpropRegressor(**params).fit(X, y_dirty)
    clean_error = np.median(np.abs(robust.predict(X[30:]) - y[30:]))
    plain_error = np.median(np.abs(plain.predict(X[30:]) - y[30:]))
    assert robust.out_activation_ == "identity"
    assert clean_error < 0.2 < plain_error  # squared error is dragged up by ~2


@QUIET
def test_huber_loss_value_is_the_one_reported(wavy):
    X, y = wavy
    reg = BackpropRegressor(loss="huber", huber_delta=0.3, hidden_layer_sizes=(5,),
                            solver="lbfgs", alpha=0.0, random_state=0, max_iter=50)
    reg.fit(X, y)
    r = np.abs(y - reg.predict(X))
    expected = np.where(r <= 0.3, 0.5 * r**2, 0.3 * (r - 0.15)).mean()
    assert reg.loss_ == pytest.approx(expected, rel=1e-9)


@QUIET
def test_new_features_inside_a_pipeline(wavy):
    X, y = wavy
    pipe = make_pipeline(StandardScaler(), BackpropRegressor(
        loss="huber", activation=["elu"], hidden_layer_sizes=(20,), solver="lbfgs",
        random_state=0))
    assert pipe.fit(X, y).score(X, y) > 0.9


def test_classifier_with_gelu():
    from sklearn.datasets import load_iris
    X, y = load_iris(return_X_y=True)
    clf = make_pipeline(StandardScaler(), BackpropClassifier(
        activation="gelu", hidden_layer_sizes=(10,), solver="lbfgs", random_state=0,
        max_iter=500))
    assert clf.fit(X, y).score(X, y) > 0.95


# ------------------------------------------------------------------ dtype
@QUIET
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_float32_training_end_to_end(wavy, solver):
    X, y = wavy
    params = dict(hidden_layer_sizes=(16,), solver=solver, random_state=0, max_iter=30)
    f32 = BackpropRegressor(dtype="float32", **params).fit(X, y)  # float64 input
    f64 = BackpropRegressor(dtype="float64", **params).fit(X.astype(np.float32), y)
    assert all(p.dtype == np.float32 for p in f32.coefs_ + f32.intercepts_)
    assert all(p.dtype == np.float64 for p in f64.coefs_ + f64.intercepts_)
    assert f32.predict(X).dtype == np.float32
    if solver != "lbfgs":  # the same path, to float32 precision
        assert_allclose(f32.loss_curve_, f64.loss_curve_, rtol=2e-4)
    assert abs(f32.score(X, y) - f64.score(X, y)) < 0.01


def test_dtype_none_keeps_the_input_float_type(wavy):
    X, y = wavy
    reg = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=2)
    with pytest.warns(Warning):
        reg.fit(X.astype(np.float32), y)
    assert reg.coefs_[0].dtype == np.float32
    with pytest.warns(Warning):
        reg.fit(X.astype(int), y)
    assert reg.coefs_[0].dtype == np.float64


# ------------------------------------------------------------- class_weight
def imbalanced():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, (270, 2)), rng.normal(1.2, 1, (30, 2))])
    y = np.array([0] * 270 + [1] * 30)
    return X, y


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
