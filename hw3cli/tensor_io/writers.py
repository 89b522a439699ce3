"""Writing arrays as JSON, CSV and NPZ, so that what is written reads back identical.

Floats are written in their shortest round-trip form (Python's ``repr``). Files are
written atomically (`hw3cli.tensor_io.atomic`).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from hw3cli.errors import InputError, escaped
from hw3cli.tensor_io.engine import attempt, polars_module
from hw3cli.tensor_io.jsontext import dumps

BLOCK_ROWS = 8192  # rows of a JSON matrix written at a time: a few MB of text


def jsonable(value: Any) -> Any:
    """NumPy scalars as Python numbers, mappings and tuples walked; arrays are left to
    `hw3cli.tensor_io.jsontext`, which makes each a list only when it writes it (so that
    one array at a time is held as Python numbers)."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def json_text(obj: Mapping[str, Any]) -> str:
    return dumps(jsonable(obj))


LARGE = 1 << 16  # values of an array written block by block in JSON


def json_chunks(obj: Mapping[str, Any], step: int = 2) -> Iterator[str]:
    """The text of `json_text`, in pieces: a large array of numbers goes block of rows by
    block of rows (formatted by polars, as CSV is), so that its text is never held whole
    nor built from a list of Python floats."""

    def large(v: Any) -> bool:
        return isinstance(v, np.ndarray) and v.size >= LARGE and bool(np.isfinite(v).all())

    if not any(large(v) for v in obj.values()):
        yield json_text(obj)
        return
    yield "{\n"
    for i, (key, value) in enumerate(obj.items()):
        yield " " * step + json.dumps(str(key)) + ": "
        if large(value) and value.ndim >= 1:
            yield from _json_array(value, step, 1)
        else:
            yield dumps(jsonable(value), indent=step, level=1).rstrip("\n")
        yield ",\n" if i < len(obj) - 1 else "\n"
    yield "}\n"


def _json_array(a: npt.NDArray[Any], step: int, level: int) -> Iterator[str]:
    """A finite float array as JSON: a vector on one line, a matrix one row a line."""
    pad, end = " " * (step * (level + 1)), " " * (step * level)
    if a.ndim == 1:
        text = _csv_block(a.reshape(-1, 1))
        yield "[" + text.rstrip("\n").replace("\n", ", ") + "]"
        return
    yield "[\n"
    if a.ndim == 2:
        first = True
        for start in range(0, a.shape[0], BLOCK_ROWS):
            lines = _csv_block(a[start : start + BLOCK_ROWS]).rstrip("\n").replace(",", ", ")
            rows = lines.split("\n")
            yield ("" if first else ",\n") + ",\n".join(f"{pad}[{row}]" for row in rows)
            first = False
    else:
        for i in range(a.shape[0]):
            yield ("" if i == 0 else ",\n") + pad
            yield from _json_array(a[i], step, level + 1)
    yield "\n" + end + "]"


def _format_row(row: Sequence[float]) -> str:
    return ",".join(repr(float(v)) for v in row)


def check_csv_shape(shape: tuple[int, ...]) -> None:
    """CSV holds a vector (a column) or a matrix: anything else is an InputError."""
    if len(shape) > 2:
        raise InputError(
            f"CSV holds a matrix, and this result has shape {shape}",
            where="--format csv",
            hint="use --format json or -o FILE.npz",
        )


def write_csv(
    f: IO[bytes], blocks: Iterable[npt.NDArray[Any]], header: Sequence[str] | None = None
) -> None:
    """CSV text (ASCII bytes) of blocks of rows (a 1-D block is a column) written to
    ``f``, a header line first if given.

    Rows go out `WRITE_ROWS` at a time (fewer for a wide row: at most `WRITE_VALUES`
    values), however the blocks come: polars writes a frame of more than 32,768 rows on
    every core, a smaller one on one core at about half the speed. polars writes into
    ``f`` itself, so that the text of a frame is never held whole."""
    if header is not None:
        f.write((",".join(csv_cell(h) for h in header) + "\n").encode("utf-8"))
    for columns in _frames(blocks):
        _write_columns(f, columns)


WRITE_ROWS = 40_960  # rows written at a time: more than polars writes on one core
WRITE_VALUES = WRITE_ROWS * 32  # and at most this many values (10 MiB), for a wide row


