"""The monitor: one record of a fit's progress, committed one epoch at a time.

Each completed epoch (lbfgs: iteration) becomes one history row, and the epoch is
committed by a single assignment of the monitor's ``record``: the number of rows
that count, the patience counter, the best score and the best weights. An
interrupt anywhere, even between appending a row and committing it, leaves a
record whose rows, counters and snapshot agree; the estimator's ``loss_curve_``,
``n_iter_``, ``history_``, ``validation_scores_`` and ``best_*`` are all derived
from it at the end (``attributes``), so they agree too.
"""

import time
from operator import itemgetter
from typing import NamedTuple

import numpy as np

from .._core.losses import loss_value
from .._core.xp import all_finite, copy, float_value

__all__ = ["Monitor", "Record", "Row", "progress"]

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "val_score", "learning_rate",
                   "seconds")
NO_VALIDATION = (np.nan, np.nan)  # (loss, score) of an epoch without validation data
# a named tuple from its fields in order, without the Python frame of its __new__
# (a per-row fit commits an epoch every few microseconds)
_new = tuple.__new__


def progress(metric, best_metric, no_improvement, tol, counts, patience):
    """The monitor's rule for an epoch whose monitored value (higher is better) is
    ``metric``, after the best ``best_metric`` and ``no_improvement`` epochs in a
    row without an improvement of ``tol`` (counted where ``counts``): (the best
    metric, the count, whether the epoch is the new best, whether the count passed
    ``patience``: a plateau). The same function runs compiled on epochs trained
    ahead (``_engine.rowahead``)."""
    improved = not metric < best_metric + tol
    best = metric > best_metric
    if best:
        best_metric = metric
    if counts:
        no_improvement = 0 if improved else no_improvement + 1
    return best_metric, no_improvement, best, no_improvement > patience


class Row(NamedTuple):
    """One completed epoch, as ``history_`` shows it."""

    epoch: int
    train_loss: float
    val_loss: float
    val_score: float
    learning_rate: float
    seconds: float


_TRAIN_LOSS, _VAL_SCORE = (itemgetter(Row._fields.index(name))
                            for name in ("train_loss", "val_score"))


class Record(NamedTuple):
    """What has been committed: the first ``n_rows`` rows, and what they imply."""

    n_rows: int
    best_metric: float  # the best monitored value (higher is better)
    best_epoch: int | None
    no_improvement: int  # epochs in a row without an improvement of tol
    best_weights: list  # the parameters (one list per layer) of best_epoch (or the start)
    best_val_score: float | None
    best_val_loss: float | None


