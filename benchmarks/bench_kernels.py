"""Where the fused kernels pay: their one-time cost per process against what they
save per unit of a fit's work, and the work from which a fit uses them.

Usage::

    python benchmarks/bench_kernels.py            # a few minutes
    python benchmarks/bench_kernels.py --quick    # under a minute

With numba installed, a fit whose work (``work`` below: every hidden and output value
of every row, and every parameter once per batch, per epoch) is at least the
``fast_kernels_min_work`` setting (``skbackprop.get_config()``) uses the fused
kernels; a smaller one never imports numba. This script measures the two sides of
that threshold, in CPU time (``time.process_time``: steadier than wall time on a
busy machine), on one BLAS thread:

- the start-up cost: in fresh processes (numba's cache warm), what a small fit
  with the kernels forced on costs over the same fit on NumPy's step (run first,
  after an untimed one): importing numba, loading the cached loops, the first
  calls (median of ``--repeats`` processes; a first, untimed process fills the
  cache). Once, for information, the same with an empty cache: the compile a first
  fit after installing pays;
- the saving: per workload, the same fit (every epoch run) with the kernels forced
  on and off, interleaved, median of ``--repeats``, in one process where they are
  loaded; the saving per unit of work, and the crossover: the work at which the
  saving equals the start-up cost. For comparison, the saving per unit of another
  candidate measure, rows x parameters x epochs: the better measure is the one whose
  saving per unit varies less across workloads.

It then checks the end to end case the threshold protects, a default
``BackpropClassifier`` on iris: the whole process's CPU time with the kernels
allowed (numba installed) and with ``SKBACKPROP_FAST=0``, interleaved, median.
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from _cli import blas_kernels, quick_main  # (benchmarks/: run as scripts)
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skbackprop import BackpropClassifier, BackpropRegressor, config_context, get_config
from skbackprop.inspection import n_parameters

# name, make the data, estimator settings, epochs (full runs; --quick: a fifth)
WORKLOADS = [
    ("breast_cancer (100,)", "breast_cancer", dict(), 300),
    ("digits (100,)", "digits", dict(), 120),
    ("digits (100,) float32", "digits", dict(dtype="float32"), 200),
    ("digits (100,) tanh sgd", "digits", dict(activation="tanh", solver="sgd"), 80),
    ("digits (100,) batch 32", "digits", dict(batch_size=32), 40),
    ("5k x 20 (64, 64) regression", "wide", dict(hidden_layer_sizes=(64, 64)), 40),
    ("20k x 100 (256,)", "large", dict(hidden_layer_sizes=(256,)), 4),
]

START_UP = """
import sys, time, warnings
from sklearn.datasets import load_iris
import skbackprop
warnings.simplefilter("ignore")
X, y = load_iris(return_X_y=True)

def seconds(fast_kernels):
    with skbackprop.config_context(fast_kernels=fast_kernels, fast_kernels_min_work=0):
        start = time.process_time()
        skbackprop.BackpropClassifier(max_iter=2, random_state=0).fit(X, y)
        return time.process_time() - start

seconds(False)  # untimed: sklearn's and skbackprop's own first-call costs
without = seconds(False)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    cost = seconds(True) - without
fell_back = any(w.category is skbackprop.FastKernelsWarning for w in caught)
print(cost, "numba" in sys.modules and not fell_back)
"""

IRIS_FIT = """
import warnings
from sklearn.datasets import load_iris
from skbackprop import BackpropClassifier
warnings.simplefilter("ignore")
BackpropClassifier(random_state=0).fit(*load_iris(return_X_y=True))
"""


def data(name, rng):
    """(estimator class, X, y) of a workload."""
    if name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        return BackpropClassifier, StandardScaler().fit_transform(X), y
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return BackpropClassifier, X / 16, y
    n, d = {"wide": (5_000, 20), "large": (20_000, 100)}[name]
    X = rng.normal(size=(n, d))
    y = np.tanh(X @ rng.normal(size=d))
    return (BackpropRegressor, X, y) if name == "wide" else (BackpropClassifier, X, y > 0)


def start_up(repeats, cache_dir=None):
    """CPU seconds the kernels add to a fresh process's first fit (median of
    ``repeats``), and whether numba ran them."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", START_UP], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        runs.append((float(out[0]), out[1] == "True"))
    return statistics.median(s for s, _ in runs), all(ok for _, ok in runs)


