"""skbackprop.inspection (issue 16, item 3): the public teaching tools, each taking a
Pipeline at its last step (X passed through the steps before it), refusing anything
else with what to pass; epoch_source and n_parameters checked against the network;
rowwise_limit and fast_kernels.active as the switches they name."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

import skbackprop  # noqa: F401  (its __all__ is checked)
from skbackprop import BackpropClassifier, BackpropRegressor, rowwise_limit
from skbackprop.datasets import load_placement, make_placement
from skbackprop.inspection import (
    backprop_trace,
    check_gradients,
    epoch_source,
    n_parameters,
)


def test_every_public_name_is_listed_and_importable():
    import skbackprop.datasets
    import skbackprop.inspection
    import skbackprop.onnx
    import skbackprop.persistence
    import skbackprop.tabular
    for module in (skbackprop, skbackprop.inspection, skbackprop.persistence,
                   skbackprop.datasets, skbackprop.onnx, skbackprop.tabular):
        for name in module.__all__:
            assert getattr(module, name) is not None
        public = {n for n in vars(module) if not n.startswith("_")
                  and getattr(vars(module)[n], "__module__", "").startswith("skbackprop")
                  and callable(vars(module)[n])
                  and (module is skbackprop or n not in skbackprop.__all__)}
        public -= {"datasets", "inspection", "onnx", "persistence", "tabular"}  # the submodules
        assert public <= set(module.__all__), (module.__name__, public - set(module.__all__))


def fitted_pipeline():
    X, y = make_placement(n_samples=40, random_state=0)
    pipe = make_pipeline(StandardScaler(), BackpropRegressor(
        hidden_layer_sizes=(3,), activation="tanh", max_iter=5, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y)
    return pipe, X, y


def test_a_fitted_pipeline_is_traced_at_its_last_step_on_transformed_rows():
    pipe, X, y = fitted_pipeline()
    ours = backprop_trace(pipe, X[:2], y[:2])
    direct = backprop_trace(pipe[-1], pipe[0].transform(X[:2]), y[:2])
    assert_allclose(ours.params["gradient"], direct.params["gradient"])
    assert ours.loss == direct.loss
    report = check_gradients(pipe, X[:5], y[:5])
    assert (report["relative_error"] < 1e-6).all()
    assert n_parameters(pipe) == n_parameters((2, 3, 1)) == 13


def test_an_unfitted_pipeline_fits_its_first_steps_on_a_copy():
    X, y = make_placement(n_samples=20, random_state=1)
    pipe = make_pipeline(MinMaxScaler(), BackpropRegressor(hidden_layer_sizes=(2,),
                                                           random_state=0))
    ours = backprop_trace(pipe, X, y)
    direct = backprop_trace(BackpropRegressor(hidden_layer_sizes=(2,), random_state=0),
                            MinMaxScaler().fit_transform(X), y)
    assert_allclose(ours.params["gradient"], direct.params["gradient"])
    assert not hasattr(pipe[0], "scale_")  # the pipeline itself is left unfitted


def test_an_unfitted_head_is_fitted_whole_though_its_last_step_needs_no_fit():
    """A FunctionTransformer needs no fit, so the Pipeline's own check (its last
    step) passes: every step of the head is checked, and all are fitted on X."""
    X, y = make_placement(n_samples=20, random_state=2)
    model = BackpropRegressor(hidden_layer_sizes=(2,), random_state=0)
    pipe = make_pipeline(StandardScaler(), FunctionTransformer(np.tanh), model)
    ours = backprop_trace(pipe, X, y)
    direct = backprop_trace(model, np.tanh(StandardScaler().fit_transform(X)), y)
    assert_allclose(ours.params["gradient"], direct.params["gradient"])
    assert ours.loss == direct.loss
    assert (check_gradients(pipe, X, y)["relative_error"] < 1e-6).all()
    assert not hasattr(pipe[0], "scale_")


def test_a_nested_pipeline_is_read_at_its_innermost_last_step():
    X, y = make_placement(n_samples=20, random_state=3)
    model = BackpropRegressor(hidden_layer_sizes=(3,), activation="tanh",
                              random_state=0)
    nested = make_pipeline(MinMaxScaler(), make_pipeline(StandardScaler(), model))
    rows = StandardScaler().fit_transform(MinMaxScaler().fit_transform(X))
    direct = backprop_trace(model, rows, y)
    assert_allclose(backprop_trace(nested, X, y).params["gradient"],
                    direct.params["gradient"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        nested.fit(X, y)
    inner = nested[-1]
    fitted = backprop_trace(nested, X[:3], y[:3])
    direct = backprop_trace(inner[-1], inner[0].transform(nested[0].transform(X[:3])),
                            y[:3])
    assert_allclose(fitted.params["gradient"], direct.params["gradient"])
    assert (check_gradients(nested, X[:5], y[:5])["relative_error"] < 1e-6).all()
    assert n_parameters(nested) == n_parameters((2, 3, 1))


@pytest.mark.parametrize("units, error, match", [
    ((2, -3, 1), ValueError, "-3 is not a positive integer"),
    ((2, 0, 1), ValueError, "0 is not a positive integer"),
    ((2, 2.5, 1), ValueError, "2.5 is not a positive integer"),
    ((True, 1), ValueError, "True is not a positive integer"),
    ((3,), ValueError, "at least an input and an output layer"),
    ("231", TypeError, "got str '231'"),
    (5, TypeError, "got int 5"),
])
def test_n_parameters_refuses_anything_but_positive_units(units, error, match):
    with pytest.raises(error, match=match) as refused:
        n_parameters(units)
    assert "sequence of at least two positive integers" in str(refused.value)


def test_n_parameters_counts_weights_and_biases():
    # (2 + 1) x 3 + (3 + 1) x 4 + (4 + 1) x 1, as a tuple, a list or an array
    assert n_parameters((2, 3, 4, 1)) == n_parameters(np.array([2, 3, 4, 1])) == 30
    assert n_parameters([np.int64(5), 1]) == 6


def test_an_unfitted_classifier_is_traced_on_one_row_given_the_classes():
    X, y = load_placement(task="classification", return_X_y=True)
    clf = BackpropClassifier(hidden_layer_sizes=(2,), activation="logistic",
                             random_state=0)
    with pytest.raises(ValueError, match="classes="):
        backprop_trace(clf, X[:1], y[:1])
    trace = backprop_trace(clf, X[:1], y[:1], classes=[0, 1])
    report = check_gradients(clf, X[:1], y[:1], classes=[0, 1])
    assert len(trace.units) == 5 and (report["relative_error"] < 1e-6).all()


def test_other_objects_are_refused_with_what_to_pass():
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier
    X, y = load_placement(task="classification", return_X_y=True)
    with pytest.raises(TypeError, match=r"backprop_trace reads a BackpropRegressor.*got "
                                        "MLPClassifier"):
        backprop_trace(MLPClassifier(), X, y)
    with pytest.raises(TypeError, match=r"check_gradients.*pass its best_estimator_"):
        check_gradients(GridSearchCV(BackpropClassifier(), {"alpha": [1.0]}), X, y)
    with pytest.raises(TypeError, match="epoch_source"):
        epoch_source(make_pipeline(StandardScaler(), MLPClassifier()), X, y)


def test_epoch_source_is_the_code_the_per_row_path_runs():
    X, y = load_placement(return_X_y=True)
    reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
                            solver="sgd", momentum=0.0, alpha=0.0)
    source = epoch_source(reg, X, y)
    assert "z2_0 = a1_0 * w2_0_0 + a1_1 * w2_1_0 + b2_0" in source
    # run the source: one epoch over the first row, against the trace's update
    namespace = {"isfinite": np.isfinite}
    exec(source, namespace)
    trace = backprop_trace(reg.set_params(learning_rate_init=0.002), X[:1], y[:1])
    params = trace.params.set_index("name")
    order = ["w(x1->h1)", "w(x1->h2)", "w(x2->h1)", "w(x2->h2)", "w(h1->o1)",
             "w(h2->o1)", "b(h1)", "b(h2)", "b(o1)"]
    theta, velocity = list(params.loc[order, "value"]), [0.0] * 9
    namespace["epoch"](X.tolist(), [[v] for v in y], None, [0], theta, velocity,
                       0.002, 0.0, 0.0)
    assert_allclose(theta, params.loc[order, "updated"], rtol=1e-12)


def test_epoch_source_follows_a_fitted_estimators_settings_and_refuses_others():
    X, y = make_placement(n_samples=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                                momentum=0.9, max_iter=2, random_state=0).fit(X, y)
    assert "vw1_0_0 = " in epoch_source(reg)  # momentum: velocities updated
    assert "S[r]" in epoch_source(reg, X, y, sample_weight=np.ones(20))
    with pytest.raises(ValueError, match="needs X and y for an unfitted"):
        epoch_source(BackpropRegressor())
    with pytest.raises(ValueError, match=r"does not run this network.*gelu"):
        epoch_source(BackpropRegressor(activation="gelu"), X, y)
    with pytest.raises(ValueError, match="needs a fitted estimator"):
        n_parameters(BackpropRegressor())


def test_rowwise_limit_moves_the_switch_and_restores_it():
    from skbackprop import get_config
    assert rowwise_limit.current() == 500
    with rowwise_limit(0):
        assert rowwise_limit.current() == get_config()["rowwise_limit"] == 0
    assert rowwise_limit.current() == 500
    with pytest.raises(ValueError, match="non-negative integer"):
        rowwise_limit(-1)


def test_fast_kernels_active_says_whether_fits_use_them():
    from skbackprop import fast_kernels
    with fast_kernels(False):
        assert not fast_kernels.active()
    numba = __import__("importlib").util.find_spec("numba") is not None
    assert fast_kernels.active() == numba
