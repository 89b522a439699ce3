"""Option types and option sets shared by the commands.

Tuple values accept ``,`` or ``x`` between numbers (``3,3``, ``3x3``); a single number
applies to every spatial axis. Padding also takes ``same``, ``valid`` and
``BEFORE:AFTER`` per axis (``0:1,1:1``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hw3cli.errors import InputError

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

F = TypeVar("F", bound=Callable[..., Any])

_SEPARATORS = str.maketrans("xX", ",,")


def split_values(text: str) -> list[str]:
    """``3,3`` / ``3x3`` / ``3 x 3`` -> ``['3', '3']``: split at ``,``, ``x`` or ``X`` and
    the spaces around them (no regex: one less to compile at every start)."""
    return [part.strip() for part in text.strip().translate(_SEPARATORS).split(",")]


MAX_DIGITS = 2000  # as many as a size, kernel or padding may have (hw3cli.core.conv)


def _refuse_long(part: str, text: str, what: str) -> None:
    """InputError for a number too long to be a size (Python will not even read one of
    more than 4300 digits)."""
    if len(part) > MAX_DIGITS:
        raise InputError(
            f"a number of {len(part):,} characters has more than {MAX_DIGITS} digits, "
            "more than any size",
            where=what,
        )


def parse_ints(text: str, what: str, *, allow_negative: bool = False) -> tuple[int, ...]:
    """A tuple of whole numbers, or an InputError that shows the bad part."""
    parts = split_values(text)
    values: list[int] = []
    for part in parts:
        _refuse_long(part, text, what)
        digits = part[1:] if part[:1] == ("-" if allow_negative else "+") else part
        if not (digits.isascii() and digits.isdigit()):  # no regex: one less to compile
            raise InputError(
                f"{text!r} is not a list of whole numbers ({part!r} is not one)",
                where=what,
                hint="write numbers separated by ',' or 'x', e.g. 3,3 or 3x3",
            )
        values.append(int(part))
    return tuple(values)


def parse_padding(text: str, what: str) -> tuple[tuple[int, int], ...] | str:
    """``same``, ``valid``, or per axis an integer or ``BEFORE:AFTER``."""
    rule = text.strip().lower()
    if rule in ("same", "valid"):
        return rule
    pads: list[tuple[int, int]] = []
    for part in split_values(text):
        _refuse_long(part, text, what)
        # digits, or digits:digits with spaces around the colon (no regex: one less to
        # compile at every start)
        before, colon, after = part.partition(":")
        if colon:
            before, after = before.rstrip(), after.lstrip()
        if not (before.isdecimal() and (after.isdecimal() or not colon)):
            raise InputError(
                f"{text!r} is not a padding ({part!r} is not a whole number or BEFORE:AFTER)",
                where=what,
                hint="use e.g. 1, 1,2, 0:1,1:1, same or valid",
            )
        pads.append((int(before), int(after) if colon else int(before)))
    return tuple(pads)


class Parsed(click.ParamType[Any]):
    """A value read by ``parse(text, what)``, whose InputError becomes Click's usage error
    (values already converted, such as defaults, pass through)."""

    def __init__(self, name: str, parse: Callable[[str, str], Any], done: type) -> None:
        self.name = name
        self.parse = parse
        self.done = done

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self.done):
            return value
        try:
            return self.parse(str(value), "value")
        except InputError as e:
            self.fail(e.message + (f" ({e.hint})" if e.hint else ""), param, ctx)


DELIMITER_NAMES = {
    "auto": "auto",
    "comma": ",",
    "semicolon": ";",
    "tab": "\t",
    "space": " ",
    "whitespace": " ",
}


def parse_delimiter(text: str, what: str = "--delimiter") -> str:
    """``auto``, or the one character that separates CSV values (``" "``: runs of spaces
    and tabs), from ``auto``, a name (comma, semicolon, tab, space, whitespace), ``\\t``
    or a single character other than a digit, a letter, ``.``, ``+``, ``-`` or ``"``."""
    name = text.strip().lower()
    if name in DELIMITER_NAMES:
        return DELIMITER_NAMES[name]
    if text in ("\\t", "\t"):
        return "\t"
    if len(text) == 1 and text.isspace() and text not in "\r\n":
        return " "
    if len(text) == 1 and not text.isalnum() and text not in '.+-"\r\n':
        return text
    raise InputError(
        f"{text!r} is not a delimiter",
        where=what,
        hint="give auto, comma, semicolon, tab, space, or one character such as '|' "
        "(not a digit, a letter, '.', '+', '-' or '\"')",
    )


