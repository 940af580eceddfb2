"""
The placement classifier, exported to ONNX and served by onnxruntime
=====================================================================

A model in production often runs where Python does not: a web service in another
language, a phone, a browser. ONNX is the common format; skl2onnx converts
scikit-learn pipelines to it, and importing ``skbackprop.onnx`` teaches it our
estimators. Here a scaler and a placement classifier are fitted, exported as one
graph, run by onnxruntime, and compared with the model itself; then a
``TabularClassifier`` is exported from a raw table with text and missing values.
Needs the ``onnx`` extra and onnxruntime: ``pip install "skbackprop[onnx]"
onnxruntime``.
"""

# %%
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skbackprop.onnx  # noqa: F401 (registers the converters with skl2onnx)
from skbackprop import BackpropClassifier
from skbackprop.datasets import make_placement

X, y = make_placement(300, task="classification", random_state=0)
model = make_pipeline(StandardScaler(), BackpropClassifier(
    hidden_layer_sizes=(8,), solver="lbfgs", alpha=1.0, random_state=0)).fit(X, y)

# %%
# Export: the input's type (float32 here) is the graph's; ``zipmap=False`` gives the
# probabilities as a matrix instead of one dict per row
onx = to_onnx(model, X[:1].astype(np.float32), options={"zipmap": False})
path = Path(tempfile.mkdtemp()) / "placement.onnx"  # what a service would load
path.write_bytes(onx.SerializeToString())
print(f"graph: {len(onx.graph.node)} nodes, {len(onx.SerializeToString())} bytes")

# %%
# Serve: onnxruntime only, no scikit-learn needed on this side
session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
rows = np.array([[8.0, 8.0], [5.0, 12.0], [6.5, 7.0]], dtype=np.float32)
labels, probabilities = session.run(None, {session.get_inputs()[0].name: rows})
for row, label, p in zip(rows, labels, probabilities):
    print(f"CGPA {row[0]:4.1f}, resume {row[1]:4.1f} -> placed={label}  P(placed)={p[1]:.4f}")

# %%
# Compare with the model on every training row (as float32, what the graph takes)
X32 = X.astype(np.float32)
onnx_labels, onnx_proba = session.run(None, {session.get_inputs()[0].name: X32})
same_labels = np.array_equal(onnx_labels, model.predict(X32))
difference = np.abs(onnx_proba - model.predict_proba(X32)).max()
print(f"labels equal: {same_labels}; largest probability difference: {difference:.1e}")

# %%
# A tabular model exports from the raw table: the graph imputes, scales and encodes
# the columns as the model's fitted preprocessor does (one input per column, text as
# strings, a missing value as NaN or None), then runs the network
import pandas as pd

from skbackprop.onnx import initial_types, input_feed
from skbackprop.tabular import TabularClassifier

rng = np.random.default_rng(0)
table = pd.DataFrame({"cgpa": X[:, 0], "resume": X[:, 1],
                      "city": rng.choice(np.array(["Oslo", "Rome", None], object), len(X))})
table.loc[::10, "cgpa"] = np.nan
tabular = TabularClassifier(hidden_layer_sizes=(16,), random_state=0).fit(table, y)
onx = to_onnx(tabular, initial_types=initial_types(tabular), options={"zipmap": False})
tabular_session = ort.InferenceSession(onx.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
print([(i.name, i.type) for i in tabular_session.get_inputs()])
new = pd.DataFrame({"cgpa": [8.0, np.nan], "resume": [8.0, 12.0], "city": ["Lima", None]})
labels, probabilities = tabular_session.run(None, input_feed(tabular, new))
print(f"an unseen city and a missing CGPA: P(placed) = {probabilities[:, 1].round(4)}; "
      f"the model's: {tabular.predict_proba(new)[:, 1].round(4)}")
