"""WeightSnapshots and TrainingAnimation (issue 16, item 6): the snapshots are the
weights a fit stopped after that many epochs would have; each frame is the model
with those weights, predicted over the grid; the GIF has one image per snapshot."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.datasets import make_placement
from skbackprop.inspection import TrainingAnimation, WeightSnapshots

plt = pytest.importorskip("matplotlib.pyplot")  # (drawing off screen: conftest)
pytestmark = pytest.mark.usefixtures("close_figures")


def quietly(fit, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args)


SETTINGS = dict(hidden_layer_sizes=(4,), activation="tanh", solver="sgd",
                learning_rate_init=0.05, n_iter_no_change=1000, random_state=0)


def test_snapshots_are_the_weights_after_each_epoch():
    X, y = make_placement(n_samples=50, task="classification", random_state=0)
    X = StandardScaler().fit_transform(X)
    snapshots = WeightSnapshots(every=2)
    clf = BackpropClassifier(**SETTINGS, max_iter=6).set_callbacks(snapshots)
    quietly(clf.fit, X, y)
    assert [s["epoch"] for s in snapshots.snapshots] == [2, 4, 6]
    for snapshot in snapshots.snapshots:
        shorter = quietly(BackpropClassifier(**SETTINGS, max_iter=snapshot["epoch"]).fit,
                          X, y)
        for got, expected in zip(snapshot["coefs"] + snapshot["intercepts"],
                                 shorter.coefs_ + shorter.intercepts_):
            assert_array_equal(got, expected)
    quietly(clf.set_params(max_iter=2).fit, X, y)
    assert [s["epoch"] for s in snapshots.snapshots] == [2]  # a new fit, a new record
    with pytest.raises(ValueError, match="positive integer"):
        WeightSnapshots(every=0)


def test_lbfgs_iterations_are_recorded_too():
    X, y = make_placement(n_samples=50, random_state=0)
    snapshots = WeightSnapshots()
    reg = BackpropRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=4,
                            random_state=0).set_callbacks(snapshots)
    quietly(reg.fit, StandardScaler().fit_transform(X), y)
    assert [s["epoch"] for s in snapshots.snapshots] == list(range(1, reg.n_iter_ + 1))
    for got, expected in zip(snapshots.snapshots[-1]["coefs"], reg.coefs_):
        assert_array_equal(got, expected)


def test_each_frame_is_the_snapshots_model_over_the_grid(tmp_path):
    X, y = make_placement(n_samples=60, task="classification", random_state=0)
    snapshots = WeightSnapshots()
    clf = BackpropClassifier(**SETTINGS, max_iter=4).set_callbacks(snapshots)
    pipe = make_pipeline(StandardScaler(), clf)
    quietly(pipe.fit, X, y)
    animation = TrainingAnimation.from_estimator(pipe, snapshots, X, y, resolution=20)
    assert animation.epochs_ == [1, 2, 3, 4]
    grid, shape = animation._grid()
    assert grid.min(axis=0)[0] < X[:, 0].min() and grid.max(axis=0)[1] > X[:, 1].max()
    for snapshot, frame in zip(snapshots.snapshots, animation.frames_):
        model = BackpropClassifier(**SETTINGS, max_iter=snapshot["epoch"])
        quietly(model.fit, pipe[0].transform(X), y)
        expected = model.predict_proba(pipe[0].transform(grid))[:, 1].reshape(shape)
        assert_allclose(frame, expected)
    path = animation.save(tmp_path / "training.gif", fps=4, dpi=40)
    from PIL import Image
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 4
    loss_lines = animation.figure_.axes[1].get_lines()
    assert_allclose(loss_lines[0].get_ydata(), clf.history_["train_loss"])
    assert animation.figure_.axes[1].get_xlabel() == "epoch"


def test_a_regressor_animates_its_predictions(tmp_path):
    X, y = make_placement(n_samples=40, random_state=0)
    X = StandardScaler().fit_transform(X)
    snapshots = WeightSnapshots()
    reg = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=2,
                            random_state=0).set_callbacks(snapshots)
    quietly(reg.fit, X, y)
    animation = TrainingAnimation.from_estimator(reg, snapshots.snapshots, X, y,
                                                 resolution=10)
    grid, shape = animation._grid()
    assert_allclose(animation.frames_[-1], reg.predict(grid).reshape(shape))
    from PIL import Image
    with Image.open(animation.save(tmp_path / "regression.gif", dpi=30)) as gif:
        assert gif.n_frames == 2


def test_what_cannot_be_animated_is_refused_with_the_fix():
    X, y = make_placement(n_samples=20, random_state=0)
    reg = quietly(BackpropRegressor(max_iter=2).fit, X, y)
    with pytest.raises(ValueError, match="No snapshots to animate: register "
                                         "WeightSnapshots"):
        TrainingAnimation.from_estimator(reg, WeightSnapshots(), X, y)
    wide = np.column_stack([X, X])
    with pytest.raises(ValueError, match="two-feature data; X has shape"):
        TrainingAnimation.from_estimator(reg, [{"epoch": 1}], wide, y)


def test_a_fit_that_stops_before_the_first_snapshot_shows_the_fitted_model():
    X, y = make_placement(n_samples=60, task="classification", random_state=0)
    X = StandardScaler().fit_transform(X)
    snapshots = WeightSnapshots(every=50)
    clf = BackpropClassifier(**SETTINGS, max_iter=7).set_callbacks(snapshots)
    quietly(clf.fit, X, y)
    assert snapshots.snapshots == []
    animation = TrainingAnimation.from_estimator(clf, snapshots, X, y, resolution=8)
    grid, shape = animation._grid()
    assert animation.epochs_ == [7]
    assert_allclose(animation.frames_[0], clf.predict_proba(grid)[:, 1].reshape(shape))
    assert animation.figure_.axes[0].get_title() == "fitted model (epoch 7)"


def test_the_last_frame_is_the_fitted_model_after_early_stopping():
    """Early stopping keeps the best epoch's weights: the last snapshot (the last
    epoch's) is not the model the fit returned, so that model is one more frame."""
    X, y = make_placement(n_samples=200, task="classification", random_state=0)
    snapshots = WeightSnapshots(every=5)
    clf = BackpropClassifier(hidden_layer_sizes=(6,), early_stopping=True, scoring="loss",
                             n_iter_no_change=8, learning_rate_init=0.1, max_iter=300,
                             random_state=0).set_callbacks(snapshots)
    pipe = quietly(make_pipeline(StandardScaler(), clf).fit, X, y)
    assert clf.best_epoch_ < clf.n_iter_
    animation = TrainingAnimation.from_estimator(pipe, snapshots, X, y, resolution=8)
    recorded = [s["epoch"] for s in snapshots.snapshots]
    assert animation.epochs_ == [*recorded, clf.n_iter_]
    grid, shape = animation._grid()
    assert_allclose(animation.frames_[-1], pipe.predict_proba(grid)[:, 1].reshape(shape))
    animation.animation_._func(len(animation.frames_) - 1)  # draw the last frame
    assert animation.figure_.axes[0].get_title() == (
        f"fitted model (epoch {clf.n_iter_}, weights of epoch {clf.best_epoch_})")


