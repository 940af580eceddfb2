"""What both estimators share: parameters, validation and the training loop.

Training is a short chain, each link a screenful:

    fit / partial_fit -> _fit            validate, encode targets, set up the network
        -> _fit_stochastic               epochs, stopping, best weights
            -> _run_epoch                one pass over the rows in batches
                -> _train_step           backprop on one batch, one optimizer update
        -> _fit_lbfgs                    scipy's L-BFGS-B on the full-batch loss

The math lives in ``_network``, ``_losses``, ``_activations`` and ``_optimizers``;
subclasses only encode and decode targets.
"""

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._activations import HIDDEN_ACTIVATIONS
from ._init import INITIALIZERS, initialize
from ._network import forward, loss_and_gradients, pack, unpack
from ._optimizers import adam_init, adam_step, lbfgs_minimize, sgd_init, sgd_step

STOCHASTIC_SOLVERS = ("sgd", "adam")


def stochastic_solver(estimator):
    """``available_if`` guard of ``partial_fit``, shared by both estimators."""
    if estimator.solver not in STOCHASTIC_SOLVERS:
        raise AttributeError(
            f"partial_fit is only available for the stochastic solvers 'sgd' and "
            f"'adam', not solver={estimator.solver!r}."
        )
    return True


class BaseBackprop(BaseEstimator):
    """Base class of BackpropRegressor and BackpropClassifier; not for direct use."""

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS)), list, tuple],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
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
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: real numbers (regression) or class labels (classification).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; weight k counts as the row repeated k times.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    # ----------------------------------------------------------------- the network
    def _layer_activations(self):
        """Activation of every layer of weights, hidden layers first."""
        return self._hidden_activations + [self.out_activation_]

    def _resolve_hidden_activations(self, n_hidden):
        """``activation`` as one name per hidden layer (a name applies to all)."""
        if isinstance(self.activation, str):
            return [self.activation] * n_hidden
        names = list(self.activation)
        unknown = [a for a in names if a not in HIDDEN_ACTIVATIONS]
        if unknown or len(names) != n_hidden:
            raise ValueError(
                f"activation must be one of {HIDDEN_ACTIVATIONS} or a list of them, "
                f"one per hidden layer ({n_hidden} here); got {self.activation!r}."
            )
        return names

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
        X = validate_data(
            self, X, accept_sparse="csr", dtype=self._compute_dtype(), reset=False
        )
        return self._raw_output(X)

    def _class_sample_weight(self, y, incremental):
        """Per-sample weights from ``class_weight`` (classifier only); None here."""
        return None

    # --------------------------------------------------------------------- fitting
    def _fit(self, X, y, sample_weight, incremental):
        if self.early_stopping and incremental:
            raise ValueError(
                "partial_fit does not support early_stopping=True: hold out "
                "validation data yourself, or call fit."
            )
        first_pass = not self.__sklearn_is_fitted__() or not (
            self.warm_start or incremental
        )
        if first_pass:
            self._fit_completed = False
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
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        Y = self._encode_targets(y, first_pass, incremental).astype(X.dtype)
        class_weight = self._class_sample_weight(y, incremental)
        if class_weight is not None:
            class_weight = class_weight.astype(X.dtype)
            sample_weight = class_weight if sample_weight is None else (
                sample_weight * class_weight
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

        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight, layer_units)
        else:
            self._fit_stochastic(X, Y, y, sample_weight, rng, incremental)

        if not all(np.isfinite(p).all() for p in self.coefs_ + self.intercepts_):
            raise ValueError(
                "Training produced non-finite weights: the loss diverged. Lower "
                "learning_rate_init, or scale X and y (e.g. StandardScaler)."
            )
        self._fit_completed = True
        return self

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
        self._no_improvement_count = 0
        self._best_coefs = [W.copy() for W in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        use_validation = self.early_stopping and self.solver in STOCHASTIC_SOLVERS
        self.best_loss_ = None if use_validation else np.inf
        self.validation_scores_ = [] if use_validation else None
        self.best_validation_score_ = -np.inf if use_validation else None

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
    def _fit_stochastic(self, X, Y, y, sample_weight, rng, incremental):
        if not incremental or getattr(self, "_optimizer_solver", None) != self.solver:
            init = sgd_init if self.solver == "sgd" else adam_init
            self._optimizer_state = init(self.coefs_ + self.intercepts_)
            self._optimizer_solver = self.solver
            self._learning_rate = float(self.learning_rate_init)

        X_val = y_val = sw_val = None
        if self.early_stopping:
            X, Y, X_val, y_val, sample_weight, sw_val = self._validation_split(
                X, Y, y, sample_weight, rng
            )
        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        order = np.arange(n_samples)
        if not incremental:
            self.n_iter_ = 0
        try:
            for _ in range(1 if incremental else self.max_iter):
                if self.shuffle:
                    order = order[rng.permutation(n_samples)]
                self.loss_ = self._run_epoch(X, Y, sample_weight, order, batch_size)
                self.n_iter_ += 1
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                if self._end_epoch(X_val, y_val, sw_val):
                    break
            else:
                if not incremental:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                        "reached and the optimization hasn't converged yet. Increase "
                        "max_iter, or raise learning_rate_init.",
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn(
                f"Training interrupted by user after {self.n_iter_} epochs.",
                UserWarning,
            )
        if self.early_stopping:
            self.coefs_ = self._best_coefs
            self.intercepts_ = self._best_intercepts

    def _validation_split(self, X, Y, y, sample_weight, rng):
        """Hold out validation_fraction of the rows, stratified by class for
        single-label classification."""
        stratify = y if is_classifier(self) and y.ndim == 1 else None
        arrays = [X, Y, y] + ([sample_weight] if sample_weight is not None else [])
        parts = train_test_split(
            *arrays,
            random_state=rng,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        X_train, X_val, Y_train, _, _, y_val = parts[:6]
        sw_train, sw_val = parts[6:] if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                f"The validation set has {X_val.shape[0]} sample(s); early stopping "
                "needs at least 2. Increase validation_fraction or provide more "
                "samples."
            )
        return X_train, Y_train, X_val, y_val, sw_train, sw_val

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

    def _run_epoch(self, X, Y, sample_weight, order, batch_size):
        """One pass over the rows in ``order``; returns the epoch's mean batch loss."""
        n_samples = X.shape[0]
        total = 0.0
        for start in range(0, n_samples, batch_size):
            if self.shuffle:
                rows = order[start : start + batch_size]
            else:
                rows = slice(start, start + batch_size)
            sw = None if sample_weight is None else sample_weight[rows]
            weight = (min(start + batch_size, n_samples) - start) if sw is None else sw.sum()
            if weight > 0:
                total += weight * self._train_step(X[rows], Y[rows], sw)
        return total / (n_samples if sample_weight is None else sample_weight.sum())

    def _train_step(self, X, Y, sample_weight):
        """Backprop on one batch and one optimizer update; returns the batch loss."""
        loss, coef_grads, intercept_grads = loss_and_gradients(
            X,
            Y,
            sample_weight,
            self.coefs_,
            self.intercepts_,
            self._layer_activations(),
            self._loss_name(),
            self.alpha,
        )
        params = self.coefs_ + self.intercepts_
        grads = coef_grads + intercept_grads
        if self.solver == "sgd":
            sgd_step(
                params,
                grads,
                self._optimizer_state,
                self._learning_rate,
                self.momentum,
                self.nesterovs_momentum,
            )
        else:
            adam_step(
                params,
                grads,
                self._optimizer_state,
                self._learning_rate,
                self.beta_1,
                self.beta_2,
                self.epsilon,
            )
        return loss

    def _end_epoch(self, X_val, y_val, sw_val):
        """After an epoch: track improvement and the best weights, apply the
        learning-rate schedule. Returns True when training should stop."""
        if X_val is not None:
            score = self._score_output(self._raw_output(X_val)[0], y_val, sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            improved = not score < self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_coefs = [W.copy() for W in self.coefs_]
                self._best_intercepts = [b.copy() for b in self.intercepts_]
        else:
            improved = not self.loss_ > self.best_loss_ - self.tol
            self.best_loss_ = min(self.best_loss_, self.loss_)
        self._no_improvement_count = 0 if improved else self._no_improvement_count + 1

        schedule = self.learning_rate if self.solver == "sgd" else "constant"
        if schedule == "invscaling":
            self._learning_rate = self.learning_rate_init / (self.t_ + 1) ** self.power_t
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score" if X_val is not None else "Training loss"
        msg = (
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )
        if schedule == "adaptive" and self._learning_rate > 1e-6:
            self._learning_rate /= 5.0
            self._no_improvement_count = 0
            if self.verbose:
                print(f"{msg} Setting learning rate to {self._learning_rate:f}")
            return False
        if self.verbose:
            print(f"{msg} Stopping.")
        return True

    def _score_output(self, A, y, sample_weight):
        """Score (accuracy or R^2) of output-layer values A against targets y."""
        if not np.isfinite(A).all():
            return np.nan
        return self._score_function(y, self._decode(A), sample_weight=sample_weight)

    # ------------------------------------------------------------------- L-BFGS
    def _fit_lbfgs(self, X, Y, sample_weight, layer_units):
        activations = self._layer_activations()
        loss = self._loss_name()

        def loss_and_gradient(theta):
            coefs, intercepts = unpack(theta, layer_units)
            value, coef_grads, intercept_grads = loss_and_gradients(
                X, Y, sample_weight, coefs, intercepts, activations, loss, self.alpha
            )
            return value, pack(coef_grads, intercept_grads)

        def after_iteration(theta, value):
            self.loss_curve_.append(float(value))
            if self.verbose:
                print(f"Iteration {len(self.loss_curve_)}, loss = {value:.8f}")

        result = lbfgs_minimize(
            loss_and_gradient,
            pack(self.coefs_, self.intercepts_).astype(np.float64),
            self.max_iter,
            self.max_fun,
            self.tol,
            after_iteration,
        )
        self.n_iter_ = min(int(result.nit), self.max_iter)
        if result.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iterations "
                f"(status={result.status}): {result.message}. Increase max_iter or "
                "max_fun, or scale the data (e.g. StandardScaler).",
                ConvergenceWarning,
            )
        self.loss_ = float(result.fun)
        self.best_loss_ = min([self.loss_, *self.loss_curve_])
        coefs, intercepts = unpack(result.x.astype(X.dtype), layer_units)
        self.coefs_ = [W.copy() for W in coefs]
        self.intercepts_ = [b.copy() for b in intercepts]
