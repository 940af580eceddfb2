"""
The tutorial's classification network, replayed
================================================

CGPA and resume score -> placed (1) or not (0) on the four-row placement table: a
2-2-1 network of sigmoid units trained on binary cross-entropy, every weight 0.1
and every bias 0, one SGD update per row in order. With cross-entropy and a sigmoid
output the gradient at the output is p - y for both the tutorial and us, so the
learning rate carries over unchanged (here 0.1).

Two lessons show up in the numbers. Constant starting weights keep the two hidden
units identical for ever (they get identical updates), so the network has in effect
one hidden unit. And on raw inputs of size 5 to 12 the sigmoid units learn slowly
and settle with one row wrong; standardising the inputs fixes it.
"""

# %%
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier
from skbackprop.datasets import load_placement

X, y = load_placement("classification", return_X_y=True)


def tutorial_network(max_iter):
    return BackpropClassifier(
        hidden_layer_sizes=(2,),
        activation="logistic",  # sigmoid hidden units (the output is sigmoid too)
        weight_init=0.1,
        solver="sgd",
        momentum=0.0,
        learning_rate_init=0.1,
        batch_size=1,
        shuffle=False,
        alpha=0.0,
        max_iter=max_iter,
        n_iter_no_change=10**6,
    )


# %%
# The very first update (row 1), traced: sigmoid units, cross-entropy loss
from skbackprop import backprop_trace

first = backprop_trace(tutorial_network(max_iter=1), X[:1], y[:1], classes=[0, 1])
print(first)

# %%
# On the raw table, as the tutorial does
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    raw = tutorial_network(max_iter=1000).fit(X, y)
print("raw inputs, 1000 epochs: loss", round(raw.loss_, 4))
print("  P(placed):", raw.predict_proba(X)[:, 1].round(3), "predicted:", raw.predict(X), "true:", y)
print("  the hidden units stay twins:", np.allclose(raw.coefs_[0][:, 0], raw.coefs_[0][:, 1]))

# %%
# The same network on standardised inputs
X_scaled = StandardScaler().fit_transform(X)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    scaled = tutorial_network(max_iter=500).fit(X_scaled, y)
print("standardised inputs, 500 epochs: loss", round(scaled.loss_, 4))
print("  P(placed):", scaled.predict_proba(X_scaled)[:, 1].round(3),
      "predicted:", scaled.predict(X_scaled))

# %%
# The loss per epoch, raw and standardised inputs: scaling is what lets it fall
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
ax.plot(range(1, raw.n_iter_ + 1), raw.loss_curve_, label="raw inputs")
ax.plot(range(1, scaled.n_iter_ + 1), scaled.loss_curve_, label="standardised inputs")
ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="The tutorial's classifier")
ax.legend()
plt.show()
