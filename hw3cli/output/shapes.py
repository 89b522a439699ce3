"""conv-shape's writers: one layer, a stack, a layer's diagram, the smallest input, and
`write`, the one place their text reaches stdout or ``-o FILE`` in the resolved format."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from hw3cli.core.conv import LayerResult
from hw3cli.core.layout import Layout, full_shape, layout_name
from hw3cli.errors import InputError
from hw3cli.output import formats

if TYPE_CHECKING:
    from hw3cli.core.profile import Profile


def write_layer(
    result: LayerResult,
    batch: int,
    layout: Layout,
    explain: bool,
    fmt: str,
    output: str | None,
    *,
    solved: bool = False,
    symmetric: tuple[int | None, ...] | None = None,
    plain_symmetric: bool = False,
    standalone: bool = False,
) -> None:
    """Write one layer in the resolved format to stdout or ``-o FILE``. ``solved``
    (--target): plain text is the padding, ``BEFORE:AFTER`` per axis (with
    ``plain_symmetric``, the symmetric padding p per axis), and JSON leads with both
    (``symmetric_padding``: p per axis, or null where none gives the target)."""
    from hw3cli.output.conv import explain_layer, layer_json, render_layer_table, size_text

    explanation = explain_layer(result, batch, layout) if explain else None
    padding = ",".join(f"{a.padding[0]}:{a.padding[1]}" for a in result.axes)
    lines = [f"padding for the target: {padding}"] if solved else []
    if solved and symmetric is not None:
        same = ",".join("none" if p is None else str(p) for p in symmetric)
        lines.append(f"symmetric padding (PyTorch's padding=p): {same}")
    lines += explanation or []

    def json_obj() -> dict[str, Any]:
        obj = layer_json(result, batch, layout, explanation)
        if not solved:
            return obj
        head: dict[str, Any] = {"padding": [list(a.padding) for a in result.axes]}
        if symmetric is not None:
            head["symmetric_padding"] = list(symmetric)
        return {**head, **obj}

    def plain() -> str:
        if plain_symmetric and symmetric is not None:
            return ",".join(str(p) for p in symmetric)
        return padding if solved else size_text(result.output)

    def document(kind: str) -> str:
        from hw3cli.output.conv import layer_derivation
        from hw3cli.output.derivation import render

        return render(layer_derivation(result, batch, layout), kind, standalone)

    write(
        fmt,
        output,
        json_obj=json_obj,
        plain=plain,
        explanation=explanation,
        document=document,
        table=lambda stream, colour: render_layer_table(
            result, batch, layout, lines, stream, colour
        ),
        rows=lambda: [
            {
                "name": result.spec.name or result.spec.kind,
                "kind": result.spec.kind,
                "output_shape": _shape_text(
                    full_shape(batch, result.out_channels, result.output, layout)
                ),
                "params": result.params,
                "macs": result.macs,
            }
        ],
    )


def write_stack(
    stack: Any,
    batch: int,
    layout: Layout,
    explain: bool,
    fmt: str,
    output: str | None,
    found: Profile | None = None,
    standalone: bool = False,
) -> None:
    """A stack of layers: per layer shapes and receptive fields, then the totals (and
    the counts and memory of ``found``)."""
    from hw3cli.output.conv import size_text
    from hw3cli.output.network import explain_stack, render_stack_table, stack_json

    def document(kind: str) -> str:
        from hw3cli.output.derivation import render
        from hw3cli.output.network import stack_derivation

        return render(stack_derivation(stack, batch, layout), kind, standalone)

    explanation = explain_stack(stack, batch, layout) if explain else None
    write(
        fmt,
        output,
        json_obj=lambda: stack_json(stack, batch, layout, explanation, found),
        plain=lambda: profile_plain(found) or size_text(stack.output),
        explanation=explanation,
        document=document,
        table=lambda stream, colour: render_stack_table(
            stack, batch, layout, explanation, stream, colour, found
        ),
        rows=lambda: stack_rows(stack, batch, layout),
    )


def profile_plain(found: Profile | None) -> str | None:
    """Plain output's numbers for --counts, --counts-as, --memory and --fit, if asked."""
    if found is None:
        return None
    from hw3cli.output.profile import plain_lines

    lines = plain_lines(found)
    return "\n".join(lines) if lines else None


