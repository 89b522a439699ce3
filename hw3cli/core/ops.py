"""What each call of forward does, in order: the record that counting and memory read.

A stack or a printed model becomes a list of `Op`s: one per layer call, plus the steps
of forward that the print does not show but that hw3 knows (docs/formulas.md section 6):
the flatten or global pool of convention 2; the residual adds of torchvision's
BasicBlock, Bottleneck, InvertedResidual, MBConv and ResBottleneckBlock; the second and
third calls of the one ``relu`` module that BasicBlock and Bottleneck reuse;
squeeze-and-excitation's ``scale * input``; Fire's concatenation. Each op names the op
whose output it reads (``source``; -1 is the model's input), so that a tensor two layers
keep is one tensor. Shapes exclude the batch axis.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from hw3cli.core.model import ModelResult
    from hw3cli.core.network import StackResult

Shape = tuple[int, ...]


class Op(NamedTuple):
    """One call: its layer's dotted name and PyTorch class (or a functional step:
    ``flatten``, ``global_avg_pool``, ``add``, ``mul``, ``cat``, or ``end``, where a block
    that holds its input releases it), the shapes in and out, the layer's parameters, its named
    arguments, and where its input comes from."""

    name: str
    kind: str
    input: Shape
    output: Shape
    params: int = 0
    args: Mapping[str, Any] = {}
    source: int = -1  # index of the op whose output this op reads; -1: the model's input
    other: int | None = None  # the second operand of an add, a product or a concatenation
    hidden: bool = False  # a step of forward that the print does not show
    layer: int | None = None  # index of the printed layer (leaf) this call belongs to
    functional: str | None = None  # a functional call (``F.relu``): tools that see only
    # modules (torchinfo, thop) do not count it; ptflops counts what it patches

    @property
    def family(self) -> str:
        """The class without its 1d/2d/3d suffix: ``Conv``, ``MaxPool``, ``BatchNorm``."""
        return re.sub(r"[123]d$", "", self.kind)

    @property
    def dims(self) -> int:
        """Spatial axes of the input."""
        return len(self.input) - 1

    def arg(self, key: str, default: Any = None) -> Any:
        value = self.args.get(key, default)
        return default if value is None and default is not None else value

    def ints(self, key: str, default: Any = None) -> tuple[int, ...]:
        """An argument given as one number or one per spatial axis, as a tuple."""
        value = self.arg(key, default)
        if isinstance(value, (tuple, list)):
            values = tuple(value)
            return values * self.dims if len(values) == 1 else values
        return (value,) * self.dims

    @property
    def inplace(self) -> bool:
        """Whether the output is the input's storage (an in-place layer, a view, an
        in-place add)."""
        if self.kind == "add":
            return bool(self.arg("inplace", False))
        skipped = self.family == "StochasticDepth" and not self.arg("p", 0)  # returns input
        return bool(self.arg("inplace", False)) or self.family in _VIEWS or skipped

    @property
    def groups(self) -> int:
        return int(self.arg("groups", 1))

    @property
    def bias(self) -> bool:
        value = self.arg("bias", True)
        return value is not False

    @property
    def param_tensors(self) -> int:
        """How many parameter tensors the layer has (weight, bias)."""
        if not self.params:
            return 0
        if self.family in ("Conv", "ConvTranspose", "Linear", "LayerNorm"):
            return 2 if self.bias else 1
        return 1 if self.family == "PReLU" else 2


_VIEWS = frozenset({"Flatten", "Unflatten", "Identity", "flatten", "end"})

# PyTorch's constructor arguments in their positional order, by class without its 1d/2d/3d
# suffix: the one table that names a printed layer's arguments and binds a model source's
_POSITIONAL: dict[str, tuple[str, ...]] = {
    "Conv": (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "dilation",
        "groups",
        "bias",
        "padding_mode",
    ),
    "ConvTranspose": (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "output_padding",
        "groups",
        "bias",
        "dilation",
        "padding_mode",
    ),
    "MaxPool": ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"),
    "AvgPool": (
        "kernel_size",
        "stride",
        "padding",
        "ceil_mode",
        "count_include_pad",
        "divisor_override",
    ),
    "AdaptiveAvgPool": ("output_size",),
    "AdaptiveMaxPool": ("output_size", "return_indices"),
    "BatchNorm": ("num_features", "eps", "momentum", "affine", "track_running_stats"),
    "InstanceNorm": ("num_features", "eps", "momentum", "affine", "track_running_stats"),
    "GroupNorm": ("num_groups", "num_channels", "eps", "affine"),
    "LayerNorm": ("normalized_shape", "eps", "elementwise_affine", "bias"),
    "Linear": ("in_features", "out_features", "bias"),
    "Flatten": ("start_dim", "end_dim"),
    "ReLU": ("inplace",),
    "ReLU6": ("inplace",),
    "LeakyReLU": ("negative_slope", "inplace"),
    "ELU": ("alpha", "inplace"),
    "CELU": ("alpha", "inplace"),
    "Hardtanh": ("min_val", "max_val", "inplace"),
    "Softmax": ("dim",),
    "LogSoftmax": ("dim",),
    "Softmin": ("dim",),
    "Upsample": ("size", "scale_factor", "mode", "align_corners"),
    "UpsamplingNearest": ("size", "scale_factor"),
    "UpsamplingBilinear": ("size", "scale_factor"),
    "PReLU": ("num_parameters", "init"),
    "GELU": ("approximate",),
    "Pad": ("padding", "value"),
    "StochasticDepth": ("p", "mode"),
    "PixelShuffle": ("upscale_factor",),
    **{k: ("p", "inplace") for k in ("Dropout", "AlphaDropout", "FeatureAlphaDropout")},
}
SIGNATURES = _POSITIONAL
_INPLACE_ONLY = ("ReLU", "ReLU6", "SiLU", "Hardswish", "Hardsigmoid", "Mish", "SELU")


def named_args(kind: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A printed layer's arguments by PyTorch's names: ``Conv2d(3, 64, kernel_size=...)``."""
    family = re.sub(r"[123]d$", "", kind)
    names = _POSITIONAL.get(family, ("inplace",) if family in _INPLACE_ONLY else ())
    named = dict(zip(names, args, strict=False))
    named.update(kwargs)
    if kind == "UpsamplingNearest2d":
        named["mode"] = "nearest"
    elif kind == "UpsamplingBilinear2d":
        named["mode"] = "bilinear"
    return named


