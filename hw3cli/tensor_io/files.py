"""Reading bytes and JSON from a path or standard input, without NumPy.

Shared by the array readers and by ``conv-shape --net``, whose start-up must not load
NumPy.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from itertools import accumulate
from typing import Any

from hw3cli.errors import InputError
from hw3cli.tensor_io.guard import note_read, note_stdin


def source_name(path: str | None) -> str:
    return "stdin" if path in (None, "-") else str(path)


def read_bytes(path: str | None, *, what: str, hint: str) -> bytes:
    """All bytes of ``path``, or of stdin for None or ``-``.

    Refuses to wait on a terminal: with stdin a terminal and no file, InputError with
    ``hint`` saying how to give the data. Refuses, as soon as it shows, what no reader
    could use (`refuse_unreadable`): a NUL byte in the first block of something that is
    not NPY or NPZ (``/dev/zero``), or more bytes than memory can hold (`max_input_bytes`).
    """
    if path in (None, "-"):
        stdin = sys.stdin
        isatty = getattr(stdin, "isatty", None)
        if isatty is not None and isatty():
            raise InputError(f"no {what} given and standard input is a terminal", hint=hint)
        note_stdin()
        buffer = getattr(stdin, "buffer", None)
        # (a text stream without bytes beneath it, as an embedding program may set)
        data = stdin.read().encode("utf-8") if buffer is None else _read_blocks(buffer, "stdin")
        if not data.strip():
            raise InputError(f"no {what}: standard input is empty", hint=hint)
        return data
    assert path is not None
    if os.path.isdir(path):
        raise InputError("is a folder, not a file", where=path)
    try:
        with open(path, "rb") as f:
            if not _regular(f, path):  # a device or a pipe: it may never end
                return _read_blocks(f, path)
            data = f.read()
            refuse_unreadable(data[:BLOCK], path)
            return data
    except FileNotFoundError:
        raise InputError("no such file", where=path) from None
    except OSError as e:
        raise InputError(f"cannot read it: {e.strerror}", where=path) from None


def read_head(path: str) -> bytes | None:
    """The first block of a regular file, checked as `read_bytes` checks it (noted as an
    input, its size, no NUL byte unless NPY or NPZ), so that a reader may hand the path
    to a faster library; None for stdin, a device or a pipe (read those with
    `read_bytes`), and for anything `read_bytes` would refuse (it says why)."""
    if path == "-" or os.path.isdir(path):
        return None
    try:
        with open(path, "rb") as f:
            if not _regular(f, path):
                return None
            head = f.read(BLOCK)
    except OSError:
        return None
    refuse_unreadable(head, path)
    return head


def _regular(f: Any, path: str) -> bool:
    """Whether the open file ``f`` is a regular file; every file is noted as an input
    (`hw3cli.tensor_io.guard`), and a regular one larger than memory allows is refused."""
    st = os.fstat(f.fileno())
    note_read(path, st)
    if not stat.S_ISREG(st.st_mode):
        return False
    _refuse_size(st.st_size, path)
    return True


BLOCK = 1 << 20
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


def max_input_bytes() -> int:
    """The largest input read into memory: an eighth of the machine's memory (parsing
    text takes several times its size), or 1 GiB where the size cannot be told."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 8
    except (AttributeError, OSError, ValueError):
        return 1 << 30


def _refuse_size(size: int, source: str) -> None:
    limit = max_input_bytes()
    if size > limit:
        raise InputError(
            f"holds more than {limit / 1e9:.1f} GB, more than hw3 reads into this "
            f"machine's memory (an eighth of it)",
            where=source,
            hint="give a part of the data at a time",
        )


def refuse_unreadable(head: bytes, source: str) -> None:
    """InputError for a first block that no reader could use: a NUL byte in something that
    is neither NPY nor NPZ (CSV and JSON are text; ``/dev/zero`` is not)."""
    if head.startswith((NPY_MAGIC, ZIP_MAGIC)):
        return
    nul = head.find(b"\0")
    if nul >= 0:
        raise InputError(
            f"holds a NUL byte at byte {nul}: it is neither text (CSV, JSON) nor an NPY or "
            "NPZ file",
            where=source,
            hint="text must be UTF-8 (a spreadsheet's 'Unicode text' is UTF-16: save as CSV UTF-8)",
        )


def _read_blocks(f: Any, source: str) -> bytes:
    """Everything ``f`` holds, block by block, checked as it comes (`read_bytes`)."""
    blocks: list[bytes] = []
    total = 0
    while True:
        block = f.read(BLOCK)
        if not block:
            return b"".join(blocks)
        if not blocks:
            refuse_unreadable(block, source)
        total += len(block)
        _refuse_size(total, source)
        blocks.append(block)


MAX_JSON_DEPTH = 100  # levels of [ and {; hw3's inputs need a handful
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?')  # unterminated too: linear
_ALL_BUT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_PAIR = re.compile(rb"\[\]|\{\}")
_OPENING_RUN = re.compile(rb"[\[{]{" + str(MAX_JSON_DEPTH + 1).encode() + rb"}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_too_deep(data: bytes) -> bool:
    """Whether the brackets of JSON text (outside strings) nest more than
    ``MAX_JSON_DEPTH`` levels deep.

    Without recursion and in a few passes over the brackets (each pass removes the
    innermost pairs: one level), so that 10,000,000 ``[`` are refused at once rather
    than handed to the parser.
    """
    cap = MAX_JSON_DEPTH
    if data.count(b"[") + data.count(b"{") <= cap:
        return False
    brackets = _JSON_STRING.sub(b"", data).translate(None, _ALL_BUT_BRACKETS)
    if _OPENING_RUN.search(brackets):  # the usual attack, found at once
        return True
    for _ in range(cap):
        inner = _PAIR.sub(b"", brackets)
        if len(inner) == len(brackets):
            break
        brackets = inner
    else:
        if _PAIR.search(brackets):  # a level left after cap levels
            return True
    if not brackets:
        return False
    # unbalanced (not valid JSON): the depth of what is left
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets))) > cap


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def parse_json(data: bytes, source: str) -> Any:
    """The JSON value; NaN and Infinity are refused, and so is nesting deeper than
    ``MAX_JSON_DEPTH`` levels (found before parsing) and a whole number of more digits
    than Python converts (4300 by default)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", where=source) from None
    too_deep = InputError(
        f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels of [ and {{)",
        where=source,
        hint="hw3's inputs nest a few levels (a matrix: 2): check the brackets",
    )
    if json_too_deep(data):
        raise too_deep
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        raise InputError(
            f"not valid JSON: {e.msg}", where=f"{source}, line {e.lineno}, column {e.colno}"
        ) from None
    except RecursionError:
        raise too_deep from None
    except ValueError as e:
        if "integer string conversion" in str(e):
            limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
            raise InputError(
                f"holds a whole number of more than {limit} digits, too large for a float64 "
                "(at most about 1.8e308)",
                where=source,
            ) from None
        raise InputError(f"not valid JSON: {e}", where=source) from None
