"""The configuration (_config): thread-local and scoped as scikit-learn's, strictly
validated, its process default of fast_kernels read from SKBACKPROP_FAST; the
fast_kernels and rowwise_limit aliases are views of it, and a fit reads it once."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import skbackprop
from skbackprop import (
    BackpropRegressor,
    _config,
    config_context,
    fast_kernels,
    get_config,
    rowwise_limit,
    set_config,
)
from skbackprop._config import fast_from_environment
from skbackprop._engine import steps as _steps
from skbackprop._engine import training as _training

DEFAULTS = {"fast_kernels": True, "fast_kernels_min_work": 10**9, "rowwise_limit": 500}


@pytest.fixture(autouse=True)
def default_config():
    """Every test starts from (and leaves) the defaults of an unset SKBACKPROP_FAST."""
    set_config(**DEFAULTS)
    yield
    set_config(**DEFAULTS)


def in_threads(*targets):
    """Run each target in a thread of its own; re-raise the first failure."""
    errors = []

    def guarded(target):
        try:
            target()
        except BaseException as error:  # reported in the test's thread below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]


def test_get_config_is_a_copy_and_set_config_changes_the_thread():
    config = get_config()
    config["rowwise_limit"] = 3
    assert get_config() == DEFAULTS
    set_config(rowwise_limit=7)
    assert get_config() == {**DEFAULTS, "rowwise_limit": 7}
    set_config()  # None keeps every value
    assert get_config()["rowwise_limit"] == 7


def test_config_context_restores_however_the_block_ends():
    with pytest.raises(KeyError):
        with config_context(fast_kernels=False, rowwise_limit=0):
            assert get_config() == {**DEFAULTS, "fast_kernels": False, "rowwise_limit": 0}
            set_config(rowwise_limit=9, fast_kernels_min_work=0)  # undone on leaving too
            raise KeyError
    assert get_config() == DEFAULTS


@pytest.mark.parametrize("value", ["False", "false", 0, 1, 0.0, []])
def test_fast_kernels_takes_a_bool_only(value):
    with pytest.raises(ValueError, match=r"fast_kernels must be a bool.*fast_kernels=False"):
        set_config(fast_kernels=value)
    with pytest.raises(ValueError, match="fast_kernels must be a bool"):
        fast_kernels(value)
    with pytest.raises(ValueError, match="fast_kernels must be a bool"):
        with config_context(fast_kernels=value):
            pass
    assert get_config() == DEFAULTS  # nothing changed


def test_fast_kernels_refuses_the_string_false():
    """The string "False" is truthy: it used to turn the kernels on."""
    with pytest.raises(ValueError, match="fast_kernels"):
        fast_kernels("False")
    assert get_config()["fast_kernels"] is True
    set_config(fast_kernels=np.False_)  # a NumPy bool is a bool
    assert get_config()["fast_kernels"] is False


@pytest.mark.parametrize("value", [-1, 1.5, 2.0, 1e9, "3", True])
def test_the_limits_take_a_non_negative_int_only(value):
    with pytest.raises(ValueError, match="rowwise_limit must be a non-negative integer"):
        set_config(rowwise_limit=value)
    with pytest.raises(ValueError, match="non-negative integer"):
        rowwise_limit(value)
    with pytest.raises(ValueError, match="fast_kernels_min_work must be a non-negative"):
        set_config(fast_kernels_min_work=value)
    set_config(rowwise_limit=np.int64(3), fast_kernels_min_work=np.int32(0))
    config = get_config()
    assert config["rowwise_limit"] == 3 and type(config["rowwise_limit"]) is int
    assert config["fast_kernels_min_work"] == 0


def test_the_aliases_set_the_thread_and_restore_as_blocks():
    fast_kernels(False)
    assert get_config()["fast_kernels"] is False
    with fast_kernels(True), rowwise_limit(0):
        assert get_config() == {**DEFAULTS, "rowwise_limit": 0}
        assert rowwise_limit.current() == 0
    assert get_config() == {**DEFAULTS, "fast_kernels": False}
    assert not fast_kernels.active()


def test_overlapping_blocks_in_two_threads_keep_and_restore_their_own_settings():
    """A enters, B enters, A leaves, B leaves: each thread sees its own settings
    throughout and gets back what it had; the process defaults are untouched."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_a():
        with config_context(fast_kernels=False, rowwise_limit=10):
            a_in.set()
            assert b_in.wait(30)
            seen["a inside, after b entered"] = get_config()
        a_out.set()
        seen["a after"] = get_config()

    def thread_b():
        assert a_in.wait(30)
        seen["b before"] = get_config()
        with config_context(rowwise_limit=20):
            b_in.set()
            assert a_out.wait(30)
            seen["b inside, after a left"] = get_config()
        seen["b after"] = get_config()

    in_threads(thread_a, thread_b)
    assert seen == {
        "a inside, after b entered": {**DEFAULTS, "fast_kernels": False, "rowwise_limit": 10},
        "a after": DEFAULTS,
        "b before": DEFAULTS,  # a's block is a's only
        "b inside, after a left": {**DEFAULTS, "rowwise_limit": 20},
        "b after": DEFAULTS,
    }
    assert get_config() == DEFAULTS


