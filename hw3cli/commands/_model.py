"""``conv-shape --net MODEL``: a model printed by PyTorch (``print(model)``), run whole.

Imported only when ``--net`` names one, so that other runs do not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hw3cli.errors import InputError
from hw3cli.output import formats

if TYPE_CHECKING:
    from hw3cli.core.profile import Request
    from hw3cli.tensor_io.printed import Module

# Added to every mismatch a printed model gives: the print is not the forward code.
PRINT_NOTE = (
    "the print shows the modules, not forward: if forward reuses a module or concatenates "
    "branches, the shapes differ from what the print suggests"
)
# Options of a single layer or of a JSON stack that a printed model does not take.
NOT_FOR_MODELS = ("target", "min_input", "diagram", "explain", "strict", "expect", "layer_specs")


def refuse_options(given: frozenset[str]) -> None:
    """A printed model takes --input, --batch, --in-channels, --depth, --format and -o."""
    for name in NOT_FOR_MODELS:
        if name in given:
            option = "--layer" if name == "layer_specs" else "--" + name.replace("_", "-")
            raise InputError("does not apply to a printed model", where=option)


def run_printed(
    root: Module,
    input_size: tuple[int, ...] | None,
    batch: int,
    in_channels: int | None,
    depth: int | None,
    fmt: str,
    output: str | None,
    request: Request | None = None,
) -> None:
    """Run the model on ``batch x in_channels x input_size`` and write the result, with
    the counts and memory ``request`` asks for."""
    from hw3cli.core.model import Leaf, declared_in_channels, run_model, starts_with_linear
    from hw3cli.output import model as out
    from hw3cli.output.shapes import write

    if input_size is None:
        raise InputError("missing: the input size", where="--input", hint="e.g. --input 224x224")
    channels = in_channels if in_channels is not None else declared_in_channels(root)
    if channels is None and len(input_size) == 1 and starts_with_linear(root):
        shape: tuple[int, ...] = input_size  # a multilayer perceptron: --input is the features
    else:
        shape = (channels or 1, *input_size)
    resolved = formats.resolve_format(fmt.lower(), fallback="plain", output=output)
    seen: list[Leaf] = []
    try:
        result = run_model(root, shape, batch, seen)
    except InputError as e:
        if resolved == "table" and seen and output in (None, "-"):
            from hw3cli.core.model import ModelResult

            partial = ModelResult(shape, seen[-1].output, tuple(seen), (), ())
            formats.write_table(
                lambda stream, colour: out.render_model_table(
                    partial, batch, stream, colour, depth, tuple(seen), "the layers before"
                ),
                None,
            )
        hint = f"{e.hint}; {PRINT_NOTE}" if e.hint else PRINT_NOTE
        raise InputError(e.message, where=e.where, hint=hint) from None
    from hw3cli.commands._profile import model_profile, report
    from hw3cli.core.profile import Request
    from hw3cli.output.shapes import profile_plain

    found = model_profile(result, request or Request(batch=batch))
    write(
        fmt,
        output,
        json_obj=lambda: out.model_json(result, batch, found),
        plain=lambda: profile_plain(found) or out.model_plain(result, batch),
        explanation=None,
        table=lambda stream, colour: out.render_model_table(
            result, batch, stream, colour, depth, found=found
        ),
        rows=lambda: out.model_rows(result, batch),
    )
    if resolved != "table":  # (the table shows them itself)
        for warning in result.warnings:
            formats.warn(warning)
    report(found, fmt, output)
