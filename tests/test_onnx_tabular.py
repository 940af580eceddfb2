"""ONNX export of the tabular layers and models (skbackprop.onnx, issue 26): each
layer's ONNX spelling, run by onnxruntime, gives its forward pass; a network of
them exports whole."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

skl2onnx = pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from test_onnx import Names
from test_tabular_layers import (
    FAN_IN,
    LAYER_CASES,
    TabularLayersClassifier,
    TabularLayersRegressor,
    data,
    inputs,
)

import skbackprop.onnx
from skbackprop._core.layers import Dense
from skbackprop._core.tabular import PARAMETRIC_ACTIVATIONS, PARAMETRIC_ONNX
from skbackprop.tabular import TabularClassifier, TabularRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def run_layer(layer, A_in, params, dtype):
    """onnxruntime's output of ``layer.onnx`` for the input ``A_in``, in a graph of
    ``dtype``."""
    names = Names()
    graph = skbackprop.onnx._Graph(names, names, double=dtype == np.float64)
    names.nodes.append(onnx.helper.make_node("Identity", ["x"], ["x_in"]))
    A = layer.onnx(graph, "x_in", params, A_in.shape[1])
    model = onnx.helper.make_model(
        onnx.helper.make_graph(
            names.nodes, "layer",
            [onnx.helper.make_tensor_value_info("x", graph.proto, [None, A_in.shape[1]])],
            [onnx.helper.make_tensor_value_info(A, graph.proto, None)], names.initializers),
        opset_imports=[onnx.helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {"x": A_in.astype(dtype)})[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layer", [*LAYER_CASES, Dense(3, "tanh")], ids=lambda layer: layer.kind)
def test_every_layers_onnx_spelling_is_its_forward_pass(layer, dtype):
    A_in, params, _ = inputs(layer, seed=5)
    if isinstance(layer, Dense):
        params = [np.random.default_rng(0).normal(size=s) for s in layer.parameter_shapes(FAN_IN)]
    A_in = np.concatenate([A_in, 40 * A_in])  # (large inputs: saturated activations)
    codes = layer.columns if hasattr(layer, "levels") else ()
    for column in codes:
        A_in[len(A_in) // 2:, column] = A_in[:len(A_in) // 2, column]  # (codes)
    # (computed in the graph's dtype: a float32 cos of 2 pi x w for x near 100 is
    # only as good as float32's rounding of its argument)
    A_in, params = A_in.astype(dtype), [p.astype(dtype) for p in params]
    expected, _ = layer.forward(A_in.copy(), params)
    got = run_layer(layer, A_in, params, dtype)
    assert got.dtype == dtype and got.shape == expected.shape
    assert_allclose(got, expected, **TOLERANCE[dtype])


def test_every_parametric_activation_has_an_onnx_spelling():
    assert set(PARAMETRIC_ONNX) == set(PARAMETRIC_ACTIVATIONS)


@pytest.fixture
def registered_test_models():
    """The test-only estimators of every tabular layer, given the converters."""
    from skl2onnx import update_registered_converter

    update_registered_converter(TabularLayersRegressor, "TabularLayersRegressor",
                                skbackprop.onnx._regressor_shapes,
                                skbackprop.onnx._convert_regressor)
    update_registered_converter(TabularLayersClassifier, "TabularLayersClassifier",
                                skbackprop.onnx._classifier_shapes,
                                skbackprop.onnx._convert_classifier,
                                options={"zipmap": [True, False], "nocl": [True, False]})


def session_outputs(model, rows, dtype, **options):
    onx = skl2onnx.to_onnx(model, rows[:1].astype(dtype), options=options or None)
    session = ort.InferenceSession(onx.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: rows.astype(dtype)})


@pytest.mark.usefixtures("registered_test_models")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_network_of_every_tabular_layer_exports(dtype):
    """Embeddings, periodic embeddings, a scale, an NTK layer and a parametric
    activation, then Dense layers with a PReLU between them."""
    X, y = data()
    rows = X.astype(dtype).astype(np.float64)
    regressor = TabularLayersRegressor(hidden_layer_sizes=(5,), activation="identity",
                                       max_iter=30, random_state=0).fit(X, y)
    (predicted,) = session_outputs(regressor, rows, dtype)
    assert_allclose(predicted.ravel(), regressor.predict(rows), **TOLERANCE[dtype])
    labels = np.array(["low", "mid", "high"])[np.digitize(y, [0.3, 1.5])]
    classifier = TabularLayersClassifier(hidden_layer_sizes=(4,), activation="tanh",
                                         max_iter=30, random_state=0).fit(X, labels)
    got_labels, probabilities = session_outputs(classifier, rows, dtype, zipmap=False)
    assert_allclose(probabilities, classifier.predict_proba(rows), **TOLERANCE[dtype])
    assert (got_labels == classifier.predict(rows)).all()


# ---------------------------------------------------------- the tabular models
RNG = np.random.default_rng(0)
N = 240


def numeric_matrix(n, seed):
    """The raw columns as numbers (NaN: missing): a float, a nullable integer, a
    nullable boolean, a category of 4 numbers (one-hot), one of 12 (embedded), an
    object column of numbers (read as numbers) and a column missing in fit (dropped)."""
    rng = np.random.default_rng(seed)
    M = np.column_stack([
        rng.normal(scale=20, size=n), rng.integers(-5, 50, n), rng.integers(0, 2, n),
        rng.choice([1.0, 2.5, 7.0, -3.0], n), rng.integers(0, 12, n) * 10.0,
        rng.choice([0.0, 1.0, 4.0], n), np.full(n, np.nan)])
    for column in range(6):
        M[rng.random(n) < 0.1, column] = np.nan
    return M


def numeric_table(M):
    """The DataFrame whose columns hold ``numeric_matrix``'s values."""
    return pd.DataFrame({
        "size": M[:, 0], "count": pd.array(M[:, 1], dtype="Float64").astype("Int64"),
        "flag": pd.array(M[:, 2], dtype="Float64").astype("boolean"),
        "grade": pd.Categorical(M[:, 3]), "zone": pd.Categorical(M[:, 4]),
        "level": pd.Series(M[:, 5], dtype=object), "empty": M[:, 6]})


