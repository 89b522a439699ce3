"""Fuzz tests of every reader and option parser, in-process through ``invoke``.

Each ``@given`` test feeds one command line (and the bytes of its input) to hw3 and holds
it to the contract of the README's "Exit status": exit 0 with a correct result, or exit 2
with an ``Error:`` line on stderr, or exit 1 only when a check was asked for
(``--check``, ``--expect``, ``--strict``); never 70 (an internal error), never a
traceback, and an answer within ``TIME_LIMIT`` seconds (a hang detector, not a speed
test: SIGALRM raises inside hw3).

"Correct" is checked where it is cheap to state without hw3's code: the output size of a
plain or transposed convolution from the README's formula (`Layer.output`); bn-grad's
dx, whose columns sum to 0, with one row per row of numbers in the input (read here with
the standard libraries); softmax-grad's probabilities, whose rows sum to 1, and its
gradient, whose rows sum to 0.

The cases: random bytes; mutated valid CSV, JSON, NPY, NPZ and ``--net`` files; random
values of every option. The number of examples follows the Hypothesis profile and
``HW3_FUZZ_EXAMPLES`` (see tests/conftest.py). A failure found is added as an
``@example`` of the test that found it, so that every run replays it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import resource
import shlex
import signal
import subprocess
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pytest
from click.testing import Result
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from hw3cli.commands._layers import NET_KEYS
from tests.conftest import ROOT, fuzz_examples, hw3_executable, invoke

Matrix = npt.NDArray[np.float64]

TIME_LIMIT = 20.0  # seconds per invocation: generous, since machines are shared
CHECK_OPTIONS = ("--check", "--expect", "--strict")
QUIET_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)
INPUT_FORMATS = ("auto", "csv", "json", "npy", "npz")
BOM = b"\xef\xbb\xbf"
HUGE = ("1" + "0" * 20, "1" + "0" * 400, "1" * 5000)  # 10**20, 10**400, 5000 digits
# fullwidth 3 and Arabic-Indic 3 (decimal digits: int() reads them), superscript 2 and
# circled 1 (digits to str.isdigit, not to int())
UNICODE_DIGITS = ("\uff13", "\u0663", "\u00b2", "\u2460")
T = TypeVar("T")


def mostly(valid: st.SearchStrategy[T], hostile: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """``valid`` three times in four, else ``hostile``; shrinks towards ``valid``, so that
    a shrunk failure shows only the values that matter."""
    return st.integers(0, 3).flatmap(lambda i: hostile if i == 3 else valid)


# --- running hw3 under the contract -------------------------------------------------------


class Hang(BaseException):
    """Raised by the alarm inside hw3; a BaseException, so that no ``except Exception``
    of hw3 (or Click) turns it into an ordinary error."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread when the block runs longer than ``seconds``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(_signum: int, _frame: FrameType | None) -> None:
        raise Hang

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def command_line(args: Sequence[str], stdin: bytes | None = None) -> str:
    shown = "hw3 " + shlex.join(args)
    shown = shown if len(shown) <= 600 else shown[:600] + "..."
    if stdin is not None:
        shown += f"  (stdin: {stdin[:300]!r}{'...' if len(stdin) > 300 else ''})"
    return shown


def run(args: Sequence[str], stdin: bytes | None = None, **env: str) -> Result:
    """hw3 in-process, held to the contract; the result for further checks."""
    try:
        with time_limit(TIME_LIMIT), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = invoke(list(args), stdin, **env)
    except Hang:
        pytest.fail(f"no answer within {TIME_LIMIT:g} s: {command_line(args, stdin)}")
    shown = (
        f"{command_line(args, stdin)}\nexit status {result.exit_code}\n"
        f"stderr: {result.stderr[-1500:]}\nstdout: {result.stdout[:500]}"
    )
    event(f"exit status {result.exit_code}")
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert result.exit_code != 70, shown
    asked = any(a.split("=")[0] in CHECK_OPTIONS for a in args)
    # 3: hw3 cannot decide (e.g. --input 3x8x8: three channels or a volume), never a guess
    assert result.exit_code in ((0, 1, 2, 3) if asked else (0, 2, 3)), shown
    if result.exit_code != 0:
        assert any(line.startswith("Error:") for line in result.stderr.splitlines()), shown
    # A Python warning (NumPy's "RuntimeWarning: overflow ...") is printed on stderr with
    # a file name and a line of source: internals, as a traceback is.
    shown_to_users = [w for w in caught if not issubclass(w.category, QUIET_WARNINGS)]
    assert not shown_to_users, (shown, [f"{w.category.__name__}: {w.message}" for w in caught])
    return result


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the files of the examples (each example overwrites them)."""
    return tmp_path_factory.mktemp("fuzz")


def write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


# --- independent readers and result checks -------------------------------------------------


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def simple_csv(data: bytes) -> Matrix | None:
    """Rows of finite numbers as the README and ``--help`` describe CSV: the delimiter is
    ';' if the first line has one, else a tab, else ',', else runs of spaces; a first row
    of names is a header; blank lines are skipped. None when the text is not that simple
    (quotes, a bad cell, ragged rows)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    if not lines or '"' in text:
        return None
    delimiter = next((d for d in ";\t," if d in lines[0]), None)
    rows = [line.split(delimiter) for line in lines]
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return None
    width = len(rows[0])
    if all(_number(cell) is None for cell in rows[0]):
        rows = rows[1:]
    values = [[_number(cell) for cell in row] for row in rows]
    if not values or any(len(row) != width or None in row for row in values):
        return None
    return np.array(values, dtype=np.float64)


def _json_array(value: Any) -> Matrix | None:
    if isinstance(value, np.ndarray) and value.dtype.kind not in "iuf":
        return None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        return None
    return array if array.size and np.isfinite(array).all() else None


def independent_array(data: bytes, fmt: str, key: str) -> Matrix | None:
    """The main array (``key`` of JSON and NPZ) read with the standard libraries."""
    if fmt == "csv":
        return simple_csv(data)
    if fmt == "json":
        try:
            doc = json.loads(data.decode("utf-8-sig"), parse_constant=lambda c: None)
        except (ValueError, RecursionError):
            return None
        value = doc.get(key) if isinstance(doc, dict) else doc
        return _json_array(value)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = np.load(io.BytesIO(data), allow_pickle=False)
            array = loaded[key] if fmt == "npz" else loaded
        return _json_array(array)
    except Exception:  # noqa: BLE001 - whatever NumPy raises for a damaged file
        return None


def content_format(data: bytes) -> str:
    """The README's "auto" on standard input: the format from the content."""
    if data.startswith(b"\x93NUMPY"):
        return "npy"
    if data.startswith(b"PK\x03\x04"):
        return "npz"
    return "json" if data.lstrip(BOM + b" \t\r\n")[:1] in (b"{", b"[") else "csv"


def csv_output(text: str) -> Matrix:
    """hw3's CSV output as a matrix (a header row of names dropped)."""
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if rows and any(_number(cell) is None for cell in rows[0]):
        rows = rows[1:]
    return np.array([[float(cell) for cell in row] for row in rows], dtype=np.float64)


def result_matrix(result: Result, fmt: str, name: str) -> Matrix:
    """The matrix ``name`` of a CSV (the emitted one) or JSON output."""
    if fmt == "csv":
        return csv_output(result.stdout)
    return np.asarray(json.loads(result.stdout)[name], dtype=np.float64)


