"""Hostile streams and text: closed stdin, stdout or stderr, an ASCII-only encoding, a
broken completion request, NumPy warnings, control characters from an input, values
thousands of characters long. Each ends in exit 0 or a clean ``Error:`` with exit 2
(never 70, never a traceback); text from an input never reaches the terminal raw.

The streams run the installed ``hw3`` in bash (``<&-`` closes a descriptor as a shell
does); the text cases run in-process, through the same error renderer.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw3cli.errors import MAX_LINE, displayable, escaped
from hw3cli.tensor_io.writers import csv_cell
from tests.conftest import ROOT, assert_clean_error, hw3_executable, invoke

EXAMPLES = ROOT / "examples"
# what a terminal acts on: C0 controls but the line end, DEL, C1 controls (ESC ] 0 ; ... BEL
# sets a terminal's title)
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
TITLE = "\x1b]0;pwned\x07"


def _bash(
    command: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``command`` in bash with the installed hw3 first on PATH."""
    bindir = str(Path(hw3_executable()).parent)
    full = {**os.environ, "PATH": bindir + os.pathsep + os.environ["PATH"], "NO_COLOR": "1"}
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**full, **(env or {})},
        timeout=60,
        check=False,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "x.csv").write_text("a,b,c\n1,2,3\n4,5,7\n")
    (tmp_path / "dy.csv").write_text("a,b,c\n0.5,-1,2\n1.5,1,-2\n")
    (tmp_path / "cafe.txt").write_text("Net(\n  (café): Conv2d(1, 4, kernel_size=(3, 3))\n)\n")
    return tmp_path


# --- closed standard streams ------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("hw3 bn-grad --dy dy.csv <&-", "Error: no input: standard input is closed"),
        ("hw3 conv-shape --net - --input 8x8 <&-", "Error: no --net: standard input is closed"),
        ("hw3 softmax-grad --labels 0 <&-", "Error: no logits: standard input is closed"),
    ],
)
def test_closed_stdin_is_an_error(folder: Path, command: str, says: str) -> None:
    proc = _bash(command, folder)
    assert_clean_error(proc)
    assert proc.stderr.splitlines()[0] == says


def test_closed_stdin_is_not_needed_when_files_are_given(folder: Path) -> None:
    proc = _bash("hw3 bn-grad x.csv --dy dy.csv <&-", folder)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.splitlines()[0] == "a,b,c"


@pytest.mark.parametrize(
    "args",
    [
        "conv-shape --input 32 --kernel 3",
        "conv-shape --input 32 --kernel 3 --format json",
        "conv-shape --input 32 --kernel 3 --format table",
        "conv-shape --net cafe.txt --input 8x8 --format csv",
        "bn-grad x.csv --dy dy.csv",
        "bn-grad x.csv --dy dy.csv --format json",
        "softmax-grad x.csv --labels 0,1 --format table",
        "completion bash",
        "--help",
        "--version",
    ],
)
def test_closed_stdout_is_an_error(folder: Path, args: str) -> None:
    proc = _bash(f"hw3 {args} >&-", folder)
    assert_clean_error(proc)
    assert "standard output is closed" in proc.stderr.splitlines()[-1]


def test_closed_stdout_is_not_needed_with_an_output_file(folder: Path) -> None:
    proc = _bash("hw3 bn-grad x.csv --dy dy.csv -o dx.csv >&-", folder)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert (folder / "dx.csv").read_text().startswith("a,b,c\n")


@pytest.mark.parametrize(
    ("args", "status"),
    [("bn-grad x.csv --dy dy.csv", 0), ("bn-grad missing.csv --dy dy.csv", 2)],
)
def test_closed_stderr_keeps_the_exit_status(folder: Path, args: str, status: int) -> None:
    proc = _bash(f"hw3 {args} 2>&-; echo status=$? >&2", folder)
    assert proc.stderr == f"status={status}\n"


