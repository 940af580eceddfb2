"""Optimizers (_optimizers): one flat step equals per-array steps; gradient clipping
by hand; per-parameter learning-rate factors and decoupled weight decay by hand and
against torch's AdamW and SGD with parameter groups."""


import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skbackprop._core.optimizers import adam_init, adam_step, sgd_init, sgd_step


@pytest.mark.parametrize("step, init, options", [
    (sgd_step, sgd_init, dict(momentum=0.0)),
    (sgd_step, sgd_init, dict(momentum=0.9, nesterov=True)),
    (sgd_step, sgd_init, dict(momentum=0.9, nesterov=False)),
    (adam_step, adam_init, {}),
])
def test_flat_optimizer_step_equals_per_array_steps(step, init, options):
    """One flat vector updated in place with scratch space, against the parameter
    arrays updated one by one with temporaries: the same numbers."""
    rng = np.random.RandomState(1)
    params = [rng.normal(size=(4, 3)), rng.normal(size=3)]
    flat = np.concatenate([p.ravel() for p in params])
    state, flat_state = init(params), init([flat])
    for _ in range(5):
        grads = [rng.normal(size=p.shape) for p in params]
        flat_grad = np.concatenate([g.ravel() for g in grads])
        step(params, grads, state, 0.05, **options)
        step([flat], [flat_grad], flat_state, 0.05, scratch=[np.empty_like(flat)], **options)
        assert_array_equal(flat, np.concatenate([p.ravel() for p in params]))


def test_clip_gradient_norm_by_hand():
    from skbackprop._core.optimizers import clip_gradient_norm
    grads = [np.array([[3.0, 0.0]]), np.array([4.0])]  # joint norm 5
    assert clip_gradient_norm(grads, 1.0) == pytest.approx(5.0)
    assert_allclose(grads[0], [[0.6, 0.0]])
    assert_allclose(grads[1], [0.8])
    small = [np.array([0.3])]
    clip_gradient_norm(small, 1.0)
    assert_allclose(small[0], [0.3])


# ------------------------------------ learning-rate factors, decoupled weight decay

def test_adam_step_with_factors_and_decay_by_hand():
    """With epsilon = 0 Adam's first step is eta * sign(g); a factor f scales it, and
    the decoupled decay takes eta r w from the weights before it:
    w <- w - eta r w - eta f sign(g)."""
    params = [np.array([1.0, -2.0, 3.0])]
    grads = [np.array([0.5, -0.25, 4.0])]
    factors, decay = [np.array([2.0, 0.5, 0.0])], [np.array([0.2, 0.0, 0.2])]
    adam_step(params, grads, adam_init(params), 0.1, epsilon=0.0, factors=factors,
              decay=decay)
    # 1 - 0.1*0.2*1 - 0.1*2*1;  -2 - 0 - 0.1*0.5*(-1);  3 - 0.1*0.2*3 - 0 (f = 0)
    assert_allclose(params[0], [0.78, -1.95, 2.94], rtol=1e-15)


def test_sgd_step_with_factors_and_decay_by_hand():
    """Momentum 0.9 (classical), eta = 0.1, f = 3, r = 0.5, two steps:
    v1 = -eta f g1;  w1 = w0 - eta r w0 + v1;  v2 = mu v1 - eta f g2;
    w2 = w1 - eta r w1 + v2."""
    params = [np.array([2.0])]
    state = sgd_init(params)
    for g in (1.0, -2.0):
        sgd_step(params, [np.array([g])], state, 0.1, momentum=0.9, nesterov=False,
                 factors=[np.array([3.0])], decay=[np.array([0.5])])
    v1 = -0.1 * 3 * 1.0
    w1 = 2.0 - 0.1 * 0.5 * 2.0 + v1  # 1.6
    v2 = 0.9 * v1 - 0.1 * 3 * -2.0  # 0.33
    assert_allclose(params[0], [w1 - 0.1 * 0.5 * w1 + v2], rtol=1e-15)  # 1.85
    assert_allclose(state["velocities"][0], [v2], rtol=1e-15)


