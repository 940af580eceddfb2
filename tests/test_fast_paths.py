"""The optimized training paths give the reference path's numbers (issue 5).

* The workspace path (preallocated buffers, flat parameter vector) against the
  allocating path of the same functions: bit for bit.
* A whole fit against a reference loop written here from the plain functions
  (one array per parameter, nothing preallocated): within 1e-12.
* The per-row path on Python floats (``_rowwise``) against the array path, by fitting
  with and without it: within 1e-12.
"""

import warnings

import numpy as np
import pytest
from math_helpers import make_targets
from numpy.testing import assert_allclose, assert_array_equal
from scipy.sparse import csr_matrix
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor, _rowwise
from skbackprop._init import initialize
from skbackprop._network import loss_and_gradients, make_workspace, network_units
from skbackprop._optimizers import adam_init, adam_step, sgd_init, sgd_step
from skbackprop._start import Model

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

NETWORKS = [  # hidden activations + output activation, loss
    (["relu", "softmax"], "log_loss"),
    (["tanh", "logistic"], "binary_log_loss"),
    (["logistic", "gelu", "identity"], "squared_error"),
    (["elu", "exp"], "poisson"),
    (["softplus", "identity"], "absolute_error"),
]


def network(activations, n_in, n_out, rng, dtype=np.float64):
    sizes = [n_in, *[5 + i for i in range(len(activations) - 1)], n_out]
    coefs, intercepts = initialize(sizes, "glorot_uniform", activations, rng, dtype)
    intercepts = [b + rng.normal(scale=0.1, size=b.shape).astype(dtype) for b in intercepts]
    return coefs, intercepts


