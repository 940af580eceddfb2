"""One divergence guard for every solver: when training has blown up.

Its reference is the loss of the network a fit starts from, scored on up to
``SCORED_ROWS`` training rows spread over the whole table (``scored_rows``: one
from each of that many equal blocks of rows) before any update (and, when a fit
continues a model, the worst loss recorded before): rows sorted by target, or
repeating in a pattern, are still scored over their whole range, not by their
first rows. A loss that is not finite, or above ``DIVERGENCE_FACTOR`` times the
reference, is a blow-up; so is a start whose loss is not finite (inputs or targets
too large). Before a finite loss is called a blow-up the start is scored once on
every row (``whole_loss``): the scored rows can miss a few rows of outsized loss
(a rare, huge target), and an ordinary epoch's loss over all the rows would then
look like a blow-up. The final weights are scored as the start was, since every
epoch loss is measured before its updates and a blow-up in the very last one would
otherwise go unseen.

When a fit diverges the loop keeps the best weights it saw; ``finite_weights``
makes sure those predict finite values on the training data, else (a start that
already overflows, such as an exp output on unscaled inputs) falls back to a network
of zeros, which predicts the output activation at 0.
"""

import math
from functools import lru_cache

import numpy as np

from .._core.losses import l2_penalty, loss_value
from .._core.network import decayed, first_array
from .._core.xp import all_finite, float_value, namespace, row_slice, take_rows, to_numpy
from .data import Data

__all__ = ["Diverged", "Guard", "finite_weights", "scored_loss", "scored_rows", "spread",
           "whole_loss", "within"]

# An epoch loss this many times the reference is a blow-up, even while it is finite.
DIVERGENCE_FACTOR = 1e4
# (a few rows of outsized loss that they miss cannot raise a false alarm: the start
# on every row decides first; see ``Guard.blown_up``)
SCORED_ROWS = 256


class Diverged(Exception):
    """Training blew up; the message says how."""


def scored_rows(data, rows=SCORED_ROWS):
    """The rows of ``data`` the guard scores, among those that count (a row of
    sample weight 0 adds nothing to the loss): all of them up to ``rows``, else
    ``spread(m, rows)`` of those m. Without ``y`` (the targets as given: the
    scores need only X, Y and the sample weights)."""
    n = data.n_samples
    counted = (None if data.sample_weight is None
               else np.flatnonzero(to_numpy(data.sample_weight)))
    if counted is None or len(counted) in (0, n):  # (no weight 0, or only 0s)
        if n <= rows:
            return data
        picked = spread(n, rows)
    else:
        picked = counted if len(counted) <= rows else counted[spread(len(counted), rows)]
    return data._replace(
        X=take_rows(data.X, picked), Y=take_rows(data.Y, picked), y=None,
        sample_weight=None if data.sample_weight is None else take_rows(
            data.sample_weight, picked))


def spread(m, rows):
    """``rows`` positions among ``m > rows``, in order: one from each block
    [i m / rows, (i + 1) m / rows) of them, at an offset drawn once by a generator
    of its own with a fixed seed (the same rows in every fit, no draw from the
    fit's random state; a repeating pattern of rows does not line up with them,
    as it would with every k-th row)."""
    edges = np.arange(rows + 1) * m // rows
    return edges[:-1] + (_offsets(rows) * np.diff(edges)).astype(np.intp)


@lru_cache(maxsize=8)
def _offsets(rows):
    offsets = np.random.default_rng(0).random(rows)
    offsets.flags.writeable = False
    return offsets


def scored_loss(model, params, data, rows=SCORED_ROWS):
    """The training loss (L2 term included) of the network on ``scored_rows(data,
    rows)``, as an epoch on those rows reports it."""
    return whole_loss(model, params, scored_rows(data, rows))


