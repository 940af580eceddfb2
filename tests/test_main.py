"""The main job, ``python -m skbackprop``."""

import subprocess
import sys

import pytest
from numpy.testing import assert_allclose

from skbackprop.__main__ import main

pytestmark = pytest.mark.slow  # integration: run by .ci/run, left out by -m 'not slow'


@pytest.fixture(scope="module")
def results():
    return main([])


def test_demo_scores_match_sklearn(results):
    reg = results["synthetic_regression"]
    clf = results["synthetic_classification"]
    assert reg["skbackprop"] > 0.8 and clf["skbackprop"] > 0.9
    assert abs(reg["skbackprop"] - reg["sklearn MLP"]) < 0.03
    assert abs(clf["skbackprop"] - clf["sklearn MLP"]) < 0.03


def test_demo_table_predictions(results):
    table = results["table_regression"]
    # package = 12 - cgpa on the tutorial's table: the three inner rows are recovered
    assert_allclose(table["skbackprop"][:3], [4, 5, 6], atol=0.01)
    assert len(results["table_classification"]) == 4


def test_command_runs():
    done = subprocess.run([sys.executable, "-m", "skbackprop"], capture_output=True,
                          text=True, timeout=300, check=True)
    assert "The tutorial's regression table" in done.stdout
    assert "5-fold accuracy: skbackprop" in done.stdout
    assert done.stderr == ""


def test_help_describes_the_options_and_runs_nothing():
    done = subprocess.run([sys.executable, "-m", "skbackprop", "--help"],
                          capture_output=True, text=True, check=True, timeout=60)
    assert "--task" in done.stdout and "--quick" in done.stdout
    assert "placement demo" in done.stdout and "leave-one-out" not in done.stdout


def test_task_and_quick_choose_what_runs(capsys):
    results = main(["--task", "classification", "--quick"])
    assert set(results) == {"table_classification"}
    assert "classification table" in capsys.readouterr().out


def test_a_wrong_option_is_refused_with_usage(capsys):
    import pytest

    with pytest.raises(SystemExit) as stop:
        main(["--task", "clustering"])
    assert stop.value.code == 2
    assert "invalid choice: 'clustering'" in capsys.readouterr().err
