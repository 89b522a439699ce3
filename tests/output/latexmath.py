"""Reading back the maths hw3 writes, to check it: the display lines of a Markdown
derivation by their left-hand sides, and the arithmetic of a step (the formula with the
numbers put in) evaluated as Python.

Only the small part of LaTeX that the derivations use is understood: fractions, roots,
floor and ceiling, max, powers, \\cdot, \\times, \\bmod, \\log, e^{x}, brackets and the
row breaks of a long sum.
"""

from __future__ import annotations

import math
import re


def display_lines(markdown: str) -> dict[str, list[str]]:
    """Every ``$$ aligned $$`` row of ``markdown``: left-hand side -> its steps, in order
    (a row without a left-hand side continues the line before it). A row that breaks a
    long sum (``\\\\ &\\quad``) is joined back."""
    lines: dict[str, list[str]] = {}
    last = ""
    for block in re.findall(r"\\begin\{aligned\}\n(.*?)\n\\end\{aligned\}", markdown, re.S):
        for row in block.split(" \\\\\n"):
            row = row.replace(" \\\\ &\\quad ", " ")
            lhs, _, rest = row.partition(" &")
            rest = rest.strip()
            if rest.startswith("= "):
                rest = rest[2:]
            if lhs.strip():
                last = lhs.strip()
                lines.setdefault(last, [])
            lines[last].append(rest)
    return lines


def _group(text: str, start: int) -> tuple[str, int]:
    """The contents of the brace group at ``text[start] == '{'`` and the index after it."""
    assert text[start] == "{", text[start:]
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    raise ValueError(f"unbalanced braces: {text!r}")


def _python(tex: str) -> str:
    out = ""
    i = 0
    while i < len(tex):
        if tex.startswith("\\frac", i):
            top, i = _group(tex, i + 5)
            bottom, i = _group(tex, i)
            out += f"(({_python(top)})/({_python(bottom)}))"
        elif tex.startswith("\\sqrt", i):
            inner, i = _group(tex, i + 5)
            out += f"sqrt({_python(inner)})"
        elif tex.startswith("^", i):
            if tex[i + 1] == "{":
                inner, i = _group(tex, i + 1)
            else:
                inner, i = tex[i + 1], i + 2
            out += f"**({_python(inner)})"
        else:
            out += tex[i]
            i += 1
    return out


REPLACEMENTS = [
    ("\\left\\lfloor", " floor("),
    ("\\right\\rfloor", ")"),
    ("\\left\\lceil", " ceil("),
    ("\\right\\rceil", ")"),
    ("\\max\\left(", " max("),
    ("\\left(", "("),
    ("\\right)", ")"),
    ("\\bigl(", "("),
    ("\\bigr)", ")"),
    ("\\bigl[", "("),
    ("\\bigr]", ")"),
    ("[", "("),
    ("]", ")"),
    ("\\cdot", "*"),
    ("\\times", "*"),
    ("\\bmod", "%"),
    (",\\ ", ", "),
    ("\\quad", " "),
]


def evaluate(tex: str, **names: float) -> float:
    """The value of a formula with the numbers put in: ``\\frac{1}{3} (1 + 4 + 2)``."""
    text = tex
    for old, new in REPLACEMENTS:
        text = text.replace(old, new)
    text = re.sub(r"e\^\{([^}]*)\}", r"exp(\1)", text)
    text = re.sub(r"\\log\s*([-\d.]+(?:e-?\d+)?)", r"log(\1)", text)
    text = _python(text)
    # juxtaposition is multiplication: "2 (x - 1)", "(a) (b)", "0.5 log(...)", "S * 2"
    text = re.sub(r"(?<=[\d)])\s+(?=[(a-zA-Z])", "*", text)
    text = re.sub(r"\)\s*\(", ")*(", text)
    allowed = {
        "floor": math.floor,
        "ceil": math.ceil,
        "sqrt": math.sqrt,
        "max": max,
        "exp": math.exp,
        "log": math.log,
        **names,
    }
    return float(eval(text, {"__builtins__": {}}, allowed))


def value(step: str) -> float:
    """The number a step ends with: ``... = -0.55838`` or the whole step."""
    last = step.rsplit(" = ", 1)[-1]
    return evaluate(last)
