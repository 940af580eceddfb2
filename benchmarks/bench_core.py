"""Seconds per epoch: skbackprop against sklearn's MLP, same data, same settings.

Usage::

    python benchmarks/bench_core.py            # full run (about a minute)
    python benchmarks/bench_core.py --quick    # smaller and fewer repeats (seconds)
    python benchmarks/bench_core.py --threads 2

Each workload is fitted by both libraries in turn (A B A B ...), ``--repeats`` times;
the table gives the median seconds per epoch of each, the ratio sklearn / skbackprop
(above 1: we are faster) and the final training loss of each, which must agree
because both run the same algorithm from the same ``random_state``. BLAS runs on one
thread unless ``--threads`` says otherwise, for stable ratios on a busy machine.
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.datasets import load_placement

PAIRS = {"regressor": (BackpropRegressor, MLPRegressor),
         "classifier": (BackpropClassifier, MLPClassifier)}


def workloads(quick):
    X_p, y_p = load_placement(return_X_y=True)
    X_d, y_d = load_digits(return_X_y=True)
    X_d = StandardScaler().fit_transform(X_d)
    n_big = 5_000 if quick else 50_000
    X_r, y_r = make_regression(n_samples=n_big, n_features=100, noise=1.0, random_state=0)
    X_r = StandardScaler().fit_transform(X_r)
    y_r = (y_r - y_r.mean()) / y_r.std()
    return [
        # name, kind, X, y, settings, epochs per fit, unit
        ("placement 2-2-1, batch_size=1", "regressor", X_p, y_p,
         dict(hidden_layer_sizes=(2,), activation="identity", solver="sgd",
              batch_size=1, learning_rate_init=0.002, momentum=0.0),
         100 if quick else 500, "update"),
        ("digits, hidden 100, adam, batch 200", "classifier", X_d, y_d,
         dict(hidden_layer_sizes=(100,), solver="adam", batch_size=200),
         10 if quick else 30, "epoch"),
        (f"{n_big // 1000}k x 100 regression, (256, 128), batch 256", "regressor",
         X_r, y_r, dict(hidden_layer_sizes=(256, 128), solver="adam", batch_size=256),
         2 if quick else 3, "epoch"),
    ]


def time_fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X, y)
        seconds = time.perf_counter() - start
    return seconds / estimator.n_iter_, estimator.loss_


def run(quick=False, repeats=None, threads=1):
    repeats = repeats or (2 if quick else 5)
    rows = []
    with threadpool_limits(limits=threads, user_api="blas"):
        for name, kind, X, y, settings, epochs, unit in workloads(quick):
            params = dict(settings, max_iter=epochs, tol=0.0, n_iter_no_change=np.inf,
                          random_state=0)
            per_unit = 1.0 if unit == "epoch" else X.shape[0]  # updates per epoch
            times = {"skbackprop": [], "sklearn": []}
            losses = {}
            for _ in range(repeats):  # interleaved: ours, theirs, ours, theirs, ...
                for label, cls in zip(times, PAIRS[kind]):
                    seconds, loss = time_fit(cls(**params), X, y)
                    times[label].append(seconds / per_unit)
                    losses[label] = loss
            ours = statistics.median(times["skbackprop"])
            theirs = statistics.median(times["sklearn"])
            rows.append(dict(workload=name, unit=unit, skbackprop=ours, sklearn=theirs,
                             ratio=theirs / ours, loss_ours=losses["skbackprop"],
                             loss_sklearn=losses["sklearn"]))
    return rows


def format_table(rows, threads, repeats):
    def fmt(seconds, unit):
        return f"{seconds * 1e6:.1f} µs" if unit == "update" else f"{seconds * 1e3:.1f} ms"

    lines = [
        (f"median of {repeats} interleaved runs, {threads} BLAS thread(s); "
         "ratio = sklearn / skbackprop (> 1: skbackprop faster)"),
        "",
        "| workload | per | skbackprop | sklearn | ratio | final loss (ours / sklearn) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['unit']} | {fmt(r['skbackprop'], r['unit'])} | "
            f"{fmt(r['sklearn'], r['unit'])} | {r['ratio']:.2f}x | "
            f"{r['loss_ours']:.6g} / {r['loss_sklearn']:.6g} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    args = parser.parse_args(argv)
    rows = run(args.quick, args.repeats, args.threads)
    print(format_table(rows, args.threads, args.repeats or (2 if args.quick else 5)))
    return rows


if __name__ == "__main__":
    main()
