"""Layers (_core.layers): Dense is the textbook's layer, Z = A_in W + b, A = f(Z),
and its backward pass; the workspace buffers give the same numbers as allocating;
and layers of other kinds (an embedding, a per-feature scaling, an activation with
a learnable slope), written here against the protocol alone, train on every solver,
are gradient-checked, traced, saved and loaded, with no change to the engine, the
optimizers, persistence or the teaching tools."""

from typing import NamedTuple

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import skbackprop
from skbackprop import BackpropRegressor, backprop_trace, check_gradients
from skbackprop._core.activations import ACTIVATIONS
from skbackprop._core.layers import (
    LAYERS,
    Dense,
    layer_record,
    perceptron_layers,
    register_layer,
    unregister_layer,
)
from skbackprop._core.network import (
    loss_and_gradients,
    make_workspace,
    network_shapes,
    pack,
    unpack,
)
from skbackprop.persistence import ModelFileError

RNG = np.random.default_rng(0)
A_IN, W, B = RNG.normal(size=(5, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=4)


@pytest.mark.parametrize("name", ["identity", "logistic", "tanh", "relu", "gelu"])
def test_forward_is_the_formula(name):
    A, Z = Dense(4, name).forward(A_IN.copy(), [W, B], keep=True)
    assert_allclose(Z, A_IN @ W + B, rtol=1e-14)
    assert_allclose(A, ACTIVATIONS[name].forward(A_IN @ W + B), rtol=1e-14)


def test_backward_is_the_formula_and_matches_finite_differences():
    """dL/dW = A_in^T delta + alpha W / s, dL/db = 1^T delta, dL/dA_in = delta W^T;
    checked on L = sum(G * Z) for a fixed G (so delta = G), by central differences."""
    G, alpha, s = RNG.normal(size=(5, 4)), 0.3, 5.0
    (dW, db), upstream = Dense(4, "identity").backward(G, A_IN, [W, B], alpha, s)
    assert_allclose(dW, A_IN.T @ G + alpha * W / s, rtol=1e-14)
    assert_allclose(db, G.sum(axis=0), rtol=0, atol=1e-15)  # (1^T G: another order)
    assert_allclose(upstream, G @ W.T, rtol=1e-14)

    def loss(A_in, W):
        return np.sum(G * (A_in @ W + B)) + 0.5 * alpha * np.sum(W**2) / s

    eps, numeric = 1e-6, np.zeros_like(W)
    for index in np.ndindex(W.shape):
        up, down = W.copy(), W.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (loss(A_IN, up) - loss(A_IN, down)) / (2 * eps)
    assert_allclose(dW, numeric, rtol=1e-7)


def test_delta_applies_the_local_derivative():
    A = ACTIVATIONS["tanh"].forward(A_IN @ W + B)
    upstream = RNG.normal(size=A.shape)
    assert_allclose(Dense(4, "tanh").delta(upstream.copy(), A, None),
                    upstream * (1 - A**2))


def test_the_first_layer_sends_no_error_down():
    assert Dense(4, "relu").backward(np.ones((5, 4)), A_IN, [W, B], upstream=False)[1] is None


def test_parameter_shapes_and_the_output_layer():
    layers = perceptron_layers([4, 5, 3], ["tanh", "relu", "softmax"])
    assert [layer.output for layer in layers] == [False, False, True]
    assert layers[0].parameter_shapes(3) == [(3, 4), (4,)]
    assert network_shapes(layers, 3) == [[(3, 4), (4,)], [(4, 5), (5,)], [(5, 3), (3,)]]
    assert layers[-1].keeps_net_input() and not layers[1].keeps_net_input()
    assert layer_record(layers[0]) == {"kind": "dense", "units": 4, "activation": "tanh",
                                       "output": False}


def test_pack_is_scikit_learns_order_and_unpack_its_views():
    """Every W_l, then every b_l (what sklearn's lbfgs packs); a layer with one
    array joins the first group."""
    params = [[np.full((2, 3), 1.0), np.full(3, 2.0)], [np.full(3, 3.0)],
              [np.full((3, 1), 4.0), np.full(1, 5.0)]]
    theta = pack(params)
    assert_array_equal(theta, [1] * 6 + [3] * 3 + [4] * 3 + [2] * 3 + [5])
    views = unpack(theta, [[p.shape for p in ps] for ps in params])
    theta += 1
    assert [[float(p.flat[0]) for p in ps] for ps in views] == [[2, 3], [4], [5, 6]]


def test_buffers_give_the_numbers_allocation_gives():
    """The workspace path (NumPy buffers) and the allocating path, bit for bit."""
    layers = perceptron_layers([4, 2], ["relu", "identity"])
    params = [[W.copy(), B.copy()], [RNG.normal(size=(4, 2)), np.zeros(2)]]
    ws = make_workspace(layers, params, 3, batch_size=5)
    layer, buffers = layers[0], ws.layers[0]
    A_ws, _ = layer.forward(A_IN, ws.params[0], buffers)
    A, _ = layer.forward(A_IN, [W, B])
    assert_array_equal(A_ws, A)
    delta = RNG.normal(size=(5, 4))
    (dW_ws, db_ws), _ = layer.backward(delta, A_IN, ws.params[0], 0.1, 5.0, buffers,
                                       upstream=False)
    (dW, db), _ = layer.backward(delta, A_IN, [W, B], 0.1, 5.0, upstream=False)
    assert_array_equal(dW_ws, dW)
    assert_array_equal(db_ws, db)
    assert np.shares_memory(dW_ws, ws.grad)  # written into the flat gradient


# ---------------------------------------------------------------- other layers
# Written against the protocol alone (forward, backward, delta, parameters), with
# NumPy's allocating calls: no buffers, no kernels, nothing registered elsewhere.

class Embedding(NamedTuple):
    """Column 0 holds integer codes 0..n_codes-1: each becomes its row of E
    (n_codes x dim), next to the other columns: A = [E[code], A_in[:, 1:]]."""

    n_codes: int
    dim: int

    kind = "test_embedding"
    parameter_names = ("E",)
    decayed = ()

    def width(self, fan_in):
        return fan_in - 1 + self.dim

    def parameter_shapes(self, fan_in):
        return [(self.n_codes, self.dim)]

    def initial_parameters(self, fan_in, init, rng, activation):
        return [rng.normal(scale=0.5, size=(self.n_codes, self.dim))]

    def forward(self, A_in, params, buffers=None, keep=False):
        (E,) = params
        codes = A_in[:, 0].astype(np.intp)
        return np.hstack([E[codes], A_in[:, 1:]]), None

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        """dL/dE[c] = sum of delta over the rows of code c (a scatter-add); the
        codes are not differentiable, so this is a first layer."""
        (E,) = params
        grad = np.zeros_like(E)
        np.add.at(grad, A_in[:, 0].astype(np.intp), delta[:, :self.dim])
        return [grad], None

    def delta(self, upstream, A, Z, kernels=None):
        return upstream


class Scale(NamedTuple):
    """A per-feature scaling, A = A_in * s: dL/ds = sum over rows of delta * A_in,
    dL/dA_in = delta * s."""

    kind = "test_scale"
    parameter_names = ("s",)
    decayed = ()

    def width(self, fan_in):
        return fan_in

    def parameter_shapes(self, fan_in):
        return [(fan_in,)]

    def initial_parameters(self, fan_in, init, rng, activation):
        return [np.ones(fan_in)]

    def forward(self, A_in, params, buffers=None, keep=False):
        return A_in * params[0], None

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        return [(delta * A_in).sum(axis=0)], delta * params[0] if upstream else None

    def delta(self, upstream, A, Z, kernels=None):
        return upstream


class PReLU(NamedTuple):
    """An activation with a learnable slope per unit, A = max(Z, 0) + a min(Z, 0)
    with Z its input: its derivative needs a, so ``delta`` passes dL/dA through and
    ``backward`` applies it: dL/da = sum of delta min(Z, 0), dL/dZ = delta f'(Z)."""

    kind = "test_prelu"
    parameter_names = ("a",)
    decayed = (0,)  # (so that the L2 term on a layer of another kind is checked)

    def width(self, fan_in):
        return fan_in

    def parameter_shapes(self, fan_in):
        return [(fan_in,)]

    def initial_parameters(self, fan_in, init, rng, activation):
        return [np.full(fan_in, 0.25)]

    def forward(self, A_in, params, buffers=None, keep=False):
        return np.where(A_in > 0, A_in, params[0] * A_in), None

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        (a,) = params
        grad = (delta * np.minimum(A_in, 0)).sum(axis=0) + alpha * a / sw_sum
        return [grad], delta * np.where(A_in > 0, 1.0, a) if upstream else None

    def delta(self, upstream, A, Z, kernels=None):
        return upstream


class LayeredRegressor(BackpropRegressor):
    """A regressor whose network has the layers above around its Dense layers."""

    def _network_layers(self, units, activations):
        dense = perceptron_layers(units, activations)
        return (Embedding(n_codes=4, dim=2), Scale(), dense[0], PReLU(), *dense[1:])


@pytest.fixture
def registered(monkeypatch):
    """The three layers registered, and the regressor loadable from model files."""
    from skbackprop.persistence import _format

    for cls in (Embedding, Scale, PReLU):
        register_layer(cls)
    classes = _format._classes()
    monkeypatch.setattr(_format, "_classes",
                        lambda: {**classes, "LayeredRegressor": LayeredRegressor})
    yield
    for cls in (Embedding, Scale, PReLU):
        unregister_layer(cls.kind)


def data(n=120, seed=0):
    rng = np.random.RandomState(seed)
    codes = rng.randint(0, 4, size=n)
    X = np.column_stack([codes, rng.normal(size=(n, 2))])
    y = np.array([-1.0, 0.5, 2.0, 0.0])[codes] + X[:, 1] * X[:, 2] + np.abs(X[:, 2])
    return X, y


def test_registering_checks_the_protocol():
    class Half(NamedTuple):
        kind = "test_half"

    with pytest.raises(TypeError, match="lacks the layer protocol's"):
        register_layer(Half)
    with pytest.raises(ValueError, match="kind of its own"):
        register_layer(type("Other", (Scale,), {"kind": "dense"}))
    assert "test_half" not in LAYERS


@pytest.mark.usefixtures("registered")
def test_other_layers_have_the_gradients_finite_differences_give():
    X, y = data(30)
    model = LayeredRegressor(hidden_layer_sizes=(6,), activation="tanh", alpha=0.3,
                             random_state=0)
    report = check_gradients(model, X, y, sample_weight=np.linspace(0.5, 2, 30))
    assert list(zip(report["layer"], report["parameter"])) == [
        (1, "E"), (2, "s"), (3, "W"), (3, "b"), (4, "a"), (5, "W"), (5, "b")]
    assert (report["relative_error"] < 1e-7).all(), report


@pytest.mark.usefixtures("registered")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_other_layers_train_on_every_solver(solver):
    X, y = data()
    model = LayeredRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=150,
                             learning_rate_init=0.01, batch_size=16, random_state=0)
    model.fit(X, y)
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]
    assert model.score(X, y) > 0.8
    # the Dense layers are scikit-learn's coefs_ and intercepts_; the others' arrays
    # are _layer_parameters (empty for a Dense layer); all trained from their start
    assert [W.shape for W in model.coefs_] == [(4, 8), (8, 1)]
    E, s, dense, a, out = model._layer_parameters
    assert (dense, out) == ([], []) and E[0].shape == (4, 2) and s[0].shape == (4,)
    assert not np.allclose(s[0], 1.0) and not np.allclose(a[0], 0.25)
    # the step a fit trains with sees every parameter: a partial_fit moves them all
    before = [p.copy() for ps in model._fitted_network()[1] for p in ps]
    if solver != "lbfgs":
        model.partial_fit(X, y)
        after = [p for ps in model._fitted_network()[1] for p in ps]
        assert all(not np.array_equal(p, q) for p, q in zip(before, after))


