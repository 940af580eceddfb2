"""The compiled loops of ``_engine.fused`` (this module imports numba; see ``_engine.fused``).

Every loop is one of the templates below with a one-number (or one-row) spelling
of the math core compiled into it, and the loops are generated from the records:
for each activation of ``_core.activations.ACTIVATIONS`` with a ``forward_at``, a
copy of ``add_bias_activate``; with a ``derivative_at``, a copy of
``times_derivative`` (and, before an output layer of one unit, of
``outer_times_derivative``); for each loss of ``_core.losses.LOSSES`` with a
``link_at``, a copy of ``output_loss`` (with a ``link_row_at`` and a
``link_row_end_at``, copies of ``output_row_start`` and ``output_row_end``, run
around NumPy's exp by ``RowOutput``); and ``adam`` and ``sgd`` with
``_core.optimizers.adam_at`` and
``sgd_at``. Each copy binds
its spelling to the global name ``spelling``, which numba compiles in (and inlines
it): one loop per activation, chosen by name, with no branch on the activation in
the loop and no list of names here. An activation added to the records with its
spellings is fused as it is.

numba caches a compiled loop on disk and checks it against the file that defines
it only, here this one; a loop also depends on its spelling, written elsewhere. So
each copy is named after a digest of its spelling (the function's code, its source
file, the numbers it reads, and the same of the functions it calls): a changed
spelling is a new name, compiled afresh, never an older loop loaded from the cache.
A spelling whose digest cannot be taken (no source file, values other than numbers)
is compiled in memory, without a disk cache.

``Kernels`` are the loops one fit uses, compiled or loaded at once on a few numbers
of the fit's dtype, so that a failure shows before training starts (``_engine.fused``
then falls back to NumPy's step).
"""

import hashlib
import inspect
import re
import types
from pathlib import Path

import numba
import numpy as np

from .._core.activations import ACTIVATIONS
from .._core.losses import LOSSES
from .._core.optimizers import adam_at, number_type, sgd_at

__all__ = ["Kernels", "RowOutput", "Unavailable", "adam", "add_bias_activate", "compiled",
           "digest", "outer_times_derivative", "output_loss", "output_row_end",
           "output_row_start", "sgd", "times_derivative"]

# no fastmath: each number is computed by NumPy's operations in NumPy's order;
# error_model="numpy" (a float division by 0 gives inf, not an exception) lets
# numba vectorise the loops
OPTIONS = {"error_model": "numpy", "nogil": True}
LIBRARIES = ("math", "cmath", "numpy")  # modules whose functions numba spells itself
spelling = None  # each compiled copy of a template binds its own one-number function


def add_bias_activate(Z, b):
    """Z <- f(Z + b) in place, b added to every row (f: ``spelling``)."""
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            Z[i, j] = spelling(Z[i, j] + b[j])


def times_derivative(delta, A):
    """delta <- delta * f'(Z) in place, f' written through the output A."""
    n, k = delta.shape
    for i in range(n):
        for j in range(k):
            delta[i, j] = spelling(A[i, j], delta[i, j])


def outer_times_derivative(d, w, A, upstream):
    """upstream <- (d w^T) * f'(Z) in one pass: the error arriving at a layer's
    output from a layer of one unit (its delta d, n x 1, and weights w, k x 1),
    d_i w_j as NumPy's product of a column by a row, through the derivative."""
    n, k = upstream.shape
    for i in range(n):
        for j in range(k):
            upstream[i, j] = spelling(A[i, j], d[i, 0] * w[j, 0])


def output_loss(Z, b, Y, A, delta, terms, scale):
    """The output layer's bias, link and loss in one pass, from Z = A_in W: for every
    row, A = f(Z + b), delta = (A - Y) / scale (dL/dZ on the canonical link f) and
    terms[i] = l(y_i, z_i + b) (``spelling``: the loss's ``link_at``, on one output;
    a row's terms added in order, in the arrays' dtype)."""
    n, k = Z.shape
    for i in range(n):
        t = terms[i]  # (the row's sum, in the arrays' dtype, from its first term on)
        for j in range(k):
            a, l = spelling(Z[i, j] + b[j], Y[i, j])
            A[i, j] = a
            delta[i, j] = (a - Y[i, j]) / scale
            t = l if j == 0 else t + l
        terms[i] = t


def output_row_start(Z, b, Y, A, parts):
    """The first pass of ``output_loss`` for a link that mixes a row's outputs
    through exponentials (softmax; ``spelling``: the loss's ``link_row_at``, on one
    row): their arguments into A, each row's loss up to them into ``parts``."""
    for i in range(Z.shape[0]):
        parts[i] = spelling(Z[i], b, Y[i], A[i])


def output_row_end(Y, A, delta, parts, terms, scale):
    """The last pass, after NumPy's exp of A (``spelling``: the loss's
    ``link_row_end_at``, on one row): A finished, each row's loss, ``parts`` plus
    the rest, into ``terms`` (one rounding to its dtype), delta = (A - Y) / scale."""
    n, k = A.shape
    for i in range(n):
        terms[i] = parts[i] + spelling(A[i])
        for j in range(k):
            delta[i, j] = (A[i, j] - Y[i, j]) / scale