def assert_dx_sums_to_zero(dx: Matrix, channel_axis: int, shown: str) -> None:
    """Each feature's dx sums to 0: |sum| <= 1e-6 (1 + sum |dx|)."""
    assert np.isfinite(dx).all(), shown
    if dx.ndim == 1:
        dx = dx.reshape(-1, 1)
        channel_axis = 1
    others = tuple(a for a in range(dx.ndim) if a != channel_axis % dx.ndim)
    sums, sizes = dx.sum(axis=others), np.abs(dx).sum(axis=others)
    assert (np.abs(sums) <= 1e-6 * (1 + sizes)).all(), (shown, sums, sizes)


def assert_rows_sum_to_zero(grad: Matrix, shown: str) -> None:
    """dL/dz_j = (sum_c w_c t'_c) p_j - w_j t'_j: each row sums to 0 (for any weights,
    smoothing, reduction), since the p_j sum to 1."""
    assert np.isfinite(grad).all(), shown
    sums, sizes = grad.sum(axis=-1), np.abs(grad).sum(axis=-1)
    assert (np.abs(sums) <= 1e-9 * (1 + sizes)).all(), (shown, sums)


def assert_rows_sum_to_one(probs: Matrix, shown: str) -> None:
    assert np.isfinite(probs).all() and (probs >= 0).all(), shown
    assert np.allclose(probs.sum(axis=-1), 1.0, rtol=0, atol=1e-9), (shown, probs.sum(axis=-1))


# --- 1. random bytes --------------------------------------------------------------------

random_bytes = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=120).map(lambda t: t.encode("utf-8")),
    st.text("0123456789.,;-+eE \t\n\r", max_size=80).map(str.encode),
    st.text('0123456789.,-e []{}"xdy:logitsarge\n', max_size=80).map(str.encode),
    st.builds(
        bytes.__add__,
        st.sampled_from(
            [b"\x93NUMPY", b"\x93NUMPY\x01\x00", b"\x93NUMPY\x03\x00", b"PK\x03\x04", b"{", b"["]
            + [BOM, b"1,2\n", b"a,b\n1,2\n"]
        ),
        st.binary(max_size=200),
    ),
)


@settings(max_examples=fuzz_examples(2))
@given(
    data=random_bytes,
    command=st.sampled_from(["bn-grad", "softmax-grad"]),
    via=st.sampled_from(["stdin", "file"]),
    input_format=st.sampled_from(INPUT_FORMATS),
)
def test_random_bytes(
    workdir: Path, data: bytes, command: str, via: str, input_format: str
) -> None:
    path = write(workdir, "random", data)
    main = [path] if via == "file" else []
    extra = ["--dy", path] if command == "bn-grad" else ["--labels", "0"]
    args = [command, *main, "--input-format", input_format, *extra, "--format", "json"]
    result = run(args, data if via == "stdin" else None)
    if result.exit_code == 0 and command == "bn-grad":
        out = json.loads(result.stdout)
        assert_dx_sums_to_zero(np.asarray(out["dx"], dtype=np.float64), -1, command_line(args))
    elif result.exit_code == 0:
        assert_rows_sum_to_one(result_matrix(result, "json", "probs"), command_line(args))
        assert_rows_sum_to_zero(result_matrix(result, "json", "grad"), command_line(args))


@pytest.mark.parametrize(
    "args",
    [
        ["bn-grad", "/dev/zero", "--dy", "{x}"],
        ["bn-grad", "{x}", "--dy", "{x}", "--gamma", "/dev/zero"],
        ["conv-shape", "--input", "8", "--net", "/dev/zero"],
    ],
)
def test_endless_input_file(tmp_path: Path, args: list[str]) -> None:
    """A file that never ends (a device) is refused with exit 2 and an Error: line, not
    read until memory runs out. The installed hw3 runs in a child process whose address
    space is limited to 1 GiB, so that the test cannot take the machine's memory."""
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    x = write(tmp_path, "x.csv", b"a,b\n1,2\n3,5\n")

    def limit_memory() -> None:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        soft = 1024**3 if hard == resource.RLIM_INFINITY else min(1024**3, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))

    command = [hw3_executable(), *(a.replace("{x}", x) for a in args)]
    env = {**os.environ, "NO_COLOR": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            preexec_fn=limit_memory,
            timeout=TIME_LIMIT * 3,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"no answer within {TIME_LIMIT * 3:g} s: {shlex.join(command)}")
    stderr = done.stderr.decode(errors="replace")
    shown = f"{shlex.join(command)}\nexit status {done.returncode}\nstderr: {stderr[-800:]}"
    assert done.returncode == 2, shown
    assert "Traceback" not in stderr and stderr.startswith("Error:"), shown


# --- 2. mutated valid inputs ------------------------------------------------------------

TOKENS = [
    b"NaN",
    b"nan",
    b"Infinity",
    b"1e309",
    b"-1e309",
    b"-0",
    BOM,
    b"\r\n",
    b"\r",
    b"\x00",
    b"1" * 5000,
    b"[" * 101,
    b"[" * 100_000,
    b"{",
    b"}",
    b"]",
    b",",
    b";",
    b"\t",
    b" ",
    b"\n",
    b"\n\n",
    b'"',
    b"-",
    b"e",
    b".",
    b"1e400",
    b"null",
    b"true",
    b'"x"',
    b"1_0",
    "\u0663".encode(),
    "\uff13".encode(),
]
NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _positions(draw: st.DrawFn, data: bytes) -> int:
    """A position in ``data``: anywhere, or near the start (where the headers are)."""
    return draw(st.integers(0, len(data)) | st.integers(0, min(len(data), 140)))


def mutate(draw: st.DrawFn, data: bytes) -> bytes:
    """One random mutation of ``data``."""
    kind = draw(
        st.sampled_from(
            [
                "delete",
                "insert",
                "replace",
                "token",
                "number",
                "truncate",
                "crlf",
                "bom",
                "duplicate line",
                "empty lines",
                "nest",
                "npy header",
            ]
        )
    )
    if kind == "npy header":
        return npy_header(draw, data)
    i = _positions(draw, data)
    if kind == "delete":
        j = draw(st.integers(i, min(len(data), i + 16)))
        return data[:i] + data[j:]
    if kind == "insert":
        return data[:i] + draw(st.binary(min_size=1, max_size=4)) + data[i:]
    if kind == "replace" and data:
        i = min(i, len(data) - 1)
        return data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
    if kind == "token":
        return data[:i] + draw(st.sampled_from(TOKENS)) + data[i:]
    if kind == "number":
        spans = [m.span() for m in NUMBER.finditer(data)]
        if spans:
            a, b = draw(st.sampled_from(spans))
            return data[:a] + draw(st.sampled_from(TOKENS)) + data[b:]
        return data
    if kind == "truncate":
        return data[:i]
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "bom":
        return BOM + data
    lines = data.splitlines(keepends=True)
    if kind == "duplicate line" and lines:
        k = draw(st.integers(0, len(lines) - 1))
        return b"".join(lines[: k + 1] + [lines[k]] + lines[k + 1 :])
    if kind == "empty lines":
        k = draw(st.integers(0, len(lines)))
        return b"".join(
            lines[:k] + [draw(st.sampled_from([b"\n", b"\r\n", b"\n\n", b" \n"]))] + lines[k:]
        )
    if kind == "nest":
        n = draw(st.sampled_from([1, 2, 30, 101, 5000]))
        return data[:i] + b"[" * n + data[i:] + draw(st.sampled_from([b"", b"]" * n]))
    return data


