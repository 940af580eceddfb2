"""Export fitted skbackprop models to ONNX, through skl2onnx (the ``onnx`` extra).

Importing this module registers converters for ``BackpropClassifier``,
``BackpropRegressor``, ``TabularClassifier`` and ``TabularRegressor`` with
skl2onnx, the way third-party estimators plug in (``update_registered_converter``):
after ``import skbackprop.onnx``, ``skl2onnx.to_onnx(model, X[:1])`` converts any of
them, alone or as the last step of a Pipeline or after a ColumnTransformer, and
onnxruntime serves the graph without Python. For a model fitted on a pandas
DataFrame, ``to_onnx(model, X_train[:1])`` gives the graph one input per column, as
skl2onnx does; the graph reads them by name and puts them side by side in the
fitted column order.

The graph is the forward pass, layer by layer, each layer written by its own
``onnx`` method (``_core.layers``): a Dense layer's ``Z = A W + b`` then its
activation, each written with ONNX operators whose formula is ours:

{activation table}

and the tabular layers (``_core.tabular``): a categorical embedding as ``Gather``
of its table's rows at the codes cast to int64, the periodic embedding (``Cos`` of
``2 pi x w + phase``, ``MatMul`` with V), the feature scale (``Mul``), the
parametric SELU and Mish (``x + m (f(x) - x)``, f from elementary operators), PReLU
and the NTK dense layer. A network with a layer that has no ``onnx`` method is
refused, naming the layer.

A tabular model's graph starts from its raw columns: the fitted
``TabularPreprocessor``'s encoding is written in the graph (``tabular._onnx``):
missing numbers take the training median, with their indicator; numbers are
centred, scaled and smoothly clipped; a category becomes its one-hot columns or its
embedding's code by comparison with the training levels, a missing value its
"missing" column or code 0 and an unseen one no column or code 0; a regressor's
output is de-standardised and clipped to the training range, as ``predict`` does.
The columns come in as numbers (NaN for a missing value; booleans as 0/1) or, for a
category of text, as strings. A table of numbers only (booleans and categories of
numbers included) can be one float input of all its columns, ``to_onnx(model,
X.to_numpy(numpy.float32)[:1])``; with text, one input per column:
``to_onnx(model, X_train[:1])`` where skl2onnx types every column from its dtype
(NumPy's and strings, not pandas' ``category`` and nullable dtypes), and in any case
``to_onnx(model, initial_types=initial_types(model))``, fed ``input_feed(model,
X)`` (the graph computes in float64 where any input is float64, else in float32,
a table of text only included). In a text
column, a missing value is what onnxruntime makes of None, NaN and pd.NA in an
object array: the strings 'None', 'nan' and '<NA>'. The graph does not check what
``predict`` refuses: infinite numbers, booleans other than 0/1, inputs of another
table.

Outputs follow sklearn-onnx's conventions. A classifier gives ``label`` and
``probabilities`` (a ZipMap of them unless ``options={"zipmap": False}``;
``"nocl": True`` gives class indices): binary (the probabilities of both classes),
multiclass, and multilabel (a 0/1 int64 indicator matrix and one probability per
label, two labels included). String labels come out as strings; integer (of every
dtype), boolean and integral float labels as int64 (booleans as 0/1), or as uint64
where a label is 2**63 or more (``uint64`` labels), exactly. A regressor gives
``variable`` of shape (n_samples, n_outputs), multi-output included. The graph
computes in the input's type: float32 for a ``FloatTensorType`` input (float64
weights rounded to float32), float64 for ``DoubleTensorType``. In a float64 graph,
``erf`` (gelu) is written with W. J. Cody's rational approximations, as onnxruntime
has no float64 ``Erf``: it equals scipy's ``erf`` to float64 rounding.

What cannot be converted is refused with a ``ValueError`` naming what and why and
the fix: class labels that are floats with a fraction (ONNX labels are integers or
strings) or whole numbers beyond both int64 and uint64, labels of 2**63 or more
with a ZipMap (its keys are int64: export with ``options={"zipmap": False}``),
inputs unlike the training columns (per-column inputs whose names are not the fitted
columns, or a number of columns other than the model's), and for a tabular model a
category of both text and numbers, a text level the graph would read as missing
('None', 'nan', '<NA>'), numeric levels that float32 does not hold exactly (in a
float32 graph), and a column given a numeric input where it holds text, or the
reverse.

Examples
--------
>>> import numpy as np
>>> import onnxruntime as ort
>>> from skl2onnx import to_onnx
>>> import skbackprop.onnx  # registers the converters
>>> from skbackprop import BackpropClassifier
>>> X = np.array([[8, 8], [7, 9], [6, 10], [5, 12]], dtype=np.float32)
>>> model = BackpropClassifier(hidden_layer_sizes=(3,), solver="lbfgs",
...                            random_state=0).fit(X, [0, 0, 1, 1])
>>> onx = to_onnx(model, X[:1], options={"zipmap": False})
>>> session = ort.InferenceSession(onx.SerializeToString(),
...                                providers=["CPUExecutionProvider"])
>>> labels, probabilities = session.run(None, {"X": X})
>>> bool((labels == model.predict(X)).all())
True
"""

