"""The step seam (_steps): a whole fit through ArrayStep against a reference loop
written here from the plain functions (one array per parameter, nothing
preallocated), within 1e-12; dropout, reproducible and off at predict time; a
layer's learning-rate factors and decoupled weight decay through a fit, against
torch's AdamW."""

import warnings
from typing import NamedTuple

import numpy as np
import pytest
from math_helpers import mlp_loss_and_gradients, network
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._core.layers import Dense, perceptron_layers
from skbackprop._core.network import loss_and_gradients
from skbackprop._core.optimizers import adam_init, adam_step, sgd_init, sgd_step
from skbackprop._engine.steps import optimizer_vectors

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def reference_fit(X, Y, coefs, intercepts, activations, loss, solver, batch_size,
                  epochs, learning_rate, alpha):
    """Mini-batch training from the plain functions: rows in order, one array per
    parameter, every result freshly allocated (no workspace, no flat vector)."""
    params = [W.copy() for W in coefs] + [b.copy() for b in intercepts]
    n_layers = len(coefs)
    state = (sgd_init if solver == "sgd" else adam_init)(params)
    for _ in range(epochs):
        for start in range(0, X.shape[0], batch_size):
            rows = slice(start, start + batch_size)
            _, cg, ig = mlp_loss_and_gradients(X[rows], Y[rows], None, params[:n_layers],
                                           params[n_layers:], activations, loss, alpha)
            if solver == "sgd":
                sgd_step(params, cg + ig, state, learning_rate, momentum=0.9)
            else:
                adam_step(params, cg + ig, state, learning_rate)
    return params[:n_layers], params[n_layers:]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_fit_equals_a_reference_loop(solver, kind):
    rng = np.random.RandomState(2)
    X = rng.normal(size=(95, 6))
    if kind == "regressor":
        y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
        Y, loss, out = y[:, None], "squared_error", "identity"
        est = BackpropRegressor
    else:
        y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
        Y, loss, out = np.eye(3)[y], "log_loss", "softmax"
        est = BackpropClassifier
    activations = ["relu", "relu", out]
    coefs, intercepts = network(activations, 6, Y.shape[1], rng)
    model = est(hidden_layer_sizes=(5, 6), solver=solver, batch_size=16, shuffle=False,
                max_iter=5, learning_rate_init=0.01, alpha=0.01, warm_start=True)
    model.coefs_, model.intercepts_ = coefs, intercepts  # the start weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    ref_coefs, ref_intercepts = reference_fit(
        X, Y, coefs, intercepts, activations, loss, solver, 16, 5, 0.01, 0.01)
    for got, expected in zip(model.coefs_ + model.intercepts_, ref_coefs + ref_intercepts):
        assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@QUIET
def test_dropout_is_reproducible_and_off_at_predict_time(wavy):
    X, y = wavy
    params = dict(hidden_layer_sizes=(20, 10), dropout=[0.3, 0.1], max_iter=10)
    a = BackpropRegressor(random_state=3, **params).fit(X, y)
    b = BackpropRegressor(random_state=3, **params).fit(X, y)
    c = BackpropRegressor(random_state=4, **params).fit(X, y)
    for p, q in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(p, q)  # bit-identical
    assert not np.allclose(a.coefs_[0], c.coefs_[0])
    # prediction uses every unit, unscaled: the plain forward pass by hand
    H1 = np.maximum(X @ a.coefs_[0] + a.intercepts_[0], 0)
    H2 = np.maximum(H1 @ a.coefs_[1] + a.intercepts_[1], 0)
    assert_allclose(a.predict(X), (H2 @ a.coefs_[2] + a.intercepts_[2]).ravel(),
                    rtol=1e-12)
    assert_allclose(a.predict(X), a.predict(X))


@QUIET
def test_dropout_zero_changes_nothing(wavy):
    X, y = wavy
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    plain = BackpropRegressor(**params).fit(X, y)
    zero = BackpropRegressor(dropout=0.0, **params).fit(X, y)
    np.testing.assert_array_equal(plain.coefs_[0], zero.coefs_[0])


