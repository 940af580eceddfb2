"""Fused kernels (_engine.fused, _engine.kernels): the one-number spellings equal the NumPy ones,
the compiled loops (generated from the activation records) equal NumPy's step, fits
with and without them agree, small fits never import numba, and whatever stops numba
(no cache directory, its compiler off, a damaged cache) costs one warning, not a fit."""

import ast
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import warnings
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse
from math_helpers import mlp_loss_and_gradients, mlp_workspace
from numpy.testing import assert_allclose, assert_array_equal

import skbackprop
from skbackprop import (
    BackpropClassifier,
    BackpropRegressor,
    config_context,
    fast_kernels,
    get_config,
)
from skbackprop._core.activations import ACTIVATIONS, Activation
from skbackprop._core.losses import LOSSES, loss_value, output_delta
from skbackprop._core.optimizers import (
    adam_at,
    adam_init,
    adam_step,
    adam_step_size,
    sgd_at,
    sgd_init,
    sgd_step,
)
from skbackprop._engine import fused as _fused
from skbackprop._engine.fused import available, fit_work, kernels

PACKAGE = Path(skbackprop.__file__).resolve().parent
FORWARD = sorted(n for n, f in ACTIVATIONS.items() if f.forward_at is not None)
DERIVATIVE = sorted(n for n, f in ACTIVATIONS.items() if f.derivative_at is not None)

SPECIAL = np.array([0.0, -0.0, 1e-300, -1e-300, 3.5, -3.5, 1e300, -1e300, np.inf, -np.inf,
                    np.nan])


def values(size=200, seed=0):
    """Ordinary numbers, exact zeros and the special values, in a 2-D array."""
    z = np.random.default_rng(seed).normal(scale=3, size=size)
    return np.concatenate([z, SPECIAL])[None, :]


@pytest.mark.parametrize("name", FORWARD)
def test_each_forward_spelling_equals_the_numpy_one(name):
    Z = values()
    f = ACTIVATIONS[name]
    with np.errstate(all="ignore"):
        expected = f.forward(Z.copy())
        spelled = np.array([[f.forward_at(z) for z in Z[0]]])
    assert_array_equal(spelled, expected)  # bit for bit, NaN where NumPy has NaN


@pytest.mark.parametrize("name", DERIVATIVE)
def test_each_derivative_spelling_equals_the_numpy_one(name):
    f = ACTIVATIONS[name]
    with np.errstate(all="ignore"):
        A = f.forward(values().copy())
        delta = values(seed=1)[:, ::-1].copy()
        expected = f.derivative(A, delta.copy(), None)
        spelled = np.array([[f.derivative_at(a, d) for a, d in zip(A[0], delta[0])]])
    assert_array_equal(spelled, expected)


@pytest.mark.parametrize("momentum, nesterov", [(0, True), (0.9, True), (0.9, False)])
def test_the_optimizer_spellings_equal_the_numpy_steps(momentum, nesterov):
    rng = np.random.default_rng(0)
    p, g = rng.normal(size=(2, 50))
    sgd_params, adam_params = p.copy(), p.copy()
    sgd_state, adam_state = sgd_init([sgd_params]), adam_init([adam_params])
    w_sgd, v = p.copy(), np.zeros_like(p)
    w_adam, m, s = p.copy(), np.zeros_like(p), np.zeros_like(p)
    counted = {"t": 0}
    for _ in range(3):
        sgd_step([sgd_params], [g.copy()], sgd_state, 0.1, momentum, nesterov)
        adam_step([adam_params], [g.copy()], adam_state, 0.01)
        step = adam_step_size(counted, 0.01, 0.9, 0.999)
        for i in range(p.size):
            w_sgd[i], v[i] = sgd_at(w_sgd[i], g[i], v[i], 0.1, momentum, nesterov)
            w_adam[i], m[i], s[i] = adam_at(w_adam[i], g[i], m[i], s[i], step, 0.9, 0.999,
                                            1e-8, 1 - 0.9, 1 - 0.999)
    assert_array_equal(w_sgd, sgd_params)
    assert_array_equal(v, sgd_state["velocities"][0])
    assert_array_equal(w_adam, adam_params)
    assert_array_equal(s, adam_state["vs"][0])


FUSED_LOSSES = sorted(n for n, loss in LOSSES.items()
                      if loss.link_at is not None or loss.link_row_at is not None)


def numpy_output(name, Z, b, Y):
    """The array path's output layer: A = f(Z + b), each row's loss, A - Y."""
    record = LOSSES[name]
    Z = Z + b
    A = ACTIVATIONS[record.link].forward(Z.copy())
    return A, record.value(Y, Z, A), output_delta(name, record.link, Y, A, Z)


