"""One divergence guard for every solver: when training has blown up.

Its reference is the loss of the network a fit starts from, scored on up to
``SCORED_ROWS`` training rows spread over the whole table (``scored_rows``: one
from each of that many equal blocks of rows) before any update (and, when a fit
continues a model, the worst loss recorded before): rows sorted by target, or
repeating in a pattern, are still scored over their whole range, not by their
first rows. A
loss that is not finite, or above ``DIVERGENCE_FACTOR`` times the reference, is a
blow-up; so is a start whose loss is not finite (inputs or targets too large). The
final weights are scored the same way, since every epoch loss is measured before
its updates and a blow-up in the very last one would otherwise go unseen.

When a fit diverges the loop keeps the best weights it saw; ``finite_weights``
makes sure those predict finite values on the training data, else (a start that
already overflows, such as an exp output on unscaled inputs) falls back to a network
of zeros, which predicts the output activation at 0.
"""

import math
from functools import lru_cache

import numpy as np

from .._core.losses import training_loss
from .._core.network import decayed, first_array
from .._core.xp import all_finite, float_value, namespace, row_slice, take_rows, to_numpy

__all__ = ["Diverged", "Guard", "finite_weights", "scored_loss", "scored_rows", "spread"]

# An epoch loss this many times the reference is a blow-up, even while it is finite.
DIVERGENCE_FACTOR = 1e4
SCORED_ROWS = 1000  # (fewer miss a rare large target more often: a false alarm)


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
    data = scored_rows(data, rows).computed()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        A, Z = model.output(params, data.X)
        sw_sum = (data.n_samples if data.sample_weight is None
                  else float_value(namespace(data.sample_weight).sum(data.sample_weight)))
        return float_value(training_loss(model.loss, data.Y, Z, A, data.sample_weight,
                                         decayed(model.layers, params), model.alpha,
                                         sw_sum))


class Guard:
    """Raises ``Diverged`` when a loss blows up against the fit's reference."""

    def __init__(self, start_loss, earlier_losses=()):
        """The guard of a fit whose starting network has training loss
        ``start_loss`` (see ``scored_loss``), after ``earlier_losses`` if it
        continues a model; raises ``Diverged`` if the start is already not finite."""
        if not math.isfinite(start_loss):
            raise Diverged(f"the starting network's training loss is {start_loss}: the "
                           "inputs or targets are too large for its arithmetic")
        self.reference = max([start_loss, *earlier_losses])

    def blown_up(self, loss):
        return not math.isfinite(loss) or (
            self.reference > 0 and loss > DIVERGENCE_FACTOR * self.reference)

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