import numbers
import textwrap
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import (
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
    UInt64TensorType,
)
from skl2onnx.proto import onnx_proto
from sklearn.utils.validation import check_is_fitted

from ._classifier import BackpropClassifier
from ._core.activations import ACTIVATIONS
from ._core.network import network_widths as _network_widths
from ._core.xp import to_numpy as _to_numpy
from ._regressor import BackpropRegressor
from .tabular import TabularClassifier as _TabularClassifier
from .tabular import TabularRegressor as _TabularRegressor
from .tabular import _onnx as _tabular_onnx

__all__ = ["CLASSIFIER_ALIAS", "ONNX_ACTIVATIONS", "REGRESSOR_ALIAS",
           "TABULAR_CLASSIFIER_ALIAS", "TABULAR_REGRESSOR_ALIAS", "initial_types",
           "input_feed", "label_values", "register"]

CLASSIFIER_ALIAS = "SkbackpropBackpropClassifier"
REGRESSOR_ALIAS = "SkbackpropBackpropRegressor"
TABULAR_CLASSIFIER_ALIAS = "SkbackpropTabularClassifier"
TABULAR_REGRESSOR_ALIAS = "SkbackpropTabularRegressor"


class _Graph:
    """Nodes and constants of the graph being written, in one float type.

    In a float64 graph, an operator onnxruntime runs in float32 only is written
    out from operators it runs in float64 (``_FLOAT64_SPELLINGS``), so that a
    builder writes ``graph.node("Erf", [x])`` whatever the graph's type.
    """

    # the element types a builder may name (Cast's ``to``, ``const``'s ``proto``)
    INT64, STRING = onnx_proto.TensorProto.INT64, onnx_proto.TensorProto.STRING

    def __init__(self, scope, container, double):
        self.scope, self.container = scope, container
        self.proto = onnx_proto.TensorProto.DOUBLE if double else onnx_proto.TensorProto.FLOAT
        self.dtype = np.float64 if double else np.float32

    def node(self, op_type, inputs, output=None, **attributes):
        """Add a node; returns its output's name (a fresh one unless given)."""
        if self.dtype == np.float64 and op_type in _FLOAT64_SPELLINGS:
            result = _FLOAT64_SPELLINGS[op_type](self, *inputs, **attributes)
            return self.node("Identity", [result], output) if output else result
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(op_type, inputs, output,
                                name=self.scope.get_unique_operator_name(op_type),
                                **attributes)
        return output

    def const(self, values, proto=None):
        """A constant (initializer) holding ``values``; returns its name."""
        name = self.scope.get_unique_variable_name("const")
        values = np.asarray(values)
        if proto is None:
            proto, values = self.proto, values.astype(self.dtype)
        if proto == onnx_proto.TensorProto.STRING:
            flat = [str(v).encode("utf-8") for v in values.ravel()]
        else:
            flat = values.ravel().tolist()
        self.container.add_initializer(name, proto, list(values.shape), flat)
        return name


