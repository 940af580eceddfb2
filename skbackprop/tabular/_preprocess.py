"""A raw table turned into a network's input matrix.

``TabularPreprocessor`` reads each column by its dtype and writes one block of
output columns for it: numbers are imputed, centred, scaled and smoothly clipped;
booleans stay 0/1; categories become one-hot columns or one integer code column for
an embedding layer. ``robust_scale`` and ``smooth_clip`` are the numbers' formulas,
as in RealMLP (Holzmüller, Grinsztajn and Steinwart, "Better by default: strong
pre-tuned MLPs and boosted trees on tabular data", NeurIPS 2024).
"""

import math
from numbers import Integral, Real
from typing import ClassVar, NamedTuple

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_numeric_dtype,
    is_object_dtype,
    is_string_dtype,
)
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from .._validation import explained
from .._warnings import warn

__all__ = ["OUTPUT_KINDS", "TabularPreprocessor", "column_family", "column_outputs",
           "encode_column", "fit_column", "robust_scale", "smooth_clip"]

#: What an output column holds: a scaled number, a 0/1 value (a boolean column or
#: a missing-value indicator), one level of a one-hot block, or an integer code.
OUTPUT_KINDS = ("number", "binary", "one_hot", "code")

_REFUSED_KINDS = {
    "M": ("dates or times", "numbers, e.g. X[{0!r}].dt.year or the seconds since "
          "an origin, (X[{0!r}] - X[{0!r}].min()).dt.total_seconds()"),
    "m": ("time spans", "numbers, e.g. X[{0!r}].dt.total_seconds()"),
    "c": ("complex numbers", "real columns, e.g. np.real(X[{0!r}]) and np.imag(X[{0!r}])"),
}


def smooth_clip(z, bound=3.0):
    """Squash ``z`` smoothly into (-bound, bound): ``z / sqrt(1 + (z / bound)^2)``.

    Near 0 it is the identity (slope 1); it grows like ``bound * sign(z)`` for
    ``|z| >> bound``, so outliers keep their order but not their distance.

    Examples
    --------
    >>> from skbackprop.tabular import smooth_clip
    >>> smooth_clip([0.0, 3.0, -4.0, 1e300])
    array([ 0.        ,  2.12132034, -2.4       ,  3.        ])
    """
    u = np.asarray(z, dtype=float) / bound
    with np.errstate(invalid="ignore"):
        out = bound * u / np.hypot(1.0, u)  # hypot: no overflow for huge u
    return np.where(np.isinf(u), bound * np.sign(u), out)


def robust_scale(values):
    """Centre and scale factor of one column's observed (non-missing) values.

    ``center`` is the median; ``factor`` is ``1 / (q75 - q25)``, the inverse of the
    interquartile range (quantiles interpolated linearly, as ``np.quantile``). Where
    the quartiles coincide it is ``1 / ((max - min) / 2)``, and 0 for a constant
    column, which then transforms to zeros. A number becomes
    ``(x - center) * factor``.

    Examples
    --------
    >>> from skbackprop.tabular import robust_scale
    >>> robust_scale([1.0, 2.0, 3.0, 4.0, 100.0])
    (3.0, 0.5)
    >>> robust_scale([0.0, 0.0, 0.0, 0.0, 8.0])  # equal quartiles: half the range
    (0.0, 0.25)
    """
    values = np.asarray(values, dtype=float)
    center = float(np.median(values))
    q25, q75 = np.quantile(values, [0.25, 0.75])
    with np.errstate(over="ignore"):
        spread = q75 - q25 if q75 > q25 else (values.max() - values.min()) / 2
        factor = 1.0 / spread if spread > 0 else 0.0
    return center, float(factor) if math.isfinite(factor) else 0.0


