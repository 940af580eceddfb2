"""One fit, from the starting network to the outcome the estimator stores.

``Training`` wires the parts for one call of ``fit`` or ``partial_fit``: the
validation split, the monitor, the divergence guard, and the solver (the stochastic
``Loop`` over a step from ``make_step``, or the lbfgs driver). It lives only while
the call runs. Whatever ends the call, a finished run, a plateau, a callback, a
blow-up or an interrupt after at least one completed epoch, it returns one
``Outcome``: the estimator's new attributes, all derived from the monitor's
committed record, and the warnings to give once they are stored. An interrupt before
the first completed epoch re-raises and leaves the estimator as it was.
"""

from typing import NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._callbacks import EpochTasks
from ._data import split_validation
from ._guard import Diverged, Guard, finite_weights, scored_loss
from ._lbfgs import run_lbfgs
from ._loop import Loop
from ._monitor import Monitor
from ._schedules import LearningRate
from ._steps import make_step
from ._xp import copy

__all__ = ["Outcome", "Training"]

# what a fit continues from a fitted model (warm start, partial_fit) ...
PROGRESS = ("n_iter_", "t_", "loss_", "loss_curve_", "_history", "validation_scores_")
# ... and, for partial_fit only, the monitor's counters
COUNTERS = ("_best_metric", "_no_improvement_count", "best_epoch_",
            "best_validation_score_", "best_validation_loss_")


class Outcome(NamedTuple):
    attributes: dict  # the estimator's new fitted attributes
    warnings: list  # (message, category), to give after storing them


