"""Training, epoch by epoch: weight snapshots recorded on request (a callback) and
an animation of two-feature data's decision boundary beside the loss curve, as
TensorFlow Playground shows it."""

import copy

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

from .._core.xp import on_host, to_numpy
from ._display import loss_scale
from ._unwrap import backprop_estimator

__all__ = ["TrainingAnimation", "WeightSnapshots"]


class WeightSnapshots:
    """A callback that keeps the network's weights at the end of every ``every``-th
    epoch (lbfgs: iteration) of a fit, for :class:`TrainingAnimation`.

    Register it with ``set_callbacks`` (sklearn's callback protocol); each fit
    starts a new record (each network's, in turn, for a tabular model with
    ``n_ensemble`` > 1: the record is then the last network's). The weights are
    copies, brought to the host.

    Parameters
    ----------
    every : int, default=1
        Keep one epoch in ``every``.

    Attributes
    ----------
    snapshots : list of dict
        One per kept epoch: ``epoch`` (1-based), ``coefs`` and ``intercepts``
        (and ``layer_parameters`` for a network with layers other than Dense).

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
            self.snapshots.append({"epoch": self._epoch, **_weights(fitted_estimator)})
        return False


class TrainingAnimation:
    """Training on two-feature data, one frame per snapshot: the model's decision
    boundary (a classifier's probabilities, a regressor's predictions) over the
    data on the left, the loss curve up to that epoch on the right.

    The last frame is always the fitted model itself: the weights the fit ended
    with (after early stopping, those of its best epoch), even where the fit stopped
    between two snapshots or before the first. A colour bar gives the scale of a
    regressor's predictions and of a binary classifier's probability; the classes
    of a multiclass classifier are told apart by a qualitative palette, with a
    legend. The axes are named after X's columns when X is a DataFrame.

    Build it with :meth:`from_estimator`; save it with :meth:`save` (a GIF through
    matplotlib's Pillow writer). Needs matplotlib (``pip install
    "skbackprop[plots]"``).

    Attributes
    ----------
    animation_ : matplotlib.animation.FuncAnimation
    figure_ : matplotlib Figure
    epochs_ : list of int
        The epoch each frame shows (the last: the fitted model's ``n_iter_``).
    frames_ : list of ndarray
        What each frame colours over the grid (probability of the last class, the
        predicted class, or the prediction), shape (resolution, resolution).
    colorbar_ : matplotlib Colorbar or None
        The colour scale (None for a multiclass classifier: its legend names the
        colours).

    Examples
    --------
    >>> import warnings
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.inspection import TrainingAnimation, WeightSnapshots
    >>> from skbackprop.datasets import make_placement
    >>> X, y = make_placement(n_samples=60, task="classification", random_state=0)
    >>> snapshots = WeightSnapshots(every=2)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5,
    ...                          random_state=0).set_callbacks(snapshots)
    >>> X = (X - X.mean(0)) / X.std(0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # (5 iterations: not converged)
    ...     clf = clf.fit(X, y)
    >>> animation = TrainingAnimation.from_estimator(clf, snapshots, X, y)
    >>> animation.epochs_  # every second iteration, then the fitted model
    [2, 4, 5]
    >>> import os, tempfile
    >>> path = animation.save(os.path.join(tempfile.mkdtemp(), "training.gif"))
    >>> os.path.getsize(path) > 0
    True
    """

    def __init__(self, *, estimator, snapshots, X, y, resolution=60, feature_names=None):
        self.estimator = estimator
        self.snapshots = snapshots
        self.X = X
        self.y = y
        self.resolution = resolution
        self.feature_names = feature_names

    @classmethod
    def from_estimator(cls, estimator, snapshots, X, y, *, resolution=60):
        """Build the animation of a fitted estimator's training.

        Parameters
        ----------
        estimator : fitted BackpropRegressor, BackpropClassifier or Pipeline
            Its ``history_`` gives the loss curve; a Pipeline's steps before the
            last transform the grid.
        snapshots : WeightSnapshots or list of dict
            The weights recorded during that fit. A WeightSnapshots that a fit
            used but that kept no epoch (the fit stopped before the first
            ``every``-th) gives one frame, the fitted model.
        X : array-like or DataFrame of shape (n_samples, 2)
            The two-feature data drawn (as given to the pipeline); a DataFrame's
            column names label the axes, and the grid is passed on with them.
        y : array-like of shape (n_samples,)
        resolution : int, default=60
            Grid points per axis.

        Returns
        -------
        animation : TrainingAnimation
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        recorded = getattr(snapshots, "snapshots", snapshots)
        if not recorded and getattr(snapshots, "_epoch", None) is None:
            raise ValueError(
                "No snapshots to animate: register WeightSnapshots() with "
                "estimator.set_callbacks(...) before fit, then pass it here.")
        model = estimator[-1] if hasattr(estimator, "steps") else estimator
        others = len(getattr(model, "ensemble_", []))
        if others:
            raise ValueError(
                f"TrainingAnimation shows the training of one network, and this model "
                f"averages {others + 1} (n_ensemble={others + 1}), each of which "
                "WeightSnapshots recorded in turn.\nFix: fit it with n_ensemble=1 to "
                "animate its training.")
        names = [str(c) for c in X.columns] if hasattr(X, "columns") else None
        X = X.to_numpy() if hasattr(X, "iloc") else to_numpy(X)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(
                f"TrainingAnimation draws two-feature data; X has shape {X.shape}. "
                "Train on two columns (or two components) to animate.")
        return cls(estimator=estimator, snapshots=list(recorded), X=X, y=np.asarray(y),
                   resolution=resolution, feature_names=names).plot()

    def plot(self):
        """Compute every frame and build the animation; returns self."""
        import matplotlib.pyplot as plt
        from matplotlib.animation import FuncAnimation

        model, _ = backprop_estimator(self.estimator, caller=type(self).__name__)
        check_is_fitted(model)
        model = on_host(model)
        grid, shape = self._grid()
        grid_in = self._grid_as_fitted(grid, model)
        states = _with_fitted_model(self.snapshots, model)
        self.epochs_ = [s["epoch"] for s in states]
        self.frames_ = [_surface(model, s, grid_in).reshape(shape) for s in states]
        self._titles = _titles(model, states)
        self._colours = _Colours(model, self.frames_, self.y)
        loss = model.history_["train_loss"].to_numpy()
        self.figure_, (left, right) = plt.subplots(1, 2, figsize=(10, 4),
                                                   layout="constrained")
        self.colorbar_ = self._colours.colorbar(self.figure_, left)
        kind = "lbfgs iteration" if model.solver == "lbfgs" else "epoch"

        def frame(k):
            return self._draw_frame(left, right, grid, shape, loss, kind, k)

        frame(0)
        self.animation_ = FuncAnimation(self.figure_, frame, frames=len(self.frames_),
                                        interval=200, blit=False)
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

    def _grid_as_fitted(self, grid, model):
        """The grid as the fitted steps expect it: named as X's columns were, then
        through a Pipeline's steps before the network."""
        if self.feature_names is not None:
            grid = pd.DataFrame(grid, columns=self.feature_names)
        head = self.estimator[:-1] if model is not self.estimator else None
        return grid if head is None or not len(head) else head.transform(grid)

    def _draw_frame(self, left, right, grid, shape, loss, kind, k):
        left.clear()
        right.clear()
        A, B = grid[:, 0].reshape(shape), grid[:, 1].reshape(shape)
        self._colours.draw(left, A, B, self.frames_[k], self.X)
        left.set_xlabel(self.feature_names[0] if self.feature_names else "x1")
        left.set_ylabel(self.feature_names[1] if self.feature_names else "x2")
        left.set_title(self._titles[k])
        epochs = np.arange(1, len(loss) + 1)
        right.plot(epochs, loss, color="lightgray")
        upto = min(self.epochs_[k], len(loss))
        right.plot(epochs[:upto], loss[:upto], color="tab:blue")
        scale = loss_scale([loss])
        right.set_yscale(scale)
        right.set_xlabel(kind)
        right.set_ylabel("training loss" + (" (log scale)" if scale == "log" else ""))
        return []


class _Colours:
    """How a frame is coloured: a regressor's predictions and a binary classifier's
    probability on a continuous scale (with a colour bar), a multiclass
    classifier's predicted classes in a qualitative palette (with a legend); the
    data drawn on top in the same colours."""

    def __init__(self, model, frames, y):
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap, Normalize

        self.classes = getattr(model, "classes_", None) if is_classifier(model) else None
        if self.classes is None:  # regression: one scale for the surface and targets
            targets = _codes(y)
            values = np.concatenate([np.ravel(f) for f in frames] + [targets])
            low, high = float(values.min()), float(values.max())
            self.cmap, self.label = plt.get_cmap("viridis"), "prediction"
            self.levels = np.linspace(low, high if high > low else low + 1, 21)
        elif len(self.classes) == 2:
            self.cmap, self.label = plt.get_cmap("RdBu_r"), f"P({self.classes[1]})"
            self.levels = np.linspace(0, 1, 21)
        else:
            palette = plt.get_cmap("tab10" if len(self.classes) <= 10 else "tab20")
            self.cmap = ListedColormap([palette(k % palette.N)
                                        for k in range(len(self.classes))])
            self.label, self.levels = None, np.arange(len(self.classes) + 1) - 0.5
        self.norm = Normalize(self.levels[0], self.levels[-1])
        if self.classes is None:
            self.points = self.cmap(self.norm(targets))
            return
        # each class's colour: the ends of the probability scale for two classes
        ends = [0.2, 0.8] if len(self.classes) == 2 else range(len(self.classes))
        self.class_colours = [self.cmap(self.norm(v)) for v in ends]
        codes = np.searchsorted(self.classes, np.asarray(y))
        self.points = np.array(self.class_colours)[codes]

    def colorbar(self, figure, ax):
        """The colour scale beside the left axes, or a legend of the classes."""
        from matplotlib.cm import ScalarMappable

        if self.label is None:
            return None
        return figure.colorbar(ScalarMappable(norm=self.norm, cmap=self.cmap), ax=ax,
                               label=self.label)

    def draw(self, ax, A, B, frame, X):
        if self.classes is not None and len(self.classes) > 2:  # classes: no contours
            ax.pcolormesh(A, B, frame, cmap=self.cmap, norm=self.norm, alpha=0.6,
                          shading="auto")
        else:
            ax.contourf(A, B, frame, levels=self.levels, cmap=self.cmap, norm=self.norm,
                        alpha=0.6)
        binary = self.classes is not None and len(self.classes) == 2
        if binary and frame.min() < 0.5 < frame.max():
            ax.contour(A, B, frame, levels=[0.5], colors="black", linewidths=1)
        ax.scatter(X[:, 0], X[:, 1], c=self.points, edgecolor="black", s=18)
        if self.classes is not None:
            from matplotlib.lines import Line2D
            ax.legend(handles=[
                Line2D([], [], marker="o", linestyle="", markeredgecolor="black",
                       markerfacecolor=colour, label=str(c))
                for c, colour in zip(self.classes, self.class_colours)],
                loc="best", fontsize="small")


def _weights(model):
    """Copies of a model's parameters on the host: ``coefs`` and ``intercepts`` (its
    Dense layers'), and ``layer_parameters`` where it has layers of other kinds."""
    weights = {"coefs": [to_numpy(W).copy() for W in model.coefs_],
               "intercepts": [to_numpy(b).copy() for b in model.intercepts_]}
    others = vars(model).get("_layer_parameters")
    if others:
        weights["layer_parameters"] = [[to_numpy(p).copy() for p in ps] for ps in others]
    return weights


def _arrays(snapshot):
    """Every array of a snapshot, in one list."""
    return [*snapshot["coefs"], *snapshot["intercepts"],
            *(p for ps in snapshot.get("layer_parameters", []) for p in ps)]


def _with_fitted_model(snapshots, model):
    """The snapshots, then the fitted model's own weights unless the last snapshot
    holds them already: the animation always ends on the model that was fitted."""
    final = {"epoch": int(model.n_iter_), "fitted": True, **_weights(model)}
    last = snapshots[-1] if snapshots else None
    if last is not None and last["epoch"] == final["epoch"] and all(
            np.array_equal(a, b) for a, b in zip(_arrays(last), _arrays(final))):
        return [*snapshots[:-1], {**last, "fitted": True}]
    return [*snapshots, final]


def _titles(model, states):
    """Each frame's title: its epoch; the last one, the fitted model (and the epoch
    whose weights it kept, where early stopping went back to an earlier one)."""
    kind = "lbfgs iteration" if model.solver == "lbfgs" else "epoch"
    titles = [f"{kind} {s['epoch']}" for s in states]
    best = getattr(model, "best_epoch_", None)
    kept = f", weights of {kind} {best}" if best and best != model.n_iter_ else ""
    titles[-1] = f"fitted model ({kind} {model.n_iter_}{kept})"
    return titles


def _surface(model, snapshot, grid):
    """What a snapshot's network colours over the grid."""
    model = copy.copy(model)
    model.coefs_, model.intercepts_ = snapshot["coefs"], snapshot["intercepts"]
    if "layer_parameters" in snapshot:  # (a network with layers other than Dense)
        model._layer_parameters = snapshot["layer_parameters"]
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
