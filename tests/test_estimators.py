"""Behaviour of the estimators as a sklearn user sees it."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from math_helpers import imbalanced
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import (
    load_iris,
    make_classification,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def regression():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 3))
    y = X[:, 0] - 2 * X[:, 1] ** 2 + 0.5 * np.sin(3 * X[:, 2])
    return X, y


@pytest.fixture
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# ----------------------------------------------------------------- partial_fit
@QUIET
def test_partial_fit_epochs_equal_fit_epochs(iris):
    X, y = iris
    params = dict(hidden_layer_sizes=(8,), shuffle=False, random_state=0,
                  learning_rate_init=0.01)
    fitted = BackpropClassifier(max_iter=4, **params).fit(X, y)
    stepped = BackpropClassifier(**params)
    for _ in range(4):
        stepped.partial_fit(X, y, classes=np.unique(y))
    for a, b in zip(fitted.coefs_ + fitted.intercepts_, stepped.coefs_ + stepped.intercepts_):
        assert_allclose(a, b, rtol=0, atol=1e-14)
    assert stepped.n_iter_ == 4 and stepped.t_ == 4 * len(X)
    assert_allclose(stepped.loss_curve_, fitted.loss_curve_, rtol=1e-12)


def test_partial_fit_classes(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(5,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])  # a batch missing class 2
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (150, 3)
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X[:3], [0, 1, 7])


@QUIET
def test_partial_fit_after_switching_solver_starts_a_fresh_optimizer(regression):
    X, y = regression
    reg = BackpropRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    reg.fit(X, y).set_params(solver="sgd", momentum=0.0, learning_rate_init=0.01)
    before = [W.copy() for W in reg.coefs_]
    reg.partial_fit(X, y)
    assert reg.n_iter_ == 3
    assert not np.allclose(before[0], reg.coefs_[0])
    assert set(reg._optimizer_state) == {"velocities"}


@pytest.mark.parametrize("est", [BackpropRegressor(solver="lbfgs"),
                                 BackpropClassifier(solver="lbfgs")])
def test_no_partial_fit_for_lbfgs(est):
    assert not hasattr(est, "partial_fit")
    assert hasattr(clone(est).set_params(solver="sgd"), "partial_fit")


def test_partial_fit_refuses_early_stopping(regression):
    X, y = regression
    reg = BackpropRegressor(early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping"):
        reg.partial_fit(X, y)
    assert not hasattr(reg, "coefs_")


def test_a_refit_that_raises_leaves_the_previous_model(regression):
    from sklearn.exceptions import NotFittedError
    X, y = regression
    reg = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)
    before = {k: v for k, v in vars(reg).items() if k.endswith("_")}
    predictions = reg.predict(X)
    # a refit whose validation split is too small fails after the network is set up
    reg.set_params(early_stopping=True, validation_fraction=0.005)
    with pytest.raises(ValueError, match="validation set has 1 sample"):
        reg.fit(X, y)
    assert_array_equal(reg.predict(X), predictions)  # the previous model, as it was
    assert all(vars(reg)[k] is v for k, v in before.items())
    # and a first fit that raises leaves no model to predict with
    fresh = BackpropRegressor(hidden_layer_sizes=(3,), early_stopping=True,
                              validation_fraction=0.005)
    with pytest.raises(ValueError, match="validation set has 1 sample"):
        fresh.fit(X, y)
    with pytest.raises(NotFittedError):
        fresh.predict(X)


@QUIET
def test_training_does_not_change_the_users_start_weights(regression):
    X, y = regression
    start = [np.full((3, 2), 0.1), np.full((2, 1), 0.1)]
    reg = BackpropRegressor(hidden_layer_sizes=(2,), warm_start=True, max_iter=3)
    reg.coefs_, reg.intercepts_ = start, [np.zeros(2), np.zeros(1)]
    reg.fit(X, y)
    assert_array_equal(start[0], 0.1)
    assert not np.allclose(reg.coefs_[0], 0.1)


# --------------------------------------------------------------- target types
@QUIET
def test_string_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = BackpropClassifier(hidden_layer_sizes=(10,), solver="lbfgs", random_state=0)
    clf.fit(X, names)
    assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    assert clf.predict(X).dtype.kind == "U"
    assert clf.score(X, names) > 0.95
    proba = clf.predict_proba(X)
    assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert clf.out_activation_ == "softmax"


@QUIET
def test_binary_probabilities_and_log_probabilities(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(5,), random_state=0).fit(X, y == 2)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 2) and clf.out_activation_ == "logistic"
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10, atol=1e-12)
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


@QUIET
def test_multilabel(iris):
    X, Y = make_multilabel_classification(n_samples=200, n_classes=3, random_state=0)
    clf = BackpropClassifier(hidden_layer_sizes=(20,), solver="lbfgs", random_state=0,
                             max_iter=300).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    assert clf.predict(X).shape == (200, 3)
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    proba = clf.predict_proba(X)
    assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    # loss is the binary log loss summed over the labels
    p = np.clip(proba, 1e-300, 1)
    per_label = -(Y * np.log(p) + (1 - Y) * np.log(np.clip(1 - proba, 1e-300, 1)))
    l2 = clf.alpha * sum((W**2).sum() for W in clf.coefs_) / (2 * 200)
    assert clf.loss_ == pytest.approx(per_label.sum(axis=1).mean() + l2, rel=1e-6)


def test_single_class_is_refused():
    with pytest.raises(ValueError, match="only one class"):
        BackpropClassifier().fit([[0.0], [1.0]], ["a", "a"])


@QUIET
def test_multi_output_regression(regression):
    X, y = regression
    Y = np.column_stack([y, -y, 2 * y])
    reg = BackpropRegressor(hidden_layer_sizes=(20,), solver="lbfgs", random_state=0)
    reg.fit(X, Y)
    assert reg.predict(X).shape == (120, 3) and reg.n_outputs_ == 3
    pred = reg.predict(X)
    l2 = reg.alpha * sum((W**2).sum() for W in reg.coefs_) / (2 * 120)
    assert reg.loss_ == pytest.approx(0.5 * ((Y - pred) ** 2).sum(axis=1).mean() + l2,
                                      rel=1e-9)


@QUIET
def test_lbfgs_loss_is_the_loss_at_the_final_weights(regression):
    X, y = regression
    reg = BackpropRegressor(hidden_layer_sizes=(10,), solver="lbfgs", alpha=0.1,
                            random_state=0).fit(X, y)
    l2 = 0.1 * sum((W**2).sum() for W in reg.coefs_) / (2 * 120)
    assert reg.loss_ == pytest.approx(0.5 * np.mean((y - reg.predict(X)) ** 2) + l2,
                                      rel=1e-9)
    assert len(reg.loss_curve_) == reg.n_iter_
    assert reg.best_loss_ == pytest.approx(min(reg.loss_curve_))


@pytest.mark.parametrize("seed", [0, 39])
def test_no_hidden_layer_is_least_squares(regression, seed):
    # L-BFGS-B stops when the loss falls by less than scipy's ftol (2.2e-9, relative)
    # per iteration, so the loss reaches the least-squares optimum to about 1e-9 while
    # the coefficients, which move the loss only quadratically, are good to about
    # sqrt(1e-9); seed 39 is the worst of 200 starting points (4e-5 relative).
    X, y = regression
    reg = BackpropRegressor(hidden_layer_sizes=(), solver="lbfgs", alpha=0.0,
                            tol=1e-12, max_iter=1000, random_state=seed).fit(X, y)
    lin = LinearRegression().fit(X, y)
    optimum = 0.5 * np.mean((y - lin.predict(X)) ** 2)
    assert reg.n_layers_ == 2
    assert reg.loss_ == pytest.approx(optimum, rel=1e-8)
    assert_allclose(reg.coefs_[0].ravel(), lin.coef_, rtol=2e-4)
    assert_allclose(reg.intercepts_[0], lin.intercept_, rtol=2e-4)


# ------------------------------------------------------------ output activations
@QUIET
def test_regressor_logistic_output_stays_in_unit_interval(regression):
    X, y = regression
    y01 = (y - y.min()) / (y.max() - y.min())
    reg = BackpropRegressor(hidden_layer_sizes=(5,), out_activation="logistic",
                            random_state=0, max_iter=50).fit(X, y01)
    assert reg.out_activation_ == "logistic"
    pred = reg.predict(X)
    assert np.all((pred > 0) & (pred < 1))


@QUIET
def test_poisson_regression():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    y = rng.poisson(np.exp(1 + X[:, 0]))
    reg = BackpropRegressor(loss="poisson", hidden_layer_sizes=(5,), solver="lbfgs",
                            random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp"
    assert np.all(reg.predict(X) > 0)
    with pytest.raises(ValueError, match="non-negative"):
        clone(reg).fit(X, y - 5.0)
    with pytest.raises(ValueError, match="out_activation='exp'"):
        clone(reg).set_params(out_activation="identity").fit(X, y)


# ------------------------------------------------------ starting from given weights
def test_warm_start_from_user_weights_checks_shapes(regression):
    X, y = regression
    reg = BackpropRegressor(hidden_layer_sizes=(4,), warm_start=True)
    reg.coefs_ = [np.zeros((3, 4)), np.zeros((5, 1))]
    reg.intercepts_ = [np.zeros(4), np.zeros(1)]
    with pytest.raises(ValueError, match=r"coefs_\[1\] \(layer 1 -> 2\) has shape \(5, 1\)"):
        reg.fit(X, y)
    reg.coefs_ = [np.zeros((3, 4)), np.zeros((4, 1))]
    reg.intercepts_ = [np.zeros(3), np.zeros(1)]
    with pytest.raises(ValueError, match=r"intercepts_\[0\] \(layer 1\) has shape \(3,\)"):
        reg.fit(X, y)
    reg.coefs_ = [np.zeros((3, 4))]
    with pytest.raises(ValueError, match="2 layers of weights"):
        reg.fit(X, y)


def test_first_partial_fit_starts_from_user_weights():
    """No warm_start needed. From all-zero weights, one update moves only the output
    bias: the output weights' gradient is delta * h with h = 0, and the hidden
    weights' gradient is delta * W2 * x with W2 = 0."""
    clf = BackpropClassifier(hidden_layer_sizes=(2,), activation="identity",
                             solver="sgd", momentum=0.0, alpha=0.0, batch_size=1,
                             shuffle=False, learning_rate_init=1.0)
    clf.coefs_ = [np.zeros((2, 2)), np.zeros((2, 1))]
    clf.intercepts_ = [np.zeros(2), np.zeros(1)]
    clf.partial_fit([[1.0, 2.0]], [1], classes=[0, 1])
    # z = 0 everywhere, p = 1/2, dL/dz_out = p - y = -1/2: only the output bias moves
    assert_allclose(clf.intercepts_[1], [0.5])
    assert_allclose(clf.coefs_[1], 0.0)
    assert_allclose(clf.coefs_[0], 0.0)
    assert clf.loss_ == pytest.approx(np.log(2))


