"""What both estimators share: parameters, sklearn glue, and the short ``_fit``.

A fit reads top to bottom in ``_fit``:

    training_data          validate X, y and weights; encode the targets    (_data)
    _start                 the network to train and its starting weights   (_start)
    Training(...).run      the validation split, monitor, divergence guard and
                           solver: the stochastic loop run -> epoch -> step
                           (_loop, _steps, _rowwise) or lbfgs (_lbfgs)       (_training)
    vars(self).update      store the outcome: every fitted attribute at once

What a subclass provides (and nothing here branches on which one it is): the
targets' kind and encoding (``_y_numeric``, ``_check_target_kind``,
``_encode_targets``, ``_decode``), the loss and output activation (``_loss_name``,
``_output_activation``), the score (``_score_function``) and, optionally, class
weights, stratification, partial_fit's classes and fitted attributes of its own
for model files (``_class_sample_weight``, ``_stratify``, ``_set_classes``,
``_fitted_schema``).
"""

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, _fit_context
from sklearn.callback import CallbackSupportMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._activations import HIDDEN_ACTIVATIONS, HIDDEN_NAMES
from ._callbacks import callback_metadata
from ._data import given_validation, training_data
from ._dispatch import check_namespace, compute_dtype, converted
from ._init import INITIALIZERS
from ._monitor import HISTORY_COLUMNS
from ._network import forward
from ._schedules import TIME_BASED
from ._start import (
    Model,
    checked_weights,
    hidden_layer_sizes,
    per_hidden_layer,
    starting_weights,
)
from ._training import Training
from ._validation import check_features, explained, plain_rows
from ._warnings import warn
from ._xp import (
    astype,
    input_namespace,
    is_numpy,
    to_numpy,
)

__all__ = ["BaseBackprop", "stochastic_solver"]

STOCHASTIC_SOLVERS = ("sgd", "adam")


def stochastic_solver(estimator):
    """``available_if`` guard of ``partial_fit``, shared by both estimators."""
    if estimator.solver not in STOCHASTIC_SOLVERS:
        raise AttributeError(
            f"partial_fit is only available for the stochastic solvers 'sgd' and "
            f"'adam', not solver={estimator.solver!r}."
        )
    return True


# The parameters both estimators take, as sklearn validates them.
PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(HIDDEN_NAMES), "array-like"],  # (live: _activations.register)
    "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate": [StrOptions({*TIME_BASED, "adaptive"})],
    "lr_step_epochs": [Interval(Integral, 1, None, closed="left")],
    "lr_decay": [Interval(Real, 0, 1, closed="right")],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterovs_momentum": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
    "n_iter_no_change": [
        Interval(Integral, 1, None, closed="left"),
        Options(Real, {np.inf}),
    ],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "weight_init": [StrOptions(set(INITIALIZERS)), Real, callable],
    "dtype": [
        StrOptions({"float32", "float64"}),
        Options(type, {np.float32, np.float64}),
        Options(np.dtype, {np.dtype(np.float32), np.dtype(np.float64)}),
        None,
    ],
    "scoring": [StrOptions({"loss"}), None],
    "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
    "clip_norm": [Interval(Real, 0, None, closed="neither"), None],
}


