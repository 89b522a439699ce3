"""Reading bytes and JSON from a path or standard input, without NumPy.

Shared by the array readers and by ``conv-shape --net``, whose start-up must not load
NumPy.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from hw3cli.errors import InputError


def source_name(path: str | None) -> str:
    return "stdin" if path in (None, "-") else str(path)


def read_bytes(path: str | None, *, what: str, hint: str) -> bytes:
    """All bytes of ``path``, or of stdin for None or ``-``.

    Refuses to wait on a terminal: with stdin a terminal and no file, InputError with
    ``hint`` saying how to give the data.
    """
    if path in (None, "-"):
        stdin = sys.stdin
        isatty = getattr(stdin, "isatty", None)
        if isatty is not None and isatty():
            raise InputError(f"no {what} given and standard input is a terminal", hint=hint)
        buffer = getattr(stdin, "buffer", None)
        data = buffer.read() if buffer is not None else stdin.read().encode("utf-8")
        if not data.strip():
            raise InputError(f"no {what}: standard input is empty", hint=hint)
        return bytes(data)
    assert path is not None
    if os.path.isdir(path):
        raise InputError("is a folder, not a file", where=path)
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise InputError("no such file", where=path) from None
    except OSError as e:
        raise InputError(f"cannot read it: {e.strerror}", where=path) from None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def parse_json(data: bytes, source: str) -> Any:
    """The JSON value; NaN and Infinity are refused."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", where=source) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        raise InputError(
            f"not valid JSON: {e.msg}", where=f"{source}, line {e.lineno}, column {e.colno}"
        ) from None
    except ValueError as e:
        raise InputError(f"not valid JSON: {e}", where=source) from None
