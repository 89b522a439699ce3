"""A model read from its Python source: JSON, plain text, CSV rows and a Rich tree table.

Shapes here are full shapes, batch axis first, as forward computed them. ``layers`` holds
one object per module call (``name``, ``kind``, ``output_shape``, ``params``, ``macs``,
``at``) and one per functional step (``op``, ``at``, ``module``, ``output_shape``), in the
order forward ran them.
"""

from __future__ import annotations

import math
from typing import IO, TYPE_CHECKING, Any

from hw3cli.errors import size_text

if TYPE_CHECKING:
    from hw3cli.core.profile import Profile

BYTES_FLOAT32 = 4


def _layout(shape: tuple[int, ...]) -> str:
    from hw3cli.core.layout import layout_name

    return layout_name(len(shape) - 2, "nchw") if len(shape) > 2 else "NF"


def _out(output: Any) -> Any:
    return [list(s) for s in output] if isinstance(output, list) else list(output)


def _activations(steps: list[dict[str, Any]]) -> int:
    return sum(math.prod(s["output_shape"]) for s in steps if "kind" in s)


def source_json(result: Any, spec: str, mode: str, found: Profile) -> dict[str, Any]:
    """The contract's JSON of a source model: the calls in order, totals, the counts
    (always), and the memory when asked."""
    from hw3cli.output.profile import layer_extras, profile_json

    layers = [
        {
            **{
                k: v
                for k, v in step.items()
                if not k.startswith("_") and not (k == "macs" and "op" in step and not v)
            },
            **layer_extras(found, i),
        }
        for i, step in enumerate(result.steps)
    ]
    obj = {
        "model": spec,
        "mode": mode,
        "layout": _layout(result.input),
        "input_shape": list(result.input),
        "output_shape": _out(result.output),
        "layers": layers,
        "params": result.params,
        "macs": result.macs,
        "param_bytes": result.params * BYTES_FLOAT32,
        "activation_bytes": _activations(result.steps) * BYTES_FLOAT32,
        **profile_json(found),
        "warnings": list(dict.fromkeys(result.warnings)),
    }
    obj.setdefault("notes", [])
    return obj


def source_plain(result: Any) -> str:
    if isinstance(result.output, list):
        return " ".join("x".join(map(str, s)) for s in result.output)
    return "x".join(map(str, result.output))


def source_rows(result: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": step.get("name", step.get("module", "")),
            "kind": step.get("kind", step.get("op", "")),
            "output_shape": "x".join(map(str, _flat(step["output_shape"]))),
            "params": step.get("params", 0),
            "macs": step.get("macs", 0),
            "at": step["at"],
        }
        for step in result.steps
    ]


def _flat(shape: list[Any]) -> list[Any]:
    return shape if not shape or not isinstance(shape[0], list) else shape[0]


def render_source_table(
    steps: list[dict[str, Any]],
    containers: list[tuple[str, str, int]],
    stream: IO[str],
    colour: bool,
    depth: int | None = None,
    totals: Any = None,
    title: str | None = None,
    found: Profile | None = None,
) -> None:
    """The calls as a tree: each container once, before its first call; module calls by
    their name, functional steps by their op and line."""
    from rich.table import Table
    from rich.text import Text

    from hw3cli.output.console import make_console, print_fitting
    from hw3cli.output.numbers import count

    console = make_console(stream, colour)
    kinds = {name: (kind, level) for name, kind, level in containers if name}
    from hw3cli.output.profile import count_label, render_profile

    rows: list[list[Any]] = []  # label, shape, params, macs (or the count asked for)
    index: dict[str, int] = {}  # container -> its row
    for i, step in enumerate(steps):
        owner = step.get("name", step.get("module", "")) or ""
        parts = owner.split(".") if owner else []
        top = len(parts) if "op" in step else len(parts) - 1
        shape = "x".join(map(str, _flat(step["output_shape"])))
        params = step.get("params", 0)
        macs = found.layer_counts[i] if found is not None else step.get("macs", 0)
        for level in range(1, top + 1):
            prefix = ".".join(parts[:level])
            if prefix not in kinds or (depth is not None and level > depth):
                continue
            if prefix not in index:
                index[prefix] = len(rows)
                label = f"{'  ' * (level - 1)}{parts[level - 1]}: {kinds[prefix][0]}"
                rows.append([label, shape, 0, 0])
            row = rows[index[prefix]]
            row[1], row[2], row[3] = shape, row[2] + params, row[3] + macs
        level = len(parts) if "kind" in step else len(parts) + 1
        if depth is not None and level > depth:
            continue
        if "kind" in step:
            label = f"{'  ' * (level - 1)}{parts[-1] if parts else step['name']}: {step['kind']}"
        else:
            label = f"{'  ' * (level - 1)}{step['op']} (line {step['at'].rsplit(':', 1)[-1]})"
        rows.append([label, shape, params, macs])

    from hw3cli.output.formats import refuse_long_table

    refuse_long_table(len(rows))

    def build(compact: bool) -> Table:
        table = Table(title=title or "model summary (from source)", title_justify="left")
        table.add_column("layer (type) / step", overflow="fold", min_width=8)
        for column in ("output shape", "params", count_label(found)):
            table.add_column(column, justify="right", no_wrap=True)
        for label, shape, params, macs in rows:
            table.add_row(
                Text(label), Text(shape), Text(count(params, compact)), Text(count(macs, compact))
            )
        return table

    print_fitting(console, build)
    if totals is not None:
        console.print(Text(f"total params: {totals.params:,}"))
        if found is None or found.request.count_as == "macs":
            console.print(Text(f"total MACs per sample: {totals.macs:,}"))
        else:
            total = found.counts.of(found.request.count_as)
            console.print(Text(f"total {count_label(found)} per sample: {total:,}"))
        console.print(Text(f"params size (float32): {size_text(totals.params * BYTES_FLOAT32)}"))
        activations = _activations(totals.steps) * BYTES_FLOAT32
        console.print(Text(f"layer outputs size (float32): {size_text(activations)}"))
        if found is not None:
            render_profile(found, console)
        for warning in dict.fromkeys(totals.warnings):
            console.print(Text(f"note: {warning}"), soft_wrap=True)
