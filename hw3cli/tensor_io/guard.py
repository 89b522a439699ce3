"""The files a command reads, so that ``-o`` never replaces one of them.

Every reader notes what it opened (its resolved path and its device and inode, which a
hard link or a symbolic link shares); `refuse_overwrite` then turns ``-o x.csv`` while
``x.csv`` is being read into an InputError before anything is written. Standard input
counts too when it is a file (``< x.csv``).
"""

from __future__ import annotations

import os
import stat
import sys

from hw3cli.errors import InputError

# (device, inode) -> the name the user gave, for every file read by this process.
_READ: dict[tuple[int, int], str] = {}
_STDIN = "-"


def note_read(name: str, st: os.stat_result) -> None:
    """Remember that ``name`` (whose status is ``st``) is an input, if it is a regular file
    (a device or a pipe cannot be destroyed by writing to it)."""
    if stat.S_ISREG(st.st_mode):
        _READ.setdefault((st.st_dev, st.st_ino), name)


def note_stdin() -> None:
    """Remember standard input when it is a file (``hw3 bn-grad < x.csv``)."""
    try:
        st = os.fstat(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):  # replaced by an object with no descriptor
        return
    note_read(_STDIN, st)


def forget_all() -> None:
    """Start afresh (one process may run several commands, as the test suite does)."""
    _READ.clear()


def refuse_overwrite(path: str) -> None:
    """InputError when ``path`` names a file this command reads (same inode or same path)."""
    try:
        st = os.stat(path)
    except OSError:
        return  # nothing there yet: it cannot be an input
    name = _READ.get((st.st_dev, st.st_ino))
    if name is not None:
        if name == _STDIN:
            what = "standard input (the same file)"
        elif os.path.realpath(name) == os.path.realpath(path):
            what = f"the input {name}"
        else:
            what = f"the input {name} (the same file)"
        raise InputError(
            f"the output would overwrite {what}; nothing was written",
            where=f"-o {path}",
            hint="write the result to another file",
        )
