"""
Training on a CSV too big for memory, chunk by chunk
====================================================

``pandas.read_csv(..., chunksize=n)`` reads a file ``n`` rows at a time, and
``partial_fit`` takes one optimizer pass over whatever it is given, so a network
can learn from a file that never fits in memory at once. Two things must be known
before the first chunk: the classes (a chunk may lack some) and the feature scaling
(one pass of ``StandardScaler.partial_fit`` over the chunks computes it). This
script writes a CSV to stand in for such a file, trains through it in chunks of 2,000
rows, and compares with a fit on all the data at once.
"""

# %%
# A CSV to stream: 30,000 rows, 10 features, a text label with three classes
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

X, y = make_classification(n_samples=30_000, n_features=10, n_informative=6,
                           n_classes=3, random_state=0)
table = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)])
table["label"] = np.array(["low", "mid", "high"])[y]
path = Path(tempfile.mkdtemp()) / "big.csv"
table.iloc[:25_000].to_csv(path, index=False)  # training rows; the rest are a test set
test = table.iloc[25_000:]
features = [f"x{i}" for i in range(10)]
CHUNK = 2_000


def chunks():
    return pd.read_csv(path, chunksize=CHUNK)


# %%
# Pass 1: the scaling statistics, one chunk at a time
scaler = StandardScaler()
for chunk in chunks():
    scaler.partial_fit(chunk[features])

# %%
# Passes 2 to 6: one partial_fit per chunk, the classes given up front
classes = ["high", "low", "mid"]
stream = BackpropClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.003,
                            random_state=0)
largest_chunk = 0
for _epoch in range(5):
    for chunk in chunks():
        largest_chunk = max(largest_chunk, len(chunk))
        stream.partial_fit(scaler.transform(chunk[features]), chunk["label"],
                           classes=classes)
X_test = scaler.transform(test[features])
print(f"streamed: {stream.n_iter_} chunk updates of at most {largest_chunk} rows, "
      f"test accuracy {stream.score(X_test, test['label']):.3f}")

# %%
# The same network fitted on all the training rows at once, for comparison
whole = pd.read_csv(path)
full = BackpropClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.003,
                          max_iter=5, random_state=0)
with warnings.catch_warnings():  # 5 epochs, like the stream: not converged, and known
    warnings.simplefilter("ignore", ConvergenceWarning)
    full.fit(scaler.transform(whole[features]), whole["label"])
print(f"whole file in memory: test accuracy {full.score(X_test, test['label']):.3f}")

# %%
# The loss of every chunk update, pass after pass
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
ax.plot(range(1, stream.n_iter_ + 1), stream.loss_curve_)
for boundary in range(13, stream.n_iter_, 13):
    ax.axvline(boundary + 0.5, color="lightgray", linewidth=0.8)
ax.set(xlabel="chunk update (grey lines: a new pass over the file)", ylabel="loss",
       title="Learning from a file read in chunks")
plt.show()
