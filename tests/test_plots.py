"""Plots (issue 6, item 2): drawn with the Agg backend, the drawn data checked."""

import io
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor, LossCurveDisplay
from skbackprop.datasets import make_placement

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def png_bytes(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def test_loss_curves_with_validation_and_best_epoch():
    X, y = make_placement(n_samples=200, task="classification", random_state=0)
    clf = BackpropClassifier(hidden_layer_sizes=(6,), early_stopping=True, scoring="loss",
                             n_iter_no_change=5, learning_rate_init=0.05, max_iter=200,
                             random_state=0).fit((X - X.mean(0)) / X.std(0), y)
    display = LossCurveDisplay.from_estimator(clf)
    epochs = np.arange(1, clf.n_iter_ + 1)
    assert_array_equal(display.train_line_.get_xdata(), epochs)
    assert_allclose(display.train_line_.get_ydata(), clf.history_["train_loss"])
    assert_allclose(display.train_line_.get_ydata(), clf.loss_curve_)
    assert_allclose(display.val_line_.get_ydata(), clf.history_["val_loss"])
    assert display.best_marker_.get_xdata()[0] == clf.best_epoch_ < clf.n_iter_
    assert "best epoch" in [t.get_text() for t in display.ax_.get_legend().get_texts()][-1]
    assert png_bytes(display.figure_).startswith(b"\x89PNG")


def test_loss_curve_without_validation_on_given_axes():
    X, y = make_placement(n_samples=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=7,
                                random_state=0).fit(X, y)
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(reg, ax=ax)
    assert display.ax_ is ax and display.figure_ is fig
    assert display.val_line_ is None
    assert len(ax.get_lines()) == 1 + (display.best_marker_ is not None)
    assert_allclose(display.train_line_.get_ydata(), reg.loss_curve_)


def test_loss_curve_needs_a_fitted_model():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(BackpropRegressor())


def test_network_picture_draws_every_weight():
    from skbackprop import NetworkDisplay
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
    x0, x1 = display.edges_[1].get_xdata(), display.edges_[1].get_ydata()
    assert list(x0) == [0.0, 1.0]
    assert (x1[0], x1[1]) == (display.positions_[0][0][1], display.positions_[1][1][1])
    texts = [t.get_text() for t in display.ax_.texts]
    assert {"x1", "x2", "h1", "h2", "h3", "o1"} <= set(texts)
    assert display.labels_ == []
    assert png_bytes(display.figure_).startswith(b"\x89PNG")


def test_network_picture_with_gradients_shows_the_trace():
    from skbackprop import NetworkDisplay, backprop_trace
    X, y = make_placement(n_samples=5, random_state=0)
    reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
                            weight_init=0.1)  # unfitted: the starting weights
    display = NetworkDisplay.from_estimator(reg, X, y)
    trace = backprop_trace(reg, X, y)
    gradients = trace.params[trace.params["kind"] == "weight"]["gradient"]
    assert [t.get_text() for t in display.labels_] == [f"{g:.3g}" for g in gradients]
    assert_allclose(display.weights_, 0.1)
