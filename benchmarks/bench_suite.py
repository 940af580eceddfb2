"""The performance suite: skbackprop against sklearn's MLP and a PyTorch loop.

Usage::

    python benchmarks/bench_suite.py                # full run (a few minutes)
    python benchmarks/bench_suite.py --quick        # smaller data, under two minutes
    python benchmarks/bench_suite.py --write        # also write benchmarks/RESULTS.md

For each workload the libraries are timed in turn (ours, sklearn, torch, then the
next round, which starts one library further along: sklearn, torch, ours) on one
BLAS thread (``--threads`` to change), in CPU time (``time.process_time``:
what the process computed, without the time another program on the same computer
took from it; wall time with more than one thread, whose CPU times add up), and the
table reports the median time per epoch (per update for the per-row workload), the
median over the rounds of the ratio of sklearn's and torch's time to ours in the
same round (above 1: we are faster), the GFLOP/s we reach (forward + backward ~ 6 x
samples x weights per epoch) against the matrix-multiply peak measured in the same
run, the peak memory a fit adds beyond the data (each library fitted once in a child
process), and every library's final training loss, so that speed never hides a
different result. The PyTorch loop (``nn.Sequential``, its optimizer, shuffled
minibatches) runs when torch is installed; it is not a dependency of skbackprop.
"""

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from _cli import blas_kernels  # (benchmarks/: run as scripts)
from scipy.special import expit
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    make_classification,
    make_regression,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skbackprop import BackpropClassifier, BackpropRegressor, config_context, fast_kernels
from skbackprop.inspection import n_parameters

FUSED = fast_kernels.active()  # numba installed: "skbackprop" runs the fused kernels

try:
    import torch
except ImportError:  # torch is optional: its column then reads n/a
    torch = None

HERE = Path(__file__).resolve().parent
# CPU time of this process when every library runs on one thread (BLAS and torch
# limited to it): a shared computer's other work does not count. With more threads
# CPU time would add theirs up and hide a parallel speed-up: wall time then.
CLOCK = time.process_time


def use_clock(threads):
    """Time with CPU time on one thread, wall time on several; its name."""
    global CLOCK
    CLOCK = time.process_time if threads == 1 else time.perf_counter
    return "CPU time" if threads == 1 else "wall time"


# ----------------------------------------------------------------- workloads
def workload_specs(quick):
    """name -> (kind, data maker, settings, epochs, unit, dtype)."""
    big, huge = (10_000, 20_000) if quick else (50_000, 200_000)
    return {
        "placement 2-2-1, batch_size=1": (
            "regressor", placement, dict(hidden_layer_sizes=(2,), activation="identity",
                                         solver="sgd", batch_size=1, momentum=0.0,
                                         learning_rate_init=0.002),
            100 if quick else 500, "update", "float64"),
        "breast_cancer, hidden 100, adam, batch 200": (
            "classifier", breast_cancer, dict(hidden_layer_sizes=(100,), batch_size=200),
            10 if quick else 30, "epoch", "float64"),
        "digits, hidden 100, adam, batch 200": (
            "classifier", digits, dict(hidden_layer_sizes=(100,), batch_size=200),
            10 if quick else 30, "epoch", "float64"),
        f"{big // 1000}k x 100 regression, (256, 128), batch 256, float64": (
            "regressor", lambda: regression(big), dict(hidden_layer_sizes=(256, 128),
                                                       batch_size=256),
            1 if quick else 3, "epoch", "float64"),
        f"{big // 1000}k x 100 regression, (256, 128), batch 256, float32": (
            "regressor", lambda: regression(big), dict(hidden_layer_sizes=(256, 128),
                                                       batch_size=256),
            1 if quick else 3, "epoch", "float32"),
        f"{huge // 1000}k x 200, 5 classes, (512, 256), batch 512, float32": (
            "classifier", lambda: classification(huge), dict(
                hidden_layer_sizes=(512, 256), batch_size=512),
            1, "epoch", "float32"),
    }


def placement():
    X = np.array([[8, 8], [7, 9], [6, 10], [5, 12]], dtype=float)
    return X, np.array([4, 5, 6, 7], dtype=float)


