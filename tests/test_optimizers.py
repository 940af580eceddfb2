"""Optimizers (_optimizers): one flat step equals per-array steps; gradient clipping
by hand."""


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