def column_family(dtype, name):
    """How a column of ``dtype`` is read: 'number', 'bool' or 'category'.

    pandas ``category`` columns (whatever their categories' type), ``object`` and
    string columns are categories; booleans (NumPy ``bool``, pandas ``boolean``)
    are 'bool'; other numbers (integers of any count of distinct values, floats,
    pandas' nullable ``Int64``/``Float64``) are 'number'. Dates, time spans,
    complex numbers and other dtypes are refused with a TypeError naming ``name``.
    """
    if (isinstance(dtype, pd.CategoricalDtype) or is_object_dtype(dtype)
            or is_string_dtype(dtype)):
        return "category"
    kind = getattr(dtype, "kind", "")
    if kind in _REFUSED_KINDS:
        what, fix = _REFUSED_KINDS[kind]
        raise TypeError(
            f"Column {name!r} holds {what} (dtype {dtype}), which a network cannot "
            f"read.\nFix: convert it to {fix.format(name)}; or to categories with "
            f"X[{name!r}].astype('category').")
    if is_bool_dtype(dtype):
        return "bool"
    if is_numeric_dtype(dtype):
        return "number"
    raise TypeError(
        f"Column {name!r} has dtype {dtype}, which is neither numbers, booleans, "
        f"text nor categories.\nFix: convert it, e.g. X[{name!r}].astype(float) or "
        f"X[{name!r}].astype(str).")


def _numbers(series, name):
    """The column's values as floats, NaN where missing; refuses text and
    infinities, naming the column."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if is_bool_dtype(series.dtype) or is_numeric_dtype(series.dtype):
        if getattr(series.dtype, "kind", "") == "c":
            column_family(series.dtype, name)  # (raises)
        values = series.to_numpy(dtype=float, na_value=np.nan)
    else:
        raw = series.astype(object)
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(values) & ~raw.isna().to_numpy()
        if bad.any():
            raise ValueError(
                f"Column {name!r} held numbers in fit but now holds "
                f"{_shown(raw[bad].iloc[0])!r}.\nFix: pass the column's numbers (as in fit), "
                "with missing values as NaN, or refit on the new data.")
    if np.isinf(values).any():
        raise ValueError(
            f"Column {name!r} contains infinity, which has no place on a number line "
            "the network can scale.\nFix: replace it with NaN (treated as missing: "
            "X.replace([np.inf, -np.inf], np.nan)) or with a large finite value.")
    return values


def _shown(value):
    """``value`` as a message quotes it: NumPy scalars as the Python ones."""
    return value.item() if isinstance(value, np.generic) else value


def _plain_level(value, name):
    """A category level as a plain Python str, bool, int or float."""
    value = _shown(value)
    if isinstance(value, str | bool | int | float):
        return value
    raise TypeError(
        f"Column {name!r} holds {value!r}, a {type(value).__name__}; categorical "
        "columns may hold text, numbers and booleans.\nFix: convert the column "
        f"first, e.g. X[{name!r}].astype(str).")


def _sort_key(level):
    return (isinstance(level, str), level)  # numbers (and booleans) before text


def _category_levels(present, name):
    """The distinct values of ``present`` (a column without its missing values):
    in the order of a pandas ``category`` dtype's categories, else sorted."""
    if isinstance(present.dtype, pd.CategoricalDtype):
        used = np.unique(present.cat.codes.to_numpy())
        return [_plain_level(v, name) for v in present.cat.categories[used]]
    values = present.astype(object).to_numpy()
    try:
        distinct = pd.unique(values)
    except TypeError:  # unhashable values (dicts, lists)
        for value in values:
            _plain_level(value, name)
        raise
    return sorted((_plain_level(v, name) for v in distinct), key=_sort_key)


def fit_column(series, name, max_one_hot):
    """One column's fitted state: a dict of kind ('number', 'bool', 'one_hot',
    'code' or 'dropped'), median, scale, missing (whether fit saw missing values)
    and levels (a category's training levels)."""
    missing = series.isna().to_numpy()
    state = {"median": math.nan, "scale": math.nan, "missing": bool(missing.any()),
             "levels": []}
    family = column_family(series.dtype, name)
    if missing.all():
        return state | {"kind": "dropped"}
    if family == "category":
        levels = _category_levels(series[~missing], name)
        kind = "one_hot" if len(levels) <= max_one_hot else "code"
        return state | {"kind": kind, "levels": levels}
    observed = _numbers(series, name)[~missing]
    if family == "bool":
        return state | {"kind": "bool", "median": float(np.median(observed)),
                        "scale": 1.0}
    median, scale = robust_scale(observed)
    return state | {"kind": "number", "median": median, "scale": scale}


