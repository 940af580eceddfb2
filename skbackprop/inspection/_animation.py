"""Training, epoch by epoch: weight snapshots recorded on request (a callback) and
an animation of two-feature data's decision boundary beside the loss curve, as
TensorFlow Playground shows it."""

import copy

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

from .._core.xp import on_host, to_numpy
from ._unwrap import backprop_estimator

__all__ = ["TrainingAnimation", "WeightSnapshots"]


class WeightSnapshots:
    """A callback that keeps the network's weights at the end of every ``every``-th
    epoch (lbfgs: iteration) of a fit, for :class:`TrainingAnimation`.

    Register it with ``set_callbacks`` (sklearn's callback protocol); each fit
    starts a new record. The weights are copies, brought to the host.

    Parameters
    ----------
    every : int, default=1
        Keep one epoch in ``every``.

    Attributes
    ----------
    snapshots : list of dict
        One per kept epoch: ``epoch`` (1-based), ``coefs`` and ``intercepts``.

    Examples
    --------
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.inspection import WeightSnapshots
    >>> from skbackprop.datasets import load_placement
    >>> X, y = load_placement(task="classification", return_X_y=True)
    >>> X = (X - X.mean(axis=0)) / X.std(axis=0)
    >>> snapshots = WeightSnapshots(every=2)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(3,), solver="lbfgs",
    ...                          random_state=0).set_callbacks(snapshots).fit(X, y)
    >>> clf.n_iter_, [s["epoch"] for s in snapshots.snapshots]
    (12, [2, 4, 6, 8, 10, 12])
    """

    def __init__(self, every=1):
        if not (isinstance(every, int | np.integer) and every >= 1):
            raise ValueError(f"every must be a positive integer; got {every!r}.")
        self.every = every
        self.snapshots = []

    def setup(self, estimator, context):
        self.snapshots = []
        self._epoch = 0

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None, **kwargs):
        if context.task_name != "epoch" or fitted_estimator is None:
            return False
        self._epoch += 1
        if self._epoch % self.every == 0:
            self.snapshots.append({
                "epoch": self._epoch,
                "coefs": [to_numpy(W).copy() for W in fitted_estimator.coefs_],
                "intercepts": [to_numpy(b).copy() for b in fitted_estimator.intercepts_],
            })
        return False


