"""Per-row SGD (batch_size=1) by network size: the written-out path on Python floats
and compiled by numba, the array path and sklearn's MLP, microseconds per update.

Usage::

    python benchmarks/bench_rows.py            # about a minute
    python benchmarks/bench_rows.py --quick    # seconds

skbackprop trains small networks row by row (the epoch written out weight by
weight), larger ones with its array code; the switch is ``skbackprop.rowwise_limit``.
Written out, the epoch runs on Python floats, or, with numba installed (the ``fast``
extra) on fits large enough to pay for importing it, compiled by numba from the same
source (the same numbers to the last bit); the switch is ``fast_kernels_min_work``,
set to 0 here to force it. This script times every path on every size (forcing each
in turn) next to sklearn, interleaved, median of ``--repeats``, on one BLAS thread:
the measurements behind those switches, and the per-row speed-up over sklearn as
networks grow. All of them reach the same final loss (same algorithm, same start).
Without numba, "compiled" is the Python epoch again.
"""

import statistics
import time
import warnings

import numpy as np
from _cli import quick_main  # (benchmarks/: run as scripts)
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

from skbackprop import BackpropRegressor, config_context, fast_kernels, rowwise_limit
from skbackprop.inspection import n_parameters

NETWORKS = [(2, (2,)), (4, (8,)), (8, (16,)), (16, (16,)), (16, (20,)), (16, (24,)),
            (24, (20,)), (16, (16, 16)), (16, (16, 16, 16))]  # inputs, hidden; one output


# path -> the settings that force it (None: sklearn's)
PATHS = {"written out": dict(rowwise_limit=10**9, fast_kernels=False),
         "compiled": dict(rowwise_limit=10**9, fast_kernels_min_work=0),
         "arrays": dict(rowwise_limit=0), "sklearn": None}


def fit(cls, X, y, settings, epochs, config=None):
    """(seconds, final loss) of one fit of ``epochs`` epochs; ``config`` (of
    ``PATHS``) forces one of skbackprop's paths."""
    with warnings.catch_warnings(), config_context(**(config or {})):
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model = cls(**settings, max_iter=epochs).fit(X, y)
        return time.perf_counter() - start, model.loss_


def per_update(cls, X, y, settings, epochs, config=None):
    """Microseconds per update in steady state: the time ``epochs`` epochs take over
    that of one (which holds the per-fit costs: validation, set-up), per update, each
    the fastest of three fits; and the final loss."""
    one = min(fit(cls, X, y, settings, 1, config)[0] for _ in range(3))
    fits = [fit(cls, X, y, settings, epochs, config) for _ in range(3)]
    seconds, loss = min(fits)
    return (seconds - one) / (epochs - 1) / X.shape[0] * 1e6, loss


def run(quick=False, repeats=None):
    repeats = repeats or (2 if quick else 5)
    n_rows, epochs = (20, 5) if quick else (50, 20)
    rng = np.random.RandomState(0)
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for n_in, hidden in NETWORKS[: 3 if quick else None]:
            X = rng.normal(size=(n_rows, n_in))
            y = np.tanh(X @ rng.normal(size=n_in))
            settings = dict(hidden_layer_sizes=hidden, activation="tanh", solver="sgd",
                            batch_size=1, learning_rate_init=0.01, tol=0.0,
                            n_iter_no_change=np.inf, random_state=0)
            paths = [(label, MLPRegressor if config is None else BackpropRegressor, config)
                     for label, config in PATHS.items()]
            for _, cls, switch in paths:  # untimed: first-use costs (compiling, imports)
                fit(cls, X, y, settings, 1, switch)
            times, losses = {label: [] for label, _, _ in paths}, {}
            for _ in range(repeats):
                for label, cls, switch in paths:
                    seconds, losses[label] = per_update(cls, X, y, settings, epochs, switch)
                    times[label].append(seconds)
            medians = {label: statistics.median(t) for label, t in times.items()}
            rows.append(dict(network="-".join(map(str, (n_in, *hidden, 1))),
                             parameters=n_parameters((n_in, *hidden, 1)), micros=medians,
                             losses=losses))
    return rows


def format_table(rows):
    numba = "installed" if fast_kernels.active() else "not running: the Python epoch again"
    lines = [
        (f"µs per update in steady state, 1 BLAS thread; skbackprop takes the "
         f"written-out path up to {rowwise_limit.current()} parameters, compiled by "
         f"numba ({numba}) on fits large enough to pay. Ratio = sklearn / skbackprop's "
         "path."),
        "",
        ("| network | parameters | written out | compiled | arrays | sklearn | sklearn / "
         "written out | sklearn / compiled | sklearn / arrays | final loss (written out "
         "/ compiled / arrays / sklearn) |"),
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        t = r["micros"]
        lines.append(
            f"| {r['network']} | {r['parameters']} | " + " | ".join(
                f"{t[k]:.2f}" for k in PATHS) + " | " + " | ".join(
                f"{t['sklearn'] / t[k]:.1f}x" for k in PATHS if k != "sklearn") + " | "
            + " / ".join(f"{r['losses'][k]:.6g}" for k in PATHS) + " |")
    return "\n".join(lines)


def main(argv=None):
    return quick_main(__doc__, run, format_table, argv)


if __name__ == "__main__":
    main()
