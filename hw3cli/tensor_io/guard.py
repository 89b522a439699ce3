"""The files a command reads, so that ``-o`` never replaces one of them.

Every reader notes what it opened (its resolved path and its device and inode, which a
hard link or a symbolic link shares); `output_target` then resolves ``-o``'s path once,
to the one file that will be written, and refuses it when it is an input, before
anything is written. Standard input counts too when it is a file (``< x.csv``).

A path is resolved only when the system agrees what it names: a path that ends with a
``/`` (or ``/.``, ``/..``), that goes through a file as if it were a folder, that is too
long or loops, is refused by `check_output_path` (at the command line, before anything
is read), never resolved by hand onto another file.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

from hw3cli.errors import InputError

# (device, inode) -> the name the user gave, for every file read by this process.
_READ: dict[tuple[int, int], str] = {}
# resolved path -> the name the user gave
_READ_PATHS: dict[str, str] = {}
_STDIN = "-"


def note_read(name: str, st: os.stat_result) -> None:
    """Remember that ``name`` (whose status is ``st``) is an input, if it is a regular file
    (a device or a pipe cannot be destroyed by writing to it)."""
    if stat.S_ISREG(st.st_mode):
        _READ.setdefault((st.st_dev, st.st_ino), name)
        if name != _STDIN:
            _READ_PATHS.setdefault(os.path.realpath(name), name)


def note_stdin() -> None:
    """Remember standard input when it is a file (``hw3 bn-grad < x.csv``)."""
    try:
        st = os.fstat(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):  # closed, or an object with no descriptor
        return
    note_read(_STDIN, st)


def forget_all() -> None:
    """Start afresh (one process may run several commands, as the test suite does)."""
    _READ.clear()
    _READ_PATHS.clear()


def check_output_path(path: str) -> os.stat_result | None:
    """InputError unless ``path`` can name a file to write: the status of what is there,
    or None when nothing is there yet and its folder exists.

    Refused: a path ending with ``/``, ``/.`` or ``/..`` (a folder's spelling), one that
    goes through a file as if it were a folder (``x.csv/y``), one the system cannot
    resolve (too long, a loop of links, no permission), a folder, a missing folder."""
    where = f"-o {path}"
    if not path:
        raise InputError("is empty: give a file name", where="-o")
    if path.endswith(("/", "/.", "/..")) or path in (".", ".."):
        raise InputError(
            "names a folder (it ends with '/', '/.' or '/..'), not a file; nothing was read",
            where=where,
            hint="give the file's name without a trailing '/'",
        )
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise InputError(
            f"goes through {_file_as_folder(path)}, a file, as if it were a folder; "
            "nothing was read",
            where=where,
            hint="a file's name cannot be followed by '/'",
        ) from None
    except ValueError:  # only from Python: a command line cannot hold a NUL
        raise InputError("holds a NUL character, which no file name can", where=where) from None
    except OSError as e:
        raise InputError(
            f"cannot be used as an output: {e.strerror or e}; nothing was read",
            where=where,
            hint="give a shorter, plain path" if e.errno == errno.ENAMETOOLONG else None,
        ) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise InputError("is a folder, not a file", where=where)
    if st is None:
        folder = os.path.dirname(os.path.realpath(path))
        if not os.path.isdir(folder):
            raise InputError(f"the folder {folder} does not exist", where=where)
    return st


def _file_as_folder(path: str) -> str:
    """The first part of ``path`` that is a file (what ENOTDIR stumbled on)."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i]) or "/"
        try:
            if not os.path.isdir(prefix) and os.path.exists(prefix):
                return prefix
        except (OSError, ValueError):
            break
    return "a part of it"


def output_target(path: str) -> tuple[str, os.stat_result | None]:
    """The one file that ``-o path`` writes, resolved once, with its status (None when it
    does not exist yet): what the guard checks is what the writer writes.

    A symbolic link gives the file it names. InputError when the path cannot name a file
    (`check_output_path`), when it names a file this command reads (same device and
    inode, or same resolved path), or when the system and the resolved path disagree."""
    st = check_output_path(path)
    target = os.path.realpath(path)
    if st is not None and stat.S_ISREG(st.st_mode):
        try:
            resolved = os.stat(target)
        except OSError:
            resolved = None
        if resolved is None or (resolved.st_dev, resolved.st_ino) != (st.st_dev, st.st_ino):
            raise InputError(
                f"resolves to {target}, which is not the file the system opens for it; "
                "nothing was written",
                where=f"-o {path}",
                hint="give the file's own path",
            )
    _refuse_input(path, target, st)
    return target, st


def _refuse_input(path: str, target: str, st: os.stat_result | None) -> None:
    """InputError when ``target`` (``st``: its status) is a file this command reads."""
    name = _READ.get((st.st_dev, st.st_ino)) if st is not None else None
    if name is None:
        name = _READ_PATHS.get(target)
    if name is None:
        return
    if name == _STDIN:
        what = "standard input (the same file)"
    elif os.path.realpath(name) == target:
        what = f"the input {name}"
    else:
        what = f"the input {name} (the same file)"
    raise InputError(
        f"the output would overwrite {what}; nothing was written",
        where=f"-o {path}",
        hint="write the result to another file",
    )
