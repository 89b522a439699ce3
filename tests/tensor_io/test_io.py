"""Readers and writers: round trips that read back identical, and errors that name the place."""

from __future__ import annotations

import io
import json
import math
import os
import struct
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hw3cli.errors import InputError
from hw3cli.tensor_io import files, readers, writers
from hw3cli.tensor_io.atomic import atomic_output, write_atomic

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
matrices = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 5)), elements=finite)


@settings(max_examples=50, deadline=None)
@given(matrices)
def test_csv_round_trip_is_exact(m: np.ndarray) -> None:
    text = writers.csv_text(m)
    back, header = readers.parse_csv(text.encode(), "m.csv")
    assert header is None
    assert back.tobytes() == m.tobytes()  # every bit, -0.0 included


@settings(max_examples=50, deadline=None)
@given(matrices)
def test_json_round_trip_is_exact(m: np.ndarray) -> None:
    text = writers.json_text({"x": m, "n": 3})
    doc = json.loads(text)
    back = readers.to_array(doc["x"], "x")
    assert back.tobytes() == m.tobytes()


def test_npz_round_trip(tmp_path: Path) -> None:
    arrays_in = {"dx": np.arange(6.0).reshape(2, 3) / 7, "dbeta": np.array([0.1, 0.2, 0.3])}
    target = tmp_path / "out.npz"
    with atomic_output(str(target)) as f:
        writers.write_npz_members(
            f, [(name, value.shape, [value]) for name, value in arrays_in.items()]
        )
    back = readers.parse_npz(target.read_bytes(), "out.npz")
    for key, value in arrays_in.items():
        assert back[key].tobytes() == value.tobytes()


def test_npy_round_trip() -> None:
    m = np.linspace(-1, 1, 12).reshape(3, 4)
    buffer = io.BytesIO()
    np.save(buffer, m)
    assert readers.parse_npy(buffer.getvalue(), "m.npy").tobytes() == m.tobytes()
    ints = io.BytesIO()
    np.save(ints, np.arange(4, dtype=np.int32))
    assert readers.parse_npy(ints.getvalue(), "i.npy").dtype == np.float64


def test_csv_header_bom_and_crlf() -> None:
    data = "\ufeffa,b\r\n1,2\r\n3,4.5\r\n\r\n".encode()
    m, header = readers.parse_csv(data, "x.csv")
    assert header == ("a", "b")
    assert m.tolist() == [[1.0, 2.0], [3.0, 4.5]]
    assert writers.csv_text(m, header) == "a,b\n1.0,2.0\n3.0,4.5\n"


def test_csv_reads_in_blocks() -> None:
    text = "".join(f"{i},{i + 0.5}\n" for i in range(10))
    blocks = list(readers.iter_csv_blocks(text, "x.csv", block_rows=4))
    assert [len(rows) for _, rows in blocks] == [4, 4, 2]
    assert [first for first, _ in blocks] == [1, 5, 9]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("1,2\n3,oops\n", ["x.csv, row 2, column 2", "'oops' is not a number"]),
        ("1,2\n3\n", ["x.csv, row 2", "1 columns", "have 2"]),
        ("1,2\nnan,4\n", ["row 2, column 1", "not a finite number"]),
        ("1,inf\n", ["row 1, column 2", "not a finite"]),
        ("a,b\n", ["holds no rows of numbers"]),
        ("a,b\n1,2,3\n", ["row 2", "3 columns"]),
    ],
)
def test_csv_errors_name_the_cell(data: str, words: list[str]) -> None:
    with pytest.raises(InputError) as info:
        readers.parse_csv(data.encode(), "x.csv")
    for word in words:
        assert word in info.value.render()


