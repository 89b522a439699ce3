"""``conv-shape --net FILE.py[:SPEC]``: a model read from its Python source, never run.

Imported only when ``--net`` names a ``.py`` file. The model's options (``--input`` as a
spatial or a full shape, ``--batch``, ``--expect``, ``--min-input``, the counts and memory)
are `hw3cli.commands._model`'s, as for a printed model: this module gives that code a
`ModelRun` that interprets forward, and the `View` that writes a source model's result.
"""

from __future__ import annotations

import time
from typing import IO, TYPE_CHECKING, Any

from hw3cli.errors import InputError, Undecided
from hw3cli.output import formats

if TYPE_CHECKING:
    from hw3cli.commands._model import ModelInput, ModelOptions, View
    from hw3cli.core.model import Leaf, ModelResult
    from hw3cli.core.profile import Profile, Request
    from hw3cli.source import Built, Forward

Shape = tuple[int, ...]
SEARCH_SECONDS = 10  # --min-input: the longest the search over input sizes may take

# Options of a single layer or of a JSON stack that a source model does not take.
NOT_FOR_SOURCE = (
    "target", "diagram", "explain", "strict", "layer_specs", "axis", "layout", "animate",
    "at", "standalone",
)  # fmt: skip


def refuse_options(given: frozenset[str]) -> None:
    from hw3cli.commands._model import refuse_options as refuse

    refuse(given, NOT_FOR_SOURCE, "a model read from source")


def run_source(net: str, mode: str, opts: ModelOptions) -> None:
    """Build the model; run forward at --input, or search the sizes it takes (--min-input)."""
    from hw3cli.commands._model import input_shape, min_input, run_whole, search_input
    from hw3cli.source import read_model, split_net

    path, spec = split_net(net)
    training = mode == "train"
    built = read_model(path, spec, training)
    model = model_input(built.root)
    if not opts.min_input:
        shape, batch = input_shape(opts, model)
        last: list[Forward] = []
        run_whole(_runner(built, last, opts), shape, batch, opts, _view(built, last, mode))
        return
    channels, n, batch = search_input(opts, model)
    from hw3cli.source.interpreter import MAX_SECONDS

    ends = time.monotonic() + SEARCH_SECONDS
    built.interp.whole_batch = True  # a size where view(-1, ...) changes the batch: refused

    def run_at(size: int) -> ModelResult:
        # one model for every size (forward reads its state, as PyTorch's does); each run
        # its own step budget, the whole search bounded
        now = time.monotonic()
        if now > ends:
            raise Undecided(
                f"searching the input sizes takes more than {SEARCH_SECONDS} s",
                where="--min-input",
                hint="give --input with a size the model takes",
            )
        built.interp.steps = 0
        built.interp.deadline = min(now + MAX_SECONDS, ends)
        return as_result(_forward(built, (batch, channels, *(size,) * n)))

    min_input([("", run_at)], batch, opts)


def model_input(root: Any) -> ModelInput:
    """What the model's first layers say of its input (as `run_printed` asks a print)."""
    from hw3cli.commands._model import ModelInput
    from hw3cli.core.model import declared_in_channels, first_changing, starts_with_linear
    from hw3cli.source.values import walk

    first = next((m.base for _, m in walk(root) if m.base in ("Conv1d", "Conv2d", "Conv3d")), None)
    linear: Any = first_changing(root)
    features = None
    if linear is not None and linear.base == "Linear":
        value = linear.kwargs.get("in_features")
        features = value if isinstance(value, int) else None
    return ModelInput(
        declared_in_channels(root),
        int(first[-2]) if first is not None else None,
        first or "",
        starts_with_linear(root),
        features,
    )


def _forward(built: Built, shape: Shape) -> Forward:
    from hw3cli.source import run_forward

    return run_forward(built, shape)


def _runner(built: Built, last: list[Forward], opts: ModelOptions) -> Any:
    """The `ModelRun` of a source model: forward on a tensor of ``batch x shape``; on a
    terminal table, a failure first shows the steps that ran before it."""

    def run(shape: Shape, batch: int, seen: list[Leaf] | None) -> ModelResult:
        try:
            forward = _forward(built, (batch, *shape))
        except InputError as e:
            _show_steps_before(built, opts)
            for warning in built.interp.warnings:
                formats.warn(warning)
            raise (Undecided if isinstance(e, Undecided) else InputError)(
                e.message, where=e.where, hint=e.hint
            ) from None
        last.append(forward)
        return as_result(forward)

    return run


def _show_steps_before(built: Built, opts: ModelOptions) -> None:
    from hw3cli.output import source as out

    recorder = built.interp.recorder
    resolved = formats.resolve_format(opts.fmt.lower(), fallback="plain", output=opts.output)
    if (
        resolved == "table"
        and recorder is not None
        and 0 < len(recorder.steps) <= formats.MAX_TABLE_ROWS
        and opts.output in (None, "-")
    ):
        formats.write_table(
            lambda stream, colour: out.render_source_table(
                recorder.steps,
                recorder.containers,
                stream,
                colour,
                opts.depth,
                title="the steps before",
            ),
            None,
        )


def as_result(forward: Forward) -> ModelResult:
    """A forward run as the `ModelResult` that --expect and --min-input read: shapes
    without the batch axis, one leaf per module call or functional step."""
    from hw3cli.core.model import Leaf, ModelResult

    leaves = tuple(
        Leaf(
            step.get("name", step.get("module", "")) or "",
            step.get("kind", step.get("op", "")),
            0,
            tuple(_first(step["output_shape"])[1:]),
            step.get("params", 0),
            step.get("macs", 0),
            op=step.get("op"),
        )
        for step in forward.steps
    )
    outputs = forward.output if isinstance(forward.output, list) else [forward.output]
    called = sum({leaf.name: leaf.params for leaf in leaves if leaf.op is None}.values())
    return ModelResult(
        tuple(forward.input[1:]),
        tuple(outputs[-1][1:]),
        leaves,
        tuple(forward.containers),
        tuple(dict.fromkeys(forward.warnings)),
        heads=tuple(tuple(s[1:]) for s in outputs[:-1]),
        held=(("not called in forward", forward.params - called),)
        if forward.params != called
        else (),
    )


def _first(shape: Any) -> Any:
    return shape[0] if shape and isinstance(shape[0], list) else shape


def _view(built: Built, last: list[Forward], mode: str) -> View:
    """A source model's result as hw3cli.output.source writes it, from the forward run."""
    from hw3cli.commands._model import View
    from hw3cli.output import source as out

    def profile(result: ModelResult, request: Request) -> Profile:
        from hw3cli.commands._profile import source_profile

        return source_profile(last[-1], request)

    def json_obj(result: ModelResult, batch: int, found: Profile) -> dict[str, Any]:
        return out.source_json(last[-1], built.spec, mode, found)

    def table(
        result: ModelResult, batch: int, stream: IO[str], colour: bool, depth: int | None,
        found: Profile,
    ) -> None:  # fmt: skip
        forward = last[-1]
        out.render_source_table(
            forward.steps, forward.containers, stream, colour, depth, totals=forward, found=found
        )

    return View(
        profile,
        json_obj,
        lambda result, batch: out.source_plain(last[-1]),
        table,
        lambda result, batch: out.source_rows(last[-1]),
    )
