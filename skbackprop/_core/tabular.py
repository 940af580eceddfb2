"""Layers for tabular data: category embeddings, periodic embeddings of numbers, a
per-feature scaling, activations with a learnable parameter and a Dense layer in the
NTK parametrisation.

Each is a layer of the protocol in ``_core.layers`` (a ``NamedTuple`` of plain
settings, registered in ``LAYERS`` when this module is imported), with a
hand-written forward and backward pass that allocates its results, in the
functions of the Array API standard (``_core.xp``). Below, ``n`` is the number of
rows, ``A_in`` a layer's input (n x fan_in), ``A`` its output and ``delta`` the
error at its output, dL/dA (these layers pass the error arriving at their output
through ``delta`` unchanged and apply their own derivative in ``backward``; an
``NTKDense`` layer's error is dL/dZ, as a ``Dense`` layer's). Sums run over the
rows; ``alpha p / sum_i s_i`` is added to the gradient of every parameter ``p``
listed in a layer's ``decayed`` (the L2 penalty).

Every layer class also declares ``lr_factors``: one number per parameter array (in
the order of ``parameter_shapes``) by which an optimizer may multiply its learning
rate for that array; ``_core.layers.lr_factors`` reads them (1.0 for a layer that
declares none, such as ``Dense``). The values given are RealMLP's (Holzmuller
et al., 2024, "Better by default: strong pre-tuned MLPs and boosted trees on
tabular data").

Each also writes its forward pass as ONNX nodes, ``onnx(graph, A_in, params,
fan_in)`` (last in its class), the formula above spelled in ONNX operators, for
``skbackprop.onnx``; the parametric activations' f are ``PARAMETRIC_ONNX``'s.
"""

import math
from typing import NamedTuple

import numpy as np
from scipy.sparse import issparse

from .activations import ACTIVATIONS
from .layers import matmul, register_layer
from .xp import column_sums, concat, copy, device, maximum, namespace

__all__ = ["PARAMETRIC_ACTIVATIONS", "PARAMETRIC_ONNX", "CategoricalEmbedding",
           "FeatureScale", "NTKDense", "PReLU", "ParametricActivation", "PeriodicEmbedding",
           "mish", "mish_and_derivative", "mish_derivative", "mish_onnx", "selu",
           "selu_and_derivative", "selu_derivative", "selu_onnx"]

TWO_PI = 2 * math.pi


# ------------------------------------------------------------------------ helpers
def _dense(A_in, layer):
    """``A_in``, refused where it is a scipy sparse matrix (which these layers do
    not index column by column)."""
    if issparse(A_in):
        raise TypeError(f"the {layer.kind} layer needs a dense input, not a sparse "
                        "matrix: convert X with X.toarray()")
    return A_in


def _checked_columns(columns, fan_in, layer):
    """``columns`` as a tuple of distinct column indices of an input of ``fan_in``
    columns, or a ValueError naming what is wrong."""
    given = tuple(columns) if isinstance(columns, (list, tuple, np.ndarray)) else None
    if not given or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool)
                            for c in given):
        raise ValueError(f"the {layer.kind} layer's columns must be a non-empty list of "
                         f"column indices, got {columns!r}")
    given = tuple(int(c) for c in given)
    if len(set(given)) != len(given) or not all(0 <= c < fan_in for c in given):
        raise ValueError(f"the {layer.kind} layer's columns {list(given)} must be "
                         f"distinct indices of its {fan_in} input columns (0 to "
                         f"{fan_in - 1})")
    return given


def _positive(value, name, layer):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"the {layer.kind} layer's {name} must be a positive integer, "
                         f"got {value!r}")
    return int(value)


def _indices(values, like):
    """Integer indices in the namespace and on the device of the array ``like``."""
    if isinstance(like, np.ndarray):
        return np.asarray(values, dtype=np.intp)
    return namespace(like).asarray(values, device=device(like))


def _gather_columns(A, columns):
    """A[:, columns]: the columns with these indices, in this order."""
    if isinstance(A, np.ndarray):
        return A[:, list(columns)]
    return namespace(A).take(A, _indices(columns, A), axis=1)


def _scatter_columns(values, columns, fan_in):
    """An (n x fan_in) array holding ``values[:, j]`` in column ``columns[j]`` and
    0 elsewhere (through a 0/1 selection matrix outside NumPy, whose standard has no
    indexed assignment)."""
    if isinstance(values, np.ndarray):
        out = np.zeros((values.shape[0], fan_in), dtype=values.dtype)
        out[:, list(columns)] = values
        return out
    xp = namespace(values)
    selection = np.zeros((len(columns), fan_in))
    selection[np.arange(len(columns)), list(columns)] = 1.0
    return values @ xp.asarray(selection, dtype=values.dtype, device=device(values))


