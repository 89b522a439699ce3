"""The Rich console every table goes through (imported only when a table is drawn)."""

from __future__ import annotations

import errno
from typing import IO

from rich.console import Console


class _Console(Console):
    """Rich's console, except that a closed pipe (``| head``) is reported to the caller
    like any other write error instead of ending the program with status 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def make_console(stream: IO[str], colour: bool) -> Console:
    """A console that never interprets markup, emoji or highlighting in the data it shows.

    Colour follows `hw3cli.output.formats.colour_enabled`: off on a non-terminal, with
    NO_COLOR set and non-empty, or with TERM=dumb.
    """
    from hw3cli.output.formats import terminal_size

    width, height = terminal_size(stream.isatty())
    return _Console(
        file=stream,
        markup=False,
        emoji=False,
        highlight=False,
        no_color=not colour,
        color_system="auto" if colour else None,
        width=width,
        height=height,
        force_terminal=colour or None,
    )
