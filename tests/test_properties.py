"""Property-based tests (hypothesis): random architectures, activations, losses, batch
sizes and dtypes. Hypothesis draws the structure and a seed; NumPy draws the numbers
from the seed (hypothesis's favourite exact zeros would sit on ReLU's kink)."""

import warnings
from itertools import pairwise

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from math_helpers import make_targets, mlp_loss_and_gradients, mlp_pack, mlp_unpack
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._core.activations import HIDDEN_ACTIVATIONS

OUTPUT_PAIRS = [("squared_error", "identity"), ("squared_error", "logistic"),
                ("squared_error", "tanh"), ("poisson", "exp"),
                ("binary_log_loss", "logistic"), ("log_loss", "softmax"),
                ("huber", "identity")]
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(hidden=st.lists(st.integers(1, 5), min_size=0, max_size=3),
       data=st.data(), pair=st.sampled_from(OUTPUT_PAIRS),
       n_rows=st.integers(1, 6), n_inputs=st.integers(1, 4), k=st.integers(1, 3),
       alpha=st.sampled_from([0.0, 0.5]), weighted=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_gradients_match_finite_differences(hidden, data, pair, n_rows, n_inputs, k,
                                            alpha, weighted, seed):
    acts = [data.draw(st.sampled_from(HIDDEN_ACTIVATIONS)) for _ in hidden]
    loss, out = pair
    k = max(k, 2) if loss == "log_loss" else k
    rng = np.random.RandomState(seed)
    units = [n_inputs, *hidden, k]
    X = rng.normal(size=(n_rows, n_inputs))
    Y = make_targets(loss, rng, n_rows, k)
    sw = rng.uniform(0.5, 2, size=n_rows) if weighted else None
    coefs = [rng.uniform(-0.8, 0.8, size=(a, b)) for a, b in pairwise(units)]
    intercepts = [rng.uniform(-0.3, 0.3, size=b) for b in units[1:]]
    activations = [*acts, out]

    def value(theta):
        c, b = mlp_unpack(theta, units)
        return mlp_loss_and_gradients(X, Y, sw, c, b, activations, loss, alpha)[0]

    _, cg, ig = mlp_loss_and_gradients(X, Y, sw, coefs, intercepts, activations, loss, alpha)
    theta = mlp_pack(coefs, intercepts)
    eps = 1e-6
    numeric = np.array([(value(theta + eps * e) - value(theta - eps * e)) / (2 * eps)
                        for e in np.eye(theta.size)])
    analytic = mlp_pack(cg, ig)
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric), 1e-8)
    assert np.linalg.norm(analytic - numeric) / scale < 1e-5


def quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@SETTINGS
@given(hidden=st.lists(st.integers(1, 8), min_size=0, max_size=2),
       activation=st.sampled_from(HIDDEN_ACTIVATIONS),
       solver=st.sampled_from(["sgd", "adam", "lbfgs"]),
       batch_size=st.integers(1, 40), n_classes=st.integers(2, 4),
       dtype=st.sampled_from(["float32", "float64"]),
       seed=st.integers(0, 2**31 - 1))
def test_classifier_probabilities_are_valid(hidden, activation, solver, batch_size,
                                            n_classes, dtype, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(scale=rng.choice([0.1, 1, 100]), size=(40, 3))
    y = np.arange(40) % n_classes
    clf = quiet_fit(BackpropClassifier(
        hidden_layer_sizes=hidden, activation=activation, solver=solver,
        batch_size=batch_size, dtype=dtype, max_iter=5, random_state=seed), X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (40, n_classes)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(clf.predict(X)) <= set(range(n_classes))


@SETTINGS
@given(hidden=st.lists(st.integers(1, 8), min_size=0, max_size=2),
       activation=st.sampled_from(HIDDEN_ACTIVATIONS),
       loss=st.sampled_from(["squared_error", "huber", "absolute_error", "poisson"]),
       learning_rate_init=st.sampled_from([1e-3, 0.1, 10.0]),
       solver=st.sampled_from(["sgd", "adam"]),
       seed=st.integers(0, 2**31 - 1))
def test_regressor_predictions_are_finite_even_after_a_blow_up(
        hidden, activation, loss, learning_rate_init, solver, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(30, 2))
    y = np.abs(rng.normal(scale=rng.choice([1, 1e3]), size=30))
    reg = BackpropRegressor(hidden_layer_sizes=hidden, activation=activation, loss=loss,
                            solver=solver, learning_rate_init=learning_rate_init,
                            max_iter=5, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # blow-ups warn; that is tested elsewhere
        reg.fit(X, y)
    assert np.isfinite(reg.predict(X)).all()
    assert all(np.isfinite(p).all() for p in reg.coefs_ + reg.intercepts_)


BAD_VALUES = st.sampled_from([np.nan, np.inf, -np.inf, 1e308, "a", None])


@SETTINGS
@given(n_rows=st.integers(0, 5), n_cols=st.integers(0, 3), ndim=st.sampled_from([1, 2, 3]),
       bad=BAD_VALUES, where=st.sampled_from(["X", "y", "weights", "nowhere"]),
       classifier=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_bad_input_raises_only_clear_value_or_type_errors(
        n_rows, n_cols, ndim, bad, where, classifier, seed):
    rng = np.random.RandomState(seed)
    shape = {1: (n_rows,), 2: (n_rows, n_cols), 3: (n_rows, n_cols, 2)}[ndim]
    X = rng.normal(size=shape).astype(object)
    y = (np.arange(n_rows) % 2).astype(object)
    sw = np.ones(n_rows, dtype=object)
    target = {"X": X, "y": y, "weights": sw}.get(where)
    if target is not None and target.size:
        target.flat[rng.randint(target.size)] = bad
    est = (BackpropClassifier if classifier else BackpropRegressor)(
        hidden_layer_sizes=(3,), max_iter=2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y, sample_weight=sw if where == "weights" else None)
    except (ValueError, TypeError) as error:
        assert len(str(error)) > 20  # a sentence, not a bare code
    else:  # it fitted: then the input was usable and the model must be too
        assert np.isfinite(est.predict(X.astype(float))).all() or classifier
