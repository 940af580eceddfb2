"""What the teaching tools and displays read from the object they are given: a
BackpropRegressor or BackpropClassifier, or a Pipeline ending in one (its final
step, with X passed through the steps before it)."""

from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["backprop_estimator"]


def backprop_estimator(estimator, X=None, y=None, *, caller):
    """``(model, X)``: the BackpropRegressor or BackpropClassifier that ``caller``
    reads, and X as that model sees it.

    A Pipeline gives its final step; X goes through the steps before it, fitted
    (a fitted pipeline's own steps) or, in an unfitted pipeline, fitted on X here
    (on a copy: the pipeline is left untouched). Anything else is refused with
    what to pass instead.
    """
    from .._base import BaseBackprop

    if isinstance(estimator, Pipeline):
        head, model = estimator[:-1], estimator[-1]
        if X is not None and len(head):
            X = head.transform(X) if _fitted(head) else clone(head).fit_transform(X, y)
        estimator = model
    if isinstance(estimator, BaseBackprop):
        return estimator, X
    hint = ""
    params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}
    if {"param_grid", "param_distributions"} & set(params):
        hint = " For a search, fit it and pass its best_estimator_."
    elif "estimator" in params:
        hint = " For a meta-estimator, pass the fitted Backprop estimator it holds."
    raise TypeError(
        f"{caller} reads a BackpropRegressor or BackpropClassifier, or a Pipeline "
        f"whose last step is one; got {type(estimator).__name__}.{hint}")


def _fitted(pipeline):
    try:
        check_is_fitted(pipeline)
    except NotFittedError:
        return False
    return True