def _rows_per_code(codes, delta, levels):
    """sum of the rows of ``delta`` per code: G[c] = sum over {i: codes_i = c} of
    delta_i, a scatter-add (NumPy's ``add.at``; elsewhere one-hot^T delta)."""
    if isinstance(delta, np.ndarray):
        grad = np.zeros((levels, delta.shape[1]), dtype=delta.dtype)
        np.add.at(grad, codes, delta)
        return grad
    xp = namespace(delta)
    one_hot = xp.astype(codes[:, None] == xp.arange(levels, device=device(delta))[None, :],
                        delta.dtype)
    return one_hot.T @ delta


def _negative_part(Z):
    """min(z, 0) for every element."""
    if isinstance(Z, np.ndarray):
        return np.minimum(Z, 0.0)
    return namespace(Z).clip(Z, None, 0.0)


def _decay(grad, p, alpha, sw_sum):
    """grad + alpha p / sum_i s_i (the L2 penalty's gradient), for alpha > 0."""
    return grad + (alpha / sw_sum) * p if alpha else grad


# ------------------------------------------------------- parametric activations' f
def selu(Z):
    """f(z) = lambda z for z > 0, lambda alpha (e^z - 1) else (Klambauer et al.,
    2017), with lambda = 1.0507... and alpha = 1.6733..., spelt without a branch:
    lambda max(z, 0) + lambda alpha (e^min(z, 0) - 1)."""
    return _selu_from(Z, namespace(Z).exp(_negative_part(Z)))


def selu_derivative(Z):
    """f'(z) = lambda for z > 0, lambda alpha e^z else: lambda alpha e^min(z, 0)
    + (lambda - lambda alpha) [z > 0], as e^min(z, 0) = 1 for z > 0."""
    return _selu_slope_from(Z, namespace(Z).exp(_negative_part(Z)))


def _selu_from(Z, e):
    """``selu`` from e = e^min(z, 0)."""
    return _SELU_SCALE * maximum(Z, 0.0) + (_SELU_LA * e - _SELU_LA)


def _selu_slope_from(Z, e):
    """``selu_derivative`` from e = e^min(z, 0)."""
    return _SELU_LA * e + (_SELU_SCALE - _SELU_LA) * namespace(Z).astype(Z > 0, Z.dtype)


def _tanh_softplus(Z):
    """(t, d, n, c): t = tanh(softplus(z)), d = 1 - t, n = e^c for c = min(z, 20),
    from one exponential.

    With n = e^z, tanh(log(1 + n)) = ((1 + n)^2 - 1) / ((1 + n)^2 + 1)
    = a / (a + 2) with a = n (n + 2), so 1 - t = 2 / (a + 2) without cancellation.
    z is capped at 20, where t is 1 to double precision (a > 2e17): no overflow,
    and the same t for larger z."""
    xp = namespace(Z)
    c = xp.minimum(Z, 20.0) if isinstance(Z, np.ndarray) else xp.clip(Z, None, 20.0)
    n = xp.exp(c)
    a = n * (n + 2.0)
    denominator = a + 2.0
    return a / denominator, 2.0 / denominator, n, c


def mish(Z):
    """f(z) = z tanh(softplus(z)) (Misra, 2019), t = a / (a + 2) as
    ``_tanh_softplus`` (on NumPy in place: one exponential, no other array)."""
    if not isinstance(Z, np.ndarray):
        return Z * _tanh_softplus(Z)[0]
    a = np.minimum(Z, 20.0)
    np.exp(a, out=a)
    a *= a + 2.0
    t = np.add(a, 2.0)
    np.divide(a, t, out=t)
    t *= Z
    return t


def mish_derivative(Z):
    """f'(z) = t + z sigma(z) (1 - t^2), t = tanh(softplus(z)) (softplus' = sigma):
    sigma(z) = n / (1 + n) and 1 - t^2 = d (2 - d), d = 1 - t. Past the cap the
    second term is below half an ulp of t = 1, and is taken at z = 20."""
    return _mish_slope_from(*_tanh_softplus(Z))


def _mish_slope_from(t, d, n, c):
    """``mish_derivative`` from ``_tanh_softplus``'s (t, d, n, c)."""
    return t + c * (n / (1.0 + n)) * (d * (2.0 - d))


def selu_and_derivative(Z):
    """(f(z), f'(z)) of ``selu`` from one exponential e^min(z, 0) (the numbers of
    ``selu`` and ``selu_derivative``)."""
    e = namespace(Z).exp(_negative_part(Z))
    return _selu_from(Z, e), _selu_slope_from(Z, e)


