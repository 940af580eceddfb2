"""WeightSnapshots and TrainingAnimation (issue 16, item 6): the snapshots are the
weights a fit stopped after that many epochs would have; each frame is the model
with those weights, predicted over the grid; the GIF has one image per snapshot."""

import warnings

import numpy as np
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
