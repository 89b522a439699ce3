"""The Rich console every table goes through (imported only when a table is drawn).

Text from an input (a layer's name, a CSV header) is shown with its control characters
escaped (``\\x1b``): `Text`, and the console's own conversion of strings, escape them
before Rich measures and draws, so that data never drives the terminal.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import IO, Any

import rich.text
from rich.console import Console

from hw3cli.errors import escaped


class Text(rich.text.Text):
    """Rich's Text with control characters shown escaped (line ends kept)."""

    def __init__(self, text: str = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(escaped(text, newlines=True), *args, **kwargs)


class _Console(Console):
    """Rich's console, except that a closed pipe (``| head``) is reported to the caller
    like any other write error instead of ending the program with status 1."""

    def render_str(self, text: str, **kwargs: Any) -> rich.text.Text:
        """Strings drawn as they are (titles, headers, plain cells): escaped as `Text`."""
        return super().render_str(escaped(text, newlines=True), **kwargs)

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


def print_fitting(console: Console, build: Callable[[bool], Any]) -> None:
    """Print the table ``build(compact)`` makes: with exact numbers when it fits the
    console's width, else with compact ones (``14.7 M``), so that no number is cut.
    Columns of numbers are built with ``no_wrap`` and those of words with a small
    ``min_width``: Rich narrows (wraps) the words first."""
    from rich.measure import Measurement

    table = build(False)
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if natural > console.width:
        table = build(True)
    console.print(table)
