"""The ``hw3`` command group: a lazy command table and the one place errors become exits.

Subcommand modules are imported only when their command runs (or when ``--help`` lists
them), and none of them imports NumPy or Rich at module level, so ``hw3 --help``, a
plain ``conv-shape`` and tab completion start as fast as Click itself.

Exit statuses: 0 success; 1 a check the user asked for failed; 2 bad usage or input
(and an output that cannot be written); 3 hw3 cannot decide (the input does not
determine the answer: what stopped it is named, nothing is guessed); 70 an internal
error (a bug: the message asks to report it; ``HW3_DEBUG=1`` shows the traceback); 129,
130 and 143 interrupted by SIGHUP, SIGINT or SIGTERM (temporary files removed, an
existing ``-o`` file untouched). A reader that closes the pipe early (``hw3 ... | head``)
ends hw3 quietly with status 0, as ripgrep and fd do. A closed standard stream is an
error of its own (``standard output is closed``), never a crash.

Every message, hw3's or Click's, reaches stderr through `LazyGroup.main`, which shows
control characters escaped (``\\x1b``) and cuts every line to a readable length
(`hw3cli.errors.displayable`).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # (no stub: see INTERRUPTS)
import contextlib
import errno
import importlib
import io
import os
import re
import sys
import warnings
from collections.abc import Sequence
from gettext import gettext
from types import FrameType
from typing import Any, NoReturn

import click

from hw3cli import __version__
from hw3cli.errors import CheckFailed, InputError, Undecided, displayable

INTERNAL_ERROR_EXIT = 70

# name -> (module, attribute); imported on first use.
COMMANDS: dict[str, tuple[str, str]] = {
    "conv-shape": ("hw3cli.commands.conv_shape", "conv_shape"),
    "bn-grad": ("hw3cli.commands.bn_grad", "bn_grad"),
    "softmax-grad": ("hw3cli.commands.softmax_grad", "softmax_grad"),
    "completion": ("hw3cli.commands.completion", "completion"),
}
# each command's short_help, so that `hw3 --help` imports no command (a test holds them equal)
SHORT_HELP = {
    "conv-shape": "Output shape of a layer or a stack of layers.",
    "bn-grad": "Batch-norm forward and backward.",
    "softmax-grad": "Softmax, cross-entropy and dL/dz.",
    "completion": "Print a shell completion script.",
}


def _untranslated(message: str) -> str:
    return message


# Click passes its own words (help texts, type names) through gettext, whose first lookup
# imports locale and searches the disk for a catalogue: milliseconds of every start-up,
# for a translation that no catalogue provides (Click ships none, hw3 installs none).
for _module in (click.core, click.decorators, click.types):
    if getattr(_module, "_", None) is gettext:
        _module._ = _untranslated  # type: ignore[attr-defined]

CONTEXT_SETTINGS: dict[str, Any] = {
    "help_option_names": ["-h", "--help"],
    "max_content_width": 100,
    # every option's default may come from HW3_<COMMAND>_<OPTION> (HW3_CONV_SHAPE_LAYOUT)
    "auto_envvar_prefix": "HW3",
}


class ReportedError(click.ClickException):
    """An InputError on its way out through Click: ``Error: ...`` on stderr, exit 2."""

    exit_code = InputError.exit_code


class ReportedUndecided(ReportedError):
    """hw3 cannot decide (``Undecided``): ``Error: ...`` on stderr, exit 3."""

    exit_code = Undecided.exit_code


class ReportedCheck(ReportedError):
    """A failed check: ``Error: ...`` on stderr, exit 1."""

    exit_code = CheckFailed.exit_code


class ReportedBug(ReportedError):
    """An unexpected exception: one line asking for a report, exit 70."""

    exit_code = INTERNAL_ERROR_EXIT


class PipeClosed(BaseException):
    """The reader of stdout went away (``| head``); not an Exception, so that Click does
    not turn it into its own exit status 1."""


class Interrupted(BaseException):
    """SIGHUP, SIGINT or SIGTERM arrived; unwinding removes temporary files on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size finds it (COLUMNS, then the
    terminal, then 80), without importing shutil, which loads zlib, bz2 and lzma."""
    text = os.environ.get("COLUMNS", "")
    if text.isascii() and text.isdecimal() and len(text) < 6 and int(text) > 0:
        return int(text)
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _Context(click.Context):
    """Click's context, with the width of help text known at once (Click would import
    shutil to find it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.terminal_width is None:
            self.terminal_width = _columns()