def test_csv_not_utf8() -> None:
    with pytest.raises(InputError, match="not UTF-8"):
        readers.parse_csv(b"1,2\n\xff\xfe,3\n", "x.csv")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ([[1, 2], [3]], ["x[1]", "has 1 entries where the first has 2"]),
        ([[1, 2], [3, "a"]], ["x[1][1]", "the string 'a'"]),
        ([[1, True]], ["x[0][1]", "true"]),
        ([[1, None]], ["x[0][1]", "null"]),
        ([], ["is empty"]),
        ("abc", ["expected numbers"]),
        ({"a": 1}, ["an object"]),
        ([[1, 2], 3], ["x[1]", "not rectangular"]),
    ],
)
def test_json_array_errors_name_key_and_index(value: object, words: list[str]) -> None:
    with pytest.raises(InputError) as info:
        readers.to_array(value, "x")
    for word in words:
        assert word in info.value.render()


def test_json_syntax_error_has_line_and_column() -> None:
    with pytest.raises(InputError, match=r"b.json, line 2, column \d+"):
        files.parse_json(b'{"x": [1,\n  2,, 3]}', "b.json")


def test_json_nan_refused() -> None:
    with pytest.raises(InputError, match="NaN is not a finite number"):
        files.parse_json(b'{"x": [NaN]}', "b.json")


def test_npy_refuses_pickles_and_garbage() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="Python objects"):
        readers.parse_npy(buffer.getvalue(), "o.npy")
    with pytest.raises(InputError, match=r"not a readable \.npy"):
        readers.parse_npy(b"\x93NUMPY garbage", "g.npy")
    complex_buffer = io.BytesIO()
    np.save(complex_buffer, np.array([1 + 2j]))
    with pytest.raises(InputError, match="not real numbers"):
        readers.parse_npy(complex_buffer.getvalue(), "c.npy")


def test_format_detection() -> None:
    assert readers.detect_format("a.json", b"1,2") == "json"
    assert readers.detect_format(None, b'  {"x": 1}') == "json"
    assert readers.detect_format(None, b"\x93NUMPY...") == "npy"
    assert readers.detect_format(None, b"PK\x03\x04...") == "npz"
    assert readers.detect_format("-", b"1,2\n") == "csv"
    assert readers.detect_format("a.json", b"1,2", "csv") == "csv"


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        files.read_bytes(str(tmp_path / "nope.csv"), what="input", hint="")
    with pytest.raises(InputError, match="folder"):
        files.read_bytes(str(tmp_path), what="input", hint="")


def test_atomic_write_replaces_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(str(target), b"new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_atomic_write_to_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_atomic(str(tmp_path / "no" / "out.csv"), b"x")


def test_csv_writer_refuses_rank_4() -> None:
    with pytest.raises(InputError, match="CSV holds a matrix"):
        writers.csv_text(np.zeros((1, 2, 2, 1)))


# --- CSV: the header rule ----------------------------------------------------------------


def test_first_row_mixing_numbers_and_names_is_an_error() -> None:
    # A typo in the first data row used to make it a header, losing the sample silently.
    with pytest.raises(InputError) as info:
        readers.parse_csv(b"1,2,3a\n4,5,6\n", "x.csv")
    assert info.value.render().startswith("x.csv, row 1, column 3: '3a' is not a number\n")
    assert info.value.hint is not None and "a header row holds only names" in info.value.hint


@pytest.mark.parametrize(
    ("data", "header", "rows"),
    [
        ("a,b\n1,2\n", ("a", "b"), [[1.0, 2.0]]),
        (",a,b\n0,1.5,2\n", ("", "a", "b"), [[0.0, 1.5, 2.0]]),  # pandas' index column
        ("feature 1,feature 2\n1,2\n", ("feature 1", "feature 2"), [[1.0, 2.0]]),
        ("2020-01-01,x\n1,2\n", ("2020-01-01", "x"), [[1.0, 2.0]]),  # a date is a name
        ("1,2\n3,4\n", None, [[1.0, 2.0], [3.0, 4.0]]),
        ("x\n1\n2\n", ("x",), [[1.0], [2.0]]),
    ],
)
def test_row_1_is_a_header_only_when_no_cell_is_a_number(
    data: str, header: tuple[str, ...] | None, rows: list[list[float]]
) -> None:
    m, got = readers.parse_csv(data.encode(), "x.csv")
    assert got == header
    assert m.tolist() == rows


@pytest.mark.parametrize(
    ("data", "where", "cell"),
    [
        ("1,,3\n4,5,6\n", "row 1, column 2", "''"),  # an empty cell among numbers
        ("\n\nname,1\n1,2\n", "row 3, column 1", "'name'"),  # rows are lines of the file
        ("1,2\n\n\n3,x\n", "row 4, column 2", "'x'"),
    ],
)
def test_bad_cells_are_named_by_their_line(data: str, where: str, cell: str) -> None:
    with pytest.raises(InputError) as info:
        readers.parse_csv(data.encode(), "x.csv")
    assert info.value.render().startswith(f"x.csv, {where}: {cell} is not a number")


# --- CSV: delimiters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a;b\n1;2\n", ";"),
        ("1,5;2,5\n", ";"),  # a European export: ';' wins over the decimal commas
        ("1\t2\n", "\t"),
        ("1\t2,5\n", "\t"),
        ("1,2\n", ","),
        ("\n\n  1.0e+00   2.0e+00\n", " "),  # np.savetxt: spaces, leading ones too
        ("1\n2\n", ","),  # a single column
        ("", ","),
    ],
)
def test_detect_delimiter_from_the_first_non_blank_line(text: str, delimiter: str) -> None:
    assert readers.detect_delimiter(text) == delimiter


