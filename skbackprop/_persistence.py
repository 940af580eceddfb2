"""Save and load fitted estimators in a format that never runs code on load.

A file is one NumPy ``.npz`` archive (a zip of ``.npy`` arrays, read with
``allow_pickle=False``): every array of the fitted state, plus a JSON document
(stored as bytes in the array ``metadata.json``) with the estimator's class,
parameters and other fitted attributes, the format version, and a SHA-256 digest of
everything else. Loading accepts only ``BackpropRegressor`` and
``BackpropClassifier``, checks the format version and the digest (a truncated or
edited file is refused), and checks that the weights fit together before returning a
model that predicts bit-identically to the saved one.

The digest detects corruption and edits, not a forger who recomputes it; what keeps
a hostile file harmless is that nothing in it is ever executed or unpickled.
"""

import hashlib
import json
import zipfile
from numbers import Integral, Real

import numpy as np

from ._files import ModelFileError, atomic_write, check_regular_file
from ._monitor import HISTORY_COLUMNS

FORMAT = "skbackprop-model"
FORMAT_VERSION = 1
METADATA = "metadata.json"
_SKIPPED = ("_skl_",)  # callbacks (set_callbacks) are run-time hooks, not state


def _classes():
    from ._classifier import BackpropClassifier
    from ._regressor import BackpropRegressor

    return {cls.__name__: cls for cls in (BackpropRegressor, BackpropClassifier)}