def mish_and_derivative(Z):
    """(f(z), f'(z)) of ``mish`` from one exponential (the numbers of ``mish`` and
    ``mish_derivative``)."""
    t, d, n, c = _tanh_softplus(Z)
    return Z * t, _mish_slope_from(t, d, n, c)


def selu_change_into(Z, change, slope):
    """f(z) - z into ``change`` and f'(z) into ``slope`` (NumPy arrays of Z's shape
    and dtype), for ``selu``: the operations of ``_selu_from`` and
    ``_selu_slope_from`` in their order, in place (the same numbers, two passes
    fewer and no new array but one)."""
    e = np.minimum(Z, 0.0)
    np.exp(e, out=e)
    e *= _SELU_LA  # lambda alpha e, which both spellings start from
    np.greater(Z, 0.0, out=slope, casting="unsafe")  # [z > 0] as 0 and 1
    slope *= _SELU_SCALE - _SELU_LA
    slope += e
    e -= _SELU_LA
    np.maximum(Z, 0.0, out=change)
    change *= _SELU_SCALE
    change += e
    change -= Z
    return change, slope


def mish_change_into(Z, change, slope):
    """f(z) - z into ``change`` and f'(z) into ``slope``, for ``mish``: the
    operations of ``_tanh_softplus``, ``mish_and_derivative`` and
    ``_mish_slope_from`` in their order, in place (the same numbers)."""
    c = np.minimum(Z, 20.0)
    n = np.exp(c)
    a = np.add(n, 2.0)
    a *= n  # a = n (n + 2)
    denominator = np.add(a, 2.0)
    t = np.divide(a, denominator, out=a)
    d = np.divide(2.0, denominator, out=denominator)
    np.multiply(Z, t, out=change)
    change -= Z
    np.add(n, 1.0, out=slope)
    np.divide(n, slope, out=n)  # sigma(z) = n / (1 + n)
    c *= n
    np.subtract(2.0, d, out=slope)
    slope *= d  # d (2 - d) = 1 - t^2
    c *= slope
    return change, np.add(t, c, out=slope)


_SELU_SCALE = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_LA = _SELU_SCALE * _SELU_ALPHA

# name -> (f, f', both at once): the activations ``ParametricActivation`` mixes
# with the identity
PARAMETRIC_ACTIVATIONS = {"selu": (selu, selu_derivative, selu_and_derivative),
                          "mish": (mish, mish_derivative, mish_and_derivative)}
# name -> f(z) - z and f'(z) into NumPy arrays (a training step's buffers)
CHANGE_INTO = {"selu": selu_change_into, "mish": mish_change_into}


# ------------------------------------------------------------------------- layers
@register_layer
class FeatureScale(NamedTuple):
    """A learnable scale per feature (RealMLP's front scaling layer):

        A = A_in * s                     (s: one number per column, starting at 1)
        dL/ds = sum over rows of delta * A_in + alpha s / sum_i s_i
        dL/dA_in = delta * s

    Its learning-rate factor ``lr_factor`` is 6 by default (RealMLP's, relative to
    its NTK layers' rate), so that an optimizer can move the scales faster than the
    weights: a feature selection learnt in a few epochs.
    """

    lr_factor: float = 6.0

    kind = "feature_scale"
    parameter_names = ("s",)
    decayed = (0,)

    @property
    def lr_factors(self):
        return (self.lr_factor,)

    def width(self, fan_in):
        return fan_in

    def parameter_shapes(self, fan_in):
        """s: (fan_in,)."""
        return [(fan_in,)]

    def initial_parameters(self, fan_in, init, rng, activation):
        """s = 1: the layer starts as the identity."""
        return [np.ones(fan_in)]

    def forward(self, A_in, params, buffers=None, keep=False):
        return _dense(A_in, self) * params[0], None

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        (s,) = params
        grad = _decay(column_sums(delta * A_in), s, alpha, sw_sum)
        return [grad], delta * s if upstream else None

    def delta(self, upstream, A, Z, kernels=None):
        return upstream

    def onnx(self, graph, A_in, params, fan_in):
        """ONNX nodes of the forward pass (``Mul`` by s); returns A's name."""
        return graph.node("Mul", [A_in, graph.const(params[0])])


