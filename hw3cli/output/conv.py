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
    from hw3cli.output.console import Column, Text, make_console, print_folded

    console = make_console(stream, colour)
    axes = result.axes
    print_folded(  # folded when narrow: no header or number is cut
        console,
        f"conv-shape: {result.spec.kind}",
        Column("axis", [a.name for a in axes], justify="left"),
        [
            Column("input", [str(a.input) for a in axes]),
            Column("kernel", [str(a.kernel) for a in axes]),
            Column("stride", [str(a.stride) for a in axes]),
            Column("dilation", [str(a.dilation) for a in axes]),
            Column("padding", [padding_text(a.padding) for a in axes]),
            Column("output", [Text(str(a.output), style="bold") for a in axes]),
            Column(
                "dropped", [Text(str(a.dropped), style="yellow" if a.dropped else "") for a in axes]
            ),
        ],
    )
    shape_in, shape_out = shapes(result, batch, layout)
    names = layout_name(len(result.axes), layout)
    console.print(Text(shape_change(names, shape_in, shape_out)))
    if result.spec.pool is None:
        console.print(Text(f"parameters {result.params:,}   MACs per sample {result.macs:,}"))
    for line in explanation or []:
        console.print(Text(line), soft_wrap=True)


# --- derivations (Markdown, LaTeX) ------------------------------------------------------


def layer_title(result: LayerResult) -> str:
    """``Conv2d k=3 s=2 p=1 d=1, 5x5 -> 3x3``: the layer as PyTorch names it, its values
    (one per axis where they differ), input and output size."""
    spec, axes, n = result.spec, result.axes, len(result.axes)

    def values(v: list[Any]) -> str:
        return str(v[0]) if len(set(v)) == 1 else "x".join(map(str, v))

    names = {"conv": "Conv", "convT": "ConvTranspose", "maxpool": "MaxPool", "avgpool": "AvgPool"}
    pad = values([padding_text(a.padding) for a in axes])
    if spec.padding == "same":
        pad = f"same ({','.join(f'{a.padding[0]}:{a.padding[1]}' for a in axes)})"
    words = [
        f"{names[spec.kind]}{n}d",
        f"k={values([a.kernel for a in axes])}",
        f"s={values([a.stride for a in axes])}",
        f"p={pad}",
        f"d={values([a.dilation for a in axes])}",
    ]
    if spec.transposed:
        words.append(f"op={values([a.output_padding for a in axes])}")
    if spec.ceil_mode:
        words.append("ceil")
    return " ".join(words) + f", {size_text(result.input)} -> {size_text(result.output)}"


def _ceil(top: str, bottom: str) -> str:
    return f"\\left\\lceil \\frac{{{top}}}{{{bottom}}} \\right\\rceil"