def work(n_rows, layer_units, batch_size, epochs):
    """A fit's work, as ``fast_kernels_min_work`` counts it: per epoch, every hidden
    and output value of every row (activated, multiplied by a derivative) and every
    parameter once per batch (the optimizer's update)."""
    n_batches = -(-n_rows // batch_size)
    return (n_rows * sum(layer_units[1:]) + n_batches * n_parameters(layer_units)) * epochs


def fit_seconds(cls, X, y, settings, epochs, fused):
    """CPU seconds one fit of ``epochs`` epochs takes, with the kernels forced on or
    off."""
    model = cls(**settings, max_iter=epochs, tol=0.0, n_iter_no_change=np.inf,
                random_state=0)
    forced = config_context(fast_kernels=fused, fast_kernels_min_work=0)
    with forced, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.process_time()
        model.fit(X, y)
        return time.process_time() - start, model


def saving(name, kind, settings, epochs, repeats, rng):
    """A workload's fit times with and without the kernels (medians), its work, and
    the saving per unit of work (seconds)."""
    cls, X, y = data(kind, rng)
    fit_seconds(cls, X, y, settings, 1, True)  # untimed: loads this network's loops
    times = {True: [], False: []}
    for _ in range(repeats):
        for fused in (True, False):
            seconds, model = fit_seconds(cls, X, y, settings, epochs, fused)
            times[fused].append(seconds)
    units = [X.shape[1], *(w.shape[1] for w in model.coefs_)]
    batch_size = settings.get("batch_size", min(200, X.shape[0]))
    done = work(X.shape[0], units, batch_size, epochs)
    other = X.shape[0] * n_parameters(units) * epochs  # rows x parameters x epochs
    on, off = (statistics.median(times[f]) for f in (True, False))
    return dict(workload=name, rows=X.shape[0], work=done, on=on, off=off,
                per_work=(off - on) / done, per_other=(off - on) / other)


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def whole_process(repeats):
    """Median CPU seconds of a whole process fitting iris, with the kernels allowed
    and with SKBACKPROP_FAST=0, interleaved; and whether the first imported numba."""
    times, imported = {"allowed": [], "off": []}, None
    check = IRIS_FIT + "import sys; print('numba' in sys.modules)"
    for _ in range(repeats):
        for label, value in (("allowed", "1"), ("off", "0")):
            env = dict(os.environ, SKBACKPROP_FAST=value, OMP_NUM_THREADS="1")
            start = children_cpu()
            out = subprocess.run([sys.executable, "-c", check], env=env, check=True,
                                 capture_output=True, text=True).stdout
            times[label].append(children_cpu() - start)
            imported = imported or (label == "allowed" and out.strip() == "True")
    return {k: statistics.median(v) for k, v in times.items()}, imported


def run(quick=False, repeats=None):
    repeats = repeats or (3 if quick else 7)
    rng = np.random.default_rng(0)
    start_up(1)  # untimed: fills numba's cache
    cost, ran = start_up(repeats)
    with tempfile.TemporaryDirectory() as empty:
        compile_cost, _ = start_up(1, empty)
    with threadpool_limits(limits=1, user_api="blas"):
        rows = [saving(name, kind, settings, max(1, epochs // 5) if quick else epochs,
                       repeats, rng)
                for name, kind, settings, epochs in WORKLOADS[: 3 if quick else None]]
    process, imported = whole_process(repeats)
    return dict(start_up=cost, ran=ran, compile=compile_cost, rows=rows,
                process=process, imported=imported, blas=blas_kernels(),
                min_work=get_config()["fast_kernels_min_work"])


def format_table(results):
    r = results
    lines = [
        f"BLAS: {r['blas']}; 1 BLAS thread; CPU seconds. Start-up cost of the kernels "
        f"in a fresh process (import numba, load the cached loops, first calls): "
        f"{r['start_up']:.3f} s ({'run by numba' if r['ran'] else 'NOT loaded'}); "
        f"with an empty cache (compiling): {r['compile']:.2f} s.",
        "",
        "| workload | rows | work per fit | kernels on (s) | off (s) | saving per "
        "1e9 work (s) | crossover work | saving per 1e9 rows x parameters x epochs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in r["rows"]:
        per = row["per_work"]
        crossover = f"{r['start_up'] / per:.3g}" if per > 0 else "never"
        lines.append(f"| {row['workload']} | {row['rows']} | {row['work']:.3g} | "
                     f"{row['on']:.3f} | {row['off']:.3f} | {per * 1e9:.3f} | "
                     f"{crossover} | {row['per_other'] * 1e9:.3f} |")
    p = r["process"]
    lines += ["", f"fast_kernels_min_work = {r['min_work']:.3g}. A whole process fitting iris "
              f"(default BackpropClassifier): {p['allowed']:.3f} s with numba installed, "
              f"{p['off']:.3f} s with SKBACKPROP_FAST=0 ({p['allowed'] / p['off']:.3f}x); "
              f"numba imported: {r['imported']}."]
    return "\n".join(lines)


def main(argv=None):
    return quick_main(__doc__, run, format_table, argv)


if __name__ == "__main__":
    main()
