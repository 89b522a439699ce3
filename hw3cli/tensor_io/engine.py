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
import sys
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
    if "polars" not in sys.modules:  # (read once, as polars loads)
        allocator_settings()
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


ALLOCATOR = "_RJEM_MALLOC_CONF"
ALLOCATOR_SETTINGS = "dirty_decay_ms:200,muzzy_decay_ms:0"
# what polars itself puts first when it loads; a process that loaded polars before it
# started hw3 passes these on in the environment, where they are no choice of the user's
POLARS_SETTINGS = ("dirty_decay_ms:500", "muzzy_decay_ms:1000")


def allocator_settings() -> None:
    """Settings for polars' jemalloc, made before polars loads (it reads them then).

    jemalloc keeps freed pages for a while (polars asks for 0.5 s, and 1 s more before
    they are returned): a block by block pass then holds the pages of many blocks at once,
    25 MiB more at the peak of softmax-grad on 1,000,000 x 16. A fifth of a second, then
    returned at once, frees them between blocks at no measured cost in time. polars puts
    its own settings before these, and the later of two settings wins, so that settings
    of the user's own come after hw3's and win over them."""
    ours = ALLOCATOR_SETTINGS.split(",")
    given = os.environ.get(ALLOCATOR, "").split(",")
    others = [p for p in given if p and p not in POLARS_SETTINGS and p not in ours]
    os.environ[ALLOCATOR] = ",".join([*ours, *others])  # (the same however often it is run)
