"""Save and load fitted estimators: an explicit schema, checked before it is used.

A model file (format 4) is a zip of uncompressed members (``persistence._archive``): one JSON
document, ``metadata.json``, with the class, the parameters, the fitted attributes
of the schema (``persistence._schema``: exactly those, nothing from ``vars()``), the dtype and
shape of every array, and a SHA-256 digest (an HMAC with ``key=``) of all of it; and
one ``.npy`` member per array. Loading reads the directory and the metadata first,
checks the declared arrays and every parameter and attribute against the schema on
stand-ins of the declared shapes, then reads the arrays (within the file's own
size), checks the digest, and checks the values (finite weights, consistent
classes, optimizer state; a tabular model's preprocessor, held as plain data of
its own versioned schema, and input layers: ``persistence._tabular``; each further
network of a tabular ensemble, checked as a whole model that shares the first
network's preprocessor, inputs and targets) before it builds the estimator. Every
refusal is a ``ModelFileError``; nothing in a file is ever executed or unpickled.

Without a key the digest detects damage and edits, not a forger, who can recompute
it; the checks make sure a forged file still gives a model that can predict, not
that it predicts well. With ``key=`` (a secret shared by those who save and load),
``load`` refuses any file not signed with that key.

Files of earlier formats still load, through the same checks: format 1 (written
before the schema, up to skbackprop 0.1.0) and format 2 (the schema, before the
tabular estimators and before ``weight_decay`` and ``label_smoothing`` were
parameters) hold a ``BackpropRegressor`` or ``BackpropClassifier``; format 3 (before
the tabular estimators' ``n_ensemble``) any of the four, with one network. The
parameters added since (``ADDED_PARAMETERS``) take their defaults, or the value
that trains as those files' models did where the default does not
(``EARLIER_VALUES``: one network).
"""

import hmac
import json

import numpy as np

from .._engine.fitted import MARKER, store
from .._engine.monitor import HISTORY_COLUMNS
from ._archive import Archive, write_archive
from ._codec import decode, digest, encode, plain_param
from ._files import ModelFileError, atomic_write, check_regular_file
from ._schema import check_state, fitted_state, member_states
from ._tabular import preprocessor

__all__ = ["load", "save"]

FORMAT = "skbackprop-model"
FORMAT_VERSION = 4
METADATA = "metadata.json"
# parameters a file of an earlier format lacks, by the format that added them: they
# take their defaults (which train as the estimators of that format did)
ADDED_PARAMETERS = {3: ("weight_decay", "label_smoothing"), 4: ("n_ensemble",)}
# where a parameter's default does not train as the earlier files' models did, the
# value that does (they hold one network)
EARLIER_VALUES = {"n_ensemble": 1}
# estimator classes that files of earlier formats cannot hold, by the format that
# added them
ADDED_CLASSES = {3: ("TabularRegressor", "TabularClassifier")}
# fitted state of format-1 files that models no longer keep: a copy of the best
# weights, the first batch's loss scale, the resolved dropout rates
_RETIRED = ("_best_coefs", "_best_intercepts", "_loss_scale", "_dropout_rates", MARKER)


def _classes():
    """The estimator classes ``save`` writes and ``load`` builds, by name."""
    from .._classifier import BackpropClassifier
    from .._regressor import BackpropRegressor
    from ..tabular import TabularClassifier, TabularRegressor

    return {cls.__name__: cls for cls in (BackpropRegressor, BackpropClassifier,
                                          TabularRegressor, TabularClassifier)}


def _loadable(version):
    """The classes of ``_classes`` that a file of format ``version`` may hold."""
    added = {name for later, names in ADDED_CLASSES.items() if later > version
             for name in names}
    return {name: cls for name, cls in _classes().items() if name not in added}