class DelimiterType(click.ParamType[str]):
    """``auto``, a delimiter's name, or a single character."""

    name = "delimiter"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return parse_delimiter(str(value), "value")
        except InputError as e:
            self.fail(e.message + (f" ({e.hint})" if e.hint else ""), param, ctx)

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        names = ("auto", "comma", "semicolon", "tab", "space")
        return [CompletionItem(n) for n in names if n.startswith(incomplete.lower())]


class FiniteFloat(click.ParamType[float]):
    """A finite real number, optionally at least ``minimum`` (Click's float takes nan and
    inf, which would make a tolerance or an epsilon meaningless)."""

    name = "float"

    def __init__(self, minimum: float | None = None):
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{value!r} is below {self.minimum:g}", param, ctx)
        return number


FINITE = FiniteFloat()
NON_NEGATIVE = FiniteFloat(minimum=0.0)

INPUT_FORMATS = ("auto", "csv", "json", "npy", "npz")
OUTPUT_FORMATS = ("auto", "table", "json", "csv", "npz", "markdown", "latex")
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-9


class OutputPath(click.Path):
    """``-o FILE``: ``-`` (stdout), or a path that can name a file to write, checked as
    it is parsed, before anything is read (`hw3cli.tensor_io.guard.check_output_path`:
    no trailing ``/``, no file used as a folder, nothing the system cannot resolve)."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, allow_dash=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value != "-":
            from hw3cli.tensor_io.guard import check_output_path

            check_output_path(value)
        return super().convert(value, param, ctx)


INT_TUPLE = Parsed("N[,N...]", parse_ints, tuple)  # whole numbers separated by , or x
PADDING = Parsed("PADDING", parse_padding, tuple)  # N, BEFORE:AFTER, same or valid
OUTPUT = OutputPath()
DELIMITER = DelimiterType()


def format_option(choices: tuple[str, ...], default_text: str) -> Callable[[F], F]:
    """``--format`` with the command's choices (``auto`` first)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices, case_sensitive=False),
        default="auto",
        show_default=True,
        help=f"Output format. auto: a table on a terminal, otherwise {default_text}.",
    )


def layout_option(help_text: str) -> Callable[[F], F]:
    """``--layout bwhc|nhwc|nchw`` (the source document's B, W, H, C by default)."""
    from hw3cli.core.layout import LAYOUTS

    return click.option(
        "--layout",
        type=click.Choice(LAYOUTS, case_sensitive=False),
        default="bwhc",
        show_default=True,
        help=help_text,
    )


def _quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from hw3cli.output.formats import silence_stdout

        silence_stdout()


def quiet_option(f: F) -> F:
    """-q/--quiet: nothing on stdout, and on stderr only errors and failed checks (no
    warning, no passed check, no progress bar): the exit status answers."""
    return click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_quiet,
        help="Print nothing but errors and failed checks: the exit status answers "
        "(--expect, --strict, --check).",
    )(f)


def check_standalone(standalone: bool, fmt: str, output: str | None) -> None:
    """--standalone makes sense only for LaTeX output."""
    from hw3cli.output.formats import document_format

    if standalone and document_format(fmt, output) != "latex":
        raise InputError(
            "makes a LaTeX document", where="--standalone", hint="add --format latex or -o FILE.tex"
        )


def standalone_option(f: F) -> F:
    """--standalone: the LaTeX output as a whole document that compiles on its own."""
    return click.option(
        "--standalone",
        is_flag=True,
        help="With --format latex (or -o FILE.tex): a whole document that compiles on its "
        "own, not a fragment.",
    )(f)


def output_option(f: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=OUTPUT,
        default=None,
        help="Write the result to FILE (atomically) instead of stdout; "
        "the extension picks the format unless --format is given.",
    )(f)