# W. J. Cody's rational approximations of erf and erfc ("Rational Chebyshev
# approximations for the error function", Math. Comp. 23, 1969; Netlib's specfun
# CALERF), accurate to float64 rounding; each polynomial's highest power first
_ERF_SMALL = (  # erf(x) = x P(x^2) / Q(x^2) for |x| <= 0.46875
    (1.85777706184603153e-1, 3.16112374387056560e0, 1.13864154151050156e2,
     3.77485237685302021e2, 3.20937758913846947e3),
    (1.0, 2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3,
     2.84423683343917062e3))
_ERFC_MIDDLE = (  # erfc(a) = exp(-a^2) P(a) / Q(a) for 0.46875 < a <= 4
    (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e0,
     6.61191906371416295e1, 2.98635138197400131e2, 8.81952221241769090e2,
     1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3),
    (1.0, 1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2,
     1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3,
     3.43936767414372164e3, 1.23033935480374942e3))
_ERFC_LARGE = (  # erfc(a) = exp(-a^2) (1/sqrt(pi) - t P(t) / Q(t)) / a, t = 1/a^2, a > 4
    (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
     1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4),
    (1.0, 2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1,
     6.05183413124413191e-2, 2.33520497626869185e-3))


def _rational(graph, x, coefficients):
    """``P(x) / Q(x)`` by Horner's rule, from the (P, Q) coefficients."""
    def horner(c):
        value = graph.const(c[0])
        for a in c[1:]:
            value = graph.node("Add", [graph.node("Mul", [value, x]), graph.const(a)])
        return value

    return graph.node("Div", [horner(coefficients[0]), horner(coefficients[1])])


def _erf(graph, x):
    """``erf(x)`` from Abs, Mul, Div, Add, Sub, Exp, Sign and Where (onnxruntime has
    no float64 ``Erf``): Cody's approximations, ``sign(x) (1 - erfc(|x|))`` beyond
    |x| = 0.46875. (A branch evaluated away from its interval may be inf or nan;
    ``Where`` takes the other.)"""
    a = graph.node("Abs", [x])
    square = graph.node("Mul", [a, a])
    small = graph.node("Mul", [x, _rational(graph, square, _ERF_SMALL)])
    gauss = graph.node("Exp", [graph.node("Neg", [square])])
    t = graph.node("Reciprocal", [square])
    tail = graph.node("Sub", [graph.const(1 / np.sqrt(np.pi)),
                              graph.node("Mul", [t, _rational(graph, t, _ERFC_LARGE)])])
    erfc = graph.node("Mul", [gauss, graph.node("Where", [
        graph.node("LessOrEqual", [a, graph.const(4.0)]),
        _rational(graph, a, _ERFC_MIDDLE), graph.node("Div", [tail, a])])])
    large = graph.node("Mul", [graph.node("Sign", [x]),
                               graph.node("Sub", [graph.const(1.0), erfc])])
    return graph.node("Where", [graph.node("LessOrEqual", [a, graph.const(0.46875)]),
                                small, large])


# operators onnxruntime runs in float32 only -> (graph, *inputs) -> their float64 spelling
_FLOAT64_SPELLINGS = {"Erf": _erf}


class _OnnxActivations(Mapping):
    """name -> ONNX builder ``(graph, z) -> name of f(z)`` of every registered
    activation that has one (``Activation.onnx``): a view of the registry, so an
    activation registered later is exported too."""

    def __getitem__(self, name):
        builder = ACTIVATIONS[name].onnx
        if builder is None:
            raise KeyError(name)
        return builder

    def __iter__(self):
        return (name for name, f in ACTIVATIONS.items() if f.onnx is not None)

    def __len__(self):
        return sum(1 for _ in self)


ONNX_ACTIVATIONS = _OnnxActivations()


def _activation_table():
    """The docs' table of every activation's ONNX spelling, from the records."""
    rule = "=" * 14 + "  " + "=" * 62
    rows = [rule, f"{'activation':<14}  ONNX", rule]
    for name, build in ONNX_ACTIVATIONS.items():
        text = " ".join((build.__doc__ or "").split())
        if ACTIVATIONS[name].onnx_float32_only:
            text += "; float32 graphs only, as " + ACTIVATIONS[name].onnx_float32_only
        lines = textwrap.wrap(text, 62) or [""]
        rows += [f"{name:<14}  {lines[0]}", *(f"{'':<14}  {line}" for line in lines[1:])]
    return "\n".join([*rows, rule])