def axis_lines(axis: AxisResult, kind: str, index: int) -> tuple[list[Any], list[str]]:
    """The output size of one axis in the source document's notation (W' = floor((W + 2 p_1
    - k_1) / s_1 + 1)), then with this axis's numbers, then the value; and prose for what
    the numbers mean (a dilated kernel, 'same', ceil mode's last window, dropped pixels).
    Every number is core's (`AxisResult`)."""
    from hw3cli.output.derivation import Line

    n, a = axis.name, index + 1
    i, k, s, d = axis.input, axis.kernel, axis.stride, axis.dilation
    p_b, p_a = axis.padding
    lines: list[Line] = []
    prose: list[str] = []
    k_sym = f"k_{a}"
    if d > 1:
        lines.append(
            Line(
                f"k'_{a}",
                (f"d_{a} (k_{a} - 1) + 1", f"{d} ({k} - 1) + 1", str(axis.effective_kernel)),
            )
        )
        k_sym = f"k'_{a}"
    kk = axis.effective_kernel
    if p_b == p_a:
        pad_sym, pad_num = f"2 p_{a}", f"2 \\cdot {p_b}"
    else:
        pad_sym, pad_num = f"p_{a}^{{b}} + p_{a}^{{a}}", f"{p_b} + {p_a}"
        prose.append(
            f"Axis ${n}$: padding $p_{a}^{{b}} = {p_b}$ before and $p_{a}^{{a}} = {p_a}$ after."
        )
    if axis.same:
        lines.append(
            Line(
                f"p_{a}^{{b}} + p_{a}^{{a}}",
                (
                    f"\\max\\left(\\left({_ceil(n, f's_{a}')} - 1\\right) s_{a} + {k_sym} - {n},"
                    "\\ 0\\right)",
                    f"\\max\\left(\\left({_ceil(str(i), str(s))} - 1\\right) \\cdot {s} "
                    f"+ {kk} - {i},\\ 0\\right)",
                    str(p_b + p_a),
                ),
            )
        )
        prose.append(
            f"Axis ${n}$: padding 'same' (TensorFlow's rule): the total split as ${p_b}$ before "
            f"and ${p_a}$ after (the odd pixel after)."
        )
    if kind == "convT":
        lines.append(
            Line(
                f"{n}'",
                (
                    f"({n} - 1) s_{a} - ({pad_sym}) + {k_sym} + op_{a}",
                    f"({i} - 1) \\cdot {s} - ({pad_num}) + {kk} + {axis.output_padding}",
                    str(axis.output),
                ),
            )
        )
        return lines, prose
    frac = f"\\frac{{{n} + {pad_sym} - {k_sym}}}{{s_{a}}}"
    frac_num = f"\\frac{{{i} + {pad_num} - {kk}}}{{{s}}}"
    if kind.endswith("pool") and (axis.ceil_dropped_window or axis.ceil_window):
        less = " - 1" if axis.ceil_dropped_window else ""
        lines.append(
            Line(
                f"{n}'",
                (
                    f"\\left\\lfloor \\frac{{{n} + {pad_sym} - {k_sym} + s_{a} - 1}}{{s_{a}}} "
                    f"\\right\\rfloor + 1{less}",
                    f"\\left\\lfloor \\frac{{{i} + {pad_num} - {kk} + {s} - 1}}{{{s}}} "
                    f"\\right\\rfloor + 1{less}",
                    str(axis.output),
                ),
            )
        )
        prose.append(
            f"Axis ${n}$: ceil mode rounds up, so a last window may reach past the padding."
            + (
                f" Less one: that window would start at $({n}' - 1) s_{a} \\geq {n} + p_{a}$, "
                "past the input, and PyTorch drops it."
                if axis.ceil_dropped_window
                else ""
            )
        )
        return lines, prose
    lines.append(
        Line(
            f"{n}'",
            (
                f"\\left\\lfloor {frac} + 1 \\right\\rfloor",
                f"\\left\\lfloor {frac_num} + 1 \\right\\rfloor",
                str(axis.output),
            ),
        )
    )
    if axis.remainder:
        lines.append(
            Line(
                f"r_{a}",
                (
                    f"({n} + {pad_sym} - {k_sym}) \\bmod s_{a}",
                    f"({i} + {pad_num} - {kk}) \\bmod {s}",
                    str(axis.remainder),
                ),
            )
        )
        dropped = (
            f"$\\max(0, r_{a} - p_{a}^{{a}}) = {axis.dropped}$ of them input pixels, which no "
            "window covers: dropped."
            if axis.dropped
            else "all of them padding: no input pixel is dropped."
        )
        prose.append(f"Axis ${n}$: $r_{a}$ cells after the last window; {dropped}")
    return lines, prose


def shape_line(
    batch: int,
    c_in: int,
    c_out: int,
    size_in: tuple[int, ...],
    size_out: tuple[int, ...],
    layout: Layout,
) -> tuple[str, Any]:
    """The full shapes: prose for the input's, a Line for the output's, in the layout's
    letters (the source's (B, W', H', C'))."""
    from hw3cli.output.derivation import Line

    letters = list(layout_name(len(size_in), layout))
    spatial = set("WHD")
    shape_in = full_shape(batch, c_in, size_in, layout)
    shape_out = full_shape(batch, c_out, size_out, layout)
    names_out = [f"{x}'" if x in spatial or x == "C" else x for x in letters]
    return (
        f"Input $({', '.join(letters)}) = ({', '.join(map(str, shape_in))})$.",
        Line(f"({', '.join(names_out)})", (f"({', '.join(map(str, shape_out))})",)),
    )


def layer_derivation(result: LayerResult, batch: int, layout: Layout) -> Any:
    """One layer's output shape, axis by axis, as a `Derivation`."""
    from hw3cli.output.derivation import Block, Derivation

    lines: list[Any] = []
    prose: list[str] = []
    for index, axis in enumerate(result.axes):
        more, words = axis_lines(axis, result.spec.kind, index)
        lines += more
        prose += words
    first, shape = shape_line(
        batch, result.in_channels, result.out_channels, result.input, result.output, layout
    )
    kind = (
        "pooling"
        if result.spec.pool
        else "transposed convolution"
        if result.spec.transposed
        else "convolution"
    )
    intro = (
        "Per spatial axis, with $k$ kernel, $s$ stride, $p$ padding"
        + (", $d$ dilation" if any(a.dilation > 1 for a in result.axes) else "")
        + (", $op$ output padding" if result.spec.transposed else "")
        + f" (axis $a$ has subscript $a$), the {kind}'s output size is:"
    )
    return Derivation(
        f"Output shape: {layer_title(result)}",
        (
            Block(text=(intro,), lines=tuple(lines), after=tuple(prose)),
            Block(title="Shape", text=(first,), lines=(shape,)),
        ),
    )
