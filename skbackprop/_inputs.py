"""fit's arguments checked and encoded: the estimator glue in front of the engine.

``checked_data`` turns what a user passes to ``fit`` or ``partial_fit`` into a
``Data`` (``_engine.data``): X validated by scikit-learn's ``validate_data`` (numbers only,
the estimator's compute dtype), the targets encoded as the network's outputs ``Y``
(by the estimator's ``_encode_targets``), the raw targets ``y`` (for scores and
callbacks), and the sample weights with the class weights multiplied in. It also
returns what the call learns about its inputs: the features (``n_features_in_``,
``feature_names_in_``) and the targets (a classifier's classes). Nothing is written
on the estimator: ``validate_data`` records features on a stand-in, and the call
stores them with the rest of the fitted state at its end.

With scikit-learn's array API dispatch on, X may be an array of any namespace and
device (``sklearn.set_config(array_api_dispatch=True)``): X, Y and the sample
weights then live there. The targets are checked and encoded on the host (class
labels may be strings) and ``y`` stays there, for the scores; y and sample_weight
may come from any namespace: they follow X.
"""

from typing import NamedTuple

import numpy as np
from scipy.sparse import issparse
from sklearn.utils import column_or_1d
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._core.xp import (
    astype,
    device,
    host_input,
    input_namespace,
    is_numpy,
    namespace,
    to_namespace,
    to_numpy,
)
from ._engine.data import Data, batchwise_dtype
from ._engine.fitted import MARKER, names, with_role
from ._validation import check_features, explained, plain_input, plain_training_data
from ._warnings import warn

__all__ = ["Checked", "checked_data", "feature_state", "given_validation"]

# Features beyond this magnitude make a network's first net inputs this large: every
# logistic or tanh unit saturates and relu gradients are ~1e6 times a scaled input's.
SCALE_LIMIT = 1e6
FEATURES = ("n_features_in_", "feature_names_in_")


def feature_state(estimator, state):
    """The attributes of ``state`` (a dict) that describe the estimator's inputs:
    ``FEATURES`` and those of its class's own with the role "features" (a tabular
    estimator's fitted preprocessor)."""
    return {k: state[k] for k in with_role(type(estimator), "features") if k in state}


class Checked(NamedTuple):
    data: Data
    features: dict  # n_features_in_ (and feature_names_in_ when X had names)
    targets: dict  # what the targets mean: a classifier's classes_ and _y_type


def _stand_in(estimator, features):
    """A copy of the estimator without its fitted state, holding ``features``, for
    ``validate_data`` to check against (and, learning them, to write on): its
    parameters stay, for tags that read them."""
    required, optional = names(type(estimator))
    fitted = {*required, *optional, MARKER}
    stand_in = object.__new__(type(estimator))
    vars(stand_in).update({k: v for k, v in vars(estimator).items() if k not in fitted})
    vars(stand_in).update(features or {})
    return stand_in


