"""The backprop trace: every number of one forward and backward pass, by name.

Units are named as in the tutorials: inputs ``x1, x2, ...``, hidden units ``h1, h2,
...`` (``h1_1, h1_2, ...`` for the first of several hidden layers), outputs ``o1,
o2, ...``. A weight is named by the units it joins, ``w(x1->h2)``, a bias by its
unit, ``b(h2)``.
"""

import copy
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn.utils import check_random_state

from .._core.activations import ACTIVATIONS
from .._core.losses import get_loss
from .._core.network import loss_and_gradients
from .._core.xp import host_input, on_host
from .._labels import class_sample_weight
from .._prepare import prepare
from ._unwrap import backprop_estimator

__all__ = ["BackpropTrace", "Problem", "backprop_trace", "render", "trace_problem",
           "training_problem"]


class BackpropTrace(NamedTuple):
    """What ``backprop_trace`` returns; ``str(trace)`` renders the walk-through."""

    units: pd.DataFrame
    """One row per (sample, unit): net input z, output a, and for every non-input
    unit dL/da (the error arriving at its output), da/dz (its local derivative) and
    delta = dL/dz. The deltas include the loss's 1/n (or sample-weight) factor."""
    params: pd.DataFrame
    """One row per weight and bias: its value, dL/dparam (the sum over samples of
    delta x input, plus the L2 term for weights), and the value after one plain
    gradient-descent step, value - learning_rate x dL/dparam."""
    factors: pd.DataFrame
    """One row per (parameter, sample): the chain-rule factors of its gradient, the
    delta of the unit it feeds and the input it carries (1 for a bias)."""
    loss: float
    """The loss these gradients differentiate: as the estimator's ``loss_``."""
    learning_rate: float

    def __str__(self):
        return render(self)


def _unit_names(widths, layers=None):
    """x1.. for the inputs, h1.. (h{l}_1.. with several hidden layers) for a hidden
    Dense layer's units, {kind}{l}_1.. for another layer's outputs (``layers``;
    None: a perceptron's), o1.. for the output layer's."""
    n_hidden = len(widths) - 2
    names = [[f"x{i + 1}" for i in range(widths[0])]]
    for layer in range(1, n_hidden + 1):
        kind = "dense" if layers is None else layers[layer - 1].kind
        prefix = ("h" if n_hidden == 1 else f"h{layer}_") if kind == "dense" else (
            f"{kind}{layer}_")
        names.append([f"{prefix}{j + 1}" for j in range(widths[layer])])
    names.append([f"o{k + 1}" for k in range(widths[-1])])
    return names


def _dense(A):
    """The inputs may be a scipy sparse matrix; the tables want plain arrays."""
    return A.toarray() if issparse(A) else A


class Problem(NamedTuple):
    """What training differentiates: the spec, the weights, and the data."""

    spec: object  # the frozen Spec (_engine.spec): layers, loss, alpha, ...
    params: list  # one list per layer
    X: object
    Y: object
    sample_weight: object


