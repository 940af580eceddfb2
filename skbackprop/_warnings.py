"""Warnings that point at the caller's line, not into the package.

A warning raised deep inside training would need a different ``stacklevel`` at every
call site (and sklearn's ``_fit_context`` adds a frame of its own). ``warn`` counts
the frames instead: it attributes the warning to the first frame outside
``skbackprop`` and outside sklearn's method wrappers, which is the line of the user's
(or a meta-estimator's) ``fit``, ``partial_fit`` or ``predict`` call.
"""

import sys
import warnings
from pathlib import Path

__all__ = ["warn"]

_PACKAGE = str(Path(__file__).resolve().parent)
# sklearn's decorators around our methods (_fit_context, available_if)
_WRAPPERS = {"wrapper", "fit_method_wrapper"}


def _inside(frame):
    path = frame.f_code.co_filename
    return path.startswith(_PACKAGE) or (
        frame.f_code.co_name in _WRAPPERS and "sklearn" in path
    )


def warn(message, category=UserWarning):
    """``warnings.warn`` attributed to the first caller outside the package."""
    frame, level = sys._getframe(1), 2  # level 2: warn's caller
    while frame is not None and _inside(frame):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