EXPECTED_2X2 = [[1.5, -2.0], [3.0, 4.25]]


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        ("1.5,-2\n3,4.25\n", "auto"),
        ("1.5;-2\r\n3;4.25\r\n", "auto"),
        ("1.5\t-2\n3\t4.25\n", "auto"),
        ("  1.5   -2\n3 4.25\n", "auto"),
        ("1.5 \t -2\n3\t4.25\n", " "),
        ("1.5|-2\n3|4.25\n", "|"),
        ("1.5:-2\n3:4.25\n", ":"),
        ("a;b\n1.5;-2\n3;4.25\n", ";"),
    ],
)
def test_delimiters_are_read(data: str, delimiter: str) -> None:
    m, _ = readers.parse_csv(data.encode(), "x.csv", delimiter)
    assert m.tolist() == EXPECTED_2X2


@settings(max_examples=30, deadline=None)
@given(matrices)
def test_savetxt_default_output_reads_back_exactly(m: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savetxt(buffer, m)  # '%.18e', separated by one space: 19 significant digits
    back, header = readers.parse_csv(buffer.getvalue(), "m.txt")
    assert header is None
    assert back.tobytes() == m.tobytes()


@pytest.mark.parametrize(
    ("data", "delimiter", "hint"),
    [
        ("1|2\n3|4\n", "auto", "the values seem separated by '|': give --delimiter '|'"),
        ("a,b\n1|2,3\n", "auto", "the values seem separated by '|': give --delimiter '|'"),
        ("1,2\n3,4 5\n", "auto", "the values seem separated by spaces: give --delimiter space"),
        ("1\t2\n", ",", "the values seem separated by tabs: give --delimiter tab"),
        ("1;2\n", ",", "the values seem separated by ';': give --delimiter ';'"),
        ("1:2\n", ",", "the values seem separated by ':': give --delimiter ':'"),
        ("1,5;2,25\n", "auto", "hw3 reads '.' as the decimal point: write 1.5, not 1,5"),
        ("a;b\n1;2,25\n", "auto", "hw3 reads '.' as the decimal point: write 2.25, not 2,25"),
        ("1,2\n", "|", "the values seem separated by ',': give --delimiter comma"),
    ],
)
def test_a_wrong_delimiter_is_named_in_the_hint(data: str, delimiter: str, hint: str) -> None:
    with pytest.raises(InputError) as info:
        readers.parse_csv(data.encode(), "x.csv", delimiter)
    assert "is not a number" in info.value.message
    assert info.value.hint is not None and hint in info.value.hint


def test_decimal_comma_is_not_taken_for_a_header() -> None:
    with pytest.raises(InputError) as info:
        readers.parse_csv(b"1,5;2,5\n3,5;4,5\n", "x.csv")
    assert info.value.where == "x.csv, row 1, column 1"
    assert info.value.hint is not None and "header" not in info.value.hint


@pytest.mark.parametrize("delimiter", ["ab", "1", "e", ".", "-", '"', "\n"])
def test_parse_csv_refuses_a_delimiter_that_cannot_separate_numbers(delimiter: str) -> None:
    with pytest.raises(InputError) as info:
        readers.parse_csv(b"1,2\n", "x.csv", delimiter)
    assert info.value.where == "--delimiter"


def test_old_mac_line_ends() -> None:
    m, _ = readers.parse_csv(b"1,2\r3,4\r", "x.csv")
    assert m.tolist() == [[1.0, 2.0], [3.0, 4.0]]


# --- JSON: depth, axes, sizes -------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * 10_000_000,  # refused before the parser sees it
        b"[1," * 1_000_000,
        b'{"x": ' * 101 + b"1" + b"}" * 101,
        b"[" * 60 + b"{" + b'"a":' + b"[" * 60 + b"]" * 60 + b"}" + b"]" * 60,
    ],
)
def test_deep_json_is_refused(data: bytes) -> None:
    with pytest.raises(InputError) as info:
        files.parse_json(data, "deep.json")
    assert info.value.message.startswith("JSON nested too deeply")
    assert info.value.where == "deep.json"


