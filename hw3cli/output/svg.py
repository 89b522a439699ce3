"""conv-shape's figures as SVG, in the visual language of conv_arithmetic's figures.

One layer: the input grid (blue) with its padding (pale grey, dashed), the kernel window
(dark shading over the cells it reads, a dilated kernel's taps spaced out inside a dashed
outline), and the output grid (pale green) with the cell that window produces (dark
green). Input pixels no window covers are vermilion and hatched. A transposed convolution
is drawn as its equivalent direct convolution over the zero-inserted, padded input (white
cells, dotted); ceil mode's last window reaches past the padding into pale yellow cells.
Small multiples: one panel per output position, at most four per axis (eight on a strip);
or ``animate``: one figure whose window steps through the positions (SMIL, no script; a
renderer without animation shows the first window).

Every number comes from core: the cells and windows from `hw3cli.core.grid.grid`, the
receptive fields from `hw3cli.core.network`. Axis 0 (W in the source's order) runs
across, axis 1 down; a 1-D layer is one strip, a 3-D layer its slice through the first
two axes. Long axes keep their two ends around an elision (``...``, the hidden count
in the size label), so a 224x224 layer is a few hundred cells, not 50,000.
Colours are Okabe-Ito's and differ in lightness too; dropped pixels are hatched as well,
so that the figure reads in greyscale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from xml.sax.saxutils import escape

from hw3cli.core.conv import LayerResult
from hw3cli.core.grid import Grid, grid
from hw3cli.core.network import StackResult
from hw3cli.output.conv import layer_title, padding_text, size_text

CELL = 18  # pixels per cell
FULL = 24  # cells of an axis drawn whole in small multiples; longer axes are cut
FULL_ANIMATED = 36  # ... and in an animation (a padded 32x32 CIFAR image, every window)
KEEP = 7  # cells kept at each place of interest of an elided axis
PANELS = 4  # output positions per axis drawn as small multiples (a strip: 8)
FRAME_SECONDS = 0.6
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"

# fill, stroke, dash: Okabe-Ito's sky blue, vermilion, bluish green; greys and white
STYLE = {
    "input": ("#56B4E9", "#1F6F99", ""),
    "pad": ("#E4E4E4", "#8A8A8A", "3,2"),
    "zero": ("#FFFFFF", "#8A8A8A", "1,2"),
    "dropped": ("#D55E00", "#7A3500", ""),
    "beyond": ("#F7EFA8", "#8A7B00", "6,2,1,2"),
    "cropped": ("#FFFFFF", "#BBBBBB", "1,3"),
    "output": ("#A8DCCB", "#2E7D64", ""),
    "produced": ("#009E73", "#003D2C", ""),
}
TAP = "#000000"
TAP_OPACITY = 0.55
LEGEND = {
    "input": "input pixel",
    "pad": "padding",
    "zero": "zero inserted (transposed convolution)",
    "dropped": "dropped: covered by no window",
    "beyond": "past the padding: ceil mode's last window",
    "cropped": "cropped by the equivalent convolution",
    "tap": "kernel window",
    "output": "output",
    "produced": "output the window produces",
}
PRIORITY = ("beyond", "cropped", "pad", "zero", "dropped", "input")
FIELD_COLOURS = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
FIELD_DASHES = ("", "6,3", "2,2", "8,2,2,2", "4,4", "1,3", "10,4")


def _f(v: float) -> str:
    """A coordinate: at most one decimal."""
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _t(v: float) -> str:
    """A fraction of the animation's duration."""
    return f"{v:.6g}"


@dataclass(frozen=True)
class _Ruler:
    """The cells of one axis that are drawn: a position, or None for an elision (with
    the number of cells it hides); and their pixel offsets."""

    items: tuple[int | None, ...]
    hidden: tuple[int, ...]  # per item: 0, or the cells an elision hides

    @staticmethod
    def of(wanted: set[int], total: int, full: int = FULL) -> _Ruler:
        if total <= full:
            return _Ruler(tuple(range(total)), (0,) * total)
        keep = sorted(x for x in wanted if 0 <= x < total)
        items: list[int | None] = []
        hidden: list[int] = []
        for x in keep:
            last = next((v for v in reversed(items) if v is not None), None)
            if last is not None and x - last > 3:
                items.append(None)
                hidden.append(x - last - 1)
            elif last is not None:
                for y in range(last + 1, x):
                    items.append(y)
                    hidden.append(0)
            items.append(x)
            hidden.append(0)
        return _Ruler(tuple(items), tuple(hidden))

    def offset(self, x: int) -> float | None:
        try:
            return self.items.index(x) * CELL
        except ValueError:
            return None

    @property
    def size(self) -> float:
        return len(self.items) * CELL

    @property
    def whole(self) -> bool:
        return None not in self.items


