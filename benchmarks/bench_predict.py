"""One-row predictions: skbackprop against sklearn's MLP, microseconds per call.

Usage::

    python benchmarks/bench_predict.py            # about 20 seconds
    python benchmarks/bench_predict.py --quick    # a few seconds

A service that scores one request at a time pays a prediction's fixed costs, not
its arithmetic: input validation, the forward pass's calls. Both libraries are
fitted on the same data with the same settings; ``predict`` (and
``predict_proba``) of one row, and of 1000 rows, are timed in turn, each call many
times, median of ``--repeats`` rounds, on one BLAS thread. The predictions are
compared too: same weights, same outputs.
"""

import statistics
import time
import warnings

import numpy as np
from _cli import quick_main  # (benchmarks/: run as scripts)
from sklearn.datasets import load_iris, make_regression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_limits

from skbackprop import BackpropClassifier, BackpropRegressor


def cases():
    """name -> (ours, sklearn, X, methods): the same settings fitted on the same data."""
    X, y = load_iris(return_X_y=True)
    Xr, yr = make_regression(n_samples=300, n_features=20, random_state=0)
    yr = yr / yr.std()
    settings = dict(hidden_layer_sizes=(10,), max_iter=300, random_state=0)
    fitted = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted["iris classifier, hidden 10"] = (
            BackpropClassifier(**settings).fit(X, y), MLPClassifier(**settings).fit(X, y),
            X, ("predict", "predict_proba"))
        fitted["regressor, 20 features, hidden 10"] = (
            BackpropRegressor(**settings).fit(Xr, yr), MLPRegressor(**settings).fit(Xr, yr),
            Xr, ("predict",))
    return fitted


def per_call(method, X, calls):
    """Seconds per call of ``method(X)``, over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        method(X)
    return (time.perf_counter() - start) / calls


def run(quick=False, repeats=None):
    repeats = repeats or (3 if quick else 7)
    calls = 200 if quick else 1000
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for name, (ours, theirs, X, methods) in cases().items():
            for method in methods:
                for n_rows in (1, 1000):
                    batch = np.ascontiguousarray(np.resize(X, (n_rows, X.shape[1])))
                    times = {"skbackprop": [], "sklearn": []}
                    for _ in range(repeats):
                        for label, model in (("skbackprop", ours), ("sklearn", theirs)):
                            n = calls if n_rows == 1 else max(calls // 20, 10)
                            times[label].append(per_call(getattr(model, method), batch, n))
                    medians = {k: statistics.median(v) for k, v in times.items()}
                    same = np.allclose(getattr(ours, method)(batch),
                                       getattr(theirs, method)(batch), rtol=1e-6)
                    rows.append(dict(case=name, method=method, rows=n_rows,
                                     micros={k: v * 1e6 for k, v in medians.items()},
                                     same=bool(same)))
    return rows


def format_table(rows):
    lines = ["µs per call, 1 BLAS thread, median of interleaved rounds.", "",
             ("| model | method | rows | skbackprop | sklearn | sklearn / skbackprop "
             "| same outputs |"),
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        t = r["micros"]
        lines.append(f"| {r['case']} | {r['method']} | {r['rows']} | "
                     f"{t['skbackprop']:.1f} | {t['sklearn']:.1f} | "
                     f"{t['sklearn'] / t['skbackprop']:.2f}x | {'yes' if r['same'] else 'no'} |")
    return "\n".join(lines)


def main(argv=None):
    return quick_main(__doc__, run, format_table, argv)


if __name__ == "__main__":
    main()
