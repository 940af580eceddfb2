"""The tabular estimators' own fitted state in a model file, checked before use.

``TabularClassifier`` and ``TabularRegressor`` add three things to a perceptron's
state (``tabular._network``, ``tabular._estimators``):

- ``preprocessor_``, a fitted ``TabularPreprocessor``: saved as plain data of the
  versioned schema ``PREPROCESSOR_FIELDS`` (``preprocessor_state``), never as an
  object, and built again by ``preprocessor`` once ``check_preprocessor`` has
  checked every field: types, dtypes and lengths, each column's kind against its
  median, scale and levels, and the output layout and code sizes against what
  the columns give (``column_outputs``, the layout transform writes).
- ``_input_layers``: plain records of the layers in front of the hidden ones, each
  of a registered kind with exactly its class's settings, whose widths fit the
  preprocessor's output and whose category embedding reads exactly its code
  columns, one table row per code (``check_input_layers``).
- the regressor's standardisation of its targets, ``_y_center``, ``_y_scale``,
  ``_y_min`` and ``_y_max``: one finite number per output, scales > 0 and
  minimum <= maximum (``check_targets``).

Each refusal is a ``ModelFileError`` naming the value and what it should be.
"""

import math
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import (
    InvalidParameterError,
    validate_parameter_constraints,
)

from .._core.layers import LAYERS
from .._core.network import network_widths
from ._files import ModelFileError

__all__ = ["PREPROCESSOR_FIELDS", "PREPROCESSOR_SCHEMA", "PREPROCESSOR_VERSION",
           "check_input_layers", "check_preprocessor", "check_tabular", "check_targets",
           "network_inputs", "preprocessor", "preprocessor_state"]

PREPROCESSOR_SCHEMA = "skbackprop-tabular-preprocessor"
PREPROCESSOR_VERSION = 1
# what a saved preprocessor holds (n input columns, m output columns, c code columns)
PREPROCESSOR_FIELDS = {
    "schema": "the string PREPROCESSOR_SCHEMA",
    "version": "the int PREPROCESSOR_VERSION",
    "params": "max_one_hot, clip and add_indicator, as TabularPreprocessor checks them",
    "n_features_in_": "an int n >= 1",
    "feature_names_in_": "n strings, or None",
    "column_kinds_": "n of 'number', 'bool', 'one_hot', 'code' and 'dropped'",
    "medians_": "float64 (n,)",
    "scales_": "float64 (n,)",
    "has_missing_": "bool (n,)",
    "categories_": "n lists of distinct levels (strings, integers, floats, booleans)",
    "output_kinds_": "m strings of OUTPUT_KINDS",
    "output_sources_": "integers (m,)",
    "code_sizes_": "integers (c,)",
}
ATTRIBUTES = [name for name in PREPROCESSOR_FIELDS if name.endswith("_")]
COLUMN_KINDS = ("number", "bool", "one_hot", "code", "dropped")
TARGETS = ("_y_center", "_y_scale", "_y_min", "_y_max")


def refuse(what, fix="save the model again with skbackprop.save"):
    raise ModelFileError(f"{what}. Fix: {fix}.")


def check_tabular(a, values=True):
    """Refuse a tabular model's state (attributes ``a``) whose preprocessor, input
    layers or targets' scaling are not what its class fits, or whose preprocessor
    read other columns than the model did; other models pass."""
    if "preprocessor_" in a:
        state = a["preprocessor_"]
        check_preprocessor(state, values)
        names, saved = a.get("feature_names_in_"), state["feature_names_in_"]
        if a["n_features_in_"] != state["n_features_in_"] or (names is None) != (
                saved is None) or (values and names is not None and not np.array_equal(
                    names, saved)):
            refuse("the saved n_features_in_ and feature_names_in_ are not the "
                   "preprocessor_'s")
        check_input_layers(a, values)
    if "_y_center" in a:
        check_targets(a, values)


# ------------------------------------------------------------------ preprocessor_
def preprocessor_state(pre):
    """A fitted ``TabularPreprocessor`` as plain data of the schema: strings,
    numbers, booleans, lists of them and arrays."""
    state = {"schema": PREPROCESSOR_SCHEMA, "version": PREPROCESSOR_VERSION,
             "params": pre.get_params()}
    state.update({name: getattr(pre, name, None) for name in ATTRIBUTES})
    state["column_kinds_"] = [str(kind) for kind in pre.column_kinds_]
    state["categories_"] = [list(levels) for levels in pre.categories_]
    return state


def preprocessor(state):
    """The ``TabularPreprocessor`` a checked state describes, with its fitted
    attributes in the types ``fit`` gives them."""
    from ..tabular import TabularPreprocessor

    pre = TabularPreprocessor(**state["params"])
    types = {"medians_": float, "scales_": float, "has_missing_": bool,
             "output_kinds_": object, "output_sources_": int, "code_sizes_": int,
             "feature_names_in_": object}
    for name in ATTRIBUTES:
        value = state[name]
        if value is None:  # (feature_names_in_, where X had no column names)
            continue
        if name in types:
            value = np.array(value, dtype=types[name])
        elif name == "categories_":
            value = [list(levels) for levels in value]
        setattr(pre, name, list(value) if name == "column_kinds_" else value)
    return pre


