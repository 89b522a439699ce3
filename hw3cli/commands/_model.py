"""``conv-shape --net MODEL``: a whole model, run on an input shape.

Imported only when ``--net`` names one, so that other runs do not load it. The options a
model takes (``--input`` as a spatial or a full shape, ``--batch``, ``--expect``,
``--min-input``, ``--depth``, ``--format``, ``-o``) are handled here for any model given
as a function that runs it at an input shape (`ModelRun`): `run_printed` builds one for a
printed model; a model read from elsewhere needs only its own `ModelRun`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from hw3cli.errors import CheckFailed, InputError, Undecided, plural
from hw3cli.output import formats

if TYPE_CHECKING:
    from hw3cli.core.forward import Plan
    from hw3cli.core.model import Leaf, ModelResult
    from hw3cli.core.profile import Profile, Request
    from hw3cli.tensor_io.printed import Module

Shape = tuple[int, ...]
# runs the model on an input of shape (C, *spatial) at a batch size; ``seen`` receives each
# layer as it runs (shown before a failure); an InputError names the layer that fails
ModelRun = Callable[[Shape, int, "list[Leaf] | None"], "ModelResult"]

# Added to a mismatch in the printed order: the print is not the forward code.
PRINT_NOTE = (
    "the print shows the modules, not forward: if forward reuses a module or concatenates "
    "branches, the shapes differ from what the print suggests"
)
# Options of a single layer or of a JSON stack that a model does not take.
NOT_FOR_MODELS = ("target", "diagram", "explain", "strict", "layer_specs")


def refuse_options(
    given: frozenset[str], refused: tuple[str, ...] = NOT_FOR_MODELS, what: str = "a model"
) -> None:
    """A model takes --input, --batch, --in-channels, --depth, --expect, --min-input,
    --format and -o (``refused`` names what another kind of model does not take)."""
    for name in refused:
        if name in given:
            option = "--layer" if name == "layer_specs" else "--" + name.replace("_", "-")
            raise InputError(f"does not apply to {what}", where=option)


@dataclass(frozen=True)
class ModelOptions:
    """What conv-shape's options ask of a model."""

    input_size: Shape | None
    batch: int
    batch_given: bool
    in_channels: int | None  # None: not given
    depth: int | None
    expect: Shape | None
    min_input: bool
    fmt: str
    output: str | None
    request: Request | None = None  # the counts and memory asked for


@dataclass(frozen=True)
class ModelInput:
    """What a model says of its input: the channels and spatial axes its first layers
    declare (None: not declared), and the class that fixes the axes."""

    channels: int | None
    axes: int | None
    first_kind: str = ""
    features_first: bool = False  # a multilayer perceptron: --input may be the features
    features: int | None = None  # then the in_features of its first Linear


def input_shape(opts: ModelOptions, model: ModelInput) -> tuple[Shape, int]:
    """(C, *spatial) and the batch from --input (spatial, CxHxW or NxCxHxW where the
    model's first layer fixes the spatial axes), --in-channels and --batch."""
    if opts.input_size is None:
        raise InputError("missing: the input size", where="--input", hint="e.g. --input 224x224")
    size, batch = opts.input_size, opts.batch
    channels = opts.in_channels if opts.in_channels is not None else model.channels
    n = model.axes
    if n is None:
        if channels is None and len(size) <= 2 and model.features_first:
            if len(size) == 2 and size[1] == model.features:  # N x F (else an image)
                if opts.batch_given and size[0] != opts.batch:
                    raise InputError(
                        f"gives batch {size[0]} but --batch is {opts.batch}", where="--input"
                    )
                return size[1:], size[0]
            return size, batch  # the features of a multilayer perceptron
        return (channels or 1, *size), batch
    if len(size) == 1 and n > 1:
        size = size * n  # a single number applies to every spatial axis
    if len(size) in (n + 1, n + 2):
        full = size
        if len(size) == n + 2:
            if opts.batch_given and size[0] != opts.batch:
                raise InputError(
                    f"gives batch {size[0]} but --batch is {opts.batch}", where="--input"
                )
            batch, size = size[0], size[1:]
        if opts.in_channels is not None and size[0] != opts.in_channels:
            raise InputError(
                f"gives {plural(size[0], 'channel')} but --in-channels is {opts.in_channels}",
                where="--input",
            )
        if channels is not None and size[0] != channels and opts.in_channels is None:
            raise InputError(
                f"{_text(full)} gives {plural(size[0], 'channel')}, but the model's first layer "
                f"({model.first_kind}) takes {channels}",
                where="--input",
                hint=f"give {_text((channels, *size[1:]))}, or the spatial size alone",
            )
        return size, batch
    if len(size) != n:
        example = "x".join(["224"] * n)
        raise InputError(
            f"{len(size)} numbers, but the model's first layer ({model.first_kind}) takes "
            f"{n} spatial axes",
            where="--input",
            hint=f"give the spatial size ({example}), CxHxW (3x{example}) or NxCxHxW "
            f"(1x3x{example})",
        )
    return (channels or 1, *size), batch


