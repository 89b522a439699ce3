"""Running a model's tree on a shape, and the forward steps its print cannot show.

The print of a model lists its modules, not its ``forward``. `run_model` first runs the
children of each container in the printed order (with the conventions of
`hw3cli.core.model`: residual branches, and a flatten between the children of a container
that is not a Sequential). When the numbers do not fit in that order, it tests the forward
steps a print hides, each a named `Plan`:

- ``max-pool``: a 2x2 max-pool after each convolution block, as ``F.max_pool2d(x, 2)``
  (only where the print shows no pooling module at all);
- ``reused pool``: a container's one printed pooling module applied after each of its
  convolution blocks (PyTorch's CIFAR-10 tutorial ``Net``);
- ``torch.cat``: a layer that declares more channels than it receives takes its input
  concatenated with an earlier output of the same spatial size (U-Net skips);
- ``branching heads``: a layer whose input does not fit takes an earlier output instead,
  and what it would have received is returned as another head (actor-critic);
- ``unused``: one module defined but never called.

A hidden step is only possible where forward code runs: between the children of a
container other than a Sequential. Exactly one plan that makes every number consistent is
the answer, its assumption stated; several are `Undecided` (exit 3); none is the print
order's error, with each plan's numbers. A flatten where in_features is C x H x W is the
only possible reading and goes to the notes. After an explicit pooling module with a fixed
kernel no global pool is assumed: the flatten reading stands, and the error names the
inputs for which that pool gives what the Linear expects.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from hw3cli.core.model import (
    BRANCHES,
    CONTAINERS_WITHOUT_CODE,
    FLATTENED_AT_THE_END,
    KINDS,
    PRESERVING,
    SCALING_BLOCKS,
    Context,
    Leaf,
    ModelResult,
    Node,
    Shape,
    Step,
    canonical_kind,
    check_layer_bounds,
    first_changing,
    leaves_of,
    text,
)
from hw3cli.core.torchvision_blocks import BLOCK_RULES, Call
from hw3cli.errors import InputError, Undecided

# torchvision classifiers whose forward pools globally before the classifier, and how
GLOBAL_POOL_FORWARD = {
    "DenseNet": "F.adaptive_avg_pool2d(F.relu(x), (1, 1))",
    "MobileNetV2": "F.adaptive_avg_pool2d(x, (1, 1))",
    "MNASNet": "x.mean([2, 3])",
    "ShuffleNetV2": "x.mean([2, 3])",
}
FIXED_POOLS = tuple(f"{m}Pool{d}d" for m in ("Max", "Avg") for d in (1, 2, 3)) + ("max_pool",)
MAX_UNUSED = 24  # modules tried as "defined but never called", the nearest to the failure
MAX_SIZE = 1 << 20  # the largest input size the searches try


class SizeError(InputError):
    """A failure that depends on the input size: ``direction`` -1 when a larger input
    would get past it (an axis below 1, too few features), +1 when a smaller one would."""

    def __init__(self, error: InputError, direction: int) -> None:
        super().__init__(error.message, where=error.where, hint=error.hint)
        self.direction = direction


class UnknownLayer(InputError):
    """A leaf of a class hw3 does not know (a custom module): the run stops there."""


class PoolLed(InputError):
    """A Linear after an explicit fixed-kernel pool whose flattened map does not fit."""

    def __init__(self, error: InputError, pool: str, need: Shape | None, direction: int) -> None:
        super().__init__(error.message, where=error.where, hint=error.hint)
        self.pool, self.need, self.direction = pool, need, direction


class Plan(NamedTuple):
    """A reading of forward: the print order, or the print order with one hidden step."""

    assumption: str = ""  # the sentence a warning states; "" for the print order
    pool: Node | None = None  # run after each convolution block
    pool_name: str = ""  # its dotted name, or the functional call it stands for
    scope: str | None = None  # the container whose blocks get it (None: every container)
    only: str | None = None  # the one convolution block that gets it (None: each)
    skip: frozenset[str] = frozenset()  # modules never called
    cat: bool = False
    branch: bool = False


PRINT_ORDER = Plan()
MAX_POOL_2 = Call("F.max_pool2d", "MaxPool", (2,), {})


class _Run:
    def __init__(self, batch: int, leaves: list[Leaf], plan: Plan) -> None:
        self.batch = batch
        self.leaves = leaves
        self.plan = plan
        self.containers: list[tuple[str, str, int]] = []
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.heads: list[Shape] = []
        self.held: list[tuple[str, int]] = []  # parameters no printed module shows
        self.steps: list[Step] = []  # flattens and global pools (for counting and memory)
        self.late_flatten = False  # flatten just before the Linear, not before dropout
        self.assumed: list[str] = []  # steps assumed in any reading (a global pool)
        self.failed = ""  # the class of the layer that failed
        self.acted: list[str] = []  # the hidden steps taken, described
        self.around: set[str] = set()  # leaves a branching head went around
        self.history: list[tuple[str, Shape]] = []  # outputs so far, for cat and branch
        self.keep_history = plan.cat or plan.branch
        self.last_changing: Leaf | None = None
        self.skippable: list[str] = []  # leaves forward could leave uncalled
        self.conv_blocks: dict[str, int] = {}  # container -> its children holding a conv
        self.conv_names: list[str] = []  # those children, in the printed order
        self.pools: dict[str, list[tuple[str, Node]]] = {}  # container -> its fixed pools

    # -- containers --------------------------------------------------------------------

    def module(self, node: Node, shape: Shape, name: str, depth: int) -> Shape:
        if not node.children:
            return self.leaf(node, shape, name, depth)
        self.containers.append((name, node.kind, depth))
        rule = NAMED_RULES.get(node.kind)
        if rule is not None:
            return rule(self, node, shape, name, depth)
        return self.container(node, shape, name, depth)

    def container(self, node: Node, shape: Shape, name: str, depth: int) -> Shape:
        sequential = node.kind in CONTAINERS_WITHOUT_CODE
        block_input = shape
        first_leaf = len(self.leaves)
        branches: list[tuple[Node, str, Shape]] = []
        block_open = False  # a convolution block ran and no pool followed it yet
        plan = self.plan
        pooled_here = plan.pool is not None and plan.scope in (None, name)
        # for each child, the first child from it on that changes the shape: a feature map
        # that reaches a Linear past dropout is flattened before the dropout
        targets: list[Node] = list(node.children)
        if not sequential and not self.late_flatten:
            following: Node | None = None
            for index in range(len(targets) - 1, -1, -1):
                later = targets[index]
                if later.name in BRANCHES or later.name in plan.skip:
                    continue
                kind = canonical_kind(later.kind, 2)
                if later.children or kind not in PRESERVING or kind.startswith("BatchNorm"):
                    following = later  # (batch norm needs the map's rank: no flatten before)
                targets[index] = following or later

        for index, child in enumerate(node.children):
            child_name = f"{name}.{child.name}" if name else child.name
            if child.name in BRANCHES:
                out = self.module(child, block_input, child_name, depth + 1)
                branches.append((child, child_name, out))
                continue
            if sequential:
                shape = self.module(child, shape, child_name, depth + 1)
                continue
            # forward's code runs before this child: the hidden steps go here
            self.note_structure(child, child_name, name)
            if child_name in plan.skip:
                self.acted.append(child_name)
                continue
            if pooled_here and child_name == plan.pool_name:
                if block_open:  # the pool at its printed place, after a block
                    shape = self.module(child, shape, child_name, depth + 1)
                    block_open = False
                continue
            if block_open and not _preserving(child):
                shape = self.hidden_pool(shape, depth + 1)
                block_open = False
            if len(shape) > 1:
                target = child if block_open else targets[index]  # (a hidden pool first)
                shape = self.parent_flatten(target, shape, child_name, depth + 1, node.kind)
            if self.keep_history:
                shape = self.adapt(child, shape, child_name, depth + 1)
            shape = self.module(child, shape, child_name, depth + 1)
            if pooled_here and _has_conv(child) and plan.only in (None, child_name):
                block_open = True
        if block_open:
            shape = self.hidden_pool(shape, depth + 1)
        if shape != block_input and not sequential:
            # stochastic depth runs only on a residual path (torchvision's MBConv): a block
            # whose output differs from its input has none, so the layer never runs
            skipped = {f"{name}.{c.name}" if name else c.name for c in node.children}
            self.leaves[first_leaf:] = [
                leaf
                for leaf in self.leaves[first_leaf:]
                if not (leaf.kind == "StochasticDepth" and leaf.name in skipped)
            ]
        for child, child_name, out in branches:
            if out != shape:
                raise InputError(
                    f"{child.kind} branch gives {text(out)} but the block's main path gives "
                    f"{text(shape)}; the two are added, so they must be equal",
                    where=child_name,
                    hint="check the branch's stride and out_channels against the main path's",
                )
        return shape

    def children(self, nodes: Sequence[Node], shape: Shape, name: str, depth: int) -> Shape:
        for child in nodes:
            shape = self.module(child, shape, f"{name}.{child.name}", depth + 1)
        return shape

    def note_structure(self, child: Node, child_name: str, parent: str) -> None:
        """What the hypotheses need to know of the print-order run."""
        if not child.children and canonical_kind(child.kind, 2) not in PRESERVING:
            if not parent:  # (a module left uncalled is one of the model's own)
                self.skippable.append(child_name)
            if canonical_kind(child.kind, 2).startswith(FIXED_POOLS):
                self.pools.setdefault(parent, []).append((child_name, child))
        if _has_conv(child):
            self.conv_blocks[parent] = self.conv_blocks.get(parent, 0) + 1
            self.conv_names.append(child_name)

    # -- hidden steps ------------------------------------------------------------------

    def add_leaf(
        self,
        name: str,
        kind: str,
        depth: int,
        output: Shape,
        params: int = 0,
        macs: int = 0,
        shape_in: Shape = (),
    ) -> Shape:
        """A layer a named rule computes itself (``shape_in``: what it received)."""
        leaf = Leaf(name, kind, depth, output, params, macs, shape_in)
        self.leaves.append(leaf)
        if kind not in PRESERVING:
            self.last_changing = leaf
        if self.keep_history:
            self.record(name, output)
        return output

    def functional(self, step: Call, shape: Shape, depth: int) -> Shape:
        """A call forward makes to torch.nn.functional (``F.avg_pool2d``): a row with op."""
        before = len(self.leaves)
        shape = self.module(step, shape, step.name, depth)
        self.leaves[before] = self.leaves[before]._replace(op=step.name)
        return shape

    def hidden_pool(self, shape: Shape, depth: int) -> Shape:
        plan = self.plan
        assert plan.pool is not None
        self.acted.append(plan.pool_name)
        op = plan.pool_name if plan.pool_name.startswith("F.") else None
        before = len(self.leaves)
        shape = self.module(plan.pool, shape, plan.pool_name, depth)
        leaf = self.leaves[before]
        self.leaves[before] = leaf._replace(inferred=plan.assumption, op=op)
        return shape

    def adapt(self, child: Node, shape: Shape, child_name: str, depth: int) -> Shape:
        """torch.cat with an earlier output, or a head that branches from one."""
        first = first_changing(child)
        if first is None:
            return shape
        kind = canonical_kind(first.kind, len(shape) - 1)
        declared = _declared_input(first, kind)
        if declared is None:
            return shape
        if kind == "Linear":
            have = shape[-1]
        elif len(shape) > 1:
            have = shape[0]
        else:
            return shape
        if have == declared:
            return shape
        if self.plan.cat and kind != "Linear" and declared > have:
            need = (declared - have, *shape[1:])
            for source, out in reversed(self.history[:-1]):  # (not the tensor itself)
                if out == need:
                    step = f"torch.cat of {child_name}'s input with {source}'s output ({text(out)})"
                    self.acted.append(step)
                    cat = (declared, *shape[1:])
                    leaf = Leaf(
                        "torch.cat", "cat", depth, cat, 0, 0, shape, inferred=step, op="torch.cat"
                    )
                    self.leaves.append(leaf)
                    self.record("torch.cat", cat)
                    return cat
        previous = self.last_changing
        if self.plan.branch and kind == "Linear" and previous and previous.kind == "Linear":
            # a head: a Linear that reads an earlier output, not the head before it
            for index in range(len(self.history) - 2, -1, -1):
                source, out = self.history[index]
                fits = math.prod(out) == declared
                if fits:
                    step = f"{child_name} branches from {source}'s output ({text(out)}): a head"
                    self.acted.append(step)
                    self.heads.append(shape)
                    self.around.update(name for name, _ in self.history[index + 1 :])
                    self.pending_mark = step
                    if len(out) > 1:
                        return self.parent_flatten(child, out, child_name, depth)
                    return out
        return shape

    def parent_flatten(
        self, child: Node, shape: Shape, child_name: str, depth: int, parent_kind: str = ""
    ) -> Shape:
        """Convention 2: the parent's forward flattens a feature map before a Linear."""
        self.flattened = None
        first = first_changing(child)
        if first is None or canonical_kind(first.kind, 2) != "Linear":
            return shape
        f_in = _declared_input(first, "Linear")
        if f_in is None or f_in == shape[-1]:
            return shape
        flat = math.prod(shape)
        pool = self.last_changing
        if flat == f_in:
            self.steps.append(Step(len(self.leaves), "flatten", shape, (flat,)))
            self.notes.append(
                f"{child_name}: the {text(shape)} feature map is flattened to {flat} before "
                "it (torch.flatten(x, 1)), the only reading that fits"
            )
            return (flat,)
        if pool is not None and pool.kind.startswith(FIXED_POOLS):
            c = shape[0]
            need = _square_map(f_in, c, len(shape) - 1)
            linear = f"{child_name}.{first.name}" if child.children else child_name
            message = (
                f"Linear expects in_features={f_in} but receives {flat}: {pool.name} "
                f"({pool.kind}, a fixed kernel) leaves {text(shape)}, flattened to {flat}"
            )
            error = InputError(message, where=linear)
            raise PoolLed(error, pool.name, need, -1 if flat < f_in else 1)
        known = GLOBAL_POOL_FORWARD.get(parent_kind)
        # after an adaptive pool to a map larger than 1x1, no global pool either
        adaptive = pool is not None and pool.kind.startswith("Adaptive")
        if (known or (f_in == shape[0] and not adaptive)) and math.prod(shape[1:]) > 1:
            call = known or "F.adaptive_avg_pool2d(x, 1)"
            step = (
                f"the {text(shape)} feature map is averaged over its spatial axes and "
                f"flattened to {shape[0]} before {child_name} ({call}, then torch.flatten)"
            )
            inferred = None
            if known:
                self.notes.append(f"{child_name}: {step}, as torchvision's {parent_kind} does")
            else:
                inferred = step
                self.assumed.append(step)
                self.warnings.append(f"{child_name}: assumed: {step}")
            pooled = (shape[0],)
            op = "F.adaptive_avg_pool2d"
            self.steps.append(Step(len(self.leaves), "global_avg_pool", shape, pooled))
            self.leaves.append(
                Leaf(op, "adaptive_avg_pool", depth, pooled, 0, 0, shape, inferred=inferred, op=op)
            )
            return pooled
        self.flattened = (child_name, shape)
        self.steps.append(Step(len(self.leaves), "flatten", shape, (flat,)))
        return (flat,)

    # -- leaves ------------------------------------------------------------------------

    pending_mark: str | None = None
    flattened: tuple[str, Shape] | None = None

    def leaf(self, node: Node, shape: Shape, name: str, depth: int) -> Shape:
        kind = canonical_kind(node.kind, len(shape) - 1)
        ctx = Context(name, kind, node.line, self.batch)
        entry = KINDS.get(kind)
        if entry is None:
            raise UnknownLayer(
                f"unknown layer class {node.kind} (line {node.line}): hw3 cannot run it, "
                "so nothing after it is known",
                where=name or "the model",
                hint="hw3 knows "
                + ", ".join(sorted({_suffixless(k) for k in KINDS})[:12])
                + ", ...",
            )
        rule, dims = entry
        n = dims if dims is not None else len(shape) - 1
        try:
            layer = rule(node, shape, ctx, n)
            check_layer_bounds(layer, ctx)
            if any(v < 1 for v in layer.output):
                raise ctx.error(f"gives shape {text(layer.output)}: an axis below 1")
        except InputError as error:
            self.failed = kind
            raise self.sized(error, rule, node, shape, ctx, n) from None
        mark, self.pending_mark = self.pending_mark, None
        leaf = Leaf(
            name,
            kind,
            depth,
            layer.output,
            layer.params,
            layer.macs,
            shape,
            tuple(node.args),
            tuple(node.kwargs.items()),
            layer.result,
            inferred=mark,
        )
        self.leaves.append(leaf)
        if kind not in PRESERVING:
            self.last_changing = leaf
        if self.keep_history:
            self.record(name, layer.output)
        return layer.output

    def record(self, name: str, shape: Shape) -> None:
        self.history.append((name, shape))

    def sized(
        self, error: InputError, rule: Any, node: Node, shape: Shape, ctx: Context, n: int
    ) -> InputError:
        """The error, told whether a larger or a smaller input would get past it."""
        if ctx.kind == "Linear":
            declared = _declared_input(node, "Linear")
            if declared is not None and declared != shape[-1]:
                if self.flattened is not None and len(shape) == 1:
                    _, before = self.flattened
                    hint = error.hint
                    pool = self.last_changing
                    if declared == before[0] and pool is not None:
                        hint = (
                            f"set in_features={shape[-1]}, or pool to 1x1 before it "
                            f"(nn.AdaptiveAvgPool2d(1) in place of {pool.name}) to keep "
                            f"in_features={declared}"
                        )
                    elif math.prod(before[1:]) > 1:
                        hint = (
                            f"set in_features={shape[-1]} if forward flattens the "
                            f"{text(before)} map, or in_features={before[0]} if it pools it "
                            "globally first (F.adaptive_avg_pool2d(x, 1)), as many "
                            "classifiers do"
                        )
                    error = InputError(
                        f"{error.message} (the {text(before)} feature map flattened)",
                        where=error.where,
                        hint=hint,
                    )
                return SizeError(error, -1 if shape[-1] < declared else 1)
            return error
        if len(shape) > 1 and not isinstance(error, Undecided):
            bigger = (shape[0], *(s + 4096 for s in shape[1:]))
            try:
                rule(node, bigger, ctx, n)
            except InputError:
                return error
            return SizeError(error, -1)
        return error

    # -- the whole model ---------------------------------------------------------------

    def execute(self, root: Node, input_shape: Shape) -> ModelResult:
        if self.keep_history:
            self.record("the input", input_shape)
        out = self.module(root, input_shape, "", 0)
        if len(out) > 1 and math.prod(out[1:]) == 1 and root.kind not in CONTAINERS_WITHOUT_CODE:
            if root.kind in FLATTENED_AT_THE_END:
                out = (out[0],)
            else:
                self.warnings.append(
                    f"the model ends with a {text(out)} feature map; if its forward flattens "
                    f"it (torch.flatten(x, 1)), the output is {out[0]} values per sample"
                )
        return ModelResult(
            input_shape,
            out,
            tuple(self.leaves),
            tuple(self.containers),
            tuple(self.warnings),
            steps=tuple(self.steps),
            notes=tuple(self.notes),
            inferred=((self.plan.assumption,) if self.plan.assumption else ())
            + tuple(self.assumed),
            heads=tuple(self.heads),
            held=tuple(self.held),
        )


