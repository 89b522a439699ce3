"""Whole models: a tree of PyTorch modules run on a tensor shape, leaf by leaf.

A model is a tree of `Node`s (the text ``print(model)`` shows, read by
`hw3cli.tensor_io.printed`): leaves are layers, the rest containers whose children run
in the printed order. Shapes exclude the batch axis: ``(C, *spatial)`` for a feature map,
``(F,)`` for a flat tensor. Every layer kind is one entry of `KINDS`: a function from
its arguments and the incoming shape to the outgoing shape, its parameters and its MACs
(docs/formulas.md section 2), or an InputError that names the layer, what it received and the
value that fixes it.

Two conventions stand in for the forward code the print cannot show (running the tree,
and testing the forward steps a print hides, is `hw3cli.core.forward`; torchvision's
blocks are named rules in `hw3cli.core.torchvision_blocks`):

1. A child named ``downsample`` or ``shortcut`` is a branch on its block's input, whose
   output must equal the main path's (ResNet blocks).
2. Between the children of a container other than a Sequential the parent's forward
   runs: a feature map that enters a child and reaches a Linear past only
   shape-preserving layers is flattened there (``torch.flatten(x, 1)``, when in_features
   is C x H x W) or globally average-pooled and flattened (when in_features is C and no
   fixed-kernel pool leads in). Inside a Sequential no code runs between children: a
   Linear that meets a feature map there is an error that says where to add
   ``nn.Flatten()``.

The receptive field (`spatial_path`) is stricter than the shapes: it follows only
containers known to chain their children (`CHAINED`, checked by their children's names),
follows a class without a rule as a stated assumption, and refuses (Undecided) children
that run side by side (`SIDE_BY_SIDE`, children named ``branch...``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from hw3cli.core.conv import check_digits
from hw3cli.errors import InputError, Undecided

if TYPE_CHECKING:
    from hw3cli.core.conv import LayerResult

Shape = tuple[int, ...]


class Node(Protocol):
    """A module of the tree: what `hw3cli.tensor_io.printed.Module` holds."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def args(self) -> tuple[Any, ...]: ...
    @property
    def kwargs(self) -> dict[str, Any]: ...
    @property
    def children(self) -> Sequence[Node]: ...
    @property
    def line(self) -> int: ...


class Leaf(NamedTuple):
    """One layer as run: its dotted name, class, output shape, parameters and MACs; the
    shape it received and its printed arguments (positional, then keywords)."""

    name: str
    kind: str
    depth: int
    output: Shape
    params: int
    macs: int
    input: Shape = ()
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    result: LayerResult | None = None  # a convolution's or pooling's, for receptive fields
    inferred: str | None = None  # the hidden forward step this row is (or assumes), if any
    op: str | None = None  # a functional step's call, ``F.max_pool2d``; None for a module


class Step(NamedTuple):
    """A step of forward that no module shows, run before leaf number ``before``:
    ``flatten`` (torch.flatten(x, 1)) or ``global_avg_pool`` (adaptive_avg_pool2d to 1x1,
    then flatten)."""

    before: int
    op: str
    input: Shape
    output: Shape


class ModelResult(NamedTuple):
    input: Shape
    output: Shape
    leaves: tuple[Leaf, ...]
    containers: tuple[tuple[str, str, int], ...]  # (dotted name, class, depth)
    warnings: tuple[str, ...]
    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()  # steps that are the only possible reading (not warned)
    inferred: tuple[str, ...] = ()  # the hidden forward steps assumed, each a sentence
    heads: tuple[Shape, ...] = ()  # outputs of earlier heads (a forward returning several)
    held: tuple[tuple[str, int], ...] = ()  # parameters no printed module shows, by name

    @property
    def params(self) -> int:
        """Each module's parameters once (a module that forward calls twice counts once)."""
        seen: set[str] = set()
        total = 0
        for leaf in self.leaves:
            if leaf.op is None and leaf.name not in seen:
                seen.add(leaf.name)
                total += leaf.params
        return total + sum(count for _, count in self.held)

    @property
    def outputs(self) -> tuple[Shape, ...]:
        """Every tensor forward returns: the heads, then the last output."""
        return (*self.heads, self.output)

    @property
    def macs(self) -> int:
        return sum(leaf.macs for leaf in self.leaves)

    @property
    def activations(self) -> int:
        """Values of every layer's output, per sample."""
        return sum(math.prod(leaf.output) for leaf in self.leaves)


class Layer(NamedTuple):
    """What one layer did."""

    output: Shape
    params: int = 0
    macs: int = 0
    result: LayerResult | None = None