@register_layer
class CategoricalEmbedding(NamedTuple):
    """Learned embeddings of categorical columns: column ``columns[j]`` of the input
    holds integer category codes 0 .. levels[j] - 1 (0 for a missing or unseen
    category), each of which selects its row of the table E_j (levels[j] x dim):

        A = [A_in without the code columns, E_1[c_1], ..., E_k[c_k]]
        dL/dE_j[c] = sum of delta_j over the rows whose code is c   (a scatter-add)
                     + alpha E_j / sum_i s_i

    where c_j is the code column ``columns[j]`` and delta_j the dim columns of delta
    that E_j[c_j] fills. The kept columns stay in their order, before the
    embeddings. Codes are not differentiable (they are piecewise constant): this is
    a network's first layer, and dL/dA_in, where asked for, is delta on the kept
    columns and 0 on the code columns. A code that is not an integer in its column's
    range (a NaN included) is refused with the column named. The tables start as
    N(0, 1) draws (RealMLP's embeddings, of size 8); their learning-rate factor is
    ``lr_factor``, 1 by default.
    """

    columns: tuple
    levels: tuple
    dim: int = 8
    lr_factor: float = 1.0

    kind = "categorical_embedding"

    @property
    def parameter_names(self):
        """E<column>: the table of each code column."""
        return tuple(f"E{c}" for c in self.columns)

    @property
    def decayed(self):
        return tuple(range(len(self.columns)))

    @property
    def lr_factors(self):
        return (self.lr_factor,) * len(self.columns)

    def _checked(self, fan_in):
        columns = _checked_columns(self.columns, fan_in, self)
        levels = tuple(self.levels) if isinstance(self.levels, (list, tuple)) else ()
        if len(levels) != len(columns):
            raise ValueError(f"the {self.kind} layer needs one number of levels per "
                             f"column: {len(columns)} columns, levels={self.levels!r}")
        levels = tuple(_positive(k, "levels", self) for k in levels)
        return columns, levels, _positive(self.dim, "dim", self)

    def width(self, fan_in):
        columns, _, dim = self._checked(fan_in)
        return fan_in - len(columns) + len(columns) * dim

    def parameter_shapes(self, fan_in):
        """E_j: (levels[j], dim) for each code column."""
        _, levels, dim = self._checked(fan_in)
        return [(k, dim) for k in levels]

    def initial_parameters(self, fan_in, init, rng, activation):
        """Every table's entries drawn from N(0, 1)."""
        return [rng.normal(size=shape) for shape in self.parameter_shapes(fan_in)]

    def _kept(self, fan_in):
        """The indices of the columns that are not codes, in order."""
        codes = set(self.columns)
        return [c for c in range(fan_in) if c not in codes]

    def _codes(self, A_in, column, levels, check=True):
        """The codes in ``column`` as integers, after checking them (``check``:
        the backward pass reads the input its forward pass checked)."""
        xp = namespace(A_in)
        x = A_in[:, column]
        bad = ~((x == xp.floor(x)) & (x >= 0) & (x < levels)) if check else None
        if check and bool(xp.any(bad)):
            value = float(x[xp.nonzero(bad)[0][0]])
            raise ValueError(
                f"column {column} of the {self.kind} layer's input holds {value}, which "
                f"is not one of its {levels} category codes 0 to {levels - 1}: encode "
                "each category as an integer code, missing and unseen ones as 0")
        return xp.astype(x, xp.int64)

    def forward(self, A_in, params, buffers=None, keep=False):
        A_in = _dense(A_in, self)
        xp = namespace(A_in, *params)
        parts = [_gather_columns(A_in, self._kept(A_in.shape[1]))]
        for column, E in zip(self.columns, params):
            parts.append(xp.take(E, self._codes(A_in, column, E.shape[0]), axis=0))
        return concat(parts, axis=1), None

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        fan_in = A_in.shape[1]
        start, grads = fan_in - len(self.columns), []
        for column, E in zip(self.columns, params):
            rows = _rows_per_code(self._codes(A_in, column, E.shape[0], check=False),
                                  delta[:, start:start + E.shape[1]], E.shape[0])
            grads.append(_decay(rows, E, alpha, sw_sum))
            start += E.shape[1]
        if not upstream:
            return grads, None
        kept = self._kept(fan_in)
        return grads, _scatter_columns(delta[:, :len(kept)], kept, fan_in)

    def delta(self, upstream, A, Z, kernels=None):
        return upstream

    def onnx(self, graph, A_in, params, fan_in):
        """ONNX nodes of the forward pass: the kept columns by ``Gather`` (axis 1),
        then each code column cast to int64 and its table's rows by ``Gather``
        (axis 0), side by side (``Concat``); returns A's name."""
        kept = self._kept(fan_in)
        parts = [graph.node("Gather", [A_in, graph.const(kept, graph.INT64)], axis=1)
                 ] if kept else []
        for column, E in zip(self.columns, params):
            x = graph.node("Gather", [A_in, graph.const(column, graph.INT64)], axis=1)
            codes = graph.node("Cast", [x], to=graph.INT64)
            parts.append(graph.node("Gather", [graph.const(E), codes], axis=0))
        return graph.node("Concat", parts, axis=1)


