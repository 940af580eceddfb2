"""Gradient check: backprop's gradients against central finite differences."""

import numpy as np
import pandas as pd

from .._core.network import loss_and_gradients
from ._trace import training_problem

__all__ = ["check_gradients"]


def check_gradients(estimator, X, y, sample_weight=None, eps=1e-6, classes=None):
    """Compare an estimator's backprop gradients with central finite differences.

    For every parameter array (the weights ``W_l`` and biases ``b_l`` of each layer)
    the gradient of the training loss (the loss the estimator reports as ``loss_``:
    the weighted mean loss plus the L2 term) is computed by the estimator's own
    backward pass and by central differences, ``(L(w + eps) - L(w - eps)) / 2 eps``
    for every entry w. Dropout is left out (its masks are random); the check runs
    in float64 even for a float32 estimator.

    Parameters
    ----------
    estimator : BackpropRegressor, BackpropClassifier or Pipeline
        Fitted (its current weights are checked) or not (the starting weights a fit
        would use are checked, on a copy; the estimator is not changed). A Pipeline
        is checked at its last step, with X passed through the steps before it.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : array-like of shape (n_samples,), default=None
        Times the class weights of a classifier's ``class_weight``
        (``'balanced'``: from the classes of ``y``, as fit on these rows).
    eps : float, default=1e-6
        The finite-difference step.
    classes : array-like, default=None
        For an unfitted classifier checked on rows that miss some classes: all the
        classes, as in ``partial_fit``.

    Returns
    -------
    report : pandas.DataFrame
        One row per parameter array: ``layer`` (1 = the first layer of weights),
        ``parameter`` (``"W"`` or ``"b"``, or the name a layer of another
        kind gives it), ``shape``, ``max_abs_error`` (largest
        ``|backprop - finite difference|`` over the entries) and ``relative_error``
        (``||backprop - fd|| / (||backprop|| + ||fd||)``, 0 where both vanish). With
        float64 and a smooth network, relative errors near 1e-7 or below mean the
        gradient is right; a wrong one shows errors near 1.

    Examples
    --------
    >>> from skbackprop import BackpropClassifier, check_gradients
    >>> from skbackprop.datasets import load_placement
    >>> X, y = load_placement(task="classification", return_X_y=True)
    >>> report = check_gradients(BackpropClassifier(hidden_layer_sizes=(3,),
    ...                                             activation="tanh", random_state=0),
    ...                          X, y)
    >>> print(report[["layer", "parameter", "shape"]].to_string(index=False))
     layer parameter  shape
         1         W (2, 3)
         1         b   (3,)
         2         W (3, 1)
         2         b   (1,)
    >>> bool((report["relative_error"] < 1e-6).all())
    True
    """
    problem = training_problem(estimator, X, y, sample_weight, classes,
                               caller="check_gradients")
    spec, sample_weight = problem.spec, problem.sample_weight
    X, Y = problem.X.astype(np.float64), problem.Y.astype(np.float64)
    if sample_weight is not None:
        sample_weight = sample_weight.astype(np.float64)
    params = [[p.astype(np.float64) for p in ps] for ps in problem.params]

    def evaluate():  # the loss and its backprop gradients at the current entries
        return loss_and_gradients(X, Y, sample_weight, spec.layers, params, spec.loss,
                                  spec.alpha)

    grads = evaluate()[1]
    rows = []
    for layer, (spec_layer, ps, gs) in enumerate(zip(spec.layers, params, grads),
                                                start=1):
        for name, param, grad in zip(spec_layer.parameter_names, ps, gs):
            numeric = np.empty_like(param)
            for index in np.ndindex(param.shape):
                saved = param[index]
                param[index] = saved + eps
                above = evaluate()[0]
                param[index] = saved - eps
                below = evaluate()[0]
                param[index] = saved
                numeric[index] = (above - below) / (2 * eps)
            scale = np.linalg.norm(grad) + np.linalg.norm(numeric)
            rows.append({
                "layer": layer,
                "parameter": name,
                "shape": param.shape,
                "max_abs_error": float(np.max(np.abs(grad - numeric))),
                "relative_error": (float(np.linalg.norm(grad - numeric) / scale)
                                   if scale > 0 else 0.0),
            })
    return pd.DataFrame(rows)
