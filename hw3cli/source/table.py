"""The one table of what hw3 models: PyTorch's modules, functions and tensor methods, the
Python built-ins model code uses, and the attribute, item and operator rules of values.

Every entry is a `Builtin` whose function receives a `Call`. Layers (nn.Conv2d, and the
functional forms F.conv2d, F.max_pool2d, F.interpolate, ...) run the rule of
`hw3cli.core.model.KINDS`, the one that printed models use; shape-only operations run
`hw3cli.source.ops`. A name that is not in the table is never looked up anywhere else:
a payload such as ``__import__`` or ``os.system`` is a name hw3 does not know (exit 3 if
the model needs it), not something that runs.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from hw3cli.core.forward import SizeError
from hw3cli.core.model import KINDS, Context
from hw3cli.core.ops import SIGNATURES
from hw3cli.errors import InputError, Undecided
from hw3cli.source import ops
from hw3cli.source.interpreter import MAX_INT_BITS, Call, Interpreter, Super
from hw3cli.source.values import (
    Bound,
    Builtin,
    Exc,
    Function,
    Instance,
    Module,
    Namespace,
    Opaque,
    Partial,
    Tensor,
    UserClass,
    walk,
)

ELLIPSIS: Any = Ellipsis
CONTAINERS = ("Module", "Sequential", "ModuleList", "ModuleDict")
# kinds whose parameters depend on their arguments: (the argument giving the input size)
_PARAM_KINDS = (
    "Conv",
    "ConvTranspose",
    "Linear",
    "BatchNorm",
    "InstanceNorm",
    "GroupNorm",
    "LayerNorm",
    "PReLU",
)
# PyTorch's positional argument names, for reading a layer's attributes (m.out_channels)
_SIGNATURES = SIGNATURES
_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "affine": True}


def _kind_family(kind: str) -> str:
    """Conv2d -> Conv, ConvTranspose1d -> ConvTranspose, ReflectionPad2d -> Pad."""
    for family in (
        "ConvTranspose",
        "Conv",
        "BatchNorm",
        "InstanceNorm",
        "MaxPool",
        "AvgPool",
        "AdaptiveAvgPool",
        "AdaptiveMaxPool",
        "Dropout",
    ):
        if kind.startswith(family):
            return family
    if "Pad" in kind:
        return "Pad"
    return kind


def _keywords(
    kind: str, args: tuple[Any, ...], kwargs: dict[str, Any], call: Call
) -> dict[str, Any]:
    """A layer's arguments all by name (PyTorch's signature), as KINDS' rules read them."""
    names = _SIGNATURES.get(_kind_family(kind))
    if names is None:
        if args:
            raise call.interp.undecided(
                f"positional arguments of nn.{kind} are not modelled", call.node
            )
        return dict(kwargs)
    if len(args) > len(names):
        raise call.interp.model_error(
            f"nn.{kind} takes at most {len(names)} positional arguments", call.node
        )
    out = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key in out:
            raise call.interp.model_error(
                f"nn.{kind} got multiple values for argument {key!r}", call.node
            )
        out[key] = value
    return out


def _dims(kind: str) -> int:
    return int(kind[-2]) if kind[-2:-1].isdigit() and kind.endswith("d") else 0


# --- building modules ---------------------------------------------------------------------


def _plain_arguments(call: Call, what: str) -> None:
    for value in [*call.args, *call.kwargs.values()]:
        if not _plain(value):
            raise call.interp.undecided(
                f"{what} is given {value!r}, which hw3 cannot read", call.node
            )


def _probe_shape(kind: str, m: Module) -> tuple[Any, ...] | None:
    """The input a layer declares (its channels or features), for counting its params."""
    family = _kind_family(kind)
    values = m.kwargs
    n = _dims(kind) or 1
    if family in ("Conv", "ConvTranspose"):
        k = values.get("kernel_size", 1)
        biggest = max(k) if isinstance(k, (tuple, list)) and k else k if isinstance(k, int) else 1
        d = values.get("dilation", 1)
        dil = max(d) if isinstance(d, (tuple, list)) and d else d if isinstance(d, int) else 1
        return (values.get("in_channels"), *[biggest * dil + 64] * n)
    if family == "Linear":
        return (values.get("in_features"),)
    if family in ("BatchNorm", "InstanceNorm"):
        return (values.get("num_features"), *[4] * n)
    if family == "GroupNorm":
        return (values.get("num_channels"), 4)
    if family == "LayerNorm":
        shape = values.get("normalized_shape")
        return tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    if family == "PReLU":
        return (values.get("num_parameters", 1), 4)
    return None


def make_layer(interp: Interpreter, kind: str, call: Call, m: Module | None = None) -> Module:
    """nn.Conv2d(...) and every layer kind of KINDS: the module, its params counted by its
    rule on the input it declares (an impossible layer is an error where it is built)."""
    _plain_arguments(call, f"nn.{kind}")
    node = call.node
    if m is None:
        m = Module(kind, kind, getattr(node, "lineno", interp.line))
    m.args, m.kwargs = (), _keywords(kind, tuple(call.args), call.kwargs, call)
    m.source = node if isinstance(node, ast.Call) else None
    m.origin = interp.origin()
    m.built_in = interp.frames[-1] if interp.frames[-1].function is not None else None
    if kind.startswith(_PARAM_KINDS):
        shape = _probe_shape(kind, m)
        if shape is None or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
            raise interp.model_error(f"nn.{kind} needs its input size as a whole number", node)
        rule, dims = KINDS[kind]
        ctx = Context(kind, kind, m.line)
        try:
            layer = rule(m, shape, ctx, dims or len(shape) - 1)
        except InputError as e:
            raise interp.model_error(f"nn.{kind}: {e.message}", node, e.hint) from None
        m.own_params = layer.params
    return m


def _container_init(interp: Interpreter, m: Module, call: Call) -> None:
    """nn.Module(), nn.Sequential(*modules | OrderedDict), nn.ModuleList, nn.ModuleDict."""
    args, node = call.args, call.node
    if m.base == "Module":
        return
    if m.base == "Sequential":
        items = (
            list(args[0].items())
            if len(args) == 1 and isinstance(args[0], dict)
            else list((str(i), a) for i, a in enumerate(args))
        )
    elif m.base == "ModuleList":
        source = call.get(0, "modules", None)
        items = (
            []
            if source is None
            else [(str(i), a) for i, a in enumerate(interp.iterate(source, node))]
        )
    else:
        source = call.get(0, "modules", None)
        pairs = source.items() if isinstance(source, dict) else interp.iterate(source or [], node)
        items = [tuple(p) for p in pairs]
    for key, value in items:
        _register(interp, m, str(key), value, node)


def _register(interp: Interpreter, m: Module, key: str, value: Any, node: ast.AST) -> None:
    if isinstance(value, Opaque):
        raise interp.undecided(f"{m.kind} is given {value.cause}", node)
    if not isinstance(value, Module):
        raise interp.model_error(
            f"{m.kind}: {value!r} is not a Module subclass",
            node,
        )
    m.attrs.pop(key, None)
    m.modules[key] = value


def _nn_class(name: str) -> Builtin:
    def construct(call: Call) -> Any:
        interp = call.interp
        m = Module(name, name, getattr(call.node, "lineno", interp.line))
        if name in CONTAINERS:
            _container_init(interp, m, call)
            return m
        return make_layer(interp, name, call, m)

    return Builtin(name, construct, is_class=True)


def instantiate(
    interp: Interpreter, cls: UserClass, args: list[Any], kwargs: dict[str, Any], node: ast.AST
) -> Any:
    base = cls.builtin_base()
    found, init, _ = cls.lookup("__init__")
    if (
        isinstance(base, Builtin)
        and base.is_class
        and (base.name in CONTAINERS or base.name in KINDS)
    ):
        m = Module(cls.name, base.name, getattr(node, "lineno", interp.line), cls=cls)
        if found:
            interp.call(Bound(init, m), args, kwargs, node)
        else:
            _builtin_init(interp, m, base.name, Call(interp, args, kwargs, node))
        return m
    if isinstance(base, Builtin) and base.name in _EXCEPTIONS:
        return Exc(cls.name, str(args[0]) if args else "")
    if isinstance(base, Builtin) and base.name == "tuple":  # a NamedTuple
        return tuple(args)
    if base is not None and not (
        isinstance(base, Builtin) and base.name in ("object", "Enum", "WeightsEnum")
    ):
        raise interp.undecided(f"instances of classes derived from {base!r} are not modelled", node)
    obj = Instance(cls)
    if found:
        interp.call(Bound(init, obj), args, kwargs, node)
    return obj


def _builtin_init(interp: Interpreter, m: Module, base: str, call: Call) -> None:
    if base in CONTAINERS:
        _container_init(interp, m, call)
    else:
        make_layer(interp, base, call, m)


# --- running modules ------------------------------------------------------------------------


def call_module(
    interp: Interpreter, m: Module, args: list[Any], kwargs: dict[str, Any], node: ast.AST
) -> Any:
    rec = interp.recorder
    path = m.path if m.path is not None else None
    if m.cls is not None:
        found, forward, _ = m.cls.lookup("forward")
        if found:
            if rec is not None and path is not None:
                rec.containers.append((path, m.kind, path.count(".") + 1 if path else 0))
                rec.stack.append(path)
            try:
                out = interp.call(Bound(forward, m), args, kwargs, node)
            finally:
                if rec is not None and path is not None:
                    rec.stack.pop()
            if rec is not None and path and not m.modules and isinstance(out, Tensor):
                first = not any(s.get("name") == path and "kind" in s for s in rec.steps)
                rec.add(  # a module of the file without children: a leaf call
                    {
                        "name": path,
                        "kind": m.kind,
                        "output_shape": list(out.shape),
                        "params": m.own_params if first else 0,
                        "macs": 0,
                        "at": interp.at(node),
                    },
                    _inputs(args),
                    out,
                )
            return out
    return builtin_forward(interp, m, args, kwargs, node)