@pytest.mark.usefixtures("registered")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_other_layers_are_traced_saved_and_loaded(tmp_path):
    X, y = data()
    model = LayeredRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=60,
                             random_state=0).fit(X, y)
    trace = backprop_trace(model, X[:3], y[:3])
    rows = trace.params.set_index("name")
    report = check_gradients(model, X[:3], y[:3])
    gradient = report.set_index(["layer", "parameter"])
    assert rows.loc["s[1](layer 2)", "gradient"] != 0
    assert rows.loc["a[4](layer 4)", "kind"] == "a"
    assert abs(gradient.loc[(2, "s"), "max_abs_error"]) < 1e-7
    assert "o1" in set(trace.units["unit"]) and "test_scale2_4" in set(trace.units["unit"])
    assert "dL/ds[0](layer 2) = " in str(trace)
    path = tmp_path / "layered.skbp"
    skbackprop.save(model, path)
    loaded = skbackprop.load(path)
    assert type(loaded) is LayeredRegressor
    assert_array_equal(loaded.predict(X), model.predict(X))
    for got, kept in zip(loaded._layer_parameters, model._layer_parameters):
        assert all(np.array_equal(p, q) for p, q in zip(got, kept))


@pytest.mark.usefixtures("registered")
def test_a_file_whose_layer_parameters_do_not_fit_is_refused(tmp_path):
    X, y = data()
    model = LayeredRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=5,
                             random_state=0)
    with pytest.warns(Warning):
        model.fit(X, y)
    model._layer_parameters[1] = [np.ones(7)]  # s of 7 features, for 4 inputs
    with pytest.raises(ModelFileError, match="do not fit together"):
        skbackprop.save(model, tmp_path / "bad.skbp")
        skbackprop.load(tmp_path / "bad.skbp")


