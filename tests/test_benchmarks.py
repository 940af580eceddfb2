"""The benchmark script runs and compares like with like (no timing is asserted)."""

import sys
from pathlib import Path

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