def training_problem(estimator, X, y, sample_weight=None, classes=None, *,
                     caller="backprop_trace"):
    """What training differentiates, for the teaching tools: a ``Problem`` with
    the data validated and encoded as fit would, the spec fit would resolve, and
    the weights: ``estimator``'s if fitted, else the starting weights a fit would
    use (drawn, or with ``warm_start=True`` those assigned to ``coefs_`` and
    ``intercepts_``). The same path as fit (``_prepare``); ``estimator`` is left
    untouched. ``classes`` (classifiers) as in partial_fit: for rows that miss
    some. ``class_weight='balanced'`` weighs the classes of ``y`` as fit on these
    rows would (partial_fit's refusal, for batches that do not show the class
    frequencies, is no concern of a trace). Everything is computed on the host: a
    model fitted on a device, and arrays of another namespace, are brought there
    first. A Pipeline gives its last step, X passed through the steps before it
    (``inspection._unwrap.backprop_estimator``)."""
    estimator, X = backprop_estimator(estimator, X, y, caller=caller)
    estimator = on_host(estimator)
    X, y, sample_weight = host_input(X), host_input(y), host_input(sample_weight)
    incremental = estimator.__sklearn_is_fitted__() or classes is not None
    balanced = incremental and _balanced(estimator)
    if balanced:  # the weights are computed below, from the checked targets
        estimator = copy.copy(estimator)
        estimator.class_weight = None
    p = prepare(estimator, X, y, sample_weight, incremental=incremental,
                rng=check_random_state(estimator.random_state), classes=classes,
                assigned=estimator.warm_start)  # (assigned weights: with warm_start)
    data = p.data
    if balanced:  # as fit weighs them: compute_sample_weight("balanced", y)
        weights = class_sample_weight("balanced", data.y, incremental=False)
        weights = weights if data.sample_weight is None else data.sample_weight * weights
        data = data._replace(sample_weight=weights.astype(data.Y.dtype))
    return Problem(p.spec, p.weights, data.X, data.Y, data.sample_weight)


def _balanced(estimator):
    """Whether ``estimator`` weighs its classes with ``class_weight='balanced'``."""
    class_weight = getattr(estimator, "class_weight", None)
    return isinstance(class_weight, str) and class_weight == "balanced"


def backprop_trace(estimator, X, y, learning_rate=None, sample_weight=None,
                   classes=None):
    """Trace one forward and backward pass of an estimator over a few rows.

    Uses the estimator's own forward pass, loss and backward pass (a fitted
    estimator's weights, or for an unfitted one the starting weights a fit would use,
    including weights assigned with ``warm_start=True``), and reports every value the
    chain rule combines, in the tutorials' walk-through: how much the loss changes
    with respect to each weight, as the product of the error at the unit the weight
    feeds and the input it carries, and the weight after one gradient-descent step.

    Parameters
    ----------
    estimator : BackpropRegressor, BackpropClassifier or Pipeline
        A Pipeline is traced at its last step (a Backprop estimator), with X
        passed through the steps before it (fitted on X first in an unfitted
        pipeline, on a copy).
    X : array-like of shape (n_samples, n_features)
        A few rows (every unit of every row is reported).
    y : array-like
    learning_rate : float, default=None
        For the updated values; the estimator's ``learning_rate_init`` if None.
        The update shown is plain gradient descent, ``w - learning_rate * dL/dw``:
        what ``solver="sgd"`` with ``momentum=0`` does with this batch.
    sample_weight : array-like of shape (n_samples,), default=None
        Times the class weights of a classifier's ``class_weight``
        (``'balanced'``: from the classes of ``y``, as fit on these rows).
    classes : array-like, default=None
        For an unfitted classifier traced on rows that miss some classes (a single
        row, say): all the classes, as in ``partial_fit``.

    Returns
    -------
    trace : BackpropTrace
        DataFrames ``units``, ``params`` and ``factors``, the ``loss`` and the
        ``learning_rate``; ``print(trace)`` shows the walk-through.

    Examples
    --------
    >>> from skbackprop import BackpropRegressor, backprop_trace
    >>> from skbackprop.datasets import load_placement
    >>> X, y = load_placement(return_X_y=True)
    >>> reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
    ...                         weight_init=0.1, learning_rate_init=0.002)
    >>> trace = backprop_trace(reg, X[:1], y[:1])
    >>> w5 = trace.params.set_index("name").loc["w(h1->o1)"]
    >>> w5[["value", "gradient", "updated"]].astype(float).round(4).tolist()
    [0.1, -5.888, 0.1118]
    >>> print(str(trace).splitlines()[-9])  # doctest: +NORMALIZE_WHITESPACE
    dL/dw(h1->o1) = sum over samples of delta(o1) x out(h1) = -3.68 x 1.6 + 1e-05 (L2)
    = -5.88799;  w(h1->o1) <- 0.1 - 0.002 x -5.88799 = 0.111776
    """
    problem = training_problem(estimator, X, y, sample_weight, classes)
    return trace_problem(problem, learning_rate)