def targets(name, rng, shape):
    if name == "log_loss":
        return np.eye(shape[1])[rng.integers(0, shape[1], shape[0])]
    if name == "binary_log_loss":
        return rng.integers(0, 2, shape).astype(float)
    return rng.normal(size=shape)


@pytest.mark.parametrize("name", FUSED_LOSSES)
def test_each_output_loop_equals_the_numpy_output_layer(name, loops):
    """A and delta bit for bit in float64 for the elementwise links (identity,
    logistic), and the loss of one output; the softmax's row sum is taken in another
    order, within a few units in the last place."""
    dtype, rng = loops.dtype, np.random.default_rng(4)
    for k in (1, 3) if name != "log_loss" else (2, 10):
        Z = rng.normal(scale=4, size=(41, k)).astype(dtype)
        b, Y = rng.normal(size=k).astype(dtype), targets(name, rng, (41, k)).astype(dtype)
        A_np, terms_np, delta_np = numpy_output(name, Z, b, Y)
        A, delta, terms = np.empty_like(Z), np.empty_like(Z), np.empty(41, dtype)
        fit = kernels(dtype, ["relu", LOSSES[name].link], "adam", 1, 0, name)
        fit.output_loss(Z, b, Y, A, delta, terms, 41)
        exact = name != "log_loss"  # (float32 too: the loops compute in float32)
        rtol = 0 if exact else (1e-14 if dtype == np.float64 else 1e-6)
        atol = 0 if exact else (1e-16 if dtype == np.float64 else 1e-7)
        assert_allclose(A, A_np, rtol=rtol, atol=atol)
        assert_allclose(delta, delta_np / 41, rtol=rtol, atol=atol)
        # (a row's sum over several outputs may be added in another order than
        # NumPy's einsum: the loss, not the gradient, within a unit in the last place)
        exact_terms = exact and k == 1
        assert_allclose(terms, terms_np, rtol=0 if exact_terms else max(rtol, 1e-15) * 4,
                        atol=0 if exact_terms else max(atol, 1e-15))


def test_the_output_loop_keeps_nan_and_inf_as_numpy_does():
    Z = values().T  # one output
    b, Y = np.zeros(1), np.ones_like(Z)
    for name in ("squared_error", "binary_log_loss"):
        fit = kernels(np.float64, ["relu", LOSSES[name].link], "sgd", 1, 0, name)
        with np.errstate(all="ignore"):
            A_np, terms_np, delta_np = numpy_output(name, Z, b, Y)
            A, delta, terms = np.empty_like(Z), np.empty_like(Z), np.empty(len(Z))
            fit.output_loss(Z, b, Y, A, delta, terms, len(Z))
        assert_array_equal(A, A_np)
        assert_array_equal(delta, delta_np / len(Z))
        assert_array_equal(terms, terms_np)


