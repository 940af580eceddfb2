"""The estimators' side of scikit-learn's array API dispatch.

With ``sklearn.set_config(array_api_dispatch=True)`` an estimator computes in the
namespace and on the device of X (``_core.xp.input_namespace``). This module holds what
that asks of the estimator glue: the compute dtype in X's namespace, the refusal of
arrays from another namespace or device than the fitted network's, and the copy of
a model moved to another one (scikit-learn's ``move_estimator_to``).
"""

import numpy as np
from sklearn import get_config
from sklearn.base import clone
from sklearn.utils._array_api import _max_precision_float_dtype

from ._core.optimizers import map_state
from ._core.xp import device, input_namespace, is_numpy, namespace, namespace_name
from ._engine.fitted import with_role
from ._validation import check_values

__all__ = ["check_namespace", "compute_dtype", "converted"]


def compute_dtype(dtype, xp=np, where=None):
    """dtype argument of validate_data in namespace ``xp`` on device ``where``: the
    ``dtype`` parameter, or (None) keep the input's float dtype as sklearn does;
    float32 on a device without float64 (e.g. Apple's mps)."""
    if is_numpy(xp):
        return (np.float64, np.float32) if dtype is None else np.dtype(dtype)
    if _max_precision_float_dtype(xp, where) == xp.float32:
        return xp.float32
    if dtype is None:
        return (xp.float64, xp.float32)
    return getattr(xp, np.dtype(dtype).name)


def check_namespace(estimator, X, method):
    """Refuse X from another array namespace or device than the fitted weights,
    as scikit-learn's ``check_same_namespace`` does, with the fix; and X whose
    values the network cannot read (``_validation.check_values``: complex numbers,
    a tensor on the meta device), whatever the fitted namespace."""
    check_values(X, "X")
    W = estimator.coefs_[0]
    fitted, xp = namespace(W), input_namespace(X)[0]
    if is_numpy(fitted) and is_numpy(xp):
        return
    if fitted == xp and device(W) == device(X):
        return
    off = "" if get_config()["array_api_dispatch"] else (
        " with array API dispatch off (sklearn.set_config(array_api_dispatch=True) "
        "computes in X's namespace)")
    raise ValueError(
        f"Inputs passed to {type(estimator).__name__}.{method}() must use the same "
        "namespace and the same device as those passed to fit(). The network was "
        f"fitted on {namespace_name(fitted)} arrays on device '{device(W)}'; got "
        f"{namespace_name(namespace(X))} arrays on device '{device(X)}'{off}.\nFix: "
        "move the estimator to X's namespace and device with 'from "
        "sklearn.utils._array_api import get_namespace_and_device, move_estimator_to; "
        "xp, _, device = get_namespace_and_device(X); estimator = "
        "move_estimator_to(estimator, xp, device)' (with "
        "sklearn.set_config(array_api_dispatch=True)), or move X.")


def converted(estimator, converter):
    """A copy of ``estimator`` whose network (weights and optimizer state) was
    moved by ``converter``; everything else (classes, history, counters) stays on
    the host, where it always is."""
    moved = clone(estimator)
    state = dict(vars(estimator))
    for name in with_role(type(estimator), "weights", "optimizer"):
        value = state.get(name)
        if isinstance(value, list):  # coefs_, intercepts_, _layer_parameters
            state[name] = [[converter(a) for a in v] if isinstance(v, list)
                           else converter(v) for v in value]
        elif isinstance(value, dict):  # an optimizer's state
            state[name] = map_state(value, converter)
    vars(moved).update(state)
    return moved