def save(estimator, path, key=None):
    """Save a fitted ``BackpropRegressor``, ``BackpropClassifier``,
    ``TabularRegressor`` or ``TabularClassifier``.

    The file is a zip of ``.npy`` arrays and one JSON document holding exactly the
    model's parameters and fitted attributes (a tabular model's preprocessor as plain
    data: its columns' kinds, medians, scales and categories); ``load`` reads it
    without unpickling or executing anything.

    Parameters
    ----------
    estimator : BackpropRegressor, BackpropClassifier, TabularRegressor or \
TabularClassifier
        A fitted estimator.
    path : str, path-like or binary file object
        Where to write (the name is used as given; ``.npz`` is customary). A path
        is written atomically: to a temporary file beside it, then renamed over it,
        so an interrupted save leaves the old file or the new one, never neither. A
        path that is a symbolic link is replaced by the new file; the file it
        pointed to is left unchanged.
    key : bytes or str, default=None
        A secret: sign the file with an HMAC-SHA256, so that ``load(..., key=key)``
        accepts it and refuses files not signed with this key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skbackprop import BackpropRegressor, save, load
    >>> from skbackprop.datasets import load_placement
    >>> X, y = load_placement(return_X_y=True)
    >>> reg = BackpropRegressor(hidden_layer_sizes=(2,), solver="lbfgs",
    ...                         random_state=0).fit(X, y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "placement.npz"
    >>> save(reg, path)
    >>> (load(path).predict(X) == reg.predict(X)).all()
    np.True_
    """
    from sklearn.utils.validation import check_is_fitted

    if type(estimator).__name__ not in _classes():
        raise TypeError(
            f"skbackprop.save stores {', '.join(_classes())}, got "
            f"{type(estimator).__name__}. Fix: save a whole Pipeline (or another "
            "estimator) with skops.io, trusting only the types it reports beyond its "
            "own: skops.io.dump(pipe, path), then skops.io.load(path, trusted=types) "
            "where types = skops.io.get_untrusted_types(file=path) holds nothing but "
            "skbackprop.persistence.trusted_types() (see the persistence guide).")
    check_is_fitted(estimator)
    params, attributes = fitted_state(estimator)
    arrays = {}
    metadata = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "class": type(estimator).__name__,
        "params": {k: encode(plain_param(v), arrays, k) for k, v in params.items()},
        "attributes": {k: encode(v, arrays, k) for k, v in attributes.items()},
    }
    metadata["arrays"] = {k: [a.dtype.str, list(a.shape)] for k, a in arrays.items()}
    metadata["sha256"] = digest(metadata, arrays)
    if key is not None:
        metadata["hmac_sha256"] = digest({**metadata}, arrays, _key(key))
    documents = {METADATA: metadata}
    if hasattr(path, "write"):  # an open binary file, io.BytesIO, ...
        write_archive(path, documents, arrays)
    else:
        atomic_write(path, lambda file: write_archive(file, documents, arrays))


def load(path, key=None):
    """Load an estimator saved by ``save``; nothing in the file is executed.

    Parameters
    ----------
    path : str, path-like or binary file object
    key : bytes or str, default=None
        The secret the file was signed with (``save(..., key=...)``); a file not
        signed with it is refused.

    Returns
    -------
    estimator : BackpropRegressor, BackpropClassifier, TabularRegressor or \
TabularClassifier
        The fitted estimator, predicting exactly as the saved one.

    Raises
    ------
    ModelFileError
        (a ValueError) If the file is not a regular file, is truncated, not written
        by ``save``, edited after saving, not signed with ``key``, or holds values
        that are not a model of its class; the message says which and what to do.
    """
    where = "the file object" if hasattr(path, "read") else str(path)
    if not hasattr(path, "read"):
        check_regular_file(path)
    archive = Archive(path, where)
    try:
        if METADATA in archive.members:
            return _load_zip(archive, key)
        if f"{METADATA}.npy" in archive.members:
            return _load_v1(archive, key)
        archive.refuse("has no skbackprop metadata")
    finally:
        archive.close()


def _key(key):
    return key.encode() if isinstance(key, str) else bytes(key)


def _class_of(metadata, archive, versions):
    """``(cls, version)``: the estimator class a file's metadata names and its
    format version (one of ``versions``), after its format checks."""
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        archive.refuse("is not a skbackprop model file")
    version = metadata.get("format_version")
    if type(version) is not int or version not in versions:
        raise ModelFileError(
            f"{archive.where} was written in skbackprop model format {version!r}; "
            f"this skbackprop reads formats 1 to {FORMAT_VERSION}. Fix: load it with "
            "the skbackprop version that saved it, or refit and save again.")
    name, classes = metadata.get("class"), _loadable(version)
    cls = classes.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ModelFileError(f"{archive.where} holds a {metadata.get('class')!r}; only "
                             f"{sorted(classes)} can be loaded from a file of format "
                             f"{version}.")
    return cls, version


def _load_zip(archive, key):
    """A file of format 2 to 4: the metadata, checked, then the arrays."""
    metadata = archive.json(METADATA)
    cls, version = _class_of(metadata, archive, range(2, FORMAT_VERSION + 1))
    declared = metadata.get("arrays")
    if not isinstance(declared, dict) or set(archive.members) != {
            METADATA, *(f"{name}.npy" for name in declared)}:
        archive.refuse("holds other members than its metadata declares")
    stand_ins = {}
    for name, spec in declared.items():
        dtype, shape, member = archive.header(name)
        member.close()
        if spec != [dtype.str, list(shape)]:
            archive.refuse(f"declares {name!r} as {spec}, but it is {dtype.str} {shape}")
        stand_ins[name] = np.broadcast_to(np.zeros((), dtype), shape)
    check_state(cls, *_state(cls, version, metadata, stand_ins, archive), values=False)
    arrays = {name: archive.array(name) for name in declared}
    _check_digest(metadata, arrays, key, archive)
    params, attributes = _state(cls, version, metadata, arrays, archive)
    check_state(cls, params, attributes)
    return _build(cls, params, attributes)