NPY_HEADER = re.compile(rb"\A\x93NUMPY\x01\x00(..)", re.DOTALL)
npy_descr = st.sampled_from(
    ["'<f8'", "'<f4'", "'<f2'", "'>f8'", "'<i8'", "'|u1'", "'|b1'", "'<c16'", "'|O'", "'<U3'"]
    + ["'|V8'", "[('a', '<f8')]", "'<M8[D]'", "'float64'", "'xyz'", "3", "'<f8'"]
)
npy_shape = st.sampled_from(
    ["(0, 2)", "(0, 100000000000000000000)", "(100000000000000000000, 0)", "(-1, 2)", "()"]
    + ["(0, 9223372036854775807)", "(3.0, 2)", "(True, 2)", "[3, 2]", "(1,) * 3", "(3, 2)"]
    + ["(" + "1, " * 33 + ")", "(100000000000000000000,)", "(2, 2, 2, 2)", "(4,)", "(2, 3)"]
)
npy_fortran = st.sampled_from(["False", "True", "0", "None"])


def npy_header(draw: st.DrawFn, data: bytes) -> bytes:
    """A .npy file (version 1.0) with a new header dict and the data bytes kept (or cut): a
    dtype, a shape and a fortran_order that may not fit them (or anything)."""
    m = NPY_HEADER.match(data)
    if not m:
        return data
    payload = data[10 + int.from_bytes(m.group(1), "little") :]
    payload = payload[: draw(st.sampled_from([len(payload), 0, len(payload) // 2]))]
    fields = f"'descr': {draw(npy_descr)}, 'fortran_order': {draw(npy_fortran)}, "
    fields += f"'shape': {draw(npy_shape)}, " + draw(st.sampled_from(["", "", "'x': 1, "]))
    return npy_file("{" + fields + "}", payload)


def npy_file(header: str, payload: bytes = b"") -> bytes:
    """A .npy file, version 1.0, of this header dict and these data bytes."""
    text = header.encode("latin1")
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + payload


small_numbers = st.one_of(
    st.integers(-9, 9).map(float),
    st.floats(-100, 100, allow_nan=False).map(lambda v: round(v, 3)),
)


@st.composite
def matrices(draw: st.DrawFn, classes: bool = False) -> list[list[float]]:
    rows = draw(st.integers(2, 4))
    cols = draw(st.integers(2 if classes else 1, 3))
    return [[draw(small_numbers) for _ in range(cols)] for _ in range(rows)]


HEADER_NAMES = ["a", "b", "c", "[bold]", "[/]", "x y", "\u00e9t\u00e9", "", "n" * 80, "1a"]


@st.composite
def csv_bytes(draw: st.DrawFn, matrix: list[list[float]]) -> bytes:
    """CSV text of ``matrix``: ',', ';', tab or space between values, maybe a header."""
    sep = draw(st.sampled_from([",", ",", ";", "\t", " "]))
    width = len(matrix[0])
    names = ["abcd"[c] for c in range(width)]
    header = draw(
        mostly(
            st.just(names), st.lists(st.sampled_from(HEADER_NAMES), min_size=width, max_size=width)
        )
    )
    lines = [sep.join(header)] if draw(st.booleans()) else []
    lines += [sep.join(repr(v) for v in row) for row in matrix]
    return (draw(st.sampled_from(["\n", "\r\n"])).join(lines) + "\n").encode()


NPY_DTYPES = ["<f8", "<f8", "<f4", "<f2", ">f8", "<i8", "|i1", "|u1", "|b1", "<c16", "<U3"]


def npy_bytes(array: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@st.composite
def npy_of(draw: st.DrawFn, matrix: Any) -> bytes:
    """A .npy file of ``matrix``, now and then in another dtype or shape, or Fortran order."""
    array = np.asarray(matrix)
    dtype = draw(mostly(st.just("<f8"), st.sampled_from(NPY_DTYPES)))
    reshape = draw(mostly(st.just("same"), st.sampled_from(["flat", "scalar", "empty", "3-d"])))
    if reshape == "flat":
        array = array.reshape(-1)
    elif reshape == "scalar":
        array = array.reshape(-1)[0]
    elif reshape == "empty":
        array = array[:0]
    elif reshape == "3-d":
        array = array.reshape(1, *array.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a cast to an integer, a bool or strings
        array = np.asarray(array).astype(dtype)
    if draw(st.booleans()):
        array = np.asfortranarray(array)
    return npy_bytes(array)


@st.composite
def npz_of(draw: st.DrawFn, /, **arrays: Any) -> bytes:
    """An .npz archive as np.savez writes it (stored or deflated), its members possibly
    mutated .npy files, now and then with a member of another name or kind."""
    members = {f"{name}.npy": draw(npy_of(value)) for name, value in arrays.items()}
    for name in sorted(members):
        if draw(st.integers(0, 3)) == 3:
            members[name] = npy_header(draw, members[name])
        if draw(st.integers(0, 3)) == 3:
            members[name] = mutate(draw, members[name])
    extra = draw(mostly(st.just(""), st.sampled_from(["notes.txt", "gamma.npy", "dir/", "x"])))
    if extra:
        members[extra] = draw(npy_of([1.0, 2.0])) if extra.endswith(".npy") else b"hello"
    compression = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@dataclass(frozen=True)
class Case:
    """One invocation: the arguments (``{file}`` stands for the input file's path), the
    input's bytes, its kind (csv, json, npy, npz) and whether it comes on stdin."""

    args: tuple[str, ...]
    data: bytes
    kind: str
    stdin: bool = False


def _seed(draw: st.DrawFn, command: str, kind: str) -> bytes:
    x: Any = draw(matrices(classes=command == "softmax-grad"))
    if command == "bn-grad" and kind in ("json", "npz") and draw(st.integers(0, 3)) == 3:
        x = np.asarray(x).reshape(len(x), -1, 1, 1).tolist()  # rank 4, channels last
    if kind == "csv":
        return draw(csv_bytes(x))
    if kind == "npy":
        return draw(npy_of(x))
    if command == "bn-grad":
        dy = np.asarray(draw(st.lists(small_numbers, min_size=np.size(x), max_size=np.size(x))))
        dy = dy.reshape(np.shape(x)).tolist()
        if kind == "json":
            return json.dumps({"x": x, "dy": dy}).encode()
        return draw(npz_of(x=x, dy=dy))
    labels = [draw(st.integers(0, len(x[0]) - 1)) for _ in x]
    if kind == "json":
        return json.dumps({"logits": x, "target": labels}).encode()
    return draw(npz_of(logits=x, target=labels))


@st.composite
def mutated_inputs(draw: st.DrawFn) -> Case:
    command = draw(st.sampled_from(["bn-grad", "softmax-grad"]))
    kind = draw(st.sampled_from(["csv", "json", "npy", "npz"]))
    data = _seed(draw, command, kind)
    if kind == "npy" and draw(st.integers(0, 3)) == 3:
        data = npy_header(draw, data)
    for _ in range(draw(st.integers(0, 1 if kind == "npz" else 3))):
        data = mutate(draw, data)
    stdin = draw(st.booleans())
    out = draw(st.sampled_from(["csv", "json", "table"]))
    args = [command] + ([] if stdin else ["{file}"])
    if kind in ("csv", "npy"):
        if command == "bn-grad":
            args += ["--dy", "{file}"]
        else:
            x = independent_array(data, kind, "logits")
            rows = x.shape[0] if x is not None and x.ndim == 2 else 3
            args += ["--labels", ",".join(["0"] * rows)]
    args += ["--format", out]
    if command == "softmax-grad" and out == "csv":
        args += ["--emit", draw(st.sampled_from(["grad", "probs"]))]
    if kind == "csv" and draw(st.integers(0, 3)) == 3:
        names = ["auto", "comma", "semicolon", "tab", "space", "|"]
        args += ["--delimiter", draw(st.sampled_from(names))]
    return Case(tuple(args), data, kind, stdin)


def case_args(case: Case, workdir: Path) -> tuple[list[str], bytes | None]:
    path = write(workdir, f"input.{case.kind}", case.data)
    return [a.replace("{file}", path) for a in case.args], case.data if case.stdin else None


NPY_EMPTY_HUGE = npy_file(f"{{'descr': '<f8', 'fortran_order': False, 'shape': (0, {10**20})}}")


@settings(max_examples=fuzz_examples(3))
@given(case=mutated_inputs())
@example(  # was exit 70: ValueError: Maximum allowed dimension exceeded
    case=Case(("bn-grad", "{file}", "--dy", "{file}", "--format", "csv"), NPY_EMPTY_HUGE, "npy")
)
def test_mutated_valid_inputs(workdir: Path, case: Case) -> None:
    args, stdin = case_args(case, workdir)
    result = run(args, stdin)
    if result.exit_code != 0:
        return
    shown = command_line(args, stdin)
    fmt = args[args.index("--format") + 1]
    if fmt == "table":
        return
    command = args[0]
    source = content_format(case.data) if case.stdin else case.kind
    x = independent_array(case.data, source, "x" if command == "bn-grad" else "logits")
    if command == "bn-grad":
        out = result_matrix(result, fmt, "dx")
        assert_dx_sums_to_zero(out, -1, shown)
    elif fmt == "json" or "probs" in args:
        out = result_matrix(result, fmt, "probs")
        assert_rows_sum_to_one(out, shown)
    else:
        out = result_matrix(result, fmt, "grad")
    if command == "softmax-grad" and (fmt == "json" or "grad" in args):
        assert_rows_sum_to_zero(result_matrix(result, fmt, "grad"), shown)
    detected = _option(args, "--delimiter") in (None, "auto")
    if x is not None and x.ndim == 2 and detected:  # no row lost, none made up
        assert out.shape == x.shape, (shown, out.shape, x.shape)


NET_SEED = (ROOT / "examples" / "alexnet.json").read_bytes()


@st.composite
def mutated_nets(draw: st.DrawFn) -> bytes:
    data = NET_SEED
    for _ in range(draw(st.integers(1, 3))):
        data = mutate(draw, data)
    return data


@settings(max_examples=fuzz_examples(2))
@given(
    net=mutated_nets(),
    extra=st.sampled_from(
        [
            ["--format", "plain"],
            ["--format", "json"],
            ["--format", "table"],
            ["--min-input"],
            ["--explain", "--format", "json"],
        ]
    ),
)
def test_mutated_net_file(workdir: Path, net: bytes, extra: list[str]) -> None:
    path = write(workdir, "net.json", net)
    run(["conv-shape", "--input", "224x224", "--in-channels", "3", "--net", path, *extra])


# --- 3. conv-shape option values --------------------------------------------------------

small_sizes = st.integers(0, 12).map(str)
atoms = st.one_of(
    small_sizes,
    st.integers(13, 300).map(str),
    st.sampled_from(["0", "-1", "-0", "+2", *UNICODE_DIGITS, "1.5", "1e3", "nan", "", " ", *HUGE]),
)
separators = st.sampled_from([",", "x", "X", ":", " x ", ", ", ";", " ", ""])
junk = st.text(max_size=6)


@st.composite
def tuples(
    draw: st.DrawFn,
    parts: st.SearchStrategy[str] = atoms,
    between: st.SearchStrategy[str] = separators,
) -> str:
    """1 to 3 values joined by one separator."""
    return draw(between).join(draw(st.lists(parts, min_size=1, max_size=3)))


def sizes(low: int, high: int) -> st.SearchStrategy[str]:
    """Mostly the option syntax with values in [low, high]; else huge, negative, unicode,
    empty, badly separated values, or junk."""
    valid = tuples(st.integers(low, high).map(str), st.sampled_from(["x", ","]))
    return mostly(valid, tuples() | junk)


pads = st.builds("{}:{}".format, st.integers(0, 3), st.integers(0, 3))
padding_values = mostly(
    tuples(st.integers(0, 3).map(str) | pads, st.sampled_from([",", "x"]))
    | st.sampled_from(["same", "valid"]),
    tuples(pads | atoms) | st.sampled_from(["SAME", " same ", "1:2:3", ":", "0:"]) | junk,
)
count_values = mostly(
    st.integers(1, 8).map(str), st.sampled_from(["0", "-1", "", " 2", *HUGE]) | junk
)

CONV_OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--stride": sizes(1, 4),
    "--padding": padding_values,
    "--dilation": sizes(1, 3),
    "--output-padding": sizes(0, 2),
    "--groups": mostly(st.sampled_from(["1", "2"]), count_values),
    "--in-channels": count_values,
    "--out-channels": count_values,
    "--batch": count_values,
    "--target": sizes(1, 40),
    "--expect": sizes(1, 40),
    "--pool": mostly(st.sampled_from(["max", "avg"]), st.sampled_from(["MAX", "min", ""])),
    "--layout": mostly(st.sampled_from(["bwhc", "nhwc", "nchw"]), st.sampled_from(["NCHW", ""])),
    "--format": mostly(
        st.sampled_from(["json", "plain", "table", "auto"]), st.sampled_from(["csv", ""])
    ),
    "--axis": st.sampled_from(["W", "H", "D", "w", "X", ""]),
}
CONV_FLAGS = ["--ceil-mode", "--transposed", "--min-input", "--diagram", "--explain", "--strict"]


@st.composite
def conv_shape_args(draw: st.DrawFn) -> list[str]:
    """--input and --kernel (each left out now and then), up to 4 other options, and up to
    2 flags."""
    args = ["conv-shape"]
    if draw(st.integers(0, 9)) != 9:
        args.append("--input=" + draw(sizes(1, 64)))
    if draw(st.integers(0, 9)) != 9:
        args.append("--kernel=" + draw(sizes(1, 7)))
    names = draw(st.lists(st.sampled_from(sorted(CONV_OPTIONS)), max_size=4, unique=True))
    args += [f"{name}={draw(CONV_OPTIONS[name])}" for name in names]
    args += draw(st.lists(st.sampled_from(CONV_FLAGS), max_size=2, unique=True))
    return args


ASCII_TUPLE = re.compile(r"\d+(?:\s*[,xX]\s*\d+)*", re.ASCII)
ASCII_PAD = re.compile(r"(\d+)(?:\s*:\s*(\d+))?", re.ASCII)


def _option(args: Sequence[str], name: str) -> str | None:
    """The last value of option ``name``, given as ``name=value`` or ``name value``."""
    found = None
    for i, arg in enumerate(args):
        if arg.startswith(name + "="):
            found = arg.split("=", 1)[1]
        elif arg == name and i + 1 < len(args):
            found = args[i + 1]
    return found


def _ints(text: str | None, default: str | None = None) -> tuple[int, ...] | None:
    """The README's tuple syntax with ASCII digits: numbers separated by , or x."""
    text = default if text is None else text
    if text is None or not ASCII_TUPLE.fullmatch(text.strip()):
        return None
    numbers = re.findall(r"\d+", text, re.ASCII)
    return None if any(len(n) > 1000 for n in numbers) else tuple(map(int, numbers))


def _pads(text: str | None) -> tuple[tuple[int, int], ...] | None:
    if text is None or text.strip().lower() == "valid":
        return ((0, 0),)
    pads = []
    for part in re.split(r"\s*[,xX]\s*", text.strip()):
        m = ASCII_PAD.fullmatch(part)
        if not m or len(part) > 1000:
            return None
        before = int(m.group(1))
        pads.append((before, int(m.group(2)) if m.group(2) else before))
    return tuple(pads)


def _per_axis(values: tuple[Any, ...], n: int) -> tuple[Any, ...] | None:
    """One value for every axis, or one per axis; None for any other length (refused)."""
    if len(values) == 1:
        return values * n
    return values if len(values) == n else None


@dataclass(frozen=True)
class Layer:
    """A single convolution as the README states it, per axis."""

    i: tuple[int, ...]
    k: tuple[int, ...]
    s: tuple[int, ...]
    d: tuple[int, ...]
    p: tuple[tuple[int, int], ...]
    op: tuple[int, ...]
    transposed: bool

    def output(self, p: tuple[tuple[int, int], ...] | None = None) -> tuple[int, ...]:
        """floor((i + p_b + p_a - d*(k-1) - 1)/s) + 1; transposed:
        (i - 1)*s - (p_b + p_a) + d*(k-1) + 1 + op."""
        out = []
        for i, k, s, d, (pb, pa), op in zip(
            self.i, self.k, self.s, self.d, p or self.p, self.op, strict=True
        ):
            if self.transposed:
                out.append((i - 1) * s - (pb + pa) + d * (k - 1) + 1 + op)
            else:
                out.append((i + pb + pa - d * (k - 1) - 1) // s + 1)
        return tuple(out)

    def valid(self) -> bool:
        """What PyTorch accepts: sizes and steps of at least 1, an output padding below
        the stride or the dilation, an output of at least one pixel."""
        steps = all(v >= 1 for v in (*self.k, *self.s, *self.d))
        if not steps or not all(i >= 1 for i in self.i):
            return False
        if self.transposed and any(
            op >= max(s, d) for op, s, d in zip(self.op, self.s, self.d, strict=True)
        ):
            return False
        if not self.transposed and any(self.op):
            return False
        return all(o >= 1 for o in self.output())

    def dropped(self) -> tuple[int, ...]:
        """Real input pixels in the last (i + p_b + p_a - k') mod s padded positions."""
        if self.transposed:
            return (0,) * len(self.i)
        return tuple(
            max(0, min(i, (i + pb + pa - d * (k - 1) - 1) % s - pa))
            for i, k, s, d, (pb, pa) in zip(self.i, self.k, self.s, self.d, self.p, strict=True)
        )


def single_layer(args: Sequence[str]) -> Layer | None:
    """The layer of a conv-shape command line, when the README's formula covers it (a
    plain or transposed convolution, integer padding, no solving) and its values are
    plain ASCII tuples; None otherwise."""
    if any(flag in args for flag in ("--ceil-mode", "--min-input", "--diagram")):
        return None
    if _option(args, "--pool") is not None:
        return None
    size = _ints(_option(args, "--input"))
    kernel = _ints(_option(args, "--kernel"))
    stride = _ints(_option(args, "--stride"), "1")
    dilation = _ints(_option(args, "--dilation"), "1")
    output_padding = _ints(_option(args, "--output-padding"), "0")
    padding = _pads(_option(args, "--padding"))
    values = (kernel, stride, dilation, output_padding, padding)
    if size is None or any(v is None for v in values) or len(size) > 3:
        return None
    assert kernel and stride and dilation and output_padding and padding
    n = len(size)
    k, s, d, op, p = (_per_axis(v, n) for v in (kernel, stride, dilation, output_padding, padding))
    if k is None or s is None or d is None or op is None or p is None:
        return None
    return Layer(size, k, s, d, p, op, "--transposed" in args)


def _printed_output(result: Result, args: Sequence[str]) -> tuple[int, ...] | None:
    fmt = _option(args, "--format") or "auto"
    if fmt in ("plain", "auto"):
        return tuple(int(v) for v in result.stdout.splitlines()[0].split("x"))
    if fmt == "json":
        return tuple(axis["output"] for axis in json.loads(result.stdout)["axes"])
    return None


def assert_conv_result(args: Sequence[str], result: Result) -> None:
    """With exit 0, the printed size (or padding, for --target) is the formula's."""
    layer = single_layer(args)
    if result.exit_code != 0 or layer is None:
        return
    shown = command_line(args)
    n = len(layer.i)
    target = _option(args, "--target")
    if target is not None:  # the answer is the padding: the formula must give the target
        wanted = _ints(target)
        fmt = _option(args, "--format") or "auto"
        if wanted is None or layer.transposed or fmt not in ("plain", "auto"):
            return
        solved = tuple(
            (int(b), int(a))
            for b, a in (part.split(":") for part in result.stdout.split()[0].split(","))
        )
        layer = replace(layer, p=solved)
        assert layer.valid(), f"{shown}\nexit 0 for a layer PyTorch refuses: {result.stdout}"
        assert layer.output() == _per_axis(wanted, n), (shown, result.stdout)
        return
    assert layer.valid(), f"{shown}\nexit 0 for a layer PyTorch refuses: {result.stdout}"
    printed = _printed_output(result, args)
    if printed is not None:
        assert printed == layer.output(), (shown, result.stdout, layer.output())
    expect = _ints(_option(args, "--expect"))
    if expect is not None:
        assert _per_axis(expect, n) == layer.output(), (shown, "--expect did not hold")
    if "--strict" in args:
        assert not any(layer.dropped()), (shown, "--strict with dropped pixels", layer.dropped())


@settings(max_examples=fuzz_examples(3))
@given(args=conv_shape_args())
@example(args=["conv-shape", "--input=" + "1" * 5000, "--kernel=3"])  # was exit 70: int()
def test_conv_shape_option_values(args: list[str]) -> None:
    result = run(args)
    assert_conv_result(args, result)


@settings(max_examples=fuzz_examples(1))
@given(
    size=st.integers(1, 40),
    k=st.integers(1, 9),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    pads=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    op=st.integers(0, 3),
    transposed=st.booleans(),
    fmt=st.sampled_from(["plain", "json"]),
)
def test_conv_shape_matches_formula(
    size: int,
    k: int,
    s: int,
    d: int,
    pads: tuple[int, int],
    op: int,
    transposed: bool,
    fmt: str,
) -> None:
    """Valid values most of the time, so that the formula is compared often."""
    args = [
        "conv-shape",
        f"--input={size}x{size + 1}",
        f"--kernel={k}",
        f"--stride={s}",
        f"--dilation={d}",
        f"--padding={pads[0]}:{pads[1]},{pads[1]}",
        f"--format={fmt}",
    ]
    if transposed:
        args += ["--transposed", f"--output-padding={op}"]
    result = run(args)
    layer = single_layer(args)
    assert layer is not None
    assert result.exit_code == (0 if layer.valid() else 2), (command_line(args), result.stderr)
    assert_conv_result(args, result)


LAYER_VALUES: dict[str, st.SearchStrategy[str]] = {
    "k": sizes(1, 5),
    "s": sizes(1, 3),
    "p": padding_values,
    "d": sizes(1, 2),
    "out": count_values,
    "g": mostly(st.just("1"), count_values),
    "op": sizes(0, 1),
    "name": st.text("ab1_", max_size=4),
    "bias": mostly(st.sampled_from(["true", "false", "no"]), junk),
}
layer_kinds = mostly(
    st.sampled_from(["conv", "convT", "pool max", "pool avg", "maxpool", "avgpool", "deconv"]),
    st.sampled_from(["pool", "pool min", "dense", "", "CONV"]),
)
layer_words = mostly(
    st.sampled_from(sorted(LAYER_VALUES)).flatmap(
        lambda key: LAYER_VALUES[key].map(lambda value: f"{key}={value}")
    )
    | st.sampled_from(["ceil", "nobias"]),
    st.sampled_from(["kernel=3", "pad=1", "c=4", "K=3", "x=1", "transposed=1", "pool=max"])
    | st.sampled_from(
        ["ceil_mode", "no-bias", "k=", "=3", "k", "s==2", "k=3x3x3x3", "p=9:0", "bias=no"]
    ),
)
layer_specs = st.builds(
    lambda kind, kernel, words: " ".join([kind, kernel, *words]),
    layer_kinds,
    mostly(LAYER_VALUES["k"].map("k={}".format), st.just("")),
    st.lists(layer_words, max_size=4),
)
conv_extras = st.lists(
    st.sampled_from(["--min-input", "--explain", "--strict", "--diagram", "--format=json"])
    | st.sampled_from(["--format=table", "--expect=8", "--target=4", "--kernel=3"]),
    max_size=2,
    unique=True,
)


@settings(max_examples=fuzz_examples(2))
@given(size=sizes(1, 64), layers=st.lists(layer_specs, min_size=1, max_size=4), extra=conv_extras)
@example(size="1", layers=["conv k=1 out=" + "1" * 5000], extra=[])  # was exit 70: ValueError
@example(size="8", layers=["conv k=3 out=\u00b2"], extra=[])  # was exit 70: int('²')
@example(size="8", layers=["conv k=3 g=\u2460"], extra=[])  # was exit 70: int('①')
def test_conv_shape_layer_specs(size: str, layers: list[str], extra: list[str]) -> None:
    args = ["conv-shape", f"--input={size}", "--in-channels=4"]
    args += [f"--layer={layer}" for layer in layers] + extra
    run(args)


net_numbers = st.one_of(
    st.integers(-3, 300),
    st.sampled_from([10**20, 10**400, -(10**20)]),
    st.floats(allow_nan=False, allow_infinity=False),
)
hostile_net_values = st.one_of(
    net_numbers,
    st.booleans(),
    st.none(),
    sizes(0, 9),
    padding_values,
    st.sampled_from(["max", "avg", "true", "false", "3", ""]),
    st.lists(net_numbers, max_size=4),
    st.lists(st.lists(st.integers(-1, 5), max_size=3), max_size=3),
    st.dictionaries(st.sampled_from(NET_KEYS), st.integers(0, 3), max_size=2),
)
pairs = st.lists(st.integers(0, 2), min_size=2, max_size=2)
NET_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "name": st.text(max_size=4),
    "kernel": st.integers(1, 5) | st.lists(st.integers(1, 5), min_size=2, max_size=2),
    "stride": st.integers(1, 3) | st.sampled_from(["2x1", "2,2"]),
    "padding": st.integers(0, 2)
    | st.sampled_from(["same", "valid", "0:1,1:0"])
    | st.lists(pairs, min_size=2, max_size=2),
    "dilation": st.integers(1, 2),
    "out_channels": st.integers(1, 16),
    "groups": st.sampled_from([1, 2]),
    "transposed": st.booleans(),
    "output_padding": st.integers(0, 1),
    "pool": st.sampled_from(["max", "avg"]),
    "ceil_mode": st.booleans(),
    "bias": st.booleans(),
}


@st.composite
def net_layers(draw: st.DrawFn) -> dict[str, Any]:
    """A layer object: a kernel and some of the real keys, with now and then a value of
    the wrong kind or an unknown key."""
    keys = ["kernel", *draw(st.lists(st.sampled_from(NET_KEYS), max_size=4, unique=True))]
    layer = {key: draw(mostly(NET_VALUES[key], hostile_net_values)) for key in keys}
    if draw(st.integers(0, 5)) == 5:
        layer.pop("kernel")
    if draw(st.integers(0, 7)) == 7:
        layer[draw(st.sampled_from(["kernal", "Kernel", "type", ""]))] = 3
    return layer


nets = mostly(
    st.lists(net_layers(), min_size=1, max_size=4),
    st.one_of(
        st.lists(net_layers(), max_size=3).map(lambda layers: {"layers": layers}),
        st.lists(net_layers() | hostile_net_values, max_size=3),
        hostile_net_values,
    ),
)


@settings(max_examples=fuzz_examples(2))
@given(
    net=nets,
    size=mostly(
        st.sampled_from(["224x224", "32", "16x16x8"]),
        st.sampled_from(["8", "5x6x7", "1", "100000000000000000000"]),
    ),
    extra=conv_extras,
)
@example(net=[{"kernel": 3, "out_channels": "\u00b2"}], size="8", extra=[])  # was exit 70
@example(net=[{"kernel": 1, "groups": "1" * 5000}], size="8", extra=[])  # was exit 70
def test_conv_shape_net_layers(workdir: Path, net: Any, size: str, extra: list[str]) -> None:
    path = write(workdir, "layers.json", json.dumps(net).encode())
    run(["conv-shape", f"--input={size}", "--in-channels=4", "--net", path, *extra])


# --- 4. bn-grad and softmax-grad option values ------------------------------------------

hostile_numbers = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "-0", "0", "1e309", "-1e309", "1e-320"])
    | st.sampled_from(["1e300", "-1", "-5", "", " ", "abc", "1,2", "0x10", "1_0"])
    | st.sampled_from(UNICODE_DIGITS)
    | st.sampled_from(HUGE),
    st.floats().map(repr),
    st.integers(-(10**20), 10**20).map(str),
)


def numbers(low: float, high: float) -> st.SearchStrategy[str]:
    """Mostly a number in [low, high] as text; else nan, inf, -0, 1e309, huge, negative,
    empty or not a number."""
    valid = st.floats(low, high).map(repr) | st.sampled_from([repr(low), repr(high)])
    return mostly(valid, hostile_numbers)


def number_lists(low: float, high: float, length: int = 2) -> st.SearchStrategy[str]:
    """Mostly ``length`` numbers in [low, high] separated by ','; else 1 to 4 of any, or
    a file (``{vector}``)."""
    valid = st.lists(st.floats(low, high).map(repr), min_size=length, max_size=length)
    hostile = st.lists(numbers(low, high), min_size=1, max_size=4)
    joined = st.tuples(mostly(valid, hostile), st.sampled_from([",", ",", " ", ", ", ";"]))
    return joined.map(lambda t: t[1].join(t[0])) | st.just("{vector}")


def counts(low: int, high: int) -> st.SearchStrategy[str]:
    valid = st.integers(low, high).map(str)
    return mostly(valid, st.integers(-3, 300).map(str) | st.sampled_from(["", "x", "1.5", *HUGE]))


EXPECT_FILES = [
    b'{"dx": [[0, 0], [0, 0], [0, 0]]}',
    b'{"dx": [[0, 0]]}',
    b'{"mean": [2, 3]}',
    b'{"m": 3, "mode": "train"}',
    b'{"dgamma": 1e400}',
    b'{"grad": [[0, 0, 0], [0, 0, 0]], "loss": 1}',
    b'{"probs": null}',
    b'{"foo": 1}',
    b"0,0\n0,0\n0,0\n",
    b"0,0,0\n0,0,0\n",
    b"",
    b"[" * 200,
]

# the options both numeric commands share, with the values their fuzz tests draw
SHARED_OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--check-entries": counts(1, 10),
    "--rtol": numbers(0, 1e-3),
    "--atol": numbers(0, 1e-3),
    "--format": mostly(
        st.sampled_from(["json", "csv", "table", "auto"]), st.sampled_from(["npz", "plain"])
    ),
}

BN_OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--gamma": number_lists(-3, 3),
    "--beta": number_lists(-3, 3),
    "--eps": numbers(0, 1),
    "--momentum": numbers(0, 1),
    "--running-mean": number_lists(-3, 3),
    "--running-var": number_lists(0, 3),
    "--layout": mostly(st.sampled_from(["bwhc", "nhwc", "nchw"]), st.sampled_from(["NCHW", ""])),
    "--emit": mostly(st.sampled_from(["dx", "dxhat", "xhat", "y"]), st.sampled_from(["dy", ""])),
    "--feature": counts(0, 1),
    **SHARED_OPTIONS,
    "--input-format": mostly(st.sampled_from(INPUT_FORMATS), st.just("xml")),
    "--delimiter": mostly(
        st.sampled_from(["auto", "comma", ","]), st.sampled_from([";", "tab", "x", "", "\\t"])
    ),
}
SOFTMAX_OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--labels": mostly(
        st.sampled_from(["0,1", "0,0", "1,0", "1,1"]), number_lists(-1, 3, 2) | counts(0, 2)
    ),
    "--weight": number_lists(0, 3),
    "--ignore-index": mostly(st.sampled_from(["-100", "0", "1"]), counts(-2, 2)),
    "--label-smoothing": numbers(0, 1),
    "--reduction": mostly(
        st.sampled_from(["none", "sum", "mean"]), st.sampled_from(["MEAN", "avg", ""])
    ),
    "--emit": mostly(st.sampled_from(["grad", "probs"]), st.sampled_from(["dx", ""])),
    "--sample": counts(0, 1),
    **SHARED_OPTIONS,
    "--input-format": st.sampled_from(INPUT_FORMATS),
    "--delimiter": mostly(st.sampled_from(["auto", "comma"]), st.sampled_from([";", "x", ""])),
    "--target": st.just("{target}"),
}
X4 = np.arange(16.0).reshape(2, 2, 2, 2) ** 1.5
BN_INPUTS = {
    "x.csv": b"a,b\n1,2\n3,5\n4,-1\n",
    "batch.json": b'{"x": [[1, 2], [3, 5], [4, -1]], "dy": [[0.5, -1], [2, 0], [1, 1]]}',
    "rank4.json": json.dumps({"x": X4.tolist(), "dy": np.cos(X4).tolist()}).encode(),
}
SOFTMAX_INPUTS = {
    "z.csv": b"c0,c1\n2.0,1.0\n-1,3\n",
    "batch.json": b'{"logits": [[2.0, 1.0], [-1, 3]], "target": [0, 1]}',
}
VECTOR_FILES = [b"1,2\n", b"1\n2\n", b"[1, 2]", b"[[1], [2]]", b"[[1, 2]]", b'{"gamma": [1, 2]}']
VECTOR_FILES += [npy_bytes(np.array([1.0, 2.0])), b"", b"a,b\n", b"1,2,3\n", b"nan,1\n", b"7"]
TARGET_FILES = [b"0\n1\n", b"1\n0\n", b"0.5,0.5\n0,1\n", b"0.2,0.2\n1,0\n", b"-0.5,1.5\n0,1\n"]
TARGET_FILES += [b"0\n", b"0,1,2\n", b"2\n0\n", b"[0, 1]", b"[[1, 0], [0, 1]]", b"x\n", b"0.5\n1\n"]


