"""The benchmark script runs and compares like with like (no timing is asserted)."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # integration: run by .ci/run, left out by -m 'not slow'

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
bench_core = pytest.importorskip("bench_core")


def test_quick_benchmark_runs_and_both_libraries_reach_the_same_loss(capsys):
    rows = bench_core.main(["--quick", "--repeats", "1"])
    assert [r["unit"] for r in rows] == ["update", "epoch", "epoch"]
    for r in rows:
        assert r["skbackprop"] > 0 and r["sklearn"] > 0
        assert r["loss_ours"] == pytest.approx(r["loss_sklearn"], rel=1e-8)
    assert "| placement 2-2-1, batch_size=1 | update |" in capsys.readouterr().out


def table_rows_against_head(script, *args):
    """The body rows of the table ``script`` prints when run against HEAD, and then
    that no temporary worktree is left (skipped outside a git checkout)."""
    import shutil
    import subprocess
    root = Path(__file__).resolve().parent.parent
    if shutil.which("git") is None or subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
            check=False).returncode:
        pytest.skip("needs a git checkout")
    done = subprocess.run(
        [sys.executable, str(root / "benchmarks" / script), "HEAD", *args],
        capture_output=True, text=True, check=True, timeout=600)
    listed = subprocess.run(["git", "-C", str(root), "worktree", "list"],
                            capture_output=True, text=True, check=True).stdout
    assert len(listed.strip().splitlines()) == 1  # the temporary worktree is gone
    return [line for line in done.stdout.splitlines() if line.startswith("| ")][2:]


@pytest.mark.parametrize("kernels", [[], ["--no-kernels"]], ids=["kernels", "numpy"])
def test_compare_revisions_runs_against_head(kernels):
    rows = table_rows_against_head("compare_revisions.py", "--quick", "--repeats", "1",
                                   *kernels)
    assert [row.split(" | ")[1] for row in rows] == ["update", "epoch", "epoch", "epoch"]
    assert all(float(row.split(" | ")[-1].strip(" |")) > 0 for row in rows)


def test_bench_fixed_costs_reports_each_measure_against_head():
    rows = table_rows_against_head("bench_fixed_costs.py", "--repeats", "1",
                                   "--epochs", "3")
    assert [row.split(" | ")[0] for row in rows] == [
        "| per-row fit, 1 epoch (fixed cost)", "| per-row, per 4-row epoch",
        "| breast_cancer (100,) adam, 30 epochs", "| predict, one row",
        "| classifier per-row fit, 1 epoch", "| iris early stopping, per epoch"]


def test_suite_quick_mode_compares_like_with_like():
    suite = pytest.importorskip("bench_suite")
    results = suite.run(quick=True, repeats=1, memory=False)
    assert len(results["rows"]) == 6
    assert all(0 < low <= high for low, high in results["peaks"].values())
    for row in results["rows"]:
        assert row["seconds"]["skbackprop"] > 0 and row["seconds"]["sklearn"] > 0
        # same algorithm, same start: our loss equals sklearn's (in our convention)
        assert row["losses"]["skbackprop"] == pytest.approx(row["losses"]["sklearn"],
                                                            rel=1e-4)
        # both floors are measured for every batch workload (their values are
        # timings: compared in the report, never asserted here)
        if row["unit"] == "epoch":
            assert row["floor"] > 0 and row["numpy_floor"] > 0
    table = suite.format_results(results)
    assert "sklearn / skbackprop" in table and "GFLOP/s" in table
    assert "matmul floor" in table and "NumPy floor" in table and "BLAS: " in table
    # the per-row workload as a fixed cost plus a cost per update, per library
    per_row = results["rows"][0]["per_row"]
    assert set(per_row) == set(results["libraries"])
    assert "fixed per fit | per update" in table
    # float32 data is not fitted again as "ours, float32"
    assert all(np.isnan(row["seconds"]["ours, float32"]) for row in results["rows"]
               if "float32" in row["workload"])


def test_the_suite_takes_each_ratio_within_a_round():
    """Rounds of (sklearn, ours) that drift together: the median of the ratios
    within each round, not the ratio of the medians; a column that does not apply
    (NaN) is n/a, not a number."""
    suite = pytest.importorskip("bench_suite")
    nan = float("nan")
    times = {"skbackprop": [1.0, 2.0, 4.0], "ours, float32": [nan],
             "sklearn": [3.0, 4.0, 16.0], "torch": [2.0, 8.0, 8.0]}
    ratios = suite.round_ratios(times, {"matmul": [0.5, 0.5, 1.0], "numpy": []})
    assert ratios["sklearn / skbackprop"] == 3.0  # median of 3, 2, 4
    assert ratios["torch / skbackprop"] == 2.0  # median of 2, 4, 2 (medians: 8 / 2)
    assert ratios["skbackprop / matmul floor"] == 4.0  # median of 2, 4, 4
    assert np.isnan(ratios["sklearn / ours, float32"])
    assert np.isnan(ratios["skbackprop / numpy floor"])


def test_each_round_starts_one_library_further_along():
    """No library always runs first (right after the caches were emptied): over as
    many rounds as libraries, each runs first once and the order within a round
    keeps its cycle."""
    suite = pytest.importorskip("bench_suite")
    libraries = {"a": 1, "b": 2, "c": 3}
    orders = [[name for name, _ in suite.rotated(libraries, r)] for r in range(4)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
    assert suite.rotated(libraries, 1)[0] == ("b", 2)


def test_the_per_row_costs_are_a_line_through_each_rounds_two_fits():
    """A round's fit of 10 epochs of 4 rows (per update) and its fit of one epoch:
    fixed + 4 u = one, fixed + 40 u = long; the whole-fit ratio per round."""
    suite = pytest.importorskip("bench_suite")
    # round 1: fixed 1.0, u = 0.5 (one epoch 3.0, ten 21.0); round 2: fixed 2.0, u = 1
    times = {"skbackprop": [21.0 / 40, 42.0 / 40], "sklearn": [84.0 / 40, 84.0 / 40]}
    short = {"skbackprop": [3.0, 6.0], "sklearn": [12.0, 12.0]}
    costs = suite.per_row_costs(times, short, epochs=10, n_rows=4)
    assert costs["skbackprop"]["fixed"] == pytest.approx([1.0, 2.0])
    assert costs["skbackprop"]["per_update"] == pytest.approx([0.5, 1.0])
    assert costs["sklearn"]["fixed"] == pytest.approx([4.0, 4.0])  # u = 2
    table = suite.format_per_row({"rows": [{"workload": "toy", "per_row": costs}]},
                                 updates=8)
    # fits of 8 updates: ours 5 and 10, sklearn's 20 and 20: ratios 4 and 2, median 3
    assert "| sklearn | 4000.00 ms | 2000000.00 µs | 20000.00 ms | 3.00x |" in table
    assert "| skbackprop | 1500.00 ms | 750000.00 µs | 7500.00 ms | 1.00x |" in table


def test_the_suite_times_cpu_time_on_one_thread_only():
    """CPU time adds up every thread's: with several, a parallel speed-up would
    read as a slow-down, so the suite then takes wall time."""
    import time
    suite = pytest.importorskip("bench_suite")
    try:
        assert suite.use_clock(2) == "wall time" and suite.CLOCK is time.perf_counter
        assert suite.use_clock(1) == "CPU time" and suite.CLOCK is time.process_time
    finally:
        suite.use_clock(1)


def test_a_per_row_column_without_times_reads_n_a():
    suite = pytest.importorskip("bench_suite")
    nan = float("nan")
    costs = suite.per_row_costs({"skbackprop": [1.0, 1.0], "ours, float32": [nan, nan]},
                                {"skbackprop": [3.0, 3.0], "ours, float32": [nan, nan]},
                                epochs=10, n_rows=4)
    table = suite.format_per_row({"rows": [{"workload": "toy", "per_row": costs}]})
    assert "| ours, float32 | n/a | n/a | n/a | n/a |" in table


def test_the_floor_times_outer_products_as_multiplies():
    suite = pytest.importorskip("bench_suite")
    a, b = np.arange(3.0)[:, None], np.arange(4.0)[None, :]
    assert suite.product(a, b).shape == (3, 4)
    np.testing.assert_array_equal(suite.product(a, b), a @ b)


def test_matmul_floor_counts_the_products_of_backprop():
    """Per batch: 2 products per layer and 1 more above the first layer; the epoch
    total scales with the number of batches."""
    suite = pytest.importorskip("bench_suite")
    products = suite.backprop_products([4, 3, 2], 10, "float64")
    assert [(A.shape, B.shape) for A, B in products] == [
        ((10, 4), (4, 3)), ((4, 10), (10, 3)),
        ((10, 3), (3, 2)), ((3, 10), (10, 2)), ((10, 2), (2, 3))]
    assert suite.matmul_floor([4, 3, 2], 50, 10, "float64") > 0


def test_suite_measures_peak_memory_in_a_child_process():
    suite = pytest.importorskip("bench_suite")
    name = "digits, hidden 100, adam, batch 200"
    added = suite.peak_memory_mb(name, "skbackprop", quick=True, threads=1)
    if np.isnan(added):
        pytest.skip("needs Linux /proc")
    assert 0 <= added < 200


@pytest.mark.parametrize("output, loss", [("identity", "squared_error"),
                                          ("logistic", "binary_log_loss"),
                                          ("softmax", "log_loss")])
def test_numpy_floor_does_all_the_work_of_a_step(output, loss):
    """The floor's bare sequence of NumPy calls is a whole Adam step: three steps of
    it give our estimators' losses and parameters (to rounding), so the floor leaves
    out no work, only the program around it."""
    suite = pytest.importorskip("bench_suite")
    from math_helpers import mlp_loss_and_gradients, mlp_unpack, mlp_workspace

    from skbackprop._core.network import n_parameters
    from skbackprop._core.optimizers import adam_init, adam_step
    rng = np.random.RandomState(0)
    units = [6, 5, 4, 3 if output == "softmax" else 1]
    X = rng.standard_normal((20, 6))
    if output == "softmax":
        Y = np.eye(3)[rng.randint(0, 3, 20)]
    else:
        Y = (rng.standard_normal((20, 1)) > 0).astype(float)
    params = rng.standard_normal(n_parameters(units)) * 0.5
    bare = params.copy()
    run = suite.bare_step(units, X, Y, output, bare, alpha=0.1)
    coefs, intercepts = mlp_unpack(params, units)
    activations = ["relu", "relu", output]
    ws, ws_coefs, ws_intercepts = mlp_workspace(coefs, intercepts, activations, 20)
    state = adam_init([ws.flat_params])
    for _ in range(3):
        ours, _, _ = mlp_loss_and_gradients(X, Y, None, ws_coefs, ws_intercepts,
                                            activations, loss, 0.1, None, ws)
        adam_step([ws.flat_params], [ws.grad], state, 1e-3, 0.9, 0.999, 1e-8,
                  [ws.scratch])
        assert run() == pytest.approx(ours, rel=1e-12)
    np.testing.assert_allclose(bare, ws.flat_params, rtol=1e-12, atol=1e-15)
    assert not np.allclose(bare, params)  # it trained
    assert suite.numpy_floor(units, X, Y[:, 0] if output != "softmax" else Y.argmax(1),
                             "regressor" if output == "identity" else "classifier",
                             batch_size=10, repeats=1, steps=1) > 0


def test_per_row_sizes_benchmark_times_both_paths_on_the_same_problem(capsys):
    """Each size is fitted by the written-out path, the array path and sklearn; all
    three reach the same loss, so the timings compare the same computation."""
    bench_rows = pytest.importorskip("bench_rows")
    from skbackprop import rowwise_limit
    rows = bench_rows.main(["--quick", "--repeats", "1"])
    assert [r["network"] for r in rows] == ["2-2-1", "4-8-1", "8-16-1"]
    assert [r["parameters"] for r in rows] == [9, 49, 161]
    for r in rows:
        assert all(np.isfinite(t) for t in r["micros"].values())  # (no timing asserted)
        assert r["losses"]["written out"] == pytest.approx(r["losses"]["arrays"], rel=1e-10)
        assert r["losses"]["arrays"] == pytest.approx(r["losses"]["sklearn"], rel=1e-8)
    assert rowwise_limit.current() == 500  # restored after forcing each path
    assert "| 2-2-1 | 9 |" in capsys.readouterr().out


def test_predict_benchmark_compares_the_same_predictions():
    bench_predict = pytest.importorskip("bench_predict")
    rows = bench_predict.run(quick=True, repeats=1)
    assert {(r["method"], r["rows"]) for r in rows} >= {("predict", 1), ("predict_proba", 1)}
    for r in rows:
        assert r["same"]  # the same fitted weights predict the same outputs
        assert r["micros"]["skbackprop"] > 0 and r["micros"]["sklearn"] > 0
    assert "sklearn / skbackprop" in bench_predict.format_table(rows)


def test_kernels_benchmark_measures_both_sides_of_the_threshold(capsys):
    """The start-up cost and a saving per unit of work, and the iris check; the
    configuration is left as it was, and the work counted is the estimators'."""
    pytest.importorskip("numba")
    from skbackprop import get_config
    from skbackprop._engine.fused import fit_work
    bench_kernels = pytest.importorskip("bench_kernels")
    for case in [(569, [30, 100, 2], 200, 7), (1797, [64, 16, 16, 10], 32, 3)]:
        assert bench_kernels.work(*case) == fit_work(*case)
    before = get_config()
    results = bench_kernels.main(["--quick", "--repeats", "1"])
    assert results["ran"] and results["start_up"] > 0
    assert [r["workload"] for r in results["rows"]] == [
        name for name, *_ in bench_kernels.WORKLOADS[:3]]
    assert all(r["on"] > 0 and r["off"] > 0 for r in results["rows"])
    assert results["imported"] is False  # the iris fit did not import numba
    assert get_config() == before
    assert "crossover work" in capsys.readouterr().out

