"""Real renderers for the figure and write-up tests: rsvg-convert (Debian's librsvg2-bin)
draws an SVG to PNG, pdflatex (texlive-latex-base) compiles LaTeX. Tests that need one
skip, saying which package to install, only when it is absent (.ci/run installs both).

Pixels are read from a small part of the figure: the SVG's viewBox is narrowed to a few
pixels around the point asked for, so that the PNG stays tiny and the decoder below (PNG
as rsvg-convert writes it: 8-bit RGBA, not interlaced) stays short and fast.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

SVG = "{http://www.w3.org/2000/svg}"


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian: apt-get install {package})")
    return path


def decode_png(data: bytes) -> list[list[tuple[int, ...]]]:
    """Rows of pixels (RGBA or RGB tuples) of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    channels = 4
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, _height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and colour in (2, 6)
            channels = 4 if colour == 6 else 3
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(len(raw) // (stride + 1)):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return [[tuple(row[x * channels : (x + 1) * channels]) for x in range(width)] for row in rows]


def colour_at(svg: str, x: float, y: float, size: int = 6) -> tuple[float, float, float]:
    """The mean RGB colour of the ``size`` x ``size`` pixels around (x, y) of the figure,
    as rsvg-convert draws it."""
    tool = need("rsvg-convert", "librsvg2-bin")
    half = size / 2
    cropped = re.sub(
        r'<svg ([^>]*?)width="[^"]*" height="[^"]*" viewBox="[^"]*"',
        lambda m: (
            f'<svg {m.group(1)}width="{size}" height="{size}" '
            f'viewBox="{x - half} {y - half} {size} {size}"'
        ),
        svg,
        count=1,
    )
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "figure.svg"
        src.write_text(cropped)
        png = subprocess.run([tool, str(src)], capture_output=True, check=True, timeout=60).stdout
    pixels = [p for row in decode_png(png) for p in row]
    return tuple(sum(p[c] for p in pixels) / len(pixels) for c in range(3))  # type: ignore[return-value]


def render_png(svg: str) -> bytes:
    """The whole figure as PNG (to check that the renderer takes it)."""
    tool = need("rsvg-convert", "librsvg2-bin")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "figure.svg"
        src.write_text(svg)
        return subprocess.run([tool, str(src)], capture_output=True, check=True, timeout=60).stdout


def _translation(element: ET.Element) -> tuple[float, float]:
    m = re.match(r"translate\(([-\d.]+),([-\d.]+)\)", element.get("transform", ""))
    return (float(m.group(1)), float(m.group(2))) if m else (0.0, 0.0)


def cell_centre(svg: str, panel: str, cell: str, grid: str = "in") -> tuple[float, float]:
    """Where the centre of input cell ``cell`` ("x,y", padded coordinates) of panel
    ``panel`` ("w0,w1" or "animated") is drawn; ``grid="out"``: output cell ``cell``."""
    root = ET.fromstring(svg)
    attribute = "data-cell" if grid == "in" else "data-out"
    defs = root.find(f"{SVG}defs")
    assert defs is not None
    group = next(g for g in defs if g.get("id") == grid)
    rect = next(r for r in group.iter(f"{SVG}rect") if r.get(attribute) == cell)
    target = next(g for g in root.iter(f"{SVG}g") if g.get("data-panel") == panel)
    use = next(
        u
        for u in target.iter(f"{SVG}use")
        if u.get("{http://www.w3.org/1999/xlink}href") == f"#{grid}"
    )
    x = float(use.get("x", 0)) + float(rect.get("x", 0)) + float(rect.get("width", 0)) / 2
    y = float(use.get("y", 0)) + float(rect.get("y", 0)) + float(rect.get("height", 0)) / 2
    return x, y


def pixel_centre(svg: str, pixel: str) -> tuple[float, float]:
    """Where the centre of input pixel ``pixel`` ("x,y") of a receptive-field figure is."""
    root = ET.fromstring(svg)
    group = next(g for g in root.iter(f"{SVG}g") if g.get("data-field") == "input")
    dx, dy = _translation(group)
    rect = next(r for r in group.iter(f"{SVG}rect") if r.get("data-pixel") == pixel)
    return (
        dx + float(rect.get("x", 0)) + float(rect.get("width", 0)) / 2,
        dy + float(rect.get("y", 0)) + float(rect.get("height", 0)) / 2,
    )


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def close(a: tuple[float, ...], b: tuple[float, ...], tolerance: float = 12) -> bool:
    return all(abs(u - v) <= tolerance for u, v in zip(a, b, strict=True))


def compile_latex(text: str) -> tuple[int, str]:
    """pdflatex on ``text``: its exit status and its log."""
    tool = need("pdflatex", "texlive-latex-base")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "derivation.tex"
        src.write_text(text)
        done = subprocess.run(
            [tool, "-interaction=nonstopmode", "-halt-on-error", src.name],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        ok = (Path(tmp) / "derivation.pdf").exists()
        return (done.returncode if ok else done.returncode or 1), done.stdout


# KaTeX (npm's katex, run by node) renders each piece of maths, throwing on any error.
# .ci/run installs it into a temporary folder and puts that folder's node_modules on
# NODE_PATH; NODE_PATH is where this looks too.
_KATEX_SCRIPT = """
const katex = require("katex");
const items = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = items.map(([tex, display]) => {
  try {
    katex.renderToString(tex, {throwOnError: true, displayMode: display});
    return null;
  } catch (e) {
    return String(e.message);
  }
});
process.stdout.write(JSON.stringify(out));
"""


def need_katex() -> str:
    """node, when it can load katex; else the test skips, saying how to get it."""
    node = need("node", "nodejs")
    found = subprocess.run(
        [node, "-e", "require('katex')"], capture_output=True, text=True, timeout=60, check=False
    )
    if found.returncode != 0:
        pytest.skip(
            "node cannot load katex (npm install katex in a folder, then put its "
            "node_modules on NODE_PATH)"
        )
    return node


def katex_errors(items: list[tuple[str, bool]]) -> list[str | None]:
    """KaTeX's error for each (maths, display mode), None where it renders."""
    node = need_katex()
    done = subprocess.run(
        [node, "-e", _KATEX_SCRIPT],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    errors: list[str | None] = json.loads(done.stdout)
    return errors
