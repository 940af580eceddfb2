"""One fit, from the starting network to the record of what it trained.

``Training`` wires the parts for one call of ``fit`` or ``partial_fit`` from a
frozen ``Spec`` (``_engine.spec``) and its inputs, never the estimator: the validation
split, the monitor, the divergence guard, and the solver (the stochastic ``Loop``
over a step from ``make_step``, or the lbfgs driver). It lives only while the call
runs. Whatever ends the call, a finished run, a plateau, a callback, a blow-up or
an interrupt after at least one completed epoch, it ends on one ``Outcome``: the
trained part of the new fitted state (weights, progress, counters, optimizer
state; see ``_engine.fitted``), all derived from the monitor's committed record, and the
warnings to give once it is stored.

Interrupts: ``interrupted`` is what the caller runs when a KeyboardInterrupt
reaches it. Before the first completed epoch it lets the interrupt go on (nothing
was trained: the estimator stays as it was); after it, during the loop or after
it, the completed epochs are kept (the best weights seen, or the final ones when
the solver had ended), with a warning, and ``run`` finishes the outcome.
"""

from functools import partial
from typing import NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._core.optimizers import map_state
from .._core.xp import copy
from .._warnings import warn
from .data import split_validation
from .fitted import FITTED, network_record, store
from .guard import Diverged, Guard, finite_weights, scored_loss, scored_rows, whole_loss
from .lbfgs import run_lbfgs
from .loop import Loop
from .monitor import Monitor
from .schedules import ENDS_AT_MAX_ITER, LearningRate
from .spec import batch_rows
from .steps import make_step

__all__ = ["AFTER_THE_LAST_EPOCH", "INTERRUPTED", "Outcome", "Training", "finish"]

# what a fit continues from a fitted model (warm start, partial_fit) ...
PROGRESS = tuple(name for name, field in FITTED.items() if field.role == "progress")
# ... and, for partial_fit only, the monitor's counters
COUNTERS = tuple(name for name, field in FITTED.items() if field.role == "counters")
INTERRUPTED = "training was interrupted by the user"
AFTER_THE_LAST_EPOCH = (f"{INTERRUPTED.capitalize()} after its last epoch; the trained "
                        "model was kept.")


class Outcome(NamedTuple):
    attributes: dict  # the trained part of the new fitted state
    warnings: list  # (message, category), to give after storing it