@pytest.mark.usefixtures("registered")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_callbacks_score_a_network_of_other_layers_as_it_stands():
    """The copy a callback scores holds this epoch's arrays of every layer."""
    from sklearn.callback import ScoringMonitor

    X, y = data()
    monitor = ScoringMonitor(scoring="r2")
    model = LayeredRegressor(hidden_layer_sizes=(6,), max_iter=4, random_state=0,
                             learning_rate_init=0.01).set_callbacks(monitor).fit(X, y)
    logs = monitor.get_logs(select="most_recent")
    frame = logs.data_as_pandas if hasattr(logs, "data_as_pandas") else logs
    epochs = frame[frame["task_name"] == "epoch"]
    assert len(epochs) == 4
    assert epochs["r2"].iloc[-1] == pytest.approx(model.score(X, y))


@pytest.mark.usefixtures("registered")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_what_writes_out_dense_layers_refuses_other_kinds_with_the_reason():
    from skbackprop.inspection import epoch_source

    X, y = data()
    model = LayeredRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    model.fit(X, y)
    with pytest.raises(ValueError, match="per-row path does not run this network"):
        epoch_source(model)
    from skbackprop.inspection import n_parameters
    assert n_parameters(model) == 4 * 2 + 4 + (4 * 3 + 3) + 3 + (3 + 1)
    pytest.importorskip("skl2onnx")
    from skl2onnx import to_onnx, update_registered_converter

    from skbackprop import onnx

    update_registered_converter(LayeredRegressor, "LayeredRegressor",
                                onnx._regressor_shapes, onnx._convert_regressor)
    with pytest.raises(ValueError, match=r"its layer 1 \(of kind 'test_embedding'\) has "
                                         r"no ONNX spelling \(an onnx\(graph, A_in"):
        to_onnx(model, X[:1].astype(np.float32))