# --- an ASCII-only encoding ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "table", "plain", "csv"])
def test_ascii_stdout_writes_other_characters_as_escapes(folder: Path, fmt: str) -> None:
    proc = _bash(
        f"hw3 conv-shape --net cafe.txt --input 8x8 --format {fmt}",
        folder,
        {"PYTHONIOENCODING": "ascii"},
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.isascii()
    if fmt in ("table", "csv"):
        assert "caf\\xe9" in proc.stdout
    if fmt == "json":  # JSON's own escape: the name reads back as café
        assert '"caf\\u00e9"' in proc.stdout


def test_ascii_stderr_shows_a_non_ascii_name(folder: Path) -> None:
    proc = _bash("hw3 conv-shape --net cafe.txt --input 2x2", folder, {"PYTHONIOENCODING": "ascii"})
    stderr = assert_clean_error(proc)
    assert stderr.startswith(("Error: café: Conv2d", "Error: caf\\xe9: Conv2d"))


# --- shell completion with a broken request ----------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {"_HW3_COMPLETE": "bash_complete", "COMP_WORDS": "hw3 conv", "COMP_CWORD": "abc"},
        {"_HW3_COMPLETE": "bash_complete", "COMP_WORDS": "hw3 conv"},
        {"_HW3_COMPLETE": "nonsense_complete", "COMP_WORDS": "hw3 conv", "COMP_CWORD": "1"},
    ],
)
def test_a_broken_completion_request_is_an_error(folder: Path, env: dict[str, str]) -> None:
    proc = _bash("hw3", folder, env)
    assert_clean_error(proc)
    assert proc.stderr.startswith("Error: shell completion failed")
    assert proc.stdout == ""


def test_a_proper_completion_request_still_completes(folder: Path) -> None:
    env = {"_HW3_COMPLETE": "bash_complete", "COMP_WORDS": "hw3 conv", "COMP_CWORD": "1"}
    proc = _bash("hw3", folder, env)
    assert (proc.returncode, proc.stderr, proc.stdout) == (0, "", "plain,conv-shape\n")


# --- NumPy's warnings ----------------------------------------------------------------------


@pytest.mark.parametrize("warnings", ["", "error"])
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            "--labels 2,0,1 --weight 1e308,1e308,1e308 --reduction mean",
            "Error: --weight: the mean's denominator, the sum of the weights of the "
            "non-ignored labels, overflows float64 (weights near 1e308)",
        ),
        (
            "--target big.csv --weight 1e308,1,1 --reduction mean",
            "Error: --weight: the loss or its gradient overflows float64 (weights or targets "
            "near 1e308)",
        ),
    ],
)
def test_overflow_is_an_error_without_a_python_warning(
    folder: Path, args: str, says: str, warnings: str
) -> None:
    """With PYTHONWARNINGS=error a warning NumPy raised would end hw3 with status 70: the
    overflow is silenced where it is computed, and then refused."""
    (folder / "big.csv").write_text("1e308,0,0\n0,1e308,0\n0,0,1e308\n")
    logits = EXAMPLES / "logits.csv"
    env = {"PYTHONWARNINGS": warnings} if warnings else {}
    proc = _bash(f"hw3 softmax-grad {logits} {args}", folder, env)
    assert_clean_error(proc)
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("Warning:")]
    assert lines[0] == says
    assert "RuntimeWarning" not in proc.stderr


def test_a_mean_of_huge_but_finite_weights_is_computed() -> None:
    """Weights 1e307 sum to 3e307: the mean is the unweighted mean (every weight equal)."""
    logits = str(EXAMPLES / "logits.csv")
    plain = invoke(["softmax-grad", logits, "--labels", "2,0,1", "--reduction", "mean"])
    weighted = invoke(
        ["softmax-grad", logits, "--labels", "2,0,1", "--reduction", "mean"]
        + ["--weight", "1e307,1e307,1e307"]
    )
    assert (weighted.exit_code, weighted.stderr) == (0, "")
    got = [float(v) for line in weighted.stdout.split() for v in line.split(",")]
    want = [float(v) for line in plain.stdout.split() for v in line.split(",")]
    assert got == pytest.approx(want, rel=1e-12)


# --- control characters from an input ------------------------------------------------------


def _model(path: Path, name: str) -> str:
    path.write_text(f"Net(\n  ({name}): Conv2d(1, 4, kernel_size=(3, 3))\n)\n")
    return str(path)