def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def regression(n):
    X, y = make_regression(n_samples=n, n_features=100, noise=1.0, random_state=0)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def classification(n):
    X, y = make_classification(n_samples=n, n_features=200, n_informative=50,
                               n_classes=5, random_state=0)
    return StandardScaler().fit_transform(X), y


# -------------------------------------------------------------- the libraries
def fit_ours(kind, X, y, settings, epochs, dtype, fused=True):
    cls = BackpropRegressor if kind == "regressor" else BackpropClassifier
    model = cls(**settings, max_iter=epochs, tol=0.0, n_iter_no_change=np.inf,
                random_state=0, dtype=dtype)
    # The suite times epochs after an untimed warm-up, where the kernels' start-up
    # is paid: they run on every workload, however few its epochs (a single fit that
    # small would not start them; see bench_kernels.py)
    with config_context(fast_kernels=fused, fast_kernels_min_work=0):
        return model.fit(X, y).loss_


def fit_ours_float32(kind, X, y, settings, epochs, dtype):
    """Ours with ``dtype="float32"`` on the workload's float64 data (n/a on the
    float32 workloads: the column is theirs already)."""
    if dtype == "float32":
        return float("nan")
    return fit_ours(kind, X, y, settings, epochs, "float32")


def fit_sklearn(kind, X, y, settings, epochs, dtype):
    cls = MLPRegressor if kind == "regressor" else MLPClassifier
    model = cls(**settings, max_iter=epochs, tol=0.0, n_iter_no_change=np.inf,
                random_state=0)
    loss = model.fit(X, y).loss_  # (X has the workload's dtype: no copy for anyone)
    return loss * (model.n_outputs_ if kind == "regressor" else 1)  # our convention


def fit_torch(kind, X, y, settings, epochs, dtype):
    """The loop a PyTorch user writes: Sequential, its optimizer, shuffled batches."""
    torch.manual_seed(0)
    dtype_t = getattr(torch, dtype)
    X_t = torch.as_tensor(X, dtype=dtype_t)
    if kind == "regressor":
        y_t = torch.as_tensor(y, dtype=dtype_t).reshape(-1, 1)
        n_out = 1
    else:
        classes, codes = np.unique(y, return_inverse=True)
        y_t = torch.as_tensor(codes)
        n_out = len(classes) if len(classes) > 2 else 1
        if n_out == 1:
            y_t = y_t.to(dtype_t).reshape(-1, 1)
    act = {"relu": torch.nn.ReLU, "identity": torch.nn.Identity}[
        settings.get("activation", "relu")]
    units = [X.shape[1], *settings["hidden_layer_sizes"], n_out]
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(units)):
        layers.append(torch.nn.Linear(a, b, dtype=dtype_t))
        if i < len(units) - 2:
            layers.append(act())
    net = torch.nn.Sequential(*layers)
    if settings.get("solver") == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=settings["learning_rate_init"],
                              momentum=settings.get("momentum", 0.9))
    else:
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=0.0)
    if kind == "regressor":
        def criterion(out, target):
            return 0.5 * torch.nn.functional.mse_loss(out, target)
    elif n_out == 1:
        criterion = torch.nn.BCEWithLogitsLoss()
    else:
        criterion = torch.nn.CrossEntropyLoss()
    n, batch = X_t.shape[0], settings["batch_size"]
    for _ in range(epochs):
        total = 0.0
        for rows in torch.randperm(n).split(batch):
            opt.zero_grad()
            loss = criterion(net(X_t[rows]), y_t[rows])
            loss.backward()
            opt.step()
            total += loss.item() * len(rows)
    return total / n


LIBRARIES = {"skbackprop": fit_ours}
if FUSED:  # the same fits with the kernels off: what users without numba get
    LIBRARIES["ours, NumPy step"] = partial(fit_ours, fused=False)
LIBRARIES.update({"ours, float32": fit_ours_float32, "sklearn": fit_sklearn})
if torch is not None:
    LIBRARIES["torch"] = fit_torch


