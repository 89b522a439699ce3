"""Counts and memory of a stack or a model, per layer and in total: what ``--counts``,
``--counts-as``, ``--memory`` and ``--fit`` report (docs/formulas.md sections 6 and 7)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from hw3cli.core.counts import Counts, count_all, tool_count
from hw3cli.core.memory import Memory, Settings, fit_batch, step_memory
from hw3cli.core.ops import Op


class Request(NamedTuple):
    """What the user asked for: the tool whose number is the count, the counts table,
    the memory of a training step (its settings), the memory to fit a batch into, at
    ``batch``."""

    count_as: str = "macs"
    table: bool = False
    memory: Settings | None = None
    fit: int | None = None  # bytes
    batch: int = 1
    plain_count: bool = False  # plain output prints the count (--counts, --counts-as)


class Profile(NamedTuple):
    counts: Counts
    layer_counts: tuple[int, ...]  # per printed layer: the chosen tool's count
    hidden_count: int  # the chosen tool's count for steps that no printed layer shows
    memory: Memory | None
    layer_saved: tuple[int, ...]  # per printed layer: the saved bytes it adds first
    hidden_saved: int
    fit_batch: int | None
    notes: tuple[str, ...]
    request: Request


def profile(
    ops: Sequence[Op],
    layers: int,
    model_input: tuple[int, ...],
    params: int,
    request: Request,
    notes: Sequence[str] = (),
) -> Profile:
    """Counts, memory and the batch that fits, for the calls ``ops`` of ``layers``
    printed layers; a call's numbers go to its layer, a hidden step's to ``hidden``."""
    layer_counts = [0] * layers
    hidden = 0
    for op in ops:
        value = int(tool_count(request.count_as, op))
        if op.layer is None:
            hidden += value
        else:
            layer_counts[op.layer] += value
    memory = None
    layer_saved = [0] * layers
    hidden_saved = 0
    fit = None
    settings = request.memory
    if settings is not None or request.fit is not None:
        settings = settings or Settings()
        memory = step_memory(ops, model_input, params, request.batch, settings)
        for op, saved in zip(ops, memory.per_op, strict=True):
            if op.layer is None:
                hidden_saved += saved
            else:
                layer_saved[op.layer] += saved
        if request.fit is not None:
            fit = fit_batch(ops, model_input, params, request.fit, settings)
    return Profile(
        count_all(ops),
        tuple(layer_counts),
        hidden,
        memory,
        tuple(layer_saved),
        hidden_saved,
        fit,
        tuple(notes),
        request,
    )
