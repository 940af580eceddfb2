"""
Seeing the placement classifier: loss curves and decision boundary
==================================================================

Two pictures of a trained network, drawn with matplotlib (``pip install
"skbackprop[plots]"``): the training and validation loss per epoch with the epoch
whose weights were kept (``skbackprop.LossCurveDisplay``), and where the classifier
says "placed" in the (CGPA, resume score) plane (sklearn's
``DecisionBoundaryDisplay``, which works with any classifier). The data are the
synthetic placement rows of ``make_placement``; the figures are saved as PNG files.
"""

# %%
# Train on synthetic placement data, holding out 20% to watch the validation loss
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, LossCurveDisplay
from skbackprop.datasets import make_placement

X, y = make_placement(n_samples=300, task="classification", random_state=0)
clf = BackpropClassifier(hidden_layer_sizes=(8,), activation="tanh", early_stopping=True,
                         validation_fraction=0.2, scoring="loss", n_iter_no_change=20,
                         learning_rate_init=0.01, max_iter=500, random_state=0)
pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
print(f"stopped after {clf.n_iter_} epochs; kept the weights of epoch {clf.best_epoch_}")
out = Path(tempfile.mkdtemp())

# %%
# The loss curves, best epoch marked
curves = LossCurveDisplay.from_estimator(clf)
curves.figure_.savefig(out / "loss_curves.png")

# %%
# The decision boundary, with the training rows on top
fig, ax = plt.subplots()
boundary = DecisionBoundaryDisplay.from_estimator(
    pipe, X, response_method="predict_proba", ax=ax, alpha=0.5,
    xlabel="CGPA", ylabel="resume score")
ax.scatter(X[:, 0], X[:, 1], c=y, edgecolor="k", s=15)
ax.set_title("P(placed)")
fig.savefig(out / "decision_boundary.png")
print("figures written:", ", ".join(sorted(p.name for p in out.glob("*.png"))))