@dataclass(frozen=True)
class View:
    """How a kind of model writes one run (`run_whole`): its profile (counts, memory), JSON,
    plain text, table and CSV rows. None: a printed model's (hw3cli.output.model)."""

    profile: Callable[[ModelResult, Request], Profile]
    json_obj: Callable[[ModelResult, int, Profile], dict[str, Any]]
    plain: Callable[[ModelResult, int], str]
    table: Callable[[ModelResult, int, IO[str], bool, int | None, Profile], None]
    rows: Callable[[ModelResult, int], list[dict[str, Any]]]
    show_before: Callable[[Shape, int, list[Leaf], int | None], None] | None = None


def printed_view() -> View:
    from hw3cli.commands._profile import model_profile
    from hw3cli.output import model as out

    def table(
        result: ModelResult, batch: int, stream: IO[str], colour: bool, depth: int | None,
        found: Profile,
    ) -> None:  # fmt: skip
        out.render_model_table(result, batch, stream, colour, depth, found=found)

    return View(model_profile, out.model_json, out.model_plain, table, out.model_rows, _show_before)


def run_whole(
    run: ModelRun, shape: Shape, batch: int, opts: ModelOptions, view: View | None = None
) -> None:
    """Run the model at ``shape``, write the result, then check --expect."""
    from hw3cli.output.shapes import write

    view = view if view is not None else printed_view()
    resolved = formats.resolve_format(opts.fmt.lower(), fallback="plain", output=opts.output)
    seen: list[Leaf] = []
    try:
        result = run(shape, batch, seen)
    except InputError:
        if (
            resolved == "table"
            and 0 < len(seen) <= formats.MAX_TABLE_ROWS
            and opts.output in (None, "-")
            and view.show_before is not None
        ):
            view.show_before(shape, batch, seen, opts.depth)
        raise
    from hw3cli.commands._profile import report
    from hw3cli.core.profile import Request
    from hw3cli.output.shapes import profile_plain

    request = opts.request if opts.request is not None else Request(batch=batch)
    found = view.profile(result, request)
    write(
        opts.fmt,
        opts.output,
        json_obj=lambda: view.json_obj(result, batch, found),
        plain=lambda: profile_plain(found) or view.plain(result, batch),
        explanation=None,
        table=lambda stream, colour: view.table(result, batch, stream, colour, opts.depth, found),
        rows=lambda: view.rows(result, batch),
    )
    if resolved != "table":  # (the table shows them itself)
        for warning in result.warnings:
            formats.warn(warning)
    report(found, opts.fmt, opts.output)
    check_expect(result, batch, opts.expect)


def _show_before(shape: Shape, batch: int, seen: list[Leaf], depth: int | None) -> None:
    """On a terminal, the layers run before a failure."""
    from hw3cli.core.model import ModelResult
    from hw3cli.output import model as out

    partial = ModelResult(shape, seen[-1].output, tuple(seen), (), ())
    formats.write_table(
        lambda stream, colour: out.render_model_table(
            partial, batch, stream, colour, depth, tuple(seen), "the layers before"
        ),
        None,
    )


