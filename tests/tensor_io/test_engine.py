"""The fast CSV engine (polars) reads and writes exactly what the careful path does."""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hw3cli.errors import InputError
from hw3cli.tensor_io import engine, files, readers, writers
from tests.conftest import hw3_executable

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
matrices = arrays(np.float64, st.tuples(st.integers(1, 20), st.integers(1, 6)), elements=finite)


def _careful(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "polars_module", lambda: None)


def test_the_engine_is_there() -> None:
    # not vacuous: on this project's machines polars is installed and allowed to run
    assert engine.polars_module() is not None


@given(matrices, st.booleans(), st.sampled_from([",", ";", "\t"]))
def test_fast_reader_equals_the_careful_one(m: np.ndarray, header: bool, sep: str) -> None:
    names = [f"f{i}" for i in range(m.shape[1])]
    lines = ([sep.join(names)] if header else []) + [sep.join(map(repr, r)) for r in m.tolist()]
    data = ("\n".join(lines) + "\n").encode()
    fast = readers._fast_csv(data, "auto")
    assert fast is not None
    with pytest.MonkeyPatch.context() as mp:
        _careful(mp)
        careful = readers.parse_csv(data, "m.csv")
    assert fast[1] == careful[1] == (tuple(names) if header else None)
    assert np.array_equal(fast[0], careful[0])  # bit for bit, -0.0 aside
    assert np.array_equal(np.signbit(fast[0]), np.signbit(careful[0]))


@given(matrices)
def test_fast_writer_round_trips_exactly(m: np.ndarray) -> None:
    text = writers.csv_text(m)
    back = np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])
    assert np.array_equal(back, m)
    assert np.array_equal(np.signbit(back), np.signbit(m))


@pytest.mark.parametrize(
    "data",
    [
        b"1,2\n\n3,4\n",  # a blank line
        b"1,2\n# note\n3,4\n",  # a comment
        b'1,"2"\n3,4\n',  # quotes
        b"1,2\n3,nan\n",  # not finite
        b"1,2\n3\n",  # a short row
        b"1,2,3a\n4,5,6\n",  # a typo in row 1
    ],
)
def test_anything_unusual_goes_the_careful_way(data: bytes) -> None:
    assert readers._fast_csv(data, "auto") is None


def test_under_an_address_space_limit_the_careful_path_answers(tmp_path: Path) -> None:
    # polars cannot load (or hangs reading a file) under ulimit -v: hw3 must not need it
    x = tmp_path / "x.csv"
    x.write_text("a,b\n1,2\n3,5\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1024**3, resource.RLIM_INFINITY))

    done = subprocess.run(
        [hw3_executable(), "bn-grad", str(x), "--dy", str(x)],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    # feature a: x = dy = [1, 3], m = 2, var = 1, c = 1/sqrt(1 + eps), xhat = c [-1, 1].
    # dx = (c/m)(m dy - sum dy - xhat sum(dy xhat)) = (c/2)([-2, 2] - c [-1, 1] 2c)
    #    = c (1 - c^2) [-1, 1]; feature b (x = [2, 5], var 2.25) likewise with its own c
    rows = np.array([list(map(float, line.split(","))) for line in done.stdout.splitlines()[1:]])
    for column, var in ((0, 1.0), (1, 2.25)):
        c = 1.0 / np.sqrt(var + 1e-5)
        spread = np.sqrt(var) * 2  # dy's own spread: dy - mean(dy) = sqrt(var) [-1, 1]
        expected = c * (1 - c**2 * var) * spread / 2 * np.array([-1.0, 1.0])
        assert np.allclose(rows[:, column], expected, rtol=1e-9, atol=0)


# --- a regular file read by polars from the file itself ---------------------------------


def _read_file(path: Path) -> tuple[np.ndarray, tuple[str, ...] | None]:
    doc = readers.read_document(str(path), what="input", hint="")
    return doc.values["data"], doc.header


@given(matrices, st.booleans(), st.sampled_from([",", ";", "\t"]))
def test_a_file_read_by_polars_from_the_file_equals_the_careful_reading(
    tmp_path_factory: pytest.TempPathFactory, m: np.ndarray, header: bool, sep: str
) -> None:
    names = [f"f{i}" for i in range(m.shape[1])]
    lines = ([sep.join(names)] if header else []) + [sep.join(map(repr, r)) for r in m.tolist()]
    path = tmp_path_factory.mktemp("f") / "m.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.MonkeyPatch.context() as mp:  # the file route only: its bytes are never read
        mp.setattr(files.Input, "all_bytes", lambda *a, **k: pytest.fail("bytes read"))
        fast, fast_header = _read_file(path)
    with pytest.MonkeyPatch.context() as mp:
        _careful(mp)
        careful, careful_header = _read_file(path)
    assert fast_header == careful_header == (tuple(names) if header else None)
    assert np.array_equal(fast, careful)
    assert np.array_equal(np.signbit(fast), np.signbit(careful))


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffa,b\n1,2\n",  # a byte-order mark
        "1,2\n\n3,4\n",  # a blank line
        '1,"2"\n3,4\n',  # quotes
        "1,2\r\n3,4.5\r\n",  # CRLF (polars reads it; the careful reader agrees)
    ],
)
def test_a_file_that_is_not_plain_reads_as_its_text_does(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode())
    by_file = _read_file(path)
    by_text = readers.parse_csv(text.encode(), "x.csv")
    assert by_file[1] == by_text[1]
    assert np.array_equal(by_file[0], by_text[0])