@QUIET
def test_dropout_regularizes():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5))
    y = X[:, 0] + rng.normal(scale=1.0, size=60)  # mostly noise to memorise
    params = dict(hidden_layer_sizes=(200,), max_iter=400, random_state=0,
                  learning_rate_init=0.01, n_iter_no_change=np.inf)
    free = BackpropRegressor(**params).fit(X, y)
    dropped = BackpropRegressor(dropout=0.5, **params).fit(X, y)
    # dropout keeps the big network from memorising the training noise
    assert dropped.score(X, y) < free.score(X, y) - 0.1


def test_dropout_is_checked(wavy):
    X, y = wavy
    with pytest.raises(ValueError, match="lbfgs"):
        BackpropRegressor(solver="lbfgs", dropout=0.2).fit(X, y)
    with pytest.raises(ValueError, match="one per hidden"):
        BackpropRegressor(hidden_layer_sizes=(4, 4), dropout=[0.1]).fit(X, y)
    with pytest.raises(ValueError):
        BackpropRegressor(dropout=1.0).fit(X, y)


# ------------------------- learning-rate factors and weight decay through a fit

class FastScale(NamedTuple):
    """A per-feature scaling, A = A_in * s, whose s learns 6 times faster."""

    kind = "test_fast_scale"
    parameter_names = ("s",)
    decayed = ()
    lr_factors = (6.0,)

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


class SlowBiasDense(Dense):
    """A Dense layer whose bias learns at a tenth of the rate."""

    lr_factors = (1.0, 0.1)


class FactorRegressor(BackpropRegressor):
    """A regressor with the layers above (fitted below with decoupled weight
    decay)."""

    def _network_layers(self, units, activations):
        dense = perceptron_layers(units, activations)
        return (FastScale(), SlowBiasDense(*dense[0]), *dense[1:])


def test_optimizer_vectors_are_the_factors_in_pack_order():
    """pack order: every layer's first array (s, W1, W2), then every second (b1,
    b2); the decay rate weight_decay * f on the decayed arrays (W1, W2) only."""
    layers = FactorRegressor()._network_layers([3, 1], ["relu", "identity"])
    shapes = [[(2,)], [(2, 3), (3,)], [(3, 1), (1,)]]
    factors, decay = optimizer_vectors(layers, shapes, 0.05)
    assert_allclose(factors, [6, 6] + [1] * 6 + [1] * 3 + [0.1] * 3 + [1])
    assert_allclose(decay, [0, 0] + [0.05] * 6 + [0.05] * 3 + [0] * 3 + [0])
    plain = perceptron_layers([3, 1], ["relu", "identity"])
    assert optimizer_vectors(plain, shapes[1:], 0.0) == (None, None)
    assert optimizer_vectors(plain, shapes[1:], 0.1)[0] is None


@pytest.mark.parametrize("factors", [(1.0,), (1.0, -0.1), (1.0, float("nan")),
                                     (1.0, "fast")])
def test_lr_factors_are_checked(factors):
    bad = type("BadDense", (Dense,), {"lr_factors": factors})(3, "relu")
    with pytest.raises(ValueError, match=r"dense layer's lr_factors .* need one finite "
                                         r"number >= 0 per parameter array \(2: \['W', "
                                         r"'b'\]\)"):
        optimizer_vectors([bad], [[(2, 3), (3,)]], 0.0)


