"""The step seam: what turns the rows of an epoch into parameter updates.

A step object is chosen once per fit by ``make_step`` and used by the loop through
one method, ``updates(order, rng, learning_rate)``: train on the rows in ``order``
and return each update's (sample weight, loss before the update). Every step also
exposes the flat parameter vector it trains (``flat``), the per-layer views into it
(``params``, one list per layer) and the optimizer's state. Implementations:

- ``ArrayStep``: backprop on arrays, one batch per update, and the optimizer's
  update chosen once per fit (``optimizer_update``): ``WorkspaceStep`` on NumPy in
  a ``Workspace`` allocated once per fit (``_core.network``), with the elementwise work
  fused into compiled loops where they pay (``_engine.fused``), and for a plain
  perceptron ``PlannedStep``, the same calls bound once per fit
  (``_engine.planned``); ``DeviceStep`` on any
  other Array API namespace (scikit-learn's array API dispatch) with the same calls
  allocating their results on X's device;
  the update applies each parameter's learning-rate factor (a layer's
  ``lr_factors``) and the decoupled weight decay where a fit has them
  (``optimizer_vectors``; then with NumPy's calls, not the fused pass);
- ``_engine.rowwise.RowStep``: one row per update of small networks, written out on Python
  floats.

A compiled step plugs in here without touching the loop.

On a device, the rows of each batch, the shuffled order and the dropout masks are
drawn on the host from the fit's random state, exactly as for NumPy, and moved to
the device; so a fit in another namespace makes the same draws, and a float64 fit
the same numbers, as on NumPy. Batch losses stay on the device (reading one back
would wait for it): the loop reads the epoch's total once.
"""


import numpy as np
from scipy.sparse import issparse

from .._core.layers import lr_factors
from .._core.network import (
    first_array,
    loss_and_gradients,
    make_workspace,
    pack,
    unpack,
    weight_sum,
)
from .._core.optimizers import (
    adam_init,
    adam_step,
    adam_step_size,
    clip_gradient_norm,
    number_type,
    sgd_init,
    sgd_step,
)
from .._core.xp import (
    device,
    host_dtype,
    is_numpy,
    namespace,
    row_slice,
    take_rows,
    to_namespace,
    to_numpy,
)
from . import planned as _planned
from . import rowwise as _rowwise
from .fused import fit_work
from .fused import kernels as fused_kernels

__all__ = ["ArrayStep", "DeviceStep", "PlannedStep", "WorkspaceStep", "dropout_masks",
           "fused_update", "make_step", "optimizer_update", "optimizer_vectors"]


def make_step(model, spec, data, params, batch_size, epochs, optimizer_state=None):
    """The step for a call of up to ``epochs`` epochs, training a copy of ``params``
    (one list per layer); ``optimizer_state`` continues an earlier fit's (else a
    fresh one)."""
    init = sgd_init if spec.solver == "sgd" else adam_init
    first = first_array(params)
    factors, decay = (_like(v, first) for v in
                      optimizer_vectors(model.layers, model.shapes, spec.weight_decay))
    plain = factors is None and decay is None  # (what the per-row path and kernels do)
    if plain and _rowwise.accepts(model, spec, batch_size, data.X, data.dtype,
                                  spec.rowwise_limit):
        flat = pack(params)  # (a copy)
        return _rowwise.RowStep(model, spec, data, flat, optimizer_state or init([flat]),
                                epochs)
    if not is_numpy(namespace(first)):
        flat = pack(params)  # (a copy)
        return DeviceStep(model, spec, data, flat, optimizer_state or init([flat]),
                          batch_size, optimizer_update(spec, None, factors, decay))
    widths = model.widths
    work = fit_work(data.n_samples, widths, batch_size, epochs,
                    sum(p.size for ps in params for p in ps))
    activations = [layer.activation for layer in model.layers
                   if hasattr(layer, "activation")]  # (what the kernels compile)
    loss = model.loss if isinstance(model.loss, str) else None
    kernels = (fused_kernels(first.dtype, activations, spec.solver, work,
                             spec.fast_kernels_min_work, loss, widths[-1] == 1)
               if spec.fast_kernels else None)
    ws = make_workspace(model.layers, params, model.n_features, batch_size, kernels)
    fused = kernels is not None and plain  # (the update's one pass: ``optimizer_update``)
    n_decayed = _folded_l2(model, spec, params) if fused else 0
    planned = plain and _planned.accepts(model, spec, data)
    return (PlannedStep if planned else WorkspaceStep)(
        model, spec, data, ws.flat_params, optimizer_state or init([ws.flat_params]),
        batch_size, optimizer_update(spec, kernels, factors, decay, n_decayed), ws,
        n_decayed)