class _Column(NamedTuple):
    """One fitted column, as transform reads it."""
    name: str
    kind: str
    median: float
    scale: float
    missing: bool
    levels: list
    clip: float | None
    add_indicator: bool


def _indicator(col):
    return col.missing and col.add_indicator


def column_outputs(col):
    """The (name, kind) of each output column that input column ``col`` writes."""
    missing_name = f"{col.name}_missing"
    if col.kind == "number":
        return [(col.name, "number")] + [(missing_name, "binary")] * _indicator(col)
    if col.kind == "bool":
        return [(col.name, "binary")] + [(missing_name, "binary")] * _indicator(col)
    if col.kind == "one_hot":
        return ([(f"{col.name}_{level}", "one_hot") for level in col.levels]
                + [(missing_name, "one_hot")] * col.missing)
    return [(col.name, "code")] if col.kind == "code" else []


def _encode_number(series, col):
    values = _numbers(series, col.name)
    missing = np.isnan(values)
    filled = np.where(missing, col.median, values)
    if col.kind == "number":
        with np.errstate(over="ignore"):
            filled = (filled - col.median) * col.scale
        if col.clip is not None:
            filled = smooth_clip(filled, col.clip)
    blocks = [filled] + [missing.astype(float)] * _indicator(col)
    return np.column_stack(blocks)


def _level_index(series, col):
    """Each value's position among the training levels; -1 for missing and unseen."""
    values = series.astype(object).to_numpy()
    try:
        return pd.Index(col.levels, dtype=object).get_indexer(values)
    except TypeError:  # unhashable values
        for value in values[~pd.isna(values)]:
            _plain_level(value, col.name)
        raise


def _encode_one_hot(series, col):
    index = _level_index(series, col)
    out = np.zeros((len(series), len(col.levels) + col.missing))
    rows = np.flatnonzero(index >= 0)
    out[rows, index[rows]] = 1.0
    if col.missing:
        out[series.isna().to_numpy(), -1] = 1.0
    return out


def _encode_code(series, col):
    return (_level_index(series, col) + 1.0)[:, None]


_ENCODERS = {
    "number": _encode_number,
    "bool": _encode_number,
    "one_hot": _encode_one_hot,
    "code": _encode_code,
    "dropped": lambda series, col: np.empty((len(series), 0)),
}


def _check_bool_values(series, col):
    """A boolean column must stay 0/1 at transform."""
    values = _numbers(series, col.name)
    bad = ~np.isnan(values) & (values != 0) & (values != 1)
    if bad.any():
        raise ValueError(
            f"Column {col.name!r} held booleans in fit but now holds "
            f"{_shown(series.iloc[np.flatnonzero(bad)[0]])!r}.\nFix: pass True/False "
            "(or 1/0) as in fit, or refit.")


