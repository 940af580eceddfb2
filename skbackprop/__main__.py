"""``python -m skbackprop``: the placement demo (``--help`` for its options).

Cross-validates pipelines (StandardScaler + BackpropRegressor / BackpropClassifier)
on the tutorial's placement tables and on a synthetic ``make_placement`` sample, with
sklearn's MLP at the same settings alongside, and prints the tables with their
out-of-fold predictions.

Ctrl-C stops the demo at once, with one line on stderr and exit status 130 (the
fits' own rule, keep the best epoch on an interrupt, is for a fit run by hand, not
for a demo that would go on to the next one). When the reader of its output goes
away (``python -m skbackprop | head -1``) it stops quietly, with exit status 141
as a command killed by SIGPIPE.
"""

import argparse
import os
import signal
import sys
import threading
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (
    KFold,
    LeaveOneOut,
    StratifiedKFold,
    cross_val_predict,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor, __version__
from skbackprop.datasets import load_placement, make_placement

SETTINGS = {
    "tables": dict(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=2000, random_state=0),
    "synthetic": dict(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=1000,
                      alpha=1e-3, random_state=0),
}
STOPPED = "python -m skbackprop: interrupted (Ctrl-C), stopped."
MODELS = {
    "regression": {"skbackprop": BackpropRegressor, "sklearn MLP": MLPRegressor},
    "classification": {"skbackprop": BackpropClassifier, "sklearn MLP": MLPClassifier},
}


def out_of_fold(task, X, y, settings, cv):
    """Out-of-fold predictions (P(placed) for classification) of each model."""
    method = "predict_proba" if task == "classification" else "predict"
    columns = {}
    for name, model in MODELS[task].items():
        pipe = make_pipeline(StandardScaler(), model(**settings))
        pred = cross_val_predict(pipe, X, y, cv=cv, method=method)
        columns[name] = pred[:, 1] if task == "classification" else pred
    return pd.DataFrame(columns)


def score(task, y, predictions):
    """Out-of-fold R^2 (regression) or accuracy (classification) of each column."""
    if task == "classification":
        return {name: float(np.mean((p > 0.5) == y)) for name, p in predictions.items()}
    return {
        name: float(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))
        for name, p in predictions.items()
    }


def parse_args(argv=None):
    """The command line: which task, quick mode, or the version."""
    parser = argparse.ArgumentParser(
        prog="python -m skbackprop", allow_abbrev=False,
        description="The placement demo: StandardScaler + BackpropRegressor / "
                    "BackpropClassifier cross-validated on the tutorial's placement "
                    "tables and on a synthetic make_placement sample, with sklearn's "
                    "MLP at the same settings alongside.")
    parser.add_argument("--task", choices=["regression", "classification", "both"],
                        default="both", help="which task to run (default: both)")
    parser.add_argument("--quick", action="store_true",
                        help="the tutorial's tables only, without the 300-row synthetic "
                             "sample (which takes most of the time)")
    parser.add_argument("--version", action="version",
                        version=f"skbackprop {__version__}")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the demo with the command-line arguments ``argv`` (``sys.argv`` if None;
    ``[]`` for the defaults), print its tables and return them. Ctrl-C raises
    ``SystemExit(130)`` after one line on stderr."""
    args = parse_args(argv)
    with _ctrl_c_stops():
        return _demo(args)


class Interrupted(BaseException):
    """Ctrl-C during the demo. No KeyboardInterrupt: a fit keeps its best epoch
    on one of those and returns, and the demo would go on."""


def _interrupt(signum, frame):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # (a second Ctrl-C while stopping)
    raise Interrupted


@contextmanager
def _ctrl_c_stops():
    """Within: Ctrl-C stops, with one line on stderr and ``SystemExit(130)``."""
    handled = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _interrupt) if handled else None
    try:
        yield
    except (Interrupted, KeyboardInterrupt):
        print(STOPPED, file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _demo(args):
    """The demo's tables, printed and returned, for ``args`` (``parse_args``)."""
    tasks = ("regression", "classification") if args.task == "both" else (args.task,)
    results = {}
    print("skbackprop placement demo: StandardScaler + Backprop{Regressor,Classifier},")
    print("with sklearn's MLPRegressor/MLPClassifier at the same settings alongside.\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for task in tasks:
            results[f"table_{task}"] = _tables(task, args.quick)
            if not args.quick:
                results[f"synthetic_{task}"] = _synthetic(task)
    return results


def _tables(task, quick):
    """The tutorial's table for ``task``, with leave-one-out predictions, printed."""
    table = load_placement(task, as_frame=True)
    pred = out_of_fold(task, table.data, table.target, SETTINGS["tables"],
                       LeaveOneOut())
    shown = pd.concat([table.frame, pred.round(3)], axis=1)
    what = "P(placed)" if task == "classification" else "predicted package"
    print(f"The tutorial's {task} table, leave-one-out {what} "
          f"(each row predicted by a model fit on the other 3):")
    print(shown.to_string(index=False))
    if task == "classification":
        larger = ("a 300-row synthetic sample (the demo without --quick) is" if quick
                  else "the synthetic sample below is")
        print("(With two rows per class, leaving one out leaves a single example of "
              "its class:\n four rows are too few to cross-validate a classifier; "
              f"{larger} not.)")
    print()
    return shown


def _synthetic(task):
    """5-fold out-of-fold predictions on a synthetic sample, printed; the scores."""
    X, y = make_placement(300, noise=0.5, random_state=0, task=task)
    cv = (StratifiedKFold if task == "classification" else KFold)(
        5, shuffle=True, random_state=0)
    pred = out_of_fold(task, X, y, SETTINGS["synthetic"], cv)
    scores = score(task, y, pred)
    metric = "accuracy" if task == "classification" else "R^2"
    frame = pd.DataFrame(X, columns=["cgpa", "resume_score"]).round(2)
    frame[load_placement(task).target_names[0]] = np.round(y, 2)
    shown = pd.concat([frame, pred.round(3)], axis=1)
    print(f"SYNTHETIC placement data (make_placement, 300 rows, task={task!r}), "
          "5-fold out-of-fold predictions, first 8 rows:")
    print(shown.head(8).to_string(index=False))
    print(f"5-fold {metric}: " + ", ".join(
        f"{name} {value:.3f}" for name, value in scores.items()) + "\n")
    return scores


def run(argv=None):
    """``main(argv)`` as a command: its exit status (0; 141 when the reader of
    its output went away, quietly; Ctrl-C exits from ``main`` with 130)."""
    try:
        main(argv)
        sys.stdout.flush()  # (a reader gone shows here, not at exit)
    except BrokenPipeError:
        # stdout to nowhere: Python's flush at exit would report the pipe again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return 0


if __name__ == "__main__":
    sys.exit(run())
