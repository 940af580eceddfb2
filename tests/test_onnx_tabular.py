"""ONNX export of the tabular layers and models (skbackprop.onnx, issue 26): each
layer's ONNX spelling, run by onnxruntime, gives its forward pass; a network of
them exports whole."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

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
