"""sklearn 1.9's callback protocol (sklearn.callback) on our estimators."""

import warnings

import pytest
from callback_helpers import Recorder
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor

QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@QUIET
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_hooks_frame_every_epoch(iris, solver):
    X, y = iris
    rec = Recorder()
    clf = BackpropClassifier(hidden_layer_sizes=(5,), solver=solver, max_iter=4,
                             random_state=0).set_callbacks(rec).fit(X, y)
    epoch = [("begin", "epoch"), ("end", "epoch")]
    assert rec.events == ["setup", ("begin", "fit"), *epoch * 4, ("end", "fit"),
                          "teardown"]
    # the network handed to the callback after the last epoch is the final one
    assert rec.scores[-1] == pytest.approx(clf.score(X, y))
    assert len(rec.scores) == clf.n_iter_ == 4


@QUIET
def test_lbfgs_iterations_are_tasks(iris):
    X, y = iris
    rec = Recorder()
    clf = BackpropClassifier(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=7,
                             random_state=0).set_callbacks(rec).fit(X, y)
    ends = [e for e in rec.events if e == ("end", "epoch")]
    begins = [e for e in rec.events if e == ("begin", "epoch")]
    assert len(begins) == len(ends) == clf.n_iter_ + 1  # plus scipy's unrun one
    assert len(rec.scores) == clf.n_iter_ == 7
    assert rec.scores[-1] == pytest.approx(clf.score(X, y))


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_callback_can_stop_training(iris, solver):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(5,), solver=solver, max_iter=100,
                             random_state=0).set_callbacks(Recorder(stop_after=3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a stop is not a failure
        clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.history_) == 3
    assert clf.predict(X).shape == (150,)


@QUIET
def test_partial_fit_epochs_are_tasks(iris):
    X, y = iris
    rec = Recorder()
    reg = BackpropRegressor(hidden_layer_sizes=(3,)).set_callbacks(rec)
    reg.partial_fit(X, y, epochs=3)
    assert rec.events.count(("end", "epoch")) == 3


@QUIET
def test_scoring_monitor_records_each_epoch(iris):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    clf = BackpropClassifier(hidden_layer_sizes=(8,), max_iter=6, random_state=0,
                             learning_rate_init=0.01).set_callbacks(monitor).fit(X, y)
    logs = monitor.get_logs(select="most_recent")
    frame = logs.data_as_pandas if hasattr(logs, "data_as_pandas") else logs
    epochs = frame[frame["task_name"] == "epoch"]
    assert len(epochs) == 6
    assert epochs["accuracy"].iloc[-1] == pytest.approx(clf.score(X, y))


@QUIET
def test_progress_bar_alone_and_nested(iris, capsys):
    pytest.importorskip("rich")
    X, y = iris
    BackpropClassifier(hidden_layer_sizes=(5,), max_iter=3).set_callbacks(
        ProgressBar()).fit(X, y)
    assert "BackpropClassifier - fit" in capsys.readouterr().out
    pipe = make_pipeline(StandardScaler(), BackpropClassifier(hidden_layer_sizes=(5,),
                                                              max_iter=3))
    grid = GridSearchCV(pipe, {"backpropclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    grid.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    out = capsys.readouterr().out
    assert "GridSearchCV - fit" in out
    assert "BackpropClassifier - fit" in out


def test_callbacks_survive_clone_and_leave_the_fitted_model_plain(iris):
    from sklearn.base import clone
    X, y = iris
    rec = Recorder()
    clf = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=2).set_callbacks(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clone(clf).fit(X, y)
    assert rec.events.count(("end", "epoch")) == 2  # clone kept the callback
    assert not hasattr(clf, "_callback_fit_ctx")


def test_a_warning_raised_as_an_error_still_closes_the_fit_task(iris):
    """Under warnings-as-errors the ConvergenceWarning escapes fit, after the model
    is stored: the callbacks still see the fit end (and tear down)."""
    X, y = iris
    rec = Recorder()
    clf = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=2).set_callbacks(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning):
            clf.fit(X, y)
    assert rec.events[-2:] == [("end", "fit"), "teardown"]
    assert clf.n_iter_ == 2 and len(clf.history_) == 2  # stored before the warning


def test_callbacks_score_the_network_of_this_fit_not_the_previous_ones():
    """A refit without feature names after one with them: the copy a callback scores
    has this fit's (none), so no 'X does not have valid feature names' warning."""
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=3).set_callbacks(
        ScoringMonitor(scoring="accuracy"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(X.to_numpy(), y.to_numpy())
    assert not [w for w in caught if "feature names" in str(w.message)]
    assert not hasattr(clf, "feature_names_in_")


def test_no_epoch_task_is_opened_when_no_callback_listens(iris, monkeypatch):
    """Without callbacks the loop opens no subtask (each costs microseconds an epoch,
    most of a small per-row epoch)."""
    from sklearn.callback._callback_context import CallbackContext

    def refuse(self, *args, **kwargs):
        raise AssertionError("an epoch task was opened with no callback listening")

    monkeypatch.setattr(CallbackContext, "subcontext", refuse)
    X, y = iris
    for solver in ("adam", "lbfgs"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            BackpropClassifier(hidden_layer_sizes=(3,), solver=solver, max_iter=3).fit(X, y)