def builtin_forward(
    interp: Interpreter, m: Module, args: list[Any], kwargs: dict[str, Any], node: ast.AST
) -> Any:
    rec = interp.recorder
    if m.base == "Sequential":
        if len(args) != 1 or kwargs:
            raise interp.undecided("a Sequential called with several inputs", node)
        if rec is not None and m.path:
            rec.containers.append((m.path, m.kind, m.path.count(".") + 1))
        x = args[0]
        if not m.modules and rec is not None and m.path is not None and isinstance(x, Tensor):
            rec.add(  # an empty Sequential: the identity, and a module call
                {
                    "name": m.path,
                    "kind": m.kind,
                    "output_shape": list(x.shape),
                    "params": 0,
                    "macs": 0,
                    "at": interp.at(node),
                },
                [x],
                x,
            )
        for child in m.modules.values():
            x = call_module(interp, child, [x], {}, node)
        return x
    if m.base in KINDS:
        if not args or not isinstance(args[0], Tensor):
            raise interp.undecided(f"{m.kind} called on {args[0] if args else 'nothing'!r}", node)
        return run_layer(interp, m, args[0], node)
    raise interp.model_error(
        f'Module [{m.kind}] is missing the required "forward" function',
        m.cls.line if m.cls is not None else node,
        hint=f"define forward(self, x) in class {m.kind}",
    )


def _larger(message: str, where: str, hint: str | None = None) -> SizeError:
    """A failure that a larger input gets past (what --min-input searches over)."""
    return SizeError(InputError(message, where=where, hint=hint), -1)


def run_layer(
    interp: Interpreter, m: Module, x: Tensor, node: ast.AST, op: str | None = None
) -> Tensor:
    """One layer of KINDS on x, PyTorch's checks first and in its words."""
    kind = m.base
    name = m.path if m.path is not None else kind
    where = f"{interp.at(node)}: {name or 'the model'}"
    rule, dims = KINDS[kind]
    n = dims if dims is not None else max(len(x.shape) - 2, 0)
    _pytorch_checks(interp, m, kind, x, n, where)
    ctx = Context(name, kind, m.line, batch=x.shape[0] if x.shape else 1)
    try:
        layer = rule(m, x.shape[1:], ctx, n)
    except InputError as e:
        error = InputError(f"{kind}: {_strip(e.message, kind)}", where=where, hint=e.hint)
        bigger = (x.shape[1], *(s + 4096 for s in x.shape[2:]))
        try:
            rule(m, bigger, ctx, n)
        except InputError:
            raise error from None
        raise SizeError(error, -1) from None  # a larger input gets past it (--min-input)
    if any(v < 1 for v in layer.output):
        raise _larger(
            f"{kind} gives shape {ops.text((x.shape[0], *layer.output))}: Output size is too small",
            where,
        )
    out = Tensor((x.shape[0], *layer.output))
    rec = interp.recorder
    if rec is not None:
        if op is None and m.path is not None:
            first = not any(s.get("name") == m.path and "kind" in s for s in rec.steps)
            rec.add(
                {
                    "name": m.path,
                    "kind": kind,
                    "output_shape": list(out.shape),
                    "params": m.own_params if first else 0,
                    "macs": layer.macs,
                    "at": interp.at(node),
                    "_args": dict(m.kwargs),
                },
                [x],
                out,
            )
        else:
            record(interp, op or f"nn.{kind}", out, node, macs=layer.macs, inputs=[x])
            rec.steps[-1].update(_kind=kind, _args=dict(m.kwargs))
    return out


def _strip(message: str, kind: str) -> str:
    return message[len(kind) + 1 :] if message.startswith(kind + " ") else message


def _fix(interp: Interpreter, m: Module, index: int, key: str, new: str) -> str | None:
    """``model.py:27: set nn.Linear(16*5*5, ...) to nn.Linear(16*4*4, ...)``."""
    call = m.source
    if call is None:
        return None
    callee = interp.text(call.func, m.origin)
    if index < len(call.args):
        old = interp.text(call.args[index], m.origin)
        spelled = (
            (f"{callee}({old}, ...)", f"{callee}({new}, ...)")
            if index == 0
            else (f"{callee}(..., {old}, ...)", f"{callee}(..., {new}, ...)")
        )
    else:
        kw = next((k for k in call.keywords if k.arg == key), None)
        if kw is None:
            return None
        old = interp.text(kw.value, m.origin)
        spelled = (f"{callee}({key}={old}, ...)", f"{callee}({key}={new}, ...)")
    fix = f"{interp.at(call, m.origin)}: set {spelled[0]} to {spelled[1]}"
    frame = m.built_in
    if frame is not None and frame.call is not None and old.isidentifier():
        names = {a.arg for a in frame.function.node.args.args + frame.function.node.args.kwonlyargs}
        if old in names:  # an argument of the function that built it: say where it comes from
            fn = frame.function
            owner = fn.owner.name if fn.name == "__init__" and fn.owner is not None else fn.name
            fix += (
                f" ({old} is an argument of {owner}, given at "
                f"{interp.at(frame.call, frame.caller)}: {interp.text(frame.call, frame.caller)})"
            )
    return fix


def _arg(m: Module, key: str, default: Any = None) -> Any:
    return m.kwargs.get(key, default)