if __doc__ is not None:  # (python -OO strips docstrings)
    __doc__ = __doc__.replace("{activation table}", _activation_table())


def _forward(graph, estimator, inputs):
    """The network's output A_L for the operator's input variables."""
    check_is_fitted(estimator)
    return _network(graph, estimator, _input(graph, estimator, inputs),
                    estimator.n_features_in_)


def _network(graph, estimator, X, n_features):
    """The fitted network's output A_L for its input matrix X (n_features
    columns): every layer's ONNX spelling (its ``onnx`` method), in order."""
    layers, params = estimator._fitted_network()
    _check_layers(graph, layers)
    A = X
    for layer, ps, fan_in in zip(layers, params, _network_widths(layers, n_features)):
        A = layer.onnx(graph, A, [_to_numpy(p) for p in ps], fan_in)
    return A


def _check_layers(graph, layers):
    """Refuse, with the reason, a layer or activation without an ONNX spelling,
    and one whose spelling runs in float32 only in a float64 graph."""
    for number, layer in enumerate(layers, start=1):
        if not callable(getattr(layer, "onnx", None)):
            raise ValueError(
                f"Cannot export this network to ONNX: its layer {number} (of kind "
                f"{layer.kind!r}) has no ONNX spelling (an onnx(graph, A_in, params, "
                "fan_in) method, see skbackprop._core.layers).")
        name = getattr(layer, "activation", None)
        if name is None:
            continue
        if name not in ONNX_ACTIVATIONS:
            raise ValueError(f"Cannot export activation {name!r} to ONNX: it has no "
                             "ONNX spelling (its record's onnx builder is None).")
        reason = ACTIVATIONS[name].onnx_float32_only
        if reason and graph.dtype == np.float64:
            raise ValueError(
                f"Cannot export a {name} network to a float64 ONNX graph, as {reason} "
                "(its ONNX spelling needs it, and a float64 graph would not run "
                "there).\nFix: export with a float32 input, e.g. "
                "to_onnx(model, X[:1].astype(numpy.float32)).")


def _input(graph, estimator, inputs):
    """X, (n_samples, n_features_in_) in the graph's float type: the one input, or
    the inputs (one per column of a DataFrame) side by side in the fitted order."""
    if len(inputs) > 1:
        inputs = _in_fitted_order(estimator, inputs)
    widths = [_width(variable) for variable in inputs]
    if None not in widths and sum(widths) != estimator.n_features_in_:
        raise ValueError(
            f"Cannot export this model for inputs of {sum(widths)} columns in all: it "
            f"was fitted on {estimator.n_features_in_} features.\nFix: convert with "
            "rows like the training data, e.g. to_onnx(model, X_train[:1]).")
    columns = [graph.node("Cast", [variable.full_name], to=graph.proto)
               for variable in inputs]
    return columns[0] if len(columns) == 1 else graph.node("Concat", columns, axis=1)


def _in_fitted_order(estimator, inputs):
    """The inputs in the order of the columns fitted (``feature_names_in_``), each
    input one column named after one fitted column; as given without names."""
    if not hasattr(estimator, "feature_names_in_"):
        return inputs
    fitted = [str(name) for name in estimator.feature_names_in_]
    by_name = {variable.raw_name: variable for variable in inputs}
    if sorted(by_name) != sorted(fitted) or len(by_name) != len(inputs) or any(
            _width(variable) not in (1, None) for variable in inputs):
        raise ValueError(
            f"Cannot export this model for the inputs {sorted(by_name)}: it was fitted "
            f"on the columns {fitted}, and several inputs are read as one per column, "
            "by name.\nFix: convert with a DataFrame of the fitted columns, e.g. "
            "to_onnx(model, X_train[:1]), or with one input of all the columns in the "
            "fitted order, e.g. to_onnx(model, X_train[:1].to_numpy(numpy.float32)).")
    return [by_name[name] for name in fitted]


def _width(variable):
    """The number of columns of a 2-d input, None where unknown."""
    shape = getattr(variable.type, "shape", None) or []
    return shape[1] if len(shape) == 2 and isinstance(shape[1], numbers.Integral) else None


def _is_double(operator):
    """A float64 graph: for any float64 input (the graph computes in float32
    otherwise, int and bool inputs included)."""
    return any(isinstance(variable.type, DoubleTensorType) for variable in operator.inputs)