class Context(NamedTuple):
    name: str  # dotted
    kind: str
    line: int
    batch: int = 1

    def error(self, message: str, hint: str | None = None) -> InputError:
        return InputError(f"{self.kind} {message}", where=self.name or "the model", hint=hint)


# --- arguments ---------------------------------------------------------------------------


class Args:
    """A layer's printed arguments: positional ones by their PyTorch names, keywords."""

    def __init__(self, node: Node, names: Sequence[str], ctx: Context) -> None:
        self.values: dict[str, Any] = dict(zip(names, node.args, strict=False))
        if len(node.args) > len(names):
            raise ctx.error(f"takes at most {len(names)} positional arguments here")
        self.values.update(node.kwargs)
        self.ctx = ctx

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def whole(self, key: str, default: int | None = None, least: int | None = None) -> int:
        """A whole number (of at most `MAX_DIGITS` digits), with ``least``: at least it."""
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.ctx.error(f"needs a whole number for {key}, got {value!r}")
        _bounded(value, key, self.ctx)
        if least is not None and value < least:
            raise self.ctx.error(f"needs {key} >= {least}, got {key}={value}")
        return value

    def ints(self, key: str, n: int, default: Any = None) -> tuple[int, ...]:
        """An int or a tuple of n ints (one per spatial axis)."""
        value = self.values.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool):
            _bounded(value, key, self.ctx)
            return (value,) * n
        if (
            isinstance(value, (tuple, list))
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and len(value) in (1, n)
        ):
            for v in value:
                _bounded(v, key, self.ctx)
            return tuple(value) * (n if len(value) == 1 else 1)
        raise self.ctx.error(f"needs {key} as a number or {n} numbers, got {value!r}")

    def flag(self, key: str, default: bool) -> bool:
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            raise self.ctx.error(f"needs True or False for {key}, got {value!r}")
        return value


# --- the layer kinds ---------------------------------------------------------------------

Rule = Callable[[Node, Shape, Context, int], Layer]  # node, input shape, where, spatial dims


def _spatial(shape: Shape, ctx: Context, n: int) -> tuple[int, Shape]:
    """(C, spatial) of a feature map with n spatial axes, or an error."""
    if len(shape) != n + 1:
        got = "a flat tensor" if len(shape) == 1 else f"shape {_text(shape)}"
        raise ctx.error(f"expects a feature map of {n} spatial axes (C x ...), received {got}")
    return shape[0], shape[1:]


def _check_channels(declared: int, received: int, ctx: Context, key: str) -> None:
    if declared != received:
        raise ctx.error(
            f"expects {declared} input channels ({key}={declared}) but receives {received}",
            hint=f"set {key}={received}, or change the layer before it to give {declared}",
        )