def test_json_depth_limit_counts_brackets_outside_strings_only() -> None:
    assert files.parse_json(b"[" * 100 + b"]" * 100, "ok.json") is not None  # 100 levels
    with pytest.raises(InputError, match="nested too deeply"):
        files.parse_json(b"[" * 101 + b"]" * 101, "deep.json")
    text = '["' + "[" * 500 + '\\"{"]'
    assert files.parse_json(text.encode(), "s.json") == ["[" * 500 + '"{']


def test_json_whole_number_beyond_python_digits() -> None:
    with pytest.raises(InputError, match="more than 4300 digits") as info:
        files.parse_json(b"[" + b"1" * 5000 + b"]", "n.json")
    assert info.value.where == "n.json"


def test_to_array_refuses_more_than_32_axes() -> None:
    nested: Any = 1.0
    for _ in range(32):
        nested = [nested]
    assert readers.to_array(nested, "x").ndim == 32
    with pytest.raises(InputError, match="more than 32 axes"):
        readers.to_array([nested], "x")


@pytest.mark.parametrize(
    ("value", "where", "words"),
    [
        ([[10**400, 2], [1, 2]], "x[0][0]", "1.000e+400 (401 digits) is too large for a float64"),
        ([1, -(10**309)], "x[1]", "-1.000e+309 (310 digits) is too large"),
        ([], "x", "is empty (shape 0)"),
        ([[]], "x", "is empty (shape 1x0)"),
    ],
)
def test_to_array_errors_with_the_index(value: Any, where: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        readers.to_array(value, "x")
    assert info.value.where == where
    assert words in info.value.message


def test_largest_whole_number_that_fits_is_read() -> None:
    biggest = int(np.finfo(np.float64).max)  # 2**1024 - 2**971, exactly a float64
    assert readers.to_array([biggest], "x")[0] == np.finfo(np.float64).max


# --- NPY / NPZ: headers checked before anything is allocated ----------------------------


def _npy(header: str, payload: bytes, version: tuple[int, int] = (1, 0)) -> bytes:
    """A .npy file built by hand: magic, version, header length, padded header, data."""
    text = header.encode("latin1")
    length_format = "<H" if version == (1, 0) else "<I"
    start = 8 + struct.calcsize(length_format)
    text += b" " * (-(start + len(text) + 1) % 64) + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack(length_format, len(text)) + text + payload


HUGE = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }"


def test_npy_with_a_huge_declared_shape_is_refused_without_allocating() -> None:
    data = _npy(HUGE, b"\0" * 24)
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            readers.parse_npy(data, "huge.npy")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # 745 GiB were asked for before
    text = info.value.message
    assert "shape (100000000000,)" in text
    assert "800,000,000,000 bytes" in text  # 10**11 float64 of 8 bytes
    assert "holds 24" in text


