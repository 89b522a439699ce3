"""Whole-model results as JSON, plain text and a Rich tree table (conv-shape --net MODEL).

Shapes gain the batch axis here: ``[batch, C, H, W]`` (PyTorch's NCHW) or ``[batch, F]``.
"""

from __future__ import annotations

from typing import IO, Any

from hw3cli.core.layout import layout_name
from hw3cli.core.model import Leaf, ModelResult
from hw3cli.core.profile import Profile
from hw3cli.errors import size_text
from hw3cli.output.profile import count_label, layer_extras, profile_json

BYTES_FLOAT32 = 4


def _shape(batch: int, shape: tuple[int, ...]) -> list[int]:
    return [batch, *shape]


def model_json(result: ModelResult, batch: int, found: Profile | None = None) -> dict[str, Any]:
    """The contract's JSON: one object per leaf layer in the order run, then totals, the
    counts, and the memory when asked.

    A step the print does not show carries ``inferred`` (the assumption) and, for a
    functional call, ``op``; ``inferred`` at the top lists the assumptions (empty when
    the print order fits), ``notes`` the steps that are the only possible reading (and
    what the counts leave out). A forward returning several heads gives ``output_shape``
    as a list of shapes.
    """
    output: Any = _shape(batch, result.output)
    if result.heads:
        output = [_shape(batch, shape) for shape in result.outputs]
    obj: dict[str, Any] = {
        "layout": layout_name(len(result.input) - 1, "nchw") if len(result.input) > 1 else "NF",
        "input_shape": _shape(batch, result.input),
        "output_shape": output,
        "layers": [
            {**_layer_json(leaf, batch), **(layer_extras(found, i) if found is not None else {})}
            for i, leaf in enumerate(result.leaves)
        ],
        "params": result.params,
        "macs": result.macs,
        "param_bytes": result.params * BYTES_FLOAT32,
        "activation_bytes": result.activations * batch * BYTES_FLOAT32,
        **(profile_json(found) if found is not None else {}),
        "inferred": list(result.inferred),
        "warnings": list(result.warnings),
    }
    obj["notes"] = list(result.notes) + list(obj.get("notes", []))
    return obj


def _layer_json(leaf: Leaf, batch: int) -> dict[str, Any]:
    layer: dict[str, Any] = {
        "name": leaf.name,
        "kind": leaf.kind,
        "output_shape": _shape(batch, leaf.output),
        "params": leaf.params,
        "macs": leaf.macs,
    }
    if leaf.op is not None:
        layer["op"] = leaf.op
    if leaf.inferred is not None:
        layer["inferred"] = leaf.inferred
    return layer


def model_rows(result: ModelResult, batch: int) -> list[dict[str, Any]]:
    """One CSV row per layer: name, kind, output shape, params, MACs."""
    return [
        {
            "name": leaf.name,
            "kind": leaf.kind,
            "output_shape": "x".join(map(str, _shape(batch, leaf.output))),
            "params": leaf.params,
            "macs": leaf.macs,
        }
        for leaf in result.leaves
    ]


def model_plain(result: ModelResult, batch: int) -> str:
    """The final shape, ``1x7`` (batch first); several heads separated by spaces."""
    return " ".join("x".join(map(str, _shape(batch, shape))) for shape in result.outputs)


def render_model_table(
    result: ModelResult,
    batch: int,
    stream: IO[str],
    colour: bool,
    depth: int | None = None,
    leaves: tuple[Leaf, ...] | None = None,
    title: str | None = None,
    found: Profile | None = None,
) -> None:
    """The tree: names indented by depth, output shapes, params and MACs, then totals and
    float32 memory. With ``depth``, layers deeper than it are folded into their ancestor
    at that depth (their params and MACs added up, the last output shape shown)."""
    from rich.table import Table

    from hw3cli.output.console import Text, make_console, print_fitting
    from hw3cli.output.formats import refuse_long_table
    from hw3cli.output.numbers import count

    kinds = {name: kind for name, kind, _ in result.containers}
    shown = leaves if leaves is not None else result.leaves
    label = count_label(found)
    if found is not None:  # the chosen tool's count in the count column, saved bytes
        shown = tuple(leaf._replace(macs=found.layer_counts[i]) for i, leaf in enumerate(shown))
    memory = found is not None and found.memory is not None
    saved = (
        dict(zip((leaf.name for leaf in shown), found.layer_saved, strict=False)) if found else {}
    )
    rows = _folded(shown, depth, kinds)
    refuse_long_table(len(rows))
    console = make_console(stream, colour)

    def build(compact: bool) -> Table:
        table = Table(title=title or "model summary", title_justify="left")
        table.add_column("layer (type)", overflow="fold", min_width=8)
        for column in ("output shape", "params", label) + (("saved",) if memory else ()):
            table.add_column(column, justify="right", no_wrap=True)
        for name, kind, level, output, params, macs in rows:
            text = f"{'  ' * max(level - 1, 0)}{_label(name, kind)}"
            cells = [
                Text(text),
                Text("x".join(map(str, _shape(batch, output)))),
                Text(count(params, compact)),
                Text(count(macs, compact)),
            ]
            if memory:
                inside = [v for k, v in saved.items() if k == name or k.startswith(name + ".")]
                cells.append(Text(count(sum(inside), compact)))
            table.add_row(*cells)
        return table

    print_fitting(console, build)
    if leaves is None:
        console.print(Text(f"total params: {result.params:,}"))
        total = found.counts.of(found.request.count_as) if found is not None else result.macs
        console.print(Text(f"total {label} per sample: {total:,}"))
        console.print(Text(f"params size (float32): {size_text(result.params * BYTES_FLOAT32)}"))
        activations = result.activations * batch * BYTES_FLOAT32
        console.print(
            Text(f"layer outputs size (float32, batch {batch}): {size_text(activations)}")
        )
        for warning in result.warnings:
            console.print(Text(f"note: {warning}"), soft_wrap=True)
        if found is not None:
            from hw3cli.output.profile import render_profile

            render_profile(found, console)
        if any(leaf.inferred for leaf in result.leaves):
            console.print(Text(f"{INFERRED_MARK}: a step the print does not show, inferred"))


