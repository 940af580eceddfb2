"""BackpropClassifier: the base network with logistic or softmax outputs."""

from functools import partial
from numbers import Real
from typing import ClassVar

from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from ._base import BaseBackprop, stochastic_solver
from ._core.losses import logsumexp
from ._core.xp import concat, follow, softplus
from ._docs import COMMON_ATTRIBUTES, COMMON_PARAMETERS, HIDDEN_PARAMETERS
from ._engine.fitted import CLASSIFIER
from ._labels import (
    accuracy,
    class_sample_weight,
    decode_labels,
    encode_labels,
    given_classes,
)
from ._validation import check_label_types

__all__ = ["BackpropClassifier"]


class BackpropClassifier(ClassifierMixin, BaseBackprop):
    __doc__ = f"""Multi-layer perceptron classifier trained by hand-written backpropagation.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier` (same parameters,
    defaults and fitted attributes) whose forward pass, backward pass and optimizers
    are plain NumPy functions in ``skbackprop``'s math core. Binary and multilabel
    targets get logistic outputs, multiclass targets a softmax; the loss is the log
    loss (cross-entropy), summed over labels for multilabel targets.

    Parameters
    ----------
    {HIDDEN_PARAMETERS}

    {COMMON_PARAMETERS}

    label_smoothing : float, default=0.0
        Label smoothing of the log loss (Szegedy et al., 2016), of the stochastic
        solvers and lbfgs alike: the loss compares the probabilities with the
        targets ``y' = (1 - label_smoothing) * y + label_smoothing / K`` instead of
        the labels y, with K the number of classes for a softmax output (multiclass)
        and K = 2 for each logistic output (binary and multilabel targets: each
        output is read as two classes, so that a binary target of 1 aims at
        ``1 - label_smoothing / 2``). The loss is computed from the logits and its
        gradient at the logits is ``a - y'``: what
        ``torch.nn.CrossEntropyLoss(label_smoothing=...)`` computes on the
        logits ``z`` (multiclass) or ``(0, z)`` (each logistic output), and
        ``torch.nn.BCEWithLogitsLoss`` on the targets ``y'``. 0 (the default)
        trains on the labels themselves, as sklearn's MLP; a value in (0, 1)
        keeps the predicted probabilities away from 0 and 1, at a cost in
        calibration. ``loss_``, ``loss_curve_`` and the validation loss report
        the smoothed loss.

    class_weight : dict, 'balanced' or None, default=None
        Weight of each class, multiplying ``sample_weight``: a dict
        ``{{label: weight}}`` (missing labels weigh 1), or 'balanced' for
        ``n_samples / (n_classes * count(label))``. Multilabel targets take a list of
        dicts (one per label, keyed 0/1) or 'balanced'. 'balanced' is refused by
        ``partial_fit``, whose batches do not show the class frequencies: compute the
        weights with ``sklearn.utils.class_weight.compute_class_weight`` and pass a
        dict.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (for multilabel targets, the label indices).

    {COMMON_ATTRIBUTES}

    See Also
    --------
    BackpropRegressor : The same network for regression.
    sklearn.neural_network.MLPClassifier : The estimator this one replaces.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skbackprop import BackpropClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(10,), solver="lbfgs",
    ...                          max_iter=1000, random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> float(clf.predict_proba(X[:1]).sum())
    1.0
    >>> clf.score(X, y) > 0.95
    True
    """

    #: The loss minimised, as on sklearn's MLPClassifier (not a parameter).
    loss = "log_loss"

    _parameter_constraints: ClassVar[dict] = {
        **BaseBackprop._parameter_constraints,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        weight_init="glorot_uniform",
        dtype=None,
        lr_step_epochs=10,
        lr_decay=0.5,
        scoring=None,
        dropout=0.0,
        clip_norm=None,
        weight_decay=0.0,
        label_smoothing=0.0,
        class_weight=None,
    ):
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            weight_init=weight_init,
            dtype=dtype,
            lr_step_epochs=lr_step_epochs,
            lr_decay=lr_decay,
            scoring=scoring,
            dropout=dropout,
            clip_norm=clip_norm,
            weight_decay=weight_decay,
        )
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight

    _score_function = staticmethod(accuracy)  # (accuracy_score's value)
    _y_numeric = False
    _fitted_schema: ClassVar[dict] = CLASSIFIER

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _loss_name(self, targets=None):
        y_type = (targets or vars(self))["_y_type"]
        return "log_loss" if y_type == "multiclass" else "binary_log_loss"

    def _output_activation(self, targets=None):
        y_type = (targets or vars(self))["_y_type"]
        return "softmax" if y_type == "multiclass" else "logistic"

    def _class_sample_weight(self, y, incremental):
        return class_sample_weight(self.class_weight, y, incremental)

    def _stratify(self, y):
        return y if y.ndim == 1 else None

    def _check_target_kind(self, y):
        check_label_types(y)

    def _given_targets(self, classes, previous, incremental):
        if previous is not None:
            targets = {k: previous[k] for k in self._fitted_schema}
            if incremental:
                given_classes(classes, targets["classes_"])
            return targets
        return given_classes(classes, None) if incremental else {}

    def _encode_targets(self, y, targets, reset, incremental):
        return encode_labels(y, targets, reset, incremental,
                             same_classes=self.warm_start and not incremental)

    def _decoder(self, targets=None):
        targets = targets or vars(self)
        return partial(decode_labels, classes=targets["classes_"],
                       y_type=targets["_y_type"])

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Predicted labels (an indicator matrix for multilabel targets).
        """
        A = self._validated_output(X, "predict")[0]
        return follow(self._decode(A), A)

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; rows sum to 1 except for
            multilabel targets (one independent probability per label).
        """
        A = self._validated_output(X, "predict_proba")[0]
        return concat([1 - A, A], axis=1) if self._y_type == "binary" else A

    def predict_log_proba(self, X):
        """Log of ``predict_proba``, computed from the logits so it stays finite.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        Z = self._validated_output(X, "predict_log_proba")[1]
        if self._y_type == "multiclass":
            return Z - logsumexp(Z)
        log_p = -softplus(-Z)  # log sigmoid(z) = -log(1 + exp(-z))
        if self._y_type == "binary":
            return concat([-softplus(Z), log_p], axis=1)  # log(1 - sigmoid(z)) first
        return log_p

    @available_if(stochastic_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None, epochs=1):
        """Update the network with ``epochs`` epochs over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        classes : array-like of shape (n_classes,), default=None
            Every class that will ever be seen; required on the first call, where
            ``y`` need not contain all of them.

        epochs : int, default=1
            Passes over this data; each adds one to ``n_iter_``.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, epochs=epochs,
                         classes=classes)