class RowOutput:
    """``output_loss`` for a link that mixes a row's outputs: ``output_row_start``,
    NumPy's exp of the batch (vectorised: about five times as fast as one exp per
    number in the loop, and the array path's own), ``output_row_end``. The first
    part of each row's loss waits in float64 (``parts``, grown to the largest
    batch), so that a float32 fit rounds a row's loss once (the softmax's loss and
    row sums are its own, within a few units in the last place of NumPy's). One
    per fit (``Kernels``): the fit's buffers are its own."""

    def __init__(self, start, end):
        self.start, self.end = start, end
        self.parts = np.empty(0)

    def __call__(self, Z, b, Y, A, delta, terms, scale):
        n = Z.shape[0]
        if self.parts.shape[0] < n:
            self.parts = np.empty(n)
        parts = self.parts[:n]
        self.start(Z, b, Y, A, parts)
        np.exp(A, out=A)
        self.end(Y, A, delta, parts, terms, scale)


def adam(p, g, m, v, step, beta_1, beta_2, epsilon, rest_1, rest_2, n_decayed, l2):
    """Adam's update of every parameter in one pass (``_core.optimizers.adam_at``),
    the L2 term folded in: the gradient of each of the first ``n_decayed``
    parameters (the weights) is g + l2 w, l2 = alpha / sum_i s_i."""
    for i in range(n_decayed):
        p[i], m[i], v[i] = spelling(p[i], g[i] + p[i] * l2, m[i], v[i], step, beta_1,
                                    beta_2, epsilon, rest_1, rest_2)
    for i in range(n_decayed, p.shape[0]):
        p[i], m[i], v[i] = spelling(p[i], g[i], m[i], v[i], step, beta_1, beta_2, epsilon,
                                    rest_1, rest_2)


def sgd(p, g, v, learning_rate, momentum, nesterov, n_decayed, l2):
    """SGD's update of every parameter in one pass (``_core.optimizers.sgd_at``),
    the L2 term folded in as in ``adam``."""
    for i in range(n_decayed):
        p[i], v[i] = spelling(p[i], g[i] + p[i] * l2, v[i], learning_rate, momentum,
                              nesterov)
    for i in range(n_decayed, p.shape[0]):
        p[i], v[i] = spelling(p[i], g[i], v[i], learning_rate, momentum, nesterov)


class Unavailable(Exception):
    """The kernels cannot run here: ``cause`` and the ``fix``, in words."""

    def __init__(self, cause, fix):
        super().__init__(cause)
        self.cause, self.fix = cause, fix


_LOOPS = {}  # (template, name, spelling) -> its compiled copy, for the process


def compiled(template, name, function):
    """``template``'s copy with ``function`` as its spelling, compiled by numba
    (on first use) and cached on disk where its digest can be taken."""
    key = (template, name, function)
    if key not in _LOOPS:
        digested = digest(function, name)
        copy = types.FunctionType(
            template.__code__,
            # (inlined by numba: a row's spelling, softmax's, then takes the rows
            # without making an array view of each; the same operations)
            {**template.__globals__,
             "spelling": numba.njit(inline="always", **OPTIONS)(function)},
            template.__name__)
        tag = re.sub(r"[^A-Za-z0-9_]", "_", str(name))
        copy.__qualname__ = f"{template.__name__}_{tag}_{(digested or 'nocache')[:16]}"
        try:
            _LOOPS[key] = numba.njit(cache=digested is not None, **OPTIONS)(copy)
        except RuntimeError as error:  # numba found no writable cache directory
            raise Unavailable(
                f"numba has no writable directory to cache them in ({error})",
                "set NUMBA_CACHE_DIR to a writable directory") from error
    return _LOOPS[key]


def digest(function, name):
    """A digest of what numba compiles of ``function`` (see the module's
    docstring), or None where it cannot be taken."""
    parts = [repr(name).encode()]
    if not _digest_parts(function, parts, set()):
        return None
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def _digest_parts(function, parts, seen):
    """Add ``function``'s code, source file and the numbers it reads, and those of
    the functions it calls, to ``parts``; False where one cannot be digested."""
    function = getattr(function, "py_func", function)  # (a numba dispatcher's)
    if function in seen:
        return True
    seen.add(function)
    if not inspect.isfunction(function) or function.__closure__:
        return False
    code = function.__code__
    source = Path(code.co_filename)
    if not source.is_file():
        return False
    if any(isinstance(c, types.CodeType) for c in code.co_consts):
        return False  # (a nested function or comprehension: its repr names an address)
    parts += [source.read_bytes(), function.__qualname__.encode(), code.co_code,
              repr(code.co_consts).encode()]
    return all(_digest_global(name, function.__globals__.get(name), parts, seen)
               for name in code.co_names)


