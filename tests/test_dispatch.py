"""The estimators under scikit-learn's array API dispatch.

A fit on PyTorch (CPU, float64) tensors must train the network the NumPy fit
trains from the same ``random_state``: the same starting weights, row order,
validation split and dropout masks, drawn on the host and moved. Every solver and
the features around the loop are compared to 1e-10; then the conventions: outputs
in X's namespace, the fitted weights there, a clear error for arrays of another
namespace, persistence and the teaching tools on a device model, a Pipeline with a
scaler. scikit-learn's own array API checks run in ``test_common.py``.

The tensors are on the CPU; ``SKBACKPROP_TEST_DEVICE=cuda`` runs the same tests on
a GPU (``benchmarks/gpu_check.sh`` does).
"""

import os
import warnings

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose as numpy_assert_allclose
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._array_api import move_estimator_to

from skbackprop import (
    BackpropClassifier,
    BackpropRegressor,
    LossCurveDisplay,
    backprop_trace,
    check_gradients,
    load,
    save,
)
from skbackprop._core.xp import namespace, to_numpy
from skbackprop._dispatch import compute_dtype

torch = pytest.importorskip("torch")
DEVICE = os.environ.get("SKBACKPROP_TEST_DEVICE", "cpu")
if DEVICE == "cuda" and not torch.cuda.is_available():
    pytest.skip("SKBACKPROP_TEST_DEVICE=cuda, but no CUDA GPU", allow_module_level=True)


