"""Loss functions: their value and their gradient, side by side.

For a batch of ``n`` samples with targets ``Y``, output-layer net input ``Z`` and
output ``A = f(Z)``, the loss the estimators minimise is

    L = sum_i s_i l(y_i, a_i) / sum_i s_i  +  alpha * sum_l ||W_l||^2 / (2 sum_i s_i)

with sample weights ``s_i`` (all 1 by default, so ``sum_i s_i = n``). Each loss below
gives the per-sample term ``l`` summed over the outputs (its ``value``), its
derivative ``dl/da`` (``dL_dA``), and its *canonical link*: the output activation for
which the chain rule ``dl/dz = dl/da * f'(z)`` collapses to ``a - y``.

Log losses are computed from the logits ``Z`` (log-sum-exp form), so they stay finite
where probabilities round to 0 or 1; the value is exactly the function whose gradient
``a - y`` is used, with no clipping.

Every function works on arrays of any Array API namespace (``_core.xp``); a loss value
is a Python float for NumPy arrays and a 0-d array elsewhere (``_core.xp.scalar``).

Each loss is one ``Loss`` record in ``LOSSES`` holding every spelling the paths
read: the array formulas, the canonical link, the per-row source template
(``_engine.rowwise``) and the line the docs show. ``huber(delta)`` and
``label_smoothed(loss, epsilon)`` make the records of parametrised losses.
"""

import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from numbers import Real
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from .activations import ACTIVATIONS
from .xp import eager, into, namespace, rowdot, scalar, softplus, squared_norm, xlogy

__all__ = [
    "Loss", "absolute_error", "absolute_error_dA", "binary_log_loss", "binary_log_loss_at",
    "binary_log_loss_dA", "get_loss", "huber", "l2_penalty", "label_smoothed", "log_loss",
    "log_loss_dA", "log_loss_row_at", "log_loss_row_end_at", "logsumexp", "loss_value",
    "output_delta", "poisson", "poisson_dA", "squared_error", "squared_error_at",
    "squared_error_dA", "training_loss"
]


class Loss(NamedTuple):
    """Every spelling of one loss l, read by every path that computes it."""

    value: Callable  # (Y, Z, A) -> per-sample loss, shape (n,)
    dL_dA: Callable  # (Y, A) -> dl/da, shape of A
    link: str | None  # output activation on which dl/dz = a - y (None: no such)
    # per-row source (``_engine.rowwise``): one output's term of l from "{e}" (= a - y), "{z}"
    # and "{y}", and l from the terms' sum "{terms}"; None: not written out
    row_term: str | None = None
    row_loss: str = "{terms}"
    row_functions: Mapping = MappingProxyType({})  # name -> function those call
    doc: str = ""  # l as the docs show it
    # Y -> the targets y' the loss compares a with (label smoothing), so that on the
    # link dl/dz = a - y'; None: y itself
    targets: Callable | None = None
    # the fused kernels' spelling (``_engine.kernels``) of the link and the loss at
    # once, from the net input z = Z + b: on one output, (z, y) -> (a, l_k), l the
    # sum of the l_k; or, for a link that mixes a row's outputs through exponentials
    # (softmax), on one row, (z, b, y, a) -> the loss up to them, writing their
    # arguments into a, and after NumPy's exp of the batch ``link_row_end_at``,
    # (a) -> the rest of the loss, a finished in place; None: NumPy's calls only
    link_at: Callable | None = None
    link_row_at: Callable | None = None
    link_row_end_at: Callable | None = None


def squared_error(Y, Z, A):
    """l = 1/2 sum_k (y_k - a_k)^2."""
    R = A - Y
    return 0.5 * rowdot(R, R)


def squared_error_dA(Y, A):
    """dl/da = a - y."""
    return A - Y


def squared_error_at(z, y):
    """``squared_error`` on one output of the identity link: (a, l_k) = (z,
    1/2 (a - y)^2)."""
    e = z - y
    return z, type(e)(0.5) * (e * e)  # (0.5 in e's type: float32 stays float32)


