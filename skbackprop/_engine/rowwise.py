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
have at most two terms (2-2-1) and activations other than tanh, where BLAS rounds
each product before adding (some kernels, OpenBLAS's AVX-512 ones among them, fuse
the multiply and the add: then they agree to a few units in the last place); beyond
that BLAS may add the terms of a sum in another order, and ``math.tanh`` differs from
NumPy's in the last bit, for differences of about 1e-16 that training may grow to
about 1e-13 (tested). ``print(epoch_source(...))`` shows the chain rule
spelled out for any small network, e.g. ``epoch_source((2, 2, 1), ("identity",
"identity"), "squared_error")`` for the tutorial's.

With numba installed (the ``fast`` extra), a fit large enough to pay for it runs the
same lines compiled by numba (``_engine.rowjit``, about ten times faster per row):
``epoch_source(..., target="numba")`` puts them in a frame numba compiles, and the
float64 numbers are the Python epoch's to the last bit. There the loop may also run
many epochs in one compiled call (``_engine.rowahead``), with the same numbers.

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
from .._core.network import loop_layout, n_parameters, unpack
from . import rowahead as _rowahead
from . import rowjit as _rowjit
from .fused import fit_work

__all__ = [
    "RESERVED", "RowStep", "a", "accepts", "backward_lines", "compiled_epoch", "d", "epoch_for",
    "epoch_key", "epoch_source", "forward_lines", "loss_lines", "names", "numba_frame",
    "numba_source", "parameter_names", "python_frame", "row_functions", "rowwise_limit",
    "supports", "update_lines", "update_rule", "w", "writable", "written_activations"
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
            if name in RESERVED:
                raise ValueError(f"A per-row spelling calls a function named {name!r}, a "
                                 f"name the written-out epoch's file defines itself "
                                 f"({', '.join(sorted(RESERVED))}); rename it in its "
                                 "record.")
            if functions.setdefault(name, function) is not function:
                raise ValueError(f"Two per-row spellings call different functions "
                                 f"{name!r}; rename one in its record.")
    return functions


# the names the generated file defines (the epoch, rowahead's functions)
RESERVED = frozenset({"epoch", *(f.__name__ for f in _rowahead.FUNCTIONS)})


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
    return lines


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
                 weighted=False, target="python"):
    """The source of ``epoch(X, Y, S, order, theta, velocity, learning_rate,
    momentum, alpha)``: SGD through rows ``order`` of the lists X, Y (and sample
    weights S if ``weighted``), updating the flat parameter and velocity lists in
    place (however the epoch ends); returns each row's (sample weight, loss before
    its update, L2 term included if ``decay``), stopping after the first loss that
    is not finite. Rows of weight 0 are skipped.

    ``target="numba"`` writes the same rows in the frame numba compiles
    (``_engine.rowjit``): ``epoch(..., alpha, losses)`` on arrays, each row's
    (sample weight, loss) stored in the rows of the preallocated array ``losses``,
    returning how many and the epoch's sum of sample weight times loss (summed in
    row order, as the training loop sums the list); the parameters are stored back
    when the rows end (no ``try``: compiled code runs its rows to the end)."""
    units = layer_units
    params = parameter_names(units)
    velocities = ["v" + p for p in params]
    row = [f"{names([a(0, i) for i in range(units[0])])} = X[r]",
           f"{names([f'y_{k}' for k in range(units[-1])])} = Y[r]"]
    row += (forward_lines(units, activations) + loss_lines(units, loss, decay, weighted)
            + RECORD[target] + backward_lines(units, activations, loss)
            + update_lines(units, rule, decay))
    row += ["if not isfinite(loss):", "    break"]
    if weighted:
        row = ["s = S[r]", "if s <= 0:", "    continue", "decay = alpha / s", *row]
    head = [f"    {names(params)} = theta", f"    {names(velocities)} = velocity",
            "    step = -learning_rate", "    s, decay = 1.0, alpha"]
    frame = python_frame if target == "python" else numba_frame
    return "\n".join(frame(head, row, params, velocities)) + "\n"


