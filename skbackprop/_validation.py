"""Input checks that name the problem and the fix.

sklearn's ``validate_data`` finds most bad input and says what is wrong; ``explained``
keeps its message (sklearn's own checks look for it) and adds how to fix it.
``check_features`` refuses DataFrame columns that are not numbers, including
integer-coded categories, which would otherwise be used as if they were numbers.
``plain_input`` and ``check_values`` look at arrays of any namespace before
``validate_data`` does, which reads NumPy's dtypes and would take a complex PyTorch
tensor's real part, or fail inside torch on a sparse tensor or one without values.
"""

import math
import re
from numbers import Number

import numpy as np
from sklearn import get_config
from sklearn.externals import array_api_compat

from ._core.xp import namespace

__all__ = [
    "check_features", "check_label_types", "check_numeric_target", "check_values", "explained",
    "plain_input", "plain_rows", "plain_training_data"
]

FIXES = [
    (r"contains NaN",
     ("Impute missing values first (e.g. sklearn.impute.SimpleImputer in a "
      "Pipeline) or drop the rows that have them.")),
    (r"contains infinity",
     ("Replace or drop infinite values, and rescale very large ones (e.g. "
      "StandardScaler).")),
    (r"could not convert|Unable to convert|dtype='numeric' is not compatible",
     ("X must be numbers: encode text or categorical columns first (e.g. "
      "OneHotEncoder in a ColumnTransformer).")),
    (r"0 sample\(s\)",
     "Pass at least one sample; check the filtering or split that produced X."),
    (r"0 feature\(s\)",
     "Pass at least one feature column; check the column selection that produced X."),
    (r"Found array with dim [3-9]",
     "Flatten each sample into one row, e.g. X.reshape(len(X), -1)."),
    (r"inconsistent numbers of samples",
     ("X, y and sample_weight need one entry per sample; check that they were "
      "sliced the same way.")),
    (r"sample_weight\.shape",
     "Pass one weight per row of X (or a single number for all)."),
    (r"Negative values in data passed to `sample_weight`",
     "Sample weights must be >= 0."),
    (r"at least one non-zero",
     "Give at least one sample a positive weight."),
    (r"features, but \w+ is expecting",
     "Pass X with the same columns as in fit, or refit on the new columns."),
    (r"feature names should match",
     "Pass a DataFrame with the columns used in fit, in the same order."),
    (r"Unknown label type: continuous",
     "Use BackpropRegressor for real-valued targets, or bin y into classes."),
]


def explained(error):
    """``error`` with the fix for its problem appended (the same type of error)."""
    message = str(error)
    if message.startswith("Complex data not supported"):
        # sklearn prints the whole array; keep its first words, drop the dump
        return type(error)(_complex_message("X"))
    for pattern, fix in FIXES:
        if re.search(pattern, message):
            return type(error)(f"{message}\nFix: {fix}")
    return error


_COMPLEX_FIXES = {
    "X": ("which a network with real weights cannot use.\nFix: split them into real "
          "features, e.g. np.column_stack([{0}.real, {0}.imag])."),
    "y": ("which a network with real outputs cannot fit.\nFix: fit the real and "
          "imaginary parts as two outputs, e.g. np.column_stack([{0}.real, {0}.imag])."),
    "sample_weight": ("but weights are real numbers >= 0.\nFix: pass real weights, "
                      "e.g. {0}.real if the imaginary parts are all 0."),
}


def _complex_message(name):
    fix = _COMPLEX_FIXES[name.removesuffix("_val")].format(name)
    return f"Complex data not supported: {name} holds complex numbers, {fix}"


def check_values(array, name):
    """Refuse an array whose values a network cannot read, naming ``name`` (an
    argument: X, y, sample_weight, or their ``_val`` forms): complex numbers, of
    any namespace, and a PyTorch tensor on the meta device. Anything without a
    dtype (lists, DataFrames) is left to ``validate_data``."""
    if array_api_compat.is_torch_array(array) and array.is_meta:
        raise ValueError(
            f"{name} is a torch tensor on the meta device, which holds no values "
            f"(only shapes).\nFix: create {name} with its data on a real device, e.g. "
            f"torch.asarray(values, device='cpu') or device='cuda'.")
    dtype = getattr(array, "dtype", None)
    if dtype is None or isinstance(dtype, str) or not hasattr(array, "shape"):
        return
    if hasattr(dtype, "kind"):  # NumPy's (and pandas', dask's, CuPy's) dtypes
        complex_ = dtype.kind == "c"
    else:  # torch, array-api-strict ...: the standard's dtype check
        complex_ = (array_api_compat.is_array_api_obj(array)
                    and namespace(array).isdtype(dtype, "complex floating"))
    if complex_:
        raise ValueError(_complex_message(name))


def plain_input(array, name):
    """``array`` as fit reads it, refused where ``check_values`` refuses it: a
    PyTorch tensor that is sparse is refused too (torch's operations on it fail
    mid-fit), and one that requires grad is read through ``detach()`` (the same
    values: training builds no autograd graph on the inputs)."""
    check_values(array, name)
    if not array_api_compat.is_torch_array(array):
        return array
    if str(array.layout) != "torch.strided":
        sparse_matrix = (f", or a scipy.sparse matrix (e.g. scipy.sparse.csr_matrix("
                         f"{name}.to_dense().cpu().numpy())), which trains on NumPy"
                         if name.startswith("X") else "")
        raise TypeError(
            f"{name} is a torch sparse tensor (layout {array.layout}), which the "
            f"network's dense arithmetic cannot use.\nFix: pass {name}.to_dense()"
            f"{sparse_matrix}.")
    return array.detach() if array.requires_grad else array


