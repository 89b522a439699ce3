"""Writing arrays as JSON, CSV and NPZ, so that what is written reads back identical.

Floats are written in their shortest round-trip form (Python's ``repr``). Files are
written atomically (`hw3cli.tensor_io.atomic`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from hw3cli.errors import InputError
from hw3cli.tensor_io.engine import attempt
from hw3cli.tensor_io.jsontext import dumps

BLOCK_ROWS = 8192  # rows written at a time: a few MB of text, whatever the input


def jsonable(value: Any) -> Any:
    """Arrays and NumPy scalars as plain lists and Python numbers."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def json_text(obj: Mapping[str, Any]) -> str:
    return dumps(jsonable(obj))


def _format_row(row: Sequence[float]) -> str:
    return ",".join(repr(float(v)) for v in row)


def iter_csv_lines(
    matrix: npt.NDArray[Any], header: Sequence[str] | None = None, block_rows: int = BLOCK_ROWS
) -> Iterator[str]:
    """CSV text in blocks of rows: a header line if given, then one line per row."""
    if matrix.ndim == 1:
        matrix = matrix.reshape(-1, 1)
    if matrix.ndim != 2:
        raise InputError(
            f"CSV holds a matrix, and this result has shape {tuple(matrix.shape)}",
            where="--format csv",
            hint="use --format json or -o FILE.npz",
        )
    if header is not None:
        yield ",".join(_csv_cell(h) for h in header) + "\n"
    for start in range(0, matrix.shape[0], block_rows):
        yield _csv_block(matrix[start : start + block_rows])


def _csv_block(block: npt.NDArray[Any]) -> str:
    """Rows of numbers as CSV lines. polars writes each float64 in its shortest
    round-trip form (as ``repr`` does, though it may spell ``1e-05`` as ``0.00001``) from
    the columns as they are, about twenty times as fast as ``repr``; NaN and infinities,
    and any failure of polars, fall back to ``repr``."""
    values = np.asarray(block, dtype=np.float64)
    if values.size and np.isfinite(values).all():
        columns = {f"c{i}": values[:, i] for i in range(values.shape[1])}
        text = attempt(lambda pl: pl.DataFrame(columns).write_csv(include_header=False))
        if isinstance(text, str):
            return text
    return "".join(_format_row(r) + "\n" for r in values.tolist())


def _csv_cell(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_text(matrix: npt.NDArray[Any], header: Sequence[str] | None = None) -> str:
    return "".join(iter_csv_lines(matrix, header))


def write_npz(f: IO[bytes], arrays: Mapping[str, Any]) -> None:
    """An uncompressed .npz archive with one named array per entry (None entries left
    out), written straight into ``f`` (no copy of the whole archive in memory)."""
    named = {k: np.asarray(v) for k, v in arrays.items() if v is not None}
    save: Any = np.savez  # its **kwds are the arrays; typed loosely by NumPy
    save(f, allow_pickle=False, **named)