class Training:
    """One call of fit or partial_fit on ``data`` from ``weights``."""

    def __init__(self, estimator, model, data, validation, weights, rng, *, first,
                 incremental):
        s = self.settings = estimator
        self.model, self.rng = model, rng
        self.first, self.incremental = first, incremental
        self.previous = {} if first else {k: getattr(s, k) for k in PROGRESS
                                          if hasattr(s, k)}
        if s.early_stopping and validation is None:
            data, validation = split_validation(data, s.validation_fraction,
                                                s._stratify(data.y), rng)
        self.data, self.weights = data, weights
        self.epochs_before = self.previous.get("n_iter_", 0) if incremental else 0
        self.monitor = Monitor(
            s, model, validation, s._score_output, weights,
            watch_validation=s.early_stopping,
            previous={k: getattr(s, k) for k in COUNTERS} if incremental and not first
            else None, first_epoch=self.epochs_before + 1)
        self.tasks = EpochTasks(estimator, data)
        self.step = self.schedule = self.start_loss = None
        self.diverged, self.warnings, self.errors = False, [], []

    def run(self, epochs):
        """Train; the ``Outcome`` of the call."""
        errstate = {"over": "call", "invalid": "call", "divide": "call"}
        with np.errstate(**errstate, call=lambda kind, flag: self.errors.append(kind)):
            try:
                weights, attributes = self._solve(epochs)
            except Diverged as blow_up:
                weights, attributes = self._end_on_best(str(blow_up), diverged=True), {}
            except KeyboardInterrupt:
                if self.monitor.epochs == 0:
                    raise  # nothing was trained: leave the estimator as it was
                weights = self._end_on_best("training was interrupted by the user")
                attributes = {}
        return self._outcome(weights, attributes)

    def _solve(self, epochs):
        """Run the solver to its end; the final weights and solver attributes."""
        s, m, data = self.settings, self.model, self.data
        self.start_loss = scored_loss(m, *self.weights, data)
        guard = Guard(self.start_loss, self.previous.get("loss_curve_", []))
        attributes = {}
        if s.solver == "lbfgs":
            coefs, intercepts, loss, warnings = run_lbfgs(
                s, m, data, self.monitor, guard, self.tasks, *self.weights)
            self.warnings += warnings
            attributes = {"loss_": loss}
        else:
            coefs, intercepts = self._stochastic(epochs, guard)
        if s.early_stopping:  # end on the best epoch's weights
            coefs, intercepts = self.monitor.record.best_weights
        guard.check_final(m, coefs, intercepts, data)
        return (coefs, intercepts), attributes

    def _stochastic(self, epochs, guard):
        """sgd or adam through the loop; the final weights."""
        s, data = self.settings, self.data
        self.schedule = LearningRate(s, s.learning_rate_init if (
            not self.incremental or not hasattr(s, "_learning_rate"))
            else s._learning_rate)
        state = None
        if not self.first and getattr(s, "_optimizer_solver", None) == s.solver:
            state = _copy_state(s._optimizer_state)  # warm start, partial_fit
        self.step = make_step(self.model, s, data, *self.weights,
                              s._batch_size(data.n_samples), state)
        loop = Loop(s, data, self.step, self.monitor, guard, self.schedule, self.tasks,
                    self.rng, self.epochs_before, self.previous.get("t_", 0))
        stopped = loop.run(epochs if self.incremental else s.max_iter)
        if not stopped and not self.incremental:
            message = (f"Stochastic Optimizer: Maximum iterations ({s.max_iter}) "
                       "reached and the optimization hasn't converged yet. Increase "
                       "max_iter, or raise learning_rate_init.")
            self.warnings.append((message, ConvergenceWarning))
        return self.step.coefs, self.step.intercepts

    def _end_on_best(self, what, diverged=False):
        """After a blow-up or an interrupt: the best weights seen in this call (the
        starting weights if none was better), and a warning that says so."""
        r, s = self.monitor.record, self.settings
        coefs, intercepts = r.best_weights
        ours = r.best_epoch is not None and r.best_epoch >= self.monitor.first_epoch
        kept = f"the best weights seen (best_epoch_={r.best_epoch})" if ours else (
            "the starting weights")
        n_iter = self.epochs_before + self.monitor.epochs
        message = f"In epoch {n_iter + 1}, {what}."
        if diverged:
            self.diverged = True
            coefs, intercepts, finite = finite_weights(self.model, coefs, intercepts,
                                                       self.data.X)
            if not finite:
                kept = ("a network of zeros, as no weights seen predict finite values "
                        "on the training data")
        message += f" Kept {kept}; n_iter_={n_iter} counts the completed epochs."
        if diverged:  # no step size helps a start that already overflows
            step_helps = s.solver != "lbfgs" and np.isfinite(self.start_loss)
            message += (f" Lower learning_rate_init (now {s.learning_rate_init}), set "
                        "clip_norm, or scale X and y (e.g. StandardScaler)." if step_helps
                        else " Scale X and y (e.g. StandardScaler).")
        self.warnings.append((message, ConvergenceWarning if diverged else UserWarning))
        return coefs, intercepts

    def _outcome(self, weights, attributes):
        s = self.settings
        new = self.monitor.attributes(self.previous, self.incremental,
                                      0 if self.step is None else self.data.n_samples)
        new.setdefault("loss_", self.previous.get("loss_", self.start_loss))
        new.update(attributes, coefs_=weights[0], intercepts_=weights[1],
                   diverged_=self.diverged, _fit_completed=True)
        if self.step is not None:
            new.update(_optimizer_state=self.step.optimizer_state,
                       _optimizer_solver=s.solver, _learning_rate=self.schedule.value)
        elif self.first:  # lbfgs: no optimizer state, nor an earlier fit's
            new.update(_optimizer_state=None, _optimizer_solver=None, _learning_rate=None)
        if "loss_" in attributes and not s.early_stopping:  # lbfgs ran to its end
            new["best_loss_"] = min([attributes["loss_"], *new["loss_curve_"]])
        if self.errors and not self.diverged:
            message = (f"Training met floating-point "
                       f"{' and '.join(sorted(set(self.errors)))} but its loss stayed "
                       "finite, so the model may be poor. Fix: scale X (and y), e.g. "
                       "make_pipeline(StandardScaler(), estimator).")
            self.warnings.append((message, RuntimeWarning))
        return Outcome(new, self.warnings)


def _copy_state(state):
    """An optimizer state of its own (so an interrupted call changes nothing)."""
    return {k: [copy(a) for a in v] if isinstance(v, list) else v
            for k, v in state.items()}
