"""What a fitted model is, as data: the schema a model file holds, and its checks.

A fitted estimator is its parameters (``get_params``) and the fitted attributes
declared in ``_engine.fitted`` (plus its class's own ``_fitted_schema``), each of a
declared kind, and nothing else. ``fitted_state`` reads exactly those from an
estimator; ``check_state`` checks a state read from a file before any of it is
used: the parameters through the estimator's own ``_parameter_constraints``, every
attribute's kind, and that the attributes agree with each other and with the
parameters (layer sizes, output width, classes, activations, optimizer state),
and the tabular estimators' own state (``persistence._tabular``: the preprocessor,
held as plain data of its schema, the input layers and the targets' scaling). A
state that passes makes a model that predicts what the saved one did.
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import (
    InvalidParameterError,
    validate_parameter_constraints,
)

from .._core.layers import LAYERS
from .._core.network import network_shapes, network_widths
from .._core.xp import on_host
from .._engine.fitted import names, network_params, network_record
from .._engine.monitor import HISTORY_COLUMNS
from .._engine.start import hidden_layer_sizes
from ._files import ModelFileError
from ._tabular import check_tabular, network_inputs, preprocessor_state

__all__ = ["check_state", "fitted_state", "member_states", "refuse", "schema"]

Y_TYPES = ("binary", "multiclass", "multilabel-indicator")


def schema(cls):
    """The fitted attributes of ``cls`` (as ``_engine.fitted`` declares them): (required,
    optional), name -> kind."""
    required, optional = names(cls)
    return ({k: f.kind for k, f in required.items()},
            {k: f.kind for k, f in optional.items()})


def fitted_state(estimator):
    """``(params, attributes)`` of a fitted estimator: exactly the schema's names,
    its arrays on the host (NumPy) wherever it was fitted."""
    required, optional = schema(type(estimator))
    estimator = on_host(estimator)
    # lbfgs leaves no optimizer state
    attributes = {name: getattr(estimator, name, None) if "optimizer" in name
                  or name == "_learning_rate" else getattr(estimator, name)
                  for name in required}
    attributes.update({name: getattr(estimator, name) for name in optional
                       if hasattr(estimator, name)})
    if "preprocessor_" in attributes:  # (an object: saved as plain data)
        attributes["preprocessor_"] = preprocessor_state(attributes["preprocessor_"])
    if "ensemble_" in attributes:  # (estimators: saved as their states)
        attributes["ensemble_"] = [_member_state(m) for m in attributes["ensemble_"]]
    return estimator.get_params(deep=False), attributes


def _member_state(member):
    """One further network of an ensemble as plain data: its ``random_state`` (its
    other parameters are the ensemble's) and its fitted attributes, but for the
    preprocessor, which it shares with the first network."""
    params, attributes = fitted_state(member)
    del attributes["preprocessor_"]
    return {"random_state": params["random_state"], "attributes": attributes}


def member_states(params, attributes):
    """``(params, attributes)`` of each further network of a saved ensemble."""
    return [({**params, "random_state": m["random_state"], "n_ensemble": 1},
             {**m["attributes"], "preprocessor_": attributes["preprocessor_"]})
            for m in attributes.get("ensemble_", [])]


def refuse(what, fix="save the model again with skbackprop.save"):
    raise ModelFileError(f"{what}. Fix: {fix}.")


def check_state(cls, params, attributes, values=True):
    """Refuse (``ModelFileError``) a state that is not a model ``cls`` can be:
    unknown or missing names, invalid parameters, values of the wrong kind, or
    attributes that disagree with each other. ``values=False`` checks everything
    but the arrays' contents (for stand-ins of the declared dtypes and shapes,
    before any array is read)."""
    _check_names(cls, params, attributes)
    try:
        validate_parameter_constraints(cls._parameter_constraints, params,
                                       caller_name=cls.__name__)
    except InvalidParameterError as error:
        refuse(f"the saved parameters are invalid: {error}")
    kinds = {**schema(cls)[0], **schema(cls)[1]}
    for name, value in attributes.items():
        kind = kinds[name]
        ok = (_is_weights(value, values) if kind == "weights" else
              isinstance(value, list) and all(_is_weights(v, values, any_ndim=True)
                                              for v in value)
              if kind == "parameter lists" else _KINDS[kind](value))
        if not ok:
            refuse(f"the saved {name} is not {_ARTICLES[kind]}")
    check_tabular(attributes, values)
    try:
        _check_network(cls, params, attributes, values)
    except (ValueError, TypeError) as error:  # from the parameters' own checks
        if isinstance(error, ModelFileError):
            raise
        refuse(f"the saved parameters and network disagree: {error}")
    _check_progress(attributes)
    _check_optimizer(attributes, values)
    _check_ensemble(cls, params, attributes, values)


# what every network of an ensemble shares: its inputs, outputs and targets
SHARED = ("n_features_in_", "feature_names_in_", "n_outputs_", "out_activation_",
          "_input_layers", "classes_", "_y_type", "_y_center", "_y_scale", "_y_min",
          "_y_max")


def _check_ensemble(cls, params, attributes, values):
    """An ensemble's further networks: at most ``n_ensemble - 1`` of them (fewer
    where its fit was interrupted), each a whole model of ``cls`` (checked as one)
    with the first network's inputs, outputs and targets."""
    members = attributes.get("ensemble_", [])
    if len(members) + 1 > params.get("n_ensemble", 1):  # (fewer: an interrupted fit)
        refuse(f"the file holds {len(members) + 1} networks, but n_ensemble="
               f"{params.get('n_ensemble')!r}")
    for number, member in enumerate(members, start=2):
        if "preprocessor_" in member["attributes"]:
            refuse(f"network {number} holds a preprocessor of its own, where the "
                   "networks of an ensemble share the first one's")
    for number, (p, a) in enumerate(member_states(params, attributes), start=2):
        if not isinstance(p["random_state"], int | None) or isinstance(
                p["random_state"], bool):
            refuse(f"network {number}'s random_state is not an int or None")
        check_state(cls, p, a, values)
        for name in SHARED if values else ():  # (once the first network is checked)
            if name in attributes and not _equal(a.get(name), attributes[name]):
                refuse(f"network {number}'s {name} differs from the first network's")