def _pytorch_checks(
    interp: Interpreter, m: Module, kind: str, x: Tensor, n: int, where: str
) -> None:
    shape = x.shape
    family = _kind_family(kind)
    if family == "Linear":
        f_in, f_out = _arg(m, "in_features"), _arg(m, "out_features")
        if shape and shape[-1] != f_in:
            rows = math.prod(shape[:-1])
            received = shape[-1]
            spelled = _arg_text(interp, m, 0, "in_features")
            joiner = " * " if " * " in spelled else "*"
            new = (
                joiner.join(map(str, x.flat_from))
                if x.flat_from and "*" in spelled and math.prod(x.flat_from) == received
                else str(received)
            )
            error = InputError(
                f"Linear: mat1 and mat2 shapes cannot be multiplied ({rows}x{received} and "
                f"{f_in}x{f_out})",
                where=where,
                hint=_fix(interp, m, 0, "in_features", new) or f"set in_features={received}",
            )
            raise SizeError(error, -1 if received < f_in else 1)
    if family in ("Conv", "ConvTranspose"):
        transposed = family == "ConvTranspose"
        if len(shape) != n + 2:
            raise InputError(
                f"{kind}: Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to "
                f"{kind.lower()}, but got input of size: {list(shape)}",
                where=where,
            )
        c_in, c_out = _arg(m, "in_channels"), _arg(m, "out_channels")
        groups = _arg(m, "groups", 1)
        k = _arg(m, "kernel_size")
        ks = list(k) if isinstance(k, (tuple, list)) else [k] * n
        if shape[1] != c_in:
            weight = [c_in, c_out // groups, *ks] if transposed else [c_out, c_in // groups, *ks]
            raise InputError(
                f"{kind}: Given {'transposed=1' if transposed else f'groups={groups}'}, "
                f"weight of size "
                f"{weight}, expected input{list(shape)} to have {c_in} channels, but got "
                f"{shape[1]} channels instead",
                where=where,
                hint=_fix(interp, m, 0, "in_channels", str(shape[1]))
                or f"set in_channels={shape[1]}",
            )
        pad = _arg(m, "padding", 0)
        if not transposed and not isinstance(pad, str):
            pads = list(pad) if isinstance(pad, (tuple, list)) else [pad] * n
            d = _arg(m, "dilation", 1)
            ds = list(d) if isinstance(d, (tuple, list)) else [d] * n
            padded = [s + 2 * p for s, p in zip(shape[2:], pads, strict=False)]
            effective = [dd * (kk - 1) + 1 for kk, dd in zip(ks, ds, strict=False)]
            if any(p < e for p, e in zip(padded, effective, strict=False)):
                raise _larger(
                    f"{kind}: Calculated padded input size per channel: "
                    f"({' x '.join(map(str, padded))}). "
                    f"Kernel size: ({' x '.join(map(str, effective))}). "
                    "Kernel size can't be greater "
                    f"than actual input size",
                    where,
                    "give a larger --input, or remove a downsampling step before this layer",
                )
    if family == "BatchNorm":
        c = _arg(m, "num_features")
        if len(shape) < 2 or shape[1] != c:
            got = shape[1] if len(shape) > 1 else shape[0]
            raise InputError(
                f"{kind}: running_mean should contain {got} elements not {c}",
                where=where,
                hint=_fix(interp, m, 0, "num_features", str(got)) or f"set num_features={got}",
            )
        if interp.training and shape[0] * math.prod(shape[2:]) == 1:
            raise _larger(
                f"{kind}: Expected more than 1 value per channel when training, got input "
                f"size torch.Size({list(shape)})",
                where,
                "PyTorch refuses this in training mode: give --batch 2 or more, or --mode eval",
            )
    uses_input_stats = interp.training or not _arg(m, "track_running_stats", False)
    if family == "InstanceNorm" and uses_input_stats and math.prod(shape[2:]) == 1:
        raise _larger(
            f"{kind}: Expected more than 1 spatial element when training, got input size "
            f"torch.Size({list(shape)})",
            where,
        )


def _arg_text(interp: Interpreter, m: Module, index: int, key: str) -> str:
    call = m.source
    if call is None:
        return ""
    if index < len(call.args):
        return interp.text(call.args[index], m.origin)
    kw = next((k for k in call.keywords if k.arg == key), None)
    return "" if kw is None else interp.text(kw.value, m.origin)


def _inputs(values: Any) -> list[Tensor]:
    """The tensors among call arguments, lists and tuples included, in order."""
    found: list[Tensor] = []
    for v in values:
        if isinstance(v, Tensor):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            found.extend(t for t in v if isinstance(t, Tensor))
    return found


def record(
    interp: Interpreter,
    op: str,
    out: Any,
    node: ast.AST,
    macs: int = 0,
    inputs: list[Tensor] | None = None,
) -> None:
    rec = interp.recorder
    if rec is None:
        return
    rec.add(
        {
            "op": op,
            "at": interp.at(node),
            "module": rec.stack[-1] if rec.stack else "",
            "output_shape": list(out.shape)
            if isinstance(out, Tensor)
            else [list(t.shape) for t in out if isinstance(t, Tensor)],
            "macs": macs,
        },
        inputs or [],
        out,
    )


# --- functional forms of layers: the same rules -------------------------------------------


def _functional_layer(kind: str, names: tuple[str, ...], op: str) -> Builtin:
    """F.max_pool2d(x, 2), F.interpolate(x, scale_factor=2): the layer of KINDS, built
    from the call's arguments (after the input)."""

    def fn(call: Call) -> Any:
        x = call.tensor(0, "input")
        rest = call.args[1:]
        kwargs = {k: v for k, v in call.kwargs.items() if k != "input"}
        args = dict(zip(names, rest, strict=False)) | kwargs
        args = {k: v for k, v in args.items() if k in names or k in ("inplace",)}
        if "kernel_size" in args and args.get("stride") is None:
            args.pop("stride", None)
        _plain_arguments(Call(call.interp, [], args, call.node), op)
        m = Module(kind, kind, getattr(call.node, "lineno", 0), kwargs=args)
        return run_layer(call.interp, m, x, call.node, op=op)

    return Builtin(op, fn)


_POOL_ARGS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
_AVG_ARGS = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")


def _interpolate(call: Call) -> Any:
    x = call.tensor(0, "input")
    size, factor = call.get(1, "size", None), call.get(2, "scale_factor", None)
    mode = call.get(3, "mode", "nearest")  # (what fvcore counts depends on it)
    kwargs = {"size": size, "scale_factor": factor, "mode": mode}
    m = Module("Upsample", "Upsample", 0, kwargs=kwargs)
    _plain_arguments(Call(call.interp, [size, factor], {}, call.node), "F.interpolate")
    return run_layer(call.interp, m, x, call.node, op="F.interpolate")


def _pad(call: Call) -> Any:
    x = call.tensor(0, "input")
    pad = call.get(1, "pad")
    if not isinstance(pad, (tuple, list)) or len(pad) % 2 or not 2 <= len(pad) <= 6:
        raise call.interp.model_error(f"F.pad: padding length must be even, got {pad!r}", call.node)
    kind = f"ConstantPad{len(pad) // 2}d"
    m = Module(kind, kind, 0, kwargs={"padding": tuple(pad)})
    _plain_arguments(Call(call.interp, list(pad), {}, call.node), "F.pad")
    return run_layer(call.interp, m, x, call.node, op="F.pad")


def _f_linear(call: Call) -> Any:
    x, w = call.tensor(0, "input"), call.tensor(1, "weight")
    bias = call.get(2, "bias", None)
    if len(w.shape) != 2:
        raise call.interp.undecided("F.linear with a weight that is not 2-D", call.node)
    m = Module(
        "Linear", "Linear", 0, args=(w.shape[1], w.shape[0]), kwargs={"bias": bias is not None}
    )
    return run_layer(call.interp, m, x, call.node, op="F.linear")


def _f_conv(d: int) -> Builtin:
    def fn(call: Call) -> Any:
        x, w = call.tensor(0, "input"), call.tensor(1, "weight")
        groups = call.get(6, "groups", 1)
        kwargs = {
            "stride": call.get(3, "stride", 1),
            "padding": call.get(4, "padding", 0),
            "dilation": call.get(5, "dilation", 1),
            "groups": groups,
            "bias": call.get(2, "bias", None) is not None,
        }
        _plain_arguments(Call(call.interp, [], kwargs, call.node), f"F.conv{d}d")
        if len(w.shape) != d + 2:
            raise call.interp.undecided(f"F.conv{d}d with a {len(w.shape)}-D weight", call.node)
        kind = f"Conv{d}d"
        m = Module(
            kind, kind, 0, args=(w.shape[1] * groups, w.shape[0], tuple(w.shape[2:])), kwargs=kwargs
        )
        return run_layer(call.interp, m, x, call.node, op=f"F.conv{d}d")

    return Builtin(f"F.conv{d}d", fn)


# --- shape-only tensor operations ------------------------------------------------------------


def _shape_op(
    op: str,
    rule: Callable[[Call, Any], Any],
    receiver: bool = False,
    quiet: bool = False,
    joins: bool = False,
) -> Builtin:
    def fn(call: Call) -> Any:
        x: Any = None
        if receiver:
            x = call.receiver
            call = Call(call.interp, [x, *call.args], call.kwargs, call.node)
        elif not joins:
            x = call.tensor(0, "input")
        try:
            out = rule(call, x)
        except ops.ShapeError as e:
            raise InputError(
                e.message, where=call.interp.at(call.node) + _in_module(call), hint=e.hint
            ) from None
        if not quiet and (
            isinstance(out, Tensor)
            or (isinstance(out, (tuple, list)) and out and all(isinstance(t, Tensor) for t in out))
        ):
            record(call.interp, op, out, call.node, inputs=_inputs(call.args))
        return out

    return Builtin(op, fn)


def _in_module(call: Call) -> str:
    rec = call.interp.recorder
    return f": {rec.stack[-1]}" if rec is not None and rec.stack and rec.stack[-1] else ""


def _ints(call: Call, start: int, name: str) -> list[int]:
    """*sizes or a single sequence of sizes, from argument ``start`` on."""
    values = call.args[start:]
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        values = list(values[0])
    if not values and name in call.kwargs:
        values = (
            list(call.kwargs[name])
            if isinstance(call.kwargs[name], (tuple, list))
            else [call.kwargs[name]]
        )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise call.interp.undecided(f"a size hw3 cannot know: {v!r}", call.node)
    return list(values)


def _view(call: Call, x: Tensor) -> Tensor:
    sizes = _ints(call, 1, "size" if "size" in call.kwargs else "shape")
    rows = bool(sizes and sizes[0] == -1 and x.shape and -1 not in sizes[1:])  # view(-1, 400)
    per_row = math.prod(sizes[1:]) if rows else 0
    features = math.prod(x.shape[1:]) if rows else 0
    try:
        out = ops.view(x.shape, sizes)
    except ops.ShapeError as e:
        if not per_row or features == per_row:
            raise
        error = InputError(e.message, where=call.interp.at(call.node) + _in_module(call))
        raise SizeError(error, -1 if features < per_row else 1) from None  # (--min-input)
    if per_row and call.interp.whole_batch and out[0] != x.shape[0]:
        raise SizeError(  # --min-input: a size that changes the batch axis is not taken
            InputError(
                f"{call.interp.text(call.node)} turns the batch of {x.shape[0]} into "
                f"{out[0]} rows: the batch axis changed",
                where=call.interp.at(call.node) + _in_module(call),
            ),
            -1 if features < per_row else 1,
        )
    if -1 in sizes and out and x.shape and out[0] != x.shape[0]:
        call.interp.warn(
            f"{call.interp.at(call.node)}: {call.interp.text(call.node)} turns the batch of "
            f"{x.shape[0]} into {out[0]} rows: the batch axis changed. PyTorch does not "
            f"complain here; the loss will. Write view(x.size(0), -1) to keep the batch"
        )
    flat_from = x.shape[1:] if len(out) == 2 and len(x.shape) > 2 and out[0] == x.shape[0] else None
    return Tensor(out, flat_from=flat_from)


def _flatten(call: Call, x: Tensor) -> Tensor:
    start, end = call.get(1, "start_dim", 0), call.get(2, "end_dim", -1)
    out = ops.flatten(x.shape, start, end)
    flat_from = x.shape[1:] if len(out) == 2 and len(x.shape) > 2 and out[0] == x.shape[0] else None
    if start == 0 and x.shape and out[0] != x.shape[0]:
        call.interp.warn(
            f"{call.interp.at(call.node)}: flattening from dim 0 merges the batch axis"
        )
    return Tensor(out, flat_from=flat_from)


def _tensors(call: Call, value: Any) -> list[Tensor]:
    items = call.interp.iterate(value, call.node)
    for t in items:
        if not isinstance(t, Tensor):
            raise call.interp.undecided(
                f"joining {t!r}, which is not a tensor hw3 knows", call.node
            )
    return items


def _cat(call: Call, x: Any) -> Tensor:
    tensors = _tensors(call, call.get(0, "tensors"))
    return Tensor(ops.cat([t.shape for t in tensors], call.get(1, "dim", 0)))


def _stack(call: Call, x: Any) -> Tensor:
    tensors = _tensors(call, call.get(0, "tensors"))
    return Tensor(ops.stack([t.shape for t in tensors], call.get(1, "dim", 0)))


def _dims_arg(call: Call, index: int, name: str) -> list[int] | None:
    dim = call.get(index, name, None)
    if dim is None:
        return None
    return list(dim) if isinstance(dim, (tuple, list)) else [dim]


def _reduce(call: Call, x: Tensor) -> Tensor:
    return Tensor(
        ops.reduce(x.shape, _dims_arg(call, 1, "dim"), bool(call.get(2, "keepdim", False)))
    )


def _max(call: Call, x: Tensor) -> Any:
    other = call.get(1, "dim", None)
    if isinstance(other, Tensor):
        return Tensor(ops.broadcast(x.shape, other.shape))
    if other is None:
        return Tensor(())
    out = Tensor(ops.reduce(x.shape, [other], bool(call.get(2, "keepdim", False))))
    return (out, Tensor(out.shape))


def _squeeze(call: Call, x: Tensor) -> Tensor:
    return Tensor(ops.squeeze(x.shape, call.get(1, "dim", None)))


def _unsqueeze(call: Call, x: Tensor) -> Tensor:
    return Tensor(ops.unsqueeze(x.shape, call.get(1, "dim")))


def _transpose(call: Call, x: Tensor) -> Tensor:
    return Tensor(ops.transpose(x.shape, call.get(1, "dim0"), call.get(2, "dim1")))


def _t(call: Call, x: Tensor) -> Tensor:
    return Tensor(ops.transpose(x.shape, 0, -1) if len(x.shape) == 2 else x.shape)


def _permute(call: Call, x: Tensor) -> Tensor:
    return Tensor(ops.permute(x.shape, _ints(call, 1, "dims")))


def _pieces(call: Call, x: Tensor, sizes: list[int], dim: int) -> tuple[Tensor, ...]:
    d = ops.dim_index(dim, len(x.shape))
    return tuple(Tensor((*x.shape[:d], s, *x.shape[d + 1 :])) for s in sizes)


def _chunk(call: Call, x: Tensor) -> tuple[Tensor, ...]:
    dim = call.get(2, "dim", 0)
    d = ops.dim_index(dim, len(x.shape))
    return _pieces(call, x, ops.chunk_sizes(x.shape[d], call.get(1, "chunks")), dim)


def _split(call: Call, x: Tensor) -> tuple[Tensor, ...]:
    dim = call.get(2, "dim", 0)
    d = ops.dim_index(dim, len(x.shape))
    return _pieces(call, x, ops.split_sizes(x.shape[d], call.get(1, "split_size_or_sections")), dim)


def _same(call: Call, x: Tensor) -> Tensor:
    return Tensor(x.shape, flat_from=x.flat_from)


def _expand(call: Call, x: Tensor) -> Tensor:
    sizes = _ints(call, 1, "size")
    if len(sizes) < len(x.shape):
        raise ops.ShapeError(
            "expand: the number of sizes provided must be greater or equal to the number of "
            "dimensions in the tensor"
        )
    padded = (1,) * (len(sizes) - len(x.shape)) + x.shape
    out = []
    for s, have in zip(sizes, padded, strict=True):
        if s == -1:
            out.append(have)
        elif have not in (1, s):
            raise ops.ShapeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({have}) at "
                "non-singleton dimension"
            )
        else:
            out.append(s)
    return Tensor(tuple(out))


