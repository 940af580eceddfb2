"""The training data: validated inputs, encoded targets and weights, as one object.

``training_data`` turns what a user passes to ``fit`` or ``partial_fit`` into a
``Data``: X validated (numbers only, the estimator's compute dtype), the targets
encoded as the network's outputs ``Y`` (via the estimator's ``_encode_targets``),
the raw targets ``y`` (for scores and callbacks), and the sample weights with the
class weights multiplied in. Validation data, given or held out, is a ``Data`` too.
"""

from typing import NamedTuple

import numpy as np
from scipy.sparse import issparse
from sklearn.model_selection import train_test_split
from sklearn.utils import column_or_1d
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._validation import check_features, explained
from ._warnings import warn

# Features beyond this magnitude make a network's first net inputs this large: every
# logistic or tanh unit saturates and relu gradients are ~1e6 times a scaled input's.
SCALE_LIMIT = 1e6


class Data(NamedTuple):
    """Rows to train or validate on."""

    X: object  # (n_samples, n_features): ndarray or CSR matrix
    Y: np.ndarray  # (n_samples, n_outputs): the encoded targets, in X's dtype
    y: object  # the targets as given (for scores and callbacks)
    sample_weight: np.ndarray | None  # class weights included

    @property
    def n_samples(self):
        return self.X.shape[0]

    def head(self, n):
        """The first ``n`` rows."""
        sw = None if self.sample_weight is None else self.sample_weight[:n]
        return Data(self.X[:n], self.Y[:n], self.y[:n], sw)

    def astype(self, dtype):
        return self._replace(X=self.X.astype(dtype, copy=False),
                             Y=self.Y.astype(dtype, copy=False))


def training_data(estimator, X, y, sample_weight, *, reset, incremental,
                  validation=False):
    """``Data`` from fit's arguments; ``reset`` on a first fit (the estimator learns
    the features and, for a classifier, the classes), ``incremental`` for partial_fit,
    ``validation`` for validation data (checked against the training data's)."""
    check_features(X)
    estimator._check_target_kind(y)
    try:
        X, y = validate_data(estimator, X, y, accept_sparse="csr", multi_output=True,
                             y_numeric=estimator._y_numeric,
                             dtype=estimator._compute_dtype(), reset=reset)
    except (ValueError, TypeError) as error:
        raise explained(error) from error
    sample_weight = _sample_weight(sample_weight, X, "sample_weight_val" if validation
                                   else "sample_weight")
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    Y = estimator._encode_targets(y, reset, incremental or validation).astype(X.dtype)
    class_weight = estimator._class_sample_weight(y, incremental and not validation)
    if class_weight is not None:
        class_weight = class_weight.astype(X.dtype)
        sample_weight = class_weight if sample_weight is None else (
            sample_weight * class_weight)
        if not sample_weight.any():
            raise ValueError(
                "Sample weights must contain at least one non-zero number: class_weight "
                "(times sample_weight) gives every sample weight 0.\nFix: give at least "
                "one class present in y a positive class_weight.")
    if not validation:
        _check_scale(X)
    return Data(X, Y, y, sample_weight)


def _sample_weight(sample_weight, X, name):
    """Checked sample weights (None stays None); errors name the argument."""
    if sample_weight is None:
        return None
    try:
        return _check_sample_weight(sample_weight, X, dtype=X.dtype,
                                    ensure_non_negative=True)
    except (ValueError, TypeError) as error:
        if name == "sample_weight":
            raise explained(error) from error
        message = str(error).replace("sample_weight", name)
        raise type(error)(f"{message}\nFix: pass one weight per row of X_val.") from error


def _check_scale(X):
    """Warn about features so large that the network cannot train on them."""
    values = X.data if issparse(X) else X
    # max and -min: two passes over X, no copy of it (np.abs would allocate one)
    largest = max(float(np.max(values, initial=0.0)), -float(np.min(values, initial=0.0)))
    if largest > SCALE_LIMIT:
        warn(f"X has values up to {largest:.3g} in magnitude. A network trains on "
             "features of order 1: at this scale its units saturate or its loss "
             "overflows. Fix: scale X, e.g. make_pipeline(StandardScaler(), "
             "estimator).", UserWarning)


def given_validation(estimator, X_val, y_val, sample_weight_val, dtype):
    """Validation data passed to fit, checked like the training data; None if none."""
    if X_val is None and y_val is None:
        if sample_weight_val is not None:
            raise ValueError("sample_weight_val was given without X_val and y_val.\n"
                             "Fix: pass X_val and y_val with it, or drop it.")
        return None
    if X_val is None or y_val is None:
        raise ValueError("Pass X_val and y_val together (or neither).")
    data = training_data(estimator, X_val, y_val, sample_weight_val, reset=False,
                         incremental=False, validation=True)
    return data.astype(dtype)


def split_validation(data, fraction, stratify, rng):
    """Hold out ``fraction`` of the rows: ``(train, validation)``, stratified by
    ``stratify`` (single-label classes) when given."""
    arrays = [data.X, data.Y, data.y]
    if data.sample_weight is not None:
        arrays.append(data.sample_weight)
    try:
        parts = train_test_split(*arrays, random_state=rng, test_size=fraction,
                                 stratify=stratify)
    except ValueError as error:
        raise _split_error(data, fraction, stratify, error) from error
    train, held_out = parts[0::2], parts[1::2]
    if data.sample_weight is None:
        train, held_out = [*train, None], [*held_out, None]
    if held_out[0].shape[0] < 2:
        raise ValueError(
            f"The validation set has {held_out[0].shape[0]} sample(s); early stopping "
            "needs at least 2.\nFix: increase validation_fraction, provide more "
            "samples, or pass X_val and y_val.")
    return Data(*train), Data(*held_out)


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
