"""Inputs built to make the readers and writers slow or large: many distinct symbols in a
cell, rows of millions of columns, an endless line, a zip bomb. Each ends at once with a
result or a clean refusal; none of these tests times anything (benchmarks/ measures), but
the quadratic or per-column work they guard against would take minutes at these sizes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hw3cli.errors import InputError
from hw3cli.tensor_io import engine, files, readers, writers
from tests.conftest import ROOT, assert_clean_error, hw3_executable, invoke

# --- many distinct symbols in one cell ---------------------------------------------------


def _brute_splits(text: str) -> Iterator[tuple[str, list[str]]]:
    """The definition: every character that is not a letter, a digit, '.', '+' or '-',
    tried as a delimiter (whitespace: runs of it), in the order they first appear."""
    for ch in dict.fromkeys(text):
        if ch.isalnum() or ch in ".+-":
            continue
        parts = text.split() if ch.isspace() else text.split(ch)
        yield ch, [p.strip() for p in parts if p.strip()]


def _brute_hint_delimiter(text: str) -> str | None:
    for ch, parts in _brute_splits(text):
        if len(parts) >= 2 and any(map(readers._numberish, parts)):
            return " " if ch.isspace() else ch
    return None


def _hint_delimiter(text: str) -> str | None:
    for ch, parts in readers._splits(text):
        if len(parts) >= 2 and any(map(readers._numberish, parts)):
            return " " if ch.isspace() else ch
    return None


CELL_CHARS = st.sampled_from(
    [*"0123456789.,;|_+-eE \t\u00a7\u00b6ab:/\u00a0\u0663", "inf", "nan", "1e5"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(CELL_CHARS, max_size=14).map("".join))
def test_the_one_pass_split_finds_what_trying_every_character_finds(cell: str) -> None:
    text = cell.strip()
    brute_numeric = readers._numberish(text) or any(
        len(parts) >= 2 and all(map(readers._numberish, parts)) for _, parts in _brute_splits(text)
    )
    assert readers._looks_numeric(cell) == brute_numeric
    assert _hint_delimiter(text) == _brute_hint_delimiter(text)


def _distinct_symbols(n: int) -> list[str]:
    """n distinct characters that are neither letters, digits nor whitespace (planes 2
    to 16 hold hundreds of thousands of unassigned ones)."""
    found: list[str] = []
    code = 0x20000
    while len(found) < n:
        ch = chr(code)
        if not ch.isalnum() and not ch.isspace():
            found.append(ch)
        code += 1
    return found


@pytest.mark.parametrize("command", [["bn-grad"], ["softmax-grad", "--labels", "0,1"]])
def test_a_cell_of_many_distinct_symbols_is_refused_at_once(
    tmp_path: Path, command: list[str]
) -> None:
    # 66,000 distinct symbols took 145 s when each was tried as a delimiter in turn
    cell = "".join(_distinct_symbols(66_000))
    path = tmp_path / "symbols.csv"
    path.write_text(f"{cell},1\n1,2\n", encoding="utf-8")
    extra = ["--dy", str(path)] if command == ["bn-grad"] else []
    err = assert_clean_error(invoke([*command, str(path), *extra]))
    assert "row 1, column 1" in err and "is not a number" in err


def test_numbers_between_many_distinct_symbols_give_a_hint() -> None:
    # "\U00020000" stands on both sides of 1 and the hint names it; the other
    # symbols each split off nothing but more symbols
    symbols = _distinct_symbols(20_000)
    cell = symbols[0] + "1" + symbols[0] + "2" + "".join(symbols[1:])
    assert _hint_delimiter(cell) == symbols[0]
    assert not readers._looks_numeric(cell)


# --- wide rows ---------------------------------------------------------------------------

WIDE = readers.WIDE_COLUMNS + 1
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=20, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(WIDE, WIDE + 40)), elements=finite)
)
def test_wide_rows_round_trip_exactly(m: np.ndarray) -> None:
    text = writers.csv_text(m)
    assert text.count("\n") == m.shape[0]
    back, header = readers.parse_csv(text.encode(), "wide.csv")
    assert header is None
    assert back.tobytes() == m.tobytes()  # every bit, -0.0 included


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("header", [False, True])
def test_wide_rows_read_the_numbers_the_careful_reader_reads(
    monkeypatch: pytest.MonkeyPatch, line_end: str, header: bool
) -> None:
    rng = np.random.default_rng(20)
    m = rng.normal(size=(3, 3000)) * 10.0 ** rng.integers(-300, 300, size=(3, 3000))
    lines = [",".join(map(repr, row.tolist())) for row in m]
    if header:
        lines.insert(0, ",".join(f"f{i}" for i in range(3000)))
    data = "".join(line + line_end for line in lines).encode()
    fast, fast_header = readers.parse_csv(data, "wide.csv")
    monkeypatch.setattr(engine, "polars_module", lambda: None)
    careful, careful_header = readers.parse_csv(data, "wide.csv")
    assert fast.tobytes() == careful.tobytes() == m.tobytes()
    assert fast_header == careful_header
    assert (fast_header is not None) == header


def test_a_bad_cell_in_a_wide_row_is_named() -> None:
    data = (",".join(["1"] * 5000) + ",x\n").encode()
    with pytest.raises(InputError) as e:
        readers.parse_csv(data, "wide.csv")
    assert "row 1, column 5001" in str(e.value)


def test_a_ragged_wide_row_is_named() -> None:
    data = (",".join(["1"] * 5000) + "\n" + ",".join(["1"] * 4999) + "\n").encode()
    with pytest.raises(InputError) as e:
        readers.parse_csv(data, "wide.csv")
    assert "row 2" in str(e.value) and "4999 columns" in str(e.value)


def test_softmax_of_one_row_of_a_million_classes(tmp_path: Path) -> None:
    # equal logits: every probability is 1/K, the gradient p - y
    classes = 1_000_000
    path = tmp_path / "z.csv"
    path.write_text(",".join(["0"] * classes) + "\n")
    result = invoke(
        ["softmax-grad", str(path), "--labels", "0", "--emit", "probs", "--format", "csv"]
    )
    assert result.exit_code == 0, result.stderr
    probs = np.array(result.stdout.strip().split(","), dtype=np.float64)
    assert probs.shape == (classes,)
    assert np.all(probs == 1 / classes)


def test_bn_grad_of_one_wide_row_is_refused_for_its_one_sample(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(",".join(["1"] * 1_000_000) + "\n")
    err = assert_clean_error(invoke(["bn-grad", str(path), "--dy", str(path)]))
    assert "m = 1" in err


def test_an_npy_row_of_a_million_int8_written_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "z.npy"
    np.save(path, np.zeros((1, 1_000_000), dtype=np.int8))
    result = invoke(["softmax-grad", str(path), "--labels", "3", "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    grad = np.array(result.stdout.strip().split(","), dtype=np.float64)
    expected = np.full(1_000_000, 1e-6)  # p - y with p = 1/K everywhere, y at class 3
    expected[3] -= 1.0
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-18)


def test_json_of_a_wide_row_is_the_json_of_its_numbers(tmp_path: Path) -> None:
    path = tmp_path / "z.csv"
    path.write_text(",".join(["0"] * 200_000) + "\n")
    result = invoke(["softmax-grad", str(path), "--labels", "0", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["probs"] == [[1 / 200_000] * 200_000]


# --- an endless line ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["bn-grad", "--dy", "examples/dy.csv"], ["softmax-grad", "--labels", "0"]],
)
@pytest.mark.parametrize("rows_before", [b"", b"1,2,3\n4,5,6\n"])
def test_an_endless_line_on_stdin_is_refused_at_the_line_cap(
    command: list[str], rows_before: bytes
) -> None:
    """``yes 1, | tr -d '\\n' | hw3 ...``: the line is refused once it passes 16 MiB,
    while the writer is still writing (it then gets a broken pipe)."""
    proc = subprocess.Popen(
        [hw3_executable(), *command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stdin is not None
    block = b"1," * (1 << 16)
    written = 0
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.write(rows_before)
        while written < 64 * readers.MAX_LINE_BYTES:  # ends long before, or the test fails
            proc.stdin.write(block)
            written += len(block)
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.close()
    assert proc.stderr is not None and proc.stdout is not None
    err = proc.stderr.read()
    proc.wait(timeout=60)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == 2, err
    row = 1 + rows_before.count(b"\n")
    assert f"Error: stdin, row {row}: is longer than 16 MiB of text".encode() in err
    assert b"Traceback" not in err
    assert written < 4 * readers.MAX_LINE_BYTES  # refused as soon as the cap was passed


def test_an_unfinished_line_is_kept_as_its_chunks_and_capped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 100)
    chunks = [b"1,2\n3,"] + [b"4," * 10] * 4 + [b"5\n6,7\n"]  # row 2: 86 bytes, kept
    pieces = list(readers.csv_pieces(chunks, 8))
    assert b"".join(p for p, _ in pieces) == b"".join(chunks)
    assert all(p.endswith(b"\n") for p, _ in pieces)
    with pytest.raises(InputError) as e:
        list(readers.csv_pieces([b"1\n2\n", *[b"3," * 10] * 6], 8, "x.csv"))
    assert str(e.value).startswith("x.csv, row 3: is longer than 0 MiB")


def test_a_long_line_inside_one_piece_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 64)
    short = b"1,2\n" * 50
    for long in (b"3," * 33, b"3," * 64):
        with pytest.raises(InputError) as e:
            list(readers.csv_pieces([short + long + b"\n" + short], 1 << 20, "x.csv"))
        assert "x.csv, row 51:" in str(e.value)
    assert len(list(readers.csv_pieces([short + b"3," * 31 + b"\n" + short], 1 << 20))) == 1


# --- a zip bomb --------------------------------------------------------------------------


def _zeros_npz(path: Path, shape: tuple[int, int]) -> None:
    """np.savez_compressed of float64 zeros of ``shape``, written block by block."""
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("x.npy", "w", force_zip64=True) as member,
    ):
        header = {"descr": "<f8", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(member, header)
        row = np.zeros(shape[1]).tobytes()
        for _ in range(shape[0]):
            member.write(row)


@pytest.mark.parametrize(
    "command",
    [
        ["bn-grad", "{npz}", "--dy", "{npz}"],
        ["softmax-grad", "{npz}", "--labels", "0"],
        ["bn-grad", "examples/x.csv", "--dy", "examples/dy.csv", "--expect", "{npz}"],
    ],
)
def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path, command: list[str]) -> None:
    npz = tmp_path / "bomb.npz"
    _zeros_npz(npz, (10_000, 1_000))  # 80 MB of zeros in about 80 kB
    packed = npz.stat().st_size
    args = [part.format(npz=npz) for part in command]
    result = subprocess.run(
        [hw3_executable(), *args], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )
    err = assert_clean_error(result)
    ratio = 80_000_128 // packed
    assert f"unpacks to 80,000,128 bytes, {ratio:,} times its own size" in err
    assert "hw3 unpacks at most 100 times an archive's size (beyond 64 MiB)" in err


def test_a_small_or_plainly_compressed_archive_is_read(tmp_path: Path) -> None:
    zeros = tmp_path / "zeros.npz"
    _zeros_npz(zeros, (1000, 1000))  # 8 MB of zeros: under 64 MiB, read whatever the ratio
    assert readers.parse_npz(zeros.read_bytes(), "zeros.npz")["x"].shape == (1000, 1000)
    noise = tmp_path / "noise.npz"
    values = np.random.default_rng(6).normal(size=(9000, 1000))  # 72 MB, ratio about 1.1
    np.savez_compressed(noise, x=values)
    assert readers.parse_npz(noise.read_bytes(), "noise.npz")["x"].tobytes() == values.tobytes()


# --- large models ------------------------------------------------------------------------


def test_a_stack_of_more_than_ten_thousand_layers_is_refused(tmp_path: Path) -> None:
    net = tmp_path / "net.json"
    net.write_text(json.dumps([{"kernel": 1}] * 10_001))
    err = assert_clean_error(invoke(["conv-shape", "--net", str(net), "--input", "8x8"]))
    assert "holds 10,001 layers, more than the 10,000 hw3 reads in one stack" in err
    net.write_text(json.dumps([{"kernel": 1}] * 10_000))
    result = invoke(["conv-shape", "--net", str(net), "--input", "8x8"])
    assert (result.exit_code, result.stdout) == (0, "8x8\n")  # a 1x1 kernel keeps the size


def test_a_printed_model_of_more_than_100_000_modules_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "m.txt"
    lines = "".join(f"  ({i}): ReLU()\n" for i in range(100_001))
    model.write_text(f"Sequential(\n{lines})\n")
    err = assert_clean_error(invoke(["conv-shape", "--net", str(model), "--input", "8x8"]))
    assert "line 100002: the model holds more than 100,000 modules" in err


def test_a_table_of_more_than_2000_rows_is_refused_and_json_is_not(tmp_path: Path) -> None:
    net = tmp_path / "net.json"
    net.write_text(json.dumps([{"kernel": 1}] * 2_001))
    args = ["conv-shape", "--net", str(net), "--input", "8x8", "--format", "table"]
    err = assert_clean_error(invoke(args))
    assert "--format table: the table would have 2,001 rows, more than the 2,000" in err
    result = invoke([*args[:-1], "json"])
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["layers"]) == 2_001


def test_depth_folds_a_long_model_into_a_short_table(tmp_path: Path) -> None:
    model = tmp_path / "m.txt"
    block = "".join(f"    ({i}): ReLU()\n" for i in range(1_000))
    model.write_text(
        "Net(\n" + "".join(f"  (b{j}): Sequential(\n{block}  )\n" for j in range(3)) + ")\n"
    )
    args = ["conv-shape", "--net", str(model), "--input", "8x8", "--format", "table"]
    assert_clean_error(invoke(args))  # 3,003 rows
    result = invoke([*args, "--depth", "1"])
    assert result.exit_code == 0, result.stderr
    assert "b2: Sequential" in result.stdout


# --- every reader: a result or an InputError, whatever the bytes ---------------------------

CSV_TEXT = st.lists(
    st.sampled_from([*'0123456789.,;|\t -+eE\n\r"#_x\u00a7\u2028', "inf", "nan", "1e999"]),
    max_size=60,
).map("".join)


def _read_or_refuse(data: bytes, fmt: str) -> None:
    """Read ``data`` as ``fmt``: finite float64 arrays, or an InputError (nothing else)."""
    try:
        if fmt == "csv":
            matrix, _ = readers.parse_csv(data, "x.csv")
            values = [matrix]
        elif fmt == "json":
            values = [readers.to_array(files.parse_json(data, "x.json"), "x.json")]
        elif fmt == "npy":
            values = [readers.parse_npy(data, "x.npy")]
        else:
            values = list(readers.parse_npz(data, "x.npz").values())
    except InputError as e:
        assert str(e).strip()
        return
    for value in values:
        assert value.dtype == np.float64 and value.size and np.isfinite(value).all()


@settings(max_examples=300, deadline=None)
@given(CSV_TEXT, st.booleans())
def test_csv_reader_reads_or_refuses_any_text(text: str, careful: bool) -> None:
    if careful:  # the reader used where polars cannot run
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(engine, "polars_module", lambda: None)
            _read_or_refuse(text.encode(), "csv")
    else:
        _read_or_refuse(text.encode(), "csv")


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**400), 10**400),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=3),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON_VALUES.map(lambda v: json.dumps(v).encode()), st.binary(max_size=40)))
def test_json_reader_reads_or_refuses_any_document(data: bytes) -> None:
    _read_or_refuse(data, "json")


def _npy(header: dict[str, object], body: bytes) -> bytes:
    text = repr(header).encode("latin1")
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + body


NPY_HEADERS = st.fixed_dictionaries(
    {
        "descr": st.sampled_from(["<f8", "<i1", "|b1", "<c16", "|O", "<U3", "<f2", ">i4", "x"]),
        "fortran_order": st.sampled_from([False, True, 0]),
        "shape": st.lists(st.integers(-1, 4), max_size=3).map(tuple),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.builds(_npy, NPY_HEADERS, st.binary(max_size=64)), st.binary(max_size=64)))
def test_npy_reader_reads_or_refuses_any_file(data: bytes) -> None:
    _read_or_refuse(data, "npy")


def _zip(members: list[tuple[str, bytes]], compression: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, body in members:
            archive.writestr(name, body)
    return buffer.getvalue()


NPZ_MEMBERS = st.lists(
    st.tuples(
        st.sampled_from(["x.npy", "y.npy", "x.txt", "dir/"]),
        st.one_of(st.builds(_npy, NPY_HEADERS, st.binary(max_size=64)), st.binary(max_size=32)),
    ),
    max_size=3,
    unique_by=lambda member: member[0],
)


@settings(max_examples=200, deadline=None)
@given(
    st.builds(
        _zip, NPZ_MEMBERS, st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    ).flatmap(lambda z: st.sampled_from([z, z[: len(z) // 2], z[:-5]]))
)
def test_npz_reader_reads_or_refuses_any_archive(data: bytes) -> None:
    _read_or_refuse(data, "npz")


# --- JSON output in pieces ---------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=3),
        st.one_of(
            arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 3)), elements=finite),
            arrays(np.float64, st.integers(1, 4), elements=finite),
            finite,
            st.none(),
            st.lists(st.integers(), max_size=3),
        ),
        max_size=4,
    )
)
def test_json_in_pieces_is_the_json_text(obj: dict[str, object]) -> None:
    pieces = list(writers.json_chunks(obj))
    assert "".join(pieces) == writers.json_text(obj)
    back = json.loads("".join(pieces))
    for key, value in obj.items():
        expected = value.tolist() if isinstance(value, np.ndarray) else value
        assert back[key] == expected


def test_json_in_pieces_refuses_before_anything_is_written() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        next(writers.json_chunks({"a": np.zeros(3), "b": np.array([1.0, np.inf])}))


def test_compressed_members_unpack_to_at_most_a_bound_whatever_the_ratio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "NPZ_MAX_INFLATED", 1 << 20)
    values = np.random.default_rng(7).normal(size=(200, 1000))  # 1.6 MB, ratio about 1.1
    compressed, stored = tmp_path / "c.npz", tmp_path / "s.npz"
    np.savez_compressed(compressed, x=values)
    np.savez(stored, x=values)
    with pytest.raises(InputError) as e:
        readers.parse_npz(compressed.read_bytes(), "c.npz")
    assert str(e.value).startswith("c.npz: its compressed arrays unpack to 1,600,128 bytes")
    assert "hw3 unpacks at most 1 MiB from compressed members" in str(e.value)
    # stored members are as large as the file, which the input limit already bounds
    assert readers.parse_npz(stored.read_bytes(), "s.npz")["x"].tobytes() == values.tobytes()