def _saved(array: np.ndarray, **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


GOOD = _saved(np.arange(6.0).reshape(2, 3))


def _with_header_length(data: bytes, length: int) -> bytes:
    return data[:8] + struct.pack("<H", length) + data[10:]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "the file is empty (0 bytes)"),
        (b"\x93NUM", "does not start with the .npy magic"),
        (b"\x93NUMPY\x01", "ends after 7 bytes, inside the header"),
        (GOOD[:30], "only 20 follow"),  # the header cut short
        (GOOD[:-8], "48 bytes of data, but the file holds 40"),  # one float64 missing
        (GOOD + b"\0" * 8, "48 bytes of data, but the file holds 56"),
        (_with_header_length(GOOD, 5000), "its header claims 5000 bytes but only 166 follow"),
        (_with_header_length(GOOD, 20), "not a Python dict literal"),
        (b"\x93NUMPY\x09\x00" + b"\0" * 100, "unknown format version 9.0"),
        (_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", b""), "shape"),
        (_npy("{'descr': '<f8', 'shape': (1,), }", b"\0" * 8), "exactly descr"),
        (_npy("{'descr': 'zz', 'fortran_order': False, 'shape': (1,), }", b""), "dtype 'zz'"),
        (
            _npy(
                "{'descr': '<f8', 'fortran_order': False, 'shape': "
                + "(" * 300
                + ")" * 300
                + ", }",
                b"",
            ),
            "not a Python dict literal",
        ),
    ],
)
def test_bad_npy_files_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(InputError) as info:
        readers.parse_npy(data, "bad.npy")
    assert info.value.where == "bad.npy"
    assert words in info.value.message


def test_random_bytes_after_the_magic_are_refused() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        junk = rng.integers(0, 256, size=int(rng.integers(0, 300)), dtype=np.uint8).tobytes()
        with pytest.raises(InputError):
            readers.parse_npy(b"\x93NUMPY" + junk, "r.npy")
        with pytest.raises(InputError):
            readers.parse_npy(b"\x93NUMPY\x01\x00" + junk, "r.npy")


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (np.array([1 + 2j]), "complex numbers"),
        (np.array(["a", "b"]), "strings"),
        (np.array([b"a"]), "byte strings"),
        (np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")]), "structured"),
        (np.array(["2020-01-01"], dtype="M8[D]"), "dates"),
        (np.zeros(2, dtype="V8"), "records"),
        (np.array([True]), "booleans"),
    ],
)
def test_npy_of_other_dtypes_is_refused(array: np.ndarray, words: str) -> None:
    with pytest.raises(InputError) as info:
        readers.parse_npy(_saved(array), "d.npy")
    assert words in info.value.message


