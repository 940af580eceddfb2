"""Our estimators on a GPU (scikit-learn's array API dispatch) against our NumPy path
and a plain PyTorch loop on the same GPU.

Usage::

    python benchmarks/bench_gpu.py                      # on cuda: the suite's workloads
    python benchmarks/bench_gpu.py --device cpu --quick # try it out without a GPU

For the suite's two large workloads (50k x 100 regression, hidden (256, 128), batch
256; 200k x 200 with 5 classes, hidden (512, 256), batch 512; float32, adam) it times
one epoch of

- ours on NumPy with ``--threads`` BLAS threads (2, as on this project's machine),
- ours on the device (torch tensors, ``array_api_dispatch=True``),
- a plain PyTorch loop on the device (``nn.Sequential``, ``torch.optim.Adam``,
  shuffled batches, the epoch loss summed on the device and read once),

as medians over epochs (ours from ``history_["seconds"]``; the first epoch on the
device, which warms up its kernels, is left out), and reports the final training
losses. Our NumPy and device fits start from the same weights and draw the same
batches, so their losses after the same epochs should agree within float32
rounding: the relative difference is shown. The targets (issue 13): on 200k x 200
the device epoch at least 20x faster than NumPy's and within 1.5x of the PyTorch
loop. Writes the table to stdout and, with ``--out``, as JSON.
"""

import argparse
import itertools
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # array API dispatch needs scipy's

import numpy as np
import sklearn
import torch
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_suite import classification, regression

from skbackprop import BackpropClassifier, BackpropRegressor


def workloads(quick):
    big, huge = (5_000, 20_000) if quick else (50_000, 200_000)
    return {
        f"{big // 1000}k x 100 regression, (256, 128), batch 256": (
            BackpropRegressor, lambda: regression(big), (256, 128), 256),
        f"{huge // 1000}k x 200, 5 classes, (512, 256), batch 512": (
            BackpropClassifier, lambda: classification(huge), (512, 256), 512),
    }


def fit_ours(estimator, X, y, hidden, batch, epochs):
    model = estimator(hidden_layer_sizes=hidden, batch_size=batch, max_iter=epochs,
                      tol=0.0, n_iter_no_change=np.inf, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return model


def epoch_seconds(model, skip_first):
    seconds = model.history_["seconds"].to_list()
    return statistics.median(seconds[1:] if skip_first and len(seconds) > 1 else seconds)


def torch_loop(estimator, X, y, hidden, batch, epochs, device):
    """The loop a PyTorch user writes; (median seconds per epoch, final loss)."""
    torch.manual_seed(0)
    X_t = X.to(device)
    if estimator is BackpropRegressor:
        y_t, n_out = y.to(device, torch.float32).reshape(-1, 1), 1

        def criterion(out, target):
            return 0.5 * torch.nn.functional.mse_loss(out, target)
    else:
        y_t, n_out = y.to(device), int(y.max()) + 1
        criterion = torch.nn.CrossEntropyLoss()
    units = [X_t.shape[1], *hidden, n_out]
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(units)):
        layers.append(torch.nn.Linear(a, b, device=device))
        if i < len(units) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    n, times, loss_value = X_t.shape[0], [], None
    for _ in range(epochs):
        synchronize(device)
        started = time.perf_counter()
        total = torch.zeros((), device=device)
        for rows in torch.randperm(n, device=device).split(batch):
            optimizer.zero_grad()
            loss = criterion(net(X_t[rows]), y_t[rows])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(rows)
        loss_value = float(total) / n  # reads the device, as our epoch does
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:] if len(times) > 1 else times), loss_value


def synchronize(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def run(device, quick, threads, cpu_epochs, device_epochs):
    results = []
    torch.set_num_threads(threads)
    for name, (estimator, make, hidden, batch) in workloads(quick).items():
        X, y = make()
        X = X.astype(np.float32)
        with threadpool_limits(threads):
            numpy_model = fit_ours(estimator, X, y, hidden, batch, cpu_epochs)
        X_d = torch.asarray(X, device=device)
        y_d = torch.asarray(y, device=device)
        with sklearn.config_context(array_api_dispatch=True):
            device_model = fit_ours(estimator, X_d, y_d, hidden, batch, device_epochs)
        loop_seconds, loop_loss = torch_loop(estimator, X_d, y_d, hidden, batch,
                                             device_epochs, device)
        same = min(cpu_epochs, device_epochs)
        a = np.array(numpy_model.loss_curve_[:same])
        b = np.array(device_model.loss_curve_[:same])
        result = {
            "workload": name,
            "numpy_seconds": epoch_seconds(numpy_model, skip_first=False),
            "device_seconds": epoch_seconds(device_model, skip_first=True),
            "torch_seconds": loop_seconds,
            "numpy_loss": float(a[-1]),
            "device_loss_same_epochs": float(b[-1]),
            "loss_relative_difference": float(np.max(np.abs(a - b) / np.abs(a))),
            "device_final_loss": float(device_model.loss_),
            "torch_final_loss": loop_loss,
            "epochs": {"numpy": cpu_epochs, "device": device_epochs},
        }
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


def table(results, device, threads):
    lines = [
        (f"| workload (float32, adam) | ours, NumPy, {threads} threads | ours, {device} | "
        f"PyTorch loop, {device} | NumPy / ours-{device} | ours / PyTorch | loss: NumPy "
        f"vs ours-{device} (rel. diff.) | final loss: ours-{device} / PyTorch |"),
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['workload']} | {r['numpy_seconds']:.3g} s | {r['device_seconds']:.3g} s"
            f" | {r['torch_seconds']:.3g} s | "
            f"{r['numpy_seconds'] / r['device_seconds']:.1f}x | "
            f"{r['device_seconds'] / r['torch_seconds']:.2f}x | {r['numpy_loss']:.6g} vs "
            f"{r['device_loss_same_epochs']:.6g} ({r['loss_relative_difference']:.1e}) | "
            f"{r['device_final_loss']:.5g} / {r['torch_final_loss']:.5g} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="smaller data")
    parser.add_argument("--threads", type=int, default=2, help="NumPy's BLAS threads")
    parser.add_argument("--cpu-epochs", type=int, default=2)
    parser.add_argument("--device-epochs", type=int, default=6)
    parser.add_argument("--out", help="also write the results here, as JSON")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("no CUDA GPU: pass --device cpu to try the script out")
    blas = [(i["internal_api"], i.get("architecture")) for i in threadpool_info()
            if i["user_api"] == "blas"]
    gpu = torch.cuda.get_device_name() if args.device.startswith("cuda") else "none"
    print(f"torch {torch.__version__}, sklearn {sklearn.__version__}, GPU {gpu}, "
          f"BLAS {blas}", flush=True)
    results = run(args.device, args.quick, args.threads, args.cpu_epochs,
                  args.device_epochs)
    print(table(results, args.device, args.threads))
    if args.out:
        Path(args.out).write_text(json.dumps({"gpu": gpu, "blas": blas,
                                              "results": results}, indent=2))


if __name__ == "__main__":
    main()