def check_preprocessor(state, values=True):
    """Refuse a saved ``preprocessor_`` that is not a fitted preprocessor of the
    schema; ``values=False`` checks all but the arrays' contents."""
    if not isinstance(state, dict) or set(state) != set(PREPROCESSOR_FIELDS):
        refuse("the saved preprocessor_ does not hold the fields of its schema "
               f"{sorted(PREPROCESSOR_FIELDS)}")
    if not (isinstance(state["schema"], str) and type(state["version"]) is int) or (
            state["schema"], state["version"]) != (PREPROCESSOR_SCHEMA, PREPROCESSOR_VERSION):
        refuse(f"the saved preprocessor_ is of schema {state['schema']!r} version "
               f"{state['version']!r}; this skbackprop reads {PREPROCESSOR_SCHEMA!r} "
               f"version {PREPROCESSOR_VERSION}",
               "load it with the skbackprop version that saved it")
    _check_params(state["params"])
    n = state["n_features_in_"]
    if not (isinstance(n, Integral) and not isinstance(n, bool) and n >= 1):
        refuse(f"the saved preprocessor_'s n_features_in_={n!r} is not an int >= 1")
    _check_columns(state, n)
    _check_outputs(state)
    if values:
        for j, kind in enumerate(state["column_kinds_"]):
            _check_column(state, j, kind)
        _check_layout(state)


def _check_params(params):
    from ..tabular import TabularPreprocessor

    expected = set(TabularPreprocessor().get_params())
    if not isinstance(params, dict) or set(params) != expected:
        refuse(f"the saved preprocessor_'s parameters are not {sorted(expected)}")
    try:
        validate_parameter_constraints(TabularPreprocessor._parameter_constraints,
                                       params, caller_name="TabularPreprocessor")
    except InvalidParameterError as error:
        refuse(f"the saved preprocessor_'s parameters are invalid: {error}")


def _is_array(value, kinds, shape):
    return (isinstance(value, np.ndarray) and value.dtype.kind in kinds
            and value.shape == shape)


def _check_columns(state, n):
    """One kind, median, scale, missing flag, list of levels (and name) per column."""
    kinds, names = state["column_kinds_"], state["feature_names_in_"]
    if not (isinstance(kinds, list) and len(kinds) == n and all(
            isinstance(kind, str) and kind in COLUMN_KINDS for kind in kinds)):
        refuse(f"the saved preprocessor_'s column_kinds_ are not {n} of {COLUMN_KINDS}")
    if all(kind == "dropped" for kind in kinds):
        refuse("the saved preprocessor_ drops every column")
    if names is not None and not (_is_array(names, "OU", (n,)) and all(
            isinstance(name, str) for name in names)):
        refuse(f"the saved preprocessor_'s feature_names_in_ are not {n} strings")
    for name in ("medians_", "scales_"):
        value = state[name]
        if not (_is_array(value, "f", (n,)) and value.dtype == np.float64):
            refuse(f"the saved preprocessor_'s {name} are not {n} float64 numbers")
    if not _is_array(state["has_missing_"], "b", (n,)):
        refuse(f"the saved preprocessor_'s has_missing_ are not {n} booleans")
    levels = state["categories_"]
    if not (isinstance(levels, list) and len(levels) == n and all(
            isinstance(column, list) and all(map(_is_level, column)) for column in levels)):
        refuse(f"the saved preprocessor_'s categories_ are not {n} lists of levels "
               "(strings, integers, floats that are not NaN, booleans)")


def _is_level(value):
    return isinstance(value, str | bool | Integral) or (
        isinstance(value, Real) and not math.isnan(value))


def _check_outputs(state):
    """The output layout: one kind and source column per output, one size per code."""
    from ..tabular import OUTPUT_KINDS

    kinds, sources = state["output_kinds_"], state["output_sources_"]
    m = getattr(kinds, "shape", (None,))[0]
    if not (_is_array(kinds, "OU", (m,)) and m and all(isinstance(k, str) for k in kinds)):
        refuse("the saved preprocessor_'s output_kinds_ are not a list of strings")
    if not _is_array(sources, "iu", (m,)):
        refuse(f"the saved preprocessor_'s output_sources_ are not {m} integers, one per "
               "output column")
    sizes = state["code_sizes_"]
    if not (isinstance(sizes, np.ndarray) and _is_array(sizes, "iu", sizes.shape[:1])):
        refuse("the saved preprocessor_'s code_sizes_ are not a list of integers")
    if not all(kind in OUTPUT_KINDS for kind in kinds if kind):  # ('' in stand-ins)
        refuse(f"the saved preprocessor_'s output_kinds_ are not of {OUTPUT_KINDS}")