# how a row's (sample weight, loss) is kept: in a list, or in an array's next row
RECORD = {"python": ["losses.append((s, loss))"],
          "numba": ["losses[count, 0] = s", "losses[count, 1] = loss", "count += 1",
                    "total += s * loss"]}


def python_frame(head, row, params, velocities):
    """The epoch on lists: the rows inside ``try``, the parameters written back to
    the lists however the epoch ends (an exception, Ctrl-C)."""
    return [
        "def epoch(X, Y, S, order, theta, velocity, learning_rate, momentum, alpha):",
        *head,
        "    losses = []",
        "    try:",
        "        for r in order:",
        *("            " + line for line in row),
        "    finally:",
        f"        theta[:] = {names(params)}",
        f"        velocity[:] = {names(velocities)}",
        "    return losses",
    ]


def numba_frame(head, row, params, velocities):
    """The epoch on arrays, as numba compiles it: the losses into a preallocated
    array and their count returned, the parameters stored back one by one."""
    stores = [f"    theta[{i}] = {p}" for i, p in enumerate(params)]
    stores += [f"    velocity[{i}] = {v}" for i, v in enumerate(velocities)]
    return [
        "def epoch(X, Y, S, order, theta, velocity, learning_rate, momentum, alpha, "
        "losses):",
        *head,
        "    count, total = 0, 0.0",
        "    for r in order:",
        *("        " + line for line in row),
        *stores,
        "    return count, total",
    ]


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


def numba_source(layer_units, activations, loss, rule, decay, weighted):
    """``compiled_epoch``'s epoch in the frame numba compiles (``_engine.rowjit``),
    followed by ``_engine.rowahead``'s functions that run it many epochs at a time,
    and the functions it calls."""
    return (epoch_source(layer_units, activations, loss, rule, decay, weighted, "numba")
            + _rowahead.source(), row_functions(activations, loss))


def epoch_key(layer_units, activations, loss, momentum, nesterov, alpha, weighted):
    """The arguments of ``compiled_epoch`` for this network and these SGD settings."""
    return (tuple(layer_units), tuple(activations), loss, update_rule(momentum, nesterov),
            bool(alpha), weighted)


def epoch_for(layer_units, activations, loss, momentum, nesterov, alpha, weighted):
    """The compiled epoch function for this network and these SGD settings."""
    return compiled_epoch(*epoch_key(layer_units, activations, loss, momentum, nesterov,
                                     alpha, weighted))


