"""
The lab's 2-3-1 sigmoid network, trained full-batch
===================================================

Hours studied and slept -> exam score for three students, X scaled by its column
maxima and y by 100; a 2-3-1 network with sigmoid hidden *and* output units,
squared error, weights and biases drawn from U[0, 1), 7000 full-batch epochs.

Learning rate under our loss convention: the lab steps along the gradient of the
*summed* error sum_i 1/2 (y_i - out_i)^2 with a learning rate of 0.1. Our loss is the
*mean* over the 3 rows, whose gradient is a third of that, so the same steps need
``learning_rate_init = 3 * 0.1 = 0.3``. (The lab's listing never updates the hidden
biases; ours, like any backprop, does.)
"""

# %%
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropRegressor

X = np.array([[2, 9], [1, 5], [3, 6]], dtype=float)
y = np.array([92, 86, 89], dtype=float)
X = X / X.max(axis=0)  # each column divided by its maximum
y = y / 100

reg = BackpropRegressor(
    hidden_layer_sizes=(3,),
    activation="logistic",
    out_activation="logistic",  # a sigmoid output unit with squared error
    weight_init="uniform",  # W, b ~ U[0, 1), drawn in the lab's order
    random_state=0,
    solver="sgd",
    momentum=0.0,
    learning_rate_init=0.3,  # the lab's 0.1 on its summed (3x larger) gradient
    batch_size=3,  # full batch
    shuffle=False,
    alpha=0.0,
    max_iter=7000,
    tol=0.0,
    n_iter_no_change=10**6,  # run all 7000 epochs
)

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    reg.fit(X, y)
print("loss after 1, 10, 100, 1000, 7000 epochs:",
      [round(reg.loss_curve_[i - 1], 6) for i in (1, 10, 100, 1000, 7000)])
print("actual output:   ", y)
print("predicted output:", reg.predict(X).round(4))

# %%
# The loss over the 7000 epochs, on a log axis
import matplotlib.pyplot as plt

from skbackprop.inspection import LossCurveDisplay

LossCurveDisplay.from_estimator(reg, name="The lab's 2-3-1 sigmoid network")
plt.show()