def unseen(M, dtype):
    """Test rows in ``dtype``: ordinary, with categories never seen in fit, and far
    out (where u^2 overflows in the smooth clip of the scaled numbers)."""
    M = M.copy()
    M[:10, 3], M[10:20, 4] = 5.0, 999.0  # (neither of them a level)
    M[30:35, 0] *= 1e6
    M[35:40, 0] = np.finfo(dtype).max / 10 * np.array([1, -1, 1, -1, 1])
    M[:, 6] = 1.0  # (a dropped column's values are not read)
    return M.astype(dtype)


def targets(M):
    values = np.nan_to_num(M[:, 0] / 20 + (M[:, 3] > 2) - (M[:, 4] > 50))
    return values, np.digitize(values, [-0.5, 0.8])


@pytest.fixture(scope="module")
def numeric_models():
    M = numeric_matrix(N, 1)
    with pytest.warns(UserWarning, match="entirely missing"):
        X = numeric_table(M)
        values, classes = targets(M)
        regressor = TabularRegressor(hidden_layer_sizes=(16,), max_iter=20,
                                     random_state=0).fit(X, np.column_stack([values, -values]))
        classifier = TabularClassifier(hidden_layer_sizes=(16, 8), activation="mish",
                                       max_iter=20, random_state=0).fit(X, classes)
    return regressor, classifier


def graph_session(model, sample, **options):
    onx = skl2onnx.to_onnx(model, sample, options=options or None)
    return ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.filterwarnings("ignore:Columns .* are entirely missing")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_all_numeric_table_exports_from_one_float_input(numeric_models, dtype):
    """Numbers, integers, booleans and categories of numbers, missing values
    anywhere, categories unseen in fit: the graph imputes, scales, clips, one-hot
    encodes and codes them as transform does."""
    regressor, classifier = numeric_models
    rows = unseen(numeric_matrix(200, 2), dtype)
    table = numeric_table(rows.astype(np.float64))  # (the numbers the graph reads)
    session = graph_session(regressor, rows[:1])
    (predicted,) = session.run(None, {session.get_inputs()[0].name: rows})
    assert predicted.dtype == dtype
    assert_allclose(predicted, regressor.predict(table), **TOLERANCE[dtype])
    session = graph_session(classifier, rows[:1], zipmap=False)
    labels, probabilities = session.run(None, {session.get_inputs()[0].name: rows})
    assert_allclose(probabilities, classifier.predict_proba(table), **TOLERANCE[dtype])
    assert_array_equal(labels, classifier.predict(table))