def checked_data(estimator, X, y, sample_weight, *, features, targets, incremental,
                 validation=False):
    """``Checked`` data from fit's arguments. ``features=None`` learns them from X
    (a first fit), else X must match them; ``targets`` are the target state to
    check y against (a classifier's classes), or to start from (None or ``{}``: a
    first fit learns them); ``incremental`` for partial_fit, ``validation`` for
    validation data."""
    suffix = "_val" if validation else ""
    X, y, sample_weight = (plain_input(a, name + suffix) for a, name in (
        (X, "X"), (y, "y"), (sample_weight, "sample_weight")))
    # (an estimator that encodes raw tables gives the matrix and its feature state)
    X, encoded = estimator._input_matrix(X, features)
    xp, where = input_namespace(X)
    if not is_numpy(xp):  # the targets are checked and encoded on the host
        y = to_numpy(y)
    estimator._check_target_kind(y)
    requested = estimator._compute_dtype(xp, where)
    # float64 rows of a float32 stochastic fit are converted batch by batch (Data)
    batchwise = (not validation and estimator.solver != "lbfgs"
                 and batchwise_dtype(X, requested))
    reset = features is None
    stand_in = _stand_in(estimator, features if encoded is None else None)
    X, y = _validated(stand_in, X, y, y_numeric=estimator._y_numeric,
                      reset=reset or encoded is not None,
                      dtype=np.float64 if batchwise else requested)
    features = encoded if encoded is not None else {
        k: v for k, v in vars(stand_in).items() if k in FEATURES}
    dtype = np.float32 if batchwise else X.dtype
    sample_weight = _sample_weight(sample_weight, X, "sample_weight_val" if validation
                                   else "sample_weight", dtype)
    y = to_numpy(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    Y, targets = estimator._encode_targets(y, targets or {}, reset and not validation,
                                           incremental or validation)
    Y = astype(to_namespace(Y, xp, where), dtype)
    sample_weight = _with_class_weight(estimator, y, sample_weight, incremental and not
                                       validation, xp, where, dtype)
    if not validation:
        _check_scale(X)
    return Checked(Data(X, Y, y, sample_weight), features, targets)


def _validated(stand_in, X, y, *, y_numeric, reset, dtype):
    """``validate_data``'s X and y, learning the features on ``stand_in`` when
    ``reset``; plain float arrays that it would return unchanged skip it
    (``plain_training_data``), with the same outcome."""
    state = vars(stand_in)
    if plain_training_data(X, y, dtype, None if reset else state.get("n_features_in_", -1),
                           names="feature_names_in_" in state):
        if reset:
            stand_in.n_features_in_ = X.shape[1]
        return X, y
    try:
        return validate_data(stand_in, X, y, accept_sparse="csr", multi_output=True,
                             y_numeric=y_numeric, reset=reset, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise explained(error) from error


def _with_class_weight(estimator, y, sample_weight, incremental, xp, where, dtype):
    """The sample weights times the estimator's class weights (if any)."""
    class_weight = estimator._class_sample_weight(y, incremental)
    if class_weight is None:
        return sample_weight
    class_weight = astype(to_namespace(class_weight, xp, where), dtype)
    sample_weight = class_weight if sample_weight is None else (
        sample_weight * class_weight)
    if not xp.any(sample_weight):
        raise ValueError(
            "Sample weights must contain at least one non-zero number: class_weight "
            "(times sample_weight) gives every sample weight 0.\nFix: give at least "
            "one class present in y a positive class_weight.")
    return sample_weight


def _sample_weight(sample_weight, X, name, dtype):
    """Checked sample weights (None stays None), in ``dtype``; errors name the
    argument."""
    if sample_weight is None:
        return None
    xp, where = input_namespace(X)
    if not is_numpy(xp):  # from any namespace: it follows X
        sample_weight = to_namespace(to_numpy(sample_weight), xp, where)
    try:
        return _check_sample_weight(sample_weight, X, dtype=dtype,
                                    ensure_non_negative=True)
    except (ValueError, TypeError) as error:
        if name == "sample_weight":
            raise explained(error) from error
        message = str(error).replace("sample_weight", name)
        raise type(error)(f"{message}\nFix: pass one weight per row of X_val.") from error


def _check_scale(X):
    """Warn about features so large that the network cannot train on them."""
    values = X.data if issparse(X) else X
    # max and -min: two passes over X, no copy of it (abs would allocate one)
    if values.shape[0] * values.shape[-1] == 0:
        return
    if type(values) is np.ndarray:  # (the methods: no dispatch on a tiny X)
        largest = max(float(values.max()), -float(values.min()), 0.0)
    else:
        xp = namespace(values)
        largest = max(float(xp.max(values)), -float(xp.min(values)), 0.0)
    if largest > SCALE_LIMIT:
        warn(f"X has values up to {largest:.3g} in magnitude. A network trains on "
             "features of order 1: at this scale its units saturate or its loss "
             "overflows. Fix: scale X, e.g. make_pipeline(StandardScaler(), "
             "estimator).", UserWarning)


# what a Pipeline needs to pass X_val through its steps before the estimator
PIPELINE_ROUTE = (
    "In a Pipeline, fit's X_val reaches the estimator untransformed unless the "
    "Pipeline transforms it: sklearn.set_config(enable_metadata_routing=True), "
    "estimator.set_fit_request(X_val=True, y_val=True), Pipeline(steps, "
    "transform_input=['X_val']), then pipe.fit(X, y, X_val=X_val, y_val=y_val); "
    "or transform X_val yourself (pipe[:-1].transform(X_val)).")


def _check_validation_features(X_val, features, raw_tables):
    """Refuse X_val whose columns the fit cannot use (text and categories, unless
    the estimator reads ``raw_tables``; a width other than X's), naming X_val and
    the way a Pipeline transforms it."""
    dtypes = getattr(X_val, "dtypes", None)
    if not raw_tables and dtypes is not None and hasattr(dtypes, "items"):
        try:
            check_features(X_val)
        except ValueError as error:
            raise ValueError(
                f"X_val{str(error)[1:].split('. A network')[0]}: validation data "
                f"must be numbers with the columns of the X the estimator fits.\n"
                f"Fix: {PIPELINE_ROUTE}") from None
    n_features = (features or {}).get("n_features_in_")
    width = np.shape(X_val)[1] if np.ndim(X_val) == 2 else None
    if n_features is not None and width is not None and width != n_features:
        raise ValueError(
            f"X_val has {width} features, but X has {n_features}.\nFix: "
            f"{PIPELINE_ROUTE}")


def given_validation(estimator, validation_data, like, features, targets):
    """Validation data ``(X_val, y_val, sample_weight_val)`` passed to fit, checked
    like the training data (against its ``features`` and ``targets``); None if
    none. It follows the training data ``like`` (its namespace, device and dtype):
    a NumPy X_val for a fit on a GPU is moved there, a tensor for a fit on NumPy
    comes to the host."""
    X_val, y_val, sample_weight_val = validation_data
    if X_val is None and y_val is None:
        if sample_weight_val is not None:
            raise ValueError("sample_weight_val was given without X_val and y_val.\n"
                             "Fix: pass X_val and y_val with it, or drop it.")
        return None
    if X_val is None or y_val is None:
        raise ValueError("Pass X_val and y_val together (or neither).")
    X_val, y_val, sample_weight_val = (plain_input(a, name) for a, name in (
        (X_val, "X_val"), (y_val, "y_val"), (sample_weight_val, "sample_weight_val")))
    _check_validation_features(X_val, features, estimator._reads_raw_tables)
    X_val = host_input(X_val)
    if not is_numpy(namespace(like)) and issparse(X_val):
        raise TypeError("X_val is a sparse matrix, but X is an array on a device "
                        "(array API dispatch).\nFix: pass X_val dense, as X is.")
    if not is_numpy(namespace(like)):
        X_val = to_namespace(np.asarray(X_val), namespace(like), device(like))
    checked = checked_data(estimator, X_val, host_input(y_val),
                           host_input(sample_weight_val), features=features,
                           targets=targets, incremental=False, validation=True)
    return checked.data.astype(like.dtype)
