"""Per-row SGD written out (_rowwise): equal to the array path (to the last bit for
2-2-1 networks, within 1e-13 beyond), taken only where it applies, the generated
source readable as the tutorials' formulas, and an interrupted epoch keeps its rows
done."""


import numpy as np
import pytest
from math_helpers import TWO_TERM_TOLERANCE
from numpy.testing import assert_allclose
from scipy.sparse import csr_matrix

from skbackprop import (
    BackpropClassifier,
    BackpropRegressor,
    config_context,
    fast_kernels,
    get_config,
    rowwise_limit,
)
from skbackprop._engine import rowwise as _rowwise
from skbackprop._engine.spec import batch_rows
from skbackprop._engine.start import Model

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")













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
def test_per_row_path_equals_the_array_path(case, weighted):
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
    # The paths differ only in the last bit of a library tanh and of the order in
    # which BLAS adds a sum's terms; training amplifies such differences, mildly at
    # this learning rate (at 0.05 with momentum 0.9 the multilabel network's weights
    # reach 6 and a 1-ulp difference grows to 5e-8 within 8 epochs: chaos, not a
    # different method). Measured on a Haswell OpenBLAS: weights within 1.6e-14, loss
    # curves within 8e-15 (relative), velocities within 1e-15.
    settings = dict(hidden_layer_sizes=(4, 3), solver="sgd", batch_size=1,
                    learning_rate_init=0.02, max_iter=8, random_state=0, **params)
    fast = est(**settings).fit(X, y, sample_weight=sw)
    with config_context(rowwise_limit=0):  # every network is then too big
        reference = est(**settings).fit(X, y, sample_weight=sw)
    for got, expected in zip(fast.coefs_ + fast.intercepts_,
                             reference.coefs_ + reference.intercepts_):
        assert_allclose(got, expected, rtol=0, atol=1e-13)
    assert_allclose(fast.loss_curve_, reference.loss_curve_, rtol=1e-13)
    velocities = fast._optimizer_state["velocities"][0]
    assert_allclose(velocities, reference._optimizer_state["velocities"][0],
                    rtol=0, atol=1e-14)


TWO_TWO_ONE = {
    **{f"{act}, {rule}": (BackpropRegressor, dict(activation=act, **options))
       for act in ("identity", "logistic", "relu", "tanh")
       for rule, options in [("plain SGD", dict(momentum=0.0, alpha=0.0)),
                             ("nesterov, L2", dict(momentum=0.9, alpha=0.01)),
                             ("classical", dict(momentum=0.5, nesterovs_momentum=False))]},
    "sigmoid output, squared error": (
        BackpropRegressor, dict(activation="logistic", out_activation="logistic")),
    "placement classifier": (BackpropClassifier, dict(activation="logistic")),
    "relu classifier": (BackpropClassifier, dict(activation="relu")),
}


@QUIET
@pytest.mark.parametrize("case", list(TWO_TWO_ONE))
@pytest.mark.parametrize("weighted", [False, True])
def test_a_2_2_1_network_trains_to_the_same_bits_on_both_paths(case, weighted):
    """Where every sum has two terms (2-2-1), BLAS adds them as the written-out code
    does, and each formula is the array path's: the same numbers to the last bit
    (where BLAS fuses the multiply-add, within a few units in the last place:
    ``TWO_TERM_TOLERANCE``). tanh is Python's math.tanh per row and NumPy's
    vectorised one on arrays, which differ in the last bit of about a quarter of
    their values (measured: weights within 4e-16 after 8 epochs)."""
    est, params = TWO_TWO_ONE[case]
    rng = np.random.RandomState(3)
    X = rng.normal(size=(30, 2))
    y = (0.5 + 0.2 * np.tanh(X @ [1.0, -0.5]) if est is BackpropRegressor
         else (X[:, 0] - X[:, 1] > 0).astype(int))
    sw = rng.uniform(0, 2, size=30) if weighted else None
    settings = dict(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                    learning_rate_init=0.02, max_iter=8, random_state=0, **params)
    rows = est(**settings).fit(X, y, sample_weight=sw)
    with rowwise_limit(0):
        arrays = est(**settings).fit(X, y, sample_weight=sw)
    tolerance = dict(rtol=0, atol=1e-15) if "tanh" in case else TWO_TERM_TOLERANCE
    for got, expected in zip(rows.coefs_ + rows.intercepts_,
                             arrays.coefs_ + arrays.intercepts_):
        assert_allclose(got, expected, **tolerance)
    assert_allclose(rows.loss_curve_, arrays.loss_curve_, rtol=4 * tolerance["atol"])


