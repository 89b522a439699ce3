"""Stacks of layers as JSON and as a Rich table."""

from __future__ import annotations

from typing import IO, Any

from hw3cli.core.conv import LayerResult
from hw3cli.core.layout import Layout, full_shape, layout_name
from hw3cli.core.network import StackResult
from hw3cli.core.profile import Profile
from hw3cli.errors import plural
from hw3cli.output.conv import axis_json, explain_axis, shape_change
from hw3cli.output.profile import count_label, layer_extras, profile_json


def stack_json(
    stack: StackResult,
    batch: int,
    layout: Layout,
    explanation: list[str] | None,
    found: Profile | None = None,
) -> dict[str, Any]:
    n = len(stack.input)
    last = stack.layers[-1]
    layers: list[dict[str, Any]] = []
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
                **(layer_extras(found, len(layers)) if found is not None else {}),
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
        **(profile_json(found) if found is not None else {}),
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
    found: Profile | None = None,
) -> None:
    from rich.table import Table

    from hw3cli.output.console import Text, make_console, print_fitting
    from hw3cli.output.formats import refuse_long_table
    from hw3cli.output.numbers import count

    refuse_long_table(len(stack.layers))
    console = make_console(stream, colour)
    names = layout_name(len(stack.input), layout)
    counts = found.layer_counts if found is not None else [la.result.macs for la in stack.layers]
    saved = found.layer_saved if found is not None else [0] * len(stack.layers)

    def build(compact: bool) -> Table:
        """Exact numbers and every column; compact: counts as ``14.7 M``, without the
        layer numbers, the jump and the start (JSON has them all)."""
        table = Table(
            title=f"conv-shape: {plural(len(stack.layers), 'layer')} ({names})",
            title_justify="left",
        )
        label = count_label(found)
        columns = ["#", "layer", "kind", "output shape", "params", label, "RF", "jump", "start"]
        if found is not None and found.memory is not None:
            columns.insert(6, "saved")
        shown = [c for c in columns if not (compact and c in ("#", "jump", "start"))]
        for column in shown:
            words = column in ("layer", "kind")
            table.add_column(
                column,
                justify="left" if words else "right",
                no_wrap=not words,
                overflow="fold",
                min_width=4 if words else None,
            )

        def row(cells: dict[str, Text]) -> None:
            table.add_row(*(cells.get(c, Text("")) for c in shown))

        shape_in = full_shape(batch, stack.in_channels, stack.input, layout)
        row({"layer": Text("input"), "output shape": Text(_shape(shape_in))})
        for i, layer in enumerate(stack.layers, start=1):
            r = layer.result
            shape = full_shape(batch, r.out_channels, r.output, layout)
            dropped = " !" if r.dropped else ""
            row(
                {
                    "#": Text(str(i)),
                    "layer": Text(layer.name),
                    "kind": Text(r.spec.kind),
                    "output shape": Text(
                        _shape(shape) + dropped, style="yellow" if dropped else ""
                    ),
                    "params": Text(count(r.params, compact)),
                    label: Text(count(counts[i - 1], compact)),
                    "saved": Text(count(saved[i - 1], compact)),
                    "RF": Text(_per_axis([f.receptive_field for f in layer.fields])),
                    "jump": Text(_per_axis([f.jump for f in layer.fields])),
                    "start": Text(_per_axis([f.start for f in layer.fields])),
                }
            )
        row(
            {
                "layer": Text("total", style="bold"),
                "params": Text(count(stack.params, compact), style="bold"),
                label: Text(count(sum(counts), compact), style="bold"),
                "saved": Text(count(sum(saved), compact), style="bold"),
            }
        )
        return table

    print_fitting(console, build)
    if any(layer.result.dropped for layer in stack.layers):
        console.print(Text("! the layer drops input pixels (see the warnings)"))
    for line in explanation or []:
        console.print(Text(line), soft_wrap=True)
    if found is not None:
        from hw3cli.output.profile import render_profile

        render_profile(found, console)


