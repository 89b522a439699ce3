"""Reading the text PyTorch's ``print(model)`` shows, as a tree of modules, without running it.

The format is ``nn.Module.__repr__``: a module without children is one line,
``ClassName(extra_repr)``; a module with children is ``ClassName(`` on its line, then each
child indented two more spaces as ``(name): <child>``, then ``)`` at the module's own
indentation. Lines of extra_repr, when a module also has children (or its extra_repr has
several lines), come first inside the parentheses, unnamed. ModuleList (PyTorch >= 1.13)
prints runs of equal modules as ``(2-5): 4 x Bottleneck(``: they are expanded into
children ``2`` .. ``5``.

Arguments are literals only, read with `ast.parse` and never evaluated: numbers (with a
unary minus), strings, True/False/None, bare words (``padding=same``, ``mode=row``, kept as
strings) and tuples or lists of these. A call, an attribute, an operator or anything else
is an InputError naming the line and column, as is every structural problem. The reader
is a loop over lines with an explicit stack (no recursion on the input), linear in the size
of the text, and imports only the standard library.
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import Any, NamedTuple

from hw3cli.errors import InputError

MAX_DEPTH = 100  # levels of modules, the root being level 1
MAX_REPEATED = 10_000  # modules that the "N x" shorthands stand for, in all
MAX_MODULES = 100_000  # modules below the root in all, containers and repeats included
MAX_BRACKETS = 32  # brackets nested inside one argument list; PyTorch prints 2 at most
INDENT = 2  # spaces per level, as nn.Module.__repr__ adds them
MAX_ARGUMENTS = 1_000  # arguments of one module; PyTorch prints a dozen at most
MAX_ARGUMENT_CHARS = 10_000  # characters of one argument
FAST_CHARS = 20_000  # longer argument lists go through the scanner, which stops early
CACHE_ENTRIES = 4096  # argument texts and values remembered: a model repeats its layers

LITERAL_HINT = (
    "a printed model is read without running anything: arguments must be numbers, "
    "strings, True, False, None, bare words, or tuples of these"
)


class Module(NamedTuple):
    """One module of a printed model, with its children in the order printed."""

    name: str  # this module's own name in its parent: "features", "0"; "" for the root
    kind: str  # the class name as printed: "Conv2d", "Sequential", "BasicBlock"
    args: tuple[Any, ...]  # positional literals of its extra_repr: (3, 64) for Conv2d(3, 64)
    kwargs: dict[str, Any]  # keyword literals: {"kernel_size": (11, 11)}; bare words as str
    children: tuple[Module, ...]
    line: int  # 1-based line where the module starts in the text


_FIRST_LINE = re.compile(r"(?:[ \t]*(?:\r\n|\r|\n))*[ \t]*([^\r\n]*)")
_HEADER = re.compile(r"([A-Za-z_]\w*) ?\(")  # PyTorch 0.3/0.4 print "Conv2d (" with a space
# PyTorch 0.3/0.4's Linear (and custom reprs in its style): "Linear (2048 -> 1000)"
_ARROW = re.compile(r" *(-?\d{1,30}) *-> *(-?\d{1,30}) *\)")
# PyTorch 0.3's pools print their kernel as size=(2, 2)
_LEGACY_KEYWORDS = {"size": "kernel_size"}


class _Patterns:
    """The regular expressions of the reader, compiled on its first use (importing this
    module, as format detection does for `looks_printed`, stays cheap)."""

    def __init__(self) -> None:
        # a child's name: an attribute name, a list index, a ModuleDict key (any text
        # without a dot; parentheses and surrounding spaces are not read here)
        self.child = re.compile(r"\(([^().\s](?:[^().]*[^().\s])?)\): *")
        self.named = re.compile(r"\(([^()]*)\):")
        self.range = re.compile(r"(\d{1,18})-(\d{1,18})")
        self.repeat = re.compile(r"(\d{1,18}) x ")
        self.token = re.compile(r"""[^'"()\[\]{},]+|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|.""", re.S)
        self.keyword = re.compile(r"\s*([A-Za-z_]\w*)\s*=(?!=)\s*")
        self.int = re.compile(r"-?\d{1,300}", re.ASCII)
        self.float = re.compile(
            r"-?(?:\d{1,300}\.\d{0,300}|\.\d{1,300}|\d{1,300})(?:[eE][+-]?\d{1,4})?", re.ASCII
        )
        self.int_tuple = re.compile(r"\((?:-?\d{1,30}, *)*-?\d{1,30},?\)", re.ASCII)
        self.plain_string = re.compile(r"'[^'\\]*'|\"[^\"\\]*\"")
        # The arguments PyTorch prints, for a fast path: words, numbers, strings without
        # escapes, flat tuples of these; anything else goes through the scanner.
        atom = r"-?[\w.+-]+|'[^'\\\n]*'|" + r'"[^"\\\n]*"'
        value = rf"{atom}|\((?:(?:{atom}), *)*(?:(?:{atom}),?)?\)"
        self.arg = re.compile(rf"(?:([A-Za-z_]\w*)=)?({value})")
        one = rf"(?:[A-Za-z_]\w*=)?(?:{value})"
        self.simple = re.compile(rf"{one}(?:, *{one})*")


@functools.cache
def _patterns() -> _Patterns:
    return _Patterns()


_CLOSERS = {")": "(", "]": "[", "}": "{"}
_CONSTANTS: dict[str, Any] = {"True": True, "False": False, "None": None}
_NODE_NAMES = {
    "Call": "a call",
    "Attribute": "an attribute",
    "Subscript": "a subscript",
    "Lambda": "a lambda",
    "JoinedStr": "an f-string",
    "BinOp": "an operator",
    "BoolOp": "an operator",
    "Compare": "a comparison",
    "UnaryOp": "an operator",
    "Dict": "a dict",
    "Set": "a set",
    "IfExp": "a conditional expression",
    "NamedExpr": "an assignment expression",
    "Starred": "a starred expression",
}


def looks_printed(text: str) -> bool:
    """Whether text looks like print(model) output rather than JSON or CSV: its first
    non-blank line starts ``ClassName(`` (leading spaces and a byte-order mark allowed)."""
    line = first_line(text)
    return line is not None and _HEADER.match(line[1]) is not None


def first_line(text: str) -> tuple[int, str] | None:
    """The number and text (stripped) of the first line that is not blank."""
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines()[:10_000], 1):
        if line.strip():
            return number, line.strip()
    return None