@register_layer
class PeriodicEmbedding(NamedTuple):
    """Periodic embeddings of numeric columns (RealMLP's "PBLD": periodic, with a
    cosine bias, linear, DenseNet-style; after Gorishniy et al., 2022). Each chosen
    column x_j (``columns[j]``) becomes ``frequencies`` periodic features, mapped
    linearly to ``dim - 1`` learned features, appended to the whole input (which
    keeps x_j itself, the ``dim``-th):

        P_j = 2 pi x_j w_j + b_j           (w_j, b_j: frequencies and phases, 1 x F)
        E_j = cos(P_j) V_j + c_j           (V_j: F x (dim - 1), c_j: 1 x (dim - 1))
        A = [A_in, E_1, ..., E_k]

        dL/dc_j = sum over rows of delta_j          (delta_j: E_j's columns of delta)
        dL/dV_j = cos(P_j)^T delta_j
        dL/dP_j = -sin(P_j) * (delta_j V_j^T)
        dL/db_j = sum over rows of dL/dP_j,   dL/dw_j = 2 pi x_j^T dL/dP_j
        dL/dx_j = delta on x_j's column + 2 pi (dL/dP_j) w_j^T

    each gradient plus alpha p / sum_i s_i. The frequencies start as N(0, sigma^2)
    draws, the phases uniform on [-pi, pi], V and c uniform on +-1/sqrt(F)
    (RealMLP's sigma 0.1, F = 16 and dim 4; learning-rate factor ``lr_factor``,
    0.1 by default, RealMLP's relative to its NTK layers' rate). Its
    parameters are ``w`` (k x F), ``phase`` (k x F), ``V`` (k x F x (dim - 1)) and
    ``c`` (k x (dim - 1)), one row per chosen column. In a training step (NumPy's
    workspace ``buffers``) the backward pass reuses the forward's x, P and cos(P)
    (``Buffers.cache``) instead of computing them again: the same numbers.
    """

    columns: tuple
    frequencies: int = 16
    dim: int = 4
    sigma: float = 0.1
    lr_factor: float = 0.1

    kind = "periodic_embedding"
    parameter_names = ("w", "phase", "V", "c")
    decayed = (0, 1, 2, 3)

    @property
    def lr_factors(self):
        return (self.lr_factor,) * 4

    def _sizes(self, fan_in):
        """(k, F, D): columns embedded, frequencies, learned features per column."""
        k = len(_checked_columns(self.columns, fan_in, self))
        F = _positive(self.frequencies, "frequencies", self)
        if not isinstance(self.dim, (int, np.integer)) or self.dim < 2:
            raise ValueError(f"the {self.kind} layer's dim must be an integer of at least "
                             f"2 (the column itself and its learned features), got "
                             f"{self.dim!r}")
        if not (isinstance(self.sigma, (int, float)) and self.sigma > 0):
            raise ValueError(f"the {self.kind} layer's sigma must be a positive number, "
                             f"got {self.sigma!r}")
        return k, F, int(self.dim) - 1

    def width(self, fan_in):
        k, _, D = self._sizes(fan_in)
        return fan_in + k * D

    def parameter_shapes(self, fan_in):
        """w and phase (k, F), V (k, F, dim - 1), c (k, dim - 1)."""
        k, F, D = self._sizes(fan_in)
        return [(k, F), (k, F), (k, F, D), (k, D)]

    def initial_parameters(self, fan_in, init, rng, activation):
        """w ~ N(0, sigma^2), phase ~ U[-pi, pi], V and c ~ U[-1/sqrt(F), 1/sqrt(F)]."""
        k, F, D = self._sizes(fan_in)
        bound = 1 / math.sqrt(F)
        return [self.sigma * rng.normal(size=(k, F)), rng.uniform(-np.pi, np.pi, (k, F)),
                rng.uniform(-bound, bound, (k, F, D)), rng.uniform(-bound, bound, (k, D))]

    def _phases(self, A_in, params):
        """x (k x n: the chosen columns, one row each) and P (k x n x F)."""
        w, phase = params[0], params[1]
        x = _gather_columns(_dense(A_in, self), self.columns).T
        return x, TWO_PI * x[:, :, None] * w[:, None, :] + phase[:, None, :]

    def forward(self, A_in, params, buffers=None, keep=False):
        xp = namespace(A_in, *params)
        x, P = self._phases(A_in, params)
        V, c = params[2], params[3]
        cos_P = xp.cos(P)
        if buffers is not None:  # (for the backward pass of the same training step)
            buffers.cache.update(x=x, P=P, cos_P=cos_P)
        E = xp.matmul(cos_P, V) + c[:, None, :]  # (k, n, D)
        n = A_in.shape[0]
        E = xp.reshape(xp.permute_dims(E, (1, 0, 2)), (n, E.shape[0] * E.shape[2]))
        return concat([A_in, E], axis=1), None

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        xp = namespace(delta, *params)
        w, V = params[0], params[2]
        k, n, fan_in = w.shape[0], delta.shape[0], A_in.shape[1]
        if buffers is None:
            x, P = self._phases(A_in, params)
            cos_P = xp.cos(P)
        else:  # what the forward pass of this step computed
            x, P, cos_P = (buffers.cache.pop(name) for name in ("x", "P", "cos_P"))
        G = xp.permute_dims(xp.reshape(delta[:, fan_in:], (n, k, V.shape[2])), (1, 0, 2))
        dP = -xp.sin(P) * xp.matmul(G, xp.permute_dims(V, (0, 2, 1)))  # (k, n, F)
        grads = [TWO_PI * xp.sum(dP * x[:, :, None], axis=1), xp.sum(dP, axis=1),
                 xp.matmul(xp.permute_dims(cos_P, (0, 2, 1)), G), xp.sum(G, axis=1)]
        grads = [_decay(g, p, alpha, sw_sum) for g, p in zip(grads, params)]
        if not upstream:
            return grads, None
        dx = TWO_PI * xp.sum(dP * w[:, None, :], axis=2).T  # (n, k)
        return grads, delta[:, :fan_in] + _scatter_columns(dx, self.columns, fan_in)

    def delta(self, upstream, A, Z, kernels=None):
        return upstream

    def onnx(self, graph, A_in, params, fan_in):
        """ONNX nodes of the forward pass, on (n, k, F) arrays: x_j by ``Gather``,
        P = 2 pi x w + phase by ``Mul`` and ``Add``, ``Cos``, the product with V
        by ``MatMul`` over (k, n, F) (``Transpose``), ``Add`` c, back to rows of
        k (dim - 1) features (``Transpose``, ``Reshape``), appended to the input
        (``Concat``); returns A's name."""
        w, phase, V, c = params
        k, D = w.shape[0], V.shape[2]
        x = graph.node("Gather", [A_in, graph.const(list(self.columns), graph.INT64)],
                       axis=1)
        x = graph.node("Reshape", [x, graph.const([0, k, 1], graph.INT64)])
        P = graph.node("Mul", [graph.node("Mul", [x, graph.const(TWO_PI)]),
                               graph.const(w[None])])
        P = graph.node("Add", [P, graph.const(phase[None])])
        cosines = graph.node("Transpose", [graph.node("Cos", [P])], perm=[1, 0, 2])
        E = graph.node("Add", [graph.node("MatMul", [cosines, graph.const(V)]),
                               graph.const(c[:, None, :])])
        E = graph.node("Transpose", [E], perm=[1, 0, 2])
        E = graph.node("Reshape", [E, graph.const([0, k * D], graph.INT64)])
        return graph.node("Concat", [A_in, E], axis=1)