@pytest.fixture(autouse=True)
def dispatch():
    with sklearn.config_context(array_api_dispatch=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        yield


def assert_allclose(actual, desired, **tolerances):
    """numpy's assert_allclose, for tensors on any device too."""
    numpy_assert_allclose(to_numpy(actual), to_numpy(desired), **tolerances)


def tensor(a):
    return None if a is None else torch.asarray(np.asarray(a), device=DEVICE)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(120, 5, n_targets=2, noise=0.5, random_state=0)
    return X / X.std(axis=0), y / 100


SMALL = {"hidden_layer_sizes": (6,), "random_state": 0}
SETUPS = {
    "adam": (BackpropClassifier, dict(SMALL, max_iter=30), {}),
    "sgd nesterov": (BackpropClassifier, dict(SMALL, solver="sgd", max_iter=30), {}),
    "sgd adaptive": (BackpropClassifier,
                     dict(SMALL, solver="sgd", nesterovs_momentum=False,
                          learning_rate="adaptive", n_iter_no_change=2, tol=0.05,
                          max_iter=40), {}),
    # torch's matmul and NumPy's round the last bit differently, and lbfgs's line
    # searches grow that about tenfold every ten iterations (measured on iris: 1e-16
    # after 1, 4e-14 after 20, 1e-10 after 50 on a Haswell OpenBLAS; poisson: 3e-13
    # after 20, 2e-11 after 40): 20 iterations keep a wide margin under 1e-10
    "lbfgs": (BackpropClassifier, dict(SMALL, solver="lbfgs", max_iter=20), {}),
    "lbfgs early stopping": (BackpropClassifier,
                             dict(SMALL, solver="lbfgs", max_iter=50,
                                  early_stopping=True), {}),
    "adam early stopping": (BackpropClassifier,
                            dict(SMALL, max_iter=60, early_stopping=True,
                                 n_iter_no_change=3, learning_rate_init=0.01), {}),
    "sgd early stopping on the loss": (BackpropClassifier,
                                       dict(SMALL, solver="sgd", max_iter=40,
                                            early_stopping=True, scoring="loss"), {}),
    "dropout": (BackpropClassifier, dict(SMALL, dropout=0.2, max_iter=20), {}),
    "sample and class weights": (BackpropClassifier,
                                 dict(SMALL, class_weight={0: 2.0, 1: 1.0, 2: 0.5},
                                      max_iter=20), {"sample_weight": True}),
    "cosine clip_norm": (BackpropClassifier,
                         dict(SMALL, learning_rate="cosine", clip_norm=0.5,
                              max_iter=25), {}),
    "batch of one": (BackpropClassifier,
                     dict(SMALL, solver="sgd", batch_size=1, momentum=0, max_iter=3),
                     {}),
    "multi-output regression": (BackpropRegressor,
                                dict(SMALL, max_iter=25, batch_size=32), {}),
    "poisson lbfgs": (BackpropRegressor,
                      dict(SMALL, loss="poisson", solver="lbfgs", max_iter=20), {}),
    "huber sgd invscaling": (BackpropRegressor,
                             dict(SMALL, loss="huber", solver="sgd",
                                  learning_rate="invscaling", max_iter=25), {}),
    "gelu adam": (BackpropRegressor, dict(SMALL, activation="gelu", max_iter=25), {}),
}


def problem(name, iris, regression):
    estimator, params, extra = SETUPS[name]
    X, y = iris if estimator is BackpropClassifier else regression
    if params.get("loss") == "poisson":
        y = np.abs(X[:, 0]) * 2
    elif params.get("loss") == "huber":
        y = y[:, 0]
    sw = (np.random.RandomState(1).uniform(0.2, 2, size=len(y))
          if extra.get("sample_weight") else None)
    return estimator, params, X, y, sw


def assert_same_fit(device_model, numpy_model, tol=1e-10):
    assert device_model.n_iter_ == numpy_model.n_iter_
    for got, want in zip(device_model.coefs_ + device_model.intercepts_,
                         numpy_model.coefs_ + numpy_model.intercepts_):
        assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
        assert_allclose(got, want, rtol=0, atol=tol)
    assert_allclose(device_model.loss_curve_, numpy_model.loss_curve_, rtol=tol)
    assert device_model.best_epoch_ == numpy_model.best_epoch_
    if numpy_model.validation_scores_ is not None:
        assert_allclose(device_model.validation_scores_, numpy_model.validation_scores_,
                        rtol=tol)
    for column in ("train_loss", "val_loss", "val_score", "learning_rate"):
        assert_allclose(device_model.history_[column], numpy_model.history_[column],
                        rtol=tol)


@pytest.mark.parametrize("name", list(SETUPS))
def test_a_torch_float64_fit_trains_the_numpy_network(name, iris, regression):
    estimator, params, X, y, sw = problem(name, iris, regression)
    with sklearn.config_context(array_api_dispatch=False):
        reference = estimator(**params).fit(X, y, sample_weight=sw)
    model = estimator(**params).fit(tensor(X), tensor(y), sample_weight=tensor(sw))
    assert_same_fit(model, reference)
    predicted = model.predict(tensor(X))
    assert isinstance(predicted, torch.Tensor)
    assert_allclose(predicted, reference.predict(X), atol=1e-10)
    # (sklearn's metrics on tensors compute in torch's default dtype, float32)
    assert model.score(tensor(X), tensor(y)) == pytest.approx(reference.score(X, y),
                                                              rel=1e-6)


def test_validation_data_warm_start_and_partial_fit(iris):
    X, y = iris
    params = dict(SMALL, max_iter=8, warm_start=True)
    with sklearn.config_context(array_api_dispatch=False):
        reference = BackpropClassifier(**params)
        reference.fit(X[::2], y[::2], X_val=X[1::2], y_val=y[1::2]).fit(X, y)
        reference.partial_fit(X, y, epochs=3)
    model = BackpropClassifier(**params)
    model.fit(tensor(X[::2]), tensor(y[::2]), X_val=tensor(X[1::2]),
              y_val=tensor(y[1::2]))
    model.fit(tensor(X), tensor(y)).partial_fit(tensor(X), tensor(y), epochs=3)
    assert_same_fit(model, reference)
    for got, want in zip(model._optimizer_state["ms"], reference._optimizer_state["ms"]):
        assert isinstance(got, torch.Tensor)
        assert_allclose(got, want, atol=1e-10)


def test_partial_fit_from_scratch_with_classes(iris):
    X, y = iris
    with sklearn.config_context(array_api_dispatch=False):
        reference = BackpropClassifier(**SMALL).partial_fit(X[:50], y[:50],
                                                           classes=[0, 1, 2])
    model = BackpropClassifier(**SMALL).partial_fit(tensor(X[:50]), tensor(y[:50]),
                                                    classes=[0, 1, 2])
    assert_same_fit(model, reference)


def test_float32_tensors_train_in_float32(iris):
    X, y = iris
    model = BackpropClassifier(**SMALL, max_iter=20).fit(tensor(X).float(), tensor(y))
    assert all(W.dtype == torch.float32 for W in model.coefs_ + model.intercepts_)
    proba = model.predict_proba(tensor(X).float())
    assert proba.dtype == torch.float32
    with sklearn.config_context(array_api_dispatch=False):
        reference = BackpropClassifier(**SMALL, max_iter=20).fit(X.astype(np.float32), y)
    assert_allclose(proba, reference.predict_proba(X.astype(np.float32)),
                    atol=1e-5)
    converted = BackpropClassifier(**SMALL, max_iter=2, dtype="float32").fit(
        tensor(X), tensor(y))
    assert converted.coefs_[0].dtype == torch.float32


@pytest.mark.parametrize("labels", ["strings", "binary", "multilabel"])
def test_classifier_outputs(iris, labels):
    X, y = iris
    if labels == "strings":
        y = np.array(["setosa", "versicolor", "virginica"])[y]
    elif labels == "binary":
        y = (y == 1).astype(int)
    else:
        y = np.column_stack([y == 0, y == 1]).astype(int)
    with sklearn.config_context(array_api_dispatch=False):
        reference = BackpropClassifier(**SMALL, max_iter=15).fit(X, y)
    model = BackpropClassifier(**SMALL, max_iter=15).fit(
        tensor(X), y if labels == "strings" else tensor(y))
    T = tensor(X)
    assert_array_equal(model.classes_, reference.classes_)
    predicted = model.predict(T)
    if labels == "strings":  # labels that are not numbers stay NumPy arrays
        assert isinstance(predicted, np.ndarray)
    else:
        assert isinstance(predicted, torch.Tensor)
    assert_array_equal(to_numpy(predicted), reference.predict(X))
    assert_allclose(model.predict_proba(T), reference.predict_proba(X),
                    atol=1e-10)
    assert_allclose(model.predict_log_proba(T), reference.predict_log_proba(X),
                    atol=1e-10)


def test_arrays_of_another_namespace_are_refused_with_the_fix(iris):
    X, y = iris
    model = BackpropClassifier(**SMALL, max_iter=5).fit(tensor(X), tensor(y))
    for method, named in [("predict", "predict"), ("predict_proba", "predict_proba"),
                          ("predict_log_proba", "predict_log_proba"),
                          ("score", "predict")]:  # (score predicts)
        arguments = (X, y) if method == "score" else (X,)
        with pytest.raises(ValueError, match=rf"(?s){named}\(\) must use the same "
                           "namespace.*fitted on torch arrays on device 'cpu'; got "
                           "numpy arrays.*move_estimator_to"):
            getattr(model, method)(*arguments)
    with pytest.raises(ValueError, match=r"partial_fit\(\) must use the same"):
        model.partial_fit(X, y)
    with (sklearn.config_context(array_api_dispatch=False),
          pytest.raises(ValueError, match=r"got numpy arrays.*dispatch off")):
        model.predict(X)
    numpy_model = BackpropClassifier(**SMALL, max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match=r"fitted on numpy arrays.*got torch arrays"):
        numpy_model.predict(tensor(X))


def test_without_dispatch_tensors_are_read_as_numpy(iris):
    X, y = iris
    with sklearn.config_context(array_api_dispatch=False):
        model = BackpropClassifier(**SMALL, max_iter=5).fit(tensor(X), tensor(y))
        assert isinstance(model.coefs_[0], np.ndarray)
        assert isinstance(model.predict(tensor(X)), np.ndarray)


def test_moving_a_model_to_the_device_and_back(iris):
    X, y = iris
    with sklearn.config_context(array_api_dispatch=False):
        reference = BackpropClassifier(**SMALL, max_iter=10).fit(X, y)
    moved = move_estimator_to(reference, namespace(tensor(X)), DEVICE)
    assert isinstance(moved.coefs_[0], torch.Tensor)
    assert isinstance(reference.coefs_[0], np.ndarray)  # a copy was moved
    assert_allclose(moved.predict_proba(tensor(X)), reference.predict_proba(X))
    assert_array_equal(moved.classes_, reference.classes_)
    moved.partial_fit(tensor(X), tensor(y))  # trains on, with its moved adam state
    back = move_estimator_to(moved, np, "cpu")
    assert isinstance(back.coefs_[0], np.ndarray)
    assert isinstance(back._optimizer_state["ms"][0], np.ndarray)
    assert_allclose(back.predict_proba(X), moved.predict_proba(tensor(X)))


def test_save_writes_numpy_and_the_loaded_model_predicts_with_numpy(iris, tmp_path):
    X, y = iris
    model = BackpropClassifier(**SMALL, max_iter=10).fit(tensor(X), tensor(y))
    expected = model.predict_proba(tensor(X))
    save(model, tmp_path / "model.npz")
    assert isinstance(model.coefs_[0], torch.Tensor)  # the model itself is unchanged
    loaded = load(tmp_path / "model.npz")
    assert all(isinstance(W, np.ndarray) for W in loaded.coefs_ + loaded.intercepts_)
    with sklearn.config_context(array_api_dispatch=False):
        assert_allclose(loaded.predict_proba(X), expected)
        loaded.partial_fit(X, y)  # with its optimizer state, on the host


@pytest.mark.usefixtures("close_figures")
def test_teaching_tools_and_displays_take_a_device_model(iris):
    X, y = iris
    model = BackpropClassifier(**SMALL, max_iter=10).fit(tensor(X), tensor(y))
    with sklearn.config_context(array_api_dispatch=False):
        host = move_estimator_to(model, np, "cpu")
        expected = backprop_trace(host, X[:3], y[:3])
    trace = backprop_trace(model, tensor(X[:3]), tensor(y[:3]))
    assert trace.params.equals(expected.params)
    report = check_gradients(model, tensor(X[:5]), tensor(y[:5]))
    assert (report["relative_error"] < 1e-6).all()
    pytest.importorskip("matplotlib")  # (drawing off screen: conftest)
    from skbackprop import NetworkDisplay

    display = NetworkDisplay.from_estimator(model)
    assert_allclose(display.weights_, np.concatenate([to_numpy(W).ravel()
                                                      for W in model.coefs_]))
    LossCurveDisplay.from_estimator(model)


def test_divergence_on_the_device_keeps_finite_weights(iris):
    X, y = iris
    params = dict(SMALL, solver="sgd", learning_rate_init=1e4, max_iter=20)
    with sklearn.config_context(array_api_dispatch=False):
        reference = BackpropClassifier(**params).fit(X * 100, y)
    model = BackpropClassifier(**params).fit(tensor(X * 100), tensor(y))
    assert model.diverged_ and reference.diverged_
    assert model.n_iter_ == reference.n_iter_
    assert all(bool(torch.isfinite(W).all()) for W in model.coefs_)
    assert_allclose(model.predict_proba(tensor(X)), reference.predict_proba(X),
                    atol=1e-10)


def test_a_pipeline_with_a_scaler_fits_on_tensors(iris):
    X, y = load_iris(return_X_y=True)
    with sklearn.config_context(array_api_dispatch=False):
        reference = make_pipeline(StandardScaler(), BackpropClassifier(**SMALL)).fit(X, y)
    pipeline = make_pipeline(StandardScaler(), BackpropClassifier(**SMALL))
    pipeline.fit(tensor(X), tensor(y))
    assert isinstance(pipeline[-1].coefs_[0], torch.Tensor)
    assert_allclose(pipeline.predict_proba(tensor(X)),
                    reference.predict_proba(X), atol=1e-10)


def test_array_api_strict_fits_like_numpy(iris):
    xp = pytest.importorskip("array_api_strict")
    X, y = iris
    for params in (dict(SMALL, max_iter=10), dict(SMALL, solver="lbfgs", max_iter=20),
                   dict(SMALL, early_stopping=True, dropout=0.1, max_iter=10)):
        with sklearn.config_context(array_api_dispatch=False):
            reference = BackpropClassifier(**params).fit(X, y)
        model = BackpropClassifier(**params).fit(xp.asarray(X), xp.asarray(y))
        assert namespace(model.coefs_[0]).__name__ == "array_api_strict"
        for got, want in zip(model.coefs_, reference.coefs_):
            assert_allclose(to_numpy(got), want, atol=1e-10)
        assert_allclose(to_numpy(model.predict_proba(xp.asarray(X))),
                        reference.predict_proba(X), atol=1e-10)


class EpochScores:
    """A callback scoring the network as it stands after each epoch."""

    def __init__(self):
        self.scores = []

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, X=None, y=None,
                        fitted_estimator=None):
        if context.task_name == "epoch" and fitted_estimator is not None:
            self.scores.append(to_numpy(fitted_estimator.predict_proba(X)))
        return len(self.scores) >= 3

    def teardown(self, estimator, context):
        pass


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_callbacks_score_the_device_network_each_epoch(iris, solver):
    X, y = iris
    with sklearn.config_context(array_api_dispatch=False):
        expected = EpochScores()
        BackpropClassifier(**SMALL, solver=solver).set_callbacks(expected).fit(X, y)
    got = EpochScores()
    model = BackpropClassifier(**SMALL, solver=solver).set_callbacks(got)
    model.fit(tensor(X), tensor(y))
    assert model.n_iter_ == 3  # the callback stopped it, as on NumPy
    for a, b in zip(got.scores, expected.scores, strict=True):
        assert_allclose(a, b, atol=1e-10)


