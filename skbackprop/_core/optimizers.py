"""Optimizers: they update parameters, and nothing else.

Each stochastic optimizer is a pair of plain functions: ``*_init(params)`` makes its
state (a dict of arrays and numbers, so a fitted estimator stays plain data) and
``*_step(params, grads, state, learning_rate, ...)`` updates every parameter array in
place from its gradient. Learning-rate schedules and stopping rules belong to the
training loop, not here.

Both steps take two optional per-element arrays for each parameter (None: all
parameters alike, the plain algorithm, computed as before):

    factors  f: each parameter's learning-rate factor, eta f where the step uses
             eta (torch's parameter groups, each with its own ``lr``)
    decay    r = lambda f on the parameters decayed, 0 elsewhere: decoupled weight
             decay (Loshchilov & Hutter's AdamW), w <- w - eta r w, taken from
             the weights before the step, apart from the gradient and its moments

The updates work on arrays of any Array API namespace (``_core.xp``): on NumPy they
write into the ``scratch`` buffers (no allocation), elsewhere each intermediate is a
new array and the parameters and moments are updated in place.
"""

import math

import numpy as np
import scipy.optimize

from .xp import eager, into, namespace, squared_norm, write

__all__ = [
    "adam_at", "adam_init", "adam_step", "adam_step_size", "clip_gradient_norm",
    "decoupled_decay", "lbfgs_minimize", "map_state", "number_type", "sgd_at", "sgd_init",
    "sgd_step"
]


def sgd_init(params):
    """State of SGD with momentum: one velocity per parameter array, starting at 0."""
    return {"velocities": [namespace(p).zeros_like(p) for p in params]}


def sgd_step(params, grads, state, learning_rate, momentum=0.9, nesterov=True,
             scratch=None, factors=None, decay=None):
    """One step of stochastic gradient descent with (Nesterov) momentum.

        v <- mu v - eta g
        w <- w + v                        (classical momentum)
        w <- w + mu v - eta g             (Nesterov's momentum)

    With ``momentum=0`` this is plain gradient descent, ``w <- w - eta g``, computed
    as such (two array operations instead of five; the same numbers). The gradients
    are consumed (their arrays serve as scratch space), as is ``scratch`` (arrays
    shaped like the parameters; NumPy only, allocated if not given). ``factors``
    and ``decay`` (see the module): w <- w - eta r w first, then the step above
    with the gradient f g (the step is linear in it: eta f g is eta's step on f g).
    """
    scratch = scratch or [None] * len(params)
    factors, decay = factors or [None] * len(params), decay or [None] * len(params)
    for p, g, v, s, f, r in zip(params, grads, state["velocities"], scratch, factors,
                                decay):
        xp = namespace(p)
        if r is not None:
            decoupled_decay(p, r, learning_rate, s)
        if f is not None:
            g *= f
        if momentum == 0:
            write(v, xp.multiply, g, -learning_rate)  # v = -eta g
            p += v
            continue
        s = into(s, xp.multiply, g, learning_rate)  # s = eta g
        v *= momentum
        v -= s
        if nesterov:
            g = into(g, xp.multiply, v, momentum)
            g -= s
            p += g
        else:
            p += v


def sgd_at(p, g, v, learning_rate, momentum, nesterov):
    """``sgd_step`` on one parameter (the fused kernels' spelling): the new (w, v)."""
    if momentum == 0:
        v = g * -learning_rate
        return p + v, v
    s = g * learning_rate
    v = v * momentum - s
    if nesterov:
        return p + (v * momentum - s), v
    return p + v, v


def adam_init(params):
    """State of Adam: step count and first and second moment estimates, at 0."""
    return {
        "t": 0,
        "ms": [namespace(p).zeros_like(p) for p in params],
        "vs": [namespace(p).zeros_like(p) for p in params],
    }


