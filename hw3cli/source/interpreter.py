"""A small interpreter of the Python that model code uses, on values that carry shapes.

In the manner of pyflakes' checker: one handler per node type (``stmt_If``,
``expr_Call``), scopes as plain objects, and every report by line. Nothing of the file is
imported, executed or evaluated by Python: each node is read here, and the only functions
a call can reach are the file's own (interpreted again) and the modelled ones of
`hw3cli.source.table`. The work is bounded (steps, call depth, time), and anything not
modelled is `Undecided` (exit 3) naming the construct and its line.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hw3cli.errors import InputError, Undecided
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
)

MAX_STEPS = 3_000_000
MAX_DEPTH = 60
MAX_SECONDS = 1.2  # (with start-up, exit 3 comes within 2 s)
MAX_ITEMS = 100_000  # the longest list, string or range a model's code may build
MAX_INT_BITS = 256
NO_DEFAULT: Any = object()  # a keyword-only argument without a default


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class ModelRaised(Exception):
    """The model's own code raised an exception (``raise ValueError(...)``)."""

    def __init__(self, exc: Exc, line: int) -> None:
        self.exc = exc
        self.line = line
        super().__init__(exc.message)


@dataclass(frozen=True)
class Origin:
    """A file the interpreter reads: its name in messages and its text."""

    file: str
    source: str


class Scope:
    """A function's, class body's or the module's names."""

    def __init__(
        self, parent: Scope | None, is_class: bool = False, origin: Origin | None = None
    ) -> None:
        self.origin = origin  # the file of a module's scope
        self.vars: dict[str, Any] = {}
        self.parent = parent
        self.is_class = is_class
        self.globals_: set[str] = set()
        self.nonlocals: set[str] = set()

    @property
    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope


@dataclass(eq=False)
class Super:
    owner: UserClass
    obj: Any


@dataclass
class Call:
    """One call of a modelled function: its arguments and where it is."""

    interp: Interpreter
    args: list[Any]
    kwargs: dict[str, Any]
    node: ast.AST
    receiver: Any = None

    def get(self, index: int, name: str, default: Any = ...) -> Any:
        if index < len(self.args):
            return self.args[index]
        if name in self.kwargs:
            return self.kwargs[name]
        if default is ...:
            raise self.interp.undecided(f"{name} is missing in this call", self.node)
        return default

    def tensor(self, index: int, name: str) -> Tensor:
        value = self.get(index, name)
        if not isinstance(value, Tensor):
            raise self.interp.undecided(f"{name} is not a tensor hw3 knows ({value!r})", self.node)
        return value


@dataclass
class Frame:
    function: Function | None
    first: Any  # the first argument (self) for super()
    call: ast.AST | None = None  # where it was called
    caller: Origin | None = None  # in which file


@dataclass
class Recorder:
    """What forward did: module calls and functional steps, in order."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    containers: list[tuple[str, str, int]] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    made: dict[int, int] = field(default_factory=dict)  # id(tensor) -> the step making it
    held: list[Any] = field(default_factory=list)  # those tensors, alive so ids stay unique

    def add(self, step: dict[str, Any], inputs: list[Any], out: Any) -> None:
        """A step, with private keys for counting and memory: ``_from``, the steps whose
        outputs it reads (-1: the model's input), and ``_in``, its first input's shape."""
        step["_from"] = [self.made.get(id(t), len(self.steps) - 1) for t in inputs]
        if inputs:
            step["_in"] = list(inputs[0].shape)
        self.steps.append(step)
        self.made_by(out, len(self.steps) - 1)

    def made_by(self, out: Any, index: int) -> None:
        for t in out if isinstance(out, (list, tuple)) else [out]:
            self.made[id(t)] = index
            self.held.append(t)


def _target_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for e in node.elts for n in _target_names(e)]
    if isinstance(node, ast.Starred):
        return _target_names(node.value)
    return []


def bound_names(stmt: ast.stmt) -> list[str]:
    """The names a top-level statement binds (poisoned when it cannot be run)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, ast.Assign):
        return [n for t in stmt.targets for n in _target_names(t)]
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        return _target_names(stmt.target)
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in stmt.names]
    return []