class BaseBackprop(CallbackSupportMixin, BaseEstimator):
    """Base class of BackpropRegressor and BackpropClassifier; not for direct use."""

    _parameter_constraints: ClassVar[dict] = PARAMETER_CONSTRAINTS

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
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.weight_init = weight_init
        self.dtype = dtype
        self.lr_step_epochs = lr_step_epochs
        self.lr_decay = lr_decay
        self.scoring = scoring
        self.dropout = dropout
        self.clip_norm = clip_norm

    # ------------------------------------------------------------------ sklearn glue
    def __sklearn_is_fitted__(self):
        # Fitted means a fit completed: coefs_ alone may be weights a user assigned
        # to start from, and a fit that raised leaves no model to predict with.
        return getattr(self, "_fit_completed", False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags

    def __sklearn_array_api_convert__(self, converter):
        """A copy whose network (weights and optimizer state) was moved by
        ``converter``: scikit-learn's ``move_estimator_to(estimator, xp, device)``
        calls this. Everything else (classes, history, counters) stays on the
        host, where it always is."""
        return converted(self, converter)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None,
            sample_weight_val=None):
        """Fit the network to data X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: real numbers (regression) or class labels (classification).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; weight k counts as the row repeated k times.

        X_val, y_val : array-like, default=None
            Validation data, instead of holding out ``validation_fraction`` of X.
            Its loss and score are recorded every epoch (``history_``,
            ``validation_scores_``); with ``early_stopping=True`` they decide when
            to stop and which weights to keep.

        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation rows (only with X_val and y_val).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False,
                         validation_data=(X_val, y_val, sample_weight_val))

    # ------------------------------------------------------- what subclasses provide
    _y_numeric: ClassVar[bool]  # whether y must be numbers (regression)
    _fitted_schema: ClassVar[dict] = {}  # fitted attributes of its own (_schema)
    _score_function: ClassVar  # score(y_true, y_pred, sample_weight=None)

    def _check_target_kind(self, y):
        """Refuse targets of the wrong kind before validation, with a fix."""

    def _encode_targets(self, y, reset, incremental):
        """The network's targets Y (n_samples, n_outputs) for validated y."""
        raise NotImplementedError

    def _decode(self, A):
        """Predictions from output-layer values A."""
        raise NotImplementedError

    def _loss_name(self):
        raise NotImplementedError

    def _output_activation(self):
        raise NotImplementedError

    def _class_sample_weight(self, y, incremental):
        """Per-sample weights from class weights (classifiers); None here."""

    def _stratify(self, y):
        """Labels to stratify the validation split by (classifiers); None here."""

    def _set_classes(self, classes):
        """Take partial_fit's ``classes=`` (classifiers)."""
        raise ValueError("classes= is for classifiers; a regressor has no classes.")

    # --------------------------------------------------------------------- fitting
    def _fit(self, X, y, sample_weight, incremental, validation_data=(None,) * 3,
             epochs=1):
        self._check_call(incremental, epochs)
        first = not self.__sklearn_is_fitted__() or not (self.warm_start or incremental)
        if first:
            self._fit_completed = False  # until this fit completes
        data = training_data(self, X, y, sample_weight, reset=first,
                             incremental=incremental)
        rng = check_random_state(self.random_state)
        model, weights = self._start(data, rng, first, incremental)
        dtype = weights[0][0].dtype  # a fitted model keeps its dtype
        data = data.astype(dtype)
        validation = given_validation(self, *validation_data, like=data.Y)
        callbacks = self._init_callback_context(max_subtasks=(
            self.max_iter + 1 if self.solver == "lbfgs"
            else (epochs if incremental else self.max_iter)))
        metadata = callback_metadata(data.sample_weight)
        callbacks.call_on_fit_task_begin(estimator=self, X=data.X, y=data.y,
                                         metadata=metadata)
        outcome = Training(self, model, data, validation, weights, rng, first=first,
                           incremental=incremental).run(epochs)
        vars(self).update(outcome.attributes)  # every fitted attribute at once
        try:  # (a warning may be an error under the user's filters)
            for message, category in outcome.warnings:
                warn(message, category)
        finally:
            callbacks.call_on_fit_task_end(estimator=self, X=data.X, y=data.y,
                                           metadata=metadata, reconstruction_attributes={})
        return self

    def _check_call(self, incremental, epochs):
        """Refuse settings that cannot work together, before touching the data."""
        if incremental and self.__sklearn_is_fitted__():
            self._validate_params()  # sklearn's _fit_context skips this here
        if not (isinstance(epochs, Integral) and epochs >= 1):
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")
        if self.early_stopping and incremental:
            raise ValueError(
                "partial_fit does not support early_stopping=True: hold out "
                "validation data yourself, or call fit.")
        if self.solver == "lbfgs" and any(self._dropout(len(self._hidden_layer_sizes()))):
            raise ValueError(
                "dropout makes the loss random, which breaks lbfgs's line search; use "
                "solver='adam' or 'sgd' with dropout, or set dropout=0.")

    def _start(self, data, rng, first, incremental):
        """The network to train and its starting weights: drawn (or, assigned before
        a first fit with warm_start or partial_fit, those) on a first fit, else the
        fitted ones. A first fit also sets the network's fitted attributes."""
        sizes = self._hidden_layer_sizes()
        layer_units = [data.X.shape[1], *sizes, data.Y.shape[1]]
        if first:
            self.n_outputs_, self.n_layers_ = layer_units[-1], len(layer_units)
            self.out_activation_ = self._output_activation()
            self._hidden_activations = per_hidden_layer(
                "activation", self.activation, len(sizes),
                lambda a: a in HIDDEN_ACTIVATIONS, f"one of {HIDDEN_ACTIVATIONS}", str)
        model = Model(layer_units, self._layer_activations(), self._loss_name(),
                      self.alpha, self._dropout(len(sizes)))
        if not first:
            self._check_namespace(data.X, "partial_fit" if incremental else "fit")
            return model, checked_weights(self.coefs_, self.intercepts_, layer_units,
                                          self.coefs_[0].dtype, copy=False,
                                          warm_start=True, like=data.X)
        assigned = hasattr(self, "coefs_") and (self.warm_start or incremental)
        if hasattr(self, "coefs_") and not assigned and not hasattr(self, "loss_curve_"):
            warn("coefs_ were assigned before fitting but warm_start=False, so they are "
                 "ignored; set warm_start=True to start from them.")
        given = (self.coefs_, self.intercepts_) if assigned else None
        return model, starting_weights(model, self.weight_init, data.Y, rng, given)

    # ----------------------------------------------------------------- the network
    def _layer_activations(self):
        """Activation of every layer of weights, hidden layers first."""
        return [*self._hidden_activations, self.out_activation_]

    def _dropout(self, n_hidden):
        return per_hidden_layer("dropout", self.dropout, n_hidden,
                                lambda p: 0 <= p < 1, "a rate in [0, 1)", float)

    def _hidden_layer_sizes(self):
        return hidden_layer_sizes(self.hidden_layer_sizes)

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warn(f"batch_size={self.batch_size} is larger than the {n_samples} "
                 f"training samples; using batch_size={n_samples} (full batch).")
        return min(self.batch_size, n_samples)

    def _compute_dtype(self, xp=np, device=None):
        """dtype argument of validate_data in namespace ``xp`` (``_dispatch``)."""
        return compute_dtype(self.dtype, xp, device)

    # ------------------------------------------------------------------ predicting
    def _raw_output(self, X):
        """Output-layer values A_L and logits Z_L for validated X (no input checks)."""
        outputs, net_inputs = forward(
            X, self.coefs_, self.intercepts_, self._layer_activations(), keep=False)
        return outputs[-1], net_inputs[-1]

    def _validated_output(self, X, method):
        """(A_L, Z_L) for X after the fitted-state and input checks of ``method``;
        in X's namespace and on its device (the fitted weights' too)."""
        check_is_fitted(self)
        plain = plain_rows(self, X)
        if plain is not None:
            return self._raw_output(plain)
        check_features(X)
        self._check_namespace(X, method)
        xp, where = input_namespace(X)
        try:
            X = validate_data(self, X, accept_sparse="csr", reset=False,
                              dtype=self._compute_dtype(xp, where))
        except (ValueError, TypeError) as error:
            raise explained(error) from error
        if not is_numpy(xp):  # (NumPy mixes dtypes; the others compute in one)
            X = astype(X, self.coefs_[0].dtype)
        return self._raw_output(X)

    def _check_namespace(self, X, method):
        """Refuse X from another namespace or device than the fitted network's."""
        check_namespace(self, X, method)

    def _score_output(self, A, y, sample_weight):
        """Score (accuracy or R^2) of output-layer values A (any namespace) against
        targets y (on the host)."""
        return self._score_function(y, to_numpy(self._decode(A)),
                                    sample_weight=to_numpy(sample_weight))

    @property
    def history_(self):
        """One row per epoch (per iteration for lbfgs), as a pandas DataFrame:
        epoch, train_loss, val_loss and val_score (NaN without validation data),
        learning_rate (NaN for lbfgs) and seconds. Spans warm starts and
        partial_fit calls, like ``loss_curve_``."""
        if not hasattr(self, "_history"):
            raise AttributeError("history_ is set by fit or partial_fit.")
        return pd.DataFrame(self._history, columns=HISTORY_COLUMNS).astype({"epoch": int})
