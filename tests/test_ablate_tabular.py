"""The ablation script of the tabular estimators: its table's arithmetic, and that a
set-up's learning-rate factors hold only while it runs (no timing is asserted)."""

import sys
from pathlib import Path

import pytest

import skbackprop.tabular

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
ablate = pytest.importorskip("ablate_tabular")


def test_the_table_gives_errors_gaps_and_wins_against_the_defaults():
    errors = {("the defaults", "a"): 0.10, ("the defaults", "b"): 0.50,
              ("no dropout", "a"): 0.20, ("no dropout", "b"): 0.40}
    lines = ablate.table(errors, ["the defaults", "no dropout"], ["a", "b"]).splitlines()
    # gaps: defaults (0 + 0.25) / 2 = 0.125; no dropout (1.0 + 0) / 2 = 0.5
    assert lines[2] == "| the defaults | 0.1000 | 0.5000 | 0.125 | - |"
    assert lines[3] == "| no dropout | 0.2000 | 0.4000 | 0.500 | 1 / 1 |"


def test_a_setups_factors_hold_while_it_runs_and_are_restored():
    before = dict(skbackprop.tabular.LR_FACTORS)
    with ablate.lr_factors(ablate.REALMLP_FACTORS):
        assert skbackprop.tabular.LR_FACTORS == ablate.REALMLP_FACTORS
    assert skbackprop.tabular.LR_FACTORS == before
    with pytest.raises(RuntimeError), ablate.lr_factors(ablate.REALMLP_FACTORS):
        raise RuntimeError
    assert skbackprop.tabular.LR_FACTORS == before


def test_the_factors_reach_the_fitted_layers():
    """What the RealMLP set-up changes is what a fit trains with."""
    import numpy as np
    import pandas as pd

    X = pd.DataFrame({"x": np.linspace(-1, 1, 60), "c": list("abcdefghijkl") * 5})
    y = np.sin(3 * X["x"])
    with ablate.lr_factors(ablate.REALMLP_FACTORS):
        model = skbackprop.tabular.TabularRegressor(
            hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    factors = {r["kind"]: r["lr_factor"] for r in model._input_layers}
    assert factors == {k: v for k, v in ablate.REALMLP_FACTORS.items() if k in factors}
    assert set(factors) == {"categorical_embedding", "periodic_embedding", "feature_scale"}


@pytest.mark.slow
def test_quick_run_prints_the_table(capsys):
    pytest.importorskip("palmerpenguins")
    assert ablate.main(["--quick", "--setups", "the defaults,no dropout"]) == 0
    out = capsys.readouterr().out
    assert "| the defaults | " in out and "| no dropout | " in out