class LazyGroup(click.Group):
    """A group whose commands are imported when first needed (Click's lazy-loading recipe)."""

    context_class = _Context

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's main, with the one error renderer of hw3: everything Click would print
        for an error (hw3's own, and Click's, such as an invalid value read from the
        environment) is shown through `displayable`, and a failure of shell completion
        (a broken ``COMP_CWORD``) is an error, not a traceback."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            returned = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as e:
            shown = io.StringIO()
            e.show(file=shown)
            click.echo(displayable(shown.getvalue().rstrip("\n")), err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except (Exception, SystemExit) as e:  # shell completion runs outside invoke
            completing = any(k.startswith("_HW3") and k.endswith("_COMPLETE") for k in os.environ)
            if not completing or (isinstance(e, SystemExit) and e.code in (0, None)):
                raise
            text = displayable(f"{type(e).__name__}: {e}")
            click.echo(
                f"Error: shell completion failed ({text}): _HW3_COMPLETE, COMP_WORDS and "
                "COMP_CWORD are not what hw3's completion script sets",
                err=True,
            )
            sys.exit(InputError.exit_code)
        sys.exit(returned if isinstance(returned, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of commands, from `SHORT_HELP`: without importing them all."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, SHORT_HELP[name]) for name in self.list_commands(ctx)])

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Click's, with the command meant named when a prefix or a near spelling was
        typed (``hw3 conv`` -> conv-shape)."""
        name = args[0] if args else ""
        known = name in COMMANDS or name.startswith("-") or ctx.resilient_parsing
        if name and not known:
            import difflib

            meant = [c for c in COMMANDS if c.startswith(name)] or difflib.get_close_matches(
                name, list(COMMANDS), n=1, cutoff=0.5
            )
            if meant:
                suggestion = " ".join(["hw3", meant[0], *args[1:]])
                raise click.UsageError(
                    f"no command {name!r}; did you mean {meant[0]!r}? {suggestion}", ctx
                )
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        guard = sys.modules.get("hw3cli.tensor_io.guard")
        if guard is not None:  # the inputs of a command run before in this process
            guard.forget_all()
        try:
            return self._invoke(ctx)
        except Undecided as e:
            raise ReportedUndecided(e.render()) from None
        except InputError as e:
            raise ReportedError(e.render()) from None
        except CheckFailed as e:
            raise ReportedCheck(e.message) from None
        except click.UsageError as e:
            extra = re.search(_EXTRA, e.message)
            if extra is None or e.ctx is None or e.ctx.command.name not in COMMANDS:
                raise
            raise ReportedError(
                _extra_arguments(e.ctx.command.name, e.ctx.args or extra.group(1).split()).render()
            ) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except MemoryError:
            raise ReportedError(
                "out of memory: the input is too large for this machine's memory"
            ) from None
        except OSError as e:
            if e.errno == errno.EPIPE:
                raise PipeClosed from None
            raise ReportedError(_os_error_text(e)) from None
        except Exception as e:
            if os.environ.get("HW3_DEBUG"):
                raise
            raise ReportedBug(
                f"internal error ({type(e).__name__}: {e}). This is a bug in hw3 "
                f"{__version__}: please report it with the command you ran; "
                "HW3_DEBUG=1 shows the traceback."
            ) from None

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        finally:  # a progress bar goes before an error is written
            if "hw3cli.output.progress" in sys.modules:
                sys.modules["hw3cli.output.progress"].stop()


# patterns of the error paths, compiled (by re's cache) only when one is taken
_EXTRA = r"unexpected extra arguments? \((.*)\)"
_SIZE = r"^\d+([x,]\d+)*$"


def _extra_arguments(command: str, values: list[str]) -> InputError:
    """Click's "unexpected extra arguments", as an error with the options the values
    probably belong to."""
    shown = " ".join(values)
    if command == "conv-shape" and values and all(re.match(_SIZE, v) for v in values):
        options = ["--input", "--kernel", "--stride", "--padding"]
        fixed = " ".join(f"{o} {v}" for o, v in zip(options, values, strict=False))
        hint = f"sizes follow their option: hw3 conv-shape {fixed}"
    elif command in ("bn-grad", "softmax-grad") and len(values) == 1:
        option = "--dy" if command == "bn-grad" else "--target"
        hint = f"one file is the input; give the other with {option}: {option} {values[0]}"
    else:
        hint = f"see hw3 {command} --help for the options"
    return InputError(f"unexpected values {shown} (every value follows its option)", hint=hint)


def _os_error_text(e: OSError) -> str:
    where = f"{e.filename}: " if e.filename else ""
    return f"{where}{e.strerror or e}"


def _version_text() -> str:
    python = ".".join(map(str, sys.version_info[:3]))
    try:
        from importlib.metadata import version

        numpy = version("numpy")
    except Exception:  # noqa: BLE001 - a missing NumPy must not break --version
        numpy = "not installed"
    return f"hw3 {__version__} (Python {python}, NumPy {numpy})"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_text())
        ctx.exit()


EPILOG = """\b
Examples:
  hw3 conv-shape --input 32x32 --kernel 3,3
  hw3 conv-shape --input 224 --kernel 3 --stride 2 --padding same --explain
  cat examples/x.csv | hw3 bn-grad --dy examples/dy.csv > dx.csv
  hw3 softmax-grad examples/logits.csv --labels 2,0,1

\b
Exit status: 0 success, 1 a requested check failed (--strict, --expect,
--check), 2 bad usage or input, 3 hw3 cannot decide (what stopped it is
named), 70 an internal error (please report it).
Defaults from the environment: HW3_<COMMAND>_<OPTION>, e.g.
HW3_CONV_SHAPE_LAYOUT=nchw; an option on the command line wins.
Run 'hw3 COMMAND -h' for the options and examples of a command.
"""


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS, epilog=EPILOG)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print 'hw3 X.Y.Z' and the Python and NumPy versions, then exit.",
)
def cli() -> None:
    """Shapes and gradients of the building blocks of convolutional networks.

    Output sizes of convolution and pooling layers, batch-norm forward and backward,
    softmax with cross-entropy and its gradient: exact, checked against numerical
    gradients, as tables for people and as plain text, CSV or JSON for scripts.
    """


def main(args: list[str] | None = None, prog_name: str = "hw3") -> NoReturn:
    """Console-script entry point: the exit statuses of the module docstring."""
    _standard_streams()
    if not sys.warnoptions:  # -W or PYTHONWARNINGS (development) shows them
        # hw3 speaks through Error: and Warning: lines; a Python warning (NumPy's
        # RuntimeWarning, with a file path and a source line) is for developers, and
        # every overflow it would report is checked and refused where it is computed
        warnings.simplefilter("ignore")
    for signum in INTERRUPTS:
        _signal.signal(signum, _interrupt)
    try:
        try:
            cli.main(args=args, prog_name=prog_name)
        finally:
            if sys.stdout is not None:
                sys.stdout.flush()  # what is still buffered, while errors can be reported
    except (PipeClosed, BrokenPipeError):
        _discard_stdout()
        sys.exit(0)
    except Interrupted as e:
        _discard_stdout()
        with contextlib.suppress(OSError, ValueError):  # SIGHUP: the terminal may be gone
            sys.stderr.write(f"hw3: interrupted by {_SIGNAL_NAMES[e.signum]}\n")
            sys.stderr.flush()
        sys.exit(128 + e.signum)
    except OSError as e:  # the last flush of stdout failed (a full disk)
        _discard_stdout()
        sys.stderr.write(f"Error: stdout: writing the output failed: {e.strerror or e}\n")
        sys.exit(InputError.exit_code)
    raise AssertionError("unreachable: Click's standalone mode always exits")  # pragma: no cover


# a closed terminal or ssh session (SIGHUP), Ctrl-C, kill: each unwinds like an error.
# (``_signal`` is the C module under ``signal``: the same functions and numbers, without
# the enums ``signal`` builds from them, a tenth of hw3's own start-up.)
_SIGNAL_NAMES = {
    getattr(_signal, name): name
    for name in ("SIGHUP", "SIGINT", "SIGTERM")
    if hasattr(_signal, name)
}
INTERRUPTS = tuple(_SIGNAL_NAMES)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    for other in INTERRUPTS:  # a second signal must not cut the clean-up
        _signal.signal(other, _signal.SIG_IGN)
    raise Interrupted(signum)


class _ClosedStdout(io.TextIOBase):
    """Standard output when the shell closed it (``>&-``): writing is an error that says
    so (exit 2), while a command writing to ``-o FILE`` runs as usual."""

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed; write the result with -o FILE")


class _Nowhere(io.TextIOBase):
    """Standard error when the shell closed it (``2>&-``): messages go nowhere, the exit
    status still tells."""

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


def _standard_streams() -> None:
    """Descriptors 0, 1 and 2 each hold something (/dev/null where the shell closed one),
    so that no file hw3 opens takes their place; Python leaves a closed stream None:
    stdin stays None (a reader says "standard input is closed"), stdout refuses writes,
    stderr discards. Characters stdout's encoding cannot write (``PYTHONIOENCODING=ascii``,
    a file name that is not UTF-8) are written as escapes (``\\xe9``), as on stderr."""
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            with contextlib.suppress(OSError):
                opened = os.open(os.devnull, mode)
                if opened != fd:
                    os.dup2(opened, fd)
                    os.close(opened)
    if sys.stdout is None:
        sys.stdout = _ClosedStdout()
    elif isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    if sys.stderr is None:
        sys.stderr = _Nowhere()


def _discard_stdout() -> None:
    """Send what stdout still buffers to /dev/null, so that the interpreter's last flush
    neither fails nor prints to a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