class Training:
    """One call of fit or partial_fit on ``data`` from ``weights``, as ``spec``
    says. ``previous`` is the fitted state the call continues (None for a first
    fit); ``tasks`` the callbacks' epoch tasks (``_engine.callbacks.EpochTasks``);
    ``score(A, y, sample_weight)`` scores outputs for the validation data;
    ``stratify`` labels the rows for early stopping's split (or None);
    ``owns_rng``: whether no one else draws from ``rng`` (the fit made it from a
    seed), which lets the loop shuffle ahead on a copy of its stream."""

    def __init__(self, spec, data, validation, weights, rng, *, previous, tasks, score,
                 stratify=None, incremental=False, owns_rng=False):
        self.spec, self.model, self.rng = spec, spec.model, rng
        self.owns_rng = owns_rng
        self.first, self.incremental = previous is None, incremental
        previous = previous or {}
        self.previous = {k: previous[k] for k in PROGRESS if k in previous}
        self.continued = previous
        if spec.early_stopping and validation is None:
            data, validation = split_validation(data, spec.validation_fraction,
                                                stratify, rng)
        self.data, self.weights, self.tasks = data, weights, tasks
        self.epochs_before = self.previous.get("n_iter_", 0) if incremental else 0
        self.monitor = Monitor(
            spec, self.model, validation, score, weights,
            watch_validation=spec.early_stopping,
            previous={k: previous[k] for k in COUNTERS if k in previous}
            if incremental and previous else None, first_epoch=self.epochs_before + 1)
        self.step = self.schedule = self.start_loss = self.guard = None
        self.ended = self.final = self.outcome = None  # (weights, attributes)
        self.stored = False  # whether the caller stored the outcome
        self.diverged, self.warnings, self.errors = False, [], []

    def run(self, epochs):
        """Train (unless an interrupt ended training already); the ``Outcome``."""
        errstate = {"over": "call", "invalid": "call", "divide": "call"}
        with np.errstate(**errstate, call=lambda kind, flag: self.errors.append(kind)):
            if self.final is None:
                try:
                    self.final = self._solve(epochs)
                except Diverged as blow_up:
                    self.final = self._end_on_best(str(blow_up), diverged=True), {}
        self.outcome = self._outcome(*self.final)
        return self.outcome

    def interrupted(self):
        """After a KeyboardInterrupt: re-raise it if no epoch was completed, else
        keep what was trained (``run`` then finishes the outcome): the solver's own
        result when it had ended, else the best weights seen."""
        # the solver's end, unless the interrupt came while the final check judged
        # its weights, which looked like a blow-up, on every row
        ended = None if self.guard is not None and self.guard.judging else self.ended
        if self.outcome is not None:  # the outcome was complete: say so and keep it
            self.outcome.warnings.append((AFTER_THE_LAST_EPOCH, UserWarning))
        elif self.final is not None or ended is not None:
            self.final = self.final or ended
            self.warnings.append((AFTER_THE_LAST_EPOCH, UserWarning))
        elif self.monitor.epochs == 0:
            raise KeyboardInterrupt  # nothing was trained: leave the estimator as it was
        else:
            self.final = self._end_on_best(INTERRUPTED), {}

    def _solve(self, epochs):
        """Run the solver to its end; the final weights and solver attributes."""
        spec, m, data = self.spec, self.model, self.data
        scored = scored_rows(data)  # (the guard's rows, taken once for both scores)
        self.start_loss = scored_loss(m, self.weights, scored)
        guard = self.guard = Guard(self.start_loss, self.previous.get("loss_curve_", []),
                                   whole_start=partial(whole_loss, m, self.weights, data))
        attributes = {}
        if not spec.stochastic:
            params, loss, warnings = run_lbfgs(spec, m, data, self.monitor, guard,
                                               self.tasks, self.weights)
            self.warnings += warnings
            attributes = {"loss_": loss}
        else:
            params = self._stochastic(epochs, guard)
        if spec.early_stopping:  # end on the best epoch's weights
            params = self.monitor.record.best_weights
        self.ended = params, attributes  # (what an interrupt now keeps)
        guard.check_final(m, params, scored)
        return self.ended

    def _stochastic(self, epochs, guard):
        """sgd or adam through the loop; the final weights."""
        spec, data, previous = self.spec, self.data, self.continued
        rate = previous.get("_learning_rate") if self.incremental else None
        self.schedule = LearningRate(spec, rate)  # (None: the schedule's start)
        state = None
        if not self.first and previous.get("_optimizer_solver") == spec.solver:
            state = map_state(previous["_optimizer_state"], copy)  # warm start, partial_fit
        epochs = epochs if self.incremental else spec.max_iter
        self.step = make_step(self.model, spec, data, self.weights,
                              batch_rows(spec.batch_size, data.n_samples), epochs, state)
        loop = Loop(spec, data, self.step, self.monitor, guard, self.schedule, self.tasks,
                    self.rng, self.epochs_before, self.previous.get("t_", 0),
                    owns_rng=self.owns_rng)
        stopped = loop.run(epochs)
        planned = spec.learning_rate in ENDS_AT_MAX_ITER  # (annealed to 0 there)
        if not stopped and not self.incremental and not planned:
            message = (f"Stochastic Optimizer: Maximum iterations ({spec.max_iter}) "
                       "reached and the optimization hasn't converged yet. Increase "
                       "max_iter, or raise learning_rate_init.")
            self.warnings.append((message, ConvergenceWarning))
        return self.step.params

    def _end_on_best(self, what, diverged=False):
        """After a blow-up or an interrupt: the best weights seen in this call (the
        starting weights if none was better), and a warning that says so."""
        r, spec = self.monitor.record, self.spec
        params = r.best_weights
        ours = r.best_epoch is not None and r.best_epoch >= self.monitor.first_epoch
        kept = f"the best weights seen (best_epoch_={r.best_epoch})" if ours else (
            "the starting weights")
        n_iter = self.epochs_before + self.monitor.epochs
        message = f"In epoch {n_iter + 1}, {what}."
        if diverged:
            self.diverged = True
            params, finite = finite_weights(self.model, params, self.data.X)
            if not finite:
                kept = ("a network of zeros, as no weights seen predict finite values "
                        "on the training data")
        message += f" Kept {kept}; n_iter_={n_iter} counts the completed epochs."
        if diverged:  # no step size helps a start that already overflows
            step_helps = spec.stochastic and np.isfinite(self.start_loss)
            message += (f" Lower learning_rate_init (now {spec.learning_rate_init}), "
                        "set clip_norm, or scale X and y (e.g. StandardScaler)."
                        if step_helps else " Scale X and y (e.g. StandardScaler).")
        self.warnings.append((message, ConvergenceWarning if diverged else UserWarning))
        return params

    def _outcome(self, weights, attributes):
        """The trained part of the new fitted state (nothing here changes ``self``:
        an interrupt inside it leaves it to be run again)."""
        spec, warnings = self.spec, list(self.warnings)
        new = self.monitor.attributes(self.previous, self.incremental,
                                      0 if self.step is None else self.data.n_samples)
        new.setdefault("loss_", self.previous.get("loss_", self.start_loss))
        new.update(attributes, **network_record(self.model.layers, list(weights)),
                   diverged_=self.diverged)
        new.update(self._optimizer())
        if "loss_" in attributes and not spec.early_stopping:  # lbfgs ran to its end
            new["best_loss_"] = min([attributes["loss_"], *new["loss_curve_"]])
        if self.errors and not self.diverged:
            message = (f"Training met floating-point "
                       f"{' and '.join(sorted(set(self.errors)))} but its loss stayed "
                       "finite, so the model may be poor. Fix: scale X (and y), e.g. "
                       "make_pipeline(StandardScaler(), estimator).")
            warnings.append((message, RuntimeWarning))
        return Outcome(new, warnings)

    def _optimizer(self):
        """The optimizer's part of the state: this call's, or the one it continued
        (lbfgs keeps none, and keeps a stochastic fit's for a later partial_fit)."""
        if self.step is not None:
            return {"_optimizer_state": self.step.optimizer_state,
                    "_optimizer_solver": self.spec.solver,
                    "_learning_rate": self.schedule.value}
        names = ("_optimizer_state", "_optimizer_solver", "_learning_rate")
        return {k: None if self.first else self.continued.get(k) for k in names}


def finish(estimator, training, fixed, epochs, give):
    """The end of a call: run ``training`` (a ``Training``), store its
    outcome with ``fixed`` (the call's features, targets and network) as the fitted
    state of ``estimator`` in one assignment, then ``give(warnings)``; returns the
    estimator. Until the
    store the estimator is untouched. A KeyboardInterrupt before the first completed
    epoch goes on to the caller; one after it, during the loop, after it, while
    storing or while giving the warnings, keeps what was trained and says so."""
    try:
        while True:  # (an interrupt before the store: Training keeps what it can)
            try:
                outcome = training.outcome or training.run(epochs)
                store(estimator, {**fixed, **outcome.attributes})
                training.stored = True
                break
            except KeyboardInterrupt:
                training.interrupted()  # (re-raised when nothing was trained)
        give(outcome.warnings)
        return estimator
    except KeyboardInterrupt:
        if not training.stored:
            raise
        warn(AFTER_THE_LAST_EPOCH)
        return estimator