def test_compute_dtype_in_each_namespace():
    xp = namespace(tensor([1.0]))
    assert compute_dtype(None) == (np.float64, np.float32)
    assert compute_dtype("float32") == np.float32
    assert compute_dtype(None, xp, DEVICE) == (xp.float64, xp.float32)
    assert compute_dtype("float32", xp, DEVICE) == xp.float32
    assert compute_dtype("float64", xp, DEVICE) == xp.float64


def test_validation_data_follows_the_training_data(iris):
    X, y = iris
    params = dict(SMALL, max_iter=5)
    on_device = BackpropClassifier(**params).fit(
        tensor(X[::2]), tensor(y[::2]), X_val=tensor(X[1::2]), y_val=tensor(y[1::2]))
    mixed = BackpropClassifier(**params).fit(  # NumPy validation data for a device fit
        tensor(X[::2]), tensor(y[::2]), X_val=X[1::2], y_val=y[1::2],
        sample_weight_val=np.ones(75))
    assert_allclose(mixed.validation_scores_, on_device.validation_scores_)
    host = BackpropClassifier(**params).fit(  # tensors for a NumPy fit
        X[::2], y[::2], X_val=tensor(X[1::2]), y_val=tensor(y[1::2]))
    assert isinstance(host.coefs_[0], np.ndarray)
    assert_allclose(host.validation_scores_, on_device.validation_scores_, atol=1e-10)
    from scipy.sparse import csr_matrix

    with pytest.raises(TypeError, match="X_val is a sparse matrix"):
        BackpropClassifier(**params).fit(tensor(X), tensor(y), X_val=csr_matrix(X),
                                         y_val=y)


