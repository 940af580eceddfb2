"""The lbfgs driver: scipy's L-BFGS-B on the full-batch loss, with the same monitor,
guard and callback tasks as the stochastic loop.

Every iteration scipy accepts is one epoch for the monitor (a history row, the
validation score, early stopping's patience and best weights). scipy works on one
flat float64 parameter vector (``_core.network.pack``) on the host. On a device (array
API dispatch) the loss and gradient are computed there, and the vector moves to the
device and back once per evaluation, as scikit-learn's LogisticRegression does.
"""

import math
import time

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._core.network import loss_and_gradients, pack, unpack
from .._core.optimizers import lbfgs_minimize
from .._core.xp import (
    copy,
    device,
    float_value,
    host_dtype,
    is_numpy,
    namespace,
    to_namespace,
    to_numpy,
)
from .guard import Diverged

__all__ = ["run_lbfgs"]


def run_lbfgs(spec, model, data, monitor, guard, tasks, params):
    """Minimise the training loss from ``params`` (one list per layer). Returns the
    final ``(params, loss, warnings)``; raises ``Diverged`` if the loss is not
    finite at the end."""
    data = data.computed()  # full batches: X in the compute dtype
    X, Y, sw = data.X, data.Y, data.sample_weight
    shapes = model.shapes
    started, task = time.perf_counter(), tasks.begin()
    xp, where = namespace(X), device(X)
    on_host = is_numpy(xp)

    def network(theta, dtype):
        """The network of scipy's vector ``theta``: views into it on NumPy (in
        ``dtype``), else its copy on X's device in X's dtype."""
        if on_host:
            return unpack(theta if dtype is None else theta.astype(dtype), shapes)
        return unpack(to_namespace(theta.astype(host_dtype(X)), xp, where), shapes)

    def loss_and_gradient(theta):
        # a trial point of the line search may overflow: scipy steps back from it
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value, grads = loss_and_gradients(X, Y, sw, model.layers,
                                              network(theta, None), model.loss,
                                              model.alpha)
        gradient = pack(grads)
        if on_host:
            return value, gradient
        return float_value(value), to_numpy(gradient).astype(np.float64)

    def after_iteration(theta, value):
        nonlocal started, task
        weights = _copies(network(theta, X.dtype))
        guard.check_epoch(float(value))
        # the loss is the new iterate's; its fresh copies can be the snapshot
        plateau = monitor.end_epoch(float(value), np.nan, started, weights, weights)
        stop = tasks.end(task, weights) or plateau
        started, task = time.perf_counter(), tasks.begin()  # the next iteration's
        if stop:
            raise StopIteration  # scipy ends the minimisation here

    theta = to_numpy(pack(params)).astype(np.float64)
    result = lbfgs_minimize(loss_and_gradient, theta, spec.max_iter, spec.max_fun,
                            spec.tol, after_iteration)
    tasks.close(task)  # scipy opened no iteration after the last: close it empty
    loss = float(result.fun)
    if not math.isfinite(loss):
        raise Diverged(f"lbfgs ended on a training loss of {loss}")
    return _copies(network(result.x, X.dtype)), loss, _warnings(result, monitor.epochs)


def _warnings(result, iterations):
    """scipy's result, as warnings to give: none if it converged or was stopped."""
    if result.status in (0, 99):  # 99: StopIteration from a callback or us
        return []
    return [(f"lbfgs failed to converge after {iterations} iterations (status="
             f"{result.status}): {result.message}. Increase max_iter or max_fun, or "
             "scale the data (e.g. StandardScaler).", ConvergenceWarning)]


def _copies(params):
    """Arrays of their own (``unpack`` gives views into scipy's vector)."""
    return [[copy(p) for p in ps] for ps in params]
