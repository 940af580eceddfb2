"""The planned path (_engine.planned): a plain perceptron, on the fused kernels or
on NumPy's calls (every test runs both ways), trains through PlannedStep, which
takes the general workspace step's numbers to the last bit, in every case it
accepts (each loss, with and without an output loop, both solvers, activations with
and without loops, float32, sparse rows, rows in order with a short last batch, a
warm start and partial_fit); every other fit keeps the general step."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import sklearn.base
from callback_helpers import Recorder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from skbackprop import BackpropClassifier, BackpropRegressor, config_context

numba = pytest.importorskip("numba")
from skbackprop._engine import kernels as _kernels
from skbackprop._engine import planned as _planned
from skbackprop._engine import steps as _steps
from skbackprop._engine import training as _training

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True, params=[True, False], ids=["kernels", "numpy"])
def kernels_for_every_fit(request):
    """Every test twice: the fused kernels on every fit, then none (the plan takes
    NumPy's calls); the parameter, for tests of the kernels alone."""
    with config_context(fast_kernels=request.param, fast_kernels_min_work=0):
        yield request.param


@pytest.fixture
def with_kernels(kernels_for_every_fit):
    """(A test of the kernels' loops: run with them only.)"""
    if not kernels_for_every_fit:
        pytest.skip("a test of the kernels' loops")


@pytest.fixture
def chosen(monkeypatch):
    """The class name of each fit's step, in order."""
    names = []

    def spy(*args, **kwargs):
        step = _steps.make_step(*args, **kwargs)
        names.append(type(step).__name__)
        return step

    monkeypatch.setattr(_training, "make_step", spy)
    return names


def both_steps(monkeypatch, fit):
    """``fit()``'s model through PlannedStep, then through the general step."""
    planned = fit()
    with monkeypatch.context() as m:
        m.setattr(_planned, "accepts", lambda *args: False)
        general = fit()
    return planned, general


def assert_equal_fits(a, b):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert p.dtype == q.dtype
        assert_array_equal(p, q)
    assert a.loss_curve_ == b.loss_curve_


def targets(y, kind):
    return {"multiclass": y, "binary": y % 2, "multilabel": np.c_[y % 2, y > 4],
            "one target": y.astype(float),
            "two targets": np.c_[y, y % 3].astype(float)}[kind]


CASES = [
    (BackpropClassifier, "multiclass", {}),
    (BackpropClassifier, "binary", dict(solver="sgd", alpha=0.3)),
    (BackpropClassifier, "multilabel", dict(hidden_layer_sizes=(6, 5), activation="tanh")),
    (BackpropClassifier, "multiclass", dict(activation=["elu", "softplus"],
                                            hidden_layer_sizes=(7, 5))),
    (BackpropClassifier, "binary", dict(solver="sgd", nesterovs_momentum=False,
                                        activation="logistic", dtype="float32")),
    (BackpropRegressor, "two targets", dict(alpha=0.0, shuffle=False, batch_size=7)),
    (BackpropRegressor, "one target", dict(solver="sgd", momentum=0.0,
                                           activation="leaky_relu", dtype="float32")),
    (BackpropRegressor, "one target", dict(hidden_layer_sizes=(9, 4, 3),
                                           learning_rate="adaptive", solver="sgd")),
    # no output loop (the loss has none; not the loss's link): NumPy's output layer
    (BackpropRegressor, "two targets", dict(loss="huber", alpha=0.1)),
    (BackpropRegressor, "one target", dict(out_activation="logistic")),
    (BackpropRegressor, "one target", dict(loss="poisson", solver="sgd")),
]


@pytest.mark.parametrize("cls, kind, settings", CASES, ids=str)
@QUIET
def test_a_planned_fit_equals_the_general_steps_to_the_last_bit(
        cls, kind, settings, digits, chosen, monkeypatch):
    X, y = digits
    planned, general = both_steps(monkeypatch, lambda: cls(
        max_iter=6, random_state=0, **{"hidden_layer_sizes": (8,), **settings}).fit(
            X, targets(y, kind)))
    assert chosen == ["PlannedStep", "WorkspaceStep"]
    assert_equal_fits(planned, general)


@QUIET
def test_sparse_rows_a_warm_start_and_partial_fit_equal_the_general_step(
        digits, chosen, monkeypatch):
    X, y = digits
    sparse = scipy.sparse.csr_matrix(X)

    def fit():
        model = BackpropClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0,
                                   warm_start=True).fit(sparse, y)
        model.fit(sparse, y)
        return model.partial_fit(X[:300], y[:300])

    planned, general = both_steps(monkeypatch, fit)
    assert chosen == ["PlannedStep"] * 3 + ["WorkspaceStep"] * 3
    assert_equal_fits(planned, general)


