"""The per-row path compiled: ``_engine.rowwise``'s written-out epoch run by numba.

``_engine.rowwise`` writes out one epoch of per-row SGD for the network at hand and
runs it on Python floats, about 2 µs per row for 2-2-1. With numba installed (the
``fast`` extra) the same source, written in the frame numba compiles
(``epoch_source(..., target="numba")``: the losses stored into a preallocated array,
the parameters stored back one by one, no ``try``), is compiled to machine code and
run on the fit's arrays: the rows of X and Y, the row order, and the flat parameter
and velocity vectors, updated in place. The lines of a row are the same text on
both paths, and numba compiles them without fastmath (each operation rounded as
Python rounds it, in the same order; ``math`` functions are the C library's on
both), so the compiled epoch computes the Python epoch's numbers to the last bit.

The functions the rows call come from the records (``rowwise.row_functions``):
``math``'s numba spells itself; a Python function is compiled with numba, except
where ``SPELLINGS`` holds a compilable spelling of it (``logistic_of_float`` calls
``scipy.special.expit``, which numba cannot call; ``expit`` below is scipy's formula
for doubles, tested equal to it). A network whose row functions numba cannot compile
trains on Python floats, without a warning: that is a property of its activation,
not of the environment.

Caching. numba caches compiled code on disk only for functions defined in a source
file, and checks the cache against that file alone. The generated source is
therefore written to a file named after a digest of the source and of the row
functions (``_engine.kernels.digest``: their code and source files), in
``cache_dir()``, and imported from there: a second process loads the compiled epoch
from numba's cache; a changed spelling is a new file, never a stale load. The file
also holds ``_engine.rowahead``'s functions, which train many epochs in one call.

When. Importing numba costs a process about half a second, and compiling an epoch
a few seconds the first time on a machine (numba's compile time grows faster than
the source: networks of more than ``MAX_PARAMETERS`` weights and biases are not
compiled), while the compiled epoch saves about 1.6 µs of 2 per row for 2-2-1 and
more for larger networks. A fit compiles its epoch only
where its work (``_engine.fused.fit_work``) is at least ``MIN_WORK_SHARE`` of the
``fast_kernels_min_work`` setting (3e6 by default, measured; the setting at 0
compiles every per-row fit), or where the epoch is already compiled in the process
(it then costs nothing). Smaller fits never import numba. Whatever fails (numba's import,
its compiler turned off, an unwritable cache directory, a compile error) gives the
one ``FastKernelsWarning`` of ``_engine.fused`` and the fit, like every later one,
trains on Python floats, with the same numbers; all of it happens before the first
epoch, never in the middle of training.
"""

import hashlib
import importlib.util
import inspect
import math
import os
import sys
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .._core.activations import logistic_of_float, on_change
from .._core.network import n_parameters
from . import fused, rowahead

__all__ = ["MAX_PARAMETERS", "MIN_WORK_SHARE", "SPELLINGS", "Compiled", "cache_dir",
           "epoch_for", "expit"]

# The share of the ``fast_kernels_min_work`` setting (the array path's threshold,
# _config.FAST_KERNELS_MIN_WORK = 1e9) from which a per-row fit compiles its epoch:
# 3e6 of ``fused.fit_work`` by default. Measured 2026-12 (one BLAS thread, numba's
# cache warm): importing numba and loading an epoch cost a process 0.4 s; per
# update the compiled epoch saved 1.6 µs of 2.0 on 2-2-1 (12 units of work), 8.8 of
# 9.3 on 4-8-1 (58), 62 of 64 on 16-20-1 (382): it paid from 2.5e6-2.9e6 of work.
# The fused kernels save far less per unit of work, hence the small share.
MIN_WORK_SHARE = 0.003

# The largest network (weights and biases) whose epoch is compiled. numba spends
# about 2-3 ms per statement of the written-out epoch, more as it grows: the first
# compile took 3 s for 2-2-1 (9), 10 s for 4-8-1 (49), 44 s for 8-16-1 (161) and
# 156 s for 16-16-1 (289) (measured 2026-12, on a loaded machine). Above the limit
# the compile could cost more than the fit it speeds up; larger per-row networks
# run on Python floats.
MAX_PARAMETERS = 64

OPTIONS = {"error_model": "numpy", "nogil": True}  # no fastmath: Python's roundings


