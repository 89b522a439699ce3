"""Reading arrays from CSV, JSON, NPY and NPZ, from a path or standard input.

Every problem is an InputError that names the place: the file, the row and column of a
bad CSV cell, the JSON key and index of a bad entry. Non-finite numbers are refused.
CSV is read in blocks of rows (`iter_csv_blocks`) so that a streaming consumer can use
the same parser later.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from hw3cli.errors import InputError
from hw3cli.tensor_io.files import parse_json, read_bytes, source_name

Array = npt.NDArray[np.float64]

_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".json": "json", ".npy": "npy", ".npz": "npz"}
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
BLOCK_ROWS = 65536


@dataclass(frozen=True)
class Document:
    """What a file held: named values (arrays or scalars), its format, a CSV header."""

    source: str
    format: str
    values: dict[str, Any]
    header: tuple[str, ...] | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def detect_format(path: str | None, data: bytes, requested: str = "auto") -> str:
    """``requested`` unless ``auto``; then the extension, then the content."""
    if requested != "auto":
        return requested
    if path not in (None, "-"):
        ext = os.path.splitext(str(path))[1].lower()
        if ext in _EXTENSIONS:
            return _EXTENSIONS[ext]
    if data.startswith(NPY_MAGIC):
        return "npy"
    if data.startswith(ZIP_MAGIC):
        return "npz"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head in (b"{", b"[") else "csv"


def read_document(
    path: str | None, requested: str = "auto", *, what: str = "input", hint: str = ""
) -> Document:
    """Read ``path`` (or stdin) in its format into a Document."""
    data = read_bytes(path, what=what, hint=hint)
    fmt = detect_format(path, data, requested)
    name = source_name(path)
    if fmt == "csv":
        matrix, header = parse_csv(data, name)
        return Document(name, "csv", {"data": matrix}, header)
    if fmt == "json":
        raw = parse_json(data, name)
        values = raw if isinstance(raw, dict) else {"data": raw}
        return Document(name, "json", dict(values), raw=values)
    if fmt == "npy":
        return Document(name, "npy", {"data": parse_npy(data, name)})
    if fmt == "npz":
        return Document(name, "npz", parse_npz(data, name))
    raise InputError(f"unknown input format {fmt!r}", where="--input-format")


def read_matrix(path: str, *, what: str, requested: str = "auto") -> Array:
    """One numeric array from a file of any format (a JSON file: its only array)."""
    doc = read_document(path, requested, what=what, hint=f"give {what} as a file")
    if len(doc.values) != 1:
        names = ", ".join(sorted(doc.values))
        raise InputError(f"holds several arrays ({names}); expected one", where=doc.source)
    (key, value) = next(iter(doc.values.items()))
    return to_array(value, doc.source if doc.format != "json" else f"{doc.source}: {key}")


# --- CSV --------------------------------------------------------------------------------


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def iter_csv_blocks(
    text: str, source: str, block_rows: int = BLOCK_ROWS
) -> Iterator[tuple[int, list[list[str]]]]:
    """Blocks of (first line number, rows of cells); blank lines skipped."""
    block: list[list[str]] = []
    first = 0
    reader = csv.reader(io.StringIO(text))
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if not block:
                first = reader.line_num
            block.append(row)
            if len(block) >= block_rows:
                yield first, block
                block = []
    except csv.Error as e:
        raise InputError(f"not valid CSV: {e}", where=f"{source}, row {reader.line_num}") from None
    if block:
        yield first, block


def parse_csv(data: bytes, source: str) -> tuple[Array, tuple[str, ...] | None]:
    """A matrix of float64, one sample a row, and the header row if the file had one.

    A first row with any cell that is not a number is a header. CRLF line ends and a
    UTF-8 byte-order mark are accepted.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", where=source) from None
    header: tuple[str, ...] | None = None
    blocks: list[Array] = []
    width: int | None = None
    for first_line, rows in iter_csv_blocks(text, source):
        if header is None and not blocks and not all(_is_number(c) for c in rows[0]):
            header = tuple(cell.strip() for cell in rows[0])
            width = len(header)
            rows = rows[1:]
            first_line += 1
            if not rows:
                continue
        width = _check_widths(rows, width, source, first_line)
        blocks.append(_cells_to_floats(rows, source, first_line))
    if not blocks:
        raise InputError("holds no rows of numbers", where=source)
    matrix = np.concatenate(blocks, axis=0) if len(blocks) > 1 else blocks[0]
    return matrix, header


