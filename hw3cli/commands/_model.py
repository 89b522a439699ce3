"""``conv-shape --net MODEL``: a model printed by PyTorch (``print(model)``), run whole.

Imported only when ``--net`` names one, so that other runs do not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def refuse_options(
    given: frozenset[str], refused: tuple[str, ...] = NOT_FOR_MODELS, what: str = "a printed model"
) -> None:
    """A printed model takes --input, --batch, --in-channels, --depth, --format and -o."""
    for name in refused:
        if name in given:
            option = "--layer" if name == "layer_specs" else "--" + name.replace("_", "-")
            raise InputError(f"does not apply to {what}", where=option)


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
    from hw3cli.core.model import Leaf, run_model
    from hw3cli.output import model as out
    from hw3cli.output.shapes import write

    shape = _input_shape(root, input_size, in_channels)
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


def _input_shape(
    root: Module, input_size: tuple[int, ...] | None, in_channels: int | None
) -> tuple[int, ...]:
    """(C, *spatial) for the model's input: --in-channels, or what its first layer
    declares; a multilayer perceptron's --input is its features."""
    from hw3cli.core.model import declared_in_channels, starts_with_linear

    if input_size is None:
        raise InputError("missing: the input size", where="--input", hint="e.g. --input 224x224")
    channels = in_channels if in_channels is not None else declared_in_channels(root)
    if channels is None and len(input_size) == 1 and starts_with_linear(root):
        return input_size  # a multilayer perceptron: --input is the features
    return (channels or 1, *input_size)


def _main_path(root: Module, shape: tuple[int, ...], batch: int) -> tuple[Any, Any, str]:
    """The model run, its main path's convolutions and poolings as a stack (axes named as
    PyTorch's NCHW names them), and a note on where the path ends."""
    from hw3cli.core.layout import axis_names
    from hw3cli.core.model import global_layer, run_model, spatial_path
    from hw3cli.core.network import stack_of

    try:
        result = run_model(root, shape, batch)
        path, stop = spatial_path(result)
    except InputError as e:
        hint = f"{e.hint}; {PRINT_NOTE}" if e.hint else PRINT_NOTE
        raise InputError(e.message, where=e.where, hint=hint) from None
    if not path:
        where = f" before {stop.name} ({stop.kind})" if stop is not None else ""
        raise InputError(f"the model has no convolution or pooling{where} to follow")
    names = axis_names(len(shape) - 1, "nchw")
    layers = []
    for leaf in path:
        r = leaf.result
        assert r is not None
        axes = tuple(a._replace(name=n) for a, n in zip(r.axes, names, strict=True))
        layers.append((leaf.name, r._replace(axes=axes)))
    stack = stack_of(shape[1:], shape[0], layers)
    note = "the convolutions and poolings of the main path (branches such as downsample see less)"
    if stop is not None:
        after = (
            "after which every output sees the whole input"
            if global_layer(stop)
            else "which hw3 does not follow"
        )
        note += f", up to {stop.name} ({stop.kind}), {after}"
    return result, stack, note


def draw_field(
    root: Module,
    input_size: tuple[int, ...] | None,
    batch: int,
    in_channels: int | None,
    at: tuple[int, ...] | None,
    output: str | None,
) -> None:
    """--format svg on a printed model: the receptive field of output position ``at`` of
    its last convolution or pooling before the first layer that is neither (a global
    pooling, a Flatten, a Linear), through the model's main path."""
    from hw3cli.core.conv import per_axis
    from hw3cli.core.network import centre
    from hw3cli.output.shapes import write_field

    shape = _input_shape(root, input_size, in_channels)
    result, stack, note = _main_path(root, shape, batch)
    transposed = next((x for x in stack.layers if x.result.spec.transposed), None)
    if transposed is not None:
        raise InputError(
            "the receptive field is not defined through a transposed convolution",
            where=transposed.name,
        )
    names = [a.name for a in stack.layers[-1].result.axes]
    position = centre(stack.output) if at is None else per_axis(at, len(names), "--at")
    for name, p, o in zip(names, position, stack.output, strict=True):
        if p >= o:
            raise InputError(
                f"position {p} on axis {name} is past the output of "
                f"{stack.layers[-1].name} (0 to {o - 1})",
                where="--at",
            )
    write_field(stack, position, output, note)
    for warning in result.warnings:
        formats.warn(warning)


def write_derivation(
    root: Module,
    input_size: tuple[int, ...] | None,
    batch: int,
    in_channels: int | None,
    kind: str,
    standalone: bool,
    output: str | None,
) -> None:
    """--format markdown|latex on a printed model: one line per layer in the order run,
    the receptive field of its main path, the shapes."""
    from hw3cli.output.derivation import render
    from hw3cli.output.model import model_derivation

    shape = _input_shape(root, input_size, in_channels)
    result, stack, note = _main_path(root, shape, batch)
    formats.write_text(
        render(model_derivation(result, stack, note, batch), kind, standalone), output
    )
    for warning in result.warnings:
        formats.warn(warning)
