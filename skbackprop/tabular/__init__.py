"""Tabular data: a raw table (numbers, booleans, categories, text, missing values)
turned into a network's input matrix.

:class:`TabularPreprocessor` is the transformer; :func:`robust_scale` and
:func:`smooth_clip` are the formulas it applies to numbers.
"""

from ._preprocess import OUTPUT_KINDS, TabularPreprocessor, robust_scale, smooth_clip

__all__ = ["OUTPUT_KINDS", "TabularPreprocessor", "robust_scale", "smooth_clip"]
