"""Writing a file so that a failure leaves any existing file untouched."""

from __future__ import annotations

import os
import tempfile

from hw3cli.errors import InputError


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place.

    The rename is atomic on POSIX and Windows, so readers see the old file or the new
    one, never half of one, and an error leaves the old file as it was.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"the folder {directory} does not exist", where=f"-o {path}")
    if os.path.isdir(path):
        raise InputError("is a folder, not a file", where=f"-o {path}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".hw3-", suffix=".tmp", dir=directory)
    except OSError as e:
        raise InputError(f"cannot write there: {e.strerror}", where=f"-o {path}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