def complex_inputs(xp, X, y):
    """fit's arguments with one of them complex (in namespace ``xp``): its name
    and the arguments."""
    sw = np.ones(len(y))
    as_xp = (lambda a: xp.asarray(a)) if xp is not torch else tensor
    for name in ("X", "y", "sample_weight", "X_val", "y_val", "sample_weight_val"):
        arrays = {"X": X, "y": y, "sample_weight": sw, "X_val": X, "y_val": y,
                  "sample_weight_val": sw}
        arrays[name] = arrays[name] + 1j
        yield name, {k: as_xp(v) for k, v in arrays.items()}


@pytest.mark.parametrize("library", ["torch", "array_api_strict", "numpy"])
def test_complex_inputs_of_any_namespace_are_refused_naming_them(iris, library):
    xp = torch if library == "torch" else pytest.importorskip(library)
    X, _ = iris
    y = X[:, 0]  # (real targets: a complex y is refused by name, not as labels)
    for name, arrays in complex_inputs(xp, X, y):
        with pytest.raises(ValueError, match=rf"(?s)^Complex data not supported: {name} "
                           rf"holds complex numbers.*Fix: .*{name}\.real"):
            BackpropRegressor(**SMALL, max_iter=2).fit(
                arrays.pop("X"), arrays.pop("y"), **arrays)
    model = BackpropRegressor(**SMALL, max_iter=2).fit(tensor(X), tensor(y))
    for method in ("predict", "score"):
        arguments = (tensor(X + 1j), tensor(y))[:2 if method == "score" else 1]
        with pytest.raises(ValueError, match=r"^Complex data not supported: X holds"):
            getattr(model, method)(*arguments)


