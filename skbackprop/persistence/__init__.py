"""Saving and loading fitted models without pickle.

A model file is a zip holding a JSON document (the estimator's parameters and the
versioned schema of its fitted state) and the arrays as ``.npy`` entries; nothing in
it is executed on load, and every value is checked against the schema before the
estimator is built. Files of format versions 1 and 2 are upgraded on load;
``FORMAT_VERSION`` is the version written.

- :func:`save` writes a fitted (or unfitted) estimator, atomically, optionally
  signed with a key.
- :func:`load` reads one back, refusing anything the schema does not allow with a
  :class:`ModelFileError` that names the problem.
- :func:`trusted_types`: the names ``skops.io`` gives our estimators, to trust when
  a whole Pipeline is saved with skops.
"""

from ._files import ModelFileError
from ._format import FORMAT_VERSION, load, save

__all__ = ["FORMAT_VERSION", "ModelFileError", "load", "save", "trusted_types"]


def trusted_types():
    """The type names to trust when ``skops.io`` loads a pipeline holding our estimators.

    A Pipeline of scikit-learn transformers and our estimators saved with
    ``skops.io.dump`` loads with ``skops.io.load(path, trusted=...)`` once the
    types ``skops.io.get_untrusted_types(file=path)`` lists are known: trust them
    only if they are all in this list (anything else, such as a function in a
    FunctionTransformer, deserves a look first). It holds our estimators' names as
    skops spells them, the ``TabularPreprocessor`` that the tabular estimators
    keep (``preprocessor_``: plain data, no code), and ``numpy.dtype``, which skops
    reports for the dtype that scikit-learn's imputers and encoders keep (a data
    type, no code).

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from skbackprop.persistence import trusted_types
    >>> sorted(name.rsplit(".", 1)[1] for name in trusted_types())
    ['BackpropClassifier', 'BackpropRegressor', 'TabularClassifier',
     'TabularPreprocessor', 'TabularRegressor', 'dtype']
    """
    from ..tabular import TabularPreprocessor
    from ._format import _classes

    ours = [f"{cls.__module__}.{cls.__qualname__}"
            for cls in [*_classes().values(), TabularPreprocessor]]
    return sorted([*ours, "numpy.dtype"])