def numeric_options(f: F) -> F:
    """--input-format, --delimiter, --expect/--rtol/--atol, --check, --format, -o, and
    the hidden --block-rows (rows computed at a time)."""
    decorators = [
        click.option(
            "--input-format",
            type=click.Choice(INPUT_FORMATS, case_sensitive=False),
            default="auto",
            show_default=True,
            help="Format of the main input; auto: by extension, then by content.",
        ),
        click.option(
            "--delimiter",
            type=DELIMITER,
            default="auto",
            show_default=True,
            help="What separates the values of every CSV read (the input, --dy, --target, "
            "--expect, ...): comma, semicolon, tab, space (runs of whitespace) or one "
            "character; auto: ';' if the first line has one, else a tab, else ',', else "
            "spaces.",
        ),
        click.option(
            "--check",
            is_flag=True,
            help="Check the analytic gradients against central differences; exit 1 if not.",
        ),
        click.option(
            "--check-entries",
            type=click.IntRange(min=1),
            default=200,
            show_default=True,
            help="Check at most this many entries per gradient, chosen at random.",
        ),
        click.option(
            "--expect",
            type=click.Path(dir_okay=False, allow_dash=False),
            default=None,
            help="Compare with your values: a JSON file with any of the output names, or a "
            "CSV of the emitted matrix; exit 1 on a mismatch.",
        ),
        click.option(
            "--rtol",
            type=NON_NEGATIVE,
            default=DEFAULT_RTOL,
            show_default=True,
            help="Relative tolerance of --expect.",
        ),
        click.option(
            "--atol",
            type=NON_NEGATIVE,
            default=DEFAULT_ATOL,
            show_default=True,
            help="Absolute tolerance of --expect.",
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(OUTPUT_FORMATS, case_sensitive=False),
            default="auto",
            show_default=True,
            help="Output format. auto: a table on a terminal, otherwise CSV for CSV input "
            "and JSON for JSON or NPY input (or by the extension of -o). markdown, latex: "
            "the derivation (--explain) alone.",
        ),
        click.option(
            "-o",
            "--output",
            type=OUTPUT,
            default=None,
            help="Write the result to FILE atomically; .json, .csv, .npz, .md or .tex picks "
            "the format.",
        ),
        click.option(
            "--standalone",
            is_flag=True,
            help="With --format latex (or -o FILE.tex): a whole document that compiles on "
            "its own, not a fragment.",
        ),
        quiet_option,
        click.option(  # rows computed at a time [default: a few MB]; tests make it small
            "--block-rows",
            type=click.IntRange(min=1),
            default=None,
            hidden=True,
        ),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


# --- counts and memory (conv-shape on stacks and models) ---------------------------------

_BYTE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_bytes(text: str, what: str) -> int:
    """A memory size: a number of bytes, or a number and a unit (``24GiB``, ``16 GB``,
    ``1.5TiB``; kB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _BYTE_UNITS:
        raise InputError(
            f"{text!r} is not a memory size",
            where=what,
            hint="write a number and a unit, e.g. 24GiB, 16GB or 8000000000",
        )
    from decimal import Decimal

    return int(Decimal(match.group(1)) * _BYTE_UNITS[unit])


COUNT_TOOLS = ("macs", "flops", "torchinfo", "fvcore", "ptflops", "thop", "flop_counter")


# the parameters `profile_options` adds, and those of them that ask for memory
PROFILE_OPTIONS = ("counts", "counts_as", "memory", "optimizer", "dtype", "amp", "fit")
MEMORY_OPTIONS = ("memory", "optimizer", "dtype", "amp", "fit")


def profile_options(f: F) -> F:
    """--counts, --counts-as, --memory, --optimizer, --dtype, --amp, --fit."""
    options = [
        click.option("--counts", is_flag=True, help="Add a table of every tool's count."),
        click.option(
            "--counts-as",
            type=click.Choice(COUNT_TOOLS, case_sensitive=False),
            default=None,
            metavar="TOOL",
            help="The count shown in the table and plain output: "
            + "|".join(COUNT_TOOLS)
            + " [default: macs].",
        ),
        click.option(
            "--memory",
            is_flag=True,
            help="Memory of a training step (weights, gradients, "
            "optimizer state, saved activations).",
        ),
        click.option(
            "--optimizer",
            type=click.Choice(("sgd", "momentum", "adam", "adamw"), case_sensitive=False),
            default="adam",
            show_default=True,
            help="Optimizer whose state --memory counts.",
        ),
        click.option(
            "--dtype",
            type=click.Choice(("float32", "float16", "bfloat16"), case_sensitive=False),
            default="float32",
            show_default=True,
            help="Data type of weights and activations for --memory.",
        ),
        click.option(
            "--amp",
            is_flag=True,
            help="Mixed precision: float32 weights and optimizer state, half activations.",
        ),
        click.option(
            "--fit",
            type=Parsed("SIZE", parse_bytes, int),
            default=None,
            metavar="SIZE",
            help="The largest batch whose training step fits in SIZE (e.g. 24GiB).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


_FROM_ENV = "hw3.environment"  # ctx.meta: option name -> (variable, value) read from it


class EnvOption(click.Option):
    """An option whose value may come from ``HW3_<COMMAND>_<OPTION>``, named after its
    long option (``--format`` -> ``HW3_CONV_SHAPE_FORMAT``, ``--dy`` -> ``HW3_BN_GRAD_DY``)
    rather than after the Python parameter behind it, as Click's ``auto_envvar_prefix``
    would; a bad value from there is an error naming the variable."""

    def env_names(self, ctx: click.Context) -> list[str]:
        prefix = ctx.auto_envvar_prefix
        if prefix is None or not self.allow_from_autoenv or not self.name:
            return []
        long = next((o for o in self.opts if o.startswith("--")), None)
        names = [f"{prefix}_{long[2:].replace('-', '_').upper()}"] if long else []
        auto = f"{prefix}_{self.name.upper()}"  # Click's own name, kept working
        return names if auto in names else [*names, auto]

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        explicit = click.Parameter.resolve_envvar_value(self, ctx)
        if explicit is not None:
            return explicit
        for name in self.env_names(ctx):
            value = os.environ.get(name)
            if value:
                assert self.name is not None
                ctx.meta.setdefault(_FROM_ENV, {})[self.name] = (name, value)
                return value
        return None

    def value_from_envvar(self, ctx: click.Context) -> Any:
        if self.multiple and isinstance(self.type, click.types.StringParamType):
            text = self.resolve_envvar_value(ctx)
            if text is None:
                return None
            return [part.strip() for part in text.split(";") if part.strip()]
        return super().value_from_envvar(ctx)

    def process_value(self, ctx: click.Context, value: Any) -> Any:
        try:
            return super().process_value(ctx, value)
        except click.BadParameter as e:
            found = environment_value(ctx, self.name)
            if found is None or ctx.get_parameter_source(self.name or "") not in (
                None,
                click.core.ParameterSource.ENVIRONMENT,
            ):
                raise
            name, text = found
            raise click.BadParameter(
                e.message, ctx=ctx, param_hint=f"{name}={text!r} (from the environment)"
            ) from None


def environment_value(ctx: click.Context, name: str | None) -> tuple[str, str] | None:
    """(variable, value) when option ``name`` took its value from the environment."""
    found: dict[str, tuple[str, str]] = ctx.meta.get(_FROM_ENV, {})
    return found.get(name or "")


class Command(click.Command):
    """A hw3 command: every option can come from the environment (`EnvOption`), and an
    error about an option that came from there names the variable and its value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is click.Option:
                param.__class__ = EnvOption

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as e:
            raise _from_environment(ctx, self, e) from None


def _from_environment(ctx: click.Context, command: click.Command, e: InputError) -> InputError:
    """``e`` with the option it names (``--gamma``) replaced by the variable it came
    from (``HW3_BN_GRAD_GAMMA='1,x'``)."""
    where = e.where or ""
    for param in command.params:
        found = environment_value(ctx, param.name)
        if found is None or ctx.get_parameter_source(param.name or "") is not (
            click.core.ParameterSource.ENVIRONMENT
        ):
            continue
        variable, text = found
        for option in param.opts:
            for place in (f"{option} {text}", option):
                if where == place or where.startswith((place + ":", place + " ")):
                    named = f"{variable}={text!r}" + where[len(place) :]
                    return type(e)(e.message, where=named, hint=e.hint)
    return e