def _folded_l2(model, spec, params):
    """How many parameters, first in the flat vector, the fused update adds the L2
    term to (0: the backward pass adds it): every layer's weights where each layer
    decays its first array only (``pack`` puts those first), the penalty is on and
    no gradient clipping reads the gradient before the update."""
    if not model.alpha or spec.clip_norm is not None or not all(
            layer.decayed == (0,) for layer, p in zip(model.layers, params) if p):
        return 0
    return sum(p[0].size for p in params if p)


def optimizer_update(spec, kernels=None, factors=None, decay=None, n_decayed=0):
    """``update(params, grads, scratch, state, learning_rate, l2=0.0)``: the
    optimizer's update of every parameter, chosen once per fit: the fused kernels'
    one pass where there are some (``fused_update``, adding the L2 term ``l2`` w =
    alpha w / sum_i s_i to the gradients of the first ``n_decayed`` parameters), else
    ``sgd_step`` or ``adam_step`` with the spec's settings (the gradients hold the L2
    term). ``factors`` and ``decay`` are the flat vectors of ``optimizer_vectors``
    (None: none), which only the NumPy steps apply."""
    s = spec
    extra = {"factors": None if factors is None else [factors],
             "decay": None if decay is None else [decay]}
    if kernels is not None and factors is None and decay is None:
        return fused_update(kernels, spec, n_decayed)
    if s.solver == "sgd":
        def update(params, grads, scratch, state, learning_rate):
            sgd_step(params, grads, state, learning_rate, s.momentum,
                     s.nesterovs_momentum, scratch, **extra)
    else:
        def update(params, grads, scratch, state, learning_rate):
            adam_step(params, grads, state, learning_rate, s.beta_1, s.beta_2,
                      s.epsilon, scratch, **extra)
    return update


def optimizer_vectors(layers, shapes, weight_decay):
    """``(factors, decay)``: flat float64 vectors in ``pack`` order of each
    parameter's learning-rate factor f (``lr_factors``) and decoupled decay rate
    r = weight_decay * f on the arrays each layer lists in ``decayed`` (0 on the
    others); each None where it changes nothing (every f = 1, weight_decay = 0),
    so that the optimizers run their plain steps."""
    factors = [lr_factors(layer, len(layer_shapes))
               for layer, layer_shapes in zip(layers, shapes)]

    def vector(values):
        return pack([[np.full(shape, v) for shape, v in zip(layer_shapes, vs)]
                     for layer_shapes, vs in zip(shapes, values)])

    rates = [[weight_decay * f if k in layer.decayed else 0.0 for k, f in enumerate(fs)]
             for layer, fs in zip(layers, factors)]
    plain = all(f == 1.0 for fs in factors for f in fs)
    return (None if plain else vector(factors),
            None if not any(r for rs in rates for r in rs) else vector(rates))


def _like(vector, like):
    """A host vector in the dtype, namespace and device of the array ``like``
    (None stays None)."""
    if vector is None:
        return None
    vector = vector.astype(host_dtype(like))
    return vector if is_numpy(namespace(like)) else to_namespace(
        vector, namespace(like), device(like))


