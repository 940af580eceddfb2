"""sklearn's callback protocol (``sklearn.callback``) inside a fit.

The estimator opens the root task of each fit (``CallbackSupportMixin``); the
training loop opens one subtask per epoch (lbfgs: per iteration) through
``EpochTasks``. Callbacks may score the network as it stands at the end of an
epoch: they receive a copy of the estimator holding the fitted state of this call
(its features, targets and network) and copies of the weights.
"""

from .._core.xp import copy
from .._warnings import warn
from .fitted import MARKER, OPTIONAL, network_record

__all__ = ["EpochTasks", "callback_metadata", "end_fit_task"]


def callback_metadata(sample_weight):
    """The metadata sklearn's callbacks receive with each task."""
    return {} if sample_weight is None else {"sample_weight": sample_weight}


class EpochTasks:
    """Opens and closes the epoch subtasks of one fit on ``data``; does nothing
    when no callback listens (the task tree is theirs alone)."""

    def __init__(self, context, estimator, data, fitted, layers):
        """Epoch tasks under the fit's callback ``context`` of ``estimator`` (what
        sklearn's callbacks are called with); ``fitted`` is the state of this call
        that no epoch changes (features, targets, network), ``layers`` the
        network's layers."""
        self.estimator, self.data, self.fitted = estimator, data, fitted
        self.layers = layers
        self.context = context if getattr(context, "_callbacks", True) else None

    def begin(self):
        """Open an epoch's task (None when no callback listens)."""
        if self.context is None:
            return None
        task = self.context.subcontext(task_name="epoch")
        task.call_on_fit_task_begin(estimator=self.estimator, **self._arguments())
        return task

    def end(self, task, params):
        """Close an epoch's task, the network standing at ``params`` (one list per
        layer); True when a callback asks to stop."""
        if task is None:
            return False
        return task.call_on_fit_task_end(
            estimator=self.estimator, **self._arguments(),
            reconstruction_attributes=lambda: {
                # (an optional attribute this fit lacks reads as None on the copy, as
                # sklearn's checks do a missing one: the copy keeps the old model's)
                **dict.fromkeys(OPTIONAL), **self.fitted,
                **network_record(self.layers,
                                 [[copy(p) for p in ps] for ps in params]),
                MARKER: True,
            })

    def close(self, task):
        """Close a task that trained nothing (scipy's unrun last iteration)."""
        if task is not None:
            task.call_on_fit_task_end(estimator=self.estimator)

    def _arguments(self):
        d = self.data
        return {"X": d.X, "y": d.y, "metadata": callback_metadata(d.sample_weight)}


def end_fit_task(callbacks, estimator, data, warnings):
    """Give a stored fit's ``warnings`` and close its root task (also when a
    warning is an error under the user's filters)."""
    try:
        for message, category in warnings:
            warn(message, category)
    finally:
        callbacks.call_on_fit_task_end(
            estimator=estimator, X=data.X, y=data.y,
            metadata=callback_metadata(data.sample_weight), reconstruction_attributes={})
