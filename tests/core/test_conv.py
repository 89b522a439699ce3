"""Output sizes of convolution and pooling layers (docs/formulas.md section 1).

Golden values say where they come from; properties are checked against a brute-force
placement of windows on the padded axis, a second method independent of the formulas.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hw3cli.core.conv import (
    LayerSpec,
    conv_layer,
    conv_output_size,
    dropped_pixels,
    effective_kernel,
    pool_output_size,
    same_padding,
    transposed_output_size,
)
from hw3cli.errors import InputError


def brute_force(i: int, k: int, s: int, d: int, p_b: int, p_a: int) -> tuple[int, int]:
    """Slide windows along the padded axis: (number of windows, real pixels after the last)."""
    span = effective_kernel(k, d)
    length = p_b + i + p_a
    starts = [t for t in range(0, length, s) if t + span <= length]
    if not starts:
        return 0, 0
    last_covered = starts[-1] + span - 1
    real = range(p_b, p_b + i)
    return len(starts), sum(1 for x in real if x > last_covered)


# --- golden cases -------------------------------------------------------------------------


def test_source_document_case() -> None:
    # The source document: W' = floor((W + 2p - k) / s + 1) with W=32, k=3, s=1, p=0 -> 30.
    result = conv_layer(LayerSpec(kernel=(3, 3)), (32, 32))
    assert result.output == (30, 30)
    assert result.dropped == 0


def test_pytorch_conv2d_docs_example() -> None:
    # torch.nn.Conv2d docs: Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2),
    # dilation=(3, 1)) on 50x100 gives 26x100 (H = floor((50 + 8 - 3*2 - 1)/2) + 1).
    spec = LayerSpec(
        kernel=(3, 5), stride=(2, 1), padding=((4, 4), (2, 2)), dilation=(3, 1), out_channels=33
    )
    result = conv_layer(spec, (50, 100), in_channels=16)
    assert result.output == (26, 100)
    assert result.params == 3 * 5 * 16 * 33 + 33


def test_alexnet_first_layer() -> None:
    # torchvision AlexNet: Conv2d(3, 64, 11, stride=4, padding=2) maps 224 to 55.
    spec = LayerSpec(kernel=(11,), stride=(4,), padding=((2, 2),), out_channels=64)
    result = conv_layer(spec, (224, 224), in_channels=3)
    assert result.output == (55, 55)
    assert result.params == 11 * 11 * 3 * 64 + 64  # 23,296 in torchvision's summary
    assert result.macs == 55 * 55 * 64 * 11 * 11 * 3


@pytest.mark.parametrize(
    ("i", "k", "s", "ceil", "expected"),
    [
        (6, 1, 2, False, 3),  # docs/formulas.md: PyTorch's MaxPool1d(1, 2) on 6 gives 3 ...
        (6, 1, 2, True, 3),  # ... and with ceil_mode=True still 3 (last window rule), not 4
        (32, 2, 2, True, 16),  # docs/formulas.md (PyTorch): i=32, k=2, s=2, ceil -> 16
        (5, 2, 2, True, 3),  # ceil mode keeps a last window that starts inside the input
        (5, 2, 2, False, 2),
    ],
)
def test_pooling_examples(i: int, k: int, s: int, ceil: bool, expected: int) -> None:
    spec = LayerSpec(kernel=(k,), stride=(s,), pool="max", ceil_mode=ceil)
    assert conv_layer(spec, (i,)).output == (expected,)


def test_pool_stride_defaults_to_kernel() -> None:
    assert conv_layer(LayerSpec(kernel=(2,), pool="avg"), (32, 32)).output == (16, 16)


@pytest.mark.parametrize(
    ("i", "k", "s", "expected_o", "padding"),
    [
        (224, 3, 2, 112, (0, 1)),  # TensorFlow 'SAME': the odd pixel goes after
        (224, 7, 2, 112, (2, 3)),  # ResNet stem in TF: total 5 = 2 + 3
        (5, 3, 2, 3, (1, 1)),  # o = ceil(5/2) = 3, total = (3-1)*2 + 3 - 5 = 2
        (32, 3, 1, 32, (1, 1)),  # stride 1 keeps the size
        (5, 1, 2, 3, (0, 0)),  # total = max((3-1)*2 + 1 - 5, 0) = 0
    ],
)
def test_same_padding_tensorflow_rule(
    i: int, k: int, s: int, expected_o: int, padding: tuple[int, int]
) -> None:
    assert same_padding(i, k, s) == padding
    result = conv_layer(LayerSpec(kernel=(k,), stride=(s,), padding="same"), (i,))
    assert result.output == (expected_o,)
    assert result.axes[0].padding == padding
    assert result.axes[0].same


def test_dropped_pixel_example() -> None:
    # docs/formulas.md: i=32, k=3, s=2, p=0 gives 15 and drops one input pixel.
    result = conv_layer(LayerSpec(kernel=(3,), stride=(2,)), (32,))
    assert result.output == (15,)
    assert result.axes[0].dropped == 1
    assert len(result.warnings) == 1
    assert "pixel 31" in result.warnings[0]


def test_padding_after_absorbs_the_remainder() -> None:
    # r = (32 + 0 + 1 - 3) mod 2 = 0: the extra pixel after makes every input pixel covered.
    result = conv_layer(LayerSpec(kernel=(3,), stride=(2,), padding=((0, 1),)), (32,))
    assert result.output == (16,)
    assert result.dropped == 0


def test_transposed_dcgan_upsampling() -> None:
    # PyTorch ConvTranspose2d(k=4, s=2, p=1) doubles the size: (16 - 1)*2 - 2 + 4 = 32.
    spec = LayerSpec(kernel=(4,), stride=(2,), padding=((1, 1),), transposed=True, out_channels=8)
    result = conv_layer(spec, (16, 16), in_channels=4)
    assert result.output == (32, 32)
    assert (
        result.macs == 16 * 16 * 4 * 4 * 4 * 8
    )  # counted by input size (docs/formulas.md section 2)
    assert result.params == 4 * 4 * 4 * 8 + 8


def test_transposed_output_padding() -> None:
    spec = LayerSpec(
        kernel=(3,), stride=(2,), padding=((1, 1),), transposed=True, output_padding=(1,)
    )
    assert conv_layer(spec, (16,)).output == (32,)


def test_groups_change_params_not_shape() -> None:
    dense = conv_layer(LayerSpec(kernel=(3,), out_channels=8), (10, 10), in_channels=4)
    grouped = conv_layer(LayerSpec(kernel=(3,), out_channels=8, groups=4), (10, 10), in_channels=4)
    assert dense.output == grouped.output == (8, 8)
    assert dense.params == 9 * 4 * 8 + 8
    assert grouped.params == 9 * 1 * 8 + 8


def test_padding_lets_a_2d_pool_window_exceed_the_input() -> None:
    # PyTorch: AvgPool2d(4, padding=2) on 3x3 gives 1x1 (floor((3 + 4 - 4) / 4) + 1);
    # only the 3-D average pool refuses an input smaller than the kernel.
    spec = LayerSpec(kernel=(4,), pool="avg", padding=((2, 2),))
    assert conv_layer(spec, (3, 3)).output == (1, 1)


def test_three_axes() -> None:
    result = conv_layer(LayerSpec(kernel=(3, 3, 1), stride=(1, 1, 1)), (16, 16, 8))
    assert result.output == (14, 14, 8)
    assert [a.name for a in result.axes] == ["W", "H", "D"]


# --- refusals: every impossible layer names the axis and the numbers ------------------------


@pytest.mark.parametrize(
    ("spec", "size", "words"),
    [
        (LayerSpec(kernel=(7,)), (4,), ["axis W", "4", "7"]),
        (LayerSpec(kernel=(3,), stride=(0,)), (8,), ["axis W", "stride", "0"]),
        (LayerSpec(kernel=(0,)), (8,), ["kernel", "0"]),
        (LayerSpec(kernel=(3,), dilation=(0,)), (8,), ["dilation", "0"]),
        (LayerSpec(kernel=(3,), dilation=(4,)), (8,), ["effective kernel 9"]),
        (
            LayerSpec(kernel=(3,), stride=(2,), transposed=True, output_padding=(2,)),
            (8,),
            ["output padding 2", "stride (2)"],
        ),
        (LayerSpec(kernel=(3,), pool="max", padding=((2, 2),)), (8,), ["floor(3/2) = 1"]),
        (LayerSpec(kernel=(2,), pool="avg", dilation=(2,)), (8,), ["dilation"]),
        (LayerSpec(kernel=(3,), out_channels=6, groups=4), (8,), ["4", "in-channels (4)"]),
        (LayerSpec(kernel=(3,), padding="same", transposed=True), (8,), ["same"]),
        (LayerSpec(kernel=(3,), output_padding=(1,)), (8,), ["transposed"]),
        (LayerSpec(kernel=(3,), ceil_mode=True), (8,), ["pooling"]),
        (LayerSpec(kernel=(3, 3)), (8, 8, 8), ["2 values", "3 spatial axes"]),
        (LayerSpec(kernel=(3,), pool="max", out_channels=3), (8,), ["keeps the channels"]),
        (LayerSpec(kernel=(3,)), (0,), ["input size"]),
        # PyTorch's AvgPool3d refuses an axis smaller than the kernel even with padding
        # (found by comparing with PyTorch 2.13; MaxPool3d and AvgPool2d accept it)
        (LayerSpec(kernel=(4,), pool="avg", padding=((2, 2),)), (3, 8, 8), ["3-D average"]),
        (
            LayerSpec(kernel=(3,), transposed=True, padding=((3, 3),)),
            (1,),
            ["output size would be -3"],
        ),
    ],
)
def test_impossible_layers_are_refused(
    spec: LayerSpec, size: tuple[int, ...], words: list[str]
) -> None:
    with pytest.raises(InputError) as info:
        conv_layer(spec, size, in_channels=4)
    text = info.value.render()
    for word in words:
        assert word in text


# --- properties ------------------------------------------------------------------------------

sizes = st.integers(1, 300)
kernels = st.integers(1, 12)
strides = st.integers(1, 6)
dilations = st.integers(1, 4)
pads = st.integers(0, 8)


@given(sizes, kernels, strides, dilations, pads, pads)
def test_conv_matches_brute_force(i: int, k: int, s: int, d: int, p_b: int, p_a: int) -> None:
    windows, dropped = brute_force(i, k, s, d, p_b, p_a)
    spec = LayerSpec(kernel=(k,), stride=(s,), dilation=(d,), padding=((p_b, p_a),))
    if windows == 0:
        with pytest.raises(InputError):
            conv_layer(spec, (i,))
        return
    result = conv_layer(spec, (i,))
    assert result.output == (windows,)
    assert result.axes[0].dropped == dropped
    # docs/formulas.md: dropped = max(0, r - p_a), r = (i + p_b + p_a - k') mod s; capped at i
    # because with more leading padding than input (i=1, p_b=2, k=1, s=3) the uncovered
    # tail can reach back into the leading padding.
    r = (i + p_b + p_a - effective_kernel(k, d)) % s
    assert dropped == min(i, max(0, r - p_a))
    assert result.output[0] >= 1


@given(sizes, kernels, strides, st.booleans())
def test_pool_output_at_least_one_and_last_window_starts_inside(
    i: int, k: int, s: int, ceil: bool
) -> None:
    p = k // 2
    o, _ = pool_output_size(i, k, s, 1, p, p, ceil)
    assume(o >= 1)
    assert (o - 1) * s < i + p  # every window starts in the input or the leading padding
    floor_o = conv_output_size(i, k, s, 1, p, p)
    assert o - floor_o in ((0, 1) if ceil else (0,))


@given(sizes, kernels, strides, dilations, pads)
def test_transposed_inverts_conv_with_remainder_as_output_padding(
    i: int, k: int, s: int, d: int, p: int
) -> None:
    o = conv_output_size(i, k, s, d, p, p)
    assume(o >= 1)
    r = (i + 2 * p - effective_kernel(k, d)) % s
    spec = LayerSpec(
        kernel=(k,),
        stride=(s,),
        dilation=(d,),
        padding=((p, p),),
        transposed=True,
        output_padding=(r,),
    )
    assert conv_layer(spec, (o,)).output == (i,)
    assert transposed_output_size(o, k, s, d, p, p, r) == i


@given(sizes, kernels, dilations)
def test_same_with_stride_one_keeps_the_size(i: int, k: int, d: int) -> None:
    result = conv_layer(LayerSpec(kernel=(k,), dilation=(d,), padding="same"), (i,))
    assert result.output == (i,)
    assert result.dropped == 0


@given(sizes, kernels, strides, dilations)
def test_same_gives_ceil_of_size_over_stride(i: int, k: int, s: int, d: int) -> None:
    result = conv_layer(LayerSpec(kernel=(k,), stride=(s,), dilation=(d,), padding="same"), (i,))
    assert result.output == (-(-i // s),)
    p_b, p_a = result.axes[0].padding
    assert p_a - p_b in (0, 1)


@given(sizes, kernels, strides, pads, pads)
def test_dropped_pixels_never_exceed_input(i: int, k: int, s: int, p_b: int, p_a: int) -> None:
    o = conv_output_size(i, k, s, 1, p_b, p_a)
    assume(o >= 1)
    assert 0 <= dropped_pixels(i, k, s, 1, p_b, p_a, o) <= min(i, s - 1)


def test_grid_of_a_transposed_convolution_is_the_direct_one() -> None:
    """Dumoulin and Visin's relation: a transposed convolution (i, k, s, p) is a direct
    convolution of stride 1 over the input with s - 1 zeros between pixels and k - 1 - p
    zeros on each side (+ op after); its output size is the transposed formula's."""
    from hw3cli.core.conv import conv_output_size
    from hw3cli.core.grid import grid

    for i, k, s, p, op, d in [(3, 3, 2, 1, 1, 1), (4, 4, 2, 1, 0, 1), (5, 3, 1, 0, 0, 2),
                              (4, 1, 2, 1, 0, 1), (2, 3, 3, 2, 2, 1)]:  # fmt: skip
        spec = LayerSpec((k,), (s,), ((p, p),), (d,), transposed=True, output_padding=(op,))
        axis = conv_layer(spec, (i,)).axes[0]
        g = grid(axis, True)
        assert g.cells == (i - 1) * s + 1 and g.spacing == s and g.stride == 1
        length = g.length - g.crop_before - g.crop_after
        assert conv_output_size(length, k, 1, d, 0, 0) == axis.output
        assert g.window(axis.output - 1) + g.span == g.length - g.crop_after
        pixels = [x for x in range(g.length) if g.cell(x) == "input"]
        assert len(pixels) == i - (g.crop_before + s - 1) // s - (g.crop_after + s - 1) // s
    # p > k' - 1: the direct convolution crops (i=4, k=1, s=2, p=1: 7 cells, 1 cut each side)
    g = grid(conv_layer(LayerSpec((1,), (2,), ((1, 1),), transposed=True), (4,)).axes[0], True)
    assert (g.before, g.after, g.crop_before, g.crop_after, g.output) == (0, 0, 1, 1, 5)
    assert [g.cell(x) for x in range(7)] == [
        "cropped",
        "zero",
        "input",
        "zero",
        "input",
        "zero",
        "cropped",
    ]


def test_grid_cells_of_a_convolution_and_ceil_mode() -> None:
    from hw3cli.core.grid import grid

    g = grid(conv_layer(LayerSpec((3,), (2,)), (6,)).axes[0], False)  # pixel 5 dropped
    assert [g.cell(x) for x in range(6)] == ["input"] * 5 + ["dropped"]
    assert list(g.taps(1)) == [2, 3, 4] and g.beyond == 0
    pool = LayerSpec((2,), pool="max", ceil_mode=True)
    g = grid(conv_layer(pool, (5,)).axes[0], False)  # windows 0, 2, 4: the last reaches 5
    assert g.output == 3 and g.beyond == 1 and g.cell(5) == "beyond"
    g = grid(conv_layer(LayerSpec((3,), dilation=(2,), padding=((1, 2),)), (7,)).axes[0], False)
    assert list(g.taps(0)) == [0, 2, 4] and g.cell(0) == "pad" and g.cell(9) == "pad"
