"""``conv-shape --counts / --counts-as / --memory / --fit`` on a stack or a model: the
options as a `Request`, and the profile of what was run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hw3cli.commands._options import MEMORY_OPTIONS, PROFILE_OPTIONS
from hw3cli.errors import InputError
from hw3cli.output import formats

if TYPE_CHECKING:
    from hw3cli.core.model import ModelResult
    from hw3cli.core.network import StackResult
    from hw3cli.core.profile import Profile, Request


def request_of(args: Any) -> Request:
    """The request the options make; --optimizer, --dtype, --amp and --fit imply --memory."""
    from hw3cli.core.memory import Settings
    from hw3cli.core.profile import Request

    if args.amp and "dtype" in args.given and args.dtype != "float32":
        raise InputError(
            "--amp keeps float32 weights and half-precision activations by itself",
            where="--dtype",
            hint="leave --dtype out with --amp",
        )
    wants_memory = args.memory or any(name in args.given for name in MEMORY_OPTIONS)
    settings = Settings(args.optimizer.lower(), args.dtype.lower(), args.amp)
    return Request(
        count_as=(args.counts_as or "macs").lower(),
        table=args.counts,
        memory=settings if wants_memory else None,
        fit=args.fit,
        batch=args.batch,
        plain_count=args.counts or args.counts_as is not None,
    )


def refuse(given: frozenset[str], mode: str) -> None:
    """These options describe a stack or a model, not a single layer or a solving mode."""
    for name in PROFILE_OPTIONS:
        if name in given:
            raise InputError(
                f"works on a stack or a model (--net, --layer), not {mode}",
                where="--" + name.replace("_", "-"),
                hint="describe the layer with --layer, e.g. --layer 'conv k=3 p=1 out=64'",
            )


def stack_profile(stack: StackResult, request: Request) -> Profile:
    from hw3cli.core.ops import stack_ops
    from hw3cli.core.profile import profile

    ops = stack_ops(stack)
    return profile(ops, len(stack.layers), (stack.in_channels, *stack.input), stack.params, request)


def model_profile(result: ModelResult, request: Request) -> Profile:
    from hw3cli.core.ops import model_ops
    from hw3cli.core.profile import profile

    ops, notes = model_ops(result)
    return profile(ops, len(result.leaves), result.input, result.params, request, notes)


def report(found: Profile, fmt: str, output: str | None) -> None:
    """After the result: warnings for what the numbers leave out (when counts or memory
    were asked for, and not in a table, which shows them; JSON has them as ``notes``
    always), and for a --fit that nothing meets."""
    request = found.request
    table = formats.resolve_format(fmt.lower(), fallback="plain", output=output) == "table"
    asked = request.plain_count or request.table or request.memory is not None
    if asked and not table:
        for note in found.notes:
            formats.warn(note)
    if found.request.fit is not None and found.memory is not None:
        from hw3cli.errors import size_text

        if found.fit_batch == 0:
            formats.warn(
                f"--fit: not even batch 1 fits in {size_text(found.request.fit)} (fit_batch is 0)"
            )
        elif found.fit_batch is None:
            formats.warn("--fit: nothing this network keeps grows with the batch")


def source_profile(forward: Any, request: Request) -> Profile:
    """A model read from source: forward's module calls and functional steps, each a row."""
    from hw3cli.core.ops import Call, source_ops
    from hw3cli.core.profile import profile

    calls = []
    for step in forward.steps:
        output = step["output_shape"]
        first = output[0] if output and isinstance(output[0], list) else output
        calls.append(
            Call(
                step.get("name", step.get("module", "")) or "",
                step.get("kind", step.get("_kind")),
                step.get("op"),
                tuple(step.get("_in", first)[1:]),
                tuple(first[1:]),
                step.get("params", 0),
                step.get("_args", {}),
                tuple(step.get("_from", ())),
                step.get("_inplace", False),
            )
        )
    ops, notes = source_ops(calls)
    return profile(ops, len(ops), tuple(forward.input[1:]), forward.params, request, notes)
