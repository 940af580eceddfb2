"""Values of a model file: plain data as JSON, arrays kept apart, and the digest.

``encode`` turns a value (numbers, strings, None, lists, tuples, dicts, arrays) into
JSON, moving every array into a dict of arrays under a new key; ``decode`` reverses
it. Nothing else is stored, so nothing in a file can name code to run.
"""

import hashlib
import hmac
import json
from numbers import Integral, Real

import numpy as np

__all__ = ["decode", "digest", "encode", "plain_param"]

# what save refuses to store, and the parameter to set instead
_FIXES = {
    "random_state": "set_params(random_state=<an int>) before saving (a RandomState "
                    "object is not stored)",
    "weight_init": "set_params(weight_init='glorot_uniform') (or another name) before "
                   "saving: a function is not stored",
}


def encode(value, arrays, name):
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
        items = [encode(v, arrays, f"{name}[{i}]") for i, v in enumerate(value)]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    if isinstance(value, dict):
        return {"dict": [[encode(k, arrays, name), encode(v, arrays, f"{name}[{k!r}]")]
                         for k, v in value.items()]}
    raise TypeError(
        f"{name} is a {type(value).__name__}, which skbackprop.save does not store "
        "(only arrays, numbers, strings, lists and dicts). Fix: "
        + _FIXES.get(name.split("[")[0], "set it to a plain value first") + ".")


def decode(value, arrays):
    """The value ``encode`` stored; raises KeyError, TypeError or ValueError on a
    document it did not write."""
    if not isinstance(value, dict):
        if not (value is None or isinstance(value, bool | int | float | str)):
            raise TypeError(f"unexpected {type(value).__name__} in the metadata")
        return value
    if set(value) == {"array", "object"}:
        array = arrays[value["array"]]
        return array.astype(object) if value["object"] is True else array
    if len(value) != 1:
        raise ValueError(f"unexpected {sorted(value)} in the metadata")
    kind, content = next(iter(value.items()))
    if kind not in ("list", "tuple", "dict") or not isinstance(content, list):
        raise ValueError(f"unexpected {sorted(value)} in the metadata")
    if kind == "list":
        return [decode(v, arrays) for v in content]
    if kind == "tuple":
        return tuple(decode(v, arrays) for v in content)
    if not all(isinstance(pair, list) and len(pair) == 2 for pair in content):
        raise ValueError("unexpected dict entries in the metadata")
    return {decode(k, arrays): decode(v, arrays) for k, v in content}


def plain_param(value):
    """A parameter as plain data: arrays as lists, NumPy scalars and dtypes as
    Python values and names."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(
            value, np.generic)):
        return np.dtype(value).name
    return value


def digest(metadata, arrays, key=None):
    """SHA-256 (an HMAC with ``key``) of the JSON metadata and of every array's
    name, dtype, shape and bytes."""
    h = hmac.new(key, digestmod=hashlib.sha256) if key is not None else hashlib.sha256()
    h.update(json.dumps(metadata, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(memoryview(a).cast("B") if a.size else b"")
    return h.hexdigest()
