"""The fast CSV engine (polars), where it can run, and how its failures are contained.

polars parses and writes float64 text exactly (the shortest round-trip form), in
parallel, several times as fast as Python's ``csv`` and ``repr``. It is used only for
the plain case (see `hw3cli.tensor_io.readers`) and only where it can run: with an
address-space limit (``ulimit -v``) it reserves so much virtual memory that it, or NumPy
beside it, fails to load, and reading a file by its path can hang; so with any such limit
hw3 keeps to its own reader and writer. Any failure of polars, including a Rust panic
(which arrives as a BaseException), sends the caller back to that careful path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def polars_module() -> Any | None:
    """The polars module, or None where it is not installed or cannot run safely."""
    try:
        import resource

        if resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY:
            return None
    except (ImportError, OSError, ValueError):  # no resource module: not Unix
        return None
    # polars allocates through its own jemalloc, which keeps freed pages for 10 s by
    # default: a block by block pass then holds every block's pages at once (25 MiB more
    # at the peak of softmax-grad on 1,000,000 x 16). A fifth of a second frees them
    # between blocks at no measured cost in time. A value the user set is kept.
    os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:200,muzzy_decay_ms:0")
    try:
        import polars
    except ImportError:
        return None
    return polars


def attempt(work: Callable[[Any], T]) -> T | None:
    """``work(polars)``, or None when polars is unavailable or fails in any way (a parse
    error, a panic); an interrupt or an exit still goes through."""
    pl = polars_module()
    if pl is None:
        return None
    try:
        return work(pl)
    except Exception:  # noqa: BLE001 - any refusal: the careful path decides and explains
        return None
    except BaseException as e:  # a Rust panic is a BaseException; Ctrl-C is not swallowed
        if type(e).__name__ == "PanicException":
            return None
        raise
