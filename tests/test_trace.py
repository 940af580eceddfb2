"""skbackprop.backprop_trace (issue 7, item 2): its numbers are the estimator's."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_sample_weight

from skbackprop import BackpropClassifier, BackpropRegressor, backprop_trace
from skbackprop.datasets import load_placement

rng = np.random.RandomState(0)
X = rng.normal(size=(4, 3))
CASES = {
    "regression, two hidden layers, L2": (
        BackpropRegressor(hidden_layer_sizes=(3, 2), activation="tanh", alpha=0.3),
        X[:, 0] - X[:, 1]),
    "lab seed: sigmoid units, squared error": (
        BackpropRegressor(hidden_layer_sizes=(3,), activation="logistic",
                          out_activation="logistic"), np.array([0.92, 0.86, 0.89, 0.5])),
    "binary classifier": (BackpropClassifier(hidden_layer_sizes=(2,),
                                             activation="logistic"), [0, 1, 1, 0]),
    "multiclass (softmax)": (BackpropClassifier(hidden_layer_sizes=(3,)), [0, 1, 2, 1]),
}


def as_matrix(trace, layer, shape, column="gradient", kind="weight"):
    rows = trace.params[(trace.params["layer"] == layer) & (trace.params["kind"] == kind)]
    return rows[column].to_numpy().reshape(shape)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("weighted", [False, True])
def test_trace_is_the_estimators_own_step(case, weighted):
    """Gradients, loss and the updated weights equal one real SGD step (momentum 0,
    the batch = the traced rows), and the chain-rule factors multiply out."""
    est, y = CASES[case]
    sw = np.array([1.0, 2.0, 0.5, 1.5]) if weighted else None
    est = clone(est).set_params(random_state=0, solver="sgd", momentum=0.0, batch_size=4,
                         shuffle=False, learning_rate_init=0.1)
    trace = backprop_trace(est, X, y, sample_weight=sw)
    assert not hasattr(est, "coefs_")  # traced on a copy
    stepped = est.partial_fit(X, y, sample_weight=sw, **(
        {"classes": np.unique(y)} if isinstance(est, BackpropClassifier) else {}))
    assert trace.loss == pytest.approx(stepped.loss_curve_[0], rel=1e-12)
    for layer, (W, b) in enumerate(zip(stepped.coefs_, stepped.intercepts_), start=1):
        assert_allclose(as_matrix(trace, layer, W.shape, "updated"), W, rtol=1e-12,
                        atol=1e-15)
        assert_allclose(as_matrix(trace, layer, b.shape, "updated", "bias"), b,
                        rtol=1e-12, atol=1e-15)
    # dL/dparam = sum over samples of delta x input (+ the L2 term)
    sums = trace.factors.groupby("name", sort=False)["product"].sum()
    params = trace.params.set_index("name")
    assert_allclose(sums[params.index] + params["l2_term"], params["gradient"],
                    rtol=1e-10, atol=1e-14)
    # delta = dL/dout x dout/dnet at every unit (softmax's Jacobian is no scalar)
    units = trace.units[(trace.units["layer"] > 0) & trace.units["doutput_dnet"].notna()]
    assert len(units) > 0
    assert_allclose(units["dL_doutput"] * units["doutput_dnet"], units["delta"],
                    rtol=1e-10, atol=1e-15)


def test_hidden_errors_are_weighted_sums_of_the_deltas_above():
    """dL/dout(h_j) = sum_k w(h_j->o_k) delta(o_k), from the tables alone."""
    est, y = CASES["regression, two hidden layers, L2"]
    trace = backprop_trace(clone(est).set_params(random_state=1), X, y)
    units = trace.units.set_index(["sample", "unit"])
    weights = trace.params.set_index("name")["value"]
    for sample in range(len(X)):
        for j in (1, 2):
            expected = weights[f"w(h2_{j}->o1)"] * units.loc[(sample, "o1"), "delta"]
            assert units.loc[(sample, f"h2_{j}"), "dL_doutput"] == pytest.approx(expected)


def test_the_tutorials_first_update_by_hand():
    """The regression tutorial's first row (CGPA 8, resume 8, package 4) through the
    2-2-1 linear network with every weight 0.1: h = 1.6, y_hat = 0.32. The tutorial's
    dE/dw5 = -2 (y - y_hat) h = -11.776 on its loss (y - y_hat)^2; ours is half."""
    X_p, y_p = load_placement(return_X_y=True)
    assert X_p[0].tolist() == [8.0, 8.0] and y_p[0] == 4.0
    reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
                            weight_init=0.1, alpha=0.0, learning_rate_init=0.002)
    trace = backprop_trace(reg, X_p[:1], y_p[:1])
    units = trace.units.set_index("unit")
    assert units.loc["h1", "output"] == pytest.approx(1.6)
    assert units.loc["o1", "output"] == pytest.approx(0.32)
    assert trace.loss == pytest.approx(0.5 * (4 - 0.32) ** 2)
    params = trace.params.set_index("name")
    assert params.loc["w(h1->o1)", "gradient"] == pytest.approx(-11.776 / 2)
    assert params.loc["w(x1->h1)", "gradient"] == pytest.approx(-(4 - 0.32) * 0.1 * 8)
    assert params.loc["w(h1->o1)", "updated"] == pytest.approx(0.1 + 0.002 * 5.888)
    text = str(trace)
    assert "dL/dw(h1->o1) = sum over samples of delta(o1) x out(h1) = -3.68 x 1.6" in text
    assert text.index("delta(o1)") < text.index("delta(h1)")  # backwards, as taught


def test_trace_of_a_fitted_model_uses_its_weights():
    est, y = CASES["binary classifier"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = clone(est).set_params(random_state=0, max_iter=50).fit(X, y)
    trace = backprop_trace(est, X, y)
    outputs = trace.units[trace.units["unit"] == "o1"]["output"].to_numpy()
    assert_allclose(outputs, est.predict_proba(X)[:, 1], rtol=1e-12)
    assert_allclose(as_matrix(trace, 1, est.coefs_[0].shape, "value"), est.coefs_[0])


def test_classes_for_rows_that_miss_some():
    clf = BackpropClassifier(hidden_layer_sizes=(2,), random_state=0)
    with pytest.raises(ValueError, match="only one class"):
        backprop_trace(clf, X[:1], [1])
    trace = backprop_trace(clf, X[:1], [1], classes=[0, 1, 2])
    assert set(trace.units["unit"]) >= {"o1", "o2", "o3"}  # three classes: softmax
    with pytest.raises(ValueError, match="classes= is for classifiers"):
        backprop_trace(BackpropRegressor(), X[:1], [1.0], classes=[0, 1])


def test_assigned_weights_are_traced_with_warm_start_only():
    """As fit: weights assigned to coefs_ are the start with warm_start=True; without
    it (classes= given or not) a fit would draw its own, and so does the trace."""
    X, y = np.array([[0.5, 1.0], [1.0, -1.0]]), np.array([0, 1])

    def traced(warm_start, **kwargs):
        clf = BackpropClassifier(hidden_layer_sizes=(2,), random_state=0,
                                 warm_start=warm_start)
        clf.coefs_ = [np.full((2, 2), 0.1), np.full((2, 1), 0.1)]
        clf.intercepts_ = [np.zeros(2), np.zeros(1)]
        return backprop_trace(clf, X, y, **kwargs).params["value"].to_numpy()

    drawn = traced(False)
    assert not np.allclose(drawn[:6], 0.1)
    np.testing.assert_array_equal(traced(False, classes=[0, 1]), drawn)
    np.testing.assert_array_equal(traced(True, classes=[0, 1])[[0, 1, 2, 3]], 0.1)


@pytest.mark.parametrize("weighted", [False, True])
def test_a_fitted_balanced_classifier_is_traced_with_the_weights_fit_gives(weighted):
    """class_weight='balanced' weighs the traced rows' classes as fit on them does
    (sklearn's compute_sample_weight), times any sample_weight: the loss is the
    weighted mean log loss plus alpha ||W||^2 / (2 sum w), the output layer's
    gradient H^T delta + alpha W / sum w with delta = w (p - y) / sum w."""
    X12 = np.random.RandomState(1).normal(size=(12, 3))
    y12 = np.array([0] * 9 + [1] * 3)
    sw = np.linspace(0.5, 2, 12) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = BackpropClassifier(hidden_layer_sizes=(3,), class_weight="balanced",
                                 alpha=0.1, solver="lbfgs", max_iter=30,
                                 random_state=0).fit(X12, y12)
    trace = backprop_trace(clf, X12, y12, sample_weight=sw)
    w = compute_sample_weight("balanced", y12) * (1 if sw is None else sw)
    p = clf.predict_proba(X12)[:, 1]
    log_loss = -(y12 * np.log(p) + (1 - y12) * np.log(1 - p))
    l2 = 0.1 * sum((W ** 2).sum() for W in clf.coefs_) / (2 * w.sum())
    assert trace.loss == pytest.approx((w * log_loss).sum() / w.sum() + l2, rel=1e-10)
    if not weighted:
        assert trace.loss == pytest.approx(clf.loss_, rel=1e-10)  # lbfgs: final loss
    H = np.maximum(X12 @ clf.coefs_[0] + clf.intercepts_[0], 0)  # relu units
    delta = w * (p - y12) / w.sum()
    assert_allclose(as_matrix(trace, 2, (3, 1)),
                    H.T @ delta[:, None] + 0.1 * clf.coefs_[1] / w.sum(), rtol=1e-9)
    assert clf.class_weight == "balanced"  # traced on a copy


def test_a_fitted_tabular_model_is_traced_through_every_layer():
    """Every entry of every layer's parameters has a row (the embeddings, periodic
    embeddings, feature scale and parametric activations by their names), and its
    gradient is the central difference of the trace's own loss."""
    import pandas as pd

    from skbackprop.tabular import TabularClassifier

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"size": rng.normal(size=40),
                          "shop": rng.choice([f"s{i}" for i in range(12)], 40)})
    y = (table["size"] > 0).astype(int).to_numpy()
    model = TabularClassifier(hidden_layer_sizes=(3,), embedding_dim=2, max_iter=3,
                              random_state=0, dtype="float64")  # (finite differences)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(table, y)
    trace = backprop_trace(model, table[:5], y[:5])
    params = model._fitted_network()[1]
    assert len(trace.params) == sum(p.size for ps in params for p in ps)
    kinds = trace.params.drop_duplicates("layer").set_index("layer")["kind"]
    assert kinds.to_dict() == {1: "E1", 2: "w", 3: "s", 4: "weight", 5: "m", 6: "weight"}
    rows = trace.params.set_index("name")
    code = int(model.preprocessor_.transform(table[:1])[0, 1])  # (row 0's: a gradient)
    assert rows.loc[f"E1[{code}, 1](layer 1)", "gradient"] != 0
    for name, (layer, array, index) in {f"E1[{code}, 1](layer 1)": (0, 0, (code, 1)),
                                        "V[0, 3, 1](layer 2)": (1, 2, (0, 3, 1)),
                                        "s[2](layer 3)": (2, 0, (2,)),
                                        "m[1](layer 5)": (4, 0, (1,))}.items():
        entry = model._layer_parameters[layer][array]
        kept, eps, losses = entry[index], 1e-6, []
        for step in (eps, -eps):
            entry[index] = kept + step
            losses.append(backprop_trace(model, table[:5], y[:5]).loss)
        entry[index] = kept
        assert rows.loc[name, "gradient"] == pytest.approx(
            (losses[0] - losses[1]) / (2 * eps), rel=1e-6, abs=1e-9)
    assert "dL/dm[0](layer 5) = " in str(trace)