def _span(wanted: set[int], first: int, end: int) -> None:
    """The cells at both ends of [first, end), at most 2 * KEEP of them."""
    for x in range(first, min(end, first + KEEP)):
        wanted.add(x)
    for x in range(max(first, end - KEEP), end):
        wanted.add(x)


def _chosen(count: int, most: int) -> list[int]:
    """Output positions drawn: all up to ``most``, else the first and last most/2."""
    if count <= most:
        return list(range(count))
    half = most // 2
    return [*range(half), *range(count - half, count)]


@dataclass(frozen=True)
class _Axis:
    grid: Grid
    cells: _Ruler
    outputs: _Ruler
    panels: tuple[int, ...]

    @staticmethod
    def of(g: Grid, most: int, full: int) -> _Axis:
        panels = _chosen(g.output, most)
        total = g.length + g.beyond
        wanted: set[int] = set()
        _span(wanted, 0, g.before + 2)
        for w in panels:
            _span(wanted, g.window(w), g.window(w) + g.span)
        if g.dropped:
            first = g.before + g.first_dropped  # (its cell: spacing 1 where pixels drop)
            _span(wanted, first, first + g.dropped)
        _span(wanted, total - g.after - g.beyond - 2, total)
        out_wanted = set(panels) | set(range(3)) | set(range(g.output - 3, g.output))
        cells, outputs = _Ruler.of(wanted, total, full), _Ruler.of(out_wanted, g.output, full)
        return _Axis(g, cells, outputs, tuple(panels))

    def taps(self, w: int) -> list[float]:
        """Pixel offsets of window w's taps that are drawn."""
        start, end, d = (
            self.grid.window(w),
            self.grid.window(w) + self.grid.span,
            self.grid.dilation,
        )
        return [
            i * CELL
            for i, x in enumerate(self.cells.items)
            if x is not None and start <= x < end and (x - start) % d == 0
        ]

    def window_extent(self, w: int) -> tuple[float, float]:
        """Pixel offsets of the first and past the last drawn cell of window w's span."""
        start, end = self.grid.window(w), self.grid.window(w) + self.grid.span
        inside = [i for i, x in enumerate(self.cells.items) if x is not None and start <= x < end]
        return inside[0] * CELL, (inside[-1] + 1) * CELL


_POINT = _Axis(
    Grid(0, 1, 0, 1, 1, 1, 1, 1, 0),
    _Ruler((0,), (0,)),
    _Ruler((0,), (0,)),
    (0,),
)


def _width(texts: Sequence[str], size: int = 12) -> float:
    """About how wide a line of text is drawn (DejaVu Sans: 0.6 em a character)."""
    return max(len(t) for t in texts) * size * 0.6


def _kind(a: str, b: str) -> str:
    return next(k for k in PRIORITY if k in (a, b))


def _rect(x: float, y: float, w: float, h: float, kind: str, extra: str = "") -> str:
    fill, stroke, dash = STYLE[kind]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    hatch = (
        f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}" fill="url(#hatch)"/>'
        if kind == "dropped"
        else ""
    )
    return (
        f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}" fill="{fill}" '
        f'stroke="{stroke}"{dash_attr}{extra}/>' + hatch
    )


def _text(
    x: float, y: float, text: str, anchor: str = "start", size: int = 12, extra: str = ""
) -> str:
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" font-size="{size}"{extra}>'
        f"{escape(text)}</text>"
    )


def _cuts(ax0: _Axis, ax1: _Axis, cells: bool) -> list[str]:
    """A dashed cut along every elided column and row, with ``...`` at its middle."""
    r0 = ax0.cells if cells else ax0.outputs
    r1 = ax1.cells if cells else ax1.outputs
    parts = []
    for i, x in enumerate(r0.items):
        if x is None:
            mid = i * CELL + CELL / 2
            parts.append(
                f'<path d="M{_f(mid)},0v{_f(r1.size)}" stroke="#555" stroke-dasharray="2,3"/>'
            )
    for j, y in enumerate(r1.items):
        if y is None:
            mid = j * CELL + CELL / 2
            parts.append(
                f'<path d="M0,{_f(mid)}h{_f(r0.size)}" stroke="#555" stroke-dasharray="2,3"/>'
            )
    return parts


