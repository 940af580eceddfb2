"""The training data: validated inputs, encoded targets and weights, as one object.

``training_data`` turns what a user passes to ``fit`` or ``partial_fit`` into a
``Data``: X validated (numbers only, the estimator's compute dtype), the targets
encoded as the network's outputs ``Y`` (via the estimator's ``_encode_targets``),
the raw targets ``y`` (for scores and callbacks), and the sample weights with the
class weights multiplied in. Validation data, given or held out, is a ``Data`` too.

With scikit-learn's array API dispatch on, X may be an array of any namespace and
device (``sklearn.set_config(array_api_dispatch=True)``): X, Y and the sample
weights then live there, in X's namespace and on X's device. The targets are
checked and encoded on the host (class labels may be strings) and ``y`` stays
there, for the scores; y and sample_weight may come from any namespace: they
follow X.
"""

from typing import NamedTuple

import numpy as np
from scipy.sparse import issparse
from sklearn.model_selection import train_test_split
from sklearn.utils import column_or_1d
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._validation import check_features, explained
from ._warnings import warn
from ._xp import (
    astype,
    device,
    host_input,
    input_namespace,
    is_numpy,
    namespace,
    row_slice,
    take_rows,
    to_namespace,
    to_numpy,
)

__all__ = ["Data", "batchwise_dtype", "given_validation", "split_validation", "training_data"]

# Features beyond this magnitude make a network's first net inputs this large: every
# logistic or tanh unit saturates and relu gradients are ~1e6 times a scaled input's.
SCALE_LIMIT = 1e6


class Data(NamedTuple):
    """Rows to train or validate on.

    The compute dtype is Y's (``dtype``). X has it too, except for float64 rows of a
    float32 stochastic fit (``batchwise``): then X stays as given and each batch is
    converted as it is gathered, so that the fit holds no float32 copy of X (the
    same float32 numbers as converting X first)."""

    X: object  # (n_samples, n_features): ndarray, CSR matrix or another namespace's
    Y: object  # (n_samples, n_outputs): the encoded targets, in the compute dtype
    y: object  # the targets as given, on the host (for scores and callbacks)
    sample_weight: object  # (n_samples,) or None; class weights included; as Y

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def dtype(self):
        """The dtype the fit computes in."""
        return self.Y.dtype

    def computed(self):
        """This data with X in the compute dtype (a converted copy if batchwise)."""
        return self if self.X.dtype == self.Y.dtype else self._replace(
            X=astype(self.X, self.Y.dtype))

    def head(self, n):
        """The first ``n`` rows."""
        return Data(*(None if a is None else row_slice(a, 0, n) for a in self))

    def take(self, rows):
        """The rows with indices ``rows`` (a NumPy array), in that order."""
        return Data(*(None if a is None else take_rows(a, rows) for a in self))

    def astype(self, dtype):
        """In ``dtype``; float64 rows held batchwise for float32 stay as they are."""
        batchwise = batchwise_dtype(self.X, dtype)
        return self._replace(X=self.X if batchwise else astype(self.X, dtype),
                             Y=astype(self.Y, dtype),
                             sample_weight=None if self.sample_weight is None else
                             astype(self.sample_weight, dtype))


