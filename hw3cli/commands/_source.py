"""``conv-shape --net FILE.py[:SPEC]``: a model read from its Python source, never run.

Imported only when ``--net`` names a ``.py`` file.
"""

from __future__ import annotations

from typing import Any

from hw3cli.errors import InputError, Undecided
from hw3cli.output import formats

# Options of a single layer or of a JSON stack that a source model does not take.
NOT_FOR_SOURCE = (
    "target", "min_input", "diagram", "explain", "strict", "layer_specs", "axis", "layout",
    "counts", "counts_as", "memory", "optimizer", "dtype", "amp", "fit", "animate", "at",
    "standalone",
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
    batch, in_channels, input_size = _full_shape(built.root, input_size, batch, in_channels)
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


def _full_shape(
    root: Any, input_size: tuple[int, ...], batch: int, in_channels: int | None
) -> tuple[int, int | None, tuple[int, ...]]:
    """--input as a full shape: N x C x spatial or C x spatial, where the model's first
    convolution says how many spatial axes it takes (``1x3x224x224``, ``3x224x224``)."""
    from hw3cli.source.values import walk

    first = next((m.base for _, m in walk(root) if m.base in ("Conv1d", "Conv2d", "Conv3d")), None)
    if first is None:
        return batch, in_channels, input_size
    n = int(first[-2])
    if len(input_size) == 1 and n > 1:  # one number applies to every spatial axis
        return batch, in_channels, input_size * n
    if len(input_size) == n + 2:
        given_batch, given_channels, spatial = input_size[0], input_size[1], input_size[2:]
    elif len(input_size) == n + 1 and n < 3:
        given_batch, given_channels, spatial = batch, input_size[0], input_size[1:]
    else:
        return batch, in_channels, input_size
    for option, value, given in (
        ("--batch", batch, given_batch),
        ("--in-channels", in_channels, given_channels),
    ):
        if value is not None and value != given and not (option == "--batch" and value == 1):
            raise InputError(
                f"--input {'x'.join(map(str, input_size))} says {given}, {option} says {value}",
                where=option,
            )
    return given_batch, given_channels, spatial
