"""Named rules: torchvision's blocks whose forward the print cannot show.

A print lists a block's children; torchvision's forward for the classes below
concatenates branches, splits channels, reuses an activation or turns a feature map into
tokens. Each rule states that forward (torchvision 0.29's source, cited per class) and
first checks that the block has exactly the children it relies on: a class of the same
name with other children is refused (`Undecided`), never guessed. A rule runs children
through ``run.module`` so that every layer appears in the order forward calls it; a step
forward makes with a function (``F.avg_pool2d``) is a row with ``op``.

Parameters a print does not show are added by name (``held``): ConvNeXt's
``layer_scale`` (C per block), ViT's ``class_token`` (E) and ``pos_embedding``
((tokens) x E).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from hw3cli.core.model import Node, Shape, text
from hw3cli.errors import InputError, Undecided

if TYPE_CHECKING:
    from hw3cli.core.forward import _Run

BlockRule = Callable[["_Run", Node, Shape, str, int], Shape]


class Call(NamedTuple):
    """A module of the tree that the print does not show (``F.max_pool2d(x, 2)``)."""

    name: str
    kind: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    children: tuple[Node, ...] = ()
    line: int = 0


def _children(
    node: Node, name: str, required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, Node]:
    """The children by name, refused unless they are exactly torchvision's."""
    parts = {child.name: child for child in node.children}
    missing = [key for key in required if key not in parts]
    extra = [key for key in parts if key not in required and key not in optional]
    if missing or extra:
        expected = ", ".join([*required, *(f"{k} (optional)" for k in optional)])
        raise Undecided(
            f"{node.kind} has children ({', '.join(parts) or 'none'}) where torchvision's "
            f"{node.kind} has ({expected}): hw3 does not know this class's forward",
            where=name or "the model",
            hint="hw3 models torchvision's block of this name only; rename the class, or "
            "write its forward as an nn.Sequential",
        )
    return parts


def _path(
    run: _Run,
    parts: dict[str, Node],
    keys: Sequence[str | Call],
    shape: Shape,
    name: str,
    depth: int,
) -> Shape:
    """The named children (or functional steps) one after another from ``shape``."""
    for key in keys:
        if isinstance(key, Call):
            shape = run.functional(key, shape, depth + 1)
        else:
            shape = run.module(parts[key], shape, f"{name}.{key}" if name else key, depth + 1)
    return shape


def _concat(outputs: Sequence[Shape], node: Node, name: str) -> Shape:
    """torch.cat along the channels: the spatial sizes must agree."""
    spatial = {out[1:] for out in outputs}
    if len(spatial) != 1:
        raise InputError(
            f"{node.kind}'s branches give {', '.join(text(o) for o in outputs)}: they are "
            "concatenated along the channels, so their spatial sizes must agree",
            where=name,
        )
    return (sum(out[0] for out in outputs), *outputs[0][1:])