def _shape(shape: tuple[int, ...]) -> str:
    """A tensor shape for a table: ``1x224x224x3``."""
    return "x".join(map(str, shape))


def layer_row(name: str, r: LayerResult) -> Any:
    """One layer as one line of a derivation: each axis's output size with the numbers put
    in (the source document's formula), and the output channels of a convolution."""
    from hw3cli.output.conv import axis_lines
    from hw3cli.output.derivation import BREAK, Line, tex_label

    parts = []
    for index, axis in enumerate(r.axes):
        size = [line for line in axis_lines(axis, r.spec.kind, index)[0] if line.lhs.endswith("'")]
        line = size[-1]
        parts.append(f"{line.lhs} = {line.steps[1]} = {line.steps[2]}")
    if r.spec.pool is None:
        parts.append(f"C' = {r.out_channels}")
    # one axis a row (two axes side by side pass the page's width)
    text = f",{BREAK}".join(parts[: len(r.axes)])
    if r.spec.pool is None:
        text += f",\\quad {parts[-1]}"
    return Line(tex_label(name), (text,), rel="")


def field_block(stack: StackResult, note: str | None = None) -> Any:
    """The receptive field of one output pixel by its closed form, r = 1 + sum_l (k'_l - 1)
    prod_{m<l} s_m, each term with its numbers (the jump before the layer is the product)."""
    from hw3cli.output.derivation import Block, Line, literal

    field_lines: list[Line] = []
    last = stack.layers[-1]
    undefined = next(
        (i for i, layer in enumerate(stack.layers) if layer.result.spec.transposed), None
    )
    if undefined is not None:
        prose = (
            "The receptive field is not defined through a transposed convolution (layer "
            f"{undefined + 1}, {literal(stack.layers[undefined].name)})."
        )
        return Block(title="Receptive field", text=(prose,))
    for a, axis in enumerate(last.result.axes):
        terms = []
        jump = 1
        for layer in stack.layers:
            terms.append(f"({layer.result.axes[a].effective_kernel} - 1) \\cdot {jump}")
            jump = layer.fields[a].jump or 0
        rows = [" + ".join(terms[i : i + 4]) for i in range(0, len(terms), 4)]
        steps = (
            "1 + \\sum_l (k'_l - 1) \\prod_{m<l} s_m",
            "1 + " + " \\\\ &\\quad + ".join(rows),
            str(last.fields[a].receptive_field),
        )
        field_lines.append(Line(f"r_{{{axis.name}}}", steps))
    prose = (
        "Receptive field of one output pixel, in input pixels ($k'_l$ the effective kernel "
        "of layer $l$, the product of the strides before it its jump)"
        + (f"; {literal(note)}." if note else ":")
    )
    return Block(title="Receptive field", text=(prose,), lines=tuple(field_lines))


def stack_derivation(stack: StackResult, batch: int, layout: Layout) -> Any:
    """A stack as a `Derivation`: one line per layer (each axis's output size with the
    numbers put in), the receptive field by its closed form, and the full shapes."""
    from hw3cli.output.conv import shape_line
    from hw3cli.output.derivation import Block, Derivation

    rows = [layer_row(layer.name, layer.result) for layer in stack.layers]
    intro = (
        "Each layer's output size per axis, by the source document's formula "
        "(axis $a$ has subscript $a$):"
    )
    first, shape = shape_line(
        batch, stack.in_channels, stack.out_channels, stack.input, stack.output, layout
    )
    title = f"Output shape of {plural(len(stack.layers), 'layer')}: " + (
        f"{'x'.join(map(str, stack.input))} -> {'x'.join(map(str, stack.output))}"
    )
    blocks = (
        Block(text=(intro,), lines=tuple(rows)),
        field_block(stack),
        Block(title="Shape", text=(first,), lines=(shape,)),
    )
    return Derivation(title, blocks)
