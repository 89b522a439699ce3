"""``hw3 conv-shape``: the output shape of a convolution or pooling layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from hw3cli.commands._options import (
    INT_TUPLE,
    PADDING,
    PROFILE_OPTIONS,
    Command,
    check_standalone,
    format_option,
    layout_option,
    output_option,
    profile_options,
    quiet_option,
    standalone_option,
)
from hw3cli.core.layout import Layout, axis_names
from hw3cli.errors import CheckFailed, InputError
from hw3cli.output import formats

if TYPE_CHECKING:  # the maths is imported when a command runs, not for --help
    from hw3cli.core.conv import LayerResult, LayerSpec

EPILOG = """\b
Examples:
  hw3 conv-shape --input 32x32 --kernel 3,3
      30x30 (the source document's case)
  hw3 conv-shape --input 224x224 --kernel 7 --stride 2 --padding 3 --out-channels 64
  hw3 conv-shape --input 224 --kernel 3 --stride 2 --padding same --explain
      TensorFlow's 'same': 112, padding 0:1
  hw3 conv-shape --input 32 --kernel 3 --stride 2 --strict
      exit 1: one input pixel is covered by no window
  hw3 conv-shape --input 6 --kernel 1 --stride 2 --pool max --ceil-mode
  hw3 conv-shape --input 16x16 --kernel 4 --stride 2 --padding 1 --transposed
  hw3 conv-shape --input 32x32 --kernel 3 --format json | jq .output_shape
  hw3 conv-shape --input 32x32 --kernel 3 --expect 30x30   # exit 1 if not
  hw3 conv-shape --input 224x224 --net examples/alexnet.json --in-channels 3
      a whole network: shapes, receptive fields, parameters, MACs per layer
  hw3 conv-shape --input 224x224 --net examples/models/resnet18.txt --format table
      a model as print(model) shows it, layer by layer
  hw3 conv-shape --net examples/models/lenet.py --input 32x32 --format table
      a model from its Python source (read, never run): every call of forward
  hw3 conv-shape --input 224x224 --net examples/models/resnet18.txt --counts-as fvcore
      the count fvcore prints (--counts: every tool's, in a table)
  hw3 conv-shape --input 224x224 --net examples/models/resnet18.txt --fit 24GiB
      the largest batch whose training step (Adam, float32) fits in 24 GiB
  hw3 conv-shape --input 32 --layer "conv k=3 p=1 out=16" --layer "pool max k=2"
  hw3 conv-shape --input 224 --kernel 3 --stride 2 --target 112
      the padding that gives 112: 0:1
  hw3 conv-shape --net examples/vgg16.json --min-input
  hw3 conv-shape --net examples/models/cifar10_tutorial.txt --input 3x32x32 --expect 1x10
      a printed model whose forward reuses its pool: the step is inferred, stated
  hw3 conv-shape --input 9 --kernel 3 --stride 2 --padding 1 --diagram
  hw3 conv-shape --input 5x5 --kernel 3 --stride 2 --padding 1 -o layer.svg
      the layer as conv_arithmetic draws it, a panel per output position
  hw3 conv-shape --input 3x3 --kernel 3 --stride 2 --transposed --format svg --animate
  hw3 conv-shape --net examples/vgg16.json --input 224x224 --at 3,3 -o field.svg
      the receptive field of output (3, 3), each layer's nested in it
  hw3 conv-shape --input 32x32 --kernel 3 --stride 2 --format markdown
      the derivation for a write-up (-o layer.tex --standalone: LaTeX)

\b
Sizes and tuples: numbers separated by ',' or 'x' (3,3 or 3x3); one number
applies to every axis. Padding: N, BEFORE:AFTER per axis (0:1,1:1), same, valid.

\b
--layer SPEC: a kind, then key=value words:
  conv k=3 s=1 p=1 out=64      convT k=4 s=2 p=1 out=32 op=1
  pool max k=2                 pool avg k=3 s=2 p=1 ceil
  keys: k s p d out g op name bias=false; flags: ceil nobias
--net FILE: a JSON list of layers with the long names: kernel, stride,
  padding, dilation, out_channels, groups, transposed, output_padding, pool,
  ceil_mode, bias, name.
"""


@click.command(
    "conv-shape",
    cls=Command,
    epilog=EPILOG,
    short_help="Output shape of a layer or a stack of layers.",
)
@click.option(
    "--input",
    "input_size",
    type=INT_TUPLE,
    default=None,
    help="Spatial input size, 1 to 3 axes (W, H, D in bwhc), e.g. 32x32; for a model also "
    "CxHxW or NxCxHxW.",
)
@click.option("--kernel", type=INT_TUPLE, default=None, help="Kernel size, e.g. 3,3.")
@click.option(
    "--stride", type=INT_TUPLE, default=None, help="Stride [default: 1; pooling: the kernel]."
)
@click.option(
    "--padding",
    type=PADDING,
    default="0",
    show_default=True,
    help="N, BEFORE:AFTER per axis, same (TensorFlow's rule) or valid.",
)
@click.option("--dilation", type=INT_TUPLE, default="1", show_default=True, help="Dilation.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--in-channels", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--out-channels", type=click.IntRange(min=1), default=None, help="[default: in-channels]"
)
@click.option("--groups", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--bias/--no-bias", default=True, show_default=True, help="Count a bias.")
@click.option("--transposed", is_flag=True, help="A transposed convolution.")
@click.option(
    "--output-padding",
    type=INT_TUPLE,
    default="0",
    show_default=True,
    help="Extra output size of a transposed convolution (below stride or dilation).",
)
@click.option("--pool", type=click.Choice(["max", "avg"]), default=None, help="A pooling layer.")
@click.option("--ceil-mode", is_flag=True, help="Pooling with ceil instead of floor.")
@click.option(
    "--net",
    "net_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A JSON list of layers, a printed model, or a model's Python source: FILE.py[:SPEC].",
)
@click.option(
    "--layer",
    "layer_specs",
    multiple=True,
    metavar="SPEC",
    help="A layer in the short syntax, repeatable: 'conv k=3 p=1 out=64'.",
)
@click.option(
    "--target",
    type=INT_TUPLE,
    default=None,
    metavar="WxH",
    help="Solve for the padding that gives this output.",
)
@click.option(
    "--symmetric",
    is_flag=True,
    help="With --target: plain output is the padding p on both sides (PyTorch's padding=p).",
)
@click.option(
    "--min-input",
    is_flag=True,
    help="The smallest input every layer accepts (a model: and the largest, if bounded).",
)
@click.option("--diagram", is_flag=True, help="Draw one axis of the layer.")
@click.option("--axis", default=None, metavar="NAME", help="The axis --diagram draws.")
@click.option(
    "--animate",
    is_flag=True,
    help="With --format svg: one animated figure (SMIL, no script) instead of a panel per "
    "output position.",
)
@click.option(
    "--at",
    type=INT_TUPLE,
    default=None,
    metavar="POS",
    help="With --format svg on a stack: the output position whose receptive field is "
    "drawn, from 0, one value per axis in --input's order [default: the centre].",
)
@layout_option("Where batch and channels stand in the full shape.")
@click.option("--strict", is_flag=True, help="Dropped input pixels are an error (exit 1).")
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    default=None,
    help="A printed model's table: fold layers nested deeper than this.",
)
@click.option(
    "--mode",
    type=click.Choice(["train", "eval"], case_sensitive=False),
    default="train",
    show_default=True,
    help="A model from source runs as a new module does (train), or in eval mode.",
)
@click.option("--explain", is_flag=True, help="Show the formula with the numbers put in.")
@click.option(
    "--expect",
    type=INT_TUPLE,
    default=None,
    metavar="WxH",
    help="Exit 1 unless the output spatial size is this (a model: its output shape, 1x1000).",
)
@profile_options
@format_option(
    ("auto", "table", "json", "plain", "csv", "svg", "markdown", "latex"),
    "plain; svg draws the layer, markdown and latex write the derivation",
)
@output_option
@standalone_option
@quiet_option
@click.pass_context
def conv_shape(ctx: click.Context, /, **options: Any) -> None:
    """Output shape of a layer, or of a stack of layers.

    Computes the output size per spatial axis with the source document's formula
    floor((W + 2p - k) / s) + 1, generalised to dilation, asymmetric padding and
    TensorFlow's 'same', and PyTorch's rules for transposed convolutions and pooling.
    Reports input pixels that no window covers, parameters and MACs; for a stack, the
    receptive field, jump and start of every layer.
    """
    args = _documents(Args.of(ctx, options))
    if args.net_file is not None and _is_source(args.net_file):
        _run_source(args)
        return
    if "mode" in args.given:
        raise InputError("applies to a model read from Python source", where="--mode")
    net = _read_net(args)
    if net is None or isinstance(net, list):
        _run_layers(args, net)
    else:
        _run_printed(args, net)


class Args:
    """conv-shape's options, as one object passed to each mode and never changed (a
    changed copy comes from `replaced`). A plain class: a dataclass of forty fields
    takes milliseconds of every start-up to generate."""

    input_size: tuple[int, ...] | None
    kernel: tuple[int, ...] | None
    stride: tuple[int, ...] | None
    padding: Any
    dilation: tuple[int, ...]
    batch: int
    in_channels: int
    out_channels: int | None
    groups: int
    bias: bool
    transposed: bool
    output_padding: tuple[int, ...]
    pool: str | None
    ceil_mode: bool
    net_file: str | None
    layer_specs: tuple[str, ...]
    target: tuple[int, ...] | None
    symmetric: bool
    min_input: bool
    diagram: bool
    axis: str | None
    animate: bool
    at: tuple[int, ...] | None
    layout: str
    strict: bool
    depth: int | None
    mode: str
    explain: bool
    expect: tuple[int, ...] | None
    fmt: str
    output: str | None
    counts: bool = False
    counts_as: str | None = None
    memory: bool = False
    optimizer: str = "adam"
    dtype: str = "float32"
    amp: bool = False
    fit: int | None = None
    standalone: bool = False
    given: frozenset[str]  # the options typed on the command line
    from_env: frozenset[str]  # the options set by HW3_CONV_SHAPE_<OPTION>

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    @classmethod
    def of(cls, ctx: click.Context, options: dict[str, Any]) -> Args:
        from click.core import ParameterSource

        def set_from(source: ParameterSource) -> frozenset[str]:
            return frozenset(name for name in options if ctx.get_parameter_source(name) == source)

        values = {k: v for k, v in options.items() if k in cls.__annotations__}
        values["given"] = set_from(ParameterSource.COMMANDLINE)
        values["from_env"] = set_from(ParameterSource.ENVIRONMENT)
        return cls(values)

    def replaced(self, **changes: Any) -> Args:
        """A copy with ``changes``."""
        return Args({**self.__dict__, **changes})

    @property
    def lay(self) -> Layout:
        return self.layout.lower()  # type: ignore[return-value]

    @property
    def stacked(self) -> bool:
        return self.net_file is not None or bool(self.layer_specs)

    @property
    def document(self) -> str | None:
        """``svg``, ``markdown`` or ``latex`` when --format or -o's extension says so."""
        return formats.document_format(self.fmt, self.output)


def _documents(args: Args) -> Args:
    """--diagram and --explain as the format asks (svg is a diagram, markdown and latex
    are the explanation); --animate, --at and --standalone need their format."""

    document = args.document
    check_standalone(args.standalone, args.fmt, args.output)
    if document is not None and args.min_input:
        raise InputError(
            f"--min-input prints a size; {document} is for a layer or a stack", where="--format"
        )
    if document in ("markdown", "latex") and args.diagram:
        raise InputError(
            f"--diagram draws; {document} writes the derivation",
            where="--diagram",
            hint="draw with --format svg (or -o FILE.svg), or leave out --diagram",
        )
    if document == "svg" and args.axis is not None:
        raise InputError(
            "picks the axis of the text diagram; the SVG figure draws the first two axes",
            where="--axis",
        )
    for flag, given in (("--animate", args.animate), ("--at", args.at is not None)):
        if given and document != "svg":
            raise InputError(
                "applies to the SVG figure", where=flag, hint="add --format svg or -o FILE.svg"
            )
    if args.at is not None and not args.stacked:
        raise InputError(
            "picks the output of a stack whose receptive field is drawn",
            where="--at",
            hint="describe the layers with --net FILE or --layer SPEC",
        )
    return args.replaced(
        diagram=args.diagram or document == "svg",
        explain=args.explain or document in ("markdown", "latex"),
    )


def _read_net(args: Args) -> Any:
    """None for a single layer; the layers of --net and --layer; or a printed model."""
    if not args.stacked:
        return None
    _refuse_single_layer_options(args)
    return _stack_specs(args.net_file, args.layer_specs)


def _run_printed(args: Args, root: Any) -> None:
    """A model printed by PyTorch, run whole."""
    from hw3cli.commands import _model

    in_channels = args.in_channels if "in_channels" in args.given | args.from_env else None
    if args.document == "svg":  # its receptive field
        _model.refuse_options(args.given - {"diagram"})
        _model.draw_field(root, args.input_size, args.batch, in_channels, args.at, args.output)
        return
    if args.document is not None:  # its derivation
        _model.refuse_options(args.given - {"explain"})
        _model.write_derivation(
            root,
            args.input_size,
            args.batch,
            in_channels,
            args.document,
            args.standalone,
            args.output,
        )
        return
    _model.refuse_options(args.given)
    _model.run_printed(root, _model_options(args))


def _model_options(args: Args) -> Any:
    """What the options ask of a whole model, printed or read from source."""
    from hw3cli.commands._model import ModelOptions
    from hw3cli.commands._profile import request_of

    return ModelOptions(
        input_size=args.input_size,
        batch=args.batch,
        batch_given="batch" in args.given,
        in_channels=args.in_channels if "in_channels" in args.given else None,
        depth=args.depth,
        expect=args.expect,
        min_input=args.min_input,
        fmt=args.fmt,
        output=args.output,
        request=request_of(args),
    )


def _is_source(net_file: str) -> bool:
    from hw3cli.source import is_source

    return is_source(net_file)


def _run_source(args: Args) -> None:
    """A model read from its Python source (FILE.py[:SPEC]), never run."""
    from hw3cli.commands import _source

    _source.refuse_options(args.given)
    assert args.net_file is not None
    _source.run_source(args.net_file, args.mode.lower(), _model_options(args))


def _run_layers(args: Args, net: list[LayerSpec] | None) -> None:
    """A single layer or a stack: the modes --min-input, --target, --diagram, or shapes."""
    specs = net if net is not None else [_single_spec(args)]
    if not args.min_input:  # there --input gives only the number of axes
        args = _full_shape(args, specs)
    _refuse_combinations(args, specs)
    if args.min_input:
        from hw3cli.commands._profile import refuse
        from hw3cli.core.network import axes_of

        refuse(args.given, "--min-input")
        n = len(args.input_size) if args.input_size is not None else axes_of(specs)
        _run_min_input(specs, n, args)
        return
    if (not args.stacked or args.target is not None or args.diagram) and args.given.intersection(
        PROFILE_OPTIONS
    ):
        from hw3cli.commands._profile import refuse

        refuse(args.given, "a single layer" if not args.stacked else "--target or --diagram")
    n, names = _input_axes(args)
    expect = None
    if args.expect is not None:
        from hw3cli.core.conv import per_axis

        expect = per_axis(args.expect, n, "--expect")
    if args.target is not None:
        _run_target(args, specs[0], names)
    elif args.diagram and args.stacked and args.document == "svg":
        _run_field(args, specs, names)
    elif args.diagram:
        _run_layer(args, specs[0], names, expect)
    elif args.stacked:
        _run_stack(args, specs, names, expect)
    else:
        _run_layer(args, specs[0], names, expect)


def _full_shape(args: Args, specs: list[LayerSpec]) -> Args:
    """--input given as a full shape (``1x3x224x224``, ``3x224x224``): its spatial size,
    batch and channels (`hw3cli.commands._input`)."""
    if args.input_size is None or len(args.input_size) < 3:  # a spatial size, as it is
        return args
    from hw3cli.commands._input import merged, read_input

    user = args.given | args.from_env
    channels = args.in_channels if "in_channels" in user else None
    reading = read_input(args.input_size, args.lay, specs, channels)
    batch, in_channels = merged(reading, args.batch, args.in_channels, user)
    return args.replaced(input_size=reading.spatial, batch=batch, in_channels=in_channels)


def _refuse_combinations(args: Args, specs: list[LayerSpec]) -> None:
    svg = args.document == "svg"
    for flag, value in (("--target", args.target is not None), ("--diagram", args.diagram)):
        if flag == "--diagram" and svg:
            continue  # (a stack's figure is its receptive field)
        if value and (args.stacked and len(specs) != 1):
            raise InputError(f"{flag} works on a single layer; this stack has {len(specs)}")
    if args.target is not None and args.min_input:
        raise InputError("--target and --min-input exclude each other")
    if args.target is not None and not args.stacked and "padding" in args.given:
        raise InputError("--target solves for the padding: leave --padding out")
    if args.symmetric and args.target is None:
        raise InputError("works with --target", where="--symmetric")


def _input_axes(args: Args) -> tuple[int, tuple[str, ...]]:
    """The number of spatial axes of --input and their names, checked."""
    from hw3cli.core.conv import MAX_AXES

    input_size = args.input_size
    if input_size is None:
        raise InputError("missing: the input size", where="--input", hint="e.g. --input 32x32")
    n = len(input_size)
    if not 1 <= n <= MAX_AXES:
        raise InputError(
            f"1 to 3 spatial axes (or a full shape of 4 or 5 numbers), got {n}", where="--input"
        )
    if not args.stacked:
        _check_option_lengths(n, args)
    return n, axis_names(n, args.lay)


def _run_target(args: Args, spec: LayerSpec, names: tuple[str, ...]) -> None:
    """--target: the padding that gives the wanted output, and the layer with it."""
    from hw3cli.core.conv import per_axis
    from hw3cli.core.network import solve_padding, symmetric_padding, with_padding

    assert args.target is not None and args.input_size is not None
    target = per_axis(args.target, len(names), "--target")
    pads = solve_padding(spec, args.input_size, target, names)
    symmetric_pads = symmetric_padding(spec, args.input_size, target)
    if args.symmetric and None in symmetric_pads:
        a = symmetric_pads.index(None)
        raise InputError(
            f"no padding p on both sides gives {target[a]} on axis {names[a]}; the "
            f"smallest padding that does is {pads[a][0]}:{pads[a][1]}",
            where="--symmetric",
            hint="pad asymmetrically (nn.ZeroPad2d before the layer), or change the "
            "kernel or stride",
        )
    solved = with_padding(spec, pads)
    kernels = solved.kernel if len(solved.kernel) == len(names) else solved.kernel * len(names)
    for a, (before, after) in enumerate(pads):
        if max(before, after) >= kernels[a]:
            formats.warn(
                f"axis {names[a]}: a padding of {max(before, after)} is at least the kernel "
                f"{kernels[a]}: some windows hold only padding"
            )
    expect = None if args.expect is None else per_axis(args.expect, len(names), "--expect")
    _run_layer(args, solved, names, expect, symmetric=symmetric_pads)


def _run_stack(
    args: Args, specs: list[LayerSpec], names: tuple[str, ...], expect: tuple[int, ...] | None
) -> None:
    """A stack of layers: shapes, receptive fields, parameters and MACs per layer."""
    from hw3cli.commands._profile import report, request_of, stack_profile
    from hw3cli.core.network import apply_stack
    from hw3cli.output.shapes import write_stack

    assert args.input_size is not None
    stack = apply_stack(specs, args.input_size, args.in_channels, names)
    found = stack_profile(stack, request_of(args))
    write_stack(
        stack, args.batch, args.lay, args.explain, args.fmt, args.output, found, args.standalone
    )
    report(found, args.fmt, args.output)
    for message in stack.warnings:
        formats.warn(message)
    check(
        stack.output,
        stack.layers[-1].result if stack.layers else None,
        args.strict,
        expect,
        dropped=sum(layer.result.dropped for layer in stack.layers),
    )


def _run_layer(
    args: Args,
    spec: LayerSpec,
    names: tuple[str, ...],
    expect: tuple[int, ...] | None,
    symmetric: tuple[int | None, ...] | None = None,
) -> None:
    """One layer: its shapes (or its --diagram), then --expect and --strict."""
    from hw3cli.core.conv import conv_layer
    from hw3cli.output.shapes import write_diagram, write_layer

    assert args.input_size is not None
    result = conv_layer(spec, args.input_size, args.in_channels, names)
    if args.diagram:
        write_diagram(result, args.axis, args.fmt, args.output, args.animate)
    else:
        write_layer(
            result,
            args.batch,
            args.lay,
            args.explain,
            args.fmt,
            args.output,
            solved=args.target is not None,
            symmetric=symmetric,
            plain_symmetric=args.symmetric,
            standalone=args.standalone,
        )
    for message in result.warnings:  # after the result, which a reader looks at first
        formats.warn(message)
    check(result.output, result, args.strict, expect, dropped=result.dropped)


def _run_field(args: Args, specs: list[LayerSpec], names: tuple[str, ...]) -> None:
    """--format svg on a stack: the receptive field of output position --at."""
    from hw3cli.core.conv import per_axis
    from hw3cli.core.network import apply_stack, centre
    from hw3cli.output.shapes import write_field

    assert args.input_size is not None
    stack = apply_stack(specs, args.input_size, args.in_channels, names)
    transposed = next((x for x in stack.layers if x.result.spec.transposed), None)
    if transposed is not None:
        raise InputError(
            f"the receptive field is not defined through a transposed convolution "
            f"({transposed.name})",
            where="--diagram",
            hint="draw a single layer (without --net and --layer) instead",
        )
    at = centre(stack.output) if args.at is None else per_axis(args.at, len(names), "--at")
    for name, p, o in zip(names, at, stack.output, strict=True):
        if p >= o:
            raise InputError(
                f"position {p} on axis {name} is past the output (0 to {o - 1})", where="--at"
            )
    write_field(stack, at, args.output)
    for message in stack.warnings:
        formats.warn(message)


def _refuse_single_layer_options(args: Args) -> None:
    from hw3cli.commands._layers import NET_KEYS

    for name in (key for key in NET_KEYS if key != "name"):
        if name in args.given:
            option = "--" + name.replace("_", "-")
            raise InputError(
                "describes a single layer; with --net or --layer give it inside each layer",
                where=option,
                hint="e.g. --layer 'conv k=3 s=2 p=1 out=64'",
            )


def _stack_specs(net_file: str | None, layer_specs: tuple[str, ...]) -> Any:
    """The layers of --net and --layer, or a printed model (--net alone)."""
    from hw3cli.commands._layers import parse_layer, read_net_or_model

    specs = read_net_or_model(net_file) if net_file is not None else []
    if not isinstance(specs, list):
        return specs
    from hw3cli.core.network import check_layer_count

    check_layer_count(len(specs) + len(layer_specs), "--net and --layer")
    specs.extend(parse_layer(text, i) for i, text in enumerate(layer_specs))
    return specs


def _single_spec(args: Args) -> LayerSpec:
    """The layer the single-layer options describe."""
    from hw3cli.core.conv import LayerSpec

    if args.kernel is None:
        raise InputError(
            "missing: the kernel size",
            where="--kernel",
            hint="e.g. --kernel 3, or describe layers with --net FILE or --layer SPEC",
        )
    if any(args.output_padding) and not args.transposed:
        raise InputError("applies only with --transposed", where="--output-padding")
    if args.ceil_mode and args.pool is None:
        raise InputError("applies only to pooling", where="--ceil-mode", hint="add --pool max")
    if args.pool is not None and args.transposed:
        raise InputError("--pool and --transposed exclude each other")
    return LayerSpec(
        kernel=args.kernel,
        stride=args.stride,
        padding=args.padding,
        dilation=args.dilation,
        out_channels=args.out_channels,
        groups=args.groups,
        transposed=args.transposed,
        output_padding=args.output_padding,
        pool=args.pool,  # type: ignore[arg-type]
        ceil_mode=args.ceil_mode,
        bias=args.bias,
    )


def _check_option_lengths(n: int, args: Args) -> None:
    """Tuple options name themselves when their length does not fit the input."""
    from hw3cli.core.conv import per_axis

    tuples = {
        "--kernel": args.kernel,
        "--stride": args.stride,
        "--dilation": args.dilation,
        "--output-padding": args.output_padding,
    }
    for option, values in tuples.items():
        if values is not None:
            per_axis(values, n, option)
    if not isinstance(args.padding, str):
        per_axis(tuple(p[0] for p in args.padding), n, "--padding")


def _run_min_input(specs: list[LayerSpec], n: int, args: Args) -> None:
    """--min-input: the smallest input every layer accepts, checked forwards."""
    from hw3cli.core.network import apply_stack, min_input
    from hw3cli.output.shapes import write_min_input

    names = axis_names(n, args.lay)
    sizes = min_input(specs, n)
    stack = apply_stack(specs, sizes, args.in_channels, names)  # the answer, checked forwards
    write_min_input(
        sizes, stack, len(specs), args.batch, args.in_channels, args.lay, args.fmt, args.output
    )


def check(
    output_size: tuple[int, ...],
    result: LayerResult | None,
    strict: bool,
    expect: tuple[int, ...] | None,
    *,
    dropped: int,
) -> None:
    """--expect and --strict: exit 1 when they do not hold."""
    from hw3cli.output.conv import size_text

    problems: list[str] = []
    if expect is not None and tuple(expect) != output_size:
        problems.append(
            f"--expect: expected {size_text(expect)}, computed {size_text(output_size)}"
        )
    if strict and dropped:
        where = ""
        if result is not None and result.dropped == dropped:
            where = (
                " ("
                + ", ".join(f"{a.name} drops {a.dropped}" for a in result.axes if a.dropped)
                + ")"
            )
        problems.append(f"--strict: {dropped} input pixels covered by no window{where}")
    if problems:
        raise CheckFailed("\n".join(problems))