_PYTHON = re.compile(r"(import \w|from [\w.]+ import |class \w+[(:]|def \w+\(|#|@)")


def looks_python(text: str) -> bool:
    """Whether text looks like Python source (an import, a class, a def, a comment)."""
    line = first_line(text)
    return line is not None and _PYTHON.match(line[1]) is not None


class _Frame:
    """A module whose ``ClassName(`` line is read and whose ``)`` is not yet."""

    __slots__ = (
        "args",
        "children",
        "column",
        "indent",
        "kind",
        "kwargs",
        "line",
        "name",
        "names",
        "repeat",
        "repeated",
        "size",
    )

    def __init__(
        self, name: str, kind: str, line: int, column: int, indent: int, repeat: tuple[int, int]
    ) -> None:
        self.name, self.kind, self.line, self.column = name, kind, line, column
        self.indent = indent
        self.repeat = repeat  # (first index, count) of an "(a-b): n x" shorthand, else (0, 0)
        self.args: list[Any] = []
        self.kwargs: dict[str, Any] = {}
        self.children: list[Module] = []
        self.names: set[str] = set()
        self.size = 1  # modules in this subtree so far, itself included
        self.repeated = 0  # of these, the modules in "N x" groups


class _Reader:
    """The state of one `parse_printed` call."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.re = _patterns()
        self.stack: list[_Frame] = []
        self.root: Module | None = None
        self.repeated = 0  # modules in "N x" groups so far, once each (nested ones too)
        self.modules = 0  # modules below the root closed so far, repeats expanded
        self.cache: dict[str, Any] = {}  # value text -> its (immutable) literal
        self.mutable = 0  # literals read so far that hold a list (and so are not cached)
        # argument-list text -> its (immutable) literals, positional and keyword
        self.lists: dict[str, tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]] = {}

    # -- errors ---------------------------------------------------------------------------

    def fail(
        self, message: str, line: int, column: int | None = None, hint: str | None = None
    ) -> InputError:
        where = f"{self.source}, line {line}" + (f", column {column}" if column else "")
        return InputError(message, where=where, hint=hint)

    # -- lines ----------------------------------------------------------------------------

    def read(self, text: str) -> Module:
        text = text.removeprefix("\ufeff")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        last = 0  # the last line that is not blank
        for number, raw in enumerate(text.split("\n"), 1):
            line = raw.rstrip()
            if line:
                self.line(line, number)
                last = number
        if self.stack:
            frame = self.stack[-1]
            raise self.fail(
                f"unbalanced parentheses: {frame.kind}( is never closed "
                f"(the text ends at line {last})",
                frame.line,
                frame.column,
                hint="each module with children ends with ')' on a line of its own",
            )
        if self.root is None:
            raise self.fail(
                "holds no printed model",
                1,
                hint="give the text print(model) shows, e.g. 'Sequential(' ... ')'",
            )
        return self.root

    def line(self, line: str, number: int) -> None:
        content = line.lstrip(" ")
        indent = len(line) - len(content)
        if content[0].isspace():
            what = "a tab" if content[0] == "\t" else f"{content[0]!r}"
            raise self.fail(
                f"{what} in the indentation",
                number,
                indent + 1,
                hint="print(model) indents with spaces, two per level",
            )
        if not self.stack:
            if self.root is not None:
                raise self.fail(
                    f"unexpected text after the model's closing ')': {content!r}",
                    number,
                    indent + 1,
                )
            if _HEADER.match(content) is None:
                raise self.fail(
                    "not a printed model: expected a line such as 'Sequential('",
                    number,
                    indent + 1,
                    hint="give the text print(model) shows, with nothing before it",
                )
            self.module("", content, number, indent, indent + 1, (0, 0))
            return
        frame = self.stack[-1]
        inner = frame.indent + INDENT
        if indent == frame.indent and content == ")":
            self.close()
        elif indent <= frame.indent:
            if content.startswith(")") and indent == frame.indent:
                after = content[1:]
                column = indent + 2 + len(after) - len(after.lstrip())
                raise self.fail("unexpected text after ')'", number, column)
            raise self.fail(
                f"unbalanced parentheses: {frame.kind}( of line {frame.line} is not closed "
                "before this line",
                number,
                indent + 1,
                hint=f"close it with ')' at {frame.indent} spaces",
            )
        elif indent != inner:
            raise self.fail(
                f"bad indentation: {indent} spaces where {inner} (a child of "
                f"{frame.kind}( of line {frame.line}) or {frame.indent} (its ')') are expected",
                number,
                indent + 1,
                hint="print(model) indents each child two spaces more than its parent",
            )
        elif content == ")":
            raise self.fail(
                f"unbalanced parentheses: this ')' is indented as a child of {frame.kind}( "
                f"of line {frame.line}, whose ')' belongs at {frame.indent} spaces",
                number,
                indent + 1,
            )
        else:
            self.inside(frame, content, number, indent)

    def inside(self, frame: _Frame, content: str, number: int, indent: int) -> None:
        """A line inside an open module: a child, or (before any child) extra_repr."""
        child = self.re.child.match(content)
        if child is None:
            named = self.re.named.match(content)
            if named is not None:
                raise self.fail(
                    f"{named.group(1)!r} is not a module name",
                    number,
                    indent + 2,
                    hint="a name is an attribute name, an index or a ModuleDict key (no dots)",
                )
            if frame.children:
                raise self.fail(
                    "expected a child '(name): ClassName(...)' or ')'",
                    number,
                    indent + 1,
                    hint="print(model) writes a module's arguments before its children",
                )
            self.arguments(frame, content, 0, False, number, indent + 1)
            return
        name, rest, column = child.group(1), content[child.end() :], indent + 1 + child.end()
        repeat = (0, 0)
        counted = self.re.repeat.match(rest)
        span = self.re.range.fullmatch(name)
        if counted is not None:
            if span is None:
                raise self.fail(
                    f"'{counted.group(0).strip()}' follows ({name}), which is not a range "
                    "such as (0-3)",
                    number,
                    column,
                )
            first, last, count = int(span.group(1)), int(span.group(2)), int(counted.group(1))
            if last < first or count != last - first + 1:
                raise self.fail(
                    f"({name}) names {max(last - first + 1, 0)} modules but the line says "
                    f"{count} x",
                    number,
                    indent + 2,
                )
            repeat = (first, count)
            rest, column = rest[counted.end() :], column + counted.end()
        if _HEADER.match(rest) is None:
            raise self.fail(
                f"expected '(name): ClassName(' after ({name}):",
                number,
                column,
                hint="each child line reads like '(conv1): Conv2d(3, 64, kernel_size=(3, 3))'",
            )
        self.module(name, rest, number, indent, column, repeat)

    def module(
        self, name: str, text: str, number: int, indent: int, column: int, repeat: tuple[int, int]
    ) -> None:
        """``ClassName(...`` at ``column`` of line ``number``: a leaf or an opened frame."""
        header = _HEADER.match(text)
        assert header is not None
        kind = header.group(1)
        paren = column + header.end() - 1
        if len(self.stack) >= MAX_DEPTH:
            raise self.fail(
                f"modules nested more than {MAX_DEPTH} levels deep",
                number,
                column,
            )
        frame = _Frame(name, kind, number, paren, indent, repeat)
        if header.end() == len(text):
            self.stack.append(frame)
            return
        arrow = _ARROW.fullmatch(text, header.end())
        if arrow is not None:  # "Linear (2048 -> 1000)": in_features, out_features
            frame.args.extend(int(value) for value in arrow.groups())
            self.stack.append(frame)
            self.close()
            return
        end = self.arguments(frame, text, header.end(), True, number, column + header.end())
        if end + 1 != len(text):
            after = text[end + 1 :]
            raise self.fail(
                f"unexpected text after {kind}(...): {after.strip()!r}",
                number,
                column + end + 1 + len(after) - len(after.lstrip()),
            )
        self.stack.append(frame)
        self.close()

    def close(self) -> None:
        """The top frame's ')': its module joins its parent (or becomes the root)."""
        frame = self.stack.pop()
        if "Pool" in frame.kind and "Adaptive" not in frame.kind:
            for old, new in _LEGACY_KEYWORDS.items():
                if old in frame.kwargs and new not in frame.kwargs:
                    frame.kwargs[new] = frame.kwargs.pop(old)
        module = Module(
            frame.name,
            frame.kind,
            tuple(frame.args),
            frame.kwargs,
            tuple(frame.children),
            frame.line,
        )
        modules, size, repeated = [module], frame.size, frame.repeated
        first, count = frame.repeat
        if count:
            # the whole group is repeated now, the groups inside it (counted before) too
            size, repeated = count * frame.size, count * frame.size
            self.repeated += repeated - frame.repeated
            if self.repeated > MAX_REPEATED:
                raise self.fail(
                    f"the 'N x' repeats expand to more than {MAX_REPEATED:,} modules",
                    frame.line,
                    hint="hw3 expands each repeated module; give a smaller model",
                )
            modules = [module._replace(name=str(first))]
            modules += [_copy(module, str(first + i)) for i in range(1, count)]
        if self.stack:  # the root is not counted; its children were, as they closed
            self.modules += size - frame.size + 1
        if self.modules > MAX_MODULES:
            raise self.fail(
                f"the model holds more than {MAX_MODULES:,} modules, the most hw3 reads",
                frame.line,
                hint="real networks hold hundreds to a few thousand: give a part of the model",
            )
        if not self.stack:
            self.root = module
            return
        parent = self.stack[-1]
        for child in modules:
            if child.name in parent.names:
                raise self.fail(
                    f"{parent.kind}( of line {parent.line} already has a child "
                    f"named {child.name!r}",
                    frame.line,
                )
            parent.names.add(child.name)
            parent.children.append(child)
        parent.size += size
        parent.repeated += repeated

    # -- arguments ------------------------------------------------------------------------

    def arguments(
        self, frame: _Frame, text: str, start: int, closing: bool, number: int, column: int
    ) -> int:
        """Read the argument list in ``text`` from ``start`` into ``frame``; ``text[start]``
        is at ``column``. With ``closing``, the list ends at an unmatched ')', whose index
        is returned; without, it ends with the text."""
        base = column - start  # the column of text[0]
        stop = len(text) - 1 if closing else len(text)
        if (
            (not closing or text[-1] == ")")
            and start < stop <= start + FAST_CHARS
            and self.re.simple.fullmatch(text, start, stop) is not None
        ):
            fresh, mutable = not (frame.args or frame.kwargs), self.mutable
            key = text[start:stop]
            if fresh and key in self.lists:  # the same arguments as an earlier module
                args, kwargs = self.lists[key]
                frame.args.extend(args)
                frame.kwargs.update(kwargs)
                return stop
            for arg in self.re.arg.finditer(text, start, stop):
                name, value = arg.group(1, 2)
                self.add(frame, name, value, number, base + arg.start(), base + arg.start(2))
            if fresh and self.mutable == mutable and len(self.lists) < CACHE_ENTRIES:
                self.lists[key] = (tuple(frame.args), tuple(frame.kwargs.items()))
            return stop
        opened: list[tuple[str, int]] = []
        piece = start
        end = -1
        for token in self.re.token.finditer(text, start):
            char = token.group()[0]
            if char in "([{":
                opened.append((char, token.start()))
                if len(opened) > MAX_BRACKETS:
                    raise self.fail(
                        f"brackets nested more than {MAX_BRACKETS} deep",
                        number,
                        base + token.start(),
                    )
            elif char in _CLOSERS:
                if not opened:
                    if closing and char == ")":
                        end = token.start()
                        break
                    raise self.fail(
                        f"unbalanced parentheses: '{char}' has no matching opening bracket",
                        number,
                        base + token.start(),
                    )
                opener, at = opened.pop()
                if opener != _CLOSERS[char]:
                    raise self.fail(
                        f"mismatched brackets: '{opener}' at column {base + at} "
                        f"is closed by '{char}'",
                        number,
                        base + token.start(),
                    )
            elif char == "," and not opened:
                self.argument(frame, text, piece, token.start(), number, base, last=False)
                piece = token.end()
            elif char in "'\"" and token.end() - token.start() == 1:
                raise self.fail("unterminated string", number, base + token.start())
            if token.start() - piece > MAX_ARGUMENT_CHARS:
                raise self.too_long(number, base + piece)
        if opened:
            char, at = opened[-1]
            raise self.fail(
                f"unbalanced parentheses: '{char}' is not closed on its line", number, base + at
            )
        if closing and end < 0:
            raise self.fail(
                f"unbalanced parentheses: {frame.kind}( is not closed on its line",
                number,
                base + start - 1,
                hint="a module with children has nothing after 'ClassName(' on its line",
            )
        stop = end if closing else len(text)
        self.argument(frame, text, piece, stop, number, base, last=True)
        return end

    def argument(
        self,
        frame: _Frame,
        text: str,
        start: int,
        stop: int,
        number: int,
        base: int,
        *,
        last: bool,
    ) -> None:
        """One comma-separated argument, ``text[start:stop]``, positional or keyword."""
        piece = text[start:stop]
        if not piece or piece.isspace():
            if last:
                return  # no arguments at all, or a trailing comma
            raise self.fail("empty argument", number, base + start)
        keyword = self.re.keyword.match(piece)
        name = None
        first = offset = len(piece) - len(piece.lstrip())
        if keyword is not None:
            name, offset = keyword.group(1), keyword.end()
        value = piece[offset:].rstrip()
        if not value:
            raise self.fail(f"{name}= has no value", number, base + start + offset)
        self.add(frame, name, value, number, base + start + first, base + start + offset)

    def add(
        self, frame: _Frame, name: str | None, value: str, number: int, column: int, at: int
    ) -> None:
        """The argument ``name=value`` (``value`` alone when positional) that starts at
        ``column`` and whose value starts at ``at``, read into ``frame``."""
        if len(frame.args) + len(frame.kwargs) >= MAX_ARGUMENTS:
            raise self.fail(
                f"{frame.kind}( has more than {MAX_ARGUMENTS:,} arguments", number, column
            )
        if len(value) > MAX_ARGUMENT_CHARS:
            raise self.too_long(number, at)
        literal = self.literal(value, number, at)
        if name is None:
            frame.args.append(literal)
        elif name in frame.kwargs:
            raise self.fail(f"{name}= is given twice", number, column)
        else:
            frame.kwargs[name] = literal

    def too_long(self, number: int, column: int) -> InputError:
        return self.fail(
            f"an argument longer than {MAX_ARGUMENT_CHARS:,} characters", number, column
        )

    def literal(self, value: str, number: int, column: int) -> Any:
        """The literal ``value`` (stripped text at ``column``), never evaluated."""
        cached = self.cache.get(value, self)
        if cached is not self:
            return cached
        result: Any
        if self.re.int.fullmatch(value):
            result = int(value)
        elif self.re.float.fullmatch(value):
            result = float(value)
        elif value.isidentifier():
            result = _CONSTANTS.get(value, value)
        elif self.re.plain_string.fullmatch(value):
            result = value[1:-1]
        elif self.re.int_tuple.fullmatch(value):
            result = tuple(int(item) for item in value[1:-1].split(",") if item.strip())
        else:
            result = self.parsed(value, number, column)
            if _mutable(result):
                self.mutable += 1
                return result
        if len(self.cache) < CACHE_ENTRIES:
            self.cache[value] = result
        return result

    def parsed(self, value: str, number: int, column: int) -> Any:
        """``value`` through `ast.parse`: constants, -number, names, tuples and lists."""
        import ast  # here: most printed models never need it, and start-up matters

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escapes such as '\d' warn
                tree = ast.parse(value, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise self.fail(
                f"not a literal value: {value!r}", number, column, hint=LITERAL_HINT
            ) from None
        # A tuple or list nests at most MAX_BRACKETS deep (the scanner saw its brackets),
        # so this walk is bounded; it is iterative anyway.
        results: dict[int, Any] = {}
        pending: list[tuple[ast.expr, bool]] = [(tree.body, False)]
        while pending:
            node, visited = pending.pop()
            if isinstance(node, (ast.Tuple, ast.List)):
                if not visited:
                    pending.append((node, True))
                    pending.extend((element, False) for element in node.elts)
                    continue
                items = [results.pop(id(element)) for element in node.elts]
                results[id(node)] = tuple(items) if isinstance(node, ast.Tuple) else items
            elif isinstance(node, ast.Constant):
                results[id(node)] = node.value
            elif isinstance(node, ast.Name):
                results[id(node)] = node.id
            elif (
                isinstance(node, ast.UnaryOp)
                and isinstance(node.op, ast.USub)
                and isinstance(node.operand, ast.Constant)
                and isinstance(node.operand.value, (int, float, complex))
                and not isinstance(node.operand.value, bool)
            ):
                results[id(node)] = -node.operand.value
            else:
                what = _NODE_NAMES.get(type(node).__name__, "an expression")
                at = len(value.encode()[: node.col_offset].decode("utf-8", "ignore"))
                snippet = ast.get_source_segment(value, node) or value
                raise self.fail(
                    f"{what} is not a literal value: {snippet!r}",
                    number,
                    column + at,
                    hint=LITERAL_HINT,
                )
        return results[id(tree.body)]


def _mutable(value: Any) -> bool:
    if isinstance(value, list):
        return True
    return isinstance(value, tuple) and any(_mutable(item) for item in value)


def _copied(value: Any) -> Any:
    """``value`` with its lists copied (a literal nests at most MAX_BRACKETS deep)."""
    if isinstance(value, list):
        return [_copied(item) for item in value]
    if isinstance(value, tuple) and _mutable(value):
        return tuple(_copied(item) for item in value)
    return value


def _copy(module: Module, name: str) -> Module:
    """A full copy of ``module`` named ``name``; recursion is bounded by MAX_DEPTH."""
    return Module(
        name,
        module.kind,
        tuple(_copied(arg) for arg in module.args),
        {key: _copied(value) for key, value in module.kwargs.items()},
        tuple(_copy(child, child.name) for child in module.children),
        module.line,
    )


def parse_printed(text: str, source: str) -> Module:
    """The root module of ``text``, as print(model) shows it; InputError (placed
    ``f"{source}, line N, column C"``) for anything else. Nothing in the text is run."""
    return _Reader(source).read(text)
