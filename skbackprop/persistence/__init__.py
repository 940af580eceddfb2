"""Saving and loading fitted models without pickle.

A model file is a zip holding a JSON document (the estimator's parameters and the
versioned schema of its fitted state) and the arrays as ``.npy`` entries; nothing in
it is executed on load, and every value is checked against the schema before the
estimator is built. Files of format version 1 are upgraded on load; ``FORMAT_VERSION`` is the
version written.

- :func:`save` writes a fitted (or unfitted) estimator, atomically, optionally
  signed with a key.
- :func:`load` reads one back, refusing anything the schema does not allow with a
  :class:`ModelFileError` that names the problem.
"""

from ._files import ModelFileError
from ._format import FORMAT_VERSION, load, save

__all__ = ["FORMAT_VERSION", "ModelFileError", "load", "save"]