def whole_loss(model, params, data, chunk=10_000):
    """The training loss (L2 term included) of the network on every row of
    ``data``, ``chunk`` rows at a time (no more rows' activations held at once)."""
    total, weight_sum = 0.0, 0.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start in range(0, data.n_samples, chunk):
            part = Data(*(None if a is None else row_slice(a, start, start + chunk)
                          for a in (data.X, data.Y, None, data.sample_weight)))
            part = part.computed()
            A, Z = model.output(params, part.X)
            weight = (part.n_samples if part.sample_weight is None else float_value(
                namespace(part.sample_weight).sum(part.sample_weight)))
            if weight:
                total += float_value(loss_value(model.loss, part.Y, Z, A,
                                                part.sample_weight)) * weight
                weight_sum += weight
        if not weight_sum:  # (no row counts: no loss to compare)
            return math.nan
        penalty = l2_penalty(decayed(model.layers, params), model.alpha, weight_sum)
        return total / weight_sum + float_value(penalty)


def within(loss, limit):
    """Whether an epoch's ``loss`` is finite and at most ``limit`` (the guard's):
    no blow-up. The same function runs compiled on epochs trained ahead
    (``_engine.rowahead``), which stop before a loss it does not pass."""
    return loss - loss == 0.0 and loss <= limit


class Guard:
    """Raises ``Diverged`` when a loss blows up against the fit's reference."""

    def __init__(self, start_loss, earlier_losses=(), whole_start=None):
        """The guard of a fit whose starting network has training loss
        ``start_loss`` (see ``scored_loss``), after ``earlier_losses`` if it
        continues a model; raises ``Diverged`` if the start is already not finite.
        ``whole_start()``, if given, is the start's loss on every training row
        (``whole_loss``), asked for once, when a finite loss first looks like a
        blow-up."""
        if not math.isfinite(start_loss):
            raise Diverged(f"the starting network's training loss is {start_loss}: the "
                           "inputs or targets are too large for its arithmetic")
        self.reference = max([start_loss, *earlier_losses])
        self.whole_start = whole_start
        # True while a loss that looks like a blow-up is judged on every row (still
        # True if an interrupt stopped that: the loss's weights were left unjudged)
        self.judging = False

    def blown_up(self, loss):
        if within(loss, self.limit()):
            return False
        if math.isfinite(loss) and self.whole_start is not None:
            # (the reference's rows may have missed some)
            whole_start, self.whole_start, self.judging = self.whole_start, None, True
            whole = whole_start()
            self.judging = False
            if math.isfinite(whole):
                self.reference = max(self.reference, whole)
            return not within(loss, self.limit())
        return True

    def limit(self):
        """The largest loss that is not a blow-up (for now): ``check_epoch`` passes
        a loss ``within`` it without a closer look."""
        return DIVERGENCE_FACTOR * self.reference if self.reference > 0 else math.inf

    def check_update(self, loss):
        """A batch's (or row's) loss: only a non-finite one stops at once. (A loss
        still on a device is not read back: the epoch's check sees it.)"""
        if isinstance(loss, float) and not math.isfinite(loss):
            raise Diverged(f"a batch's loss became {loss}")

    def check_epoch(self, loss):
        if self.blown_up(loss):
            raise Diverged(f"the training loss reached {loss:.4g}")

    def check_final(self, model, params, data):
        loss = scored_loss(model, params, data)
        if self.blown_up(loss):
            raise Diverged(f"the final weights' training loss is {loss:.4g}")


def finite_weights(model, params, X, batch=10_000):
    """``(params, kept)``: the parameters if they are finite and predict finite
    values on every row of X (``kept`` True), else a network of zeros."""
    finite = all(all_finite(p) for ps in params for p in ps)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start in range(0, X.shape[0] if finite else 0, batch):
            rows = row_slice(X, start, start + batch)
            if not all_finite(model.output(params, rows)[0]):
                finite = False
                break
    if finite:
        return params, True
    xp = namespace(first_array(params))
    return [[xp.zeros_like(p) for p in ps] for ps in params], False
