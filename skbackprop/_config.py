"""skbackprop's configuration: thread-local and scoped, as scikit-learn's.

The settings choose how a fit trains, never what it computes:

- ``fast_kernels`` (bool, default True): use the fused kernels (numba, the ``fast``
  extra) where they pay (see ``_engine.fused``). The process default comes from the
  environment variable ``SKBACKPROP_FAST``, read the first time the configuration
  is read (the first fit, or the first call below): 1, true, on or yes (any case;
  also empty or unset) turn them on, 0, false, off or no turn them off, and any
  other value is refused with a ``ValueError`` naming the variable.
- ``fast_kernels_min_work`` (int, default 10**9): the least work
  (``_engine.fused.fit_work``) for which a fit uses them: below it a fit would not win
  back their start-up, and never imports numba. A per-row fit compiles its epoch
  from a smaller share of it (``_engine.rowjit``: the compiled epoch saves more per
  unit of work).
- ``rowwise_limit`` (int, default 500): the largest network, in weights and biases,
  trained row by row on Python floats when ``batch_size=1`` (see ``_engine.rowwise``).

As in ``sklearn._config``, the settings live in ``threading.local``: every thread
starts from the process defaults, ``set_config`` changes the calling thread's only,
and leaving a ``config_context`` block restores what that thread had before it,
whatever other threads do meanwhile. Unlike scikit-learn's, they are not handed to
joblib's workers (scikit-learn's ``delayed`` carries its own configuration only):
fits there train with the process defaults. A fit reads the configuration once,
when it starts, into its frozen spec (``_prepare.resolve``).
"""

import os
import threading
from contextlib import contextmanager

import numpy as np

__all__ = ["Setting", "config_context", "get_config", "set_config"]

# The measured crossover between the per-row and the array path (benchmarks/
# bench_rows.py): written out, a row costs about 0.3 µs per parameter; the array
# path about 140 µs plus 20 µs per layer, whatever the widths. In three runs of
# 2026-12 they crossed between 433 and 833 parameters (16-24-1, 433 parameters:
# 116 µs against 144; 24-20-1, 521: 140 against 160; 16-16-16-1, 561: 147-170
# against 162-165; 833: 240-278 against 194-232), earlier between 289 and 561.
ROWWISE_LIMIT = 500

# Where the fused kernels pay for their start-up. benchmarks/bench_kernels.py, two
# runs of 2026-12 (CPU time, 1 thread of OpenBLAS's Haswell kernels): starting them
# (importing numba, loading the cached loops) cost 0.51-0.53 s; on six of seven
# workloads they saved 0.86-4.3 s per 1e9 of work, so paid from 1.2e8-5.9e8 of work;
# tanh with sgd (its forward pass stays with NumPy, SGD's update is cheap there)
# saved 0.03-0.55 s, next to nothing. Set above every other crossover: a fit of 1e9
# takes 12-30 s on NumPy's step, so where the kernels do not pay they cost it at
# most 4%. (This work counts what the kernels touch; per unit of it the saving
# varied 3.6-4.1x across the six workloads, per unit of rows x parameters x epochs
# 3.3-9.5x.)
FAST_KERNELS_MIN_WORK = 10**9

ENVIRONMENT = "SKBACKPROP_FAST"
_ON, _OFF = ("1", "true", "on", "yes", ""), ("0", "false", "off", "no")

_process_defaults = {}  # filled on the first read (the environment is read then)
_defaults_lock = threading.Lock()
_threadlocal = threading.local()


def fast_from_environment(environ=os.environ):
    """``SKBACKPROP_FAST`` as a bool (unset or empty: True); a ValueError naming
    the variable and the accepted values for anything else."""
    value = environ.get(ENVIRONMENT, "").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ValueError(
        f"{ENVIRONMENT}={environ[ENVIRONMENT]!r} is not understood. Set it to 1, true, "
        "on or yes to use the fused kernels (the default, also when unset or empty), "
        "or to 0, false, off or no to train without them (any case).")


def _thread_config():
    """The calling thread's (mutable) configuration, started from the process
    defaults on the thread's first read."""
    if not hasattr(_threadlocal, "config"):
        with _defaults_lock:
            if not _process_defaults:
                # fast_kernels None: SKBACKPROP_FAST's, read when first needed (so a
                # thread that sets fast_kernels never reads a bad value of it)
                _process_defaults.update(fast_kernels=None,
                                         fast_kernels_min_work=FAST_KERNELS_MIN_WORK,
                                         rowwise_limit=ROWWISE_LIMIT)
            _threadlocal.config = dict(_process_defaults)
    return _threadlocal.config


def get_config():
    """The configuration in force in the calling thread.

    Returns
    -------
    config : dict
        Keys are the parameters of :func:`set_config`: ``fast_kernels``,
        ``fast_kernels_min_work`` and ``rowwise_limit``. A copy: changing it
        changes nothing.

    See Also
    --------
    set_config : Change the configuration of the calling thread.
    config_context : Change it inside a ``with`` block only.

    Examples
    --------
    >>> import skbackprop
    >>> skbackprop.get_config()["rowwise_limit"]
    500
    """
    config = dict(_thread_config())
    if config["fast_kernels"] is None:
        config["fast_kernels"] = _environment_default()
    return config


_environment = {}  # SKBACKPROP_FAST's setting, once read


def _environment_default():
    """``SKBACKPROP_FAST``'s setting, read once per process, when first needed (a
    value that is not understood is refused, and read again, each time)."""
    if "fast_kernels" not in _environment:
        _environment.setdefault("fast_kernels", fast_from_environment())
    return _environment["fast_kernels"]