def _input_grid(ax0: _Axis, ax1: _Axis, kinds: set[str]) -> list[str]:
    parts = []
    for j, y in enumerate(ax1.cells.items):
        for i, x in enumerate(ax0.cells.items):
            if x is None or y is None:
                continue
            kind = _kind(ax0.grid.cell(x), ax1.grid.cell(y))
            kinds.add(kind)
            cell = f' data-cell="{x},{y}"'
            parts.append(_rect(i * CELL + 1, j * CELL + 1, CELL - 2, CELL - 2, kind, cell))
    return parts + _cuts(ax0, ax1, True)


def _output_grid(ax0: _Axis, ax1: _Axis) -> list[str]:
    parts = []
    for j, y in enumerate(ax1.outputs.items):
        for i, x in enumerate(ax0.outputs.items):
            if x is None or y is None:
                continue
            cell = f' data-out="{x},{y}"'
            parts.append(_rect(i * CELL + 1, j * CELL + 1, CELL - 2, CELL - 2, "output", cell))
    return parts + _cuts(ax0, ax1, False)


def _window(ax0: _Axis, ax1: _Axis, w0: int, w1: int, dx: float, dy: float) -> str:
    """The window's taps as one dark path (and a dashed outline of a dilated span)."""
    path = "".join(
        f"M{_f(dx + x + 1)},{_f(dy + y + 1)}h{CELL - 2}v{CELL - 2}h{2 - CELL}z"
        for y in ax1.taps(w1)
        for x in ax0.taps(w0)
    )
    out = f'<path d="{path}" fill="{TAP}" fill-opacity="{TAP_OPACITY}" stroke="{TAP}"/>'
    if ax0.grid.dilation > 1 or ax1.grid.dilation > 1:
        x0, x1 = ax0.window_extent(w0)
        y0, y1 = ax1.window_extent(w1)
        out += (
            f'<rect x="{_f(dx + x0)}" y="{_f(dy + y0)}" width="{_f(x1 - x0)}" '
            f'height="{_f(y1 - y0)}" fill="none" stroke="{TAP}" stroke-width="2" '
            'stroke-dasharray="5,3"/>'
        )
    return out


def _produced(ax0: _Axis, ax1: _Axis, w0: int, w1: int, dx: float, dy: float) -> str:
    x, y = ax0.outputs.offset(w0), ax1.outputs.offset(w1)
    assert x is not None and y is not None
    return _rect(dx + x + 1, dy + y + 1, CELL - 2, CELL - 2, "produced", ' stroke-width="2"')


def _size_label(name: str, axis: _Axis, what: str) -> str:
    g = axis.grid
    if what == "out":
        return f"{name}' = {g.output}"
    text = f"{name} = {g.pixels}"
    extras = []
    if g.spacing > 1:
        extras.append(f"{g.cells} with zeros")
    if g.before or g.after:
        extras.append(f"pad {g.before}:{g.after}")
    if g.beyond:
        extras.append(f"+{g.beyond} ceil")
    if g.dropped:
        extras.append(f"{g.dropped} dropped")
    return text + (f" ({', '.join(extras)})" if extras else "")


def _legend(
    kinds: Sequence[str], y: float, width: float, labels: dict[str, str] | None = None
) -> tuple[list[str], float]:
    parts, x = [], 10.0
    for kind in kinds:
        label = (labels or {}).get(kind, LEGEND[kind])
        w = CELL + 8 + 6.6 * len(label) + 18
        if x + w > width and x > 10:
            x, y = 10.0, y + CELL + 8
        if kind == "tap":
            parts.append(_rect(x + 1, y + 1, CELL - 2, CELL - 2, "input"))
            parts.append(
                f'<rect x="{_f(x + 1)}" y="{_f(y + 1)}" width="{CELL - 2}" height="{CELL - 2}" '
                f'fill="{TAP}" fill-opacity="{TAP_OPACITY}" stroke="{TAP}"/>'
            )
        else:
            parts.append(_rect(x + 1, y + 1, CELL - 2, CELL - 2, kind))
        parts.append(_text(x + CELL + 6, y + CELL * 0.75, label))
        x += w
    return parts, y + CELL + 8


