"""Check that two git revisions train the same networks: a refactor's safety net.

Usage::

    python benchmarks/compare_weights.py BASE_REV        # BASE_REV vs the work tree
    python benchmarks/compare_weights.py BASE_REV --tol 1e-12

Runs a fixed set of fits (every solver, both estimators, early stopping, given
validation data, warm start, partial_fit, the per-row path, dropout, sample and
class weights, schedules, float32, sparse input) once with the package checked out
at BASE_REV (in a temporary git worktree, in a subprocess) and once with the work
tree's, and prints the largest difference of each fit's weights, biases and loss
curve, and whether its epoch count agrees. Exits 1 when a fit differs by more than
``--tol`` (default 1e-12) or counts other epochs.
"""

import argparse
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def fits():
    """(name, estimator class name, parameters, calls): each call is
    ("fit" | "partial_fit", X, y, keyword arguments)."""
    from scipy.sparse import csr_matrix
    from sklearn.datasets import load_digits, load_iris, make_regression
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    Xd, yd = load_digits(return_X_y=True)
    Xd = StandardScaler().fit_transform(Xd[:400])
    yd = yd[:400]
    Xr, yr = make_regression(120, 5, n_targets=2, noise=0.5, random_state=0)
    yr = yr / 100
    sw = np.random.RandomState(1).uniform(0.2, 2, size=len(y))
    place = np.array([[8.0, 8.0], [7.0, 9.0], [6.0, 10.0], [5.0, 12.0]])
    placed = np.array([4.0, 5.0, 8.0, 7.0])
    multilabel = np.column_stack([y == 0, y == 1]).astype(int)
    small = {"hidden_layer_sizes": (6,), "random_state": 0}
    C, R = "BackpropClassifier", "BackpropRegressor"
    return [
        ("adam", C, dict(small, max_iter=30), [("fit", X, y, {})]),
        ("sgd nesterov", C, dict(small, solver="sgd", max_iter=30),
         [("fit", X, y, {})]),
        ("sgd classical adaptive", C,
         dict(small, solver="sgd", nesterovs_momentum=False, learning_rate="adaptive",
              n_iter_no_change=2, tol=0.05, max_iter=40), [("fit", X, y, {})]),
        ("lbfgs", C, dict(small, solver="lbfgs", max_iter=50), [("fit", X, y, {})]),
        ("lbfgs early stopping", C,
         dict(small, solver="lbfgs", max_iter=50, early_stopping=True),
         [("fit", X, y, {})]),
        ("adam early stopping", C,
         dict(small, max_iter=60, early_stopping=True, n_iter_no_change=3,
              learning_rate_init=0.01), [("fit", Xd, yd, {})]),
        ("sgd early stopping loss", C,
         dict(small, solver="sgd", max_iter=40, early_stopping=True, scoring="loss"),
         [("fit", X, y, {})]),
        ("given validation data", C, dict(small, max_iter=20),
         [("fit", X[::2], y[::2], {"X_val": X[1::2], "y_val": y[1::2]})]),
        ("warm start", C, dict(small, max_iter=10, warm_start=True),
         [("fit", X, y, {}), ("fit", X, y, {})]),
        ("partial_fit", C, dict(small),
         [("partial_fit", X, y, {"classes": [0, 1, 2]}),
          ("partial_fit", X, y, {"epochs": 3})]),
        ("partial_fit adaptive", R,
         dict(small, solver="sgd", learning_rate="adaptive", n_iter_no_change=1,
              tol=10.0), [("partial_fit", Xr, yr, {"epochs": 4}),
                          ("partial_fit", Xr, yr, {"epochs": 4})]),
        ("per-row placement", R,
         dict(hidden_layer_sizes=(2,), solver="sgd", batch_size=1, momentum=0,
              learning_rate_init=0.01, max_iter=50, shuffle=False, random_state=0),
         [("fit", place, placed, {})]),
        ("per-row shuffled weighted", R,
         dict(hidden_layer_sizes=(3,), solver="sgd", batch_size=1, activation="tanh",
              max_iter=20, random_state=0),
         [("fit", X, y / 2, {"sample_weight": sw})]),
        ("dropout", C, dict(small, dropout=0.2, max_iter=20), [("fit", X, y, {})]),
        ("sample and class weights", C,
         dict(small, class_weight={0: 2.0, 1: 1.0, 2: 0.5}, max_iter=20),
         [("fit", X, y, {"sample_weight": sw})]),
        ("cosine clip_norm", C,
         dict(small, learning_rate="cosine", clip_norm=0.5, max_iter=25),
         [("fit", X, y, {})]),
        ("step invscaling", R,
         dict(small, solver="sgd", learning_rate="invscaling", max_iter=25),
         [("fit", Xr, yr, {})]),
        ("multi-output regression", R, dict(small, max_iter=25, batch_size=32),
         [("fit", Xr, yr, {})]),
        ("poisson lbfgs", R, dict(small, loss="poisson", solver="lbfgs", max_iter=40),
         [("fit", X, np.abs(X[:, 0]) * 2, {})]),
        ("huber sgd", R, dict(small, loss="huber", solver="sgd", max_iter=25),
         [("fit", Xr, yr[:, 0], {})]),
        ("multilabel", C, dict(small, max_iter=25), [("fit", X, multilabel, {})]),
        ("float32", C, dict(small, max_iter=20, dtype="float32"), [("fit", X, y, {})]),
        ("sparse", C, dict(small, max_iter=20), [("fit", csr_matrix(X), y, {})]),
        ("diverging sgd", C,
         dict(small, solver="sgd", learning_rate_init=10.0, max_iter=20),
         [("fit", Xd, yd, {})]),
    ]