def _repeat(call: Call, x: Tensor) -> Tensor:
    sizes = _ints(call, 1, "repeats")
    padded = (1,) * (len(sizes) - len(x.shape)) + x.shape
    return Tensor(tuple(a * b for a, b in zip(padded, sizes, strict=True)))


def _binary(name: str) -> Callable[[Call, Tensor], Tensor]:
    def rule(call: Call, x: Tensor) -> Tensor:
        other = call.get(1, "other")
        shape = other.shape if isinstance(other, Tensor) else ()
        return Tensor(ops.broadcast(x.shape, shape))

    return rule


def _matmul(call: Call, x: Tensor) -> Tensor:
    return Tensor(ops.matmul(x.shape, call.tensor(1, "other").shape))


def _affine_grid(call: Call, theta: Tensor) -> Tensor:
    return Tensor(ops.affine_grid(theta.shape, _ints(call, 1, "size")))


def _grid_sample(call: Call, x: Tensor) -> Tensor:
    return Tensor(ops.grid_sample(x.shape, call.tensor(1, "grid").shape))


def _view_as(call: Call, x: Tensor) -> Tensor:
    return Tensor(ops.view(x.shape, list(call.tensor(1, "other").shape)))


def _expand_as(call: Call, x: Tensor) -> Tensor:
    return Tensor(call.tensor(1, "other").shape)


def _size(call: Call) -> Any:
    x: Tensor = call.receiver
    dim = call.get(0, "dim", None)
    if dim is None:
        return tuple(x.shape)
    try:
        return x.shape[ops.dim_index(dim, len(x.shape))]
    except ops.ShapeError as e:
        raise call.interp.model_error(e.message, call.node) from None


def _creation(call: Call) -> Tensor:
    sizes = _ints(call, 0, "size")
    return Tensor(tuple(sizes))


def _like(call: Call) -> Tensor:
    return Tensor(call.tensor(0, "input").shape)


def _tensor_literal(call: Call) -> Tensor:
    data = call.get(0, "data")
    shape: list[int] = []
    while isinstance(data, (list, tuple)):
        shape.append(len(data))
        data = data[0] if data else None
    return Tensor(tuple(shape))


def _arange(call: Call) -> Tensor:
    values = [v for v in call.args if isinstance(v, (int, float))]
    if len(values) != len(call.args) or not values:
        raise call.interp.undecided("torch.arange with values hw3 cannot know", call.node)
    start, end, step = (
        (0, values[0], 1)
        if len(values) == 1
        else (values[0], values[1], values[2] if len(values) > 2 else 1)
    )
    return Tensor((max(0, math.ceil((end - start) / step)),))


def _parameter(call: Call) -> Tensor:
    data = call.get(0, "data", None)
    if not isinstance(data, Tensor):
        raise call.interp.undecided(f"nn.Parameter of {data!r}", call.node)
    return Tensor(data.shape, param=True)


def _noop_tensor(call: Call) -> Any:
    """In-place initialisers (nn.init.*, weight.data.normal_()): no change to shapes."""
    return call.receiver if call.receiver is not None else (call.args[0] if call.args else None)


def _torch_assert(call: Call) -> None:
    if not call.interp.truth(call.get(0, "condition"), call.node):
        raise call.interp.model_error(
            f"torch._assert fails: {call.get(1, 'message', '')}", call.node
        )


def _false(call: Call) -> bool:
    return False


def _identity_decorator(call: Call) -> Any:
    """torch.jit.unused, functools.wraps(...), ...: the function unchanged."""
    if call.args and isinstance(call.args[0], (Function, Bound, Builtin)) and not call.kwargs:
        return call.args[0]
    return IDENTITY


IDENTITY = Builtin("identity decorator", lambda call: call.args[0])
CONTEXT = Builtin("context", lambda call: None)


def _context(call: Call) -> Builtin:
    return CONTEXT


_ACTIVATIONS = [
    "relu",
    "relu_",
    "relu6",
    "elu",
    "elu_",
    "selu",
    "celu",
    "gelu",
    "silu",
    "mish",
    "sigmoid",
    "tanh",
    "hardswish",
    "hardsigmoid",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "softplus",
    "softsign",
    "logsigmoid",
    "tanhshrink",
    "softshrink",
    "hardshrink",
    "threshold",
    "rrelu",
    "glu_none",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
    "softmax",
    "log_softmax",
    "softmin",
    "normalize",
    "batch_norm",
    "instance_norm",
    "layer_norm",
    "group_norm",
    "local_response_norm",
]
_ELEMENTWISE = [
    "relu",
    "relu_",
    "sigmoid",
    "sigmoid_",
    "tanh",
    "tanh_",
    "exp",
    "exp_",
    "log",
    "log_",
    "sqrt",
    "rsqrt",
    "abs",
    "neg",
    "clamp",
    "clamp_",
    "clip",
    "softmax",
    "log_softmax",
    "sign",
    "floor",
    "ceil",
    "round",
    "sin",
    "cos",
    "erf",
    "square",
    "reciprocal",
    "nan_to_num",
    "dropout",
]
_PASS_THROUGH = [
    "contiguous",
    "float",
    "double",
    "half",
    "bfloat16",
    "to",
    "cuda",
    "cpu",
    "detach",
    "clone",
    "type_as",
    "type",
    "requires_grad_",
    "data_ptr",
    "cpu_",
    "pin_memory",
]
_INIT_IN_PLACE = [
    "normal_",
    "uniform_",
    "zero_",
    "fill_",
    "copy_",
    "constant_",
    "kaiming_normal_",
    "xavier_uniform_",
]


def _torch_table() -> dict[str, Builtin]:
    t: dict[str, Builtin] = {}
    for name in KINDS:
        t[f"torch.nn.{name}"] = _nn_class(name)
    for name in CONTAINERS:
        t[f"torch.nn.{name}"] = _nn_class(name)
    t["torch.nn.Parameter"] = Builtin("nn.Parameter", _parameter)
    t["torch.nn.parameter.Parameter"] = t["torch.nn.Parameter"]
    for d in (1, 2, 3):
        t[f"torch.nn.functional.max_pool{d}d"] = _functional_layer(
            f"MaxPool{d}d", _POOL_ARGS, f"F.max_pool{d}d"
        )
        t[f"torch.max_pool{d}d"] = t[f"torch.nn.functional.max_pool{d}d"]
        t[f"torch.nn.functional.avg_pool{d}d"] = _functional_layer(
            f"AvgPool{d}d", _AVG_ARGS, f"F.avg_pool{d}d"
        )
        t[f"torch.avg_pool{d}d"] = t[f"torch.nn.functional.avg_pool{d}d"]
        for mode in ("avg", "max"):
            kind = f"Adaptive{mode.title()}Pool{d}d"
            t[f"torch.nn.functional.adaptive_{mode}_pool{d}d"] = _functional_layer(
                kind, ("output_size",), f"F.adaptive_{mode}_pool{d}d"
            )
            t[f"torch.adaptive_{mode}_pool{d}d"] = t[
                f"torch.nn.functional.adaptive_{mode}_pool{d}d"
            ]
        t[f"torch.nn.functional.conv{d}d"] = _f_conv(d)
        t[f"torch.conv{d}d"] = t[f"torch.nn.functional.conv{d}d"]
    t["torch.nn.functional.interpolate"] = Builtin("F.interpolate", _interpolate)
    t["torch.nn.functional.upsample"] = t["torch.nn.functional.interpolate"]
    t["torch.nn.functional.pad"] = Builtin("F.pad", _pad)
    t["torch.nn.functional.linear"] = Builtin("F.linear", _f_linear)
    t["torch.nn.functional.pixel_shuffle"] = _functional_layer(
        "PixelShuffle", ("upscale_factor",), "F.pixel_shuffle"
    )
    t["torch.pixel_shuffle"] = t["torch.nn.functional.pixel_shuffle"]
    t["torch.nn.functional.affine_grid"] = _shape_op("F.affine_grid", _affine_grid)
    t["torch.nn.functional.grid_sample"] = _shape_op("F.grid_sample", _grid_sample)
    t["torch.nn.functional.flatten"] = _shape_op("torch.flatten", _flatten)
    for name in _ACTIVATIONS:
        t[f"torch.nn.functional.{name}"] = _shape_op(f"F.{name}", _same)
    for name in _ELEMENTWISE:
        t[f"torch.{name}"] = _shape_op(f"torch.{name}", _same)
    for name, join in (("cat", _cat), ("concat", _cat), ("concatenate", _cat), ("stack", _stack)):
        t[f"torch.{name}"] = _shape_op(f"torch.{name}", join, joins=True)
    rule: Callable[[Call, Any], Any]
    for name, rule in (
        ("flatten", _flatten),
        ("mean", _reduce),
        ("sum", _reduce),
        ("amax", _reduce),
        ("max", _max),
        ("squeeze", _squeeze),
        ("unsqueeze", _unsqueeze),
        ("transpose", _transpose),
        ("permute", _permute),
        ("chunk", _chunk),
        ("split", _split),
        ("matmul", _matmul),
        ("mm", _matmul),
        ("bmm", _matmul),
        ("reshape", _view),
        ("add", _binary("add")),
        ("sub", _binary("sub")),
        ("mul", _binary("mul")),
        ("div", _binary("div")),
        ("t", _t),
        ("pow", _binary("pow")),
        ("maximum", _binary("maximum")),
        ("minimum", _binary("minimum")),
        ("where", _binary("where")),
    ):
        t[f"torch.{name}"] = _shape_op(f"torch.{name}", rule)
    for name in ("zeros", "ones", "randn", "rand", "empty"):
        t[f"torch.{name}"] = Builtin(f"torch.{name}", _creation)
        t[f"torch.{name}_like"] = Builtin(f"torch.{name}_like", _like)
    t["torch.full"] = Builtin(
        "torch.full",
        lambda call: Tensor(
            tuple(_ints(Call(call.interp, [call.get(0, "size")], {}, call.node), 0, "size"))
        ),
    )
    t["torch.tensor"] = Builtin("torch.tensor", _tensor_literal)
    t["torch.arange"] = Builtin("torch.arange", _arange)
    t["torch.no_grad"] = Builtin("torch.no_grad", _context)
    t["torch.jit.is_scripting"] = Builtin("torch.jit.is_scripting", _false)
    t["torch.jit.is_tracing"] = Builtin("torch.jit.is_tracing", _false)
    t["torch._assert"] = Builtin("torch._assert", _torch_assert)
    for name in ("unused", "ignore", "export", "_overload_method", "script_method"):
        t[f"torch.jit.{name}"] = Builtin("identity decorator", _identity_decorator)
    t["torch.Tensor"] = Builtin(
        "Tensor", lambda call: _undecided_call(call, "torch.Tensor(...)"), is_class=True
    )
    return t