def expit(z):
    """scipy.special.expit of a double, as scipy computes it: 1 / (1 + exp(-z))."""
    return 1.0 / (1.0 + math.exp(-z))


# a row function numba cannot compile -> a spelling it can, of the same numbers
SPELLINGS = {logistic_of_float: expit}

_EPOCHS = {}  # epoch key -> its Compiled functions, or None: numba cannot compile it
_LOCK = threading.Lock()
on_change(_EPOCHS.clear)  # a name may come to mean another record


def epoch_for(key, work, spec, written):
    """The ``Compiled`` epoch of ``key`` (``rowwise.compiled_epoch``'s arguments) for a
    fit of ``work`` (``fused.fit_work``) with the settings ``spec``, or None where
    the fit trains on Python floats: fast kernels off or unable to run, a network
    of more than ``MAX_PARAMETERS``, or a fit too small to pay for compiling (unless
    the epoch is compiled already).
    ``written(*key)`` is the epoch's source in numba's frame and the functions it
    calls (``rowwise.numba_source``)."""
    if not (spec.fast_kernels and fused.available()) or (
            n_parameters(key[0]) > MAX_PARAMETERS):
        return None
    if key not in _EPOCHS and work < spec.fast_kernels_min_work * MIN_WORK_SHARE:
        return None
    with _LOCK:  # (one thread compiles; the others then find it built)
        if key not in _EPOCHS:
            _EPOCHS[key] = _compile(written(*key), key[0])
        return _EPOCHS[key]


def _compile(written, layer_units):
    """The ``written`` epoch (source, functions) compiled, loaded and run once on
    no rows of ``layer_units``' widths; None where it cannot run (after the one
    ``FastKernelsWarning`` if the environment is the cause)."""
    source, functions = written
    if not fused.available():
        return None
    try:
        import numba
    except Exception as error:  # whatever breaks numba's import
        return fused._give_up(f"numba could not be imported ({_describe(error)})",
                              "reinstall it: pip install --force-reinstall numba")
    if numba.config.DISABLE_JIT:
        return fused._give_up("numba's compiler is turned off (NUMBA_DISABLE_JIT=1)",
                              "unset NUMBA_DISABLE_JIT")
    try:
        return _warm_up(_build(numba, source, functions), layer_units)
    except Exception as error:
        return _failed(numba, error, functions)


def _failed(numba, error, functions):
    """None after a failed build: silently where a row function cannot be compiled
    while numba compiles ``expit`` (the activation's limit), else after the one
    ``FastKernelsWarning`` naming the cause."""
    if _uncompilable(numba, functions) and not _uncompilable(numba, {"expit": expit}):
        return None
    if isinstance(error, OSError | RuntimeError):  # no writable cache directory
        return fused._give_up(
            f"numba has no writable directory to cache the per-row epoch in "
            f"({_describe(error)})", "set NUMBA_CACHE_DIR to a writable directory")
    return fused._give_up(  # a damaged cache file, a compile error
        f"numba could not compile or load the per-row epoch ({_describe(error)})",
        _cache_fix())


def _cache_fix():
    """What to delete where numba's cache of the epochs is damaged: their folder
    (numba's cache in it), and with ``NUMBA_CACHE_DIR`` set, numba's folders for it
    there (named after it and a hash of its path)."""
    where = cache_dir()
    numba_dir = os.environ.get("NUMBA_CACHE_DIR")
    also = f" and the folders named {where.name}_* under {numba_dir}" if numba_dir else ""
    return f"if numba's cache is damaged, delete {where}{also}; it is compiled again"


def _uncompilable(numba, functions):
    """Whether numba fails to compile one of the row ``functions`` on its own, on
    float64 numbers for its arguments without defaults."""
    for function in functions.values():
        function = SPELLINGS.get(function, function)
        if inspect.isbuiltin(function):
            continue
        arguments = [p for p in inspect.signature(function).parameters.values()
                     if p.default is p.empty]
        try:
            numba.njit(**OPTIONS)(function).compile((numba.float64,) * len(arguments))
        except Exception:  # whatever numba cannot type or lower
            return True
    return False


def _describe(error):
    return f"{type(error).__name__}: {error}"