def plain_rows(estimator, X):
    """X itself when it needs none of ``validate_data``'s conversions and passes
    every check that matters for predicting with a fitted NumPy network: a 2-D
    float ndarray of the compute dtype, with the fitted number of features, no
    feature names expected, and only finite values (or ``assume_finite``); else
    None, and the full path checks, converts or explains. Its cost is a few
    attribute reads and one sum of X, so that a one-row prediction is not
    dominated by the checks (``validate_data`` costs about five times the forward
    pass of a small network)."""
    if type(X) is not np.ndarray or X.ndim != 2 or X.shape[0] == 0:
        return None
    dtype = estimator.dtype
    if (X.dtype not in _FLOATS if dtype is None else X.dtype != np.dtype(dtype)):
        return None
    if (X.shape[1] != estimator.n_features_in_ or hasattr(estimator, "feature_names_in_")
            or type(estimator.coefs_[0]) is not np.ndarray):
        return None
    if get_config()["assume_finite"]:
        return X
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(X, axis=None)
    # a NaN or inf, or a sum that overflows: the full path looks closer, and tells
    return X if np.isfinite(total) else None


_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def plain_training_data(X, y, dtype, n_features=None, names=False):
    """Whether ``validate_data(estimator, X, y, multi_output=True, dtype=dtype)``
    would return X and y themselves, unchanged, and raise and warn nothing: X a
    non-empty 2-D float ndarray of ``dtype`` (a dtype or a tuple of accepted ones),
    y a 1-D or 2-D ndarray of numbers or booleans with a value per row, both finite
    (or ``assume_finite``), and X as wide as ``n_features`` (the fitted width; None
    learns it) with no fitted feature ``names`` to match. A fit's checks then cost
    a few attribute reads and a sum of each array instead of ``validate_data``'s
    (which cost more than a small per-row fit's first epochs); anything else takes
    the full path, which converts, checks and explains."""
    if type(X) is not np.ndarray or type(y) is not np.ndarray or names:
        return False
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0 or y.ndim not in (1, 2):
        return False
    if y.shape[0] != X.shape[0] or (y.ndim == 2 and y.shape[1] == 0):
        return False
    accepted = dtype if isinstance(dtype, tuple) else (dtype,)
    if X.dtype.kind != "f" or X.dtype not in accepted or y.dtype.kind not in "biuf":
        return False
    if n_features is not None and X.shape[1] != n_features:
        return False
    config = get_config()
    if config["array_api_dispatch"] or config["assume_finite"]:
        return not config["array_api_dispatch"]
    with np.errstate(over="ignore", invalid="ignore"):
        return all(array.dtype.kind != "f" or np.isfinite(np.add.reduce(array, axis=None))
                   for array in (X, y))


def check_numeric_target(y):
    """A regressor's y must be numbers."""
    values = np.asarray(y)
    if values.dtype.kind in "OUS":
        try:
            values.astype(float)
        except (TypeError, ValueError):
            example = next(iter(values.ravel()), None)
            raise ValueError(
                f"y must be numbers for a regressor; it holds values such as "
                f"{example!r}.\nFix: use BackpropClassifier for class labels, or "
                "convert y to numbers."
            ) from None


def check_features(X):
    """Refuse DataFrame columns that are not numbers (text, categories, objects),
    naming them; arrays are left to ``validate_data``."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    bad = [f"{name!r} ({dtype})" for name, dtype in dtypes.items()
           if not _numeric_dtype(dtype)]
    if bad:
        raise ValueError(
            f"X has columns that are not numbers: {', '.join(bad)}. A network uses "
            "every feature as a number, so categories (even integer-coded ones) and "
            "text would be misread.\nFix: encode them first, e.g. "
            "ColumnTransformer([('cat', OneHotEncoder(), columns)], "
            "remainder='passthrough') in a Pipeline before the estimator."
        )


def _numeric_dtype(dtype):
    """Numbers or booleans (numpy or pandas nullable); not categories, text, dates."""
    if str(dtype) == "category":
        return False
    dtype = getattr(dtype, "subtype", dtype)  # pandas sparse columns: their values' type
    try:
        kind = np.dtype(getattr(dtype, "numpy_dtype", dtype)).kind
    except TypeError:
        return False
    return kind in "biuf"


def check_label_types(y):
    """A classifier's labels held as Python objects must be of one kind and none
    missing; sklearn would call them 'unknown' or fail to sort them."""
    values = np.asarray(y)
    if values.dtype.kind != "O" or values.ndim == 0 or values.size == 0:
        return
    flat = values.ravel()
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in flat):
        raise ValueError(
            "y has missing labels (None or NaN) among its classes.\nFix: drop those "
            "rows, or give them a class of their own, e.g. "
            "y = pd.Series(y).fillna('missing').")
    kinds = sorted({"number" if isinstance(v, Number) else type(v).__name__
                    for v in flat})
    if len(kinds) > 1:
        raise ValueError(
            f"Unknown label type: y mixes labels of different types ({', '.join(kinds)}), "
            "which cannot be ordered into classes.\nFix: convert the labels to one type, e.g. "
            "y.astype(str).")
    if kinds == ["number"]:
        raise ValueError(
            "Unknown label type: y holds numbers as Python objects (dtype=object), which "
            "sklearn cannot tell apart from other objects.\nFix: convert it, e.g. "
            "y.astype(int) for class numbers (or y.astype(str)).")