def _undecided_call(call: Call, what: str) -> Any:
    raise call.interp.undecided(f"{what} is not modelled", call.node)


TORCH = _torch_table()
TORCH_PACKAGES = {
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.nn.init",
    "torch.jit",
    "torch.nn.modules",
    "torch.utils",
    "torch.utils.checkpoint",
    "torch.nn.parameter",
}

# Tensor methods: the receiver is the tensor
_METHODS: dict[str, Builtin] = {
    "view": _shape_op("Tensor.view", _view, receiver=True),
    "reshape": _shape_op("Tensor.reshape", _view, receiver=True),
    "view_as": _shape_op("Tensor.view_as", _view_as, receiver=True),
    "reshape_as": _shape_op("Tensor.reshape_as", _view_as, receiver=True),
    "flatten": _shape_op("Tensor.flatten", _flatten, receiver=True),
    "permute": _shape_op("Tensor.permute", _permute, receiver=True),
    "transpose": _shape_op("Tensor.transpose", _transpose, receiver=True),
    "t": _shape_op("Tensor.t", _t, receiver=True),
    "expand": _shape_op("Tensor.expand", _expand, receiver=True),
    "expand_as": _shape_op("Tensor.expand_as", _expand_as, receiver=True),
    "repeat": _shape_op("Tensor.repeat", _repeat, receiver=True),
    "squeeze": _shape_op("Tensor.squeeze", _squeeze, receiver=True),
    "unsqueeze": _shape_op("Tensor.unsqueeze", _unsqueeze, receiver=True),
    "mean": _shape_op("Tensor.mean", _reduce, receiver=True),
    "sum": _shape_op("Tensor.sum", _reduce, receiver=True),
    "amax": _shape_op("Tensor.amax", _reduce, receiver=True),
    "max": _shape_op("Tensor.max", _max, receiver=True),
    "chunk": _shape_op("Tensor.chunk", _chunk, receiver=True),
    "split": _shape_op("Tensor.split", _split, receiver=True),
    "matmul": _shape_op("Tensor.matmul", _matmul, receiver=True),
    "bmm": _shape_op("Tensor.bmm", _matmul, receiver=True),
    "mm": _shape_op("Tensor.mm", _matmul, receiver=True),
    "size": Builtin("Tensor.size", _size),
    "dim": Builtin("Tensor.dim", lambda call: len(call.receiver.shape)),
    "numel": Builtin("Tensor.numel", lambda call: call.receiver.numel()),
    **{
        name: _shape_op(f"Tensor.{name}", _binary(name), receiver=True)
        for name in ("add", "sub", "mul", "div", "add_", "mul_", "sub_", "div_", "pow")
    },
    **{
        name: _shape_op(f"Tensor.{name}", _same, receiver=True)
        for name in _ELEMENTWISE
        if name != "dropout"
    },
    **{
        name: _shape_op(f"Tensor.{name}", _same, receiver=True, quiet=True)
        for name in _PASS_THROUGH
    },
    **{name: Builtin(f"Tensor.{name}", _noop_tensor) for name in _INIT_IN_PLACE},
}


def tensor_attribute(interp: Interpreter, x: Tensor, name: str, node: ast.AST) -> Any:
    if name == "shape":
        return tuple(x.shape)
    if name == "ndim":
        return len(x.shape)
    if name in ("data", "T") and name == "data":
        return x
    if name == "T":
        return Tensor(tuple(reversed(x.shape)))
    if name in _METHODS:
        b = _METHODS[name]
        return Builtin(b.name, b.fn, bound=x)
    if name == "is_cuda":
        return False  # the tensor hw3 passes to forward is a CPU tensor
    if name in ("device", "dtype", "requires_grad", "grad"):
        return Opaque(f"the tensor's {name}", interp.at(node))
    raise interp.undecided(f"the tensor attribute or method .{name} is not modelled", node)


# --- operators --------------------------------------------------------------------------------

_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
    ast.BitXor: operator.xor,
    ast.MatMult: operator.matmul,
}
_SYMBOLS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.MatMult: "@",
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
}


def python_binop(
    interp: Interpreter, op: ast.operator, left: Any, right: Any, node: ast.AST
) -> Any:
    if isinstance(left, Opaque) or isinstance(right, Opaque):
        return Opaque(f"{interp.text(node)}", interp.at(node))
    allowed = (bool, int, float, str, tuple, list, type(None), dict, set)
    if not isinstance(left, allowed) or not isinstance(right, allowed):
        raise interp.undecided(
            f"{interp.text(node)} on {left!r} and {right!r} is not modelled", node
        )
    if (
        isinstance(op, ast.Pow)
        and isinstance(right, int)
        and abs(right) > MAX_INT_BITS
        and isinstance(left, (int, float))
        and abs(left) > 1
    ):
        raise interp.undecided("a power too large to read", node)
    if isinstance(op, ast.LShift) and isinstance(right, int) and right > MAX_INT_BITS:
        raise interp.undecided("a shift too large to read", node)
    if isinstance(op, ast.Mult) and isinstance(left, (str, tuple, list)) and isinstance(right, int):
        interp.bound_size(len(left) * right, node)
    if isinstance(op, ast.Mult) and isinstance(right, (str, tuple, list)) and isinstance(left, int):
        interp.bound_size(len(right) * left, node)
    if isinstance(op, ast.Mod) and isinstance(left, str) and ("{" in left or "%(" in left):
        raise interp.undecided("%-formatting with mappings is not modelled", node)
    try:
        result = _OPS[type(op)](left, right)
    except ZeroDivisionError:
        raise interp.model_error("division by zero", node) from None
    except (TypeError, ValueError) as e:
        raise interp.undecided(f"{interp.text(node)}: {e}", node) from None
    if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
        raise interp.undecided("a number too large to read", node)
    if isinstance(result, (str, list, tuple)):
        interp.bound_size(len(result), node)
    return result


def tensor_binop(
    interp: Interpreter, op: ast.operator, left: Any, right: Any, node: ast.AST
) -> Any:
    for side in (left, right):
        if not isinstance(side, (Tensor, int, float, bool)):
            raise interp.undecided(f"{interp.text(node)} with {side!r} is not modelled", node)
    a = left.shape if isinstance(left, Tensor) else ()
    b = right.shape if isinstance(right, Tensor) else ()
    try:
        out = Tensor(ops.matmul(a, b) if isinstance(op, ast.MatMult) else ops.broadcast(a, b))
    except ops.ShapeError as e:
        rec = interp.recorder
        module = f": {rec.stack[-1]}" if rec is not None and rec.stack and rec.stack[-1] else ""
        raise InputError(
            e.message,
            where=interp.at(node) + module,
            hint=f"{interp.text(node)} combines {ops.text(a)} and {ops.text(b)}",
        ) from None
    if isinstance(left, Tensor) and isinstance(right, Tensor):
        record(interp, _SYMBOLS.get(type(op), type(op).__name__), out, node, inputs=[left, right])
        if isinstance(node, ast.AugAssign) and interp.recorder is not None:
            interp.recorder.steps[-1]["_inplace"] = True  # out += x: no new tensor
    return out


def compare(interp: Interpreter, op: ast.cmpop, left: Any, right: Any, node: ast.AST) -> Any:
    if isinstance(op, ast.Is):
        return (
            left is right
            if not _opaque(left, right)
            else Opaque(interp.text(node), interp.at(node))
        )
    if isinstance(op, ast.IsNot):
        return (
            left is not right
            if not _opaque(left, right)
            else Opaque(interp.text(node), interp.at(node))
        )
    if _opaque(left, right):
        return Opaque(interp.text(node), interp.at(node))
    if isinstance(left, Tensor) or isinstance(right, Tensor):
        if isinstance(op, (ast.In, ast.NotIn)):
            raise interp.undecided("`in` with a tensor is not modelled", node)
        return tensor_binop(interp, ast.Add(), left, right, node)
    if isinstance(op, (ast.In, ast.NotIn)):
        if isinstance(right, Module):
            found = left in right.modules
        elif isinstance(right, (list, tuple, dict, str, set)):
            found = (
                any(left is v or (_plain(left) and _plain(v) and left == v) for v in right)
                if not isinstance(right, str)
                else left in right
            )
        else:
            raise interp.undecided(f"`in` on {right!r} is not modelled", node)
        return found if isinstance(op, ast.In) else not found
    if isinstance(op, (ast.Eq, ast.NotEq)):
        same = left is right or (_plain(left) and _plain(right) and left == right)
        return same if isinstance(op, ast.Eq) else not same
    if not (_plain(left) and _plain(right)):
        raise interp.undecided(f"comparing {left!r} and {right!r} is not modelled", node)
    try:
        return {
            ast.Lt: operator.lt,
            ast.LtE: operator.le,
            ast.Gt: operator.gt,
            ast.GtE: operator.ge,
        }[type(op)](left, right)
    except TypeError as e:
        raise interp.model_error(f"TypeError: {e}", node) from None


def _opaque(*values: Any) -> bool:
    return any(isinstance(v, Opaque) for v in values)


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    return False


# --- attributes, items, iteration -------------------------------------------------------------

_LIST_METHODS = {"append", "extend", "insert", "pop", "index", "count", "copy", "reverse", "remove"}
_DICT_METHODS = {"items", "keys", "values", "get", "pop", "update", "copy", "setdefault"}
_STR_METHODS = {
    "format",
    "join",
    "split",
    "startswith",
    "endswith",
    "lower",
    "upper",
    "replace",
    "strip",
    "isdigit",
}
_TUPLE_METHODS = {"index", "count"}


def _python_method(interp: Interpreter, value: Any, name: str, node: ast.AST) -> Builtin:
    method = getattr(value, name)

    def fn(call: Call) -> Any:
        for a in [*call.args, *call.kwargs.values()]:
            if isinstance(a, (Function, Bound, Builtin, Partial)):
                raise interp.undecided(
                    f".{name} with a function argument is not modelled", call.node
                )
        if name == "format" and isinstance(value, str) and any(c in value for c in ".[!"):
            raise interp.undecided(
                "str.format with attribute or item fields is not modelled", call.node
            )
        try:
            result = method(*call.args, **call.kwargs)
        except (IndexError, KeyError, ValueError, TypeError) as e:
            raise interp.model_error(f"{type(e).__name__}: {e}", call.node) from None
        if name in ("items", "keys", "values"):
            result = list(result)
        if isinstance(result, (list, str)):
            interp.bound_size(len(result), call.node)
        return result

    return Builtin(f"{type(value).__name__}.{name}", fn)