@QUIET
def test_user_weights_without_warm_start_are_ignored_with_a_warning(regression):
    X, y = regression
    reg = BackpropRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    reg.coefs_ = [np.zeros((3, 4)), np.zeros((4, 1))]
    reg.intercepts_ = [np.zeros(4), np.zeros(1)]
    with pytest.warns(UserWarning, match="warm_start=True"):
        reg.fit(X, y)
    fresh = BackpropRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    assert_allclose(reg.coefs_[0], fresh.coefs_[0])


@QUIET
def test_warm_start_continues_training(regression):
    X, y = regression
    reg = BackpropRegressor(hidden_layer_sizes=(6,), solver="sgd", max_iter=5,
                            random_state=0, warm_start=True, shuffle=False)
    reg.fit(X, y)
    first = [W.copy() for W in reg.coefs_]
    reg.fit(X, y)
    assert len(reg.loss_curve_) == 10 and reg.n_iter_ == 5
    assert not np.allclose(first[0], reg.coefs_[0])
    with pytest.raises(ValueError, match="X has 2 features"):
        reg.fit(X[:, :2], y)


# ------------------------------------------------------------------- stopping
@QUIET
def test_early_stopping_restores_the_best_epoch():
    X, y = make_classification(n_samples=300, n_features=10, flip_y=0.2, random_state=0)
    params = dict(hidden_layer_sizes=(50,), early_stopping=True, random_state=0,
                  learning_rate_init=0.05, n_iter_no_change=5, max_iter=200)
    stopped = BackpropClassifier(**params).fit(X, y)
    scores = stopped.validation_scores_
    best_epoch = int(np.argmax(scores)) + 1
    assert stopped.best_validation_score_ == max(scores)
    assert stopped.n_iter_ == best_epoch + 6 and stopped.best_loss_ is None
    # Training for exactly best_epoch epochs ends at the weights the first fit restored.
    upto_best = BackpropClassifier(**{**params, "max_iter": best_epoch}).fit(X, y)
    for a, b in zip(stopped.coefs_, upto_best.coefs_):
        assert_allclose(a, b, rtol=0, atol=1e-14)