def _trains_row_by_row(reg, X):
    """Whether a fit of ``reg`` (fitted, for its network) on X goes to _rowwise."""
    n_hidden = len(reg.coefs_) - 1
    model = Model(X.shape[1], reg._fitted_network()[0], reg._loss_name(), reg.alpha,
                  reg._dropout(n_hidden))
    return _rowwise.accepts(model, reg, batch_rows(reg.batch_size, X.shape[0]), X, None,
                            get_config()["rowwise_limit"])


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
    # 2-h-1 has 4 h + 1 weights and biases: 497 written out, 501 too many
    assert _rowwise.supports([2, 124, 1], ["relu", "identity"], "squared_error", 500)
    assert not _rowwise.supports([2, 125, 1], ["relu", "identity"], "squared_error", 500)
    assert get_config()["rowwise_limit"] == 500
    reg.set_params(dropout=0.0, hidden_layer_sizes=(125,)).fit(X, y)
    assert not _trains_row_by_row(reg, X)
    assert not _rowwise.supports([2, 3, 1], ["gelu", "identity"], "squared_error", 500)
    assert not _rowwise.supports([2, 3, 3], ["relu", "softmax"], "log_loss", 500)
    assert not _rowwise.supports([2, 3, 1], ["relu", "identity"], "binary_log_loss", 500)


@QUIET
def test_per_row_path_interrupted_mid_epoch_leaves_a_consistent_model(monkeypatch):
    X = np.random.RandomState(0).normal(size=(10, 2))
    y = X[:, 0]
    reg = BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                            max_iter=3, random_state=0)
    original, calls = _rowwise.compiled_epoch, []

    def compiled(*args):
        epoch = original(*args)

        def interrupted(X, Y, sw, order, *rest):
            calls.append(order)
            if len(calls) == 2:  # the second epoch: five rows, then Ctrl-C
                epoch(X, Y, sw, order[:5], *rest)
                raise KeyboardInterrupt
            return epoch(X, Y, sw, order, *rest)

        return interrupted

    monkeypatch.setattr(_rowwise, "compiled_epoch", compiled)
    # (on Python floats: an epoch compiled by numba, _rowjit, runs to its end)
    with pytest.warns(UserWarning, match="interrupted"), fast_kernels(False):
        reg.fit(X, y)
    assert reg.n_iter_ == 1 and len(reg.loss_curve_) == 1
    assert np.isfinite(reg.predict(X)).all()




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
    with fast_kernels(False):  # (on Python floats, not compiled by numba)
        for _ in range(2):
            BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                              max_iter=2).fit(np.ones((3, 2)), np.ones(3))
    assert _rowwise.compiled_epoch.cache_info().misses == 1


def test_written_out_epoch_keeps_the_rows_done_when_interrupted():
    """However the epoch ends, the lists hold the weights after the last row done."""
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(5, 2)).tolist(), rng.normal(size=(5, 1)).tolist()
    theta = rng.normal(size=9).tolist()
    epoch = _rowwise.epoch_for([2, 2, 1], ["tanh", "identity"], "squared_error",
                               momentum=0.9, nesterov=True, alpha=0.01, weighted=False)
    done = [list(theta), [0.0] * 9]
    losses = epoch(X, Y, None, [4, 0], *done, 0.1, 0.9, 0.01)
    interrupted = [list(theta), [0.0] * 9]
    with pytest.raises(IndexError):  # row 7 does not exist: the epoch ends there
        epoch(X, Y, None, [4, 0, 7, 1], *interrupted, 0.1, 0.9, 0.01)
    assert interrupted == done and len(losses) == 2
    assert done[0] != theta


def test_a_traceback_through_the_written_out_epoch_shows_its_lines():
    """The generated source is registered with linecache under its own name."""
    import traceback

    epoch = _rowwise.compiled_epoch((2, 2, 1), ("identity", "identity"),
                                    "squared_error", "plain", False, False)
    theta, velocity = [0.1] * 9, [0.0] * 9
    try:  # a row whose input is not a number fails inside the generated code
        epoch([[None, 1.0]], [[1.0]], None, [0], theta, velocity, 0.1, 0.0, 0.0)
    except TypeError:
        text = traceback.format_exc()
    assert "<skbackprop epoch 2-2-1 identity-identity squared_error plain>" in text
    assert "z1_0 = a0_0 * w1_0_0 + a0_1 * w1_1_0 + b1_0" in text