def _document(width: float, height: float, title: str, defs: list[str], body: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{_f(width)}" height="{_f(height)}" viewBox="0 0 {_f(width)} {_f(height)}" '
        f'font-family="{FONT}" font-size="12" fill="#000">\n'
        f"<title>{escape(title)}</title>\n<defs>\n"
        '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="2" height="6" fill="#FFFFFF" '
        'fill-opacity="0.6"/></pattern>\n' + "\n".join(defs) + "\n</defs>\n"
        f'<rect width="{_f(width)}" height="{_f(height)}" fill="#FFFFFF"/>\n'
        + "\n".join(body)
        + "\n</svg>\n"
    )


def layer_figure(result: LayerResult, animate: bool = False) -> str:
    """One layer as an SVG document: small multiples, or one animated figure."""
    n = len(result.axes)
    transposed = result.spec.transposed
    grids = [grid(a, transposed) for a in result.axes]
    most = PANELS if n > 1 else 2 * PANELS
    full = FULL_ANIMATED if animate else FULL
    ax0 = _Axis.of(grids[0], most, full)
    ax1 = _Axis.of(grids[1], most, full) if n > 1 else _POINT
    names = [a.name for a in result.axes]
    title = layer_title(result)
    kinds: set[str] = set()
    defs = [
        '<g id="in">' + "".join(_input_grid(ax0, ax1, kinds)) + "</g>",
        '<g id="out">' + "".join(_output_grid(ax0, ax1)) + "</g>",
    ]

    # a panel: the input grid with its sizes below, an arrow, the output grid with its own
    in_w, in_h = ax0.cells.size, ax1.cells.size
    out_w, out_h = ax0.outputs.size, ax1.outputs.size
    in_labels = [_size_label(names[0], ax0, "in")]
    out_labels = [_size_label(names[0], ax0, "out")]
    if n > 1:
        in_labels.append(_size_label(names[1], ax1, "in"))
        out_labels.append(_size_label(names[1], ax1, "out"))
    out_x = max(in_w + 3 * CELL, _width(in_labels) + 12)
    panel_w = out_x + max(out_w, _width([*out_labels, "output (000, 000)"]))
    panel_h = max(in_h + 14 * len(in_labels), out_h + 14 * (len(out_labels) + 1)) + 16

    def panel(w0: int, w1: int, x0: float, y0: float, caption: bool) -> list[str]:
        parts = [
            f'<use xlink:href="#in" x="{_f(x0)}" y="{_f(y0)}"/>',
            f'<use xlink:href="#out" x="{_f(x0 + out_x)}" y="{_f(y0)}"/>',
            f'<path d="M{_f(x0 + in_w + CELL * 0.6)},{_f(y0 + CELL / 2)}h{_f(CELL * 1.5)}'
            f'm-6,-4l6,4l-6,4" fill="none" stroke="#444" stroke-width="1.5"/>',
        ]
        for k, label in enumerate(in_labels):
            parts.append(_text(x0, y0 + in_h + 14 + 14 * k, label))
        if caption:
            where = f"{w0}" if n == 1 else f"{w0}, {w1}"
            out_labels_here = [*out_labels, f"output ({where})"]
        else:
            out_labels_here = out_labels
        for k, label in enumerate(out_labels_here):
            parts.append(_text(x0 + out_x, y0 + out_h + 14 + 14 * k, label))
        return parts

    width = 20.0
    body: list[str] = []
    notes: list[str] = []
    top = 34.0
    positions = list(product(ax0.panels, ax1.panels))
    if animate:
        body += ['<g data-panel="animated">', *panel(0, 0, 10, top, False)]
        body += [*_animation(ax0, ax1, 10, top, 10 + out_x, top), "</g>"]
        width = max(width, panel_w + 20)
        y = top + panel_h
        shown = len(positions)
        total = grids[0].output * (grids[1].output if n > 1 else 1)
        whole = ax0.cells.whole and ax1.cells.whole and ax0.outputs.whole and ax1.outputs.whole
        if not whole and shown < total:
            notes.append(
                f"the window visits {shown} of the {total} output positions: those at "
                "the ends of each axis"
            )
    else:
        cols = len(ax0.panels) if n > 1 else 1
        for index, (w0, w1) in enumerate(positions if n > 1 else [(w, 0) for w in ax0.panels]):
            if n > 1:
                r, c = ax1.panels.index(w1), ax0.panels.index(w0)
            else:
                r, c = index, 0
            x = 10 + c * (panel_w + 2 * CELL)
            body += [
                f'<g data-panel="{w0},{w1}">',
                *panel(w0, w1, x, top + r * panel_h, True),
                _window(ax0, ax1, w0, w1, x, top + r * panel_h),
                _produced(ax0, ax1, w0, w1, x + out_x, top + r * panel_h),
                "</g>",
            ]
        rows = len(ax1.panels) if n > 1 else len(ax0.panels)
        width = max(width, cols * (panel_w + 2 * CELL) - 2 * CELL + 20)
        y = top + rows * panel_h
        total = grids[0].output * (grids[1].output if n > 1 else 1)
        if len(positions) < total:
            notes.append(
                f"{len(positions)} of the {total} output positions drawn, those at the ends "
                "of each axis (--animate steps through them in one figure)"
            )
    if transposed:
        g = grids[0]
        notes.append(
            "a transposed convolution, drawn as the equivalent direct convolution (stride 1) "
            "over its input with s - 1 zeros between pixels and k' - 1 - p zeros around "
            f"(axis {names[0]}: {g.spacing - 1} between, {g.before}:{g.after} around"
            + (f", {g.crop_before}:{g.crop_after} cropped" if g.crop_before or g.crop_after else "")
            + ")"
        )
    if n == 3:
        a = result.axes[2]
        notes.append(
            f"a 3-D layer: its {names[0]} x {names[1]} slice; axis {names[2]}: input {a.input}, "
            f"kernel {a.kernel}, stride {a.stride}, dilation {a.dilation}, padding "
            f"{padding_text(a.padding)} -> {a.output}"
        )
    for g, name in zip(grids, names, strict=False):
        if g.dropped:
            first, last = g.first_dropped, g.pixels - 1
            which = f"pixel {first}" if g.dropped == 1 else f"pixels {first} to {last}"
            notes.append(f"axis {name}: input {which} (from 0) covered by no window: dropped")
    if not (ax0.cells.whole and ax1.cells.whole and ax0.outputs.whole and ax1.outputs.whole):
        notes.append("dashed cuts: cells left out; the labels give the whole sizes")

    width = max(width, 7.0 * len(title) + 20, *(6.2 * len(note) + 20 for note in notes))
    legend_kinds = [k for k in PRIORITY[::-1] if k in kinds] + ["tap", "output", "produced"]
    legend, y = _legend(legend_kinds, y + 6, width)
    body += legend
    for note in notes:
        body.append(_text(10, y + 12, note, size=11))
        y += 16
    body.insert(0, _text(10, 22, title, size=15, extra=' font-weight="bold"'))
    return _document(width, y + 10, title, defs, body)


