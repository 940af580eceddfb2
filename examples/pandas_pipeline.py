"""
A DataFrame with text and categories: ColumnTransformer + BackpropClassifier
============================================================================

A network multiplies every feature by a weight, so each column must be a number
that means what its size says. A DataFrame with text or category columns is refused
with an error that says how to encode them (sklearn's MLP would silently use
integer-coded categories as numbers). This script builds such a table, shows the
error, then encodes the columns in a pipeline (one-hot for categories, scaling for
numbers), cross-validates it, and predicts for new rows given as a DataFrame.
"""

# %%
# Placement records with a city (a pandas category) and a stream (text)
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skbackprop import BackpropClassifier

rng = np.random.RandomState(0)
n = 400
frame = pd.DataFrame({
    "cgpa": rng.uniform(5, 10, n).round(1),
    "resume_score": rng.uniform(4, 10, n).round(1),
    "city": pd.Categorical(rng.choice(["Pune", "Delhi", "Chennai"], n)),
    "stream": rng.choice(["CS", "ECE", "Mech"], n),
})
score = (frame["cgpa"] - 7.5 + 0.5 * (frame["resume_score"] - 7)
         + np.where(frame["stream"] == "CS", 0.8, 0.0) + rng.normal(0, 0.5, n))
placed = pd.Series(pd.Categorical(np.where(score > 0, "placed", "not placed")),
                   name="outcome")

# %%
# Given straight to the network, the text and category columns are refused
try:
    BackpropClassifier().fit(frame, placed)
except ValueError as error:
    print(f"refused: {error}")

# %%
# Encoded in a pipeline: one-hot categories, scaled numbers, DataFrames throughout
encode = ColumnTransformer([
    ("categories", OneHotEncoder(sparse_output=False), ["city", "stream"]),
    ("numbers", StandardScaler(), ["cgpa", "resume_score"]),
], verbose_feature_names_out=False).set_output(transform="pandas")
model = make_pipeline(encode, BackpropClassifier(hidden_layer_sizes=(16,),
                                                 learning_rate_init=0.01, tol=1e-3,
                                                 max_iter=300, random_state=0))
scores = cross_val_score(model, frame, placed, cv=5)
print(f"5-fold accuracy: {scores.mean():.3f} +/- {scores.std():.3f}")

# %%
# Fit on every row; the network sees the encoded column names; predict new rows
model.fit(frame, placed)
network = model[-1]
print("network inputs:", list(network.feature_names_in_))
print("classes:", network.classes_.tolist())
new = pd.DataFrame({"cgpa": [9.1, 6.0], "resume_score": [8.0, 5.5],
                    "city": pd.Categorical(["Delhi", "Pune"]), "stream": ["CS", "Mech"]})
print("new rows:", model.predict(new).tolist())
print(network.history_.tail(3).round(4).to_string(index=False))

# %%
# The network's loss curve, drawn from the pipeline
import matplotlib.pyplot as plt

from skbackprop.inspection import LossCurveDisplay

LossCurveDisplay.from_estimator(model, name="placement, encoded DataFrame")
plt.show()