class Compiled(NamedTuple):
    """A network's compiled per-row functions."""

    epoch: object  # the epoch (``rowwise.epoch_source``'s, numba's frame)
    ahead: object  # ``rowahead.train_epochs``: many epochs of it in one call, or None
    draw: object  # ``rowahead.draw`` (None with ``ahead``, where its source is missing)


def _build(numba, source, functions):
    """The ``Compiled`` functions of ``source``: from its file in ``cache_dir()``,
    cached on disk, where the digest can be taken; else compiled in memory."""
    namespace = {name: _compilable(numba, f) for name, f in functions.items()}
    digest = _digest(source, functions)
    if digest is None:  # (a row function whose digest cannot be taken)
        exec(compile(source, "<skbackprop compiled epoch>", "exec"), namespace)
        return _jitted(numba, namespace, cache=False)
    return _jitted(numba, _load(_written(source, digest), namespace), cache=True)


def _jitted(numba, namespace, cache):
    """The source's functions made numba dispatchers in their ``namespace`` (its
    globals: each calls the others compiled)."""
    for name in ("epoch", *(f.__name__ for f in rowahead.FUNCTIONS)):
        if name in namespace:  # (rowahead's: where its source could be read)
            namespace[name] = numba.njit(cache=cache, **OPTIONS)(namespace[name])
    return Compiled(namespace["epoch"], namespace.get("train_epochs"),
                    namespace.get("draw"))


def _compilable(numba, function):
    """What numba compiles for a row function: ``math``'s as they are, a Python
    function (or its ``SPELLINGS`` entry) compiled by numba."""
    function = SPELLINGS.get(function, function)
    if inspect.isbuiltin(function):
        return function
    return numba.njit(**OPTIONS)(function)


def _digest(source, functions):
    """A digest of the source and of what numba compiles of each row function, or
    None where one cannot be taken."""
    from .kernels import digest  # (imports numba)

    parts = [source.encode()]
    for name, function in functions.items():
        function = SPELLINGS.get(function, function)
        if inspect.isbuiltin(function):
            parts.append(f"{name}={function.__module__}.{function.__name__}".encode())
            continue
        part = digest(function, name)
        if part is None:
            return None
        parts.append(f"{name}={part}".encode())
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def cache_dir():
    """Where the generated epochs' source files are written (numba's cache of
    them beside them, or under ``NUMBA_CACHE_DIR`` where that is set)."""
    root = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "skbackprop")
    return Path(root) / "rowjit"


def _written(source, digest):
    """The path of ``source`` written to its file (once: written whole under
    another name, then renamed, so a process never reads half a file)."""
    path = cache_dir() / f"epoch_{digest[:32]}.py"
    if not path.is_file() or path.read_text() != source:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        partial.write_text(source)
        os.replace(partial, path)
    return path


def _load(path, namespace):
    """The globals of the file at ``path`` run as a module, with ``namespace``."""
    spec = importlib.util.spec_from_file_location(f"skbackprop_rowjit_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(namespace)
    # registered: numba's cache finds the epoch's globals through its module's name
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.__dict__


def _warm_up(compiled, layer_units):
    """Compile (or load) the ``compiled`` functions for the arrays training passes,
    on no rows; without ``ahead`` if ``draw`` does not give NumPy's stream."""
    n_params = n_parameters(layer_units)
    X, Y = np.zeros((1, layer_units[0])), np.zeros((1, layer_units[-1]))
    theta, velocity = np.zeros(n_params), np.zeros(n_params)
    arguments = (X, Y, np.ones(1), np.zeros(0, dtype=np.intp), theta, velocity, 0.1, 0.0,
                 0.0, np.zeros((1, 2)))
    compiled.epoch(*arguments)
    if compiled.ahead is None:
        return compiled
    floats, ints = np.zeros((2, 0)), np.zeros((4, 0), dtype=np.int64)
    compiled.ahead(*arguments, np.zeros(624, dtype=np.uint32), np.zeros(2, dtype=np.int64),
                   True, 1.0, np.inf, -np.inf, 0, 0.0, True, np.inf,  # (shuffled; judged)
                   np.zeros((1, n_params)), np.zeros((1, n_params)),
                   np.zeros((0, 0), dtype=np.intp), floats[0], ints[0], floats[1], *ints[1:])
    return compiled if rowahead.stream_matches(compiled.draw) else compiled._replace(
        ahead=None)
