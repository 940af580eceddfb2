"""The fused path (_engine.planned): a plain perceptron on the fused kernels trains
through PlannedStep, which takes the general workspace step's numbers to the last
bit, in every case it accepts (each loss with an output loop, both solvers,
activations with and without loops, float32, sparse rows, rows in order with a
short last batch, a warm start and partial_fit); every other fit keeps the general
step."""

import numpy as np
import pytest
import scipy.sparse
from numpy.testing import assert_array_equal

from skbackprop import BackpropClassifier, BackpropRegressor, config_context

pytest.importorskip("numba")
from skbackprop._engine import planned as _planned
from skbackprop._engine import steps as _steps
from skbackprop._engine import training as _training

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def kernels_for_every_fit():
    with config_context(fast_kernels=True, fast_kernels_min_work=0):
        yield


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


OTHERS = [
    dict(dropout=0.2),
    dict(clip_norm=1.0),
    dict(activation="gelu"),  # (its derivative needs the net input)
    dict(sample_weight=True),
]


@pytest.mark.parametrize("settings", OTHERS, ids=str)
@QUIET
def test_what_the_plan_does_not_cover_takes_the_general_step(settings, digits, chosen):
    X, y = digits
    settings = dict(settings)
    weights = settings.pop("sample_weight", None) and np.linspace(0.5, 2, len(y))
    BackpropClassifier(hidden_layer_sizes=(8,), max_iter=1, **settings).fit(
        X, y, sample_weight=weights)
    assert chosen == ["WorkspaceStep"]


@QUIET
def test_without_the_kernels_no_plan(digits, chosen):
    with config_context(fast_kernels=False):
        BackpropClassifier(hidden_layer_sizes=(8,), max_iter=1).fit(*digits)
    assert chosen == ["WorkspaceStep"]