@pytest.mark.usefixtures("registered")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_array_api_transfer_moves_every_layers_arrays():
    from skbackprop._dispatch import converted

    X, y = data()
    model = LayeredRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    moved = converted(model, lambda a: np.asarray(a, dtype=np.float32))
    assert all(p.dtype == np.float32 for ps in moved._layer_parameters for p in ps)
    assert moved._layer_parameters[1][0] is not model._layer_parameters[1][0]
    assert model._layer_parameters[1][0].dtype == np.float64  # the original is kept


class Double(NamedTuple):
    """A = 2 A_in: a layer without parameters."""

    kind = "test_double"
    parameter_names = ()
    decayed = ()

    def width(self, fan_in):
        return fan_in

    def parameter_shapes(self, fan_in):
        return []

    def initial_parameters(self, fan_in, init, rng, activation):
        return []

    def forward(self, A_in, params, buffers=None, keep=False):
        return 2 * A_in, None

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        return [], 2 * delta if upstream else None

    def delta(self, upstream, A, Z, kernels=None):
        return upstream


class Gain(NamedTuple):
    """A = g A_in with one scalar g (a 0-d parameter), its gradients as a tuple."""

    kind = "test_gain"
    parameter_names = ("g",)
    decayed = ()

    def width(self, fan_in):
        return fan_in

    def parameter_shapes(self, fan_in):
        return [()]

    def initial_parameters(self, fan_in, init, rng, activation):
        assert activation is None  # (what other kinds are given)
        return [np.array(1.0)]

    def forward(self, A_in, params, buffers=None, keep=False):
        return params[0] * A_in, None

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        return (np.sum(delta * A_in),), params[0] * delta if upstream else None

    def delta(self, upstream, A, Z, kernels=None):
        return upstream


class PlainRegressor(BackpropRegressor):
    def _network_layers(self, units, activations):
        dense = perceptron_layers(units, activations)
        return (Double(), dense[0], Gain(), *dense[1:])


@pytest.fixture
def plain_registered(monkeypatch):
    from skbackprop.persistence import _format

    for cls in (Double, Gain):
        register_layer(cls)
    classes = _format._classes()
    monkeypatch.setattr(_format, "_classes",
                        lambda: {**classes, "PlainRegressor": PlainRegressor})
    yield
    for cls in (Double, Gain):
        unregister_layer(cls.kind)


