"""The frozen spec: what one fit trains and how, resolved once from the parameters.

``fit`` and ``partial_fit`` validate the estimator's parameters, then resolve them,
with the data's widths and the fitted network a call continues, into one immutable
``Spec``. Every part of the engine (the starting network, the loop, the step, the
lbfgs driver, the monitor, the schedules) takes the spec and its own inputs, never
the estimator: the spec is the whole of what they read. A callback that calls
``set_params`` during a fit changes the estimator's parameters for the next call
only; the running fit goes on with the spec it started with. The configuration
(``skbackprop.config_context``: fast kernels and their threshold, the
per-row limit) is read into the
spec too, once per call. The training ingredients beyond sklearn's MLP
(``weight_decay``, ``label_smoothing``) are read from the estimator where it has
them (a regressor takes no ``label_smoothing``), else take their defaults, which
change nothing.
"""

from dataclasses import dataclass
from math import inf
from numbers import Real
from typing import Any

from .._warnings import warn
from .start import Model

__all__ = ["Spec", "batch_rows"]


@dataclass(frozen=True, slots=True)
class Spec:
    """The resolved settings of one call of fit or partial_fit."""

    # the network: its inputs' width and its layers (``_core.layers``, the output
    # layer last), the loss, the L2 penalty, one dropout rate per layer but the
    # last, the compute dtype and how its starting weights are drawn
    n_features: int
    layers: tuple
    loss: Any  # a loss name, or a Loss (e.g. huber(delta))
    alpha: float
    dropout: tuple
    dtype: Any
    weight_init: Any
    # the solver and its settings
    solver: str
    batch_size: Any  # 'auto' or an int (``batch_rows`` resolves it for the rows)
    shuffle: bool
    momentum: float
    nesterovs_momentum: bool
    beta_1: float
    beta_2: float
    epsilon: float
    clip_norm: float | None
    max_fun: int
    # the learning-rate schedule
    learning_rate: str
    learning_rate_init: float
    power_t: float
    lr_step_epochs: int
    lr_decay: float
    # when to stop, and what is watched
    max_iter: int
    tol: float
    n_iter_no_change: float
    early_stopping: bool
    validation_fraction: float
    scoring: str | None
    verbose: bool
    # the training ingredients beyond sklearn's MLP (parameters of the estimators
    # that take them): their defaults train as sklearn's MLP
    weight_decay: float = 0.0  # decoupled (AdamW), on each layer's ``decayed``
    label_smoothing: float = 0.0  # of the log losses (``loss`` holds it applied)
    # the configuration in force when the call started (``config_context``)
    fast_kernels: bool = True
    fast_kernels_min_work: int = 10**9
    rowwise_limit: int = 500

    def __post_init__(self):
        """Refuse ingredient settings that cannot train, naming the fix."""
        if not (_real(self.weight_decay) and 0 <= self.weight_decay < inf):
            raise ValueError(f"weight_decay must be a finite number >= 0, got "
                             f"{self.weight_decay!r}; 0 turns it off.")
        if self.weight_decay and self.solver == "lbfgs":
            raise ValueError(
                f"weight_decay={self.weight_decay!r} is the stochastic solvers' "
                "decoupled decay, which lbfgs does not take; use alpha (the L2 "
                "penalty) with lbfgs, or solver='adam' or 'sgd' with weight_decay.")
        if not (_real(self.label_smoothing) and 0 <= self.label_smoothing < 1):
            raise ValueError(f"label_smoothing must be a number in [0, 1), got "
                             f"{self.label_smoothing!r}; 0 turns it off.")

    @property
    def model(self):
        """What training differentiates, apart from the weights."""
        return Model(self.n_features, self.layers, self.loss, self.alpha,
                     list(self.dropout))

    @property
    def stochastic(self):
        return self.solver != "lbfgs"


def _real(value):
    """Whether ``value`` is a real number (a float or int without the ABC's check)."""
    return type(value) in (float, int) or isinstance(value, Real)


def batch_rows(batch_size, n_samples):
    """Rows per update for ``n_samples`` training rows: ``min(200, n)`` for 'auto';
    a batch_size above n warns and trains full-batch."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warn(f"batch_size={batch_size} is larger than the {n_samples} training "
             f"samples; using batch_size={n_samples} (full batch).")
    return min(batch_size, n_samples)