# --- stacks ----------------------------------------------------------------------------


def stack_ops(stack: StackResult) -> list[Op]:
    """One op per layer of a stack (convolutions and pooling), each reading the one before."""
    ops: list[Op] = []
    channels = stack.in_channels
    for index, layer in enumerate(stack.layers):
        r = layer.result
        n = len(r.axes)
        spec = r.spec
        if spec.pool is not None:
            kind = f"{'Max' if spec.pool == 'max' else 'Avg'}Pool{n}d"
        else:
            kind = f"{'ConvTranspose' if spec.transposed else 'Conv'}{n}d"
        args = {
            "kernel_size": tuple(a.kernel for a in r.axes),
            "stride": tuple(a.stride for a in r.axes),
            "padding": tuple(a.padding for a in r.axes),  # (before, after) per axis
            "groups": spec.groups,
            "bias": spec.bias,
            "ceil_mode": spec.ceil_mode,
            "count_include_pad": True,
        }
        ops.append(
            Op(
                layer.name,
                kind,
                (channels, *r.input),
                (r.out_channels, *r.output),
                r.params,
                args,
                index - 1,
                layer=index,
            )
        )
        channels = r.out_channels
    return ops


# --- printed models --------------------------------------------------------------------

BRANCHES = ("downsample", "shortcut", "proj")
# torchvision's blocks whose forward reuses their one ``relu`` module: the children they
# need, and after which of them the extra calls run (the printed relu is one call)
_REUSED_RELU = {
    "BasicBlock": (("conv1", "bn1", "relu", "conv2", "bn2"), ("bn2",)),
    "Bottleneck": (("conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu"), ("bn1", "bn2")),
}
# blocks whose forward adds their input (or their downsample's output) to the main path
# blocks whose forward adds their input (or their branch's output) to the main path:
# always, or only where the two shapes agree (stride 1, as many channels out as in)
_RESIDUAL = frozenset({"BasicBlock", "Bottleneck"})
_RESIDUAL_IF_SAME = frozenset({"InvertedResidual", "MBConv", "FusedMBConv", "ResBottleneckBlock"})
# ... in place (result += input; MobileNetV2's InvertedResidual, with a child named
# ``conv``, returns x + self.conv(x) instead)
_INPLACE_ADD = frozenset({"BasicBlock", "Bottleneck", "MBConv", "FusedMBConv"})
# blocks whose forward keeps its argument referenced until it returns
_HOLDS_INPUT = frozenset(
    {"BasicBlock", "Bottleneck", "InvertedResidual", "MBConv", "FusedMBConv", "ResBottleneckBlock"}
)
# blocks whose forward runs the branch first: self.proj(x) + self.f(x)
_BRANCH_FIRST = frozenset({"ResBottleneckBlock"})
# blocks whose child of this name runs after the add (RegNet: self.activation(x + f(x)))
_AFTER_ADD = {"ResBottleneckBlock": "activation"}
# blocks that return scale * input, their children computing the scale (model.py's rule)
_SCALING = frozenset({"SqueezeExcitation", "SqueezeExcite", "SELayer", "SEBlock"})
# classes whose forward hw3 knows in full (with model.py's conventions and the rules here)
KNOWN_FORWARD = frozenset(
    {
        "Sequential",
        "ModuleList",
        "AlexNet",
        "VGG",
        "ResNet",
        "BasicBlock",
        "Bottleneck",
        "MobileNetV2",
        "InvertedResidual",
        "Conv2dNormActivation",
        "ConvNormActivation",
        "ConvBNReLU",
        "MobileNetV3",
        "EfficientNet",
        "MBConv",
        "FusedMBConv",
        "SqueezeExcitation",
        "SqueezeNet",
        "Fire",
        "RegNet",
        "SimpleStemIN",
        "AnyStage",
        "ResBottleneckBlock",
        "BottleneckTransform",
    }
)


