"""Arrays computed in blocks of rows along their first (batch) axis.

A block of about `BLOCK_VALUES` values stays in the processor's cache while the several
steps of a formula pass over it, and a batch read from a file in blocks goes through the
same functions as one held in memory. Blocks of one array held in memory are computed
on as many threads as there are cores (NumPy releases the interpreter's lock inside its
loops); each block writes only its own rows, and results are combined in block order,
so the answer does not depend on the number of threads.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

T = TypeVar("T")

BLOCK_VALUES = 1 << 19  # values computed at a time: 4 MiB of float64
_POOL: list[ThreadPoolExecutor] = []


def rows_per_block(shape: tuple[int, ...]) -> int:
    """How many rows (entries of the first axis) of an array of ``shape`` hold about
    `BLOCK_VALUES` values."""
    return max(1, BLOCK_VALUES // max(1, math.prod(shape[1:])))


def row_blocks(shape: tuple[int, ...]) -> list[slice]:
    """Slices of the first axis of `rows_per_block` rows each."""
    step = rows_per_block(shape)
    return [slice(start, min(start + step, shape[0])) for start in range(0, shape[0], step)]


def map_blocks(work: Callable[[slice], T], blocks: Sequence[slice]) -> Iterator[T]:
    """``work`` on every block, on the cores' threads when there are several blocks;
    the results in block order."""
    if len(blocks) < 2 or (os.cpu_count() or 1) < 2:
        return map(work, blocks)
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor  # (a few ms: only when used)

        _POOL.append(ThreadPoolExecutor(os.cpu_count(), thread_name_prefix="hw3-block"))
    return _POOL[0].map(work, blocks)
