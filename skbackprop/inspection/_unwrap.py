"""What the teaching tools and displays read from the object they are given: a
BackpropRegressor or BackpropClassifier, or a Pipeline ending in one, or in a
Pipeline that does (its final step, with X passed through the steps before it)."""

from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["backprop_estimator"]


def backprop_estimator(estimator, X=None, y=None, *, caller):
    """``(model, X)``: the BackpropRegressor or BackpropClassifier that ``caller``
    reads, and X as that model sees it.

    A Pipeline gives its final step, and a nested Pipeline (one whose final step
    is a Pipeline) the final step of the innermost; X goes through the steps
    before it, fitted (when every one of them is) or else fitted on X here (on a
    copy: the pipeline is left untouched). Anything else is refused with what to
    pass instead.
    """
    from .._base import BaseBackprop

    while isinstance(estimator, Pipeline):
        head, estimator = estimator[:-1], estimator[-1]
        if X is not None and len(head):
            X = head.transform(X) if _fitted(head) else clone(head).fit_transform(X, y)
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


def _fitted(step):
    """Whether ``step`` transforms as it is: every step of a Pipeline fitted (a
    Pipeline's own check reads its last step only), 'passthrough' and None
    always."""
    if step is None or isinstance(step, str):  # None or 'passthrough'
        return True
    if isinstance(step, Pipeline):
        return all(_fitted(inner) for _, inner in step.steps)
    try:
        check_is_fitted(step)
    except NotFittedError:
        return False
    return True
