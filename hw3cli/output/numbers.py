"""Numbers for people: tables and explanations round; JSON and CSV never do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PREVIEW = 6


def num(value: Any) -> str:
    """Six significant digits, no trailing noise: 0.1, -2.5e-07, 3."""
    v = float(value)
    return "0" if v == 0 else f"{v:.6g}"


def short(value: Any) -> str:
    """Three significant digits, for a narrow table: 2.33, -0.553, 1.2e-05."""
    v = float(value)
    return "0" if v == 0 else f"{v:.3g}"


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


def count(value: int, compact: bool = False) -> str:
    """A count for a table: ``14,714,688``, or with ``compact`` ``14.7 M`` (three
    significant digits; below ten thousand always exact; past the suffixes ``1.23e+400``)."""
    if not compact or abs(value) < 10_000:
        return f"{value:,}"
    digits = len(str(abs(value)))
    if digits > 21:  # beyond the suffixes, and possibly beyond a float
        text = str(abs(value))
        sign = "-" if value < 0 else ""
        return f"{sign}{text[0]}.{text[1:3]}e+{digits - 1}"
    suffixes = (("E", 10**18), ("P", 10**15), ("T", 10**12), ("G", 10**9), ("M", 10**6))
    for suffix, scale in (*suffixes, ("k", 10**3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {suffix}"
    return f"{value:,}"  # pragma: no cover - below 10,000 returned above