def test_convergence_warning_only_when_not_converged(regression):
    X, y = regression
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\)"):
        BackpropRegressor(max_iter=3).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg = BackpropRegressor(hidden_layer_sizes=(5,), learning_rate_init=0.01,
                                tol=1e-2, max_iter=500, random_state=0).fit(X, y)
    assert reg.n_iter_ < 500


@QUIET
def test_verbose_prints_one_line_per_epoch(regression, capsys):
    X, y = regression
    BackpropRegressor(hidden_layer_sizes=(3,), max_iter=7, verbose=True,
                      n_iter_no_change=100).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == [f"Iteration {i}" for i in range(1, 8)]


# ----------------------------------------------------------------- weight_init
def test_weight_init_options(regression):
    X, y = regression
    def fit(init):
        return BackpropRegressor(hidden_layer_sizes=(50,), weight_init=init, max_iter=1,
                                 learning_rate_init=1e-12, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        uniform = fit("uniform")
        he = fit("he_uniform")
        seen = []
        custom = fit(lambda shape, rng: seen.append(shape) or rng.normal(size=shape))
    assert 0 <= uniform.coefs_[0].min() and uniform.coefs_[0].max() < 1
    assert uniform.coefs_[0].min() < 0.05 and uniform.coefs_[0].max() > 0.95
    assert np.abs(he.coefs_[0]).max() <= np.sqrt(6 / 3) + 1e-9
    assert np.abs(he.coefs_[0]).max() > 0.9 * np.sqrt(6 / 3)
    assert seen == [(3, 50), (50,), (50, 1), (1,)]
    assert custom.coefs_[0].std() > 0.5
    with pytest.raises(ValueError, match="returned weights of shape"):
        fit(lambda shape, rng: np.zeros(3))


# ------------------------------------------------------------- input handling
@QUIET
def test_sparse_input_gives_the_same_model(iris):
    X, y = iris
    params = dict(hidden_layer_sizes=(5,), random_state=0, max_iter=20)
    dense = BackpropClassifier(**params).fit(X, y)
    sparse = BackpropClassifier(**params).fit(sp.csr_matrix(X), y)
    assert_allclose(dense.coefs_[0], sparse.coefs_[0], rtol=1e-12)
    assert_allclose(dense.predict_proba(X), sparse.predict_proba(sp.csc_array(X)), rtol=1e-12)


@QUIET
def test_float32_stays_float32(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(5,), random_state=0, max_iter=20)
    clf.fit(X.astype(np.float32), y)
    assert all(W.dtype == np.float32 for W in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


@QUIET
def test_dataframe_feature_names(iris):
    X, y = iris
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = BackpropClassifier(hidden_layer_sizes=(5,), max_iter=20).fit(df, pd.Series(y))
    assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


@QUIET
def test_sample_weight_counts_as_repetition(iris):
    X, y = iris
    sw = np.random.RandomState(0).randint(0, 3, size=150)
    params = dict(hidden_layer_sizes=(5,), solver="sgd", batch_size=1000, shuffle=False,
                  random_state=0, max_iter=10)
    weighted = BackpropClassifier(**params).fit(X, y, sample_weight=sw)
    repeated = BackpropClassifier(**params).fit(np.repeat(X, sw, axis=0), np.repeat(y, sw))
    assert_allclose(weighted.coefs_[0], repeated.coefs_[0], rtol=1e-10)
    assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)
    with pytest.raises(ValueError, match="at least one non-zero"):
        BackpropClassifier().fit(X, y, sample_weight=np.zeros(150))


# -------------------------------------------------------- plain data, pickling
@QUIET
def test_fitted_state_is_plain_data_and_pickles(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)

    def plain(value):
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        if isinstance(value, dict):
            return all(plain(v) for v in value.values())
        return isinstance(value, (np.ndarray, np.generic, int, float, str, bool,
                                  type(None)))

    assert all(plain(v) for v in vars(clf).values()), {
        k: type(v) for k, v in vars(clf).items() if not plain(v)}
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


# ----------------------------------------------------------- sklearn workflows
@QUIET
def test_pipeline_cross_val_and_grid_search(iris):
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), BackpropClassifier(random_state=0, max_iter=300))
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.9
    grid = GridSearchCV(pipe, {"backpropclassifier__alpha": [50.0, 1e-4]}, cv=3).fit(X, y)
    assert grid.best_params_ == {"backpropclassifier__alpha": 1e-4}
    assert grid.cv_results_["mean_test_score"][0] < grid.best_score_ - 0.05