def get_attribute(interp: Interpreter, value: Any, name: str, node: ast.AST) -> Any:
    if isinstance(value, Namespace):
        return namespace_attribute(interp, value, name, node)
    if isinstance(value, Module):
        return module_attribute(interp, value, name, node)
    if isinstance(value, Tensor):
        return tensor_attribute(interp, value, name, node)
    if isinstance(value, Opaque):
        return Opaque(f"{value.what}.{name}", value.where, value.root or value.what)
    if isinstance(value, Super):
        return super_attribute(interp, value, name, node)
    if isinstance(value, Instance):
        if name in value.attrs:
            return value.attrs[name]
        return class_attribute(interp, value.cls, name, node, receiver=value)
    if isinstance(value, UserClass):
        if name == "__name__":
            return value.name
        return class_attribute(interp, value, name, node, receiver=None)
    if isinstance(value, Function) and name == "__name__":
        return value.name
    if isinstance(value, Builtin):
        if value.name.startswith("typing"):
            return value
        if name == "__name__":
            return value.name.rsplit(".", 1)[-1]
    allowed = (
        _LIST_METHODS
        if isinstance(value, list)
        else _DICT_METHODS
        if isinstance(value, dict)
        else _STR_METHODS
        if isinstance(value, str)
        else _TUPLE_METHODS
        if isinstance(value, tuple)
        else set()
    )
    if name in allowed:
        return _python_method(interp, value, name, node)
    raise interp.undecided(f"the attribute .{name} of {value!r} is not modelled", node)


def class_attribute(
    interp: Interpreter, cls: UserClass, name: str, node: ast.AST, receiver: Any
) -> Any:
    found, value, _ = cls.lookup(name)
    if not found:
        base = cls.builtin_base()
        if isinstance(base, Builtin) and base.name == "WeightsEnum" and name == "verify":
            return Builtin("WeightsEnum.verify", _verify_weights)
        raise interp.model_error(
            f"AttributeError: '{cls.name}' object has no attribute '{name}'", node
        )
    return _bind(interp, value, receiver, cls, node)


def _bind(
    interp: Interpreter, value: Any, receiver: Any, cls: UserClass | None, node: ast.AST
) -> Any:
    if isinstance(value, Function):
        if value.kind == "staticmethod":
            return value
        if value.kind == "classmethod":
            return Bound(value, cls)
        if value.kind == "property" and receiver is not None:
            return interp.call_function(value, [receiver], {}, node)
        if receiver is not None:
            return Bound(value, receiver)
    return value


def _verify_weights(call: Call) -> Any:
    weights = call.get(0, "obj")
    if weights is None:
        return None
    raise call.interp.undecided(
        "pretrained weights are not modelled (give weights=None)", call.node
    )


def _super_init(interp: Interpreter, obj: Module, base: str) -> Builtin:
    return Builtin(f"{base}.__init__", lambda call: _builtin_init(interp, obj, base, call))


def super_attribute(interp: Interpreter, s: Super, name: str, node: ast.AST) -> Any:
    obj = s.obj
    cls = (
        obj.cls
        if isinstance(obj, (Module, Instance))
        else obj
        if isinstance(obj, UserClass)
        else None
    )
    if cls is None:
        raise interp.undecided("super() outside a method is not modelled", node)
    chain = cls.mro()
    rest = chain[chain.index(s.owner) + 1 :] if s.owner in chain else []
    for c in rest:
        if isinstance(c, UserClass):
            if name in c.body:
                return _bind(interp, c.body[name], obj, c, node)
        elif isinstance(c, Builtin) and isinstance(obj, Module):
            if name == "__init__":
                return _super_init(interp, obj, c.name)
            if name == "forward":
                return Builtin(
                    f"{c.name}.forward",
                    lambda call: builtin_forward(interp, obj, call.args, call.kwargs, call.node),
                )
            return module_attribute(interp, obj, name, node)
        elif isinstance(c, Builtin) and name == "__init__":
            return Builtin("object.__init__", lambda call: None)
    if name == "__init__":
        return Builtin("object.__init__", lambda call: None)
    raise interp.undecided(f"super().{name} is not modelled", node)


# What nn.Module, Sequential, ModuleList and ModuleDict have (PyTorch 2.x): a name of
# these that hw3 does not model is exit 3; any other missing attribute is PyTorch's
# AttributeError (exit 2).
MODULE_ATTRIBUTES = frozenset(
    (  # noqa: SIM905
        "T_destination _apply _buffers _call_impl _compiled_call_impl "
        "_get_abs_string_index _get_backward_hooks _get_backward_pre_hooks "
        "_get_item_by_idx _get_name _load_from_state_dict "
        "_maybe_warn_non_full_backward_hook _modules _named_members _parameters "
        "_register_load_state_dict_pre_hook _register_state_dict_hook "
        "_replicate_for_data_parallel _save_to_state_dict _slow_forward _version "
        "_wrapped_call_impl add_module append apply bfloat16 buffers call_super_init "
        "children clear compile cpu cuda double dump_patches eval extend extra_repr float "
        "forward get_buffer get_extra_state get_parameter get_submodule half insert ipu "
        "items keys load_state_dict modules mtia named_buffers named_children "
        "named_modules named_parameters parameters pop register_backward_hook "
        "register_buffer register_forward_hook register_forward_pre_hook "
        "register_full_backward_hook register_full_backward_pre_hook "
        "register_load_state_dict_post_hook register_load_state_dict_pre_hook "
        "register_module register_parameter register_state_dict_post_hook "
        "register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule "
        "share_memory state_dict to to_empty train training type update values xpu "
        "zero_grad "
    ).split()
)


def module_attribute(interp: Interpreter, m: Module, name: str, node: ast.AST) -> Any:
    if name in m.attrs:
        return m.attrs[name]
    if name in m.modules:
        return m.modules[name]
    if name == "training":
        return interp.training
    if m.cls is not None:
        found, value, owner = m.cls.lookup(name)
        if found:
            return _bind(interp, value, m, owner, node)
    if name == "__class__":
        return m.cls if m.cls is not None else TORCH.get(f"torch.nn.{m.base}")
    method = _MODULE_METHODS.get(name)
    if method is not None:
        return Builtin(f"Module.{name}", lambda call: method(interp, m, call))
    if m.base in KINDS:
        return _layer_attribute(interp, m, name, node)
    hint = None
    if (
        m.cls is not None
        and name not in MODULE_ATTRIBUTES
        and all(
            isinstance(c, UserClass) or (isinstance(c, Builtin) and c.name in CONTAINERS)
            for c in m.cls.mro()
        )
    ):
        raise interp.model_error(
            f"AttributeError: '{m.kind}' object has no attribute '{name}'", node
        )
    raise interp.undecided(f"the attribute .{name} of {m.kind} is not modelled", node, hint)


def _layer_attribute(interp: Interpreter, m: Module, name: str, node: ast.AST) -> Any:
    family = _kind_family(m.base)
    values = m.kwargs
    n = _dims(m.base)
    conv = family in ("Conv", "ConvTranspose")
    if name in ("kernel_size", "stride", "padding", "dilation", "output_padding") and (
        conv or family in ("MaxPool", "AvgPool")
    ):
        default = (
            values.get("kernel_size") if name == "stride" and not conv else _DEFAULTS.get(name, 0)
        )
        v = values.get(name, default)
        if v is None:
            v = values.get("kernel_size")
        return (
            tuple(v)
            if isinstance(v, (tuple, list))
            else v
            if isinstance(v, str) or not conv
            else (v,) * n
        )
    if name in values:
        return values[name]
    if name in ("weight", "bias"):
        has_bias = (
            values.get("bias", True)
            if conv or family == "Linear"
            else values.get("affine", values.get("elementwise_affine", True))
        )
        if name == "bias" and not has_bias:
            return None
        if not m.own_params:
            return None
        return Tensor((m.own_params,), param=True)
    if name in _DEFAULTS:
        return _DEFAULTS[name]
    raise interp.undecided(f"the attribute .{name} of nn.{m.base} is not modelled", node)


def _modules(interp: Interpreter, m: Module, call: Call) -> Any:
    return [module for _, module in walk(m)]


def _named_modules(interp: Interpreter, m: Module, call: Call) -> Any:
    return [(path, module) for path, module in walk(m)]


def _parameters(interp: Interpreter, m: Module, call: Call) -> Any:
    return [Tensor((module.own_params,), param=True) for _, module in walk(m) if module.own_params]


def _add_module(interp: Interpreter, m: Module, call: Call) -> Any:
    _register(interp, m, str(call.get(0, "name")), call.get(1, "module"), call.node)
    return None


def _append(interp: Interpreter, m: Module, call: Call) -> Any:
    _register(interp, m, str(len(m.modules)), call.get(0, "module"), call.node)
    return m


def _extend(interp: Interpreter, m: Module, call: Call) -> Any:
    for module in interp.iterate(call.get(0, "modules"), call.node):
        _register(interp, m, str(len(m.modules)), module, call.node)
    return m


def _apply(interp: Interpreter, m: Module, call: Call) -> Any:
    fn = call.get(0, "fn")
    for _, module in reversed(walk(m)):
        interp.call(fn, [module], {}, call.node)
    return m


def _register_parameter(interp: Interpreter, m: Module, call: Call) -> Any:
    set_attribute(interp, m, str(call.get(0, "name")), call.get(1, "param"), call.node)
    return None


def _register_buffer(interp: Interpreter, m: Module, call: Call) -> Any:
    m.attrs[str(call.get(0, "name"))] = call.get(1, "tensor")
    return None


_MODULE_METHODS: dict[str, Callable[[Interpreter, Module, Call], Any]] = {
    "modules": _modules,
    "named_modules": _named_modules,
    "children": lambda interp, m, call: list(m.modules.values()),
    "named_children": lambda interp, m, call: list(m.modules.items()),
    "parameters": _parameters,
    "add_module": _add_module,
    "register_module": _add_module,
    "append": _append,
    "extend": _extend,
    "apply": _apply,
    "register_parameter": _register_parameter,
    "register_buffer": _register_buffer,
    "items": lambda interp, m, call: list(m.modules.items()),
    "keys": lambda interp, m, call: list(m.modules.keys()),
    "values": lambda interp, m, call: list(m.modules.values()),
    **{
        name: (lambda interp, m, call: m)
        for name in (
            "train",
            "eval",
            "to",
            "cuda",
            "cpu",
            "float",
            "double",
            "half",
            "requires_grad_",
            "zero_grad",
        )
    },
    "forward": lambda interp, m, call: builtin_forward(
        interp, m, call.args, call.kwargs, call.node
    ),
}


