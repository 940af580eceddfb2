"""The divergence guard (_guard): one reference, every solver, finite models, no
false alarm, extreme inputs."""

import warnings

import numpy as np
import pytest
import scipy.sparse
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._core.layers import perceptron_layers
from skbackprop._core.losses import training_loss
from skbackprop._engine.data import Data
from skbackprop._engine.guard import (
    DIVERGENCE_FACTOR,
    SCORED_ROWS,
    Diverged,
    Guard,
    scored_loss,
    scored_rows,
    spread,
    whole_loss,
)
from skbackprop._engine.start import Model


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_guard_reference_and_limits():
    guard = Guard(2.0, earlier_losses=[1.0, 3.0])
    assert guard.reference == 3.0  # the worst loss a continued model had recorded
    guard.check_epoch(3.0 * DIVERGENCE_FACTOR)  # at the limit: fine
    with pytest.raises(Diverged, match="training loss reached"):
        guard.check_epoch(3.0 * DIVERGENCE_FACTOR * 1.01)
    with pytest.raises(Diverged, match="batch's loss became nan"):
        guard.check_update(np.nan)
    with pytest.raises(Diverged, match="starting network's training loss is inf"):
        Guard(np.inf)


@pytest.mark.parametrize("weighted", [False, True])
def test_scored_loss_is_the_loss_an_epoch_reports(weighted):
    """Over 256 rows of 1500, one from each of 256 equal blocks, with the L2 term
    and the sample weights: as the first epoch of full-batch SGD on those rows with
    no update (learning rate ~0) reports it."""
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(1500, 3)), rng.normal(size=1500)
    sw = rng.uniform(0.5, 2, size=1500) if weighted else None
    picked = spread(1500, SCORED_ROWS)
    reg = BackpropRegressor(hidden_layer_sizes=(4,), solver="sgd", batch_size=256,
                            learning_rate_init=1e-300, alpha=0.5, max_iter=1,
                            shuffle=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[picked], y[picked], sample_weight=None if sw is None else sw[picked])
    model = Model(3, perceptron_layers([4, 1], ["relu", "identity"]), "squared_error",
                  0.5, [0.0])
    data = Data(X, y[:, None], y, sw)
    assert scored_rows(data).n_samples == SCORED_ROWS == 256
    assert scored_loss(model, reg._fitted_network()[1], data) == pytest.approx(
        reg.loss_curve_[0], rel=1e-12)


def test_scored_rows_spread_over_the_table():
    """All rows up to SCORED_ROWS; beyond, one in each of SCORED_ROWS equal blocks,
    in order, the same on every call; sparse X too."""
    for n in [1, 256, 257, 511, 512, 513, 1000, 123_457]:
        X = scipy.sparse.csr_matrix(np.arange(n, dtype=float)[:, None])
        Y = np.arange(n, dtype=float)[:, None]
        picked = scored_rows(Data(X, Y, Y[:, 0], Y[:, 0] + 1))  # (weights > 0)
        rows = picked.Y[:, 0].astype(int)
        assert len(rows) == min(n, SCORED_ROWS)
        blocks = np.arange(len(rows) + 1) * n // len(rows)
        assert ((blocks[:-1] <= rows) & (rows < blocks[1:])).all()
        assert_array_equal(picked.X.toarray()[:, 0], rows)
        assert_array_equal(picked.sample_weight, rows + 1)
        assert_array_equal(scored_rows(Data(X, Y, None, None)).Y, picked.Y)


def test_a_start_that_fits_the_first_row_trains_normally():
    """The reference was the first batch's loss: with batch_size=1 and a start that
    fits row 0 (loss ~1e-8) an ordinary epoch loss stopped training at once."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 2))
    y = X[:, 0] + 0.5 * X[:, 1]
    reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
                            solver="sgd", batch_size=1, shuffle=False, max_iter=20,
                            learning_rate_init=0.01, warm_start=True, random_state=0)
    reg.coefs_ = [np.array([[1.0, 0.0], [0.0, 0.5]]), np.array([[0.0], [0.0]])]
    reg.intercepts_ = [np.zeros(2), np.array([y[0] - 1e-4])]  # row 0: error 1e-4
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        try:
            reg.fit(X, y)
        except ConvergenceWarning as warning:
            assert "Maximum iterations" in str(warning)
    assert not reg.diverged_
    assert reg.n_iter_ > 5
    assert reg.loss_ < reg.loss_curve_[0]


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_every_solver_reports_divergence_the_same_way(iris, solver):
    """Targets whose squared error overflows: lbfgs ended with diverged_=False,
    loss_=nan and scipy's 'ABNORMAL'; sgd left loss_ unset."""
    X, _ = iris
    reg = BackpropRegressor(solver=solver, max_iter=30, random_state=0)
    with pytest.warns(ConvergenceWarning) as record:
        reg.fit(X, X[:, 0] * 1e200)
    messages = [str(w.message) for w in record]
    assert len(messages) == 1, messages
    assert "starting network's training loss is inf" in messages[0]
    assert "Scale X and y (e.g. StandardScaler)." in messages[0]
    assert "learning_rate_init" not in messages[0]  # no step size helps here
    assert reg.diverged_ and reg.n_iter_ == 0
    assert reg.loss_ == np.inf  # set: the loss of the weights kept
    assert np.isfinite(reg.predict(X)).all()


