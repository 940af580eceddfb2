"""Reading a model file's parts and writing forged ones, for the tests of model
files (tests/test_model_files.py, tests/test_tabular_files.py)."""

import io
import json
import zipfile

import numpy as np

from skbackprop import save
from skbackprop.persistence._archive import write_archive
from skbackprop.persistence._codec import digest
from skbackprop.persistence._format import METADATA


def raw(model):
    """``(metadata, arrays)`` of ``model``'s file."""
    buffer = io.BytesIO()
    save(model, buffer)
    with zipfile.ZipFile(buffer) as archive:
        metadata = json.loads(archive.read(METADATA))
        arrays = {n.removesuffix(".npy"): np.load(io.BytesIO(archive.read(n)))
                  for n in archive.namelist() if n != METADATA}
    return metadata, arrays


def forged(metadata, arrays):
    """A file with a recomputed digest: only the content checks stand in the way."""
    metadata = {k: v for k, v in metadata.items() if k not in ("sha256", "hmac_sha256")}
    metadata["arrays"] = {k: [a.dtype.str, list(a.shape)] for k, a in arrays.items()}
    metadata["sha256"] = digest(metadata, arrays)
    buffer = io.BytesIO()
    write_archive(buffer, {METADATA: metadata}, arrays)
    buffer.seek(0)
    return buffer


def edited_files(metadata, arrays, paths, junk, n, seed=0):
    """``n`` forged files, each with the value at one of ``paths`` (key paths into
    ``metadata``) replaced by one of ``junk``, both drawn at random."""
    rng = np.random.RandomState(seed)
    for _ in range(n):
        edited = json.loads(json.dumps(metadata))
        path = paths[rng.randint(len(paths))]
        node = edited
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = junk[rng.randint(len(junk))]
        yield forged(edited, dict(arrays))


def json_paths(node, prefix=()):
    """Every path into a JSON tree (the key or index at each level)."""
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
        node, list) else ()
    for key, child in children:
        yield from json_paths(child, (*prefix, key))
