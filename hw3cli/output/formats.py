"""Choosing an output format and a destination; colour rules; the one text writer.

``--format auto`` means a Rich table when stdout is a terminal, otherwise the
command's format for scripts. With ``-o FILE`` the extension decides (``.json``,
``.csv``, ``.npz``) unless ``--format`` says otherwise.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from hw3cli.errors import InputError

EXTENSION_FORMATS = {
    ".json": "json",
    ".csv": "csv",
    ".npz": "npz",
    ".txt": "plain",
    ".svg": "svg",
    ".md": "markdown",
    ".tex": "latex",
}
DOCUMENTS = ("svg", "markdown", "latex")


class _Discard(io.StringIO):
    """A stdout that keeps nothing (--quiet)."""

    def write(self, text: str) -> int:
        return len(text)


def silence_stdout() -> None:
    """--quiet: whatever is written to stdout from now on is dropped."""
    sys.stdout = _Discard()


def quiet() -> bool:
    """--quiet is in force: only errors and failed checks reach stderr."""
    return isinstance(sys.stdout, _Discard)


def stdout_is_terminal() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def resolve_format(
    requested: str,
    *,
    fallback: str,
    output: str | None,
    allowed: tuple[str, ...] = ("json", "plain", "table"),
) -> str:
    """The format to write: ``requested`` unless it is ``auto``.

    An ``-o`` extension picks one of the command's ``allowed`` formats; any other
    extension (``.dat``, or ``.txt`` for a command without plain text) gives ``fallback``.
    """
    if requested != "auto":
        return requested
    if output is not None and output != "-":
        ext = os.path.splitext(output)[1].lower()
        chosen = EXTENSION_FORMATS.get(ext, fallback)
        return chosen if chosen in allowed else fallback
    return "table" if stdout_is_terminal() else fallback


def document_format(requested: str, output: str | None) -> str | None:
    """``svg``, ``markdown`` or ``latex`` when ``--format`` names one, or (``auto``) the
    extension of ``-o`` does (``.svg``, ``.md``, ``.tex``); else None."""
    if requested.lower() in DOCUMENTS:
        return requested.lower()
    if requested.lower() == "auto" and output is not None and output != "-":
        chosen = EXTENSION_FORMATS.get(os.path.splitext(output)[1].lower())
        return chosen if chosen in DOCUMENTS else None
    return None


MAX_WIDTH = 1000  # columns: what a drawing or table is ever made for
MAX_HEIGHT = 1000


def terminal_size(is_terminal: bool) -> tuple[int, int]:
    """Columns and lines to draw for: the terminal's (COLUMNS and LINES first), or for a
    file or pipe COLUMNS or 100 columns; always between 20 and `MAX_WIDTH` columns, so
    that an absurd COLUMNS costs nothing."""
    if is_terminal:
        import shutil

        columns, lines = shutil.get_terminal_size((100, 24))
    else:
        text = os.environ.get("COLUMNS", "")
        columns = int(text) if text.isascii() and text.isdecimal() and len(text) < 6 else 100
        lines = 24
    return max(20, min(columns, MAX_WIDTH)), max(1, min(lines, MAX_HEIGHT))


def colour_enabled(to_terminal: bool) -> bool:
    """Colour only on a terminal, never with NO_COLOR set and non-empty or TERM=dumb."""
    if not to_terminal:
        return False
    if os.environ.get("NO_COLOR"):
        return False
    return os.environ.get("TERM") != "dumb"


@contextmanager
def writing_stdout() -> Iterator[None]:
    """Write to stdout and flush it; a failure (a full disk) is an InputError that says
    writing the output failed. A closed pipe (``| head``) is left to the caller."""
    try:
        yield
        sys.stdout.flush()
    except OSError as e:
        if e.errno == errno.EPIPE:
            raise
        from hw3cli.tensor_io.atomic import write_failed

        raise write_failed(e, "stdout") from None


def write_text(text: str | list[str], output: str | None, stream: IO[str] | None = None) -> None:
    """Write ``text`` (or its pieces, in order) to stdout (``output`` None or ``-``) or
    atomically to a file."""
    pieces = [text] if isinstance(text, str) else text
    if output is None or output == "-":
        out = stream if stream is not None else sys.stdout
        with writing_stdout():
            for piece in pieces:
                out.write(piece)
            out.flush()
        return
    from hw3cli.tensor_io.atomic import atomic_output

    with atomic_output(output) as f:
        for piece in pieces:
            f.write(piece.encode("utf-8"))


MAX_TABLE_ROWS = 2_000  # rows of a table drawn for people (a few seconds of drawing)


def refuse_long_table(rows: int) -> None:
    """An InputError for a table of more than `MAX_TABLE_ROWS` rows, before it is drawn."""
    if rows > MAX_TABLE_ROWS:
        raise InputError(
            f"the table would have {rows:,} rows, more than the {MAX_TABLE_ROWS:,} hw3 draws",
            where="--format table",
            hint="give --format json or plain (a printed model: or --depth N, which folds "
            "deeper layers into their container's row)",
        )


def write_table(render: Callable[[IO[str], bool], None], output: str | None) -> None:
    """Draw a table (or other text for people) on stdout, in colour where colour is
    allowed, or into ``-o FILE`` without colour."""
    if output is None or output == "-":
        with writing_stdout():
            render(sys.stdout, colour_enabled(stdout_is_terminal()))
        return
    import io

    buffer = io.StringIO()
    render(buffer, False)
    write_text(buffer.getvalue(), output)


def warn(message: str) -> None:
    """A warning on stderr, shown as errors are (`hw3cli.errors.displayable`); none with
    --quiet."""
    if quiet():
        return
    from hw3cli.errors import displayable

    sys.stderr.write(f"Warning: {displayable(message)}\n")
