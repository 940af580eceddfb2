"""
Saving a model and loading it back, without pickle
===================================================

``skbackprop.save`` writes a fitted estimator as a zip of ``.npy`` arrays and one
JSON document holding exactly the versioned schema of its fitted state;
``skbackprop.load`` checks every value against that schema before it builds the
model, and never runs anything the file holds. Here a placement classifier is saved,
loaded, checked to predict and train on exactly as the original, then a damaged
file and a wrongly signed one are refused.
"""

# %%
import tempfile
from pathlib import Path

import numpy as np

from skbackprop import BackpropClassifier
from skbackprop.datasets import make_placement
from skbackprop.persistence import FORMAT_VERSION, ModelFileError, load, save

X, y = make_placement(300, task="classification", random_state=0)
X = (X - X.mean(axis=0)) / X.std(axis=0)
model = BackpropClassifier(hidden_layer_sizes=(8,), solver="lbfgs", alpha=1.0,
                           random_state=0).fit(X, y)

folder = Path(tempfile.mkdtemp())
path = folder / "placement.skbp"
save(model, path)
print(f"format {FORMAT_VERSION}, {path.stat().st_size} bytes")

# %%
# The loaded model predicts bit for bit as the one saved
loaded = load(path)
print("same probabilities:", np.array_equal(loaded.predict_proba(X), model.predict_proba(X)))

# %%
# ... and keeps what training needs (here with sgd, whose momentum is part of the
# saved state): one more ``partial_fit`` epoch gives the same weights either way
online = BackpropClassifier(hidden_layer_sizes=(8,), solver="sgd", random_state=0)
online.partial_fit(X, y, classes=[0, 1])
save(online, folder / "online.skbp")
resumed = load(folder / "online.skbp").partial_fit(X, y)
online.partial_fit(X, y)
print("same weights after one more epoch:",
      all(np.array_equal(a, b) for a, b in zip(resumed.coefs_, online.coefs_)))

# %%
# A damaged file is refused with what is wrong, never loaded as a wrong model
data = bytearray(path.read_bytes())
data[len(data) // 2] ^= 0xFF
(folder / "damaged.skbp").write_bytes(bytes(data))
try:
    load(folder / "damaged.skbp")
except ModelFileError as error:
    print("refused:", str(error).replace(str(folder), "<folder>"))

# %%
# A team sharing a secret can sign its models; any other key is refused
save(model, folder / "signed.skbp", key=b"team secret")
print("signed, loads with the key:", load(folder / "signed.skbp", key=b"team secret").n_iter_)
try:
    load(folder / "signed.skbp", key=b"another secret")
except ModelFileError as error:
    print("refused:", str(error).replace(str(folder), "<folder>"))

# %%
# The loaded model's probabilities against the saved one's: every row on the diagonal
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
ax.plot([0, 1], [0, 1], color="lightgray")
ax.scatter(model.predict_proba(X)[:, 1], loaded.predict_proba(X)[:, 1], s=12)
ax.set(xlabel="P(placed), saved model", ylabel="P(placed), loaded model",
       title="Saved and loaded: the same model", aspect="equal")
plt.show()
