"""Reading bytes and JSON from a path or standard input, without NumPy.

Shared by the array readers and by ``conv-shape --net``, whose start-up must not load
NumPy.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import accumulate
from typing import Any

from hw3cli.errors import InputError
from hw3cli.tensor_io.guard import note_read, note_stdin


def source_name(path: str | None) -> str:
    return "stdin" if path in (None, "-") else str(path)


# A progress display (hw3cli.output.progress), told of every input opened and read.
_progress: list[Callable[[int, int | None], None]] = []


def report_progress(callback: Callable[[int, int | None], None] | None) -> None:
    """Call ``callback(read, size)`` as inputs are read: ``(0, size)`` when one is opened
    (``size`` None for stdin, a pipe or a device), ``(n, 0)`` when n more bytes of one
    were read. None: stop."""
    _progress.clear()
    if callback is not None:
        _progress.append(callback)


def advance(n: int, size: int | None = 0) -> None:
    """n more bytes of an input were read (or, with ``size``, an input was opened)."""
    for callback in _progress:
        callback(n, size)


class Input:
    """An open input: its name, its first block (read and checked), the rest to come.

    ``size`` is the byte count of a regular file, None for stdin, a pipe or a device."""

    def __init__(self, name: str, file: Any, head: bytes, size: int | None) -> None:
        self.name, self.file, self.head, self.size = name, file, head, size

    def chunks(self, *, in_memory: bool = True, size: int = 0) -> Iterator[bytes]:
        """The bytes, block by block (of ``size`` bytes, or `BLOCK`), from the first.
        ``in_memory``: the caller keeps them all, so more than `max_input_bytes` is
        refused, as it comes for a pipe."""
        if in_memory and self.size is not None:
            _refuse_size(self.size, self.name)
        total = len(self.head)
        if self.head:
            advance(len(self.head))
            yield self.head
        while True:
            try:
                block = self.file.read(size or BLOCK)
            except OSError as e:
                raise InputError(f"cannot read it: {e.strerror}", where=self.name) from None
            if not block:
                return
            total += len(block)
            if in_memory:
                _refuse_size(total, self.name)
            advance(len(block))
            yield block

    def all_bytes(self, *, in_memory: bool = True) -> bytes:
        """Every byte, from the first: a regular file in one read from its start (one
        buffer, no join of blocks: a copy of a 60 MB file less), else `chunks` joined."""
        if self.size is None or not self.head:
            return b"".join(self.chunks(in_memory=in_memory))
        if in_memory:
            _refuse_size(self.size, self.name)
        try:
            self.file.seek(0)
            data: bytes = self.file.read()
        except OSError as e:
            raise InputError(f"cannot read it: {e.strerror}", where=self.name) from None
        if in_memory:
            _refuse_size(len(data), self.name)
        advance(len(data))
        return data

    def read_at(self, offset: int, size: int) -> bytes | None:
        """Up to ``size`` bytes from ``offset`` of a regular file, without moving its
        position (``os.pread``); None for stdin, a pipe or a device, or where it fails."""
        if self.size is None:
            return None
        try:
            return os.pread(self.file.fileno(), size, offset)
        except (OSError, ValueError, io.UnsupportedOperation):
            return None

    def rewound(self) -> Any:
        """The open file, at its first byte (a regular file: to be read whole by another
        reader, its size refused as `all_bytes` refuses it; the bytes are counted as read)."""
        assert self.size is not None
        _refuse_size(self.size, self.name)
        self.file.seek(0)
        advance(self.size)
        return self.file


@contextmanager
def open_input(path: str | None, *, what: str, hint: str) -> Iterator[Input]:
    """``path``, or stdin for None or ``-``, opened and its first block read.

    Refuses to wait on a terminal: with stdin a terminal and no file, InputError with
    ``hint`` saying how to give the data. Refuses, as soon as it shows, what no reader
    could use (`refuse_unreadable`): a NUL byte in the first block of something that is
    not NPY or NPZ (``/dev/zero``). Every file is noted as an input
    (`hw3cli.tensor_io.guard`)."""
    if path in (None, "-"):
        stdin = sys.stdin
        if stdin is None:  # the shell closed it (<&-)
            raise InputError(f"no {what}: standard input is closed", hint=hint)
        isatty = getattr(stdin, "isatty", None)
        if isatty is not None and isatty():
            raise InputError(f"no {what} given and standard input is a terminal", hint=hint)
        note_stdin()
        buffer = getattr(stdin, "buffer", None)
        if buffer is None:  # a text stream with no bytes beneath, as an embedder may set
            buffer = io.BytesIO(stdin.read().encode("utf-8"))
        head = buffer.read(BLOCK)
        if not head.strip():
            raise InputError(f"no {what}: standard input is empty", hint=hint)
        refuse_unreadable(head, "stdin")
        advance(0, None)
        yield Input("stdin", buffer, head, None)
        return
    assert path is not None
    if os.path.isdir(path):
        raise InputError("is a folder, not a file", where=path)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise InputError("no such file", where=path) from None
    except OSError as e:
        raise InputError(f"cannot read it: {e.strerror}", where=path) from None
    with f:
        st = os.fstat(f.fileno())
        note_read(path, st)
        try:
            head = f.read(BLOCK)
        except OSError as e:
            raise InputError(f"cannot read it: {e.strerror}", where=path) from None
        refuse_unreadable(head, path)
        size = st.st_size if stat.S_ISREG(st.st_mode) else None
        advance(0, size)
        yield Input(path, f, head, size)


def read_bytes(path: str | None, *, what: str, hint: str) -> bytes:
    """All bytes of ``path``, or of stdin for None or ``-``, checked as `open_input`
    checks them, and refused beyond `max_input_bytes`."""
    with open_input(path, what=what, hint=hint) as source:
        return source.all_bytes()


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
