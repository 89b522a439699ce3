"""``conv-shape --diagram``: one axis of one layer drawn for a person.

The padded axis is a row of cells: ``.`` padding, the input pixels by their index (mod
10), ``x`` input pixels that no window covers. Below it each window's span: ``#`` a
kernel tap, ``-`` a gap between taps of a dilated kernel. Long axes and many windows are
elided in the middle so that the drawing fits the terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import IO

from hw3cli.core.conv import AxisResult

LEGEND = ". padding   0-9 input pixel (index mod 10)   x dropped   # kernel tap   - dilation gap"
MAX_WINDOWS = 12


def _columns(length: int, width: int) -> tuple[list[int | None], int]:
    """Which padded positions to show (None: an elision column) and the cell width.

    At most ``width`` positions whatever ``length`` is: the whole axis when it fits, else
    its two ends around one ``~`` column.
    """
    for cell in (2, 1):
        if length * cell <= width:
            return list(range(length)), cell
    keep = max(4, width - 1) // 2
    return [*range(keep), None, *range(length - keep, length)], 1


def _windows(count: int) -> list[int]:
    """The windows to draw: all of them up to MAX_WINDOWS, else both ends around -1 (``...``)."""
    if count <= MAX_WINDOWS:
        return list(range(count))
    half = MAX_WINDOWS // 2
    return [*range(half), -1, *range(count - half, count)]


def tap(start: int, kk: int, d: int, x: int) -> str | None:
    """What a window starting at ``start`` puts at position x: ``#`` where start <= x <
    start + k' and (x - start) mod d = 0 (a kernel tap), ``-`` elsewhere in that span (a
    dilation gap), None outside it."""
    if not start <= x < start + kk:
        return None
    return "#" if (x - start) % d == 0 else "-"


def draw_axis(axis: AxisResult, kind: str, width: int) -> list[str]:
    """The drawing as lines of plain text, at most ``width`` characters wide (roughly).

    Only the shown columns and windows are computed: the work grows with ``width`` and
    MAX_WINDOWS, never with the sizes, the kernel, the padding or the stride.
    """
    p_b, p_a = axis.padding
    i, s, d, kk = axis.input, axis.stride, axis.dilation, axis.effective_kernel
    length = p_b + i + p_a
    label_width = max(4, len(f"w{axis.output - 1}") + 1)
    positions, cell = _columns(length, max(10, width - label_width))
    first_dropped = p_b + i - axis.dropped

    def base(x: int) -> str:
        if x < p_b or x >= p_b + i:
            return "."
        if x >= first_dropped:
            return "x"
        return str((x - p_b) % 10)

    def row(char: Callable[[int], str | None], fill: str = " ") -> str:
        out = []
        for x in positions:
            c = "~" if x is None else char(x)
            out.append(fill if c is None else c)
        return "".join(c.ljust(cell) for c in out).rstrip()

    title = (
        f"axis {axis.name}: input {i}, kernel {axis.kernel}, stride {s}, dilation {d}, "
        f"padding {p_b}:{p_a} -> output {axis.output}"
        + (f", {axis.dropped} dropped" if axis.dropped else "")
    )
    lines = [title, "".ljust(label_width) + row(base)]
    if kind == "convT":
        lines.append("(a transposed convolution scatters each input pixel; no windows to draw)")
        return lines
    for w in _windows(axis.output):
        if w < 0:
            lines.append("...".ljust(label_width))
            continue
        lines.append(f"w{w}".ljust(label_width) + row(partial(tap, w * s, kk, d)))
    lines.append(LEGEND)
    return lines


def render(lines: list[str], stream: IO[str], colour: bool) -> None:
    """Plain text, or with colour: padding dim, dropped pixels red, taps bold."""
    if not colour:
        stream.write("".join(line + "\n" for line in lines))
        return
    from hw3cli.output.console import Text, make_console

    console = make_console(stream, colour)
    styles = {".": "dim", "x": "bold red", "#": "bold cyan", "-": "cyan"}
    for n, line in enumerate(lines):
        text = Text(line)
        if 0 < n < len(lines) - 1:
            for k, ch in enumerate(line):
                if ch in styles:
                    text.stylize(styles[ch], k, k + 1)
        console.print(text, soft_wrap=True)