def training_data(estimator, X, y, sample_weight, *, reset, incremental,
                  validation=False):
    """``Data`` from fit's arguments; ``reset`` on a first fit (the estimator learns
    the features and, for a classifier, the classes), ``incremental`` for partial_fit,
    ``validation`` for validation data (checked against the training data's)."""
    check_features(X)
    xp, device = input_namespace(X)
    if not is_numpy(xp):  # the targets are checked and encoded on the host
        y = to_numpy(y)
    estimator._check_target_kind(y)
    requested = estimator._compute_dtype(xp, device)
    # float64 rows of a float32 stochastic fit are converted batch by batch (Data)
    batchwise = (not validation and estimator.solver != "lbfgs"
                 and batchwise_dtype(X, requested))
    try:
        X, y = validate_data(estimator, X, y, accept_sparse="csr", multi_output=True,
                             y_numeric=estimator._y_numeric,
                             dtype=np.float64 if batchwise else requested, reset=reset)
    except (ValueError, TypeError) as error:
        raise explained(error) from error
    dtype = np.float32 if batchwise else X.dtype
    sample_weight = _sample_weight(sample_weight, X, "sample_weight_val" if validation
                                   else "sample_weight", dtype)
    y = to_numpy(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    Y = estimator._encode_targets(y, reset, incremental or validation)
    Y = astype(to_namespace(Y, xp, device), dtype)
    class_weight = estimator._class_sample_weight(y, incremental and not validation)
    if class_weight is not None:
        class_weight = astype(to_namespace(class_weight, xp, device), dtype)
        sample_weight = class_weight if sample_weight is None else (
            sample_weight * class_weight)
        if not xp.any(sample_weight):
            raise ValueError(
                "Sample weights must contain at least one non-zero number: class_weight "
                "(times sample_weight) gives every sample weight 0.\nFix: give at least "
                "one class present in y a positive class_weight.")
    if not validation:
        _check_scale(X)
    return Data(X, Y, y, sample_weight)


def batchwise_dtype(X, dtype):
    """Whether rows X for a fit computing in ``dtype`` are converted batch by batch:
    a dense float64 NumPy array for a float32 fit."""
    return (isinstance(X, np.ndarray) and X.dtype == np.float64
            and isinstance(dtype, np.dtype | type) and np.dtype(dtype) == np.float32)


def _sample_weight(sample_weight, X, name, dtype):
    """Checked sample weights (None stays None), in ``dtype``; errors name the
    argument."""
    if sample_weight is None:
        return None
    xp, device = input_namespace(X)
    if not is_numpy(xp):  # from any namespace: it follows X
        sample_weight = to_namespace(to_numpy(sample_weight), xp, device)
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
    xp = namespace(values)
    if values.shape[0] * values.shape[-1] == 0:
        return
    largest = max(float(xp.max(values)), -float(xp.min(values)), 0.0)
    if largest > SCALE_LIMIT:
        warn(f"X has values up to {largest:.3g} in magnitude. A network trains on "
             "features of order 1: at this scale its units saturate or its loss "
             "overflows. Fix: scale X, e.g. make_pipeline(StandardScaler(), "
             "estimator).", UserWarning)


def given_validation(estimator, X_val, y_val, sample_weight_val, like):
    """Validation data passed to fit, checked like the training data; None if none.
    It follows the training data ``like`` (its namespace, device and dtype): a NumPy
    X_val for a fit on a GPU is moved there, a tensor for a fit on NumPy comes to
    the host."""
    if X_val is None and y_val is None:
        if sample_weight_val is not None:
            raise ValueError("sample_weight_val was given without X_val and y_val.\n"
                             "Fix: pass X_val and y_val with it, or drop it.")
        return None
    if X_val is None or y_val is None:
        raise ValueError("Pass X_val and y_val together (or neither).")
    X_val = host_input(X_val)
    if not is_numpy(namespace(like)) and issparse(X_val):
        raise TypeError("X_val is a sparse matrix, but X is an array on a device "
                        "(array API dispatch).\nFix: pass X_val dense, as X is.")
    if not is_numpy(namespace(like)):
        X_val = to_namespace(np.asarray(X_val), namespace(like), device(like))
    data = training_data(estimator, X_val, host_input(y_val),
                         host_input(sample_weight_val), reset=False, incremental=False,
                         validation=True)
    return data.astype(like.dtype)


def split_validation(data, fraction, stratify, rng):
    """Hold out ``fraction`` of the rows: ``(train, validation)``, stratified by
    ``stratify`` (single-label classes) when given."""
    try:  # the rows are drawn on the host, as for NumPy arrays, whatever X is
        train, held_out = train_test_split(np.arange(data.n_samples), random_state=rng,
                                           test_size=fraction, stratify=stratify)
    except ValueError as error:
        raise _split_error(data, fraction, stratify, error) from error
    if held_out.shape[0] < 2:
        raise ValueError(
            f"The validation set has {held_out.shape[0]} sample(s); early stopping "
            "needs at least 2.\nFix: increase validation_fraction, provide more "
            "samples, or pass X_val and y_val.")
    return data.take(train), data.take(held_out).computed()


def _split_error(data, fraction, stratify, error):
    """Why the validation split failed, and a fix that works."""
    if stratify is not None:
        labels, counts = np.unique(stratify, return_counts=True)
        if counts.min() < 2:
            rare = ", ".join(repr(label) for label in labels[counts < 2].tolist())
            return ValueError(
                f"early_stopping holds out a stratified validation set, but class "
                f"{rare} has a single sample, which cannot be in both the training "
                "and the validation set.\nFix: pass X_val and y_val to fit, drop or "
                "merge that class, or set early_stopping=False.")
    return ValueError(
        f"early_stopping could not hold out validation_fraction={fraction} of the "
        f"{data.n_samples} training samples: {error}.\nFix: increase "
        "validation_fraction, pass X_val and y_val to fit, or set "
        "early_stopping=False.")
