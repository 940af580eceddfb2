"""Array namespaces: what the math core needs beyond the Array API standard.

The math core is written once, in the functions of the Array API standard
(``xp.exp``, ``xp.sum``, ``@``, ``xp.where`` ...), on arrays of any namespace: NumPy,
PyTorch (CPU or GPU), CuPy, array-api-strict. ``namespace(*arrays)`` gives the
namespace of its arguments: NumPy itself for NumPy arrays (so that the NumPy path
calls NumPy's ufuncs directly, with no wrapper in between), else
``array_api_compat``'s (the copy scikit-learn vendors, so that namespaces compare
equal with scikit-learn's own).

The primitives below are the few operations the standard lacks or spells in a way
that costs NumPy speed. Each is one operation with one meaning; where NumPy has a
faster way to the same numbers (a ufunc writing into a buffer, a BLAS product with
a vector of ones, ``einsum``), NumPy takes it:

- ``into(out, func, *args)``: ``func(*args)``, written into ``out`` when ``out`` is a
  NumPy buffer (the workspace's), else allocated; ``write(target, func, *args)``
  overwrites ``target`` in any namespace;
- ``expit``, ``ndtr``, ``xlogy``, ``softplus``: the special functions;
- ``rowdot``, ``row_sums``, ``column_sums``, ``squared_norm``: reductions;
- ``copy``, ``flat``, ``concat``, ``astype``, ``scalar``: plumbing;
- ``eager(xp)``: whether a shortcut decided by the data (``if Z.max() < bound``) is
  worth its cost; on a GPU, reading a value back stalls the device, so the shortcut
  is skipped and the always-safe formula computed;
- ``to_numpy``, ``to_namespace``, ``device``: moving arrays between host and device.
"""

import math

import numpy as np
import scipy.special
import sklearn
from scipy.sparse import issparse
from sklearn.externals import array_api_compat
from sklearn.externals.array_api_compat import numpy as _NUMPY_COMPAT
from sklearn.utils._array_api import (
    _convert_to_numpy,
    _is_numpy_namespace,
    get_namespace_and_device,
)

__all__ = [
    "all_finite", "astype", "column_sums", "concat", "copy", "device", "eager", "expit", "flat",
    "float_value", "follow", "host_dtype", "host_input", "indicator", "input_namespace", "into",
    "is_numpy", "maximum", "namespace", "namespace_name", "ndtr", "on_host", "row_slice",
    "row_sums", "rowdot", "scalar", "softplus", "squared_norm", "take_rows", "to_namespace",
    "to_numpy", "write", "xlogy"
]

_HOST_TYPES = (np.ndarray, np.generic, int, float)


_BY_TYPE = {}  # array type -> its namespace (array_namespace costs ~15 us a call)


def namespace(*arrays):
    """The namespace of ``arrays`` (None, sparse matrices and Python numbers are
    ignored): ``numpy`` when every array is a NumPy array."""
    for a in arrays:  # the hot path, every call of a NumPy fit: a plain loop
        if type(a) is not np.ndarray:
            break
    else:
        return np
    others = [a for a in arrays
              if a is not None and not isinstance(a, _HOST_TYPES) and not issparse(a)]
    if not others:
        return np
    kind = type(others[0])
    if all(type(a) is kind for a in others):  # one type, one namespace
        xp = _BY_TYPE.get(kind)
        if xp is None:
            xp = _BY_TYPE[kind] = array_api_compat.array_namespace(others[0])
        return xp
    return array_api_compat.array_namespace(*others)


def input_namespace(X):
    """``(xp, device)`` that an estimator computes in for input X: X's namespace
    and device with scikit-learn's array API dispatch on, NumPy's without (sklearn's
    ``get_namespace_and_device``)."""
    if type(X) is np.ndarray and not sklearn.get_config()["array_api_dispatch"]:
        return _NUMPY_COMPAT, None  # (what sklearn answers, without its checks)
    xp, _, device_ = get_namespace_and_device(X)
    return xp, device_


def is_numpy(xp):
    """Whether ``xp`` is NumPy (the module itself or a wrapper of it)."""
    return xp is np or _is_numpy_namespace(xp)


def namespace_name(xp):
    """A namespace's short name, as users import it ("numpy", "torch", "cupy")."""
    return "numpy" if is_numpy(xp) else xp.__name__.rsplit(".", 1)[-1]


def eager(xp):
    """Whether a shortcut decided by the data is cheap: reading a value back from
    a NumPy array costs nothing; from a GPU it waits for the device."""
    return xp is np