@register_layer
class ParametricActivation(NamedTuple):
    """An activation f mixed with the identity by a learnable weight per unit
    (RealMLP's parametric SELU and Mish), applied to its input, the net input of the
    layer before it (a ``Dense`` or ``NTKDense`` layer with the identity):

        A = A_in + m * (f(A_in) - A_in)      (m: one weight per unit, starting at 1)
        dL/dm = sum over rows of delta * (f(A_in) - A_in) + alpha m / sum_i s_i
        dL/dA_in = delta * (1 + m * (f'(A_in) - 1))

    with f its ``function``, one of ``PARAMETRIC_ACTIVATIONS``: "selu" or "mish".
    At m = 1 the layer is f; at m = 0, the identity. Learning-rate factor
    ``lr_factor``, 0.1 by default (RealMLP's, relative to its NTK layers' rate).

    In a training step (NumPy's workspace ``buffers``) the forward pass computes
    f(A_in) and f'(A_in) together, from one exponential, and leaves f(A_in) - A_in
    and f'(A_in) in the layer's two buffers for the backward pass of the same step,
    which reads them instead of computing f again: the same numbers.
    """

    function: str = "selu"
    lr_factor: float = 0.1

    kind = "parametric_activation"
    parameter_names = ("m",)
    decayed = (0,)

    @property
    def lr_factors(self):
        return (self.lr_factor,)

    def _functions(self):
        if self.function not in PARAMETRIC_ACTIVATIONS:
            raise ValueError(f"the {self.kind} layer's function must be one of "
                             f"{sorted(PARAMETRIC_ACTIVATIONS)}, got {self.function!r}")
        return PARAMETRIC_ACTIVATIONS[self.function]

    def width(self, fan_in):
        self._functions()
        return fan_in

    def parameter_shapes(self, fan_in):
        """m: (fan_in,)."""
        return [(fan_in,)]

    def initial_parameters(self, fan_in, init, rng, activation):
        """m = 1: the layer starts as f."""
        return [np.ones(fan_in)]

    def keeps_net_input(self):
        """The workspace gives the layer two buffers (see the class)."""
        return True

    def forward(self, A_in, params, buffers=None, keep=False):
        f = self._functions()[0]
        if buffers is None:
            return A_in + params[0] * (f(A_in) - A_in), None
        n = A_in.shape[0]
        change, _ = CHANGE_INTO[self.function](A_in, buffers.net_input[:n],
                                               buffers.output[:n])
        A = np.multiply(params[0], change)
        A += A_in  # (A_in + m (f(A_in) - A_in): the sum is the same either way)
        return A, None

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        f, derivative, _ = self._functions()
        (m,) = params
        n = A_in.shape[0]
        change = f(A_in) - A_in if buffers is None else buffers.net_input[:n]
        grad = _decay(column_sums(delta * change), m, alpha, sw_sum)
        if not upstream:
            return [grad], None
        if buffers is None:
            return [grad], delta * (1 + m * (derivative(A_in) - 1))
        factor = np.subtract(buffers.output[:n], 1.0, out=buffers.output[:n])
        factor *= m  # (1 + m (f' - 1)) delta, in the buffer f' leaves free
        factor += 1.0
        factor *= delta
        return [grad], factor

    def delta(self, upstream, A, Z, kernels=None):
        return upstream

    def onnx(self, graph, A_in, params, fan_in):
        """ONNX nodes of the forward pass, A_in + m (f(A_in) - A_in), f written by
        its builder in ``PARAMETRIC_ONNX``; returns A's name."""
        self._functions()
        f = PARAMETRIC_ONNX[self.function](graph, A_in)
        change = graph.node("Mul", [graph.const(params[0]), graph.node("Sub", [f, A_in])])
        return graph.node("Add", [A_in, change])


