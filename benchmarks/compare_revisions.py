"""Time skbackprop at two git revisions against each other, interleaved in one run.

Usage::

    python benchmarks/compare_revisions.py BASE_REV            # BASE_REV vs the work tree
    python benchmarks/compare_revisions.py BASE_REV --repeats 9 --quick

Checks BASE_REV out into a temporary git worktree, imports both versions of the
package side by side, and fits the same workloads with each in turn (base, current,
base, current, ...) on one BLAS thread. Prints the median time of each and the ratio
current / base (below 1: the current code is faster). Use it to show that a change
does not slow the core path; `bench_core.py` compares against sklearn instead.
"""

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_regression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parent.parent


def import_from(path):
    """Import the skbackprop package found in ``path`` (a fresh copy)."""
    for name in [m for m in sys.modules if m.split(".")[0] == "skbackprop"]:
        del sys.modules[name]
    sys.path.insert(0, str(path))
    try:
        return importlib.import_module("skbackprop")
    finally:
        sys.path.pop(0)


def workloads(quick):
    X_p = np.array([[8, 8], [7, 9], [6, 10], [5, 12]], dtype=float)
    y_p = np.array([4, 5, 6, 7], dtype=float)
    X_d, y_d = load_digits(return_X_y=True)
    X_d = StandardScaler().fit_transform(X_d)
    n_big = 5_000 if quick else 50_000
    X_r, y_r = make_regression(n_samples=n_big, n_features=100, noise=1.0, random_state=0)
    X_r = StandardScaler().fit_transform(X_r)
    y_r = (y_r - y_r.mean()) / y_r.std()
    common = dict(tol=0.0, n_iter_no_change=np.inf, random_state=0)
    return [
        ("placement 2-2-1, per-row SGD", "BackpropRegressor", X_p, y_p,
         dict(hidden_layer_sizes=(2,), activation="identity", solver="sgd",
              batch_size=1, learning_rate_init=0.002, momentum=0.0,
              max_iter=100 if quick else 500, **common), "update"),
        ("digits, hidden 100, adam", "BackpropClassifier", X_d, y_d,
         dict(max_iter=10 if quick else 30, **common), "epoch"),
        (f"{n_big // 1000}k x 100, (256, 128), adam", "BackpropRegressor", X_r, y_r,
         dict(hidden_layer_sizes=(256, 128), batch_size=256, max_iter=2, **common),
         "epoch"),
    ]


def seconds_per_unit(package, estimator, X, y, params, unit):
    model = getattr(package, estimator)(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model.fit(X, y)
        elapsed = time.perf_counter() - start
    return elapsed / (model.n_iter_ * (X.shape[0] if unit == "update" else 1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="git revision to compare against")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    # importing two versions swaps modules in sys.modules: put the caller's back after
    original = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "skbackprop"}
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q",
                        str(worktree), args.base], check=True)
        try:
            versions = {"base": import_from(worktree), "current": import_from(REPO)}
            rows = []
            with threadpool_limits(limits=1, user_api="blas"):
                for name, estimator, X, y, params, unit in workloads(args.quick):
                    times = {label: [] for label in versions}
                    for _ in range(args.repeats):
                        for label, package in versions.items():
                            times[label].append(
                                seconds_per_unit(package, estimator, X, y, params, unit))
                    base = statistics.median(times["base"])
                    current = statistics.median(times["current"])
                    rows.append((name, unit, base, current))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(worktree)], check=False)
            for name in [m for m in sys.modules if m.split(".")[0] == "skbackprop"]:
                del sys.modules[name]
            sys.modules.update(original)
    print(f"median of {args.repeats} interleaved runs, 1 BLAS thread; base = {args.base}")
    print("| workload | per | base | current | current / base |")
    print("| --- | --- | --- | --- | --- |")
    for name, unit, base, current in rows:
        scale, label = (1e6, "µs") if unit == "update" else (1e3, "ms")
        print(f"| {name} | {unit} | {base * scale:.1f} {label} | "
              f"{current * scale:.1f} {label} | {current / base:.3f} |")
    return rows


if __name__ == "__main__":
    main()