@QUIET
def test_without_the_kernels_the_plan_takes_numpys_calls(digits, monkeypatch):
    plans = []
    bind = _planned.Plan.__init__
    monkeypatch.setattr(_planned.Plan, "__init__", lambda self, *args: plans.append(
        self) or bind(self, *args))
    with config_context(fast_kernels=False):
        BackpropClassifier(hidden_layer_sizes=(8,), max_iter=1).fit(*digits)
    [plan] = plans
    assert plan.ws.kernels is None and plan.output_loop is None
    assert all(layer.activate is layer.derivative is None for layer in plan.bound)


# Edge cases of the fits the plan accepts: each trains through PlannedStep and ends
# on the general step's weights, loss curve, counters and warnings, to the last bit.

def recorded(fit):
    """``fit`` wrapped to record its warnings, as (category, message), on the model
    it returns (``_warnings``)."""
    def run():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = fit()
        model._warnings = [(w.category, str(w.message)) for w in caught]
        return model
    return run


OUTCOME = ("n_iter_", "t_", "best_loss_", "best_validation_score_", "diverged_",
           "validation_scores_", "best_epoch_")


def assert_same_outcome(a, b):
    """Equal weights and loss curves (``assert_equal_fits``), counters, validation
    record and warnings: the two steps' fits cannot be told apart."""
    assert_equal_fits(a, b)
    for name in OUTCOME:
        p, q = getattr(a, name, None), getattr(b, name, None)
        assert_array_equal(np.asarray(p, dtype=float), np.asarray(q, dtype=float),
                           err_msg=name)
    assert a._warnings == b._warnings


def small(n=60, features=5, seed=0):
    """``n`` rows of ``features`` standard normal columns, a regression target and
    labels of three classes (each present)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    labels = rng.integers(0, 3, size=n)
    labels[:3] = [0, 1, 2]
    return X, X @ rng.normal(size=features) + rng.normal(scale=0.1, size=n), labels


def reg(**settings):
    return BackpropRegressor(**{"hidden_layer_sizes": (5,), "max_iter": 4,
                                "random_state": 0, **settings})


def clf(**settings):
    return BackpropClassifier(**{"hidden_layer_sizes": (5,), "max_iter": 4,
                                 "random_state": 0, **settings})


def fortran(A):
    return np.asfortranarray(A)


def strided(A):
    """A's values in a view that is neither row- nor column-major."""
    A = np.asarray(A)
    return np.repeat(A, 2, axis=-1)[..., ::2] if A.ndim == 2 else np.repeat(A, 2)[::2]


