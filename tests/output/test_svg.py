"""``conv-shape --diagram --format svg``: conv_arithmetic's figures, checked as drawn.

Each figure is well-formed XML and is rendered by a real renderer (rsvg-convert); pixels are
read at the centre of known cells: a padding cell has the padding colour, the cells a
panel's window reads are shaded and its neighbours are not, a dropped pixel is vermilion.
Which cells a window reads follows from docs/formulas.md section 1 by hand: window w of a
convolution starts at padded cell w*s and reads cells start + t*d, t < k; a transposed
convolution is the direct convolution over s - 1 zeros between its pixels and k' - 1 - p
zeros around them (conv_arithmetic's drawing; Dumoulin and Visin, "A guide to convolution
arithmetic for deep learning", section 4).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hw3cli.core.conv import LayerSpec, conv_layer
from hw3cli.core.grid import grid
from hw3cli.output.svg import STYLE, TAP_OPACITY
from tests.conftest import assert_clean_error, invoke
from tests.output.rendering import (
    SVG,
    cell_centre,
    close,
    colour_at,
    hex_rgb,
    pixel_centre,
    render_png,
)

INPUT = hex_rgb(STYLE["input"][0])
PAD = hex_rgb(STYLE["pad"][0])
ZERO = hex_rgb(STYLE["zero"][0])
BEYOND = hex_rgb(STYLE["beyond"][0])
OUTPUT = hex_rgb(STYLE["output"][0])
PRODUCED = hex_rgb(STYLE["produced"][0])


def under_window(colour: tuple[int, int, int]) -> tuple[float, ...]:
    """A cell's colour under the window's dark shading."""
    return tuple(c * (1 - TAP_OPACITY) for c in colour)


def figure(*args: str) -> str:
    result = invoke(["conv-shape", *args, "--format", "svg"])
    assert result.exit_code == 0, result.stderr
    ET.fromstring(result.stdout)  # well-formed XML, or this raises
    return result.stdout


def at(svg: str, panel: str, cell: str, grid_: str = "in") -> tuple[float, float, float]:
    return colour_at(svg, *cell_centre(svg, panel, cell, grid_))


def test_conv_padding_window_and_output() -> None:
    """Conv2d k=3 s=2 p=1 on 5x5 (conv_arithmetic's padding_strides figure): 3x3, nine
    panels; panel (1, 0)'s window reads padded cells 2..4 x 0..2."""
    svg = figure("--input", "5x5", "--kernel", "3", "--stride", "2", "--padding", "1")
    assert "<title>Conv2d k=3 s=2 p=1 d=1, 5x5 -&gt; 3x3</title>" in svg
    panels = re.findall(r'data-panel="(\d+,\d+)"', svg)
    assert sorted(panels) == sorted(f"{a},{b}" for a in range(3) for b in range(3))
    assert close(at(svg, "1,0", "6,6"), PAD)  # the bottom-right padding cell
    assert close(at(svg, "1,0", "0,3"), PAD)  # the left padding, beside the input
    assert close(at(svg, "1,0", "3,3"), INPUT)  # an input pixel no window covers here
    for cell in ("2,0", "3,1", "4,2"):
        expected = under_window(PAD if cell == "2,0" else INPUT)
        assert close(at(svg, "1,0", cell), expected), cell
    for cell in ("1,1", "5,1", "3,3"):  # left of, right of, below the window
        assert not close(at(svg, "1,0", cell), under_window(INPUT)), cell
    assert close(at(svg, "1,0", "1,0", "out"), PRODUCED)
    assert close(at(svg, "1,0", "0,0", "out"), OUTPUT)
    assert close(at(svg, "2,2", "6,6"), under_window(PAD))  # the last window's corner


def test_dilated_taps_are_spaced_out() -> None:
    """k=3, d=2 on 7x7: window (0, 0) reads cells 0, 2, 4 on each axis, not 1 or 3."""
    svg = figure("--input", "7x7", "--kernel", "3", "--dilation", "2")
    for cell in ("0,0", "2,2", "4,4", "0,4"):
        assert close(at(svg, "0,0", cell), under_window(INPUT)), cell
    for cell in ("1,1", "3,3", "1,0", "5,5"):
        assert close(at(svg, "0,0", cell), INPUT), cell
    assert close(at(svg, "2,1", "2,1"), under_window(INPUT))  # window (2, 1) starts there


def test_strided_window_with_a_dropped_pixel() -> None:
    """k=3, s=2 on 6x6: 2x2 outputs, windows at 0 and 2; pixel 5 of each axis is covered by
    no window (remainder (6 - 3) mod 2 = 1): drawn vermilion, in the legend and a note."""
    svg = figure("--input", "6x6", "--kernel", "3", "--stride", "2")
    red, green, blue = at(svg, "0,0", "5,0")
    assert red > 150 and blue < 90 and red > green + 60  # vermilion, hatched
    red, green, blue = at(svg, "1,1", "5,5")
    assert red > 150 and blue < 90
    assert close(at(svg, "1,1", "4,4"), under_window(INPUT))
    assert close(at(svg, "1,1", "1,1"), INPUT)
    assert "dropped: covered by no window" in svg
    assert "input pixel 5 (from 0) covered by no window: dropped" in svg


def test_transposed_is_the_direct_convolution_over_zeros() -> None:
    """ConvTranspose k=3 s=2 p=1 op=1 on 3x3 gives 6x6. Drawn as conv_arithmetic does: one
    zero between pixels (5 cells), k' - 1 - p = 1 zero before, 1 + op = 2 after (8 cells),
    windows of stride 1: 6 of them."""
    svg = figure(
        "--input", "3x3", "--kernel", "3", "--stride", "2", "--padding", "1",
        "--transposed", "--output-padding", "1",
    )  # fmt: skip
    g = grid(
        conv_layer(
            LayerSpec((3,), (2,), ((1, 1),), transposed=True, output_padding=(1,)), (3,)
        ).axes[0],
        True,
    )
    assert (g.before, g.cells, g.after, g.spacing, g.stride) == (1, 5, 2, 2, 1)
    assert "ConvTranspose2d k=3 s=2 p=1 d=1 op=1, 3x3 -&gt; 6x6" in svg
    assert close(at(svg, "5,5", "1,1"), INPUT)  # input pixel (0, 0)
    assert close(at(svg, "5,5", "2,1"), ZERO)  # a zero between pixels
    assert close(at(svg, "5,5", "0,0"), PAD)
    assert close(at(svg, "5,5", "7,7"), under_window(PAD))  # the last window reaches it
    assert close(at(svg, "0,0", "1,1"), under_window(INPUT))
    assert close(at(svg, "0,0", "2,2"), under_window(ZERO))


def test_pooling_ceil_mode_last_window() -> None:
    """MaxPool k=2 s=2 ceil on 5x5: 3x3; the last window starts at 4 and reaches cell 5,
    past the input: drawn pale yellow, shaded in that window's panel."""
    svg = figure("--input", "5x5", "--kernel", "2", "--pool", "max", "--ceil-mode")
    assert "MaxPool2d k=2 s=2 p=0 d=1 ceil, 5x5 -&gt; 3x3" in svg
    assert close(at(svg, "0,0", "5,5"), BEYOND)
    assert close(at(svg, "2,2", "5,5"), under_window(BEYOND))
    assert close(at(svg, "2,2", "4,4"), under_window(INPUT))
    assert "past the padding: ceil mode's last window" in svg


def test_same_padding_is_asymmetric() -> None:
    """'same' with s=2 on 6: total padding 1, all after (TensorFlow's rule): no padding
    cell before the input, one after."""
    svg = figure("--input", "6x6", "--kernel", "3", "--stride", "2", "--padding", "same")
    assert "p=same (0:1,0:1)" in svg
    assert close(at(svg, "0,0", "0,0"), under_window(INPUT))
    assert close(at(svg, "0,0", "6,6"), PAD)


def test_one_dimensional_strip() -> None:
    """Conv1d k=3 s=2 on 8: one strip per output position; pixel 7 dropped."""
    svg = figure("--input", "8", "--kernel", "3", "--stride", "2")
    assert "Conv1d k=3 s=2 p=0 d=1, 8 -&gt; 3" in svg
    for x in range(2, 5):
        assert close(at(svg, "1,0", f"{x},0"), under_window(INPUT))
    assert close(at(svg, "1,0", "5,0"), INPUT)
    red, _, blue = at(svg, "1,0", "7,0")
    assert red > 150 and blue < 90


def test_three_dimensional_slice_with_a_note() -> None:
    # a kernel of three sizes says 5x5x4 is a volume (4 could be channels: CLI.md)
    svg = figure("--input", "5x5x4", "--kernel", "3x3x3")
    assert "a 3-D layer: its W x H slice; axis D: input 4, kernel 3" in svg
    assert close(at(svg, "0,0", "1,1"), under_window(INPUT))


def test_large_layer_is_small_and_legible() -> None:
    """224x224, k=7 s=2 p=3 (ResNet's first layer): under 1 MB, at most 16 panels, the
    corners kept and the middle cut, every number of the layer in the labels."""
    svg = figure(
        "--input", "224x224", "--kernel", "7", "--stride", "2", "--padding", "3"
    )  # fmt: skip
    assert len(svg.encode()) < 1_000_000
    assert len(svg.encode()) < 200_000  # (measured: about 70 kB)
    panels = re.findall(r'data-panel="([^"]+)"', svg)
    assert panels and len(panels) <= 16
    assert "111,111" in panels
    assert "W = 224 (pad 3:3)" in svg and "W' = 112" in svg
    assert "16 of the 12544 output positions drawn" in svg
    assert close(at(svg, "111,111", "229,229"), PAD)
    assert close(at(svg, "111,111", "228,228"), under_window(PAD))
    assert close(at(svg, "111,111", "222,222"), under_window(INPUT))
    assert close(at(svg, "111,111", "221,221"), INPUT)
    assert render_png(svg)[:4] == b"\x89PNG"


def test_animation_steps_through_every_window() -> None:
    """--animate: one figure; the window moves by a discrete animateTransform through the 9
    positions (row by row, 0.6 s each), with no script; a renderer without animation
    draws the first window."""
    svg = figure(
        "--input", "5x5", "--kernel", "3", "--stride", "2", "--padding", "1", "--animate"
    )  # fmt: skip
    root = ET.fromstring(svg)
    assert root.find(f".//{SVG}script") is None
    moves = [a for a in root.iter(f"{SVG}animateTransform")]
    assert len(moves) == 2  # the window and the output cell it produces
    values = moves[0].get("values", "").split(";")
    assert values[:4] == ["0,0", "36,0", "72,0", "0,36"]  # 2 cells of 18 px a step
    assert len(values) == 9 and moves[0].get("dur") == "5.4s"
    assert close(at(svg, "animated", "1,1"), under_window(INPUT))
    assert close(at(svg, "animated", "0,0", "out"), PRODUCED)


def test_animation_of_a_large_layer_shows_the_drawn_positions() -> None:
    svg = figure("--input", "100x100", "--kernel", "3", "--animate")
    root = ET.fromstring(svg)
    frames = [g for g in root.iter(f"{SVG}g") if g.find(f"{SVG}animate") is not None]
    assert len(frames) == 16
    assert frames[0].get("visibility") == "visible"
    assert all(f.get("visibility") == "hidden" for f in frames[1:])
    assert len(svg.encode()) < 1_000_000


def test_receptive_field_of_a_stack() -> None:
    """conv k=3 p=1, pool 2, conv k=3 p=1, pool 2 on 16x16 -> 4x4: the receptive field of
    output (1, 1) is 10x10 (1 + 2*1 + 1*1 + 2*2 + 1*2), input pixels 1..10."""
    result = invoke(
        ["conv-shape", "--input", "16x16", "--layer", "conv k=3 p=1", "--layer", "pool max k=2",
         "--layer", "conv k=3 p=1", "--layer", "pool max k=2", "--at", "1,1", "-o", "-",
         "--format", "svg"]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    svg = result.stdout
    assert "Receptive field of output (1, 1) after 4 layers: 10x10 input pixels" in svg
    assert "4 maxpool4: 10x10, pixels [1..10] x [1..10]" in svg
    assert "1 conv1: 3x3, pixels [3..5] x [3..5]" in svg
    shaded = colour_at(svg, *pixel_centre(svg, "1,1"))
    plain = colour_at(svg, *pixel_centre(svg, "0,0"))
    assert close(plain, INPUT)
    assert sum(shaded) < sum(plain) - 100  # inside the field: darker
    assert close(colour_at(svg, *pixel_centre(svg, "11,11")), INPUT)


def test_receptive_field_default_centre_and_padding() -> None:
    """At the centre by default; a field past the border shows the padding it reaches."""
    result = invoke(
        ["conv-shape", "--input", "8x8", "--layer", "conv k=5 p=2", "--layer", "conv k=5 p=2",
         "--diagram", "--format", "svg"]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "Receptive field of output (3, 3)" in result.stdout
    corner = invoke(
        ["conv-shape", "--input", "8x8", "--layer", "conv k=5 p=2", "--layer", "conv k=5 p=2",
         "--at", "0,0", "--format", "svg"]
    )  # fmt: skip
    svg = corner.stdout
    assert "pixels [-4..4] x [-4..4]" in svg
    assert sum(colour_at(svg, *pixel_centre(svg, "-4,-4"))) < sum(PAD) - 100  # shaded padding


def test_receptive_field_refusals() -> None:
    layers = ["--input", "8x8", "--layer", "conv k=3", "--layer", "convT k=2 s=2"]
    assert "transposed convolution" in assert_clean_error(
        invoke(["conv-shape", *layers, "--format", "svg"])
    )
    base = ["conv-shape", "--input", "8x8", "--layer", "conv k=3", "--format", "svg"]
    assert "--at" in assert_clean_error(invoke([*base, "--at", "6,0"]))
    assert "--at" in assert_clean_error(invoke([*base, "--at", "1,2,3"]))
    single = ["conv-shape", "--input", "8x8", "--kernel", "3"]
    assert "--at" in assert_clean_error(invoke([*single, "--format", "svg", "--at", "1,1"]))
    assert "--animate" in assert_clean_error(invoke([*single, "--animate"]))
    assert "--axis" in assert_clean_error(invoke([*single, "--axis", "H", "--format", "svg"]))


def test_svg_by_extension_and_refused_where_it_means_nothing(tmp_path: Path) -> None:
    out = tmp_path / "layer.svg"
    result = invoke(["conv-shape", "--input", "5x5", "--kernel", "3", "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    ET.fromstring(out.read_text())
    model = Path(__file__).parents[2] / "examples" / "models" / "resnet18.txt"
    by_name = tmp_path / "model.svg"  # a model's figure: its receptive field
    drawn = invoke(["conv-shape", "--net", str(model), "--input", "224x224", "-o", str(by_name)])
    assert drawn.exit_code == 0 and "Receptive field" in by_name.read_text()
    assert "--min-input" in assert_clean_error(
        invoke(["conv-shape", "--net", "examples/vgg16.json", "--min-input", "--format", "svg"])
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [("input", "pad"), ("input", "output"), ("output", "produced"), ("pad", "zero"),
     ("input", "dropped"), ("pad", "beyond")],
)  # fmt: skip
def test_colours_differ_in_lightness(a: str, b: str) -> None:
    """Kinds of cells that sit side by side stay apart in greyscale (relative luminance,
    WCAG's weights), not by hue alone."""

    def lightness(colour: str) -> float:
        r, g, b_ = (v / 255 for v in hex_rgb(colour))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    assert abs(lightness(STYLE[a][0]) - lightness(STYLE[b][0])) > 0.08 or STYLE[a][2] != STYLE[b][2]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("conv-k3-s2-p1.svg",
         ["--input", "5x5", "--kernel", "3", "--stride", "2", "--padding", "1"]),
        ("convT-k3-s2-p1-animated.svg",
         ["--input", "3x3", "--kernel", "3", "--stride", "2", "--padding", "1", "--transposed",
          "--output-padding", "1", "--animate"]),
        ("vgg16-receptive-field.svg",
         ["--net", "examples/vgg16.json", "--input", "224x224", "--in-channels", "3"]),
    ],
)  # fmt: skip
def test_the_readme_figures_are_what_hw3_draws(name: str, args: list[str]) -> None:
    """docs/*.svg, shown in the README, are hw3's output as it is now (regenerate them with
    the same command and -o docs/NAME when the drawing changes)."""
    root = Path(__file__).parents[2]
    committed = (root / "docs" / name).read_text()
    args = [str(root / a) if a.startswith("examples/") else a for a in args]
    assert figure(*args) == committed


MODELS = Path(__file__).parents[2] / "examples" / "models"


def test_receptive_field_of_a_printed_model() -> None:
    """ResNet-18 at 224x224: the main path's convolutions and poolings up to avgpool, 435
    pixels (by hand: conv1 7, maxpool +4 (jump 2), layer1 4 x 2 x 4 = +32, layer2 +8 and
    3 x 16, layer3 +16 and 3 x 32, layer4 +32 and 3 x 64: 435; Araujo et al., Distill
    2019, list 435 for ResNet-18); the downsample branches are left out."""
    result = invoke(
        ["conv-shape", "--net", str(MODELS / "resnet18.txt"), "--input", "224x224",
         "--format", "svg"]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    svg = result.stdout
    assert "Receptive field of output (3, 3) after 18 layers: 435x435 input pixels" in svg
    assert "layer2.0.downsample.0:" not in svg  # the branch is no layer of the path
    assert "up to avgpool (AdaptiveAvgPool2d), after which every output sees the whole input" in svg
    assert "18 layer4.1.conv2: 435x435, pixels [-121..313] x [-121..313]" in svg
    alexnet = invoke(
        ["conv-shape", "--net", str(MODELS / "alexnet.txt"), "--input", "224x224",
         "--diagram", "--format", "svg", "--at", "0,5"]
    )  # fmt: skip
    assert alexnet.exit_code == 0, alexnet.stderr
    # AlexNet's receptive field: 195 (Araujo et al., Distill 2019)
    assert "Receptive field of output (0, 5) after 8 layers: 195x195" in alexnet.stdout


def test_receptive_field_of_a_model_is_refused_where_it_cannot_be_followed(
    tmp_path: Path,
) -> None:
    mlp = tmp_path / "mlp.txt"
    mlp.write_text(
        "Sequential(\n  (0): Linear(in_features=4, out_features=3, bias=True)\n  (1): ReLU()\n)\n"
    )
    refused = invoke(["conv-shape", "--net", str(mlp), "--input", "4", "--format", "svg"])
    assert "no convolution or pooling" in assert_clean_error(refused)
    animated = invoke(["conv-shape", "--net", str(MODELS / "alexnet.txt"), "--input", "224x224",
                       "--format", "svg", "--at", "9,9"])  # fmt: skip
    assert "--at" in assert_clean_error(animated)


def test_animation_of_a_cifar_image_visits_every_window() -> None:
    """32x32 with k=3 p=1 (34 cells a side) is drawn whole when animated: 1024 positions,
    one translate each, under 1 MB (measured: about 250 kB); small multiples of it cut the
    middle instead (about 27 kB)."""
    svg = figure("--input", "32x32", "--kernel", "3", "--padding", "1", "--animate")
    root = ET.fromstring(svg)
    move = next(iter(root.iter(f"{SVG}animateTransform")))
    assert len(move.get("values", "").split(";")) == 1024
    assert len(svg.encode()) < 1_000_000
    panels = figure("--input", "32x32", "--kernel", "3", "--padding", "1")
    assert len(panels.encode()) < 100_000 and "dashed cuts" in panels
