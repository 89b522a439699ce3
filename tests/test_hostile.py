"""Hostile input, one test per case: hw3 answers at once with a result or an ``Error:``
(exit 2), never hangs, never shows a traceback, and never destroys a file.

The cases are those a script author meets: absurd option values, deeply nested JSON,
Ctrl-C and SIGTERM, ``-o`` naming an input, a scalar where a matrix belongs, ``| head``,
a typo in the first CSV row, and other delimiters. Processes that must be real (signals,
pipes, ``/dev/full``) run the installed ``hw3``; the rest run in-process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import assert_clean_error, hw3_executable, invoke, run_hw3

X_CSV = "a,b,c\n1,2,3\n4,5,7\n"
DY_CSV = "a,b,c\n0.5,-1,2\n1.5,1,-2\n"


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    """x.csv and dy.csv (two samples, three named features) in a fresh folder."""
    (tmp_path / "x.csv").write_text(X_CSV)
    (tmp_path / "dy.csv").write_text(DY_CSV)
    return tmp_path


# --- bounded work -----------------------------------------------------------------------


def test_min_input_of_a_huge_layer_is_closed_form() -> None:
    # One convolution needs i >= k' = 99999999999999 for one output pixel (stride plays
    # no part: floor((i - k)/s) + 1 >= 1 exactly when i >= k).
    result = invoke(["conv-shape", "--min-input", "--layer", "conv k=99999999999999 s=99999999999"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "99999999999999x99999999999999"


def test_diagram_of_a_huge_axis_is_bounded() -> None:
    result = invoke(["conv-shape", "--input", "100000000", "--kernel", "3", "--diagram"])
    if result.exit_code == 0:
        lines = result.stdout.splitlines()
        assert len(lines) < 40
        assert max(map(len, lines)) <= 200
        assert "output 99999998" in lines[0]  # (100000000 - 3)/1 + 1
    else:
        assert "diagram" in assert_clean_error(result)


def test_target_with_a_huge_stride_is_closed_form() -> None:
    # floor((10 + P - 3) / s) + 1 = 1 holds for P = 0 whenever s > 7.
    result = invoke(
        ["conv-shape", "--input", "10", "--kernel", "3", "--stride", "99999999999", "--target", "1"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "0:0"


# --- deep nesting, scalars --------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["conv-shape", "--input", "8", "--net", "{file}"],
        ["bn-grad", "{file}"],
        ["softmax-grad", "{file}", "--labels", "0"],
    ],
)
def test_json_nested_too_deeply(tmp_path: Path, command: list[str]) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    result = invoke([arg.replace("{file}", str(deep)) for arg in command])
    assert "nested too deeply" in assert_clean_error(result)


def test_scalar_where_a_matrix_belongs() -> None:
    result = invoke(["bn-grad"], json.dumps({"x": 0, "dy": 0}))
    stderr = assert_clean_error(result)
    assert "x" in stderr
    assert "m x D" in stderr or "rank" in stderr


# --- -o never destroys an input ---------------------------------------------------------


@pytest.mark.parametrize("target", ["x.csv", "dy.csv"])
def test_output_over_an_input_is_refused(
    batch: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(batch)
    result = invoke(["bn-grad", "x.csv", "--dy", "dy.csv", "-o", target])
    assert "would overwrite" in assert_clean_error(result)
    assert (batch / "x.csv").read_text() == X_CSV
    assert (batch / "dy.csv").read_text() == DY_CSV


def _bn_grad_to(batch: Path, output: str) -> Result:
    """bn-grad of the batch's x.csv and dy.csv, written to ``-o output`` in that folder."""
    return invoke(
        ["bn-grad", str(batch / "x.csv"), "--dy", str(batch / "dy.csv"), "-o", str(batch / output)]
    )


def test_output_over_a_hard_link_or_symlink_of_an_input_is_refused(batch: Path) -> None:
    os.link(batch / "x.csv", batch / "hard.csv")
    os.symlink(batch / "x.csv", batch / "soft.csv")
    for alias in ("hard.csv", "soft.csv"):
        result = _bn_grad_to(batch, alias)
        assert "would overwrite the input" in assert_clean_error(result)
    assert (batch / "x.csv").read_text() == X_CSV