def poisson(Y, Z, A):
    """Half Poisson deviance, l = sum_k y log(y / a) - y + a, with log a = z (exp link)."""
    return namespace(A).sum(xlogy(Y, Y) - Y * Z - Y + A, axis=1)


def poisson_dA(Y, A):
    """dl/da = 1 - y / a."""
    return 1 - Y / A


def binary_log_loss(Y, Z, A):
    """l = -sum_k [y log a + (1 - y) log(1 - a)] with a = sigmoid(z),
    computed as sum_k log(1 + exp(z)) - y z."""
    return namespace(Z).sum(softplus(Z) - Y * Z, axis=1)


def binary_log_loss_dA(Y, A):
    """dl/da = (a - y) / (a (1 - a))."""
    return (A - Y) / (A * (1 - A))


def binary_log_loss_at(z, y):
    """``binary_log_loss`` on one output of the logistic link: (a, l_k) =
    (1 / (1 + exp(-z)), log(1 + exp(z)) - y z), each written as the array path's
    ufuncs compute it (scipy's ``expit``; ``np.logaddexp(0, z)``, which adds
    log1p(exp(-|z|)) to the larger of 0 and z, and gives log 2 at z = 0)."""
    one = type(z)(1)  # (the constants in z's type: float32 computes in float32)
    a = one / (one + math.exp(-z))
    if z == 0:
        softplus_z = type(z)(math.log(2.0))
    elif z < 0:  # (NaN goes on to the other branch, and stays NaN)
        softplus_z = type(z)(0) + math.log1p(math.exp(z))
    else:
        softplus_z = z + math.log1p(math.exp(-z))
    return a, softplus_z - y * z


def log_loss_row_at(z, b, y, a):
    """``log_loss`` on one row of the softmax link, from its net input z + b, up to
    the exponentials: writes z_k + b_k - m into ``a``, with m the row's largest
    z + b, and returns m - sum_k y_k (z_k + b_k). The fused kernels then take
    a = exp(a) for the whole batch (NumPy's exp, as the array path's softmax) and
    ``log_loss_row_end_at`` finishes the row: a_k = exp(z_k + b_k - m) / sum_j
    exp(z_j + b_j - m), and l = logsumexp(z + b) - sum_k y_k (z_k + b_k), added as
    (m - sum_k y_k (z_k + b_k)) + log sum_j exp(z_j + b_j - m), which is
    -sum_k y_k log a_k for targets summing to 1 (m - yz first: no cancellation at
    large z)."""
    k = z.shape[0]
    m = z[0] + b[0]
    for j in range(1, k):
        m = max(m, z[j] + b[j])
    yz = 0.0
    for j in range(k):
        zj = z[j] + b[j]
        a[j] = zj - m
        yz += y[j] * zj
    return m - yz


def log_loss_row_end_at(a):
    """The end of ``log_loss_row_at``'s row, its exponentials in ``a``: each divided
    by their sum (taken in order, where the array path takes it by a BLAS product:
    the two agree to a few units in the last place); returns log of the sum, the
    row's loss less what ``log_loss_row_at`` returned."""
    k = a.shape[0]
    total = 0.0
    for j in range(k):
        total += a[j]
    for j in range(k):
        a[j] /= total
    return math.log(total)


def logsumexp(Z):
    """log sum_k exp(z_k) for every row, as m + log sum_k exp(z_k - m) with m the row
    maximum, so that no exp overflows. Shape (n, 1)."""
    xp = namespace(Z)
    m = xp.max(Z, axis=1, keepdims=True)
    return m + xp.log(xp.sum(xp.exp(Z - m), axis=1, keepdims=True))