def _checked(fast_kernels, fast_kernels_min_work, rowwise_limit):
    """The settings given (not None), validated: a ValueError naming the parameter
    and the fix for anything else than a bool and non-negative ints."""
    new = {}
    if fast_kernels is not None:
        if not isinstance(fast_kernels, bool | np.bool_):
            raise ValueError(
                f"fast_kernels must be a bool, True or False; got {fast_kernels!r} "
                f"({type(fast_kernels).__name__}). Pass fast_kernels=False (not a "
                "string) to train without the fused kernels.")
        new["fast_kernels"] = bool(fast_kernels)
    for key, value, fix in (
            ("fast_kernels_min_work", fast_kernels_min_work,
             "fast_kernels_min_work=0 uses the kernels on every fit"),
            ("rowwise_limit", rowwise_limit,
             "rowwise_limit=0 trains every network on the array path")):
        if value is not None:
            new[key] = _non_negative_int(key, value, fix)
    return new


def _non_negative_int(key, value, fix):
    if (isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer)
            or value < 0):
        raise ValueError(f"{key} must be a non-negative integer; got {value!r}. {fix}.")
    return int(value)


def set_config(fast_kernels=None, fast_kernels_min_work=None, rowwise_limit=None):
    """Change skbackprop's configuration for the calling thread.

    Other threads keep theirs; a thread started later begins from the process
    defaults. That includes the workers of ``GridSearchCV(n_jobs=...)`` and of
    joblib (threads or processes): scikit-learn hands them its own configuration,
    not this one, so they train with the process defaults (for ``fast_kernels``,
    ``SKBACKPROP_FAST`` in the environment reaches them). The settings choose how
    fits train, not what they compute (the same numbers, except where they choose
    between two orders of adding: a multiclass softmax's row sums, the loss of
    three outputs or more, and ``rowwise_limit``'s per-row path against the array
    path, which round differently in the last place). Use :func:`config_context`
    to change them inside a ``with`` block only.

    Parameters
    ----------
    fast_kernels : bool, default=None
        Whether fits use the fused kernels (numba, the ``fast`` extra) where they
        pay: fits of enough rows, parameters and epochs, on NumPy float32 or
        float64 arrays. Without numba, or with False, training uses NumPy's step,
        with the same results (equal to the last bit, except a multiclass
        output's softmax and the loss of three outputs or more, within a few
        units in the last place). The process default is True unless the
        environment variable ``SKBACKPROP_FAST`` is 0, false, off or no. None
        keeps the current value.

    fast_kernels_min_work : int, default=None
        The least work for which a fit uses the fused kernels (the process default
        is 10**9, where they paid for their start-up in our measurements): per
        epoch, every hidden and output value of every row and every parameter once
        per batch, times ``max_iter``. A smaller fit trains with NumPy's step and
        never imports numba. 0 uses the kernels on every fit (in a process that
        runs many fits, their start-up is paid once). None keeps the current value.

    rowwise_limit : int, default=None
        The largest network, in weights and biases, trained row by row on Python
        floats when ``batch_size=1`` (the process default is 500); larger ones take
        the array path. Both compute the same updates (equal within 1e-12); 0 sends
        every network down the array path. None keeps the current value.

    See Also
    --------
    get_config : The configuration in force.
    config_context : Change the configuration inside a ``with`` block only.

    Examples
    --------
    >>> import skbackprop
    >>> skbackprop.set_config(rowwise_limit=100)
    >>> skbackprop.get_config()["rowwise_limit"]
    100
    >>> skbackprop.set_config(rowwise_limit=500)
    """
    new = _checked(fast_kernels, fast_kernels_min_work, rowwise_limit)
    _thread_config().update(new)


@contextmanager
def config_context(*, fast_kernels=None, fast_kernels_min_work=None, rowwise_limit=None):
    """Change skbackprop's configuration inside a ``with`` block, for the calling
    thread only.

    Leaving the block, however it ends, restores what the thread had when it
    entered; other threads' settings are never touched, so blocks in different
    threads may overlap in any order. Fits in joblib's workers (``n_jobs``) do not
    see the block: they train with the process defaults (see :func:`set_config`).

    Parameters
    ----------
    fast_kernels : bool, default=None
        Whether fits in the block use the fused kernels where they pay (see
        :func:`set_config`). None keeps the current value.

    fast_kernels_min_work : int, default=None
        The least work for which fits in the block use the fused kernels (see
        :func:`set_config`). None keeps the current value.

    rowwise_limit : int, default=None
        The largest network trained row by row when ``batch_size=1`` (see
        :func:`set_config`). None keeps the current value.

    Yields
    ------
    None

    See Also
    --------
    set_config : Change the configuration of the calling thread.
    get_config : The configuration in force.

    Examples
    --------
    >>> import skbackprop
    >>> with skbackprop.config_context(fast_kernels=False, rowwise_limit=0):
    ...     skbackprop.get_config()
    {'fast_kernels': False, 'fast_kernels_min_work': 1000000000, 'rowwise_limit': 0}
    >>> skbackprop.get_config()["rowwise_limit"]
    500
    """
    new = _checked(fast_kernels, fast_kernels_min_work, rowwise_limit)  # (before any change)
    config = _thread_config()
    before = dict(config)
    config.update(new)
    try:
        yield
    finally:
        config.clear()
        config.update(before)


class Setting:
    """One key of the configuration as a callable that also works as a ``with``
    block: calling it sets the key for the calling thread, leaving the block
    restores the thread's value from before the call."""

    key = None

    def __init__(self, value):
        self.previous = _thread_config()[self.key]  # (as set: restored as it was)
        set_config(**{self.key: value})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _thread_config()[self.key] = self.previous

    @classmethod
    def _current(cls):
        value = _thread_config()[cls.key]
        return get_config()[cls.key] if value is None else value
