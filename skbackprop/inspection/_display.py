"""Plots in sklearn's Display convention (matplotlib is an optional extra)."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

from ._network_display import NetworkDisplay
from ._unwrap import backprop_estimator

__all__ = ["LossCurveDisplay", "NetworkDisplay"]


class LossCurveDisplay:
    """Training (and validation) loss per epoch (lbfgs: per iteration), with the
    best epoch marked.

    Build it with :meth:`from_estimator`; its attributes hold what was drawn.
    Needs matplotlib (``pip install "skbackprop[plots]"``).

    Parameters
    ----------
    train_loss : array-like of shape (n_epochs,)
        The training loss of every epoch (``history_["train_loss"]``).
    val_loss : array-like of shape (n_epochs,), default=None
        The validation loss of every epoch, if there was validation data.
    best_epoch : int, default=None
        The epoch whose weights the model kept (1-based), marked on the plot.
    name : str, default=None
        Used in the title.
    iteration : str, default="epoch"
        What one step of the x axis is: ``"epoch"``, or ``"lbfgs iteration"`` for a
        model trained with ``solver="lbfgs"`` (one line search, not a pass of
        minibatches).
    yscale : {"auto", "log", "linear"}, default="auto"
        The loss axis. ``"auto"`` is logarithmic when every loss drawn is positive
        and they span at least a factor of 10 (a falling loss then keeps its shape
        after the first epochs instead of lying flat along the bottom), linear
        otherwise.

    Attributes
    ----------
    train_line_ : matplotlib Line2D
        Drawn on top of the validation line, solid.
    val_line_ : matplotlib Line2D or None
        Dashed, beneath the training line.
    best_marker_ : matplotlib Line2D or None
        A vertical line at the best epoch.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skbackprop import BackpropRegressor, LossCurveDisplay
    >>> from skbackprop.datasets import make_placement
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = make_placement(n_samples=200, random_state=0)
    >>> reg = BackpropRegressor(hidden_layer_sizes=(8,), early_stopping=True,
    ...                         learning_rate_init=0.01, max_iter=300,
    ...                         random_state=0).fit(StandardScaler().fit_transform(X), y)
    >>> display = LossCurveDisplay.from_estimator(reg)
    >>> len(display.train_line_.get_ydata()) == reg.n_iter_
    True
    >>> display.val_line_ is not None, display.best_marker_.get_xdata()[0] == reg.best_epoch_
    (True, True)
    """

    def __init__(self, *, train_loss, val_loss=None, best_epoch=None, name=None,
                 iteration="epoch", yscale="auto"):
        self.train_loss = train_loss
        self.val_loss = val_loss
        self.best_epoch = best_epoch
        self.name = name
        self.iteration = iteration
        self.yscale = yscale

    @classmethod
    def from_estimator(cls, estimator, *, name=None, ax=None, yscale="auto"):
        """Draw the loss curves of a fitted BackpropRegressor or BackpropClassifier.

        Parameters
        ----------
        estimator : fitted BackpropRegressor, BackpropClassifier or Pipeline
            A Pipeline draws its last step's curves.
        name : str, default=None
            The title; the estimator's class name if None.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure if None.
        yscale : {"auto", "log", "linear"}, default="auto"
            The loss axis: ``"auto"`` is logarithmic when every loss is positive
            and they span at least a factor of 10.

        Returns
        -------
        display : LossCurveDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        estimator, _ = backprop_estimator(estimator, caller=cls.__name__)
        check_is_fitted(estimator)
        history = estimator.history_
        val_loss = history["val_loss"].to_numpy()
        lbfgs = estimator.solver == "lbfgs"
        best = getattr(estimator, "best_epoch_", None) or None
        display = cls(
            train_loss=history["train_loss"].to_numpy(),
            val_loss=None if np.isnan(val_loss).all() else val_loss,
            best_epoch=None if lbfgs and best == len(history) else best,
            name=type(estimator).__name__ if name is None else name,
            iteration="lbfgs iteration" if lbfgs else "epoch",
            yscale=yscale,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the curves on ``ax`` (a new figure if None); returns self."""
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        yscale = self._scale()
        if ax is None:
            _, ax = plt.subplots(layout="constrained")  # (long tick labels fit)
        epochs = np.arange(1, len(self.train_loss) + 1)
        self.val_line_ = None
        if self.val_loss is not None:  # beneath: the training line stays in sight
            (self.val_line_,) = ax.plot(epochs, self.val_loss, color="tab:orange",
                                        linestyle="--", zorder=2, label="validation loss")
        (self.train_line_,) = ax.plot(epochs, self.train_loss, color="tab:blue",
                                      linewidth=2, zorder=3, label="training loss")
        ax.set_yscale(yscale)
        self.best_marker_ = None
        if self.best_epoch:
            self.best_marker_ = ax.axvline(
                self.best_epoch, color="grey", linestyle=":",
                label=f"best {self.iteration} ({self.best_epoch})")
        ax.set_xlabel(self.iteration)
        ax.set_ylabel("loss" if yscale == "linear" else "loss (log scale)")
        if self.name:
            ax.set_title(self.name)
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _scale(self):
        """The loss axis's scale: ``yscale`` checked, ``"auto"`` resolved."""
        if self.yscale not in ("auto", "log", "linear"):
            raise ValueError(f'yscale must be "auto", "log" or "linear"; got '
                             f"{self.yscale!r}.")
        losses = [self.train_loss] + ([] if self.val_loss is None else [self.val_loss])
        if self.yscale == "log":
            drawn = np.concatenate([np.asarray(v, dtype=float) for v in losses])
            if not np.all(drawn[np.isfinite(drawn)] > 0):
                raise ValueError(
                    'yscale="log" needs positive losses; these reach '
                    f"{np.nanmin(drawn):.4g}. Use yscale=\"linear\" (or \"auto\").")
        return loss_scale(losses) if self.yscale == "auto" else self.yscale


def loss_scale(losses):
    """``"log"`` where every finite loss is positive and they span at least a factor
    of 10 (a log axis keeps the later epochs' fall in sight), else ``"linear"``."""
    drawn = np.concatenate([np.asarray(v, dtype=float).ravel() for v in losses])
    drawn = drawn[np.isfinite(drawn)]
    if not len(drawn) or not np.all(drawn > 0):
        return "linear"
    return "log" if drawn.max() >= 10 * drawn.min() else "linear"
