"""A recording callback, shared by the tests of callbacks and of the steps."""


class Recorder:
    """A callback that records every hook and, at each task's end, the accuracy of
    the network as it stands; asks to stop after ``stop_after`` epochs."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.events = []
        self.scores = []

    def setup(self, estimator, context):
        self.events.append("setup")

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", context.task_name))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None,
                        fitted_estimator=None):
        self.events.append(("end", context.task_name))
        if context.task_name == "epoch" and X is not None:
            self.scores.append(fitted_estimator.score(X, y))
        epochs = sum(e == ("end", "epoch") for e in self.events)
        return self.stop_after is not None and epochs >= self.stop_after

    def teardown(self, estimator, context):
        self.events.append("teardown")