def _equal(a, b):
    """Whether two saved values are the same: arrays of one dtype and equal
    elements (NaN equal to NaN), or equal plain values."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    return a == b


def _check_names(cls, params, attributes):
    expected = set(cls().get_params())
    if set(params) != expected:
        refuse(f"the saved parameters {sorted(set(params) ^ expected)} do not match "
               f"{cls.__name__}'s", "load it with the skbackprop version that saved it")
    required, optional = schema(cls)
    unknown = set(attributes) - set(required) - set(optional)
    missing = set(required) - set(attributes)
    if unknown or missing:
        refuse(f"the file's fitted attributes do not match {cls.__name__}'s (unknown: "
               f"{sorted(unknown)}, missing: {sorted(missing)})")


def _check_network(cls, params, a, values):
    """Weights, layer sizes, activations, outputs and classes agree."""
    _check_parameters(cls, params, a)
    sizes = hidden_layer_sizes(params["hidden_layer_sizes"])
    hidden = cls(**params)._hidden_activation_names(len(sizes))
    if a["_hidden_activations"] != hidden:
        refuse(f"the saved hidden activations {a['_hidden_activations']} are not those "
               f"of activation={params['activation']!r}")
    if "classes_" in a:
        _check_classes(a, values)
    else:
        model = cls(**params)
        if a["out_activation_"] != model._output_activation():
            refuse(f"out_activation_={a['out_activation_']!r} does not go with "
                   f"loss={params['loss']!r} and out_activation={params['out_activation']!r}")
    names = a.get("feature_names_in_")
    if names is not None and names.shape != (a["n_features_in_"],):
        refuse("the saved feature names do not match n_features_in_")


def saved_parameters(cls, params, a):
    """``(layers, parameters)`` of the saved network: the layers the parameters
    and the saved state give ``cls`` for the saved units and activations
    (``_layers_for``), and their arrays (one list per layer)."""
    sizes = hidden_layer_sizes(params["hidden_layer_sizes"])
    activations = [*a["_hidden_activations"], a["out_activation_"]]
    if len(activations) != len(sizes) + 1:
        refuse(f"the saved activations {activations} do not fit "
               f"hidden_layer_sizes={params['hidden_layer_sizes']!r}")
    layers = cls(**params)._layers_for([*sizes, a["n_outputs_"]], activations, a)
    try:
        return layers, network_params(layers, a)
    except (TypeError, ValueError) as error:
        refuse(f"the saved weights do not fit together with the network's "
               f"{len(layers)} layers ({error})")


def _check_parameters(cls, params, a):
    """Every layer's parameters have the shapes its layer asks for, in one dtype."""
    layers, saved = saved_parameters(cls, params, a)
    unknown = [layer.kind for layer in layers if LAYERS.get(layer.kind) is not type(layer)]
    if unknown:
        refuse(f"the network holds layers of kind {unknown}, which are not registered",
               "register their classes with skbackprop._core.layers.register_layer "
               "before loading")
    shapes = [[p.shape for p in ps] for ps in saved]
    expected = [list(map(tuple, s)) for s in network_shapes(layers, network_inputs(a))]
    if shapes != expected or a["n_layers_"] != len(a["coefs_"]) + 1:
        units = network_widths(layers, network_inputs(a))
        refuse(f"the saved weights {shapes} do not fit together with {units} units "
               "per layer")
    if set(network_record(layers, saved)) != {"coefs_", "intercepts_", *(
            ["_layer_parameters"] if "_layer_parameters" in a else [])}:
        refuse("_layer_parameters is saved exactly for a network with layers other "
               "than Dense")
    dtypes = {p.dtype for ps in saved for p in ps}
    if len(dtypes) != 1:
        refuse(f"the saved weights mix dtypes {sorted(map(str, dtypes))}")


