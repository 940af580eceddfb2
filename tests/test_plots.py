"""LossCurveDisplay (issue 6, item 2; issue 16): drawn with the Agg backend, the drawn
data checked. NetworkDisplay: test_network_display.py."""

import io
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor, LossCurveDisplay
from skbackprop.datasets import make_placement

plt = pytest.importorskip("matplotlib.pyplot")  # (drawing off screen: conftest)
pytestmark = pytest.mark.usefixtures("close_figures")


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


def test_lbfgs_curves_are_named_by_iteration_and_take_a_name():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = make_placement(n_samples=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(StandardScaler(), BackpropRegressor(
            hidden_layer_sizes=(3,), solver="lbfgs", max_iter=15, random_state=0)).fit(X, y)
    display = LossCurveDisplay.from_estimator(pipe, name="placement, lbfgs")
    reg = pipe[-1]
    assert display.ax_.get_xlabel() == "lbfgs iteration"
    assert display.ax_.get_title() == "placement, lbfgs"
    assert_allclose(display.train_line_.get_ydata(), reg.history_["train_loss"])
    assert display.best_marker_ is None  # lbfgs keeps its last iterate: nothing to mark
    sgd = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sgd.fit(X, y)
    display = LossCurveDisplay.from_estimator(sgd)
    assert (display.ax_.get_xlabel(), display.ax_.get_title()) == ("epoch",
                                                                   "BackpropRegressor")


def test_loss_curve_refuses_what_is_not_a_backprop_model_and_says_what_to_pass():
    from sklearn.model_selection import GridSearchCV
    search = GridSearchCV(BackpropRegressor(), {"alpha": [1e-4]})
    with pytest.raises(TypeError, match="best_estimator_"):
        LossCurveDisplay.from_estimator(search)


def test_the_training_line_is_drawn_over_the_validation_line():
    """Where the two curves meet, the training line is on top, in a solid line; the
    validation line beneath it is dashed."""
    display = LossCurveDisplay(train_loss=[1.0, 0.5, 0.4], val_loss=[1.0, 0.5, 0.45]).plot()
    train, val = display.train_line_, display.val_line_
    assert train.get_zorder() > val.get_zorder()
    assert display.ax_.get_lines().index(train) > display.ax_.get_lines().index(val)
    assert (train.get_linestyle(), val.get_linestyle()) == ("-", "--")
    assert train.get_color() != val.get_color()


def test_positive_losses_get_a_log_axis_unless_told_otherwise():
    X, y = make_placement(n_samples=60, task="classification", random_state=0)
    clf = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=300, learning_rate_init=0.05,
                             random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit((X - X.mean(0)) / X.std(0), y)
    display = LossCurveDisplay.from_estimator(clf)
    assert display.ax_.get_yscale() == "log"
    assert display.ax_.get_ylabel() == "loss (log scale)"
    linear = LossCurveDisplay.from_estimator(clf, yscale="linear")
    assert (linear.ax_.get_yscale(), linear.ax_.get_ylabel()) == ("linear", "loss")
    # the log axis gives the late epochs' fall more of the plot's height
    late = clf.loss_curve_[len(clf.loss_curve_) // 2:]
    low, high = display.ax_.get_ylim()
    on_log = np.log(max(late) / min(late)) / np.log(high / low)
    low, high = linear.ax_.get_ylim()
    on_linear = (max(late) - min(late)) / (high - low)
    assert on_log > 2 * on_linear
    # a loss that reaches zero (a perfect fit) cannot be drawn on a log axis
    zero = LossCurveDisplay(train_loss=[0.5, 0.1, 0.0]).plot()
    assert zero.ax_.get_yscale() == "linear"
    with pytest.raises(ValueError, match=r'yscale="log" needs positive losses; these reach '
                                         r'0\. Use yscale="linear"'):
        LossCurveDisplay(train_loss=[0.5, 0.0], yscale="log").plot()
    with pytest.raises(ValueError, match=r'yscale must be "auto", "log" or "linear"; '
                                         r"got 'logarithmic'\."):
        LossCurveDisplay.from_estimator(clf, yscale="logarithmic")