@pytest.mark.parametrize("with_tensors", [True, False])
def test_partial_fit_takes_classes_of_any_namespace(iris, with_tensors):
    X, y = iris
    move = tensor if with_tensors else np.asarray
    reference = BackpropClassifier(**SMALL).partial_fit(move(X[:50]), move(y[:50]),
                                                        classes=np.arange(3))
    for classes in (torch.arange(3, device=DEVICE), torch.asarray([2, 0, 1])):
        model = BackpropClassifier(**SMALL).partial_fit(move(X[:50]), move(y[:50]),
                                                        classes=classes)
        assert isinstance(model.classes_, np.ndarray)  # on the host, as learnt ones
        assert_array_equal(model.classes_, [0, 1, 2])
        for got, want in zip(model.coefs_, reference.coefs_):
            assert_allclose(got, want, rtol=0, atol=0)
        model.partial_fit(move(X[50:]), move(y[50:]), classes=classes)  # the same
        with pytest.raises(ValueError, match="not the same as on last call"):
            model.partial_fit(move(X), move(y), classes=torch.arange(4))


@pytest.mark.parametrize("on", [True, False])
def test_inputs_that_require_grad_train_as_detached_without_a_graph(iris, on):
    X, y = iris[0], iris[1].astype(float)
    sw = np.random.RandomState(1).uniform(0.2, 2, size=len(y))
    params = dict(SMALL, max_iter=5)
    with sklearn.config_context(array_api_dispatch=on):
        for solver in ("adam", "lbfgs"):
            reference = BackpropRegressor(**params, solver=solver).fit(
                tensor(X), tensor(y), sample_weight=tensor(sw),
                X_val=tensor(X[:20]), y_val=tensor(y[:20]))
            inputs = [tensor(a).requires_grad_() for a in (X, y, sw, X[:20], y[:20])]
            model = BackpropRegressor(**params, solver=solver).fit(
                *inputs[:2], sample_weight=inputs[2], X_val=inputs[3], y_val=inputs[4])
            assert all(a.grad is None and a.grad_fn is None for a in inputs)
            for got, want in zip(model.coefs_ + model.intercepts_,
                                 reference.coefs_ + reference.intercepts_):
                assert not getattr(got, "requires_grad", False)
                assert_allclose(got, want, rtol=0, atol=0)
            assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=0)