class Marker:
    """Unpickling this creates the folder ``path``: proof that a pickle was executed."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (self.path,))


def _pickle_npy(marker: Path) -> bytes:
    return _saved(np.array([Marker(str(marker))], dtype=object), allow_pickle=True)


def test_the_marker_pickle_really_runs_when_loaded(tmp_path: Path) -> None:
    # The control for the tests below: NumPy with allow_pickle=True executes it.
    control = tmp_path / "control"
    np.load(io.BytesIO(_pickle_npy(control)), allow_pickle=True)
    assert control.is_dir()


def test_a_pickle_in_an_npy_or_npz_is_never_executed(tmp_path: Path) -> None:
    from tests.conftest import assert_clean_error, invoke

    marker = tmp_path / "pwned"
    evil = _pickle_npy(marker)
    (tmp_path / "evil.npy").write_bytes(evil)
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as archive:
        archive.writestr("x.npy", evil)
        archive.writestr("dy.npy", GOOD)
    for args in (
        ["bn-grad", str(tmp_path / "evil.npy"), "--dy", str(tmp_path / "evil.npy")],
        ["bn-grad", str(tmp_path / "evil.npz")],
        ["softmax-grad", str(tmp_path / "evil.npy"), "--labels", "0"],
        ["bn-grad", "--dy", str(tmp_path / "evil.npy")],
    ):
        stdin = "1,2\n3,4\n" if "--dy" in args and len(args) == 3 else None
        stderr = assert_clean_error(invoke(args, stdin))
        assert "Python objects" in stderr
    assert not marker.exists()


def test_npy_versions_byte_orders_and_fortran_order() -> None:
    m = np.arange(6.0).reshape(2, 3) / 7
    for version in ((1, 0), (2, 0), (3, 0)):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, m, version=version)
        assert readers.parse_npy(buffer.getvalue(), "v.npy").tobytes() == m.tobytes()
    assert readers.parse_npy(_saved(m.astype(">f8")), "b.npy").tobytes() == m.tobytes()
    fortran = readers.parse_npy(_saved(np.asfortranarray(m)), "f.npy")
    assert fortran.tolist() == m.tolist()
    assert readers.parse_npy(_saved(np.float64(2.5)), "s.npy").shape == ()


def _npz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "the file is empty (0 bytes)"),
        (_npz({"x.npy": _npy(HUGE, b"\0" * 24)}), "its header declares 800,000,000,128"),
        (
            _npz({"x.npy": GOOD[:-8]}),
            "the archive says it is 168 bytes but its header declares 176",
        ),
        (_npz({"x.npy": GOOD, "notes.txt": b"hello"}), "'notes.txt', which is not a .npy"),
        (_npz({}), "holds no arrays"),
        (b"PK\x03\x04" + bytes(range(200)), "not a readable .npz file"),
    ],
)
def test_bad_npz_files_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(InputError) as info:
        readers.parse_npz(data, "bad.npz")
    assert words in info.value.render()


def test_npz_member_with_a_wrong_crc_is_refused() -> None:
    data = bytearray(_npz({"x.npy": GOOD}))
    offset = data.index(b"x.npy") + len("x.npy") + 5  # inside the compressed bytes
    data[offset] ^= 0xFF
    with pytest.raises(InputError, match=r"not a readable \.npz"):
        readers.parse_npz(bytes(data), "crc.npz")


def test_npz_scalars_are_zero_dimensional() -> None:
    out = readers.parse_npz(_npz({"eps.npy": _saved(np.float64(1e-3))}), "s.npz")
    assert out["eps"].shape == () and math.isclose(float(out["eps"]), 1e-3)


def test_comment_lines_are_skipped_and_rows_keep_their_numbers() -> None:
    # np.savetxt(..., header="a b") writes "# a b" first; np.loadtxt skips it too
    data = b'# a b\n1 2\n# a "quote, and a comma\n3 4.5\n5 x\n'
    with pytest.raises(InputError) as bad:
        readers.parse_csv(data, "s.txt")
    assert bad.value.where == "s.txt, row 5, column 2"
    m, header = readers.parse_csv(data.rsplit(b"5 x\n", 1)[0], "s.txt")
    assert header is None
    assert m.tolist() == [[1.0, 2.0], [3.0, 4.5]]


def test_inputs_larger_than_memory_allows_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hw3cli.tensor_io import files

    monkeypatch.setattr(files, "max_input_bytes", lambda: 10)
    big = tmp_path / "big.csv"
    big.write_text("1,2\n3,4\n5,6\n")  # 12 bytes
    with pytest.raises(InputError, match="holds more than") as refused:
        files.read_bytes(str(big), what="input", hint="")
    assert refused.value.where == str(big)
    with pytest.raises(InputError, match="holds more than"):  # a stream: while reading
        stream = files.Input("stdin", io.BytesIO(b"1,2\n" * 4), b"", None)
        b"".join(stream.chunks())


def test_a_nul_byte_in_the_first_block_is_refused_unless_npy_or_npz(tmp_path: Path) -> None:
    from hw3cli.tensor_io import files

    bad = tmp_path / "x.csv"
    bad.write_bytes(b"1,2\x00\n")
    with pytest.raises(InputError, match="NUL byte at byte 3"):
        files.read_bytes(str(bad), what="input", hint="")
    npy = tmp_path / "x.npy"
    np.save(npy, np.zeros(2))
    assert files.read_bytes(str(npy), what="input", hint="") == npy.read_bytes()


def test_text_and_bytes_chunks_reach_stdout_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV blocks go to stdout's binary buffer as bytes; text written before them (a
    JSON piece, a header), which a text stream holds until flushed, must still come first."""
    import sys

    from hw3cli.commands._numeric import write_chunks

    raw = io.BytesIO()
    stream = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stream)
    write_chunks(["a,b\n", b"1.0,2.0\n", "3.0,", b"4.5\n"], None)
    assert raw.getvalue() == b"a,b\n1.0,2.0\n3.0,4.5\n"