def _check_widths(rows: list[list[str]], width: int | None, source: str, first_line: int) -> int:
    expected = width if width is not None else len(rows[0])
    for offset, row in enumerate(rows):
        if len(row) != expected:
            raise InputError(
                f"has {len(row)} columns where the rows before have {expected}",
                where=f"{source}, row {first_line + offset}",
            )
    return expected


def _cells_to_floats(rows: list[list[str]], source: str, first_line: int) -> Array:
    try:
        block = np.array(rows, dtype=np.float64)
    except ValueError:
        block = None
    if block is not None and np.isfinite(block).all():
        return block
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            place = f"{source}, row {first_line + r}, column {c + 1}"
            try:
                value = float(cell)
            except ValueError:
                raise InputError(f"{cell.strip()!r} is not a number", where=place) from None
            if not np.isfinite(value):
                raise InputError(f"{cell.strip()!r} is not a finite number", where=place)
    raise AssertionError("unreachable: a bad cell was found above")  # pragma: no cover


# --- JSON arrays ------------------------------------------------------------------------


def to_array(value: Any, where: str) -> Array:
    """A nested list (or array) of finite numbers as float64, or an InputError at the entry."""
    if isinstance(value, np.ndarray):
        return _checked_array(value, where)
    if isinstance(value, bool) or not isinstance(value, (list, int, float)):
        raise InputError(f"expected numbers, got {_describe(value)}", where=where)
    _walk(value, where, _shape_of(value))
    return _checked_array(np.array(value, dtype=np.float64), where)


def _shape_of(value: Any) -> tuple[int, ...]:
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def _walk(value: Any, where: str, shape: tuple[int, ...]) -> None:
    """Find the first entry that is not a number or breaks the rectangular shape."""
    if not shape:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"expected a number, got {_describe(value)}", where=where)
        return
    if not isinstance(value, list):
        raise InputError(
            f"expected a list of {shape[0]}, got {_describe(value)} (the array is not rectangular)",
            where=where,
        )
    if len(value) != shape[0]:
        raise InputError(
            f"has {len(value)} entries where the first has {shape[0]} (the array is not "
            "rectangular)",
            where=where,
        )
    for i, item in enumerate(value):
        _walk(item, f"{where}[{i}]", shape[1:])


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _checked_array(array: npt.NDArray[Any], where: str) -> Array:
    if array.dtype.kind not in "iuf" and array.dtype != np.bool_:
        raise InputError(f"holds {array.dtype} values, not real numbers", where=where)
    if array.dtype == np.bool_:
        raise InputError("holds booleans, not numbers", where=where)
    out = np.asarray(array, dtype=np.float64)
    if out.size == 0:
        raise InputError("is empty", where=where)
    bad = ~np.isfinite(out)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        place = "".join(f"[{i}]" for i in index)
        raise InputError(f"{out[index]} at {place} is not a finite number", where=where)
    return out


# --- NPY / NPZ --------------------------------------------------------------------------


def parse_npy(data: bytes, source: str) -> Array:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - NumPy raises several kinds for a bad file
        raise InputError(f"not a readable .npy file ({e})", where=source) from None
    if not isinstance(array, np.ndarray):
        raise InputError("not a .npy array", where=source)
    return _checked_array(array, source)


def parse_npz(data: bytes, source: str) -> dict[str, Any]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {name: _checked_array(archive[name], f"{source}: {name}") for name in archive}
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - NumPy raises several kinds for a bad file
        raise InputError(f"not a readable .npz file ({e})", where=source) from None
