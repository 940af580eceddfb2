"""The parameters both estimators take, as scikit-learn validates them, and the
guard of ``partial_fit`` (a stochastic solver), shared by both estimators."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

from ._activations import HIDDEN_NAMES
from ._init import INITIALIZERS
from ._schedules import TIME_BASED

__all__ = ["PARAMETER_CONSTRAINTS", "STOCHASTIC_SOLVERS", "stochastic_solver"]

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