def set_attribute(interp: Interpreter, obj: Any, name: str, value: Any, node: ast.AST) -> None:
    if isinstance(obj, Module) and isinstance(value, Opaque) and not name.startswith("_"):
        raise interp.undecided(
            f"{obj.kind}.{name} is {value.cause}: hw3 cannot tell whether it is a module, "
            "nor count its parameters",
            node,
        )
    if isinstance(obj, Module):
        if isinstance(value, Module):
            _register(interp, obj, name, value, node)
            return
        old = obj.attrs.get(name)
        if isinstance(old, Tensor) and old.param:
            obj.own_params -= old.numel()
        if isinstance(value, Tensor) and value.param:
            obj.own_params += value.numel()
        obj.modules.pop(name, None)
        obj.attrs[name] = value
    elif isinstance(obj, Instance):
        obj.attrs[name] = value
    elif isinstance(obj, Tensor) and name in ("requires_grad", "data"):
        return
    else:
        raise interp.undecided(f"setting .{name} on {obj!r} is not modelled", node)


def get_item(interp: Interpreter, value: Any, key: Any, node: ast.AST) -> Any:
    if isinstance(value, Tensor):
        keys = key if isinstance(key, tuple) else (key,)
        for k in keys:
            if not (
                k is None
                or k is Ellipsis
                or (isinstance(k, (int, slice)) and not isinstance(k, bool))
            ):
                raise interp.undecided(f"indexing a tensor with {k!r} is not modelled", node)
        try:
            out = Tensor(ops.index(value.shape, keys))
        except ops.ShapeError as e:
            raise interp.model_error(e.message, node) from None
        record(interp, "Tensor[]", out, node, inputs=[value])
        return out
    if isinstance(value, Module):
        items = list(value.modules.items())
        if value.base == "ModuleDict" or isinstance(key, str):
            if key not in value.modules:
                raise interp.model_error(f"KeyError: {key!r}", node)
            return value.modules[key]
        if isinstance(key, slice):
            copy = Module(value.kind, value.base, value.line, cls=value.cls)
            for i, (k, v) in enumerate(items[key]):
                copy.modules[k if value.base == "Sequential" else str(i)] = v
            return copy
        if isinstance(key, int) and not isinstance(key, bool):
            if not -len(items) <= key < len(items):
                raise interp.model_error(f"IndexError: index {key} is out of range", node)
            return items[key][1]
    if isinstance(value, Opaque):
        return Opaque(f"{value.what}[...]", value.where, value.root or value.what)
    if isinstance(value, Builtin) and value.name.startswith("typing"):
        return value
    if isinstance(value, (list, tuple, str, dict)):
        if isinstance(value, dict):
            try:
                hash(key)
            except TypeError:
                raise interp.undecided(f"a dict key {key!r}", node) from None
        try:
            return value[key]
        except (IndexError, KeyError) as e:
            raise interp.model_error(f"{type(e).__name__}: {e}", node) from None
        except TypeError as e:
            raise interp.undecided(f"indexing: {e}", node) from None
    raise interp.undecided(f"indexing {value!r} is not modelled", node)


def iterate(interp: Interpreter, value: Any, node: ast.AST) -> list[Any]:
    if isinstance(value, (list, tuple, str, set)):
        return list(value)
    if isinstance(value, dict):
        return list(value.keys())
    if isinstance(value, range):
        interp.bound_size(len(value), node)
        return list(value)
    if isinstance(value, Module):
        if value.base == "ModuleDict":
            return list(value.modules.keys())
        return list(value.modules.values())
    if isinstance(value, Tensor):
        if not value.shape:
            raise interp.model_error("iteration over a 0-d tensor", node)
        interp.bound_size(value.shape[0], node)
        return [Tensor(value.shape[1:]) for _ in range(value.shape[0])]
    raise interp.undecided(f"iterating over {value!r} is not modelled", node)


# --- imports ----------------------------------------------------------------------------------

_STDLIB = {
    "math",
    "functools",
    "collections",
    "typing",
    "warnings",
    "copy",
    "itertools",
    "operator",
    "numbers",
    "dataclasses",
    "enum",
    "abc",
    "collections.abc",
    "typing_extensions",
    "__future__",
}


def import_module(name: str, interp: Interpreter, node: ast.AST) -> Any:
    if (
        name in TORCH_PACKAGES
        or name in _STDLIB
        or name == "torchvision"
        or name.startswith("torch.")
    ):
        return Namespace(name)
    return Opaque(f"the module {name}, which hw3 does not read", interp.at(node))


def import_name(module: str, name: str, interp: Interpreter, node: ast.AST) -> Any:
    if module.startswith(".") or module.startswith("torchvision"):
        from hw3cli.source.helpers import helper

        found = helper(interp, name)
        if found is not None:
            return found
        return Opaque(f"{name} (imported from {module}, another file)", interp.at(node))
    if module in TORCH_PACKAGES or module in _STDLIB or module.startswith("torch"):
        return namespace_attribute(interp, Namespace(module), name, node)
    return Opaque(f"{name} (imported from {module}, which hw3 does not read)", interp.at(node))


def namespace_attribute(interp: Interpreter, ns: Namespace, name: str, node: ast.AST) -> Any:
    qualified = f"{ns.name}.{name}"
    qualified = qualified.replace("torch.nn.modules.", "torch.nn.").replace(
        "torch.functional.", "torch."
    )
    for prefix in (
        "torch.nn.conv.",
        "torch.nn.linear.",
        "torch.nn.batchnorm.",
        "torch.nn.container.",
        "torch.nn.module.",
        "torch.nn.pooling.",
        "torch.nn.activation.",
    ):
        qualified = qualified.replace(prefix, "torch.nn.")
    if qualified in TORCH:
        return TORCH[qualified]
    if qualified in TORCH_PACKAGES:
        return Namespace(qualified)
    if ns.name == "torch.nn.init":
        return Builtin("nn.init." + name, _noop_tensor)
    if ns.name in _STDLIB:
        return STDLIB.get(qualified) or Opaque(
            f"{qualified}, which hw3 does not model", interp.at(node)
        )
    return Builtin(
        qualified, lambda call: _undecided_call(call, qualified), is_class=name[:1].isupper()
    )


# --- Python's built-ins and the standard library -----------------------------------------------

_EXCEPTIONS = [
    "Exception",
    "ValueError",
    "TypeError",
    "RuntimeError",
    "NotImplementedError",
    "KeyError",
    "IndexError",
    "AssertionError",
    "AttributeError",
    "ImportError",
    "ZeroDivisionError",
    "StopIteration",
    "Warning",
    "UserWarning",
    "FutureWarning",
    "DeprecationWarning",
]


def _exception(name: str) -> Builtin:
    return Builtin(name, lambda call: Exc(name, " ".join(str(a) for a in call.args)), is_class=True)


def _super(call: Call) -> Super:
    interp = call.interp
    if len(call.args) == 2:
        return Super(call.args[0], call.args[1])
    frame = interp.frames[-1]
    if frame.function is None or frame.function.owner is None:
        raise interp.undecided("super() outside a method is not modelled", call.node)
    return Super(frame.function.owner, frame.first)


def _isinstance(call: Call) -> bool:
    value, kinds = call.get(0, "obj"), call.get(1, "class_or_tuple")
    candidates = kinds if isinstance(kinds, tuple) else (kinds,)
    return any(_is_instance(call, value, k) for k in candidates)


_PY_TYPES: dict[str, Any] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "set": set,
}


def _is_instance(call: Call, value: Any, kind: Any) -> bool:
    if isinstance(value, Opaque):
        raise call.interp.undecided(f"isinstance of {value.cause}", call.node)
    if isinstance(kind, UserClass):
        cls = value.cls if isinstance(value, (Module, Instance)) else None
        return cls is not None and kind in cls.mro()
    if not isinstance(kind, Builtin):
        raise call.interp.undecided(f"isinstance with {kind!r} is not modelled", call.node)
    name = kind.name.rsplit(".", 1)[-1]
    if name in _PY_TYPES:
        return isinstance(value, _PY_TYPES[name]) and not (
            name == "int" and isinstance(value, bool)
        )
    if name == "Tensor":
        return isinstance(value, Tensor)
    if name in ("Sequence", "Iterable"):
        return isinstance(value, (list, tuple, str))
    if isinstance(value, Module):
        return name in ("Module", value.base)
    return False


def _range(call: Call) -> range:
    args = call.args
    if not all(isinstance(a, int) for a in args):
        raise call.interp.undecided(f"range of {args!r}", call.node)
    r = range(*args)
    call.interp.bound_size(len(r), call.node)
    return r


def _number_of(kind: type) -> Callable[[Call], Any]:
    def fn(call: Call) -> Any:
        value = call.get(0, "x", 0)
        if isinstance(value, Opaque):
            return Opaque(f"{kind.__name__}({value.what})", value.where)
        if not _plain(value) or isinstance(value, (list, tuple)):
            raise call.interp.undecided(f"{kind.__name__}({value!r})", call.node)
        try:
            return kind(value)
        except (ValueError, TypeError, OverflowError) as e:
            raise call.interp.model_error(f"{type(e).__name__}: {e}", call.node) from None

    return fn


def _collection(kind: type) -> Callable[[Call], Any]:
    def fn(call: Call) -> Any:
        if not call.args:
            return kind(**call.kwargs) if kind is dict else kind()
        items = (
            call.interp.iterate(call.args[0], call.node)
            if not isinstance(call.args[0], dict)
            else call.args[0]
        )
        if kind is dict:
            if isinstance(items, dict):
                return {**items, **call.kwargs}
            return {
                call.interp.hashable(k, call.node): v for k, v in (tuple(p) for p in items)
            } | call.kwargs
        return kind(items)

    return fn


