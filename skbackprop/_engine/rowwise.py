"""Per-row SGD for small networks, written out weight by weight.

With one row per update (``batch_size=1``, the tutorials' algorithm) a step of a
small network is a few dozen multiply-adds. NumPy's overhead of about a microsecond
per array operation would be nearly all of its cost, and so would a generic loop over
Python lists (about 8 µs per row for 2-2-1, against 2 µs written out). For networks of
at most ``rowwise_limit`` weights and biases the estimators therefore do what the
tutorials do on paper: write the forward pass, the backward pass and the SGD update
out for the network at hand, one line per unit and per weight, as the source of one
Python function (``epoch_source``), compiled once per network shape and run on Python
floats. The formulas are those of ``_core.network`` and ``_core.optimizers``, and each
activation's and loss's are read from its record (``_core.activations``, ``_core.losses``:
``row_forward``, ``row_derivative``, ``row_term``), which holds them beside the array
path's. The results equal the array path's to the last bit for networks whose sums
have at most two terms (2-2-1) and activations other than tanh; beyond that BLAS may
add the terms of a sum in another order, and ``math.tanh`` differs from NumPy's in
the last bit, for differences of about 1e-16 that training may grow to about 1e-13
(tested). ``print(epoch_source(...))`` shows the chain rule
spelled out for any small network, e.g. ``epoch_source((2, 2, 1), ("identity",
"identity"), "squared_error")`` for the tutorial's.

Names in the generated code, one row at a time (layers numbered from 1, the inputs
being layer 0):

    a0_i      input i of the row            y_k   its target k
    w{l}_i_j  the weight from unit i of layer l-1 to unit j of layer l
    b{l}_j    the bias of unit j of layer l  (vw..., vb...: their SGD velocities)
    z{l}_j = sum_i a{l-1}_i w{l}_i_j + b{l}_j,    a{l}_j = f(z{l}_j)
    d{l}_j = dl/dz{l}_j:   a{L}_k - y_k at the output (canonical link), and
             f'(z{l}_i) sum_j w{l+1}_i_j d{l+1}_j below it (weights before the update)
    dl/dw{l}_i_j = a{l-1}_i d{l}_j + alpha w{l}_i_j / s,   dl/db{l}_j = d{l}_j

with ``s`` the row's sample weight (1 without weights).
"""

import linecache
import math
import operator
from functools import lru_cache

import numpy as np

from .._config import Setting
from .._core.activations import ACTIVATIONS, on_change
from .._core.losses import LOSSES
from .._core.network import n_parameters, unpack

__all__ = [
    "RowStep", "a", "accepts", "backward_lines", "compiled_epoch", "d", "epoch_for",
    "epoch_source", "forward_lines", "loss_lines", "names", "parameter_names",
    "row_functions", "rowwise_limit", "supports", "update_lines",
    "update_rule", "w", "writable", "written_activations"
]

class rowwise_limit(Setting):
    """Set the largest network (in weights and biases) trained row by row on Python
    floats when ``batch_size=1`` (default 500); larger ones take the array path.

    Call it to change the limit for the calling thread, or use it in a ``with``
    block to change it inside the block only: the ``rowwise_limit`` key of
    :func:`skbackprop.set_config` and :func:`skbackprop.config_context`. Both paths
    compute the same updates (equal within 1e-12); the limit only moves where the
    faster one is used. ``rowwise_limit(0)`` sends every network down the array path.

    Parameters
    ----------
    max_parameters : int
        The largest network trained row by row.

    Examples
    --------
    >>> from skbackprop import rowwise_limit
    >>> with rowwise_limit(0):
    ...     rowwise_limit.current()  # fits in here use the array path
    0
    >>> rowwise_limit.current()
    500
    """

    key = "rowwise_limit"

    def __init__(self, max_parameters):
        super().__init__(max_parameters)

    @classmethod
    def current(cls):
        """The limit in force in the calling thread."""
        return cls._current()


