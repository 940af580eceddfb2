"""The ``TabularPreprocessor``'s encoding written as ONNX nodes, for
``skbackprop.onnx``: the same formulas as ``_preprocess``, column by column, on a
graph helper handed in (``graph.node(op_type, inputs, **attributes)``,
``graph.const(values, proto=None)``); nothing here imports skl2onnx.

Each raw column reaches the graph as an (n, 1) tensor: numbers (any numeric or
boolean tensor, cast to the graph's float type, NaN for a missing value) or text
(a string tensor). A column is read as text where it is a category column whose
training levels are all strings (``input_is_text``); every other column as numbers:

    number    x = NaN ? median : x;  z = (x - median) * scale;
              smooth clip  bound u / sqrt(1 + u^2), u = z / bound  (``IsNaN``,
              ``Where``; written as sign(u) / sqrt(1 + 1/u^2) for |u| > 1, which
              cannot overflow), and the missing indicator ``IsNaN``
    bool      x = NaN ? median : x, and the indicator
    one-hot   ``Equal`` to each training level (numbers), or the level's code from
              an ai.onnx.ml ``LabelEncoder`` (text); a last column for "missing"
              where fit saw missing values
    code      1 + the level's index, 0 for a missing or unseen value: the sum of
              the level matches times 1 .. k (numbers), or the ``LabelEncoder``'s
              code (text)

A missing value in a text column is what onnxruntime makes of pandas' missing
values in an object array: the strings ``MISSING_TEXT`` ('None', 'nan', '<NA>').
"""

import numpy as np
from sklearn.utils.validation import _check_feature_names_in

__all__ = ["MISSING_TEXT", "check_exportable", "encode", "input_is_text"]

#: how onnxruntime reads None, NaN and pd.NA in an object array given to a string input
MISSING_TEXT = ("None", "nan", "<NA>")


def fitted_columns(preprocessor):
    """The fitted columns (``_preprocess._Column``), in the input's order."""
    return preprocessor._columns(_check_feature_names_in(preprocessor, None))


def input_is_text(preprocessor):
    """Whether each raw column is read from a string input: a category column whose
    training levels are all strings (a category of numbers, booleans included,
    and every other column are read as numbers)."""
    return [col.kind in ("one_hot", "code") and all(isinstance(v, str) for v in col.levels)
            for col in fitted_columns(preprocessor)]


def check_exportable(preprocessor, text_inputs, dtype):
    """Refuse, naming the column and the fix, what the graph cannot encode as
    transform does: a category of both text and numbers, a text level the graph
    would read as missing, numeric levels that float32 does not hold exactly (in a
    float32 graph), and a column given an input of the other kind (``text_inputs``:
    whether each column's input is a string tensor; None for a dropped column's)."""
    for col, text, given in zip(fitted_columns(preprocessor),
                                input_is_text(preprocessor), text_inputs, strict=True):
        if col.kind == "dropped":
            continue
        levels = list(col.levels)
        if col.kind in ("one_hot", "code") and not text and any(
                isinstance(v, str) for v in levels):
            raise ValueError(
                f"Cannot export column {col.name!r} to ONNX: its categories mix text "
                f"and numbers ({levels[:4]}...), and an ONNX input holds one or the "
                f"other.\nFix: fit on X[{col.name!r}].astype(str).")
        if text and set(levels) & set(MISSING_TEXT):
            raise ValueError(
                f"Cannot export column {col.name!r} to ONNX: it has the level "
                f"{sorted(set(levels) & set(MISSING_TEXT))[0]!r}, which onnxruntime "
                "cannot tell from a missing value (it reads None, NaN and pd.NA as "
                f"the strings {list(MISSING_TEXT)}).\nFix: rename that level before "
                "fitting.")
        if given is not None and given != text:
            _refuse_input(col, text)
        if not text and dtype == np.float32 and col.kind in ("one_hot", "code"):
            _check_float32_levels(col)


def _refuse_input(col, text):
    needed, other = ("a string", "numbers") if text else ("a numeric", "text")
    raise ValueError(
        f"Cannot export this model for a {other} input of column {col.name!r}: its "
        f"{'categories are text' if text else 'values are numbers'}, read from "
        f"{needed} input.\nFix: convert with the inputs skbackprop.onnx.initial_types"
        "(model) gives, e.g. to_onnx(model, initial_types=initial_types(model)).")