def _check_column(state, j, kind):
    """Column j's median, scale, levels and missing flag are what fit gives its kind."""
    median, scale = state["medians_"][j], state["scales_"][j]
    levels, max_one_hot = state["categories_"][j], state["params"]["max_one_hot"]
    ok = {"number": lambda: math.isfinite(median) and math.isfinite(scale) and scale >= 0,
          "bool": lambda: 0 <= median <= 1 and scale == 1,
          "one_hot": lambda: 1 <= len(levels) <= max_one_hot,
          "code": lambda: len(levels) > max_one_hot,
          "dropped": lambda: bool(state["has_missing_"][j])}[kind]()
    numeric, categories = kind in ("number", "bool"), kind in ("one_hot", "code")
    unset = math.isnan(median) and math.isnan(scale)  # (what fit leaves the others)
    if not ok or bool(levels) != categories or not (numeric or unset):
        refuse(f"the saved preprocessor_'s column {j} ({kind!r}) has median {median}, "
               f"scale {scale} and {len(levels)} levels, which fit never gives a "
               f"{kind!r} column (max_one_hot={max_one_hot})")
    if levels and not pd.Index(levels, dtype=object).is_unique:
        refuse(f"the saved preprocessor_'s column {j} repeats a level")


def _check_layout(state):
    """The output columns and code sizes are those the columns give."""
    from ..tabular._preprocess import column_outputs

    pre = preprocessor(state)
    outputs = [(j, kind) for j, col in enumerate(pre._columns(
        [str(j) for j in range(state["n_features_in_"])])) for _, kind in column_outputs(col)]
    sizes = [len(state["categories_"][j]) + 1 for j, kind in outputs if kind == "code"]
    if (outputs != list(zip(state["output_sources_"].tolist(), state["output_kinds_"]))
            or sizes != state["code_sizes_"].tolist()):
        refuse("the saved preprocessor_'s output_kinds_, output_sources_ and code_sizes_ "
               "are not the layout its columns give")


def network_inputs(a):
    """The width of the network's input: the preprocessor's output columns for a
    tabular model, else ``n_features_in_``."""
    state = a.get("preprocessor_")
    return a["n_features_in_"] if state is None else len(state["output_kinds_"])


# ------------------------------------------------------------------ _input_layers
def check_input_layers(a, values=True):
    """Refuse input-layer records that are not layers of registered kinds with
    their classes' settings, whose widths do not fit the preprocessor's output, or
    whose embedding does not read exactly its code columns."""
    records, state = a["_input_layers"], a["preprocessor_"]
    layers = []
    for i, record in enumerate(records):
        kind = record.get("kind")
        cls = LAYERS.get(kind) if isinstance(kind, str) else None
        if cls is None or kind == "dense":
            refuse(f"the saved input layer {i} is of kind {kind!r}, which is not a "
                   "registered kind of input layer",
                   "register its class with skbackprop._core.layers.register_layer "
                   "before loading")
        settings = {k: v for k, v in record.items() if k != "kind"}
        fields = set(getattr(cls, "_fields", settings))
        if set(settings) != fields or not all(map(_is_setting, settings.values())):
            refuse(f"the saved input layer {i} ({kind}) has the settings "
                   f"{sorted(settings)}, not plain values of {sorted(fields)}")
        layers.append(cls(**{k: tuple(v) if isinstance(v, list) else v
                             for k, v in settings.items()}))
    try:
        network_widths(layers, network_inputs(a))
    except (ValueError, TypeError) as error:
        refuse(f"the saved input layers do not fit the preprocessor's output ({error})")
    if values:
        _check_embedding(layers, state)


def _is_setting(value):
    items = value if isinstance(value, list | tuple) else [value]
    return all(isinstance(v, str | Real) for v in items)


def _check_embedding(layers, state):
    """The code columns, and only they, are embedded, each by a table of one row per
    code (so that every code transform writes has its row)."""
    codes = [j for j, kind in enumerate(state["output_kinds_"]) if kind == "code"]
    sizes = state["code_sizes_"].tolist()
    embeddings = [k for k, layer in enumerate(layers)
                  if layer.kind == "categorical_embedding"]
    if embeddings != ([0] if codes else []) or (codes and (
            list(layers[0].columns) != codes or list(layers[0].levels) != sizes)):
        refuse(f"the saved input layers do not embed the preprocessor's code columns "
               f"{codes} with {sizes} codes each, first and only once")


# ---------------------------------------------------------------------- targets
def check_targets(a, values=True):
    """The regressor's standardisation: one number per output each, finite, scales
    > 0, minimum <= maximum."""
    shape = (a["n_outputs_"],)
    for name in TARGETS:
        if not (_is_array(a[name], "f", shape) and a[name].dtype.itemsize == 8):
            refuse(f"the saved {name} is not {shape[0]} float64 numbers, one per output")
    if values and not (all(np.isfinite(a[name]).all() for name in TARGETS)
                       and (a["_y_scale"] > 0).all() and (a["_y_min"] <= a["_y_max"]).all()):
        refuse("the saved _y_center, _y_scale, _y_min and _y_max are not finite, or a "
               "scale is not > 0, or a minimum is above its maximum")