# momentum rule -> the update of a parameter p with gradient g and velocity v, as
# optimizers.sgd_step (step = -learning_rate)
UPDATES = {
    "plain": ("{v} = {g} * step", "{p} += {v}"),  # v = -eta g;  p <- p + v
    "classical": ("{v} = {v} * momentum - learning_rate * {g}", "{p} += {v}"),
    "nesterov": ("{v} = {v} * momentum - learning_rate * {g}",  # p <- p + mu v - eta g
                 "{p} += momentum * {v} - learning_rate * {g}"),
}


def accepts(model, settings, batch_size, X, dtype, limit):
    """Whether a fit trains here: one row per update of plain SGD (no gradient
    clipping, no dropout) on dense float64 rows of a float64 fit (``dtype``, X's if
    None), for a network ``supports`` takes with at most ``limit`` parameters."""
    dtype = X.dtype if dtype is None else dtype
    return (batch_size == 1 and settings.solver == "sgd" and settings.clip_norm is None
            and not any(model.dropout) and isinstance(X, np.ndarray) and X.dtype == np.float64
            and dtype == np.float64 and model.perceptron is not None
            and supports(*model.perceptron, model.loss, limit))


def supports(layer_units, activations, loss, limit):
    """Whether this module can train the network, of at most ``limit`` weights and
    biases (else the array path does)."""
    return n_parameters(layer_units) <= limit and writable(activations, loss)


def writable(activations, loss):
    """Whether these activations and loss can be written out (whatever the size): all
    have per-row spellings, and the output is the loss's canonical link or the loss's
    dl/da is a - y (canonical link identity), which the output's f'(z) multiplies."""
    if not isinstance(loss, str) or loss not in LOSSES or LOSSES[loss].row_term is None:
        return False
    link = LOSSES[loss].link
    return set(activations) <= set(written_activations()) and (
        activations[-1] == link or link == "identity")


def written_activations():
    """The activations this module can write out: those with per-row spellings."""
    return [name for name, f in ACTIVATIONS.items()
            if f.row_forward is not None and f.row_derivative is not None]


def row_functions(activations, loss):
    """The functions the written-out epoch calls, by name: ``isfinite`` and those the
    records of its activations and loss name."""
    functions = {"isfinite": math.isfinite}
    for record in [*(ACTIVATIONS[name] for name in activations), LOSSES[loss]]:
        for name, function in record.row_functions.items():
            if functions.setdefault(name, function) is not function:
                raise ValueError(f"Two per-row spellings call different functions "
                                 f"{name!r}; rename one in its record.")
    return functions


def update_rule(momentum, nesterov):
    """The key of ``UPDATES`` for these SGD settings."""
    return "plain" if momentum == 0 else "nesterov" if nesterov else "classical"


def parameter_names(layer_units):
    """The parameters' names in ``_core.network.pack`` order (every W_l row by row, then
    every b_l), so that a flat parameter vector unpacks into them."""
    weights = [w(l, i, j) for l in range(1, len(layer_units))
               for i in range(layer_units[l - 1]) for j in range(layer_units[l])]
    biases = [f"b{l}_{j}" for l in range(1, len(layer_units))
              for j in range(layer_units[l])]
    return weights + biases


def w(l, i, j):
    """The name of the weight from unit i of layer l-1 to unit j of layer l."""
    return f"w{l}_{i}_{j}"


def a(l, j):
    return f"a{l}_{j}"


def d(l, j):
    return f"d{l}_{j}"


def names(items):
    """Names as the target or value of an unpacking: ``a, b`` (``a,`` for one)."""
    return ", ".join(items) + ("," if len(items) == 1 else "")


