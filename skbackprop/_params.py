"""The parameters both estimators take, as scikit-learn validates them, the guard of
``partial_fit`` (a stochastic solver), and the check of a call's settings."""

from functools import lru_cache
from numbers import Integral, Real
from weakref import WeakKeyDictionary

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, Options, StrOptions, make_constraint

from ._core.activations import HIDDEN_NAMES
from ._core.init import INITIALIZERS
from ._engine.schedules import TIME_BASED

__all__ = ["PARAMETER_CONSTRAINTS", "STOCHASTIC_SOLVERS", "check_call", "param_names",
           "parameters_valid", "stochastic_solver"]

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
    "activation": [StrOptions(HIDDEN_NAMES), "array-like"],  # (live: _core.activations.register)
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
    "weight_decay": [Interval(Real, 0, None, closed="left")],
}


def check_call(estimator, incremental, epochs):
    """Refuse settings that cannot work together in this call, before touching the
    data."""
    if incremental and estimator.__sklearn_is_fitted__():
        estimator._validate_params()  # sklearn's _fit_context skips this here
    if not (isinstance(epochs, Integral) and epochs >= 1):
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")
    if estimator.early_stopping and incremental:
        raise ValueError(
            "partial_fit does not support early_stopping=True: hold out "
            "validation data yourself, or call fit.")
    n_hidden = len(estimator._hidden_layer_sizes())
    if estimator.solver == "lbfgs" and any(estimator._dropout(n_hidden)):
        raise ValueError(
            "dropout makes the loss random, which breaks lbfgs's line search; use "
            "solver='adam' or 'sgd' with dropout, or set dropout=0.")


def parameters_valid(constraints, params):
    """Whether every parameter in ``params`` satisfies one of its ``constraints``,
    as sklearn's ``validate_parameter_constraints`` decides (which says how one
    does not): the same constraint objects, made once per list of constraints
    (``_made``; sklearn makes those of a string, a type, None or ``callable``
    anew on every call, but they hold no state), and their answers for plain
    values remembered (``_satisfied``)."""
    for name, value in params.items():
        given = constraints.get(name, "no_validation")
        if isinstance(given, str) and given == "no_validation":
            continue
        plain = type(value) in _PLAIN
        for constraint in _made(given):
            if (_satisfied(constraint, value) if plain and not isinstance(
                    constraint, Options) else constraint.is_satisfied_by(value)):
                break
        else:
            return False
    return True


def _made(constraints):
    """``[make_constraint(c) for c in constraints]``, made once per content."""
    try:
        return _made_once(tuple(constraints))
    except TypeError:  # (an unhashable constraint)
        return [make_constraint(c) for c in constraints]


@lru_cache(maxsize=1024)
def _made_once(constraints):
    return tuple(make_constraint(c) for c in constraints)


# values whose answer from a constraint other than Options (whose options may be a
# live set: the registered activations) depends on the value and the constraint
# alone (an Interval's bounds: part of the key)
_PLAIN = (int, float, bool, str, type(None))


def _satisfied(constraint, value):
    """``constraint.is_satisfied_by(value)`` for a value of a ``_PLAIN`` type,
    remembered for sklearn's own kinds of constraint (another may read state)."""
    if type(constraint).__module__ != Interval.__module__:
        return constraint.is_satisfied_by(value)
    bounds = ((constraint.type, constraint.left, constraint.right, constraint.closed)
              if type(constraint) is Interval else None)
    return _answer(constraint, bounds, value)


@lru_cache(maxsize=4096, typed=True)
def _answer(constraint, bounds, value):
    return constraint.is_satisfied_by(value)


_PARAM_NAMES = WeakKeyDictionary()  # class -> (its __init__, its parameter names)


def param_names(cls):
    """``BaseEstimator._get_param_names()`` of ``cls`` (read from its ``__init__``'s
    signature), read once per class and ``__init__``."""
    init = cls.__init__
    known = _PARAM_NAMES.get(cls)
    if known is None or known[0] is not init:
        known = _PARAM_NAMES[cls] = init, tuple(
            BaseEstimator._get_param_names.__func__(cls))
    return list(known[1])
