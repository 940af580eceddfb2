"""Per-row SGD for small networks, on Python floats.

With one row per update (``batch_size=1``, the tutorials' algorithm) a step of a
small network is a few dozen multiply-adds, and NumPy's overhead of about a
microsecond per array operation would be nearly all of its cost. For networks of at
most ``MAX_UNITS`` units per layer the estimators run this module instead: the
forward pass, backward pass and SGD update of ``_network`` and ``_optimizers``,
written out on lists of floats, with the same operations in the same order. The
results equal those of the array path up to the last bit of a library tanh (tested
to 1e-12).

Notation as in ``_network``, one row at a time: ``W[l][j]`` holds the weights into
unit j of layer l (column j of ``W_l``), ``b[l][j]`` its bias, and

    forward:   z_j = sum_i a_i w_ij + b_j,     a_j = f(z_j)
    backward:  delta_j = dl/dz_j,   dl/dw_ij = a_i delta_j + alpha w_ij / s,
               dl/db_j = delta_j,   delta_i = f'(z_i) sum_j w_ij delta_j

with ``s`` the row's sample weight (1 without weights).
"""

import math
from itertools import pairwise
from operator import mul, sub

MAX_UNITS = 16


def logistic(z):
    """1 / (1 + exp(-z)), as scipy's expit (0 where exp(-z) overflows)."""
    try:
        return 1.0 / (1.0 + math.exp(-z))
    except OverflowError:
        return 0.0


# name -> (f(z), delta -> delta * f'(z) written through the output a), as in _activations
ACTIVATIONS = {
    "identity": (lambda z: z, lambda delta, a: delta),
    "logistic": (logistic, lambda delta, a: delta * a * (1 - a)),
    "tanh": (math.tanh, lambda delta, a: delta * (1 - a * a)),
    "relu": (lambda z: z if z > 0 else 0.0, lambda delta, a: delta * (a > 0)),
}


def squared_error(y, z, a):
    """l = 1/2 sum_k (y_k - a_k)^2."""
    r = list(map(sub, a, y))
    return 0.5 * sum(map(mul, r, r))


def binary_log_loss(y, z, a):
    """l = sum_k log(1 + exp(z_k)) - y_k z_k, as np.logaddexp(0, z) - y z."""
    return sum(max(zk, 0.0) + math.log1p(math.exp(-abs(zk))) - yk * zk
               for yk, zk in zip(y, z))


# loss -> (l(y, z, a), its canonical output activation); dl/da = a - y for both
LOSSES = {"squared_error": (squared_error, "identity"),
          "binary_log_loss": (binary_log_loss, "logistic")}


def supports(layer_units, activations, loss):
    """Whether this module can train the network (else the array path does)."""
    if max(layer_units) > MAX_UNITS or not isinstance(loss, str) or loss not in LOSSES:
        return False
    canonical = LOSSES[loss][1]
    return all(name in ACTIVATIONS for name in activations) and (
        loss == "squared_error" or activations[-1] == canonical
    )


def to_lists(theta, layer_units):
    """A flat parameter vector in ``_network.pack`` order (every W_l row by row, then
    every b_l) as lists: W[l][j] the weights into unit j of layer l, b[l][j] its
    bias."""
    theta, W, b, start = theta.tolist(), [], [], 0
    for fan_in, fan_out in pairwise(layer_units):
        W.append([theta[start + j : start + fan_in * fan_out : fan_out]
                  for j in range(fan_out)])
        start += fan_in * fan_out
    for fan_out in layer_units[1:]:
        b.append(theta[start : start + fan_out])
        start += fan_out
    return W, b


def to_vector(W, b, out):
    """Inverse of ``to_lists``, written into the flat vector ``out``."""
    out[:] = [w for W_l in W for w_i in zip(*W_l) for w in w_i] + [
        b_j for b_l in b for b_j in b_l]