@pytest.mark.parametrize("activations, loss", NETWORKS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_workspace_gives_the_allocating_path_bit_for_bit(activations, loss, weighted,
                                                          dtype):
    rng = np.random.RandomState(0)
    n, n_in, n_out = 13, 4, 3
    X = rng.normal(size=(n, n_in)).astype(dtype)
    Y = make_targets(loss, rng, n, n_out).astype(dtype)
    sw = rng.uniform(0.5, 2, size=n).astype(dtype) if weighted else None
    coefs, intercepts = network(activations, n_in, n_out, rng, dtype)
    plain = loss_and_gradients(X, Y, sw, coefs, intercepts, activations, loss, 0.3)
    ws = make_workspace(coefs, intercepts, activations, batch_size=20)  # n < batch
    fast = loss_and_gradients(X, Y, sw, ws.coefs, ws.intercepts, activations, loss, 0.3,
                              workspace=ws)
    assert fast[0] == plain[0]
    for got, expected in zip(fast[1] + fast[2], plain[1] + plain[2]):
        assert_array_equal(got, expected)
    # and the gradients are the workspace's flat vector
    assert all(np.shares_memory(g, ws.grad) for g in fast[1] + fast[2])


@pytest.mark.parametrize("step, init, options", [
    (sgd_step, sgd_init, dict(momentum=0.0)),
    (sgd_step, sgd_init, dict(momentum=0.9, nesterov=True)),
    (sgd_step, sgd_init, dict(momentum=0.9, nesterov=False)),
    (adam_step, adam_init, {}),
])
def test_flat_optimizer_step_equals_per_array_steps(step, init, options):
    """One flat vector updated in place with scratch space, against the parameter
    arrays updated one by one with temporaries: the same numbers."""
    rng = np.random.RandomState(1)
    params = [rng.normal(size=(4, 3)), rng.normal(size=3)]
    flat = np.concatenate([p.ravel() for p in params])
    state, flat_state = init(params), init([flat])
    for _ in range(5):
        grads = [rng.normal(size=p.shape) for p in params]
        flat_grad = np.concatenate([g.ravel() for g in grads])
        step(params, grads, state, 0.05, **options)
        step([flat], [flat_grad], flat_state, 0.05, scratch=[np.empty_like(flat)], **options)
        assert_array_equal(flat, np.concatenate([p.ravel() for p in params]))


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
            _, cg, ig = loss_and_gradients(X[rows], Y[rows], None, params[:n_layers],
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


ROW_CASES = {
    "tutorial regression (identity 2-2-1)": (
        BackpropRegressor, dict(activation="identity", momentum=0.0, alpha=0.0)),
    "lab sigmoid units, squared error": (
        BackpropRegressor, dict(activation="logistic", out_activation="logistic",
                                momentum=0.0)),
    "tanh, nesterov momentum, L2": (
        BackpropRegressor, dict(activation="tanh", momentum=0.9, alpha=0.01)),
    "relu, classical momentum": (
        BackpropRegressor, dict(activation="relu", momentum=0.5,
                                nesterovs_momentum=False)),
    "placement classifier (sigmoid, cross-entropy)": (
        BackpropClassifier, dict(activation="logistic", momentum=0.0)),
    "multilabel classifier": (BackpropClassifier, dict(activation="tanh")),
}


@QUIET
@pytest.mark.parametrize("case", list(ROW_CASES))
@pytest.mark.parametrize("weighted", [False, True])
def test_per_row_path_equals_the_array_path(case, weighted, monkeypatch):
    est, params = ROW_CASES[case]
    rng = np.random.RandomState(3)
    X = rng.normal(size=(30, 3))
    if est is BackpropRegressor:
        y = 0.5 + 0.2 * np.tanh(X @ [1.0, -0.5, 0.3])
        if case.startswith("relu"):
            y = np.column_stack([y, X[:, 0]])  # and two outputs
    elif case.startswith("multilabel"):
        y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(int)
    else:
        y = (X[:, 0] - X[:, 1] > 0).astype(int)
    sw = rng.uniform(0, 2, size=30) if weighted else None
    if weighted:
        sw[[3, 7]] = 0.0  # rows of weight 0 are skipped by both paths
    # The paths differ only in the last bit of a library tanh and of BLAS's fused
    # multiply-adds; training amplifies such differences, mildly at this learning
    # rate (at 0.05 with momentum 0.9 the multilabel network's weights reach 6 and a
    # 1-ulp difference grows to 5e-8 within 8 epochs: chaos, not a different method).
    settings = dict(hidden_layer_sizes=(4, 3), solver="sgd", batch_size=1,
                    learning_rate_init=0.02, max_iter=8, random_state=0, **params)
    fast = est(**settings).fit(X, y, sample_weight=sw)
    monkeypatch.setattr(_rowwise, "MAX_PARAMETERS", 0)  # every network is then too big
    reference = est(**settings).fit(X, y, sample_weight=sw)
    for got, expected in zip(fast.coefs_ + fast.intercepts_,
                             reference.coefs_ + reference.intercepts_):
        assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert_allclose(fast.loss_curve_, reference.loss_curve_, rtol=1e-12)
    velocities = fast._optimizer_state["velocities"][0]
    assert_allclose(velocities, reference._optimizer_state["velocities"][0],
                    rtol=1e-10, atol=1e-14)


def _trains_row_by_row(reg, X):
    """Whether a fit of ``reg`` (fitted, for its network) on X goes to _rowwise."""
    n_hidden = len(reg.coefs_) - 1
    model = Model(network_units(reg.coefs_), reg._layer_activations(), reg._loss_name(),
                  reg.alpha, reg._dropout(n_hidden))
    return _rowwise.accepts(model, reg, reg._batch_size(X.shape[0]), X)


def test_per_row_path_is_taken_only_where_it_applies():
    reg = BackpropRegressor(hidden_layer_sizes=(3,), solver="sgd", batch_size=1)
    X, y = np.ones((4, 2)), np.ones(4)
    reg.fit(X, y)
    assert _trains_row_by_row(reg, X)
    assert not _trains_row_by_row(reg, X.astype(np.float32))
    assert not _trains_row_by_row(reg, csr_matrix(X))
    assert not _trains_row_by_row(reg.set_params(batch_size=2), X)
    assert not _trains_row_by_row(reg.set_params(batch_size=1, solver="adam"), X)
    assert not _trains_row_by_row(reg.set_params(solver="sgd", clip_norm=1.0), X)
    assert not _trains_row_by_row(reg.set_params(clip_norm=None, dropout=0.1), X)
    # 2-h-1 has 4 h + 1 weights and biases: 397 written out, 401 too many
    assert _rowwise.supports([2, 99, 1], ["relu", "identity"], "squared_error")
    assert _rowwise.MAX_PARAMETERS == 400
    reg.set_params(dropout=0.0, hidden_layer_sizes=(100,)).fit(X, y)
    assert not _trains_row_by_row(reg, X)
    assert not _rowwise.supports([2, 3, 1], ["gelu", "identity"], "squared_error")
    assert not _rowwise.supports([2, 3, 3], ["relu", "softmax"], "log_loss")
    assert not _rowwise.supports([2, 3, 1], ["relu", "identity"], "binary_log_loss")


@QUIET
def test_per_row_path_interrupted_mid_epoch_leaves_a_consistent_model(monkeypatch):
    X = np.random.RandomState(0).normal(size=(10, 2))
    y = X[:, 0]
    reg = BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                            max_iter=3, random_state=0)
    original, calls = _rowwise.sgd_rows, []

    def interrupted(rows, order, *args):
        calls.append(order)
        if len(calls) == 2:  # the second epoch: five rows, then Ctrl-C
            original(rows, order[:5], *args)
            raise KeyboardInterrupt
        return original(rows, order, *args)

    monkeypatch.setattr(_rowwise, "sgd_rows", interrupted)
    with pytest.warns(UserWarning, match="interrupted"):
        reg.fit(X, y)
    assert reg.n_iter_ == 1 and len(reg.loss_curve_) == 1
    assert np.isfinite(reg.predict(X)).all()


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
@pytest.mark.parametrize("scale", [1.0, 60.0, 1e4])
def test_softmax_without_the_row_shift_where_safe_equals_scipys(dtype, rtol, scale):
    """Within the bounds the row maximum is not subtracted (cheaper); beyond them it
    is: either way scipy's softmax to rounding, rows summing to 1."""
    from scipy.special import softmax as scipy_softmax

    from skbackprop._activations import softmax
    Z = (np.random.RandomState(0).normal(size=(50, 7)) * scale).astype(dtype)
    expected = scipy_softmax(Z.astype(np.float64), axis=1)
    got = softmax(Z.copy())
    assert got.dtype == dtype
    assert_allclose(got, expected, rtol=rtol, atol=1e-300 if dtype == np.float64 else 1e-37)
    assert_allclose(got.sum(axis=1), 1, rtol=rtol)


@QUIET
def test_written_out_epoch_reads_as_the_tutorials_formulas():
    """The generated code for the tutorial's 2-2-1 network is the tutorial's chain
    rule, one line per unit and weight, and it is compiled once per network shape."""
    source = _rowwise.epoch_source((2, 2, 1), ("identity", "identity"), "squared_error",
                                   "plain", decay=False)
    for line in [
        "z1_0 = a0_0 * w1_0_0 + a0_1 * w1_1_0 + b1_0",
        "z2_0 = a1_0 * w2_0_0 + a1_1 * w2_1_0 + b2_0",
        "e0 = a2_0 - y_0",
        "loss = 0.5 * (e0 * e0)",
        "d2_0 = e0",
        "d1_1 = d2_0 * w2_1_0",  # the output error sent back through w2_1_0
        "g = a1_1 * d2_0",  # dl/dw2_1_0
        "vw2_1_0 = g * step",
        "w2_1_0 += vw2_1_0",
        "b2_0 += vb2_0",
    ]:
        assert f"\n            {line}\n" in source
    assert "decay" not in source.split("for r in order")[1]
    # the parameters unpack from the flat vector in _network.pack order
    reg = BackpropRegressor(hidden_layer_sizes=(2,)).fit(np.ones((3, 2)), np.ones(3))
    names = _rowwise.parameter_names([2, 2, 1])
    flat = np.concatenate([W.ravel() for W in reg.coefs_] + reg.intercepts_)
    assert flat[names.index("w1_1_0")] == reg.coefs_[0][1, 0]
    assert flat[names.index("b2_0")] == reg.intercepts_[1][0]
    _rowwise.compiled_epoch.cache_clear()
    for _ in range(2):
        BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                          max_iter=2).fit(np.ones((3, 2)), np.ones(3))
    assert _rowwise.compiled_epoch.cache_info().misses == 1


def test_written_out_epoch_keeps_the_rows_done_when_interrupted():
    """However the epoch ends, the lists hold the weights after the last row done."""
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(5, 2)).tolist(), rng.normal(size=(5, 1)).tolist()
    theta = rng.normal(size=9).tolist()
    args = ([2, 2, 1], ["tanh", "identity"], "squared_error", 0.1, 0.9, True, 0.01)
    done = [list(theta), [0.0] * 9]
    losses = _rowwise.sgd_rows((X, Y, None), [4, 0], done, *args)
    interrupted = [list(theta), [0.0] * 9]
    with pytest.raises(IndexError):  # row 7 does not exist: the epoch ends there
        _rowwise.sgd_rows((X, Y, None), [4, 0, 7, 1], interrupted, *args)
    assert interrupted == done and len(losses) == 2
    assert done[0] != theta
