"""Model files on disk: written atomically, read only from regular files.

``atomic_write`` writes to a temporary file in the target's directory, flushes and
fsyncs it, then renames it over the target with ``os.replace``: whatever stops the
process (a crash, SIGKILL, Ctrl-C), the target holds either the old file or the
new one, never a mix or neither; a clean error removes the temporary file. A target
that is a symbolic link is replaced by the new file (the link itself, as ``os.replace``
does); the file it pointed to is left unchanged.
"""

import os
import stat
import tempfile

__all__ = ["ModelFileError", "atomic_write", "check_regular_file"]


class ModelFileError(ValueError):
    """A model file (or file object) that ``skbackprop.load`` refuses; the message
    says what is wrong and what to do."""


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary binary file beside ``path``, then make it
    ``path`` in one rename."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.",
                                     suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # as open() would have created it
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory):
    """Make the rename itself durable (where the platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_regular_file(path):
    """Refuse at once what is not a regular file (a directory, FIFO or device, which
    would fail obscurely or block forever); a missing file raises
    FileNotFoundError."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device or socket")
        raise ModelFileError(f"{os.fspath(path)} is {kind}, not a model file. Fix: pass "
                             "the path of a file written by skbackprop.save.")