def run_fits(path):
    """Fit every set-up with the skbackprop importable here; save to ``path``."""
    import skbackprop

    results = {}
    for name, estimator, params, calls in fits():
        model = getattr(skbackprop, estimator)(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for method, X, y, kwargs in calls:
                getattr(model, method)(X, y, **kwargs)
        for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
            results[f"{name}|W{i}"] = np.asarray(W, dtype=np.float64)
            results[f"{name}|b{i}"] = np.asarray(b, dtype=np.float64)
        results[f"{name}|loss_curve"] = np.asarray(model.loss_curve_, dtype=np.float64)
        results[f"{name}|n_iter"] = np.asarray([model.n_iter_])
    np.savez(path, **results)


def compare(base, current, tol):
    """Rows (fit, largest difference, same epoch count); True when all agree."""
    names = sorted({key.split("|")[0] for key in base})
    ok, rows = True, []
    for name in names:
        keys = [k for k in base if k.startswith(name + "|") and not k.endswith("n_iter")]
        same_shapes = all(k in current and current[k].shape == base[k].shape
                          for k in keys)
        diff = max((float(np.max(np.abs(base[k] - current[k]), initial=0.0))
                    for k in keys), default=0.0) if same_shapes else np.inf
        same_epochs = (f"{name}|n_iter" in current
                       and base[f"{name}|n_iter"][0] == current[f"{name}|n_iter"][0])
        ok &= bool(diff <= tol and same_epochs)
        rows.append((name, diff, same_epochs))
    return ok, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", nargs="?", help="git revision to compare against")
    parser.add_argument("--tol", type=float, default=1e-12)
    parser.add_argument("--save", help=argparse.SUPPRESS)  # run the fits here only
    args = parser.parse_args(argv)
    if args.save:
        run_fits(args.save)
        return True
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q",
                        str(worktree), args.base], check=True)
        try:
            for label, root in (("base", worktree), ("current", REPO)):
                subprocess.run([sys.executable, __file__, "--save",
                                str(Path(tmp) / f"{label}.npz")], check=True,
                               env={"PYTHONPATH": str(root), **_environ()})
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(worktree)], check=False)
        with np.load(Path(tmp) / "base.npz") as b, np.load(Path(tmp) / "current.npz") as c:
            ok, rows = compare(dict(b), dict(c), args.tol)
    print(f"base = {args.base}; tolerance {args.tol:g}")
    print("| fit | largest difference | same epochs |")
    print("| --- | --- | --- |")
    for name, diff, same in rows:
        print(f"| {name} | {diff:.2e} | {'yes' if same else 'NO'} |")
    print("all equal" if ok else "DIFFERENT")
    return ok


def _environ():
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
