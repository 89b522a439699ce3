"""``conv-shape --diagram``: the drawing is exact for small axes and bounded for huge ones.

Huge sizes, kernels, dilations, paddings and strides are drawn from the visible columns
and windows alone; these tests finishing at all is the proof that nothing loops over the
axis, the kernel or the windows.
"""

from __future__ import annotations

import pytest

from hw3cli.core.conv import AxisResult, LayerSpec, conv_layer
from hw3cli.output.diagram import LEGEND, MAX_WINDOWS, draw_axis, tap

WIDTH = 80
E14 = 10**14


def _axis(spec: LayerSpec, size: int) -> tuple[AxisResult, str]:
    result = conv_layer(spec, (size,))
    return result.axes[0], result.spec.kind


def _check_bounded(lines: list[str]) -> None:
    """Title, the padded axis, at most MAX_WINDOWS windows and one ``...`` line, legend;
    every line but the title (which prints the numbers) within the width."""
    assert len(lines) <= MAX_WINDOWS + 4
    assert lines[-1] == LEGEND
    assert all(len(line) <= WIDTH for line in lines[1:-1])


def test_readme_drawing_exactly() -> None:
    # README "Diagrams: `--diagram`": floor((10 + 0 - 3)/2) + 1 = 4 windows at 0, 2, 4, 6;
    # the last ends at 6 + 3 = 9, so pixel 9 is dropped (x)
    axis, kind = _axis(LayerSpec(kernel=(3,), stride=(2,)), 10)
    assert draw_axis(axis, kind, 100) == [
        "axis W: input 10, kernel 3, stride 2, dilation 1, padding 0:0 -> output 4, 1 dropped",
        "    0 1 2 3 4 5 6 7 8 x",
        "w0  # # #",
        "w1      # # #",
        "w2          # # #",
        "w3              # # #",
        LEGEND,
    ]


def test_dilated_drawing_exactly() -> None:
    # k' = 3*(2 - 1) + 1 = 4, padded axis 1 + 6 + 1 = 8: floor((8 - 4)/1) + 1 = 5 windows,
    # taps at start and start + 3 with two gaps between
    axis, kind = _axis(LayerSpec(kernel=(2,), dilation=(3,), padding=((1, 1),)), 6)
    assert draw_axis(axis, kind, 100) == [
        "axis W: input 6, kernel 2, stride 1, dilation 3, padding 1:1 -> output 5",
        "    . 0 1 2 3 4 5 .",
        "w0  # - - #",
        "w1    # - - #",
        "w2      # - - #",
        "w3        # - - #",
        "w4          # - - #",
        LEGEND,
    ]


def test_huge_input() -> None:
    # floor((10**14 - 3)/1) + 1 = 10**14 - 2 windows: six, ``...``, the last six
    axis, kind = _axis(LayerSpec(kernel=(3,)), E14)
    lines = draw_axis(axis, kind, WIDTH)
    _check_bounded(lines)
    assert lines[0].endswith(f"-> output {E14 - 2}")
    assert "~" in lines[1]
    assert "..." in [line.strip() for line in lines]
    assert lines[2].split() == ["w0", "###", "~"]
    assert lines[-2].split() == [f"w{E14 - 3}", "~", "###"]  # the last window ends the axis
    assert lines[-2].endswith("###")


def test_huge_kernel() -> None:
    # floor((10**14 - (10**14 - 5))/1) + 1 = 6 windows, each spanning all but 5 pixels:
    # taps on both sides of the elided middle
    axis, kind = _axis(LayerSpec(kernel=(E14 - 5,)), E14)
    lines = draw_axis(axis, kind, WIDTH)
    _check_bounded(lines)
    windows = [line for line in lines if line.startswith("w")]
    assert len(windows) == 6
    for w, line in enumerate(windows):
        left, right = line[4:].split("~")
        assert left == " " * w + "#" * (len(left) - w)
        assert set(right) == {"#"}


def test_huge_dilation() -> None:
    # k' = 5*10**13*(3 - 1) + 1 = 10**14 + 1; padded 1 + 10**14 + 1: floor(1/1) + 1 = 2
    # windows. w0's taps at 0, 5*10**13 (elided) and 10**14, the last padded cell but one
    axis, kind = _axis(LayerSpec(kernel=(3,), dilation=(5 * E14 // 10,), padding=((1, 1),)), E14)
    lines = draw_axis(axis, kind, WIDTH)
    _check_bounded(lines)
    w0, w1 = lines[2], lines[3]
    assert w0.startswith("w0  #--") and w0.endswith("--#")
    assert w1.startswith("w1   #--") and w1.endswith("--#")
    assert "~" in w0 and set(w0[4:].replace("~", "")) == {"#", "-"}


def test_huge_padding() -> None:
    # padded axis 10**14 + 5 + 10**14: floor((2*10**14 + 5 - 3)/1) + 1 = 2*10**14 + 3
    # windows; both visible ends are padding
    axis, kind = _axis(LayerSpec(kernel=(3,), padding=((E14, E14),)), 5)
    lines = draw_axis(axis, kind, WIDTH)
    _check_bounded(lines)
    assert set(lines[1].strip()) == {".", "~"}
    assert lines[-2].split() == [f"w{2 * E14 + 2}", "~", "###"]


def test_huge_stride() -> None:
    # floor((10**14 - 3)/10**13) + 1 = 10 windows; the last starts at 9*10**13 and ends at
    # 9*10**13 + 3, so 10**14 - 9*10**13 - 3 = 9999999999997 pixels are dropped (x)
    axis, kind = _axis(LayerSpec(kernel=(3,), stride=(E14 // 10,)), E14)
    lines = draw_axis(axis, kind, WIDTH)
    _check_bounded(lines)
    assert lines[0].endswith("-> output 10, 9999999999997 dropped")
    assert lines[1].endswith("xxx")
    assert lines[2].split() == ["w0", "###", "~"]
    assert all(line.split() == [f"w{w}", "~"] for w, line in enumerate(lines[3:12], start=1))


def test_everything_huge_and_ceil_pooling() -> None:
    # ceil mode, kernel 10**14 + 1 padded by 5*10**13 a side, stride 10**13: the drawing
    # neither loops over the axis nor over a window's taps
    spec = LayerSpec(
        kernel=(E14 + 1,),
        stride=(E14 // 10,),
        padding=((E14 // 2, E14 // 2),),
        pool="max",
        ceil_mode=True,
    )
    axis, kind = _axis(spec, 3 * E14 + 7)
    lines = draw_axis(axis, kind, WIDTH)
    _check_bounded(lines)
    assert "~" in lines[1] and "..." in [line.strip() for line in lines]


def test_huge_transposed_draws_the_axis_only() -> None:
    spec = LayerSpec(kernel=(E14,), stride=(E14,), transposed=True)
    axis, kind = _axis(spec, E14)
    lines = draw_axis(axis, kind, WIDTH)
    assert len(lines) == 3
    assert "~" in lines[1]
    assert lines[2].startswith("(a transposed convolution")


@pytest.mark.parametrize(
    ("x", "expected"),
    [(9, None), (10, "#"), (11, "-"), (13, "-"), (14, "#"), (18, "#"), (19, None)],
)
def test_tap_is_arithmetic(x: int, expected: str | None) -> None:
    # a window at 10 with k 3, d 4: k' = 4*(3 - 1) + 1 = 9 covers 10..18, taps 10, 14, 18
    assert tap(10, 9, 4, x) == expected
