"""Single SGD steps worked out by hand, compared weight by weight with the estimators.

Conventions: ``coefs_[0][i, j]`` is the weight from input i to hidden unit j,
``coefs_[1][j, 0]`` from hidden unit j to the output.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from reference_backprop import per_row_sgd_epoch

from skbackprop import BackpropClassifier, BackpropRegressor

ONE_STEP = dict(solver="sgd", momentum=0.0, alpha=0.0, batch_size=1, shuffle=False,
                max_iter=1)


def test_tutorial_regression_first_update_by_hand():
    """2-2-1 linear network, every weight 0.1, biases 0, row (8, 8) -> 4.

    Forward:  h1 = h2 = 0.1*8 + 0.1*8 = 1.6;  y_hat = 0.1*1.6 + 0.1*1.6 = 0.32
    Loss 1/2 (y - y_hat)^2, so dL/dy_hat = y_hat - y = -3.68.
    Output layer:  dL/dw2_j = -3.68 * 1.6 = -5.888;   dL/db2 = -3.68
    Hidden layer:  dL/dh_j = -3.68 * 0.1 = -0.368;  dL/dw1_ij = -0.368 * 8 = -2.944;
                   dL/db1_j = -0.368
    With eta = 0.002 (the tutorial's 0.001 on its gradient 2 (y_hat - y)):
      w2 = 0.1 + 0.002 * 5.888 = 0.111776,  b2 = 0.00736,
      w1 = 0.1 + 0.002 * 2.944 = 0.105888,  b1 = 0.000736.
    """
    reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
                            weight_init=0.1, learning_rate_init=0.002, **ONE_STEP)
    with pytest.warns(Warning):  # max_iter=1 does not converge
        reg.fit([[8.0, 8.0]], [4.0])
    assert_allclose(reg.coefs_[1], [[0.111776], [0.111776]], rtol=1e-12)
    assert_allclose(reg.intercepts_[1], [0.00736], rtol=1e-12)
    assert_allclose(reg.coefs_[0], np.full((2, 2), 0.105888), rtol=1e-12)
    assert_allclose(reg.intercepts_[0], [0.000736, 0.000736], rtol=1e-12)
    assert reg.loss_ == pytest.approx(0.5 * 3.68**2)


def test_tutorial_classification_first_update_by_hand():
    """2-2-1 sigmoid network, every weight 0.1, biases 0, row (8, 8) -> placed 1.

    h_j = sigmoid(1.6);  p = sigmoid(0.1 h1 + 0.1 h2);  binary cross-entropy,
    dL/dz_out = p - y;  dL/dw2_j = (p - y) h_j;  dL/dz_h = (p - y) 0.1 h (1 - h);
    dL/dw1_ij = dL/dz_h * 8.  Written with math.exp, not with the package.
    """
    def sigmoid(z):
        return 1 / (1 + math.exp(-z))

    eta = 0.5
    h = sigmoid(1.6)
    p = sigmoid(0.2 * h)
    d_out = p - 1.0
    d_hidden = d_out * 0.1 * h * (1 - h)
    clf = BackpropClassifier(hidden_layer_sizes=(2,), activation="logistic",
                             weight_init=0.1, learning_rate_init=eta, **ONE_STEP)
    clf.partial_fit([[8.0, 8.0]], [1], classes=[0, 1])
    assert_allclose(clf.coefs_[1], np.full((2, 1), 0.1 - eta * d_out * h), rtol=1e-12)
    assert_allclose(clf.intercepts_[1], [-eta * d_out], rtol=1e-12)
    assert_allclose(clf.coefs_[0], np.full((2, 2), 0.1 - eta * d_hidden * 8), rtol=1e-12)
    assert_allclose(clf.intercepts_[0], np.full(2, -eta * d_hidden), rtol=1e-12)
    assert clf.loss_ == pytest.approx(-math.log(p))


def test_tutorial_regression_epochs_match_scalar_formulas():
    rows = [((8, 8), 4), ((7, 9), 5), ((6, 10), 6), ((5, 12), 7)]
    W1, b1 = [[0.1, 0.1], [0.1, 0.1]], [0.0, 0.0]
    W2, b2 = [0.1, 0.1], [0.0]
    expected_losses = [per_row_sgd_epoch(rows, W1, b1, W2, b2, 0.002) for _ in range(5)]
    reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
                            weight_init=0.1, learning_rate_init=0.002,
                            **{**ONE_STEP, "max_iter": 5})
    with pytest.warns(Warning):
        reg.fit([x for x, _ in rows], [y for _, y in rows])
    assert_allclose(reg.loss_curve_, expected_losses, rtol=1e-12)
    assert_allclose(reg.coefs_[0], W1, rtol=1e-12)
    assert_allclose(reg.coefs_[1].ravel(), W2, rtol=1e-12)
    assert_allclose(reg.intercepts_[0], b1, rtol=1e-12, atol=1e-15)
    assert_allclose(reg.intercepts_[1], b2, rtol=1e-12)