# ---------------------------------------------------------------- measuring
def gemm_peak(dtype, n=2048, repeats=5):
    """GFLOP/s of one large NumPy matrix product (2 n^3 flops), median of repeats."""
    a = np.random.RandomState(0).standard_normal((n, n)).astype(dtype)
    times = []
    for _ in range(repeats):
        start = CLOCK()
        a @ a
        times.append(CLOCK() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def layer_units(X, kind, y, hidden):
    n_out = 1 if kind == "regressor" else (len(np.unique(y)) if len(np.unique(y)) > 2 else 1)
    return [X.shape[1], *hidden, n_out]


def n_weights(X, kind, y, hidden):
    return n_parameters(layer_units(X, kind, y, hidden))


def backprop_products(units, n, dtype):
    """The matrix products of one backprop step on a batch of n rows, as (A, B)
    pairs: per layer A_{l-1} W_l forward, A_{l-1}^T delta_l and (above the first
    layer) delta_l W_l^T backward."""
    rng = np.random.RandomState(0)
    products = []
    for layer, (a, b) in enumerate(itertools.pairwise(units)):
        A, W, D = (rng.standard_normal(shape).astype(dtype)
                   for shape in [(n, a), (a, b), (n, b)])
        products += [(A, W), (A.T, D)] + ([(D, W.T)] if layer else [])
    return products


def product(A, B):
    """A @ B, or where the inner dimension is 1 (an outer product), the broadcast
    multiply that computes it (as every library does: about twice as fast)."""
    return A * B if A.shape[1] == 1 else A @ B


def matmul_floor(units, n_samples, batch_size, dtype, repeats=7):
    """Seconds per epoch that the matrix products of backprop alone take at these
    shapes. No MLP implementation trains an epoch faster on the machine it runs
    on; sklearn's time over it bounds the speed-up within reach."""
    n = min(batch_size, n_samples)
    products = backprop_products(units, n, dtype)
    times = []
    for _ in range(repeats):
        start = CLOCK()
        for A, B in products:
            product(A, B)
        times.append(CLOCK() - start)
    return min(times) * n_samples / n  # a floor: the fastest of its repeats


def bare_step(units, X, Y, output, params, alpha=1e-4, learning_rate=1e-3,
              beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    """One Adam step of a ReLU network on the batch (X, Y), as nothing but the
    sequence of NumPy calls it needs: every buffer preallocated, no structure, no
    checks. ``output`` is the output activation with its loss ("identity": squared
    error, "logistic": binary log loss, "softmax": log loss); ``params`` is the flat
    parameter vector (every W_l, then every b_l), updated in place. Returns
    ``run``, which does the step and returns the batch loss (L2 term included)."""
    n, dtype, pairs = X.shape[0], X.dtype, list(itertools.pairwise(units))
    n_w = sum(a * b for a, b in pairs)

    def views(flat):
        Ws, bs, start = [], [], 0
        for a, b in pairs:
            Ws.append(flat[start:start + a * b].reshape(a, b))
            start += a * b
        for _, b in pairs:
            bs.append(flat[start:start + b])
            start += b
        return Ws, bs

    grad, m, v, s = (np.zeros_like(params) for _ in range(4))
    (W, b), (GW, Gb) = views(params), views(grad)
    Z = [X] + [np.empty((n, k), dtype) for k in units[1:]]  # A_l, in place of Z_l
    D = [None] + [np.empty((n, k), dtype) for k in units[1:]]
    mask = [None] + [np.empty((n, k), bool) for k in units[1:]]
    ones, row_sums = np.ones(n, dtype), np.empty(n, dtype)
    A, L, state = Z[-1], len(pairs), {"loss": 0.0, "t": 0}

    def loss_from_logits():  # binary log loss, before the sigmoid overwrites Z_L
        state["loss"] = (np.logaddexp(0, A).sum() - np.vdot(Y, A)) / n

    def loss_from_probabilities():
        state["loss"] = -np.log(np.einsum("ij,ij->i", Y, A)).sum() / n

    def loss_from_residuals():
        state["loss"] = 0.5 * np.vdot(D[L], D[L]) / n

    def l2_term():
        state["loss"] += 0.5 * alpha * np.dot(params[:n_w], params[:n_w]) / n

    def adam_update():
        state["t"] += 1
        t = state["t"]
        step = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        np.multiply(step, m, out=s)
        np.divide(s, grad, out=s)
        np.subtract(params, s, out=params)

    calls = []
    for l in range(1, L + 1):  # forward
        calls += [partial(np.matmul, Z[l - 1], W[l - 1], out=Z[l]),
                  partial(np.add, Z[l], b[l - 1], out=Z[l])]
        if l < L:
            calls.append(partial(np.maximum, Z[l], 0, out=Z[l]))
    if output == "softmax":
        calls += [partial(np.exp, A, out=A),
                  partial(np.matmul, A, np.ones(units[-1], dtype), out=row_sums),
                  partial(np.divide, A, row_sums[:, np.newaxis], out=A),
                  loss_from_probabilities]
    elif output == "logistic":
        calls += [loss_from_logits, partial(expit, A, out=A)]
    calls.append(partial(np.subtract, A, Y, out=D[L]))  # output delta
    if output == "identity":
        calls.append(loss_from_residuals)
    calls += [partial(np.divide, D[L], n, out=D[L]), l2_term]
    for l in reversed(range(1, L + 1)):  # backward
        calls += [partial(np.matmul, Z[l - 1].T, D[l], out=GW[l - 1]),
                  partial(np.matmul, ones, D[l], out=Gb[l - 1])]
        if l > 1:
            calls += [partial(np.matmul, D[l], W[l - 1].T, out=D[l - 1]),
                      partial(np.greater, Z[l - 1], 0, out=mask[l - 1]),
                      partial(np.multiply, D[l - 1], mask[l - 1], out=D[l - 1])]
    w, gw, sw = params[:n_w], grad[:n_w], s[:n_w]
    calls += [partial(np.multiply, w, alpha / n, out=sw), partial(np.add, gw, sw, out=gw)]
    calls += [  # Adam
        partial(np.multiply, m, beta_1, out=m), partial(np.multiply, grad, 1 - beta_1, out=s),
        partial(np.add, m, s, out=m), partial(np.multiply, v, beta_2, out=v),
        partial(np.square, grad, out=grad), partial(np.multiply, grad, 1 - beta_2, out=grad),
        partial(np.add, v, grad, out=v), partial(np.sqrt, v, out=grad),
        partial(np.add, grad, epsilon, out=grad), adam_update,
    ]

    def run():
        for call in calls:
            call()
        return state["loss"]

    return run


def numpy_floor(units, X, y, kind, batch_size, repeats=7, steps=10):
    """Seconds per epoch of the bare NumPy calls of this workload's training: for
    each batch the gather of its shuffled rows (``np.take`` into a buffer, as every
    library shuffles) and ``bare_step``. No NumPy implementation trains faster on
    the machine it runs on; sklearn's time over it bounds the speed-up within reach of any."""
    n = min(batch_size, X.shape[0])
    rng = np.random.RandomState(0)
    if kind == "regressor":
        output, Y_all = "identity", y[:, np.newaxis]
    elif units[-1] == 1:
        output, Y_all = "logistic", (y == np.unique(y)[1])[:, np.newaxis]
    else:
        output = "softmax"
        Y_all = np.unique(y, return_inverse=True)[1][:, np.newaxis] == np.arange(units[-1])
    Y_all = Y_all.astype(X.dtype)
    X_b, Y_b = np.empty((n, X.shape[1]), X.dtype), np.empty((n, units[-1]), X.dtype)
    params = (rng.standard_normal(n_parameters(units)) * 0.05).astype(X.dtype)
    run = bare_step(units, X_b, Y_b, output, params)
    times = []
    for _ in range(repeats):
        order = rng.permutation(X.shape[0])
        start = CLOCK()
        for step in range(steps):
            rows = order[(step * n) % (X.shape[0] - n + 1):][:n]
            np.take(X, rows, axis=0, out=X_b, mode="clip")
            np.take(Y_all, rows, axis=0, out=Y_b, mode="clip")
            run()
        times.append((CLOCK() - start) / steps)
    return min(times) * X.shape[0] / n  # a floor: the fastest of its repeats


def peak_memory_mb(name, library, quick, threads):
    """Peak memory one fit adds beyond the loaded data, in a child process (Linux:
    the high-water mark is reset after loading and a first fit on a few rows, read
    from /proc after the fit). One-time costs are not in it: numba's import and
    kernels add about 100 MB to a process once, torch's import about 250 MB."""
    if not Path("/proc/self/clear_refs").exists():
        return float("nan")
    cmd = [sys.executable, str(Path(__file__)), "--child-memory", name, library,
           "--threads", str(threads)] + (["--quick"] if quick else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return float("nan")


def child_memory(name, library, quick):
    kind, make, settings, _epochs, _, dtype = workload_specs(quick)[name]
    X, y = make()
    X = X.astype(dtype)

    def status(field):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024  # kB -> MB

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # a fit on a few rows first: the library's one-time costs (its imports,
        # numba's compiled kernels, torch's allocator) are not a fit's
        LIBRARIES[library](kind, X[:64], y[:64], settings, 1, dtype)
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM)
        before = status("VmRSS")
        LIBRARIES[library](kind, X, y, settings, 1, dtype)
    print(round(status("VmHWM") - before, 1))


def run(quick=False, repeats=None, threads=1, memory=True, only=None):
    repeats = repeats or (3 if quick else 5)
    clock = use_clock(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    rows, peak_samples = [], {"float64": [], "float32": []}
    with threadpool_limits(limits=threads, user_api="blas"):
        for name, (kind, make, settings, epochs, unit, dtype) in workload_specs(
                quick).items():
            if only is not None and only not in name:
                continue
            X, y = make()
            X = X.astype(dtype)
            per_unit = X.shape[0] if unit == "update" else 1
            units = layer_units(X, kind, y, settings["hidden_layer_sizes"])
            times = {lib: [] for lib in LIBRARIES}
            floors = {"matmul": [], "numpy": []}
            peaks, losses = [], {}
            for fit in LIBRARIES.values():  # untimed warm-up: one-time initialisation
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fit(kind, X[:512], y[:512], settings, 1, dtype)
            # the libraries, the floors and the GEMM peak in turn, so that all of them
            # see the same machine (its speed can drift within a run)
            short = {lib: [] for lib in LIBRARIES}  # per-row: one-epoch fits too
            for round_ in range(repeats):
                for lib, fit in rotated(LIBRARIES, round_):
                    if lib == "ours, float32" and dtype == "float32":  # ours already
                        losses[lib], times[lib] = float("nan"), [float("nan")]
                        short[lib] = [float("nan")] if unit == "update" else []
                        continue
                    losses[lib], elapsed = timed(fit, kind, X, y, settings, epochs, dtype)
                    times[lib].append(elapsed / epochs / per_unit)
                    if unit == "update":
                        short[lib].append(timed(fit, kind, X, y, settings, 1, dtype)[1])
                if unit == "epoch":  # (the per-row workload has no matrix products)
                    batch = settings["batch_size"]
                    floors["matmul"].append(matmul_floor(units, X.shape[0], batch, dtype))
                    floors["numpy"].append(numpy_floor(units, X, y, kind, batch))
                peaks.append(gemm_peak(dtype, repeats=3))
            medians = {lib: statistics.median(t) for lib, t in times.items()}
            ratios = round_ratios(times, floors)
            peak = statistics.median(peaks)
            peak_samples[dtype] += peaks
            flops = 6 * X.shape[0] * n_weights(X, kind, y, settings["hidden_layer_sizes"])
            gflops = flops / (medians["skbackprop"] * per_unit) / 1e9
            rows.append(dict(
                workload=name, unit=unit, seconds=medians, ratios=ratios, losses=losses,
                per_row=per_row_costs(times, short, epochs, X.shape[0]) if short[
                    "skbackprop"] else None,
                floor=statistics.median(floors["matmul"] or [float("nan")]),
                numpy_floor=statistics.median(floors["numpy"] or [float("nan")]),
                gflops=gflops, peak=peak, percent_of_peak=100 * gflops / peak,
                memory={lib: peak_memory_mb(name, lib, quick, threads) if memory and not (
                    lib == "ours, float32" and dtype == "float32") else float("nan")
                        for lib in LIBRARIES},
            ))
    peaks = {dtype: (min(p), max(p)) for dtype, p in peak_samples.items() if p}
    return dict(rows=rows, peaks=peaks, repeats=repeats, threads=threads, clock=clock,
                libraries=list(LIBRARIES), blas=blas_kernels())


def rotated(libraries, round_):
    """The libraries in the order round ``round_`` times them: each round starts one
    further along, so that no library always runs first, right after the peak and
    the floors that end a round (a 2048 x 2048 product flushes the CPU's caches and
    the next fit starts cold, which costs a small fit a millisecond or so)."""
    items = list(libraries.items())
    shift = round_ % len(items)
    return items[shift:] + items[:shift]


def timed(fit, *args):
    """(fit's result, seconds it took), warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = CLOCK()
        result = fit(*args)
        return result, CLOCK() - start


def median_ratio(top, bottom):
    """The median over the rounds of ``top[i] / bottom[i]`` (NaN where a side has
    no time: a column that does not apply)."""
    pairs = [a / b for a, b in zip(top, bottom, strict=False)
             if not (np.isnan(a) or np.isnan(b))]
    return statistics.median(pairs) if pairs and len(top) == len(bottom) else float("nan")


def round_ratios(times, floors):
    """Each ratio the table reports, as the median over the rounds of the ratio
    within a round (the libraries of a round ran back to back, so a drift of the
    machine's speed between rounds cancels): sklearn's time over each of ours,
    torch's over ours, ours over each floor."""
    ratios = {f"sklearn / {lib}": median_ratio(times["sklearn"], t)
              for lib, t in times.items() if lib not in ("sklearn", "torch")}
    if "torch" in times:
        ratios["torch / skbackprop"] = median_ratio(times["torch"], times["skbackprop"])
    for floor, values in floors.items():
        ratios[f"skbackprop / {floor} floor"] = median_ratio(times["skbackprop"], values)
    return ratios


def per_row_costs(times, short, epochs, n_rows):
    """Per library and round, a per-row fit's cost as a fixed part per fit and a
    part per update (seconds): the straight line through that round's
    ``epochs``-epoch fit (``times``, per update) and one-epoch fit (``short``,
    seconds). ``{lib: {"fixed": [...], "per_update": [...]}}``."""
    costs = {}
    for lib, per_update_long in times.items():
        fixed, per_update = [], []
        for long_per_update, one in zip(per_update_long, short[lib], strict=False):
            update = (long_per_update * epochs * n_rows - one) / ((epochs - 1) * n_rows)
            fixed.append(one - n_rows * update)
            per_update.append(update)
        costs[lib] = {"fixed": fixed, "per_update": per_update}
    return costs


def format_per_row(results, updates=1200):
    """The per-row workloads as fixed cost + cost per update (medians over the
    rounds), and the median over the rounds of the ratio of whole fits of
    ``updates`` updates."""
    lines = []
    for r in results["rows"]:
        if not r.get("per_row"):
            continue
        costs = r["per_row"]
        totals = {lib: [f + updates * u for f, u in zip(c["fixed"], c["per_update"],
                                                         strict=True)]
                  for lib, c in costs.items()}
        ours = totals["skbackprop"]
        lines += ["", (f"{r['workload']}: a fit costs a fixed part plus a part per "
                  f"update (medians over the rounds); the ratio is of whole fits of "
                  f"{updates} updates in the same round, its median over the rounds."), "",
                  ("| library | fixed per fit | per update | fit of "
                  f"{updates} updates | its time / ours |"),
                  "| --- | --- | --- | --- | --- |"]
        for lib, c in costs.items():
            if all(np.isnan(t) for t in totals[lib]):  # (a column that does not apply)
                lines.append(f"| {lib} | n/a | n/a | n/a | n/a |")
                continue
            fixed, per_update = (statistics.median(c[k]) for k in ("fixed", "per_update"))
            lines.append(f"| {lib} | {fixed * 1e3:.2f} ms | {per_update * 1e6:.2f} µs | "
                         f"{statistics.median(totals[lib]) * 1e3:.2f} ms | "
                         f"{median_ratio(totals[lib], ours):.2f}x |")
    return "\n".join(lines)


def format_results(results):
    libs = results["libraries"]
    ours = [lib for lib in libs if lib not in ("sklearn", "torch")]

    def fmt(seconds, unit):
        if np.isnan(seconds):
            return "n/a"
        return f"{seconds * 1e6:.1f} µs" if unit == "update" else f"{seconds * 1e3:.1f} ms"

    def ratio(value):
        return "n/a" if np.isnan(value) else f"{value:.2f}x"

    lines = [
        (f"{results.get('clock', 'CPU time')}, median of {results['repeats']} "
         "interleaved rounds (each starting one library further along), "
         f"{results['threads']} BLAS thread(s); BLAS: "
         f"{results.get('blas', 'not reported')}. Each ratio is the median over the "
         "rounds of the ratio within a round. "
         + ("'skbackprop' runs the fused kernels (numba installed); 'ours, NumPy "
            "step' is the same fit with them off. " if FUSED else
            "numba is not installed: 'skbackprop' is the NumPy step. ")
         + "'ours, float32' fits the float64 workloads with dtype='float32' (n/a on "
         "the float32 ones). The NumPy matrix-multiply peak and the floors are "
         "measured with each workload, in turn with its fits (a machine's speed "
         "can drift within a run); the peak ranged over "
         + ", ".join(f"{low:.0f}-{high:.0f} GFLOP/s {dtype}"
                     for dtype, (low, high) in results["peaks"].items()) + ". "
         "'sklearn / X' = sklearn's time over X's (above 1: X faster). 'matmul "
         "floor': the time the workload's matrix products alone take per epoch at "
         "these shapes (outer products as the multiplies every library computes "
         "them with), the fastest of its repeats; 'ours / floor' how far our fit is "
         "from it. 'NumPy floor': the same for every NumPy call of a plain "
         "training step (each batch's gather of shuffled rows, then an Adam step's "
         "products and elementwise passes, buffers preallocated, no program "
         "around them). '% of peak': our GFLOP/s against the peak measured with "
         "that workload."),
        "",
        "| workload | per | " + " | ".join(libs) + " | "
        + " | ".join(f"sklearn / {lib}" for lib in ours)
        + (" | torch / skbackprop" if "torch" in libs else "")
        + " | matmul floor (ours / floor) | NumPy floor (ours / floor) "
        "| ours GFLOP/s (% of peak) | peak MB added (" + " / ".join(libs)
        + ") | final train loss (" + " / ".join(libs) + ") |",
        "|" + " --- |" * (2 + len(libs) + len(ours) + ("torch" in libs) + 5),
    ]
    for r in results["rows"]:
        s = r["seconds"]
        q = r["ratios"]
        cells = [r["workload"], r["unit"], *(fmt(s[lib], r["unit"]) for lib in libs),
                 *(ratio(q[f"sklearn / {lib}"]) for lib in ours)]
        if "torch" in libs:
            cells.append(ratio(q["torch / skbackprop"]))
        cells += ["n/a" if np.isnan(r[floor]) else
                  f"{fmt(r[floor], r['unit'])} ({ratio(q[f'skbackprop / {name} floor'])})"
                  for floor, name in (("floor", "matmul"), ("numpy_floor", "numpy"))]
        cells += [f"{r['gflops']:.1f} ({r['percent_of_peak']:.0f}%)",
                  " / ".join(f"{r['memory'][lib]:.0f}" for lib in libs),
                  " / ".join(f"{r['losses'][lib]:.4g}" for lib in libs)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" + format_per_row(results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--only", default=None, metavar="TEXT",
                        help="run only the workloads whose name contains TEXT")
    parser.add_argument("--write", action="store_true", help="write RESULTS.md")
    parser.add_argument("--json", action="store_true", help="print raw results as JSON")
    parser.add_argument("--child-memory", nargs=2, metavar=("WORKLOAD", "LIBRARY"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write and args.only:
        parser.error("--write records the whole suite: leave out --only")
    if args.child_memory:
        with threadpool_limits(limits=args.threads, user_api="blas"):
            if torch is not None:
                torch.set_num_threads(args.threads)
            child_memory(*args.child_memory, args.quick)
        return None
    results = run(args.quick, args.repeats, args.threads, memory=not args.no_memory,
                  only=args.only)
    table = format_results(results)
    print(json.dumps(results, default=float, indent=1) if args.json else table)
    if args.write:
        (HERE / "RESULTS.md").write_text(
            "# Benchmark results\n\nWritten by `python benchmarks/bench_suite.py "
            f"{'--quick ' if args.quick else ''}--write` on a 2-core x86-64 "
            "CPU. Absolute times can move by up to ~25% between runs; ratios "
            "less.\n\n" + table + "\n")
    return results


if __name__ == "__main__":
    main()