def _float_type(operator):
    return DoubleTensorType if _is_double(operator) else FloatTensorType


def label_values(estimator, nocl=False):
    """The class labels as ONNX can hold them, and their tensor type: strings, or
    whole numbers (integers of any dtype, booleans as 0/1, floats without a
    fraction) as int64, or as uint64 where a label is 2**63 or more."""
    classes = np.asarray(estimator.classes_)
    if nocl or estimator._y_type == "multilabel-indicator":
        return np.arange(len(classes), dtype=np.int64), Int64TensorType
    if classes.dtype.kind in "biuf" or all(isinstance(c, numbers.Integral)
                                           for c in classes):  # (object arrays)
        return _whole_labels(classes)
    return classes.astype(str), StringTensorType


def _whole_labels(classes):
    """Whole-number labels exactly, as int64 where they fit, else uint64."""
    if classes.dtype.kind == "f" and not np.all(np.mod(classes, 1) == 0):
        raise ValueError(
            f"Cannot export class labels {classes.tolist()} to ONNX: ONNX labels are "
            "integers or strings, and these floats have fractions.\nFix: encode the "
            "labels as integers or strings before fitting, or export with "
            "options={'nocl': True} to get class indices.")
    values = [int(c) for c in classes.tolist()]  # (Python ints: exact, unbounded)
    for dtype, tensor_type in ((np.int64, Int64TensorType), (np.uint64, UInt64TensorType)):
        if all(np.iinfo(dtype).min <= v <= np.iinfo(dtype).max for v in values):
            return np.array(values, dtype=dtype), tensor_type
    raise ValueError(
        f"Cannot export class labels {classes.tolist()} to ONNX: ONNX integer labels "
        "are int64 or uint64, and these span beyond both.\nFix: encode the labels as "
        "strings before fitting, or export with options={'nocl': True} to get class "
        "indices (model.classes_[index] is the label).")


_LABEL_PROTOS = {StringTensorType: onnx_proto.TensorProto.STRING,
                 Int64TensorType: onnx_proto.TensorProto.INT64,
                 UInt64TensorType: onnx_proto.TensorProto.UINT64}


def _classifier_shapes(operator):
    estimator = operator.raw_operator
    check_is_fitted(estimator)
    n = operator.inputs[0].get_first_dimension()
    options = operator.scope_inst.get_options(estimator, {"nocl": False, "zipmap": True})
    classes, label_type = label_values(estimator, options["nocl"])
    if label_type is UInt64TensorType and options["zipmap"] is not False:
        raise ValueError(
            f"Cannot export class labels {estimator.classes_.tolist()} to ONNX with a "
            "ZipMap: its keys are int64 or strings, and these labels reach 2**63 or "
            "more.\nFix: export with options={'zipmap': False} (the labels come out as "
            "uint64), or with options={'nocl': True} to get class indices.")
    multilabel = estimator._y_type == "multilabel-indicator"
    operator.outputs[0].type = (Int64TensorType([n, len(classes)]) if multilabel
                                else label_type([n]))
    operator.outputs[1].type = _float_type(operator)([n, len(classes)])


def _convert_classifier(scope, operator, container):
    graph = _Graph(scope, container, _is_double(operator))
    _classifier_outputs(graph, operator, _forward(graph, operator.raw_operator,
                                                  operator.inputs))


def _classifier_outputs(graph, operator, A):
    """The operator's label and probabilities outputs from the output layer's A."""
    estimator, scope = operator.raw_operator, graph.scope
    label, probabilities = operator.outputs[0].full_name, operator.outputs[1].full_name
    if estimator._y_type == "multilabel-indicator":  # (whatever the number of labels)
        graph.node("Identity", [A], probabilities)
        graph.node("Cast", [graph.node("Greater", [A, graph.const(0.5)])], label,
                   to=onnx_proto.TensorProto.INT64)
        return
    if estimator._y_type == "binary":  # P(first class) = 1 - A
        graph.node("Concat", [graph.node("Sub", [graph.const([[1.0]]), A]), A],
                   probabilities, axis=1)
    else:
        graph.node("Identity", [A], probabilities)
    # the first largest probability: for binary, A > 0.5 exactly as predict decides
    index = graph.node("ArgMax", [probabilities], axis=1, keepdims=0)
    nocl = scope.get_options(estimator, {"nocl": False})["nocl"]
    classes, label_type = label_values(estimator, nocl)
    if nocl:
        graph.node("Identity", [index], label)
        return
    graph.node("Gather", [graph.const(classes, _LABEL_PROTOS[label_type]), index],
               label, axis=0)


