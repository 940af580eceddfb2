"""A fit's fixed cost and per-epoch bookkeeping at two git revisions, and sklearn's.

Usage::

    python benchmarks/bench_fixed_costs.py BASE_REV               # BASE_REV vs the work tree
    python benchmarks/bench_fixed_costs.py BASE_REV --repeats 15

Times, interleaved in one run (base, current, sklearn, base, ...; one BLAS thread),
the fastest of many runs (on a busy machine, the least disturbed) of: a one-epoch
per-row fit (bench_suite's "placement 2-2-1, batch_size=1" workload: the fixed cost
of a fit, its one epoch of 4 updates included), the cost per epoch of that workload
(from a fit of ``--epochs`` epochs, less the one-epoch fit), the breast_cancer fit
of bench_suite (hidden 100, adam, batch 200, 30 epochs), a one-row ``predict``, a
classifier's one-epoch per-row fit (8 iris rows, two classes) and the cost per epoch
of early stopping on iris (its validation score every epoch). Prints each and
current / base.
"""

import argparse
import sys
import time
import warnings

import numpy as np
from compare_revisions import base_and_current
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

PLACEMENT = dict(hidden_layer_sizes=(2,), activation="identity", solver="sgd",
                 batch_size=1, momentum=0.0, learning_rate_init=0.002, tol=0.0,
                 n_iter_no_change=np.inf, random_state=0)
CANCER = dict(hidden_layer_sizes=(100,), batch_size=200, max_iter=30, tol=0.0,
              n_iter_no_change=np.inf, random_state=0)


def data():
    """The placement rows, breast_cancer and iris (scaled)."""
    X = np.array([[8, 8], [7, 9], [6, 10], [5, 12]], dtype=float)
    Xc, yc = load_breast_cancer(return_X_y=True)
    Xi, yi = load_iris(return_X_y=True)
    return (X, np.array([4, 5, 6, 7], dtype=float)), (
        StandardScaler().fit_transform(Xc), yc), (StandardScaler().fit_transform(Xi), yi)


def timings(classes, placement, cancer, iris, epochs, n=20):
    """Seconds: (one-epoch per-row fit, per epoch of a per-row fit of ``epochs``
    beyond the first, cancer fit, one-row predict, one-epoch per-row classifier
    fit, per epoch of early stopping on iris), the fastest of ``n`` (fits) or 10 n
    (predictions)."""
    regressor, classifier = classes

    def fastest(call, times=n):
        seconds = []
        for _ in range(times):
            start = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - start)
        return min(seconds)

    def iris_fit(max_iter, **settings):
        return classifier(hidden_layer_sizes=(10,), max_iter=max_iter, random_state=0,
                          **settings).fit(*iris)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        short = fastest(lambda: regressor(**PLACEMENT, max_iter=1).fit(*placement))
        long = fastest(lambda: regressor(**PLACEMENT, max_iter=epochs).fit(*placement))
        whole = fastest(lambda: classifier(**CANCER).fit(*cancer), max(3, n // 5))
        model = regressor(**PLACEMENT, max_iter=1).fit(*placement)
        row = placement[0][:1]
        predict = fastest(lambda: model.predict(row), 10 * n)
        rows = iris[0][46:54], iris[1][46:54] > 0  # (two classes)
        labels = fastest(lambda: classifier(**PLACEMENT, max_iter=1).fit(*rows))
        one = fastest(lambda: iris_fit(1), max(3, n // 4))
        stopped = fastest(lambda: iris_fit(31, early_stopping=True, tol=0.0,
                                           n_iter_no_change=1000), max(3, n // 4))
    return short, (long - short) / (epochs - 1), whole, predict, labels, (stopped - one) / 30


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="git revision to compare against")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=301)
    args = parser.parse_args(argv)
    placement, cancer, iris = data()
    with base_and_current(args.base) as versions, threadpool_limits(limits=1,
                                                                    user_api="blas"):
        runs = {label: [] for label in (*versions, "sklearn")}
        for _ in range(args.repeats):
            for label, version in versions.items():
                with version as package:
                    classes = package.BackpropRegressor, package.BackpropClassifier
                    runs[label].append(timings(classes, placement, cancer, iris,
                                               args.epochs))
            runs["sklearn"].append(timings(  # (its epochs cost 400 times more)
                (MLPRegressor, MLPClassifier), placement, cancer, iris, 6, n=5))
    report(runs, args)


def report(runs, args):
    """The medians over the repeats, as a table."""
    rows = {label: [min(t) for t in zip(*runs[label])] for label in runs}
    names = ["per-row fit, 1 epoch (fixed cost)", "per-row, per 4-row epoch",
             "breast_cancer (100,) adam, 30 epochs", "predict, one row",
             "classifier per-row fit, 1 epoch", "iris early stopping, per epoch"]
    scales = [(1e3, "ms"), (1e6, "µs"), (1e3, "ms"), (1e6, "µs"), (1e3, "ms"), (1e3, "ms")]
    print(f"fastest of {args.repeats} interleaved runs, 1 BLAS thread; base = {args.base}")
    print("| measure | base | current | sklearn | current / base |")
    print("| --- | --- | --- | --- | --- |")
    for i, (name, (scale, unit)) in enumerate(zip(names, scales)):
        b, c, s = (rows[label][i] for label in ("base", "current", "sklearn"))
        print(f"| {name} | {b * scale:.3g} {unit} | {c * scale:.3g} {unit} | "
              f"{s * scale:.3g} {unit} | {c / b:.3f} |")
    return rows


if __name__ == "__main__":
    sys.exit(main())
