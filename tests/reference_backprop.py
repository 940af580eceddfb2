"""Independent reference implementations of the seeds' algorithms, for the tests.

Written from the textbook formulas with Python floats (per-row SGD on a 2-2-1
network) or explicit NumPy (the lab's full-batch 2-3-1 network); they share no code
with skbackprop.
"""

import math

import numpy as np


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def per_row_sgd_epoch(rows, W1, b1, W2, b2, eta, sigmoid_units=False):
    """One epoch of the tutorial's algorithm on a 2-2-1 network, rows in order.

    Linear units with loss 1/2 (y - y_hat)^2, or (``sigmoid_units``) sigmoid hidden
    and output units with binary cross-entropy; in both cases dL/dz_out = y_hat - y.
    W1[i][j]: input i -> hidden j; W2[j]: hidden j -> output. Updates the lists in
    place and returns the mean per-row loss measured before each row's update.
    """
    f = sigmoid if sigmoid_units else (lambda z: z)
    losses = []
    for x, y in rows:
        h = [f(sum(x[i] * W1[i][j] for i in range(2)) + b1[j]) for j in range(2)]
        y_hat = f(sum(h[j] * W2[j] for j in range(2)) + b2[0])
        if sigmoid_units:
            losses.append(-(y * math.log(y_hat) + (1 - y) * math.log(1 - y_hat)))
        else:
            losses.append(0.5 * (y - y_hat) ** 2)
        d_out = y_hat - y
        slope = [h[j] * (1 - h[j]) if sigmoid_units else 1.0 for j in range(2)]
        d_h = [d_out * W2[j] * slope[j] for j in range(2)]  # W2 before its update
        for j in range(2):
            W2[j] -= eta * d_out * h[j]
            for i in range(2):
                W1[i][j] -= eta * d_h[j] * x[i]
            b1[j] -= eta * d_h[j]
        b2[0] -= eta * d_out
    return sum(losses) / len(losses)


def lab_full_batch(X, y, seed, lr, epochs):
    """The lab's 2-3-1 sigmoid network: weights and biases drawn from U[0, 1) in the
    order wh, bh, wout, bout; each epoch a forward pass over all rows, then
    w += lr * (gradient of -sum 1/2 (y - out)^2). Unlike the lab's listing, the hidden
    biases bh are updated too. Returns the final output and the four parameters."""
    rng = np.random.RandomState(seed)
    wh = rng.uniform(size=(2, 3))
    bh = rng.uniform(size=(1, 3))
    wout = rng.uniform(size=(3, 1))
    bout = rng.uniform(size=(1, 1))

    def forward():
        hidden = 1 / (1 + np.exp(-(X @ wh + bh)))
        return hidden, 1 / (1 + np.exp(-(hidden @ wout + bout)))

    for _ in range(epochs):
        hidden, out = forward()
        d_output = (y - out) * out * (1 - out)
        d_hidden = (d_output @ wout.T) * hidden * (1 - hidden)
        wout += hidden.T @ d_output * lr
        bout += d_output.sum(axis=0, keepdims=True) * lr
        wh += X.T @ d_hidden * lr
        bh += d_hidden.sum(axis=0, keepdims=True) * lr
    return forward()[1], (wh, bh, wout, bout)
