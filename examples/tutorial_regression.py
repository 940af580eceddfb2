"""
The tutorial's regression network, replayed
===========================================

CGPA and resume score -> package (LPA) on the four-row placement table, with the
tutorial's set-up: a 2-2-1 network of linear units, every weight 0.1 and every bias
0, one SGD update per row with the rows in order, and the average loss per epoch.

Learning rate under our loss convention: the tutorial's loss per row is
(y - y_hat)^2, whose gradient 2 (y_hat - y) it steps along with a learning rate of
0.001. Our squared error is 1/2 (y - y_hat)^2 (gradient y_hat - y), so the same
steps need ``learning_rate_init = 2 * 0.001 = 0.002``; the tutorial's loss values are
twice ours.
"""

# %%
# The data and the network
import warnings

from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropRegressor
from skbackprop.datasets import load_placement

X, y = load_placement("regression", return_X_y=True)

reg = BackpropRegressor(
    hidden_layer_sizes=(2,),
    activation="identity",  # linear hidden units, as in the tutorial
    weight_init=0.1,  # every weight 0.1, every bias 0
    solver="sgd",
    momentum=0.0,  # plain gradient descent
    learning_rate_init=0.002,  # the tutorial's 0.001 on its doubled gradient
    batch_size=1,  # one update per row ...
    shuffle=False,  # ... in the order of the table
    alpha=0.0,  # no L2 penalty
    max_iter=5,
    n_iter_no_change=10**6,  # run every epoch
)

# %%
# Before training: the very first update (row 1) traced, as the tutorial derives it
from skbackprop import backprop_trace

first = backprop_trace(reg, X[:1], y[:1])
print(first)

# %%
# Train, then print the loss per epoch in both conventions
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # 5 epochs do not converge
    reg.fit(X, y)

for epoch, loss in enumerate(reg.loss_curve_, start=1):
    print(f"epoch {epoch}: loss {loss:.6f}  (tutorial's mean (y - y_hat)^2: {2 * loss:.6f})")

# %%
# The trained weights and the predictions
print("hidden weights W1:\n", reg.coefs_[0].round(6))
print("output weights W2:", reg.coefs_[1].ravel().round(6), "bias:", reg.intercepts_[1].round(6))
for (cgpa, resume), target, pred in zip(X, y, reg.predict(X)):
    print(f"cgpa {cgpa:.0f}, resume {resume:.0f}: package {target:.0f} LPA, predicted {pred:.3f}")

# %%
# The trained network, drawn: each weight an edge as wide as its size, coloured by
# its sign, with its gradient on the table's first row written on it
import matplotlib.pyplot as plt

from skbackprop.inspection import NetworkDisplay

NetworkDisplay.from_estimator(reg, X[:1], y[:1])
plt.show()
