"""Numbers for people: tables and explanations round; JSON and CSV never do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PREVIEW = 6


def num(value: Any) -> str:
    """Six significant digits, no trailing noise: 0.1, -2.5e-07, 3."""
    v = float(value)
    return "0" if v == 0 else f"{v:.6g}"


def vec(values: Iterable[Any], sep: str = ", ", brackets: bool = True) -> str:
    """A short vector: all entries up to six, else the first three, ..., the last two."""
    items = [float(v) for v in list(values)]
    if len(items) > PREVIEW:
        text = sep.join([*map(num, items[:3]), "...", *map(num, items[-2:])])
    else:
        text = sep.join(map(num, items))
    return f"[{text}]" if brackets else text


def term(value: Any) -> str:
    """A number as a term of a formula: negatives in parentheses."""
    text = num(value)
    return f"({text})" if text.startswith("-") else text


def terms(values: Iterable[Any], sep: str = " + ") -> str:
    """The first few terms of a sum, ``...`` for the rest."""
    items = [float(v) for v in list(values)]
    shown = [term(v) for v in items[:4]]
    if len(items) > 4:
        shown.append("...")
    return sep.join(shown)
