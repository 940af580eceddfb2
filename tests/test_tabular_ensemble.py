"""Ensembles of the tabular estimators (tabular._ensemble): n_ensemble networks,
each fitted as one network would be with its own seed, their outputs averaged;
checked against networks fitted alone."""

import io

import numpy as np
import pytest
from callback_helpers import Recorder
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, softmax
from test_tabular_estimators import table

from skbackprop import BackpropRegressor, load, save
from skbackprop.tabular import TabularClassifier, TabularRegressor
from skbackprop.tabular._ensemble import mean_output, member_seeds

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")
SMALL = {"hidden_layer_sizes": (16,), "max_iter": 8, "random_state": 0}


def save_to_buffer(model):
    buffer = io.BytesIO()
    save(model, buffer)
    buffer.seek(0)
    return buffer


def alone(cls, X, y, seed, **params):
    return cls(**{**SMALL, **params, "random_state": seed, "n_ensemble": 1}).fit(X, y)


def test_the_seeds_of_the_further_networks():
    assert member_seeds(None, 2) == [None, None]
    seeds = member_seeds(0, 3)
    assert seeds == member_seeds(0, 3) and len(set(seeds)) == 3  # fixed, distinct
    assert member_seeds(1, 3) != seeds and member_seeds(0, 2) == seeds[:2]
    drawn = member_seeds(np.random.RandomState(5), 2)
    assert drawn == list(np.random.RandomState(5).randint(2**31 - 1, size=2))


@pytest.mark.parametrize("labels", ["binary", "multiclass"])
def test_the_classifier_averages_the_probabilities_of_networks_fitted_alone(labels):
    X, y = table(300)
    y = y > np.median(y) if labels == "binary" else np.digitize(
        y, np.quantile(y, [1 / 3, 2 / 3]))
    model = TabularClassifier(**SMALL, n_ensemble=3).fit(X, y)
    seeds = [0, *member_seeds(0, 2)]
    assert [m.random_state for m in model.ensemble_] == seeds[1:]
    nets = [alone(TabularClassifier, X, y, seed) for seed in seeds]
    assert_array_equal(model.coefs_[0], nets[0].coefs_[0])  # the first is n_ensemble=1's
    for member, net in zip(model.ensemble_, nets[1:], strict=True):
        assert member.n_ensemble == 1 and member.best_epoch_ == net.best_epoch_
        assert_array_equal(member.coefs_[-1], net.coefs_[-1])
    mean = np.mean([net.predict_proba(X) for net in nets], axis=0)
    assert_allclose(model.predict_proba(X), mean, rtol=0, atol=1e-15)
    assert_array_equal(model.predict(X), model.classes_[mean.argmax(axis=1)])
    assert model.score(X, y) == np.mean(model.predict(X) == y)


def test_the_regressor_averages_standardised_outputs_then_clips():
    X, y = table(300)
    model = TabularRegressor(**SMALL).fit(X, y)
    nets = [alone(TabularRegressor, X, y, seed) for seed in [0, *member_seeds(0, 1)]]
    A = np.mean([net._validated_output(X, "predict")[0] for net in nets], axis=0)
    expected = np.clip(A[:, 0] * model._y_scale[0] + model._y_center[0], y.min(), y.max())
    assert_allclose(model.predict(X), expected, rtol=1e-15)


def test_the_log_probabilities_are_the_log_of_the_mean_from_the_logits():
    rng = np.random.default_rng(0)
    Z = rng.normal(scale=3, size=(3, 50, 4))
    Z[:, 0] = [900.0, -900.0, 0.0, 5.0]  # beyond float64's exp
    A, log_p = mean_output([(softmax(z, axis=1), z) for z in Z], "softmax")
    assert_allclose(A, np.mean(softmax(Z, axis=2), axis=0))
    assert_allclose(log_p[1:], np.log(A[1:]), rtol=1e-12)
    assert A[0, 1] == 0 and np.isfinite(log_p).all() and log_p[0, 1] == -1800
    z = Z[..., :1]
    A, logit = mean_output([(expit(x), x) for x in z], "logistic")
    assert_allclose(expit(logit), A, rtol=1e-12)
    assert_allclose(-np.logaddexp(0, -logit[1:]), np.log(A[1:]), rtol=1e-12)
    X, y = table(200)
    clf = TabularClassifier(**SMALL).fit(X, y > 0)
    assert_allclose(clf.predict_log_proba(X), np.log(clf.predict_proba(X)), rtol=1e-9)