def save(estimator, path):
    """Save a fitted ``BackpropRegressor`` or ``BackpropClassifier`` to ``path``.

    The file is a NumPy ``.npz`` archive holding only arrays and a JSON document;
    ``load`` reads it without unpickling or executing anything.

    Parameters
    ----------
    estimator : BackpropRegressor or BackpropClassifier
        A fitted estimator.
    path : str, path-like or binary file object
        Where to write (the name is used as given; ``.npz`` is customary). A path
        is written atomically: to a temporary file beside it, then renamed over it,
        so an interrupted save leaves the old file or the new one, never neither. A
        path that is a symbolic link is replaced by the new file; the file it
        pointed to is left unchanged.

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
            f"skbackprop.save stores BackpropRegressor and BackpropClassifier, got "
            f"{type(estimator).__name__}. Fix: use joblib or skops.io for other "
            "estimators (and pipelines).")
    check_is_fitted(estimator)
    arrays = {}
    state = {name: _encode(value, arrays, name)
             for name, value in vars(estimator).items()
             if not name.startswith(_SKIPPED)}
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": type(estimator).__name__,
        "state": state,
    }
    metadata["sha256"] = _digest(metadata, arrays)
    arrays[METADATA] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    if hasattr(path, "write"):  # an open binary file, io.BytesIO, ...
        np.savez(path, allow_pickle=False, **arrays)
    else:
        atomic_write(path, lambda file: np.savez(file, allow_pickle=False, **arrays))


def load(path):
    """Load an estimator saved by ``save``; nothing in the file is executed.

    Parameters
    ----------
    path : str, path-like or binary file object

    Returns
    -------
    estimator : BackpropRegressor or BackpropClassifier
        The fitted estimator, predicting exactly as the saved one.

    Raises
    ------
    ModelFileError
        (a ValueError) If the file is not a regular file, is truncated, not written
        by ``save``, edited after saving, of another format version, or its weights
        do not fit together.
    """
    if not hasattr(path, "read"):
        check_regular_file(path)
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is truncated or not a skbackprop model file (not a complete zip "
            "archive, which skbackprop.save writes). Fix: use an intact copy, or save "
            "the model again with skbackprop.save.")
    if hasattr(path, "seek"):
        path.seek(0)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise ModelFileError(
            f"{path} is truncated or not a skbackprop model file ({error}). Fix: save "
            "the model again with skbackprop.save.") from error
    if not all(isinstance(a, np.ndarray) for a in arrays.values()):
        raise ModelFileError(f"{path} holds members that are not NumPy arrays: not a "
                         "skbackprop model file. Nothing in it was loaded.")
    if METADATA not in arrays:
        raise ModelFileError(f"{path} is a NumPy archive but not a skbackprop model file "
                         "(no metadata). Fix: save the model with skbackprop.save.")
    try:
        metadata = json.loads(arrays.pop(METADATA).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{path}: the model's metadata is damaged ({error}).") from error
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a skbackprop model file.")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written in skbackprop model format "
            f"{metadata.get('format_version')!r}; this skbackprop reads format "
            f"{FORMAT_VERSION}. Fix: load it with the skbackprop version that saved "
            "it, or refit and save again.")
    stored = metadata.pop("sha256", None)
    if stored != _digest(metadata, arrays):
        raise ModelFileError(
            f"{path} has been modified or damaged since it was saved (its SHA-256 "
            "digest does not match). Fix: use an intact copy, or refit and save.")
    cls = _classes().get(metadata.get("class"))
    if cls is None:
        raise ModelFileError(f"{path} holds a {metadata.get('class')!r}; only "
                         f"{sorted(_classes())} can be loaded.")
    estimator = cls.__new__(cls)
    state = {name: _decode(value, arrays) for name, value in metadata["state"].items()}
    for name, value in _upgraded(state).items():
        setattr(estimator, name, value)
    _check_weights(estimator, path)
    return estimator


# Fitted state that format-1 files written before the training engine's split hold
# and models no longer keep: a copy of the best weights, the first batch's loss
# scale, the resolved dropout rates.
_RETIRED = ("_best_coefs", "_best_intercepts", "_loss_scale", "_dropout_rates")


def _upgraded(state):
    """Format-1 state as today's estimators keep it: ``_history`` as one row per
    epoch (it was a dict of columns), and no retired attributes."""
    history = state.get("_history")
    if isinstance(history, dict):
        columns = [history[c] for c in HISTORY_COLUMNS]
        state["_history"] = [(int(row[0]), *map(float, row[1:])) for row in zip(*columns)]
    return {k: v for k, v in state.items() if k not in _RETIRED}


def _encode(value, arrays, name):
    """``value`` as JSON, with every array moved to ``arrays`` under a new key."""
    if isinstance(value, np.ndarray):
        strings = value.dtype == object
        if strings:
            if not all(isinstance(v, str) for v in value.ravel()):
                raise TypeError(f"{name} holds Python objects other than strings, "
                                "which this format does not store.")
            value = value.astype(str)
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"array": key, "object": strings}
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        items = [_encode(v, arrays, f"{name}[{i}]") for i, v in enumerate(value)]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    if isinstance(value, dict):
        return {"dict": [[_encode(k, arrays, name), _encode(v, arrays, f"{name}[{k!r}]")]
                         for k, v in value.items()]}
    fixes = {
        "random_state": "set_params(random_state=<an int>) before saving (a "
                        "RandomState object is not stored)",
        "weight_init": "set_params(weight_init='glorot_uniform') (or another name) "
                       "before saving: a function is not stored",
    }
    raise TypeError(
        f"{name} is a {type(value).__name__}, which skbackprop.save does not store "
        "(only arrays, numbers, strings, lists and dicts). Fix: "
        + fixes.get(name, "set it to a plain value first") + ".")


def _decode(value, arrays):
    if not isinstance(value, dict):
        return value
    if "array" in value:
        array = arrays[value["array"]]
        return array.astype(object) if value["object"] else array
    if "list" in value:
        return [_decode(v, arrays) for v in value["list"]]
    if "tuple" in value:
        return tuple(_decode(v, arrays) for v in value["tuple"])
    return {_decode(k, arrays): _decode(v, arrays) for k, v in value["dict"]}


def _digest(metadata, arrays):
    """SHA-256 of the JSON metadata and of every array's name, dtype, shape and bytes."""
    h = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _check_weights(estimator, path):
    coefs, intercepts = estimator.coefs_, estimator.intercepts_
    units = [estimator.n_features_in_] + [b.shape[0] for b in intercepts]
    shapes_ok = len(coefs) == len(intercepts) == estimator.n_layers_ - 1 and all(
        W.shape == (fan_in, fan_out)
        for W, fan_in, fan_out in zip(coefs, units[:-1], units[1:]))
    if not shapes_ok or units[-1] != estimator.n_outputs_:
        raise ModelFileError(f"{path}: the saved weights do not fit together "
                         f"({[W.shape for W in coefs]}).")