# --- named rules: torchvision blocks whose forward the print does not show --------------

NamedRule = Callable[[_Run, Node, Shape, str, int], Shape]


def _scaling(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
    """Squeeze-and-excitation (torchvision's SqueezeExcitation): its children compute
    one scale per channel from the input, and forward returns scale * input."""
    # forward's order, which is not the printed one: avgpool, fc1, activation, fc2
    forward = ("avgpool", "fc1", "activation", "fc2", "scale_activation")
    known = [c for key in forward for c in node.children if c.name == key]
    rest = [c for c in node.children if c.name not in forward]
    scale = run.children(known + rest if not rest else node.children, shape, name, depth)
    if not scale or scale[0] != shape[0] or math.prod(scale[1:]) != 1:
        raise InputError(
            f"{node.kind} computes a scale of shape {text(scale)} for an input of "
            f"{text(shape)}: expected {shape[0]} channels of size 1",
            where=name,
        )
    return shape


def _fire(run: _Run, node: Node, shape: Shape, name: str, depth: int) -> Shape:
    """SqueezeNet's Fire: squeeze, then the 1x1 and 3x3 expands side by side,
    concatenated along the channels."""
    parts = {c.name: c for c in node.children}
    expected = ("squeeze", "expand1x1", "expand3x3")
    if not all(key in parts for key in expected):
        raise InputError("Fire without squeeze, expand1x1 and expand3x3 children", where=name)

    def path(*keys: str, start: Shape) -> Shape:
        chosen = [parts[k] for k in keys if k in parts]
        return run.children(chosen, start, name, depth)

    squeezed = path("squeeze", "squeeze_activation", start=shape)
    one = path("expand1x1", "expand1x1_activation", start=squeezed)
    three = path("expand3x3", "expand3x3_activation", start=squeezed)
    if one[1:] != three[1:]:
        raise InputError(
            f"Fire's expands give {text(one)} and {text(three)}: they are concatenated "
            "along the channels, so their spatial sizes must agree",
            where=name,
        )
    return (one[0] + three[0], *one[1:])


NAMED_RULES: dict[str, NamedRule] = {
    **{kind: _scaling for kind in SCALING_BLOCKS},
    "Fire": _fire,
    **BLOCK_RULES,
}


# --- helpers -----------------------------------------------------------------------------


def _suffixless(kind: str) -> str:
    return kind[:-2] if kind[-2:] in ("1d", "2d", "3d") else kind


def _preserving(node: Node) -> bool:
    return not node.children and canonical_kind(node.kind, 2) in PRESERVING


def _has_conv(node: Node) -> bool:
    return any(canonical_kind(leaf.kind, 2).startswith("Conv") for leaf in leaves_of(node))


def _declared_input(node: Node, kind: str) -> int | None:
    """The input size a layer declares: in_features, in_channels, num_features."""
    if kind == "Linear":
        value = node.kwargs.get("in_features", node.args[0] if node.args else None)
    elif kind.startswith(("Conv", "BatchNorm", "InstanceNorm")):
        value = node.args[0] if node.args else None
        value = node.kwargs.get("in_channels", node.kwargs.get("num_features", value))
    elif kind == "GroupNorm":
        value = node.args[1] if len(node.args) > 1 else node.kwargs.get("num_channels")
    else:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _square_map(features: int, channels: int, n: int) -> Shape | None:
    """The map of ``channels`` x s^n that flattens to ``features``, if one does."""
    if n < 1 or features % channels:
        return None
    size = round((features // channels) ** (1 / n))
    for s in (size - 1, size, size + 1):
        if s >= 1 and s**n * channels == features:
            return (channels, *(s,) * n)
    return None


# --- reading forward ----------------------------------------------------------------------


def execute(
    root: Node, input_shape: Shape, batch: int, plan: Plan, seen: list[Leaf] | None = None
) -> tuple[_Run, ModelResult]:
    run = _Run(batch, seen if seen is not None else [], plan)
    return run, run.execute(root, input_shape)


def run_model(
    root: Node,
    input_shape: Shape,
    batch: int = 1,
    seen: list[Leaf] | None = None,
    plan: Plan | None = None,
) -> ModelResult:
    """Run ``input_shape`` (C, *spatial) through the tree; an InputError names the layer
    (``batch`` only for quoting PyTorch's own message). ``seen`` receives each layer of the
    print-order reading as it is run, so that a caller can show those before a failure.
    With ``plan``, that reading alone; without, the print order and, when its numbers do
    not fit, the hidden steps of the module docstring."""
    if not root.children:
        raise InputError("the model has no layers", where=root.kind)
    if plan is not None:
        return _result(root, input_shape, batch, plan, seen)
    return read_forward(root, input_shape, batch, seen)[0]


def read_forward(
    root: Node, input_shape: Shape, batch: int = 1, seen: list[Leaf] | None = None
) -> tuple[ModelResult, Plan]:
    """`run_model` without a plan, and the reading it settled on."""
    if not root.children:
        raise InputError("the model has no layers", where=root.kind)
    first = _Run(batch, seen if seen is not None else [], PRINT_ORDER)
    try:
        return first.execute(root, input_shape), PRINT_ORDER
    except PoolLed as error:
        raise _pool_error(root, input_shape, batch, error) from None
    except (Undecided, UnknownLayer):
        raise
    except InputError as error:
        if not first.leaves:  # the first layer refuses the input: no forward step helps
            raise
        pooled = first.last_changing is not None and first.last_changing.kind.startswith(
            ("Adaptive", "adaptive")
        )
        if pooled and first.failed == "Linear":  # an adaptive pool fixed the spatial size:
            raise  # no hidden step changes what the Linear receives (a swapped head)
        return _hypotheses(root, input_shape, batch, first, error)


def _result(
    root: Node, input_shape: Shape, batch: int, plan: Plan, seen: list[Leaf] | None = None
) -> ModelResult:
    return execute(root, input_shape, batch, plan, seen)[1]


def structure(root: Node) -> _Run:
    """What `plans_for` needs of a run, read from the tree alone (every container)."""
    run = _Run(1, [], PRINT_ORDER)
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, name = stack.pop()
        if node.kind in NAMED_RULES:
            continue
        for child in node.children:
            child_name = f"{name}.{child.name}" if name else child.name
            if node.kind not in CONTAINERS_WITHOUT_CODE and child.name not in BRANCHES:
                run.note_structure(child, child_name, name)
            if child.children:
                stack.append((child, child_name))
    return run


def plans_for(root: Node, first: _Run, unused: bool = True) -> list[Plan]:
    """The hidden steps worth testing after the print-order run ``first`` failed (or, from
    `structure`, anywhere in the model); ``unused`` adds one plan per module left out."""
    plans: list[Plan] = []
    pools_in_print = any(
        canonical_kind(leaf.kind, 2).startswith(FIXED_POOLS) for leaf in leaves_of(root)
    )
    if not pools_in_print and first.conv_blocks:
        plans.append(
            Plan(
                "forward applies a 2x2 max-pool after each convolution block, as "
                "F.max_pool2d(x, 2) does",
                pool=MAX_POOL_2,
                pool_name="F.max_pool2d",
            )
        )
        last = structure(root).conv_names[-1]
        if len(first.conv_names) > 1 or last not in first.conv_names:
            plans.append(
                Plan(
                    f"forward applies a 2x2 max-pool once, after the last convolution block "
                    f"({last}), as F.max_pool2d(x, 2) does",
                    pool=MAX_POOL_2,
                    pool_name="F.max_pool2d",
                    only=last,
                )
            )
    for container, pools in first.pools.items():
        if len(pools) == 1 and first.conv_blocks.get(container, 0) >= 2:
            pool_name, pool = pools[0]
            plans.append(
                Plan(
                    f"forward applies {pool_name} ({pool.kind}) after each convolution block "
                    f"of {container or 'the model'}: the one printed pool, reused",
                    pool=pool,
                    pool_name=pool_name,
                    scope=container,
                )
            )
    plans.append(
        Plan(
            "forward concatenates (torch.cat) a layer's input with an earlier output of "
            "the same spatial size",
            cat=True,
        )
    )
    plans.append(
        Plan("the model has heads (Linear layers) that read an earlier output", branch=True)
    )
    final = _dotted_last(root)
    for name in [] if not unused else [n for n in first.skippable if n != final][-MAX_UNUSED:]:
        plans.append(Plan(f"{name} is defined but never called by forward", skip=frozenset({name})))
    return plans


def _dotted_last(root: Node) -> str:
    parts: list[str] = []
    node = root
    while node.children:
        node = node.children[-1]
        parts.append(node.name)
    return ".".join(parts)


def _hypotheses(
    root: Node, input_shape: Shape, batch: int, first: _Run, error: InputError
) -> tuple[ModelResult, Plan]:
    fits: list[tuple[Plan, _Run, ModelResult]] = []
    misses: list[tuple[Plan, InputError]] = []
    for plan in plans_for(root, first):
        run = _Run(batch, [], plan)
        try:
            result = run.execute(root, input_shape)
        except InputError as miss:
            same = (miss.where, miss.message) == (error.where, error.message)
            further = _printed(run.leaves) > _printed(first.leaves)
            if run.acted and not same and (further or miss.where == error.where):
                # (a reading that breaks earlier, or in the same way, is no candidate)
                if isinstance(miss, PoolLed):
                    miss = _pool_error(root, input_shape, batch, miss, plan)
                misses.append((plan, miss))
            continue
        if run.acted:
            fits.append((plan, run, result))
    around = set().union(*(run.around for plan, run, _ in fits if plan.branch))
    fits = [(p, r, res) for p, r, res in fits if not (p.skip and p.skip <= around)]
    if len(fits) == 1:
        plan, run, result = fits[0]
        steps = "; ".join(dict.fromkeys(s for s in run.acted if not s.startswith("F.")))
        said = plan.assumption + (f" ({steps})" if plan.cat or plan.branch else "")
        short = error.message.split(";")[0]
        warning = (
            f"assumed: {said} (the one hidden forward step hw3 tests that makes every "
            f"number fit; in the printed order {error.where}: {short})"
        )
        result = result._replace(
            warnings=(warning, *result.warnings), inferred=(said, *result.inferred[1:])
        )
        return result, plan
    if len(fits) > 1:
        readings = "; ".join(
            f"({i}) {p.assumption}: output {_outputs(res)}" for i, (p, _, res) in enumerate(fits, 1)
        )
        raise Undecided(
            f"in the printed order {error.message}; {len(fits)} hidden forward steps each "
            "make every number fit",
            where=error.where,
            hint=f"{readings}; hw3 cannot tell which one forward takes: make the print show "
            "it (a module for each step, or an nn.Sequential in forward's order)",
        )
    if not misses:
        raise error
    shown = [(p.assumption, f"{m.where}: {m.message}") for p, m in misses if not p.skip]
    unused = [next(iter(p.skip)) for p, _ in misses if p.skip]
    if unused:
        shown.append((f"one module never called ({', '.join(unused)})", "none of these fits"))
    tried = "; ".join(f"({i}) {what}: {why}" for i, (what, why) in enumerate(shown, 1))
    fix = f"if forward runs the modules in the printed order, {error.hint}" if error.hint else ""
    hint = (fix + "; " if fix else "") + f"no hidden forward step hw3 tests fits: {tried}"
    raise InputError(f"{error.message} (in the printed order)", where=error.where, hint=hint)


def _printed(leaves: Sequence[Leaf]) -> int:
    """The printed modules run (a step a reading infers not counted)."""
    return sum(1 for leaf in leaves if leaf.inferred is None and leaf.op is None)


def _outputs(result: ModelResult) -> str:
    return " and ".join(text((1, *shape)) for shape in result.outputs)


# --- input sizes ---------------------------------------------------------------------------


def _pool_error(
    root: Node, input_shape: Shape, batch: int, error: PoolLed, plan: Plan = PRINT_ORDER
) -> InputError:
    """The mismatch after a fixed-kernel pool, with the inputs for which it fits."""
    parts = [error.message]
    hint = f"or replace {error.pool} with nn.AdaptiveAvgPool2d(output_size) to accept any size"
    if error.need is not None:
        need = error.need

        def pool_output(size: int) -> int:
            seen: list[Leaf] = []
            shape = (input_shape[0], *(size,) * (len(input_shape) - 1))
            with contextlib.suppress(InputError):
                _result(root, shape, batch, plan, seen)
            outs = [leaf.output for leaf in seen if leaf.name == error.pool]
            return outs[-1][1] if outs else 0

        lo = first_at_least(pool_output, need[1])
        above = first_at_least(pool_output, need[1] + 1)
        hi = MAX_SIZE if above is None else above - 1
        spatial = "x".join(map(str, need[1:]))
        if lo is not None and hi is not None and lo <= hi:
            parts.append(
                f"inputs {lo} to {hi} ({'x'.join([str(lo)] * (len(need) - 1))} to "
                f"{'x'.join([str(hi)] * (len(need) - 1))}) give the {spatial} map after "
                f"{error.pool} that the Linear expects"
            )
            hint = f"give --input {lo} to {hi}, {hint}"
        else:
            parts.append(f"no square input gives the {spatial} map the Linear expects")
    return InputError("; ".join(parts), where=error.where, hint=hint)


def first_at_least(
    f: Callable[[int], int], target: int, limit: int = MAX_SIZE, start: int = 1
) -> int | None:
    """The smallest n >= start with f(n) >= target, for f nondecreasing; None up to limit."""
    lo, step, hi = start, 1, start
    while f(hi) < target:
        if hi >= limit:
            return None
        lo = hi + 1
        hi = min(start + step, limit)
        step *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if f(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


class Accepted(NamedTuple):
    """The input sizes (every spatial axis the same) a reading of the model accepts."""

    low: int
    high: int | None  # None: no upper bound (up to MAX_SIZE)
    result: ModelResult  # the model run at ``low``


def accepted_sizes(run_at: Callable[[int], ModelResult]) -> Accepted:
    """The sizes ``run_at`` accepts, assumed one interval: errors that a larger input
    would get past (`SizeError` -1) below it, ones that a smaller would (+1) above it. An
    InputError when none works, naming the layer that stops it."""
    seen: dict[int, tuple[int, ModelResult | InputError]] = {}

    def probe(size: int) -> tuple[int, ModelResult | InputError]:
        if size not in seen:
            try:
                seen[size] = (0, run_at(size))
            except (SizeError, PoolLed) as error:
                seen[size] = (error.direction, error)
            except InputError as error:
                seen[size] = (2, error)
        return seen[size]

    low = first_at_least(lambda size: int(probe(size)[0] != -1), 1)
    if low is None:
        error = probe(MAX_SIZE)[1]
        assert isinstance(error, InputError)
        raise InputError(f"no input up to {MAX_SIZE:,} works: {error.message}", where=error.where)
    direction, outcome = probe(low)
    if isinstance(outcome, InputError):
        if direction == 1 and low > 1:
            below = probe(low - 1)[1]
            assert isinstance(below, InputError)
            raise InputError(
                f"no input size works: at {low - 1} {below.where}: {below.message}; at {low} "
                f"{outcome.where}: {outcome.message}",
                where=outcome.where,
                hint=outcome.hint,
            )
        raise outcome
    above = first_at_least(lambda size: int(probe(size)[0] == 1), 1, start=low)
    return Accepted(low, None if above is None else above - 1, outcome)


def readings_for_sizes(root: Node) -> list[Plan]:
    """The print order and the hidden steps worth testing anywhere in the model (one
    module left out is not among them: it would be tried for every module)."""
    return [PRINT_ORDER, *plans_for(root, structure(root), unused=False)]


def acted(root: Node, input_shape: Shape, batch: int, plan: Plan) -> ModelResult:
    """The model run with ``plan``, an InputError when its hidden step never applies."""
    run, result = execute(root, input_shape, batch, plan)
    if plan.assumption and not run.acted:
        raise InputError(f"{plan.assumption}: no such step in this model")
    if plan.assumption:
        result = result._replace(warnings=(f"assumed: {plan.assumption}", *result.warnings))
    return result