def test_unfitted_predict_raises():
    from sklearn.exceptions import NotFittedError
    reg = BackpropRegressor()
    reg.coefs_ = [np.zeros((2, 1))]  # assigned weights do not make it fitted
    with pytest.raises(NotFittedError):
        reg.predict([[1.0, 2.0]])


@QUIET
@pytest.mark.parametrize("dtype", ["category", "string", "object"])
def test_pandas_text_and_categorical_targets(dtype):
    X = np.random.RandomState(0).normal(size=(60, 2))
    labels = pd.Series(np.where(X[:, 0] > 0, "placed", "not placed")).astype(dtype)
    clf = BackpropClassifier(hidden_layer_sizes=(4,), solver="lbfgs",
                             random_state=0).fit(X, labels)
    assert clf.classes_.tolist() == ["not placed", "placed"]
    assert clf.score(X, labels) > 0.9
    assert set(clf.predict(X).tolist()) <= {"not placed", "placed"}


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
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    best = grid.best_params_["activation"]
    # the refit model really uses the chosen list, layer by layer
    assert grid.best_estimator_._layer_activations() == [*best, "identity"]
    other = ["tanh", "elu"] if best == ["relu", "relu"] else ["relu", "relu"]
    assert grid.cv_results_["mean_test_score"][grid.best_index_] >= max(
        grid.cv_results_["mean_test_score"])
    assert other in list(grid.cv_results_["param_activation"])


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


