"""What both estimators share: parameters, validation and the training loop.

Training is a short chain, each link a screenful:

    fit / partial_fit -> _fit            validate, encode targets, set up the network
        -> _fit_stochastic               epochs, stopping, best weights
            -> _run_epoch                one pass over the rows in batches
                -> _train_step           backprop on one batch, one optimizer update
                (or _row_updates         per-row SGD of a small network, _rowwise)
        -> _fit_lbfgs                    scipy's L-BFGS-B on the full-batch loss

The math lives in ``_network``, ``_losses``, ``_activations`` and ``_optimizers``
(and, on Python floats for small networks, ``_rowwise``); subclasses only encode
and decode targets.
"""

import math
import time
import warnings
from numbers import Integral, Real
from typing import ClassVar, NamedTuple

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, _fit_context, clone, is_classifier
from sklearn.callback import CallbackSupportMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import _check_partial_fit_first_call
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from . import _rowwise
from ._activations import HIDDEN_ACTIVATIONS
from ._init import INITIALIZERS, initialize
from ._losses import loss_value
from ._network import (
    forward,
    loss_and_gradients,
    make_workspace,
    network_units,
    pack,
    unpack,
)
from ._optimizers import (
    adam_init,
    adam_step,
    clip_gradient_norm,
    lbfgs_minimize,
    sgd_init,
    sgd_step,
)
from ._schedules import TIME_BASED
from ._validation import check_features, check_numeric_target, explained

STOCHASTIC_SOLVERS = ("sgd", "adam")
# An epoch loss this many times the worst loss seen before (normally the untrained
# network's) is a blow-up, even while it is finite.
DIVERGENCE_FACTOR = 1e4


class _Diverged(Exception):
    """Raised inside the training loop when the loss blows up."""


HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "val_score", "learning_rate",
                   "seconds")


class Validation(NamedTuple):
    """Validation data: inputs, encoded targets, raw targets, sample weights."""

    X: object
    Y: object
    y: object
    sample_weight: object


def _callback_metadata(sample_weight):
    """The metadata sklearn's callbacks receive with each task."""
    return {} if sample_weight is None else {"sample_weight": sample_weight}


def stochastic_solver(estimator):
    """``available_if`` guard of ``partial_fit``, shared by both estimators."""
    if estimator.solver not in STOCHASTIC_SOLVERS:
        raise AttributeError(
            f"partial_fit is only available for the stochastic solvers 'sgd' and "
            f"'adam', not solver={estimator.solver!r}."
        )
    return True