def log_loss(Y, Z, A):
    """Cross-entropy of a softmax output, l = -sum_k y_k log a_k = -log a_y (Y one-hot).

    Computed from the probability a_y where it is a normal float, and where it
    underflows from the logits, as logsumexp(z) - z_y: finite and exact either way.
    (On NumPy, when no a_y underflows, the logits are not looked at; elsewhere
    checking that would stall the device, and both are computed.)
    """
    xp = namespace(A)
    a_y = rowdot(Y, A)
    tiny = _TINY.get(getattr(A.dtype, "type", None)) or xp.finfo(A.dtype).smallest_normal
    if eager(xp) and a_y.min() >= tiny:  # the common case (False for NaN too)
        return -xp.log(a_y)
    return xp.where(a_y >= tiny, -xp.log(xp.clip(a_y, tiny, None)),
                    logsumexp(Z)[:, 0] - rowdot(Y, Z))


_TINY = {t: np.finfo(t).tiny for t in (np.float32, np.float64)}


def log_loss_dA(Y, A):
    """dl/da_k = -y_k / a_k."""
    return -Y / A


def huber(delta):
    """Huber loss with threshold ``delta``: l = sum_k h(a_k - y_k) with
    h(r) = r^2 / 2 for |r| <= delta, delta (|r| - delta / 2) beyond; quadratic near
    0, linear in the tails. dl/da = clip(a - y, -delta, delta)."""

    def value(Y, Z, A):
        xp = namespace(A)
        R = xp.abs(A - Y)
        return xp.sum(xp.where(R <= delta, 0.5 * R**2, delta * (R - 0.5 * delta)), axis=1)

    def dL_dA(Y, A):
        return namespace(A).clip(A - Y, -delta, delta)

    return Loss(value, dL_dA, None, doc=f"l = sum_k h(a_k - y_k), h(r) = r^2 / 2 for "
                f"|r| <= {delta:g}, {delta:g} (|r| - {delta:g} / 2) beyond")


def absolute_error(Y, Z, A):
    """l = sum_k |a_k - y_k|."""
    return namespace(A).sum(namespace(A).abs(A - Y), axis=1)


def absolute_error_dA(Y, A):
    """dl/da = sign(a - y) (0 at a = y)."""
    return namespace(A).sign(A - Y)


LOSSES = {
    "squared_error": Loss(
        squared_error, squared_error_dA, "identity", row_term="{e} * {e}",
        row_loss="0.5 * ({terms})", doc="l = 1/2 sum_k (a_k - y_k)^2",
        link_at=squared_error_at),
    "poisson": Loss(poisson, poisson_dA, "exp",
                    doc="l = sum_k y_k log(y_k / a_k) - y_k + a_k (half the deviance)"),
    # (the term: np.logaddexp(0, z) - y z, as logaddexp computes it)
    "binary_log_loss": Loss(
        binary_log_loss, binary_log_loss_dA, "logistic",
        row_term="max({z}, 0.0) + log1p(exp(-abs({z}))) - {y} * {z}", row_loss="({terms})",
        row_functions={"log1p": math.log1p, "exp": math.exp},
        doc="l = -sum_k [y_k log a_k + (1 - y_k) log(1 - a_k)]",
        link_at=binary_log_loss_at),
    "log_loss": Loss(log_loss, log_loss_dA, "softmax", doc="l = -sum_k y_k log a_k",
                     link_row_at=log_loss_row_at, link_row_end_at=log_loss_row_end_at),
    "huber": huber(1.0),
    "absolute_error": Loss(absolute_error, absolute_error_dA, None,
                           doc="l = sum_k |a_k - y_k|"),
}


SMOOTHABLE = ("log_loss", "binary_log_loss")  # the losses label smoothing applies to


