"""The registry of activations (_activations): one record holds every spelling of an
activation, every path reads it, and an activation registered in one place trains
on every path (NumPy, fused kernels, per row, Array API, ONNX, the trace)."""

import io
from pathlib import Path

import numpy as np
import pytest
import sklearn
from math_helpers import TWO_TERM_TOLERANCE
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from skbackprop import (
    BackpropClassifier,
    BackpropRegressor,
    _docs,
    backprop_trace,
    check_gradients,
    fast_kernels,
    load,
    rowwise_limit,
    save,
)
from skbackprop._core import activations as _activations
from skbackprop._core import init as _init
from skbackprop._core.activations import (
    ACTIVATIONS,
    HIDDEN_ACTIVATIONS,
    Activation,
    register,
    registered,
    unregister,
)
from skbackprop._core.xp import namespace, to_numpy
from skbackprop._engine import rowwise as _rowwise

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ------------------------------------------- a toy activation, every spelling in one place
def softsign(Z):
    """f(z) = z / (1 + |z|)."""
    Z /= 1 + namespace(Z).abs(Z)
    return Z


def softsign_derivative(A, delta, Z=None):
    """f'(z) = 1 / (1 + |z|)^2 = (1 - |A|)^2."""
    s = 1 - namespace(A).abs(A)
    delta *= s * s
    return delta


def softsign_at(z):
    return z / (1 + abs(z))


def softsign_derivative_at(a, d):
    return d * ((1 - abs(a)) * (1 - abs(a)))


def softsign_onnx(graph, z):
    """``z / (1 + |z|)``"""
    return graph.node("Div", [z, graph.node("Add", [graph.const(1.0),
                                                    graph.node("Abs", [z])])])


SOFTSIGN = Activation(
    softsign, softsign_derivative, forward_at=softsign_at,
    derivative_at=softsign_derivative_at, row_forward="{z} / (1 + abs({z}))",
    row_derivative="({delta}) * ((1 - abs({a})) * (1 - abs({a})))", onnx=softsign_onnx,
    gain=6.0, doc="f(z) = z / (1 + |z|)", regression_output=True)


@pytest.fixture
def toy():
    """The toy activation, registered for one test only."""
    with registered("softsign", SOFTSIGN):
        yield "softsign"


RNG = np.random.RandomState(0)
X = RNG.normal(size=(40, 2))
Y_REG = np.sin(X[:, 0]) + 0.5 * X[:, 1]
Y_CLF = (X[:, 0] * X[:, 1] > 0).astype(int)


def fitted_weights(model):
    return [to_numpy(p) for p in model.coefs_ + model.intercepts_]


def assert_same_weights(got, expected, **tolerance):
    for g, e in zip(fitted_weights(got), fitted_weights(expected)):
        if tolerance:
            assert_allclose(g, e, **tolerance)
        else:
            assert_array_equal(g, e)


# ------------------------------------------------------------------- registration
def test_registering_makes_the_estimators_accept_it_and_leaving_takes_it_back(toy):
    assert "softsign" in HIDDEN_ACTIVATIONS
    BackpropRegressor(hidden_layer_sizes=(3,), activation=toy, max_iter=5).fit(X, Y_REG)
    BackpropRegressor(hidden_layer_sizes=(3, 2), activation=["tanh", toy],
                      out_activation=toy, max_iter=5).fit(X, Y_REG)
    BackpropClassifier(hidden_layer_sizes=(3,), activation=toy, max_iter=5).fit(X, Y_CLF)
    with pytest.raises(ValueError, match="no activation has yet"):
        register("softsign", SOFTSIGN)
    with pytest.raises(ValueError, match="registered"):
        unregister("tanh")  # the built-in ones stay


def test_after_the_block_the_registry_is_as_it_was():
    before = (dict(ACTIVATIONS), list(HIDDEN_ACTIVATIONS),
              list(_activations.OUTPUT_ACTIVATIONS))
    with registered("softsign", SOFTSIGN):
        assert ACTIVATIONS["softsign"] is SOFTSIGN
    assert (dict(ACTIVATIONS), list(HIDDEN_ACTIVATIONS),
            list(_activations.OUTPUT_ACTIVATIONS)) == before
    with pytest.raises(InvalidParameterError, match="activation"):
        BackpropRegressor(activation="softsign").fit(X, Y_REG)
    with pytest.raises(InvalidParameterError, match="out_activation"):
        BackpropRegressor(out_activation="softsign").fit(X, Y_REG)
    with pytest.raises(ValueError, match="one of"):  # (a list passes the constraint)
        BackpropRegressor(hidden_layer_sizes=(3,), activation=["softsign"]).fit(X, Y_REG)


