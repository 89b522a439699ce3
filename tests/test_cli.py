"""The command frame: version, help, python -m, error mapping, colour, start-up imports."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys

import click
import pytest

from hw3cli import __version__
from hw3cli.cli import COMMANDS, INTERNAL_ERROR_EXIT, Interrupted, cli, main
from tests.conftest import ROOT, assert_clean_error, invoke, run_hw3


def test_version() -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"hw3 {__version__} (Python ")


def test_help_lists_commands_and_examples() -> None:
    for flag in ("-h", "--help"):
        result = invoke([flag])
        assert result.exit_code == 0
        assert "conv-shape" in result.stdout
        assert "completion" in result.stdout
        assert "Exit status" in result.stdout


def test_every_command_has_help_with_examples() -> None:
    for name in COMMANDS:
        result = invoke([name, "-h"])
        assert result.exit_code == 0, name
        assert f"hw3 {name}" in result.stdout or "hw3 completion" in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    assert_clean_error(invoke(["no-such-command"]))


def test_python_dash_m_is_the_same_program() -> None:
    args = ["conv-shape", "--input", "32x32", "--kernel", "3,3"]
    proc = subprocess.run(
        [sys.executable, "-m", "hw3cli", *args], capture_output=True, text=True, check=False
    )
    assert (proc.returncode, proc.stdout) == (0, "30x30\n")
    version = subprocess.run(
        [sys.executable, "-m", "hw3cli", "--version"], capture_output=True, text=True, check=False
    )
    assert version.stdout.startswith(f"hw3 {__version__}")


@pytest.fixture
def broken_command() -> object:
    """A command that fails with an unexpected exception, registered for one test."""

    @cli.command("explode")
    def explode() -> None:
        raise ZeroDivisionError("boom")

    yield explode
    cli.commands.pop("explode")


def test_internal_error_is_one_line_without_traceback(broken_command: object) -> None:
    result = invoke(["explode"])
    assert result.exit_code == INTERNAL_ERROR_EXIT
    assert result.stderr.startswith("Error: internal error (ZeroDivisionError: boom)")
    assert "please report it" in result.stderr
    assert "Traceback" not in result.stderr


def test_running_out_of_memory_is_an_input_error_not_a_bug() -> None:
    @cli.command("hungry")
    def hungry() -> None:
        raise MemoryError

    try:
        stderr = assert_clean_error(invoke(["hungry"]))
    finally:
        cli.commands.pop("hungry")
    assert stderr.startswith("Error: out of memory")


def test_cannot_decide_is_exit_3_naming_the_place() -> None:
    from hw3cli.errors import Undecided

    @cli.command("undecided")
    def undecided() -> None:
        raise Undecided("a branch on a value hw3 cannot know", where="model.py:12")

    try:
        result = invoke(["undecided"])
    finally:
        cli.commands.pop("undecided")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: model.py:12: a branch on a value hw3 cannot know")
    assert "Traceback" not in result.stderr


def test_internal_error_traceback_with_debug(broken_command: object) -> None:
    with pytest.raises(ZeroDivisionError):
        invoke(["explode"], HW3_DEBUG="1")


def test_os_error_names_the_file(tmp_path: os.PathLike[str]) -> None:
    @cli.command("read-missing")
    def read_missing() -> None:
        with open(os.path.join(tmp_path, "missing.csv")) as f:
            f.read()

    try:
        stderr = assert_clean_error(invoke(["read-missing"]))
    finally:
        cli.commands.pop("read-missing")
    assert "missing.csv" in stderr


@pytest.mark.parametrize(
    ("raised", "status", "stderr"),
    [
        (Interrupted(signal.SIGINT), 130, "hw3: interrupted by SIGINT\n"),
        (Interrupted(signal.SIGTERM), 143, "hw3: interrupted by SIGTERM\n"),
        (BrokenPipeError(errno.EPIPE, "Broken pipe"), 0, ""),
    ],
)
def test_main_maps_interrupts_and_closed_pipes_to_their_statuses(
    raised: BaseException, status: int, stderr: str, capsys: pytest.CaptureFixture[str]
) -> None:
    @cli.command("stop")
    def stop() -> None:
        raise raised

    try:
        with pytest.raises(SystemExit) as stopped:
            main(["stop"])
    finally:
        cli.commands.pop("stop")
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    assert stopped.value.code == status
    assert capsys.readouterr().err == stderr


def test_piped_output_is_plain_and_uncoloured() -> None:
    proc = run_hw3(["conv-shape", "--input", "32x32", "--kernel", "3,3"], env={"NO_COLOR": ""})
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "30x30\n", "")


def test_real_pipe_into_another_program() -> None:
    from tests.conftest import hw3_executable

    shell = f"{hw3_executable()} conv-shape --input 32 --kernel 3 --format json | head -c 1"
    proc = subprocess.run(shell, shell=True, capture_output=True, text=True, check=False)
    assert proc.stdout == "{"
    assert "Traceback" not in proc.stderr


def test_error_through_real_pipes() -> None:
    proc = run_hw3(["conv-shape", "--input", "4", "--kernel", "7"])
    stderr = assert_clean_error(proc)
    assert stderr.startswith("Error: axis W: output size would be")


def _imported_modules(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    """Modules loaded by running hw3 with ``args`` in a fresh interpreter."""
    code = (
        "import sys\n"
        "from hw3cli.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stdout.flush()\n"
        "print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
        cwd=ROOT,
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("MODULES "))
    return set(line.split()[1:])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["conv-shape", "--help"],
        ["conv-shape", "--input", "32x32", "--kernel", "3", "--format", "plain"],
        ["conv-shape", "--input", "32x32", "--kernel", "3", "--format", "json", "--explain"],
        ["conv-shape", "--input", "4", "--kernel", "7", "--format", "plain"],
        ["conv-shape", "--input", "224", "--net", "examples/alexnet.json", "--format", "json"],
        ["conv-shape", "--input", "32", "--layer", "conv k=3", "--format", "plain"],
        ["conv-shape", "--net", "examples/vgg16.json", "--min-input"],
        ["conv-shape", "--input", "32", "--net", "examples/models/lenet.py", "--format", "json"],
        ["conv-shape", "--input", "28", "--net", "examples/models/lenet.py", "--format", "plain"],
    ],
)
def test_fast_paths_import_neither_numpy_nor_rich(args: list[str]) -> None:
    modules = _imported_modules(args)
    assert "numpy" not in modules
    assert "rich" not in modules


def test_tab_completion_imports_neither_numpy_nor_rich() -> None:
    env = {"_HW3_COMPLETE": "bash_complete", "COMP_WORDS": "hw3 conv-shape --", "COMP_CWORD": "2"}
    modules = _imported_modules([], env)
    assert "numpy" not in modules
    assert "rich" not in modules


def test_table_imports_rich() -> None:
    # the check above is not vacuous: drawing a table does load Rich
    modules = _imported_modules(
        ["conv-shape", "--input", "8", "--kernel", "3", "--format", "table"]
    )
    assert "rich" in modules


def test_the_help_list_of_commands_is_each_commands_short_help() -> None:
    # `hw3 --help` lists the commands from cli.SHORT_HELP without importing them
    from hw3cli.cli import COMMANDS, SHORT_HELP, cli

    assert set(SHORT_HELP) == set(COMMANDS)
    ctx = click.Context(cli)
    for name, text in SHORT_HELP.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.short_help == text
        assert f"  {name}" in invoke(["--help"]).stdout


def test_defaults_from_the_environment_and_the_command_line_wins() -> None:
    # Click's auto_envvar_prefix: HW3_<COMMAND>_<OPTION>
    args = ["conv-shape", "--input", "32x32", "--kernel", "3", "--format", "json"]
    env_only = invoke(args, HW3_CONV_SHAPE_LAYOUT="nchw")
    assert '"layout": "NCHW"' in env_only.stdout
    both = invoke([*args, "--layout", "nhwc"], HW3_CONV_SHAPE_LAYOUT="nchw")
    assert '"layout": "NHWC"' in both.stdout
    assert "HW3_CONV_SHAPE_LAYOUT" in invoke(["--help"]).stdout


@pytest.mark.parametrize(
    ("args", "stdin", "code"),
    [
        (["conv-shape", "--input", "32x32", "--kernel", "3", "-q"], None, 0),
        (
            ["conv-shape", "--input", "32x32", "--kernel", "3", "--quiet", "--expect", "30x30"],
            None,
            0,
        ),
        (["conv-shape", "--input", "32x32", "--kernel", "3", "-q", "--expect", "31x31"], None, 1),
        (
            ["conv-shape", "--input", "32", "--kernel", "3", "--stride", "2", "-q", "--strict"],
            None,
            1,
        ),
        (
            ["bn-grad", "-q", "--check"],
            '{"x": [[1, 2], [3, 5], [4, 4]], "dy": [[1, 0], [0, 1], [1, 1]]}',
            0,
        ),
        (["softmax-grad", "-q", "--labels", "0"], '{"logits": [[1.0, 2.0]]}', 0),
        (["completion", "bash", "-q"], None, 0),
    ],
)
def test_quiet_prints_nothing_on_stdout(args: list[str], stdin: str | None, code: int) -> None:
    result = invoke(args, stdin)
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    if code == 1:  # a failed assertion still says why, on stderr
        assert "--expect" in result.stderr or "--strict" in result.stderr


@pytest.mark.parametrize(
    ("typed", "meant"), [("conv", "conv-shape"), ("bn", "bn-grad"), ("sofmax-grad", "softmax-grad")]
)
def test_a_near_command_name_is_suggested(typed: str, meant: str) -> None:
    result = invoke([typed, "--input", "3"])
    assert result.exit_code == 2
    assert f"did you mean {meant!r}? hw3 {meant} --input 3" in result.stderr


def test_messages_agree_in_number() -> None:
    # "1 label for 2 rows", never "1 labels"; the dropped-pixel hint fits a stack
    result = invoke(
        ["softmax-grad", "--labels", "0", "--format", "json"], '{"logits": [[1, 2], [3, 4]]}'
    )
    assert "1 label for 2 rows of logits" in result.stderr
    stack = invoke(["conv-shape", "--input", "32", "--layer", "conv k=3 s=2"])
    assert "pad 1 more after (padding 0:1)" in stack.stderr and "--padding same" not in stack.stderr
    pool = invoke(["conv-shape", "--input", "7", "--kernel", "2", "--pool", "max"])
    assert "use ceil mode" in pool.stderr


def test_values_without_their_option_get_the_option_they_belong_to() -> None:
    err = assert_clean_error(invoke(["conv-shape", "32x32", "3x3"]))
    assert "unexpected values 32x32 3x3" in err
    assert "hw3 conv-shape --input 32x32 --kernel 3x3" in err and "Usage:" not in err
    err = assert_clean_error(invoke(["bn-grad", "x.csv", "dy.csv"]))
    assert "--dy dy.csv" in err