def _frames(blocks: Iterable[npt.NDArray[Any]]) -> Iterator[npt.NDArray[np.float64]]:
    """The rows of ``blocks`` regrouped `WRITE_ROWS` (or `WRITE_VALUES` values) at a
    time, as columns: each frame a (columns, rows) array whose rows are contiguous,
    filled block by block (a block is let go as soon as it is copied)."""
    frame: npt.NDArray[np.float64] | None = None
    filled = 0
    for block in blocks:
        rows = block.reshape(-1, 1) if block.ndim == 1 else block
        step = max(1, min(WRITE_ROWS, WRITE_VALUES // max(rows.shape[1], 1)))
        start = 0
        while start < rows.shape[0]:
            if frame is None:
                frame = np.empty((rows.shape[1], step), dtype=np.float64)
            take = min(step - filled, rows.shape[0] - start)
            frame[:, filled : filled + take] = rows[start : start + take].T
            filled += take
            start += take
            if filled == frame.shape[1]:
                yield frame
                frame, filled = None, 0
    if frame is not None:
        yield frame[:, :filled]


def _write_columns(f: IO[bytes], columns: npt.NDArray[np.float64]) -> None:
    """Rows of numbers, given as columns, as CSV lines into ``f``. polars writes each
    float64 in its shortest round-trip form (as ``repr`` does, though it may spell
    ``1e-05`` as ``0.00001``) from the columns as they are, about twenty times as fast as
    ``repr``; NaN and infinities, and a machine where polars cannot run, go to ``repr``.

    Into an open file (stdout, the temporary file of ``-o``) polars writes through the
    file's descriptor itself, after flushing what Python holds of it: the text passes
    through no Python object (25 MiB less at the peak of a million rows). An error in
    writing (a closed pipe, a full disk) is raised as the OSError it is."""
    pl = polars_module()
    plain = columns.size and columns.shape[0] <= WIDE_COLUMNS and np.isfinite(columns).all()
    if pl is None or not plain:
        f.write(_csv_bytes(columns.T))
        return
    frame = pl.DataFrame({f"c{i}": c for i, c in enumerate(columns)})
    try:
        frame.write_csv(f, include_header=False)
    except OSError as e:
        raise os_error(e) from None
    except BaseException as e:  # a Rust panic: the rows written so far cannot be taken back
        if type(e).__name__ == "PanicException":
            raise RuntimeError(f"polars failed part-way through writing CSV: {e}") from None
        raise


def os_error(e: OSError) -> OSError:
    """``e`` with its errno: polars passes an error of the system on as an OSError whose
    number is only in its text (``Broken pipe (os error 32)``, or ``[Errno 32] ...`` when
    it came from a Python file), so that a closed pipe would look like any failure."""
    if e.errno is not None:
        return e
    found = re.search(r"\(os error (\d+)\)|\[Errno (\d+)\]", str(e))
    if found is None:
        return e
    number = int(found.group(1) or found.group(2))
    return OSError(number, os.strerror(number))  # (a BrokenPipeError for EPIPE)


def _csv_block(block: npt.NDArray[Any]) -> str:
    """`_csv_bytes` as text."""
    return _csv_bytes(block).decode("ascii")


def _csv_bytes(block: npt.NDArray[Any]) -> bytes:
    """Rows of numbers as CSV lines. polars writes each float64 in its shortest
    round-trip form (as ``repr`` does, though it may spell ``1e-05`` as ``0.00001``) from
    the columns as they are, about twenty times as fast as ``repr``; NaN and infinities,
    and any failure of polars, fall back to ``repr``."""
    values = np.asarray(block, dtype=np.float64)
    if values.size and np.isfinite(values).all():
        if values.shape[1] > WIDE_COLUMNS:
            text = attempt(lambda pl: _wide_csv_block(pl, values))
        else:
            # one copy to contiguous columns (what a polars frame holds), not one a column
            columns = {f"c{i}": c for i, c in enumerate(np.ascontiguousarray(values.T))}
            text = attempt(lambda pl: _frame_csv(pl.DataFrame(columns)))
        if isinstance(text, bytes):
            return text
    return "".join(_format_row(r) + "\n" for r in values.tolist()).encode("ascii")


def _frame_csv(frame: Any) -> bytes:
    """A polars DataFrame's rows as CSV bytes, no header."""
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False)
    return buffer.getvalue()


WIDE_COLUMNS = 1024  # wider rows are written as one column, then joined (see below)


def _wide_csv_block(pl: Any, values: npt.NDArray[np.float64]) -> bytes:
    """Rows of many columns as CSV lines: polars writes every value of the block as one
    column (a DataFrame of a column per matrix column is slow beyond a few thousand),
    one value a line, and the line ends within each row become commas: the same text,
    with no Python object per value."""
    flat = pl.DataFrame({"v": np.ascontiguousarray(values).ravel()})
    text = np.frombuffer(_frame_csv(flat), np.uint8).copy()
    ends = np.flatnonzero(text == ord("\n")).reshape(values.shape[0], values.shape[1])
    text[ends[:, :-1]] = ord(",")
    return bytes(text)


def csv_cell(text: str) -> str:
    """A cell of text (a header's name, a layer's name) as CSV: control characters
    escaped (``\\x1b``, so that ``cat`` of the file cannot drive a terminal), quoted when
    it holds a comma or a quote."""
    text = escaped(text)
    if any(ch in text for ch in ',"'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_text(matrix: npt.NDArray[Any], header: Sequence[str] | None = None) -> str:
    """A matrix (or a vector, as a column) as CSV text."""
    check_csv_shape(tuple(matrix.shape))
    buffer = io.BytesIO()
    write_csv(buffer, [matrix], header)
    return buffer.getvalue().decode("utf-8")


def write_npz_members(
    f: IO[bytes], members: Iterable[tuple[str, tuple[int, ...], Iterable[npt.NDArray[Any]]]]
) -> None:
    """An uncompressed .npz archive (what ``np.savez`` writes, and ``np.load`` reads):
    per member a name, the float64 array's shape, and its values as blocks of rows in
    order, each written as it comes, so that the archive never is in memory whole."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, shape, blocks in members:
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                header = {"descr": "<f8", "fortran_order": False, "shape": shape}
                np.lib.format.write_array_header_1_0(member, header)
                written = 0
                for block in blocks:
                    data = np.ascontiguousarray(block, dtype="<f8")
                    member.write(memoryview(data).cast("B"))  # type: ignore[arg-type]
                    written += data.size
                assert written == math.prod(shape), (name, shape, written)