def test_a_file_of_one_piece_is_read_whole_from_its_first_byte(tmp_path: Path) -> None:
    """A regular file's bytes in one read, the first block (already read to detect the
    format) included once, as the block by block reading gives them."""
    from hw3cli.tensor_io.files import open_input

    data = b"x,y\n" + b"1.5,2.5\n" * 300_000  # beyond the first block of 1 MiB
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    with open_input(str(path), what="input", hint="") as source:
        assert source.all_bytes() == data
    with open_input(str(path), what="input", hint="") as source:
        assert b"".join(source.chunks()) == data


def test_csv_rows_regrouped_into_frames_read_back_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of any size are written a frame of `WRITE_ROWS` rows at a time; a frame
    with a NaN (which polars does not write as ``repr`` does) goes the careful way. Every
    row comes out once, in order, as the value it was (read back with ``float``)."""
    monkeypatch.setattr(writers, "WRITE_ROWS", 4)
    monkeypatch.setattr(writers, "WRITE_VALUES", 4 * 3)
    m = np.random.default_rng(5).standard_normal((16, 3)) * 10.0 ** np.arange(-8, 8)[:, None]
    m[9, 1] = np.nan
    blocks = [m[:3], m[3:8], m[8:9], m[9:16]]
    buffer = io.BytesIO()
    writers.write_csv(buffer, blocks, ["a", "b", "c"])
    lines = buffer.getvalue().decode("ascii").splitlines()
    assert lines[0] == "a,b,c"
    back = np.array([[float(cell) for cell in line.split(",")] for line in lines[1:]])
    assert back.shape == m.shape
    assert np.array_equal(back, m, equal_nan=True)
    assert lines[10] == f"{float(m[9, 0])!r},nan,{float(m[9, 2])!r}"  # as repr spells them


def test_a_vector_is_written_as_a_column_across_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers, "WRITE_ROWS", 3)
    buffer = io.BytesIO()
    writers.write_csv(buffer, [np.arange(5.0), np.arange(5.0, 7.0)])
    assert buffer.getvalue() == b"".join(f"{float(i)}\n".encode() for i in range(7))


def test_an_error_writing_the_output_reaches_the_caller_with_its_errno() -> None:
    """polars passes a failed ``write`` on as an OSError without an errno; the writer
    raises the original error, so that a closed pipe is still told from a full disk."""
    import errno

    class ClosedPipe(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    m = np.random.default_rng(0).standard_normal((50, 4))
    with pytest.raises(BrokenPipeError) as caught:
        writers.write_csv(ClosedPipe(), [m])  # type: ignore[arg-type]
    assert caught.value.errno == errno.EPIPE


def test_bytes_reach_a_stdout_without_a_binary_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from hw3cli.commands._numeric import write_binary

    text = io.StringIO()
    monkeypatch.setattr(sys, "stdout", text)
    write_binary(lambda f: writers.write_csv(f, [np.array([[1.5, -2.0]])], ["x", "y"]), None)
    assert text.getvalue() == "x,y\n1.5,-2.0\n"


@pytest.mark.parametrize(
    ("text", "number", "kind"),
    [
        ("Broken pipe (os error 32)", 32, BrokenPipeError),  # polars writing to a descriptor
        ("[Errno 28] No space left on device", 28, OSError),  # polars calling a Python write
    ],
)
def test_an_error_polars_passes_on_gets_its_errno_back(
    text: str, number: int, kind: type[OSError]
) -> None:
    error = writers.os_error(OSError(text))
    assert error.errno == number
    assert isinstance(error, kind)


def test_an_error_without_a_number_is_left_as_it_is() -> None:
    original = OSError("something else")
    assert writers.os_error(original) is original
