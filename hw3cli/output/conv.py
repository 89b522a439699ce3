"""conv-shape results as plain text, JSON, explanations and a Rich table.

One function per format; all of them read the same `LayerResult`.
"""

from __future__ import annotations

from typing import IO, Any

from hw3cli.core.conv import AxisResult, LayerResult
from hw3cli.core.layout import Layout, full_shape, layout_name


def size_text(sizes: tuple[int, ...]) -> str:
    """``(30, 30)`` -> ``30x30``."""
    return "x".join(str(v) for v in sizes)


def padding_text(padding: tuple[int, int]) -> str:
    before, after = padding
    return str(before) if before == after else f"{before}:{after}"


def shapes(result: LayerResult, batch: int, layout: Layout) -> tuple[list[int], list[int]]:
    """Full input and output shapes in the chosen layout."""
    shape_in = full_shape(batch, result.in_channels, result.input, layout)
    shape_out = full_shape(batch, result.out_channels, result.output, layout)
    return list(shape_in), list(shape_out)


def shape_change(names: str, shape_in: list[int], shape_out: list[int]) -> str:
    """``(1, 32, 32, 1) -> (1, 30, 30, 1)`` after the layout's letters."""
    return f"{names}: {tuple(shape_in)} -> {tuple(shape_out)}".replace(",)", ")")


def axis_json(axis: AxisResult) -> dict[str, Any]:
    return {
        "name": axis.name,
        "input": axis.input,
        "kernel": axis.kernel,
        "stride": axis.stride,
        "dilation": axis.dilation,
        "padding": list(axis.padding),
        "output_padding": axis.output_padding,
        "effective_kernel": axis.effective_kernel,
        "output": axis.output,
        "dropped": axis.dropped,
    }


def layer_json(
    result: LayerResult, batch: int, layout: Layout, explanation: list[str] | None
) -> dict[str, Any]:
    shape_in, shape_out = shapes(result, batch, layout)
    obj: dict[str, Any] = {
        "kind": result.spec.kind,
        "layout": layout_name(len(result.axes), layout),
        "input_shape": shape_in,
        "output_shape": shape_out,
        "in_channels": result.in_channels,
        "out_channels": result.out_channels,
        "axes": [axis_json(a) for a in result.axes],
        "params": result.params,
        "macs": result.macs,
        "warnings": list(result.warnings),
    }
    if explanation is not None:
        obj["explanation"] = explanation
    return obj


# --- explanations -----------------------------------------------------------------------


def _padding_sum(axis: AxisResult) -> str:
    before, after = axis.padding
    return f"2*{before}" if before == after else f"{before} + {after}"


def explain_axis(axis: AxisResult, kind: str) -> list[str]:
    """The formula of docs/formulas.md section 1 with this axis's numbers put in."""
    i, k, s, d = axis.input, axis.kernel, axis.stride, axis.dilation
    kk = axis.effective_kernel
    name = axis.name
    lines: list[str] = []
    if d > 1:
        lines.append(f"{name}: effective kernel k' = d*(k - 1) + 1 = {d}*({k} - 1) + 1 = {kk}")
    if axis.same:
        o_same = axis.output  # 'same' gives ceil(i / s)
        total = sum(axis.padding)
        lines.append(
            f"{name}: padding 'same' (TensorFlow's rule): ceil({i} / {s}) = {o_same}, total "
            f"= max(({o_same} - 1)*{s} + {kk} - {i}, 0) = {total} -> before "
            f"{axis.padding[0]}, after {axis.padding[1]}"
        )
    if kind == "convT":
        lines.append(
            f"{name}' = (i - 1)*s - (p_b + p_a) + k' + op = ({i} - 1)*{s} - ({_padding_sum(axis)})"
            f" + {kk} + {axis.output_padding} = {axis.output}"
        )
        return lines
    pads = _padding_sum(axis)
    if kind.endswith("pool") and (axis.ceil_dropped_window or axis.ceil_window):
        o_ceil = axis.output + (1 if axis.ceil_dropped_window else 0)
        lines.append(
            f"{name}' = floor(({i} + {pads} - {kk} + {s} - 1) / {s}) + 1 = {o_ceil}   (ceil mode)"
        )
        if axis.ceil_dropped_window:
            lines.append(
                f"{name}: the last window would start at ({o_ceil} - 1)*{s} = {(o_ceil - 1) * s}"
                f" >= {i} + {axis.padding[0]}, past the input: PyTorch drops it, "
                f"{name}' = {axis.output}"
            )
    else:
        lines.append(f"{name}' = floor(({i} + {pads} - {kk}) / {s}) + 1 = {axis.output}")
        remainder = axis.remainder
        if remainder:
            dropped = (
                f"{axis.dropped} input pixel{'s' if axis.dropped != 1 else ''} dropped"
                if axis.dropped
                else "all of it padding, no input pixel dropped"
            )
            lines.append(
                f"{name}: remainder ({i} + {pads} - {kk}) mod {s} = {remainder} "
                f"pixel{'s' if remainder != 1 else ''} after the last window: {dropped}"
            )
    return lines


def explain_layer(result: LayerResult, batch: int, layout: Layout) -> list[str]:
    """Every axis's formula, then the full shapes."""
    kind = result.spec.kind
    lines: list[str] = []
    for axis in result.axes:
        lines.extend(explain_axis(axis, kind))
    shape_in, shape_out = shapes(result, batch, layout)
    names = layout_name(len(result.axes), layout)
    lines.append(shape_change(f"({', '.join(names)})", shape_in, shape_out))
    return lines


# --- tables -----------------------------------------------------------------------------


def render_layer_table(
    result: LayerResult,
    batch: int,
    layout: Layout,
    explanation: list[str] | None,
    stream: IO[str],
    colour: bool,
) -> None:
    """A Rich table: one row per axis, then shapes, parameters and MACs."""
    from rich.table import Table

    from hw3cli.output.console import Text, make_console

    console = make_console(stream, colour)
    table = Table(title=f"conv-shape: {result.spec.kind}", title_justify="left")
    for column in ("axis", "input", "kernel", "stride", "dilation", "padding", "output"):
        table.add_column(column, justify="left" if column == "axis" else "right")
    table.add_column("dropped", justify="right")
    for a in result.axes:
        table.add_row(
            Text(a.name),
            Text(str(a.input)),
            Text(str(a.kernel)),
            Text(str(a.stride)),
            Text(str(a.dilation)),
            Text(padding_text(a.padding)),
            Text(str(a.output), style="bold"),
            Text(str(a.dropped), style="yellow" if a.dropped else ""),
        )
    console.print(table)
    shape_in, shape_out = shapes(result, batch, layout)
    names = layout_name(len(result.axes), layout)
    console.print(Text(shape_change(names, shape_in, shape_out)))
    if result.spec.pool is None:
        console.print(Text(f"parameters {result.params:,}   MACs per sample {result.macs:,}"))
    for line in explanation or []:
        console.print(Text(line), soft_wrap=True)
