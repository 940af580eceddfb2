"""Training features beyond sklearn's MLP (issue 3), each through the estimators."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
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
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    best = grid.best_params_["activation"]
    # the refit model really uses the chosen list, layer by layer
    assert grid.best_estimator_._layer_activations() == [*best, "identity"]
    other = ["tanh", "elu"] if best == ["relu", "relu"] else ["relu", "relu"]
    assert grid.cv_results_["mean_test_score"][grid.best_index_] >= max(
        grid.cv_results_["mean_test_score"])
    assert other in list(grid.cv_results_["param_activation"])


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


# ------------------------------------------------------------------ history_
def split(X, y):
    return X[:150], y[:150], X[150:], y[150:]


@QUIET
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_history_rows_are_the_recorded_epochs(wavy, solver):
    X, y = wavy
    X_tr, y_tr, X_val, y_val = split(X, y)
    reg = BackpropRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=15,
                            random_state=0, learning_rate_init=0.01)
    reg.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    h = reg.history_
    assert list(h.columns) == ["epoch", "train_loss", "val_loss", "val_score",
                               "learning_rate", "seconds"]
    assert len(h) == reg.n_iter_ == len(reg.loss_curve_)
    assert_allclose(h["train_loss"], reg.loss_curve_)
    assert_allclose(h["val_score"], reg.validation_scores_)
    assert (h["seconds"] > 0).all()
    if solver == "lbfgs":
        assert h["learning_rate"].isna().all()
    else:
        assert_allclose(h["learning_rate"], 0.01)
    # the last row is the final network, scored independently
    pred = reg.predict(X_val)
    assert h["val_loss"].iloc[-1] == pytest.approx(0.5 * np.mean((y_val - pred) ** 2),
                                                   rel=1e-9)
    assert h["val_score"].iloc[-1] == pytest.approx(reg.score(X_val, y_val), rel=1e-9)


def test_history_without_validation_and_across_partial_fit(wavy):
    X, y = wavy
    reg = BackpropRegressor(hidden_layer_sizes=(4,), random_state=0)
    reg.partial_fit(X, y, epochs=3)
    reg.partial_fit(X, y)
    h = reg.history_
    assert list(h["epoch"]) == [1, 2, 3, 4] and reg.n_iter_ == 4 and reg.t_ == 800
    assert h["val_loss"].isna().all() and h["val_score"].isna().all()
    assert not hasattr(BackpropRegressor(), "history_")


# ---------------------------------------------------- validation and stopping
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


@QUIET
def test_early_stopping_on_validation_loss(wavy):
    X, y = wavy
    X_tr, y_tr, X_val, y_val = split(X, y)
    reg = BackpropRegressor(hidden_layer_sizes=(60,), early_stopping=True,
                            scoring="loss", n_iter_no_change=5, random_state=0,
                            learning_rate_init=0.05, max_iter=500)
    reg.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    val_loss = reg.history_["val_loss"].to_numpy()
    best = int(np.argmin(val_loss))
    assert reg.best_epoch_ == best + 1
    assert reg.best_validation_loss_ == pytest.approx(val_loss[best])
    assert reg.n_iter_ < 500
    # the kept weights are the best epoch's: their validation loss is the minimum
    pred = reg.predict(X_val)
    assert 0.5 * np.mean((y_val - pred) ** 2) == pytest.approx(val_loss[best], rel=1e-9)


@QUIET
def test_best_weights_are_restored_even_without_an_early_stop(wavy):
    X, y = wavy
    X_tr, y_tr, X_val, y_val = split(X, y)
    reg = BackpropRegressor(hidden_layer_sizes=(40,), early_stopping=True,
                            n_iter_no_change=1000, max_iter=60, random_state=0,
                            learning_rate_init=0.2, solver="sgd")  # noisy curve
    reg.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    scores = reg.validation_scores_
    assert reg.n_iter_ == 60  # ran to max_iter
    assert int(np.argmax(scores)) + 1 == reg.best_epoch_ < 60
    assert reg.score(X_val, y_val) == pytest.approx(max(scores), rel=1e-12)


@QUIET
def test_lbfgs_early_stopping(wavy):
    X, y = wavy
    X_tr, y_tr, X_val, y_val = split(X, y)
    reg = BackpropRegressor(hidden_layer_sizes=(80,), solver="lbfgs", alpha=0.0,
                            early_stopping=True, n_iter_no_change=10, max_iter=2000,
                            random_state=0)
    y_noisy = y_tr + np.random.RandomState(1).normal(scale=0.5, size=150)
    reg.fit(X_tr, y_noisy, X_val=X_val, y_val=y_val)  # overfits the noise
    assert reg.n_iter_ < 2000
    assert reg.n_iter_ == reg.best_epoch_ + 11
    assert reg.score(X_val, y_val) == pytest.approx(max(reg.validation_scores_))


# --------------------------------------------------------- incremental training
@QUIET
def test_warm_start_keeps_optimizer_state_and_resets_counters(wavy):
    X, y = wavy
    params = dict(hidden_layer_sizes=(6,), solver="adam", shuffle=False, random_state=0)
    once = BackpropRegressor(max_iter=10, **params).fit(X, y)
    twice = BackpropRegressor(max_iter=5, warm_start=True, **params).fit(X, y)
    twice.fit(X, y)
    # Adam's moments carried over: 5 + 5 epochs equal 10 in one go
    for a, b in zip(once.coefs_, twice.coefs_):
        assert_allclose(a, b, rtol=1e-12)
    assert twice._optimizer_state["t"] == once._optimizer_state["t"]
    assert twice.n_iter_ == 5 and len(twice.loss_curve_) == 10
    assert twice.best_loss_ == min(twice.loss_curve_[5:])  # counters restarted


@QUIET
def test_partial_fit_epochs(wavy):
    X, y = wavy
    params = dict(hidden_layer_sizes=(5,), shuffle=False, random_state=0)
    a = BackpropRegressor(**params)
    a.partial_fit(X, y, epochs=4)
    b = BackpropRegressor(**params)
    for _ in range(4):
        b.partial_fit(X, y)
    assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-12)
    assert a.n_iter_ == b.n_iter_ == 4
    with pytest.raises(ValueError):
        a.partial_fit(X, y, epochs=0)


# ------------------------------------------------------------------ schedules
@QUIET
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("schedule,expected", [
    ("constant", lambda e, t: 0.1),
    ("invscaling", lambda e, t: 0.1 / (t + 1) ** 0.25),
    ("step", lambda e, t: 0.1 * 0.5 ** (e // 3)),
    ("cosine", lambda e, t: 0.1 * (1 + np.cos(np.pi * e / 12)) / 2),
])
def test_time_based_schedules(wavy, solver, schedule, expected):
    X, y = wavy
    reg = BackpropRegressor(hidden_layer_sizes=(4,), solver=solver, learning_rate=schedule,
                            learning_rate_init=0.1, power_t=0.25, lr_step_epochs=3,
                            lr_decay=0.5, max_iter=12, n_iter_no_change=np.inf,
                            random_state=0).fit(X, y)
    # epoch e (1-based) runs at the rate set after epoch e - 1, with t = 200 (e - 1)
    want = [expected(e - 1, 200 * (e - 1)) if e > 1 else 0.1 for e in range(1, 13)]
    assert_allclose(reg.history_["learning_rate"], want, rtol=1e-12)


@QUIET
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_adaptive_schedule_divides_by_five_on_plateaus(wavy, solver):
    X, y = wavy
    reg = BackpropRegressor(hidden_layer_sizes=(4,), solver=solver, learning_rate="adaptive",
                            learning_rate_init=0.5, tol=10.0, n_iter_no_change=2,
                            max_iter=50, random_state=0).fit(X, y)
    rates = reg.history_["learning_rate"].to_numpy()
    # tol=10: no epoch improves by tol, except the first over -inf (as sklearn). The
    # count passes n_iter_no_change=2 after epoch 4, then every 3 epochs.
    assert_allclose(rates[:10], [0.5] * 4 + [0.1] * 3 + [0.02] * 3)
    # 9 divisions (after epochs 4, 7, ..., 28) take 0.5 to 2.56e-7 <= 1e-6; the
    # next plateau, at epoch 31, stops training
    assert reg.n_iter_ == 31
    assert rates[-1] == pytest.approx(0.5 / 5**9)


# ------------------------------------------------------------------- dropout
@QUIET
def test_dropout_is_reproducible_and_off_at_predict_time(wavy):
    X, y = wavy
    params = dict(hidden_layer_sizes=(20, 10), dropout=[0.3, 0.1], max_iter=10)
    a = BackpropRegressor(random_state=3, **params).fit(X, y)
    b = BackpropRegressor(random_state=3, **params).fit(X, y)
    c = BackpropRegressor(random_state=4, **params).fit(X, y)
    for p, q in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(p, q)  # bit-identical
    assert not np.allclose(a.coefs_[0], c.coefs_[0])
    # prediction uses every unit, unscaled: the plain forward pass by hand
    H1 = np.maximum(X @ a.coefs_[0] + a.intercepts_[0], 0)
    H2 = np.maximum(H1 @ a.coefs_[1] + a.intercepts_[1], 0)
    assert_allclose(a.predict(X), (H2 @ a.coefs_[2] + a.intercepts_[2]).ravel(),
                    rtol=1e-12)
    assert_allclose(a.predict(X), a.predict(X))


@QUIET
def test_dropout_zero_changes_nothing(wavy):
    X, y = wavy
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    plain = BackpropRegressor(**params).fit(X, y)
    zero = BackpropRegressor(dropout=0.0, **params).fit(X, y)
    np.testing.assert_array_equal(plain.coefs_[0], zero.coefs_[0])


@QUIET
def test_dropout_regularizes():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5))
    y = X[:, 0] + rng.normal(scale=1.0, size=60)  # mostly noise to memorise
    params = dict(hidden_layer_sizes=(200,), max_iter=400, random_state=0,
                  learning_rate_init=0.01, n_iter_no_change=np.inf)
    free = BackpropRegressor(**params).fit(X, y)
    dropped = BackpropRegressor(dropout=0.5, **params).fit(X, y)
    # dropout keeps the big network from memorising the training noise
    assert dropped.score(X, y) < free.score(X, y) - 0.1


def test_dropout_is_checked(wavy):
    X, y = wavy
    with pytest.raises(ValueError, match="lbfgs"):
        BackpropRegressor(solver="lbfgs", dropout=0.2).fit(X, y)
    with pytest.raises(ValueError, match="one per hidden"):
        BackpropRegressor(hidden_layer_sizes=(4, 4), dropout=[0.1]).fit(X, y)
    with pytest.raises(ValueError):
        BackpropRegressor(dropout=1.0).fit(X, y)


# ------------------------------------- every new parameter, through every path
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