def check_expect(result: ModelResult, batch: int, expect: Shape | None) -> None:
    """--expect: the output shape with the batch (1x1000, 1x64x8x8), without it (1000,
    64x8x8), or, for an output with spatial axes, the spatial size alone (8x8)."""
    if expect is None:
        return
    shapes = [(batch, *shape) for shape in result.outputs]
    if any(tuple(expect) in (full, full[1:], full[2:] or None) for full in shapes):
        return
    computed = ", ".join(_text(full) for full in shapes)
    raise CheckFailed(f"--expect: expected {_text(expect)}, computed {computed}")


def min_input(
    readings: Sequence[tuple[str, Callable[[int], ModelResult]]],
    batch: int,
    opts: ModelOptions,
) -> None:
    """--min-input: the sizes (every spatial axis alike) each reading of the model accepts.
    The first reading is the one hw3 prefers where it fits (the print order); another
    counts only where it accepts sizes the first does not. One reading that accepts some:
    its smallest (and largest, where bounded); several: hw3 cannot decide; none: the first
    reading's error."""
    from hw3cli.core.forward import Accepted, accepted_sizes
    from hw3cli.output import model as out
    from hw3cli.output.shapes import write

    found: list[tuple[str, Accepted]] = []
    errors: list[InputError] = []
    for assumption, run_at in readings:
        try:
            found.append((assumption, accepted_sizes(run_at)))
        except Undecided:
            raise
        except InputError as error:
            errors.append(error)
    if not found:
        raise errors[0]
    if found[0][0] == readings[0][0]:  # the preferred reading: the others only beyond it
        first = found[0][1]
        found = found[:1] + [
            (what, a)
            for what, a in found[1:]
            if a.low < first.low
            or (first.high is not None and (a.high is None or a.high > first.high))
        ]
    if len(found) > 1:
        each = "; ".join(
            f"({i}) {what or 'in the printed order'}: {_range(a)}"
            for i, (what, a) in enumerate(found, 1)
        )
        raise Undecided(
            f"the input sizes depend on forward steps the print does not show: {each}",
            where="--min-input",
            hint="give --input with a size the model takes: hw3 then settles the reading",
        )
    accepted = found[0][1]
    write(
        opts.fmt,
        opts.output,
        json_obj=lambda: out.min_input_json(accepted.low, accepted.high, accepted.result, batch),
        plain=lambda: "x".join([str(accepted.low)] * (len(accepted.result.input) - 1)),
        explanation=None,
        table=lambda stream, colour: print(
            f"accepted inputs: {_range(accepted)} (every spatial axis alike); at the smallest "
            f"the output is {out.model_plain(accepted.result, batch)}",
            file=stream,
        ),
    )
    if accepted.high is not None:
        formats.warn(f"the model accepts only inputs {_range(accepted)}")
    for warning in accepted.result.warnings:
        formats.warn(warning)


def _range(accepted: object) -> str:
    low, high = accepted.low, accepted.high  # type: ignore[attr-defined]
    return f"{low} to {high}" if high is not None else f"{low} and larger"


def _text(shape: Shape) -> str:
    return "x".join(map(str, shape))


# --- printed models ----------------------------------------------------------------------


def run_printed(root: Module, opts: ModelOptions) -> None:
    """A model printed by PyTorch: run at --input (its reading settled there), or its
    accepted sizes with --min-input."""
    from hw3cli.core.forward import read_forward, readings_for_sizes, run_model
    from hw3cli.core.model import declared_in_channels, declared_spatial_axes, starts_with_linear

    axes = declared_spatial_axes(root)
    model = ModelInput(
        declared_in_channels(root),
        axes[1] if axes else None,
        axes[0] if axes else "",
        starts_with_linear(root),
        _first_features(root),
    )

    def run(shape: Shape, batch: int, seen: list[Leaf] | None) -> ModelResult:
        try:
            return run_model(root, shape, batch, seen)
        except InputError as e:
            noted = _noted(e)
            if noted is e:
                raise
            raise noted from None

    if not opts.min_input:
        shape, batch = input_shape(opts, model)
        run_whole(run, shape, batch, opts)
        return
    channels, n, batch = search_input(opts, model)
    if opts.input_size is not None:  # the reading that fits at --input
        plan = read_forward(root, input_shape(opts, model)[0], batch)[1]
        readings = [(plan.assumption, _at(root, channels, n, batch, plan))]
    else:
        readings = [
            (plan.assumption, _at(root, channels, n, batch, plan))
            for plan in readings_for_sizes(root)
        ]
    min_input(readings, batch, opts)