class RowStep:
    """The step seam's per-row implementation: SGD one row at a time, written out.

    Where the fit is large enough to pay and numba can run (``_engine.rowjit``),
    the epoch runs compiled, on the fit's arrays: ``flat`` and ``velocity`` (the
    flat parameter vector and its SGD velocities) are updated in place. Otherwise
    it runs on Python floats: training works on list copies of them, written back
    after every epoch however it ends. Either way ``params`` (one list per layer,
    views into ``flat``) hold the weights of the last completed row after an epoch.
    ``epochs`` are the most the call trains (``max_iter`` if None), for the
    decision."""

    def __init__(self, model, settings, data, flat, optimizer_state, epochs=None):
        self.model, self.settings = model, settings
        self.flat = flat
        self.optimizer_state = optimizer_state
        self.shapes = model.shapes
        self.params = unpack(flat, self.shapes)
        self.velocity = optimizer_state["velocities"][0]
        layer_units, activations = model.perceptron
        sw = data.sample_weight
        key = epoch_key(layer_units, activations, model.loss, settings.momentum,
                        settings.nesterovs_momentum, model.alpha, sw is not None)
        self.compiled = self._compiled(key, data, epochs)
        if self.compiled is None:
            self.rows = (data.X.tolist(), data.Y.tolist(), None if sw is None else sw.tolist())
            self.net = [flat.tolist(), self.velocity.tolist()]
            self.epoch = compiled_epoch(*key)
        else:
            # (of the types the epoch was compiled for: nothing compiles mid-fit)
            self.rows = tuple(loop_layout(np.asarray(v, dtype=np.float64)) for v in (
                data.X, data.Y, np.ones(0) if sw is None else sw))
            self.losses = np.empty((data.n_samples, 2))
            # (the settings as the floats the epoch was compiled for, once per fit)
            self.constants = (float(settings.momentum), float(model.alpha))

    def _compiled(self, key, data, epochs):
        """The epoch compiled by numba where it runs on these arrays and pays; None
        for the Python epoch."""
        in_place = all(v.dtype == np.float64 and v.ndim == 1 and v.flags.c_contiguous
                       for v in (self.flat, self.velocity))
        epochs = self.settings.max_iter if epochs is None else epochs
        work = fit_work(data.n_samples, key[0], 1, epochs)
        return (_rowjit.epoch_for(key, work, self.settings, numba_source) if in_place
                else None)

    def updates(self, order, rng, learning_rate):
        """Train on the rows in ``order``; each row's (sample weight, loss)."""
        if self.compiled is not None:
            return self._compiled_updates(order, learning_rate)
        try:
            return self.epoch(*self.rows, order.tolist(), *self.net, learning_rate,
                              self.settings.momentum, self.model.alpha)
        finally:
            self.flat[:] = self.net[0]
            self.velocity[:] = self.net[1]

    def summed_updates(self, order, rng, learning_rate):
        """``updates``, and the epoch's sum of sample weight times loss (in row
        order, as ``Loop.train`` sums them): ``(total, updates)``, the list of
        updates read only where the total is not finite (the compiled epoch's
        list is then made from its array, the rest of the time not at all)."""
        if self.compiled is None:
            updates, total = self.updates(order, rng, learning_rate), 0.0
            for weight, loss in updates:
                total += weight * loss
            return total, updates
        if not self._loops(order):
            return self._summed_on_copy(order, learning_rate)
        X, Y, S = self.rows
        count, total = self.compiled.epoch(X, Y, S, order, self.flat, self.velocity,
                                           float(learning_rate), *self.constants,
                                           self.losses)
        if total - total == 0.0:  # (finite: the common case, without a call)
            return total, None
        return total, self.losses[:count].tolist()

    def train_ahead(self, order, rng, learning_rate, most, stream, judged):
        """Up to ``most`` epochs through the loop's row ``order``, each shuffled
        first by ``rng`` (None: not shuffled), trained in one compiled call and
        judged by the monitor's rule (``judged``: its inputs): an
        ``_engine.rowahead.Ahead`` (``stream``: where the one before left the
        generator, or None), or None where the epoch is not compiled, the epochs
        are long or few, or ``rng`` is not a ``RandomState`` on MT19937."""
        n_epochs = _rowahead.epochs_ahead(len(order), most)
        if self.compiled is None or self.compiled.ahead is None or not n_epochs or not (
                rng is None or type(rng) is np.random.RandomState) or not self._loops(order):
            return None
        if rng is not None and stream is None and (stream := _rowahead.stream_of(
                rng)) is None:
            return None
        arguments = (float(learning_rate), *self.constants, self.losses)
        return _rowahead.Ahead(self.compiled.ahead, self.rows, self.flat, self.velocity,
                               order, rng, arguments, n_epochs, stream, judged)

    def _loops(self, order):
        """Whether ``order`` is the training loop's (a contiguous intp array of at
        most the fit's rows), which the compiled functions take as it is."""
        return (type(order) is np.ndarray and order.dtype == np.intp
                and len(order) <= len(self.losses) and order.flags.c_contiguous)

    def _summed_on_copy(self, order, learning_rate):
        """``summed_updates`` of the compiled epoch for an order of another type
        or length than the training loop's."""
        count, total = self._compiled_epoch(order, learning_rate)
        return total, (None if math.isfinite(total) else self.losses[:count].tolist())

    def _compiled_updates(self, order, learning_rate):
        """``updates`` by the compiled epoch, on the arrays in place."""
        count, _ = self._compiled_epoch(order, learning_rate)
        return self.losses[:count].tolist()

    def _compiled_epoch(self, order, learning_rate):
        """The compiled epoch through the rows ``order``: (rows trained, the sum of
        sample weight times loss); their losses in ``self.losses``."""
        order = np.ascontiguousarray(order, dtype=np.intp)
        if len(order) > len(self.losses):
            self.losses = np.empty((len(order), 2))
        return self.compiled.epoch(*self.rows, order, self.flat, self.velocity,
                             float(learning_rate), *self.constants, self.losses)