def text_table(n, seed, unseen=False):
    """Numbers with text categories: an object column (one-hot, None missing), a
    category of 14 strings (embedded, NaN missing), a pandas string column (pd.NA
    missing) and a category of numbers."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "size": rng.normal(size=n),
        "city": rng.choice(np.array(["Oslo", "Rome", "Lima", None], dtype=object), n),
        "shop": pd.Categorical(rng.choice([f"shop {i}" for i in range(14)], n)),
        "tier": pd.array(rng.choice(["gold", "silver", "bronze"], n), dtype="string"),
        "grade": pd.Categorical(rng.choice([1, 2, 3], n))})
    X.loc[rng.random(n) < 0.1, "shop"] = np.nan
    X.loc[rng.random(n) < 0.1, "tier"] = pd.NA
    X.loc[rng.random(n) < 0.1, "size"] = np.nan
    if unseen:
        X.loc[:9, "city"] = "Paris"
        X["shop"] = X["shop"].cat.add_categories(["shop 99"])
        X.loc[10:19, "shop"] = "shop 99"
        X.loc[20:29, "tier"] = ""
    return X


def text_targets(X):
    return (X["size"].fillna(0) + (X["city"] == "Rome") - (X["tier"] == "gold").fillna(False)
            + X["shop"].cat.codes / 10).to_numpy(dtype=float)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_text_columns_export_as_one_string_input_each(dtype):
    """skl2onnx's convention for tables: one input per column, named after it,
    strings for text (a missing value as onnxruntime reads None, NaN and pd.NA)."""
    X = text_table(N, 3)
    rows = text_table(150, 4, unseen=True)
    rows["size"] = rows["size"].astype(dtype).astype(np.float64)
    regressor = TabularRegressor(hidden_layer_sizes=(16,), max_iter=20,
                                 random_state=0).fit(X, text_targets(X))
    classifier = TabularClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0
                                   ).fit(X, np.where(text_targets(X) > 0.5, "yes", "no"))
    assert list(regressor.preprocessor_.column_kinds_) == ["number", "one_hot", "code",
                                                           "one_hot", "one_hot"]
    types = skbackprop.onnx.initial_types(regressor, dtype)
    assert [type(t).__name__ for _, t in types] == [
        "DoubleTensorType" if dtype == np.float64 else "FloatTensorType",
        "StringTensorType", "StringTensorType", "StringTensorType",
        "DoubleTensorType" if dtype == np.float64 else "FloatTensorType"]
    for model, options in [(regressor, None), (classifier, {"zipmap": False})]:
        onx = skl2onnx.to_onnx(model, initial_types=types, options=options)
        session = ort.InferenceSession(onx.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == list(X.columns)
        outputs = session.run(None, skbackprop.onnx.input_feed(model, rows, dtype))
        if model is regressor:
            assert_allclose(outputs[0].ravel(), model.predict(rows), **TOLERANCE[dtype])
        else:
            assert_allclose(outputs[1], model.predict_proba(rows), **TOLERANCE[dtype])
            assert_array_equal(outputs[0], model.predict(rows))


def test_a_dataframe_converts_from_its_own_rows_as_skl2onnx_reads_them():
    """``to_onnx(model, X[:1])`` for a DataFrame of numbers, integers, booleans and
    text: skl2onnx gives each column an input of its dtype; the graph takes them."""
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"size": rng.normal(size=N), "count": rng.integers(0, 9, N),
                      "flag": rng.integers(0, 2, N).astype(bool),
                      "city": rng.choice(np.array(["Oslo", "Rome", None], object), N)})
    y = X["size"] + X["count"] / 4 - X["flag"] + (X["city"] == "Rome")
    model = TabularRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, y)
    session = graph_session(model, X[:1])
    assert [i.type for i in session.get_inputs()] == [
        "tensor(double)", "tensor(int64)", "tensor(bool)", "tensor(string)"]
    rows = X.iloc[::-1].reset_index(drop=True)
    rows.loc[:4, "city"] = "Paris"
    (predicted,) = session.run(None, {c: rows[[c]].to_numpy() for c in X.columns})
    assert_allclose(predicted.ravel(), model.predict(rows), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case, message", [
    ("mixed levels", r"column 'mixed' to ONNX: its categories mix text and numbers "
                     r".*Fix: fit on X\['mixed'\].astype\(str\)"),
    ("a level read as missing", r"column 'city' to ONNX: it has the level 'nan', which "
                                r"onnxruntime cannot tell from a missing value.*Fix: rename"),
    ("text column, numeric input", r"a numbers input of column 'city': its categories "
                                   r"are text, read from a string input.*initial_types"),
    ("numeric column, string input", r"a text input of column 'size': its values are "
                                     r"numbers, read from a numeric input"),
    ("fractional levels in float32", r"column 'grade' to a float32 ONNX graph: its "
                                     r"category levels \[0.1, 0.2\].*float64 inputs"),
    ("too few columns", r"an input of 1 columns: it was fitted on 2 columns"),
])
def test_what_the_graph_cannot_encode_is_refused_with_the_fix(case, message):
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"size": rng.normal(size=60),
                      "city": rng.choice(["Oslo", "Rome"], 60)})
    types = [("size", FloatTensorType([None, 1])), ("city", StringTensorType([None, 1]))]
    if case == "mixed levels":
        X["mixed"] = pd.Series(rng.choice(["a", 1], 60), dtype=object)
        X["mixed"] = X["mixed"].map(lambda v: 1 if v == "1" else v)
        types = None
    elif case == "a level read as missing":
        X["city"] = rng.choice(["Oslo", "nan"], 60)
    elif case == "text column, numeric input":
        types = [("size", FloatTensorType([None, 1])), ("city", FloatTensorType([None, 1]))]
    elif case == "numeric column, string input":
        types = [("size", StringTensorType([None, 1])), ("city", StringTensorType([None, 1]))]
    elif case == "fractional levels in float32":
        X["grade"] = pd.Categorical(rng.choice([0.1, 0.2], 60))
        types = None
    elif case == "too few columns":
        types = [("X", FloatTensorType([None, 1]))]
    model = TabularRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    model.fit(X, rng.normal(size=60))
    types = types or skbackprop.onnx.initial_types(model)
    with pytest.raises(ValueError, match=f"(?s){message}"):
        skl2onnx.to_onnx(model, initial_types=types)
    if case == "fractional levels in float32":  # float64 inputs hold them
        onx = skl2onnx.to_onnx(model, initial_types=skbackprop.onnx.initial_types(
            model, np.float64))
        session = ort.InferenceSession(onx.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        (predicted,) = session.run(None, skbackprop.onnx.input_feed(model, X, np.float64))
        assert_allclose(predicted.ravel(), model.predict(X), rtol=1e-12, atol=1e-13)


def test_the_input_helpers_refuse_what_they_cannot_serve():
    X = pd.DataFrame({"size": np.arange(30.0), "city": ["Oslo", "Rome", None] * 10})
    model = TabularRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    model.fit(X, np.arange(30.0))
    with pytest.raises(ValueError, match=r"dtype numpy\.float32 or numpy\.float64"):
        skbackprop.onnx.initial_types(model, np.int64)
    with pytest.raises(ValueError, match="input_feed got 1 columns; the model was fitted "
                                         "on 2"):
        skbackprop.onnx.input_feed(model, X[["size"]])
    feed = skbackprop.onnx.input_feed(model, X.head(3))
    assert feed["size"].dtype == np.float32 and feed["size"].shape == (3, 1)
    assert feed["city"].tolist() == [["Oslo"], ["Rome"], [None]]