def adam_step(params, grads, state, learning_rate, beta_1=0.9, beta_2=0.999,
              epsilon=1e-8, scratch=None, factors=None, decay=None):
    """One step of Adam (Kingma & Ba, 2014), with the bias correction folded into the
    step size:

        m <- beta_1 m + (1 - beta_1) g
        v <- beta_2 v + (1 - beta_2) g^2
        eta_t = eta sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w <- w - eta_t m / (sqrt(v) + epsilon)

    The gradients are consumed (their arrays serve as scratch space), as is
    ``scratch`` (arrays shaped like the parameters; NumPy only, allocated if not
    given). ``factors`` and ``decay`` (see the module): w <- w - eta r w, then the
    step above times f (AdamW with a learning rate eta f per parameter group).
    """
    step = adam_step_size(state, learning_rate, beta_1, beta_2)
    scratch = scratch or [None] * len(params)
    factors, decay = factors or [None] * len(params), decay or [None] * len(params)
    for p, g, m, v, s, f, r in zip(params, grads, state["ms"], state["vs"], scratch,
                                   factors, decay):
        xp = namespace(p)
        if r is not None:
            decoupled_decay(p, r, learning_rate, s)
        m *= beta_1
        m += into(s, xp.multiply, g, 1 - beta_1)
        v *= beta_2
        g = into(g, xp.square, g)
        v += into(g, xp.multiply, g, 1 - beta_2)
        s = into(s, xp.multiply, m, step)  # s = eta_t m
        g = into(g, xp.sqrt, v)
        g += epsilon
        s /= g
        if f is not None:
            s *= f
        p -= s


def decoupled_decay(p, rate, learning_rate, scratch=None):
    """Decoupled weight decay of one parameter in place: w <- w - eta r w, with
    ``rate`` r (an array like w, or a number) and eta the learning rate."""
    s = into(scratch, namespace(p).multiply, p, rate)
    s *= learning_rate
    p -= s


def adam_step_size(state, learning_rate, beta_1, beta_2):
    """Count the step in ``state``; eta_t = eta sqrt(1 - beta_2^t) / (1 - beta_1^t)."""
    state["t"] += 1
    t = state["t"]
    return learning_rate * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)


def adam_at(p, g, m, v, step, beta_1, beta_2, epsilon, rest_1, rest_2):
    """``adam_step`` on one parameter, ``step`` = eta_t, with ``rest_1`` = 1 - beta_1
    and ``rest_2`` = 1 - beta_2 as ``adam_step`` computes them, before the arrays
    (the fused kernels' spelling, which receives every number in the parameters'
    dtype, as NumPy rounds it): the new (w, m, v)."""
    m = m * beta_1 + g * rest_1
    v = v * beta_2 + g * g * rest_2
    return p - m * step / (math.sqrt(v) + epsilon), m, v


def number_type(dtype):
    """The type of the numbers the update loops take for parameters of ``dtype``:
    the dtype's own, so that a float32 loop computes in float32 (as NumPy combines a
    Python float with a float32 array), except Python's float for float64 (the same
    numbers; numba reads them faster than NumPy scalars, about 0.4 µs a call)."""
    return float if dtype == np.float64 else np.dtype(dtype).type


def clip_gradient_norm(grads, max_norm):
    """Scale all gradients by one factor so that their joint L2 norm
    sqrt(sum ||g||^2) is at most ``max_norm`` (in place); a smaller norm is left
    alone. Returns the norm before clipping."""
    xp = namespace(*grads)
    norm = xp.sqrt(sum(squared_norm(g) for g in grads))
    if eager(xp):  # on the host: leave a small gradient untouched
        if norm > max_norm:
            for g in grads:
                g *= max_norm / norm
        return float(norm)
    scale = xp.clip(max_norm / norm, None, 1.0)  # min(1, max_norm / norm), no wait
    for g in grads:
        g *= scale
    return norm


def lbfgs_minimize(fun, theta0, max_iter, max_fun, tol, callback=None):
    """Minimise ``fun(theta) -> (value, gradient)`` with scipy's L-BFGS-B.

    Returns scipy's ``OptimizeResult``; ``callback(theta, value)`` is called after
    every iteration.
    """
    scipy_callback = None
    if callback is not None:

        def scipy_callback(intermediate_result):
            callback(intermediate_result.x, intermediate_result.fun)

    return scipy.optimize.minimize(
        fun,
        theta0,
        method="L-BFGS-B",
        jac=True,
        callback=scipy_callback,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
    )


def map_state(state, function):
    """An optimizer state with ``function`` applied to each of its arrays (a copy,
    a move to another device); its numbers are kept as they are."""
    return {k: [function(a) for a in v] if isinstance(v, list) else v
            for k, v in state.items()}
