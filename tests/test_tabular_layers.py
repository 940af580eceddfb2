"""The tabular layers (_core.tabular): each layer's backward pass gives the
gradients central finite differences and torch's autograd give for its formulas
(written here again, independently, in torch), on any Array API namespace the
same numbers as NumPy; bad settings and inputs are refused with the fix; and a
network of all of them trains, passes the gradient check, is traced, saved and
loaded."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.sparse import csr_matrix

import skbackprop
from skbackprop import BackpropClassifier, BackpropRegressor, backprop_trace, check_gradients
from skbackprop._core.layers import LAYERS, Dense, perceptron_layers
from skbackprop._core.layers import lr_factors as layers_lr_factors
from skbackprop._core.network import loss_and_gradients, make_workspace, network_widths
from skbackprop._core.tabular import (
    CHANGE_INTO,
    PARAMETRIC_ACTIVATIONS,
    CategoricalEmbedding,
    FeatureScale,
    NTKDense,
    ParametricActivation,
    PeriodicEmbedding,
    PReLU,
    mish,
    mish_derivative,
    selu,
    selu_derivative,
)

N, FAN_IN = 7, 5
EMBEDDING = CategoricalEmbedding(columns=(1, 3), levels=(3, 5), dim=2)
LAYER_CASES = [
    FeatureScale(),
    EMBEDDING,
    CategoricalEmbedding(columns=(4,), levels=(2,), dim=3),
    PeriodicEmbedding(columns=(0, 2), frequencies=5, dim=3, sigma=0.3),
    PeriodicEmbedding(columns=(4,), frequencies=3, dim=2),
    ParametricActivation("selu"),
    ParametricActivation("mish"),
    PReLU(),
    NTKDense(4, "tanh"),
    NTKDense(3, "identity", output=True),
]


def inputs(layer, seed=0):
    """A random input (codes in a categorical embedding's columns), random
    parameters of the layer's shapes, and a random G for the loss sum(G * A)."""
    rng = np.random.default_rng(seed)
    A_in = rng.normal(scale=1.5, size=(N, FAN_IN))
    if isinstance(layer, CategoricalEmbedding):
        for column, levels in zip(layer.columns, layer.levels):
            A_in[:, column] = rng.integers(0, levels, size=N)
            A_in[0, column] = 0  # (a missing category's code)
    params = [rng.normal(size=shape) for shape in layer.parameter_shapes(FAN_IN)]
    return A_in, params, rng.normal(size=(N, layer.width(FAN_IN)))


def penalised_loss(layer, A_in, params, G, alpha, sw_sum):
    """L = sum(G * A) + alpha / (2 sum_i s_i) * sum of the decayed p's squares,
    whose dL/dA is G."""
    A, _ = layer.forward(A_in, params)
    return float(np.sum(G * A)) + alpha / (2 * sw_sum) * sum(
        float(np.sum(params[k] ** 2)) for k in layer.decayed)


def our_gradients(layer, A_in, params, G, alpha=0.0, sw_sum=1.0):
    A, Z = layer.forward(A_in.copy(), params)
    delta = layer.delta(G.copy(), A, Z)
    return layer.backward(delta, A_in, params, alpha, sw_sum)


def code_columns(layer):
    return set(layer.columns) if isinstance(layer, CategoricalEmbedding) else set()


@pytest.mark.parametrize("layer", LAYER_CASES, ids=lambda layer: layer.kind)
def test_backward_matches_central_finite_differences(layer):
    A_in, params, G = inputs(layer)
    alpha, sw_sum = 0.7, 3.0
    grads, upstream = our_gradients(layer, A_in, params, G, alpha, sw_sum)

    def numeric(array, skip=()):
        out, eps = np.zeros_like(array), 1e-6
        for index in np.ndindex(array.shape):
            if index[-1] in skip and array is A_in:
                continue
            kept = array[index]
            array[index] = kept + eps
            up = penalised_loss(layer, A_in, params, G, alpha, sw_sum)
            array[index] = kept - eps
            down = penalised_loss(layer, A_in, params, G, alpha, sw_sum)
            array[index] = kept
            out[index] = (up - down) / (2 * eps)
        return out

    for p, g in zip(params, grads, strict=True):
        assert_allclose(g, numeric(p), rtol=1e-7, atol=1e-8)
    codes = sorted(code_columns(layer))
    numbers = [c for c in range(FAN_IN) if c not in codes]
    # (a code is not differentiable: its column of dL/dA_in is 0)
    assert_allclose(upstream[:, numbers], numeric(A_in, codes)[:, numbers], rtol=1e-7,
                    atol=1e-8)
    assert_array_equal(upstream[:, codes], 0.0)


# ------------------------------------------------------------------ against torch
def torch_forward(layer, x, params):
    """The layer's formula, written in torch from its definition."""
    import torch
    import torch.nn.functional as F

    if isinstance(layer, FeatureScale):
        return x * params[0]
    if isinstance(layer, CategoricalEmbedding):
        kept = [c for c in range(x.shape[1]) if c not in layer.columns]
        tables = [F.embedding(x[:, c].detach().long(), E)
                  for c, E in zip(layer.columns, params)]
        return torch.cat([x[:, kept], *tables], dim=1)
    if isinstance(layer, PeriodicEmbedding):
        w, phase, V, c = params
        chosen = x[:, list(layer.columns)]  # (n, k)
        P = 2 * math.pi * chosen[:, :, None] * w[None] + phase[None]  # (n, k, F)
        E = torch.einsum("nkf,kfd->nkd", torch.cos(P), V) + c[None]
        return torch.cat([x, E.reshape(x.shape[0], -1)], dim=1)
    if isinstance(layer, ParametricActivation):
        f = {"selu": F.selu, "mish": F.mish}[layer.function]
        return x + params[0] * (f(x) - x)
    if isinstance(layer, PReLU):
        return F.prelu(x, params[0])
    f = {"tanh": torch.tanh, "identity": lambda z: z}[layer.activation]
    W, b = params
    return f(x @ W / math.sqrt(W.shape[0]) + b)


@pytest.mark.parametrize("layer", LAYER_CASES, ids=lambda layer: layer.kind)
def test_forward_and_backward_equal_torch_autograd(layer):
    torch = pytest.importorskip("torch")
    A_in, params, G = inputs(layer, seed=1)
    alpha, sw_sum = 0.4, 5.0
    x = torch.tensor(A_in, requires_grad=True)
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    A_torch = torch_forward(layer, x, ps)
    penalty = sum((ps[k] ** 2).sum() for k in layer.decayed) if layer.decayed else 0.0
    loss = (torch.tensor(G) * A_torch).sum() + alpha / (2 * sw_sum) * penalty
    loss.backward()

    A, _ = layer.forward(A_in.copy(), params)
    assert_allclose(A, A_torch.detach().numpy(), rtol=1e-12, atol=1e-14)
    grads, upstream = our_gradients(layer, A_in, params, G, alpha, sw_sum)
    for g, p in zip(grads, ps, strict=True):
        assert_allclose(g, p.grad.numpy(), rtol=1e-12, atol=1e-13)
    assert_allclose(upstream, x.grad.numpy(), rtol=1e-12, atol=1e-13)
    assert our_gradients(layer, A_in, params, G)[0] is not None
    assert layer.backward(G, A_in, params, upstream=False)[1] is None


def test_a_network_of_every_layer_equals_torch_autograd():
    """loss_and_gradients through all the layers, an NTK output layer last, with
    sample weights and the L2 penalty: the chain of the protocol's calls."""
    torch = pytest.importorskip("torch")
    layers = (EMBEDDING, PeriodicEmbedding(columns=(0, 1), frequencies=4, dim=3),
              FeatureScale(), NTKDense(6, "identity"), ParametricActivation("mish"),
              NTKDense(5, "identity"), PReLU(), NTKDense(2, "identity", output=True))
    A_in, _, _ = inputs(EMBEDDING, seed=2)
    rng = np.random.default_rng(3)
    params, fan_in = [], FAN_IN
    for layer in layers:
        params.append([rng.normal(size=s) for s in layer.parameter_shapes(fan_in)])
        fan_in = layer.width(fan_in)
    Y, weights, alpha = rng.normal(size=(N, 2)), rng.uniform(0.5, 2, N), 0.3
    value, grads = loss_and_gradients(A_in, Y, weights, layers, params,
                                      "squared_error", alpha)

    x = torch.tensor(A_in)
    ps = [[torch.tensor(p, requires_grad=True) for p in ps] for ps in params]
    for layer, p in zip(layers, ps):
        x = torch_forward(layer, x, p)
    w = torch.tensor(weights)
    penalty = sum((p[k] ** 2).sum() for layer, p in zip(layers, ps) for k in layer.decayed)
    loss = (w * ((x - torch.tensor(Y)) ** 2).sum(dim=1)).sum() / (2 * w.sum()) \
        + alpha / (2 * w.sum()) * penalty
    loss.backward()
    assert value == pytest.approx(loss.item(), rel=1e-12)
    for ours, theirs in zip(grads, ps, strict=True):
        for g, p in zip(ours, theirs, strict=True):
            assert_allclose(g, p.grad.numpy(), rtol=1e-11, atol=1e-13)


# ------------------------------------------------------------------- namespaces
@pytest.mark.parametrize("layer", LAYER_CASES, ids=lambda layer: layer.kind)
@pytest.mark.parametrize("library", ["array_api_strict", "torch"])
def test_other_namespaces_give_numpys_numbers(layer, library):
    xp = pytest.importorskip(library)
    A_in, params, G = inputs(layer, seed=4)
    A, _ = layer.forward(A_in.copy(), params)
    grads, upstream = our_gradients(layer, A_in, params, G, 0.2, 2.0)
    as_xp = (lambda a: xp.asarray(a)) if library != "torch" else xp.from_numpy
    A_xp, Z_xp = layer.forward(as_xp(A_in), [as_xp(p) for p in params])
    delta = layer.delta(as_xp(G), A_xp, Z_xp)
    grads_xp, upstream_xp = layer.backward(delta, as_xp(A_in), [as_xp(p) for p in params],
                                           0.2, 2.0)
    assert_allclose(np.asarray(A_xp), A, rtol=1e-12, atol=1e-14)
    for g_xp, g in zip(grads_xp, grads, strict=True):
        assert_allclose(np.asarray(g_xp), g, rtol=1e-12, atol=1e-13)
    assert_allclose(np.asarray(upstream_xp), upstream, rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------- the formulas
def test_the_layers_compute_their_documented_formulas():
    x = np.array([[-2.0, 0.0, 1.5]])
    assert_allclose(PReLU().forward(x, [np.full(3, 0.25)])[0], [[-0.5, 0.0, 1.5]])
    lam, alp = 1.0507009873554805, 1.6732632423543772
    selu = ParametricActivation("selu").forward(x, [np.ones(3)])[0]
    assert_allclose(selu, [[lam * alp * (np.exp(-2) - 1), 0.0, lam * 1.5]], rtol=1e-15)
    half = ParametricActivation("mish").forward(x, [np.full(3, 0.5)])[0]
    mish = x * np.tanh(np.log1p(np.exp(x)))
    assert_allclose(half, 0.5 * x + 0.5 * mish, rtol=1e-15)
    W, b = np.arange(6.0).reshape(3, 2), np.array([1.0, -1.0])
    A, Z = NTKDense(2, "relu").forward(x, [W, b])
    assert_allclose(Z, x @ W / np.sqrt(3) + b, rtol=1e-15)
    assert_allclose(A, np.maximum(Z, 0))
    # codes select table rows; the other columns come first, in their order
    E0, E1 = np.arange(6.0).reshape(3, 2), -np.arange(10.0).reshape(5, 2)
    row = np.array([[9.0, 2.0, 8.0, 4.0, 7.0]])
    assert_array_equal(EMBEDDING.forward(row, [E0, E1])[0], [[9, 8, 7, 4, 5, -8, -9]])
    # the periodic features of column 2, appended to the whole input
    w, phase = np.array([[0.5, 1.0]]), np.array([[0.1, -0.2]])
    V, c = np.array([[[1.0], [2.0]]]), np.array([[0.3]])
    out = PeriodicEmbedding(columns=(2,), frequencies=2, dim=2).forward(x, [w, phase, V, c])[0]
    expected = np.cos(2 * np.pi * 1.5 * w + phase) @ V[0] + c
    assert_allclose(out, np.hstack([x, expected]), rtol=1e-15)


def test_widths_shapes_and_starting_parameters():
    rng = np.random.default_rng(0)
    pbld = PeriodicEmbedding(columns=(0, 1, 2))  # RealMLP's sizes: 16 and 4
    assert pbld.width(10) == 10 + 3 * 3
    assert pbld.parameter_shapes(10) == [(3, 16), (3, 16), (3, 16, 3), (3, 3)]
    w, phase, V, c = pbld.initial_parameters(10, None, np.random.default_rng(0), None)
    assert 0.07 < w.std() < 0.13 and np.abs(phase).max() <= np.pi  # sigma 0.1
    assert np.abs(V).max() <= 0.25 and np.abs(c).max() <= 0.25  # 1/sqrt(16)
    assert EMBEDDING.width(5) == 3 + 2 * 2 and EMBEDDING.parameter_names == ("E1", "E3")
    assert [p.shape for p in EMBEDDING.initial_parameters(5, None, rng, None)] == [(3, 2),
                                                                                (5, 2)]
    assert_array_equal(FeatureScale().initial_parameters(4, None, rng, None)[0], 1.0)
    assert_array_equal(ParametricActivation().initial_parameters(4, None, rng, None)[0], 1.0)
    assert_array_equal(PReLU().initial_parameters(4, None, rng, None)[0], 0.25)
    W, b = NTKDense(300, "relu").initial_parameters(200, None, rng, None)
    assert abs(W.std() - 1) < 0.01 and W.shape == (200, 300) and not b.any()


def lr_factors(layer, fan_in):
    return layers_lr_factors(layer, len(layer.parameter_shapes(fan_in)))


def test_every_layer_declares_one_learning_rate_factor_per_parameter():
    """RealMLP's factors: the scaling layer 6, the NTK biases, the parametric
    activations and the periodic embeddings 0.1; a layer declaring none gets 1."""
    assert lr_factors(FeatureScale(), 4) == (6.0,)
    assert lr_factors(NTKDense(3), 4) == (1.0, 0.1)
    assert lr_factors(ParametricActivation("mish"), 4) == (0.1,)
    assert lr_factors(PeriodicEmbedding(columns=(0,)), 4) == (0.1,) * 4
    assert lr_factors(EMBEDDING, 5) == (1.0, 1.0)
    assert lr_factors(Dense(3, "relu"), 4) == (1.0, 1.0)
    for layer in LAYER_CASES:
        assert len(lr_factors(layer, FAN_IN)) == len(layer.parameter_shapes(FAN_IN))
        assert LAYERS[layer.kind] is type(layer)

    class Wrong(FeatureScale):
        lr_factors = (1.0, 2.0)

    with pytest.raises(ValueError, match=r"lr_factors \[1.0, 2.0\] need one finite "
                                         r"number >= 0 per parameter array \(1: \['s'\]\)"):
        lr_factors(Wrong(), 3)


# -------------------------------------------------------------------- bad input
@pytest.mark.parametrize("value, shown", [(3.0, "3.0"), (-1.0, "-1.0"), (1.5, "1.5"),
                                          (np.nan, "nan")])
def test_a_code_outside_its_columns_levels_is_refused(value, shown):
    A_in, params, _ = inputs(EMBEDDING)
    A_in[4, 1] = value  # column 1 has 3 levels: codes 0, 1, 2
    with pytest.raises(ValueError, match=rf"column 1 of the categorical_embedding layer's "
                                         rf"input holds {shown}, which is not one of its 3 "
                                         r"category codes 0 to 2: encode .* missing and "
                                         "unseen ones as 0"):
        EMBEDDING.forward(A_in, params)


@pytest.mark.parametrize("layer, message", [
    (CategoricalEmbedding(columns=(1, 1), levels=(2, 2)), r"columns \[1, 1\] must be "
     r"distinct indices of its 5 input columns \(0 to 4\)"),
    (CategoricalEmbedding(columns=(5,), levels=(2,)), "distinct indices"),
    (CategoricalEmbedding(columns=(), levels=()), "non-empty list of column indices"),
    (CategoricalEmbedding(columns=(0, 1), levels=(2,)), "one number of levels per column"),
    (CategoricalEmbedding(columns=(0,), levels=(0,)), "levels must be a positive integer"),
    (CategoricalEmbedding(columns=(0,), levels=(3,), dim=0), "dim must be a positive"),
    (PeriodicEmbedding(columns=(0.5,)), "list of column indices, got"),
    (PeriodicEmbedding(columns=(0,), dim=1), "dim must be an integer of at least 2"),
    (PeriodicEmbedding(columns=(0,), sigma=0), "sigma must be a positive number"),
    (PeriodicEmbedding(columns=(0,), frequencies=0), "frequencies must be a positive"),
    (ParametricActivation("swish"), r"function must be one of \['mish', 'selu'\]"),
    (NTKDense(3, "swish"), "ntk_dense layer's activation must be one of"),
    (NTKDense(0), "units must be a positive integer"),
])
def test_bad_settings_are_named_when_the_network_is_built(layer, message):
    with pytest.raises(ValueError, match=message):
        layer.width(FAN_IN)


@pytest.mark.parametrize("layer", [FeatureScale(), EMBEDDING,
                                   PeriodicEmbedding(columns=(0,))])
def test_a_sparse_input_is_refused_with_the_fix(layer):
    A_in, params, _ = inputs(layer)
    with pytest.raises(TypeError, match=r"needs a dense input.*X.toarray\(\)"):
        layer.forward(csr_matrix(A_in), params)


def test_the_ntk_layer_takes_a_sparse_input_as_dense_does():
    A_in, params, G = inputs(NTKDense(3))
    A_in[A_in < 0] = 0
    sparse = NTKDense(3).backward(G, csr_matrix(A_in), params)
    dense = NTKDense(3).backward(G, A_in, params)
    assert_allclose(NTKDense(3).forward(csr_matrix(A_in), params)[0],
                    NTKDense(3).forward(A_in, params)[0], rtol=1e-14)
    assert_allclose(sparse[0][0], dense[0][0], rtol=1e-14)


# ------------------------------------------------------------ through estimators
def tabular_layers(hidden, activation):
    """Codes in column 0 (4 levels), numbers in columns 1-2: embedded, periodic
    features of the numbers, scaled, an NTK layer with a parametric activation,
    then the perceptron's Dense layers with a PReLU after the hidden one."""
    def network_layers(self, units, activations):
        dense = perceptron_layers(units, activations)
        return (CategoricalEmbedding(columns=(0,), levels=(4,), dim=2),
                PeriodicEmbedding(columns=(0, 1), frequencies=4, dim=3), FeatureScale(),
                NTKDense(hidden, "identity"), ParametricActivation(activation),
                dense[0], PReLU(), *dense[1:])
    return network_layers


class TabularLayersRegressor(BackpropRegressor):
    _network_layers = tabular_layers(6, "mish")


class TabularLayersClassifier(BackpropClassifier):
    _network_layers = tabular_layers(5, "selu")


@pytest.fixture
def loadable(monkeypatch):
    """The two estimators loadable from model files."""
    from skbackprop.persistence import _format

    classes = _format._classes()
    monkeypatch.setattr(_format, "_classes", lambda: {
        **classes, "TabularLayersRegressor": TabularLayersRegressor,
        "TabularLayersClassifier": TabularLayersClassifier})


def data(n=160, seed=0):
    rng = np.random.RandomState(seed)
    codes = rng.randint(0, 4, size=n)
    X = np.column_stack([codes, rng.normal(size=(n, 2))])
    y = np.array([-1.0, 0.5, 2.0, 0.0])[codes] + np.sin(3 * X[:, 1]) + np.abs(X[:, 2])
    return X, y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_network_of_tabular_layers_fits(solver):
    X, y = data()
    # (adam scales each layer's steps by its lr_factors: 0.1 for the periodic
    # embedding and the activations' parameters, hence the larger base rate)
    model = TabularLayersRegressor(hidden_layer_sizes=(8,), activation="identity",
                                   solver=solver, max_iter=200, learning_rate_init=0.03,
                                   random_state=0).fit(X, y)
    assert model.score(X, y) > 0.9
    E, pbld, s, ntk, m, dense, a, out = model._layer_parameters
    assert (dense, out) == ([], []) and [p.shape for p in pbld] == [
        (2, 4), (2, 4), (2, 4, 2), (2, 2)]
    assert [p.shape for p in ntk] == [(2 + 2 + 2 * 2, 6), (6,)]  # codes -> 2, x -> 2 + 2
    assert not np.allclose(s[0], 1.0) and not np.allclose(m[0], 1.0)
    assert not np.allclose(a[0], 0.25) and E[0].shape == (4, 2)


def test_the_gradient_check_passes_through_every_layer():
    X, y = data(30)
    model = TabularLayersRegressor(hidden_layer_sizes=(4,), activation="identity",
                                   alpha=0.3, random_state=0)
    report = check_gradients(model, X, y, sample_weight=np.linspace(0.5, 2, 30))
    assert list(zip(report["layer"], report["parameter"])) == [
        (1, "E0"), (2, "w"), (2, "phase"), (2, "V"), (2, "c"), (3, "s"), (4, "W"),
        (4, "b"), (5, "m"), (6, "W"), (6, "b"), (7, "a"), (8, "W"), (8, "b")]
    assert (report["relative_error"] < 1e-7).all(), report
    classifier = TabularLayersClassifier(hidden_layer_sizes=(3,), activation="identity",
                                         alpha=0.1, random_state=1)
    report = check_gradients(classifier, X, (y > 0.5).astype(int))
    assert (report["relative_error"] < 1e-7).all(), report


@pytest.mark.usefixtures("loadable")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_network_of_tabular_layers_is_traced_saved_and_loaded(tmp_path):
    X, y = data()
    labels = np.array(["low", "mid", "high"])[np.digitize(y, [0.3, 1.5])]
    for model, target in [
            (TabularLayersRegressor(hidden_layer_sizes=(5,), activation="identity",
                                    solver="lbfgs", max_iter=50, random_state=0), y),
            (TabularLayersClassifier(hidden_layer_sizes=(4,), activation="identity",
                                     max_iter=30, random_state=0), labels)]:
        model.fit(X, target)
        trace = backprop_trace(model, X[:3], target[:3])
        assert "dL/ds[0](layer 3) = " in str(trace)
        path = tmp_path / f"{type(model).__name__}.skbp"
        skbackprop.save(model, path)
        loaded = skbackprop.load(path)
        assert type(loaded) is type(model)
        assert_array_equal(loaded.predict(X), model.predict(X))
        for got, kept in zip(loaded._layer_parameters, model._layer_parameters, strict=True):
            assert all(np.array_equal(p, q) for p, q in zip(got, kept, strict=True))
    assert_allclose(loaded.predict_proba(X).sum(axis=1), 1.0)


def test_a_code_the_network_never_saw_is_refused_at_predict_time():
    X, y = data(40)
    model = TabularLayersRegressor(hidden_layer_sizes=(3,), activation="identity",
                                   solver="lbfgs", max_iter=5, random_state=0)
    with pytest.warns(Warning):
        model.fit(X, y)
    X[3, 0] = 4  # levels 0..3
    with pytest.raises(ValueError, match=r"column 0 .* holds 4\.0"):
        model.predict(X)


def test_mish_and_selu_from_one_exponential_equal_their_definitions():
    """The one-exponential spellings against the definitions in extended
    precision, from deep negatives through 0 to past the cap at z = 20."""
    z = np.concatenate([np.linspace(-60, 60, 2001), [-1e-12, 0.0, 1e-12, 19.99, 20.0,
                                                     20.01, 700.0, -745.0]])
    x = z.astype(np.longdouble)
    softplus = np.logaddexp(np.longdouble(0), x)
    t = np.tanh(softplus)
    sigma = 1 / (1 + np.exp(-x))

    def error(ours, reference):  # relative, absolute below 1
        return np.max(np.abs(ours - reference) / np.maximum(np.abs(reference), 1))

    assert error(mish(z), x * t) < 1e-15
    assert error(mish_derivative(z), t + x * sigma * (1 - t * t)) < 1e-15
    lam, alp = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
    assert error(selu(z), np.where(x > 0, lam * x, lam * alp * np.expm1(x))) < 1e-15
    assert error(selu_derivative(z), np.where(x > 0, lam, lam * alp * np.exp(x))) < 1e-15


@pytest.mark.parametrize("name", sorted(PARAMETRIC_ACTIVATIONS))
def test_f_and_f_prime_at_once_are_the_numbers_of_each_alone(name):
    f, derivative, both = PARAMETRIC_ACTIVATIONS[name]
    z = np.concatenate([np.linspace(-60, 60, 2001), [-0.0, 0.0, 20.0, 700.0, -745.0]])
    value, slope = both(z)
    assert_array_equal(value, f(z.copy()))
    assert_array_equal(slope, derivative(z))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(PARAMETRIC_ACTIVATIONS))
def test_f_minus_z_and_f_prime_in_place_are_the_numbers_of_both(name, dtype):
    """A training step's spelling (into the layer's buffers, fewer passes) gives
    the numbers of f and f' at once to the last bit, in either precision, at the
    edges too: signed zeros, the cap at 20, overflow, infinities and NaN."""
    both = PARAMETRIC_ACTIVATIONS[name][2]
    z = np.concatenate([np.linspace(-60, 60, 2001), [-0.0, 0.0, 1e-30, 20.0, 20.5,
                                                     700.0, -745.0, np.inf, -np.inf,
                                                     np.nan]]).astype(dtype)
    Z = np.stack([z, z[::-1]], axis=1)
    change, slope = np.full_like(Z, 7.0), np.full_like(Z, 7.0)
    with np.errstate(all="ignore"):
        value, derivative = both(Z)
        out = CHANGE_INTO[name](Z, change, slope)
        assert out[0] is change and out[1] is slope
        assert_array_equal(change, value - Z)
    assert_array_equal(slope, derivative)
    assert change.dtype == slope.dtype == dtype


@pytest.mark.parametrize("function", sorted(PARAMETRIC_ACTIVATIONS))
def test_a_step_in_the_workspace_gives_the_numbers_without_it(function):
    """The parametric activation keeps f(A_in) - A_in and f'(A_in) in its buffers
    from forward to backward, the periodic embedding x, P and cos(P): the same loss
    and gradients as computing them again."""
    rng = np.random.default_rng(3)
    layers = (PeriodicEmbedding(columns=(0, 2), frequencies=5, dim=3),
              Dense(6, "identity"), ParametricActivation(function),
              Dense(6, "identity"), ParametricActivation(function),
              Dense(1, "identity", output=True))
    X, Y = rng.normal(size=(9, 4)), rng.normal(size=(9, 1))
    params = [[rng.normal(size=s) for s in layer.parameter_shapes(w)]
              for layer, w in zip(layers, network_widths(layers, 4))]
    plain = loss_and_gradients(X, Y, None, layers, params, "squared_error", 0.1)
    ws = make_workspace(layers, params, 4, 16)
    fast = loss_and_gradients(X, Y, None, layers, ws.params, "squared_error", 0.1,
                              workspace=ws)
    assert fast[0] == plain[0]
    for ours, theirs in zip(fast[1], plain[1]):
        for a, b in zip(ours, theirs):
            assert_array_equal(a, b)