def device(array):
    """The device an array lives on ("cpu" for NumPy arrays and sparse matrices)."""
    if isinstance(array, np.ndarray) or issparse(array):
        return "cpu"
    return array_api_compat.device(array)


def into(out, func, *args):
    """``func(*args)``; written into ``out`` when it is a NumPy array (same numbers,
    no allocation), else a new array."""
    if isinstance(out, np.ndarray):  # (subclasses such as memmap too)
        return func(*args, out=out)
    return func(*args)


def write(target, func, *args):
    """Overwrite the array ``target`` with ``func(*args)``; returns ``target``."""
    if isinstance(target, np.ndarray):
        return func(*args, out=target)
    target[...] = func(*args)
    return target


def copy(array):
    """A copy of ``array`` in its namespace and on its device."""
    if isinstance(array, np.ndarray):
        return array.copy()
    return namespace(array).asarray(array, copy=True)


def astype(array, dtype):
    """``array`` as ``dtype`` (no copy when it already is)."""
    if isinstance(array, np.ndarray) or issparse(array):
        return array.astype(dtype, copy=False)
    return namespace(array).astype(array, dtype, copy=False)


def host_dtype(array):
    """The NumPy float dtype of ``array``'s dtype (any namespace)."""
    if isinstance(array, np.ndarray) or issparse(array):
        return array.dtype
    return np.dtype(f"float{namespace(array).finfo(array.dtype).bits}")


def follow(values, like):
    """Host ``values`` in the namespace and on the device of ``like``, as
    scikit-learn returns predictions; labels that are not numbers (strings,
    objects) stay NumPy arrays."""
    if values.dtype.kind not in "biuf":
        return values
    return to_namespace(values, namespace(like), device(like))


def indicator(condition, dtype):
    """[condition] as numbers to multiply by: NumPy's booleans as they are (its
    multiply converts them on the fly, 3x faster than a ``where``), elsewhere as
    ``dtype`` (the standard does not mix booleans and floats in arithmetic)."""
    if isinstance(condition, np.ndarray):
        return condition
    return namespace(condition).astype(condition, dtype)


def flat(array):
    """The elements of ``array`` as a vector (row-major); a view where possible."""
    if isinstance(array, np.ndarray):
        return array.ravel()
    return namespace(array).reshape(array, (-1,))


def concat(arrays, axis=0):
    """``arrays`` one after another along ``axis``."""
    xp = namespace(*arrays)
    return np.concatenate(arrays, axis=axis) if xp is np else xp.concat(arrays, axis=axis)


def scalar(value):
    """A 0-d result as returned to the training loop: a Python float from NumPy,
    the 0-d array itself elsewhere (converting it would wait for the device)."""
    return float(value) if isinstance(value, _HOST_TYPES) else value


# ----------------------------------------------------------------- special functions
def expit(Z, out=None):
    """The logistic function 1 / (1 + exp(-z)) (scipy's ufunc on NumPy, without
    overflow; elsewhere the formula, where exp(-z) = inf gives 1 / inf = 0)."""
    if isinstance(Z, np.ndarray):
        return scipy.special.expit(Z, out=out)
    return 1 / (1 + namespace(Z).exp(-Z))


def ndtr(Z):
    """The standard normal CDF Phi(z). The standard has no erf: scipy.special
    computes it natively for NumPy, PyTorch, CuPy and JAX (with SCIPY_ARRAY_API=1,
    which array API dispatch requires); any other namespace goes through the host."""
    if isinstance(Z, np.ndarray):
        return scipy.special.ndtr(Z)
    xp = namespace(Z)
    try:
        result = scipy.special.ndtr(Z)
        if namespace(result) is xp and device(result) == device(Z):
            return result
    except (TypeError, RuntimeError, ValueError):
        pass
    return to_namespace(scipy.special.ndtr(to_numpy(Z)), xp, device(Z))


def maximum(X, value, out=None):
    """max(x, value) for every element, ``value`` a number (written into ``out``
    on NumPy, where an integer ``value`` takes a loop 2x faster than a float's)."""
    if isinstance(X, np.ndarray):
        return np.maximum(X, value, out=out)
    return namespace(X).clip(X, float(value), None)


def xlogy(X, Y):
    """x log(y), 0 where x = 0."""
    if isinstance(X, np.ndarray):
        return scipy.special.xlogy(X, Y)
    xp = namespace(X, Y)
    return xp.where(X == 0, 0.0, X * xp.log(Y))