def _regressor_shapes(operator):
    estimator = operator.raw_operator
    check_is_fitted(estimator)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _float_type(operator)([n, estimator.n_outputs_])


def _convert_regressor(scope, operator, container):
    graph = _Graph(scope, container, _is_double(operator))
    A = _forward(graph, operator.raw_operator, operator.inputs)
    graph.node("Identity", [A], operator.outputs[0].full_name)


# ---------------------------------------------------- the tabular estimators
def _tabular_forward(graph, estimator, inputs):
    """The network's output for raw columns: the fitted preprocessor's encoding
    (``tabular._onnx``), then the network (each network of an ensemble, and
    their mean)."""
    check_is_fitted(estimator)
    preprocessor = estimator.preprocessor_
    columns = _raw_columns(graph, estimator, inputs)
    _tabular_onnx.check_exportable(preprocessor, [text for _, text in columns], graph.dtype)
    X = _tabular_onnx.encode(graph, preprocessor, columns)
    outputs = [_network(graph, network, X, len(preprocessor.output_kinds_))
               for network in [estimator, *getattr(estimator, "ensemble_", [])]]
    if len(outputs) == 1:
        return outputs[0]
    total = outputs[0]  # an ensemble's: the mean of its networks', as predict's
    for A in outputs[1:]:  # (added in turn, then divided: NumPy's order)
        total = graph.node("Add", [total, A])
    return graph.node("Div", [total, graph.const(float(len(outputs)))])


def _raw_columns(graph, estimator, inputs):
    """``(name, is_text)`` of an (n, 1) tensor per raw column, in fitted order: the
    inputs (one per column, by name), or the columns of the one input."""
    if len(inputs) > 1:
        return [(v.full_name, isinstance(v.type, StringTensorType))
                for v in _in_fitted_order(estimator, inputs)]
    (variable,) = inputs
    width = _width(variable)
    if width not in (None, estimator.n_features_in_):
        raise ValueError(
            f"Cannot export this model for an input of {width} columns: it was fitted "
            f"on {estimator.n_features_in_} columns.\nFix: convert with rows like the "
            "training data, e.g. to_onnx(model, initial_types=initial_types(model)).")
    text = isinstance(variable.type, StringTensorType)
    return [(graph.node("Gather", [variable.full_name, graph.const([j], graph.INT64)],
                        axis=1), text) for j in range(estimator.n_features_in_)]


def _convert_tabular_classifier(scope, operator, container):
    graph = _Graph(scope, container, _is_double(operator))
    _classifier_outputs(graph, operator, _tabular_forward(graph, operator.raw_operator,
                                                          operator.inputs))


def _convert_tabular_regressor(scope, operator, container):
    """The regressor's output A de-standardised and clipped to the training range,
    ``min(max(A scale + center, low), high)``, as its ``predict``."""
    estimator = operator.raw_operator
    graph = _Graph(scope, container, _is_double(operator))
    A = _tabular_forward(graph, estimator, operator.inputs)
    y = graph.node("Add", [graph.node("Mul", [A, graph.const(estimator._y_scale[None])]),
                           graph.const(estimator._y_center[None])])
    y = graph.node("Max", [y, graph.const(estimator._y_min[None])])
    graph.node("Min", [y, graph.const(estimator._y_max[None])], operator.outputs[0].full_name)