def test_a_softmax_row_of_huge_logits_stays_finite_as_in_numpy():
    fit = kernels(np.float64, ["relu", "softmax"], "adam", 1, 0, "log_loss")
    Z, b, Y = np.array([[1000.0, 999.0, -1000.0]]), np.zeros(3), np.array([[0.0, 1, 0]])
    A, delta, terms = np.empty_like(Z), np.empty_like(Z), np.empty(1)
    fit.output_loss(Z, b, Y, A, delta, terms, 1)
    A_np, _, _ = numpy_output("log_loss", Z, b, Y)
    assert_allclose(A, A_np, rtol=1e-15)
    assert_allclose(terms, [1 + np.log1p(np.exp(-1.0))], rtol=1e-15)  # logsumexp - z_y
    assert_allclose(loss_value("log_loss", Y, Z, A), terms[0], rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_softmax_loop_takes_numpys_exponentials(dtype):
    """The softmax output's loop, worked by hand: z + b less the row's largest (in
    the fit's dtype), NumPy's exp of the batch, each row divided by its sum added in
    order in float64; the loss (m - sum_k y_k (z_k + b_k)) + log of that sum in
    float64, rounded once to the dtype; bit for bit."""
    rng = np.random.default_rng(7)
    Z, b = rng.normal(scale=6, size=(37, 5)).astype(dtype), rng.normal(size=5).astype(dtype)
    Y = np.eye(5, dtype=dtype)[rng.integers(0, 5, 37)]
    fit = kernels(dtype, ["relu", "softmax"], "adam", 1, 0, "log_loss")
    A, delta, terms = np.empty_like(Z), np.empty_like(Z), np.empty(37, dtype)
    fit.output_loss(Z, b, Y, A, delta, terms, 37)
    for i in range(37):
        net = Z[i] + b  # (in the dtype, as the loop adds them)
        m = net.max()
        exps = np.exp(net - m)
        total, yz = 0.0, 0.0
        for e, y, v in zip(exps, Y[i], net):
            total += float(e)
            yz += float(y * v)
        expected = np.array([float(e) / total for e in exps], dtype)
        assert_array_equal(A[i], expected)
        assert_array_equal(delta[i], np.array(
            [float(a - y) / 37 for a, y in zip(expected, Y[i])], dtype))
        assert terms[i] == dtype((float(m) - yz) + math.log(total))


def test_no_output_loop_where_the_link_or_the_loss_has_none():
    assert kernels(np.float64, ["relu", "logistic"], "adam", 1, 0, "squared_error").output is None
    assert kernels(np.float64, ["relu", "exp"], "adam", 1, 0, "poisson").output is None
    assert kernels(np.float64, ["relu", "softmax"], "adam", 1, 0, None).output is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_the_update_loops_fold_the_l2_term_as_numpy_adds_it(solver, dtype):
    """The fused update adds l2 w to the first n gradients: the same numbers as the
    backward pass adding alpha W / sum_i s_i to the weights' gradient, bit for bit
    in either dtype (float32's loop computes in float32, as NumPy does)."""
    rng = np.random.default_rng(5)
    p, g = rng.normal(size=(2, 30)).astype(dtype)
    n, l2 = 20, 0.37
    fit = kernels(dtype, ["relu", "identity"], solver, 1, 0)
    with_term = g.copy()
    with_term[:n] += p[:n] * l2
    expected, got = p.copy(), p.copy()
    state = (adam_init if solver == "adam" else sgd_init)([expected])
    state_got = (adam_init if solver == "adam" else sgd_init)([got])
    spec = SimpleNamespace(solver=solver, momentum=0.9, nesterovs_momentum=True,
                           beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    for _ in range(3):
        if solver == "adam":
            adam_step([expected], [with_term.copy()], state, 0.01)
        else:
            sgd_step([expected], [with_term.copy()], state, 0.1, 0.9, True)
        _steps.fused_update(fit, spec, n)([got], [g.copy()], None, state_got,
                                          0.01 if solver == "adam" else 0.1, l2)
        with_term = g.copy()
        with_term[:n] += expected[:n] * l2
    assert got.dtype == dtype
    assert_array_equal(got, expected)
    moments = ("ms", "vs") if solver == "adam" else ("velocities",)
    for key in moments:
        assert_array_equal(state_got[key][0], state[key][0])


def test_the_switch_turns_kernels_off_and_restores():
    before = available()
    with fast_kernels(False):
        assert not fast_kernels.active()
    assert fast_kernels.active() == before
    assert kernels(np.float16, ["relu", "identity"], "adam", 1, 0) is None  # no loops


def test_a_fit_below_the_threshold_takes_numpys_step():
    min_work = get_config()["fast_kernels_min_work"]
    assert kernels(np.float64, ["relu", "identity"], "adam", min_work - 1, min_work) is None
    iris_default = fit_work(150, [4, 100, 3], 150, 200)
    assert iris_default < min_work / 100


def test_fit_work_counts_the_values_and_the_updates():
    # 10 rows in 3 batches of a 2-3-1 network (13 parameters), 4 epochs
    assert fit_work(10, [2, 3, 1], 4, 4) == (10 * 4 + 3 * 13) * 4


def run_python(code, **environ):
    """Run ``code`` in a fresh interpreter importing this skbackprop (or the one in
    ``root``, run from there: ``-c`` puts the working directory first); its stdout."""
    root = environ.pop("root", str(PACKAGE.parent))
    env = {**os.environ, **environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=600, cwd=root.split(os.pathsep)[0])
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_a_small_fit_never_imports_numba():
    """A default classifier on iris (1.2e6 work) costs what it costs without numba;
    so does one partial_fit epoch, however large max_iter (its work is its epochs')."""
    out = run_python("import sys, warnings\n"
                     "from sklearn.datasets import load_iris\n"
                     "from skbackprop import BackpropClassifier\n"
                     "warnings.simplefilter('ignore')\n"
                     "X, y = load_iris(return_X_y=True)\n"
                     "BackpropClassifier(random_state=0).fit(X, y)\n"
                     "BackpropClassifier(max_iter=10**7).partial_fit(X, y, classes=[0, 1, 2])\n"
                     "print('numba' in sys.modules)")
    assert out.split() == ["False"]


def module_graph():
    """The package's modules (dotted, inside skbackprop) and the package modules each
    imports, anywhere in it (lazy imports too)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        package = parts[:-1]  # where its relative imports start
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - node.level + 1]
                head = [*base, *(node.module.split(".") if node.module else [])]
                found |= ({".".join(head)} if node.module else
                          {".".join([*head, a.name]) for a in node.names})
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "skbackprop."):
                found.add(node.module.removeprefix("skbackprop."))
        graph[name] = {m for m in found if m}
    return graph


def test_the_math_core_imports_nothing_outside_it():
    """_core (activations, losses, layers, network, optimizers) imports neither the
    kernels nor the engine nor the estimators."""
    for module, imported in module_graph().items():
        if module.startswith("_core"):
            outside = {m for m in imported if not m.startswith("_core")}
            assert not outside, (module, outside)


def test_the_package_has_no_import_cycle():
    graph = module_graph()

    def reaches(start, target, seen):
        for module in graph.get(start, ()):
            if module == target or (module not in seen and reaches(module, target, seen
                                                                   | {module})):
                return True
        return False

    cycles = [m for m in graph if m and reaches(m, m, {m})]
    assert not cycles, cycles
    assert "_engine.fused" in graph["_engine.steps"]  # (the graph sees the imports)


# ------------------------------------------------------------ with numba only
numba = pytest.importorskip("numba")
from skbackprop._engine import kernels as _kernels  # (imports numba)
from skbackprop._engine import steps as _steps

EVERY = [*dict.fromkeys(FORWARD + DERIVATIVE), "identity"]  # each hidden, then output


@pytest.fixture(scope="module", params=[np.float64, np.float32], ids=["f64", "f32"])
def loops(request):
    """Kernels with a loop for every activation that has a spelling."""
    return kernels(request.param, EVERY, "adam", 1, 0)


@pytest.fixture(autouse=True)
def kernels_on():
    with fast_kernels(True):
        yield


@pytest.fixture
def every_fit_large_enough():
    with config_context(fast_kernels_min_work=0):
        yield


def test_every_activation_with_a_spelling_has_its_loops(loops):
    assert set(loops.forward) == set(FORWARD)
    assert set(loops.derivative) == set(DERIVATIVE)
    Z = np.ones((2, 3))
    assert not loops.add_bias_activate(Z, np.ones(3), "softmax")  # no spelling: NumPy's
    assert not loops.times_derivative(Z, Z, "gelu")
    assert_array_equal(Z, 1.0)  # untouched


@pytest.mark.parametrize("name", FORWARD)
def test_the_bias_and_activation_loop_equals_numpy(name, loops):
    dtype = loops.dtype
    rng = np.random.default_rng(0)
    Z, b = rng.normal(scale=3, size=(37, 11)).astype(dtype), rng.normal(size=11).astype(dtype)
    expected = ACTIVATIONS[name].forward(Z + b)
    assert loops.add_bias_activate(Z, b, name)
    assert_array_equal(Z, expected)  # (float32 too: the loop computes in float32)


@pytest.mark.parametrize("name", DERIVATIVE)
def test_the_derivative_loop_equals_numpy(name, loops):
    dtype = loops.dtype
    rng = np.random.default_rng(1)
    A = ACTIVATIONS[name].forward(rng.normal(scale=3, size=(37, 11))).astype(dtype)
    delta = rng.normal(size=A.shape).astype(dtype)
    expected = ACTIVATIONS[name].derivative(A, delta.copy(), None)
    assert loops.times_derivative(delta, A, name)
    assert_array_equal(delta, expected)  # (float32 too: constants in float32)


@pytest.mark.parametrize("name", DERIVATIVE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_outer_product_and_derivative_loop_equals_numpy(name, dtype):
    """Before an output layer of one unit: (d w^T) * f', NumPy's product of a column
    by a row then the derivative loop, to the last bit (and NumPy's derivative)."""
    loop = kernels(dtype, [name, "identity"], "sgd", 1, 0, one_output=True)
    assert set(loop.outer_derivative) == {name}
    rng = np.random.default_rng(2)
    A = ACTIVATIONS[name].forward(rng.normal(scale=3, size=(37, 11))).astype(dtype)
    d, w = (rng.normal(size=(k, 1)).astype(dtype) for k in (37, 11))
    upstream, expected = np.empty_like(A), np.multiply(d, w.T)
    loop.outer_derivative[name](d, w, A, upstream)
    assert_array_equal(upstream, ACTIVATIONS[name].derivative(A, expected.copy(), None))
    assert loop.times_derivative(expected, A, name)
    assert_array_equal(upstream, expected)
    assert not kernels(dtype, [name, "identity"], "sgd", 1, 0).outer_derivative


def test_nan_and_inf_pass_through_the_loops_as_through_numpy():
    relu = kernels(np.float64, ["relu", "identity"], "sgd", 1, 0)
    Z = values()
    expected = ACTIVATIONS["relu"].forward(Z.copy())
    assert relu.add_bias_activate(Z, np.zeros(Z.shape[1]), "relu")
    assert_array_equal(Z, expected)


def both_ways(make, X, y, **fit_params):
    """The fitted parameters with the kernels on and off."""
    fits = []
    for on in (True, False):
        with fast_kernels(on):
            fits.append(make().fit(X, y, **fit_params))
    return fits


def assert_same_fit(fast, plain, rtol=1e-12):
    for a, b in zip(fast.coefs_ + fast.intercepts_, plain.coefs_ + plain.intercepts_):
        assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    assert_allclose(fast.loss_curve_, plain.loss_curve_, rtol=rtol)


SETUPS = [
    dict(),
    dict(solver="sgd"),
    dict(solver="sgd", momentum=0.0),
    dict(solver="sgd", nesterovs_momentum=False, learning_rate="adaptive"),
    dict(activation="tanh", alpha=0.5),
    dict(activation="logistic", hidden_layer_sizes=(7, 5)),
    dict(activation=["leaky_relu", "elu"], hidden_layer_sizes=(7, 5)),
    dict(activation=["identity", "softplus", "gelu"], hidden_layer_sizes=(4, 6, 5)),
    dict(dropout=0.3, hidden_layer_sizes=(9, 4)),
    dict(clip_norm=0.5),
    dict(shuffle=False, batch_size=7),
]


@pytest.mark.parametrize("settings", SETUPS, ids=str)
@pytest.mark.usefixtures("every_fit_large_enough")
def test_a_classifier_fit_with_kernels_equals_numpys_step(settings, digits):
    X, y = digits
    fast, plain = both_ways(lambda: BackpropClassifier(
        max_iter=15, random_state=0, **{"hidden_layer_sizes": (8,), **settings}), X, y)
    assert_same_fit(fast, plain)


def spy_on_loops(monkeypatch):
    """A list to which every call of a fit's bias-and-activate loops appends its
    activation's name, and of its output loop "output" (every step reads them from
    the ``Kernels``' ``forward`` and ``output``)."""
    ran, warm_up = [], _kernels.Kernels._warm_up

    def recorded(name, loop):
        return None if loop is None else lambda *a: ran.append(name) or loop(*a)

    def spied(self, dtype):
        warm_up(self, dtype)
        self.forward = {name: recorded(name, loop) for name, loop in self.forward.items()}
        self.output = recorded("output", self.output)

    monkeypatch.setattr(_kernels.Kernels, "_warm_up", spied)
    return ran


@pytest.mark.usefixtures("every_fit_large_enough")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_large_enough_fit_runs_the_loops(digits, monkeypatch):
    ran = spy_on_loops(monkeypatch)
    BackpropClassifier(hidden_layer_sizes=(8,), max_iter=1).fit(*digits)
    assert set(ran) == {"relu", "output"}
    with fast_kernels(False):
        BackpropClassifier(hidden_layer_sizes=(8,), max_iter=1).fit(*digits)
    with config_context(fast_kernels_min_work=10**12):  # a fit too small for them
        BackpropClassifier(hidden_layer_sizes=(8,), max_iter=1).fit(*digits)
    assert ran.count("relu") == 3  # the first fit's: its 600 rows in batches of 200


EXACT = [
    (BackpropClassifier, "binary", {}),
    (BackpropClassifier, "binary", dict(solver="sgd", alpha=0.3, dropout=0.2)),
    (BackpropClassifier, "multilabel", dict(hidden_layer_sizes=(6, 5))),
    (BackpropRegressor, "two targets", dict(alpha=1.0)),
    (BackpropRegressor, "two targets", dict(alpha=0.0, shuffle=False, batch_size=7)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cls, target, settings", EXACT, ids=str)
@pytest.mark.usefixtures("every_fit_large_enough")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_fused_output_layer_and_l2_term_give_numpys_fit_bit_for_bit(
        cls, target, settings, dtype, digits, monkeypatch):
    """On the elementwise links the output layer's loop and the update's L2 term
    compute NumPy's numbers, so whole fits are equal to the last bit, in float32
    too (the loops compute in float32); and they did run."""
    X, y = digits
    Y = {"binary": y % 2, "multilabel": np.c_[y % 2, y > 4],
         "two targets": np.c_[y, y % 3].astype(float)}[target]
    settings = {**settings, "dtype": dtype}
    ran = spy_on_loops(monkeypatch)
    bind = _steps.fused_update

    def spied(kernels, spec, n_decayed=0):
        update = bind(kernels, spec, n_decayed)

        def spy(params, grads, scratch, state, learning_rate, l2=0.0):
            ran.append("folded" if n_decayed and l2 else "update")
            update(params, grads, scratch, state, learning_rate, l2)
        return spy
    monkeypatch.setattr(_steps, "fused_update", spied)
    fast, plain = both_ways(lambda: cls(max_iter=8, random_state=0, **{
        "hidden_layer_sizes": (8,), **settings}), X, Y)
    assert_same_fit(fast, plain, rtol=0)
    assert "output" in ran
    assert ("folded" in ran) == bool(settings.get("alpha", 1e-4))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cls, Y", [
    (BackpropRegressor, lambda y: np.c_[y, y % 3, y % 5, np.sin(y)].astype(float)),
    (BackpropClassifier, lambda y: np.c_[y % 2, y > 4, y % 3 == 0, y < 2])],
    ids=["four targets", "four labels"])
@pytest.mark.usefixtures("every_fit_large_enough")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_row_of_three_outputs_or_more_gives_the_same_weights(cls, Y, dtype, digits):
    """The loop adds a row's terms in order, NumPy (a squared error's einsum) in
    its own: the weights are equal to the last bit, the loss reported within the
    last place (the documented exception)."""
    X, y = digits
    fast, plain = both_ways(lambda: cls(hidden_layer_sizes=(8,), max_iter=8,
                                        random_state=0, dtype=dtype, alpha=0.01), X, Y(y))
    for a, b in zip(fast.coefs_ + fast.intercepts_, plain.coefs_ + plain.intercepts_):
        assert_array_equal(a, b)
    assert_allclose(fast.loss_curve_, plain.loss_curve_,
                    rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.usefixtures("every_fit_large_enough")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_no_loop_is_compiled_in_the_middle_of_training():
    """The loops run only on the row-major arrays they were compiled for before
    the first epoch, even on the rows of a column-major target taken in order."""
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(60, 4)), np.asfortranarray(rng.normal(size=(60, 2)))
    for shuffle in (True, False):
        BackpropRegressor(hidden_layer_sizes=(5,), max_iter=2, batch_size=16,
                          shuffle=shuffle).fit(X, Y)
    for loop in _kernels._LOOPS.values():
        assert not any("'A'" in str(signature) for signature in loop.signatures)


@pytest.mark.usefixtures("every_fit_large_enough")
def test_a_weighted_sparse_regression_with_kernels_equals_numpys_step():
    rng = np.random.default_rng(3)
    X = scipy.sparse.random(80, 12, density=0.3, random_state=3, format="csr")
    y = rng.normal(size=(80, 2))
    fast, plain = both_ways(
        lambda: BackpropRegressor(hidden_layer_sizes=(6,), max_iter=20, random_state=0,
                                  batch_size=16),
        X, y, sample_weight=rng.uniform(0, 2, size=80))
    assert_same_fit(fast, plain)


@pytest.mark.usefixtures("every_fit_large_enough")
@pytest.mark.parametrize("setup", [
    dict(), dict(solver="sgd"), dict(solver="sgd", momentum=0.0, alpha=0.1),
    dict(solver="sgd", nesterovs_momentum=False, hidden_layer_sizes=(9, 5)),
    dict(activation="tanh"), dict(activation="logistic", solver="sgd"),
    dict(activation=["leaky_relu", "elu"], hidden_layer_sizes=(9, 5)),
    dict(activation="identity")], ids=str)
def test_a_float32_regression_with_kernels_equals_numpys_step(setup):
    """In float32 the loops compute in float32 with NumPy's roundings of their
    numbers (the activations' constants in float32, the update's settings rounded
    as NumPy rounds them): the same fit as NumPy's step, bit for bit, whatever the
    hidden activations (with float64 numbers in the loops, they differed from the
    first update)."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 7))
    y = X @ rng.normal(size=7) + np.sin(3 * X[:, 0])
    fast, plain = both_ways(lambda: BackpropRegressor(**{
        "hidden_layer_sizes": (12,), "max_iter": 15, "random_state": 0,
        "batch_size": 32, "dtype": "float32", **setup}), X, y)
    assert fast.coefs_[0].dtype == np.float32
    for a, b in zip(fast.coefs_ + fast.intercepts_, plain.coefs_ + plain.intercepts_):
        assert_array_equal(a, b)
    assert fast.loss_curve_ == plain.loss_curve_


@pytest.mark.parametrize("settings", SETUPS, ids=str)
@pytest.mark.usefixtures("every_fit_large_enough")
def test_a_float32_binary_classifier_with_kernels_equals_numpys_step(settings, digits):
    """The logistic output's loop computes in float32 too: every set-up's float32
    fit equals NumPy's step bit for bit."""
    X, y = digits
    fast, plain = both_ways(lambda: BackpropClassifier(
        max_iter=15, random_state=0, dtype="float32",
        **{"hidden_layer_sizes": (8,), **settings}), X, y % 2)
    assert fast.coefs_[0].dtype == np.float32
    assert_same_fit(fast, plain, rtol=0)


@pytest.mark.usefixtures("every_fit_large_enough")
@pytest.mark.parametrize("dtype, setup", [
    ("float32", dict(learning_rate_init=np.logspace(-3, -1, 3)[0])),  # a grid's float64
    ("float32", dict(alpha=np.float64(0.3))),
    ("float32", dict(solver="sgd", momentum=np.float64(0.8),
                     learning_rate_init=np.float64(0.01))),
    ("float32", dict(beta_1=np.float64(0.8), beta_2=np.float64(0.99))),
    ("float64", dict(beta_1=np.float32(0.1), epsilon=np.float32(1e-7))),
])
def test_numpy_scalar_settings_train_as_python_floats_on_both_steps(dtype, setup):
    """Settings typed as NumPy scalars (a parameter grid's np.logspace) are held as
    Python floats: the kernels and NumPy's step train the same bits, and the same
    as the same settings typed as Python floats (NumPy combines a NumPy scalar with
    a float32 array in its own precision, a Python float in float32)."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(120, 7))
    y = X @ rng.normal(size=7) + np.sin(3 * X[:, 0])

    def make(**given):
        return lambda: BackpropRegressor(**{
            "hidden_layer_sizes": (12,), "max_iter": 15, "random_state": 0,
            "batch_size": 32, "dtype": dtype, **given})

    fast, plain = both_ways(make(**setup), X, y)
    as_floats, _ = both_ways(make(**{k: v if isinstance(v, str) else float(v)
                                     for k, v in setup.items()}), X, y)
    for a, b, c in zip(fast.coefs_ + fast.intercepts_, plain.coefs_ + plain.intercepts_,
                       as_floats.coefs_ + as_floats.intercepts_):
        assert_array_equal(a, b)
        assert_array_equal(a, c)
    assert fast.loss_curve_ == plain.loss_curve_ == as_floats.loss_curve_


@pytest.mark.usefixtures("every_fit_large_enough")
def test_a_float32_softmax_fit_with_kernels_stays_within_float32_rounding(digits):
    """The softmax's row sum is taken in order, NumPy's by a BLAS product."""
    X, y = digits
    fast, plain = both_ways(lambda: BackpropClassifier(
        hidden_layer_sizes=(8,), max_iter=10, random_state=0, dtype="float32"), X, y)
    assert fast.coefs_[0].dtype == np.float32
    assert_same_fit(fast, plain, rtol=1e-4)


# A toy activation, f(z) = z / (1 + |z|), as a record would hold it
def toy(Z):
    Z /= 1 + np.abs(Z)
    return Z


def toy_derivative(A, delta, Z=None):
    """f'(z) = 1 / (1 + |z|)^2 = (1 - |A|)^2."""
    t = 1 - np.abs(A)
    delta *= t * t
    return delta


def toy_at(z):
    return z / (1 + abs(z))


def toy_derivative_at(a, d):
    t = 1 - abs(a)
    return d * (t * t)


def toy_changed_at(z):
    return z / (2 + abs(z))


def test_an_activation_added_to_the_records_is_fused(monkeypatch, tmp_path):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))  # (its loops' cache)
    monkeypatch.setitem(ACTIVATIONS, "toy", Activation(toy, toy_derivative, False, toy_at,
                                                        toy_derivative_at))
    names = ["toy", "toy", "identity"]
    fused = kernels(np.float64, names, "sgd", 1, 0)
    assert set(fused.forward) == {"toy", "identity"} and set(fused.derivative) == {"toy"}
    rng = np.random.default_rng(0)
    units = [3, 5, 4, 1]
    coefs = [rng.normal(size=shape) for shape in pairwise(units)]
    intercepts = [rng.normal(size=k) for k in units[1:]]
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, 1))
    results = []
    for loops in (fused, None):  # the workspace step with and without the loops
        ws, ws_coefs, ws_intercepts = mlp_workspace(coefs, intercepts, names, 7, loops)
        loss, coef_grads, intercept_grads = mlp_loss_and_gradients(
            X, Y, None, ws_coefs, ws_intercepts, names, "squared_error", 0.1, workspace=ws)
        results.append([loss, *(g.copy() for g in coef_grads + intercept_grads)])
    for got, expected in zip(*results):
        assert_array_equal(got, expected)
    assert any(tmp_path.rglob("*toy*.nbi"))  # compiled into numba's cache