def _animation(ax0: _Axis, ax1: _Axis, ix: float, iy: float, ox: float, oy: float) -> list[str]:
    """The window stepping through the output positions, row by row.

    Cells drawn whole: one window and one produced cell, moved by a discrete
    animateTransform. Elided axes: one group per drawn position, shown in turn."""
    whole = ax0.cells.whole and ax1.cells.whole and ax0.outputs.whole and ax1.outputs.whole
    if whole:
        frames = [(w0, w1) for w1 in range(ax1.grid.output) for w0 in range(ax0.grid.output)]
    else:
        frames = [(w0, w1) for w1 in ax1.panels for w0 in ax0.panels]
    count = len(frames)
    dur = _f(count * FRAME_SECONDS)
    key_times = ";".join(_t(k / count) for k in range(count))
    if whole:
        base0, base1 = ax0.grid.window(0), ax1.grid.window(0)
        moves = ";".join(
            f"{_f((ax0.grid.window(w0) - base0) * CELL)},{_f((ax1.grid.window(w1) - base1) * CELL)}"
            for w0, w1 in frames
        )
        out_moves = ";".join(f"{w0 * CELL},{w1 * CELL}" for w0, w1 in frames)

        def animated(inner: str, values: str) -> str:
            return (
                f'<g>{inner}<animateTransform attributeName="transform" type="translate" '
                f'values="{values}" keyTimes="{key_times}" calcMode="discrete" dur="{dur}s" '
                'repeatCount="indefinite"/></g>'
            )

        return [
            animated(_window(ax0, ax1, 0, 0, ix, iy), moves),
            animated(_produced(ax0, ax1, 0, 0, ox, oy), out_moves),
        ]
    parts = []
    for k, (w0, w1) in enumerate(frames):
        if k == 0:
            values, times = "visible;hidden", f"0;{_t(1 / count)}"
        elif k == count - 1:
            values, times = "hidden;visible", f"0;{_t(k / count)}"
        else:
            values = "hidden;visible;hidden"
            times = f"0;{_t(k / count)};{_t((k + 1) / count)}"
        parts.append(
            f'<g visibility="{"visible" if k == 0 else "hidden"}">'
            + _window(ax0, ax1, w0, w1, ix, iy)
            + _produced(ax0, ax1, w0, w1, ox, oy)
            + f'<animate attributeName="visibility" values="{values}" keyTimes="{times}" '
            f'calcMode="discrete" dur="{dur}s" repeatCount="indefinite"/></g>'
        )
    return parts


