"""ONNX export (skbackprop.onnx): graphs run by onnxruntime give our labels and, to
float32 or float64 rounding, our probabilities and predictions, for every
activation, output and label type; what cannot be exported is refused."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

skl2onnx = pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

import skbackprop.onnx
from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._core.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(120, 4))
# ordinary rows, then large magnitudes: saturated units, extreme probabilities
X_TEST = np.concatenate([RNG.normal(size=(60, 4)), 30 * RNG.normal(size=(30, 4)),
                         1000 * RNG.normal(size=(10, 4))])
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-14)}


def run(model, graph_dtype, rows=X_TEST, **options):
    """onnxruntime's outputs of the exported ``model`` on ``rows``."""
    onx = skl2onnx.to_onnx(model, X[:1].astype(graph_dtype), options=options or None)
    session = ort.InferenceSession(onx.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: rows.astype(graph_dtype)})


def graph_dtypes(model_dtype):
    """The graphs each model exports to: its own dtype, and float32 for a float64
    model (the common deployment)."""
    return [np.float32] if model_dtype == np.float32 else [np.float64, np.float32]


LABELS = {
    "binary int": RNG.integers(0, 2, 120),
    "binary bool": RNG.integers(0, 2, 120).astype(bool),
    "multiclass str": np.array(["red", "green", "blue"])[RNG.integers(0, 3, 120)],
    "multiclass int": RNG.choice([-3, 7, 42, 100], 120),
    "multiclass integral float": RNG.choice([1.0, 2.0, 5.0], 120),
    "binary str": np.array(["no", "yes"])[RNG.integers(0, 2, 120)],
    "multilabel 2": RNG.integers(0, 2, (120, 2)),
    "multilabel 3": RNG.integers(0, 2, (120, 3)),
}
ACTIVATION_SETS = [*HIDDEN_ACTIVATIONS, ["tanh", "relu"], ["gelu", "elu"],
                   ["softplus", "leaky_relu"]]


def check_classifier(model, graph_dtype, rows=X_TEST):
    """Labels and probabilities of the graph against the model's own on the same
    rows (as the graph sees them: in its dtype); the largest difference."""
    labels, probabilities = run(model, graph_dtype, rows, zipmap=False)
    final = model[-1] if hasattr(model, "steps") else model
    model_dtype = final.coefs_[0].dtype
    rows = rows.astype(graph_dtype).astype(model_dtype)
    expected = model.predict_proba(rows)
    assert probabilities.shape == expected.shape
    assert_allclose(probabilities, expected, **TOLERANCE[graph_dtype])
    predicted = model.predict(rows)
    exact = graph_dtype == model_dtype
    # labels equal, except (float32 graph of a float64 model) near a tie
    margin = np.sort(expected, axis=1)[:, -1] - np.sort(expected, axis=1)[:, -2]
    clear = np.ones(len(rows), bool) if exact or expected.shape[1] < 2 else margin > 1e-5
    if final._y_type == "multilabel-indicator":
        clear = np.all(np.abs(expected - 0.5) > 1e-5, axis=1) | exact
    # (as Python values: a cast to predict's dtype would undo a wrapped integer)
    assert_array_equal(np.asarray(labels)[clear].astype(object),
                       predicted[clear].astype(object))
    return np.abs(probabilities - expected).max()


@pytest.mark.parametrize("model_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", sorted(LABELS))
def test_every_label_kind_exports(kind, model_dtype):
    y = LABELS[kind]
    model = BackpropClassifier(hidden_layer_sizes=(6, 5), max_iter=40, random_state=0,
                               dtype=model_dtype).fit(X, y)
    for graph_dtype in graph_dtypes(model_dtype):
        check_classifier(model, graph_dtype)


def extreme_labels(dtype):
    """Three labels of ``dtype``: its smallest, a middle and its largest value."""
    info = np.iinfo(dtype)
    return np.array([info.min, info.min // 2 + info.max // 2, info.max], dtype=dtype)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8,
                                   np.uint16, np.uint32, np.uint64])
