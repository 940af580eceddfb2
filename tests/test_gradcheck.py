"""skbackprop.check_gradients (issue 7, item 1)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_sample_weight

from skbackprop import BackpropClassifier, BackpropRegressor, check_gradients
from skbackprop._core import activations as _activations
from skbackprop.inspection._trace import training_problem

rng = np.random.RandomState(0)
X = rng.normal(size=(25, 3))
Y_REG = np.column_stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]])

CASES = {
    "regression, tanh": (BackpropRegressor(hidden_layer_sizes=(4, 3), activation="tanh",
                                           alpha=0.1), Y_REG),
    "poisson, softplus": (BackpropRegressor(hidden_layer_sizes=(4,), loss="poisson",
                                            activation="softplus"), np.exp(Y_REG)),
    "lab seed, sigmoid output": (BackpropRegressor(hidden_layer_sizes=(3,),
                                                   activation="logistic",
                                                   out_activation="logistic"),
                                 1 / (1 + np.exp(-Y_REG[:, 0]))),
    "binary, gelu": (BackpropClassifier(hidden_layer_sizes=(5,), activation="gelu"),
                     X[:, 0] > 0),
    "multiclass, elu + logistic": (BackpropClassifier(hidden_layer_sizes=(4, 4),
                                                      activation=["elu", "logistic"]),
                                   np.digitize(X[:, 0], [-0.5, 0.5])),
    "multilabel": (BackpropClassifier(hidden_layer_sizes=(4,), activation="tanh"),
                   np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)),
    "float32 estimator": (BackpropRegressor(hidden_layer_sizes=(4,), activation="tanh",
                                            dtype="float32"), Y_REG[:, 0]),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("fitted", [False, True])
def test_backprop_agrees_with_finite_differences(case, fitted):
    est, y = CASES[case]
    est = est.set_params(random_state=0, max_iter=20)
    sw = np.linspace(0.5, 2, len(X))
    if fitted:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y, sample_weight=sw)
    report = check_gradients(est, X, y, sample_weight=sw)
    n_layers = len(est.get_params()["hidden_layer_sizes"]) + 1
    assert list(report["layer"]) == [layer for layer in range(1, n_layers + 1)
                                     for _ in "Wb"]
    assert list(report["parameter"]) == ["W", "b"] * n_layers
    assert (report["relative_error"] < 1e-6).all(), report
    assert (report["max_abs_error"] < 1e-6).all(), report
    assert fitted or not hasattr(est, "coefs_")  # an unfitted estimator stays unfitted


def test_a_wrong_derivative_is_caught(monkeypatch):
    """The check can fail: with tanh's derivative off by a factor, the layers below
    the tanh units disagree with finite differences; the last layer does not."""
    wrong = _activations.Activation(_activations.tanh,
                                    lambda A, delta, Z=None: delta.__imul__(2 * (1 - A**2)))
    monkeypatch.setitem(_activations.ACTIVATIONS, "tanh", wrong)
    est = BackpropRegressor(hidden_layer_sizes=(4,), activation="tanh", random_state=0)
    report = check_gradients(est, X, Y_REG)
    first, last = report[report["layer"] == 1], report[report["layer"] == 2]
    assert (first["relative_error"] > 0.1).all()
    assert (last["relative_error"] < 1e-6).all()


def test_given_start_weights_are_the_ones_checked():
    """warm_start with assigned weights (the tutorial's start, every weight 0.1): the
    check runs on those weights, and leaves the estimator as it was."""
    est = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
                            warm_start=True)
    est.coefs_ = [np.full((2, 2), 0.1), np.full((2, 1), 0.1)]
    est.intercepts_ = [np.zeros(2), np.zeros(1)]
    x, y = np.array([[8.0, 8.0]]), np.array([4.0])
    problem = training_problem(est, x, y)
    assert all((W == 0.1).all() for W, _ in problem.params)
    assert all(W is not given for (W, _), given in zip(problem.params, est.coefs_))
    report = check_gradients(est, x, y, eps=1e-4)
    assert (report["relative_error"] < 1e-8).all()
    assert not hasattr(est, "n_iter_") and (est.coefs_[0] == 0.1).all()


@pytest.mark.parametrize("y", [np.digitize(X[:, 0], [-1, 0.8]),
                               np.column_stack([X[:, 0] > 1, X[:, 1] > 0]).astype(int)],
                         ids=["multiclass", "multilabel"])
def test_a_fitted_balanced_classifier_is_checked(y):
    """class_weight='balanced' on a fitted model: checked on the loss fit
    minimises, its classes weighted as sklearn's compute_sample_weight gives."""
    clf = BackpropClassifier(hidden_layer_sizes=(4,), activation="tanh",
                             class_weight="balanced", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    report = check_gradients(clf, X, y)
    assert (report["relative_error"] < 1e-6).all(), report
    weights = training_problem(clf, X, y).sample_weight
    assert_allclose(weights, compute_sample_weight("balanced", y))
    sw = np.linspace(0.5, 2, len(X))
    assert_allclose(training_problem(clf, X, y, sw).sample_weight, weights * sw)


def raw_table(n=40, seed=0):
    """A raw table whose network has every tabular input layer: numbers (periodic
    embeddings), a category of 12 levels (an embedding), one of 3 (one-hot), a
    boolean, missing values."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"size": rng.normal(size=n), "age": rng.normal(size=n),
                          "shop": rng.choice([f"s{i}" for i in range(12)], n),
                          "city": rng.choice(["Oslo", "Rome", "Lima", None], n),
                          "flag": rng.integers(0, 2, n).astype(bool)})
    table.loc[::7, "size"] = np.nan
    return table


@pytest.mark.parametrize("kind", ["regressor", "binary", "multiclass"])
def test_a_fitted_tabular_model_passes_the_gradient_check(kind):
    """Every parameter array of every layer of a fitted TabularClassifier or
    TabularRegressor: embeddings, periodic embeddings, the feature scale, the
    Dense layers and the parametric activations (with the L2 penalty, sample
    weights and label smoothing)."""
    from skbackprop.tabular import TabularClassifier, TabularRegressor

    table = raw_table()
    weights = np.linspace(0.5, 2.0, len(table))
    score = table["size"].fillna(0) + table["age"] + (table["city"] == "Rome")
    if kind == "regressor":
        model, y = TabularRegressor(hidden_layer_sizes=(5, 4), alpha=0.2), score
    else:
        model = TabularClassifier(hidden_layer_sizes=(5,), alpha=0.2, label_smoothing=0.1)
        y = np.digitize(score, [0.5] if kind == "binary" else [-0.5, 0.8])
    model.set_params(embedding_dim=3, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(table, y)
    report = check_gradients(model, table[:12], y[:12], sample_weight=weights[:12])
    parameters = list(zip(report["layer"], report["parameter"]))
    assert parameters[:6] == [(1, "E3"), (2, "w"), (2, "phase"), (2, "V"), (2, "c"),
                              (3, "s")]
    assert parameters[6:9] == [(4, "W"), (4, "b"), (5, "m")]
    assert len(parameters) == sum(len(ps) for ps in model._fitted_network()[1])
    assert (report["relative_error"] < 1e-6).all(), report
    assert (report["max_abs_error"] < 1e-7).all(), report