def _check_classes(a, values):
    y_type, classes, n_out = a["_y_type"], a["classes_"], a["n_outputs_"]
    shapes = {"binary": (2, 1), "multiclass": (max(len(classes), 3), len(classes)),
              "multilabel-indicator": (max(len(classes), 2), len(classes))}
    if y_type not in Y_TYPES or (len(classes), n_out) != shapes[y_type]:
        refuse(f"_y_type={y_type!r} does not go with {len(classes)} classes and "
               f"{n_out} outputs")
    if values and y_type == "multilabel-indicator" and not np.array_equal(
            classes, np.arange(n_out)):
        refuse("a multilabel model's classes_ must be its label indices")
    if values and len(np.unique(classes)) != len(classes):
        refuse("the saved classes_ repeat a class")
    expected = "softmax" if y_type == "multiclass" else "logistic"
    if a["out_activation_"] != expected:
        refuse(f"out_activation_={a['out_activation_']!r} on a {y_type} classifier "
               f"(it must be {expected!r})")


def _check_progress(a):
    """The record of training agrees with itself."""
    n = len(a["loss_curve_"])
    if len(a["_history"]) != n or a["n_iter_"] > n or (
            a["validation_scores_"] is not None and len(a["validation_scores_"]) != n):
        refuse("the saved loss_curve_, history_, validation_scores_ and n_iter_ "
               "disagree in length")
    if a["best_epoch_"] is not None and not 1 <= a["best_epoch_"] <= n:
        refuse(f"best_epoch_={a['best_epoch_']} is not one of the {n} epochs")