@QUIET
def test_a_fit_with_lr_factors_and_weight_decay_is_torchs_adamw_loop():
    """The whole fit (batches in order) against torch's AdamW with one parameter
    group per array, its lr eta f and weight decay on the decayed arrays, on the
    gradients of the same network; torch's epsilon is set each step so that its
    formula is ours (see test_optimizers)."""
    torch = pytest.importorskip("torch")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 2))
    y = np.sin(X[:, 0]) + X[:, 0] * X[:, 1]
    s, W1, b1 = rng.uniform(0.5, 1.5, 2), rng.normal(size=(2, 5)), rng.normal(size=5)
    W2, b2 = rng.normal(size=(5, 1)), rng.normal(size=1)
    model = FactorRegressor(hidden_layer_sizes=(5,), activation="tanh", batch_size=16,
                            shuffle=False, max_iter=4, learning_rate_init=0.05,
                            beta_2=0.95, warm_start=True, weight_decay=0.05)
    model.coefs_, model.intercepts_ = [W1.copy(), W2.copy()], [b1.copy(), b2.copy()]
    model._layer_parameters = [[s.copy()], [], []]
    model.fit(X, y)

    layers = model._network_layers([5, 1], ["tanh", "identity"])
    params = [[torch.tensor(p, requires_grad=True) for p in ps]
              for ps in ([s], [W1, b1], [W2, b2])]
    groups = [{"params": [p], "lr": 0.05 * f, "weight_decay": 0.05 * (k in layer.decayed)}
              for layer, ps in zip(layers, params)
              for k, (p, f) in enumerate(zip(ps, getattr(layer, "lr_factors", (1.0, 1.0))))]
    adamw = torch.optim.AdamW(groups, betas=(0.9, 0.95))
    t = 0
    for _ in range(4):
        for start in range(0, 50, 16):
            rows = slice(start, start + 16)
            arrays = [[p.detach().numpy() for p in ps] for ps in params]
            _, grads = loss_and_gradients(X[rows], y[rows, None], None, layers, arrays,
                                          "squared_error", model.alpha)
            for ps, gs in zip(params, grads):
                for p, g in zip(ps, gs):
                    p.grad = torch.tensor(g)
            t += 1
            for group in adamw.param_groups:
                group["eps"] = 1e-8 / np.sqrt(1 - 0.95**t)
            adamw.step()
    fitted = [model._layer_parameters[0][0], model.coefs_[0], model.intercepts_[0],
              model.coefs_[1], model.intercepts_[1]]
    for got, p in zip(fitted, [p for ps in params for p in ps]):
        assert_allclose(got, p.detach().numpy(), rtol=1e-10, atol=1e-12)


@QUIET
def test_weight_decay_takes_neither_the_per_row_path_nor_the_fused_update(wavy):
    """Neither writes the decay out: a fit with it trains on NumPy's update
    whatever the per-row limit and the kernels, and differs from one without."""
    from skbackprop import config_context

    X, y = wavy[0][:60], wavy[1][:60]
    params = dict(hidden_layer_sizes=(3,), solver="sgd", batch_size=1, max_iter=3,
                  learning_rate_init=0.01, random_state=0)
    with config_context(rowwise_limit=0, fast_kernels=False):
        array = BackpropRegressor(weight_decay=0.5, **params).fit(X, y)
    # (the per-row path would take this one)
    row = BackpropRegressor(weight_decay=0.5, **params).fit(X, y)
    assert_allclose(row.coefs_[0], array.coefs_[0], rtol=1e-13)
    plain = BackpropRegressor(**params).fit(X, y)
    assert np.abs(plain.coefs_[0] - row.coefs_[0]).max() > 1e-3
    pytest.importorskip("numba")
    params = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    with config_context(fast_kernels=True, fast_kernels_min_work=0):
        fused = BackpropRegressor(weight_decay=0.5, **params).fit(X, y)
    with config_context(fast_kernels=False):
        numpy = BackpropRegressor(weight_decay=0.5, **params).fit(X, y)
    assert_array_equal(fused.coefs_[0], numpy.coefs_[0])
    assert np.abs(BackpropRegressor(**params).fit(X, y).coefs_[0]
                  - numpy.coefs_[0]).max() > 1e-4


@QUIET
def test_factors_and_decay_train_the_same_in_another_array_namespace():
    """On torch tensors (the Array API step) the vectors follow the parameters'
    namespace and dtype: the same numbers as NumPy's step."""
    torch = pytest.importorskip("torch")
    import sklearn

    rng = np.random.RandomState(0)
    X, params = rng.normal(size=(60, 2)), dict(hidden_layer_sizes=(4,), max_iter=3,
                                               random_state=0, weight_decay=0.05)
    y = np.sin(X[:, 0])
    host = FactorRegressor(**params).fit(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        moved = FactorRegressor(**params).fit(torch.tensor(X), torch.tensor(y))
    assert isinstance(moved.coefs_[0], torch.Tensor)
    assert_allclose(moved.coefs_[0].numpy(), host.coefs_[0], rtol=1e-12)
    assert_allclose(moved._layer_parameters[0][0].numpy(), host._layer_parameters[0][0],
                    rtol=1e-12)
