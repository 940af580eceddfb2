"""Fused kernels: the NumPy step's elementwise work in fewer passes over memory.

A training step on NumPy is a few matrix products (BLAS, already at the machine's
peak) and many elementwise passes: add the bias, activate, multiply by the
derivative, the output layer's loss and delta, the L2 term, and the optimizer's
update (Adam's is eleven NumPy calls). Each pass reads and writes whole arrays, so
on networks of a few hundred units the passes, not the arithmetic, cost a third of
the step. With numba installed (the ``fast`` extra), the workspace step fuses them:
one compiled loop adds the bias and activates, one multiplies by the derivative,
one computes the output layer's bias, link, loss and delta = (A - Y) / n (for a
loss on its canonical link, unweighted batches; a softmax output in two loops
around NumPy's exp of the batch, which is vectorised), and one performs the whole Adam
or SGD update with the L2 term alpha W / n added to the weights' gradients on the
way. The matrix products stay with BLAS.

Nothing here is a second spelling of a formula: the loops (``_engine.kernels``, generated
from the activation records) apply the one-number spellings written beside the
NumPy ones (``_core.activations.*_at``, ``_core.losses.*_at``,
``_core.optimizers.adam_at`` and ``sgd_at``), compiled with ``error_model="numpy"``
and without fastmath, so each number is computed by the same operations in the same
order as the NumPy step. The spellings write their constants in the number's own
type (``type(a)(1)``) and the update loops take every setting in the parameters'
type, rounded as NumPy rounds a Python float it combines with a float32 array: a
float32 loop computes in float32, as NumPy does (and at float32's speed, about
twice float64's). So a fit takes the same numbers on either step, to the last bit,
in float64 and in float32 alike. Two exceptions, where the loop adds a row in
order and NumPy in its own: the softmax output's row sum, which NumPy takes by a
BLAS product (and its largest logit is always subtracted first, where NumPy's
softmax skips that for moderate logits), so a multiclass classifier's fit agrees
with NumPy's to a few units in the last place (tested within 1e-12 in float64);
and the loss of a row of three outputs or more (a regression on three targets,
whose squared errors NumPy adds by ``einsum``): the loss reported may differ in
the last place, the weights are equal. (Adding them NumPy's way costs a multi-output
fit a second pass over its outputs, 10-30% of a small network's step.)

The kernels are used only where they pay. Importing numba and loading the compiled
loops costs a process about half a second (numba caches the loops on disk; the very
first fit after installing or upgrading also compiles them, about a second more),
so a fit uses them only when its work, ``fit_work``, is at least the
``fast_kernels_min_work`` setting (measured: ``_config.FAST_KERNELS_MIN_WORK``);
smaller fits never import numba. A fit reads the settings once, when it starts.

Optional accelerators degrade, never break: where numba cannot be imported, its
compiler is turned off, it has no writable cache directory, or a cached file is
damaged, the first fit that would use the kernels gives one ``FastKernelsWarning``
naming the cause and the fix, and every fit of the process trains with NumPy's step
(the same numbers). The loops are compiled or loaded when a fit chooses them,
before its first epoch, never in the middle of training.
"""

import importlib.util
import math
import os
import threading
from pathlib import Path

import numpy as np

from .._config import Setting, get_config
from .._core.network import n_parameters
from .._warnings import warn

__all__ = ["FastKernelsWarning", "available", "fast_kernels", "fit_work", "kernels"]

class FastKernelsWarning(UserWarning):
    """The fused kernels (numba, the ``fast`` extra) cannot run in this process.

    Given once, by the first fit that would have used them; that fit and every
    later one train with NumPy's step, which computes the same numbers (equal,
    except a multiclass output's softmax and the loss of three outputs or more,
    within a few units in the last place), only more slowly on large fits.
    The message names the cause and its fix; ``SKBACKPROP_FAST=0`` in the
    environment, or ``skbackprop.set_config(fast_kernels=False)``, trains without
    the kernels and without this warning.
    """