def model_ops(result: ModelResult) -> tuple[list[Op], list[str]]:
    """The calls of a printed model's forward, in order, and notes on what the print
    leaves open (containers whose forward hw3 does not know)."""
    kinds = {name: kind for name, kind, _ in result.containers}
    steps = {step.before: step for step in result.steps}
    children: dict[str, dict[str, int]] = {}  # container -> its leaves by short name
    for i, leaf in enumerate(result.leaves):
        parent, _, short = leaf.name.rpartition(".")
        children.setdefault(parent, {})[short] = i
    ops: list[Op] = []
    current = -1  # the op whose output the next main-path layer reads
    block_input: dict[str, int] = {}  # container -> the op that gave its input
    branch_end: dict[str, int] = {}  # block -> the last op of its branch
    op_of: dict[int, int] = {}  # printed layer -> the op of its (first) call
    deferred: dict[str, int] = {}  # block -> its layer that runs after the add
    open_blocks: list[str] = []
    notes: list[str] = []

    def reuses_relu(block: str) -> tuple[str, ...]:
        """The children after which a torchvision block calls its relu again."""
        needed, after = _REUSED_RELU.get(kinds.get(block, ""), ((), ()))
        return after if needed and set(needed) <= set(children.get(block, {})) else ()

    def shape_of(index: int) -> Shape:
        return result.input if index < 0 else ops[index].output

    def hidden(name: str, kind: str, shape: Shape, source: int, **more: Any) -> None:
        nonlocal current
        ops.append(Op(name, kind, shape_of(source), shape, source=source, hidden=True, **more))
        current = len(ops) - 1

    def close(block: str) -> None:
        nonlocal current
        kind = kinds[block]
        start = block_input[block]
        mine = children.get(block, {})
        if kind in _SCALING:  # forward returns scale * input
            hidden(f"{block}.mul", "mul", shape_of(start), start, other=current)
        if kind == "Fire" and {"expand1x1_activation", "expand3x3_activation"} <= set(mine):
            one, three = (op_of[mine[f"expand{k}_activation"]] for k in ("1x1", "3x3"))
            joined = (shape_of(one)[0] + shape_of(three)[0], *shape_of(one)[1:])
            hidden(f"{block}.cat", "cat", joined, one, other=three)
        same = shape_of(current) == shape_of(start)
        if block in branch_end or ((kind in _RESIDUAL or kind in _RESIDUAL_IF_SAME) and same):
            inplace = kind in _INPLACE_ADD or (kind == "InvertedResidual" and "conv" not in mine)
            name = f"{block}.add" if block else "add"
            add_to = branch_end.get(block, start)
            hidden(name, "add", shape_of(current), current, other=add_to, args={"inplace": inplace})
            if "bn2" in reuses_relu(block) and kind == "BasicBlock":
                relu = mine["relu"]
                ops.append(_call(result.leaves[relu], shape_of(current), current, relu, True))
                current = len(ops) - 1
        if block in deferred:
            leaf = result.leaves[deferred[block]]
            ops.append(_call(leaf, shape_of(current), current, deferred[block]))
            current = len(ops) - 1
        if kind in _HOLDS_INPUT:  # the input stays alive until the block returns
            ops.append(Op(f"{block}.end", "end", shape_of(start), shape_of(start), source=start))
        if kind not in KNOWN_FORWARD:
            notes.append(
                f"{block or 'the model'} ({kind}): its forward may run operations the print "
                "does not show; counts and memory cover its modules and hw3's conventions only"
            )

    for index, leaf in enumerate(result.leaves):
        parts = leaf.name.split(".")
        containers = [p for p in (".".join(parts[:k]) for k in range(len(parts))) if p in kinds]
        while open_blocks and open_blocks[-1] not in containers:
            close(open_blocks.pop())
        for container in containers:
            if container not in open_blocks:
                open_blocks.append(container)
                block_input[container] = current
                if kinds[container] in _BRANCH_FIRST:  # its branch runs before the main path
                    for j, other in enumerate(result.leaves):
                        if any(other.name.startswith(f"{container}.{b}.") for b in BRANCHES):
                            ops.append(
                                _call(other, other.input, branch_end.get(container, current), j)
                            )
                            branch_end[container] = op_of[j] = len(ops) - 1
        if index in op_of:  # run already, as a branch that goes first
            continue
        step = steps.get(index)
        if step is not None:
            hidden(step.op, step.op, step.output, current)
        if leaf.op == "F.adaptive_avg_pool2d":  # that step's row in the table (above)
            continue
        parent, _, short = leaf.name.rpartition(".")
        if _AFTER_ADD.get(kinds.get(parent, "")) == short:
            deferred[parent] = index
            continue
        branch = next((k for k in range(1, len(parts)) if parts[k] in BRANCHES), None)
        if branch is not None:
            block = ".".join(parts[:branch])
            ops.append(_call(leaf, leaf.input, branch_end.get(block, block_input[block]), index))
            branch_end[block] = op_of[index] = len(ops) - 1
            continue
        source = current
        if (
            kinds.get(parent) == "Fire"
            and short == "expand3x3"
            and "squeeze_activation" in (mine := children[parent])
        ):
            source = op_of[mine["squeeze_activation"]]  # both expands read the squeeze
        ops.append(_call(leaf, leaf.input, source, index))
        current = op_of[index] = len(ops) - 1
        if short in reuses_relu(parent) and not (short == "bn2" and kinds[parent] == "BasicBlock"):
            relu = children[parent]["relu"]
            ops.append(_call(result.leaves[relu], leaf.output, current, relu, True))
            current = len(ops) - 1
    for step in (steps[i] for i in sorted(steps) if i >= len(result.leaves)):
        hidden(step.op, step.op, step.output, current)
    while open_blocks:
        close(open_blocks.pop())
    return ops, notes


