"""Export fitted skbackprop models to ONNX, through skl2onnx (the ``onnx`` extra).

Importing this module registers converters for ``BackpropClassifier`` and
``BackpropRegressor`` with skl2onnx, the way third-party estimators plug in
(``update_registered_converter``): after ``import skbackprop.onnx``,
``skl2onnx.to_onnx(model, X[:1])`` converts either estimator, alone or as the last
step of a Pipeline or after a ColumnTransformer, and onnxruntime serves the graph
without Python.

The graph is the forward pass, layer by layer, ``Z = A W + b`` then the layer's
activation, each written with ONNX operators whose formula is ours:

{activation table}

Outputs follow sklearn-onnx's conventions. A classifier gives ``label`` and
``probabilities`` (a ZipMap of them unless ``options={"zipmap": False}``;
``"nocl": True`` gives class indices): binary (the probabilities of both classes),
multiclass, and multilabel (a 0/1 int64 indicator matrix and one probability per
label, two labels included). String labels come out as strings; integer, boolean
and integral float labels as int64 (booleans as 0/1). A regressor gives
``variable`` of shape (n_samples, n_outputs), multi-output included. The graph
computes in the input's type: float32 for a ``FloatTensorType`` input (float64
weights rounded to float32), float64 for ``DoubleTensorType``.

What cannot be converted is refused with a ``ValueError`` naming what and why:
class labels that are floats with a fraction (ONNX labels are int64 or strings), a
gelu network in a float64 graph.

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
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import (
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
)
from skl2onnx.proto import onnx_proto
from sklearn.utils.validation import check_is_fitted

from ._classifier import BackpropClassifier
from ._core.activations import ACTIVATIONS
from ._core.xp import to_numpy as _to_numpy
from ._regressor import BackpropRegressor

__all__ = ["CLASSIFIER_ALIAS", "ONNX_ACTIVATIONS", "REGRESSOR_ALIAS", "label_values", "register"]

CLASSIFIER_ALIAS = "SkbackpropBackpropClassifier"
REGRESSOR_ALIAS = "SkbackpropBackpropRegressor"


class _Graph:
    """Nodes and constants of the graph being written, in one float type."""

    def __init__(self, scope, container, double):
        self.scope, self.container = scope, container
        self.proto = onnx_proto.TensorProto.DOUBLE if double else onnx_proto.TensorProto.FLOAT
        self.dtype = np.float64 if double else np.float32

    def node(self, op_type, inputs, output=None, **attributes):
        """Add a node; returns its output's name (a fresh one unless given)."""
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


def _forward(graph, estimator, X):
    """The network's output A_L for the input named X."""
    check_is_fitted(estimator)
    if vars(estimator).get("_layer_parameters"):
        raise ValueError("Cannot export this network to ONNX: the converter writes "
                         "Dense layers, and it has layers of other kinds.")
    activations = estimator._layer_activations()
    missing = [name for name in activations if name not in ONNX_ACTIVATIONS]
    if missing:
        raise ValueError(f"Cannot export activation {missing[0]!r} to ONNX: it has no "
                         "ONNX spelling (its record's onnx builder is None).")
    for name in activations:
        reason = ACTIVATIONS[name].onnx_float32_only
        if reason and graph.dtype == np.float64:
            raise ValueError(
                f"Cannot export a {name} network to a float64 ONNX graph, as {reason} "
                "(its ONNX spelling needs it, and a float64 graph would not run "
                "there).\nFix: export with a float32 input, e.g. "
                "to_onnx(model, X[:1].astype(numpy.float32)).")
    A = graph.node("Cast", [X], to=graph.proto)
    for W, b, name in zip(estimator.coefs_, estimator.intercepts_, activations):
        Z = graph.node("Add", [graph.node("MatMul", [A, graph.const(_to_numpy(W))]),
                               graph.const(_to_numpy(b))])
        A = ONNX_ACTIVATIONS[name](graph, Z)
    return A


def _is_double(variable):
    return isinstance(variable.type, DoubleTensorType)


def _float_type(operator):
    return DoubleTensorType if _is_double(operator.inputs[0]) else FloatTensorType


def label_values(estimator, nocl=False):
    """The class labels as ONNX can hold them, and their tensor type: strings, or
    int64 (integers, booleans as 0/1, floats without a fraction)."""
    classes = np.asarray(estimator.classes_)
    if nocl or estimator._y_type == "multilabel-indicator":
        return np.arange(len(classes), dtype=np.int64), Int64TensorType
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64), Int64TensorType
    if classes.dtype.kind == "f":
        if not np.all(np.mod(classes, 1) == 0):
            raise ValueError(
                f"Cannot export class labels {classes.tolist()} to ONNX: ONNX labels are "
                "int64 or strings, and these floats have fractions.\nFix: encode the "
                "labels as integers or strings before fitting, or export with "
                "options={'nocl': True} to get class indices.")
        return classes.astype(np.int64), Int64TensorType
    if all(isinstance(c, numbers.Integral) for c in classes):  # (object arrays)
        return classes.astype(np.int64), Int64TensorType
    return classes.astype(str), StringTensorType


def _classifier_shapes(operator):
    estimator = operator.raw_operator
    check_is_fitted(estimator)
    n = operator.inputs[0].get_first_dimension()
    nocl = operator.scope_inst.get_options(estimator, {"nocl": False})["nocl"]
    classes, label_type = label_values(estimator, nocl)
    multilabel = estimator._y_type == "multilabel-indicator"
    operator.outputs[0].type = (Int64TensorType([n, len(classes)]) if multilabel
                                else label_type([n]))
    operator.outputs[1].type = _float_type(operator)([n, len(classes)])


def _convert_classifier(scope, operator, container):
    estimator = operator.raw_operator
    graph = _Graph(scope, container, _is_double(operator.inputs[0]))
    A = _forward(graph, estimator, operator.inputs[0].full_name)
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
    proto = (onnx_proto.TensorProto.STRING if label_type is StringTensorType
             else onnx_proto.TensorProto.INT64)
    graph.node("Gather", [graph.const(classes, proto), index], label, axis=0)


def _regressor_shapes(operator):
    estimator = operator.raw_operator
    check_is_fitted(estimator)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _float_type(operator)([n, estimator.n_outputs_])


def _convert_regressor(scope, operator, container):
    graph = _Graph(scope, container, _is_double(operator.inputs[0]))
    A = _forward(graph, operator.raw_operator, operator.inputs[0].full_name)
    graph.node("Identity", [A], operator.outputs[0].full_name)


def register():
    """Register the converters with skl2onnx (done on import; again is harmless)."""
    with warnings.catch_warnings():  # re-registering warns "already registered"
        warnings.simplefilter("ignore")
        update_registered_converter(
            BackpropClassifier, CLASSIFIER_ALIAS, _classifier_shapes, _convert_classifier,
            options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
        update_registered_converter(
            BackpropRegressor, REGRESSOR_ALIAS, _regressor_shapes, _convert_regressor)


register()
