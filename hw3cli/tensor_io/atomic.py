"""Writing ``-o FILE`` so that a failure, or an interrupt, leaves any existing file untouched.

A regular file is written to a temporary file beside it and renamed into place; the
rename is atomic, so readers see the old file or the new one, never half of one. A
symbolic link is followed (the file it names is replaced, the link stays). A device or
a pipe (``-o /dev/stdout``, ``-o /dev/null``) is written directly: it cannot be replaced.
A file the command is reading is never written (`hw3cli.tensor_io.guard`).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from hw3cli.errors import InputError
from hw3cli.tensor_io.guard import output_target


def write_failed(e: OSError, where: str) -> InputError:
    """The error for an output that could not be written (a full disk, no permission)."""
    reason = e.strerror or str(e)
    return InputError(f"writing the output failed: {reason}", where=where)


@contextmanager
def atomic_output(path: str) -> Iterator[IO[bytes]]:
    """A binary file to write ``path``'s new content into; it replaces ``path`` only when
    the ``with`` block ends without an exception. The path is resolved once
    (`output_target`): the file the guard checks is the file written."""
    where = f"-o {path}"
    target, st = output_target(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        with _writing(where):  # a device or a pipe: written in place
            f = open(path, "wb")  # noqa: SIM115 - closed below, its errors reported
        try:
            with _writing(where):
                yield f
                f.flush()
        finally:
            with _writing(where):
                f.close()
        return
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise InputError(
            f"the folder {os.path.dirname(os.path.abspath(path))} does not exist", where=where
        )
    tmp = None
    try:
        with _writing(where):
            # The name is held before the file is made (unlike tempfile.mkstemp's, which an
            # interrupt inside mkstemp loses with the file already there), so the clean-up
            # below removes the file whenever a signal arrives.
            for _ in range(100):
                tmp = _temporary_name(directory)
                try:
                    fd = os.open(tmp, _NEW_FILE, 0o600)
                    break
                except FileExistsError:  # (someone else's: never removed)
                    tmp = None
            else:
                raise FileExistsError(errno.EEXIST, "no free temporary file name", directory)
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            _copy_mode(target, tmp)
            os.replace(tmp, target)
            tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _temporary_name(directory: str) -> str:
    """A name ``.hw3-XXXX.tmp`` in ``directory`` for a new file (random, 64 bits)."""
    return os.path.join(directory, f".hw3-{os.urandom(8).hex()}.tmp")


# a new file, never an existing one: the name is the caller's before the file exists
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see `atomic_output`)."""
    with atomic_output(path) as f:
        f.write(data)


@contextmanager
def _writing(where: str) -> Iterator[None]:
    """OSError while writing -> InputError saying that writing the output failed."""
    try:
        yield
    except OSError as e:
        raise write_failed(e, where) from None


def _copy_mode(target: str, tmp: str) -> None:
    """The new file keeps the old one's permissions, or gets the usual ones for a new file."""
    if os.path.exists(target):
        os.chmod(tmp, os.stat(target).st_mode & 0o7777)
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
