"""NetworkDisplay: a picture of a small network, its weights and their gradients."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

from .._core.network import network_units
from .._core.xp import on_host
from ._layout import MAX_UNITS, free_spot, inside, layer_slots
from ._unwrap import backprop_estimator

__all__ = ["NetworkDisplay"]


class NetworkDisplay:
    """A picture of a network: units as boxes holding their name and bias, weights
    as edges whose width grows with ``|w|`` and whose colour gives the sign (blue +,
    red -); optionally each weight's gradient on some rows, written on its edge.

    Build it with :meth:`from_estimator`. Needs matplotlib
    (``pip install "skbackprop[plots]"``). Made for the tutorials' small networks
    (2-2-1, 2-3-1): every label is placed inside the axes, clear of the other
    labels, of the units and of every edge but its own. A layer of more than
    ``max_units`` units draws its first and last few with an ellipsis and the count
    of the units left out, and says so in the title.

    Parameters
    ----------
    coefs : list of ndarray
        The weights ``W_l``, each of shape (fan_in, fan_out).
    intercepts : list of ndarray
        The biases ``b_l``.
    gradients : list of ndarray, default=None
        dL/dW_l for each layer, written on the edges if given.
    max_units : int, default=12
        The most units drawn per layer.
    layers : sequence of layers, default=None
        The network's layers (``_core.layers``), where it has layers of other kinds
        than Dense (embeddings, scalings, parametric activations): each is drawn
        as a labelled block above the units it acts on (those before the first
        Dense layer above its inputs, the others above the Dense layer they
        follow, which they must keep the width of), and the units are named as
        ``backprop_trace`` names them. None: a perceptron's.

    Attributes
    ----------
    positions_ : list of ndarray
        (x, y) of every drawn unit, layer by layer (layer l at x = l).
    shown_units_ : list of ndarray
        The indices of the drawn units of each layer.
    edges_ : list of matplotlib Line2D
        One per drawn weight, in the order of ``weights_``.
    weights_ : ndarray
        The weight each edge draws (each ``W_l`` restricted to the drawn units,
        flattened row by row, layer by layer): every weight of a small network.
    unit_labels_ : list of matplotlib Text
        One per drawn unit: its name (as in ``backprop_trace``: x1, x2, ... then
        h1, ... then o1, ...) and, past the inputs, its bias.
    block_labels_ : list of matplotlib Text
        One per layer column with layers of other kinds: their names and settings,
        above the units (empty for a perceptron).
    labels_ : list of matplotlib Text
        The gradient written on each drawn edge that had room for it (empty
        without gradients).
    unplaced_ : list of str
        The edges whose gradient found no clear spot (named ``w(x1->h2)``); the
        title says how many.
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
    >>> len(display.edges_), len(display.labels_), display.unplaced_
    (6, 6, [])
    """

    def __init__(self, *, coefs, intercepts, gradients=None, max_units=MAX_UNITS,
                 layers=None):
        self.coefs = coefs
        self.intercepts = intercepts
        self.gradients = gradients
        self.max_units = max_units
        self.layers = layers

    @classmethod
    def from_estimator(cls, estimator, X=None, y=None, *, classes=None, ax=None,
                       max_units=MAX_UNITS):
        """Draw an estimator's network: a fitted one's weights, or the starting
        weights a fit would use; with X and y, also each weight's gradient there.

        Parameters
        ----------
        estimator : BackpropRegressor, BackpropClassifier or Pipeline
            A Pipeline draws its last step (X passed through the steps before it).
            Layers of other kinds than Dense (a tabular model's embeddings,
            scaling and parametric activations) are drawn as labelled blocks.
        X, y : array-like, default=None
            Rows whose gradients are written on the edges (as ``backprop_trace``);
            needed for an unfitted estimator.
        classes : array-like, default=None
            For an unfitted classifier on rows that miss some classes.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure sized to the network if None.
        max_units : int, default=12
            The most units drawn per layer.

        Returns
        -------
        display : NetworkDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        gradients = None
        if X is not None:
            from ._trace import trace_problem, training_problem

            problem = training_problem(estimator, X, y, classes=classes,
                                       caller="NetworkDisplay")
            layers = problem.spec.layers
            coefs, intercepts, gradients = _from_trace(trace_problem(problem).params)
        else:
            estimator, _ = backprop_estimator(estimator, caller="NetworkDisplay")
            check_is_fitted(estimator)
            estimator = on_host(estimator)  # (fitted on a device: drawn from the host)
            layers = estimator._fitted_network()[0]
            coefs, intercepts = estimator.coefs_, estimator.intercepts_
        perceptron = all(layer.kind == "dense" for layer in layers)
        display = cls(coefs=coefs, intercepts=intercepts, gradients=gradients,
                      max_units=max_units, layers=None if perceptron else layers)
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` (a new figure sized to the network if None); returns self."""
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        units = network_units(self.coefs)
        blocks = layer_blocks(self.layers)
        self._names, self._sources = unit_names(self.layers, units)
        slots = [layer_slots(k, self.max_units) for k in units]
        tallest = max(len(shown) + (gap is not None) for shown, gap in slots)
        if ax is None:
            lines = max((text.count("\n") + 1 for text in blocks.values()), default=0)
            _, ax = plt.subplots(figsize=(max(5.0, 2.2 * len(units)),
                                          max(3.2, 0.75 * tallest + 1.2 + 0.3 * lines)))
        self.ax_, self.figure_ = ax, ax.figure
        self.shown_units_ = [shown for shown, _ in slots]
        self.positions_ = [_positions(layer, len(shown), gap)
                           for layer, (shown, gap) in enumerate(slots)]
        self._draw_edges()
        self._draw_units(units, slots)
        self._draw_blocks(blocks, tallest)
        self._fit_limits()
        self._write_gradients()
        ax.set_axis_off()
        ax.set_title(self._title(units), fontsize=10)
        return self

    def _draw_edges(self):
        kept = [W[np.ix_(self.shown_units_[l], self.shown_units_[l + 1])]
                for l, W in enumerate(self.coefs)]
        self.weights_ = np.concatenate([W.ravel() for W in kept])
        largest = np.abs(self.weights_).max() or 1.0
        self.edges_, self._edge_names = [], []
        for layer, W in enumerate(kept):
            for i, j in np.ndindex(W.shape):
                (x0, y0), (x1, y1) = self.positions_[layer][i], self.positions_[layer + 1][j]
                (edge,) = self.ax_.plot([x0, x1], [y0, y1], zorder=1,
                                        color="tab:blue" if W[i, j] >= 0 else "tab:red",
                                        linewidth=0.5 + 4.5 * abs(W[i, j]) / largest)
                self.edges_.append(edge)
                self._edge_names.append((layer, i, j))

    def _draw_units(self, units, slots):
        self.unit_labels_, self._ellipses = [], []
        for layer, (names, (shown, gap)) in enumerate(zip(self._names, slots)):
            for k, (x, y) in zip(shown, self.positions_[layer]):
                label = names[k] if not layer else (
                    f"{names[k]}\nb={self.intercepts[layer - 1][k]:.3g}")
                self.unit_labels_.append(self.ax_.text(
                    x, y, label, ha="center", va="center", fontsize=8, zorder=3,
                    bbox={"boxstyle": "round,pad=0.3", "facecolor": "white",
                          "edgecolor": "black"}))
            if gap is not None:
                y = (len(shown) - 2 * gap) / 2  # the slot between the head and tail
                self._ellipses.append(self.ax_.text(
                    layer, y, f"...\n({units[layer] - len(shown)} more)", ha="center",
                    va="center", fontsize=7, zorder=3,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                          "edgecolor": "none"}))

    def _draw_blocks(self, blocks, tallest):
        """Each column's layers of other kinds, in a box above its units (clear of
        every edge: the edges run between the units)."""
        self._block_top = (tallest - 1) / 2 + 0.7
        self.block_labels_ = [self.ax_.text(
            column, self._block_top, text, ha="center", va="bottom", fontsize=7,
            zorder=3, bbox={"boxstyle": "round,pad=0.3", "facecolor": "lightyellow",
                            "edgecolor": "darkgoldenrod"})
            for column, text in sorted(blocks.items())]

    def _fit_limits(self):
        """Widen the data limits until every unit's and block's box lies inside the
        axes."""
        ax = self.ax_
        tallest = max(len(p) for p in self.positions_) + bool(self._ellipses)
        top = self._block_top if self.block_labels_ else (tallest - 1) / 2
        x_pad, y_pad = 0.45, 0.6
        for _ in range(12):
            ax.set_xlim(-x_pad, len(self.positions_) - 1 + x_pad)
            ax.set_ylim(-(tallest - 1) / 2 - y_pad, top + y_pad)
            self.figure_.draw_without_rendering()
            outer = ax.get_window_extent().extents
            if all(inside(t.get_bbox_patch().get_window_extent().extents, outer)
                   for t in self.unit_labels_ + self._ellipses + self.block_labels_):
                return
            x_pad, y_pad = 1.3 * x_pad, 1.3 * y_pad

    def _write_gradients(self):
        self.labels_, self.unplaced_ = [], []
        if self.gradients is None:
            return
        ax, data = self.ax_, self.ax_.transData
        scale = self.figure_.dpi / 72
        taken = [t.get_bbox_patch().get_window_extent().extents
                 for t in self.unit_labels_ + self._ellipses + self.block_labels_]
        edges = [(*data.transform(np.column_stack(e.get_data())), e.get_linewidth() * scale / 2)
                 for e in self.edges_]
        outer = ax.get_window_extent().extents
        for own, (layer, i, j) in enumerate(self._edge_names):
            i_all, j_all = self.shown_units_[layer][i], self.shown_units_[layer + 1][j]
            text = ax.text(0, 0, f"{self.gradients[layer][i_all, j_all]:.3g}", fontsize=7,
                           color="dimgray", ha="center", va="center", zorder=2,
                           bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                                 "edgecolor": "none"})
            w, h = _size(text, pad=0.1 * 7 * scale)
            spot = free_spot(edges[own][0], edges[own][1],
                             lambda c, w=w, h=h: (c[0] - w / 2, c[1] - h / 2,
                                                  c[0] + w / 2, c[1] + h / 2),
                             taken, edges, own, outer)
            if spot is None:
                text.remove()
                self.unplaced_.append(self._weight_name(layer, i_all, j_all))
                continue
            text.set_position(data.inverted().transform(spot))
            taken.append((spot[0] - w / 2, spot[1] - h / 2, spot[0] + w / 2, spot[1] + h / 2))
            self.labels_.append(text)

    def _weight_name(self, layer, i, j):
        return f"w({self._sources[layer][i]}->{self._names[layer + 1][j]})"

    def _title(self, units):
        lines = ["weights (width |w|, blue +, red -)"
                 + ("; dL/dw on the edges" if self.gradients is not None else "")]
        if self.block_labels_:
            lines.append("boxes above: the other layers, applied to those units")
        wide = [f"{len(s)} of {k}" for s, k in zip(self.shown_units_, units) if len(s) < k]
        if wide:
            lines.append(f"wide layers summarised: {', '.join(wide)} units drawn")
        if self.unplaced_:
            lines.append(f"{len(self.unplaced_)} gradients had no room (see unplaced_)")
        return "\n".join(lines)


def _positions(layer, n_shown, gap):
    """(x, y) of the drawn units of a layer, top to bottom, a slot left at ``gap``."""
    n_slots = n_shown + (gap is not None)
    ys = (n_slots - 1) / 2 - np.arange(n_slots)
    if gap is not None:
        ys = np.delete(ys, gap)
    return np.column_stack([np.full(n_shown, float(layer)), ys])


def _size(text, pad):
    """Width and height, in pixels, of a text and its box (``pad`` pixels round it)."""
    x0, y0, x1, y1 = text.get_window_extent().extents
    return x1 - x0 + 2 * pad, y1 - y0 + 2 * pad


def layer_blocks(layers):
    """``{column: text}``: the layers of other kinds than Dense that act on each
    drawn column of units (column 0: those before the first Dense layer; column l:
    those after the l-th), one line per layer and one per setting; ``{}`` for a
    perceptron (``layers`` None). A layer after the first Dense one that changes
    the width cannot sit on a column of units: refused, with the reason."""
    if layers is None:
        return {}
    blocks, column, width = {}, 0, None
    for number, layer in enumerate(layers, start=1):
        if layer.kind == "dense":
            column, width = column + 1, layer.units
            continue
        if column and layer.width(width) != width:
            raise ValueError(
                f"NetworkDisplay draws layers of other kinds than Dense as blocks on a "
                f"column of units; layer {number} (of kind {layer.kind!r}) changes the "
                f"width after Dense layer {column} ({width} units to "
                f"{layer.width(width)}), so it has no column. Use backprop_trace for its "
                "numbers.")
        blocks[column] = "\n".join([*filter(None, [blocks.get(column)]),
                                    *_layer_lines(layer)])
    return blocks


def _layer_lines(layer):
    """A layer's kind in words, then its one-number and text settings."""
    settings = [f"{name}={value}" for name, value in layer._asdict().items()
                if isinstance(value, (int, str)) and not isinstance(value, bool)]
    return [layer.kind.replace("_", " ")] + ([f"({', '.join(settings)})"] if settings else [])


def unit_names(layers, units):
    """``(labels, sources)``: the names ``backprop_trace`` gives the drawn units
    (the first Dense layer's inputs, then every Dense layer's outputs), and those
    of the values each Dense layer reads (its weights' sources: the outputs of a
    layer drawn as a block where one comes between), for these units per column."""
    from ._trace import _unit_names

    if layers is None:
        names = _unit_names(units)
        return names, names[:-1]
    dense = [l for l, layer in enumerate(layers) if layer.kind == "dense"]
    widths = [0] * (len(layers) + 1)  # (the columns drawn: their names only)
    for column, l in enumerate(dense):
        widths[l], widths[l + 1] = units[column], units[column + 1]
    names = _unit_names(widths, layers)
    return [names[dense[0]], *(names[l + 1] for l in dense)], [names[l] for l in dense]


def _from_trace(params):
    """coefs, intercepts and weight gradients from a trace's parameter table."""
    weights, biases = params[params["kind"] == "weight"], params[params["kind"] == "bias"]
    layers = sorted(weights["layer"].unique())
    intercepts = [biases[biases["layer"] == l]["value"].to_numpy() for l in layers]
    coefs = [weights[weights["layer"] == l]["value"].to_numpy().reshape(-1, len(b))
             for l, b in zip(layers, intercepts)]
    gradients = [weights[weights["layer"] == l]["gradient"].to_numpy().reshape(W.shape)
                 for l, W in zip(layers, coefs)]
    return coefs, intercepts, gradients
