"""skbackprop: scikit-learn multi-layer perceptrons with hand-written backpropagation.

``BackpropRegressor`` and ``BackpropClassifier`` are drop-ins for sklearn's
``MLPRegressor`` and ``MLPClassifier``; the math they train with is in the small
modules ``_activations``, ``_losses``, ``_network`` and ``_optimizers``.
"""

from ._classifier import BackpropClassifier
from ._display import LossCurveDisplay, NetworkDisplay
from ._files import ModelFileError
from ._fused import fast_kernels
from ._gradcheck import check_gradients
from ._persistence import load, save
from ._regressor import BackpropRegressor
from ._trace import BackpropTrace, backprop_trace

__version__ = "0.1.0"

__all__ = [
    "BackpropClassifier", "BackpropRegressor", "BackpropTrace", "LossCurveDisplay",
    "ModelFileError",
    "NetworkDisplay", "__version__", "backprop_trace", "check_gradients", "fast_kernels",
    "load", "save",
]
