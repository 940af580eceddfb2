"""The stochastic training loop: ``run -> epoch -> step``.

    run      epochs until max_iter (partial_fit: ``epochs``), a plateau or a callback
    epoch    shuffle, train on every row, check, commit to the monitor, schedule
    step     one update per batch (or row): the step seam, ``_engine.steps.make_step``

A per-row step compiled by numba can train many epochs in one call
(``_engine.rowahead``) where nothing but the commit runs between them (no callbacks,
no validation data, a rate that changes only on a plateau): ``commit_ahead`` then
commits them as ``epoch`` commits its own, the monitor's rule having run compiled
beside them, and keeps the state of the last epoch committed.

The loop holds no state of its own beyond the row order: the step holds the
parameters and the optimizer's state, the monitor the record of progress, the guard
the divergence reference and ``LearningRate`` the current rate. Divergence
(``_engine.guard.Diverged``) and interrupts leave the loop as exceptions; the caller
decides what the estimator keeps.
"""

import time
from collections.abc import Sequence
from math import isfinite

import numpy as np

from .._core.network import unpack
from .._core.xp import copy, float_value, to_numpy

__all__ = ["Loop", "Snapshot"]


class Snapshot(Sequence):
    """The parameters as one flat copy of the parameter vector (one copy per
    epoch, not one per array), read as one list per layer (views into the copy,
    made when first read)."""

    __slots__ = ("_params", "flat", "shapes")

    def __init__(self, flat, shapes):
        self.flat, self.shapes, self._params = flat, shapes, None

    def _unpacked(self):
        if self._params is None:
            self._params = unpack(self.flat, self.shapes)
        return self._params

    def __getitem__(self, index):
        return self._unpacked()[index]

    def __len__(self):
        return len(self.shapes)


class Loop:
    """Stochastic training of one fit."""

    def __init__(self, spec, data, step, monitor, guard, learning_rate, tasks, rng,
                 epochs_before=0, samples_before=0, owns_rng=False):
        self.spec, self.data, self.step = spec, data, step
        self.monitor, self.guard, self.tasks = monitor, guard, tasks
        self.learning_rate, self.rng = learning_rate, rng
        self.epochs_before, self.samples_before = epochs_before, samples_before
        self.n_samples = data.n_samples
        self.order = np.arange(self.n_samples)
        self.weight_sum = (self.n_samples if data.sample_weight is None
                           else to_numpy(data.sample_weight).sum())
        self.watched = (f"Validation {spec.scoring or 'score'}"
                        if monitor.watch_validation else "Training loss")
        self.shapes = step.shapes
        # (looked up once per fit: on a per-row fit an epoch is a few microseconds)
        self.summed = getattr(step, "summed_updates", None)
        # epochs trained ahead and committed after (``commit_ahead``), where the loop
        # would do no more between them than commit: no callbacks, a rate that changes
        # only on a plateau, no validation data; and no one else draws from the
        # generator while its stream is read ahead (a shared one, such as NumPy's
        # global generator, could hand the same numbers to two fits)
        self.ahead = getattr(step, "train_ahead", None) if (
            getattr(tasks, "context", None) is None and learning_rate.plateau_only
            and monitor.validation is None and (owns_rng or not spec.shuffle)) else None

    def run(self, n_epochs):
        """Train up to ``n_epochs`` epochs; True when stopped before them (a plateau
        or a callback), False when all ran."""
        left, stream = n_epochs, None
        rng = self.rng if self.spec.shuffle else None
        while left > 0:
            ahead = None
            if self.ahead is not None and self.learning_rate.steady():
                ahead = self.ahead(self.order, rng, self.learning_rate.value, left, stream,
                                   (float(self.weight_sum), float(self.guard.limit()),
                                    *self.monitor.rule()))
            ran, stop = (1, self.epoch()) if ahead is None else self.commit_ahead(ahead)
            if stop:
                return True
            left -= ran
            stream = None if ahead is None else ahead.stream  # (where rng is now)
        return False

    def epoch(self):
        """One pass over the rows, committed to the monitor; True to stop."""
        started = time.perf_counter()
        task = self.tasks.begin()
        learning_rate = self.learning_rate.value
        # the epoch's loss is measured before each update: it describes the weights
        # entering the epoch, which are the ones to keep if it is the best
        entering = None if self.monitor.watch_validation else Snapshot(
            copy(self.step.flat), self.shapes)
        if self.spec.shuffle:  # in place: as order[permutation(n)], the same draws
            self.rng.shuffle(self.order)
        loss = self.train(learning_rate)
        return self.commit(loss, learning_rate, started, self.step.params, entering, task)

    def commit_ahead(self, ahead):
        """Commit the epochs the step trained ahead (an ``_engine.rowahead.Ahead``)
        as ``epoch`` would commit each, in one assignment, and keep the state after
        them; then train by ``epoch`` the one the call stopped before, if the guard
        did not pass its loss (``epoch`` hands it to the guard). (epochs done, True
        to stop)."""
        done, stop = 0, False
        try:
            if ahead.count:
                losses = (ahead.totals[:ahead.count] / self.weight_sum).tolist()
                seconds = (time.perf_counter() - ahead.started) / ahead.count

                def weights(e):  # entering epoch e, leaving epoch e - 1
                    return Snapshot(ahead.thetas[e], self.shapes)

                plateau = self.monitor.end_epochs(
                    losses, float(self.learning_rate.value), seconds, weights, ahead.ruled)
                done = ahead.count
                self._scheduled()
                stop = plateau and self._plateau()
        finally:
            ahead.keep(done)
        if stop or not ahead.cut:
            return done, stop
        ahead.stream = None  # (the loop's own epoch draws from the generator)
        return done + 1, self.epoch()

    def commit(self, loss, learning_rate, started, current, entering, task=None):
        """Check an epoch's loss and commit it to the monitor, the network standing
        at ``current`` (``entering`` the weights its loss describes), then schedule
        the next; True to stop."""
        self.guard.check_epoch(loss)
        plateau = self.monitor.end_epoch(loss, learning_rate, started, current, entering)
        self._scheduled()
        if self.tasks.end(task, current):
            return True  # a callback asked to stop
        return plateau and self._plateau()

    def _scheduled(self):
        """The learning rate after the epochs committed."""
        epochs = self.monitor.record.n_rows
        self.learning_rate.after_epoch(self.epochs_before + epochs,
                                       self.samples_before + epochs * self.n_samples)

    def _plateau(self):
        """After patience ended: True to stop, else (a lowered rate) False, the
        patience counted anew."""
        if not self.learning_rate.on_plateau(self.watched):
            self.monitor.reset_patience()
            return False
        return True

    def train(self, learning_rate):
        """Every update of the epoch through the step; the epoch's training loss
        (the weighted mean of the losses before each update). On a device the
        batch losses are summed there and read back once, at the end. A step that
        sums its epoch itself (the per-row step's ``summed_updates``, in the same
        order) is read through its list only where that sum is not finite."""
        summed = self.summed
        if summed is None:
            updates = self.step.updates(self.order, self.rng, learning_rate)
        else:
            total, updates = summed(self.order, self.rng, learning_rate)
            if isfinite(total):
                return total / self.weight_sum
        total, check = 0.0, self.guard.check_update
        for weight, loss in updates:
            if isinstance(loss, float) and not isfinite(loss):  # (what check reads)
                check(loss)
            # a host weight as a Python float: a NumPy scalar times an array of
            # another namespace would convert that array to NumPy (not on every device)
            total += float(weight) * loss
        return float_value(total) / self.weight_sum