class fast_kernels(Setting):
    """Turn the fused kernels (numba, the ``fast`` extra) on or off.

    Call it to change the setting for the calling thread, or use it in a ``with``
    block to change it inside the block only: the ``fast_kernels`` key of
    :func:`skbackprop.set_config` and :func:`skbackprop.config_context`. Turned on
    (the default), fits large enough for the kernels to pay use them where numba is
    installed; with numba missing, or off, training uses NumPy's step, with the same
    results (equal, except a multiclass output's softmax and the loss of three
    outputs or more, within a few units in the last place).
    ``SKBACKPROP_FAST=0`` in the environment starts a process with the kernels off.

    Parameters
    ----------
    enabled : bool
        Whether fits starting from now use the fused kernels where numba is
        installed and the fit is large enough.

    Examples
    --------
    >>> from skbackprop import fast_kernels
    >>> with fast_kernels(False):
    ...     fast_kernels.active()  # fits in here use NumPy's step only
    False
    """

    key = "fast_kernels"

    def __init__(self, enabled):
        super().__init__(enabled)

    @staticmethod
    def active():
        """Whether large enough fits starting now in the calling thread use the
        fused kernels: turned on, numba installed, and not found unable to run."""
        return available(get_config()["fast_kernels"])


_STATE = {"failure": None}  # why the kernels cannot run in this process, once known
_LOCK = threading.Lock()
_FAILED = threading.Lock()  # (the failure is recorded, and told, once)


def available(enabled=True):
    """Whether a fit with the kernels ``enabled`` can use them: numba installed
    (looked for, not imported) and not found unable to run."""
    return bool(enabled) and _STATE["failure"] is None and _numba_found()


def _numba_found():
    if "found" not in _STATE:
        _STATE["found"] = importlib.util.find_spec("numba") is not None
    return _STATE["found"]


def fit_work(n_rows, layer_units, batch_size, epochs, n_params=None):
    """The elementwise work of a fit, the part the kernels speed up: per epoch,
    every hidden and output value of every row (activated, and multiplied by a
    derivative) and every parameter once per batch (the optimizer's update).
    ``layer_units`` are the widths, inputs first; ``n_params`` the parameters (a
    perceptron's by default)."""
    n_batches = math.ceil(n_rows / batch_size)
    if n_params is None:
        n_params = n_parameters(layer_units)
    per_epoch = n_rows * sum(layer_units[1:]) + n_batches * n_params
    return per_epoch * epochs


def kernels(dtype, activations, solver, work, min_work, loss=None, one_output=False):
    """The compiled kernels for a fit of ``work`` (``fit_work``) on arrays of
    ``dtype`` with these layer ``activations``, ``solver`` ("sgd" or "adam") and
    ``loss`` (its name, or None: the output layer's loop is not built), with
    ``one_output`` for an output layer of one unit (``Kernels``), or
    None where NumPy's step runs: numba missing or unable to run, a dtype other than
    float32 and float64, or less work than ``min_work``, where they would not pay."""
    if (np.dtype(dtype) not in (np.float32, np.float64) or work < min_work
            or not available()):
        return None
    with _LOCK:  # (one thread compiles; the others then find the loops built)
        if _STATE["failure"] is not None:
            return None
        try:
            from . import kernels as _kernels  # (imports numba: only on a fit that uses it)
        except Exception as error:  # whatever breaks numba's import
            return _give_up(f"numba could not be imported ({_describe(error)})",
                            "reinstall it: pip install --force-reinstall numba")
        try:
            return _kernels.Kernels(dtype, list(activations), solver, loss, one_output)
        except _kernels.Unavailable as error:
            return _give_up(error.cause, error.fix)
        except Exception as error:  # a damaged cache file, a compile error
            return _give_up(f"numba could not compile or load them ({_describe(error)})",
                            _cache_fix())


def _describe(error):
    return f"{type(error).__name__}: {error}"


def _cache_fix():
    """Where numba keeps the compiled kernels, and what to delete there."""
    where = os.environ.get("NUMBA_CACHE_DIR") or (
        f"{Path(__file__).with_name('__pycache__')}, or numba's user cache directory "
        "(~/.cache/numba) where that folder is read-only")
    return (f"if numba's cache is damaged, delete the files named kernels.* under "
            f"{where}; they are compiled again")


def _give_up(cause, fix):
    """Remember that the kernels cannot run, and say so once (the first cause
    found, whichever thread finds it); None."""
    with _FAILED:
        if _STATE["failure"] is not None:
            return None
        _STATE["failure"] = cause
    warn(f"skbackprop's fused kernels are off for this process: {cause}. Training "
         f"uses NumPy's step (per-row fits, their Python epoch), which computes the "
         f"same numbers, more slowly on large fits. Fix: {fix}; or set "
         "SKBACKPROP_FAST=0 in the environment (or "
         "skbackprop.set_config(fast_kernels=False)) to train without the kernels and "
         "without this warning.", FastKernelsWarning)
    return None
