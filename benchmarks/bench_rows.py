"""Per-row SGD (batch_size=1) by network size: the written-out path, the array path
and sklearn's MLP, microseconds per update.

Usage::

    python benchmarks/bench_rows.py            # about a minute
    python benchmarks/bench_rows.py --quick    # seconds

skbackprop trains small networks row by row on Python floats (the
epoch written out weight by weight), larger ones with its array code; the switch is
``skbackprop.rowwise_limit``. This script times both paths on every size (forcing
each in turn) next to sklearn, interleaved, median of ``--repeats``, on one BLAS
thread: the measurement behind that switch, and the per-row speed-up over sklearn
as networks grow. All three reach the same final loss (same algorithm, same start).
"""

import statistics
import time
import warnings

import numpy as np
from _cli import quick_main  # (benchmarks/: run as scripts)
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

from skbackprop import BackpropRegressor, rowwise_limit
from skbackprop.inspection import n_parameters

NETWORKS = [(2, (2,)), (4, (8,)), (8, (16,)), (16, (16,)), (16, (20,)), (16, (24,)),
            (24, (20,)), (16, (16, 16)), (16, (16, 16, 16))]  # inputs, hidden; one output


def fit(cls, X, y, settings, epochs, max_parameters=None):
    """(seconds, final loss) of one fit of ``epochs`` epochs; ``max_parameters``
    sets skbackprop's switch to force one path."""
    limit = rowwise_limit(max_parameters) if max_parameters is not None else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            model = cls(**settings, max_iter=epochs).fit(X, y)
            return time.perf_counter() - start, model.loss_
    finally:
        if limit is not None:
            limit.__exit__()


def per_update(cls, X, y, settings, epochs, max_parameters=None):
    """Microseconds per update in steady state: the time ``epochs`` epochs take over
    that of one (which holds the per-fit costs: validation, set-up), per update, each
    the fastest of three fits; and the final loss."""
    one = min(fit(cls, X, y, settings, 1, max_parameters)[0] for _ in range(3))
    fits = [fit(cls, X, y, settings, epochs, max_parameters) for _ in range(3)]
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
            paths = [("written out", BackpropRegressor, 10**9),
                     ("arrays", BackpropRegressor, 0), ("sklearn", MLPRegressor, None)]
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
    lines = [
        (f"µs per update in steady state, 1 BLAS thread; skbackprop takes the "
         f"written-out path up to {rowwise_limit.current()} parameters. Ratio = "
         "sklearn / skbackprop's path."),
        "",
        ("| network | parameters | written out | arrays | sklearn | sklearn / written "
         "out | sklearn / arrays | final loss (written out / arrays / sklearn) |"),
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        t = r["micros"]
        lines.append(
            f"| {r['network']} | {r['parameters']} | {t['written out']:.1f} | "
            f"{t['arrays']:.1f} | {t['sklearn']:.1f} | "
            f"{t['sklearn'] / t['written out']:.1f}x | {t['sklearn'] / t['arrays']:.1f}x | "
            + " / ".join(f"{r['losses'][k]:.6g}" for k in ("written out", "arrays", "sklearn"))
            + " |")
    return "\n".join(lines)


def main(argv=None):
    return quick_main(__doc__, run, format_table, argv)


if __name__ == "__main__":
    main()
