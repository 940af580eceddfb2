"""
The tutorial's networks, drawn with their gradients
===================================================

``NetworkDisplay`` draws a network as the tutorials do on paper: the units in
boxes holding their name and bias, each weight an edge whose width grows with its
size and whose colour gives its sign (blue positive, red negative). Given rows, it
writes each weight's gradient dL/dw on its edge, the numbers ``backprop_trace``
reports: here the regression tutorial's 2-2-1 network at its start (every weight
0.1) on the four-row placement table, and the lab's 2-3-1 sigmoid network on the
classification table. A wide layer is summarised: its first and last units, and the
count of those left out.
"""

# %%
# The regression tutorial's start: identity units, every weight 0.1, every bias 0.
# The two hidden units get the same gradients: with equal starting weights they
# stay identical for ever, which is why real networks start from random weights.
import matplotlib.pyplot as plt

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.datasets import load_placement
from skbackprop.inspection import NetworkDisplay, backprop_trace

X, y = load_placement(return_X_y=True)
reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity", weight_init=0.1)
tutorial = NetworkDisplay.from_estimator(reg, X, y)
trace = backprop_trace(reg, X, y)
print(trace.params[["name", "value", "gradient"]].to_string(index=False))

# %%
# The lab's 2-3-1 network of sigmoid units, on the classification table, from
# random starting weights (so the hidden units now differ).
Xc, yc = load_placement(task="classification", return_X_y=True)
clf = BackpropClassifier(hidden_layer_sizes=(3,), activation="logistic", random_state=0)
lab = NetworkDisplay.from_estimator(clf, Xc, yc)
print("gradients without room:", lab.unplaced_)

# %%
# A hidden layer of 100 units: eleven drawn, the rest counted.
wide = NetworkDisplay.from_estimator(
    BackpropClassifier(hidden_layer_sizes=(100,), random_state=0), Xc, yc)
print([len(units) for units in wide.shown_units_])
plt.show()