def test_a_changed_spelling_is_a_new_loop_never_an_older_cached_one():
    """numba checks a cached loop against _kernels.py only; the loop's name carries a
    digest of its spelling, so a changed spelling is compiled afresh."""
    assert _kernels.digest(toy_at, "toy") == _kernels.digest(toy_at, "toy")
    assert _kernels.digest(toy_at, "toy") != _kernels.digest(toy_changed_at, "toy")
    assert _kernels.digest(toy_at, "toy") != _kernels.digest(toy_at, "other")
    relu = ACTIVATIONS["leaky_relu"].forward_at  # reads a number from its module
    assert _kernels.digest(relu, "leaky_relu") is not None

    def closure(z):
        return z + relu(z)

    assert _kernels.digest(closure, "closure") is None  # compiled, but never cached
    assert _kernels.compiled(_kernels.add_bias_activate, "closure", closure)


FIT = """
import json, warnings
import numpy as np
from sklearn.datasets import load_digits
from skbackprop import BackpropClassifier, FastKernelsWarning, set_config
from skbackprop._engine import fused as _fused

set_config(fast_kernels_min_work=0)
X, y = load_digits(return_X_y=True)
X, y = X[:300] / 16, y[:300] % 2  # (binary: the fused output layer is exact)

def fit():
    return BackpropClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    fits = [fit(), fit()]
set_config(fast_kernels=False)
plain = fit()
print(json.dumps({
    "warnings": [str(w.message) for w in caught if w.category is FastKernelsWarning],
    "equal": all(np.array_equal(a, b) for f in fits
                 for a, b in zip(f.coefs_ + f.intercepts_, plain.coefs_ + plain.intercepts_)),
    "loaded": _fused.kernels(np.float64, ["relu", "softmax"], "adam", 1, 0) is not None,
}))
"""


