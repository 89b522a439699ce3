"""Stacks of layers as JSON and as a Rich table."""

from __future__ import annotations

from typing import IO, Any

from hw3cli.core.layout import Layout, full_shape, layout_name
from hw3cli.core.network import StackResult
from hw3cli.output.conv import axis_json, explain_axis, shape_change


def stack_json(
    stack: StackResult, batch: int, layout: Layout, explanation: list[str] | None
) -> dict[str, Any]:
    n = len(stack.input)
    last = stack.layers[-1]
    layers = []
    for layer in stack.layers:
        r = layer.result
        layers.append(
            {
                "name": layer.name,
                "kind": r.spec.kind,
                "output_shape": list(full_shape(batch, r.out_channels, r.output, layout)),
                "params": r.params,
                "macs": r.macs,
                "receptive_field": [f.receptive_field for f in layer.fields],
                "jump": [f.jump for f in layer.fields],
                "start": [f.start for f in layer.fields],
                "axes": [axis_json(a) for a in r.axes],
                "warnings": list(r.warnings),
            }
        )
    obj: dict[str, Any] = {
        "layout": layout_name(n, layout),
        "input_shape": list(full_shape(batch, stack.in_channels, stack.input, layout)),
        "output_shape": list(full_shape(batch, stack.out_channels, stack.output, layout)),
        "axes": [
            {
                "name": a.name,
                "input": stack.input[i],
                "output": a.output,
                "dropped": sum(layer.result.axes[i].dropped for layer in stack.layers),
                "receptive_field": last.fields[i].receptive_field,
                "jump": last.fields[i].jump,
                "start": last.fields[i].start,
            }
            for i, a in enumerate(last.result.axes)
        ],
        "layers": layers,
        "params": stack.params,
        "macs": stack.macs,
        "warnings": list(stack.warnings),
    }
    if explanation is not None:
        obj["explanation"] = explanation
    return obj


def explain_stack(stack: StackResult, batch: int, layout: Layout) -> list[str]:
    lines: list[str] = []
    for layer in stack.layers:
        r = layer.result
        lines.append(f"{layer.name} ({r.spec.kind}):")
        for axis in r.axes:
            lines.extend("  " + line for line in explain_axis(axis, r.spec.kind))
        for axis, field in zip(r.axes, layer.fields, strict=True):
            if field.receptive_field is not None:
                lines.append(
                    f"  {axis.name}: receptive field {field.receptive_field}, jump {field.jump}, "
                    f"start {_number(field.start)}"
                )
    shape_in = full_shape(batch, stack.in_channels, stack.input, layout)
    shape_out = full_shape(batch, stack.out_channels, stack.output, layout)
    names = ", ".join(layout_name(len(stack.input), layout))
    lines.append(shape_change(f"({names})", list(shape_in), list(shape_out)))
    return lines


def _number(value: Any) -> str:
    """A float by ``:g`` (31.5), an int in full: ``:g`` would turn an int past 1.8e308 into
    a float, which fails."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _per_axis(values: list[Any]) -> str:
    if any(v is None for v in values):
        return "-"
    return "x".join(_number(v) for v in values)


def render_stack_table(
    stack: StackResult,
    batch: int,
    layout: Layout,
    explanation: list[str] | None,
    stream: IO[str],
    colour: bool,
) -> None:
    from rich.table import Table
    from rich.text import Text

    from hw3cli.output.console import make_console

    console = make_console(stream, colour)
    names = layout_name(len(stack.input), layout)
    table = Table(title=f"conv-shape: {len(stack.layers)} layers ({names})", title_justify="left")
    for column in ("#", "layer", "kind", "output shape", "params", "MACs", "RF", "jump", "start"):
        table.add_column(column, justify="left" if column in ("layer", "kind") else "right")
    shape_in = full_shape(batch, stack.in_channels, stack.input, layout)
    table.add_row(
        Text(""), Text("input"), Text(""), Text(str(shape_in)), *(Text("") for _ in range(5))
    )
    for i, layer in enumerate(stack.layers, start=1):
        r = layer.result
        shape = full_shape(batch, r.out_channels, r.output, layout)
        dropped = " !" if r.dropped else ""
        table.add_row(
            Text(str(i)),
            Text(layer.name),
            Text(r.spec.kind),
            Text(str(shape) + dropped, style="yellow" if dropped else ""),
            Text(f"{r.params:,}"),
            Text(f"{r.macs:,}"),
            Text(_per_axis([f.receptive_field for f in layer.fields])),
            Text(_per_axis([f.jump for f in layer.fields])),
            Text(_per_axis([f.start for f in layer.fields])),
        )
    table.add_row(
        Text(""),
        Text("total", style="bold"),
        Text(""),
        Text(""),
        Text(f"{stack.params:,}", style="bold"),
        Text(f"{stack.macs:,}", style="bold"),
        *(Text("") for _ in range(3)),
    )
    console.print(table)
    if any(layer.result.dropped for layer in stack.layers):
        console.print(Text("! the layer drops input pixels (see the warnings)"))
    for line in explanation or []:
        console.print(Text(line), soft_wrap=True)
