"""The values the interpreter computes with: Python's own literals, and these.

A tensor is its shape (torch.fx's Proxy carries a node; here the value carries the shape
and where it was made). A module is a tree node that `hw3cli.core.model` can read (the
`Node` protocol: name, kind, args, kwargs, children, line), so that its shape rule is the
one printed models use. `Opaque` is a value hw3 does not know (a name imported from
another file, an unmodelled call): carrying it is fine, deciding on it is exit 3.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Tensor:
    """A tensor as its full shape (batch axis included)."""

    shape: tuple[int, ...]
    param: bool = False  # an nn.Parameter (counts toward params)
    flat_from: tuple[int, ...] | None = None  # the feature map a flatten or view came from

    def numel(self) -> int:
        return math.prod(self.shape)

    def __repr__(self) -> str:
        return f"Tensor[{'x'.join(map(str, self.shape))}]"


@dataclass(eq=False)
class Opaque:
    """A value hw3 does not know: what it is and where it came from."""

    what: str
    where: str
    root: str = ""  # what it comes from, when it is derived from another unknown value

    def __repr__(self) -> str:
        return f"<{self.what}>"

    @property
    def cause(self) -> str:
        """What it is, and where it comes from: a message's words."""
        return f"{self.what}, from {self.root}" if self.root else self.what


@dataclass(eq=False)
class Namespace:
    """A package or module of PyTorch or the standard library, by its dotted name."""

    name: str

    def __repr__(self) -> str:
        return self.name


@dataclass(eq=False)
class Builtin:
    """A modelled function or class of the table: ``fn(call)`` computes its result."""

    name: str
    fn: Any
    is_class: bool = False
    bound: Any = None  # the receiver of a method

    def __repr__(self) -> str:
        return self.name


@dataclass(eq=False)
class Function:
    """A function or lambda of the file, with the scope it closes over."""

    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    scope: Any
    defaults: list[Any]
    kw_defaults: list[Any]
    name: str
    owner: Any = None  # the class whose body defines it (for super())
    ignored_decorators: tuple[str, ...] = ()
    kind: str = "function"  # or staticmethod, classmethod, property

    def __repr__(self) -> str:
        return f"<function {self.name}>"


@dataclass(eq=False)
class Bound:
    """A function bound to its first argument (a method of an instance or class)."""

    fn: Function
    receiver: Any


@dataclass(eq=False)
class Partial:
    """functools.partial."""

    fn: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass(eq=False)
class UserClass:
    """A class of the file: its bases and the namespace its body built."""

    name: str
    bases: tuple[Any, ...]
    body: dict[str, Any]
    line: int

    def mro(self) -> list[Any]:
        out: list[Any] = [self]
        for base in self.bases:
            chain = base.mro() if isinstance(base, UserClass) else [base]
            out.extend(c for c in chain if c not in out)
        return out

    def lookup(self, name: str) -> tuple[bool, Any, Any]:
        """(found, value, the class that holds it) along the method resolution order."""
        for cls in self.mro():
            if isinstance(cls, UserClass) and name in cls.body:
                return True, cls.body[name], cls
        return False, None, None

    def builtin_base(self) -> Any:
        """The first modelled class (nn.Module, nn.Sequential, ...) among its ancestors."""
        for cls in self.mro():
            if not isinstance(cls, UserClass):
                return cls
        return None

    def __repr__(self) -> str:
        return f"<class {self.name}>"


@dataclass(eq=False)
class Instance:
    """An instance of a class of the file that is not a module (a config object)."""

    cls: UserClass
    attrs: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<{self.cls.name} object>"


@dataclass(eq=False)
class Module:
    """An nn.Module: a layer of a kind `hw3cli.core.model.KINDS` knows, a container
    (Sequential, ModuleList, ModuleDict) or an instance of a class of the file."""

    kind: str  # the class name, as PyTorch prints it
    base: str  # the modelled class it is or derives from: "Conv2d", "Sequential", "Module"
    line: int
    cls: UserClass | None = None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, Module] = field(default_factory=dict)  # children, in order
    attrs: dict[str, Any] = field(default_factory=dict)
    own_params: int = 0  # the layer's own parameters, and nn.Parameter attributes
    source: ast.Call | None = None  # the constructor call, for the fix
    origin: Any = None  # the file it is in (interpreter.Origin)
    built_in: Any = None  # the frame of the function that built it (interpreter.Frame)
    name: str = ""  # the key in its parent (the Node protocol)
    path: str | None = None  # dotted path from the root, once the model is built

    @property
    def children(self) -> tuple[Module, ...]:
        return tuple(m._replace_name(k) for k, m in self.modules.items())

    def _replace_name(self, key: str) -> Module:
        self.name = key
        return self

    def __repr__(self) -> str:
        return f"{self.kind}()"


@dataclass(eq=False)
class Exc:
    """An exception the model's code raises (ValueError(...)): its class and message."""

    kind: str
    message: str


def walk(root: Module) -> list[tuple[str, Module]]:
    """named_modules(): (dotted path, module) in registration order, each module once."""
    seen: set[int] = set()
    out: list[tuple[str, Module]] = []
    stack: list[tuple[str, Module]] = [("", root)]
    while stack:
        path, module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        out.append((path, module))
        for key, child in reversed(module.modules.items()):
            stack.append((f"{path}.{key}" if path else key, child))
    return out