def test_array_api_strict_on_another_device_with_sample_weight(iris):
    xp = pytest.importorskip("array_api_strict")
    X, y = iris
    sw = np.random.RandomState(1).uniform(0.2, 2, size=len(y))
    other = xp.Device("device1")
    for params in (dict(SMALL, max_iter=10, class_weight={0: 2.0, 1: 1.0, 2: 0.5}),
                   dict(SMALL, solver="lbfgs", max_iter=20),
                   dict(SMALL, solver="sgd", batch_size=1, max_iter=2)):
        with sklearn.config_context(array_api_dispatch=False):
            reference = BackpropClassifier(**params).fit(X, y, sample_weight=sw)
        default = BackpropClassifier(**params).fit(
            xp.asarray(X), xp.asarray(y), sample_weight=xp.asarray(sw))
        for weights in (xp.asarray(sw, device=other), sw):  # both follow X
            model = BackpropClassifier(**params).fit(
                xp.asarray(X, device=other), xp.asarray(y, device=other),
                sample_weight=weights)
            assert model.coefs_[0].device == other
            for got, at_default, want in zip(model.coefs_, default.coefs_,
                                             reference.coefs_):
                assert_array_equal(to_numpy(got), to_numpy(at_default))
                assert_allclose(to_numpy(got), want, atol=1e-10)
            assert model.predict_proba(xp.asarray(X, device=other)).device == other


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_meta_and_sparse_tensors_are_refused_with_the_fix(iris):
    X, y = iris
    dense = tensor(X)
    model = BackpropClassifier(**SMALL, max_iter=2).fit(dense, tensor(y))
    meta = r"(?s)^{} is a torch tensor on the meta device, which holds no values.*Fix"
    for name, arguments in (("X", (dense.to("meta"), tensor(y))),
                            ("y", (dense, tensor(y).to("meta"))),
                            ("sample_weight", (dense, tensor(y),
                                               torch.ones(150, device="meta")))):
        with pytest.raises(ValueError, match=meta.format(name)):
            BackpropClassifier(**SMALL, max_iter=2).fit(*arguments)
    with pytest.raises(ValueError, match=meta.format("X")):
        model.predict(dense.to("meta"))
    for sparse in (dense.to_sparse(), dense.to_sparse_csr()):
        with pytest.raises(TypeError, match=r"(?s)^X is a torch sparse tensor .*Fix: "
                           r"pass X\.to_dense\(\), or a scipy\.sparse matrix"):
            BackpropClassifier(**SMALL, max_iter=2).fit(sparse, tensor(y))
    with pytest.raises(TypeError, match=r"(?s)y is a torch sparse .*y\.to_dense\(\)\.$"):
        BackpropClassifier(**SMALL, max_iter=2).fit(dense, tensor(y).to_sparse())


