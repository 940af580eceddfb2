"""What both estimators share: parameters, sklearn glue, and the short ``_fit``.

A fit reads top to bottom in ``_fit``:

    prepare       check the inputs (_inputs), resolve a frozen Spec (_engine.spec),
                  choose the starting weights (_engine.start): the estimator is
                  read, not changed                                  (_prepare)
    Training      split, monitor, guard and solver (_engine.loop, .steps, .lbfgs),
                  on the spec alone                          (_engine.training)
    finish        train, store the new fitted state as one record in one
                  assignment (_engine.fitted), give the warnings
                                                             (_engine.training)

What a subclass provides (and nothing here branches on which one it is): the
targets' kind and encoding (``_y_numeric``, ``_check_target_kind``,
``_given_targets``, ``_encode_targets``, ``_decoder``), the loss and output
activation (``_loss_name``, ``_output_activation``), the score
(``_score_function``) and, optionally, class weights, stratification, fitted
attributes of its own and layers of other kinds (``_class_sample_weight``,
``_stratify``, ``_fitted_schema``, ``_network_layers``).
"""

from numbers import Integral
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, _fit_context
from sklearn.callback import CallbackSupportMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._architecture import Architecture
from ._core.xp import (
    astype,
    input_namespace,
    is_numpy,
)
from ._dispatch import check_namespace, compute_dtype, converted
from ._engine.callbacks import EpochTasks, callback_metadata, end_fit_task
from ._engine.fitted import MARKER
from ._engine.monitor import HISTORY_COLUMNS
from ._engine.start import network_output
from ._engine.training import Training, finish
from ._inputs import feature_state, given_validation
from ._params import (
    PARAMETER_CONSTRAINTS,
    check_call,
    param_names,
    parameters_valid,
    stochastic_solver,
)
from ._prepare import prepare, random_state, scorer
from ._validation import check_features, explained, plain_rows

__all__ = ["BaseBackprop", "stochastic_solver"]

class BaseBackprop(CallbackSupportMixin, Architecture, BaseEstimator):
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
        weight_decay=0.0,
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
        self.weight_decay = weight_decay

    # ------------------------------------------------------------------ sklearn glue
    def __sklearn_is_fitted__(self):
        # Fitted means a fit completed: coefs_ alone may be weights a user assigned
        # to start from, and a fit that raised leaves no model to predict with.
        return vars(self).get(MARKER, False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags

    @classmethod
    def _get_param_names(cls):
        # (sklearn's reads __init__'s signature on every get_params, clone and fit)
        return param_names(cls)

    def _validate_params(self):
        # sklearn's check, whose constraint objects are made once (``_params``); on
        # a parameter that fails it, sklearn's own raises its error
        if not parameters_valid(self._parameter_constraints, self.get_params(deep=False)):
            super()._validate_params()

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
    _fitted_schema: ClassVar[dict] = {}  # fitted attributes of its own (_engine.fitted)
    _score_function: ClassVar  # score(y_true, y_pred, sample_weight=None)

    def _check_target_kind(self, y):
        """Refuse targets of the wrong kind before validation, with a fix."""

    def _given_targets(self, classes, previous, incremental):
        """The target state a call starts from: a continued model's (``previous``),
        or what partial_fit's ``classes=`` says (classifiers)."""
        if classes is not None:
            raise ValueError("classes= is for classifiers; a regressor has no classes.")
        return {}

    def _encode_targets(self, y, targets, reset, incremental):
        """``(Y, targets)``: the network's targets Y (n_samples, n_outputs) for
        validated y, and the target state (learnt from y when ``reset``, else
        ``targets``, which y is checked against)."""
        raise NotImplementedError

    def _decoder(self, targets=None):
        """A function from output-layer values A to predictions, for the target
        state ``targets`` (the fitted one if None)."""
        raise NotImplementedError

    def _loss_name(self, targets=None):
        raise NotImplementedError

    def _output_activation(self, targets=None):
        raise NotImplementedError

    def _class_sample_weight(self, y, incremental):
        """Per-sample weights from class weights (classifiers); None here."""

    def _stratify(self, y):
        """Labels to stratify the validation split by (classifiers); None here."""

    # --------------------------------------------------------------------- fitting
    def _fit(self, X, y, sample_weight, incremental, validation_data=(None,) * 3,
             epochs=1, classes=None):
        check_call(self, incremental, epochs)
        rng = random_state(self.random_state)
        p = prepare(self, X, y, sample_weight, incremental=incremental, rng=rng,
                    classes=classes)
        validation = given_validation(self, validation_data, p.data.Y,
                                      feature_state(self, p.fixed),
                                      p.targets)
        spec = p.spec
        callbacks = self._init_callback_context(max_subtasks=(
            spec.max_iter + 1 if not spec.stochastic
            else (epochs if incremental else spec.max_iter)))
        metadata = callback_metadata(p.data.sample_weight)
        callbacks.call_on_fit_task_begin(estimator=self, X=p.data.X, y=p.data.y,
                                         metadata=metadata)
        training = Training(
            p.spec, p.data, validation, p.weights, rng, previous=p.previous,
            tasks=EpochTasks(callbacks, self, p.data, p.fixed, p.spec.layers),
            score=scorer(self._score_function, self._decoder(p.targets)),
            stratify=self._stratify(p.data.y), incremental=incremental,
            owns_rng=isinstance(self.random_state, Integral))
        return finish(self, training, p.fixed, epochs,
                      lambda warnings: end_fit_task(callbacks, self, p.data, warnings))

    def _compute_dtype(self, xp=np, device=None):
        """dtype argument of validate_data in namespace ``xp`` (``_dispatch``)."""
        return compute_dtype(self.dtype, xp, device)

    # ------------------------------------------------------------------ predicting
    def _raw_output(self, X):
        """Output-layer values A_L and logits Z_L for validated X (no input checks)."""
        return network_output(*self._fitted_network(), X)

    def _validated_output(self, X, method):
        """(A_L, Z_L) for X after the fitted-state and input checks of ``method``;
        in X's namespace and on its device (the fitted weights' too)."""
        if not self.__sklearn_is_fitted__():  # (what sklearn's check would read)
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

    def _decode(self, A):
        """Predictions from output-layer values A."""
        return self._decoder()(A)

    @property
    def history_(self):
        """One row per epoch (per iteration for lbfgs), as a pandas DataFrame:
        epoch, train_loss, val_loss and val_score (NaN without validation data),
        learning_rate (NaN for lbfgs) and seconds (where many per-row epochs are
        trained in one compiled call, each gets an equal share of its time). Spans
        warm starts and partial_fit calls, like ``loss_curve_``."""
        if not hasattr(self, "_history"):
            raise AttributeError("history_ is set by fit or partial_fit.")
        return pd.DataFrame(self._history, columns=HISTORY_COLUMNS).astype({"epoch": int})