# ---------------------------------------------------------------------- every path
def test_numpy_path_has_the_right_gradients(toy):
    for est, y in ((BackpropRegressor(hidden_layer_sizes=(4, 3), activation=toy,
                                      out_activation=toy), Y_REG),
                   (BackpropClassifier(hidden_layer_sizes=(4,), activation=toy), Y_CLF)):
        report = check_gradients(est.set_params(random_state=0), X, y)
        assert (report["relative_error"] < 1e-6).all(), report


ROW_SETTINGS = dict(solver="sgd", batch_size=1, learning_rate_init=0.05, max_iter=6,
                    random_state=0, momentum=0.9)


@pytest.mark.parametrize("hidden, tolerance", [
    ((2,), {} if TWO_TERM_TOLERANCE["atol"] == 0 else TWO_TERM_TOLERANCE),
    ((4, 3), dict(rtol=0, atol=1e-13))])
def test_per_row_path_equals_the_array_path(toy, hidden, tolerance):
    """2-2-1 to the last bit (every sum has two terms: BLAS adds them as Python does,
    unless it fuses the multiply-add: ``TWO_TERM_TOLERANCE``); with wider sums within
    the per-row path's tolerance (test_rowwise)."""
    assert _rowwise.supports([2, *hidden, 1], [toy] * len(hidden) + ["identity"],
                             "squared_error", rowwise_limit.current())
    rows = BackpropRegressor(hidden_layer_sizes=hidden, activation=toy, **ROW_SETTINGS)
    with rowwise_limit(0):
        arrays = BackpropRegressor(hidden_layer_sizes=hidden, activation=toy,
                                   **ROW_SETTINGS).fit(X, Y_REG)
    assert_same_weights(rows.fit(X, Y_REG), arrays, **tolerance)


def test_fused_kernels_fit_equals_numpys(toy):
    """The fused step (numba) computes the NumPy step's numbers to the last bit in
    float64, whether or not its kernels have a code for the activation."""
    settings = dict(hidden_layer_sizes=(6, 5), activation=toy, batch_size=8,
                    max_iter=5, random_state=0)
    for solver in ("adam", "sgd"):
        with fast_kernels(True):
            fused = BackpropRegressor(solver=solver, **settings).fit(X, Y_REG)
        with fast_kernels(False):
            plain = BackpropRegressor(solver=solver, **settings).fit(X, Y_REG)
        assert_same_weights(fused, plain)


@pytest.mark.parametrize("module", ["array_api_strict", "torch"])
def test_array_api_path_equals_numpys(toy, module):
    xp = pytest.importorskip(module)
    settings = dict(hidden_layer_sizes=(5, 4), activation=toy, max_iter=15,
                    random_state=0)
    reference = BackpropClassifier(**settings).fit(X, Y_CLF)
    with sklearn.config_context(array_api_dispatch=True):
        model = BackpropClassifier(**settings).fit(xp.asarray(X), xp.asarray(Y_CLF))
        proba = to_numpy(model.predict_proba(xp.asarray(X)))
    assert namespace(model.coefs_[0]) is not np
    assert_same_weights(model, reference, rtol=0, atol=1e-10)
    assert_allclose(proba, reference.predict_proba(X), rtol=0, atol=1e-10)


