"""NetworkDisplay (issue 16, item 6): every label inside the axes and clear of the
other labels, of the units and of the edges it does not sit on, checked from the
drawn artists' extents; wide layers summarised; the drawn numbers are the model's."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor, NetworkDisplay, backprop_trace
from skbackprop.datasets import load_placement, make_placement
from skbackprop.inspection._layout import boxes_meet, segment_meets_box

plt = pytest.importorskip("matplotlib.pyplot")  # (drawing off screen: conftest)
pytestmark = pytest.mark.usefixtures("close_figures")


def tutorial_display():
    """The regression tutorial's 2-2-1 start, gradients on its table."""
    X, y = load_placement(return_X_y=True)
    reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
                            weight_init=0.1)
    return NetworkDisplay.from_estimator(reg, X, y)


def lab_display():
    """The lab's 2-3-1 sigmoid network, gradients on the classification table."""
    X, y = load_placement(task="classification", return_X_y=True)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), activation="logistic",
                             random_state=0)
    return NetworkDisplay.from_estimator(clf, X, y)


def extents(display):
    display.figure_.canvas.draw()
    boxes = {}
    for text in display.ax_.texts:
        patch = text.get_bbox_patch()
        boxes[text] = (patch or text).get_window_extent().extents
    return boxes


@pytest.mark.parametrize("make", [tutorial_display, lab_display])
def test_every_label_lies_inside_the_axes_and_clear_of_the_others(make):
    display = make()
    assert display.unplaced_ == [] and len(display.labels_) == len(display.edges_)
    assert_clear(display)


@pytest.mark.parametrize("make", [tutorial_display, lab_display])
def test_gradient_labels_sit_on_their_own_edge_only(make):
    display = make()
    boxes = extents(display)
    data = display.ax_.transData
    segments = [data.transform(np.column_stack(edge.get_data())) for edge in display.edges_]
    for own, label in enumerate(display.labels_):
        box = boxes[label]
        assert segment_meets_box(*segments[own], box)  # written on its edge
        for other, (p, q) in enumerate(segments):
            if other != own:
                assert not segment_meets_box(p, q, box), (label.get_text(), other)


def test_unit_boxes_hold_the_names_and_biases_of_the_model():
    display = lab_display()
    texts = [t.get_text() for t in display.unit_labels_]
    assert texts[:2] == ["x1", "x2"]
    X, y = load_placement(task="classification", return_X_y=True)
    trace = backprop_trace(BackpropClassifier(hidden_layer_sizes=(3,),
                                              activation="logistic", random_state=0), X, y)
    biases = trace.params[trace.params["kind"] == "bias"].set_index("to")["value"]
    for text in texts[2:]:
        name, bias = text.split("\nb=")
        assert float(bias) == pytest.approx(biases[name], rel=1e-2)


def test_the_gradients_written_are_the_traces():
    X, y = make_placement(n_samples=5, random_state=0)
    reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
                            weight_init=0.1)  # unfitted: the starting weights
    display = NetworkDisplay.from_estimator(reg, X, y)
    trace = backprop_trace(reg, X, y)
    gradients = trace.params[trace.params["kind"] == "weight"]["gradient"]
    assert [t.get_text() for t in display.labels_] == [f"{g:.3g}" for g in gradients]
    assert_allclose(display.weights_, 0.1)