def test_a_bad_cell_of_a_file_is_named_by_the_careful_reader(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n3,4x\n")
    with pytest.raises(InputError) as caught:
        _read_file(path)
    assert caught.value.where == f"{path}, row 3, column 2"


def test_a_file_that_may_hold_a_long_line_is_read_in_pieces_which_refuse_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 64)
    path = tmp_path / "x.csv"
    path.write_text("1,2\n3,4\n" + ",".join(["5"] * 100) + "\n6,7\n")
    with pytest.raises(InputError) as caught:
        _read_file(path)
    assert caught.value.where == f"{path}, row 3"


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_a_file_of_short_lines_goes_the_file_route_whatever_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line_end: str
) -> None:
    """Every window the long-line search looks at holds a line end (windows of 32 bytes
    here, their last 4 KiB read first): polars reads the file, its bytes are not read."""
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 64)
    monkeypatch.setattr(files.Input, "all_bytes", lambda *a, **k: pytest.fail("bytes read"))
    path = tmp_path / "x.csv"
    path.write_text("".join(f"{i},{i / 7!r}{line_end}" for i in range(200)))
    values, header = _read_file(path)
    assert header is None
    assert values.shape == (200, 2)
    assert values[199].tolist() == [199.0, 199 / 7]


def test_an_empty_file_is_refused_as_before(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("")
    with pytest.raises(InputError, match="holds no rows of numbers"):
        _read_file(path)


def test_polars_allocator_returns_freed_pages_soon_unless_the_user_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """hw3's settings for polars' jemalloc come before a user's (the later wins) and
    replace the ones polars itself leaves in the environment of a process it loaded in,
    which reach hw3 when such a process starts it (a benchmark script, a notebook)."""
    ours = "dirty_decay_ms:200,muzzy_decay_ms:0"
    for setting, expected in [
        (None, ours),
        ("dirty_decay_ms:500,muzzy_decay_ms:1000", ours),  # polars' own, passed on
        ("narenas:1", f"{ours},narenas:1"),
        ("dirty_decay_ms:500,muzzy_decay_ms:1000,dirty_decay_ms:0", f"{ours},dirty_decay_ms:0"),
    ]:
        if setting is None:
            monkeypatch.delenv("_RJEM_MALLOC_CONF", raising=False)
        else:
            monkeypatch.setenv("_RJEM_MALLOC_CONF", setting)
        for _ in range(3):  # the same however often it is run
            engine.allocator_settings()
            assert os.environ["_RJEM_MALLOC_CONF"] == expected
    # once polars has loaded (it has, in this process), the settings are left alone
    monkeypatch.setenv("_RJEM_MALLOC_CONF", "narenas:1")
    assert engine.polars_module() is not None
    assert os.environ["_RJEM_MALLOC_CONF"] == "narenas:1"
