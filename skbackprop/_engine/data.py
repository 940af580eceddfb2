"""The training data: rows, encoded targets and weights, as one object.

A ``Data`` holds what a fit trains (or validates) on: the rows X, the targets
encoded as the network's outputs ``Y``, the raw targets ``y`` (for scores and
callbacks) and the sample weights, class weights included. ``_inputs`` builds it
from fit's arguments; ``split_validation`` holds out early stopping's rows.

X, Y and the sample weights live in X's namespace and on its device (scikit-learn's
array API dispatch); ``y`` stays on the host.
"""

from typing import NamedTuple

import numpy as np
from sklearn.model_selection import train_test_split

from .._core.xp import (
    astype,
    row_slice,
    take_rows,
)

__all__ = ["Data", "batchwise_dtype", "split_validation"]



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


def batchwise_dtype(X, dtype):
    """Whether rows X for a fit computing in ``dtype`` are converted batch by batch:
    a dense float64 NumPy array for a float32 fit."""
    return (isinstance(X, np.ndarray) and X.dtype == np.float64
            and isinstance(dtype, np.dtype | type) and np.dtype(dtype) == np.float32)


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
