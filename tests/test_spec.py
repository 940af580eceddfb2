"""The frozen spec (_spec): parameters resolved once per call; the engine runs on a
spec and its inputs alone, and a callback's set_params during a fit changes the
next fit, not the running one. The training ingredients beyond sklearn's MLP
(weight_decay, label_smoothing) resolve to defaults that change nothing, are read
from the estimators that take them (a regressor takes no label_smoothing), and are
checked."""

import dataclasses
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._core.layers import perceptron_layers
from skbackprop._core.losses import label_smoothed
from skbackprop._engine.callbacks import EpochTasks
from skbackprop._engine.data import Data
from skbackprop._engine.spec import Spec, batch_rows
from skbackprop._engine.start import starting_weights
from skbackprop._engine.training import Training
from skbackprop._prepare import resolve


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _quiet_fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _spec(**changes):
    """A spec written by hand: a 2-3-1 regression network trained by adam."""
    fields = dict(
        n_features=2, layers=perceptron_layers([3, 1], ["tanh", "identity"]),
        loss="squared_error",
        alpha=1e-4, dropout=(0.0,), dtype=np.float64, weight_init="glorot_uniform",
        solver="adam", batch_size="auto", shuffle=True, momentum=0.9,
        nesterovs_momentum=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
        clip_norm=None, max_fun=15000, learning_rate="constant",
        learning_rate_init=0.01, power_t=0.5, lr_step_epochs=10, lr_decay=0.5,
        max_iter=15, tol=1e-4, n_iter_no_change=10, early_stopping=False,
        validation_fraction=0.1, scoring=None, verbose=False)
    return Spec(**{**fields, **changes})


def test_a_spec_is_frozen():
    spec = _spec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.learning_rate_init = 1.0
    assert spec.model.widths == [2, 3, 1]
    assert spec.model.perceptron == ([2, 3, 1], ["tanh", "identity"])