def trace_problem(problem, learning_rate=None):
    """``backprop_trace`` of a ``Problem`` (``training_problem``'s)."""
    spec, X, Y, sample_weight = problem.spec, problem.X, problem.Y, problem.sample_weight
    layers, loss = spec.layers, spec.loss
    record = {}
    value, grads = loss_and_gradients(X, Y, sample_weight, layers, problem.params, loss,
                                      spec.alpha, record=record)
    learning_rate = float(spec.learning_rate_init if learning_rate is None
                          else learning_rate)
    names = _unit_names(spec.model.widths, layers)
    n = X.shape[0]
    scale = (np.full(n, 1 / n) if sample_weight is None
             else sample_weight / sample_weight.sum())

    # the output layer's dL/da and da/dz (softmax's da/dz is a matrix: not per unit)
    A_out = record["outputs"][-1]
    with np.errstate(divide="ignore", invalid="ignore"):  # where a probability is 0 or 1
        record["upstream"][-1] = get_loss(loss).dL_dA(Y, A_out) * scale[:, np.newaxis]
    unit_rows = _unit_rows(record, names, layers, n)
    param_rows, factor_rows = _param_rows(problem, record, names, grads, learning_rate,
                                          sample_weight)
    return BackpropTrace(pd.DataFrame(unit_rows), pd.DataFrame(param_rows),
                         pd.DataFrame(factor_rows), float(value), learning_rate)


def _unit_rows(record, names, layers, n):
    """One row per (sample, unit): z, a and, past the inputs, dL/da, da/dz, delta
    (da/dz of a Dense layer's activation; NaN for softmax, whose da/dz is a matrix,
    and for layers of other kinds, whose z is their input)."""
    unit_rows = []
    for layer, layer_names in enumerate(names):
        A = _dense(record["outputs"][layer])
        if layer:
            Z = record["net_inputs"][layer - 1]
            name = getattr(layers[layer - 1], "activation", None)
            local = (np.full_like(A, np.nan) if name in ("softmax", None) else
                     ACTIVATIONS[name].derivative(A, np.ones_like(A), Z))
            Z = np.full_like(A, np.nan) if Z is None else Z
            upstream, delta = record["upstream"][layer - 1], record["deltas"][layer - 1]
        for r in range(n):
            for j, unit in enumerate(layer_names):
                row = {"sample": r, "layer": layer, "unit": unit,
                       "net_input": np.nan if layer == 0 else float(Z[r, j]),
                       "output": float(A[r, j])}
                if layer:
                    row.update(dL_doutput=float(upstream[r, j]),
                               doutput_dnet=float(local[r, j]), delta=float(delta[r, j]))
                unit_rows.append(row)

    return unit_rows


def _param_rows(problem, record, names, grads, learning_rate, sample_weight):
    """One row per parameter (value, gradient, L2 term, updated value) and, for a
    Dense layer's, one per (parameter, sample) with its chain-rule factors."""
    n = record["outputs"][0].shape[0]
    sw_sum = n if sample_weight is None else float(sample_weight.sum())
    param_rows, factor_rows = [], []
    for layer in range(1, len(names)):
        spec = problem.spec.layers[layer - 1]
        params, layer_grads = problem.params[layer - 1], grads[layer - 1]
        entries = (_dense_entries(params, layer_grads, record, names, layer, n)
                   if spec.kind == "dense" else
                   _other_entries(spec, params, layer_grads, layer))
        for name, kind, src, dst, weight, grad, decayed, factors in entries:
            l2 = problem.spec.alpha * weight / sw_sum if decayed else 0.0
            param_rows.append({
                "name": name, "layer": layer, "kind": kind, "from": src, "to": dst,
                "value": float(weight), "gradient": float(grad), "l2_term": float(l2),
                "updated": float(weight - learning_rate * grad),
            })
            for r in range(n if factors else 0):
                inputs, deltas = factors
                factor_rows.append({
                    "name": name, "sample": r, "delta": float(deltas[r]),
                    "input": float(inputs[r]), "product": float(deltas[r] * inputs[r]),
                })
    return param_rows, factor_rows