def label_smoothed(loss, epsilon):
    """A log loss (``"log_loss"`` or ``"binary_log_loss"``) against smoothed
    targets: each of the K classes (K = 2 for each output of the binary loss) gets
    y' = (1 - epsilon) y + epsilon / K, and

        l = -sum_k y'_k log a_k   (softmax)     = logsumexp(z) - sum_k y'_k z_k
        l = -sum_k [y'_k log a_k + (1 - y'_k) log(1 - a_k)]   (sigmoid)
                                                = sum_k log(1 + exp(z_k)) - y'_k z_k

    computed from the logits, with dl/dz = a - y' on the canonical link (what
    ``torch.nn.functional.cross_entropy(..., label_smoothing=epsilon)`` computes).
    ``epsilon`` = 0 is the loss itself (its name is returned); ``epsilon`` in
    (0, 1) pulls the probabilities training aims at away from 0 and 1."""
    if not (isinstance(epsilon, Real) and 0 <= epsilon < 1):
        raise ValueError(f"label_smoothing must be a number in [0, 1), got "
                         f"{epsilon!r}; 0 turns it off.")
    if epsilon == 0:
        return loss
    if loss not in SMOOTHABLE:
        raise ValueError(f"label_smoothing applies to the log losses of classifiers "
                         f"{SMOOTHABLE}, not to {getattr(loss, 'doc', loss)!r}; set "
                         "label_smoothing=0 for this loss.")
    return _smoothed(loss, float(epsilon))


@lru_cache(maxsize=64)
def _smoothed(name, epsilon):
    """One record per (loss, epsilon), so that records of equal settings compare
    equal."""

    def targets(Y):
        k = 2 if name == "binary_log_loss" else Y.shape[1]
        return (1 - epsilon) * Y + epsilon / k

    if name == "binary_log_loss":
        def value(Y, Z, A):
            return binary_log_loss(targets(Y), Z, A)

        def dL_dA(Y, A):
            return binary_log_loss_dA(targets(Y), A)
    else:
        def value(Y, Z, A):
            return logsumexp(Z)[:, 0] - rowdot(targets(Y), Z)

        def dL_dA(Y, A):
            return log_loss_dA(targets(Y), A)
    base = LOSSES[name]
    return Loss(value, dL_dA, base.link, targets=targets,
                doc=f"{base.doc} with y' = (1 - {epsilon:g}) y + {epsilon:g} / K for y")


def get_loss(loss):
    """A ``Loss`` from its name in ``LOSSES`` or as given (e.g. ``huber(delta)``)."""
    return LOSSES[loss] if isinstance(loss, str) else loss


def loss_value(loss, Y, Z, A, sample_weight=None):
    """Weighted mean over samples of the per-sample loss (no L2 term)."""
    values = get_loss(loss).value(Y, Z, A)
    xp = namespace(values)
    if sample_weight is None:
        return scalar(xp.sum(values) / values.shape[0])  # = the mean
    return scalar(values @ sample_weight / xp.sum(sample_weight))


def output_delta(loss, out_activation, Y, A, Z=None, out=None):
    """dl/dz for every sample at the output layer (not yet averaged).

    On the loss's canonical link, dl/da * f'(z) simplifies to ``a - y`` (written into
    ``out`` if given); any other output activation applies the chain rule term by
    term (``Z`` is the net input, needed only by activations whose derivative is not
    a function of ``A``).
    """
    spec = get_loss(loss)
    if out_activation == spec.link:
        if spec.targets is not None:  # (label smoothing: a - y')
            Y = spec.targets(Y)
        return into(out, namespace(A).subtract, A, Y)
    return ACTIVATIONS[out_activation].derivative(A, spec.dL_dA(Y, A), Z)


def l2_penalty(coefs, alpha, sw_sum):
    """alpha * sum_l ||W_l||^2 / (2 sum_i s_i); its gradient is alpha * W_l / sum_i s_i."""
    if alpha == 0:
        return 0.0
    squares = sum(squared_norm(W) for W in coefs)
    return scalar(0.5 * alpha * squares / sw_sum)


def training_loss(loss, Y, Z, A, sample_weight, coefs, alpha, sw_sum):
    """L = sum_i s_i l(y_i, a_i) / sum_i s_i + alpha * sum_l ||W_l||^2 / (2 sum_i
    s_i): the loss training minimises and reports (``sw_sum`` is sum_i s_i)."""
    return loss_value(loss, Y, Z, A, sample_weight) + l2_penalty(coefs, alpha, sw_sum)