@st.composite
def numeric_args(
    draw: st.DrawFn, options: dict[str, st.SearchStrategy[str]], flags: list[str]
) -> list[str]:
    names = draw(st.lists(st.sampled_from(sorted(options)), max_size=5, unique=True))
    args = [f"{name}={draw(options[name])}" for name in names]
    args += draw(st.lists(st.sampled_from(flags), max_size=2, unique=True))
    if draw(st.integers(0, 4)) == 4:
        args.append("--expect={expect}")
    return args


def _file_name(stem: str, data: bytes) -> str:
    if data.startswith(b"\x93NUMPY"):
        return stem + ".npy"
    return stem + (".json" if data.lstrip()[:1] in (b"{", b"[") else ".csv")


def numeric_run(
    workdir: Path,
    command: str,
    inputs: dict[str, bytes],
    name: str,
    options: list[str],
    files: dict[str, bytes],
) -> tuple[list[str], Result]:
    """Run ``command`` on the input ``name`` with ``options``, whose ``{expect}``,
    ``{vector}`` and ``{target}`` stand for files of those bytes."""
    paths = {n: write(workdir, n, data) for n, data in inputs.items()}
    for stem, data in files.items():
        paths["{" + stem + "}"] = write(workdir, _file_name(stem, data), data)
    args = [command, paths[name]]
    if command == "bn-grad" and name.endswith(".csv"):
        args += ["--dy", write(workdir, "dy.csv", b"a,b\n0.5,-1\n2,0\n1,1\n")]
    targets = ("--labels", "--target")
    if command == "softmax-grad" and not any(_option(options, t) for t in targets):
        args += ["--labels", "0,1"] if name.endswith(".csv") else []
    for option in options:
        for placeholder in ("{expect}", "{vector}", "{target}"):
            option = option.replace(placeholder, paths.get(placeholder, placeholder))
        args.append(option)
    return args, run(args)