def _dense_entries(params, grads, record, names, layer, n):
    """A Dense layer's weights w(src->dst) and biases b(dst), each the sum over
    samples of delta(dst) x the input it carries."""
    (W, b), (gW, gb) = params, grads
    delta, A_in = record["deltas"][layer - 1], _dense(record["outputs"][layer - 1])
    entries = [(f"w({src}->{dst})", "weight", src, dst, W[i, j], gW[i, j], True,
                (A_in[:, i], delta[:, j]))
               for i, src in enumerate(names[layer - 1])
               for j, dst in enumerate(names[layer])]
    return entries + [(f"b({dst})", "bias", "", dst, b[j], gb[j], False,
                       (np.ones(n), delta[:, j])) for j, dst in enumerate(names[layer])]


def _other_entries(spec, params, grads, layer):
    """Every entry of another layer's parameters, named by the layer's
    ``parameter_names`` and its index, with its gradient (no chain-rule factors:
    the layer's backward combines them)."""
    return [(f"{pname}{list(index)}(layer {layer})", pname, "", "", p[index],
             g[index], k in spec.decayed, None)
            for k, (pname, p, g) in enumerate(zip(spec.parameter_names, params, grads))
            for index in np.ndindex(p.shape)]


def render(trace, max_params=None):
    """The walk-through as text: the forward values, the loss, then for every
    parameter dL/dparam as the chain-rule product and the updated value."""
    units, params, factors = trace.units, trace.params, trace.factors
    lines = ["Forward pass"]
    for (sample, unit), row in units.set_index(["sample", "unit"]).iterrows():
        if row["layer"] == 0:
            lines.append(f"  sample {sample}: {unit} = {row['output']:.6g}")
        else:
            lines.append(f"  sample {sample}: net({unit}) = {row['net_input']:.6g}, "
                         f"out({unit}) = {row['output']:.6g}")
    lines += [f"Loss L = {trace.loss:.6g}", "Backward pass (errors at each unit)"]
    backwards = units[units["layer"] > 0].sort_values("layer", ascending=False,
                                                      kind="stable")
    for (sample, unit), row in backwards.set_index(["sample", "unit"]).iterrows():
        lines.append(
            f"  sample {sample}: dL/dout({unit}) = {row['dL_doutput']:.6g}, "
            f"dout({unit})/dnet({unit}) = {row['doutput_dnet']:.6g}, "
            f"delta({unit}) = dL/dnet({unit}) = {row['delta']:.6g}")
    lines.append(f"Gradients and one gradient-descent step (learning rate "
                 f"{trace.learning_rate:g})")
    shown = params.sort_values("layer", ascending=False, kind="stable")
    shown = shown if max_params is None else shown.iloc[:max_params]
    for _, p in shown.iterrows():
        if p["kind"] not in ("weight", "bias"):  # another layer's: its backward's sum
            lines.append(f"  dL/d{p['name']} = {p['gradient']:.6g};  {p['name']} <- "
                         f"{p['value']:.6g} - {trace.learning_rate:g} x "
                         f"{p['gradient']:.6g} = {p['updated']:.6g}")
            continue
        terms = factors[factors["name"] == p["name"]]
        carried = "1" if p["kind"] == "bias" else f"out({p['from']})"
        chain = " + ".join(f"{t.delta:.6g} x {t.input:.6g}" for t in terms.itertuples())
        l2 = f" + {p['l2_term']:.6g} (L2)" if p["l2_term"] else ""
        lines.append(
            f"  dL/d{p['name']} = sum over samples of delta({p['to']}) x {carried}"
            f" = {chain}{l2} = {p['gradient']:.6g};  {p['name']} <- {p['value']:.6g}"
            f" - {trace.learning_rate:g} x {p['gradient']:.6g} = {p['updated']:.6g}")
    return "\n".join(lines)