def test_a_fitted_network_draws_every_weight():
    X, y = make_placement(n_samples=30, task="classification", random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=50,
                             random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    display = NetworkDisplay.from_estimator(clf)
    weights = np.concatenate([W.ravel() for W in clf.coefs_])
    assert len(display.edges_) == weights.size == 2 * 3 + 3 * 1
    assert_allclose(display.weights_, weights)
    widths = np.array([edge.get_linewidth() for edge in display.edges_])
    assert widths[np.argmax(np.abs(weights))] == widths.max() == 5.0
    assert np.all(np.diff(widths[np.argsort(np.abs(weights))]) >= 0)  # wider = larger
    colours = [edge.get_color() for edge in display.edges_]
    assert all((c == "tab:blue") == (w >= 0) for c, w in zip(colours, weights))
    # each edge joins the units of its weight: W[0][i, j] from input i to hidden j
    xs, ys = display.edges_[1].get_xdata(), display.edges_[1].get_ydata()
    assert list(xs) == [0.0, 1.0]
    assert (ys[0], ys[1]) == (display.positions_[0][0][1], display.positions_[1][1][1])
    assert display.labels_ == []


def test_a_wide_layer_is_summarised_with_a_count_and_a_note():
    X, y = load_placement(task="classification", return_X_y=True)
    clf = BackpropClassifier(hidden_layer_sizes=(100,), random_state=0)
    display = NetworkDisplay.from_estimator(clf, X, y)
    shown = display.shown_units_[1]
    assert len(shown) + 1 == 12  # eleven units and the ellipsis
    assert list(shown) == [0, 1, 2, 3, 4, 5, 95, 96, 97, 98, 99]
    names = [t.get_text().split("\n")[0] for t in display.unit_labels_]
    assert "h6" in names and "h96" in names and "h7" not in names
    assert any("(89 more)" in t.get_text() for t in display.ax_.texts)
    assert "11 of 100 units drawn" in display.ax_.get_title()
    assert len(display.edges_) == 2 * 11 + 11 * 1
    W = clf.coefs_ if hasattr(clf, "coefs_") else None
    assert W is None  # unfitted: drawn from a copy at its starting weights
    trace = backprop_trace(clf, X, y)
    first = trace.params.set_index("name").loc["w(x1->h96)", "value"]
    assert display.weights_[6] == pytest.approx(first)  # x1's 7th drawn edge: to h96
    assert len(display.labels_) + len(display.unplaced_) == len(display.edges_)
    if display.unplaced_:
        assert f"{len(display.unplaced_)} gradients had no room" in display.ax_.get_title()
    boxes = extents(display)
    x0, y0, x1, y1 = display.ax_.get_window_extent().extents
    assert all(x0 <= a and y0 <= b and c <= x1 and d <= y1 for a, b, c, d in boxes.values())


def test_a_pipeline_is_drawn_at_its_last_step():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = make_placement(n_samples=40, random_state=0)
    reg = BackpropRegressor(hidden_layer_sizes=(2,), max_iter=5, random_state=0)
    pipe = make_pipeline(StandardScaler(), reg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y)
    assert_allclose(NetworkDisplay.from_estimator(pipe).weights_,
                    np.concatenate([W.ravel() for W in reg.coefs_]))
    scaled = StandardScaler().fit_transform(X)
    ours = NetworkDisplay.from_estimator(pipe, X[:3], y[:3])
    direct = NetworkDisplay.from_estimator(reg, scaled[:3], y[:3])
    assert [t.get_text() for t in ours.labels_] == [t.get_text() for t in direct.labels_]


def test_anything_else_is_refused_with_what_to_pass():
    from sklearn.neural_network import MLPRegressor
    with pytest.raises(TypeError, match="BackpropRegressor or BackpropClassifier, or a "
                                        "Pipeline whose last step is one; got MLPRegressor"):
        NetworkDisplay.from_estimator(MLPRegressor())


# ------------------------------------------------------- layers of other kinds
def small_table(n=60, seed=0):
    """Two numbers and a category of 12 levels (an embedding's codes)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"size": rng.normal(size=n), "age": rng.normal(size=n),
                      "city": rng.choice([f"c{i}" for i in range(12)], n)})
    return X, (X["size"] + X["age"] > 0).astype(int).to_numpy()


def assert_clear(display):
    """Every text inside the axes, and no two overlapping."""
    boxes = extents(display)
    x0, y0, x1, y1 = display.ax_.get_window_extent().extents
    for text, (a, b, c, d) in boxes.items():
        assert x0 <= a and y0 <= b and c <= x1 and d <= y1, text.get_text()
    texts = list(boxes)
    for i, first in enumerate(texts):
        for second in texts[i + 1:]:
            assert not boxes_meet(boxes[first], boxes[second]), (
                first.get_text(), second.get_text())


def test_a_tabular_model_draws_its_other_layers_as_labelled_blocks():
    from skbackprop.tabular import TabularClassifier, TabularRegressor

    X, y = small_table()
    clf = TabularClassifier(hidden_layer_sizes=(3, 2), embedding_dim=2, max_iter=3,
                            random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    display = NetworkDisplay.from_estimator(clf)
    assert [t.get_text() for t in display.block_labels_] == [
        "categorical embedding\n(dim=2)\nperiodic embedding\n(frequencies=16, dim=4)\n"
        "feature scale", "parametric activation\n(function=selu)",
        "parametric activation\n(function=selu)"]
    # (the blocks sit above the columns they act on: the inputs, the hidden layers)
    assert [t.get_position()[0] for t in display.block_labels_] == [0, 1, 2]
    assert "boxes above: the other layers" in display.ax_.get_title()
    assert display.coefs[0].shape == (2 + 2 + 2 * 3, 3)  # numbers, codes -> 2, periodic
    assert_allclose(display.weights_, np.concatenate([W.ravel() for W in clf.coefs_]))
    assert_clear(display)
    # with rows: each weight's gradient from the trace, the units named as there
    drawn = NetworkDisplay.from_estimator(clf, X[:4], y[:4])
    trace = backprop_trace(clf, X[:4], y[:4])
    names = {t.get_text().split("\n")[0] for t in drawn.unit_labels_}
    assert names <= set(trace.units["unit"]) and "feature_scale3_1" in names
    assert_clear(drawn)
    regressor = TabularRegressor(hidden_layer_sizes=(2,), max_iter=2, random_state=0)
    drawn = NetworkDisplay.from_estimator(regressor, X[:3], X["size"][:3])
    assert drawn.block_labels_[1].get_text() == "parametric activation\n(function=mish)"


def test_the_written_gradients_of_a_tabular_model_are_the_traces():
    from skbackprop.tabular import TabularRegressor

    X, _ = small_table(6)
    X = X[["size", "age"]]
    reg = TabularRegressor(hidden_layer_sizes=(2,), periodic=False,
                           random_state=0)  # unfitted: the starting weights
    display = NetworkDisplay.from_estimator(reg, X, X["size"])
    trace = backprop_trace(reg, X, X["size"])
    weights = trace.params[trace.params["kind"] == "weight"].set_index("name")
    assert display.unplaced_ == [] and len(display.labels_) == len(display.edges_) == 6
    written = [display._weight_name(layer, i, j) for layer, i, j in display._edge_names]
    assert written[0] == "w(feature_scale1_1->h2_1)"
    assert [t.get_text() for t in display.labels_] == [
        f"{g:.3g}" for g in weights.loc[written, "gradient"]]
    assert [t.get_text() for t in display.block_labels_] == [
        "feature scale", "parametric activation\n(function=mish)"]
    assert_clear(display)


def test_a_layer_that_changes_the_width_between_dense_layers_is_refused():
    from skbackprop._core.layers import perceptron_layers
    from skbackprop._core.tabular import PeriodicEmbedding

    class Widening(BackpropRegressor):
        def _network_layers(self, units, activations):
            dense = perceptron_layers(units, activations)
            return (dense[0], PeriodicEmbedding(columns=(0,), frequencies=2), *dense[1:])

    X, y = make_placement(n_samples=20, random_state=0)
    with pytest.raises(ValueError, match=r"layer 2 \(of kind 'periodic_embedding'\) "
                                         r"changes the width after Dense layer 1 \(3 units "
                                         r"to 6\).*Use backprop_trace"):
        NetworkDisplay.from_estimator(Widening(hidden_layer_sizes=(3,)), X, y)