def test_labels_of_every_integer_dtype_export_exactly(dtype):
    y = extreme_labels(dtype)[np.argmax(X[:, :3], axis=1)]  # (learnable: all predicted)
    model = BackpropClassifier(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=200,
                               random_state=0).fit(X, y)
    predicted = model.predict(X_TEST)
    assert len(np.unique(predicted)) == 3
    labels, _ = run(model, np.float64, zipmap=False)
    beyond_int64 = int(y.max()) > np.iinfo(np.int64).max
    assert labels.dtype == (np.uint64 if beyond_int64 else np.int64)
    assert labels.astype(object).tolist() == predicted.astype(object).tolist()
    if beyond_int64:  # ZipMap's keys are int64: refused, naming the fix
        for zipmap in [True, "columns"]:
            with pytest.raises(ValueError, match=r"(?s)ZipMap.*2\*\*63.*'zipmap': False"):
                run(model, np.float64, zipmap=zipmap)
        indices, _ = run(model, np.float64, zipmap=False, nocl=True)
        assert_array_equal(model.classes_[indices], predicted)
        return
    labels, maps = run(model, np.float32)  # (onnxruntime's ZipMap takes float32)
    assert labels.dtype == np.int64
    assert list(maps[0]) == model.classes_.astype(object).tolist()
    assert set(labels.tolist()) == set(model.classes_.tolist())


def test_whole_float_and_object_labels_beyond_int64_export_exactly():
    model = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=5).fit(
        X, LABELS["binary int"])
    model.classes_ = np.array([0.0, 1e19])  # a whole float beyond int64
    labels, _ = run(model, np.float64, zipmap=False)
    assert labels.dtype == np.uint64
    assert set(labels.tolist()) <= {0, 10**19}
    model.classes_ = np.array([-1, 2**64 - 1], dtype=object)  # beyond int64 and uint64
    with pytest.raises(ValueError, match=r"(?s)beyond both.*strings.*'nocl': True"):
        run(model, np.float64, zipmap=False)


@pytest.mark.parametrize("activation", ACTIVATION_SETS, ids=str)
def test_every_hidden_activation_exports(activation):
    n_layers = len(activation) if isinstance(activation, list) else 2
    model = BackpropClassifier(hidden_layer_sizes=(6,) * n_layers, activation=activation,
                               max_iter=40, random_state=0).fit(X, LABELS["multiclass str"])
    for graph_dtype in [np.float64, np.float32]:
        check_classifier(model, graph_dtype)


class Names:
    """skl2onnx's scope and container, as far as the graph writer uses them."""

    def __init__(self):
        self.nodes, self.initializers, self.count = [], [], 0

    def get_unique_variable_name(self, name):
        self.count += 1
        return f"{name}_{self.count}"

    get_unique_operator_name = get_unique_variable_name

    def add_node(self, op_type, inputs, output, name, **attributes):
        self.nodes.append(onnx.helper.make_node(op_type, inputs, [output], name=name,
                                                **attributes))

    def add_initializer(self, name, proto, shape, values):
        self.initializers.append(onnx.helper.make_tensor(name, proto, shape, values))


def run_operator(op_type, x):
    """onnxruntime's ``op_type`` of the 1-d array ``x`` (float32 or float64), as the
    graph writer spells it for the type."""
    names = Names()
    graph = skbackprop.onnx._Graph(names, names, double=x.dtype == np.float64)
    graph.node(op_type, ["x"], "y")
    proto = graph.proto
    model = onnx.helper.make_model(
        onnx.helper.make_graph(names.nodes, "g", [onnx.helper.make_tensor_value_info(
            "x", proto, [None])], [onnx.helper.make_tensor_value_info("y", proto, [None])],
            names.initializers), opset_imports=[onnx.helper.make_opsetid("", 15)])
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_erf_in_float64_graphs_is_exact_to_rounding():
    """onnxruntime has no float64 Erf: the graph writes Cody's approximations, equal to
    scipy's erf within a few units in the last place, across each interval's ends."""
    rng = np.random.default_rng(1)
    x = np.concatenate([np.linspace(-7, 7, 20001), rng.normal(scale=3, size=5000),
                        np.geomspace(1e-300, 30, 2000), -np.geomspace(1e-300, 30, 2000),
                        np.nextafter(0.46875, [0, 1]), np.nextafter(4, [0, 8]),
                        [0.0, -4.0, -0.46875, 1e300, -1e300]])
    erf = run_operator("Erf", x)
    assert erf.dtype == np.float64
    assert_allclose(erf, special.erf(x), rtol=1e-15, atol=0)
    assert np.all(np.abs(erf) <= 1)
    assert_array_equal(np.sign(erf), np.sign(x))
    # float32 graphs keep ONNX's Erf operator
    x = x[np.abs(x) < 1e30].astype(np.float32)
    assert_allclose(run_operator("Erf", x), special.erf(x.astype(np.float64)), atol=1e-6)