def output_format(args: Sequence[str], name: str) -> str:
    fmt = (_option(args, "--format") or "auto").lower()
    return ("csv" if name.endswith(".csv") else "json") if fmt == "auto" else fmt


@settings(max_examples=fuzz_examples(3))
@given(
    name=st.sampled_from(sorted(BN_INPUTS)),
    options=numeric_args(BN_OPTIONS, ["--check", "--explain", "--eval", "--no-affine"]),
    expect=st.sampled_from(EXPECT_FILES),
    vector=st.sampled_from(VECTOR_FILES),
)
def test_bn_grad_option_values(
    workdir: Path, name: str, options: list[str], expect: bytes, vector: bytes
) -> None:
    files = {"expect": expect, "vector": vector}
    args, result = numeric_run(workdir, "bn-grad", BN_INPUTS, name, options, files)
    fmt = output_format(args, name)
    emit = _option(args, "--emit") or "dx"
    dx_written = fmt == "json" or (fmt == "csv" and emit == "dx" and name != "rank4.json")
    if result.exit_code == 0 and "--eval" not in args and dx_written:
        dx = result_matrix(result, fmt, "dx")
        rank4 = name == "rank4.json"
        channel = 1 if rank4 and (_option(args, "--layout") or "").lower() == "nchw" else -1
        assert_dx_sums_to_zero(dx, channel, command_line(args))
        assert dx.shape == (X4.shape if rank4 else (3, 2)), (command_line(args), dx.shape)


