"""skbackprop: scikit-learn multi-layer perceptrons with hand-written backpropagation.

``BackpropRegressor`` and ``BackpropClassifier`` are drop-ins for sklearn's
``MLPRegressor`` and ``MLPClassifier``; ``TabularRegressor`` and
``TabularClassifier`` are the same networks with defaults chosen for raw tables
(numbers, categories, text, missing values). The public modules:

- :mod:`skbackprop.inspection`: the teaching tools (``backprop_trace``,
  ``check_gradients``, ``epoch_source``, ``n_parameters``) and the pictures
  (``NetworkDisplay``, ``LossCurveDisplay``, ``TrainingAnimation``).
- :mod:`skbackprop.persistence`: ``save`` and ``load`` without pickle.
- :mod:`skbackprop.datasets`: the tutorials' placement table.
- :mod:`skbackprop.tabular`: the tabular estimators and the ``TabularPreprocessor``
  they fit.
- :mod:`skbackprop.onnx`: converters for skl2onnx.

The most used of these are importable from ``skbackprop`` itself. The math the
estimators train with is in the small private modules ``_core.activations``,
``_core.losses``, ``_core.network`` and ``_core.optimizers``.
"""

from ._classifier import BackpropClassifier
from ._config import config_context, get_config, set_config
from ._engine.fused import FastKernelsWarning, fast_kernels
from ._engine.rowwise import rowwise_limit
from ._regressor import BackpropRegressor
from .inspection import (
    BackpropTrace,
    LossCurveDisplay,
    NetworkDisplay,
    TrainingAnimation,
    WeightSnapshots,
    backprop_trace,
    check_gradients,
)
from .persistence import ModelFileError, load, save
from .tabular import TabularClassifier, TabularRegressor

__version__ = "0.1.0"

__all__ = [
    "BackpropClassifier", "BackpropRegressor", "BackpropTrace", "FastKernelsWarning",
    "LossCurveDisplay", "ModelFileError", "NetworkDisplay", "TabularClassifier",
    "TabularRegressor", "TrainingAnimation", "WeightSnapshots", "__version__",
    "backprop_trace", "check_gradients", "config_context", "fast_kernels", "get_config",
    "load", "rowwise_limit", "save", "set_config",
]
