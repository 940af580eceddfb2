"""Layers (_core.layers): Dense is the textbook's layer, Z = A_in W + b, A = f(Z),
and its backward pass; the workspace buffers give the same numbers as allocating."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skbackprop._core.activations import ACTIVATIONS
from skbackprop._core.layers import Dense, dense_layers
from skbackprop._core.network import make_workspace

RNG = np.random.default_rng(0)
A_IN, W, B = RNG.normal(size=(5, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=4)


@pytest.mark.parametrize("name", ["identity", "logistic", "tanh", "relu", "gelu"])
def test_forward_is_the_formula(name):
    A, Z = Dense(name).forward(A_IN.copy(), W, B, keep=True)
    assert_allclose(Z, A_IN @ W + B, rtol=1e-14)
    assert_allclose(A, ACTIVATIONS[name].forward(A_IN @ W + B), rtol=1e-14)


def test_backward_is_the_formula_and_matches_finite_differences():
    """dL/dW = A_in^T delta + alpha W / s, dL/db = 1^T delta, dL/dA_in = delta W^T;
    checked on L = sum(G * Z) for a fixed G (so delta = G), by central differences."""
    G, alpha, s = RNG.normal(size=(5, 4)), 0.3, 5.0
    (dW, db), upstream = Dense("identity").backward(G, A_IN, W, alpha, s)
    assert_allclose(dW, A_IN.T @ G + alpha * W / s, rtol=1e-14)
    assert_allclose(db, G.sum(axis=0), rtol=0, atol=1e-15)  # (1^T G: another order)
    assert_allclose(upstream, G @ W.T, rtol=1e-14)

    def loss(A_in, W):
        return np.sum(G * (A_in @ W + B)) + 0.5 * alpha * np.sum(W**2) / s

    eps, numeric = 1e-6, np.zeros_like(W)
    for index in np.ndindex(W.shape):
        up, down = W.copy(), W.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (loss(A_IN, up) - loss(A_IN, down)) / (2 * eps)
    assert_allclose(dW, numeric, rtol=1e-7)


def test_delta_applies_the_local_derivative():
    A = ACTIVATIONS["tanh"].forward(A_IN @ W + B)
    upstream = RNG.normal(size=A.shape)
    assert_allclose(Dense("tanh").delta(upstream.copy(), A, None), upstream * (1 - A**2))


def test_the_first_layer_sends_no_error_down():
    assert Dense("relu").backward(np.ones((5, 4)), A_IN, W, upstream=False)[1] is None


def test_parameter_shapes_and_the_output_layer():
    layers = dense_layers(["tanh", "relu", "softmax"])
    assert [layer.output for layer in layers] == [False, False, True]
    assert layers[0].parameter_shapes(3, 4) == [(3, 4), (4,)]
    assert layers[-1].keeps_net_input() and not layers[1].keeps_net_input()


def test_buffers_give_the_numbers_allocation_gives():
    """The workspace path (NumPy buffers) and the allocating path, bit for bit."""
    coefs, intercepts = [W.copy(), RNG.normal(size=(4, 2))], [B.copy(), np.zeros(2)]
    ws = make_workspace(coefs, intercepts, ["relu", "identity"], batch_size=5)
    layer, buffers = dense_layers(["relu", "identity"])[0], ws.layers[0]
    A_ws, _ = layer.forward(A_IN, ws.coefs[0], ws.intercepts[0], buffers)
    A, _ = layer.forward(A_IN, W, B)
    assert_array_equal(A_ws, A)
    delta = RNG.normal(size=(5, 4))
    (dW_ws, db_ws), _ = layer.backward(delta, A_IN, ws.coefs[0], 0.1, 5.0, buffers,
                                       upstream=False)
    (dW, db), _ = layer.backward(delta, A_IN, W, 0.1, 5.0, upstream=False)
    assert_array_equal(dW_ws, dW)
    assert_array_equal(db_ws, db)
    assert np.shares_memory(dW_ws, ws.grad)  # written into the flat gradient