def _conv(transposed: bool) -> Rule:
    def rule(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
        from hw3cli.core.conv import LayerSpec, conv_layer

        a = Args(node, ("in_channels", "out_channels", "kernel_size", "stride"), ctx)
        c, size = _spatial(shape, ctx, n)
        _check_channels(a.whole("in_channels", c), c, ctx, "in_channels")
        padding: Any = a.get("padding", 0)
        if padding in ("same", "valid"):
            if padding == "same" and any(s != 1 for s in a.ints("stride", n, 1)):
                raise ctx.error("padding='same' needs stride 1 (PyTorch refuses it otherwise)")
            pads: Any = padding
        else:
            pads = tuple((p, p) for p in a.ints("padding", n, 0))
        spec = LayerSpec(
            kernel=a.ints("kernel_size", n),
            stride=a.ints("stride", n, 1),
            padding=pads,
            dilation=a.ints("dilation", n, 1),
            out_channels=a.whole("out_channels"),
            groups=a.whole("groups", 1),
            transposed=transposed,
            output_padding=a.ints("output_padding", n, 0),
            bias=a.flag("bias", True),
        )
        r = _run(lambda: conv_layer(spec, size, c), ctx)
        return Layer((r.out_channels, *r.output), r.params, r.macs, r)

    return rule


def _pool(kind: str) -> Rule:
    def rule(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
        from hw3cli.core.conv import LayerSpec, conv_layer

        a = Args(node, ("kernel_size", "stride", "padding"), ctx)
        c, size = _spatial(shape, ctx, n)
        kernel = a.ints("kernel_size", n)
        stride = a.get("stride")
        spec = LayerSpec(
            kernel=kernel,
            stride=kernel if stride is None else a.ints("stride", n),
            padding=tuple((p, p) for p in a.ints("padding", n, 0)),
            dilation=a.ints("dilation", n, 1),
            pool=kind,  # type: ignore[arg-type]
            ceil_mode=a.flag("ceil_mode", False),
        )
        r = _run(lambda: conv_layer(spec, size, c), ctx)
        return Layer((c, *r.output), result=r)

    return rule


def _adaptive(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
    a = Args(node, ("output_size",), ctx)
    c, size = _spatial(shape, ctx, n)
    value = a.get("output_size")
    sizes = value if isinstance(value, (tuple, list)) else (value,) * n
    if len(sizes) == 1:
        sizes = tuple(sizes) * n
    if len(sizes) != n or not all(v is None or (isinstance(v, int) and v >= 1) for v in sizes):
        raise ctx.error(f"needs output_size as {n} sizes (None keeps an axis), got {value!r}")
    return Layer((c, *(i if o is None else o for i, o in zip(size, sizes, strict=True))))


def _linear(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
    a = Args(node, ("in_features", "out_features"), ctx)
    f_in, f_out = a.whole("in_features", shape[-1]), a.whole("out_features")
    if shape[-1] != f_in:
        raise _linear_mismatch(shape, f_in, f_out, ctx)
    bias = a.flag("bias", True)
    rows = math.prod(shape[:-1])  # extra axes between batch and features
    return Layer((*shape[:-1], f_out), f_in * f_out + (f_out if bias else 0), rows * f_in * f_out)


def _linear_mismatch(shape: Shape, f_in: int, f_out: int, ctx: Context) -> InputError:
    flat = math.prod(shape)
    if len(shape) > 1:
        received = f"a feature map {_text(shape)} ({flat} values per sample)"
        hint = (
            f"add nn.Flatten() before it (and set in_features={flat}); inside a "
            "Sequential no code runs between layers to flatten"
            if flat != f_in
            else "add nn.Flatten() before it: inside a Sequential no code runs between "
            "layers to flatten"
        )
        return ctx.error(f"(in_features={f_in}) receives {received}", hint=hint)
    return ctx.error(
        f"expects in_features={f_in} but receives {shape[-1]} features; PyTorch reports "
        f'this as "mat1 and mat2 shapes cannot be multiplied ({ctx.batch}x{shape[-1]} and '
        f'{f_in}x{f_out})"',
        hint=f"set in_features={shape[-1]}",
    )


def _flatten(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
    a = Args(node, ("start_dim", "end_dim"), ctx)
    start, end = a.whole("start_dim", 1), a.whole("end_dim", -1)
    full = (1, *shape)  # with the batch axis, as PyTorch counts dims
    rank = len(full)
    for key, dim in (("start_dim", start), ("end_dim", end)):
        if not -rank <= dim < rank:  # PyTorch: "Dimension out of range"
            raise ctx.error(
                f"{key}={dim} is out of range for its {rank}-axis input (batch included): "
                f"expected {-rank} to {rank - 1}"
            )
    s, e = start % rank, end % rank
    if s > e:
        raise ctx.error(f"start_dim={start} comes after end_dim={end}")
    out = (*full[:s], math.prod(full[s : e + 1]), *full[e + 1 :])
    if s == 0:
        raise ctx.error("flattening the batch axis (start_dim=0) is not supported here")
    return Layer(tuple(out[1:]))


def _norm(channels_key: str, affine_key: str, affine_default: bool) -> Rule:
    def rule(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
        a = Args(node, (channels_key,), ctx)
        c = a.whole(channels_key, shape[0] if shape else None)
        if len(shape) < 1 or shape[0] != c:
            raise ctx.error(
                f"expects {c} channels ({channels_key}={c}) but receives shape {_text(shape)}",
                hint=f"set {channels_key}={shape[0] if shape else 1}",
            )
        return Layer(shape, 2 * c if a.flag(affine_key, affine_default) else 0)

    return rule


def _group_norm(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
    a = Args(node, ("num_groups", "num_channels"), ctx)
    g = a.whole("num_groups", least=1)
    c = a.whole("num_channels", shape[0] if shape else None)
    if not shape or shape[0] != c:
        raise ctx.error(
            f"expects {c} channels (num_channels={c}) but receives shape {_text(shape)}",
            hint=f"set num_channels={shape[0] if shape else 1}",
        )
    if c % g:
        raise ctx.error(f"num_channels={c} is not divisible by num_groups={g}")
    return Layer(shape, 2 * c if a.flag("affine", True) else 0)


def _layer_norm(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
    a = Args(node, ("normalized_shape",), ctx)
    value = a.get("normalized_shape")
    dims = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if shape[-len(dims) :] != dims:
        raise ctx.error(
            f"normalizes the last axes {_text(dims)} but receives shape {_text(shape)}",
            hint=f"set normalized_shape to the last axes of {_text(shape)}",
        )
    affine = a.flag("elementwise_affine", True)
    bias = a.flag("bias", True)
    size = math.prod(dims)
    return Layer(shape, (size + (size if bias else 0)) if affine else 0)


def _layer_norm_2d(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
    """torchvision's LayerNorm2d (ConvNeXt): a LayerNorm over the channels of a C x H x W
    map, as F.layer_norm on the map permuted to channels last."""
    a = Args(node, ("normalized_shape",), ctx)
    value = a.get("normalized_shape")
    dims = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(shape) < 2 or dims != shape[:1]:
        raise ctx.error(
            f"normalizes {_text(dims)} channels but receives shape {_text(shape)}",
            hint=f"set normalized_shape to ({shape[0] if shape else 1},)",
        )
    affine = a.flag("elementwise_affine", True)
    return Layer(shape, (shape[0] * (2 if a.flag("bias", True) else 1)) if affine else 0)


def _prelu(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
    a = Args(node, ("num_parameters",), ctx)
    count = a.whole("num_parameters", 1, least=1)
    channels = shape[0] if shape else 1
    # PyTorch: "Mismatch of parameter numbers and input channel size"
    if count not in (1, channels):
        raise ctx.error(
            f"has num_parameters={count}, but one weight a channel needs {channels}",
            hint=f"set num_parameters=1 (one shared weight) or {channels}",
        )
    return Layer(shape, count)


def _same(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
    return Layer(shape)


def _pixel_shuffle(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
    """PixelShuffle(r): (C*r*r, H, W) -> (C, H*r, W*r)."""
    a = Args(node, ("upscale_factor",), ctx)
    r = a.whole("upscale_factor")
    if len(shape) < 3 or r < 1 or shape[-3] % (r * r):
        raise ctx.error(
            "expects its input's 'channel' dimension to be divisible by the square of "
            f"upscale_factor, but input.size(-3)={shape[-3] if len(shape) > 2 else 0} is not "
            f"divisible by {r * r}",
            hint=f"give it {r * r} x the channels it should output",
        )
    return Layer((*shape[:-3], shape[-3] // (r * r), shape[-2] * r, shape[-1] * r))


def _upsample(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
    a = Args(node, ("size", "scale_factor", "mode"), ctx)
    c, size = _spatial(shape, ctx, len(shape) - 1)
    k = len(size)
    if a.get("size") is not None:
        return Layer((c, *a.ints("size", k)))
    factor = a.get("scale_factor")
    factors = factor if isinstance(factor, (tuple, list)) else (factor,) * k
    if len(factors) != k or not all(
        isinstance(f, (int, float)) and not isinstance(f, bool) and 0 < f < math.inf
        for f in factors
    ):
        raise ctx.error(f"needs size or scale_factor (finite, above 0), got {factor!r}")
    out = []
    for i, f in zip(size, factors, strict=True):
        try:  # in float64, as PyTorch computes floor(input_size * scale_factor)
            scaled = math.floor(float(i) * f)
        except OverflowError:  # i * f beyond float64 (about 1.8e308)
            raise ctx.error(
                f"scale_factor={f!r} on an axis of {_digits(i)} gives more than about 1.8e308"
            ) from None
        out.append(scaled)
    return Layer((c, *out))


def _pad(dims: int, reflect: bool = False) -> Rule:
    """Padding layers; reflection takes each side's padding below the axis's size
    (PyTorch's reflection_pad check)."""

    def rule(node: Node, shape: Shape, ctx: Context, n: int) -> Layer:
        a = Args(node, ("padding", "value"), ctx)
        value = a.get("padding")
        pads = (value,) * (2 * dims) if isinstance(value, int) else value
        if (
            not isinstance(pads, (tuple, list))
            or len(pads) != 2 * dims
            or not all(isinstance(p, int) and not isinstance(p, bool) for p in pads)
        ):
            raise ctx.error(f"needs padding as one number or {2 * dims}, got {value!r}")
        if len(shape) < dims:
            raise ctx.error(f"pads the last {dims} axes but receives shape {_text(shape)}")
        out = list(shape)
        for axis in range(dims):  # (left, right) of the last axis first, as PyTorch's F.pad
            before, after = pads[2 * axis], pads[2 * axis + 1]
            if reflect and max(before, after) >= shape[-1 - axis]:
                raise ctx.error(
                    "Padding size should be less than the corresponding input dimension, but "
                    f"got: padding ({before}, {after}) at dimension {len(shape) - axis} of "
                    f"input {list((ctx.batch, *shape))}"
                )
            out[-1 - axis] += before + after
        if min(out) < 1:
            raise ctx.error(f"gives an axis below 1 (shape {_text(tuple(out))})")
        return Layer(tuple(out))

    return rule


def check_layer_bounds(layer: Layer, ctx: Context) -> None:
    """The digit bound on what a layer made: its output's size (which bounds each of its
    axes), its parameter and MAC counts."""
    for value, what in (
        (math.prod(layer.output), "the number of values of its output"),
        (layer.params, "its parameter count"),
        (layer.macs, "its MAC count"),
    ):
        _bounded(value, what, ctx)


def _bounded(value: int, what: str, ctx: Context) -> None:
    """An InputError naming the layer when ``value`` has more than `MAX_DIGITS` digits:
    one bound on every number the model path takes or makes, as single layers have."""
    _run(lambda: check_digits(value, what), ctx)


def _run(work: Callable[[], Any], ctx: Context) -> Any:
    try:
        return work()
    except InputError as e:
        raise InputError(f"{ctx.kind}: {e.message}", where=ctx.name, hint=e.hint) from None


_SHAPE_PRESERVING = [
    "Identity",
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "ELU",
    "SELU",
    "CELU",
    "GELU",
    "SiLU",
    "Mish",
    "Sigmoid",
    "Tanh",
    "Hardswish",
    "Hardsigmoid",
    "Hardtanh",
    "Softplus",
    "Softsign",
    "Tanhshrink",
    "Softshrink",
    "Hardshrink",
    "LogSigmoid",
    "Threshold",
    "RReLU",
    "Softmax",
    "LogSoftmax",
    "Softmin",
    "Softmax2d",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
    "StochasticDepth",
    "ChannelShuffle",
    "Sequential",  # one without children: the identity (a residual shortcut)
]

KINDS: dict[str, tuple[Rule, int | None]] = {
    # class -> (rule, spatial axes it needs; None: any)
    **{f"Conv{d}d": (_conv(False), d) for d in (1, 2, 3)},
    **{f"ConvTranspose{d}d": (_conv(True), d) for d in (1, 2, 3)},
    **{f"MaxPool{d}d": (_pool("max"), d) for d in (1, 2, 3)},
    **{f"AvgPool{d}d": (_pool("avg"), d) for d in (1, 2, 3)},
    **{f"Adaptive{m}Pool{d}d": (_adaptive, d) for m in ("Avg", "Max") for d in (1, 2, 3)},
    **{f"BatchNorm{d}d": (_norm("num_features", "affine", True), None) for d in (1, 2, 3)},
    **{f"InstanceNorm{d}d": (_norm("num_features", "affine", False), None) for d in (1, 2, 3)},
    **{f"ZeroPad{d}d": (_pad(d), None) for d in (1, 2, 3)},
    **{f"ConstantPad{d}d": (_pad(d), None) for d in (1, 2, 3)},
    **{f"ReflectionPad{d}d": (_pad(d, reflect=True), None) for d in (1, 2, 3)},
    **{f"ReplicationPad{d}d": (_pad(d), None) for d in (1, 2, 3)},
    **{f"CircularPad{d}d": (_pad(d), None) for d in (1, 2, 3)},
    "Linear": (_linear, None),
    "Flatten": (_flatten, None),
    "GroupNorm": (_group_norm, None),
    "LayerNorm": (_layer_norm, None),
    "LayerNorm2d": (_layer_norm_2d, None),
    "PReLU": (_prelu, None),
    "Upsample": (_upsample, None),
    "PixelShuffle": (_pixel_shuffle, None),
    "UpsamplingNearest2d": (_upsample, None),
    "UpsamplingBilinear2d": (_upsample, None),
    **{name: (_same, None) for name in _SHAPE_PRESERVING},
}
PRESERVING = frozenset(_SHAPE_PRESERVING) | {f"BatchNorm{d}d" for d in (1, 2, 3)}
CONTAINERS_WITHOUT_CODE = frozenset({"Sequential"})
BRANCHES = frozenset({"downsample", "shortcut", "proj"})
# models of torchvision whose forward ends with torch.flatten(x, 1) after the last module
FLATTENED_AT_THE_END = frozenset({"SqueezeNet"})
# blocks whose forward returns scale * input (their children compute the scale)
SCALING_BLOCKS = frozenset({"SqueezeExcitation", "SqueezeExcite", "SELayer", "SEBlock"})


def declared_in_channels(root: Node) -> int | None:
    """The input channels the first layer that declares them expects."""
    for node in leaves_of(root):
        kind = canonical_kind(node.kind, 2)
        if kind in KINDS:
            if kind.startswith(("Conv", "BatchNorm", "InstanceNorm")):
                value = node.args[0] if node.args else None
                value = node.kwargs.get("in_channels", node.kwargs.get("num_features", value))
                return value if isinstance(value, int) and not isinstance(value, bool) else None
            if kind == "GroupNorm":
                value = node.args[1] if len(node.args) > 1 else node.kwargs.get("num_channels")
                return value if isinstance(value, int) else None
            if kind == "Linear":
                return None
    return None


def declared_spatial_axes(root: Node) -> tuple[str, int] | None:
    """The class and spatial axes of the first layer that fixes them (Conv2d: 2)."""
    for node in leaves_of(root):
        kind = canonical_kind(node.kind, 2)
        entry = KINDS.get(kind)
        if entry is not None and entry[1] is not None:
            return kind, entry[1]
        if kind == "Linear":
            return None
    return None


def starts_with_linear(root: Node) -> bool:
    """Whether the first layer that changes the shape is a Linear (a multilayer perceptron)."""
    first = first_changing(root)
    return first is not None and canonical_kind(first.kind, 1) == "Linear"


def leaves_of(node: Node) -> list[Node]:
    out: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.children:
            stack.extend(reversed(current.children))
        else:
            out.append(current)
    return out


def _suffixless(kind: str) -> str:
    return re.sub(r"[123]d$", "", kind)


_BY_LOWER = {k.lower(): k for k in KINDS}


def canonical_kind(kind: str, spatial_axes: int) -> str:
    """PyTorch's class name for ``kind`` in any case, the 1d/2d/3d suffix optional (then
    from the input's spatial axes): ``conv`` on a 2-D input is ``Conv2d``."""
    if kind in KINDS:
        return kind
    lower = kind.lower()
    if lower in _BY_LOWER:
        return _BY_LOWER[lower]
    with_suffix = f"{lower}{max(spatial_axes, 1)}d"
    return _BY_LOWER.get(with_suffix, kind)


def first_changing(node: Node) -> Node | None:
    """The first leaf of ``node`` that is not shape-preserving, if any."""
    for leaf in leaves_of(node):
        if canonical_kind(leaf.kind, 2) not in PRESERVING:
            return leaf
    return None


def text(shape: Shape) -> str:
    """A shape in a message: ``64x56x56``."""
    return "x".join(map(str, shape))


def _digits(value: int) -> str:
    """A whole number in a message: itself, or its digit count when long."""
    digits = str(value)
    return digits if len(digits) <= 20 else f"{len(digits):,} digits"


def _text(shape: Shape) -> str:
    return "x".join(map(str, shape))


def run_model(
    root: Node, input_shape: Shape, batch: int = 1, seen: list[Leaf] | None = None
) -> ModelResult:
    """`hw3cli.core.forward.run_model`: the model run, its hidden steps tested."""
    from hw3cli.core.forward import run_model as run

    return run(root, input_shape, batch, seen)


# Containers whose forward runs their children one after another in the printed order (a
# residual branch of BRANCHES aside), with the children each rule expects (None: any): the
# receptive field follows them. torchvision's classes, checked by their children, so that a
# user's class of the same name with other children is not taken for them.
CHAINED: dict[str, frozenset[str] | None] = {
    **dict.fromkeys(
        (
            "Sequential",
            "Conv1dNormActivation",
            "Conv2dNormActivation",
            "Conv3dNormActivation",
            "_Transition",
            "SimpleStemIN",
            "AnyStage",
        )
    ),
    **{
        name: frozenset(children.split())
        for name, children in (
            ("ResNet", "conv1 bn1 relu maxpool layer1 layer2 layer3 layer4 avgpool fc"),
            ("BasicBlock", "conv1 bn1 relu conv2 bn2 downsample"),
            ("Bottleneck", "conv1 bn1 conv2 bn2 conv3 bn3 relu downsample"),
            ("VGG", "features avgpool classifier"),
            ("AlexNet", "features avgpool classifier"),
            ("MobileNetV2", "features classifier"),
            ("MobileNetV3", "features avgpool classifier"),
            ("EfficientNet", "features avgpool classifier"),
            ("InvertedResidual", "conv block"),  # MobileNetV2's conv, V3's block
            ("MBConv", "block stochastic_depth"),
            ("FusedMBConv", "block stochastic_depth"),
            ("MNASNet", "layers classifier"),
            ("_InvertedResidual", "layers"),
            ("RegNet", "stem trunk_output avgpool fc"),
            ("ResBottleneckBlock", "proj f activation"),
            ("BottleneckTransform", "a b se c"),
            ("SqueezeNet", "features classifier"),
            ("BasicConv2d", "conv bn"),
            ("ConvNeXt", "features avgpool classifier"),
            ("CNBlock", "block stochastic_depth"),
            ("SqueezeExcitation", "avgpool fc1 fc2 activation scale_activation"),
            (
                "Fire",
                "squeeze squeeze_activation expand1x1 expand1x1_activation expand3x3 "
                "expand3x3_activation",
            ),
        )
    },
}
# Containers whose children run side by side, their outputs concatenated: a receptive field
# through them is not one chain of layers.
SIDE_BY_SIDE = frozenset(
    {"Inception", "InceptionA", "InceptionB", "InceptionC", "InceptionD", "InceptionE"}
    | {"InceptionAux", "_DenseBlock", "_DenseLayer"}
)
_BRANCH_NAME = re.compile(r"branch", re.IGNORECASE)


class Path(NamedTuple):
    """A model's main path for its receptive field: the convolutions and poolings in the
    order run, the layer that ends it (None: none does), and the containers of a class hw3
    has no rule for, followed on the assumption that they run their children in the
    printed order (dotted name, class)."""

    layers: list[Leaf]
    stop: Leaf | None
    assumed: tuple[tuple[str, str], ...]
    branches: tuple[str, ...] = ()  # the residual branches left out (their dotted names)


def _tree(root: Node) -> dict[str, Node]:
    """Every container of the tree by its dotted name (the root is "")."""
    found: dict[str, Node] = {}
    stack: list[tuple[str, Node]] = [("", root)]
    while stack:
        name, node = stack.pop()
        if node.children:
            found[name] = node
            for child in node.children:
                stack.append((f"{name}.{child.name}" if name else child.name, child))
    return found


def side_by_side(name: str, node: Node) -> Undecided | None:
    """Undecided when the children of container ``node`` run side by side (Inception's
    branches, DenseNet's concatenations, children named ``branch...`` other than a residual
    branch of BRANCHES) or are not those of the torchvision class it is named after."""
    names = [c.name for c in node.children]
    parallel = [
        n
        for n in names
        if _BRANCH_NAME.search(n) and n not in BRANCHES and node.kind not in CONTAINERS_WITHOUT_CODE
    ]  # (a Sequential's children chain whatever their names)
    hint = (
        "the receptive field of the layers before it is that of a stack: give them as a "
        "JSON list (--net layers.json), or draw a single layer"
    )
    if node.kind in SIDE_BY_SIDE or parallel:
        some = parallel or names
        shown = ", ".join(some[:4]) + (", ..." if len(some) > 4 else "")
        how = (
            f"feeds each of its children ({shown}) the concatenation of its input and the "
            "outputs of the ones before"
            if node.kind in ("_DenseBlock", "_DenseLayer")
            else f"runs its children ({shown}) side by side and concatenates their outputs"
            if len(parallel) != 1
            else f"runs its child {parallel[0]} beside the others (its name says a branch)"
        )
        return Undecided(
            f"{node.kind} {how}: its receptive field is the union of theirs, not "
            "one chain of layers, "
            "and hw3 does not follow it (chaining them would overstate it)",
            where=name or "the model",
            hint=hint,
        )
    expected = CHAINED.get(node.kind)
    if expected is not None and not set(names) <= expected:
        other = ", ".join(n for n in names if n not in expected)
        return Undecided(
            f"{node.kind} has children ({other}) that torchvision's {node.kind} does not have: "
            "its forward is not the one hw3 knows, and chaining its children could "
            "overstate the receptive field",
            where=name or "the model",
            hint=hint,
        )
    if node.kind == "Fire":
        expand = next((c for c in node.children if c.name == "expand1x1"), None)
        keys = ("in_channels", "out_channels", "kernel_size", "stride")
        args = dict(zip(keys, expand.args, strict=False)) if expand else {}
        args.update(expand.kwargs if expand else {})
        if any(
            args.get(key, default) not in (value, (value,) * 2)
            for key, default, value in (
                ("kernel_size", None, 1),
                ("stride", 1, 1),
                ("padding", 0, 0),
                ("dilation", 1, 1),
            )
        ):
            return Undecided(
                "Fire's expand1x1 is not a 1x1 convolution of stride 1 beside expand3x3: "
                "the two run side by side and their fields differ",
                where=f"{name}.expand1x1",
                hint=hint,
            )
    return None


def spatial_path(result: ModelResult, root: Node) -> Path:
    """The convolutions and poolings on the model's main path (``root`` is the tree
    ``result`` ran), in the order run, up to the first other layer that changes the shape
    (a global pooling, a Flatten, a Linear, an Upsample, a padding layer), and that layer.
    Layers that keep the shape (activations, normalisations, an adaptive pooling to the
    size it receives) change no receptive field. Branches (``downsample``, ``shortcut``,
    ``proj``) are left out: a residual block's output sees what its main path sees, which
    holds what the branch sees. A Fire's two expands are chained: its 1x1 expand changes
    no receptive field.

    Never a guess (Undecided): a container on the way whose children run side by side
    (`side_by_side`), or a layer whose input is not what the layer before it gave (a step of
    forward the print does not show: a concatenation, a pooling)."""
    containers = _tree(root)
    checked: dict[str, tuple[str, str] | None] = {}  # container -> assumed (name, class)
    path: list[Leaf] = []
    shape = result.input
    previous = ""  # the layer that gave ``shape``
    hidden = {step.before for step in result.steps}  # a flatten or a global pooling
    branches: dict[str, None] = {}
    for index, leaf in enumerate(result.leaves):
        parts = leaf.name.split(".")
        branch = next((i for i, part in enumerate(parts) if part in BRANCHES), None)
        if branch is not None:
            branches[".".join(parts[: branch + 1])] = None
            continue
        fire = _in_fire(leaf.name, containers)
        if fire is not None and parts[len(fire.split(".")) if fire else 0].startswith("expand1x1"):
            continue  # (a 1x1 convolution beside expand3x3, checked by side_by_side)
        for depth in range(len(parts)):
            name = ".".join(parts[:depth])
            node = containers.get(name)
            if node is None or name in checked:
                continue
            problem = side_by_side(name, node)
            if problem is not None:
                raise problem
            checked[name] = None if node.kind in CHAINED else (name, node.kind)
        if index in hidden:
            return Path(path, leaf, _assumed(checked), tuple(branches))
        after_fire = bool(previous) and _in_fire(previous, containers) not in (None, fire)
        if leaf.input != shape and not (after_fire and leaf.input[1:] == shape[1:]):
            what = "size" if leaf.input[1:] != shape[1:] else "channels"
            raise Undecided(
                f"{leaf.kind} receives {_text(leaf.input)}, not the {_text(shape)} that "
                f"{previous or 'the input'} gives (its {what} differ): forward does a step "
                "the print does not show, and the receptive field cannot be followed",
                where=leaf.name,
                hint="give the layers up to it as a JSON list (--net layers.json)",
            )
        previous = leaf.name
        if leaf.result is None:
            if leaf.output == shape:
                continue
            return Path(path, leaf, _assumed(checked), tuple(branches))
        path.append(leaf)
        shape = leaf.output
    return Path(path, None, _assumed(checked), tuple(branches))


def side_by_side_before(root: Node, where: str | None) -> Undecided | None:
    """The first container (in the printed order) whose children run side by side, when it
    comes before or holds the layer ``where`` that a run stopped at: the likelier cause of
    the stop than the layer, and a receptive field hw3 would not follow anyway."""
    if where not in _tree(root) and where not in _names(root):
        return None  # (not a layer: an option, the input)
    stack: list[tuple[str, Node]] = [("", root)]
    while stack:
        name, node = stack.pop()
        if name == where:
            return None
        if node.children:
            problem = side_by_side(name, node)
            if problem is not None:
                return problem
            stack.extend(
                (f"{name}.{c.name}" if name else c.name, c) for c in reversed(node.children)
            )
    return None


def _names(root: Node) -> set[str]:
    """The dotted name of every module of the tree."""
    found: set[str] = set()
    stack: list[tuple[str, Node]] = [("", root)]
    while stack:
        name, node = stack.pop()
        found.add(name)
        stack.extend((f"{name}.{c.name}" if name else c.name, c) for c in node.children)
    return found


def _in_fire(name: str, containers: dict[str, Node]) -> str | None:
    """The Fire container ``name`` is in, if any."""
    parts = name.split(".")
    for depth in range(len(parts) - 1, -1, -1):
        prefix = ".".join(parts[:depth])
        node = containers.get(prefix)
        if node is not None and node.kind == "Fire":
            return prefix
    return None


def _assumed(checked: dict[str, tuple[str, str] | None]) -> tuple[tuple[str, str], ...]:
    return tuple(v for v in checked.values() if v is not None)


def global_layer(leaf: Leaf) -> bool:
    """Whether every output of ``leaf`` sees its whole input: it leaves no spatial axis
    longer than 1 (a global pooling, a Flatten, a Linear)."""
    return len(leaf.output) == 1 or math.prod(leaf.output[1:]) == 1
