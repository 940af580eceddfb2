"""Plots in sklearn's Display convention (matplotlib is an optional extra)."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

from ._network import network_units
from ._xp import on_host


class LossCurveDisplay:
    """Training (and validation) loss per epoch, with the best epoch marked.

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
    estimator_name : str, default=None
        Used in the title.

    Attributes
    ----------
    train_line_ : matplotlib Line2D
    val_line_ : matplotlib Line2D or None
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

    def __init__(self, *, train_loss, val_loss=None, best_epoch=None,
                 estimator_name=None):
        self.train_loss = train_loss
        self.val_loss = val_loss
        self.best_epoch = best_epoch
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Draw the loss curves of a fitted BackpropRegressor or BackpropClassifier.

        Parameters
        ----------
        estimator : fitted BackpropRegressor or BackpropClassifier
        ax : matplotlib Axes, default=None
            Where to draw; a new figure if None.

        Returns
        -------
        display : LossCurveDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        history = estimator.history_
        val_loss = history["val_loss"].to_numpy()
        display = cls(
            train_loss=history["train_loss"].to_numpy(),
            val_loss=None if np.isnan(val_loss).all() else val_loss,
            best_epoch=getattr(estimator, "best_epoch_", None) or None,
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the curves on ``ax`` (a new figure if None); returns self."""
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        epochs = np.arange(1, len(self.train_loss) + 1)
        (self.train_line_,) = ax.plot(epochs, self.train_loss, label="training loss")
        self.val_line_ = None
        if self.val_loss is not None:
            (self.val_line_,) = ax.plot(epochs, self.val_loss, label="validation loss")
        self.best_marker_ = None
        if self.best_epoch:
            self.best_marker_ = ax.axvline(self.best_epoch, color="grey", linestyle=":",
                                           label=f"best epoch ({self.best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if self.estimator_name:
            ax.set_title(self.estimator_name)
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self


class NetworkDisplay:
    """A picture of a small network: units as circles, weights as edges whose width
    grows with |w| and whose colour gives the sign (blue +, red -), biases written
    under their units; optionally each weight's gradient on some rows.

    Build it with :meth:`from_estimator`. Needs matplotlib
    (``pip install "skbackprop[plots]"``). Meant for networks of a few units per
    layer (the tutorials' 2-2-1 and 2-3-1).

    Parameters
    ----------
    coefs : list of ndarray
        The weights ``W_l``, each of shape (fan_in, fan_out).
    intercepts : list of ndarray
        The biases ``b_l``.
    gradients : list of ndarray, default=None
        dL/dW_l for each layer, written on the edges if given.

    Attributes
    ----------
    positions_ : list of ndarray
        (x, y) of every unit, layer by layer.
    edges_ : list of matplotlib Line2D
        One per weight, in the order of ``weights_``.
    weights_ : ndarray
        The weight each edge draws (every ``W_l`` flattened row by row, in order).
    labels_ : list of matplotlib Text
        The gradient written on each edge (empty without gradients).
    Units are named as in ``backprop_trace``: x1, x2, ... then h1, ... then o1, ...
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skbackprop import BackpropRegressor, NetworkDisplay
    >>> from skbackprop.datasets import load_placement
    >>> X, y = load_placement(return_X_y=True)
    >>> reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
    ...                         weight_init=0.1)
    >>> display = NetworkDisplay.from_estimator(reg, X, y)  # the tutorial's start
    >>> len(display.edges_), len(display.labels_)
    (6, 6)
    """

    def __init__(self, *, coefs, intercepts, gradients=None):
        self.coefs = coefs
        self.intercepts = intercepts
        self.gradients = gradients

    @classmethod
    def from_estimator(cls, estimator, X=None, y=None, *, ax=None):
        """Draw an estimator's network: a fitted one's weights, or the starting
        weights a fit would use; with X and y, also each weight's gradient there."""
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        gradients = None
        if X is not None:
            from ._trace import backprop_trace

            trace = backprop_trace(estimator, X, y)
            weights = trace.params[trace.params["kind"] == "weight"]
            coefs = [weights[weights["layer"] == layer]["value"].to_numpy()
                     for layer in sorted(weights["layer"].unique())]
            gradients = [weights[weights["layer"] == layer]["gradient"].to_numpy()
                         for layer in sorted(weights["layer"].unique())]
            biases = trace.params[trace.params["kind"] == "bias"]
            intercepts = [biases[biases["layer"] == layer]["value"].to_numpy()
                          for layer in sorted(biases["layer"].unique())]
            coefs = [c.reshape(-1, len(b)) for c, b in zip(coefs, intercepts)]
            gradients = [g.reshape(c.shape) for g, c in zip(gradients, coefs)]
        else:
            check_is_fitted(estimator)
            estimator = on_host(estimator)  # (fitted on a device: drawn from the host)
            coefs, intercepts = estimator.coefs_, estimator.intercepts_
        display = cls(coefs=coefs, intercepts=intercepts, gradients=gradients)
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` (a new figure if None); returns self."""
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        units = network_units(self.coefs)
        self.positions_ = [np.column_stack([np.full(k, float(layer)),
                                            np.arange(k)[::-1] - (k - 1) / 2])
                           for layer, k in enumerate(units)]
        self.weights_ = np.concatenate([W.ravel() for W in self.coefs])
        largest = np.abs(self.weights_).max() or 1.0
        self.edges_, self.labels_ = [], []
        for layer, W in enumerate(self.coefs):
            for i, j in np.ndindex(W.shape):
                (x0, y0), (x1, y1) = self.positions_[layer][i], self.positions_[layer + 1][j]
                (edge,) = ax.plot([x0, x1], [y0, y1], zorder=1,
                                  color="tab:blue" if W[i, j] >= 0 else "tab:red",
                                  linewidth=0.5 + 4.5 * abs(W[i, j]) / largest)
                self.edges_.append(edge)
                if self.gradients is not None:
                    self.labels_.append(ax.text(
                        x0 + 0.3 * (x1 - x0), y0 + 0.3 * (y1 - y0),
                        f"{self.gradients[layer][i, j]:.3g}", fontsize=7, color="dimgray"))
        from ._trace import _unit_names

        for layer, (xy, names) in enumerate(zip(self.positions_, _unit_names(units))):
            ax.scatter(xy[:, 0], xy[:, 1], s=600, color="white", edgecolor="black",
                       zorder=2)
            for (x, y_), name in zip(xy, names):
                ax.text(x, y_, name, ha="center", va="center", fontsize=9, zorder=3)
            if layer:
                for (x, y_), b in zip(xy, self.intercepts[layer - 1]):
                    ax.text(x, y_ - 0.3, f"b={b:.3g}", ha="center", fontsize=7)
        ax.set_axis_off()
        ax.set_title("weights (width |w|, blue +, red -)"
                     + ("; gradients dL/dw on the edges" if self.gradients else ""))
        self.ax_, self.figure_ = ax, ax.figure
        return self