@register_layer
class PReLU(NamedTuple):
    """The parametric ReLU (He et al., 2015), a learnable slope per unit for
    negative inputs, applied to its input (the net input of the layer before it):

        A = max(A_in, 0) + a * min(A_in, 0)   (a: one slope per unit, starting at 0.25)
        dL/da = sum over rows of delta * min(A_in, 0)
        dL/dA_in = delta * (1 where A_in > 0, else a)

    The slopes are not in the L2 penalty (``decayed`` is empty: decaying them would
    pull the layer towards a ReLU).
    """

    kind = "prelu"
    parameter_names = ("a",)
    decayed = ()
    lr_factors = (1.0,)

    def width(self, fan_in):
        return fan_in

    def parameter_shapes(self, fan_in):
        """a: (fan_in,)."""
        return [(fan_in,)]

    def initial_parameters(self, fan_in, init, rng, activation):
        """a = 0.25 (PyTorch's start)."""
        return [np.full(fan_in, 0.25)]

    def forward(self, A_in, params, buffers=None, keep=False):
        return maximum(A_in, 0) + params[0] * _negative_part(A_in), None

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        xp = namespace(delta, *params)
        (a,) = params
        grad = column_sums(delta * _negative_part(A_in))
        if not upstream:
            return [grad], None
        return [grad], delta * xp.where(A_in > 0, xp.ones_like(A_in), a)

    def delta(self, upstream, A, Z, kernels=None):
        return upstream

    def onnx(self, graph, A_in, params, fan_in):
        """ONNX nodes of the forward pass, ``max(A_in, 0) + a min(A_in, 0)``;
        returns A's name."""
        negative = graph.node("Min", [A_in, graph.const(0.0)])
        return graph.node("Add", [graph.node("Max", [A_in, graph.const(0.0)]),
                                  graph.node("Mul", [graph.const(params[0]), negative])])