def _digest_global(name, value, parts, seen):
    """Add what numba compiles of a name a function reads (numba freezes a global's
    value into the loop); False where it cannot be digested."""
    if value is None:
        return True  # an attribute's name or a builtin: numba's own spelling
    if isinstance(value, types.ModuleType):  # numba's spelling of math and NumPy only
        return value.__name__ in LIBRARIES
    if isinstance(value, bool | int | float | str):
        parts.append(f"{name}={value!r}".encode())
        return True
    if inspect.isbuiltin(value) or isinstance(value, np.ufunc):
        parts.append(f"{name}={value.__name__}".encode())
        return True
    return _digest_parts(value, parts, seen)  # a function it calls (else False)


class Kernels:
    """The compiled loops one fit uses, for arrays of ``dtype``: a loop that adds
    the bias and activates for each of the network's ``activations`` with a
    ``forward_at``, one that multiplies by the derivative for each hidden one with a
    ``derivative_at`` (and for the last hidden one, with ``one_output``: an output
    layer of one unit, one that multiplies the outer product d w^T by it), the
    output layer's bias, link and ``loss`` at once where the loss has a ``link_at``
    or ``link_row_at`` and the last activation is its link, and the ``solver``'s
    update. All are compiled (or loaded from numba's cache) and
    run once on a few numbers here: a failure raises now, before training starts."""

    def __init__(self, dtype, activations, solver, loss=None, one_output=False):
        if numba.config.DISABLE_JIT:
            raise Unavailable("numba's compiler is turned off (NUMBA_DISABLE_JIT=1)",
                              "unset NUMBA_DISABLE_JIT")
        self.dtype = np.dtype(dtype)
        self.forward = _loops(add_bias_activate, activations, "forward_at")
        self.derivative = _loops(times_derivative, activations[:-1], "derivative_at")
        self.outer_derivative = (_loops(outer_times_derivative, activations[-2:-1],
                                        "derivative_at") if one_output else {})
        self.output = _output_loop(loss, activations[-1] if activations else None)
        self.adam = compiled(adam, "adam", adam_at) if solver == "adam" else None
        self.sgd = compiled(sgd, "sgd", sgd_at) if solver == "sgd" else None
        self._warm_up(self.dtype)

    def _warm_up(self, dtype):
        """Run every loop on arrays of ``dtype`` and arguments of the types training
        passes (so that no compilation is left for training)."""
        Z, b, p = np.full((2, 2), 0.5, dtype), np.full(2, 0.5, dtype), np.full(2, 0.5, dtype)
        for loop in self.forward.values():
            loop(Z.copy(), b)
        for loop in self.derivative.values():
            loop(Z.copy(), Z)
        for loop in self.outer_derivative.values():
            loop(Z[:, :1].copy(), Z[:, :1].copy(), Z, Z.copy())
        if self.output is not None:
            self.output(Z, b, Z, Z.copy(), Z.copy(), p.copy(), 2.0)
        number = number_type(dtype)  # (the optimizers' numbers, as training passes them)
        if self.adam is not None:
            self.adam(p.copy(), p, p.copy(), p.copy(), *map(number, (
                0.1, 0.9, 0.999, 1e-8, 0.1, 0.001)), 1, number(0.1))
        if self.sgd is not None:
            self.sgd(p.copy(), p, p.copy(), number(0.1), number(0.9), True, 1, number(0.1))

    def add_bias_activate(self, Z, b, name):
        """Z <- f(Z + b) in place in one pass; False (nothing done) where activation
        ``name`` has no loop."""
        loop = self.forward.get(name)
        if loop is None:
            return False
        loop(Z, b)
        return True

    def times_derivative(self, delta, A, name):
        """delta <- delta * f'(Z) in place in one pass; False (nothing done) where
        activation ``name`` has no loop."""
        loop = self.derivative.get(name)
        if loop is None:
            return False
        loop(delta, A)
        return True

    def output_loss(self, Z, b, Y, A, delta, terms, scale):
        """A = f(Z + b), delta = (A - Y) / scale and each row's loss into
        ``terms`` in one pass (``output_loss``): where the fit's loss has the
        loop (``self.output`` is not None)."""
        self.output(Z, b, Y, A, delta, terms, float(scale))


def _output_loop(loss, activation):
    """The output layer's loop for ``loss`` (its name) ending in ``activation``,
    or None: no loss, another activation than its link, or no spelling."""
    if not isinstance(loss, str) or loss not in LOSSES:
        return None
    record = LOSSES[loss]
    if activation != record.link:
        return None
    if record.link_at is not None:
        return compiled(output_loss, loss, record.link_at)
    if record.link_row_at is not None and record.link_row_end_at is not None:
        return RowOutput(compiled(output_row_start, loss, record.link_row_at),
                         compiled(output_row_end, loss, record.link_row_end_at))
    return None


def _loops(template, names, field):
    """name -> ``template`` compiled with the record's ``field``, for each of
    ``names`` whose record has one."""
    return {name: compiled(template, name, getattr(ACTIVATIONS[name], field))
            for name in dict.fromkeys(names)
            if getattr(ACTIVATIONS[name], field) is not None}
