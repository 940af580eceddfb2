"""``python -m skbackprop``: the placement demo (``--help`` for its options).

Cross-validates pipelines (StandardScaler + BackpropRegressor / BackpropClassifier)
on the tutorial's placement tables and on a synthetic ``make_placement`` sample, with
sklearn's MLP at the same settings alongside, and prints the tables with their
out-of-fold predictions.
"""

import argparse
import warnings

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

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.datasets import load_placement, make_placement

SETTINGS = {
    "tables": dict(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=2000, random_state=0),
    "synthetic": dict(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=1000,
                      alpha=1e-3, random_state=0),
}
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
    """The command line: which task, and quick mode."""
    parser = argparse.ArgumentParser(
        prog="python -m skbackprop",
        description="The placement demo: StandardScaler + BackpropRegressor / "
                    "BackpropClassifier cross-validated on the tutorial's placement "
                    "tables and on a synthetic make_placement sample, with sklearn's "
                    "MLP at the same settings alongside.")
    parser.add_argument("--task", choices=["regression", "classification", "both"],
                        default="both", help="which task to run (default: both)")
    parser.add_argument("--quick", action="store_true",
                        help="the tutorial's tables only, without the 300-row synthetic "
                             "sample (a second instead of about ten)")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the demo with the command-line arguments ``argv`` (``sys.argv`` if None;
    ``[]`` for the defaults), print its tables and return them."""
    args = parse_args(argv)
    tasks = ("regression", "classification") if args.task == "both" else (args.task,)
    results = {}
    print("skbackprop placement demo: StandardScaler + Backprop{Regressor,Classifier},")
    print("with sklearn's MLPRegressor/MLPClassifier at the same settings alongside.\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for task in tasks:
            table = load_placement(task, as_frame=True)
            target = table.target_names[0]
            pred = out_of_fold(task, table.data, table.target, SETTINGS["tables"],
                               LeaveOneOut())
            shown = pd.concat([table.frame, pred.round(3)], axis=1)
            what = "P(placed)" if task == "classification" else "predicted package"
            print(f"The tutorial's {task} table, leave-one-out {what} "
                  f"(each row predicted by a model fit on the other 3):")
            print(shown.to_string(index=False))
            if task == "classification":
                print("(With two rows per class, leaving one out leaves a single example "
                      "of its class:\n four rows are too few to cross-validate a "
                      "classifier; the synthetic sample below is not.)")
            print()
            results[f"table_{task}"] = shown
            if args.quick:
                continue

            X, y = make_placement(300, noise=0.5, random_state=0, task=task)
            cv = (StratifiedKFold if task == "classification" else KFold)(
                5, shuffle=True, random_state=0)
            pred = out_of_fold(task, X, y, SETTINGS["synthetic"], cv)
            scores = score(task, y, pred)
            metric = "accuracy" if task == "classification" else "R^2"
            frame = pd.DataFrame(X, columns=["cgpa", "resume_score"]).round(2)
            frame[target] = np.round(y, 2)
            shown = pd.concat([frame, pred.round(3)], axis=1)
            print(f"SYNTHETIC placement data (make_placement, 300 rows, task={task!r}), "
                  "5-fold out-of-fold predictions, first 8 rows:")
            print(shown.head(8).to_string(index=False))
            print(f"5-fold {metric}: " + ", ".join(
                f"{name} {value:.3f}" for name, value in scores.items()) + "\n")
            results[f"synthetic_{task}"] = scores
    return results


if __name__ == "__main__":
    main()
