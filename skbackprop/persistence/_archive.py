"""The zip archive of a model file, read within the file's own size.

A model file is a zip of uncompressed (stored) members: ``.npy`` arrays and one JSON
document. Reading refuses compressed members, members whose declared size disagrees
with their header, and duplicates, before reading any array's data; every array is
then read into a buffer of exactly its declared size. So loading never needs more
memory than the file's own size, however the file was crafted (a 3 MB archive
that would inflate to gigabytes is refused at once).
"""

import json
import zipfile

import numpy as np

from ._files import ModelFileError

__all__ = ["Archive", "write_archive"]

MAX_METADATA = 64 * 2**20  # bytes of JSON; a long history is well below
# dtypes a model file may hold: floats (weights), integers and booleans (labels),
# and text (labels, feature names), each in native byte order
ALLOWED_KINDS = "fiubU"
# zip flag bits of members that need what a model file never has: a password
# (encrypted, strongly encrypted) or a patch
FOREIGN_FLAGS = 0x01 | 0x20 | 0x40
# what zipfile raises on a damaged or foreign archive (besides BadZipFile), each
# refused as a ModelFileError
ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
              RuntimeError)


def write_archive(file, documents, arrays):
    """Write JSON ``documents`` (name -> object) and ``arrays`` (name -> array, as
    ``name.npy``), uncompressed."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                # (np.require, not ascontiguousarray: that makes a 0-d array 1-d)
                np.lib.format.write_array(member, np.require(array, requirements="C"),
                                          allow_pickle=False)
        for name, document in documents.items():
            archive.writestr(name, json.dumps(document))


class Archive:
    """A model file's zip archive, opened for bounded reading."""

    def __init__(self, file, where):
        self.where = where
        try:
            self.zip = zipfile.ZipFile(file)
            infos = self.zip.infolist()
        except ZIP_ERRORS as error:
            raise ModelFileError(f"{where} is truncated or not a skbackprop model file "
                                 f"({error}). Fix: use an intact copy, or save the "
                                 "model again with skbackprop.save.") from error
        self.members = {info.filename: info for info in infos}
        if len(self.members) != len(infos):
            self.refuse("repeats a member")
        if any(i.compress_type != zipfile.ZIP_STORED or i.file_size != i.compress_size
               for i in infos):
            self.refuse("has compressed members, which skbackprop.save never writes")
        if any(i.flag_bits & FOREIGN_FLAGS for i in infos):
            self.refuse("has encrypted or patched members, which skbackprop.save never "
                        "writes")

    def refuse(self, what):
        raise ModelFileError(f"{self.where} {what}: it is not a file skbackprop.save "
                             "wrote, or it was edited. Fix: use an intact copy, or save "
                             "the model again with skbackprop.save.")

    def json(self, name):
        info = self.members.get(name)
        if info is None or info.file_size > MAX_METADATA:
            self.refuse(f"has no metadata {name!r} of at most {MAX_METADATA} bytes")
        try:
            return json.loads(self.zip.read(info).decode())
        except ZIP_ERRORS as error:
            self.refuse(f"has damaged metadata ({error!r})")

    def header(self, name):
        """``(dtype, shape, member)`` of array ``name`` from its header, checked
        against the member's size; the member is open just past the header."""
        info = self.members.get(f"{name}.npy")
        if info is None:
            self.refuse(f"lacks the array {name!r}")
        try:
            member = self.zip.open(info)
            version = np.lib.format.read_magic(member)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read(member, max_header_size=10_000)
        except (*ZIP_ERRORS, TypeError, SyntaxError) as error:
            self.refuse(f"has a damaged array header in {name!r} ({error})")
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if (fortran or dtype.kind not in ALLOWED_KINDS or not dtype.isnative
                or dtype.hasobject or info.file_size != member.tell() + nbytes):
            self.refuse(f"declares the array {name!r} as {dtype.str} {shape}, "
                        "which it is not or may not be")
        return dtype, shape, member

    def array(self, name):
        """Array ``name``, read into a buffer of exactly its declared size."""
        dtype, shape, member = self.header(name)
        buffer = bytearray(int(np.prod(shape, dtype=object)) * dtype.itemsize)
        try:
            complete = member.readinto(buffer) == len(buffer) and member.read(1) == b""
        except ZIP_ERRORS as error:
            self.refuse(f"has damaged data in {name!r} ({error!r})")
        if not complete:
            self.refuse(f"has truncated data in {name!r}")
        return np.frombuffer(buffer, dtype=dtype).reshape(shape)

    def close(self):
        self.zip.close()