def test_output_over_redirected_stdin_is_refused(batch: Path) -> None:
    with open(batch / "x.csv") as stdin:
        proc = subprocess.run(
            [hw3_executable(), "bn-grad", "--dy", "dy.csv", "-o", "x.csv"],
            stdin=stdin,
            capture_output=True,
            text=True,
            cwd=batch,
            timeout=60,
            check=False,
        )
    assert "standard input" in assert_clean_error(proc)
    assert (batch / "x.csv").read_text() == X_CSV


def test_output_to_another_file_still_works(batch: Path) -> None:
    result = _bn_grad_to(batch, "dx.csv")
    assert result.exit_code == 0, result.stderr
    assert (batch / "dx.csv").read_text().startswith("a,b,c\n")


# --- CSV: the first row, delimiters -----------------------------------------------------


def test_first_row_with_a_typo_is_an_error_not_a_header(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1,2,3a\n4,5,6\n7,8,10\n")
    (tmp_path / "dy.csv").write_text("1,2,3\n4,5,6\n7,8,10\n")
    result = invoke(["bn-grad", str(tmp_path / "x.csv"), "--dy", str(tmp_path / "dy.csv")])
    assert "row 1, column 3: '3a' is not a number" in assert_clean_error(result)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_other_delimiters_are_detected(tmp_path: Path, sep: str) -> None:
    comma = "1,2,3\n4,5,6\n7,8,10\n"
    (tmp_path / "x.csv").write_text(comma.replace(",", sep))
    (tmp_path / "dy.csv").write_text(comma)
    (tmp_path / "ref.csv").write_text(comma)
    other = invoke(["bn-grad", str(tmp_path / "x.csv"), "--dy", str(tmp_path / "dy.csv")])
    same = invoke(["bn-grad", str(tmp_path / "ref.csv"), "--dy", str(tmp_path / "dy.csv")])
    assert other.exit_code == 0, other.stderr
    assert other.stdout == same.stdout
    assert len(other.stdout.splitlines()) == 3  # no row taken as a header


def test_an_unknown_delimiter_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1|2|3\n4|5|6\n")
    result = invoke(["bn-grad", str(tmp_path / "x.csv"), "--dy", str(tmp_path / "x.csv")])
    assert "'|'" in assert_clean_error(result)


# --- real processes: signals, pipes, a full disk ----------------------------------------


def _wait_until_numpy_is_loaded(pid: int) -> None:
    """NumPy is imported after the signal handlers are set: once it is mapped, hw3 reads."""
    deadline = time.monotonic() + 30
    maps = Path(f"/proc/{pid}/maps")
    while "_multiarray_umath" not in maps.read_text():
        if time.monotonic() > deadline:
            pytest.fail("hw3 did not start within 30 s")
        time.sleep(0.01)
    time.sleep(0.2)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGHUP, 129), (signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_interrupt_exits_quietly_and_leaves_the_output_alone(
    batch: Path, signum: int, status: int
) -> None:
    (batch / "out.csv").write_text("old\n")
    proc = subprocess.Popen(
        [hw3_executable(), "bn-grad", "--dy", "dy.csv", "-o", "out.csv"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=batch,
    )
    assert proc.stdin is not None
    proc.stdin.write(b"a,b,c\n1,2,3\n")  # and the rest never comes: hw3 waits for it
    proc.stdin.flush()
    _wait_until_numpy_is_loaded(proc.pid)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == status
    assert out == b""
    assert err.decode().splitlines() == [f"hw3: interrupted by {signal.Signals(signum).name}"]
    assert (batch / "out.csv").read_text() == "old\n"
    assert sorted(p.name for p in batch.iterdir()) == ["dy.csv", "out.csv", "x.csv"]


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGHUP, 129), (signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_interrupt_while_the_output_is_written_leaves_no_temporary_file(
    tmp_path: Path, signum: int, status: int
) -> None:
    """The signal arrives once the temporary file beside -o exists (one row computed and
    written at a time, so that writing lasts): it is removed, the old file stays."""
    big = _big_batch(tmp_path)
    (tmp_path / "out.csv").write_text("old\n")
    proc = subprocess.Popen(
        [hw3_executable(), "bn-grad", str(big), "--dy", str(big), "--block-rows", "1"]
        + ["-o", "out.csv"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".hw3-*.tmp")):
        assert proc.poll() is None, "hw3 ended before it wrote"
        assert time.monotonic() < deadline, "no temporary file within 30 s"
        time.sleep(0.005)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    assert err.decode().splitlines() == [f"hw3: interrupted by {signal.Signals(signum).name}"]
    assert (tmp_path / "out.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "out.csv"]


def _big_batch(folder: Path) -> Path:
    """A CSV of 5,000 rows: its dx (about 300 kB) overflows any pipe buffer."""
    rows = "\n".join(f"{i % 7},{i % 5 - 2},{(i * 37) % 11}" for i in range(5000))
    path = folder / "big.csv"
    path.write_text("a,b,c\n" + rows + "\n")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["bn-grad", "big.csv", "--dy", "big.csv"],
        ["bn-grad", "big.csv", "--dy", "big.csv", "--format", "json"],
        ["bn-grad", "big.csv", "--dy", "big.csv", "--format", "table"],
        ["softmax-grad", "big.csv", "--labels", ",".join(["1"] * 5000)],
        ["softmax-grad", "big.csv", "--labels", ",".join(["1"] * 5000), "--format", "table"],
    ],
)
def test_reader_closing_the_pipe_ends_hw3_with_status_0(tmp_path: Path, args: list[str]) -> None:
    proc = _into_head(tmp_path, [hw3_executable(), *args])
    assert (proc.returncode, proc.stderr) == (0, "")
    assert len(proc.stdout.splitlines()) == 1


def _into_head(folder: Path, command: list[str]) -> subprocess.CompletedProcess[str]:
    """``command | head -1`` under ``set -o pipefail``, beside a big batch in ``folder``."""
    _big_batch(folder)
    return _piped(folder, command, "| head -1")


def _piped(folder: Path, command: list[str], sink: str) -> subprocess.CompletedProcess[str]:
    """``command`` followed by the shell words ``sink`` (``| head -1``, ``> /dev/full``),
    under ``set -o pipefail``, in ``folder``."""
    quoted = " ".join(f"'{a}'" for a in command)
    return subprocess.run(
        ["bash", "-c", f"set -o pipefail; {quoted} {sink}"],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ["conv-shape", "--input", "32", "--kernel", "3"],
        ["conv-shape", "--input", "32", "--kernel", "3", "--format", "table"],
        ["bn-grad", "x.csv", "--dy", "dy.csv"],
        ["bn-grad", "x.csv", "--dy", "dy.csv", "--format", "json"],
    ],
)
def test_full_disk_is_an_error_that_says_writing_failed(batch: Path, args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [hw3_executable(), *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=batch,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 2
    assert proc.stderr == "Error: stdout: writing the output failed: No space left on device\n"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_to_a_device_is_written_in_place(batch: Path) -> None:
    result = run_hw3(
        ["bn-grad", str(batch / "x.csv"), "--dy", str(batch / "dy.csv"), "-o", "/dev/full"]
    )
    assert "writing the output failed" in assert_clean_error(result)
    assert Path("/dev/full").is_char_device()  # not replaced by a regular file
    result = run_hw3(
        ["bn-grad", str(batch / "x.csv"), "--dy", str(batch / "dy.csv"), "-o", "/dev/null"]
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert Path("/dev/null").is_char_device()


@pytest.mark.parametrize("stdout", ["| head -c 2000000 > /dev/null", "> /dev/full"])
def test_an_output_of_several_frames_stops_cleanly_at_a_closed_pipe_or_a_full_disk(
    tmp_path: Path, stdout: str
) -> None:
    """CSV rows go out 40,960 at a time, written by polars into stdout itself: the pipe
    closing after the first frame (about 1.6 MB), or a full disk, ends hw3 as with one frame."""
    rows = "\n".join(f"{i % 7},{i % 5 - 2}" for i in range(100_000))
    (tmp_path / "x.csv").write_text("a,b\n" + rows + "\n")
    proc = _piped(tmp_path, [hw3_executable(), "bn-grad", "x.csv", "--dy", "x.csv"], stdout)
    if "full" in stdout:
        assert (proc.returncode, proc.stderr) == (
            2,
            "Error: stdout: writing the output failed: No space left on device\n",
        )
    else:
        assert (proc.returncode, proc.stderr) == (0, "")


def test_python_m_behaves_the_same_on_a_closed_pipe(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "hw3cli", "bn-grad", "big.csv", "--dy", "big.csv"]
    proc = _into_head(tmp_path, command)
    assert (proc.returncode, proc.stderr) == (0, "")


# --- option values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--eps", "nan"),
        ("--eps", "inf"),
        ("--eps", "1e400"),
        ("--momentum", "-inf"),
        ("--rtol", "nan"),
        ("--atol", "inf"),  # would make every --expect pass
        ("--rtol", "-1"),
    ],
)
def test_float_options_must_be_finite(option: str, value: str) -> None:
    result = invoke(
        ["bn-grad", option, value], json.dumps({"x": [[1, 2], [3, 5]], "dy": [[1, 0], [0, 1]]})
    )
    stderr = assert_clean_error(result)
    assert f"Invalid value for '{option}'" in stderr


def test_label_smoothing_must_be_finite() -> None:
    result = invoke(["softmax-grad", "--label-smoothing", "nan", "--labels", "0"], "1,2\n")
    assert "Invalid value for '--label-smoothing'" in assert_clean_error(result)


@pytest.mark.parametrize("option", ["--input", "--kernel", "--padding", "--stride"])
def test_a_number_too_long_for_python_is_refused(option: str) -> None:
    args = {"--input": "9", "--kernel": "3"}
    args[option] = "9" * 5000  # Python itself refuses to read more than 4300 digits
    flat = [word for pair in args.items() for word in pair]
    result = invoke(["conv-shape", *flat])
    assert "more than 2000 digits" in assert_clean_error(result)


def test_a_check_beyond_a_second_or_two_is_refused_before_it_starts(tmp_path: Path) -> None:
    from hw3cli.core.gradcheck import ENTRY_COST, MAX_WORK

    rows = "\n".join(",".join(str((r * 7 + c * 3) % 11) for c in range(50)) for r in range(400))
    (tmp_path / "x.csv").write_text(rows + "\n")
    x = str(tmp_path / "x.csv")
    result = invoke(["bn-grad", x, "--dy", x, "--check", "--check-entries", "1000000"])
    stderr = assert_clean_error(result)
    assert result.stdout == ""  # refused before anything is computed or written
    # every entry is differenced through its feature's 400 values: n entries of dx plus
    # 50 of dgamma and 50 of dbeta cost (n + 100) * (400 + ENTRY_COST) <= MAX_WORK
    fits = MAX_WORK // (400 + ENTRY_COST) - 100
    assert f"--check-entries {fits}\n" in stderr
    accepted = invoke(["bn-grad", x, "--dy", x, "--check", "--check-entries", "200"])
    assert accepted.exit_code == 0, accepted.stderr


def test_an_error_quoting_a_huge_value_stays_a_readable_line() -> None:
    value = "1" * 5000
    result = invoke(["conv-shape", "--input", "1", "--layer", f"conv k=1 out={value}"])
    stderr = assert_clean_error(result)
    first = stderr.splitlines()[0]
    assert len(first) < 800
    assert "characters)..." in first  # the middle of the value is elided, and says how much
    assert first.endswith("more than 2000 digits, more than any size")


@pytest.mark.parametrize(
    ("doc", "extra", "says"),
    [
        # a constant feature (var 0) with eps 1e-300: 1/sqrt(var + eps) = 1e150 times dy
        ({"x": [[1, 2], [1, 3]], "dy": [[1e300, 2], [3, 4]]}, ["--eps", "1e-300"], "1e-300"),
        # x spread over +-1e200: its squares (1e400) overflow before anything else
        ({"x": [[1e200, 2], [-1e200, 3]], "dy": [[1, 2], [3, 4]]}, [], "squares of x - mean"),
    ],
)
def test_overflow_names_its_cause(doc: dict[str, object], extra: list[str], says: str) -> None:
    stderr = assert_clean_error(invoke(["bn-grad", *extra], json.dumps(doc)))
    assert "overflows float64" in stderr
    assert says in stderr
