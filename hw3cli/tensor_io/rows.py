"""Arrays read block of rows by block of rows, as often as a computation needs.

A `Rows` knows its shape and its source; `blocks` yields float64 blocks of at most
``rows`` rows along the first axis, from the start, each time it is called (batch norm
reads its inputs twice). `InMemory` holds the array; `OnDisk` reads its blocks from a
file (an .npy file's data, or the float64 spool a streamed CSV text was parsed into), so
that memory holds a block or two whatever the size of the input. Reading blocks with
``readinto`` rather than a memory map keeps the process's resident memory flat: pages of
a map count as resident once touched.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from hw3cli.errors import InputError, shape_text, size_text
from hw3cli.tensor_io.files import advance

Array = npt.NDArray[np.float64]
BLOCK_ROWS = 16384  # rows per block: 4 MiB of float64 for 32 features


class Rows:
    """An array read in blocks of rows."""

    shape: tuple[int, ...]
    source: str

    def blocks(self, rows: int = BLOCK_ROWS) -> Iterator[Array]:
        raise NotImplementedError

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def whole(self, limit: int | None = None, why: str = "") -> Array:
        """The whole array in memory; with ``limit`` (entries), an InputError naming
        ``why`` when it holds more."""
        if limit is not None and self.size > limit:
            raise InputError(
                f"{shape_text(self.shape)} = {self.size:,} values ({size_text(self.size * 8)} "
                f"as float64) is more than {why} holds in memory ({limit:,} values)",
                where=self.source,
                hint="CSV and NPZ output are written block by block, in bounded memory: "
                "use --format csv or -o out.npz (or give a part of the data at a time)",
            )
        return self._whole()

    def _whole(self) -> Array:
        parts = list(self.blocks(max(self.shape[0], 1)))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


@dataclass
class InMemory(Rows):
    """An array already in memory: its blocks are views."""

    array: Array
    source: str
    shape: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.shape = tuple(self.array.shape)

    def blocks(self, rows: int = BLOCK_ROWS) -> Iterator[Array]:
        n = self.array.shape[0]
        for start in range(0, n, rows):
            yield self.array[start : start + rows]

    def _whole(self) -> Array:
        return self.array


@dataclass
class OnDisk(Rows):
    """An array stored in a file from byte ``offset`` on: ``shape`` of ``dtype``, in C
    order or (for a matrix) Fortran order. ``checked``: every value is known to be a
    finite number; if not, each block is checked as it is read (an InputError names the
    first bad entry by its index in the whole array)."""

    file: Any  # a binary file: seek and readinto
    offset: int
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    source: str
    fortran: bool = False
    checked: bool = True
    report: bool = False  # tell the progress display of the first full read

    def blocks(self, rows: int = BLOCK_ROWS) -> Iterator[Array]:
        n = self.shape[0]
        rest = self.shape[1:]
        row_items = math.prod(rest)
        for start in range(0, n, rows):
            count = min(rows, n - start)
            raw = np.empty((count, *rest), dtype=self.dtype)
            if self.fortran and len(rest) == 1:
                self._read_columns(raw, start, n)
            else:
                self._read_into(raw, self.offset + start * row_items * self.dtype.itemsize)
            block = raw if raw.dtype == np.float64 else raw.astype(np.float64)
            if not self.checked:
                _refuse_non_finite(block, start, self.source)
            yield block
        self.report = False

    def _read_columns(self, raw: npt.NDArray[Any], start: int, n: int) -> None:
        """A block of a Fortran-order matrix: each column's rows are contiguous."""
        size = self.dtype.itemsize
        column = np.empty(raw.shape[0], dtype=self.dtype)
        for j in range(raw.shape[1]):
            self._read_into(column, self.offset + (j * n + start) * size)
            raw[:, j] = column

    def _read_into(self, out: npt.NDArray[Any], position: int) -> None:
        view = memoryview(out).cast("B")  # type: ignore[arg-type]
        self.file.seek(position)
        done = 0
        while done < len(view):
            got = self.file.readinto(view[done:])
            if not got:
                raise InputError(
                    f"ended after {position + done:,} bytes, inside its data (was it cut "
                    "short while being read?)",
                    where=self.source,
                )
            done += got
        if self.report:
            advance(done)


def _refuse_non_finite(block: Array, start: int, source: str) -> None:
    bad = ~np.isfinite(block)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        place = "".join(f"[{i}]" for i in (index[0] + start, *index[1:]))
        raise InputError(f"{block[index]} at {place} is not a finite number", where=source)


class Spool:
    """Blocks of rows of float64, written to an anonymous temporary file (gone when the
    process ends, however it ends), then read back as `OnDisk`."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="hw3-")  # noqa: SIM115
        self.rows = 0
        self.rest: tuple[int, ...] | None = None
        self._room = _spool_room()

    def write(self, block: Array) -> None:
        if block.shape[0] == 0:
            return
        self.rest = tuple(block.shape[1:])
        data = np.ascontiguousarray(block, dtype=np.float64)
        self._room -= data.nbytes
        if self._room < 0:
            raise InputError(
                "is larger than the free space for hw3's temporary file (half of what is "
                f"free in {tempfile.gettempdir()})",
                where=self.source,
                hint="give it as a file rather than through a pipe, or set TMPDIR to a larger disk",
            )
        self.file.write(memoryview(data).cast("B"))  # type: ignore[arg-type]
        self.rows += block.shape[0]

    def rows_on_disk(self) -> OnDisk:
        self.file.flush()
        assert self.rest is not None
        return OnDisk(self.file, 0, (self.rows, *self.rest), np.dtype(np.float64), self.source)


def _spool_room() -> int:
    """Bytes a spool may take: half the free space of the temporary directory."""
    try:
        st = os.statvfs(tempfile.gettempdir())
    except OSError:
        return 1 << 40
    return st.f_bavail * st.f_frsize // 2


@dataclass
class Column(Rows):
    """A vector's `Rows` read as a matrix of one column."""

    rows: Rows
    shape: tuple[int, ...] = field(init=False)
    source: str = field(init=False)

    def __post_init__(self) -> None:
        self.shape = (self.rows.shape[0], 1)
        self.source = self.rows.source

    def blocks(self, rows: int = BLOCK_ROWS) -> Iterator[Array]:
        for block in self.rows.blocks(rows):
            yield block.reshape(-1, 1)