def fit_in_a_process(**environ):
    """Two fits and a NumPy one in a fresh process: the kernels' warnings, whether the
    fits equal NumPy's, whether the kernels loaded."""
    return json.loads(run_python(FIT, **environ).splitlines()[-1])


def assert_fell_back(outcome, *phrases):
    """One warning naming the cause and the fix; NumPy's weights; no kernels."""
    assert len(outcome["warnings"]) == 1, outcome["warnings"]
    for phrase in (*phrases, "SKBACKPROP_FAST=0"):
        assert phrase in outcome["warnings"][0]
    assert outcome["equal"] and not outcome["loaded"]


@pytest.mark.slow
def test_no_writable_cache_directory_costs_one_warning_not_a_fit(tmp_path):
    """A read-only installation: no __pycache__ beside the package (here a file is in
    its way, which stops root too), NUMBA_CACHE_DIR and the home directory unwritable."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "skbackprop",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for package in [site / "skbackprop", *(site / "skbackprop").rglob("*")]:
        if package.is_dir():  # (the kernels' own folder among them)
            (package / "__pycache__").write_text("not a directory")
    blocked = tmp_path / "a file"
    blocked.write_text("")
    outcome = fit_in_a_process(root=str(site), NUMBA_CACHE_DIR=str(blocked / "numba"),
                               HOME=str(blocked), XDG_CACHE_HOME=str(blocked / "cache"))
    assert_fell_back(outcome, "no writable directory", "NUMBA_CACHE_DIR")


@pytest.mark.slow
def test_numba_disable_jit_costs_one_warning_not_a_fit():
    assert_fell_back(fit_in_a_process(NUMBA_DISABLE_JIT="1"), "NUMBA_DISABLE_JIT")


@pytest.mark.slow
def test_a_broken_numba_import_costs_one_warning_not_a_fit(tmp_path):
    (tmp_path / "numba").mkdir()
    (tmp_path / "numba" / "__init__.py").write_text("raise ImportError('a broken numba')")
    # the broken numba first on the path: before an installed numba beside the package
    outcome = fit_in_a_process(root=f"{tmp_path}{os.pathsep}{PACKAGE.parent}")
    assert_fell_back(outcome, "numba could not be imported", "a broken numba")


@pytest.mark.slow
def test_a_damaged_cache_costs_one_warning_not_a_fit(tmp_path):
    cache = {"NUMBA_CACHE_DIR": str(tmp_path)}
    first = fit_in_a_process(**cache)  # compiles, and fills the cache
    files = sorted(tmp_path.rglob("*"))
    again = fit_in_a_process(**cache)  # loads from it: the same files, none added
    assert first == again == {"warnings": [], "equal": True, "loaded": True}
    assert sorted(tmp_path.rglob("*")) == files
    for path in tmp_path.rglob("*.nbi"):  # numba's indexes, truncated
        path.write_bytes(path.read_bytes()[:7])
    assert_fell_back(fit_in_a_process(**cache), "delete the files", str(tmp_path))


def test_two_threads_finding_a_failure_give_one_warning(monkeypatch):
    """The array kernels and a per-row epoch may find the same failure at once, in
    two threads: the first cause found is kept and told, once."""
    monkeypatch.setitem(_fused._STATE, "failure", None)
    start = threading.Barrier(4)

    def give_up(cause):
        start.wait()
        _fused._give_up(cause, "a fix")

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=give_up, args=(f"cause {i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    told = [w for w in seen if w.category is _fused.FastKernelsWarning]
    assert len(told) == 1
    assert _fused._STATE["failure"] in str(told[0].message)
