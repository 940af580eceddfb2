"""What each ingredient of the tabular estimators adds: the defaults against set-ups
that change one thing, on the folds of ``bench_tabular.py``.

Usage::

    pip install "skbackprop[bench]"
    python benchmarks/ablate_tabular.py            # 7 tables, 2 folds each (about 30 min)
    python benchmarks/ablate_tabular.py --setups "the defaults,no dropout" --datasets churn
    python benchmarks/ablate_tabular.py --quick    # 1 small table, 1 fold (a minute)

Each set-up is ``TabularClassifier``/``TabularRegressor`` with ``random_state=0`` and
the parameters it names (``SETUPS``), fitted on the first ``--folds`` folds of each
dataset (the same shuffled folds as ``bench_tabular.py``), one thread. The table gives
each set-up's mean error per dataset, the mean relative error gap to the best set-up
of each dataset, and its wins and losses against the defaults. Set-ups that only make
sense for classification (label smoothing) run on the classification tables only and
are left out of the main table, with a line of their own.
"""

import argparse
import sys
import warnings
from contextlib import contextmanager

import numpy as np
from bench_tabular import ALL_DATASETS, fit_and_score, load, make_folds, n_folds_for
from threadpoolctl import threadpool_limits

import skbackprop.tabular
from skbackprop.tabular import TabularClassifier, TabularRegressor

LARGER = ("churn", "hpc", "ames", "credit", "wage", "slid", "diamonds")
QUICK = ("penguins",)

# RealMLP's own learning-rate factors, relative to its NTK layers' rate
REALMLP_FACTORS = {"categorical_embedding": 1.0, "feature_scale": 6.0,
                   "periodic_embedding": 0.1, "parametric_activation": 0.1}

# name -> (parameters, learning-rate factors or None, classification only)
SETUPS = {
    "the defaults": ({}, None, False),
    "one network": ({"n_ensemble": 1}, None, False),
    "no periodic embeddings": ({"periodic": False}, None, False),
    "no feature scale": ({"feature_scale": False}, None, False),
    "one-hot instead of embeddings": ({"max_one_hot": 10**6}, None, False),
    "RealMLP's learning-rate factors, not rescaled": ({}, REALMLP_FACTORS, False),
    "no dropout": ({"dropout": 0.0}, None, False),
    "weight decay 0.1": ({"weight_decay": 0.1}, None, False),
    "coslog4": ({"learning_rate": "coslog4"}, None, False),
    "30 epochs": ({"max_iter": 30}, None, False),
    "double precision": ({"dtype": "float64"}, None, False),
    "label smoothing 0.1": ({"label_smoothing": 0.1}, None, True),
}


@contextmanager
def lr_factors(factors):
    """The tabular estimators' learning-rate factors set to ``factors`` (None: left
    as they are) for the duration, restored after."""
    saved = dict(skbackprop.tabular.LR_FACTORS)
    if factors is not None:
        skbackprop.tabular.LR_FACTORS.update(factors)
    try:
        yield
    finally:
        skbackprop.tabular.LR_FACTORS.clear()
        skbackprop.tabular.LR_FACTORS.update(saved)


def run(setups, datasets, folds, quick=False):
    """{(setup, dataset): mean error over the first ``folds`` folds}."""
    errors = {}
    for name in datasets:
        X, y = load(name)
        task = ALL_DATASETS[name].task
        splits = make_folds(y, task, n_folds_for(len(X), quick))[:folds]
        classes = None if task == "regression" else sorted(y.unique())
        y_std = float(np.std(y)) if task == "regression" else None
        for setup in setups:
            params, factors, classification_only = SETUPS[setup]
            if classification_only and task == "regression":
                continue
            cls = TabularRegressor if task == "regression" else TabularClassifier
            scores = []
            for train, test in splits:
                model = cls(random_state=0, **params, **({"max_iter": 5} if quick else {}))
                with lr_factors(factors), threadpool_limits(1), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    scores.append(fit_and_score(model, task, X, y, train, test, classes,
                                                y_std)["error"])
            errors[setup, name] = float(np.mean(scores))
            print(f"{setup}, {name}: {errors[setup, name]:.4f}", file=sys.stderr, flush=True)
    return errors


def table(errors, setups, datasets):
    """The Markdown table: errors per dataset, the mean relative gap to the best
    set-up of each dataset, wins / losses against the first set-up."""
    rows = [s for s in setups if all((s, d) in errors for d in datasets)]
    best = {d: min(errors[s, d] for s in rows) for d in datasets}
    lines = ["| set-up | " + " | ".join(datasets) + " | mean relative gap | wins / losses "
             f"against {rows[0]} |", "|" + " --- |" * (len(datasets) + 3)]
    for s in rows:
        gap = np.mean([(errors[s, d] - best[d]) / best[d] if best[d] > 0 else 0.0
                       for d in datasets])
        wins = sum(errors[s, d] < errors[rows[0], d] for d in datasets)
        losses = sum(errors[s, d] > errors[rows[0], d] for d in datasets)
        versus = "-" if s == rows[0] else f"{wins} / {losses}"
        lines.append(f"| {s} | " + " | ".join(f"{errors[s, d]:.4f}" for d in datasets)
                     + f" | {gap:.3f} | {versus} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", help=f"comma-separated, of {', '.join(SETUPS)}")
    parser.add_argument("--datasets", help="comma-separated (default: the 7 larger "
                        "tables of the tuning suite)")
    parser.add_argument("--folds", type=int, default=2, help="the first N folds")
    parser.add_argument("--quick", action="store_true", help="penguins, 1 fold, 5 epochs")
    args = parser.parse_args(argv)
    setups = args.setups.split(",") if args.setups else list(SETUPS)
    unknown = [s for s in setups if s not in SETUPS]
    if unknown:
        parser.error(f"unknown set-ups {unknown}; choose from {', '.join(SETUPS)}")
    if setups[0] != "the defaults":
        setups = ["the defaults", *[s for s in setups if s != "the defaults"]]
    datasets = (args.datasets.split(",") if args.datasets
                else list(QUICK if args.quick else LARGER))
    folds = 1 if args.quick else args.folds
    errors = run(setups, datasets, folds, args.quick)
    print(table(errors, setups, datasets))
    classification = [d for d in datasets if ALL_DATASETS[d].task != "regression"]
    for s in setups:
        if SETUPS[s][2] and classification:
            print(f"\n{s}, on the classification tables only:\n"
                  + table(errors, ["the defaults", s], classification))
    return 0


if __name__ == "__main__":
    sys.exit(main())