def _concat_rule(branches: Sequence[Sequence[str | Call]]) -> BlockRule:
    """A block whose forward runs each branch on its input and concatenates them."""
    names = [key for branch in branches for key in branch if isinstance(key, str)]

    def rule(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
        parts = _children(node, name, names)
        outputs = [_path(run, parts, branch, shape, name, depth) for branch in branches]
        return _concat(outputs, node, name)

    return rule


def _inception_e(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
    """InceptionE (torchvision/models/inception.py): the 3x3 branches split in two."""
    keys = [
        "branch1x1",
        "branch3x3_1",
        "branch3x3_2a",
        "branch3x3_2b",
        "branch3x3dbl_1",
        "branch3x3dbl_2",
        "branch3x3dbl_3a",
        "branch3x3dbl_3b",
        "branch_pool",
    ]
    parts = _children(node, name, keys)
    one = _path(run, parts, ["branch1x1"], shape, name, depth)
    stem = _path(run, parts, ["branch3x3_1"], shape, name, depth)
    three = _concat([_path(run, parts, [k], stem, name, depth) for k in keys[2:4]], node, name)
    stem = _path(run, parts, ["branch3x3dbl_1", "branch3x3dbl_2"], shape, name, depth)
    double = _concat([_path(run, parts, [k], stem, name, depth) for k in keys[6:8]], node, name)
    pool = _path(run, parts, [AVG_POOL_3, "branch_pool"], shape, name, depth)
    return _concat([one, three, double, pool], node, name)


AVG_POOL_3 = Call("F.avg_pool2d", "AvgPool2d", (3, 1, 1), {})
MAX_POOL_3_2 = Call("F.max_pool2d", "MaxPool2d", (3, 2), {})


def _resnet_block(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
    """torchvision's BasicBlock and Bottleneck (models/resnet.py): the main path in the
    printed order (its one ``relu`` is listed once, where printed; the calls after the
    normalisations are in the counts), downsample a branch on the input, added. No hidden
    step is tried inside; a class of that name with other children is a container."""
    parts = {child.name: child for child in node.children}
    basic = ["conv1", "bn1", "relu", "conv2", "bn2"]
    order = (
        basic
        if node.kind == "BasicBlock"
        else ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu"]
    )
    if set(parts) - {"downsample"} != set(order):
        return run.container(node, shape, name, depth)  # another class of that name
    printed = [child.name for child in node.children if child.name != "downsample"]
    out = _path(run, parts, printed, shape, name, depth)
    identity = shape
    if "downsample" in parts:
        identity = _path(run, parts, ["downsample"], shape, name, depth)
    if identity != out:
        raise InputError(
            f"downsample gives {text(identity)} but the block's main path gives {text(out)}; "
            "the two are added, so they must be equal",
            where=f"{name}.downsample" if "downsample" in parts else name,
            hint="check the branch's stride and out_channels against the main path's",
        )
    return out


def _dense_block(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
    """DenseNet's _DenseBlock (models/densenet.py): each _DenseLayer reads the
    concatenation of the block's input and every earlier layer's output; the block
    returns that concatenation."""
    channels = shape[0]
    for child in node.children:
        child_name = f"{name}.{child.name}"
        if child.kind != "_DenseLayer":
            raise Undecided(
                f"_DenseBlock holds a {child.kind} where torchvision's holds _DenseLayer",
                where=child_name,
            )
        out = run.module(child, (channels, *shape[1:]), child_name, depth + 1)
        if out[1:] != shape[1:]:
            raise InputError(
                f"_DenseLayer gives {text(out)}: it is concatenated with its input, so its "
                f"spatial size must stay {text(shape[1:])}",
                where=child_name,
            )
        channels += out[0]
    return (channels, *shape[1:])


def _in_order(*keys: str, optional: Sequence[str] = ()) -> BlockRule:
    """A block whose forward calls its children in this order, no code between."""

    def rule(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
        parts = _children(node, name, keys, optional)
        return _path(run, parts, [k for k in (*keys, *optional) if k in parts], shape, name, depth)

    return rule


def _shuffle_unit(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
    """ShuffleNetV2's InvertedResidual (models/shufflenetv2.py): with stride 1 (an empty
    branch1) the input is split in two halves along the channels and branch2 runs on the
    second; otherwise both branches run on the input. The two are concatenated, then
    channel_shuffle (groups 2) keeps the shape."""
    if {child.name for child in node.children} != {"branch1", "branch2"}:
        return run.container(node, shape, name, depth)  # MobileNet's class of that name
    parts = _children(node, name, ("branch1", "branch2"))
    if len(shape) != 3 or shape[0] % 2:
        raise InputError(
            f"InvertedResidual needs an even number of channels, got {text(shape)}", where=name
        )
    if not parts["branch1"].children:
        half = shape[0] // 2
        out = _path(run, parts, ["branch2"], (half, *shape[1:]), name, depth)
        return _concat([(half, *shape[1:]), out], node, name)
    outputs = [_path(run, parts, [key], shape, name, depth) for key in ("branch1", "branch2")]
    return _concat(outputs, node, name)


def _convnext_block(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
    """ConvNeXt's CNBlock (models/convnext.py): block = depthwise conv, Permute to
    channels last, LayerNorm, Linear, GELU, Linear, Permute back; then layer_scale (a
    parameter of C x 1 x 1, not printed) times that, stochastic depth, plus the input."""
    parts = _children(node, name, ("block", "stochastic_depth"))
    block = parts["block"]
    kinds = [child.kind for child in block.children]
    expected = ["Conv2d", "Permute", "LayerNorm", "Linear", "GELU", "Linear", "Permute"]
    if kinds != expected:
        raise Undecided(
            f"CNBlock's block holds ({', '.join(kinds)}) where torchvision's holds "
            f"({', '.join(expected)})",
            where=f"{name}.block",
        )
    run.containers.append((f"{name}.block", block.kind, depth + 1))
    out = shape
    for index, child in enumerate(block.children):
        child_name = f"{name}.block.{child.name}"
        if child.kind == "Permute":  # [0, 2, 3, 1] first, [0, 3, 1, 2] second
            before = out
            out = (*out[1:], out[0]) if index == 1 else (out[-1], *out[:-1])
            run.add_leaf(child_name, "Permute", depth + 2, out, shape_in=before)
        else:
            out = run.module(child, out, child_name, depth + 2)
    if out != shape:
        raise InputError(
            f"CNBlock's block gives {text(out)} for an input of {text(shape)}; the two are "
            "added, so they must be equal",
            where=name,
        )
    run.held.append((f"{name}.layer_scale", shape[0]))
    return _path(run, parts, ["stochastic_depth"], out, name, depth)


def _attention(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
    """nn.MultiheadAttention as ViT's EncoderBlock calls it (self-attention, batch
    first): its print shows only out_proj, a Linear(E, E) whose forward it never calls; it
    holds in_proj (3E x E weights, 3E biases when out_proj has a bias) besides. MACs: the
    projections, 4 L E^2, and the two attention products, 2 L^2 E."""
    parts = _children(node, name, ("out_proj",))
    proj = parts["out_proj"]
    e = proj.kwargs.get("in_features", proj.args[0] if proj.args else None)
    bias = proj.kwargs.get("bias", True) is True
    if not isinstance(e, int) or len(shape) != 2 or shape[-1] != e:
        raise InputError(
            f"MultiheadAttention of embed_dim {e} receives {text(shape)}: it expects tokens x {e}",
            where=name,
        )
    tokens = shape[0]
    params = 4 * e * e + (4 * e if bias else 0)
    macs = 4 * tokens * e * e + 2 * tokens * tokens * e
    run.add_leaf(name, "MultiheadAttention", depth, shape, params, macs, shape)
    return shape


def _vit(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
    """torchvision's VisionTransformer (models/vision_transformer.py): conv_proj makes
    patches, which become h*w tokens of E values; a class token (E parameters, not
    printed) is put first; the encoder runs; the class token's output (x[:, 0]) goes to
    the heads. Its pos_embedding is built for one image size: hw3 assumes --input."""
    parts = _children(node, name, ("conv_proj", "encoder", "heads"))
    patches = _path(run, parts, ["conv_proj"], shape, name, depth)
    e = patches[0]
    tokens = (math.prod(patches[1:]) + 1, e)
    run.held.append(("class_token", e))
    run.notes.append(
        f"the model's pos_embedding ({tokens[0]} x {e}, not printed) is counted for this "
        "input: a VisionTransformer runs only at the image_size it was built for"
    )
    out = _path(run, parts, ["encoder"], tokens, name, depth)
    return _path(run, parts, ["heads"], (out[-1],), name, depth)


def _vit_encoder(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
    """ViT's Encoder: input + pos_embedding (tokens x E parameters), dropout, layers, ln."""
    parts = _children(node, name, ("dropout", "layers", "ln"))
    run.held.append((f"{name}.pos_embedding", math.prod(shape)))
    return _path(run, parts, ["dropout", "layers", "ln"], shape, name, depth)


def _without_aux(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
    """GoogLeNet and Inception3: the auxiliary classifiers (InceptionAux) run only in
    training mode; hw3 reads a printed model as evaluated (model.eval())."""
    aux = [child for child in node.children if child.kind == "InceptionAux"]
    kept = tuple(child for child in node.children if child.kind != "InceptionAux")
    if aux:
        run.notes.append(
            f"{', '.join(c.name for c in aux)} (InceptionAux) run only in training mode: "
            "left out, as in model.eval(); their parameters are counted"
        )
        for child in aux:
            run.held.append((f"{name}.{child.name}" if name else child.name, _params(child)))
    # Inception3's forward calls dropout before torch.flatten, GoogLeNet's after it
    run.late_flatten = node.kind == "Inception3"
    try:
        return run.container(
            Call(node.name, node.kind, node.args, node.kwargs, kept, node.line), shape, name, depth
        )
    finally:
        run.late_flatten = False


def _params(node: Node) -> int:
    """The parameters of a subtree that is not run: each layer's, from its printed
    arguments (a convolution, Linear or normalisation run on an input it declares)."""
    from hw3cli.core.forward import _declared_input
    from hw3cli.core.model import KINDS, Context, canonical_kind, leaves_of

    total = 0
    for leaf in leaves_of(node):
        kind = canonical_kind(leaf.kind, 2)
        entry = KINDS.get(kind)
        declared = _declared_input(leaf, kind)
        if entry is None or declared is None:
            continue
        rule, dims = entry
        n = dims if dims is not None else 2
        shape = (declared,) if kind == "Linear" else (declared, *(64,) * n)
        total += rule(leaf, shape, Context(leaf.name, kind, leaf.line), n).params
    return total


# torchvision models/inception.py, forward of each class
_INCEPTION_A: list[list[str | Call]] = [
    ["branch1x1"],
    ["branch5x5_1", "branch5x5_2"],
    ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"],
    [AVG_POOL_3, "branch_pool"],
]
_INCEPTION_B: list[list[str | Call]] = [
    ["branch3x3"],
    ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"],
    [MAX_POOL_3_2],
]
_INCEPTION_C: list[list[str | Call]] = [
    ["branch1x1"],
    ["branch7x7_1", "branch7x7_2", "branch7x7_3"],
    ["branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"],
    [AVG_POOL_3, "branch_pool"],
]
_INCEPTION_D: list[list[str | Call]] = [
    ["branch3x3_1", "branch3x3_2"],
    ["branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4"],
    [MAX_POOL_3_2],
]


def _unmodelled(reason: str) -> BlockRule:
    def rule(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
        raise Undecided(
            f"hw3 does not model torchvision's {node.kind}: {reason}",
            where=name or "the model",
            hint="its print does not determine the shapes of forward's steps",
        )

    return rule


BLOCK_RULES: dict[str, BlockRule] = {
    "BasicBlock": _resnet_block,
    "Bottleneck": _resnet_block,
    "SwinTransformer": _unmodelled(
        "its blocks partition tokens into shifted windows and merge patches, with "
        "relative position tables the print does not show"
    ),
    "MaxVit": _unmodelled(
        "its blocks partition the map into windows and grids, with relative position "
        "tables the print does not show"
    ),
    "_DenseBlock": _dense_block,
    "_DenseLayer": _in_order("norm1", "relu1", "conv1", "norm2", "relu2", "conv2"),
    "_Transition": _in_order("norm", "relu", "conv", "pool"),
    # GoogLeNet's Inception (models/googlenet.py): four branches on the input
    "Inception": _concat_rule([["branch1"], ["branch2"], ["branch3"], ["branch4"]]),
    "BasicConv2d": _in_order("conv", "bn"),  # then F.relu, which keeps the shape
    "InceptionA": _concat_rule(_INCEPTION_A),
    "InceptionB": _concat_rule(_INCEPTION_B),
    "InceptionC": _concat_rule(_INCEPTION_C),
    "InceptionD": _concat_rule(_INCEPTION_D),
    "InceptionE": _inception_e,
    "GoogLeNet": _without_aux,
    "Inception3": _without_aux,
    "InvertedResidual": _shuffle_unit,
    "CNBlock": _convnext_block,
    "MultiheadAttention": _attention,
    "VisionTransformer": _vit,
    "Encoder": _vit_encoder,
}