def encode_column(series, col):
    """The output block (n_samples, n_outputs) of one fitted column."""
    if col.kind == "bool":
        _check_bool_values(series, col)
    return _ENCODERS[col.kind](series, col)


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Turn a raw table into a network's input matrix, with no preprocessing by hand.

    Each column is read by its dtype (a NumPy array is read as
    ``pd.DataFrame(X).infer_objects()``: numeric arrays are numbers, text arrays
    categories) and written as a block of output columns, in the input's order:

    - **numbers** (integers, whatever their count of distinct values, floats,
      pandas' nullable ``Int64``/``Float64``; ``object`` columns holding only
      numbers): a missing value takes the training median; then
      ``smooth_clip((x - median) * factor, clip)`` with ``factor`` from
      :func:`robust_scale`. One output column, plus a 0/1 missing-value indicator
      where fit saw missing values (and ``add_indicator``).
    - **booleans** (NumPy ``bool``, pandas ``boolean``): 0.0/1.0, not scaled; a
      missing value takes the training median, with an indicator as for numbers.
    - **categories** (pandas ``category`` of any categories, numbers included;
      ``object`` and string columns): with at most ``max_one_hot`` training levels,
      one 0/1 column per level, plus one for "missing" where fit saw missing
      values; with more, one column of integer codes 1..k for the k training levels
      and 0 for missing values, to be read by an embedding layer. A level unseen in
      fit is all zeros (one-hot) or code 0, never an error.
    - **all missing in fit**: the column is dropped (no output, with a warning);
      its values at transform are not read.

    Dates, time spans and complex numbers are refused with an error saying how to
    convert them.

    Parameters
    ----------
    max_one_hot : int, default=9
        Categories with at most this many training levels are one-hot encoded;
        columns with more become code columns. 0 makes every category a code column.

    clip : float or None, default=3.0
        The bound of the smooth clipping of scaled numbers, ``z / sqrt(1 +
        (z / clip)^2)``; None leaves the scaled numbers unclipped.

    add_indicator : bool, default=True
        Whether a number or boolean column with missing values in fit gets a 0/1
        missing-value indicator column. (A category's "missing" column is its own
        level, always written.)

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the columns seen during fit, where X had string column names.

    column_kinds_ : list of str
        How each input column is encoded: 'number', 'bool', 'one_hot', 'code' or
        'dropped'.

    medians_ : ndarray of shape (``n_features_in_``,)
        The training median of each number or boolean column (NaN for the others):
        the value a missing entry takes, and the centre of the scaling.

    scales_ : ndarray of shape (``n_features_in_``,)
        The factor each centred number is multiplied by (1 for booleans, NaN for
        categories).

    has_missing_ : ndarray of bool, shape (``n_features_in_``,)
        Whether fit saw missing values in each column.

    categories_ : list of list
        Each category column's training levels, in code order (code ``i + 1`` and
        one-hot column ``i`` are level ``i``); empty for other columns.

    output_kinds_ : ndarray of str, shape (n_features_out,)
        What each output column holds: 'number' (scaled), 'binary' (a boolean or a
        missing-value indicator), 'one_hot' or 'code'.

    output_sources_ : ndarray of int, shape (n_features_out,)
        The input column each output column comes from.

    code_sizes_ : ndarray of int, shape (n_code_columns,)
        For each 'code' output column in order, the number of codes it holds
        (training levels + 1 for code 0): the rows of its embedding table.

    See Also
    --------
    sklearn.preprocessing.RobustScaler : scaling by the interquartile range alone.
    sklearn.preprocessing.OneHotEncoder : one-hot encoding of chosen columns.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbackprop.tabular import TabularPreprocessor
    >>> X = pd.DataFrame({"age": [20.0, 30.0, np.nan, 50.0],
    ...                   "smoker": [True, False, False, True],
    ...                   "city": ["Oslo", "Rome", None, "Oslo"]})
    >>> pre = TabularPreprocessor().fit(X)
    >>> pre.get_feature_names_out()
    array(['age', 'age_missing', 'smoker', 'city_Oslo', 'city_Rome',
           'city_missing'], dtype=object)
    >>> pre.transform(pd.DataFrame({"age": [30.0], "smoker": [True],
    ...                             "city": ["Paris"]}))  # Paris: unseen
    array([[0., 0., 1., 0., 0., 0.]])
    """

    _parameter_constraints: ClassVar[dict] = {
        "max_one_hot": [Interval(Integral, 0, None, closed="left")],
        "clip": [Interval(Real, 0, None, closed="neither"), None],
        "add_indicator": ["boolean"],
    }

    def __init__(self, max_one_hot=9, clip=3.0, add_indicator=True):
        self.max_one_hot = max_one_hot
        self.clip = clip
        self.add_indicator = add_indicator

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn each column's encoding from X.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The raw table; missing values (NaN, None, pd.NA) may be anywhere.

        y : None
            Ignored.

        Returns
        -------
        self : TabularPreprocessor
            The fitted transformer.
        """
        frame = self._frame(X, reset=True)
        names = _check_feature_names_in(self, None)
        states = [fit_column(frame.iloc[:, j], str(name), self.max_one_hot)
                  for j, name in enumerate(names)]
        self.column_kinds_ = [s["kind"] for s in states]
        self.medians_ = np.array([s["median"] for s in states])
        self.scales_ = np.array([s["scale"] for s in states])
        self.has_missing_ = np.array([s["missing"] for s in states], dtype=bool)
        self.categories_ = [s["levels"] for s in states]
        self._check_dropped(names)
        outputs = [(j, kind) for j, col in enumerate(self._columns(names))
                   for _, kind in column_outputs(col)]
        self.output_sources_ = np.array([j for j, _ in outputs], dtype=int)
        self.output_kinds_ = np.array([kind for _, kind in outputs], dtype=object)
        self.code_sizes_ = np.array([len(self.categories_[j]) + 1
                                     for j, kind in outputs if kind == "code"], dtype=int)
        return self

    def transform(self, X):
        """Encode X as the network's input matrix.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The same columns as in fit (by name for a DataFrame fitted with names).

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features_out)
            Floats; code columns hold whole numbers.
        """
        check_is_fitted(self)
        frame = self._frame(X, reset=False)
        names = _check_feature_names_in(self, None)
        blocks = [encode_column(frame.iloc[:, j], col)
                  for j, col in enumerate(self._columns(names))]
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        A number or boolean keeps its column's name (its indicator is
        ``<name>_missing``); a one-hot column is ``<name>_<level>`` (or
        ``<name>_missing``); a code column keeps its column's name.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            The input columns' names; None uses ``feature_names_in_`` (or
            ``x0, x1, ...`` where fit saw no names).

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per output column.
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        return np.array([out for col in self._columns(names)
                         for out, _ in column_outputs(col)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

    def _columns(self, names):
        """The fitted columns, as ``encode_column`` and ``column_outputs`` read them."""
        return [_Column(str(name), kind, float(median), float(scale), bool(missing),
                        levels, self.clip, self.add_indicator)
                for name, kind, median, scale, missing, levels in zip(
                    names, self.column_kinds_, self.medians_, self.scales_,
                    self.has_missing_, self.categories_, strict=True)]

    def _check_dropped(self, names):
        dropped = [str(n) for n, kind in zip(names, self.column_kinds_, strict=True)
                   if kind == "dropped"]
        if len(dropped) == len(names):
            raise ValueError(
                "Every column of X is entirely missing, so there is nothing to learn "
                "from.\nFix: check the data loading; missing values must be NaN, None "
                "or pd.NA only where a value is really unknown.")
        if dropped:
            warn(f"Columns {dropped} are entirely missing in fit and are dropped: "
                 "their values will not be read. Drop them yourself to silence this.")

    def _frame(self, X, reset):
        """X as a DataFrame, after sklearn's checks of its shape and column names."""
        if not isinstance(X, pd.DataFrame):
            try:
                X = validate_data(self, X, reset=reset, dtype=None,
                                  ensure_all_finite=False)
            except (TypeError, ValueError) as error:
                raise explained(error) from None
            return pd.DataFrame(X).infer_objects()
        try:
            validate_data(self, X, reset=reset, skip_check_array=True)
        except ValueError as error:
            raise explained(error) from None
        for count, what in [(X.shape[0], "sample"), (X.shape[1], "feature")]:
            if count == 0:
                raise explained(ValueError(
                    f"Found array with 0 {what}(s) (shape={X.shape}) while a minimum "
                    f"of 1 is required by {type(self).__name__}."))
        return X.infer_objects() if reset else X