@pytest.mark.parametrize("step, init, options", [
    (sgd_step, sgd_init, dict(momentum=0.0)),
    (sgd_step, sgd_init, dict(momentum=0.9, nesterov=True)),
    (adam_step, adam_init, {}),
])
def test_factors_of_one_and_no_decay_are_the_plain_step(step, init, options):
    rng = np.random.RandomState(3)
    plain = rng.normal(size=7)
    extra = plain.copy()
    plain_state, extra_state = init([plain]), init([extra])
    for _ in range(4):
        g = rng.normal(size=7)
        step([plain], [g.copy()], plain_state, 0.05, **options)
        step([extra], [g.copy()], extra_state, 0.05, factors=[np.ones(7)],
             decay=[np.zeros(7)], **options)
    assert_array_equal(extra, plain)


def _torch_groups(torch, params, factors, decay, learning_rate, weight_decay):
    """One torch parameter group per array: its learning rate eta f, and
    weight_decay on the arrays whose decay rate is not 0."""
    tensors = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    groups = [{"params": [t], "lr": learning_rate * f,
               "weight_decay": weight_decay if r else 0.0}
              for t, f, r in zip(tensors, factors, decay)]
    return tensors, groups


def test_adam_with_factors_and_decay_is_torchs_adamw_with_parameter_groups():
    """AdamW (decoupled decay) with one learning rate per parameter group. torch
    adds epsilon to sqrt(v_hat) and we to sqrt(v): torch's epsilon is set to
    epsilon / sqrt(1 - beta_2^t) each step, which makes the formulas equal."""
    torch = pytest.importorskip("torch")
    rng = np.random.RandomState(0)
    params = [rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=5)]
    f, wd, eta, beta_2, eps = [1.0, 0.1, 6.0], 0.02, 0.04, 0.95, 1e-8
    decayed = [True, False, True]
    tensors, groups = _torch_groups(torch, params, f, decayed, eta, wd)
    torch_adam = torch.optim.AdamW(groups, betas=(0.9, beta_2), eps=eps)
    state = adam_init(params)
    factors = [np.full(p.shape, fk) for p, fk in zip(params, f)]
    decay = [np.full(p.shape, wd * fk * d) for p, fk, d in zip(params, f, decayed)]
    for t in range(1, 21):
        grads = [rng.normal(size=p.shape) for p in params]
        for tensor, g in zip(tensors, grads):
            tensor.grad = torch.tensor(g)
        for group in torch_adam.param_groups:
            group["eps"] = eps / np.sqrt(1 - beta_2**t)
        torch_adam.step()
        adam_step(params, grads, state, eta, 0.9, beta_2, eps, factors=factors,
                  decay=decay)
    for p, tensor in zip(params, tensors):
        assert_allclose(p, tensor.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_with_factors_is_torchs_sgd_with_parameter_groups(nesterov):
    torch = pytest.importorskip("torch")
    rng = np.random.RandomState(1)
    params = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    f, eta = [0.5, 4.0], 0.05
    tensors, groups = _torch_groups(torch, params, f, [False, False], eta, 0.0)
    torch_sgd = torch.optim.SGD(groups, momentum=0.9, nesterov=nesterov)
    state = sgd_init(params)
    factors = [np.full(p.shape, fk) for p, fk in zip(params, f)]
    for _ in range(15):
        grads = [rng.normal(size=p.shape) for p in params]
        for tensor, g in zip(tensors, grads):
            tensor.grad = torch.tensor(g)
        torch_sgd.step()
        sgd_step(params, grads, state, eta, 0.9, nesterov, factors=factors)
    for p, tensor in zip(params, tensors):
        assert_allclose(p, tensor.detach().numpy(), rtol=1e-12, atol=1e-14)
