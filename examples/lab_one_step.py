"""
The lab's derivation, one step: every weight next to the hand-derived value
===========================================================================

The lab skbackprop grew from (a classroom exercise on backpropagation; see "The
tutorials skbackprop grew from" in the user guide) derives the update of the output
weight w5 by the chain rule ("total error with respect to output, output with
respect to net output, net output with respect to the weight") and then trains a
2-3-1 sigmoid network. This script takes that network
from its starting weights (U[0, 1), drawn as the lab draws them), lets
``backprop_trace`` show the first full-batch step of our estimator, and puts every
weight and bias after the step next to the value the lab's own formulas give,
written out here with NumPy:

    d_output = (y - output) * output * (1 - output)
    d_hidden = d_output . wout^T * hidden * (1 - hidden)
    wout += hidden^T . d_output * lr,  bout += sum(d_output) * lr
    wh   += X^T . d_hidden * lr,       bh   += sum(d_hidden) * lr

The lab's learning rate 0.1 steps along its *summed* error; ours is the mean over
the 3 rows, so the same step is ``learning_rate=0.3``.
"""

# %%
# The lab's data and starting weights, given to our estimator
import numpy as np
import pandas as pd

from skbackprop import BackpropRegressor, backprop_trace

X = np.array([[2, 9], [1, 5], [3, 6]], dtype=float) / [3, 9]  # by the column maxima
y = np.array([92, 86, 89], dtype=float) / 100
rng = np.random.RandomState(0)
wh, bh = rng.uniform(size=(2, 3)), rng.uniform(size=(1, 3))
wout, bout = rng.uniform(size=(3, 1)), rng.uniform(size=(1, 1))

reg = BackpropRegressor(hidden_layer_sizes=(3,), activation="logistic",
                        out_activation="logistic", alpha=0.0, warm_start=True)
reg.coefs_, reg.intercepts_ = [wh.copy(), wout.copy()], [bh.ravel(), bout.ravel()]

# %%
# Our first step, traced (output layer first, as the lab derives w5)
trace = backprop_trace(reg, X, y, learning_rate=0.3)
print(trace)

# %%
# The lab's formulas, by hand
hidden = 1 / (1 + np.exp(-(X @ wh + bh)))
output = 1 / (1 + np.exp(-(hidden @ wout + bout)))
d_output = (y[:, None] - output) * output * (1 - output)
d_hidden = d_output @ wout.T * hidden * (1 - hidden)
lr = 0.1
hand = {
    "wh": wh + X.T @ d_hidden * lr, "bh": bh + d_hidden.sum(axis=0) * lr,
    "wout": wout + hidden.T @ d_output * lr, "bout": bout + d_output.sum(axis=0) * lr,
}

# %%
# Side by side: every parameter after one step
names = trace.params["name"]
by_hand = np.concatenate([hand["wh"].ravel(), hand["bh"].ravel(),
                          hand["wout"].ravel(), hand["bout"].ravel()])
table = pd.DataFrame({"parameter": names, "before": trace.params["value"],
                      "ours after one step": trace.params["updated"],
                      "lab's formulas": by_hand})
print(table.to_string(index=False))
print("largest difference:", np.abs(table["ours after one step"] - by_hand).max())

# %%
# The network at its starting weights, each edge labelled with its gradient on the
# three rows: the numbers the lab's formulas multiply by the learning rate
import matplotlib.pyplot as plt

from skbackprop.inspection import NetworkDisplay

NetworkDisplay.from_estimator(reg, X, y)
plt.show()
