"""The per-row path compiled by numba (_rowjit): the same source lines as the Python
epoch, the same float64 numbers to the last bit, taken only where it pays (small
fits never import numba), and every failure a warning and the Python epoch."""

import ast
import shutil
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skbackprop import BackpropClassifier, BackpropRegressor, config_context
from skbackprop._engine import fused as _fused
from skbackprop._engine import rowjit as _rowjit
from skbackprop._engine import rowwise as _rowwise

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def row_lines(source, record):
    """The lines of one row of a generated epoch, dedented, without the lines that
    keep its loss (``record``)."""
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if "for r in order" in line) + 1
    indent = len(lines[start]) - len(lines[start].lstrip())
    row = []
    for line in lines[start:]:
        if len(line) - len(line.lstrip()) < indent:
            break
        row.append(line[indent:])
    return [line for line in row if line not in record]


@pytest.mark.parametrize("rule", ["plain", "classical", "nesterov"])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_compiled_epoch_is_written_from_the_same_lines(rule, weighted):
    """Only the frame differs: the lines of a row are the Python epoch's."""
    network = ((3, 4, 2), ("tanh", "logistic"), "binary_log_loss", rule, True, weighted)
    python = _rowwise.epoch_source(*network)
    numba = _rowwise.epoch_source(*network, target="numba")
    assert row_lines(python, _rowwise.RECORD["python"]) == row_lines(
        numba, _rowwise.RECORD["numba"])
    assert "try:" not in numba and "losses.append" not in numba
    assert numba.endswith("    return count, total\n")


def numba_or_skip():
    return pytest.importorskip("numba")


@pytest.fixture
def compiled(monkeypatch):
    """Every per-row fit compiled (whatever its size), with a fresh set of compiled
    epochs for the test; the reference fits run with ``fast_kernels=False``."""
    numba_or_skip()
    monkeypatch.setattr(_rowjit, "_EPOCHS", {})
    monkeypatch.setitem(_fused._STATE, "failure", None)
    with config_context(fast_kernels_min_work=0):
        yield _rowjit._EPOCHS


def compiled_keys(epochs):
    return [key for key, epoch in epochs.items() if epoch is not None]


def assert_same_fit(got, expected):
    """The same float64 numbers to the last bit: weights, loss curve, velocities."""
    for p, q in zip(got.coefs_ + got.intercepts_, expected.coefs_ + expected.intercepts_):
        assert_array_equal(p, q)
    assert got.loss_curve_ == expected.loss_curve_
    assert_array_equal(got._optimizer_state["velocities"][0],
                       expected._optimizer_state["velocities"][0])


CASES = {
    "identity 2-2-1, plain SGD": (
        BackpropRegressor, (2,), dict(activation="identity", momentum=0.0, alpha=0.0)),
    "logistic 2-2-1, squared error": (
        BackpropRegressor, (2,), dict(activation="logistic", out_activation="logistic",
                                      momentum=0.0)),
    "placement 2-2-1 classifier (binary log loss), nesterov, L2": (
        BackpropClassifier, (2,), dict(activation="logistic", momentum=0.9, alpha=0.01)),
    "tanh, classical momentum": (
        BackpropRegressor, (4, 3), dict(activation="tanh", momentum=0.5,
                                        nesterovs_momentum=False)),
    "relu, nesterov, L2": (
        BackpropRegressor, (5,), dict(activation="relu", momentum=0.9, alpha=0.1)),
    "multilabel classifier, tanh": (BackpropClassifier, (3,), dict(activation="tanh")),
}


def data(case, n_features=2):
    rng = np.random.RandomState(3)
    X = rng.normal(size=(30, n_features))
    if case.startswith("multilabel"):
        return X, np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    if CASES[case][0] is BackpropClassifier:
        return X, (X[:, 0] - X[:, 1] > 0).astype(int)
    return X, 0.5 + 0.2 * np.tanh(X @ [1.0, -0.5])


@QUIET
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("weighted", [False, True])
def test_the_compiled_epoch_trains_to_the_python_epochs_bits(case, weighted, compiled):
    est, hidden, params = CASES[case]
    X, y = data(case)
    sw = np.random.RandomState(4).uniform(0, 2, size=30) if weighted else None
    if weighted:
        sw[[3, 7]] = 0.0  # rows of weight 0 are skipped by both epochs
    settings = dict(hidden_layer_sizes=hidden, solver="sgd", batch_size=1,
                    learning_rate_init=0.05, max_iter=8, random_state=0, **params)
    fast = est(**settings).fit(X, y, sample_weight=sw)
    assert len(compiled_keys(compiled)) == 1  # (it did run compiled)
    with config_context(fast_kernels=False):
        reference = est(**settings).fit(X, y, sample_weight=sw)
    assert_same_fit(fast, reference)
    fast.partial_fit(X, y)  # continuing: the velocities carried over
    with config_context(fast_kernels=False):
        reference.partial_fit(X, y)
    assert_same_fit(fast, reference)