INFERRED_MARK = "(inferred)"


def _label(name: str, kind: str) -> str:
    """A row's label: the module's own name and class; an inferred step marked."""
    if kind.endswith(INFERRED_MARK):
        return kind if name.startswith(("F.", "torch.")) else f"{name.rsplit('.', 1)[-1]}: {kind}"
    return f"{name.rsplit('.', 1)[-1]}: {kind}"


def _folded(
    leaves: tuple[Leaf, ...], depth: int | None, kinds: dict[str, str]
) -> list[tuple[str, str, int, tuple[int, ...], int, int]]:
    """(name, kind, depth, output, params, macs) rows of the tree: each container on a row
    of its own before its first layer (its params and MACs the sum of its layers', its
    output its last layer's), then its layers indented; with ``depth``, what is nested
    deeper is folded into its container's row."""
    rows: list[tuple[str, str, int, tuple[int, ...], int, int]] = []
    index: dict[str, int] = {}  # container name -> its row
    for leaf in leaves:
        parts = leaf.name.split(".")
        for level in range(1, len(parts)):
            prefix = ".".join(parts[:level])
            if prefix not in kinds or (depth is not None and level > depth):
                continue
            if prefix not in index:
                index[prefix] = len(rows)
                rows.append((prefix, kinds[prefix], level, leaf.output, 0, 0))
            name, kind, lvl, _, params, macs = rows[index[prefix]]
            rows[index[prefix]] = (
                name,
                kind,
                lvl,
                leaf.output,
                params + leaf.params,
                macs + leaf.macs,
            )
        if depth is None or leaf.depth <= depth:
            kind = leaf.op or leaf.kind
            if leaf.inferred is not None:
                kind = f"{kind} {INFERRED_MARK}"
            rows.append((leaf.name, kind, leaf.depth, leaf.output, leaf.params, leaf.macs))
    return rows


def model_derivation(result: ModelResult, stack: Any, note: str, batch: int) -> Any:
    """A printed model as a `Derivation`: every layer in the order run (a convolution's or
    pooling's output size by the source document's formula, any other layer's output
    shape), the receptive field of its main path (``stack``, with ``note`` on where the path
    ends), and the shapes in PyTorch's (N, C, H, W)."""
    from hw3cli.output.derivation import Block, Derivation, Line, tex_label, tex_text
    from hw3cli.output.network import field_block, layer_row

    path = {layer.name: layer.result for layer in stack.layers}
    rows = []
    for leaf in result.leaves:
        if leaf.name in path:
            rows.append(layer_row(leaf.name, path[leaf.name]))
        else:
            out = f"({', '.join(map(str, leaf.output))})"
            rows.append(Line(tex_label(leaf.name), (f"{tex_text(leaf.kind)} \\to {out}",), rel=""))
    names = (
        list(layout_name(len(result.input) - 1, "nchw")) if len(result.input) > 1 else ["N", "F"]
    )
    shape_in = ", ".join(map(str, _shape(batch, result.input)))
    out_names = names if len(result.output) == len(result.input) else ["N", "F"]
    shape_out = ", ".join(map(str, _shape(batch, result.output)))
    blocks = (
        Block(
            text=(
                "Each layer in the order run: a convolution's or pooling's output size per "
                "axis by the source document's formula (axis $a$ has subscript $a$), any "
                "other layer's output shape (C, H, W):",
            ),
            lines=tuple(rows),
        ),
        field_block(stack, note),
        Block(
            title="Shape",
            text=(f"Input $({', '.join(names)}) = ({shape_in})$.",),
            lines=(Line(f"({', '.join(out_names)})", (f"({shape_out})",)),),
        ),
    )
    title = f"Output shape of a model of {len(result.leaves)} layers: " + (
        f"{'x'.join(map(str, result.input))} -> {'x'.join(map(str, result.output))}"
    )
    return Derivation(title, blocks)


def min_input_json(low: int, high: int | None, result: ModelResult, batch: int) -> dict[str, Any]:
    """--min-input on a model: the smallest input (every spatial axis alike), the largest
    where only a bounded range works (else null), and the model run at the smallest."""
    n = len(result.input) - 1
    return {
        "min_input": [low] * n,
        "max_input": None if high is None else [high] * n,
        "layout": layout_name(n, "nchw") if n else "NF",
        "input_shape": _shape(batch, result.input),
        "output_shape": _shape(batch, result.output),
        "inferred": list(result.inferred),
        "notes": list(result.notes),
        "warnings": list(result.warnings),
    }