def forward_lines(units, activations):
    """z = sum_i a_i w_ij + b_j,  a = f(z), unit by unit, layer by layer."""
    lines = ["# forward: z = sum_i a_i w_ij + b_j,  a = f(z)"]
    for l in range(1, len(units)):
        f = ACTIVATIONS[activations[l - 1]].row_forward
        for j in range(units[l]):
            net = " + ".join(f"{a(l - 1, i)} * {w(l, i, j)}" for i in range(units[l - 1]))
            lines += [f"z{l}_{j} = {net} + b{l}_{j}", f"{a(l, j)} = {f.format(z=f'z{l}_{j}')}"]
    return lines


def loss_lines(units, loss, decay, weighted):
    """The row's loss from its errors e = a - y, plus alpha ||W||^2 / (2 s)."""
    L, spec = len(units) - 1, LOSSES[loss]
    lines = ["# the loss, before the update; e = a - y", f"# {spec.doc}"]
    lines += [f"e{k} = {a(L, k)} - y_{k}" for k in range(units[L])]
    terms = " + ".join(spec.row_term.format(e=f"e{k}", z=f"z{L}_{k}", y=f"y_{k}")
                       for k in range(units[L]))
    lines += [f"loss = {spec.row_loss.format(terms=terms)}" + (" * s / s" if weighted else "")]
    if decay:  # sum_l ||W_l||^2, each layer's sum of squares in brackets
        norms = [" + ".join(f"{w(l, i, j)} * {w(l, i, j)}" for i in range(units[l - 1])
                            for j in range(units[l])) for l in range(1, len(units))]
        squares = norms[0] if len(norms) == 1 else " + ".join(f"({n})" for n in norms)
        lines += [f"loss += 0.5 * alpha * ({squares})" + (" / s" if weighted else "")]
    return [*lines, "losses.append((s, loss))"]


def backward_lines(units, activations, loss):
    """d = dl/dz: e at the output on the canonical link (else e f'(z)), then
    f'(z_i) sum_j w_ij d_j layer by layer down, with the weights before the update."""
    L, canonical = len(units) - 1, LOSSES[loss].link
    lines = ["# backward: d = dl/dz, output layer first, with the weights before the update"]
    derivative = ACTIVATIONS[activations[-1]].row_derivative
    for k in range(units[L]):
        delta = f"e{k}" if activations[-1] == canonical else derivative.format(
            delta=f"e{k}", a=a(L, k))
        lines += [f"{d(L, k)} = {delta}"]
    for l in reversed(range(1, L)):
        derivative = ACTIVATIONS[activations[l - 1]].row_derivative
        for i in range(units[l]):
            error = " + ".join(f"{d(l + 1, j)} * {w(l + 1, i, j)}" for j in range(units[l + 1]))
            lines += [f"{d(l, i)} = {derivative.format(delta=error, a=a(l, i))}"]
    return lines


def update_lines(units, rule, decay):
    """Each parameter's SGD update from dl/dw_ij = a_i d_j + alpha w_ij / s and
    dl/db_j = d_j."""
    lines = ["# update: dl/dw_ij = a_i d_j + alpha w_ij / s,  dl/db_j = d_j"]
    for l in range(1, len(units)):
        for i in range(units[l - 1]):
            for j in range(units[l]):
                p = w(l, i, j)
                lines += [f"g = {a(l - 1, i)} * {d(l, j)}" + (f" + decay * {p}" if decay else "")]
                lines += [t.format(p=p, v="v" + p, g="g") for t in UPDATES[rule]]
        for j in range(units[l]):
            p = f"b{l}_{j}"
            lines += [t.format(p=p, v="v" + p, g=d(l, j)) for t in UPDATES[rule]]
    return lines