def test_one_network_is_the_single_network_fit():
    X, y = table(200)
    one = TabularRegressor(**SMALL, n_ensemble=1).fit(X, y)
    assert not hasattr(one, "ensemble_")
    assert_array_equal(one.predict(X), alone(TabularRegressor, X, y, 0).predict(X))
    model = TabularRegressor(**SMALL).fit(X, y).set_params(n_ensemble=1).fit(X, y)
    assert not hasattr(model, "ensemble_")  # a refit with one network drops the others
    assert_array_equal(model.predict(X), one.predict(X))


def test_warm_start_and_partial_fit_continue_every_network():
    X, y = table(200)
    model = TabularClassifier(**SMALL, early_stopping=False)
    model.partial_fit(X, y > 0, classes=[False, True]).partial_fit(X, y > 0, epochs=2)
    assert model.n_iter_ == 3 and model.ensemble_[0].n_iter_ == 3
    nets = [TabularClassifier(**{**SMALL, "random_state": s}, early_stopping=False,
                              n_ensemble=1) for s in [0, *member_seeds(0, 1)]]
    for net in nets:
        net.partial_fit(X, y > 0, classes=[False, True]).partial_fit(X, y > 0, epochs=2)
    assert_array_equal(model.ensemble_[0].coefs_[0], nets[1].coefs_[0])
    warm = TabularRegressor(**SMALL, warm_start=True).fit(X, y)
    member = warm.ensemble_[0]
    warm.set_params(max_iter=3).fit(X, y)  # a changed parameter reaches every network
    assert warm.ensemble_[0] is not member and warm.ensemble_[0].max_iter == 3
    net = alone(TabularRegressor, X, y, member.random_state, warm_start=True)
    net.set_params(max_iter=3).fit(X, y)
    assert_array_equal(warm.ensemble_[0].coefs_[0], net.coefs_[0])
    assert not np.array_equal(member.coefs_[0], net.coefs_[0])
    with pytest.raises(ValueError, match=r"(?s)holds 2 networks, and n_ensemble=3 "
                                         r"cannot continue it.*set_params\(n_ensemble=2\)"
                                         r".*warm_start=False"):
        warm.set_params(n_ensemble=3).fit(X, y)
    assert_array_equal(warm.ensemble_[0].coefs_[0], net.coefs_[0])  # (unchanged)


def test_a_network_that_fails_leaves_the_model_as_it_was(monkeypatch):
    X, y = table(200)
    model = TabularRegressor(**SMALL).fit(X, y)
    before = model.predict(X)
    state = {k: v for k, v in vars(model).items()}
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 2:
            raise MemoryError("no room for the second network")
        return fit(self, *args, **kwargs)

    fit = BackpropRegressor._fit
    monkeypatch.setattr(BackpropRegressor, "_fit", failing)
    with pytest.raises(MemoryError):
        model.set_params(max_iter=2).fit(X, y)
    assert len(calls) == 2 and calls[0] is not model
    assert {k: v for k, v in vars(model).items() if k != "max_iter"} == {
        k: v for k, v in state.items() if k != "max_iter"}
    assert_array_equal(model.predict(X), before)


class Counter(Recorder):
    def on_fit_task_end(self, estimator, context, **kwargs):
        self.events.append(("end", context.task_name))


def test_callbacks_see_each_network_as_one_fit():
    X, y = table(120)
    recorder = Counter()
    TabularRegressor(**SMALL, n_ensemble=3).set_callbacks(recorder).fit(X, y)
    assert recorder.events.count("setup") == recorder.events.count("teardown") == 3
    assert recorder.events.count(("end", "epoch")) == 3 * SMALL["max_iter"]


class Interrupt(Counter):
    """Ctrl-C at the end of the given epoch of the given network (1-based)."""

    def __init__(self, network, epoch):
        super().__init__()
        self.network, self.epoch = network, epoch

    def on_fit_task_end(self, estimator, context, **kwargs):
        super().on_fit_task_end(estimator, context, **kwargs)
        if (context.task_name == "epoch" and self.events.count("setup") == self.network
                and self.events.count(("end", "epoch")) - SMALL["max_iter"] * (
                    self.network - 1) == self.epoch):
            raise KeyboardInterrupt