def test_the_engine_trains_from_a_spec_without_an_estimator(wavy):
    """Training built from a hand-written spec, arrays and a random state gives the
    estimator's weights bit for bit: nothing else is read."""
    X, y = wavy
    spec = _spec()
    rng = check_random_state(0)
    Y = y.reshape(-1, 1)
    weights = starting_weights(spec.model, spec.weight_init, Y, rng)
    data = Data(X, Y, y, None)
    training = Training(spec, data, None, weights, rng, previous=None,
                        tasks=EpochTasks(None, None, data, {}, spec.layers), score=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        outcome = training.run(1)
    reg = _quiet_fit(BackpropRegressor(hidden_layer_sizes=(3,), activation="tanh",
                                       learning_rate_init=0.01, max_iter=15,
                                       random_state=0), X, y)
    for got, expected in zip(outcome.attributes["coefs_"], reg.coefs_):
        assert_array_equal(got, expected)
    assert outcome.attributes["loss_curve_"] == reg.loss_curve_
    assert outcome.attributes["n_iter_"] == reg.n_iter_ == 15


class SetParamsAt:
    """A callback that calls set_params on the estimator at the end of an epoch."""

    def __init__(self, epoch, **params):
        self.epoch, self.params, self.seen = epoch, params, 0

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        self.estimator = self.estimator if hasattr(self, "estimator") else estimator

    def on_fit_task_end(self, estimator, context):
        if context.task_name == "epoch":
            self.seen += 1
            if self.seen == self.epoch:
                self.estimator.set_params(**self.params)

    def teardown(self, estimator, context):
        pass


@pytest.mark.parametrize("params", [
    dict(shuffle=False), dict(learning_rate="invscaling", power_t=2.0),
    dict(max_iter=3), dict(tol=10.0, n_iter_no_change=1), dict(momentum=0.0),
])
def test_set_params_in_a_callback_changes_the_next_fit_only(iris, params):
    X, y = iris
    settings = dict(hidden_layer_sizes=(5,), solver="sgd", max_iter=12, random_state=0)
    plain = _quiet_fit(BackpropClassifier(**settings), X, y)
    changed = BackpropClassifier(**settings)
    changed.set_callbacks(SetParamsAt(2, **params))
    _quiet_fit(changed, X, y)
    assert changed.n_iter_ == plain.n_iter_ == 12
    for got, expected in zip(changed.coefs_ + changed.intercepts_,
                             plain.coefs_ + plain.intercepts_):
        assert_array_equal(got, expected)
    assert {k: changed.get_params()[k] for k in params} == params  # for the next fit


def test_batch_rows_resolves_auto_and_warns_above_the_rows():
    assert batch_rows("auto", 1000) == 200 and batch_rows("auto", 50) == 50
    assert batch_rows(32, 100) == 32
    with pytest.warns(UserWarning, match="batch_size=64 is larger than the 10"):
        assert batch_rows(64, 10) == 10


# ------------------------------------------------- the ingredients beyond sklearn's

def smoothed():
    """A classifier with both ingredients on."""
    return BackpropClassifier(label_smoothing=0.1, weight_decay=0.01)


def _resolve(estimator, y_type="multiclass", out="softmax"):
    network = {"_hidden_activations": ["relu"], "out_activation_": out}
    return resolve(estimator, 4, [5, 3], network, {"_y_type": y_type}, np.float64)


def test_estimators_without_the_settings_resolve_their_defaults():
    spec = _resolve(BackpropClassifier())
    assert (spec.weight_decay, spec.label_smoothing, spec.loss) == (0.0, 0.0, "log_loss")
    spec = _resolve(BackpropRegressor(), "continuous", "identity")
    assert (spec.weight_decay, spec.label_smoothing) == (0.0, 0.0)
    assert _spec().weight_decay == 0.0 and _spec().label_smoothing == 0.0


def test_an_estimator_with_the_settings_resolves_them():
    spec = _resolve(smoothed())
    assert (spec.weight_decay, spec.label_smoothing) == (0.01, 0.1)
    assert spec.loss == label_smoothed("log_loss", 0.1)  # the loss holds it applied
    spec = _resolve(smoothed(), "binary", "logistic")
    assert spec.loss == label_smoothed("binary_log_loss", 0.1)
    smoothed_regressor = type("R", (BackpropRegressor,), {"label_smoothing": 0.1})()
    with pytest.raises(ValueError, match="applies to the log losses of classifiers"):
        _resolve(smoothed_regressor, "continuous", "identity")


@pytest.mark.parametrize("changes,message", [
    (dict(weight_decay=-0.1), "weight_decay must be a finite number >= 0"),
    (dict(weight_decay=float("inf")), "weight_decay must be a finite number >= 0"),
    (dict(weight_decay="0.1"), "weight_decay must be a finite number >= 0"),
    (dict(weight_decay=0.1, solver="lbfgs"), "use alpha .* with lbfgs"),
    (dict(label_smoothing=1.0), r"label_smoothing must be a number in \[0, 1\)"),
    (dict(label_smoothing=-0.1), r"label_smoothing must be a number in \[0, 1\)"),
])
def test_a_spec_refuses_settings_that_cannot_train(changes, message):
    with pytest.raises(ValueError, match=message):
        _spec(**changes)


def test_a_fit_with_label_smoothing_minimises_torchs_smoothed_cross_entropy(iris):
    """The loss lbfgs reports is torch's cross-entropy with label smoothing of the
    fitted network's logits, plus the L2 term; the gradient the fit follows is the
    one finite differences give."""
    torch = pytest.importorskip("torch")
    from skbackprop import check_gradients

    X, y = iris
    model = BackpropClassifier(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=30,
                               alpha=0.01, random_state=0, label_smoothing=0.1)
    _quiet_fit(model, X, y)
    H = np.maximum(X @ model.coefs_[0] + model.intercepts_[0], 0)
    logits = torch.tensor(H @ model.coefs_[1] + model.intercepts_[1])
    smoothed = torch.nn.functional.cross_entropy(logits, torch.tensor(y),
                                                 label_smoothing=0.1).item()
    l2 = 0.01 * sum((W**2).sum() for W in model.coefs_) / (2 * len(y))
    assert model.loss_ == pytest.approx(smoothed + l2, rel=1e-12)
    plain = _quiet_fit(BackpropClassifier(hidden_layer_sizes=(5,), solver="lbfgs",
                                          max_iter=30, alpha=0.01, random_state=0), X, y)
    assert plain.loss_ < model.loss_ - 0.05  # (smoothed targets cannot be fitted to 0)
    report = check_gradients(model, X[:20], y[:20])
    assert (report["relative_error"] < 1e-6).all(), report
