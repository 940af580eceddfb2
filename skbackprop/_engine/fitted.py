"""The fitted state, declared once: every fitted attribute, its kind and its role.

A fitted estimator is its parameters and exactly the attributes declared here
(``FITTED``, ``OPTIONAL``, and its class's own ``_fitted_schema``); nothing else
is fitted state. Everything that handles fitted state reads this one list:

- the engine, which returns a new state as one record of these names, stored on
  the estimator in one assignment at the end of a call (``store``);
- a call that continues a model (warm start, partial_fit), which reads the
  previous state through it (``read``);
- persistence (``persistence._schema``), which saves exactly these names and checks each
  value's kind on load;
- the Array API transfer (``_dispatch.converted``), which moves the attributes
  whose role is ``"weights"`` or ``"optimizer"`` to another namespace and device.

Roles: ``features`` (what the inputs were), ``targets`` (what the outputs mean),
``network`` (its shape and activations), ``weights`` (its parameters, in X's
namespace and on its device), ``progress`` (the record of training that a warm
start or partial_fit extends), ``counters`` (early stopping's and the plateau
rule's, which partial_fit continues), ``optimizer`` (a stochastic solver's state
and learning rate) and ``outcome``.
"""

from typing import NamedTuple

__all__ = ["CLASSIFIER", "FITTED", "MARKER", "OPTIONAL", "Field", "names", "read",
           "store", "with_role"]


class Field(NamedTuple):
    """One fitted attribute: its kind (what ``persistence._schema`` checks) and its role."""

    kind: str
    role: str


FITTED = {
    "n_features_in_": Field("count", "features"),
    "n_outputs_": Field("count", "network"),
    "n_layers_": Field("count", "network"),
    "out_activation_": Field("str", "network"),
    "_hidden_activations": Field("strings", "network"),
    "coefs_": Field("weights", "weights"),
    "intercepts_": Field("weights", "weights"),
    "n_iter_": Field("count", "progress"),
    "t_": Field("count", "progress"),
    "loss_": Field("real", "progress"),
    "loss_curve_": Field("reals", "progress"),
    "_history": Field("history", "progress"),
    "validation_scores_": Field("reals or None", "progress"),
    "best_epoch_": Field("count or None", "counters"),
    "best_loss_": Field("real or None", "counters"),
    "best_validation_score_": Field("real or None", "counters"),
    "best_validation_loss_": Field("real or None", "counters"),
    "_best_metric": Field("real", "counters"),
    "_no_improvement_count": Field("count", "counters"),
    "_optimizer_solver": Field("str or None", "optimizer"),
    "_optimizer_state": Field("optimizer or None", "optimizer"),
    "_learning_rate": Field("real or None", "optimizer"),
    "diverged_": Field("bool", "outcome"),
}
OPTIONAL = {"feature_names_in_": Field("labels", "features")}
CLASSIFIER = {"classes_": Field("labels", "targets"), "_y_type": Field("str", "targets")}

# Set with every stored state (not saved: a loaded model gets it on loading): what
# tells a fitted model from one whose coefs_ a user assigned to start from.
MARKER = "_fit_completed"


def names(cls):
    """``(required, optional)``: name -> ``Field`` of the fitted attributes of the
    estimator class ``cls``."""
    return {**FITTED, **cls._fitted_schema}, OPTIONAL


def with_role(cls, *roles):
    """The names of ``cls``'s fitted attributes with one of these roles."""
    required, optional = names(cls)
    return [name for name, field in {**required, **optional}.items()
            if field.role in roles]


def read(estimator):
    """The fitted state of ``estimator`` as a dict (read, never changed): the
    declared attributes it has."""
    required, optional = names(type(estimator))
    state = vars(estimator)
    return {name: state[name] for name in (*required, *optional) if name in state}


def store(estimator, record):
    """Make ``record`` (name -> value, the declared names only) the fitted state of
    ``estimator``, in one assignment: the previous fitted attributes, an optional
    one the record lacks included, are gone at once; the parameters and anything
    else the estimator holds are kept as they are now."""
    required, optional = names(type(estimator))
    unknown = set(record) - set(required) - set(optional)
    missing = set(required) - set(record)
    if unknown or missing:
        raise AssertionError(f"not a fitted state: unknown {sorted(unknown)}, missing "
                             f"{sorted(missing)}")
    fitted = {*required, *optional, MARKER}
    state = {k: v for k, v in vars(estimator).items() if k not in fitted}
    state.update(record)
    state[MARKER] = True
    estimator.__dict__ = state  # the one assignment