@QUIET
@pytest.mark.parametrize("weighted", [False, True])
def test_read_only_rows_compile_no_epoch_mid_fit(weighted, compiled):
    """Read-only or column-major rows (a memory map, as joblib's workers get) reach
    the compiled epoch as writable row-major copies: the epoch, and the epochs
    trained ahead (``_engine.rowahead``), keep the one version compiled before
    training, and train to the same bits."""
    X, y = data("identity 2-2-1, plain SGD")
    sw = np.linspace(0.5, 2, len(y)) if weighted else None
    settings = dict(hidden_layer_sizes=(2,), solver="sgd", batch_size=1, max_iter=40,
                    tol=0.0, random_state=0)
    reference = BackpropRegressor(**settings).fit(X, y, sample_weight=sw)

    def signatures():
        return {key: [list(compiled[key].epoch.signatures),
                      list(compiled[key].ahead.signatures)]
                for key in compiled_keys(compiled)}

    before = signatures()
    assert all(len(s) == 1 for ss in before.values() for s in ss)
    X_ro, y_ro = np.asfortranarray(X), y.copy()
    for array in (X_ro, y_ro) if sw is None else (X_ro, y_ro, sw):
        array.flags.writeable = False
    fit = BackpropRegressor(**settings).fit(X_ro, y_ro, sample_weight=sw)
    assert signatures() == before
    assert_same_fit(fit, reference)


def divergent_fit(**options):
    """A 2-2-1 fit whose loss overflows within its first epochs; its warnings."""
    X, y = data("identity 2-2-1, plain SGD")
    reg = BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                            learning_rate_init=3.0, momentum=0.9, max_iter=20,
                            random_state=0, **options)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        reg.fit(X * 100, y * 1e3)
    return reg, [str(w.message) for w in record]


def test_a_diverging_fit_stops_the_same_way(compiled):
    fast, fast_warnings = divergent_fit()
    assert compiled_keys(compiled)
    with config_context(fast_kernels=False):
        reference, reference_warnings = divergent_fit()
    assert fast.diverged_ and fast_warnings == reference_warnings
    assert fast.n_iter_ == reference.n_iter_
    assert_same_fit(fast, reference)


def test_a_non_finite_loss_ends_both_epochs_after_the_same_row(compiled):
    """On the epochs themselves: the rows up to the first non-finite loss, that
    one included, and the parameters after its update."""
    numba = numba_or_skip()
    key = _rowwise.epoch_key((2, 2, 1), ("identity", "identity"), "squared_error", 0.9,
                             True, 0.0, False)
    spec = type("Spec", (), {"fast_kernels": True, "fast_kernels_min_work": 0})
    epoch = _rowjit.epoch_for(key, 0, spec, _rowwise.numba_source).epoch
    assert isinstance(epoch, numba.core.registry.CPUDispatcher)
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(40, 2)) * 1e30, rng.normal(size=(40, 1))
    theta = rng.normal(size=9)
    python = [theta.tolist(), [0.0] * 9]
    losses = _rowwise.epoch_for(*key[:3], 0.9, True, 0.0, False)(
        X.tolist(), Y.tolist(), None, list(range(40)), *python, 10.0, 0.9, 0.0)
    arrays, kept = [theta.copy(), np.zeros(9)], np.full((40, 2), -1.0)
    count, total = epoch(X, Y, np.ones(0), np.arange(40), *arrays, 10.0, 0.9, 0.0, kept)
    assert 0 < count < 40 and not np.isfinite(kept[count - 1, 1])
    assert_array_equal(kept[:count], np.array(losses))
    assert not np.isfinite(total)
    assert_array_equal(arrays[0], python[0])
    assert_array_equal(arrays[1], python[1])