def test_a_dataframe_pipeline_animates_without_warnings_and_names_the_axes():
    X, y = make_placement(n_samples=60, task="classification", random_state=0)
    frame = pd.DataFrame(X, columns=["cgpa", "resume"])
    snapshots = WeightSnapshots(every=2)
    pipe = quietly(make_pipeline(StandardScaler(), BackpropClassifier(
        **SETTINGS, max_iter=4).set_callbacks(snapshots)).fit, frame, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn's "X does not have valid feature names"
        animation = TrainingAnimation.from_estimator(pipe, snapshots, frame, y,
                                                     resolution=8)
    grid, shape = animation._grid()
    expected = pipe.predict_proba(pd.DataFrame(grid, columns=["cgpa", "resume"]))
    assert_allclose(animation.frames_[-1], expected[:, 1].reshape(shape))
    left = animation.figure_.axes[0]
    assert (left.get_xlabel(), left.get_ylabel()) == ("cgpa", "resume")


def test_a_regressor_has_a_colour_scale_for_its_predictions_and_targets():
    X, y = make_placement(n_samples=40, random_state=0)
    X = StandardScaler().fit_transform(X)
    snapshots = WeightSnapshots()
    reg = quietly(BackpropRegressor(hidden_layer_sizes=(3,), max_iter=3,
                                    random_state=0).set_callbacks(snapshots).fit, X, y)
    animation = TrainingAnimation.from_estimator(reg, snapshots, X, y, resolution=8)
    bar = animation.colorbar_
    assert bar.ax.get_ylabel() == "prediction"
    drawn = np.concatenate([np.ravel(f) for f in animation.frames_] + [y])
    assert (bar.norm.vmin, bar.norm.vmax) == (drawn.min(), drawn.max())
    left = animation.figure_.axes[0]
    assert (left.get_xlabel(), left.get_ylabel()) == ("x1", "x2")
    points = left.collections[-1].get_facecolors()
    assert_allclose(points, bar.cmap(bar.norm(y)))  # the targets on the same scale


def test_classes_get_colours_easy_to_tell_apart_and_a_legend():
    from matplotlib.colors import to_rgb
    from sklearn.datasets import make_blobs
    X, y = make_blobs(n_samples=90, centers=4, random_state=0)
    labels = np.array(["north", "south", "east", "west"])[y]
    snapshots = WeightSnapshots()
    clf = quietly(BackpropClassifier(**SETTINGS, max_iter=3).set_callbacks(snapshots).fit,
                  StandardScaler().fit_transform(X), labels)
    animation = TrainingAnimation.from_estimator(
        clf, snapshots, StandardScaler().fit_transform(X), labels, resolution=8)
    assert animation.colorbar_ is None  # classes are named by the legend
    left = animation.figure_.axes[0]
    legend = left.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == sorted(set(labels))
    colours = [np.array(to_rgb(h.get_markerfacecolor())) for h in legend.legend_handles]
    gaps = [np.abs(a - b).sum() for k, a in enumerate(colours) for b in colours[k + 1:]]
    assert min(gaps) > 0.3  # no two classes in near-identical colours
    points = left.collections[-1].get_facecolors()[:, :3]
    for name, colour in zip(sorted(set(labels)), colours):  # each row in its class's
        assert_allclose(points[labels == name], np.tile(colour, ((labels == name).sum(), 1)))