@settings(max_examples=fuzz_examples(3))
@given(
    name=st.sampled_from(sorted(SOFTMAX_INPUTS)),
    options=numeric_args(SOFTMAX_OPTIONS, ["--check", "--explain", "--jacobian"]),
    expect=st.sampled_from(EXPECT_FILES),
    vector=st.sampled_from(VECTOR_FILES),
    target=st.sampled_from(TARGET_FILES),
)
def test_softmax_grad_option_values(
    workdir: Path, name: str, options: list[str], expect: bytes, vector: bytes, target: bytes
) -> None:
    files = {"expect": expect, "vector": vector, "target": target}
    args, result = numeric_run(workdir, "softmax-grad", SOFTMAX_INPUTS, name, options, files)
    fmt, emit = output_format(args, name), _option(args, "--emit") or "grad"
    shown = command_line(args)
    if result.exit_code != 0 or fmt not in ("csv", "json"):
        return
    if fmt == "json" or emit == "probs":
        assert_rows_sum_to_one(result_matrix(result, fmt, "probs"), shown)
    if fmt == "json" or emit == "grad":
        assert_rows_sum_to_zero(result_matrix(result, fmt, "grad"), shown)


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[list[float]], list[list[float]]]:
    """x and dy: 2 to 4 samples of 1 to 3 features, finite values up to 1e100 in size
    (subnormal ones included), now and then a constant feature."""
    m, d = draw(st.integers(2, 4)), draw(st.integers(1, 3))
    values = st.floats(-1e100, 1e100) | st.integers(-3, 3).map(float)
    matrix = st.lists(st.lists(values, min_size=d, max_size=d), min_size=m, max_size=m)
    x, dy = draw(matrix), draw(matrix)
    if draw(st.integers(0, 3)) == 3:
        for row in x:
            row[0] = x[0][0]
    return x, dy