def test_an_order_of_another_type_trains_to_the_loops_bits(compiled, monkeypatch):
    """The compiled epoch's fast call takes the training loop's row order (a
    contiguous intp array); any other order (a list, int32, strided, longer) is
    converted first and gives the same numbers."""
    numba_or_skip()
    made = []
    monkeypatch.setattr(_rowwise.RowStep, "__init__", _recording(
        _rowwise.RowStep.__init__, made))
    X, y = data("identity 2-2-1, plain SGD")
    BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1, max_iter=1,
                      random_state=0).fit(X, y)
    step = made[0]
    assert step.compiled is not None
    start = step.flat.copy(), step.velocity.copy()
    order = np.random.RandomState(1).permutation(len(y))
    results = []
    for given in (order, order.tolist(), order.astype(np.int32),
                  np.repeat(order, 2)[::2], np.concatenate([order, order])):
        step.flat[:], step.velocity[:] = start
        total, listed = step.summed_updates(given, None, 0.01)
        results.append((total, listed, step.flat.copy(), step.velocity.copy()))
    reference = results[0]
    for total, listed, flat, velocity in results[1:4]:
        assert (total, listed) == reference[:2] and listed is None
        assert_array_equal(flat, reference[2])
        assert_array_equal(velocity, reference[3])
    assert np.isfinite(results[4][0]) and not np.array_equal(results[4][2], reference[2])


def _recording(init, made):
    def recorded(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)
    return recorded


def test_expit_is_scipys(compiled):
    """The compiled spelling of the logistic row function: scipy's numbers."""
    numba = numba_or_skip()
    from scipy.special import expit

    rng = np.random.RandomState(0)
    z = np.concatenate([rng.normal(size=5000) * 5, rng.normal(size=5000) * 400,
                        [0.0, -0.0, np.inf, -np.inf, 709.0, -709.0, -745.5, 36.7]])
    spelled = numba.njit(**_rowjit.OPTIONS)(_rowjit.expit)
    assert_array_equal([spelled(v) for v in z], expit(z))


FAILURES = {
    "no writable cache": (RuntimeError("cannot cache function: no locator available"),
                          "no writable directory"),
    "a compile error": (ValueError("LLVM went wrong"), "could not compile or load"),
}


@QUIET
@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failure_warns_once_and_trains_on_python_floats(failure, compiled,
                                                           monkeypatch):
    error, message = FAILURES[failure]

    def broken(*args):
        raise error

    monkeypatch.setattr(_rowjit, "_build", broken)
    X, y = data("placement 2-2-1 classifier (binary log loss), nesterov, L2")
    settings = dict(hidden_layer_sizes=(2,), solver="sgd", batch_size=1, max_iter=5,
                    random_state=0)
    with pytest.warns(_fused.FastKernelsWarning, match=message):
        fast = BackpropClassifier(**settings).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", _fused.FastKernelsWarning)
        again = BackpropClassifier(**settings).fit(X, y)  # (no second warning)
    with config_context(fast_kernels=False):
        reference = BackpropClassifier(**settings).fit(X, y)
    assert_same_fit(fast, reference)
    assert_same_fit(again, reference)
    assert not _fused.available() and not compiled_keys(compiled)


@QUIET
def test_an_unwritable_cache_directory_warns(compiled, monkeypatch, tmp_path):
    """NUMBA_CACHE_DIR naming a file: nowhere to write the source (root may write
    anywhere else)."""
    (tmp_path / "a file").write_text("")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "a file"))
    X, y = data("identity 2-2-1, plain SGD")
    with pytest.warns(_fused.FastKernelsWarning, match="NUMBA_CACHE_DIR"):
        BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                          max_iter=2).fit(X, y)
    assert not _fused.available()


@QUIET
def test_numba_turned_off_warns(compiled, monkeypatch):
    numba = numba_or_skip()
    monkeypatch.setattr(numba.config, "DISABLE_JIT", True)
    X, y = data("identity 2-2-1, plain SGD")
    with pytest.warns(_fused.FastKernelsWarning, match="NUMBA_DISABLE_JIT"):
        BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                          max_iter=2).fit(X, y)