class ArrayStep:
    """Minibatch backprop and one optimizer update per batch, on arrays: what the
    NumPy step (``WorkspaceStep``) and the Array API step (``DeviceStep``) share."""

    n_decayed = 0  # parameters whose L2 term the update adds (``optimizer_update``)

    def __init__(self, model, spec, data, flat, optimizer_state, batch_size, update):
        self.model, self.spec, self.data = model, spec, data
        self.flat, self.optimizer_state = flat, optimizer_state
        self.batch_size, self.update = batch_size, update
        self.shapes, self.widths = model.shapes, model.widths
        self.rates = model.input_rates if any(model.dropout) else None
        # the host's copy of the weights, to choose batches without the device
        self.host_weight = (None if data.sample_weight is None
                            else to_numpy(data.sample_weight))

    def updates(self, order, rng, learning_rate):
        """Train on the rows in ``order`` in batches; yields each batch's (sample
        weight, loss). Batches of weight 0 are skipped."""
        data, batch_size = self.data, self.batch_size
        rows = self._order(order)
        for start in range(0, data.n_samples, batch_size):
            stop = min(start + batch_size, data.n_samples)
            weight = stop - start
            sw = None
            if data.sample_weight is not None:
                weight = self.host_weight[order[start:stop]].sum()
                sw = take_rows(data.sample_weight, rows[start:stop])
            if weight > 0:
                X, Y = self._batch(rows, start, stop)
                yield weight, self.step(X, Y, sw, rng, learning_rate)

    def step(self, X, Y, sample_weight, rng, learning_rate):
        """Backprop on one batch and one optimizer update; returns the batch loss
        (of the network thinned by dropout, which is what is differentiated)."""
        m, ws, params = self.model, self.workspace, self.params
        loss, grads = loss_and_gradients(
            X, Y, sample_weight, m.layers, params, m.loss, m.alpha,
            dropout_masks(self.rates, self.widths, self.flat, X.shape[0], rng), ws,
            fold_l2=self.n_decayed > 0)
        # on NumPy the gradients are views into ws.grad: one flat array, as flat
        grads = [ws.grad] if ws else [pack(grads)]
        if self.spec.clip_norm is not None:
            clip_gradient_norm(grads, self.spec.clip_norm)
        extra = {}
        if self.n_decayed:  # the L2 term, left out of the gradients, added here
            extra["l2"] = m.alpha / weight_sum(X, sample_weight)
        self.update([self.flat], grads, [ws.scratch] if ws else None,
                    self.optimizer_state, learning_rate, **extra)
        return loss


class WorkspaceStep(ArrayStep):
    """The NumPy step: every array of a step in a ``Workspace`` allocated once per
    fit (``_core.network``), with the elementwise work fused into compiled loops where
    the kernels pay (``_engine.fused``)."""

    def __init__(self, model, spec, data, flat, optimizer_state, batch_size, update,
                 workspace, n_decayed=0):
        super().__init__(model, spec, data, flat, optimizer_state, batch_size, update)
        self.workspace, self.n_decayed = workspace, n_decayed
        self.params = workspace.params  # views into flat

    def _order(self, order):
        return order

    def _batch(self, rows, start, stop):
        """Rows ``rows[start:stop]`` of X and Y: views when the rows are visited in
        order, else gathered into the workspace (no array allocated per batch)."""
        X, Y, ws = self.data.X, self.data.Y, self.workspace
        if not self.spec.shuffle:
            if X.dtype != ws.X.dtype:  # float64 rows, float32 fit
                return (_copy_rows(ws.X[:stop - start], X[start:stop]),
                        row_slice(Y, start, stop))
            return row_slice(X, start, stop), row_slice(Y, start, stop)
        rows = rows[start:stop]
        if issparse(X):
            return take_rows(X, rows), take_rows(Y, rows)
        n = stop - start
        # mode="clip" (the rows are valid) lets take write straight into ``out``;
        # float64 rows of a float32 fit are converted on the way, one batch at a time
        return (np.take(X, rows, axis=0, out=ws.X[:n], mode="clip"),
                np.take(Y, rows, axis=0, out=ws.Y[:n], mode="clip"))