class BaseBackprop(CallbackSupportMixin, BaseEstimator):
    """Base class of BackpropRegressor and BackpropClassifier; not for direct use."""

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS)), list, tuple],
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
        "dtype": [StrOptions({"float32", "float64"}), None],
        "scoring": [StrOptions({"loss"}), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), list, tuple],
        "clip_norm": [Interval(Real, 0, None, closed="neither"), None],
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
        return tags

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
            Weights of the validation rows.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(
            X, y, sample_weight, incremental=False,
            validation_data=(X_val, y_val, sample_weight_val),
        )

    # ----------------------------------------------------------------- the network
    def _layer_activations(self):
        """Activation of every layer of weights, hidden layers first."""
        return self._hidden_activations + [self.out_activation_]

    @staticmethod
    def _per_hidden_layer(name, value, n_hidden, valid, allowed):
        """A parameter given once for all hidden layers or as a list with one entry
        per hidden layer, as that list; every entry must pass ``valid``."""
        values = list(value) if isinstance(value, (list, tuple)) else [value] * n_hidden
        if len(values) != n_hidden or not all(valid(v) for v in values):
            raise ValueError(
                f"{name} must be {allowed} or a list of them, one per hidden layer "
                f"({n_hidden} here); got {value!r}."
            )
        return values

    def _resolve_hidden_activations(self, n_hidden):
        return self._per_hidden_layer(
            "activation", self.activation, n_hidden,
            lambda a: a in HIDDEN_ACTIVATIONS, f"one of {HIDDEN_ACTIVATIONS}")

    def _resolve_dropout(self, n_hidden):
        rates = self._per_hidden_layer(
            "dropout", self.dropout, n_hidden, lambda p: 0 <= p < 1, "a rate in [0, 1)")
        return [float(p) for p in rates]

    def _dropout_masks(self, n_rows, rng, dtype):
        """Inverted-dropout masks, Bernoulli(1 - p) / (1 - p), on the input of every
        layer after a hidden one; None where there is no dropout."""
        if not any(self._dropout_rates):
            return None
        masks = [None]  # the network's inputs are never dropped
        for p, W in zip(self._dropout_rates, self.coefs_):
            keep = rng.random_sample((n_rows, W.shape[1])) >= p
            masks.append(None if p == 0 else (keep / (1 - p)).astype(dtype))
        return masks

    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not all(isinstance(s, Integral) and s > 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must hold positive integers, got {sizes}."
            )
        return sizes

    def _raw_output(self, X):
        """Output-layer values A_L and logits Z_L for validated X (no input checks)."""
        outputs, net_inputs = forward(
            X, self.coefs_, self.intercepts_, self._layer_activations(), keep=False
        )
        return outputs[-1], net_inputs[-1]

    def _compute_dtype(self):
        """dtype argument of validate_data: the ``dtype`` parameter, or (None) keep
        the input's float dtype as sklearn does."""
        return (np.float64, np.float32) if self.dtype is None else np.dtype(self.dtype)

    def _validated_output(self, X):
        """(A_L, Z_L) for X after the fitted-state and input checks of predict."""
        check_is_fitted(self)
        check_features(X)
        try:
            X = validate_data(
                self, X, accept_sparse="csr", dtype=self._compute_dtype(), reset=False
            )
        except (ValueError, TypeError) as error:
            raise explained(error) from error
        return self._raw_output(X)

    def _class_sample_weight(self, y, incremental):
        """Per-sample weights from ``class_weight`` (classifier only); None here."""
        return

    # --------------------------------------------------------------------- fitting
    def _fit(self, X, y, sample_weight, incremental, validation_data=None, epochs=1):
        if not (isinstance(epochs, Integral) and epochs >= 1):
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")
        if self.early_stopping and incremental:
            raise ValueError(
                "partial_fit does not support early_stopping=True: hold out "
                "validation data yourself, or call fit."
            )
        self._dropout_rates = self._resolve_dropout(len(self._hidden_layer_sizes()))
        if self.solver == "lbfgs" and any(self._dropout_rates):
            raise ValueError(
                "dropout makes the loss random, which breaks lbfgs's line search; use "
                "solver='adam' or 'sgd' with dropout, or set dropout=0."
            )
        first_pass = not self.__sklearn_is_fitted__() or not (
            self.warm_start or incremental
        )
        if first_pass:
            self._fit_completed = False
        self.diverged_ = False
        X, Y, y, sample_weight = self._fit_data(
            X, y, sample_weight, first_pass, incremental
        )
        layer_units = [X.shape[1], *self._hidden_layer_sizes(), Y.shape[1]]
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layer_units, X.dtype, rng, start_given=(
                hasattr(self, "coefs_") and (self.warm_start or incremental)
            ))
        else:
            dtype = self.coefs_[0].dtype
            self._check_start_weights(layer_units, dtype, copy=False)
            X, Y = X.astype(dtype, copy=False), Y.astype(dtype, copy=False)
        validation = self._validation_data(*validation_data) if validation_data else None
        if not (incremental or first_pass):  # a warm start: fresh stopping counters
            self._reset_monitor()

        # sklearn's callback protocol: a root task per fit, a subtask per epoch
        lbfgs = self.solver == "lbfgs"
        callbacks = self._init_callback_context(max_subtasks=(
            self.max_iter + 1 if lbfgs else (epochs if incremental else self.max_iter)
        ))
        metadata = _callback_metadata(sample_weight)
        callbacks.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
        if lbfgs:
            self._fit_lbfgs(X, Y, y, sample_weight, layer_units, rng, validation)
        else:
            self._fit_stochastic(
                X, Y, y, sample_weight, rng, incremental, first_pass, validation, epochs
            )

        if not self._weights_finite():
            self._end_on_best_weights("the weights became non-finite", diverged=True)
        self._fit_completed = True
        callbacks.call_on_fit_task_end(
            estimator=self, X=X, y=y, metadata=metadata, reconstruction_attributes={}
        )
        return self

    def _training_problem(self, X, y, sample_weight=None, classes=None):
        """What training differentiates, for the teaching tools: ``(model, X, Y,
        sample_weight)`` with the data validated and encoded as fit would, and
        ``model`` holding the weights: ``self`` if fitted, else a clone given the
        starting weights a fit would use (drawn, or with ``warm_start=True`` those
        assigned to ``coefs_`` and ``intercepts_``); ``self`` is left untouched.
        ``classes`` (classifiers) as in partial_fit: for rows that miss some."""
        if classes is not None and not is_classifier(self):
            raise ValueError("classes= is for classifiers; a regressor has no classes.")
        fitted = self.__sklearn_is_fitted__()
        model = self if fitted else clone(self)
        given = not fitted and self.warm_start and hasattr(self, "coefs_")
        if given:
            model.coefs_, model.intercepts_ = self.coefs_, self.intercepts_
        if not fitted and classes is not None:
            _check_partial_fit_first_call(model, classes)
        X, Y, _, sample_weight = model._fit_data(
            X, y, sample_weight, first_pass=not fitted,
            incremental=fitted or classes is not None)
        if not fitted:
            model._dropout_rates = model._resolve_dropout(len(model._hidden_layer_sizes()))
            layer_units = [X.shape[1], *model._hidden_layer_sizes(), Y.shape[1]]
            model._initialize(layer_units, X.dtype, check_random_state(model.random_state),
                              start_given=given)
        return model, X, Y, sample_weight

    def _begin_epoch_task(self, X, y, sample_weight):
        """Open an epoch's callback subtask (sklearn.callback protocol); None when
        no callback listens (the task tree is theirs alone)."""
        if not getattr(self._callback_fit_ctx, "_callbacks", True):
            return None
        task = self._callback_fit_ctx.subcontext(task_name="epoch")
        task.call_on_fit_task_begin(
            estimator=self, X=X, y=y, metadata=_callback_metadata(sample_weight))
        return task

    def _end_epoch_task(self, task, X, y, sample_weight):
        """Close an epoch's callback subtask; True when a callback asks to stop. The
        callbacks may score a copy of the network as it stands (``fitted_estimator``)."""
        if task is None:
            return False
        return task.call_on_fit_task_end(
            estimator=self, X=X, y=y, metadata=_callback_metadata(sample_weight),
            reconstruction_attributes=lambda: {
                "coefs_": [W.copy() for W in self.coefs_],
                "intercepts_": [b.copy() for b in self.intercepts_],
                "_fit_completed": True,
            },
        )

    def _fit_data(self, X, y, sample_weight, first_pass, incremental, validation=False):
        """Validated X, encoded targets Y (in X's dtype), raw y, and the sample
        weights with the class weights multiplied in. Validation data must match the
        training data's features and classes."""
        check_features(X)
        if not is_classifier(self):
            check_numeric_target(y)
        try:
            X, y = validate_data(
                self,
                X,
                y,
                accept_sparse="csr",
                multi_output=True,
                y_numeric=not is_classifier(self),
                dtype=self._compute_dtype(),
                reset=first_pass,
            )
            if sample_weight is not None:
                sample_weight = _check_sample_weight(
                    sample_weight, X, dtype=X.dtype, ensure_non_negative=True
                )
        except (ValueError, TypeError) as error:
            raise explained(error) from error
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = self._encode_targets(y, first_pass, incremental or validation)
        Y = Y.astype(X.dtype)
        class_weight = self._class_sample_weight(y, incremental and not validation)
        if class_weight is not None:
            class_weight = class_weight.astype(X.dtype)
            sample_weight = class_weight if sample_weight is None else (
                sample_weight * class_weight
            )
        return X, Y, y, sample_weight

    def _validation_data(self, X_val, y_val, sample_weight_val):
        """Validation data given to fit, checked against the training data."""
        if X_val is None and y_val is None:
            return None
        if X_val is None or y_val is None:
            raise ValueError("Pass X_val and y_val together (or neither).")
        X_val, Y_val, y_val, sw_val = self._fit_data(
            X_val, y_val, sample_weight_val, False, False, validation=True
        )
        dtype = self.coefs_[0].dtype
        return Validation(
            X_val.astype(dtype, copy=False), Y_val.astype(dtype, copy=False), y_val,
            sw_val,
        )

    def _initialize(self, layer_units, dtype, rng, start_given):
        """Set up a new network: fitted attributes, initial or user-given weights."""
        self.n_outputs_ = layer_units[-1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        self._hidden_activations = self._resolve_hidden_activations(len(layer_units) - 2)
        self.n_iter_ = 0
        self.t_ = 0
        if start_given:
            self._check_start_weights(layer_units, dtype, copy=True)
        else:
            if hasattr(self, "coefs_") and not hasattr(self, "loss_curve_"):
                warnings.warn(
                    "coefs_ were assigned before fitting but warm_start=False, so they "
                    "are ignored; set warm_start=True to start from them.",
                    UserWarning,
                )
            hidden = self._hidden_activations
            # Glorot's bound depends on the layer's activation; the output layer takes
            # the last hidden layer's, as sklearn does.
            init_activations = hidden + [hidden[-1] if hidden else self.activation]
            self.coefs_, self.intercepts_ = initialize(
                layer_units, self.weight_init, init_activations, rng, dtype
            )
        self.loss_curve_ = []
        self._history = {column: [] for column in HISTORY_COLUMNS}
        self.validation_scores_ = [] if self.early_stopping else None
        self._reset_monitor()

    def _check_start_weights(self, layer_units, dtype, copy):
        """Check (and cast to ``dtype``) the weights training will start from; with
        ``copy``, train on copies so the caller's arrays are never changed."""
        coefs = getattr(self, "coefs_", None)
        intercepts = getattr(self, "intercepts_", None)
        n_layers = len(layer_units) - 1
        if not isinstance(coefs, (list, tuple)) or not isinstance(
            intercepts, (list, tuple)
        ):
            raise TypeError(
                "To start from given weights, set coefs_ and intercepts_ to lists of "
                f"{n_layers} arrays each (one per layer)."
            )
        if len(coefs) != n_layers or len(intercepts) != n_layers:
            raise ValueError(
                f"The network has {n_layers} layers of weights (units per layer: "
                f"{layer_units}), but coefs_ has {len(coefs)} arrays and intercepts_ "
                f"{len(intercepts)}. Match hidden_layer_sizes to the given weights."
            )
        checked_coefs, checked_intercepts = [], []
        for layer, (W, b, fan_in, fan_out) in enumerate(
            zip(coefs, intercepts, layer_units[:-1], layer_units[1:])
        ):
            W, b = np.asarray(W), np.asarray(b)
            if W.shape != (fan_in, fan_out):
                raise ValueError(
                    f"coefs_[{layer}] (layer {layer} -> {layer + 1}) has shape "
                    f"{W.shape}; it must be ({fan_in}, {fan_out}) = (units in layer "
                    f"{layer}, units in layer {layer + 1})."
                )
            if b.shape != (fan_out,):
                raise ValueError(
                    f"intercepts_[{layer}] (layer {layer + 1}) has shape {b.shape}; it "
                    f"must be ({fan_out},), one bias per unit of layer {layer + 1}."
                )
            checked_coefs.append(np.array(W, dtype=dtype, order="C", copy=copy or None))
            checked_intercepts.append(np.array(b, dtype=dtype, copy=copy or None))
        self.coefs_, self.intercepts_ = checked_coefs, checked_intercepts

    # ------------------------------------------------------------ stochastic solvers
    def _fit_stochastic(
        self, X, Y, y, sample_weight, rng, incremental, first_pass, validation, epochs
    ):
        if not incremental or not hasattr(self, "_learning_rate"):
            self._learning_rate = float(self.learning_rate_init)
        if self.early_stopping and validation is None:
            X, Y, y, sample_weight, validation = self._validation_split(
                X, Y, y, sample_weight, rng
            )
        n_samples = X.shape[0]
        workspace = make_workspace(self.coefs_, self.intercepts_,
                                   self._layer_activations(), self._batch_size(n_samples))
        self.coefs_, self.intercepts_ = workspace.coefs, workspace.intercepts
        if first_pass or getattr(self, "_optimizer_solver", None) != self.solver:
            # warm_start and partial_fit keep the optimizer's moments
            init = sgd_init if self.solver == "sgd" else adam_init
            self._optimizer_state = init([workspace.params])
            self._optimizer_solver = self.solver
        if self._trains_row_by_row(X, workspace):  # see _row_updates
            workspace = workspace._replace(rows=(
                X.tolist(), Y.tolist(),
                None if sample_weight is None else sample_weight.tolist(),
                self._network_lists(workspace)))
        order = np.arange(n_samples)
        if not incremental:
            self.n_iter_ = 0
        try:
            for _ in range(epochs if incremental else self.max_iter):
                started = time.perf_counter()
                task = self._begin_epoch_task(X, y, sample_weight)
                learning_rate = self._learning_rate
                # the epoch's loss is measured before each update: it describes the
                # weights entering the epoch, which are the ones to keep if it is best
                entering = None if self._monitors_validation() else (
                    [W.copy() for W in self.coefs_], [b.copy() for b in self.intercepts_])
                if self.shuffle:
                    order = order[rng.permutation(n_samples)]
                loss = self._run_epoch(X, Y, sample_weight, order, rng, workspace)
                self._check_divergence(loss)
                self.t_ += n_samples
                plateau = self._end_epoch(
                    loss, validation, learning_rate, started, entering)
                self._schedule_learning_rate()
                if self._end_epoch_task(task, X, y, sample_weight):
                    break  # a callback asked to stop
                if plateau and self._stop_on_plateau():
                    break
            else:
                if not incremental:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                        "reached and the optimization hasn't converged yet. Increase "
                        "max_iter, or raise learning_rate_init.",
                        ConvergenceWarning,
                    )
        except _Diverged as blow_up:
            self._end_on_best_weights(str(blow_up), diverged=True)
        except KeyboardInterrupt:
            self._end_on_best_weights("training was interrupted by the user")
        else:
            self._restore_best()
            self._check_final_weights(X, Y, sample_weight)

    def _check_final_weights(self, X, Y, sample_weight, rows=1000):
        """The epoch losses are measured before each update, so a blow-up in the very
        last one would go unseen: score the final weights on (up to ``rows``)
        training rows, and treat a blow-up there like any other."""
        sw = None if sample_weight is None else sample_weight[:rows]
        with np.errstate(over="ignore", invalid="ignore"):
            A, Z = self._raw_output(X[:rows])
            loss = loss_value(self._loss_name(), Y[:rows], Z, A, sw)
        if self._blown_up(loss):
            self._end_on_best_weights(
                f"the final weights' training loss is {loss:.4g}", diverged=True
            )

    def _check_divergence(self, loss):
        """Raise _Diverged when the epoch's loss is not finite or has blown up by
        DIVERGENCE_FACTOR over the fit's loss scale (the worst epoch loss before
        this fit, or else its first batch's loss: the untrained network's). A fixed
        scale also catches gradual blow-ups. (Non-finite weights show in the next
        batch's loss, and _check_final_weights covers the last update.)"""
        if self._blown_up(loss):
            raise _Diverged(f"the training loss reached {loss:.4g}")

    def _blown_up(self, loss):
        """Not finite, or DIVERGENCE_FACTOR times the fit's loss scale (when known)."""
        return not math.isfinite(loss) or (
            self._loss_scale > 0 and loss > DIVERGENCE_FACTOR * self._loss_scale
        )

    def _weights_finite(self):
        return all(np.isfinite(p).all() for p in self.coefs_ + self.intercepts_)

    def _end_on_best_weights(self, what, diverged=False):
        """After a blow-up or an interrupt: keep the best weights seen (those of
        ``best_epoch_``; the starting weights if no epoch completed), so the model
        stays consistent and usable, and say what happened."""
        self._use_best_weights()
        kept = (f"the best weights seen (best_epoch_={self.best_epoch_})"
                if self.best_epoch_ else "the starting weights")
        message = (
            f"In epoch {self.n_iter_ + 1}, {what}. Kept {kept}; "
            f"n_iter_={self.n_iter_} counts the completed epochs."
        )
        if diverged:
            self.diverged_ = True
            lr = "" if self.solver == "lbfgs" else f" (now {self.learning_rate_init})"
            message += (
                f" Lower learning_rate_init{lr}, set clip_norm, or scale X and y "
                "(e.g. StandardScaler)."
            )
        warnings.warn(message, ConvergenceWarning if diverged else UserWarning)

    def _validation_split(self, X, Y, y, sample_weight, rng):
        """Hold out validation_fraction of the rows, stratified by class for
        single-label classification."""
        stratify = y if is_classifier(self) and y.ndim == 1 else None
        arrays = [X, Y, y] + ([sample_weight] if sample_weight is not None else [])
        try:
            parts = train_test_split(
                *arrays,
                random_state=rng,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
        except ValueError as error:
            raise ValueError(
                f"early_stopping could not hold out validation_fraction="
                f"{self.validation_fraction} of the {X.shape[0]} training samples: "
                f"{error}.\nFix: increase validation_fraction, pass X_val and y_val "
                "to fit, or set early_stopping=False."
            ) from error
        X_train, X_val, Y_train, Y_val, y_train, y_val = parts[:6]
        sw_train, sw_val = parts[6:] if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                f"The validation set has {X_val.shape[0]} sample(s); early stopping "
                "needs at least 2.\nFix: increase validation_fraction, provide more "
                "samples, or pass X_val and y_val."
            )
        validation = Validation(X_val, Y_val, y_val, sw_val)
        return X_train, Y_train, y_train, sw_train, validation

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the {n_samples} "
                f"training samples; using batch_size={n_samples} (full batch).",
                UserWarning,
            )
        return min(self.batch_size, n_samples)

    def _run_epoch(self, X, Y, sample_weight, order, rng, workspace):
        """One pass over the rows in ``order``, one update per batch (per row on the
        ``_rowwise`` path); returns the epoch's mean batch loss."""
        if workspace.rows is not None:
            updates = self._row_updates(order, workspace)
        else:
            updates = self._batch_updates(X, Y, sample_weight, order, rng, workspace)
        total = 0.0
        for weight, batch_loss in updates:
            if not math.isfinite(batch_loss):
                raise _Diverged(f"a batch's loss became {batch_loss}")
            if self._loss_scale == 0:  # the first batch: the untrained loss
                self._loss_scale = batch_loss
            total += weight * batch_loss
        return total / (X.shape[0] if sample_weight is None else sample_weight.sum())

    def _batch_updates(self, X, Y, sample_weight, order, rng, workspace):
        """Train on the rows in ``order`` in batches of ``workspace.batch_size``;
        yields each batch's (sample weight, loss)."""
        n_samples, batch_size = X.shape[0], workspace.batch_size
        for start in range(0, n_samples, batch_size):
            stop = min(start + batch_size, n_samples)
            sw = None if sample_weight is None else sample_weight[order[start:stop]]
            weight = (stop - start) if sw is None else sw.sum()
            if weight > 0:
                X_batch, Y_batch = self._batch(X, Y, order, start, stop, workspace)
                yield weight, self._train_step(X_batch, Y_batch, sw, rng, workspace)

    def _trains_row_by_row(self, X, workspace):
        """Per-row SGD of a small float64 network goes to ``_rowwise`` (Python
        floats: the same numbers, without NumPy's per-call overhead)."""
        return (
            workspace.batch_size == 1
            and self.solver == "sgd"
            and self.clip_norm is None
            and not any(self._dropout_rates)
            and X.dtype == np.float64
            and not issparse(X)
            and _rowwise.supports(network_units(self.coefs_), self._layer_activations(),
                                  self._loss_name())
        )

    def _network_lists(self, workspace):
        """[theta, velocity]: the flat parameter vector and its SGD velocities as
        lists, for ``_rowwise``; they stay the fit's working copy, written back to
        the arrays every epoch."""
        return [workspace.params.tolist(),
                self._optimizer_state["velocities"][0].tolist()]

    def _row_updates(self, order, workspace):
        """``_rowwise.sgd_rows`` on the network's lists (``workspace.rows``), written
        back to the arrays however the epoch ends (an interrupt too); returns each
        row's (sample weight, loss)."""
        X, Y, sample_weight, net = workspace.rows
        try:
            return _rowwise.sgd_rows(
                (X, Y, sample_weight), order.tolist(), net, network_units(self.coefs_),
                self._layer_activations(), self._loss_name(), self._learning_rate,
                self.momentum, self.nesterovs_momentum, self.alpha,
            )
        finally:
            workspace.params[:] = net[0]
            self._optimizer_state["velocities"][0][:] = net[1]

    def _batch(self, X, Y, order, start, stop, workspace):
        """Rows ``order[start:stop]`` of X and Y: views when the rows are visited in
        order, else gathered into the workspace (no array allocated per batch)."""
        if not self.shuffle:
            return X[start:stop], Y[start:stop]
        rows = order[start:stop]
        if issparse(X):
            return X[rows], Y[rows]
        n = stop - start
        # mode="clip" (the rows are valid) lets take write straight into ``out``
        return (np.take(X, rows, axis=0, out=workspace.X[:n], mode="clip"),
                np.take(Y, rows, axis=0, out=workspace.Y[:n], mode="clip"))

    def _train_step(self, X, Y, sample_weight, rng, workspace):
        """Backprop on one batch and one optimizer update; returns the batch loss
        (of the network thinned by dropout, which is what is differentiated)."""
        loss, _, _ = loss_and_gradients(
            X,
            Y,
            sample_weight,
            self.coefs_,
            self.intercepts_,
            self._layer_activations(),
            self._loss_name(),
            self.alpha,
            self._dropout_masks(X.shape[0], rng, Y.dtype),
            workspace,
        )
        # the gradients are views into workspace.grad: one flat array, as the params
        params, grads = [workspace.params], [workspace.grad]
        if self.clip_norm is not None:
            clip_gradient_norm(grads, self.clip_norm)
        if self.solver == "sgd":
            sgd_step(params, grads, self._optimizer_state, self._learning_rate,
                     self.momentum, self.nesterovs_momentum, [workspace.scratch])
        else:
            adam_step(params, grads, self._optimizer_state, self._learning_rate,
                      self.beta_1, self.beta_2, self.epsilon, [workspace.scratch])
        return loss

    def _schedule_learning_rate(self):
        """Set the next epoch's learning rate from a time-based schedule."""
        if self.learning_rate in TIME_BASED:
            self._learning_rate = TIME_BASED[self.learning_rate](
                self.learning_rate_init,
                self.n_iter_,
                self.t_,
                power_t=self.power_t,
                lr_step_epochs=self.lr_step_epochs,
                lr_decay=self.lr_decay,
                max_iter=self.max_iter,
            )

    def _stop_on_plateau(self):
        """After n_iter_no_change epochs without improvement: divide the learning
        rate by 5 ('adaptive', while above 1e-6) and go on, or stop (True)."""
        if self._monitors_validation():
            watched = f"Validation {self.scoring or 'score'}"
        else:
            watched = "Training loss"
        msg = (
            f"{watched} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )
        if self.learning_rate == "adaptive" and self._learning_rate > 1e-6:
            self._learning_rate /= 5.0
            self._no_improvement_count = 0
            if self.verbose:
                print(f"{msg} Setting learning rate to {self._learning_rate:f}")
            return False
        if self.verbose:
            print(f"{msg} Stopping.")
        return True

    # -------------------------------------------------- history and best weights
    def _reset_monitor(self):
        """Fresh stopping counters and best-so-far trackers for a new fit."""
        self._no_improvement_count = 0
        self._best_metric = -np.inf
        self._loss_scale = max(self.loss_curve_, default=0.0)
        self.best_epoch_ = None
        self._best_coefs = [W.copy() for W in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        monitored = self._monitors_validation()
        self.best_loss_ = None if monitored else np.inf
        self.best_validation_score_ = -np.inf if monitored else None
        self.best_validation_loss_ = np.inf if monitored else None

    def _monitors_validation(self):
        return self.early_stopping

    def _evaluate(self, validation):
        """(loss, score) of the current network on the validation data: the loss
        without the L2 term, the score as ``score`` (accuracy or R^2)."""
        if validation is None:
            return np.nan, np.nan
        A, Z = self._raw_output(validation.X)
        loss = loss_value(self._loss_name(), validation.Y, Z, A, validation.sample_weight)
        return loss, self._score_output(A, validation.y, validation.sample_weight)

    def _end_epoch(self, loss, validation, learning_rate, started, weights=None):
        """Record a finished epoch (or lbfgs iteration) in loss_curve_, history_ and
        the validation attributes, and keep the best weights. Returns True when the
        monitored quantity has not improved by tol for n_iter_no_change epochs: the
        validation score or loss with early stopping, else the training loss
        (stochastic solvers only). ``weights``, if given, are those the loss
        describes (else the current ones)."""
        self.n_iter_ += 1
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
        val_loss, val_score = self._evaluate(validation)
        if validation is not None:
            if self.validation_scores_ is None:
                self.validation_scores_ = []
            self.validation_scores_.append(val_score)
            if self.verbose:
                print(f"Validation score: {val_score:f}")
        for column, value in zip(HISTORY_COLUMNS, (
            self.n_iter_, loss, val_loss, val_score, learning_rate,
            time.perf_counter() - started,
        )):
            self._history[column].append(float(value))

        monitored = self._monitors_validation()
        if monitored:
            self.best_validation_score_ = max(self.best_validation_score_, val_score)
            self.best_validation_loss_ = min(self.best_validation_loss_, val_loss)
            metric = -val_loss if self.scoring == "loss" else val_score
        else:
            metric = -loss
        improved = not metric < self._best_metric + self.tol
        if metric > self._best_metric:
            self._best_metric = metric
            self.best_epoch_ = self.n_iter_
            # kept for early stopping, and to fall back on after a blow-up
            if weights is None:
                weights = ([W.copy() for W in self.coefs_],
                           [b.copy() for b in self.intercepts_])
            self._best_coefs, self._best_intercepts = weights
        if not monitored:
            self.best_loss_ = -self._best_metric
            if self.solver == "lbfgs":
                return False  # lbfgs stops by its own criteria unless watching data
        self._no_improvement_count = 0 if improved else self._no_improvement_count + 1
        return self._no_improvement_count > self.n_iter_no_change

    def _restore_best(self):
        """With early stopping, end on the best epoch's weights, whether or not
        training stopped early."""
        if self._monitors_validation():
            self._use_best_weights()

    def _use_best_weights(self):
        """Make the best snapshot the model's weights (copies: the snapshot stays)."""
        self.coefs_ = [W.copy() for W in self._best_coefs]
        self.intercepts_ = [b.copy() for b in self._best_intercepts]

    def _score_output(self, A, y, sample_weight):
        """Score (accuracy or R^2) of output-layer values A against targets y."""
        if not np.isfinite(A).all():
            return np.nan
        return self._score_function(y, self._decode(A), sample_weight=sample_weight)

    @property
    def history_(self):
        """One row per epoch (per iteration for lbfgs), as a pandas DataFrame:
        epoch, train_loss, val_loss and val_score (NaN without validation data),
        learning_rate (NaN for lbfgs) and seconds. Spans warm starts and
        partial_fit calls, like ``loss_curve_``."""
        if not hasattr(self, "_history"):
            raise AttributeError("history_ is set by fit or partial_fit.")
        return pd.DataFrame(self._history, columns=HISTORY_COLUMNS).astype({"epoch": int})

    # ------------------------------------------------------------------- L-BFGS
    def _fit_lbfgs(self, X, Y, y, sample_weight, layer_units, rng, validation):
        if self.early_stopping and validation is None:
            X, Y, y, sample_weight, validation = self._validation_split(
                X, Y, y, sample_weight, rng
            )
        activations = self._layer_activations()
        loss = self._loss_name()
        self.n_iter_ = 0
        started = time.perf_counter()
        task = self._begin_epoch_task(X, y, sample_weight)

        def loss_and_gradient(theta):
            coefs, intercepts = unpack(theta, layer_units)
            value, coef_grads, intercept_grads = loss_and_gradients(
                X, Y, sample_weight, coefs, intercepts, activations, loss, self.alpha
            )
            return value, pack(coef_grads, intercept_grads)

        def after_iteration(theta, value):
            nonlocal started, task
            coefs, intercepts = unpack(theta.astype(X.dtype), layer_units)
            self.coefs_ = [W.copy() for W in coefs]
            self.intercepts_ = [b.copy() for b in intercepts]
            # the loss is the new iterate's; its fresh copies can be the snapshot
            plateau = self._end_epoch(float(value), validation, np.nan, started,
                                      (self.coefs_, self.intercepts_))
            stop = self._end_epoch_task(task, X, y, sample_weight) or plateau
            started = time.perf_counter()
            task = self._begin_epoch_task(X, y, sample_weight)  # the next iteration's
            if stop:
                raise StopIteration  # scipy ends the minimisation here

        try:
            result = lbfgs_minimize(
                loss_and_gradient,
                pack(self.coefs_, self.intercepts_).astype(np.float64),
                self.max_iter,
                self.max_fun,
                self.tol,
                after_iteration,
            )
        except KeyboardInterrupt:
            # the weights are those of the last completed iteration (after_iteration)
            self._end_on_best_weights("training was interrupted by the user")
            return
        # scipy opened no iteration after the last callback: close its task empty
        if task is not None:
            task.call_on_fit_task_end(estimator=self)
        stopped_early = result.status == 99  # StopIteration from a callback or us
        if result.status != 0 and not stopped_early:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iterations "
                f"(status={result.status}): {result.message}. Increase max_iter or "
                "max_fun, or scale the data (e.g. StandardScaler).",
                ConvergenceWarning,
            )
        coefs, intercepts = unpack(result.x.astype(X.dtype), layer_units)
        self.coefs_ = [W.copy() for W in coefs]
        self.intercepts_ = [b.copy() for b in intercepts]
        self.loss_ = float(result.fun)
        if not self._monitors_validation():
            self.best_loss_ = min([self.loss_, *self.loss_curve_])
        self._restore_best()