# every new parameter, through every path
NEW_PARAMETERS = [
    dict(dropout=0.2),
    dict(dtype="float32"),
    dict(learning_rate="cosine"),
    dict(learning_rate="step", lr_step_epochs=2),
    dict(activation=["gelu"]),
    dict(early_stopping=True, scoring="loss"),
    dict(weight_init="he_uniform"),
    dict(class_weight={0: 1.0, 1: 3.0}),
]


@QUIET
@pytest.mark.parametrize("params", NEW_PARAMETERS, ids=lambda p: ",".join(p))
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_new_parameters_work_through_fit_warm_start_partial_fit_and_search(
        params, solver):
    X, y = imbalanced()
    if solver == "lbfgs" and "dropout" in params:
        pytest.skip("dropout is refused for lbfgs (tested above)")
    base = BackpropClassifier(hidden_layer_sizes=(6,), solver=solver, max_iter=8,
                              random_state=0, **params)
    model = clone(base).fit(X, y)
    proba = model.predict_proba(X)
    assert np.isfinite(proba).all() and proba.shape == (300, 2)
    assert len(model.history_) == model.n_iter_ > 0
    # warm start continues from the fitted weights
    before = [W.copy() for W in model.coefs_]
    model.set_params(warm_start=True).fit(X, y)
    assert len(model.history_) > model.n_iter_
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.coefs_))
    # partial_fit, where the solver and the parameters allow it
    if solver != "lbfgs" and not params.get("early_stopping"):
        stepped = clone(base)
        stepped.partial_fit(X, y, classes=[0, 1], epochs=2)
        assert stepped.n_iter_ == 2
    # inside a Pipeline in a grid search; the parameter survives clone
    pipe = make_pipeline(StandardScaler(), clone(base))
    grid = GridSearchCV(pipe, {"backpropclassifier__alpha": [1e-4, 1e-1]}, cv=2)
    grid.fit(X, y)
    final = grid.best_estimator_[-1]
    assert all(final.get_params()[k] == v for k, v in params.items())


@pytest.mark.parametrize("params", [dict(alpha=-1), dict(momentum=5),
                                    dict(learning_rate_init=-1)])
def test_partial_fit_validates_parameters_set_after_fitting(iris, params):
    """sklearn skips parameter validation in partial_fit on a fitted model, so these
    trained silently (loss 4.8 -> 54 for learning_rate_init=-1)."""
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = iris
    clf = BackpropClassifier(solver="sgd", max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    with pytest.raises(InvalidParameterError):
        clf.set_params(**params).partial_fit(X, y)
