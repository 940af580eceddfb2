"""The main job, ``python -m skbackprop``."""

import signal
import subprocess
import sys
import time

import pytest
from numpy.testing import assert_allclose

from skbackprop import __version__
from skbackprop.__main__ import STOPPED, main

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
    assert "{regression,classification,both}" in done.stdout and "--version" in done.stdout
    assert "second" not in done.stdout  # no running time: it depends on the machine
    assert "placement demo" in done.stdout and "leave-one-out" not in done.stdout


@pytest.mark.parametrize("page", ["README.md", "docs/quickstart.md"])
def test_the_readme_names_every_option(page):
    from pathlib import Path

    text = (Path(__file__).parents[1] / page).read_text()
    for option in ("`--task regression`", "`--task classification`", "`--task both`, "
                   "the default", "`--quick`", "`--version`"):
        assert option in text, option


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


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"skbackprop {__version__}\n"


def test_abbreviated_options_are_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--qu"])
    assert stop.value.code == 2
    assert "unrecognized arguments: --qu" in capsys.readouterr().err


@pytest.mark.parametrize("quick", [False, True])
def test_the_classification_note_names_a_sample_that_is_shown(quick, monkeypatch,
                                                              capsys):
    import skbackprop.__main__ as demo
    monkeypatch.setattr(demo, "_synthetic", lambda task: {})  # (its own test runs it)
    main(["--task", "classification"] + ["--quick"] * quick)
    out = capsys.readouterr().out
    assert ("the synthetic sample below is not" in out) != quick
    assert ("a 300-row synthetic sample (the demo without --quick) is not" in out) == quick


def stopped(done):
    """Ctrl-C's one line on stderr and exit status 130, the demo unfinished."""
    assert (done.returncode, done.stderr) == (130, STOPPED + "\n"), done.stderr
    assert "5-fold accuracy" not in done.stdout


# Ctrl-C arriving: in a Backprop fit after completed epochs (which a fit by hand
# keeps, returning), in sklearn's MLP, between the fits, while a table prints
POINTS = {
    "backprop fit": ("skbackprop._engine.monitor", "Monitor", "end_epoch", 3),
    "sklearn fit": ("sklearn.neural_network", "MLPClassifier", "fit", 1),
    "between fits": ("skbackprop.__main__", None, "score", 1),
    "printing": ("pandas", "DataFrame", "to_string", 2),
}
INTERRUPT_AT = """
import importlib, os, signal, sys
module, owner, name, at = {point!r}
owner = getattr(importlib.import_module(module), owner) if owner else (
    importlib.import_module(module))
original, calls = getattr(owner, name), []

def interrupted(*args, **kwargs):
    calls.append(1)
    if len(calls) == at:
        os.kill(os.getpid(), signal.SIGINT)
    return original(*args, **kwargs)

setattr(owner, name, interrupted)
from skbackprop.__main__ import run
sys.exit(run([]))
"""


@pytest.mark.parametrize("point", list(POINTS))
def test_ctrl_c_stops_the_demo_at_once(point):
    done = subprocess.run([sys.executable, "-c", INTERRUPT_AT.format(point=POINTS[point])],
                          capture_output=True, text=True, timeout=300)
    stopped(done)


@pytest.mark.parametrize("after", ["skbackprop placement demo",
                                   "The tutorial's classification table"])
def test_ctrl_c_from_outside_stops_the_demo_at_once(after):
    """Ctrl-C soon after the demo has begun, and once it has printed its regression
    half (a line, not a delay: the demo's speed varies from machine to machine)."""
    demo = subprocess.Popen([sys.executable, "-u", "-m", "skbackprop"], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen, line = "", ""
    while after not in line:
        line = demo.stdout.readline()
        assert line, seen  # (the demo ended before printing it)
        seen += line
    time.sleep(0.1)  # (into the work that follows the line)
    demo.send_signal(signal.SIGINT)
    out, err = demo.communicate(timeout=120)
    stopped(subprocess.CompletedProcess(demo.args, demo.returncode, seen + out, err))


def test_a_reader_gone_ends_the_demo_quietly():
    """``python -m skbackprop | head -1``: no traceback, SIGPIPE's status 141."""
    demo = subprocess.Popen([sys.executable, "-m", "skbackprop", "--quick"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    demo.stdout.close()  # the reader is gone before the first line
    err = demo.stderr.read()
    assert (demo.wait(timeout=120), err) == (141, b"")