# --- a stack: the receptive field of one output position -----------------------------------

FIELD_CELLS = 48  # pixels per axis drawn as cells; more: drawn to scale, without cells
FIELD_SIZE = 480.0  # pixels of the drawing of a long axis


def field_figure(stack: StackResult, at: tuple[int, ...], note: str | None = None) -> str:
    """The input grid and, nested on it, the receptive field of one unit of every layer on
    the way to output position ``at`` (the last layer's: the whole receptive field)."""
    from hw3cli.core.network import field_region, path_to

    n = len(stack.input)
    drawn = min(n, 2)
    units = path_to(stack, at)
    regions: list[list[tuple[int, int]]] = []
    for layer, unit in zip(stack.layers, units, strict=True):
        per_axis = []
        for a in range(drawn):
            region = field_region(layer.fields[a], unit[a])
            assert region is not None  # (the command refuses a transposed convolution)
            per_axis.append(region)
        regions.append(per_axis)
    size = list(stack.input[:drawn]) + [1] * (2 - drawn)
    lows = [min([0] + [r[a][0] for r in regions]) if a < drawn else 0 for a in range(2)]
    highs = [max([size[a] - 1] + [r[a][1] for r in regions]) if a < drawn else 0 for a in range(2)]
    counts = [highs[a] - lows[a] + 1 for a in range(2)]
    cells = max(counts) <= FIELD_CELLS
    unit_px = float(CELL) if cells else min(float(CELL), FIELD_SIZE / max(counts))
    scale = (unit_px, unit_px if drawn > 1 else float(CELL))  # (a strip keeps its height)

    def px(a: int, v: float) -> float:
        return (v - lows[a]) * scale[a]

    names = [layer.name for layer in stack.layers]
    last = stack.layers[-1]
    rf = [last.fields[a].receptive_field for a in range(drawn)]
    where = ", ".join(map(str, at))
    title = (
        f"Receptive field of output ({where}) after {len(stack.layers)} layers: "
        f"{'x'.join(map(str, rf))} input pixels, {size_text(stack.input)} -> "
        f"{size_text(stack.output)}"
    )
    top, left = 40.0, 10.0
    body: list[str] = []
    inner: list[str] = []
    kinds: set[str] = {"input"}
    if cells:
        for row in range(lows[1], highs[1] + 1):
            for col in range(lows[0], highs[0] + 1):
                inside = 0 <= col < size[0] and 0 <= row < size[1]
                kind = "input" if inside else "pad"
                kinds.add(kind)
                pixel = f' data-pixel="{col},{row}"'
                inner.append(_rect(px(0, col) + 1, px(1, row) + 1, CELL - 2, CELL - 2, kind, pixel))
    else:
        if lows[0] < 0 or lows[1] < 0 or highs[0] >= size[0] or highs[1] >= size[1]:
            kinds.add("pad")
            inner.append(_rect(0, 0, counts[0] * scale[0], counts[1] * scale[1], "pad"))
        inner.append(_rect(px(0, 0), px(1, 0), size[0] * scale[0], size[1] * scale[1], "input"))
    # the layers' fields, the outermost (the last layer's) shaded
    labels = []
    for index in range(len(regions) - 1, -1, -1):
        (x0, x1), (y0, y1) = regions[index][0], regions[index][1] if drawn > 1 else (0, 0)
        colour = FIELD_COLOURS[index % len(FIELD_COLOURS)]
        dash = FIELD_DASHES[index % len(FIELD_DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        shade = f' fill="{TAP}" fill-opacity="0.3"' if index == len(regions) - 1 else ' fill="none"'
        inset = 1.5 + 1.5 * (len(regions) - 1 - index) if cells else 0.0
        inner.append(
            f'<rect x="{_f(px(0, x0) + inset)}" y="{_f(px(1, y0) + inset)}" '
            f'width="{_f(max(unit_px * (x1 - x0 + 1) - 2 * inset, 1))}" '
            f'height="{_f(max(scale[1] * (y1 - y0 + 1) - 2 * inset, 1))}"{shade} '
            f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
        )
        spans = [f"{r}" for r in (x1 - x0 + 1, y1 - y0 + 1)[:drawn]]
        pixels = f"[{x0}..{x1}]" + (f" x [{y0}..{y1}]" if drawn > 1 else "")
        labels.append((index, f"{index + 1} {names[index]}: {'x'.join(spans)}, pixels {pixels}"))
    width_grid, height_grid = counts[0] * scale[0], counts[1] * scale[1]
    body.append(
        f'<g data-field="input" transform="translate({_f(left)},{_f(top)})">'
        + "".join(inner)
        + "</g>"
    )
    in_label = f"input {size_text(stack.input[:drawn])}" + (
        f" (from {lows[0]}, {lows[1]}: padding drawn grey)"
        if drawn > 1 and (lows[0] < 0 or lows[1] < 0)
        else ""
    )
    body.append(_text(left, top + height_grid + 16, in_label))

    # the output grid with the position
    out = list(stack.output[:drawn]) + [1] * (2 - drawn)
    ox = left + width_grid + 4 * CELL
    out_cells = max(out) <= FULL
    o_px = float(CELL) if out_cells else min(float(CELL), 240.0 / max(out))
    o_h = o_px if drawn > 1 else float(CELL)
    body.append(
        f'<path d="M{_f(left + width_grid + CELL)},{_f(top + CELL / 2)}h{_f(CELL * 2)}'
        f'm-6,-4l6,4l-6,4" fill="none" stroke="#444" stroke-width="1.5"/>'
    )
    if out_cells:
        for row in range(out[1]):
            for col in range(out[0]):
                body.append(
                    _rect(ox + col * CELL + 1, top + row * CELL + 1, CELL - 2, CELL - 2, "output")
                )
    else:
        body.append(_rect(ox, top, out[0] * o_px, out[1] * o_h, "output"))
    ax, ay = at[0], at[1] if drawn > 1 else 0
    body.append(
        _rect(
            ox + ax * o_px + 1,
            top + ay * o_h + 1,
            max(o_px - 2, 3),
            max(o_h - 2, 3),
            "produced",
            ' stroke-width="2"',
        )
    )
    body.append(_text(ox, top + out[1] * o_h + 16, f"output {size_text(stack.output[:drawn])}"))

    y = top + max(height_grid, out[1] * o_h) + 34
    width = max(ox + out[0] * o_px + 20, 7.5 * len(title) + 20)
    for index, label in sorted(labels):
        colour = FIELD_COLOURS[index % len(FIELD_COLOURS)]
        dash = FIELD_DASHES[index % len(FIELD_DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(
            f'<path d="M10,{_f(y - 4)}h30" stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
        )
        body.append(_text(48, y, label))
        width = max(width, 48 + 6.8 * len(label) + 20)
        y += 18
    notes = [
        "each layer's rectangle: the input pixels one of its units sees, on the way to the "
        "output (the last layer's, shaded: the whole receptive field)"
    ]
    if note is not None:
        notes += note.split("; ")  # (a line each: a figure is no wider than its grid needs)
    if n == 3:
        notes.append(
            f"a 3-D input: axes {last.result.axes[0].name} and {last.result.axes[1].name} drawn"
        )
    if not cells:
        notes.append("drawn to scale without cells; the labels give the pixels")
    for line in notes:
        body.append(_text(10, y + 4, line, size=11))
        width = max(width, 6.2 * len(line) + 20)
        y += 16
    legend, y = _legend(
        [k for k in ("input", "pad") if k in kinds] + ["output", "produced"],
        y,
        width,
        {"produced": "the output position drawn"},
    )
    body += legend
    body.insert(0, _text(10, 22, title, size=15, extra=' font-weight="bold"'))
    return _document(width, y + 10, title, [], body)