@QUIET
def test_a_row_function_numba_cannot_compile_trains_on_python_floats(compiled,
                                                                     monkeypatch):
    """Without its compilable spelling, the logistic row function (scipy's expit)
    is not compiled: no warning (the activation's limit, not the environment's),
    and the fit trains on Python floats."""
    monkeypatch.setattr(_rowjit, "SPELLINGS", {})
    X, y = data("logistic 2-2-1, squared error")
    settings = dict(hidden_layer_sizes=(2,), activation="logistic", solver="sgd",
                    batch_size=1, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", _fused.FastKernelsWarning)
        fast = BackpropRegressor(**settings).fit(X, y)
    assert list(compiled.values()) == [None] and _fused.available()
    with config_context(fast_kernels=False):
        assert_same_fit(fast, BackpropRegressor(**settings).fit(X, y))


def test_only_fits_that_pay_are_compiled(monkeypatch):
    """Below its share of ``fast_kernels_min_work``, or for a network of more than
    MAX_PARAMETERS, the epoch is not compiled, unless it is already."""
    monkeypatch.setattr(_rowjit, "_EPOCHS", {})
    spec = type("Spec", (), {"fast_kernels": True, "fast_kernels_min_work": 10**9})
    key = _rowwise.epoch_key((2, 2, 1), ("identity",) * 2, "squared_error", 0, False,
                             0, False)
    assert _rowjit.epoch_for(key, 3 * 10**6 - 1, spec, _rowwise.numba_source) is None
    assert not _rowjit._EPOCHS
    big = _rowwise.epoch_key((8, 7, 1), ("identity",) * 2, "squared_error", 0, False,
                             0, False)  # 71 weights and biases: never compiled
    assert _rowjit.MAX_PARAMETERS == 64
    assert _rowjit.epoch_for(big, 10**12, spec, _rowwise.numba_source) is None
    spec.fast_kernels = False
    assert _rowjit.epoch_for(key, 10**12, spec, _rowwise.numba_source) is None
    _rowjit._EPOCHS[key] = sentinel = object()
    spec.fast_kernels = True
    if _fused.available():
        assert _rowjit.epoch_for(key, 0, spec, _rowwise.numba_source) is sentinel


def run_python(code, **env):
    """Run ``code`` in a fresh interpreter; its output."""
    import os

    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                            capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_a_small_per_row_fit_never_imports_numba():
    out = run_python("""
        import sys, warnings
        import numpy as np
        from skbackprop import BackpropRegressor
        warnings.simplefilter("ignore")
        X = np.random.RandomState(0).normal(size=(200, 2))
        BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                          max_iter=20).fit(X, X[:, 0])
        print(sys.modules.get("numba") is not None)  # (None: blocked)
    """)
    assert out.split() == ["False"]


@pytest.mark.slow
def test_a_second_process_loads_the_compiled_epoch_from_the_cache(tmp_path):
    numba_or_skip()
    code = """
        import warnings
        import numpy as np
        from skbackprop import BackpropClassifier
        from skbackprop._engine import fused, rowjit
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", fused.FastKernelsWarning)
        X = np.random.RandomState(0).normal(size=(2000, 2))
        clf = BackpropClassifier(hidden_layer_sizes=(2,), activation="logistic",
                                 solver="sgd", batch_size=1, max_iter=200, tol=0.0,
                                 n_iter_no_change=1000, random_state=0)
        clf.fit(X, X[:, 0] > X[:, 1])
        [compiled] = rowjit._EPOCHS.values()
        hits = [sum(f.stats.cache_hits.values()) for f in compiled]
        print(*hits, clf.loss_curve_[-1].hex())
    """
    first = run_python(code, NUMBA_CACHE_DIR=str(tmp_path)).split()
    second = run_python(code, NUMBA_CACHE_DIR=str(tmp_path)).split()
    # the epoch, the epochs trained ahead and the stream's check: compiled, then loaded
    assert first[:3] == ["0"] * 3 and second[:3] == ["1"] * 3 and first[3] == second[3]
    assert list((tmp_path / "rowjit").glob("epoch_*.py"))


@pytest.mark.slow
def test_the_fix_for_a_damaged_cache_clears_it_under_numba_cache_dir(tmp_path):
    """With NUMBA_CACHE_DIR set numba keeps its cache of the epochs' folder in
    folders of its own beside it: the warning names them, and deleting what it
    names is enough for the next process to compile afresh."""
    numba_or_skip()
    code = """
        import warnings
        import numpy as np
        from skbackprop import BackpropRegressor, config_context
        from skbackprop._engine import fused
        X = np.random.RandomState(0).normal(size=(40, 3))
        with warnings.catch_warnings(record=True) as seen, config_context(
                fast_kernels_min_work=0):
            warnings.simplefilter("always")
            BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                              max_iter=3, random_state=0).fit(X, X[:, 0] - X[:, 1])
        print([str(w.message) for w in seen if w.category is fused.FastKernelsWarning])
    """
    cache = tmp_path / "cache"
    assert run_python(code, NUMBA_CACHE_DIR=str(cache)).strip() == "[]"
    indexes = list(cache.rglob("*.nbi"))
    assert indexes and all((cache / "rowjit") not in index.parents for index in indexes)
    for index in indexes:  # (numba's cache, in folders beside the sources' folder)
        index.write_bytes(b"damaged")
    [message] = ast.literal_eval(run_python(code, NUMBA_CACHE_DIR=str(cache)))
    fix = f"delete {cache / 'rowjit'} and the folders named rowjit_* under {cache}"
    assert fix in message
    shutil.rmtree(cache / "rowjit")
    for folder in cache.glob("rowjit_*"):
        shutil.rmtree(folder)
    assert run_python(code, NUMBA_CACHE_DIR=str(cache)).strip() == "[]"
