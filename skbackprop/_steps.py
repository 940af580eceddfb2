"""The step seam: what turns the rows of an epoch into parameter updates.

A step object is chosen once per fit by ``make_step`` and used by the loop through
one method, ``updates(order, rng, learning_rate)``: train on the rows in ``order``
and return each update's (sample weight, loss before the update). Every step also
exposes the flat parameter vector it trains (``params``), the per-layer views into it
(``coefs``, ``intercepts``) and the optimizer's state. Implementations:

- ``ArrayStep``: backprop on NumPy arrays, one batch per update, in a ``Workspace``
  allocated once per fit (``_network``);
- ``_rowwise.RowStep``: one row per update of small networks, written out on Python
  floats.

An Array API step or a compiled step plugs in here without touching the loop.
"""

import numpy as np
from scipy.sparse import issparse

from . import _rowwise
from ._network import loss_and_gradients, make_workspace
from ._optimizers import adam_init, adam_step, clip_gradient_norm, sgd_init, sgd_step


def make_step(model, settings, data, coefs, intercepts, batch_size,
              optimizer_state=None):
    """The step for this fit, training copies of ``coefs`` and ``intercepts``;
    ``optimizer_state`` continues an earlier fit's (else a fresh one)."""
    workspace = make_workspace(coefs, intercepts, model.activations, batch_size)
    if optimizer_state is None:
        init = sgd_init if settings.solver == "sgd" else adam_init
        optimizer_state = init([workspace.params])
    if _rowwise.accepts(model, settings, batch_size, data.X):
        return _rowwise.RowStep(model, settings, data, workspace.params, optimizer_state)
    return ArrayStep(model, settings, data, workspace, optimizer_state)


class ArrayStep:
    """Minibatch backprop and one optimizer update per batch, on NumPy arrays."""

    def __init__(self, model, settings, data, workspace, optimizer_state):
        self.model, self.settings, self.data = model, settings, data
        self.workspace = workspace
        self.params = workspace.params
        self.coefs, self.intercepts = workspace.coefs, workspace.intercepts
        self.optimizer_state = optimizer_state

    def updates(self, order, rng, learning_rate):
        """Train on the rows in ``order`` in batches; yields each batch's (sample
        weight, loss). Batches of weight 0 are skipped."""
        data, batch_size = self.data, self.workspace.batch_size
        for start in range(0, data.n_samples, batch_size):
            stop = min(start + batch_size, data.n_samples)
            sw = (None if data.sample_weight is None
                  else data.sample_weight[order[start:stop]])
            weight = (stop - start) if sw is None else sw.sum()
            if weight > 0:
                X, Y = self._batch(order, start, stop)
                yield weight, self.step(X, Y, sw, rng, learning_rate)

    def _batch(self, order, start, stop):
        """Rows ``order[start:stop]`` of X and Y: views when the rows are visited in
        order, else gathered into the workspace (no array allocated per batch)."""
        X, Y = self.data.X, self.data.Y
        if not self.settings.shuffle:
            return X[start:stop], Y[start:stop]
        rows = order[start:stop]
        if issparse(X):
            return X[rows], Y[rows]
        n, ws = stop - start, self.workspace
        # mode="clip" (the rows are valid) lets take write straight into ``out``
        return (np.take(X, rows, axis=0, out=ws.X[:n], mode="clip"),
                np.take(Y, rows, axis=0, out=ws.Y[:n], mode="clip"))

    def step(self, X, Y, sample_weight, rng, learning_rate):
        """Backprop on one batch and one optimizer update; returns the batch loss
        (of the network thinned by dropout, which is what is differentiated)."""
        m, s, ws = self.model, self.settings, self.workspace
        loss, _, _ = loss_and_gradients(
            X, Y, sample_weight, ws.coefs, ws.intercepts, m.activations, m.loss,
            m.alpha, dropout_masks(m.dropout, ws.coefs, X.shape[0], rng, Y.dtype), ws)
        # the gradients are views into ws.grad: one flat array, as the params
        params, grads = [ws.params], [ws.grad]
        if s.clip_norm is not None:
            clip_gradient_norm(grads, s.clip_norm)
        if s.solver == "sgd":
            sgd_step(params, grads, self.optimizer_state, learning_rate, s.momentum,
                     s.nesterovs_momentum, [ws.scratch])
        else:
            adam_step(params, grads, self.optimizer_state, learning_rate, s.beta_1,
                      s.beta_2, s.epsilon, [ws.scratch])
        return loss


def dropout_masks(rates, coefs, n_rows, rng, dtype):
    """Inverted-dropout masks, Bernoulli(1 - p) / (1 - p), on the input of every
    layer after a hidden one; None where there is no dropout."""
    if not any(rates):
        return None
    masks = [None]  # the network's inputs are never dropped
    for p, W in zip(rates, coefs):
        keep = rng.random_sample((n_rows, W.shape[1])) >= p
        masks.append(None if p == 0 else (keep / (1 - p)).astype(dtype))
    return masks
