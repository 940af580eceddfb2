"""
Training on PyTorch tensors (and on a GPU) through the Array API
================================================================

With scikit-learn's array API dispatch on, both estimators compute in the namespace
and on the device of X: here PyTorch tensors, on a CUDA GPU when there is one and on
the CPU otherwise. A Pipeline with sklearn's scaler trains where the data lives, the
fitted weights are tensors there, and a float64 fit trains exactly the network NumPy
trains from the same ``random_state``. Needs PyTorch (``pip install torch``);
scikit-learn asks for ``SCIPY_ARRAY_API=1`` in the environment before scipy is
imported.
"""

# %%
import os

os.environ["SCIPY_ARRAY_API"] = "1"  # before scipy is first imported (or in the shell)

import numpy as np
import sklearn
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._array_api import move_estimator_to

from skbackprop import BackpropClassifier
from skbackprop.datasets import make_placement

device = "cuda" if torch.cuda.is_available() else "cpu"
X, y = make_placement(300, task="classification", random_state=0)
X_t = torch.asarray(X, dtype=torch.float64, device=device)
y_t = torch.asarray(y, device=device)


def placement_pipeline():
    return make_pipeline(StandardScaler(), BackpropClassifier(
        hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=500,
        random_state=0))


with sklearn.config_context(array_api_dispatch=True):
    on_device = placement_pipeline().fit(X_t, y_t)
    proba = on_device.predict_proba(X_t)
weights = on_device[-1].coefs_[0]
print(f"trained on {device}: weights are a {type(weights).__name__} on {weights.device}, "
      f"probabilities a {type(proba).__name__} of {proba.dtype}")
print(f"training accuracy {float((proba.argmax(1) == y_t).double().mean()):.3f}")

# %%
# The same pipeline on NumPy arrays trains the same network: the starting weights,
# the row order of every epoch and every other random draw come from
# ``random_state`` on the host. (The two scalers' means differ in the last bit, from
# torch's and NumPy's summation orders; Adam's 352 epochs keep that at that size,
# while hundreds of lbfgs iterations can grow it into a visibly different optimum.)
on_numpy = placement_pipeline().fit(X, y)
difference = max(np.abs(W.cpu().numpy() - V).max()
                 for W, V in zip(on_device[-1].coefs_, on_numpy[-1].coefs_))
print(f"epochs {on_device[-1].n_iter_} and {on_numpy[-1].n_iter_}; "
      f"largest weight difference {difference:.1e}")

# %%
# Serving elsewhere: ``move_estimator_to`` returns a copy of the whole pipeline with
# NumPy arrays (and moves one back onto a device for a GPU service)
on_host = move_estimator_to(on_device, np, "cpu")
print(type(on_host[-1].coefs_[0]).__name__, type(on_host[0].mean_).__name__,
      "same predictions as the NumPy fit:",
      np.array_equal(on_host.predict(X), on_numpy.predict(X)))

# %%
# The two fits' loss curves, drawn over each other
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
epochs = range(1, on_numpy[-1].n_iter_ + 1)
ax.plot(epochs, on_numpy[-1].loss_curve_, linewidth=6, alpha=0.4, label="NumPy arrays")
ax.plot(epochs, on_device[-1].loss_curve_, color="black",
        label=f"torch tensors on {device}")
ax.set(xlabel="epoch", ylabel="loss", yscale="log", title="One network, two namespaces")
ax.legend()
plt.show()