def search_input(opts: ModelOptions, model: ModelInput) -> tuple[int, int, int]:
    """--min-input: the channels, spatial axes and batch of the inputs to search, from
    --input (its size aside) where given, else the model's first layer and the options."""
    if model.axes is None and model.features_first and opts.in_channels is None:
        raise InputError(
            "the model starts with a Linear: its input is a fixed number of features, "
            "not a size to search",
            where="--min-input",
        )
    if opts.input_size is not None:
        shape, batch = input_shape(opts, model)
        return shape[0], len(shape) - 1, batch
    return opts.in_channels or model.channels or 1, model.axes or 2, opts.batch


def _first_features(root: Module) -> int | None:
    from hw3cli.core.model import first_changing

    first = first_changing(root)
    if first is None or first.kind != "Linear":
        return None
    value = first.kwargs.get("in_features", first.args[0] if first.args else None)
    return value if isinstance(value, int) else None


def _at(
    root: Module, channels: int, n: int, batch: int, plan: Plan
) -> Callable[[int], ModelResult]:
    from hw3cli.core.forward import acted

    return lambda size: acted(root, (channels, *(size,) * n), batch, plan)


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
    PyTorch's NCHW names them), and a note saying which path that is and where it ends.
    Undecided (exit 3) where the path is not one chain of layers (`spatial_path`)."""
    from hw3cli.core.layout import axis_names
    from hw3cli.core.model import global_layer, run_model, side_by_side_before, spatial_path
    from hw3cli.core.network import stack_of

    try:
        result = run_model(root, shape, batch)
    except InputError as e:
        parallel = side_by_side_before(root, e.where)
        if parallel is not None:  # (the likelier cause, and a field hw3 would not follow)
            raise parallel from None
        raise _noted(e) from None
    path = spatial_path(result, root)
    if not path.layers:
        where = f" before {path.stop.name} ({path.stop.kind})" if path.stop is not None else ""
        raise InputError(f"the model has no convolution or pooling{where} to follow")
    names = axis_names(len(shape) - 1, "nchw")
    layers = []
    for leaf in path.layers:
        r = leaf.result
        assert r is not None
        axes = tuple(a._replace(name=n) for a, n in zip(r.axes, names, strict=True))
        layers.append((leaf.name, r._replace(axes=axes)))
    stack = stack_of(shape[1:], shape[0], layers)
    # clauses apart by "; " (a figure writes each on a line of its own)
    note = (
        f"the main path: the {len(path.layers)} convolutions and poolings from "
        f"{path.layers[0].name} to {path.layers[-1].name}, in the order run"
    )
    if path.branches:
        kinds = sorted({name.rsplit(".", 1)[-1] for name in path.branches})
        note += (
            f"; {plural(len(path.branches), 'residual branch', 'residual branches')} "
            f"({', '.join(kinds)}) left out, as each sees less than its block's main path"
        )
    if path.stop is not None:
        after = (
            "after which every output sees the whole input"
            if global_layer(path.stop)
            else "which hw3 does not follow"
        )
        note += f"; up to {path.stop.name} ({path.stop.kind}), {after}"
    if path.assumed:
        classes = ", ".join(f"{name or 'the model'} ({kind})" for name, kind in path.assumed)
        verb = "runs its" if len(path.assumed) == 1 else "run their"
        note += f"; assumed: {classes} {verb} children in the printed order"
        formats.warn(
            f"the receptive field assumes that {classes} {verb} children one after another "
            "in the printed order: hw3 has no rule for the class, and forward is not in "
            "the print"
        )
    return result, stack, note


def _noted(e: InputError) -> InputError:
    """A failed run's error, its hint saying what a print cannot show: not for exit 3, a
    hidden step's candidates or an unknown class, which say it themselves."""
    from hw3cli.core.forward import UnknownLayer

    if isinstance(e, (Undecided, UnknownLayer)) or (e.hint and "hidden forward step" in e.hint):
        return e
    hint = f"{e.hint}; {PRINT_NOTE}" if e.hint else PRINT_NOTE
    return InputError(e.message, where=e.where, hint=hint)


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