def _check_optimizer(a, values):
    """The optimizer state fits the weights (one flat vector per moment)."""
    solver, state = a["_optimizer_solver"], a["_optimizer_state"]
    if solver is None and state is None:
        return
    n_params = sum(p.size for ps in [a["coefs_"], a["intercepts_"],
                                     *a.get("_layer_parameters", [])] for p in ps)
    keys = {"sgd": {"velocities"}, "adam": {"t", "ms", "vs"}}.get(solver)
    if keys is None or not isinstance(state, dict) or set(state) != keys or not all(
            isinstance(state[k], list) for k in keys - {"t"}):
        refuse(f"the saved optimizer state does not belong to solver {solver!r}")
    vectors = [v for k in sorted(keys - {"t"}) for v in state[k]]
    dtype = a["coefs_"][0].dtype
    if not all(_is_weights([v], values) and v.shape == (n_params,) and v.dtype == dtype
               for v in vectors) or len(vectors) != len(keys - {"t"}):
        refuse(f"the saved optimizer state does not fit the {n_params} weights")
    if solver == "adam" and not (_is_count(state["t"]) and (
            not values or (state["vs"][0] >= 0).all())):
        refuse("the saved Adam state has a negative step count or second moment")


def _is_count(v):
    return isinstance(v, Integral) and not isinstance(v, bool) and v >= 0


def _is_array(v, kinds, ndim):
    return isinstance(v, np.ndarray) and v.dtype.kind in kinds and v.ndim == ndim and (
        v.dtype.isnative)


def _is_weights(v, values=True, any_ndim=False):
    """Finite (with ``values``) float32/float64 arrays in native byte order, each of
    1 or 2 dimensions (of any with ``any_ndim``)."""
    return isinstance(v, list) and all(
        isinstance(p, np.ndarray) and (any_ndim or p.ndim in (1, 2))
        and _is_array(p, "f", p.ndim)
        and p.dtype.itemsize in (4, 8) and (not values or np.isfinite(p).all())
        for p in v)


def _is_reals(v):
    return _is_array(v, "f", 1) or (isinstance(v, list) and all(
        isinstance(x, Real) and not isinstance(x, bool) for x in v))


_KINDS = {
    "count": _is_count,
    "count or None": lambda v: v is None or _is_count(v),
    "real": lambda v: isinstance(v, Real) and not isinstance(v, bool),
    "real or None": lambda v: v is None or (isinstance(v, Real) and not isinstance(
        v, bool)),
    "reals": _is_reals,
    "reals or None": lambda v: v is None or _is_reals(v),
    "str": lambda v: isinstance(v, str),
    "str or None": lambda v: v is None or isinstance(v, str),
    "strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "bool": lambda v: isinstance(v, bool | np.bool_),
    "labels": lambda v: _is_array(v, "biufUO", 1) and (v.dtype.kind != "O" or all(
        isinstance(x, str) for x in v)),
    "history": lambda v: isinstance(v, list) and all(
        isinstance(r, tuple | list) and len(r) == len(HISTORY_COLUMNS) and all(
            isinstance(x, Real) and not isinstance(x, bool) for x in r)
        and math.isfinite(r[0]) and float(r[0]).is_integer() for r in v),
    "optimizer or None": lambda v: v is None or isinstance(v, dict),
    # (checked field by field in ``persistence._tabular``)
    "preprocessor": lambda v: isinstance(v, dict),
    "layer records": lambda v: isinstance(v, list) and all(
        isinstance(r, dict) and all(isinstance(k, str) for k in r) for r in v),
    # (each network checked as a model in ``_check_ensemble``)
    "ensemble": lambda v: isinstance(v, list) and all(
        isinstance(m, dict) and set(m) == {"random_state", "attributes"}
        and isinstance(m["attributes"], dict) for m in v),
}
_ARTICLES = {kind: kind.replace("count", "a count >= 0").replace("real", "a number")
             for kind in _KINDS}
_ARTICLES["weights"] = "a list of finite float32/float64 arrays in native byte order"
_ARTICLES["preprocessor"] = "a preprocessor's plain data (a dict of its schema)"
_ARTICLES["layer records"] = "a list of layer records (dicts of plain settings)"
_ARTICLES["ensemble"] = "a list of networks (a random_state and attributes each)"
_ARTICLES["parameter lists"] = ("one list per layer of finite float32/float64 arrays in "
                                "native byte order")