def write_diagram(
    result: LayerResult, axis: str | None, fmt: str, output: str | None, animate: bool = False
) -> None:
    """One axis of a layer drawn (its windows over the padded input), or with ``svg`` the
    whole layer in 2-D (`hw3cli.output.svg`)."""
    from hw3cli.output.diagram import draw_axis, render
    from hw3cli.tensor_io.jsontext import dumps

    if formats.document_format(fmt, output) == "svg":
        from hw3cli.output.svg import layer_figure

        formats.write_text(layer_figure(result, animate), output)
        return

    names = [a.name for a in result.axes]
    chosen = axis.upper() if axis is not None else names[0]
    if chosen not in names:
        raise InputError(f"no axis {axis!r}; this layer has {', '.join(names)}", where="--axis")
    width, _ = formats.terminal_size(formats.stdout_is_terminal())
    lines = draw_axis(result.axes[names.index(chosen)], result.spec.kind, width)
    if formats.resolve_format(fmt.lower(), fallback="plain", output=output) == "json":
        formats.write_text(dumps({"axis": chosen, "diagram": lines}), output)
    else:
        formats.write_table(lambda stream, colour: render(lines, stream, colour), output)


def write(
    fmt: str,
    output: str | None,
    *,
    json_obj: Callable[[], Any],
    plain: Callable[[], str],
    explanation: list[str] | None,
    table: Callable[[IO[str], bool], None],
    rows: Callable[[], list[dict[str, Any]]] | None = None,
    document: Callable[[str], str] | None = None,
) -> None:
    """The one place conv-shape output is written, in the resolved format. ``rows``: one
    dict per layer, for CSV (its keys the header); ``document``: the derivation as
    ``markdown`` or ``latex``."""
    fmt = formats.resolve_format(
        fmt.lower(),
        fallback="plain",
        output=output,
        allowed=("json", "plain", "table", "csv", *formats.DOCUMENTS),
    )
    if fmt in ("markdown", "latex") and document is not None:
        formats.write_text(document(fmt), output)
        return
    if fmt == "json":
        from hw3cli.tensor_io.jsontext import dumps

        text = dumps(json_obj())
    elif fmt == "plain":
        from hw3cli.errors import escaped

        text = plain() + "\n" + "".join(escaped(line) + "\n" for line in explanation or [])
    elif fmt == "table":
        formats.write_table(table, output)
        return
    elif fmt == "csv" and rows is not None:
        text = rows_csv(rows())
    else:
        raise InputError(
            f"conv-shape cannot write {fmt} here",
            where="--format" if output is None else f"--format or -o {output}",
            hint="use json, plain or table"
            + (
                "; svg, markdown and latex are for a layer or a stack of --net JSON or --layer"
                if fmt in formats.DOCUMENTS
                else ""
            ),
        )
    formats.write_text(text, output)


def write_field(
    stack: Any, at: tuple[int, ...], output: str | None, note: str | None = None
) -> None:
    """A stack's receptive field of output position ``at`` as SVG (`hw3cli.output.svg`)."""
    from hw3cli.output.svg import field_figure

    formats.write_text(field_figure(stack, at, note), output)


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """Rows of a table as CSV, the keys of the first row as the header; text (a layer's
    name) with its control characters escaped (``\\x1b``), as every CSV hw3 writes."""
    import csv
    import io

    from hw3cli.errors import escaped

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(
        {k: escaped(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows
    )
    return buffer.getvalue()


def _shape_text(shape: Any) -> str:
    return "x".join(map(str, shape))


def stack_rows(stack: Any, batch: int, layout: Layout) -> list[dict[str, Any]]:
    """One row per layer: name, kind, output shape, params, MACs, receptive field per axis."""
    rows = []
    for layer in stack.layers:
        r = layer.result
        row: dict[str, Any] = {
            "name": layer.name,
            "kind": r.spec.kind,
            "output_shape": _shape_text(full_shape(batch, r.out_channels, r.output, layout)),
            "params": r.params,
            "macs": r.macs,
        }
        for axis, field in zip(r.axes, layer.fields, strict=True):
            rf = field.receptive_field
            row[f"receptive_field_{axis.name}"] = "" if rf is None else rf
        rows.append(row)
    return rows


def write_min_input(
    sizes: tuple[int, ...],
    stack: Any,
    layers: int,
    batch: int,
    in_channels: int,
    layout: Layout,
    fmt: str,
    output: str | None,
) -> None:
    """--min-input: the smallest input every layer accepts, and what it gives."""
    from hw3cli.core.layout import axis_names
    from hw3cli.output.conv import size_text

    n = len(sizes)
    names = axis_names(n, layout)
    resolved = formats.resolve_format(fmt.lower(), fallback="plain", output=output)
    if resolved == "json":
        from hw3cli.tensor_io.jsontext import dumps

        text = dumps(
            {
                "min_input": list(sizes),
                "layout": layout_name(n, layout),
                "input_shape": list(full_shape(batch, in_channels, sizes, layout)),
                "output_shape": list(full_shape(batch, stack.out_channels, stack.output, layout)),
            }
        )
    elif resolved == "table":
        text = (
            f"smallest input: {size_text(sizes)} ({', '.join(names)}); it gives "
            f"{size_text(stack.output)} after {layers} layer{'s' if layers > 1 else ''}\n"
        )
    else:
        text = size_text(sizes) + "\n"
    formats.write_text(text, output)
