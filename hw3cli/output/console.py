"""The Rich console every table goes through (imported only when a table is drawn).

Text from an input (a layer's name, a CSV header) is shown with its control characters
escaped (``\\x1b``): `Text`, and the console's own conversion of strings, escape them
before Rich measures and draws, so that data never drives the terminal.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import rich.text
from rich.console import Console, JustifyMethod

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


@dataclass(frozen=True)
class Column:
    """A column of a table for `print_folded`: its header and cells (``Text`` keeps a
    style), never wrapped or cut: its width is that of its widest cell or header."""

    header: str
    cells: Sequence[str | Text]
    justify: JustifyMethod = "right"

    @property
    def width(self) -> int:
        """In characters as shown: control characters escaped (`Text`)."""
        cells = (
            len(c) if isinstance(c, Text) else len(escaped(c, newlines=True)) for c in self.cells
        )
        return max([len(escaped(self.header, newlines=True)), *cells])


def table_width(columns: Sequence[Column]) -> int:
    """What Rich's table takes for these columns: each cell, a space either side and a
    rule; one rule more at the edge."""
    return 1 + sum(c.width + 3 for c in columns)


def print_folded(
    console: Console, title: str | None, label: Column, columns: Sequence[Column]
) -> None:
    """``title`` (wrapped at the console's width), then the columns as one table when they
    fit the console's width, else folded into as many tables as need be, each as wide as
    fits and each with the ``label`` column: no number or header is ever cut, and no
    column dropped."""
    from rich.table import Table

    if title:
        console.print(Text(title))
    groups: list[list[Column]] = [[]]
    for column in columns:
        if groups[-1] and table_width([label, *groups[-1], column]) > console.width:
            groups.append([])
        groups[-1].append(column)
    for group in groups:
        table = Table()
        for column in (label, *group):
            table.add_column(
                column.header, justify=column.justify, no_wrap=True, min_width=column.width
            )
        for i in range(len(label.cells)):
            table.add_row(*(_text(column.cells[i]) for column in (label, *group)))
        console.print(table)


def _text(cell: str | Text) -> Text:
    return cell if isinstance(cell, Text) else Text(cell)


def fitting_columns(widths: Sequence[int], room: int, gap: int = 6) -> list[int]:
    """Which of the columns of these ``widths`` (each with its 3 characters of rules and
    padding) a preview shows in ``room`` characters: all when they fit, else as many of
    the first and the last as fit, taken in turn, with a ``...`` column (``gap`` wide,
    shown as -1) between them; the first column always."""
    n = len(widths)
    if sum(w + 3 for w in widths) <= room:
        return list(range(n))
    room -= gap + widths[0] + 3
    order = [k for pair in zip(range(n - 1, 0, -1), range(1, n), strict=False) for k in pair]
    taken = {0}
    for k in dict.fromkeys(order):  # the last, the second, the one before the last, ...
        if widths[k] + 3 > room:
            break
        room -= widths[k] + 3
        taken.add(k)
    shown = sorted(taken)
    gap_at = next((i for i, k in enumerate(shown) if k != i), len(shown))
    return [*shown[:gap_at], -1, *shown[gap_at:]]


def print_preview(
    console: Console, title: str, rows: Any, labels: Sequence[str], max_rows: int
) -> None:
    """A matrix's first and last rows, and as many of its first and last columns as the
    console's width holds (the title says which are left out, and where they are)."""
    from hw3cli.output.numbers import num

    n, k = rows.shape
    names = list(labels) if len(labels) == k else list(map(str, range(k)))
    row_ids = list(range(n)) if n <= max_rows + 2 else [*range(max_rows - 2), -1, n - 2, n - 1]
    index = Column("", ["..." if i < 0 else str(i) for i in row_ids])

    def column(j: int) -> Column:
        return Column(names[j], ["..." if i < 0 else num(rows[i, j]) for i in row_ids])

    columns = [column(j) for j in range(k)]
    room = console.width - 1 - (index.width + 3)
    picked = fitting_columns([col.width for col in columns], room)
    text = f"{title} ({n} x {k})"
    if -1 in picked:
        gap = picked.index(-1)
        first = picked[gap - 1] + 1
        last = picked[gap + 1] - 1 if gap + 1 < len(picked) else k - 1
        which = (
            f"column {names[first]}"
            if first == last
            else (f"columns {names[first]} to {names[last]}")
        )
        text += f": {which} left out for width (all in --format csv or json)"
    shown = [Column("...", ["..."] * len(row_ids)) if j < 0 else columns[j] for j in picked]
    print_folded(console, text, index, shown)
