"""Derivations as Markdown and LaTeX: the source document's formulas with the numbers put in.

A `Derivation` is a title and blocks; a block is prose (with ``$...$`` inline maths) and
lines of display maths, each a left-hand side and its steps (the symbolic formula, the
formula with the numbers put in, the value). Markdown writes the lines as ``$$`` blocks
of ``aligned`` (GitHub and KaTeX render them); LaTeX as an amsmath ``align*`` fragment,
or with ``standalone`` a whole document that pdflatex compiles.

The maths is the same text in both; only prose is escaped for its format. Numbers are
written by `tex_num`: six significant digits, as the plain explanation prints them, and
``10^{-5}`` for an exponent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hw3cli.output.numbers import num

WHOLE = 16  # a batch, a row of classes or a stack written out whole up to this many
HEAD, TAIL = 3, 2  # beyond it: the first and the last few, around an ellipsis


@dataclass(frozen=True)
class Line:
    """``lhs rel step_1 rel step_2 ...`` in display maths (every step aligned at rel)."""

    lhs: str
    steps: tuple[str, ...]
    rel: str = "="


@dataclass(frozen=True)
class Block:
    title: str | None = None
    text: tuple[str, ...] = ()
    lines: tuple[Line, ...] = ()
    after: tuple[str, ...] = ()  # prose after the maths


@dataclass(frozen=True)
class Derivation:
    title: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)


# --- numbers and names in maths ------------------------------------------------------------


def tex_num(value: Any) -> str:
    """A number as maths: ``2.33333``, ``-0.5``, ``1.5 \\times 10^{-5}``, ``10^{-5}``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = num(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = f"10^{{{int(exponent)}}}"
    if mantissa in ("1", "-1"):
        return ("-" if mantissa == "-1" else "") + power
    return f"{mantissa} \\times {power}"


def tex_term(value: Any) -> str:
    """A number as a term of a formula: negatives in parentheses."""
    text = tex_num(value)
    return f"({text})" if text.startswith("-") else text


def tex_text(text: str) -> str:
    """Words inside maths: ``\\text{layer2.0\\_conv}``. No ``$`` in it, so that a
    Markdown renderer never takes it for the end of the maths: ``$``, ``\\``, ``<``,
    ``>`` and ``->`` are the maths' own, between pieces of text."""
    return (
        "\\text{"
        + "}\\rightarrow\\text{".join(
            "".join(_TEX_TEXT_SPECIAL.get(c, c) for c in part) for part in text.split("->")
        )
        + "}"
    )


NAME_WIDTH = 24  # characters of a layer's name on one row of a left-hand side


def tex_label(name: str) -> str:
    """A layer's name as the left-hand side of its row, ``\\text{conv1}\\colon``; a name
    longer than NAME_WIDTH is cut after its dots (and a part longer than that every
    NAME_WIDTH characters) onto rows of its own (an ``array``), so
    that the column of names stays narrow and the rows fit the page."""
    pieces: list[str] = []
    parts = re.split(r"(?<=\.)", name)  # after each dot, and a long part every NAME_WIDTH
    parts = [p[i : i + NAME_WIDTH] for p in parts for i in range(0, max(len(p), 1), NAME_WIDTH)]
    for part in parts:
        if pieces and len(pieces[-1]) + len(part) <= NAME_WIDTH:
            pieces[-1] += part
        else:
            pieces.append(part)
    if len(pieces) == 1:
        return tex_text(name) + "\\colon"
    rows = " \\\\ ".join(tex_text(p) for p in pieces)
    return f"\\begin{{array}}{{r}} {rows}\\colon \\end{{array}}"


def literal(text: str) -> str:
    """Text from an input (a layer's name) for prose: its ``$`` escaped, so that it does
    not open maths (`_prose` writes it as a dollar sign)."""
    return text.replace("$", "\\$")


def elided(items: Sequence[str], sep: str, dots: str = "\\cdots") -> str:
    """All items up to WHOLE, else the first HEAD and last TAIL around ``dots``."""
    if len(items) <= WHOLE:
        return sep.join(items)
    return sep.join([*items[:HEAD], dots, *items[-TAIL:]])


BREAK = " \\\\ &\\quad "  # a new row of an aligned block, indented


def wrapped_sum(items: Sequence[str], width: int = 48, sep: str = " + ") -> str:
    """``a + b + c \\\\ &\\quad + d ...``: a sum (elided beyond WHOLE terms), a new row
    when a row's text passes ``width`` characters, so that long sums fit the page. Not
    inside ``\\frac`` or ``\\left``."""
    terms = items if len(items) <= WHOLE else [*items[:HEAD], "\\cdots", *items[-TAIL:]]
    rows: list[list[str]] = [[]]
    for term in terms:
        if rows[-1] and len(sep.join([*rows[-1], term])) > width:
            rows.append([])
        rows[-1].append(term)
    # a new row starts with the operator ("+ e"); a list's comma ends the row before it
    joint = sep.rstrip(" \\") + BREAK if sep.startswith(",") else BREAK + sep.lstrip()
    return joint.join(sep.join(row) for row in rows)


def shown_indices(count: int) -> list[int | None]:
    """Indices written out: all up to WHOLE, else the first HEAD, None (an ellipsis), the
    last TAIL."""
    if count <= WHOLE:
        return list(range(count))
    return [*range(HEAD), None, *range(count - TAIL, count)]


def vector(values: Iterable[Any]) -> str:
    """``(1, 4, 2)``, elided beyond WHOLE entries, for a display line: long vectors go on
    over several rows."""
    return "\\bigl(" + wrapped_sum([tex_num(v) for v in values], sep=",\\ ") + "\\bigr)"


# --- rendering ---------------------------------------------------------------------------

_TEX_SPECIAL = {  # (each of these compiles with the default OT1 fonts alone)
    "\\": "$\\backslash$",
    "&": "\\&",
    "%": "\\%",
    "$": "$\\$$",
    "#": "\\#",
    "_": "\\_",
    "{": "\\{",
    "}": "\\}",
    "~": "\\~{}",
    "^": "\\^{}",
    "<": "$<$",
    ">": "$>$",
}


# inside \\text{} in maths, where Markdown must see no $: these four from the maths fonts
# (the text commands would need TS1's fonts, which texlive-latex-base lacks), out of \\text
_TEX_TEXT_SPECIAL = {
    **_TEX_SPECIAL,
    "\\": "}\\backslash\\text{",
    "$": "}\\$\\text{",
    "<": "}<\\text{",
    ">": "}>\\text{",
}


def _escape_tex(text: str) -> str:
    """Text for LaTeX: its special characters escaped, ``->`` an arrow."""
    return "$\\rightarrow$".join(
        "".join(_TEX_SPECIAL.get(c, c) for c in part) for part in text.split("->")
    )


def _escape_md(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<|#~])", r"\\\1", text)


def _prose(text: str, escape: Any) -> str:
    """Escape the words of ``text``, leaving its ``$...$`` maths as it is; ``\\$`` (see
    `literal`) is a dollar sign."""
    dollar = "\\$" if escape is _escape_md else "$\\$$"
    parts = re.split(r"(?<!\\)\$", text)
    return "$".join(
        p if i % 2 else dollar.join(escape(w) for w in p.split("\\$")) for i, p in enumerate(parts)
    )


def _rows(lines: Sequence[Line]) -> list[str]:
    rows = []
    for line in lines:
        rel = f" {line.rel} " if line.rel else " "
        if not line.steps:  # (an ellipsis row)
            rows.append(f"{line.lhs} &")
        for k, step in enumerate(line.steps):
            rows.append(("" if k else line.lhs) + f" &{rel}{step}")
    return rows


def _write(d: Derivation, fmt: str) -> str:
    """The derivation's text: Markdown (headings ``##``, maths in ``$$`` ``aligned``) or a
    LaTeX fragment (``\\section*``, maths in ``align*``)."""
    md = fmt == "markdown"
    escape = _escape_md if md else _escape_tex
    heads = ("## {}", "### {}") if md else ("\\section*{{{}}}", "\\subsection*{{{}}}")
    maths = (
        ("$$\n\\begin{aligned}", "\\end{aligned}\n$$")
        if md
        else ("\\begin{align*}", "\\end{align*}")
    )
    out = [heads[0].format(_prose(d.title, escape)), ""]
    for block in d.blocks:
        if block.title:
            out += [heads[1].format(_prose(block.title, escape)), ""]
        out += [line for text in block.text for line in (_prose(text, escape), "")]
        if block.lines:
            out += [maths[0], " \\\\\n".join(_rows(block.lines)), maths[1], ""]
        out += [line for text in block.after for line in (_prose(text, escape), "")]
    return "\n".join(out).rstrip("\n") + "\n"


def markdown(d: Derivation) -> str:
    return _write(d, "markdown")


PREAMBLE = (
    "\\documentclass{article}\n"
    "\\usepackage{amsmath}\n"
    "\\allowdisplaybreaks\n"
    "\\setlength{\\parindent}{0pt}\n"
    "\\raggedright\n"  # (long names and sizes in titles and prose break at a space)
    "\\begin{document}\n"
)


def latex(d: Derivation, standalone: bool = False) -> str:
    body = _write(d, "latex")
    return PREAMBLE + body + "\\end{document}\n" if standalone else body


def render(d: Derivation, fmt: str, standalone: bool = False) -> str:
    """``markdown`` or ``latex``."""
    return markdown(d) if fmt == "markdown" else latex(d, standalone)