def _check_float32_levels(col):
    values = np.array([float(v) for v in col.levels])
    if not np.array_equal(values.astype(np.float32).astype(np.float64), values):
        raise ValueError(
            f"Cannot export column {col.name!r} to a float32 ONNX graph: its category "
            f"levels {col.levels[:4]}... are not all float32 numbers, so a float32 "
            "input could not be compared with them exactly.\nFix: export with float64 "
            "inputs, e.g. initial_types(model, numpy.float64).")


def encode(graph, preprocessor, inputs):
    """The name of the encoded matrix (n x n_features_out, the graph's float type)
    for ``inputs``: per raw column in fitted order, ``(name, is_text)`` of its
    (n, 1) tensor."""
    blocks = []
    for col, (x, text) in zip(fitted_columns(preprocessor), inputs, strict=True):
        if col.kind == "dropped":
            continue
        x = x if text else graph.node("Cast", [x], to=graph.proto)
        blocks += _WRITERS[col.kind](graph, col, x, text)
    return blocks[0] if len(blocks) == 1 else graph.node("Concat", blocks, axis=1)


def _number(graph, col, x, text):
    """A number or boolean column: imputed (and, for numbers, scaled and clipped),
    then its missing indicator where it has one."""
    missing = graph.node("IsNaN", [x])
    value = graph.node("Where", [missing, graph.const(col.median), x])
    if col.kind == "number":
        value = graph.node("Mul", [graph.node("Sub", [value, graph.const(col.median)]),
                                   graph.const(col.scale)])
        if col.clip is not None:
            value = _smooth_clip(graph, value, col.clip)
    if col.missing and col.add_indicator:
        return [value, graph.node("Cast", [missing], to=graph.proto)]
    return [value]


def _smooth_clip(graph, z, bound):
    """``bound u / sqrt(1 + u^2)``, u = z / bound; as ``bound sign(u) / sqrt(1 +
    (1/u)^2)`` where |u| > 1 (no overflow: an infinite u gives +-bound)."""
    u = graph.node("Div", [z, graph.const(bound)])

    def root_of_one_plus_square(t):
        return graph.node("Sqrt", [graph.node("Add", [graph.const(1.0),
                                                      graph.node("Mul", [t, t])])])

    near = graph.node("Div", [u, root_of_one_plus_square(u)])
    far = graph.node("Div", [graph.node("Sign", [u]),
                             root_of_one_plus_square(graph.node("Reciprocal", [u]))])
    small = graph.node("LessOrEqual", [graph.node("Abs", [u]), graph.const(1.0)])
    return graph.node("Mul", [graph.const(bound), graph.node("Where", [small, near, far])])


def _text_code(graph, col, x):
    """The int64 code of each text value: 1 + its level's index, 0 if none."""
    return graph.node("LabelEncoder", [x], op_domain="ai.onnx.ml", op_version=2,
                      keys_strings=[str(v) for v in col.levels],
                      values_int64s=list(range(1, len(col.levels) + 1)), default_int64=0)


def _missing(graph, x, text):
    """Whether each value is missing, in the graph's float type."""
    if not text:
        return graph.node("Cast", [graph.node("IsNaN", [x])], to=graph.proto)
    flag = graph.node("LabelEncoder", [x], op_domain="ai.onnx.ml", op_version=2,
                      keys_strings=list(MISSING_TEXT), values_int64s=[1] * len(MISSING_TEXT),
                      default_int64=0)
    return graph.node("Cast", [flag], to=graph.proto)


def _matches(graph, col, x, text):
    """(n, k): 1 where a value is the level of that column, else 0."""
    if text:
        codes = np.arange(1, len(col.levels) + 1)[None]
        hits = graph.node("Equal", [_text_code(graph, col, x), graph.const(codes, graph.INT64)])
    else:
        levels = np.array([float(v) for v in col.levels])[None]
        hits = graph.node("Equal", [x, graph.const(levels)])
    return graph.node("Cast", [hits], to=graph.proto)


def _one_hot(graph, col, x, text):
    """One 0/1 column per training level, and one for "missing" where fit saw it."""
    return [_matches(graph, col, x, text)] + [_missing(graph, x, text)] * col.missing


def _code(graph, col, x, text):
    """The code column: 1 + the level's index, 0 for missing and unseen values."""
    if text:
        return [graph.node("Cast", [_text_code(graph, col, x)], to=graph.proto)]
    codes = np.arange(1.0, len(col.levels) + 1)[:, None]
    return [graph.node("MatMul", [_matches(graph, col, x, text), graph.const(codes)])]


_WRITERS = {"number": _number, "bool": _number, "one_hot": _one_hot, "code": _code}