def test_a_gelu_network_exports_in_float64_to_rounding():
    rng = np.random.default_rng(2)
    model = BackpropRegressor(hidden_layer_sizes=(8, 8), activation="gelu", max_iter=60,
                              random_state=0).fit(X, X[:, 0] * X[:, 1])
    rows = np.concatenate([X_TEST, rng.normal(scale=4, size=(200, 4))])
    (predictions,) = run(model, np.float64, rows)
    assert predictions.dtype == np.float64
    assert_allclose(predictions[:, 0], model.predict(rows), rtol=1e-13, atol=1e-13)
    (predictions,) = run(model, np.float32, rows)
    assert_allclose(predictions[:, 0], model.predict(rows.astype(np.float32)),
                    rtol=1e-5, atol=1e-5)


def test_every_activation_has_an_onnx_spelling():
    assert set(skbackprop.onnx.ONNX_ACTIVATIONS) == set(ACTIVATIONS)


REGRESSIONS = {
    "single output": dict(),
    "multi-output": dict(n_outputs=3),
    "poisson (exp output)": dict(loss="poisson"),
    **{f"out_activation={a}": dict(out_activation=a)
       for a in ("identity", "logistic", "tanh", "relu", "exp")},
}


@pytest.mark.parametrize("model_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_every_regression_output_exports(case, model_dtype):
    settings = dict(REGRESSIONS[case])
    n_outputs = settings.pop("n_outputs", 1)
    y = np.abs(X[:, :n_outputs] + 0.1 * RNG.normal(size=(120, n_outputs)))
    y = y[:, 0] if n_outputs == 1 else y
    model = BackpropRegressor(hidden_layer_sizes=(6,), activation="tanh", max_iter=40,
                              random_state=0, dtype=model_dtype, **settings).fit(X, y)
    rows = X_TEST / 30  # (an exp output of rows in the thousands overflows both)
    for graph_dtype in graph_dtypes(model_dtype):
        (predictions,) = run(model, graph_dtype, rows)
        seen = rows.astype(graph_dtype).astype(model_dtype)  # the rows the graph sees
        expected = model.predict(seen).reshape(len(rows), n_outputs)
        assert predictions.shape == (len(rows), n_outputs)
        assert predictions.dtype == graph_dtype
        assert_allclose(predictions, expected, **TOLERANCE[graph_dtype])


def test_zipmap_and_nocl_follow_sklearn_onnx():
    y = LABELS["multiclass str"]
    model = BackpropClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(X, y)
    labels, maps = run(model, np.float32)  # zipmap by default: a dict per row
    assert list(maps[0]) == list(model.classes_)
    proba = model.predict_proba(X_TEST)
    assert_allclose([m["green"] for m in maps], proba[:, 1], rtol=1e-5, atol=1e-6)
    columns = run(model, np.float32, zipmap="columns")  # a column per class
    assert len(columns) == 1 + len(model.classes_)
    assert_allclose(columns[2], proba[:, 1], rtol=1e-5, atol=1e-6)
    indices, _ = run(model, np.float32, zipmap=False, nocl=True)
    assert indices.dtype == np.int64
    assert_array_equal(model.classes_[indices], labels)


def test_a_two_label_multilabel_model_is_not_taken_for_binary():
    model = BackpropClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(
        X, LABELS["multilabel 2"])
    labels, probabilities = run(model, np.float64, zipmap=False)
    assert labels.shape == probabilities.shape == (len(X_TEST), 2)
    assert_array_equal(labels, model.predict(X_TEST))


def test_pipelines_with_sklearn_transformers_export():
    y = LABELS["multiclass str"]
    scaled = make_pipeline(StandardScaler(), BackpropClassifier(
        hidden_layer_sizes=(5,), max_iter=30, random_state=0)).fit(X * 50 + 3, y)
    check_classifier(scaled, np.float64, X_TEST * 50 + 3)
    columns = make_pipeline(
        ColumnTransformer([("scale", StandardScaler(), [0, 1]),
                           ("range", MinMaxScaler(), [2, 3])]),
        BackpropRegressor(hidden_layer_sizes=(5,), max_iter=30, random_state=0),
    ).fit(X, X[:, 0] - X[:, 3])
    (predictions,) = run(columns, np.float64, X_TEST / 30)
    assert_allclose(predictions[:, 0], columns.predict(X_TEST / 30), rtol=1e-10, atol=1e-14)


def run_frame(model, frame, rows, **options):
    """onnxruntime's outputs of ``model`` exported for DataFrames like ``frame`` (one
    input per column, in ``frame``'s order), fed the columns of ``rows``."""
    onx = skl2onnx.to_onnx(model, frame[:1], options=options or None)
    session = ort.InferenceSession(onx.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    assert len(session.get_inputs()) == frame.shape[1]
    return session.run(None, {given.name: rows[[column]].to_numpy()
                              for given, column in zip(session.get_inputs(), frame.columns)})


def test_models_fitted_on_dataframes_export_one_input_per_column():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["cgpa", "resume score", "age", "gap"])
    frame["age"] = RNG.integers(18, 30, len(X))  # an int64 column: an int64 input
    rows = pd.DataFrame(X_TEST / 30, columns=frame.columns)
    rows["age"] = RNG.integers(18, 30, len(rows))
    y = LABELS["multiclass str"]
    model = BackpropClassifier(hidden_layer_sizes=(6,), max_iter=40, random_state=0).fit(
        frame, y)
    shuffled = frame[["gap", "age", "cgpa", "resume score"]]  # read by name, not order
    for given in [frame, shuffled]:
        labels, probabilities = run_frame(model, given, rows, zipmap=False)
        assert_array_equal(labels, model.predict(rows))
        assert_allclose(probabilities, model.predict_proba(rows), **TOLERANCE[np.float64])
    regressor = BackpropRegressor(hidden_layer_sizes=(6,), max_iter=40, random_state=0,
                                  dtype=np.float32).fit(frame, X[:, :2])
    single = frame.astype(np.float32)  # float32 columns: a float32 graph
    (predictions,) = run_frame(regressor, single, rows.astype(np.float32))
    assert predictions.dtype == np.float32
    assert_allclose(predictions, regressor.predict(rows.astype(np.float32)),
                    **TOLERANCE[np.float32])


def test_inputs_unlike_the_training_columns_are_refused():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=5).fit(frame, X[:, 0])
    with pytest.raises(ValueError, match=r"(?s)inputs \['a', 'b', 'c', 'e'\].*fitted on "
                                         r"the columns.*Fix: convert with a DataFrame"):
        skl2onnx.to_onnx(model, frame.rename(columns={"d": "e"})[:1])
    with pytest.raises(ValueError, match=r"(?s)inputs of 3 columns.*fitted on 4"):
        skl2onnx.to_onnx(model, X[:1, :3])
    (predictions,) = run(model, np.float64)  # one input of every column: positional
    assert_allclose(predictions[:, 0], model.predict(pd.DataFrame(X_TEST, columns=list(
        "abcd"))), **TOLERANCE[np.float64])


def test_what_cannot_be_exported_is_refused_with_the_reason():
    # (sklearn's checks refuse such labels at fit; a model whose classes_ were
    # edited afterwards is refused here rather than exported with wrong labels)
    fractional = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=5).fit(
        X, LABELS["binary int"])
    fractional.classes_ = np.array([0.5, 1.5])
    with pytest.raises(ValueError, match=r"integers or strings.*fractions"):
        run(fractional, np.float32, zipmap=False)
    with pytest.raises(RuntimeError, match="integers or strings"):  # skl2onnx's ZipMap
        run(fractional, np.float32)
    assert run(fractional, np.float32, zipmap=False, nocl=True)[0].dtype == np.int64
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(BackpropRegressor(), X[:1].astype(np.float32))


@pytest.mark.slow
def test_the_module_imports_without_docstrings():
    """python -OO strips docstrings; the module's table of activations is skipped."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-OO", "-c", "import skbackprop.onnx"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
