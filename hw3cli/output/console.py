"""The Rich console every table goes through (imported only when a table is drawn)."""

from __future__ import annotations

import os
from typing import IO

from rich.console import Console


def make_console(stream: IO[str], colour: bool) -> Console:
    """A console that never interprets markup, emoji or highlighting in the data it shows.

    Colour follows `hw3cli.output.formats.colour_enabled`: off on a non-terminal, with
    NO_COLOR set and non-empty, or with TERM=dumb.
    """
    width = None if stream.isatty() else _columns() or 100
    return Console(
        file=stream,
        markup=False,
        emoji=False,
        highlight=False,
        no_color=not colour,
        color_system="auto" if colour else None,
        width=width,
        force_terminal=colour or None,
    )


def _columns() -> int:
    """COLUMNS from the environment, 0 when unset or not a number."""
    text = os.environ.get("COLUMNS", "")
    return int(text) if text.isdigit() else 0