def test_an_interrupt_ends_the_whole_fit_and_keeps_the_networks_trained():
    X, y = table(150)
    model = TabularRegressor(**SMALL, n_ensemble=3, early_stopping=False)
    with pytest.warns(UserWarning, match="interrupted by the user: 2 of the 3 networks "
                                         "were trained"):
        model.set_callbacks(Interrupt(network=2, epoch=3)).fit(X, y)
    assert model.n_iter_ == SMALL["max_iter"] and len(model.ensemble_) == 1
    assert model.ensemble_[0].n_iter_ == 3  # its completed epochs, as one network's
    nets = [model, model.ensemble_[0]]
    A = np.mean([n._raw_output(model.preprocessor_.transform(X))[0] for n in nets], axis=0)
    assert_allclose(model.predict(X), np.clip(
        A[:, 0] * model._y_scale[0] + model._y_center[0], y.min(), y.max()), rtol=1e-15)
    loaded = load(save_to_buffer(model))  # (a model file may hold fewer networks)
    assert_array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(ValueError, match=r"holds 2 networks, and n_ensemble=3"):
        model.set_params(warm_start=True).fit(X, y)
    first = TabularRegressor(**SMALL, n_ensemble=2).set_callbacks(
        Interrupt(network=1, epoch=2))
    with pytest.warns(UserWarning, match="1 of the 2 networks"):
        first.fit(X, y)
    assert first.n_iter_ == 2 and not hasattr(first, "ensemble_")


def test_an_interrupt_before_any_epoch_leaves_the_model_as_it_was():
    X, y = table(150)
    model = TabularRegressor(**SMALL).fit(X, y)
    before = model.predict(X)

    class Early(Counter):
        def on_fit_task_begin(self, estimator, context, **kwargs):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.set_callbacks(Early()).fit(X, y)
    assert_array_equal(model.predict(X), before)


@pytest.mark.filterwarnings("ignore:The estimator FunctionTransformer does not support")
def test_the_networks_keep_no_callbacks_and_continue_with_the_current_ones():
    from sklearn.callback import ProgressBar
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = table(120)
    pipe = Pipeline([("same", FunctionTransformer()), ("model", TabularRegressor(
        **SMALL, warm_start=True))]).set_callbacks(ProgressBar())
    pipe.fit(X, y)
    member = pipe[-1].ensemble_[0]
    assert not [name for name in vars(member) if "callback" in name]
    pipe.fit(X, y)  # (a finished task tree of the first fit is not reused)
    pipe[-1].fit(X, y)
    old, new = Counter(), Counter()
    warm = TabularRegressor(**SMALL, warm_start=True).set_callbacks(old).fit(X, y)
    old.events.clear()
    warm.set_callbacks(new).fit(X, y)
    assert old.events == [] and new.events.count("setup") == 2
    inc = TabularClassifier(**SMALL, early_stopping=False).set_callbacks(old)
    inc.partial_fit(X, y > 0, classes=[False, True])
    inc.set_callbacks(new).partial_fit(X, y > 0)
    assert old.events.count("setup") == 2 and new.events.count("setup") == 4


def test_a_parameter_set_before_partial_fit_is_checked():
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = table(120)
    model = TabularClassifier(**SMALL, early_stopping=False).partial_fit(
        X, y > 0, classes=[False, True])
    for value in ("3", None, 0):
        with pytest.raises(InvalidParameterError, match="n_ensemble"):
            model.set_params(n_ensemble=value).partial_fit(X, y > 0)
    with pytest.raises(ValueError, match=r"set_params\(n_ensemble=2\) to continue it, "
                                         r"or fit it again \(fit starts anew\)"):
        model.set_params(n_ensemble=3).partial_fit(X, y > 0)


def test_a_training_animation_refuses_an_ensemble():
    pytest.importorskip("matplotlib")
    from skbackprop.inspection import TrainingAnimation, WeightSnapshots

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    snapshots = WeightSnapshots()
    model = TabularClassifier(**SMALL).set_callbacks(snapshots).fit(X, X.sum(1) > 0)
    with pytest.raises(ValueError, match=r"(?s)averages 2 .n_ensemble=2.*n_ensemble=1"):
        TrainingAnimation.from_estimator(model, snapshots, X, X.sum(1) > 0)
    assert np.array_equal(snapshots.snapshots[-1]["coefs"][-1],
                          model.ensemble_[0].coefs_[-1])  # (the last network's record)


def test_the_warnings_of_a_network_that_fails_are_still_given(monkeypatch):
    import warnings

    X, y = table(120)
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(self)
        warnings.warn(f"network {len(calls)} says so", UserWarning, stacklevel=2)
        if len(calls) == 2:
            raise MemoryError("no room for the second network")
        return fit(self, *args, **kwargs)

    fit = BackpropRegressor._fit
    monkeypatch.setattr(BackpropRegressor, "_fit", failing)
    with pytest.warns(UserWarning, match="network 2 says so"), pytest.raises(MemoryError):
        TabularRegressor(**SMALL).fit(X, y)