def _reducer(fn: Callable[..., Any], name: str) -> Callable[[Call], Any]:
    def run(call: Call) -> Any:
        values = call.args if len(call.args) > 1 else call.interp.iterate(call.args[0], call.node)
        if "key" in call.kwargs or not all(_plain(v) for v in values):
            if (
                name == "sum"
                and values
                and all(isinstance(v, (Tensor, int, float)) for v in values)
            ):
                total: Any = call.args[1] if len(call.args) > 1 else 0
                for v in values:
                    total = call.interp.binop(ast.Add(), total, v, call.node)
                return total
            raise call.interp.undecided(f"{name} of {values!r} is not modelled", call.node)
        try:
            return (
                fn(values)
                if name != "sum"
                else sum(values, call.args[1] if len(call.args) > 1 else 0)
            )
        except (ValueError, TypeError) as e:
            raise call.interp.model_error(f"{type(e).__name__}: {e}", call.node) from None

    return run


def _getattr(call: Call) -> Any:
    obj, name = call.get(0, "obj"), call.get(1, "name")
    if not isinstance(name, str):
        raise call.interp.undecided("getattr with a name hw3 cannot know", call.node)
    if len(call.args) > 2:
        try:
            return call.interp.getattr(obj, name, call.node)
        except InputError:
            return call.args[2]
    return call.interp.getattr(obj, name, call.node)


def _hasattr(call: Call) -> bool:
    try:
        call.interp.getattr(call.get(0, "obj"), call.get(1, "name"), call.node)
    except Undecided:
        raise
    except InputError:
        return False
    return True


def _setattr(call: Call) -> None:
    name = call.get(1, "name")
    if not isinstance(name, str):
        raise call.interp.undecided("setattr with a name hw3 cannot know", call.node)
    call.interp.setattr(call.get(0, "obj"), name, call.get(2, "value"), call.node)


def _zip(call: Call) -> list[tuple[Any, ...]]:
    return list(zip(*(call.interp.iterate(a, call.node) for a in call.args), strict=False))


def _enumerate(call: Call) -> list[tuple[int, Any]]:
    return list(
        enumerate(call.interp.iterate(call.get(0, "iterable"), call.node), call.get(1, "start", 0))
    )


def _map(call: Call) -> list[Any]:
    fn = call.args[0]
    rows = zip(*(call.interp.iterate(a, call.node) for a in call.args[1:]), strict=False)
    return [call.interp.call(fn, list(row), {}, call.node) for row in rows]


def _len(call: Call) -> int:
    value = call.get(0, "obj")
    if isinstance(value, Module):
        return len(value.modules)
    if isinstance(value, Tensor):
        return value.shape[0]
    if isinstance(value, (list, tuple, dict, str, set, range)):
        return len(value)
    raise call.interp.undecided(f"len of {value!r}", call.node)


def _partial(call: Call) -> Partial:
    return Partial(call.args[0], tuple(call.args[1:]), dict(call.kwargs))


def _namedtuple(call: Call) -> Builtin:
    fields = call.get(1, "field_names")
    names = fields.replace(",", " ").split() if isinstance(fields, str) else list(fields)

    def make(inner: Call) -> tuple[Any, ...]:
        values = list(inner.args) + [
            inner.kwargs[n] for n in names[len(inner.args) :] if n in inner.kwargs
        ]
        return tuple(values)

    return Builtin(str(call.get(0, "typename")), make, is_class=True)


def _deepcopy(call: Call) -> Any:
    value = call.get(0, "x")
    if isinstance(value, Module):
        return _copy_module(value)
    if _plain(value):
        return value
    raise call.interp.undecided(f"copy.deepcopy of {value!r} is not modelled", call.node)


def _copy(call: Call) -> Any:
    """copy.copy: a shallow copy of a list, dict or object of the file."""
    value = call.get(0, "x")
    if isinstance(value, Instance):
        return Instance(value.cls, dict(value.attrs))
    if isinstance(value, (list, dict)):
        return type(value)(value)
    if _plain(value):
        return value
    raise call.interp.undecided(f"copy.copy of {value!r} is not modelled", call.node)


def _copy_module(m: Module) -> Module:
    copy = Module(
        m.kind,
        m.base,
        m.line,
        m.cls,
        m.args,
        dict(m.kwargs),
        {},
        dict(m.attrs),
        m.own_params,
        m.source,
    )
    copy.modules = {k: _copy_module(v) for k, v in m.modules.items()}
    return copy


def _noop(call: Call) -> None:
    return None


def _sorted(call: Call) -> list[Any]:
    values = call.interp.iterate(call.get(0, "iterable"), call.node)
    if call.kwargs.get("key") is not None or not all(_plain(v) for v in values):
        raise call.interp.undecided("sorted with a key or of values hw3 cannot compare", call.node)
    return sorted(values, reverse=bool(call.kwargs.get("reverse", False)))


def _round(call: Call) -> Any:
    value = call.get(0, "number")
    if not isinstance(value, (int, float)):
        raise call.interp.undecided(f"round({value!r})", call.node)
    digits = call.get(1, "ndigits", None)
    return round(value) if digits is None else round(value, digits)


def _math(fn: Callable[..., Any], name: str) -> Builtin:
    def run(call: Call) -> Any:
        if not all(isinstance(a, (int, float)) for a in call.args):
            if any(isinstance(a, Opaque) for a in call.args):
                return Opaque(f"math.{name}(...)", call.interp.at(call.node))
            raise call.interp.undecided(f"math.{name} of {call.args!r}", call.node)
        try:
            return fn(*call.args)
        except (ValueError, OverflowError) as e:
            raise call.interp.model_error(f"math.{name}: {e}", call.node) from None

    return Builtin(f"math.{name}", run)


BUILTINS: dict[str, Any] = {
    "len": Builtin("len", _len),
    "range": Builtin("range", _range),
    "int": Builtin("int", _number_of(int), is_class=True),
    "float": Builtin("float", _number_of(float), is_class=True),
    "bool": Builtin(
        "bool", lambda call: call.interp.truth(call.get(0, "x", False), call.node), is_class=True
    ),
    "str": Builtin(
        "str",
        lambda call: (
            str(call.get(0, "object", ""))
            if _plain(call.get(0, "object", ""))
            else _undecided_call(call, "str() of a value")
        ),
        is_class=True,
    ),
    "list": Builtin("list", _collection(list), is_class=True),
    "tuple": Builtin("tuple", _collection(tuple), is_class=True),
    "dict": Builtin("dict", _collection(dict), is_class=True),
    "set": Builtin("set", _collection(set), is_class=True),
    "zip": Builtin("zip", _zip),
    "enumerate": Builtin("enumerate", _enumerate),
    "map": Builtin("map", _map),
    "reversed": Builtin(
        "reversed", lambda call: list(reversed(call.interp.iterate(call.get(0, "seq"), call.node)))
    ),
    "sorted": Builtin("sorted", _sorted),
    "min": Builtin("min", _reducer(min, "min")),
    "max": Builtin("max", _reducer(max, "max")),
    "sum": Builtin("sum", _reducer(sum, "sum")),
    "any": Builtin(
        "any",
        lambda call: any(
            call.interp.truth(v, call.node) for v in call.interp.iterate(call.args[0], call.node)
        ),
    ),
    "all": Builtin(
        "all",
        lambda call: all(
            call.interp.truth(v, call.node) for v in call.interp.iterate(call.args[0], call.node)
        ),
    ),
    "abs": Builtin(
        "abs",
        lambda call: (
            abs(call.args[0])
            if isinstance(call.args[0], (int, float))
            else _undecided_call(call, "abs")
        ),
    ),
    "round": Builtin("round", _round),
    "divmod": Builtin(
        "divmod",
        lambda call: (
            divmod(call.args[0], call.args[1])
            if all(isinstance(a, int) and a for a in call.args)
            else _undecided_call(call, "divmod")
        ),
    ),
    "isinstance": Builtin("isinstance", _isinstance),
    "getattr": Builtin("getattr", _getattr),
    "hasattr": Builtin("hasattr", _hasattr),
    "setattr": Builtin("setattr", _setattr),
    "callable": Builtin(
        "callable",
        lambda call: isinstance(
            call.args[0], (Function, Bound, Builtin, Partial, UserClass, Module)
        ),
    ),
    "print": Builtin("print", _noop),
    "super": Builtin("super", _super),
    "staticmethod": Builtin("staticmethod", lambda call: call.args[0]),
    "classmethod": Builtin("classmethod", lambda call: call.args[0]),
    "property": Builtin("property", lambda call: call.args[0]),
    "object": Builtin("object", lambda call: None, is_class=True),
    "None": None,
    "True": True,
    "False": False,
    **{name: _exception(name) for name in _EXCEPTIONS},
}

STDLIB: dict[str, Any] = {
    "functools.partial": Builtin("functools.partial", _partial),
    "functools.wraps": Builtin("identity decorator", _identity_decorator),
    "collections.OrderedDict": Builtin("OrderedDict", _collection(dict), is_class=True),
    "collections.namedtuple": Builtin("namedtuple", _namedtuple),
    "copy.deepcopy": Builtin("copy.deepcopy", _deepcopy),
    "copy.copy": Builtin("copy.copy", _copy),
    "warnings.warn": Builtin("warnings.warn", _noop),
    "typing.cast": Builtin("typing.cast", lambda call: call.args[1]),
    "typing.TYPE_CHECKING": False,
    "typing.NamedTuple": Builtin("tuple", lambda call: None, is_class=True),
    "collections.abc.Sequence": Builtin("Sequence", lambda call: None, is_class=True),
    "typing.Sequence": Builtin("Sequence", lambda call: None, is_class=True),
    "enum.Enum": Builtin("Enum", lambda call: None, is_class=True),
    "dataclasses.dataclass": Builtin(
        "dataclass", lambda call: call.args[0] if call.args else IDENTITY
    ),
    "math.pi": math.pi,
    "math.e": math.e,
    "math.inf": math.inf,
    **{
        f"math.{n}": _math(getattr(math, n), n)
        for n in (
            "ceil",
            "floor",
            "sqrt",
            "log",
            "log2",
            "log10",
            "exp",
            "gcd",
            "prod",
            "isclose",
            "cos",
            "sin",
        )
    },
}
for _name in (
    "Any",
    "Callable",
    "Dict",
    "List",
    "Optional",
    "Tuple",
    "Type",
    "Union",
    "Iterable",
    "Iterator",
    "Mapping",
    "TypeVar",
    "Literal",
    "Set",
    "Final",
    "ClassVar",
    "overload",
):
    STDLIB[f"typing.{_name}"] = Builtin(
        f"typing.{_name}", lambda call: call.args[0] if call.args else None, is_class=True
    )


def builtin(name: str) -> tuple[bool, Any]:
    if name in BUILTINS:
        return True, BUILTINS[name]
    return False, None
