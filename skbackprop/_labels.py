"""A classifier's targets: the classes, their encoding as outputs, and back.

The target state of a classifier is ``{"classes_": ..., "_y_type": ...}``:
'binary' (one logistic output, the second class's probability), 'multiclass' (a
softmax over the classes) or 'multilabel-indicator' (one logistic output per
label). These functions compute it and encode or decode with it; none reads or
writes an estimator, so a fit learns new classes without touching the fitted ones
until it stores its whole state.
"""

from numbers import Real

import numpy as np
from sklearn import get_config
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import label_binarize
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)

from ._core.xp import astype, flat, host_input, namespace, to_numpy
from ._validation import explained

__all__ = ["accuracy", "class_sample_weight", "decode_labels", "encode_labels",
           "given_classes", "plain_labels"]


def given_classes(classes, previous_classes):
    """The target state partial_fit's ``classes=`` gives (as sklearn's
    ``_check_partial_fit_first_call``): required on the first call, the same as
    before on later ones. ``classes`` may come from any array namespace and
    device: the classes are kept on the host, as those learnt from y are."""
    if previous_classes is None and classes is None:
        raise ValueError("classes must be passed on the first call to partial_fit.")
    if classes is None:
        return {}
    classes = host_input(classes)
    if previous_classes is not None and not np.array_equal(previous_classes,
                                                           unique_labels(classes)):
        raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                         f"partial_fit, was: {previous_classes!r}")
    return {"classes_": unique_labels(classes)}


def encode_labels(y, targets, reset, incremental, same_classes):
    """``(Y, targets)``: the outputs for labels y and the target state, learnt from
    y when ``reset`` (with partial_fit's classes, if ``targets`` has them), else
    ``targets``; y's labels must be among the classes (all of them, with
    ``same_classes``: a warm start)."""
    labels = plain_labels(y)  # (None: sklearn's checks, which also find them)
    if labels is None:
        try:
            check_classification_targets(y)
        except ValueError as error:
            raise explained(error) from error
    multilabel = y.ndim == 2 and type_of_target(y) == "multilabel-indicator"
    if reset:
        targets = _label_state(y, targets.get("classes_") if incremental else None,
                               multilabel, labels)
    if incremental or not reset:
        _check_labels(unique_labels(y) if labels is None else labels,
                      targets["classes_"], same_classes)
    classes = targets["classes_"]
    if multilabel:
        return label_binarize(y, classes=classes), targets
    # one indicator column per class (the second class's alone when binary), as
    # label_binarize, in a single comparison
    columns = classes[1:] if targets["_y_type"] == "binary" else classes
    return (y[:, np.newaxis] == columns).astype(np.int64), targets


def plain_labels(y):
    """``unique_labels(y)`` for labels that ``check_classification_targets`` takes
    without a word: a 1-D ndarray of integers, booleans or text (a 'binary' or
    'multiclass' target), unless sklearn would warn that it looks like a regression
    target (more distinct values than half its 20+ rows). None for anything else,
    which sklearn's functions check (their type_of_target costs more than a small
    fit: these cost one ``np.unique``)."""
    if (type(y) is not np.ndarray or y.ndim != 1 or y.shape[0] == 0
            or y.dtype.kind not in "biuU" or get_config()["array_api_dispatch"]):
        return None
    unique = np.unique(y)
    n_samples, n_unique = y.shape[0], unique.shape[0]
    if n_unique > 2 and n_samples > 20 and n_unique > round(0.5 * n_samples):
        return None
    return np.asarray(sorted(set(unique)))  # (as unique_labels: its dtype too)


def _label_state(y, classes, multilabel, labels=None):
    """The target state learnt from y (``classes`` if given; ``labels``: y's, if
    known)."""
    if classes is None:
        classes = unique_labels(y) if labels is None else labels
    if multilabel:
        classes = np.arange(y.shape[1])
    if len(classes) < 2:
        raise ValueError(
            f"y holds only one class ({classes[0]}); a classifier needs samples of at "
            "least 2 classes.\nFix: check how y was selected; to learn from batches "
            "that miss classes, use partial_fit with classes=.")
    y_type = ("multilabel-indicator" if multilabel
              else "multiclass" if len(classes) > 2 else "binary")
    return {"classes_": classes, "_y_type": y_type}


def _check_labels(labels, classes, same_classes):
    if same_classes:
        if set(labels) != set(classes):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the "
                f"previous call to fit. Previously got {classes}, `y` has {labels}.")
    elif len(np.setdiff1d(labels, classes)):
        raise ValueError(
            f"`y` has classes not in `self.classes_`. `self.classes_` has {classes}. "
            f"'y' has {labels}. Pass every class to the first partial_fit call with "
            "classes=.")


def accuracy(y_true, y_pred, sample_weight=None):
    """``accuracy_score(y_true, y_pred, sample_weight=sample_weight)``, the score
    early stopping watches every epoch: for plain labels (1-D ndarrays of integers,
    booleans or text, of one kind and length; weights, if any, a C-ordered float
    ndarray of finite values) what it computes after its checks, the weighted mean
    of ``y_true == y_pred`` (its two type_of_target passes cost more than an epoch
    of a small network); else ``accuracy_score`` itself."""
    if _plain_pair(y_true, y_pred) and (sample_weight is None or _plain_weights(
            sample_weight, y_true.shape[0])):
        return float(np.average(y_true == y_pred, weights=sample_weight))
    return accuracy_score(y_true, y_pred, sample_weight=sample_weight)


def _plain_pair(y_true, y_pred):
    return (type(y_true) is np.ndarray and type(y_pred) is np.ndarray
            and y_true.ndim == 1 and y_pred.shape == y_true.shape and y_true.shape[0]
            and y_true.dtype.kind in "biuU" and y_pred.dtype.kind == y_true.dtype.kind
            and not get_config()["array_api_dispatch"])


def _plain_weights(sample_weight, n_samples):
    return (type(sample_weight) is np.ndarray and sample_weight.shape == (n_samples,)
            and sample_weight.dtype.kind == "f" and sample_weight.flags.c_contiguous
            and bool(np.isfinite(np.add.reduce(sample_weight))))


def decode_labels(A, classes, y_type):
    """Labels, on the host, from output-layer values A of any namespace (only the
    chosen indices leave the device)."""
    xp = namespace(A)
    if y_type == "multiclass":
        return classes[to_numpy(xp.argmax(A, axis=1))]
    if y_type == "binary":
        return classes[to_numpy(astype(flat(A) > 0.5, xp.int64))]
    return to_numpy(astype(A > 0.5, xp.int64))


def class_sample_weight(class_weight, y, incremental):
    """Per-sample weights from ``class_weight`` (None: none), refused where
    negative or, in partial_fit, 'balanced'."""
    if class_weight is None:
        return None
    if incremental and class_weight == "balanced":
        raise ValueError(
            "class_weight='balanced' is not supported by partial_fit, whose batches do "
            "not show the class frequencies. Compute the weights once with "
            "sklearn.utils.class_weight.compute_class_weight('balanced', "
            "classes=classes, y=y_sample) and pass them as a dict.")
    dicts = class_weight if isinstance(class_weight, list) else [class_weight]
    for label, weight in [item for d in dicts if isinstance(d, dict) for item in d.items()]:
        if not (isinstance(weight, Real) and weight >= 0):
            raise ValueError(
                f"Negative values in data passed to `class_weight`: class {label!r} has "
                f"weight {weight!r}.\nFix: class weights must be numbers >= 0 (0 "
                "ignores a class).")
    return compute_sample_weight(class_weight, y)
