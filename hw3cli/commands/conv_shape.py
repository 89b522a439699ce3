"""``hw3 conv-shape``: the output shape of a convolution or pooling layer."""

from __future__ import annotations

import sys
from typing import Any

import click

from hw3cli.commands._options import (
    INT_TUPLE,
    PADDING,
    format_option,
    layout_option,
    output_option,
)
from hw3cli.core.conv import LayerResult, LayerSpec, conv_layer, per_axis
from hw3cli.core.layout import Layout, axis_names
from hw3cli.errors import CheckFailed, InputError
from hw3cli.output import formats
from hw3cli.output.conv import size_text

EPILOG = """\b
Examples:
  hw3 conv-shape --input 32x32 --kernel 3,3
      30x30 (the source document's case)
  hw3 conv-shape --input 224x224 --kernel 7 --stride 2 --padding 3 --out-channels 64
  hw3 conv-shape --input 224 --kernel 3 --stride 2 --padding same --explain
      TensorFlow's 'same': 112, padding 0:1
  hw3 conv-shape --input 32 --kernel 3 --stride 2 --strict
      exit 1: one input pixel is covered by no window
  hw3 conv-shape --input 6 --kernel 1 --stride 2 --pool max --ceil-mode
  hw3 conv-shape --input 16x16 --kernel 4 --stride 2 --padding 1 --transposed
  hw3 conv-shape --input 32x32 --kernel 3 --format json | jq .output_shape
  hw3 conv-shape --input 32x32 --kernel 3 --expect 30x30   # exit 1 if not

\b
Sizes and tuples: numbers separated by ',' or 'x' (3,3 or 3x3); one number
applies to every axis. Padding: N, BEFORE:AFTER per axis (0:1,1:1), same, valid.
"""


@click.command(
    "conv-shape",
    epilog=EPILOG,
    short_help="Output shape of a convolution or pooling layer.",
)
@click.option(
    "--input",
    "input_size",
    type=INT_TUPLE,
    required=True,
    help="Spatial input size, 1 to 3 axes (W, H, D in bwhc), e.g. 32x32.",
)
@click.option("--kernel", type=INT_TUPLE, required=True, help="Kernel size, e.g. 3,3.")
@click.option(
    "--stride", type=INT_TUPLE, default=None, help="Stride [default: 1; pooling: the kernel]."
)
@click.option(
    "--padding",
    type=PADDING,
    default="0",
    show_default=True,
    help="N, BEFORE:AFTER per axis, same (TensorFlow's rule) or valid.",
)
@click.option("--dilation", type=INT_TUPLE, default="1", show_default=True, help="Dilation.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--in-channels", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--out-channels", type=click.IntRange(min=1), default=None, help="[default: in-channels]"
)
@click.option("--groups", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--bias/--no-bias", default=True, show_default=True, help="Count a bias.")
@click.option("--transposed", is_flag=True, help="A transposed convolution.")
@click.option(
    "--output-padding",
    type=INT_TUPLE,
    default="0",
    show_default=True,
    help="Extra output size of a transposed convolution (below stride or dilation).",
)
@click.option("--pool", type=click.Choice(["max", "avg"]), default=None, help="A pooling layer.")
@click.option("--ceil-mode", is_flag=True, help="Pooling with ceil instead of floor.")
@layout_option("Where batch and channels stand in the full shape.")
@click.option("--strict", is_flag=True, help="Dropped input pixels are an error (exit 1).")
@click.option("--explain", is_flag=True, help="Show the formula with the numbers put in.")
@click.option(
    "--expect",
    type=INT_TUPLE,
    default=None,
    metavar="WxH",
    help="Exit 1 unless the output spatial size is this.",
)
@format_option(("auto", "table", "json", "plain"), "plain")
@output_option
def conv_shape(
    input_size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...] | None,
    padding: Any,
    dilation: tuple[int, ...],
    batch: int,
    in_channels: int,
    out_channels: int | None,
    groups: int,
    bias: bool,
    transposed: bool,
    output_padding: tuple[int, ...],
    pool: str | None,
    ceil_mode: bool,
    layout: str,
    strict: bool,
    explain: bool,
    expect: tuple[int, ...] | None,
    fmt: str,
    output: str | None,
) -> None:
    """Output shape of a convolution, transposed convolution or pooling layer.

    Computes the output size per spatial axis with the source document's formula
    floor((W + 2p - k) / s) + 1, generalised to dilation, asymmetric padding and
    TensorFlow's 'same', and PyTorch's rules for transposed convolutions and pooling.
    Reports input pixels that no window covers, parameters and MACs.
    """
    lay: Layout = layout.lower()  # type: ignore[assignment]
    n = len(input_size)
    if not 1 <= n <= 3:
        raise InputError(f"1 to 3 spatial axes, got {n}", where="--input")
    tuples = {
        "--kernel": kernel,
        "--stride": stride,
        "--dilation": dilation,
        "--output-padding": output_padding,
    }
    for option, values in tuples.items():
        if values is not None:
            per_axis(values, n, option)
    if not isinstance(padding, str):
        per_axis(tuple(p[0] for p in padding), n, "--padding")
    if any(output_padding) and not transposed:
        raise InputError("applies only with --transposed", where="--output-padding")
    if ceil_mode and pool is None:
        raise InputError("applies only to pooling", where="--ceil-mode", hint="add --pool max")
    if pool is not None and transposed:
        raise InputError("--pool and --transposed exclude each other")

    spec = LayerSpec(
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        out_channels=out_channels,
        groups=groups,
        transposed=transposed,
        output_padding=output_padding,
        pool=pool,  # type: ignore[arg-type]
        ceil_mode=ceil_mode,
        bias=bias,
    )
    result = conv_layer(spec, input_size, in_channels, axis_names(n, lay))
    if expect is not None:
        expect = per_axis(expect, n, "--expect")

    for message in result.warnings:
        formats.warn(message)
    emit(result, batch, lay, explain, fmt, output)
    check(result, strict, expect)