class Interpreter:
    """Runs one file's module level, then builds and runs what the command asks for."""

    def __init__(self, source: str, tree: ast.Module, filename: str, training: bool) -> None:
        from hw3cli.source import table

        self.source = source
        self.tree = tree
        self.file = filename
        self.training = training
        self.whole_batch = False  # --min-input: a view that changes the batch axis fails
        self.table = table
        self.steps = 0
        self.depth = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        self.frames: list[Frame] = [Frame(None, None)]
        self.recorder: Recorder | None = None
        self.warnings: list[str] = []
        self.globals = Scope(None, origin=Origin(filename, source))
        self.override: Origin | None = None  # the SPEC's own text, while it is read
        self._lines: dict[int, list[bytes]] = {}
        self.globals.vars["__name__"] = "__hw3_model__"
        self.line = 1

    # --- places and refusals ------------------------------------------------------------

    def origin(self) -> Origin:
        """The file whose code runs now (a helper of hw3's runs in its own)."""
        for frame in reversed(self.frames):
            if frame.function is not None:
                found: Origin | None = frame.function.scope.module.origin
                return found or Origin(self.file, self.source)
        if self.override is not None:
            return self.override
        return self.globals.origin or Origin(self.file, self.source)

    def at(self, node: ast.AST | int, origin: Origin | None = None) -> str:
        line = node if isinstance(node, int) else getattr(node, "lineno", self.line)
        where = origin or self.origin()
        if where is self.override:
            return f"--net SPEC {where.source!r}"
        return f"{where.file}:{line}"

    def undecided(self, what: str, node: ast.AST | int, hint: str | None = None) -> Undecided:
        return Undecided(
            what,
            where=self.at(node),
            hint=hint or "hw3 reads the file without running it and does not model this",
        )

    def text(self, node: ast.AST, origin: Origin | None = None) -> str:
        """The source text of ``node`` as written (ast.get_source_segment's rule, on lines
        split once per file), or its unparsed form."""
        source = (origin or self.origin()).source
        lines = self._lines.get(id(source))
        if lines is None:
            lines = self._lines[id(source)] = [
                line.encode() for line in source.splitlines(keepends=True)
            ]
        try:
            first: int = node.lineno - 1  # type: ignore[attr-defined]
            last: int = node.end_lineno - 1  # type: ignore[attr-defined]
            start: int = node.col_offset  # type: ignore[attr-defined]
            end: int = node.end_col_offset  # type: ignore[attr-defined]
            if first == last:
                return lines[first][start:end].decode()
            parts = [lines[first][start:], *lines[first + 1 : last], lines[last][:end]]
            return b"".join(parts).decode()
        except (AttributeError, IndexError, TypeError, UnicodeDecodeError):
            return ast.unparse(node)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def tick(self, node: ast.AST) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise self.undecided(f"the model's code runs more than {MAX_STEPS:,} steps", node)
        if self.steps % 2048 == 0 and time.monotonic() > self.deadline:
            raise self.undecided(f"reading the model takes more than {MAX_SECONDS} s", node)

    # --- the module level ---------------------------------------------------------------

    def run_module(self) -> None:
        """Each top-level statement; one that cannot be run poisons the names it binds,
        which is exit 3 only if the model uses them."""
        for stmt in self.tree.body:
            try:
                self.exec(stmt, self.globals)
            except (InputError, ModelRaised) as e:
                reason = e.message if isinstance(e, InputError) else str(e)
                where = e.where if isinstance(e, InputError) and e.where else self.at(stmt)
                for name in bound_names(stmt):
                    self.globals.vars[name] = Opaque(
                        f"{name}, which hw3 cannot build: {reason}", where or ""
                    )

    # --- statements ---------------------------------------------------------------------

    def exec_block(self, body: list[ast.stmt], scope: Scope) -> None:
        for stmt in body:
            self.exec(stmt, scope)

    def exec(self, stmt: ast.stmt, scope: Scope) -> None:
        self.tick(stmt)
        self.line = stmt.lineno
        handler = getattr(self, "stmt_" + type(stmt).__name__, None)
        if handler is None:
            raise self.undecided(f"a {type(stmt).__name__} statement is not modelled", stmt)
        handler(stmt, scope)

    def stmt_Expr(self, node: ast.Expr, scope: Scope) -> None:
        if isinstance(node.value, ast.Constant):  # a docstring
            return
        self.eval(node.value, scope)

    def stmt_Pass(self, node: ast.Pass, scope: Scope) -> None:
        return

    def stmt_Return(self, node: ast.Return, scope: Scope) -> None:
        raise _Return(None if node.value is None else self.eval(node.value, scope))

    def stmt_Break(self, node: ast.Break, scope: Scope) -> None:
        raise _Break

    def stmt_Continue(self, node: ast.Continue, scope: Scope) -> None:
        raise _Continue

    def stmt_Global(self, node: ast.Global, scope: Scope) -> None:
        scope.globals_.update(node.names)

    def stmt_Nonlocal(self, node: ast.Nonlocal, scope: Scope) -> None:
        scope.nonlocals.update(node.names)

    def stmt_Assign(self, node: ast.Assign, scope: Scope) -> None:
        value = self.eval(node.value, scope)
        for target in node.targets:
            self.assign(target, value, scope)

    def stmt_AnnAssign(self, node: ast.AnnAssign, scope: Scope) -> None:
        if node.value is not None:  # the annotation is never evaluated
            self.assign(node.target, self.eval(node.value, scope), scope)

    def stmt_AugAssign(self, node: ast.AugAssign, scope: Scope) -> None:
        current = self.eval(node.target, scope)  # handlers read a Store target as a Load
        value = self.eval(node.value, scope)
        if isinstance(current, list) and isinstance(node.op, ast.Add):
            current.extend(self.iterate(value, node))  # list += iterable, in place
            return
        self.assign(node.target, self.binop(node.op, current, value, node), scope)

    def stmt_Delete(self, node: ast.Delete, scope: Scope) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.store(scope, target.id, None, delete=True)
            else:
                raise self.undecided("del of anything but a name is not modelled", node)

    def stmt_If(self, node: ast.If, scope: Scope) -> None:
        if self.truth(self.eval(node.test, scope), node.test):
            self.exec_block(node.body, scope)
        else:
            self.exec_block(node.orelse, scope)

    def stmt_For(self, node: ast.For, scope: Scope) -> None:
        for item in self.iterate(self.eval(node.iter, scope), node.iter):
            self.assign(node.target, item, scope)
            if not self.loop_body(node.body, scope):
                return
        self.exec_block(node.orelse, scope)

    def stmt_While(self, node: ast.While, scope: Scope) -> None:
        while self.truth(self.eval(node.test, scope), node.test):
            self.tick(node)
            if not self.loop_body(node.body, scope):
                return
        self.exec_block(node.orelse, scope)

    def loop_body(self, body: list[ast.stmt], scope: Scope) -> bool:
        """One pass of a loop's body; False after a break."""
        try:
            self.exec_block(body, scope)
        except _Break:
            return False
        except _Continue:
            pass
        return True

    def stmt_Assert(self, node: ast.Assert, scope: Scope) -> None:
        if not self.truth(self.eval(node.test, scope), node.test):
            message = "" if node.msg is None else str(self.eval(node.msg, scope))
            raise ModelRaised(Exc("AssertionError", message or self.text(node.test)), node.lineno)

    def stmt_Raise(self, node: ast.Raise, scope: Scope) -> None:
        exc = None if node.exc is None else self.eval(node.exc, scope)
        if isinstance(exc, Builtin) and exc.is_class:
            exc = Exc(exc.name, "")
        if not isinstance(exc, Exc):
            raise self.undecided(f"raise of {self.text(node.exc or node)} is not modelled", node)
        raise ModelRaised(exc, node.lineno)

    def stmt_Try(self, node: ast.Try, scope: Scope) -> None:
        try:
            self.exec_block(node.body, scope)
        except Undecided:
            raise
        except InputError as e:
            if node.handlers:  # Python would raise its own exception, which a handler may catch
                raise self.undecided(
                    f"an error inside try ({e.message}) that a handler may catch", node
                ) from None
            raise
        except ModelRaised as raised:
            for handler in node.handlers:
                if self.catches(handler, raised.exc, scope):
                    if handler.name:
                        self.store(scope, handler.name, raised.exc)
                    self.exec_block(handler.body, scope)
                    break
            else:
                raise
        else:
            self.exec_block(node.orelse, scope)
        finally:
            self.exec_block(node.finalbody, scope)

    def catches(self, handler: ast.ExceptHandler, exc: Exc, scope: Scope) -> bool:
        if handler.type is None:
            return True
        kinds = self.eval(handler.type, scope)
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        names = {k.name for k in kinds if isinstance(k, Builtin)}
        return exc.kind in names or "Exception" in names

    def stmt_With(self, node: ast.With, scope: Scope) -> None:
        for item in node.items:
            manager = self.eval(item.context_expr, scope)
            if not (isinstance(manager, Builtin) and manager.name == "context"):
                raise self.undecided(f"with {self.text(item.context_expr)} is not modelled", node)
            if item.optional_vars is not None:
                self.assign(item.optional_vars, None, scope)
        self.exec_block(node.body, scope)

    def stmt_Import(self, node: ast.Import, scope: Scope) -> None:
        for alias in node.names:
            if alias.asname:
                self.store(scope, alias.asname, self.table.import_module(alias.name, self, node))
            else:
                top = alias.name.split(".")[0]
                self.store(scope, top, self.table.import_module(top, self, node))

    def stmt_ImportFrom(self, node: ast.ImportFrom, scope: Scope) -> None:
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                raise self.undecided(f"from {module} import * is not modelled", node)
            value = self.table.import_name(module, alias.name, self, node)
            self.store(scope, alias.asname or alias.name, value)

    def stmt_FunctionDef(self, node: ast.FunctionDef, scope: Scope) -> None:
        a = node.args
        fn = Function(
            node,
            scope,
            [self.eval(d, scope) for d in a.defaults],
            [NO_DEFAULT if d is None else self.eval(d, scope) for d in a.kw_defaults],
            node.name,
        )
        value: Any = fn
        ignored: list[str] = []
        for decorator in reversed(node.decorator_list):
            head = _head(decorator)
            found = head is not None and self.lookup(scope, head, decorator, missing_ok=True)
            if isinstance(found, Opaque):  # a decorator from another file: the identity
                ignored.append(self.text(decorator))
                continue
            deco = self.eval(decorator, scope)
            if isinstance(deco, Builtin) and deco.name in (
                "staticmethod",
                "classmethod",
                "property",
            ):
                fn.kind = deco.name
                continue
            if isinstance(deco, Builtin) and deco.name == "identity decorator":
                continue
            value = self.call(deco, [value], {}, decorator)
        fn.ignored_decorators = tuple(reversed(ignored))
        self.store(scope, node.name, value)

    stmt_AsyncFunctionDef = stmt_FunctionDef

    def stmt_ClassDef(self, node: ast.ClassDef, scope: Scope) -> None:
        bases = tuple(self.eval(b, scope) for b in node.bases)
        for base in bases:
            if isinstance(base, Opaque):
                raise self.undecided(f"class {node.name} derives from {base.cause}", node)
        for keyword in node.keywords:
            if keyword.arg != "metaclass":
                raise self.undecided(f"class keyword {keyword.arg} is not modelled", node)
        body = Scope(scope, is_class=True)
        self.exec_block(node.body, body)
        cls = UserClass(node.name, bases, body.vars, node.lineno)
        for value in body.vars.values():
            if isinstance(value, Function):
                value.owner = cls
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            deco = self.eval(target, scope)
            if isinstance(deco, Builtin) and deco.name == "dataclass":
                self.dataclass_init(cls, node, body)
            elif not (isinstance(deco, Builtin) and deco.name == "identity decorator"):
                raise self.undecided(
                    f"the class decorator {self.text(decorator)} is not modelled", node
                )
        self.store(scope, node.name, cls)

    def dataclass_init(self, cls: UserClass, node: ast.ClassDef, body: Scope) -> None:
        """@dataclass: an __init__ that sets each annotated field, in order."""
        fields: list[tuple[str, Any]] = []
        for base in cls.bases:
            if isinstance(base, UserClass):
                fields.extend(base.body.get("__hw3_fields__", []))
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                name = stmt.target.id
                fields = [f for f in fields if f[0] != name]
                fields.append((name, body.vars.get(name, NO_DEFAULT)))
        names = ", ".join(name for name, _ in fields)
        sets = "".join(f"\n    self.{name} = {name}" for name, _ in fields)
        init = ast.parse(f"def __init__(self, {names}):\n    pass{sets}").body[0]
        assert isinstance(init, ast.FunctionDef)
        defaults = [d for _, d in fields if d is not NO_DEFAULT]
        if any(d is NO_DEFAULT for _, d in fields[len(fields) - len(defaults) :]):
            raise self.undecided("a dataclass whose defaults hw3 cannot order", node)
        init.args.defaults = [ast.Constant(None) for _ in defaults]
        cls.body["__hw3_fields__"] = fields
        if "__init__" not in cls.body:
            cls.body["__init__"] = Function(init, body, defaults, [], "__init__", owner=cls)

    # --- names --------------------------------------------------------------------------

    def store(self, scope: Scope, name: str, value: Any, delete: bool = False) -> None:
        target = scope
        if name in scope.globals_:
            target = scope.module
        elif name in scope.nonlocals:
            parent = scope.parent
            while parent is not None and (parent.is_class or name not in parent.vars):
                parent = parent.parent
            target = parent or scope.module
        if delete:
            target.vars.pop(name, None)
        else:
            target.vars[name] = value

    def lookup(self, scope: Scope, name: str, node: ast.AST, missing_ok: bool = False) -> Any:
        current: Scope | None = scope
        first = True
        while current is not None:
            if (first or not current.is_class) and name in current.vars:
                return current.vars[name]
            first = False
            current = current.parent
        found, value = self.table.builtin(name)
        if found:
            return value
        if missing_ok:
            return None
        raise self.undecided(f"the name {name!r} is not defined in the file and not modelled", node)

    def assign(self, target: ast.AST, value: Any, scope: Scope) -> None:
        if isinstance(target, ast.Name):
            self.store(scope, target.id, value)
        elif isinstance(target, ast.Attribute):
            self.setattr(self.eval(target.value, scope), target.attr, value, target)
        elif isinstance(target, ast.Subscript):
            container = self.eval(target.value, scope)
            key = self.eval(target.slice, scope)
            self.setitem(container, key, value, target)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self.unpack(target.elts, value, scope, target)
        else:
            raise self.undecided(f"assignment to {self.text(target)} is not modelled", target)

    def unpack(self, targets: list[ast.expr], value: Any, scope: Scope, node: ast.AST) -> None:
        items = self.iterate(value, node)
        starred = [i for i, t in enumerate(targets) if isinstance(t, ast.Starred)]
        if starred:
            s = starred[0]
            after = len(targets) - s - 1
            if len(items) < len(targets) - 1:
                raise self.model_error("not enough values to unpack", node)
            parts = [*items[:s], list(items[s : len(items) - after]), *items[len(items) - after :]]
            targets = [t.value if isinstance(t, ast.Starred) else t for t in targets]
            items = parts
        if len(items) != len(targets):
            raise self.model_error(
                f"cannot unpack {len(items)} values into {len(targets)} names", node
            )
        for t, v in zip(targets, items, strict=True):
            self.assign(t, v, scope)

    def model_error(self, message: str, node: ast.AST | int, hint: str | None = None) -> InputError:
        return InputError(message, where=self.at(node), hint=hint)

    # --- expressions --------------------------------------------------------------------

    def eval(self, node: ast.AST, scope: Scope) -> Any:
        self.tick(node)
        handler = getattr(self, "expr_" + type(node).__name__, None)
        if handler is None:
            raise self.undecided(f"a {type(node).__name__} expression is not modelled", node)
        return handler(node, scope)

    def expr_Constant(self, node: ast.Constant, scope: Scope) -> Any:
        if node.value is Ellipsis:
            return self.table.ELLIPSIS
        if isinstance(node.value, (str, bytes)) and len(node.value) > MAX_ITEMS:
            raise self.undecided("a string longer than hw3 reads", node)
        return node.value

    def expr_Name(self, node: ast.Name, scope: Scope) -> Any:
        return self.lookup(scope, node.id, node)

    def expr_Tuple(self, node: ast.Tuple, scope: Scope) -> Any:
        return tuple(self.elements(node.elts, scope))

    def expr_List(self, node: ast.List, scope: Scope) -> Any:
        return self.elements(node.elts, scope)

    def expr_Set(self, node: ast.Set, scope: Scope) -> Any:
        return set(self.hashable(v, node) for v in self.elements(node.elts, scope))

    def elements(self, elts: list[ast.expr], scope: Scope) -> list[Any]:
        out: list[Any] = []
        for e in elts:
            if isinstance(e, ast.Starred):
                out.extend(self.iterate(self.eval(e.value, scope), e))
            else:
                out.append(self.eval(e, scope))
        self.bound_size(len(out), elts[0] if elts else None)
        return out

    def expr_Dict(self, node: ast.Dict, scope: Scope) -> Any:
        out: dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:
                other = self.eval(v, scope)
                if not isinstance(other, dict):
                    raise self.undecided("** of a value that is not a dict", v)
                out.update(other)
            else:
                out[self.hashable(self.eval(k, scope), k)] = self.eval(v, scope)
        return out

    def hashable(self, value: Any, node: ast.AST) -> Any:
        try:
            hash(value)
        except TypeError:
            raise self.model_error(f"unhashable value {value!r}", node) from None
        return value

    def expr_JoinedStr(self, node: ast.JoinedStr, scope: Scope) -> Any:
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                v = self.eval(value.value, scope)
                spec = "" if value.format_spec is None else self.eval(value.format_spec, scope)
                if value.conversion == ord("r"):
                    v = repr(v)
                parts.append(format(v, spec) if _plain(v) else str(v))
        return "".join(parts)

    def expr_Attribute(self, node: ast.Attribute, scope: Scope) -> Any:
        return self.getattr(self.eval(node.value, scope), node.attr, node)

    def expr_Subscript(self, node: ast.Subscript, scope: Scope) -> Any:
        value = self.eval(node.value, scope)
        return self.getitem(value, self.eval(node.slice, scope), node)

    def expr_Slice(self, node: ast.Slice, scope: Scope) -> Any:
        parts = [
            None if p is None else self.eval(p, scope) for p in (node.lower, node.upper, node.step)
        ]
        return slice(*parts)

    def expr_Starred(self, node: ast.Starred, scope: Scope) -> Any:
        raise self.undecided("a starred expression here is not modelled", node)

    def expr_IfExp(self, node: ast.IfExp, scope: Scope) -> Any:
        if self.truth(self.eval(node.test, scope), node.test):
            return self.eval(node.body, scope)
        return self.eval(node.orelse, scope)

    def expr_BoolOp(self, node: ast.BoolOp, scope: Scope) -> Any:
        value: Any = None
        for operand in node.values:
            value = self.eval(operand, scope)
            truth = self.truth(value, operand)
            if isinstance(node.op, ast.And) and not truth:
                return value
            if isinstance(node.op, ast.Or) and truth:
                return value
        return value

    def expr_UnaryOp(self, node: ast.UnaryOp, scope: Scope) -> Any:
        value = self.eval(node.operand, scope)
        if isinstance(node.op, ast.Not):
            return not self.truth(value, node.operand)
        if isinstance(value, Tensor):
            return Tensor(value.shape)
        if not _number(value):
            raise self.undecided(f"{type(node.op).__name__} of {value!r}", node)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        return ~value

    def expr_BinOp(self, node: ast.BinOp, scope: Scope) -> Any:
        return self.binop(node.op, self.eval(node.left, scope), self.eval(node.right, scope), node)

    def binop(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        if isinstance(left, Tensor) or isinstance(right, Tensor):
            return self.table.tensor_binop(self, op, left, right, node)
        return self.table.python_binop(self, op, left, right, node)

    def expr_Compare(self, node: ast.Compare, scope: Scope) -> Any:
        left = self.eval(node.left, scope)
        result: Any = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.eval(right_node, scope)
            result = self.table.compare(self, op, left, right, node)
            if isinstance(result, Tensor):
                return result
            if not result:
                return False
            left = right
        return result

    def expr_Lambda(self, node: ast.Lambda, scope: Scope) -> Any:
        a = node.args
        return Function(
            node,
            scope,
            [self.eval(d, scope) for d in a.defaults],
            [NO_DEFAULT if d is None else self.eval(d, scope) for d in a.kw_defaults],
            "<lambda>",
        )

    def comprehension(
        self, generators: list[ast.comprehension], scope: Scope, emit: Callable[[Scope], None]
    ) -> None:
        inner = Scope(scope)

        def loop(i: int) -> None:
            if i == len(generators):
                emit(inner)
                return
            gen = generators[i]
            for item in self.iterate(self.eval(gen.iter, inner if i else scope), gen.iter):
                self.tick(gen)
                self.assign(gen.target, item, inner)
                if all(self.truth(self.eval(c, inner), c) for c in gen.ifs):
                    loop(i + 1)

        loop(0)

    def expr_ListComp(self, node: ast.ListComp, scope: Scope) -> Any:
        out: list[Any] = []
        self.comprehension(node.generators, scope, lambda s: out.append(self.eval(node.elt, s)))
        return out

    expr_GeneratorExp = expr_ListComp

    def expr_SetComp(self, node: ast.SetComp, scope: Scope) -> Any:
        out: list[Any] = []
        self.comprehension(node.generators, scope, lambda s: out.append(self.eval(node.elt, s)))
        return {self.hashable(v, node) for v in out}

    def expr_DictComp(self, node: ast.DictComp, scope: Scope) -> Any:
        out: dict[Any, Any] = {}

        def emit(s: Scope) -> None:
            out[self.hashable(self.eval(node.key, s), node)] = self.eval(node.value, s)

        self.comprehension(node.generators, scope, emit)
        return out

    def expr_Call(self, node: ast.Call, scope: Scope) -> Any:
        fn = self.eval(node.func, scope)
        args: list[Any] = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.extend(self.iterate(self.eval(a.value, scope), a))
            else:
                args.append(self.eval(a, scope))
        kwargs: dict[str, Any] = {}
        for k in node.keywords:
            value = self.eval(k.value, scope)
            if k.arg is None:
                if not isinstance(value, dict) or not all(isinstance(x, str) for x in value):
                    raise self.undecided("** of a value that is not a dict of names", k)
                kwargs.update(value)
            else:
                kwargs[k.arg] = value
        return self.call(fn, args, kwargs, node)

    # --- calling ------------------------------------------------------------------------

    def call(self, fn: Any, args: list[Any], kwargs: dict[str, Any], node: ast.AST) -> Any:
        if isinstance(fn, Function):
            if fn.ignored_decorators:
                for deco in fn.ignored_decorators:
                    self.warn(
                        f"{self.at(fn.node)}: the decorator @{deco} comes from another file; "
                        f"hw3 takes it to return {fn.name} unchanged"
                    )
            return self.call_function(fn, args, kwargs, node)
        if isinstance(fn, Bound):
            if fn.fn.kind == "property":
                raise self.undecided("calling a property is not modelled", node)
            return self.call_function(fn.fn, [fn.receiver, *args], kwargs, node)
        if isinstance(fn, Builtin):
            return fn.fn(Call(self, args, kwargs, node, fn.bound))
        if isinstance(fn, Partial):
            return self.call(fn.fn, [*fn.args, *args], {**fn.kwargs, **kwargs}, node)
        if isinstance(fn, UserClass):
            return self.table.instantiate(self, fn, args, kwargs, node)
        if isinstance(fn, Module):
            return self.table.call_module(self, fn, args, kwargs, node)
        if isinstance(fn, Opaque):
            return self.call_opaque(fn, args, kwargs, node)
        raise self.undecided(f"calling {fn!r} is not modelled", node)

    def call_opaque(
        self, fn: Opaque, args: list[Any], kwargs: dict[str, Any], node: ast.AST
    ) -> Any:
        """A call of something hw3 does not know: an unknown result, unless the call may
        change what it is given (a module or a list), which hw3 cannot follow."""
        for value in [*args, *kwargs.values()]:
            if isinstance(value, (Module, list, dict, set, Instance, Tensor)):
                raise self.undecided(f"{fn.cause} is called with {value!r}", node)
        return Opaque(f"the result of {self.text(node)}", self.at(node), fn.root or fn.what)

    def call_function(
        self, fn: Function, args: list[Any], kwargs: dict[str, Any], node: ast.AST
    ) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.depth = 0
            raise self.undecided(f"calls nest deeper than {MAX_DEPTH}", node)
        scope = Scope(fn.scope.parent if fn.scope.is_class else fn.scope)
        if fn.scope.is_class:  # methods see the module, not the class body
            scope = Scope(_enclosing(fn.scope))
        self.bind(fn, args, kwargs, scope, node)
        self.frames.append(Frame(fn, args[0] if args else None, node, self.origin()))
        try:
            if isinstance(fn.node, ast.Lambda):
                return self.eval(fn.node.body, scope)
            self.exec_block(fn.node.body, scope)
            return None
        except _Return as r:
            return r.value
        finally:
            self.frames.pop()
            self.depth -= 1

    def bind(
        self, fn: Function, args: list[Any], kwargs: dict[str, Any], scope: Scope, node: ast.AST
    ) -> None:
        a = fn.node.args
        if fn.name == "__init__" and fn.owner is not None:  # Net(3): say Net, as Python does
            fn = Function(fn.node, fn.scope, fn.defaults, fn.kw_defaults, fn.owner.name)
        positional = [*a.posonlyargs, *a.args]
        names = [p.arg for p in positional]
        defaults = dict(zip(names[len(names) - len(fn.defaults) :], fn.defaults, strict=True))
        kwargs = dict(kwargs)
        for i, name in enumerate(names):
            if i < len(args):
                if name in kwargs:
                    raise self.model_error(f"{fn.name}() got multiple values for {name!r}", node)
                scope.vars[name] = args[i]
            elif name in kwargs and i >= len(a.posonlyargs):
                scope.vars[name] = kwargs.pop(name)
            elif name in defaults:
                scope.vars[name] = defaults[name]
            else:
                raise self.model_error(
                    f"{fn.name}() missing required argument {name!r}",
                    node,
                    hint=f"give {name} in the call or the SPEC",
                )
        extra = list(args[len(names) :])
        if a.vararg is not None:
            scope.vars[a.vararg.arg] = tuple(extra)
        elif extra:
            raise self.model_error(
                f"{fn.name}() takes {len(names)} positional arguments but {len(args)} were given",
                node,
            )
        for p, default in zip(a.kwonlyargs, fn.kw_defaults, strict=True):
            if p.arg in kwargs:
                scope.vars[p.arg] = kwargs.pop(p.arg)
            elif default is not NO_DEFAULT:
                scope.vars[p.arg] = default
            else:
                raise self.model_error(f"{fn.name}() missing keyword argument {p.arg!r}", node)
        if a.kwarg is not None:
            scope.vars[a.kwarg.arg] = kwargs
        elif kwargs:
            raise self.model_error(
                f"{fn.name}() got an unexpected keyword argument {next(iter(kwargs))!r}", node
            )

    # --- values -------------------------------------------------------------------------

    def truth(self, value: Any, node: ast.AST) -> bool:
        if isinstance(value, Opaque):
            raise self.undecided(f"a branch on {value.cause}, which hw3 cannot know", node)
        if isinstance(value, Tensor):
            raise self.undecided(
                f"a branch on a tensor's values ({self.text(node)}), which a shape does not tell",
                node,
            )
        if isinstance(value, Module):
            return (
                True
                if value.base not in ("Sequential", "ModuleList", "ModuleDict")
                else bool(value.modules)
            )
        if value is None or isinstance(value, (bool, int, float, str, tuple, list, dict, set)):
            return bool(value)
        return True

    def iterate(self, value: Any, node: ast.AST) -> list[Any]:
        return self.table.iterate(self, value, node)

    def bound_size(self, n: int, node: ast.AST | None) -> None:
        if n > MAX_ITEMS:
            raise self.undecided(
                f"a collection of more than {MAX_ITEMS:,} items", node or self.line
            )

    def getattr(self, value: Any, name: str, node: ast.AST) -> Any:
        if name.startswith("__") and name not in ("__class__", "__name__", "__init__"):
            raise self.undecided(f"the attribute {name} is not modelled", node)
        return self.table.get_attribute(self, value, name, node)

    def setattr(self, obj: Any, name: str, value: Any, node: ast.AST) -> None:
        self.table.set_attribute(self, obj, name, value, node)

    def getitem(self, value: Any, key: Any, node: ast.AST) -> Any:
        return self.table.get_item(self, value, key, node)

    def setitem(self, container: Any, key: Any, value: Any, node: ast.AST) -> None:
        if isinstance(container, (list, dict)):
            try:
                container[key] = value
            except (IndexError, KeyError, TypeError) as e:
                raise self.model_error(f"{type(e).__name__}: {e}", node) from None
            return
        raise self.undecided(f"item assignment on {container!r} is not modelled", node)


def _enclosing(scope: Scope) -> Scope:
    current = scope
    while current.is_class and current.parent is not None:
        current = current.parent
    return current


def _head(node: ast.AST) -> str | None:
    """The first name of a decorator (``register_model`` in ``@register_model()``)."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) or isinstance(
        value, bool
    )


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


_ = Namespace  # re-exported for the table