def initial_types(model, dtype=np.float32):
    """The inputs of a fitted model's graph, one per raw column, for
    ``to_onnx(model, initial_types=...)``.

    Parameters
    ----------
    model : fitted TabularClassifier, TabularRegressor, BackpropClassifier or
        BackpropRegressor
    dtype : numpy.float32 or numpy.float64, default=numpy.float32
        The type of the numeric inputs, which is the graph's.

    Returns
    -------
    types : list of (str, skl2onnx tensor type)
        Each column's name (``feature_names_in_``, else ``x0, x1, ...``) and type,
        of shape [None, 1]: a string tensor for a category column whose levels are
        all text, a ``dtype`` tensor for every other column.

    Examples
    --------
    >>> import pandas as pd
    >>> from skbackprop.tabular import TabularRegressor
    >>> X = pd.DataFrame({"size": [1.0, 2.0, None, 4.0] * 10,
    ...                   "city": ["Oslo", "Rome", None, "Oslo"] * 10})
    >>> model = TabularRegressor(hidden_layer_sizes=(4,), solver="lbfgs", dropout=0.0,
    ...                          random_state=0).fit(X, [1.0, 2.0, 3.0, 4.0] * 10)
    >>> [(name, type(t).__name__) for name, t in initial_types(model)]
    [('size', 'FloatTensorType'), ('city', 'StringTensorType')]
    """
    check_is_fitted(model)
    tensor = {np.dtype(np.float32): FloatTensorType, np.dtype(np.float64): DoubleTensorType}
    if np.dtype(dtype) not in tensor:
        raise ValueError(f"initial_types takes dtype numpy.float32 or numpy.float64, got "
                         f"{dtype!r}: the numeric inputs' type is the graph's.")
    names, text = _raw_column_kinds(model)
    return [(name, StringTensorType([None, 1]) if is_text
             else tensor[np.dtype(dtype)]([None, 1])) for name, is_text in zip(names, text)]


def input_feed(model, X, dtype=np.float32):
    """What ``InferenceSession.run`` takes for the rows of the raw table X, for a
    graph with ``initial_types(model, dtype)``: one (n, 1) array per column,
    numbers as ``dtype`` (NaN for a missing value, booleans as 0/1) and text as
    objects (a missing value as None, which the graph reads as missing).

    Parameters
    ----------
    model : fitted estimator
        As for :func:`initial_types`.
    X : DataFrame or array-like of shape ``(n_samples, n_features_in_)``
        Rows as ``predict`` takes them (a DataFrame's columns by position, in the
        fitted order).
    dtype : numpy.float32 or numpy.float64, default=numpy.float32

    Returns
    -------
    feed : dict of str to ndarray
    """
    names, text = _raw_column_kinds(model)
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))
    if frame.shape[1] != len(names):
        raise ValueError(f"input_feed got {frame.shape[1]} columns; the model was fitted "
                         f"on {len(names)}.\nFix: pass the columns of the training data.")
    feed = {}
    for j, (name, is_text) in enumerate(zip(names, text)):
        column = frame.iloc[:, j].astype(object)
        column = column.where(column.notna(), None if is_text else np.nan)
        feed[name] = column.to_numpy(dtype=object if is_text else dtype)[:, None]
    return feed


def _raw_column_kinds(model):
    """The raw columns' names, and whether each is read from a string input."""
    check_is_fitted(model)
    names = getattr(model, "feature_names_in_", None)
    preprocessor = getattr(model, "preprocessor_", None)
    if names is None:
        names = [f"x{j}" for j in range(model.n_features_in_)]
    text = (_tabular_onnx.input_is_text(preprocessor) if preprocessor is not None
            else [False] * model.n_features_in_)
    return [str(name) for name in names], text


def register():
    """Register the converters with skl2onnx (done on import; again is harmless)."""
    classifier_options = {"zipmap": [True, False, "columns"], "nocl": [True, False]}
    with warnings.catch_warnings():  # re-registering warns "already registered"
        warnings.simplefilter("ignore")
        update_registered_converter(
            BackpropClassifier, CLASSIFIER_ALIAS, _classifier_shapes, _convert_classifier,
            options=classifier_options)
        update_registered_converter(
            BackpropRegressor, REGRESSOR_ALIAS, _regressor_shapes, _convert_regressor)
        update_registered_converter(
            _TabularClassifier, TABULAR_CLASSIFIER_ALIAS, _classifier_shapes,
            _convert_tabular_classifier, options=classifier_options)
        update_registered_converter(
            _TabularRegressor, TABULAR_REGRESSOR_ALIAS, _regressor_shapes,
            _convert_tabular_regressor)


register()