EDGES = {
    "batch_size=1 sgd": lambda X, y, c: reg(batch_size=1, solver="sgd").fit(X[:30], y[:30]),
    "batch_size=1 adam, two targets": lambda X, y, c: reg(batch_size=1).fit(
        X[:30], np.c_[y, -y][:30]),
    "batch_size=1 sgd float32": lambda X, y, c: reg(
        batch_size=1, solver="sgd", dtype="float32").fit(X[:30], y[:30]),
    "batch_size=1 binary": lambda X, y, c: clf(batch_size=1, solver="sgd").fit(
        X[:30], c[:30] % 2),
    "a last batch of one row": lambda X, y, c: reg(batch_size=7).fit(X[:50], y[:50]),
    "a last batch of one row, in order": lambda X, y, c: clf(
        batch_size=7, shuffle=False).fit(X[:50], c[:50]),
    "one feature": lambda X, y, c: reg().fit(X[:, :1], y),
    "one feature, two targets": lambda X, y, c: reg(batch_size=9).fit(
        X[:, :1], np.c_[y, c]),
    "one feature, rows one by one": lambda X, y, c: clf(batch_size=1).fit(
        X[:20, :1], c[:20]),
    "no hidden layer": lambda X, y, c: reg(hidden_layer_sizes=()).fit(X, y),
    "no hidden layer, binary": lambda X, y, c: clf(hidden_layer_sizes=()).fit(X, c % 2),
    "hidden layers of one unit": lambda X, y, c: reg(
        hidden_layer_sizes=(3, 1, 1), activation=["relu", "tanh", "tanh"]).fit(X, y),
    "a unit before two outputs": lambda X, y, c: reg(hidden_layer_sizes=(4, 1)).fit(
        X, np.c_[y, -y]),
    "binary": lambda X, y, c: clf(alpha=0.0).fit(X, c % 2),
    "multiclass": lambda X, y, c: clf(alpha=0.5).fit(X, c),
    "multilabel": lambda X, y, c: clf(hidden_layer_sizes=(4, 3)).fit(
        X, np.c_[c % 2, c > 0, c == 1]),
    "early stopping": lambda X, y, c: reg(early_stopping=True, max_iter=8).fit(X, y),
    "early stopping, classifier": lambda X, y, c: clf(
        early_stopping=True, max_iter=8, n_iter_no_change=2).fit(X, c),
    "a plateau": lambda X, y, c: reg(n_iter_no_change=1, tol=1e3, max_iter=9).fit(X, y),
    "adaptive sgd, nesterov": lambda X, y, c: reg(
        solver="sgd", learning_rate="adaptive", n_iter_no_change=1, tol=1e3,
        max_iter=9).fit(X, y),
    "adaptive sgd, plain momentum": lambda X, y, c: reg(
        solver="sgd", learning_rate="adaptive", nesterovs_momentum=False,
        n_iter_no_change=1, tol=1e3, max_iter=9).fit(X, y),
    "invscaling sgd": lambda X, y, c: clf(solver="sgd", learning_rate="invscaling",
                                          learning_rate_init=0.1).fit(X, c),
    "sgd without momentum": lambda X, y, c: reg(solver="sgd", momentum=0.0).fit(X, y),
    "cosine adam": lambda X, y, c: reg(learning_rate="cosine").fit(X, y),
    "float32 of float64 rows": lambda X, y, c: reg(dtype="float32").fit(X, y),
    "float32 of float64 rows, in order": lambda X, y, c: clf(
        dtype="float32", shuffle=False, batch_size=16).fit(X, c),
    "float32 rows": lambda X, y, c: reg(hidden_layer_sizes=(4, 1)).fit(
        X.astype(np.float32), y),
    "float64 of float32 rows": lambda X, y, c: reg(dtype="float64").fit(
        X.astype(np.float32), y),
    "a DataFrame": lambda X, y, c: clf().fit(pd.DataFrame(X), pd.Series(c)),
    "sparse float32": lambda X, y, c: reg(dtype="float32", shuffle=False).fit(
        scipy.sparse.csr_matrix(X), y),
    "column-major X and Y, in order": lambda X, y, c: reg(
        shuffle=False, batch_size=16).fit(fortran(X), fortran(np.c_[y, c])),
    "column-major X and Y": lambda X, y, c: reg(batch_size=16).fit(
        fortran(X), fortran(np.c_[y, c])),
    "strided X and Y, in order": lambda X, y, c: reg(shuffle=False, batch_size=16).fit(
        strided(X), strided(np.c_[y, c])),
    "every activation": lambda X, y, c: clf(
        hidden_layer_sizes=(4,) * 7, activation=["relu", "tanh", "logistic", "identity",
                                                  "leaky_relu", "elu", "softplus"]).fit(X, c),
    "every activation, reversed, one output": lambda X, y, c: reg(
        hidden_layer_sizes=(4,) * 7, activation=["softplus", "elu", "leaky_relu",
                                                  "identity", "logistic", "tanh",
                                                  "relu"]).fit(X, y),
    "a blow-up (an epoch's loss)": lambda X, y, c: reg(
        solver="sgd", learning_rate_init=1e4, max_iter=20).fit(X, y),
    "a blow-up (a batch's loss), float32": lambda X, y, c: reg(
        solver="sgd", learning_rate_init=0.5, batch_size=8, max_iter=20,
        dtype="float32").fit(X, y * 1e3),
    "a blow-up, classifier": lambda X, y, c: clf(
        solver="sgd", learning_rate_init=1e8, max_iter=20).fit(X, c),
}


