"""Tabular data: a raw table (numbers, booleans, categories, text, missing values)
turned into a network's input matrix.

:class:`TabularClassifier` and :class:`TabularRegressor` are the networks for raw
tables; :class:`TabularPreprocessor` is the transformer they fit; :func:`robust_scale` and
:func:`smooth_clip` are the formulas it applies to numbers. ``LR_FACTORS`` holds the
learning-rate factor of each kind of layer in front of and between their Dense
layers, relative to ``learning_rate_init`` (read when a fit builds its network).
"""

from ._estimators import TabularClassifier, TabularRegressor
from ._network import LR_FACTORS
from ._preprocess import OUTPUT_KINDS, TabularPreprocessor, robust_scale, smooth_clip

__all__ = ["LR_FACTORS", "OUTPUT_KINDS", "TabularClassifier", "TabularPreprocessor",
           "TabularRegressor", "robust_scale", "smooth_clip"]
