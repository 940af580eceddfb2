"""The benchmark script runs and compares like with like (no timing is asserted)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
bench_core = pytest.importorskip("bench_core")


def test_quick_benchmark_runs_and_both_libraries_reach_the_same_loss(capsys):
    rows = bench_core.main(["--quick", "--repeats", "1"])
    assert [r["unit"] for r in rows] == ["update", "epoch", "epoch"]
    for r in rows:
        assert r["skbackprop"] > 0 and r["sklearn"] > 0
        assert r["loss_ours"] == pytest.approx(r["loss_sklearn"], rel=1e-8)
    assert "| placement 2-2-1, batch_size=1 | update |" in capsys.readouterr().out


def test_compare_revisions_runs_against_head(capsys):
    import shutil
    import subprocess
    root = Path(__file__).resolve().parent.parent
    if shutil.which("git") is None or subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
            check=False).returncode:
        pytest.skip("needs a git checkout")
    import sys
    done = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "compare_revisions.py"), "HEAD",
         "--quick", "--repeats", "1"],
        capture_output=True, text=True, check=True, timeout=600)
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")][2:]
    assert [row.split(" | ")[1] for row in rows] == ["update", "epoch", "epoch"]
    assert all(float(row.split(" | ")[-1].strip(" |")) > 0 for row in rows)
    listed = subprocess.run(["git", "-C", str(root), "worktree", "list"],
                            capture_output=True, text=True, check=True).stdout
    assert len(listed.strip().splitlines()) == 1  # the temporary worktree is gone


def test_suite_quick_mode_compares_like_with_like():
    suite = pytest.importorskip("bench_suite")
    results = suite.run(quick=True, repeats=1, memory=False)
    assert len(results["rows"]) == 6
    assert results["peaks"]["float32"] > 0 and results["peaks"]["float64"] > 0
    for row in results["rows"]:
        assert row["seconds"]["skbackprop"] > 0 and row["seconds"]["sklearn"] > 0
        # same algorithm, same start: our loss equals sklearn's (in our convention)
        assert row["losses"]["skbackprop"] == pytest.approx(row["losses"]["sklearn"],
                                                            rel=1e-4)
        # the matrix products alone take less time than any whole fit
        if row["unit"] == "epoch":
            assert 0 < row["floor"] < row["seconds"]["skbackprop"]
    table = suite.format_results(results)
    assert "vs sklearn" in table and "GFLOP/s" in table and "matmul floor" in table


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