class TrainingAnimation:
    """Training on two-feature data, one frame per snapshot: the model's decision
    boundary (a classifier's probabilities, a regressor's predictions) over the
    data on the left, the loss curve up to that epoch on the right.

    Build it with :meth:`from_estimator`; save it with :meth:`save` (a GIF through
    matplotlib's Pillow writer). Needs matplotlib (``pip install
    "skbackprop[plots]"``).

    Attributes
    ----------
    animation_ : matplotlib.animation.FuncAnimation
    figure_ : matplotlib Figure
    epochs_ : list of int
        The epoch each frame shows.
    frames_ : list of ndarray
        What each frame colours over the grid (probability of the last class, the
        predicted class, or the prediction), shape (resolution, resolution).

    Examples
    --------
    >>> import warnings
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.inspection import TrainingAnimation, WeightSnapshots
    >>> from skbackprop.datasets import make_placement
    >>> X, y = make_placement(n_samples=60, task="classification", random_state=0)
    >>> snapshots = WeightSnapshots()
    >>> clf = BackpropClassifier(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5,
    ...                          random_state=0).set_callbacks(snapshots)
    >>> X = (X - X.mean(0)) / X.std(0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # (5 iterations: not converged)
    ...     clf = clf.fit(X, y)
    >>> animation = TrainingAnimation.from_estimator(clf, snapshots, X, y)
    >>> animation.epochs_
    [1, 2, 3, 4, 5]
    >>> import os, tempfile
    >>> path = animation.save(os.path.join(tempfile.mkdtemp(), "training.gif"))
    >>> os.path.getsize(path) > 0
    True
    """

    def __init__(self, *, estimator, snapshots, X, y, resolution=60):
        self.estimator = estimator
        self.snapshots = snapshots
        self.X = X
        self.y = y
        self.resolution = resolution

    @classmethod
    def from_estimator(cls, estimator, snapshots, X, y, *, resolution=60):
        """Build the animation of a fitted estimator's training.

        Parameters
        ----------
        estimator : fitted BackpropRegressor, BackpropClassifier or Pipeline
            Its ``history_`` gives the loss curve; a Pipeline's steps before the
            last transform the grid.
        snapshots : WeightSnapshots or list of dict
            The weights recorded during that fit.
        X : array-like of shape (n_samples, 2)
            The two-feature data drawn (as given to the pipeline).
        y : array-like of shape (n_samples,)
        resolution : int, default=60
            Grid points per axis.

        Returns
        -------
        animation : TrainingAnimation
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        snapshots = getattr(snapshots, "snapshots", snapshots)
        if not snapshots:
            raise ValueError(
                "No snapshots to animate: register WeightSnapshots() with "
                "estimator.set_callbacks(...) before fit, then pass it here.")
        X = to_numpy(X) if not hasattr(X, "iloc") else X.to_numpy()
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(
                f"TrainingAnimation draws two-feature data; X has shape {X.shape}. "
                "Train on two columns (or two components) to animate.")
        return cls(estimator=estimator, snapshots=snapshots, X=X, y=np.asarray(y),
                   resolution=resolution).plot()

    def plot(self):
        """Compute every frame and build the animation; returns self."""
        import matplotlib.pyplot as plt
        from matplotlib.animation import FuncAnimation

        model, _ = backprop_estimator(self.estimator, caller=type(self).__name__)
        check_is_fitted(model)
        model = on_host(model)
        head = self.estimator[:-1] if model is not self.estimator else None
        grid, shape = self._grid()
        grid_in = grid if head is None or not len(head) else head.transform(grid)
        self.epochs_ = [s["epoch"] for s in self.snapshots]
        self.frames_ = [_surface(model, s, grid_in).reshape(shape) for s in self.snapshots]
        low, high = min(f.min() for f in self.frames_), max(f.max() for f in self.frames_)
        self._levels = np.linspace(low, high if high > low else low + 1, 21)
        self._boundary = is_classifier(model) and len(model.classes_) == 2
        loss = model.history_["train_loss"].to_numpy()
        self.figure_, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
        kind = "lbfgs iteration" if model.solver == "lbfgs" else "epoch"
        self._draw_frame(left, right, grid, shape, loss, kind, 0)
        self.animation_ = FuncAnimation(
            self.figure_, lambda k: self._draw_frame(left, right, grid, shape, loss,
                                                     kind, k),
            frames=len(self.frames_), interval=200, blit=False)
        return self

    def save(self, path, fps=5, dpi=80):
        """Write the animation as a GIF (matplotlib's Pillow writer)."""
        from matplotlib.animation import PillowWriter

        self.animation_.save(path, writer=PillowWriter(fps=fps), dpi=dpi)
        return path

    def _grid(self):
        lo, hi = self.X.min(axis=0), self.X.max(axis=0)
        pad = 0.1 * (hi - lo)
        a = np.linspace(lo[0] - pad[0], hi[0] + pad[0], self.resolution)
        b = np.linspace(lo[1] - pad[1], hi[1] + pad[1], self.resolution)
        A, B = np.meshgrid(a, b)
        return np.column_stack([A.ravel(), B.ravel()]), A.shape

    def _draw_frame(self, left, right, grid, shape, loss, kind, k):
        left.clear()
        right.clear()
        A, B = grid[:, 0].reshape(shape), grid[:, 1].reshape(shape)
        left.contourf(A, B, self.frames_[k], levels=self._levels, cmap="RdBu_r", alpha=0.6)
        if self._boundary and self.frames_[k].min() < 0.5 < self.frames_[k].max():
            left.contour(A, B, self.frames_[k], levels=[0.5], colors="black", linewidths=1)
        left.scatter(self.X[:, 0], self.X[:, 1], c=_codes(self.y), cmap="RdBu_r",
                     edgecolor="black", s=18)
        left.set_title(f"{kind} {self.epochs_[k]}")
        right.plot(np.arange(1, len(loss) + 1), loss, color="lightgray")
        upto = min(self.epochs_[k], len(loss))
        right.plot(np.arange(1, upto + 1), loss[:upto], color="tab:blue")
        right.set_xlabel(kind)
        right.set_ylabel("training loss")
        return []


def _surface(model, snapshot, grid):
    """What a snapshot's network colours over the grid."""
    model = copy.copy(model)
    model.coefs_, model.intercepts_ = snapshot["coefs"], snapshot["intercepts"]
    if not is_classifier(model):
        prediction = model.predict(grid)
        return prediction if prediction.ndim == 1 else prediction[:, 0]
    proba = model.predict_proba(grid)
    return proba[:, -1] if proba.shape[1] == 2 else proba.argmax(axis=1).astype(float)


def _codes(y):
    """Colours for the targets: class codes, or the values themselves."""
    if y.dtype.kind in "fc":
        return y if y.ndim == 1 else y[:, 0]
    return np.unique(y, return_inverse=True)[1]