# --- models read from source ---------------------------------------------------------

# functional calls that are a layer kind's operation (the ones run as a layer carry it)
_FUNCTIONAL_KINDS = {
    **{f"{p}.relu": "ReLU" for p in ("F", "torch", "Tensor")},
    **{f"{p}.relu_": "ReLU" for p in ("F", "torch", "Tensor")},
    "F.relu6": "ReLU6",
    "F.elu": "ELU",
    "F.elu_": "ELU",
    "F.selu": "SELU",
    "F.celu": "CELU",
    "F.gelu": "GELU",
    "F.silu": "SiLU",
    "F.mish": "Mish",
    "F.hardswish": "Hardswish",
    "F.hardsigmoid": "Hardsigmoid",
    "F.hardtanh": "Hardtanh",
    "F.leaky_relu": "LeakyReLU",
    "F.leaky_relu_": "LeakyReLU",
    "F.softplus": "Softplus",
    **{f"{p}.sigmoid": "Sigmoid" for p in ("F", "torch", "Tensor")},
    **{f"{p}.tanh": "Tanh" for p in ("F", "torch", "Tensor")},
    **{f"{p}.softmax": "Softmax" for p in ("F", "torch", "Tensor")},
    **{f"{p}.log_softmax": "LogSoftmax" for p in ("F", "torch", "Tensor")},
    "F.dropout": "Dropout",
    "F.dropout1d": "Dropout1d",
    "F.dropout2d": "Dropout2d",
    "F.dropout3d": "Dropout3d",
    **{k: "add" for k in ("+", "torch.add", "Tensor.add")},
    **{k: "mul" for k in ("*", "torch.mul", "Tensor.mul")},
    **{k: "cat" for k in ("torch.cat", "torch.concat", "torch.stack")},
}
# what only rearranges or reads a tensor: a view (no new tensor, nothing counted)
_VIEW_CALLS = frozenset(
    {
        "torch.flatten",
        "Tensor.flatten",
        "Tensor.view",
        "Tensor.reshape",
        "torch.reshape",
        "Tensor[]",
        "Tensor.squeeze",
        "Tensor.unsqueeze",
        "torch.squeeze",
        "torch.unsqueeze",
        "Tensor.permute",
        "torch.permute",
        "Tensor.transpose",
        "torch.transpose",
        "Tensor.expand",
        "Tensor.view_as",
        "Tensor.expand_as",
        "torch.chunk",
        "Tensor.chunk",
        "torch.split",
        "Tensor.split",
    }
)