def test_a_diverged_poisson_model_predicts_finite_values(iris):
    """The exp output overflowed from the start: 123 of 150 training predictions
    were inf, with RuntimeWarnings from the package."""
    X, _ = iris
    reg = BackpropRegressor(loss="poisson", random_state=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        reg.fit(X * 1e4, X[:, 0])
    assert reg.diverged_
    assert not [w for w in record if w.category is RuntimeWarning]
    assert np.isfinite(reg.predict(X * 1e4)).all()
    kept = [str(w.message) for w in record if w.category is ConvergenceWarning]
    assert len(kept) == 1 and "network of zeros" in kept[0]


def test_absurd_input_scale_is_named(iris):
    """Adam on X * 1e150 trained silently to a loss of 1e299."""
    X, _ = iris
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        BackpropRegressor(max_iter=20, random_state=0).fit(X * 1e150, X[:, 0])
    messages = " ".join(str(w.message) for w in record)
    assert "X has values up to 7.9e+150" in messages
    assert "StandardScaler" in messages
    assert all(w.filename == __file__ for w in record)


def test_a_diverging_fit_keeps_the_best_weights(iris):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    clf = BackpropClassifier(solver="sgd", learning_rate_init=50.0, max_iter=30,
                             momentum=0.99, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Lower learning_rate_init"):
        clf.fit(X, y)
    assert clf.diverged_
    assert len(clf.loss_curve_) == clf.n_iter_ == len(clf.history_)
    assert np.isfinite(clf.predict_proba(X)).all()


def weights_finite(model):
    return all(np.isfinite(p).all() for p in model.coefs_ + model.intercepts_)


def test_a_finite_blow_up_is_caught(digits):
    """sklearn 1.9.1 at learning_rate_init=10 on digits runs its loss from ~1e6 to
    ~1e7 and returns the worst weights silently."""
    X, y = digits
    clf = BackpropClassifier(solver="sgd", learning_rate_init=10.0, max_iter=20,
                             random_state=0)
    with pytest.warns(ConvergenceWarning, match="Lower learning_rate_init") as record:
        clf.fit(X, y)
    assert "training loss reached" in str(record[0].message)
    assert clf.diverged_
    assert weights_finite(clf)
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    # the weights kept are those of the best epoch (or the start), not the blown-up
    assert len(clf.loss_curve_) == clf.n_iter_
    if clf.best_epoch_:
        assert clf.loss_curve_[clf.best_epoch_ - 1] == min(clf.loss_curve_)


def test_non_finite_loss_stops_at_once():
    X = np.random.RandomState(0).normal(size=(50, 2))
    y = np.exp(40 * X[:, 0])  # huge targets: squared error overflows quickly
    reg = BackpropRegressor(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=1.0,
                            max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="Kept the (best|starting) weights"):
            reg.fit(X, y)
    assert reg.diverged_ and reg.n_iter_ < 50
    assert np.isfinite(reg.predict(X)).all()


def test_no_false_alarm_on_a_healthy_fit(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = BackpropClassifier(hidden_layer_sizes=(30,), max_iter=300,
                                 random_state=0).fit(X, y)
    assert not clf.diverged_


def test_clip_norm_prevents_the_blow_up(digits):
    X, y = digits
    clf = BackpropClassifier(solver="sgd", learning_rate_init=10.0, max_iter=20,
                             clip_norm=0.1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert not clf.diverged_
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize("scale", [1e4, 1e6])
def test_extreme_inputs_give_valid_probabilities_without_warnings(digits, scale):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = BackpropClassifier(hidden_layer_sizes=(10,), max_iter=3,
                                 random_state=0).fit(X * scale, y)
        proba = clf.predict_proba(X * scale)
        log_proba = clf.predict_log_proba(X * scale)
    assert np.all((proba >= 0) & (proba <= 1))
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.isfinite(log_proba).all()


@pytest.mark.parametrize("weighted", [False, True])
def test_whole_loss_is_the_loss_on_every_row(weighted):
    """In chunks of 7 rows, and in one: the weighted mean of the rows' losses plus
    the L2 term, as training_loss gives it on all 50 rows at once (to rounding:
    other sums)."""
    rng = np.random.RandomState(1)
    X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    sw = rng.uniform(0, 2, size=50) if weighted else None
    model = Model(3, perceptron_layers([4, 1], ["relu", "identity"]), "squared_error",
                  0.5, [0.0])
    params = [[rng.normal(size=(3, 4)), rng.normal(size=4)],
              [rng.normal(size=(4, 1)), rng.normal(size=1)]]
    data = Data(X, y[:, None], y, sw)
    A, Z = model.output(params, X)
    expected = training_loss("squared_error", y[:, None], Z, A, sw, [params[0][0],
                             params[1][0]], 0.5, 50 if sw is None else sw.sum())
    assert whole_loss(model, params, data, chunk=7) == pytest.approx(expected, rel=1e-13)
    assert scored_loss(model, params, data, rows=50) == pytest.approx(expected, rel=1e-15)
    assert whole_loss(model, params, data) == pytest.approx(expected, rel=1e-13)


def test_a_loss_that_looks_like_a_blow_up_is_judged_on_every_row():
    """Above the factor against the scored rows, the start's loss on every row is
    asked for once and decides; a loss above the factor against it too is a
    blow-up, without asking again."""
    asked = []

    def whole_start():
        asked.append(1)
        return 100.0

    guard = Guard(1.0, whole_start=whole_start)
    assert not guard.blown_up(DIVERGENCE_FACTOR * 0.5) and asked == []
    assert not guard.blown_up(DIVERGENCE_FACTOR * 50) and asked == [1]
    assert guard.reference == 100.0
    assert guard.blown_up(DIVERGENCE_FACTOR * 101) and asked == [1]
    assert Guard(1.0, whole_start=lambda: np.nan).blown_up(DIVERGENCE_FACTOR * 2)
    assert Guard(1.0).blown_up(DIVERGENCE_FACTOR * 2)


def test_rare_huge_targets_the_scored_rows_miss_are_no_blow_up():
    """Ten targets of 3000 among 5000 of order 1, all in rows the guard does not
    score: the first epoch's loss over every row is ~10^4 times the scored rows'
    start, an ordinary epoch (a false alarm before the start was judged on every
    row), and not a blow-up against the start on every row."""
    n = 5000
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n, 3)), rng.normal(size=n)
    y[np.setdiff1d(np.arange(n), spread(n, SCORED_ROWS))[::400]] = 3000.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BackpropRegressor(hidden_layer_sizes=(8,), max_iter=1,
                                  random_state=0).fit(X, y)
    assert not model.diverged_ and model.n_iter_ == 1


def test_the_guard_scores_rows_that_count():
    """Rows of sample weight 0 add nothing to the loss: the guard spreads its rows
    over the others (every 3rd row weighted 0 and 300 rows scored: each pick is a
    weighted row; a start whose loss is 0 / 0 would look like a blow-up); all-zero
    weights are picked as unweighted rows are."""
    n = 600
    weights = (np.arange(n) % 3 != 0).astype(float)
    Y = np.arange(n, dtype=float)[:, None]
    picked = scored_rows(Data(Y, Y, None, weights), rows=300)
    assert_array_equal(picked.Y[:, 0], np.flatnonzero(weights)[spread(400, 300)])
    assert (picked.sample_weight > 0).all()
    assert_array_equal(scored_rows(Data(Y, Y, None, weights), rows=400).Y[:, 0],
                       np.flatnonzero(weights))  # (all 400 of them)
    few = np.zeros(n)
    few[[5, 50, 500]] = 2.0
    assert scored_rows(Data(Y, Y, None, few), rows=2).n_samples == 2
    assert_array_equal(scored_rows(Data(Y, Y, None, few)).Y[:, 0], [5, 50, 500])
    assert_array_equal(scored_rows(Data(Y, Y, None, np.zeros(n)), rows=300).Y[:, 0],
                       spread(n, 300))


@pytest.mark.parametrize("n, layout", [(800, "sorted"), (5000, "sorted"),
                                       (5000, "every 20th"), (5000, "every 19th")])
def test_rows_in_order_do_not_look_like_a_blow_up(n, layout):
    """The reference is the start's loss on rows spread over the whole table, so
    that rows sorted by target (zeros first, near the start's predictions; on 5000
    rows, more zeros than the guard scores) or in a repeating pattern (a zero in
    every 20th row, about the guard's blocks' length, or every 19th) do not make an
    ordinary first epoch look like a blow-up."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    zero = {"sorted": np.arange(n) < 3 * n // 8, "every 20th": np.arange(n) % 20 == 0,
            "every 19th": np.arange(n) % 19 == 0}[layout]
    y = np.where(zero, 0.0, 300.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BackpropRegressor(hidden_layer_sizes=(8,), max_iter=2,
                                  random_state=0).fit(X, y)
    assert not model.diverged_
    assert model.n_iter_ == 2