def test_an_error_shows_control_characters_escaped(tmp_path: Path) -> None:
    model = _model(tmp_path / "m.txt", f"a{TITLE}b")
    stderr = assert_clean_error(invoke(["conv-shape", "--net", model, "--input", "2x2"]))
    assert not RAW_CONTROL.search(stderr)
    assert stderr.startswith("Error: a\\x1b]0;pwned\\x07b: Conv2d")


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_tables_and_csv_show_control_characters_escaped(tmp_path: Path, fmt: str) -> None:
    model = _model(tmp_path / "m.txt", f"a{TITLE}b")
    result = invoke(["conv-shape", "--net", model, "--input", "8x8", "--format", fmt])
    assert result.exit_code == 0, result.stderr
    assert not RAW_CONTROL.search(result.stdout)
    assert "a\\x1b]0;pwned\\x07b" in result.stdout


@pytest.mark.parametrize("fmt", ["plain", "table", "csv"])
def test_a_stack_layer_name_is_written_escaped(tmp_path: Path, fmt: str) -> None:
    """A JSON stack's layer name, with --explain (plain text names each layer)."""
    net = tmp_path / "net.json"
    net.write_text(json.dumps([{"name": f"a{TITLE}b", "kernel": 3, "out_channels": 4}]))
    result = invoke(
        ["conv-shape", "--net", str(net), "--input", "8x8", "--explain"] + ["--format", fmt]
    )
    assert result.exit_code == 0, result.stderr
    assert not RAW_CONTROL.search(result.stdout + result.stderr)
    assert "a\\x1b]0;pwned\\x07b" in result.stdout


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_a_csv_header_is_written_escaped(tmp_path: Path, fmt: str) -> None:
    header = "a\x1b]2\x07,b\u202ec,d\x1b[31m"
    x = tmp_path / "x.csv"
    x.write_text(f"{header}\n1,2,3\n4,5,7\n")
    result = invoke(["bn-grad", str(x), "--dy", str(x), "--format", fmt, "--emit", "mean"])
    assert result.exit_code == 0, result.stderr
    assert not RAW_CONTROL.search(result.stdout)
    assert "\u202e" not in result.stdout
    if fmt == "csv":
        assert result.stdout.splitlines()[0] == "a\\x1b]2\\x07,b\\u202ec,d\\x1b[31m"


@given(st.text())
def test_displayable_text_has_no_control_characters_and_short_lines(text: str) -> None:
    shown = displayable(text)
    assert not RAW_CONTROL.search(shown)
    assert all(len(line) <= MAX_LINE for line in shown.split("\n"))
    assert displayable(shown) == shown  # showing twice changes nothing
    if len(text) <= 100 and "\\" not in text:  # short text loses nothing: it reads back
        assert _unescaped(shown) == text


def _unescaped(shown: str) -> str:
    return re.sub(r"\\x([0-9a-f]{2})|\\u([0-9a-f]{4})", lambda m: chr(int(m[1] or m[2], 16)), shown)


@given(st.text())
def test_a_csv_text_cell_reads_back_as_its_escaped_text(text: str) -> None:
    cell = csv_cell(text)
    assert not RAW_CONTROL.search(cell)
    (row,) = csv.reader(io.StringIO(cell + "," + cell + "\n"))
    assert row == [escaped(text)] * 2


# --- very long values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["bn-grad", "x.csv", "--dy", "x.csv"], {"HW3_BN_GRAD_EPS": "9" * 5000 + "x"}),
        (["conv-shape", "--input", "3", "--kernel", "3", "--" + "k" * 5000], {}),
        (["conv-shape", "--input", "3", "--kernel", "3", "--layout", "k" * 5000], {}),
        (["k" * 5000], {}),
        (["conv-shape", "--input", "1", "--layer", "conv k=1 out=" + "1" * 5000], {}),
    ],
)
def test_a_value_thousands_of_characters_long_is_cut(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    (tmp_path / "x.csv").write_text("1,2\n3,4\n")
    before = os.getcwd()
    os.chdir(tmp_path)
    try:
        stderr = assert_clean_error(invoke(args, **env))
    finally:
        os.chdir(before)
    assert len(stderr) < 1500
    assert all(len(line) <= MAX_LINE for line in stderr.splitlines())
    assert "characters)..." in stderr
