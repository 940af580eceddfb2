"""Time skbackprop at two git revisions against each other, interleaved in one run.

Usage::

    python benchmarks/compare_revisions.py BASE_REV            # BASE_REV vs the work tree
    python benchmarks/compare_revisions.py BASE_REV --repeats 9 --quick
    python benchmarks/compare_revisions.py BASE_REV --no-kernels  # NumPy's step only

Checks BASE_REV out into a temporary git worktree, imports both versions of the
package side by side, and fits the same workloads (bench_core's, and breast_cancer)
with each in turn (base, current, base, current, ...) on one BLAS thread, with the
fused kernels on every fit where a version has them (``--no-kernels``: on none,
what a user without numba runs). Prints the median time of each
and the ratio current / base (below 1: the current code is faster). Use it to show
that a change does not slow the core path; `bench_core.py` compares against
sklearn instead.
"""

import argparse
import contextlib
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import bench_core
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parent.parent


def _ours():
    return {k: v for k, v in sys.modules.items() if k.split(".")[0] == "skbackprop"}


class Version:
    """The skbackprop package found in ``path`` (a fresh copy), and its modules: a
    module the package imports during a fit (``from . import _kernels``) is looked
    up in ``sys.modules`` then, so each version's modules are put back there
    before it runs, and the ones it imported kept after."""

    def __init__(self, path):
        for name in _ours():
            del sys.modules[name]
        sys.path.insert(0, str(path))
        try:
            self.package = importlib.import_module("skbackprop")
        finally:
            sys.path.pop(0)
        self.modules = _ours()

    def __enter__(self):
        for name in _ours():
            del sys.modules[name]
        sys.modules.update(self.modules)
        return self.package

    def __exit__(self, *exc):
        self.modules = _ours()


ESTIMATORS = {"regressor": "BackpropRegressor", "classifier": "BackpropClassifier"}


def workloads(quick):
    """bench_core's workloads (the same data and settings), then breast_cancer with
    one hidden layer of 100 (three batches an epoch: a small fit's per-step costs),
    run only on ours."""
    X, y = load_breast_cancer(return_X_y=True)
    breast_cancer = ("breast_cancer, hidden 100, adam, batch 200", "classifier",
                     StandardScaler().fit_transform(X), y,
                     dict(hidden_layer_sizes=(100,), batch_size=200),
                     10 if quick else 30, "epoch")
    for name, kind, X, y, settings, epochs, unit in [*bench_core.workloads(quick),
                                                     breast_cancer]:
        params = dict(settings, max_iter=epochs, tol=0.0, n_iter_no_change=np.inf,
                      random_state=0)
        yield name, ESTIMATORS[kind], X, y, params, unit


def seconds_per_unit(version, estimator, X, y, params, unit, kernels=True):
    with version as package, warnings.catch_warnings(), _kernels(package, kernels):
        model = getattr(package, estimator)(**params)
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model.fit(X, y)
        elapsed = time.perf_counter() - start
    return elapsed / (model.n_iter_ * (X.shape[0] if unit == "update" else 1))


def _kernels(package, on=True):
    """Where a version uses the fused kernels only above a work threshold (a
    ``fast_kernels_min_work`` setting), every fit here uses them, as versions without
    one do: the timings compare the same computation (their start-up is paid once,
    before the timed fits). With ``on`` False, no fit uses them (NumPy's step)."""
    context = getattr(package, "config_context", None)
    if context is None or "fast_kernels_min_work" not in package.get_config():
        if not on:
            raise SystemExit("--no-kernels: this version has no fast_kernels setting")
        return contextlib.nullcontext()
    return context(fast_kernels_min_work=0) if on else context(fast_kernels=False)


@contextlib.contextmanager
def base_and_current(base):
    """``{"base": Version, "current": Version}``: revision ``base`` checked out into a
    temporary git worktree and the work tree, side by side; the worktree is removed
    and the caller's skbackprop modules put back after."""
    # importing two versions swaps modules in sys.modules: put the caller's back after
    original = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "skbackprop"}
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q",
                        str(worktree), base], check=True)
        try:
            yield {"base": Version(worktree), "current": Version(REPO)}
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(worktree)], check=False)
            for name in [m for m in sys.modules if m.split(".")[0] == "skbackprop"]:
                del sys.modules[name]
            sys.modules.update(original)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="git revision to compare against")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-kernels", action="store_true",
                        help="time NumPy's step: no fit uses the fused kernels")
    args = parser.parse_args(argv)
    rows = []
    with base_and_current(args.base) as versions, threadpool_limits(limits=1,
                                                                    user_api="blas"):
        for name, estimator, X, y, params, unit in workloads(args.quick):
            times = {label: [] for label in versions}
            for _ in range(args.repeats):
                for label, version in versions.items():
                    times[label].append(
                        seconds_per_unit(version, estimator, X, y, params, unit,
                                         kernels=not args.no_kernels))
            base = statistics.median(times["base"])
            current = statistics.median(times["current"])
            rows.append((name, unit, base, current))
    kernels = "without the fused kernels" if args.no_kernels else "fused kernels on"
    print(f"median of {args.repeats} interleaved runs, 1 BLAS thread, {kernels}; "
          f"base = {args.base}")
    print("| workload | per | base | current | current / base |")
    print("| --- | --- | --- | --- | --- |")
    for name, unit, base, current in rows:
        scale, label = (1e6, "µs") if unit == "update" else (1e3, "ms")
        print(f"| {name} | {unit} | {base * scale:.1f} {label} | "
              f"{current * scale:.1f} {label} | {current / base:.3f} |")
    return rows


if __name__ == "__main__":
    main()