def softplus(Z, out=None):
    """log(1 + exp(z)) without overflow, as logaddexp(0, z)."""
    if isinstance(Z, np.ndarray):
        return np.logaddexp(0, Z, out=out)
    xp = namespace(Z)
    return xp.logaddexp(Z, xp.zeros_like(Z))


# ------------------------------------------------------------------------ reductions
def rowdot(A, B):
    """sum_k a_ik b_ik for every row i."""
    if isinstance(A, np.ndarray):
        return np.einsum("ij,ij->i", A, B)
    return namespace(A, B).sum(A * B, axis=1)


def row_sums(Z):
    """sum_k z_ik for every row, shape (n, 1). NumPy: as Z 1, a BLAS product."""
    if isinstance(Z, np.ndarray):
        return np.matmul(Z, np.ones(Z.shape[1], Z.dtype))[:, np.newaxis]
    return namespace(Z).sum(Z, axis=1, keepdims=True)


def column_sums(delta, ones=None, out=None):
    """sum_i delta_ik for every column. NumPy: as 1^T delta (``ones``, if given, a
    vector of at least n ones), BLAS's matrix-vector product being 1.5-5x faster
    than a reduction along axis 0 at batch shapes."""
    if isinstance(delta, np.ndarray):
        n = delta.shape[0]
        ones = np.ones(n, delta.dtype) if ones is None else ones[:n]
        return np.matmul(ones, delta, out=out)
    return namespace(delta).sum(delta, axis=0)


def squared_norm(W):
    """sum of squares of every element of W."""
    if isinstance(W, np.ndarray):
        w = W.ravel()
        return np.dot(w, w)
    xp = namespace(W)
    return xp.sum(W * W)


# ---------------------------------------------------------------- host and devices
def to_numpy(array):
    """``array`` as a NumPy array on the host (NumPy arrays, sparse matrices and
    None as they are; lists, DataFrames and the like through ``np.asarray``)."""
    if array is None or isinstance(array, np.ndarray) or issparse(array):
        return array
    if array_api_compat.is_array_api_obj(array) and not isinstance(array, np.generic):
        return _convert_to_numpy(array, namespace(array))
    return np.asarray(array)


def host_input(array):
    """An input for the host: an array of another namespace as a NumPy array;
    anything else (NumPy, sparse, lists, DataFrames with their column names) as
    it is."""
    if (array is None or isinstance(array, np.ndarray | np.generic) or issparse(array)
            or not array_api_compat.is_array_api_obj(array)):
        return array
    return to_numpy(array)


def on_host(estimator):
    """A fitted estimator whose network is in NumPy arrays: ``estimator`` itself if
    it is (or has none yet), else a copy with its weights and optimizer state
    moved to the host (``__sklearn_array_api_convert__``)."""
    coefs = getattr(estimator, "coefs_", None)
    if coefs is None or all(isinstance(W, np.ndarray) for W in coefs):
        return estimator
    return estimator.__sklearn_array_api_convert__(to_numpy)


def row_slice(array, start, stop):
    """Rows ``start:stop`` of ``array`` (any namespace, or a sparse matrix): a view
    where the namespace has them."""
    if isinstance(array, np.ndarray) or issparse(array):
        return array[start:stop]
    stop = min(stop, array.shape[0])  # (the standard leaves stops past the end open)
    return array[start:stop, ...]


def all_finite(array):
    """Whether every element of ``array`` is finite, as a Python bool."""
    if isinstance(array, np.ndarray):
        return bool(np.isfinite(array).all())
    xp = namespace(array)
    return bool(xp.all(xp.isfinite(array)))


def take_rows(array, rows):
    """The rows of ``array`` (any namespace, or a sparse matrix) with indices
    ``rows``: a NumPy integer array, or one already in ``array``'s namespace and
    on its device."""
    if isinstance(array, np.ndarray) or issparse(array):
        return array[rows]
    xp = namespace(array)
    if isinstance(rows, np.ndarray):
        rows = xp.asarray(rows, device=device(array))
    return xp.take(array, rows, axis=0)


def to_namespace(array, xp, device):
    """``array`` (NumPy, or None) in namespace ``xp`` on ``device``."""
    if array is None or is_numpy(xp):
        return array
    return xp.asarray(array, device=device)


def float_value(value):
    """A 0-d array of any namespace as a Python float (waits for the device)."""
    return float(value) if isinstance(value, _HOST_TYPES) else float(to_numpy(value))


SQRT_2PI = math.sqrt(2 * math.pi)