def test_interleaved_fast_kernels_blocks_leave_the_kernels_on():
    """The aliases in the same interleaving once left the kernels off for the rest
    of the process (A's exit restored True, then B's restored A's False)."""
    barrier = threading.Barrier(2, timeout=30)
    after = {}

    def thread(name, leave_first):
        with fast_kernels(False):
            barrier.wait()  # both inside
            if not leave_first:
                barrier.wait()  # the other has left
        if leave_first:
            barrier.wait()
        after[name] = get_config()["fast_kernels"]

    in_threads(lambda: thread("a", True), lambda: thread("b", False))
    assert after == {"a": True, "b": True}
    assert get_config()["fast_kernels"] is True
    fresh = []
    in_threads(lambda: fresh.append(get_config()))
    assert fresh == [DEFAULTS]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_fit_in_one_thread_is_unaffected_by_a_block_in_another(monkeypatch):
    """While one thread's block sends every network down the array path, another
    thread's per-row fit still trains row by row; and the other way round."""
    chosen = {}

    def spy(*args, **kwargs):
        step = _steps.make_step(*args, **kwargs)
        chosen[threading.current_thread().name] = type(step).__name__
        return step

    monkeypatch.setattr(_training, "make_step", spy)
    X, y = np.random.default_rng(0).normal(size=(12, 2)), np.arange(12.0)
    settings = dict(hidden_layer_sizes=(2,), solver="sgd", batch_size=1, max_iter=2)
    inside, fitted = threading.Event(), threading.Event()

    def blocked():
        threading.current_thread().name = "blocked"
        with config_context(rowwise_limit=0):
            inside.set()
            assert fitted.wait(30)
            BackpropRegressor(**settings).fit(X, y)

    def plain():
        threading.current_thread().name = "plain"
        assert inside.wait(30)
        BackpropRegressor(**settings).fit(X, y)
        fitted.set()

    in_threads(blocked, plain)
    assert chosen == {"blocked": "PlannedStep", "plain": "RowStep"}


@pytest.mark.parametrize("value", ["1", "true", "True", "ON", "yes", "", " Yes "])
def test_skbackprop_fast_values_that_turn_the_kernels_on(value):
    assert fast_from_environment({"SKBACKPROP_FAST": value}) is True
    assert fast_from_environment({}) is True


@pytest.mark.parametrize("value", ["0", "false", "FALSE", "off", "Off", "no", "NO"])
def test_skbackprop_fast_values_that_turn_the_kernels_off(value):
    assert fast_from_environment({"SKBACKPROP_FAST": value}) is False


@pytest.mark.parametrize("value", ["2", "maybe", "nope", "y"])
def test_other_skbackprop_fast_values_are_refused(value):
    with pytest.raises(ValueError, match=r"SKBACKPROP_FAST=.*1, true, on or yes.*0, false, "
                                         r"off or no"):
        fast_from_environment({"SKBACKPROP_FAST": value})


def run_python(code, **environ):
    """Run ``code`` in a fresh interpreter importing this skbackprop."""
    root = str(Path(skbackprop.__file__).resolve().parent.parent)
    env = {**os.environ, **environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("value, expected", [("off", "False"), ("No", "False"),
                                             ("FALSE", "False"), ("Yes", "True")])
def test_skbackprop_fast_sets_the_process_default(value, expected):
    done = run_python("import skbackprop, threading\n"
                      "print(skbackprop.get_config()['fast_kernels'])\n"
                      "t = threading.Thread(target=lambda: print("
                      "skbackprop.get_config()['fast_kernels']))\n"
                      "t.start(); t.join()\n"
                      "print(skbackprop.fast_kernels.active())", SKBACKPROP_FAST=value)
    lines = done.stdout.split()
    assert lines[:2] == [expected, expected], done.stderr
    assert lines[2] == "False" or expected == "True"


@pytest.mark.slow
def test_an_unknown_skbackprop_fast_is_refused_at_the_first_fit():
    done = run_python("import skbackprop\n"  # (importing works: nothing read yet)
                      "from sklearn.datasets import load_iris\n"
                      "skbackprop.BackpropClassifier().fit(*load_iris(return_X_y=True))",
                      SKBACKPROP_FAST="maybe")
    assert done.returncode != 0
    assert "ValueError: SKBACKPROP_FAST='maybe' is not understood" in done.stderr
    assert "0, false, off or no" in done.stderr


@pytest.mark.slow
def test_a_setting_made_in_code_overrides_an_unknown_skbackprop_fast():
    """The variable is read only where its value is needed: a thread that sets
    fast_kernels (or only changes another key) never trips on it."""
    done = run_python("import skbackprop, warnings\n"
                      "from sklearn.datasets import load_iris\n"
                      "warnings.simplefilter('ignore')\n"
                      "with skbackprop.rowwise_limit(0):\n"
                      "    print(skbackprop.rowwise_limit.current())\n"
                      "skbackprop.set_config(fast_kernels=False)\n"
                      "clf = skbackprop.BackpropClassifier(max_iter=2)\n"
                      "print(clf.fit(*load_iris(return_X_y=True)).n_iter_)",
                      SKBACKPROP_FAST="maybe")
    assert done.stdout.split() == ["0", "2"], done.stderr


def test_skbackprop_fast_is_read_once_per_process(monkeypatch):
    """The variable sets the process default the first time it is needed: a later
    change of the environment changes nothing (a value not understood is refused
    each time it is asked for, until one is)."""
    monkeypatch.setattr(_config, "_environment", {})
    monkeypatch.setattr(_config, "_threadlocal", threading.local())
    monkeypatch.setattr(_config, "_process_defaults", {})
    monkeypatch.setenv("SKBACKPROP_FAST", "maybe")
    with pytest.raises(ValueError, match="SKBACKPROP_FAST='maybe'"):
        get_config()
    monkeypatch.setenv("SKBACKPROP_FAST", "off")
    assert get_config()["fast_kernels"] is False
    for later in ("on", "bogus"):
        monkeypatch.setenv("SKBACKPROP_FAST", later)
        assert get_config()["fast_kernels"] is False
