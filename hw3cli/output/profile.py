"""Counts and memory as JSON keys, plain lines and tables (conv-shape on stacks and
models)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hw3cli.core.counts import TOOLS
from hw3cli.core.profile import Profile
from hw3cli.errors import size_text

if TYPE_CHECKING:
    from rich.console import Console

# what each number counts, for the table (docs/formulas.md section 6)
MEANING = {
    "macs": "hw3: multiply-accumulates of convolutions and Linear layers, no bias",
    "flops": "hw3: 2 x MACs",
    "torchinfo": "total_mult_adds: conv params x output positions, other layers' params",
    "fvcore": "FlopCountAnalysis.total(): conv/linear MACs, norm, upsampling, adaptive pool",
    "ptflops": "get_model_complexity_info (pytorch backend): MACs with bias, norm, "
    "activations, pooling",
    "thop": "ultralytics-thop profile: MACs without bias, norm, avg pooling, softmax",
    "flop_counter": "torch.utils.flop_counter: 2 x MACs of convolutions and matmuls",
}
MEMORY_KEYS = (
    "weights",
    "gradients",
    "optimizer_state",
    "saved_activations",
    "training_total",
    "inference_peak",
)


def profile_json(found: Profile) -> dict[str, Any]:
    """``counts`` always; ``memory`` and its settings when asked; ``fit_batch`` with --fit;
    ``notes`` on what the numbers leave out."""
    obj: dict[str, Any] = {"counts": {tool: found.counts.of(tool) for tool in TOOLS}}
    if found.request.count_as != "macs":
        obj["count_as"] = found.request.count_as
    memory = found.memory
    if memory is not None and found.request.memory is not None:
        settings = found.request.memory
        obj["memory"] = {key: getattr(memory, key) for key in MEMORY_KEYS}
        obj["memory_settings"] = {
            "batch": memory.batch,
            "optimizer": settings.optimizer,
            "dtype": "float32+float16 (amp)" if settings.amp else settings.dtype,
            "amp": settings.amp,
        }
    if found.request.fit is not None:
        obj["fit_batch"] = found.fit_batch
        obj["fit_bytes"] = found.request.fit
    if found.notes:
        obj["notes"] = list(found.notes)
    return obj


def layer_extras(found: Profile, index: int) -> dict[str, Any]:
    """Per layer: the chosen tool's count (with --counts-as) and the bytes of saved
    activations it adds first (with --memory)."""
    extra: dict[str, Any] = {}
    if found.request.count_as != "macs":
        extra[found.request.count_as] = found.layer_counts[index]
    if found.memory is not None:
        extra["saved_activations"] = found.layer_saved[index]
    return extra


def plain_lines(found: Profile) -> list[str] | None:
    """The numbers plain output prints instead of the shape, or None: the count (with
    --counts or --counts-as), then the batch that fits (--fit) or the training total
    (--memory)."""
    lines: list[str] = []
    if found.request.plain_count:
        lines.append(str(found.counts.of(found.request.count_as)))
    if found.request.fit is not None:
        lines.append("none" if found.fit_batch is None else str(found.fit_batch))
    elif found.memory is not None:
        lines.append(str(found.memory.training_total))
    return lines or None


def count_label(found: Profile | None) -> str:
    """The header of the count column: ``MACs``, or the tool's name."""
    if found is None or found.request.count_as == "macs":
        return "MACs"
    return found.request.count_as


def render_profile(found: Profile, console: Console) -> None:
    """After a stack's or a model's table: the hidden steps' share of the count, the
    counts table (--counts), the memory (--memory) and the batch that fits (--fit)."""
    from rich.table import Table
    from rich.text import Text

    if found.hidden_count:
        console.print(
            Text(
                f"{count_label(found)} of steps the print does not show (adds, pooling "
                f"in forward, a module called again): {found.hidden_count:,}"
            ),
            soft_wrap=True,
        )
    if found.request.table:
        table = Table(title="counts per sample", title_justify="left")
        table.add_column("tool")
        table.add_column("count", justify="right", no_wrap=True)
        table.add_column("what it counts", overflow="fold")
        for tool in TOOLS:
            style = "bold" if tool == found.request.count_as else ""
            table.add_row(
                Text(tool, style=style),
                Text(f"{found.counts.of(tool):,}", style=style),
                Text(MEANING[tool]),
            )
        console.print(table)
    memory = found.memory
    if memory is not None and found.request.memory is not None:
        settings = found.request.memory
        dtype = "amp (float32 weights, float16 activations)" if settings.amp else settings.dtype
        table = Table(
            title=f"memory of a training step (batch {memory.batch}, {dtype}, "
            f"{settings.optimizer})",
            title_justify="left",
        )
        table.add_column("part")
        table.add_column("bytes", justify="right", no_wrap=True)
        table.add_column("", justify="right", no_wrap=True)
        for key in MEMORY_KEYS:
            value = getattr(memory, key)
            table.add_row(Text(key.replace("_", " ")), Text(f"{value:,}"), Text(size_text(value)))
        console.print(table)
    if found.request.fit is not None:
        answer = "none needed" if found.fit_batch is None else f"{found.fit_batch:,}"
        console.print(Text(f"largest batch that fits in {size_text(found.request.fit)}: {answer}"))
    for note in found.notes:
        console.print(Text(f"note: {note}"), soft_wrap=True)
