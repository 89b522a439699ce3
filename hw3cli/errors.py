"""The two kinds of failure a user can cause, and how the command line reports them.

`InputError` is raised wherever a bad value is first noticed, carrying where it is (an
option, a file, a row and column) and what to do about it; `hw3cli.cli` alone turns it
into an ``Error: ...`` line on stderr and exit status 2. `Undecided` is the input that
does not determine the answer (a model construct hw3 does not model, forward steps a
print hides and several readings explain): exit status 3, never a guess. `CheckFailed`
is a check the user asked for (``--strict``, ``--expect``, ``--check``) that did not
hold: exit status 1. None imports Click, so the pure core can raise them.

Text from an input is shown, never obeyed: `escaped` writes control characters as
``\\x1b``, `shortened` cuts a value thousands of characters long to its start and end,
and `displayable` does both to every line of a message on its way to the terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class InputError(Exception):
    """Bad usage or bad input: exit status 2.

    ``where`` names the option, file, row or column; ``hint`` says what to do.
    """

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        where, message = shown(self.where or ""), shown(self.message)
        text = f"{where}: {message}" if where else message
        if self.hint:
            text += f"\n  Hint: {self.hint}"
        return text

    def at(self, where: str) -> InputError:
        """The same error, placed: ``where`` is prepended to any place it already names."""
        place = f"{where}: {self.where}" if self.where else where
        return InputError(self.message, where=place, hint=self.hint)


MAX_PART = 300  # characters of a place, a message or a value; a 5000-digit value is elided
MAX_LINE = 2 * MAX_PART + 40  # characters of a line of a message (a place and a message)

# C0 and C1 control characters (ESC starts a terminal's escape sequences, BEL ends some),
# DEL, and the marks that reorder text on screen (bidirectional overrides and isolates)
_MARKS = (
    *range(0x7F, 0xA0),
    0x200E,
    0x200F,
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
)
# str.translate tables: built in microseconds, where compiled patterns cost every start-up
_ESCAPES = {c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" for c in (*range(0x20), *_MARKS)}
_ESCAPES_BUT_NEWLINE = {c: e for c, e in _ESCAPES.items() if c != 0x0A}


def escaped(text: str, *, newlines: bool = False) -> str:
    """``text`` with every control character written as an escape (``\\x1b``,
    ``\\u202e``), so that text from an input shows as what it is and never drives the
    terminal; ``newlines`` keeps line ends as they are."""
    return text.translate(_ESCAPES_BUT_NEWLINE if newlines else _ESCAPES)


def shortened(text: str, limit: int = MAX_PART) -> str:
    """``text``, or its start and end around an ellipsis that says how much is left out
    when it is longer than ``limit`` (never longer than ``limit``, so that shortening
    twice changes nothing)."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit - 90], text[-50:]
    return f"{head} ...({len(text) - len(head) - len(tail):,} characters)... {tail}"


def shown(text: str) -> str:
    """A value or a part of a message as it is shown: escaped and shortened."""
    return shortened(escaped(text, newlines=True))


def displayable(text: str) -> str:
    """A whole message as it goes to the terminal: every line escaped and shortened (the
    one step every error and warning passes, whoever wrote it: hw3 or Click)."""
    return "\n".join(shortened(escaped(line), MAX_LINE) for line in text.split("\n"))


class Undecided(InputError):
    """hw3 cannot decide: the input does not determine the answer, exit status 3.

    Raised instead of a guess; ``where`` names what stopped hw3 (``model.py:23``, a layer's
    dotted name), the message what it is, the hint what would let hw3 decide.
    """

    exit_code = 3

    def at(self, where: str) -> Undecided:
        place = f"{where}: {self.where}" if self.where else where
        return Undecided(self.message, where=place, hint=self.hint)


class CheckFailed(Exception):
    """A check the user asked for did not hold: exit status 1."""

    exit_code = 1

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def shape_text(shape: tuple[int, ...]) -> str:
    """An array's shape in a message: ``3x4``, or ``() (a single number)``."""
    return "x".join(map(str, shape)) if shape else "() (a single number)"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 sample``, ``2 samples`` (``many``: the plural when it is not word + s)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def size_text(n_bytes: int) -> str:
    """A size in a message: ``1.3 kB``, ``256.0 MB``, ``2.1 GB``; a count beyond what a
    float holds (a model of thousand-digit axes) as its power of ten."""
    if n_bytes.bit_length() > 1000:
        return f"more than 10^{int((n_bytes.bit_length() - 1) * 0.30102999566398)} bytes"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.1f} {unit}"
    return f"{n_bytes} bytes"


def refuse_unknown(
    found: Iterable[str], allowed: Sequence[str], *, where: str, kind: str = "key"
) -> None:
    """InputError naming every key of ``found`` that is not ``allowed`` (typos such as dY)."""
    unknown = sorted(set(found) - set(allowed))
    if unknown:
        raise InputError(
            f"unknown {kind}{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            where=where,
            hint=f"use any of: {', '.join(allowed)}",
        )