def emit(
    result: LayerResult, batch: int, layout: Layout, explain: bool, fmt: str, output: str | None
) -> None:
    """Write the result in the resolved format to stdout or ``-o FILE``."""
    from hw3cli.output.conv import explain_layer, layer_json, render_layer_table, to_json

    fmt = formats.resolve_format(fmt.lower(), fallback="plain", output=output)
    explanation = explain_layer(result, batch, layout) if explain else None
    if fmt == "json":
        text = to_json(layer_json(result, batch, layout, explanation))
    elif fmt == "plain":
        text = size_text(result.output) + "\n"
        if explanation:
            text += "".join(line + "\n" for line in explanation)
    elif fmt == "table":
        to_terminal = output is None and formats.stdout_is_terminal()
        colour = formats.colour_enabled(to_terminal)
        if output is None or output == "-":
            render_layer_table(result, batch, layout, explanation, sys.stdout, colour)
            return
        import io

        buffer = io.StringIO()
        render_layer_table(result, batch, layout, explanation, buffer, False)
        text = buffer.getvalue()
    else:
        raise InputError(
            f"conv-shape cannot write {fmt}", where="--format", hint="use json, plain or table"
        )
    formats.write_text(text, output)


def check(result: LayerResult, strict: bool, expect: tuple[int, ...] | None) -> None:
    """--expect and --strict: exit 1 when they do not hold."""
    problems: list[str] = []
    if expect is not None and tuple(expect) != result.output:
        problems.append(
            f"--expect: expected {size_text(expect)}, computed {size_text(result.output)}"
        )
    if strict and result.dropped:
        axes = ", ".join(f"{a.name} drops {a.dropped}" for a in result.axes if a.dropped)
        problems.append(f"--strict: input pixels covered by no window ({axes})")
    if problems:
        raise CheckFailed("\n".join(problems))
