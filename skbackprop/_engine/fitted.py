"""The fitted state, declared once: every fitted attribute, its kind and its role.

A fitted estimator is its parameters and exactly the attributes declared here
(``FITTED``, ``OPTIONAL``, and its class's own ``_fitted_schema`` and
``_fitted_optional``); nothing else
is fitted state. Everything that handles fitted state reads this one list:

- the engine, which returns a new state as one record of these names, stored on
  the estimator in one assignment at the end of a call (``store``);
- a call that continues a model (warm start, partial_fit), which reads the
  previous state through it (``read``);
- persistence (``persistence._schema``), which saves exactly these names and checks each
  value's kind on load;
- the Array API transfer (``_dispatch.converted``), which moves the attributes
  whose role is ``"weights"`` or ``"optimizer"`` to another namespace and device.

The network's parameters are one list per layer in the engine; as fitted
attributes they are scikit-learn's ``coefs_`` and ``intercepts_`` for the Dense
layers, and ``_layer_parameters`` for the others (``network_record``,
``network_params``): a layer of a new kind needs no new attribute.

Roles: ``features`` (what the inputs were), ``targets`` (what the outputs mean),
``network`` (its shape and activations), ``weights`` (its parameters, in X's
namespace and on its device), ``progress`` (the record of training that a warm
start or partial_fit extends), ``counters`` (early stopping's and the plateau
rule's, which partial_fit continues), ``optimizer`` (a stochastic solver's state
and learning rate), ``outcome`` and ``ensemble`` (the tabular estimators' other
networks, each a fitted estimator of the same class).
"""

from typing import NamedTuple

from .._core.layers import Dense

__all__ = ["CLASSIFIER", "FITTED", "MARKER", "OPTIONAL", "Field", "names",
           "network_params", "network_record", "read", "store", "with_role"]


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
OPTIONAL = {"feature_names_in_": Field("labels", "features"),
            # the parameters of layers other than Dense (see ``network_record``)
            "_layer_parameters": Field("parameter lists", "weights")}
CLASSIFIER = {"classes_": Field("labels", "targets"), "_y_type": Field("str", "targets")}

# Set with every stored state (not saved: a loaded model gets it on loading): what
# tells a fitted model from one whose coefs_ a user assigned to start from.
MARKER = "_fit_completed"


def names(cls):
    """``(required, optional)``: name -> ``Field`` of the fitted attributes of the
    estimator class ``cls`` (its own: ``_fitted_schema``, and ``_fitted_optional``
    where it declares attributes that only some of its models have)."""
    return ({**FITTED, **cls._fitted_schema},
            {**OPTIONAL, **getattr(cls, "_fitted_optional", {})})


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


def network_record(layers, params):
    """The fitted attributes that hold a network's parameters: every Dense layer's
    W and b in ``coefs_`` and ``intercepts_`` (scikit-learn's names, in layer
    order), and, where the network has layers of other kinds, every layer's list in
    ``_layer_parameters`` (empty for a Dense layer, whose arrays are above)."""
    dense = [p for layer, p in zip(layers, params) if isinstance(layer, Dense)]
    record = {"coefs_": [p[0] for p in dense], "intercepts_": [p[1] for p in dense]}
    if len(dense) < len(layers):
        record["_layer_parameters"] = [
            [] if isinstance(layer, Dense) else list(p) for layer, p in zip(layers, params)]
    return record


def network_params(layers, state, units=None):
    """Inverse of ``network_record``: the parameters of ``layers``, one list per
    layer, from the attributes in ``state`` (a dict). Raises TypeError or
    ValueError, naming the fix (and the network's ``units`` per layer, if given),
    where they cannot be the parameters of these layers (shapes are checked by
    ``_engine.start.checked_weights``)."""
    coefs, intercepts = state.get("coefs_"), state.get("intercepts_")
    n_dense = sum(isinstance(layer, Dense) for layer in layers)
    if not isinstance(coefs, (list, tuple)) or not isinstance(intercepts, (list, tuple)):
        raise TypeError(
            "To start from given weights, set coefs_ and intercepts_ to lists of "
            f"{n_dense} arrays each (one per layer).")
    if len(coefs) != n_dense or len(intercepts) != n_dense:
        shown = "" if units is None else f" (units per layer: {list(units)})"
        raise ValueError(
            f"The network has {n_dense} layers of weights{shown}, but coefs_ has "
            f"{len(coefs)} arrays and intercepts_ {len(intercepts)}. Match "
            "hidden_layer_sizes to the given weights.")
    others = state.get("_layer_parameters")
    if n_dense < len(layers) and not (isinstance(others, list)
                                      and len(others) == len(layers)):
        raise ValueError(f"_layer_parameters must hold one list per layer "
                         f"({len(layers)}) for a network with layers other than Dense.")
    pairs = iter(zip(coefs, intercepts))
    return [list(next(pairs)) if isinstance(layer, Dense) else list(others[l])
            for l, layer in enumerate(layers)]
