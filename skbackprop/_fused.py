"""Fused kernels: the NumPy step's elementwise work in fewer passes over memory.

A training step on NumPy is a few matrix products (BLAS, already at the machine's
peak) and many elementwise passes: add the bias, activate, multiply by the
derivative, and the optimizer's update (Adam's is eleven NumPy calls). Each pass
reads and writes whole arrays, so on networks of a few hundred units the passes,
not the arithmetic, cost a third of the step. With numba installed (the ``fast``
extra), the workspace step fuses them: one compiled loop adds the bias and
activates, one multiplies by the derivative, one performs the whole Adam or SGD
update. The matrix products stay with BLAS.

Nothing here is a second spelling of a formula: the loops apply the one-number
spellings written beside the NumPy ones (``_activations.*_at``,
``_optimizers.adam_at`` and ``sgd_at``), compiled with ``error_model="numpy"`` and
without fastmath, so each number is computed by the same operations in the same
order as the NumPy step (equal to the last bit in float64; in float32, Python
constants are float64 in the compiled loops, so results may differ in the last
bit). Kernels are compiled once per dtype and cached on disk (``cache=True``): a
first fit pays about a second, later processes a tenth of that.

``fast_kernels(False)`` turns the kernels off (the environment variable
``SKBACKPROP_FAST=0`` does so for a whole process); without numba nothing here is
imported and the NumPy step runs as it always has.
"""

import importlib.util
import os

import numpy as np

from ._activations import ACTIVATIONS

__all__ = ["available", "fast_kernels", "kernels"]

_SETTING = {"enabled": os.environ.get("SKBACKPROP_FAST", "1") != "0"}


class fast_kernels:
    """Turn the fused kernels (numba, the ``fast`` extra) on or off.

    Call it to change the setting for the rest of the process, or use it in a
    ``with`` block to change it inside the block only. With numba missing it has no
    effect: training uses NumPy's step either way, with the same results (equal in
    float64, within a float32 rounding in float32). ``SKBACKPROP_FAST=0`` in the
    environment starts a process with the kernels off.

    Parameters
    ----------
    enabled : bool
        Whether fits starting from now use the fused kernels where numba is
        installed.

    Examples
    --------
    >>> from skbackprop import fast_kernels
    >>> with fast_kernels(False):
    ...     pass  # fits in here use NumPy's step only
    """

    def __init__(self, enabled):
        self.previous = _SETTING["enabled"]
        _SETTING["enabled"] = bool(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _SETTING["enabled"] = self.previous

    @staticmethod
    def active():
        """Whether fits starting now use the fused kernels: turned on, and numba
        importable."""
        return available()


def available():
    """Whether fits use fused kernels now: turned on and numba importable."""
    return _SETTING["enabled"] and _numba_found()


def _numba_found():
    if "found" not in _SETTING:
        _SETTING["found"] = importlib.util.find_spec("numba") is not None
    return _SETTING["found"]


def kernels(dtype):
    """The compiled kernels for arrays of ``dtype``, or None where NumPy's step runs
    (kernels off, numba missing, or a dtype other than float32 and float64)."""
    if np.dtype(dtype) not in (np.float32, np.float64) or not available():
        return None
    from . import _kernels  # imports numba: only here, on a fit that uses it
    return _kernels


FORWARD_CODES = {name: code for code, name in enumerate(
    n for n, f in ACTIVATIONS.items() if f.forward_at is not None)}
DERIVATIVE_CODES = {name: code for code, name in enumerate(
    n for n, f in ACTIVATIONS.items() if f.derivative_at is not None)}