def _state(cls, version, metadata, arrays, archive):
    """``(params, attributes)`` decoded from format-2 to 4 metadata."""
    try:
        params = {k: decode(v, arrays) for k, v in metadata["params"].items()}
        attributes = {k: decode(v, arrays) for k, v in metadata["attributes"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        archive.refuse(f"has metadata this format does not describe ({error!r})")
    return _with_added(cls, version, params), attributes


def _with_added(cls, version, params):
    """``params`` of a file of ``version``, with the parameters added by later
    formats at their defaults (where ``cls`` takes them and the file lacks them)."""
    defaults = cls().get_params()
    added = {name: EARLIER_VALUES.get(name, defaults[name])
             for later, names in ADDED_PARAMETERS.items()
             if later > version for name in names if name in defaults}
    return {**added, **params}


def _check_digest(metadata, arrays, key, archive):
    """Refuse a file whose digest (or, with ``key``, signature) does not match."""
    signature = metadata.pop("hmac_sha256", None)
    stored = metadata.pop("sha256", None)
    if stored != digest(metadata, arrays):
        raise ModelFileError(
            f"{archive.where} has been modified or damaged since it was saved (its "
            "SHA-256 digest does not match). Fix: use an intact copy, or refit and "
            "save.")
    if key is not None:
        expected = digest({**metadata, "sha256": stored}, arrays, _key(key))
        if not isinstance(signature, str) or not hmac.compare_digest(signature, expected):
            raise ModelFileError(
                f"{archive.where} is not signed with this key ("
                + ("it is not signed at all" if signature is None else "another key or "
                   "an edit") + "). Fix: load only models saved with "
                "skbackprop.save(model, path, key=<the same key>).")


def _load_v1(archive, key):
    """A format-1 file: the state as ``vars()`` held it, in an npz archive."""
    try:
        metadata = json.loads(archive.array(METADATA).tobytes().decode())
    except (ValueError, UnicodeDecodeError) as error:
        archive.refuse(f"has damaged metadata ({error})")
    cls, _ = _class_of(metadata, archive, (1,))
    if key is not None:
        raise ModelFileError(f"{archive.where} is a format-1 file, which cannot be "
                             "signed. Fix: load it without key= and save it again "
                             "with key=.")
    names = [n.removesuffix(".npy") for n in archive.members if n != f"{METADATA}.npy"]
    arrays = {name: archive.array(name) for name in names}
    _check_digest(metadata, arrays, None, archive)
    try:
        state = _upgraded({k: decode(v, arrays) for k, v in metadata["state"].items()})
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        archive.refuse(f"has metadata this format does not describe ({error!r})")
    param_names = set(cls().get_params())
    params = _with_added(cls, 1, {k: v for k, v in state.items() if k in param_names})
    attributes = {k: v for k, v in state.items() if k not in param_names}
    for name in ("_optimizer_solver", "_optimizer_state", "_learning_rate"):
        attributes.setdefault(name, None)  # lbfgs models of format 1 lack them
    check_state(cls, params, attributes)
    return _build(cls, params, attributes)


def _upgraded(state):
    """Format-1 state as today's estimators keep it: ``_history`` as one row per
    epoch (it was a dict of columns), and no retired attributes."""
    history = state.get("_history")
    if isinstance(history, dict):
        columns = [history.get(c, []) for c in HISTORY_COLUMNS]
        state["_history"] = [tuple(row) for row in zip(*columns)]
    return {k: v for k, v in state.items() if k not in _RETIRED}


def _build(cls, params, attributes):
    """The estimator of a checked state, with its lists as training keeps them."""
    estimator = cls(**params)
    attributes = dict(attributes)
    attributes["loss_curve_"] = [float(v) for v in attributes["loss_curve_"]]
    attributes["_history"] = [(int(r[0]), *map(float, r[1:]))
                              for r in attributes["_history"]]
    if attributes["validation_scores_"] is not None:
        attributes["validation_scores_"] = [float(v) for v in
                                            attributes["validation_scores_"]]
    members = [_build(cls, *state) for state in member_states(params, attributes)]
    if "preprocessor_" in attributes:  # (plain data in the file)
        attributes["preprocessor_"] = preprocessor(attributes["preprocessor_"])
    for member in members:  # (one preprocessor for all the networks)
        vars(member)["preprocessor_"] = attributes["preprocessor_"]
    if members:
        attributes["ensemble_"] = members
    store(estimator, attributes)
    return estimator