def test_onnx_export_predicts_as_the_model(toy):
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    import skbackprop.onnx  # noqa: F401 (registers the converters)

    model = BackpropRegressor(hidden_layer_sizes=(5,), activation=toy, out_activation=toy,
                              max_iter=30, random_state=0).fit(X, Y_REG)
    rows = np.concatenate([X, 100 * X])
    for dtype, tolerance in ((np.float64, 1e-10), (np.float32, 1e-5)):
        onx = skl2onnx.to_onnx(model, X[:1].astype(dtype))
        session = ort.InferenceSession(onx.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        (got,) = session.run(None, {session.get_inputs()[0].name: rows.astype(dtype)})
        expected = model.predict(rows.astype(dtype).astype(np.float64))
        assert_allclose(got[:, 0], expected, rtol=tolerance, atol=tolerance * 1e-3)


def test_backprop_trace_uses_its_derivative(toy):
    """The trace's local derivatives at the softsign units are (1 - |out|)^2, and
    its numbers are one real step's."""
    est = BackpropRegressor(hidden_layer_sizes=(3,), activation=toy, random_state=0,
                            solver="sgd", momentum=0.0, batch_size=4, shuffle=False,
                            learning_rate_init=0.1)
    trace = backprop_trace(est, X[:4], Y_REG[:4])
    hidden = trace.units[trace.units["layer"] == 1]
    assert_allclose(hidden["doutput_dnet"], (1 - hidden["output"].abs()) ** 2, rtol=1e-14)
    assert_allclose(hidden["output"], hidden["net_input"] / (1 + hidden["net_input"].abs()),
                    rtol=1e-15)
    stepped = est.partial_fit(X[:4], Y_REG[:4])
    params = trace.params[trace.params["layer"] == 1]
    assert_allclose(params[params["kind"] == "weight"]["updated"].to_numpy().reshape(2, 3),
                    stepped.coefs_[0], rtol=1e-12)


def test_glorot_reads_the_gain_from_the_record(toy):
    """Glorot's bound is sqrt(gain / (fan_in + fan_out)), the gain the record's."""
    with registered("softsign2", SOFTSIGN._replace(gain=2.0)):
        for name, gain in (("softsign", 6.0), ("softsign2", 2.0), ("logistic", 2.0),
                           ("tanh", 6.0)):
            W, b = _init.glorot_uniform(3, 4, np.random.RandomState(0), name)
            bound, rng = np.sqrt(gain / 7), np.random.RandomState(0)
            assert_array_equal(W, rng.uniform(-bound, bound, (3, 4)))
            assert_array_equal(b, rng.uniform(-bound, bound, 4))


def test_a_model_with_it_saves_and_loads(toy):
    model = BackpropRegressor(hidden_layer_sizes=(3,), activation=[toy], max_iter=5,
                              random_state=0).fit(X, Y_REG)
    buffer = io.BytesIO()
    save(model, buffer)
    buffer.seek(0)
    assert_array_equal(load(buffer).predict(X), model.predict(X))


def test_a_name_registered_again_is_written_out_afresh():
    """The per-row functions compiled for a name are dropped when the registry
    changes: the same name with another record computes the other formula."""
    for template, expected in (("{z} / (1 + abs({z}))", 0.5 * 0.5**2),
                               ("{z} / (3 + abs({z}))", 0.5 * 0.25**2)):
        with registered("softsign", SOFTSIGN._replace(row_forward=template)):
            epoch = _rowwise.compiled_epoch((1, 1, 1), ("softsign", "identity"),
                                            "squared_error", "plain", False, False)
            # w1 = w2 = 1, biases 0: a1 = f(1), the output a1, y = 0
            theta, velocity = [1.0, 1.0, 0.0, 0.0], [0.0] * 4
            [(_, loss)] = epoch([[1.0]], [[0.0]], None, [0], theta, velocity, 0.0, 0.0,
                                0.0)
            assert loss == expected


# ------------------------------------------------- the spelling lists are generated
def test_every_per_row_spelling_is_in_the_written_out_source(toy):
    written = _rowwise.written_activations()
    assert toy in written
    assert set(written) == {name for name, f in ACTIVATIONS.items() if f.row_forward}
    for name in written:
        f = ACTIVATIONS[name]
        source = _rowwise.epoch_source((2, 2, 1), (name, "identity"), "squared_error")
        assert f"a1_0 = {f.row_forward.format(z='z1_0')}\n" in source
        error = "d2_0 * w2_0_0"
        assert f"d1_0 = {f.row_derivative.format(delta=error, a='a1_0')}\n" in source


def test_the_onnx_table_is_the_registry(toy):
    onnx = pytest.importorskip("skbackprop.onnx")
    capable = {name for name, f in ACTIVATIONS.items() if f.onnx is not None}
    assert toy in capable
    assert set(onnx.ONNX_ACTIVATIONS) == capable
    assert onnx.ONNX_ACTIVATIONS[toy] is softsign_onnx
    for name in capable - {toy}:  # the docs' table, written at import
        assert f"\n{name:<14}  " in onnx.__doc__


def test_the_docs_list_every_activation(toy):
    """The estimators' docs list every built-in hidden activation from its record's
    line; a registered one is listed by the same function."""
    for name in HIDDEN_ACTIVATIONS:
        line = f"- '{name}': {ACTIVATIONS[name].doc}"
        assert (line in BackpropRegressor.__doc__) == (name != toy)
        assert line in _docs.activation_lines(HIDDEN_ACTIVATIONS)


def test_the_guides_name_every_activation_beyond_sklearns():
    """The README's and the guide's comparison tables name the activations by hand:
    every built-in hidden one beyond sklearn's four is there."""
    root = Path(__file__).resolve().parent.parent
    rows = [line for page in (root / "README.md", root / "docs/guide/beyond_sklearn.md")
            for line in page.read_text().splitlines()
            if line.replace("`", "").startswith("| activation")]
    assert len(rows) == 2
    beyond = [name for name in HIDDEN_ACTIVATIONS if name in _activations.BUILT_IN
              and name not in ("identity", "logistic", "tanh", "relu")]
    for row in rows:
        assert all(name in row for name in beyond), row
