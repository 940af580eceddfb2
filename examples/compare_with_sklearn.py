"""
Same data, same start: skbackprop next to sklearn's MLP
=======================================================

The tutorial ends by checking that its hand-written network gives "similar results
as Keras". skbackprop can do better than similar: with the same settings and the
same ``random_state``, it draws the same starting weights as
``sklearn.neural_network.MLPRegressor`` and ``MLPClassifier`` and runs the same
algorithm, so the two trainings agree to rounding, epoch by epoch. (The loss is
reported in the same convention here: one output, where sklearn's and ours agree.)
"""

# %%
# Synthetic placement data, scaled; the same settings for both libraries
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.datasets import make_placement

X, package = make_placement(n_samples=200, random_state=0)
_, placed = make_placement(n_samples=200, task="classification", random_state=0)
X = StandardScaler().fit_transform(X)
settings = dict(hidden_layer_sizes=(8,), activation="tanh", solver="adam",
                learning_rate_init=0.01, max_iter=30, random_state=0)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # 30 epochs: on purpose
    ours_reg = BackpropRegressor(**settings).fit(X, package)
    sk_reg = MLPRegressor(**settings).fit(X, package)
    ours_clf = BackpropClassifier(**settings).fit(X, placed)
    sk_clf = MLPClassifier(**settings).fit(X, placed)

# %%
# Regression: the loss per epoch, side by side
for epoch in (1, 2, 10, 30):
    print(f"epoch {epoch:2d}: skbackprop {ours_reg.loss_curve_[epoch - 1]:.10f}   "
          f"sklearn {sk_reg.loss_curve_[epoch - 1]:.10f}")
print("largest difference in predicted package:",
      np.abs(ours_reg.predict(X) - sk_reg.predict(X)).max())

# %%
# Classification: probabilities and decisions
print("largest difference in P(placed):",
      np.abs(ours_clf.predict_proba(X) - sk_clf.predict_proba(X)).max())
print("same decisions on every row:", bool((ours_clf.predict(X) == sk_clf.predict(X)).all()))

# %%
# The two regressors' loss curves, drawn over each other: one line
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
epochs = range(1, len(ours_reg.loss_curve_) + 1)
ax.plot(epochs, sk_reg.loss_curve_, linewidth=6, alpha=0.4, label="sklearn MLPRegressor")
ax.plot(epochs, ours_reg.loss_curve_, color="black", label="skbackprop BackpropRegressor")
ax.set(xlabel="epoch", ylabel="loss", yscale="log", title="Same settings, same losses")
ax.legend()
plt.show()
