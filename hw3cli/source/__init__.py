"""Models from their Python source, read and never run.

``read_model(path, spec)`` parses the file with `ast`, interprets its module level and the
SPEC (a class, a constructor or builder call, or a variable) with
`hw3cli.source.interpreter`, and returns the model as a tree of modules;
``run_forward(model, shape)`` runs its forward on a tensor that is only its shape. Every
layer's shape, parameter and MAC rule is `hw3cli.core.model.KINDS`'s, the one printed
models use. What hw3 does not model is `hw3cli.errors.Undecided` (exit 3) naming the
construct and its FILE:LINE; a model that PyTorch would refuse is an InputError (exit 2)
at the failing line, in PyTorch's words, with the fix.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from typing import Any

from hw3cli.errors import InputError, Undecided

MAX_BYTES = 1_000_000


@dataclass
class Built:
    """A model built from its source: the root module and what reading it noted."""

    root: Any  # values.Module
    interp: Any  # interpreter.Interpreter
    spec: str


@dataclass
class Forward:
    """What forward did on one input shape."""

    input: tuple[int, ...]
    output: Any  # a shape, or a list of shapes
    steps: list[dict[str, Any]]
    containers: list[tuple[str, str, int]]
    params: int
    macs: int
    warnings: list[str]


def split_net(text: str) -> tuple[str, str | None]:
    """``model.py:Net(3)`` -> (``model.py``, ``Net(3)``); a path alone has no SPEC."""
    head, sep, rest = text.partition(".py:")
    if sep:
        return head + ".py", rest.strip() or None
    return text, None


def is_source(text: str) -> bool:
    path, _ = split_net(text)
    return path.endswith(".py")


def read_model(path: str, spec: str | None, training: bool = True) -> Built:
    from hw3cli.source.interpreter import Interpreter, ModelRaised

    display = path  # as the user gave it: FILE:LINE in messages opens in an editor
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise InputError(f"cannot read it: {e.strerror}", where=path) from None
    if size > MAX_BYTES:
        raise Undecided(
            f"the file has {size:,} bytes; hw3 reads model files up to {MAX_BYTES:,}", where=path
        )
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read it as UTF-8 text: {e}", where=path) from None
    try:
        tree = ast.parse(source, filename=display)
    except SyntaxError as e:
        raise InputError(f"not valid Python: {e.msg}", where=f"{display}:{e.lineno}") from None
    except (RecursionError, MemoryError, ValueError):
        raise Undecided("the file nests too deeply for hw3 to read", where=display) from None
    interp = Interpreter(source, tree, display, training)
    try:
        interp.run_module()
        root, spelled = _build(interp, tree, spec)
    except ModelRaised as e:
        raise _raised(interp, e) from None
    except RecursionError:
        raise Undecided("the model's code nests too deeply", where=display) from None
    from hw3cli.source.values import walk

    for dotted, module in walk(root):
        module.path = dotted
    return Built(root, interp, spelled)


def _raised(interp: Any, e: Any) -> InputError:
    return InputError(
        f"the model's code raises {e.exc.kind}: {e.exc.message}",
        where=interp.at(e.line),
    )


def _build(interp: Any, tree: ast.Module, spec: str | None) -> tuple[Any, str]:
    from hw3cli.source.values import Module, Opaque, UserClass

    scope = interp.globals
    if spec is None:
        spec = _the_one_model(interp, tree)
    try:
        expr = ast.parse(spec, mode="eval").body
    except SyntaxError:
        raise InputError(
            f"SPEC {spec!r} is not a class name, a call or a variable",
            where="--net",
            hint="e.g. model.py:Net, 'model.py:ResNet(Bottleneck, [3, 4, 6, 3])', model.py:vgg16()",
        ) from None
    from hw3cli.source.interpreter import Origin

    interp.override = Origin("--net SPEC", spec)  # the SPEC's own text, for messages
    try:
        value = interp.eval(expr, scope)
        if isinstance(value, UserClass) or (
            not isinstance(value, Module) and callable_value(value)
        ):
            value = interp.call(value, [], {}, expr)
    finally:
        interp.override = None
    if isinstance(value, Opaque):
        raise Undecided(value.cause, where=value.where or "--net")
    if not isinstance(value, Module):
        raise InputError(f"SPEC {spec!r} gives {value!r}, not a model", where="--net")
    return value, spec


def callable_value(value: Any) -> bool:
    from hw3cli.source.values import Bound, Builtin, Function, Partial

    return isinstance(value, (Function, Bound, Partial)) or (
        isinstance(value, Builtin) and value.is_class
    )


def _the_one_model(interp: Any, tree: ast.Module) -> str:
    """The one module class of the file that nothing else in it uses."""
    from hw3cli.source.values import UserClass

    classes = [
        name
        for name, value in interp.globals.vars.items()
        if isinstance(value, UserClass) and _is_module_class(value)
    ]
    used: set[str] = set()
    for definition in tree.body:  # what models and builders use; scripts and tests do not count
        if isinstance(definition, ast.ClassDef) or (
            isinstance(definition, ast.FunctionDef) and not definition.name.startswith(_SCRIPTS)
        ):
            for node in ast.walk(definition):
                if (
                    isinstance(node, ast.Name)
                    and isinstance(node.ctx, ast.Load)
                    and node.id != definition.name  # super(Net, self) inside Net
                ):
                    used.add(node.id)
    unused = [c for c in classes if c not in used]
    if len(unused) == 1:
        return str(unused[0])
    if not classes:
        raise InputError(
            "defines no nn.Module class", where=interp.file, hint="name one: FILE.py:SPEC"
        )
    listed = ", ".join(unused or classes)
    raise InputError(
        f"has several models ({listed}); say which",
        where=interp.file,
        hint=f"e.g. --net {interp.file}:{(unused or classes)[0]}",
    )


_SCRIPTS = ("test", "main", "train", "eval", "demo", "run")


def _is_module_class(cls: Any) -> bool:
    from hw3cli.source.table import CONTAINERS
    from hw3cli.source.values import Builtin

    base = cls.builtin_base()
    return isinstance(base, Builtin) and base.name in CONTAINERS


def run_forward(built: Built, shape: tuple[int, ...]) -> Forward:
    """forward(x) for x of the full shape ``shape``; a failure keeps what ran before it
    (``built.interp.recorder``)."""
    from hw3cli.source.interpreter import ModelRaised, Recorder
    from hw3cli.source.table import call_module
    from hw3cli.source.values import Tensor, walk

    interp = built.interp
    root = built.root
    rec = Recorder()
    interp.recorder = rec
    node = ast.parse("model(x)", mode="eval").body
    node.lineno = root.line
    _check_forward_inputs(interp, root)
    x = Tensor(shape)
    rec.made_by(x, -1)
    try:
        out = call_module(interp, root, [x], {}, node)
    except ModelRaised as e:
        raise _raised(interp, e) from None
    except RecursionError:
        raise Undecided("forward nests too deeply", where=interp.file) from None
    params = sum(m.own_params for _, m in walk(root))
    macs = sum(s.get("macs", 0) for s in rec.steps)
    return Forward(
        shape, _shapes(interp, out), rec.steps, rec.containers, params, macs, interp.warnings
    )


def _check_forward_inputs(interp: Any, root: Any) -> None:
    if root.cls is None:
        return
    found, forward, _ = root.cls.lookup("forward")
    if not found or not hasattr(forward, "node"):
        return
    a = forward.node.args
    required = len(a.posonlyargs) + len(a.args) - len(a.defaults) - 1
    if required > 1:
        raise Undecided(
            f"{root.kind}.forward takes {required} inputs; hw3 gives it one tensor",
            where=interp.at(forward.node),
        )


def _shapes(interp: Any, out: Any) -> Any:
    from hw3cli.source.values import Tensor

    if isinstance(out, Tensor):
        return out.shape
    if isinstance(out, (tuple, list)) and out and all(isinstance(t, Tensor) for t in out):
        return [t.shape for t in out]
    raise Undecided(
        f"forward returns {out!r}, not a tensor or a tuple of tensors", where=interp.file
    )