@register_layer
class NTKDense(NamedTuple):
    """A fully connected layer in the neural-tangent-kernel parametrisation (Jacot
    et al., 2018; RealMLP's weight layers): the weights are drawn from N(0, 1) and
    scaled by 1/sqrt(fan_in) in the forward pass, so that a learning rate moves
    every layer's outputs at the same pace whatever its width:

        Z = A_in W / sqrt(fan_in) + b,     A = f(Z)
        dL/dW = A_in^T delta / sqrt(fan_in) + alpha W / sum_i s_i
        dL/db = sum over rows of delta
        dL/dA_in = delta W^T / sqrt(fan_in)

    with delta = dL/dZ (``delta`` applies f', as ``Dense``'s does) and f one of
    the activations of ``_core.activations``. ``output`` marks the network's last
    layer. W starts as N(0, 1) draws, b at 0. Learning-rate factors 1 for W and 0.1
    for b (RealMLP's); only W is in the L2 penalty. It is a layer of its own kind:
    ``Dense`` layers and what writes them out (the per-row path, ONNX) are not
    concerned.
    """

    units: int
    activation: str = "identity"
    output: bool = False

    kind = "ntk_dense"
    parameter_names = ("W", "b")
    decayed = (0,)
    lr_factors = (1.0, 0.1)

    def width(self, fan_in):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"the {self.kind} layer's activation must be one of "
                             f"{sorted(ACTIVATIONS)}, got {self.activation!r}")
        return _positive(self.units, "units", self)

    def parameter_shapes(self, fan_in):
        """W (fan_in x units) and b (units)."""
        return [(fan_in, self.width(fan_in)), (self.units,)]

    def initial_parameters(self, fan_in, init, rng, activation):
        """W from N(0, 1), b = 0."""
        return [rng.normal(size=(fan_in, self.width(fan_in))), np.zeros(self.units)]

    def forward(self, A_in, params, buffers=None, keep=False):
        """``(A, Z)``: Z is always returned (the losses read the output layer's)."""
        W, b = params
        Z = matmul(A_in, W) * (1 / math.sqrt(W.shape[0])) + b
        return ACTIVATIONS[self.activation].forward(copy(Z)), Z

    def backward(self, delta, A_in, params, alpha=0.0, sw_sum=1.0, buffers=None,
                 upstream=True):
        W, _ = params
        scale = 1 / math.sqrt(W.shape[0])
        grads = [_decay(matmul(A_in.T, delta) * scale, W, alpha, sw_sum),
                 column_sums(delta)]
        return grads, (matmul(delta, W.T) * scale if upstream else None)

    def delta(self, upstream, A, Z, kernels=None):
        """dL/dZ = dL/dA * f'(Z)."""
        return ACTIVATIONS[self.activation].derivative(A, upstream, Z)

    def onnx(self, graph, A_in, params, fan_in):
        """ONNX nodes of the forward pass: ``MatMul``, ``Mul`` by 1/sqrt(fan_in),
        ``Add`` b, then the activation's builder (its record's ``onnx``); returns
        A's name."""
        W, b = params
        Z = graph.node("Mul", [graph.node("MatMul", [A_in, graph.const(W)]),
                               graph.const(1 / math.sqrt(W.shape[0]))])
        Z = graph.node("Add", [Z, graph.const(b)])
        return ACTIVATIONS[self.activation].onnx(graph, Z)


# ------------------------------------------ ONNX spellings of the parametric f
def selu_onnx(graph, z):
    """``lambda where(z > 0, z, alpha (exp(min(z, 0)) - 1))`` from elementary
    operators (ONNX's ``Selu`` takes lambda and alpha as float32 attributes)"""
    below = graph.node("Exp", [graph.node("Min", [z, graph.const(0.0)])])
    negative = graph.node("Sub", [below, graph.const(1.0)])
    negative = graph.node("Mul", [graph.const(_SELU_ALPHA), negative])
    chosen = graph.node("Where", [graph.node("Greater", [z, graph.const(0.0)]), z, negative])
    return graph.node("Mul", [graph.const(_SELU_SCALE), chosen])


def mish_onnx(graph, z):
    """``z tanh(softplus(z))`` from one exponential, ``z a / (a + 2)`` with ``a = n
    (n + 2)``, ``n = exp(min(z, 20))`` (ONNX's ``Mish`` needs opset 18)"""
    n = graph.node("Exp", [graph.node("Min", [z, graph.const(20.0)])])
    a = graph.node("Mul", [n, graph.node("Add", [n, graph.const(2.0)])])
    t = graph.node("Div", [a, graph.node("Add", [a, graph.const(2.0)])])
    return graph.node("Mul", [z, t])


# name -> ONNX builder (graph, z) -> the name of f(z): one per PARAMETRIC_ACTIVATIONS
PARAMETRIC_ONNX = {"selu": selu_onnx, "mish": mish_onnx}