class Call(NamedTuple):
    """One step of forward as read from source: the module's dotted name (for a
    functional call, the module whose forward made it), the layer kind it runs (None: a
    functional call that is no layer), the call's text for a functional step, the shapes
    in and out (no batch axis), the parameters, the named arguments, the steps whose outputs
    it reads (-1: the model's input), and whether it writes into its first input
    (``out += x``)."""

    name: str
    kind: str | None
    functional: str | None
    input: Shape
    output: Shape
    params: int
    args: Mapping[str, Any]
    reads: tuple[int, ...]
    inplace: bool = False


def source_ops(calls: Sequence[Call]) -> tuple[list[Op], list[str]]:
    """The calls of a forward that hw3 read from source, one op each (its index is the
    step's), and notes on steps whose counts and memory hw3 does not know."""
    ops: list[Op] = []
    unknown: list[str] = []
    for index, c in enumerate(calls):
        kind = c.kind
        if kind is None:
            call = c.functional or ""
            # (a view counts nothing and saves nothing, as a flatten)
            kind = "flatten" if call in _VIEW_CALLS else _FUNCTIONAL_KINDS.get(call)
            if kind is None:
                unknown.append(call)
                kind = call
        args = dict(c.args)
        if kind == "add" and c.inplace:
            args["inplace"] = True
        source = c.reads[0] if c.reads else index - 1
        other = c.reads[1] if len(c.reads) > 1 else None
        ops.append(
            Op(
                c.name,
                kind,
                c.input,
                c.output,
                c.params,
                args,
                source,
                other,
                layer=index,
                functional=c.functional,
            )
        )
    notes = []
    if unknown:
        listed = ", ".join(dict.fromkeys(unknown))
        notes.append(
            f"{listed}: hw3 does not know what profiling tools count for "
            f"{'this call' if len(set(unknown)) == 1 else 'these calls'} or what autograd "
            "keeps; counts and memory take 0"
        )
    return ops, notes


def _call(leaf: Any, shape: Shape, source: int, layer: int, hidden: bool = False) -> Op:
    """A call of the printed layer ``leaf`` on a tensor of ``shape`` (a shape-preserving
    layer when it is called again on another shape)."""
    return Op(
        leaf.name,
        leaf.kind,
        shape,
        leaf.output if shape == leaf.input else shape,
        leaf.params,
        named_args(leaf.kind, leaf.args, dict(leaf.kwargs)),
        source,
        hidden=hidden,
        layer=layer,
    )


def numel(shape: Shape) -> int:
    return math.prod(shape)