class Monitor:
    """History, validation scores, patience and the best weights of one fit.

    It reads the ``spec`` (verbose, tol, n_iter_no_change, scoring, solver).
    ``previous`` holds the counters of the fitted state a call continues
    (partial_fit keeps the patience and the best score; a warm start resets them).
    Every epoch is scored on ``validation`` (a ``Data``, or None) with
    ``score(A, y, sample_weight)`` (the estimator's score); ``watch_validation`` (early
    stopping) makes the validation score (or loss, with ``scoring='loss'``) the
    monitored quantity instead of the training loss.
    """

    def __init__(self, spec, model, validation, score, start_weights,
                 watch_validation, previous=None, first_epoch=1):
        self.spec, self.model = spec, model
        self.validation, self.score = validation, score
        self.watch_validation = watch_validation
        self.first_epoch = first_epoch
        # (read every epoch) whether patience is counted: lbfgs stops by itself
        self.counts_patience = watch_validation or spec.solver != "lbfgs"
        self.tol = spec.tol  # (a Python float: ``_prepare.resolve``)
        self.rows = []
        best = previous or {}
        self.record = Record(
            0, best.get("_best_metric", -np.inf), best.get("best_epoch_"),
            best.get("_no_improvement_count", 0), start_weights,
            best.get("best_validation_score_", -np.inf if watch_validation else None),
            best.get("best_validation_loss_", np.inf if watch_validation else None))

    @property
    def epochs(self):
        """Epochs committed so far in this fit."""
        return self.record.n_rows

    def end_epoch(self, loss, learning_rate, started, current, described=None):
        """Commit a completed epoch with training loss ``loss``; the validation data
        scores the ``current`` weights. ``described`` are the weights the training
        loss describes, kept if they are the best (a copy of ``current`` if not
        given). Returns True when the monitored quantity has not improved by tol for
        more than n_iter_no_change epochs."""
        epoch = self.first_epoch + self.record.n_rows
        self._announce(epoch, [loss])
        val_loss, val_score = (NO_VALIDATION if self.validation is None
                               else self.evaluate(current))
        row = _new(Row, (epoch, float(loss), float(val_loss), float(val_score),
                         float(learning_rate), time.perf_counter() - started))
        record, plateau = self._next_record(self.record, row, current, described)
        self.rows.append(row)
        self.record = record  # the commit
        return plateau

    def rule(self):
        """What ``progress`` reads besides the metric, for epochs trained ahead:
        (best metric, count, tol, counts, n_iter_no_change)."""
        r, s = self.record, self.spec
        return (float(r.best_metric), int(r.no_improvement), self.tol,
                bool(self.counts_patience), float(s.n_iter_no_change))

    def end_epochs(self, losses, learning_rate, seconds, weights, ruled):
        """Commit epochs trained ahead (``_engine.rowahead``) without validation
        data, as ``end_epoch`` would commit each, in one assignment: training losses
        ``losses`` (floats), ``seconds`` each, ``weights(e)`` the parameters
        entering epoch e (read where kept); ``ruled`` are ``progress``'s outputs for
        each epoch, run compiled: (best metrics, counts, index of the best epoch so
        far or -1, plateaus), read at the last. Returns whether it ended a plateau."""
        r, n = self.record, len(losses)
        first = self.first_epoch + r.n_rows
        self._announce(first, losses)
        nan = [np.nan] * n
        # (plain tuples of the fields in ``Row``'s order, as the history keeps them:
        # hundreds of epochs are committed at once, each a few microseconds' work)
        self.rows += zip(range(first, first + n), losses, nan, nan, [learning_rate] * n,
                         [seconds] * n)
        best_metric, no_improvement, best, plateau = (
            float(ruled[0][n - 1]), *(int(v[n - 1]) for v in ruled[1:]))
        best_epoch, kept = ((first + best, weights(best)) if best >= 0
                            else (r.best_epoch, r.best_weights))
        self.record = _new(Record, (  # the commit
            r.n_rows + n, best_metric, best_epoch, no_improvement, kept,
            r.best_val_score, r.best_val_loss))
        return bool(plateau)

    def _announce(self, first, losses):
        """With ``verbose``: each epoch's training loss, from epoch ``first`` on."""
        if self.spec.verbose:
            for epoch, loss in enumerate(losses, first):
                print(f"Iteration {epoch}, loss = {loss:.8f}")

    def evaluate(self, params):
        """(loss, score) of the network on the validation data: the loss without
        the L2 term, the score as the estimator's ``score`` (NaN where the outputs
        are not finite); (nan, nan) without validation data."""
        if self.validation is None:
            return np.nan, np.nan
        v = self.validation
        A, Z = self.model.output(params, v.X)
        loss = float_value(loss_value(self.model.loss, v.Y, Z, A, v.sample_weight))
        score = self.score(A, v.y, v.sample_weight) if all_finite(A) else np.nan
        if self.spec.verbose:
            print(f"Validation score: {score:f}")
        return loss, score

    def _next_record(self, r, row, current, described):
        """The record ``r`` after the epoch ``row``, and whether it ended a
        plateau."""
        n_rows, best_metric, best_epoch, no_improvement, kept, best_val_score, \
            best_val_loss = r
        if self.watch_validation:
            best_val_score = max(best_val_score, row.val_score)
            best_val_loss = min(best_val_loss, row.val_loss)
            metric = -row.val_loss if self.spec.scoring == "loss" else row.val_score
        else:
            metric = -row[1]  # (the training loss)
        s = self.spec
        best_metric, no_improvement, best, plateau = progress(
            metric, best_metric, no_improvement, self.tol, self.counts_patience,
            s.n_iter_no_change)
        if best:
            best_epoch = row[0]
            kept = described if described is not None else [
                [copy(p) for p in ps] for ps in current]
        return _new(Record, (n_rows + 1, best_metric, best_epoch, no_improvement, kept,
                             best_val_score, best_val_loss)), plateau

    def reset_patience(self):
        """After the learning rate was lowered on a plateau: count anew."""
        self.record = self.record._replace(no_improvement=0)

    def attributes(self, previous, incremental, rows_per_epoch):
        """The estimator's progress attributes after this fit: the ``previous`` ones
        extended by the committed rows (``n_iter_`` restarts unless incremental)."""
        r = self.record
        rows = self.rows[:r.n_rows]  # (``Row``s, or plain tuples of their fields)
        losses = list(map(_TRAIN_LOSS, rows))
        scores = previous.get("validation_scores_",
                              [] if self.watch_validation else None)
        if self.validation is not None:
            scores = (scores or []) + list(map(_VAL_SCORE, rows))
        return {
            "n_iter_": (previous.get("n_iter_", 0) if incremental else 0) + len(rows),
            "t_": previous.get("t_", 0) + rows_per_epoch * len(rows),
            "loss_curve_": previous.get("loss_curve_", []) + losses,
            "_history": previous.get("_history", []) + list(map(tuple, rows)),
            "validation_scores_": scores,
            "best_epoch_": r.best_epoch,
            "best_loss_": None if self.watch_validation else -r.best_metric,
            "best_validation_score_": r.best_val_score,
            "best_validation_loss_": r.best_val_loss,
            "_best_metric": r.best_metric,
            "_no_improvement_count": r.no_improvement,
            **({"loss_": losses[-1]} if losses else {}),
        }
