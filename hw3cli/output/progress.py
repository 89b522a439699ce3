"""A progress bar on stderr while a numeric command reads its inputs.

Shown only when stderr is a terminal, and only once reading has taken longer than
`DELAY` seconds (a small input shows nothing); it counts the bytes of the input files
read of their total (stdin's size is not known: then it counts bytes alone). The bar is
transient: it is gone before the result or an error is written. Rich is imported only
when the bar is drawn.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

from hw3cli.tensor_io import files

DELAY = 1.0  # seconds of reading before the bar appears


class _Watch:
    """Counts what `hw3cli.tensor_io.files` reports, and draws the bar when it is due."""

    def __init__(
        self,
        stream: IO[str],
        delay: float,
        clock: Callable[[], float],
        total: int | None,
        fixed: bool,
    ) -> None:
        self.stream, self.delay, self.clock = stream, delay, clock
        self.start = clock()
        self.done = 0
        self.fixed = fixed  # the total is the main inputs' size, told at the start
        self.total: int | None = total
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int | None) -> None:
        self.done += done
        if self.fixed:
            pass
        elif total is None:
            self.total = None  # one input of unknown size: the whole is unknown
        elif self.total is not None:
            self.total += total
        if self.bar is None and self.clock() - self.start >= self.delay:
            self._draw()
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, total=self.total or None)
            if self.total is None:  # (update leaves a known total as it was)
                for task in self.bar.tasks:
                    task.total = None

    def _draw(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        from hw3cli.output.console import make_console

        self.bar = Progress(
            TextColumn("reading"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=make_console(self.stream, colour=True),
            transient=True,
            redirect_stdout=False,  # stdout carries the data
            redirect_stderr=False,
        )
        self.task = self.bar.add_task("reading", total=self.total or None, completed=self.done)
        self.bar.start()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


_watching: list[_Watch] = []


def start_reading(
    paths: Sequence[str | None] = (),
    stream: IO[str] | None = None,
    delay: float = DELAY,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Watch the inputs being read; a bar appears after ``delay`` seconds when ``stream``
    (stderr) is a terminal. ``paths``: the main inputs (None or ``-``: stdin), whose
    sizes make the total; without them, each input adds its size as it is opened."""
    stop()
    from hw3cli.output.formats import quiet

    if quiet():
        return
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    if stream is None or not (isatty and isatty()):
        return
    watch = _Watch(stream, delay, clock, _sizes(paths) if paths else 0, bool(paths))
    _watching.append(watch)
    files.report_progress(watch)


def _sizes(paths: Sequence[str | None]) -> int | None:
    """The bytes of regular files (None when one is stdin, a pipe or not there)."""
    total = 0
    for path in paths:
        try:
            st = os.stat(path) if path not in (None, "-") else None
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            return None
        total += st.st_size
    return total


def stop() -> None:
    """Remove the bar (if drawn) and stop watching: before any output or error."""
    files.report_progress(None)
    while _watching:
        _watching.pop().close()