@pytest.mark.usefixtures("plain_registered")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_first_layer_without_parameters_and_a_scalar_one_train_save_and_load(
        solver, tmp_path):
    X, y = data()
    X = X[:, 1:]
    model = PlainRegressor(hidden_layer_sizes=(6,), solver=solver, max_iter=40,
                           random_state=0).fit(X, y)
    assert model._layer_parameters[0] == [] and model._layer_parameters[2][0].ndim == 0
    assert model._layer_parameters[2][0] != 1.0  # the scalar trained
    report = check_gradients(model, X[:5], y[:5])
    assert (report["relative_error"] < 1e-7).all()
    skbackprop.save(model, tmp_path / "m.skbp")
    assert_array_equal(skbackprop.load(tmp_path / "m.skbp").predict(X), model.predict(X))


@pytest.mark.usefixtures("plain_registered")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_file_of_unregistered_layer_kinds_is_refused(tmp_path):
    X, y = data()
    model = PlainRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X[:, 1:], y)
    skbackprop.save(model, tmp_path / "m.skbp")
    unregister_layer("test_gain")
    with pytest.raises(ModelFileError, match=r"layers of kind \['test_gain'\], which are "
                                             "not registered"):
        skbackprop.load(tmp_path / "m.skbp")
    register_layer(Gain)


def test_a_gradient_of_the_wrong_shape_is_named():
    class Bad(Gain):
        kind = "test_bad"

        def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                     upstream=True):
            return [np.zeros(3)], params[0] * delta if upstream else None

    layers = (Bad(), *perceptron_layers([2], ["identity"]))
    params = [[np.array(1.0)], [np.ones((3, 2)), np.zeros(2)]]
    ws = make_workspace(layers, params, 3, batch_size=4)
    with pytest.raises(ValueError, match=r"test_bad layer's backward gave a gradient of "
                                         r"shape \(3,\) for a parameter of shape \(\)"):
        loss_and_gradients(A_IN[:4], np.zeros((4, 2)), None, layers, ws.params,
                           "squared_error", 0.0, workspace=ws)


@pytest.mark.usefixtures("registered")
def test_dropout_stays_between_dense_layers():
    """One rate per hidden Dense layer, on the next Dense layer's input: never on
    the inputs (nor the embedding), never twice on one hidden layer."""
    from skbackprop._engine.start import Model
    from skbackprop._engine.steps import dropout_masks

    layers = LayeredRegressor()._network_layers([8, 1], ["relu", "identity"])
    model = Model(3, layers, "squared_error", 0.0, [0.5])
    assert model.input_rates == [None, None, None, None, 0.5]
    masks = dropout_masks(model.input_rates, model.widths, np.zeros(1), 10,
                          np.random.RandomState(0))
    assert [m is None for m in masks] == [True, True, True, True, False]
    assert masks[4].shape == (10, 8) and set(np.unique(masks[4])) == {0.0, 2.0}
    X, y = data()
    with pytest.warns(Warning):
        LayeredRegressor(hidden_layer_sizes=(8,), dropout=0.5, max_iter=3).fit(X, y)


@pytest.mark.usefixtures("registered")
def test_a_wrong_shape_names_the_dense_layers_index():
    X, y = data()
    model = LayeredRegressor(hidden_layer_sizes=(5,), warm_start=True)
    model.coefs_ = [np.zeros((3, 5)), np.zeros((5, 1))]  # the first Dense sees 4 inputs
    model.intercepts_ = [np.zeros(5), np.zeros(1)]
    model._layer_parameters = [[np.zeros((4, 2))], [np.ones(4)], [], [np.zeros(5)], []]
    with pytest.raises(ValueError, match=r"coefs_\[0\] \(layer 0 -> 1\) has shape \(3, 5\)"):
        model.fit(X, y)


@pytest.mark.usefixtures("registered")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_training_animation_draws_every_layer_of_each_epoch():
    """A snapshot keeps the other layers' arrays too: each frame predicts as the
    network of its epoch (here the first frame against a 1-epoch fit)."""
    pytest.importorskip("matplotlib")
    from skbackprop.inspection import WeightSnapshots
    from skbackprop.inspection._animation import _surface

    X, y = data()
    snapshots = WeightSnapshots()
    settings = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    model = LayeredRegressor(**settings).set_callbacks(snapshots).fit(X, y)
    first = LayeredRegressor(**{**settings, "max_iter": 1}).fit(X, y)
    assert len(snapshots.snapshots[0]["layer_parameters"]) == 5
    assert_allclose(_surface(model, snapshots.snapshots[0], X), first.predict(X),
                    rtol=1e-12)