@pytest.mark.parametrize("case", EDGES)
def test_every_edge_of_a_planned_fit_equals_the_general_step(case, chosen, monkeypatch):
    X, y, c = small()
    with config_context(rowwise_limit=0):  # (rows one by one: the array steps too)
        planned, general = both_steps(monkeypatch, recorded(lambda: EDGES[case](X, y, c)))
    assert chosen == ["PlannedStep", "WorkspaceStep"]
    assert_same_outcome(planned, general)


def test_the_blow_ups_above_blow_up():
    """(The divergence cases really end on the guard.)"""
    X, y, c = small()
    for case in EDGES:
        if case.startswith("a blow-up"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert EDGES[case](X, y, c).diverged_, case


@QUIET
def test_repeated_partial_fit_and_warm_start_equal_the_general_step(chosen, monkeypatch):
    X, y, c = small()

    def fit():
        model = clf(dtype="float32", batch_size=16)
        for rows in (slice(0, 30), slice(30, 60), slice(0, 60)):
            model.partial_fit(X[rows], c[rows], classes=[0, 1, 2])
        warm = reg(warm_start=True, early_stopping=True, max_iter=3)
        warm.fit(X, y).fit(X, y)
        model.warm = warm
        return model

    planned, general = both_steps(monkeypatch, fit)
    assert chosen == ["PlannedStep"] * 5 + ["WorkspaceStep"] * 5
    assert_equal_fits(planned, general)
    assert_equal_fits(planned.warm, general.warm)
    assert planned.warm.validation_scores_ == general.warm.validation_scores_


@QUIET
def test_callbacks_see_the_same_networks_and_stop_the_same_fit(chosen, monkeypatch):
    X, _, c = small()

    def fit():
        callback = Recorder(stop_after=3)
        model = clf(max_iter=6).set_callbacks(callback).fit(X, c)
        model.scores = callback.scores
        return model

    planned, general = both_steps(monkeypatch, fit)
    assert chosen == ["PlannedStep", "WorkspaceStep"]
    assert_equal_fits(planned, general)
    assert planned.n_iter_ == general.n_iter_ == 3
    assert planned.scores == general.scores


REFUSED = [
    (BackpropClassifier, dict(dropout=0.2)),
    (BackpropClassifier, dict(clip_norm=1.0)),
    (BackpropClassifier, dict(sample_weight=True)),  # (weighted rows)
    (BackpropRegressor, dict(activation=["relu", "gelu"], hidden_layer_sizes=(4, 3))),
    (BackpropRegressor, dict(activation=["gelu", "tanh"], hidden_layer_sizes=(4, 3))),
    (BackpropRegressor, dict(activation="gelu", hidden_layer_sizes=(4, 1))),
    (BackpropClassifier, dict(weight_decay=0.1)),  # (decoupled decay)
    (BackpropClassifier, dict(class_weight="balanced")),  # (weighted rows)
    (BackpropClassifier, dict(dropout=[0.0, 0.3], hidden_layer_sizes=(4, 3))),
]


@pytest.mark.parametrize("cls, settings", REFUSED, ids=str)
@QUIET
def test_what_the_plan_does_not_cover_takes_the_general_step(cls, settings, chosen):
    X, y, c = small()
    target = c % 2 if cls is BackpropClassifier else y / 10 + 0.5
    settings = dict(settings)
    weights = settings.pop("sample_weight", None) and np.linspace(0.5, 2, len(target))
    cls(max_iter=1, **{"hidden_layer_sizes": (4,), **settings}).fit(
        X, target, sample_weight=weights)
    assert chosen == ["WorkspaceStep"]


@QUIET
def test_dropout_of_zero_everywhere_is_planned(chosen, monkeypatch):
    X, _, c = small()
    planned, general = both_steps(monkeypatch, lambda: clf(
        hidden_layer_sizes=(4, 3), dropout=[0.0, 0.0]).fit(X, c))
    assert chosen == ["PlannedStep", "WorkspaceStep"]
    assert_equal_fits(planned, general)


def test_accepts_refuses_gelu_in_any_hidden_layer():
    """(Its derivative reads the net input, which the plan does not keep.)"""
    X, y, _ = small()
    seen = []

    def spy(model, spec, data):
        seen.append(_accepts(model, spec, data))
        return seen[-1]

    _accepts = _planned.accepts
    with pytest.MonkeyPatch.context() as m, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.setattr(_planned, "accepts", spy)
        for position in range(3):
            activations = ["relu"] * 3
            activations[position] = "gelu"
            reg(hidden_layer_sizes=(3, 3, 3), activation=activations, max_iter=1).fit(X, y)
        reg(hidden_layer_sizes=(3, 3, 3), max_iter=1).fit(X, y)
    assert seen == [False, False, False, True]


# A property: any small perceptron the plan accepts trains to the general step's
# numbers. Hypothesis draws the settings and a seed; NumPy draws the data.

ACCEPTED_ACTIVATIONS = ["relu", "tanh", "logistic", "identity", "leaky_relu", "elu",
                        "softplus"]
TARGETS = ["one target", "two targets", "binary", "multiclass", "multilabel"]


@st.composite
def planned_fits(draw):
    """``(estimator, X, Y)``: a small fit the plan accepts."""
    target = draw(st.sampled_from(TARGETS))
    n = draw(st.integers(4, 60))
    hidden = draw(st.lists(st.integers(1, 5), max_size=3))
    settings = dict(
        hidden_layer_sizes=tuple(hidden),
        activation=[draw(st.sampled_from(ACCEPTED_ACTIVATIONS)) for _ in hidden] or "relu",
        solver=draw(st.sampled_from(["adam", "sgd"])),
        momentum=draw(st.sampled_from([0.0, 0.9])),
        nesterovs_momentum=draw(st.booleans()),
        learning_rate=draw(st.sampled_from(["constant", "invscaling", "adaptive", "step",
                                            "cosine"])),
        learning_rate_init=draw(st.sampled_from([1e-3, 0.1, 30.0])),
        alpha=draw(st.sampled_from([0.0, 1e-4, 0.5])),
        batch_size=draw(st.integers(1, n + 2)),
        dtype=draw(st.sampled_from(["float32", "float64"])),
        shuffle=draw(st.booleans()),
        max_iter=draw(st.integers(1, 4)),
        n_iter_no_change=draw(st.integers(1, 3)),
        tol=draw(st.sampled_from([1e-4, 10.0])),
        random_state=draw(st.integers(0, 99)),
        early_stopping=n >= 30 and target in TARGETS[:2] and draw(st.booleans()),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    X = rng.normal(size=(n, draw(st.integers(1, 5)))).astype(
        draw(st.sampled_from([np.float32, np.float64])))
    labels = rng.integers(0, 3, size=n)
    labels[:3] = [0, 1, 2]
    Y = {"one target": rng.normal(size=n), "two targets": rng.normal(size=(n, 2)),
         "binary": labels % 2, "multiclass": labels,
         "multilabel": np.c_[labels % 2, labels == 1]}[target]
    layout = draw(st.sampled_from(["C", "F", "sparse", "strided"]))
    X, Y = {"C": (X, Y), "F": (fortran(X), fortran(Y) if Y.ndim == 2 else Y),
            "sparse": (scipy.sparse.csr_matrix(X), Y),
            "strided": (strided(X), strided(Y))}[layout]
    cls = BackpropRegressor if target in TARGETS[:2] else BackpropClassifier
    return cls(**settings), X, Y


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(fit=planned_fits())
def test_any_small_planned_fit_equals_the_general_step(fit, chosen, monkeypatch):
    estimator, X, Y = fit
    chosen.clear()
    with config_context(rowwise_limit=0):
        planned, general = both_steps(monkeypatch, recorded(
            lambda: sklearn.base.clone(estimator).fit(X, Y)))
    assert chosen == ["PlannedStep", "WorkspaceStep"]
    assert_same_outcome(planned, general)


# The loops run only on the layouts they were compiled for before training: the
# outer product's loop (before an output of one unit) never compiles mid-fit.

def signatures():
    return {key: list(loop.signatures) for key, loop in _kernels._LOOPS.items()}


LAYOUTS = {
    "row-major": lambda X: X,
    "column-major": fortran,
    "strided": strided,
    "sparse": scipy.sparse.csr_matrix,
    "one feature": lambda X: X[:, :1],
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("layout", LAYOUTS)
@QUIET
@pytest.mark.usefixtures("with_kernels")
def test_no_loop_is_compiled_in_the_middle_of_a_planned_fit(layout, dtype, monkeypatch):
    """Before an output of one unit, whatever the rows' layout, shuffled or in
    order, batches of any size down to one row, hidden layers of one unit: every
    loop a fit calls was compiled (or loaded) with its kernels, before its first
    epoch, for row-major arrays."""
    X, y, c = small(n=23)
    X = LAYOUTS[layout](X)
    compiled_at_start = []

    def spy(*args, **kwargs):
        step = _steps.make_step(*args, **kwargs)
        assert type(step).__name__ == "PlannedStep"
        compiled_at_start.append(signatures())
        return step

    monkeypatch.setattr(_training, "make_step", spy)
    runs = 0
    for activation in ["relu", "tanh", "logistic", "identity", "leaky_relu", "elu"]:
        for hidden, batch_size, shuffle in [((4,), 1, False), ((3, 1), 11, True),
                                            ((2, 3), 11, False)]:
            kind = BackpropClassifier if batch_size == 11 and shuffle else BackpropRegressor
            target = (c % 2) if kind is BackpropClassifier else y
            with config_context(rowwise_limit=0):
                kind(hidden_layer_sizes=hidden, activation=activation, max_iter=2,
                     batch_size=batch_size, shuffle=shuffle, dtype=dtype,
                     random_state=0).fit(X, target)
            assert signatures() == compiled_at_start[-1], (activation, hidden)
            runs += 1
    assert len(compiled_at_start) == runs
    for (template, name, _), loop in _kernels._LOOPS.items():
        if template is _kernels.outer_times_derivative:
            assert all(str(s).count("'C'") == 4 for s in loop.signatures), name


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@QUIET
@pytest.mark.usefixtures("with_kernels")
def test_the_update_loop_takes_the_numbers_it_was_compiled_for(solver, dtype, monkeypatch):
    """The update loops take their numbers in the fit's precision (Python floats for
    float64, float32 scalars for float32), whatever the schedule or the settings'
    types: the signatures compiled when the kernels are made are all a fit uses."""
    X, y, _ = small(n=40)
    compiled_at_start = []

    def spy(*args, **kwargs):
        step = _steps.make_step(*args, **kwargs)
        compiled_at_start.append(signatures())
        return step

    monkeypatch.setattr(_training, "make_step", spy)
    for rate in ("adaptive", "invscaling", "constant"):
        reg(solver=solver, learning_rate=rate, learning_rate_init=np.float64(0.01),
            momentum=np.float32(0.5), alpha=np.float64(1e-3), batch_size=8,
            dtype=dtype).fit(X, y)
        assert signatures() == compiled_at_start[-1], rate
    number = numba.float64 if dtype == "float64" else numba.float32
    for (template, _, _), loop in _kernels._LOOPS.items():
        if template.__name__ == solver:
            mine = [s for s in loop.signatures if s[0].dtype == number]
            assert len(mine) == 1
            assert all(t == number for t in mine[0] if isinstance(t, numba.types.Float))


@pytest.mark.parametrize("planned", [True, False], ids=["planned", "general"])
@QUIET
@pytest.mark.usefixtures("with_kernels")
def test_a_read_only_target_compiles_no_loop_mid_fit(planned, monkeypatch):
    """A read-only target (a memory map, as joblib's workers get in
    GridSearchCV(n_jobs=...)) taken in order reaches the output loop as a
    writable copy: no read-only version of a loop is compiled in the first epoch."""
    if not planned:
        monkeypatch.setattr(_planned, "accepts", lambda *args: False)
    X, y, _ = small()
    y.flags.writeable = False
    reg(shuffle=False, batch_size=16, dtype="float64").fit(X, y)
    for loop in _kernels._LOOPS.values():
        for signature in loop.signatures:
            assert not any(isinstance(t, numba.types.Array) and not t.mutable
                           for t in signature), signature