@settings(max_examples=fuzz_examples(1))
@given(batch=batches(), eval_mode=st.booleans())
def test_bn_grad_finite_batches(
    batch: tuple[list[list[float]], list[list[float]]], eval_mode: bool
) -> None:
    """No square of these values overflows, so hw3 answers; in training mode every
    column of dx sums to 0 (up to the rounding of terms of size |dy| / sqrt(var + eps))."""
    x, dy = batch
    doc = json.dumps({"x": x, "dy": dy}).encode()
    args = ["bn-grad", "--format", "json"] + (["--eval"] if eval_mode else [])
    result = run(args, doc)
    shown = command_line(args, doc)
    assert result.exit_code == 0, (shown, result.stderr)
    dx = result_matrix(result, "json", "dx")
    assert np.isfinite(dx).all(), shown
    if not eval_mode:
        xs, dys = np.array(x), np.array(dy)
        scale = np.abs(dys).sum(axis=0) / np.sqrt(xs.var(axis=0) + 1e-5)
        sums = np.abs(dx.sum(axis=0))
        assert (sums <= 1e-6 * (1 + np.abs(dx).sum(axis=0)) + 1e-12 * scale).all(), (shown, sums)


@st.composite
def logits_and_labels(draw: st.DrawFn) -> tuple[list[list[float]], list[int]]:
    """1 to 3 rows of 2 to 4 finite logits of any size, and a class index per row."""
    k = draw(st.integers(2, 4))
    finite = st.floats(allow_nan=False, allow_infinity=False)
    rows = draw(st.lists(st.lists(finite, min_size=k, max_size=k), min_size=1, max_size=3))
    return rows, [draw(st.integers(0, k - 1)) for _ in rows]


