"""``conv-shape --net FILE.py[:SPEC]``: a model read from its Python source, never run.

Imported only when ``--net`` names a ``.py`` file.
"""

from __future__ import annotations

from hw3cli.errors import InputError, Undecided
from hw3cli.output import formats

# Options of a single layer or of a JSON stack that a source model does not take.
NOT_FOR_SOURCE = (
    "target", "min_input", "diagram", "explain", "strict", "layer_specs", "axis", "layout",
    "counts", "counts_as", "memory", "optimizer", "dtype", "amp", "fit",
)  # fmt: skip


def refuse_options(given: frozenset[str]) -> None:
    from hw3cli.commands._model import refuse_options as refuse

    refuse(given, NOT_FOR_SOURCE, "a model read from source")


def run_source(
    net: str,
    input_size: tuple[int, ...] | None,
    batch: int,
    in_channels: int | None,
    mode: str,
    depth: int | None,
    fmt: str,
    output: str | None,
) -> tuple[int, ...]:
    """Build the model, run forward on ``batch x channels x input_size``, write the
    result; returns the output shape (the first, when forward returns several)."""
    from hw3cli.core.model import declared_in_channels, starts_with_linear
    from hw3cli.output import source as out
    from hw3cli.output.shapes import write
    from hw3cli.source import read_model, run_forward, split_net

    if input_size is None:
        raise InputError("missing: the input size", where="--input", hint="e.g. --input 32x32")
    path, spec = split_net(net)
    built = read_model(path, spec, training=mode == "train")
    channels = in_channels if in_channels is not None else declared_in_channels(built.root)
    if channels is None and len(input_size) == 1 and starts_with_linear(built.root):
        shape: tuple[int, ...] = (batch, *input_size)  # an MLP: --input is the features
    else:
        shape = (batch, channels or 1, *input_size)
    resolved = formats.resolve_format(fmt.lower(), fallback="plain", output=output)
    try:
        result = run_forward(built, shape)
    except InputError as e:
        recorder = built.interp.recorder
        if (
            resolved == "table"
            and recorder is not None
            and recorder.steps
            and output in (None, "-")
        ):
            formats.write_table(
                lambda stream, colour: out.render_source_table(
                    recorder.steps,
                    recorder.containers,
                    stream,
                    colour,
                    depth,
                    title="the steps before",
                ),
                None,
            )
        for warning in built.interp.warnings:
            formats.warn(warning)
        raise (Undecided if isinstance(e, Undecided) else InputError)(
            e.message, where=e.where, hint=e.hint
        ) from None
    write(
        fmt,
        output,
        json_obj=lambda: out.source_json(result, built.spec, mode),
        plain=lambda: out.source_plain(result),
        explanation=None,
        table=lambda stream, colour: out.render_source_table(
            result.steps, result.containers, stream, colour, depth, totals=result
        ),
        rows=lambda: out.source_rows(result),
    )
    if resolved != "table":
        for warning in result.warnings:
            formats.warn(warning)
    first = result.output[0] if isinstance(result.output, list) else result.output
    return tuple(first)