class PlannedStep(WorkspaceStep):
    """The planned path: ``WorkspaceStep`` for a plain perceptron, on the fused
    kernels or NumPy's calls, each batch's step the array operations alone, bound
    once per fit (``_engine.planned``): the same numbers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = _planned.Plan(self.model, self.workspace, self.update,
                                  self.optimizer_state, self.n_decayed)

    def step(self, X, Y, sample_weight, rng, learning_rate):
        return self.plan.step(X, Y, learning_rate)


class DeviceStep(ArrayStep):
    """The step on any other Array API namespace (scikit-learn's array API
    dispatch): the same calls, allocating their results on X's device."""

    workspace = None

    @property
    def params(self):
        """Every layer's parameters: views into ``flat``."""
        return unpack(self.flat, self.shapes)

    def _order(self, order):
        """The row order on the device (moved once per epoch, not per batch)."""
        return _on_device(order, self.data.X) if self.spec.shuffle else order

    def _batch(self, rows, start, stop):
        X, Y = self.data.X, self.data.Y
        if not self.spec.shuffle:
            return row_slice(X, start, stop), row_slice(Y, start, stop)
        return take_rows(X, rows[start:stop]), take_rows(Y, rows[start:stop])


def fused_update(kernels, spec, n_decayed=0):
    """``update(params, grads, scratch, state, learning_rate, l2=0.0)``, as
    ``optimizer_update``'s: the optimizer's update of every parameter (``params``
    and ``grads`` each one flat vector in a list; no scratch) in one compiled pass,
    bound once per fit: the same formulas as ``sgd_step`` and ``adam_step``
    (``_core.optimizers.sgd_at``, ``adam_at``), with the L2 term l2 w added to the
    gradient of the first ``n_decayed`` parameters on the way (``Dense.backward``'s
    alpha W / sum_i s_i)."""
    s, number = spec, number_type(kernels.dtype)
    # every number in the parameters' dtype (float64: as Python floats), rounded
    # from the Python float that NumPy's step would combine with the arrays, as NumPy
    # rounds it there: the float32 loop then computes in float32, as NumPy does (one
    # compiled version per dtype, whatever the types given); the settings' once
    # (the spec holds them as Python floats: ``_prepare.resolve``)
    if s.solver == "sgd":
        loop, momentum = kernels.sgd, number(s.momentum)
        nesterov = bool(s.nesterovs_momentum)

        def update(params, grads, scratch, state, learning_rate, l2=0.0):
            loop(params[0], grads[0], state["velocities"][0], number(learning_rate), momentum,
                 nesterov, n_decayed, number(l2))
        return update
    loop, beta_1, beta_2 = kernels.adam, s.beta_1, s.beta_2
    settings = tuple(map(number, (beta_1, beta_2, s.epsilon, 1 - beta_1, 1 - beta_2)))

    def update(params, grads, scratch, state, learning_rate, l2=0.0):
        step = adam_step_size(state, learning_rate, beta_1, beta_2)
        loop(params[0], grads[0], state["ms"][0], state["vs"][0], number(step), *settings,
             n_decayed, number(l2))
    return update


def dropout_masks(rates, widths, like, n_rows, rng):
    """Inverted-dropout masks, Bernoulli(1 - p) / (1 - p), on the input of each
    layer l with a rate ``rates[l]`` (``Model.input_rates``; of width
    ``widths[l]``): None where it has none or ``rates`` is None (no dropout). They
    are drawn on the host from ``rng`` whatever the namespace (the same masks as on
    NumPy) and moved to the namespace and device of the array ``like`` in its
    dtype."""
    if rates is None:
        return None
    masks = []
    xp, where, dtype = namespace(like), device(like), host_dtype(like)
    for p, width in zip(rates, widths):
        if p is None:
            masks.append(None)
            continue
        keep = rng.random_sample((n_rows, width)) >= p
        # 1 / (1 - p) where kept, else 0, in one pass (the numbers of keep / (1 - p))
        mask = None if p == 0 else np.multiply(keep, 1 / (1 - p), dtype=dtype)
        masks.append(to_namespace(mask, xp, where))
    return masks


def _copy_rows(out, rows):
    np.copyto(out, rows, casting="same_kind")
    return out


def _on_device(order, like):
    """The row order (NumPy) in the namespace and on the device of ``like``: moved
    once per epoch, not once per batch."""
    return to_namespace(order, namespace(like), device(like))