TABULAR_SETUPS = {
    "adam": dict(max_iter=15),
    "sgd, dropout": dict(solver="sgd", max_iter=15, dropout=0.2, learning_rate_init=0.01),
    "lbfgs": dict(solver="lbfgs", max_iter=10),
    "adam, early stopping": dict(max_iter=30, early_stopping=True, n_iter_no_change=3),
}


@pytest.mark.parametrize("name", list(TABULAR_SETUPS))
@pytest.mark.parametrize("task", ["regressor", "classifier"])
def test_a_torch_fit_trains_the_tabular_layers_as_numpy_does(name, task):
    """A network of every tabular layer (embeddings, periodic embeddings, a
    feature scale, an NTK layer, parametric activations, PReLU; the test-only
    estimators of test_tabular_layers) trains on torch tensors to the NumPy fit's
    numbers: the layers' forward and backward passes are in the array namespace."""
    from test_tabular_layers import TabularLayersClassifier, TabularLayersRegressor, data

    X, y = data(100)
    estimator = TabularLayersRegressor if task == "regressor" else TabularLayersClassifier
    if task == "classifier":
        y = np.digitize(y, [0.3, 1.5])
    params = dict(TABULAR_SETUPS[name], hidden_layer_sizes=(5,), activation="tanh",
                  alpha=0.01, random_state=0)
    with sklearn.config_context(array_api_dispatch=False):
        reference = estimator(**params).fit(X, y)
    model = estimator(**params).fit(tensor(X), tensor(y))
    assert_same_fit(model, reference)
    for got, want in zip(model._layer_parameters, reference._layer_parameters, strict=True):
        for p, q in zip(got, want, strict=True):
            assert isinstance(p, torch.Tensor) and p.dtype == torch.float64
            assert_allclose(p, q, rtol=0, atol=1e-10)
    output = model.predict(tensor(X)) if task == "regressor" else model.predict_proba(
        tensor(X))
    expected = reference.predict(X) if task == "regressor" else reference.predict_proba(X)
    assert isinstance(output, torch.Tensor)
    assert_allclose(output, expected, rtol=0, atol=1e-10)