def sgd_update(learning_rate, momentum, nesterov):
    """``optimizers.sgd_step`` for one parameter: a function (p, g, v) -> new (p, v)
    of the parameter p, its gradient g and its velocity v."""
    if momentum == 0:  # v = -eta g;  p <- p + v

        def update(p, g, v):
            v = g * -learning_rate
            return p + v, v

    elif nesterov:  # v <- mu v - eta g;  p <- p + mu v - eta g

        def update(p, g, v):
            step = learning_rate * g
            v = v * momentum - step
            return p + (momentum * v - step), v

    else:  # v <- mu v - eta g;  p <- p + v

        def update(p, g, v):
            v = v * momentum - learning_rate * g
            return p + v, v

    return update


def sgd_rows(rows, order, net, activations, loss, learning_rate, momentum, nesterov,
             alpha):
    """Update ``net = [W, b, VW, Vb]`` (weights, biases and their SGD velocities, as
    lists, in place) one row of ``rows = (X, Y, sample_weight)`` at a time, in
    ``order``. Returns each row's (sample weight, loss before its update, L2 term
    included), stopping after the first loss that is not finite; rows of weight 0
    are skipped."""
    X, Y, sample_weight = rows
    W, b, VW, Vb = net
    # per layer: f, or None for the identity (nothing to compute), and f' as delta * f'
    forms = [(None if name == "identity" else ACTIVATIONS[name][0], ACTIVATIONS[name][1])
             for name in activations]
    loss_of, canonical = LOSSES[loss]
    update = sgd_update(learning_rate, momentum, nesterov)
    step = -learning_rate  # plain gradient descent (momentum 0): v = -eta g, p <- p + v
    losses = []
    for r in order:
        s = 1.0 if sample_weight is None else sample_weight[r]
        if s <= 0:
            continue
        # forward: the inputs and outputs of every layer
        outputs = [X[r]]
        for W_l, b_l, (f, _) in zip(W, b, forms):
            z = [sum(map(mul, outputs[-1], w_j)) + b_j for w_j, b_j in zip(W_l, b_l)]
            outputs.append(z if f is None else list(map(f, z)))
        y, a = Y[r], outputs[-1]
        row_loss = loss_of(y, z, a)
        if sample_weight is not None:
            row_loss = row_loss * s / s  # as the weighted mean of one row
        if alpha:
            squares = 0
            for W_l in W:
                for w_j in W_l:
                    squares += sum(map(mul, w_j, w_j))
            row_loss += 0.5 * alpha * squares / s
        # backward, updating each layer once the error below it is computed
        delta = list(map(sub, a, y))
        if activations[-1] != canonical:
            delta = [forms[-1][1](d, a_k) for d, a_k in zip(delta, a)]
        decay = alpha / s
        for layer in reversed(range(len(W))):
            a_in, W_l, V_l, b_l, Vb_l = (outputs[layer], W[layer], VW[layer], b[layer],
                                         Vb[layer])
            if layer:  # delta_i = f'(z_i) sum_j w_ij delta_j, with the weights before
                below = [0.0] * len(a_in)
                for d, w_j in zip(delta, W_l):
                    for i, w in enumerate(w_j):
                        below[i] += d * w
                f, derivative = forms[layer - 1]
                if f is not None:
                    below = [derivative(e, a_i) for e, a_i in zip(below, a_in)]
            for j, d in enumerate(delta):
                w_j, v_j = W_l[j], V_l[j]
                for i, a_i in enumerate(a_in):
                    g = a_i * d + decay * w_j[i] if alpha else a_i * d
                    if momentum == 0:
                        v_j[i] = v = g * step
                        w_j[i] += v
                    else:
                        w_j[i], v_j[i] = update(w_j[i], g, v_j[i])
                if momentum == 0:
                    Vb_l[j] = v = d * step
                    b_l[j] += v
                else:
                    b_l[j], Vb_l[j] = update(b_l[j], d, Vb_l[j])
            if layer:
                delta = below
        losses.append((s, row_loss))
        if not math.isfinite(row_loss):
            break
    return losses