@settings(max_examples=fuzz_examples(1))
@given(case=logits_and_labels(), reduction=st.sampled_from(["sum", "mean", "none"]))
@example(  # was exit 2, "the loss or its gradient overflows float64", and a RuntimeWarning
    case=([[1e308, -1e308]], [0]), reduction="sum"
)
@example(  # was exit 70: the sum of the losses is inf, "not JSON compliant"
    case=([[-1e308, 0.0], [-1e308, 0.0]], [0, 0]), reduction="sum"
)
def test_softmax_grad_finite_logits(
    case: tuple[list[list[float]], list[int]], reduction: str
) -> None:
    """Finite logits with index targets have a finite loss whenever max(z) - z_t does (the
    loss of a row lies between that and it plus log K): hw3 answers them."""
    logits, labels = case
    doc = json.dumps({"logits": logits, "target": labels}).encode()
    args = ["softmax-grad", "--format", "json", "--reduction", reduction]
    result = run(args, doc)
    z = np.array(logits)
    with np.errstate(over="ignore", invalid="ignore"):
        gaps = z.max(axis=1) - z[np.arange(len(labels)), labels]
        representable = bool(np.isfinite(gaps.sum() + 2 * len(labels)))
    shown = command_line(args, doc)
    if representable:
        assert result.exit_code == 0, (shown, result.stderr)
    if result.exit_code == 0:
        assert_rows_sum_to_one(result_matrix(result, "json", "probs"), shown)
        assert_rows_sum_to_zero(result_matrix(result, "json", "grad"), shown)


# --- 5. JSON documents with random fields -----------------------------------------------


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner, max_size=2)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 3),
        st.sampled_from([10**20, 10**400, -(10**400)]),
        st.floats(-1e3, 1e3),
        st.floats(),
        st.text(max_size=3),
    ),
    _containers,
    max_leaves=12,
)


@st.composite
def documents(draw: st.DrawFn, valid: dict[str, Any], keys: list[str]) -> bytes:
    """A valid document with 1 or 2 of its fields (the real ones and a typo) replaced by
    random JSON values or removed, as JSON text (NaN and Infinity included)."""
    doc = dict(valid)
    for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True)):
        if draw(st.integers(0, 4)) == 4:
            doc.pop(key, None)
        else:
            doc[key] = draw(json_values)
    return json.dumps(doc).encode()


BN_DOC = json.loads(BN_INPUTS["batch.json"])
BN_KEYS = ["x", "dy", "gamma", "beta", "eps", "momentum", "running_mean", "running_var", "dY"]
SOFTMAX_DOC = json.loads(SOFTMAX_INPUTS["batch.json"])
SOFTMAX_KEYS = ["logits", "target", "weight", "ignore_index", "label_smoothing", "reduction"]


@settings(max_examples=fuzz_examples(1))
@given(
    doc=documents(BN_DOC, BN_KEYS),
    extra=st.sampled_from([[], ["--check"], ["--eval"], ["--format", "csv"], ["--explain"]]),
)
def test_bn_grad_json_fields(doc: bytes, extra: list[str]) -> None:
    run(["bn-grad", "--format", "json", *extra], doc)


@settings(max_examples=fuzz_examples(1))
@given(
    doc=documents(SOFTMAX_DOC, SOFTMAX_KEYS),
    extra=st.sampled_from(
        [[], ["--check"], ["--jacobian"], ["--reduction", "mean"], ["--explain"]]
    ),
)
def test_softmax_grad_json_fields(doc: bytes, extra: list[str]) -> None:
    run(["softmax-grad", "--format", "json", *extra], doc)


# --- 6. the environment ------------------------------------------------------------


@settings(max_examples=fuzz_examples(0.5))
@given(
    columns=st.one_of(
        st.integers(-5, 400).map(str),
        st.sampled_from(["", " 80", "1e3", "99999", *HUGE, *UNICODE_DIGITS]),
        # what an environment variable can hold: no NUL, no lone surrogate
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=5),
    ),
    args=st.sampled_from(
        [
            ["conv-shape", "--input=32x32", "--kernel=3", "--format=table"],
            ["conv-shape", "--input=300", "--kernel=3", "--stride=2", "--diagram"],
            ["conv-shape", "--input=224", "--in-channels=3", "--format=table", "--explain"]
            + ["--layer=conv k=11 s=4 p=2 out=64", "--layer=pool max k=3 s=2"],
            ["bn-grad", "--format=table"],
            ["softmax-grad", "--format=table"],
        ]
    ),
)
@example(  # was exit 70: int("²")
    columns="\u00b2", args=["conv-shape", "--input=8", "--kernel=3", "--format=table"]
)
def test_columns_variable(columns: str, args: list[str]) -> None:
    """The COLUMNS variable (the width of tables and diagrams written to a pipe)."""
    docs = {"bn-grad": BN_INPUTS["batch.json"], "softmax-grad": SOFTMAX_INPUTS["batch.json"]}
    run(args, docs.get(args[0]), COLUMNS=columns)


# --- the profiles reach every test ------------------------------------------------------


def test_profile_reaches_tests_with_their_own_settings() -> None:
    """A test's ``@settings(max_examples=N)`` inherits the rest from the loaded profile."""
    own: Callable[..., None] = test_conv_shape_option_values
    inherited = own._hypothesis_internal_use_settings  # type: ignore[attr-defined]
    loaded = settings()
    assert inherited.derandomize == loaded.derandomize
    assert inherited.database == loaded.database
    assert inherited.deadline is None
    assert HealthCheck.too_slow in inherited.suppress_health_check
    if settings.get_current_profile_name() == "ci":
        assert inherited.derandomize and inherited.database is None