def epoch_source(layer_units, activations, loss, rule="plain", decay=True,
                 weighted=False):
    """The source of ``epoch(X, Y, S, order, theta, velocity, learning_rate,
    momentum, alpha)``: SGD through rows ``order`` of the lists X, Y (and sample
    weights S if ``weighted``), updating the flat parameter and velocity lists in
    place (however the epoch ends); returns each row's (sample weight, loss before
    its update, L2 term included if ``decay``), stopping after the first loss that
    is not finite. Rows of weight 0 are skipped."""
    units = layer_units
    params = parameter_names(units)
    velocities = ["v" + p for p in params]
    row = [f"{names([a(0, i) for i in range(units[0])])} = X[r]",
           f"{names([f'y_{k}' for k in range(units[-1])])} = Y[r]"]
    row += (forward_lines(units, activations) + loss_lines(units, loss, decay, weighted)
            + backward_lines(units, activations, loss) + update_lines(units, rule, decay))
    row += ["if not isfinite(loss):", "    break"]
    if weighted:
        row = ["s = S[r]", "if s <= 0:", "    continue", "decay = alpha / s", *row]
    return "\n".join([
        "def epoch(X, Y, S, order, theta, velocity, learning_rate, momentum, alpha):",
        f"    {names(params)} = theta",
        f"    {names(velocities)} = velocity",
        "    step = -learning_rate",
        "    s, decay = 1.0, alpha",
        "    losses = []",
        "    try:",
        "        for r in order:",
        *("            " + line for line in row),
        "    finally:",
        f"        theta[:] = {names(params)}",
        f"        velocity[:] = {names(velocities)}",
        "    return losses",
        "",
    ])


@lru_cache(maxsize=64)
def compiled_epoch(layer_units, activations, loss, rule, decay, weighted):
    """``epoch_source``'s function, compiled (once per network shape and options, and
    again after the registry of activations changes)."""
    namespace = row_functions(activations, loss)
    # The source is built from integers and the templates of the registered records
    # only (an unknown name is a KeyError before anything runs), never from user text.
    layer_units = tuple(map(operator.index, layer_units))
    source = epoch_source(layer_units, activations, loss, rule, decay, weighted)
    filename = (f"<skbackprop epoch {'-'.join(map(str, layer_units))} "
                f"{'-'.join(activations)} {loss} {rule}{' decay' * decay}"
                f"{' weighted' * weighted}>")
    # registered so that a traceback through the generated code shows its lines
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # (exec: see above)
    return namespace["epoch"]


on_change(compiled_epoch.cache_clear)  # a name may come to mean another record


def epoch_for(layer_units, activations, loss, momentum, nesterov, alpha, weighted):
    """The compiled epoch function for this network and these SGD settings."""
    return compiled_epoch(tuple(layer_units), tuple(activations), loss,
                          update_rule(momentum, nesterov), bool(alpha), weighted)


class RowStep:
    """The step seam's per-row implementation: SGD one row at a time on Python
    floats. ``flat`` and ``velocity`` are the flat parameter vector and its SGD
    velocities (arrays); training works on list copies of them, written back after
    every epoch however it ends, so ``params`` (one list per layer, views into
    ``flat``) always hold the weights of the last completed row."""

    def __init__(self, model, settings, data, flat, optimizer_state):
        self.model, self.settings = model, settings
        self.flat = flat
        self.optimizer_state = optimizer_state
        self.shapes = model.shapes
        self.params = unpack(flat, self.shapes)
        layer_units, activations = model.perceptron
        sw = data.sample_weight
        self.rows = (data.X.tolist(), data.Y.tolist(), None if sw is None else sw.tolist())
        self.velocity = optimizer_state["velocities"][0]
        self.net = [flat.tolist(), self.velocity.tolist()]
        self.epoch = epoch_for(layer_units, activations, model.loss,
                               settings.momentum, settings.nesterovs_momentum,
                               model.alpha, sw is not None)

    def updates(self, order, rng, learning_rate):
        """Train on the rows in ``order``; each row's (sample weight, loss)."""
        try:
            return self.epoch(*self.rows, order.tolist(), *self.net, learning_rate,
                              self.settings.momentum, self.model.alpha)
        finally:
            self.flat[:] = self.net[0]
            self.velocity[:] = self.net[1]
