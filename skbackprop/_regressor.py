"""BackpropRegressor: the base network with real-valued outputs."""

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn import get_config
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from ._base import BaseBackprop, stochastic_solver
from ._core.activations import OUTPUT_NAMES  # (live: see _core.activations.register)
from ._core.losses import get_loss, huber
from ._core.xp import flat
from ._docs import COMMON_ATTRIBUTES, COMMON_PARAMETERS, HIDDEN_PARAMETERS
from ._validation import check_numeric_target

__all__ = ["BackpropRegressor", "decode_values", "r2"]


def decode_values(A):
    """Predictions from output-layer values A: one column as a 1-D array."""
    return flat(A) if A.shape[1] == 1 else A


def r2(y_true, y_pred, sample_weight=None):
    """``r2_score(y_true, y_pred, sample_weight=sample_weight)``, the score early
    stopping watches every epoch: for plain float64 ndarrays (``_plain_targets``)
    the arithmetic r2_score does after its checks (which cost more than an epoch
    of a small network), step for step on the same shapes, so the same bits; else
    ``r2_score`` itself."""
    if not _plain_targets(y_true, y_pred, sample_weight):
        return r2_score(y_true, y_pred, sample_weight=sample_weight)
    if y_true.ndim == 1:
        y_true, y_pred = y_true.reshape(-1, 1), y_pred.reshape(-1, 1)
    weight = 1.0 if sample_weight is None else sample_weight[:, None]
    numerator = np.sum(weight * (y_true - y_pred) ** 2, axis=0)
    mean = np.asarray(np.average(y_true, axis=0, weights=sample_weight))
    denominator = np.sum(weight * (y_true - mean) ** 2, axis=0)
    nonzero_denominator, nonzero_numerator = denominator != 0, numerator != 0
    # (force_finite: 1 for a perfect fit, 0 for an imperfect one of constant y)
    scores = np.ones([y_true.shape[1]], dtype=numerator.dtype)
    valid = nonzero_denominator & nonzero_numerator
    scores[valid] = 1 - (numerator[valid] / denominator[valid])
    scores[nonzero_numerator & ~nonzero_denominator] = 0.0
    return float(np.asarray(np.average(scores)))  # ('uniform_average')


def _plain_targets(y_true, y_pred, sample_weight):
    """Whether r2_score's checks would pass these through unchanged: float64
    ndarrays of one shape, 1-D or 2-D, of at least 2 finite rows; weights None or a
    C-ordered float64 ndarray of one finite number per row."""
    if not (type(y_true) is np.ndarray and type(y_pred) is np.ndarray
            and y_true.dtype == y_pred.dtype == np.float64 and y_true.ndim in (1, 2)
            and y_pred.shape == y_true.shape and y_true.shape[0] >= 2 and y_true.size
            and not get_config()["array_api_dispatch"]):
        return False
    arrays = (y_true, y_pred)
    if sample_weight is not None:
        if not (type(sample_weight) is np.ndarray and sample_weight.dtype == np.float64
                and sample_weight.shape == y_true.shape[:1]
                and sample_weight.flags.c_contiguous):
            return False
        arrays += (sample_weight,)
    with np.errstate(over="ignore", invalid="ignore"):
        return all(np.isfinite(np.add.reduce(a, axis=None)) for a in arrays)


class BackpropRegressor(RegressorMixin, BaseBackprop):
    __doc__ = f"""Multi-layer perceptron regressor trained by hand-written backpropagation.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor` (same parameters,
    defaults and fitted attributes) whose forward pass, backward pass and optimizers
    are plain NumPy functions in ``skbackprop``'s math core.

    Parameters
    ----------
    loss : {{'squared_error', 'poisson', 'huber', 'absolute_error'}}, \
default='squared_error'
        'squared_error': L = 1/2 * mean over samples of sum over outputs of
        (y - y_hat)^2 (for several outputs this is n_outputs times the value
        sklearn's MLPRegressor reports, whose gradient is this function's).
        'poisson': half the Poisson deviance, with an exp output; y must be >= 0.
        'huber': r^2 / 2 for residuals ``|r| <= huber_delta``, linear beyond (robust to
        outliers). 'absolute_error': ``|r|`` (fits the conditional median).

    {HIDDEN_PARAMETERS}

    {COMMON_PARAMETERS}

    out_activation : {{'identity', 'logistic', 'tanh', 'relu', 'exp'}} or None, \
default=None
        Activation of the output units. None picks the loss's canonical link:
        'identity' for squared_error, 'exp' for poisson (as sklearn). 'logistic'
        with squared_error gives the textbook sigmoid-output network; poisson
        needs 'exp'.

    huber_delta : float, default=1.0
        Residual size where loss='huber' turns from quadratic to linear.

    Attributes
    ----------
    {COMMON_ATTRIBUTES}

    See Also
    --------
    BackpropClassifier : The same network for classification.
    sklearn.neural_network.MLPRegressor : The estimator this one replaces.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skbackprop import BackpropRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=0)
    >>> y = y / 100  # targets of order 1 train best
    >>> reg = BackpropRegressor(hidden_layer_sizes=(20,), solver="lbfgs",
    ...                         max_iter=2000, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> round(reg.score(X, y), 2)
    1.0
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseBackprop._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "huber", "absolute_error"})],
        "out_activation": [StrOptions(OUTPUT_NAMES), None],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        loss="squared_error",
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
        out_activation=None,
        huber_delta=1.0,
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
        self.loss = loss
        self.out_activation = out_activation
        self.huber_delta = huber_delta

    _score_function = staticmethod(r2)  # (r2_score's value)
    _y_numeric = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _check_target_kind(self, y):
        check_numeric_target(y)

    def _loss_name(self, targets=None):
        return huber(self.huber_delta) if self.loss == "huber" else self.loss

    def _output_activation(self, targets=None):
        link = get_loss(self.loss).link or "identity"
        if self.out_activation is None:
            return link
        if self.loss == "poisson" and self.out_activation != link:
            raise ValueError(
                f"loss='poisson' needs out_activation='exp' (or None), got "
                f"{self.out_activation!r}."
            )
        return self.out_activation

    def _encode_targets(self, y, targets, reset, incremental):
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "loss='poisson' needs non-negative targets y (counts or rates); y has "
                "negative values.\nFix: use loss='squared_error', or shift y to be "
                ">= 0."
            )
        return y.reshape(len(y), -1), {}

    def _decoder(self, targets=None):
        return decode_values

    def predict(self, X):
        """Predict with the fitted network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        """
        return self._decode(self._validated_output(X, "predict")[0])

    @available_if(stochastic_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, epochs=1):
        """Update the network with ``epochs`` epochs over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        epochs : int, default=1
            Passes over this data; each adds one to ``n_iter_``.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, epochs=epochs)
