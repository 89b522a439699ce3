"""Readers and writers: round trips that read back identical, and errors that name the place."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hw3cli.errors import InputError
from hw3cli.tensor_io import files, readers, writers
from hw3cli.tensor_io.atomic import write_atomic

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
    write_atomic(str(target), writers.npz_bytes(arrays_in))
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
    with pytest.raises(InputError, match=r"not a readable \.npy"):
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
