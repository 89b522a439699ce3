"""Large arrays in JSON are written block by block (polars formats the numbers) and read
back as the identical float64 values that the one-piece writer gives."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hw3cli.tensor_io import writers


@pytest.mark.parametrize("shape", [(7,), (5, 3), (2, 3, 2), (20000, 2)])
def test_block_by_block_json_reads_back_identical(
    shape: tuple[int, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    big = rng.standard_normal(shape) * 10.0 ** rng.integers(-300, 300, shape)
    obj = {"big": big, "n": 3, "small": np.arange(3.0), "nested": {"a": [1, 2]}, "none": None}
    whole = writers.json_text(obj)
    monkeypatch.setattr(writers, "LARGE", 4)
    monkeypatch.setattr(writers, "BLOCK_ROWS", 3)  # rows cross block boundaries
    pieces = list(writers.json_chunks(obj))
    assert len(pieces) > 1
    back, reference = json.loads("".join(pieces)), json.loads(whole)
    assert back == reference
    assert np.array_equal(np.asarray(back["big"]), big)  # identical float64, not just close


def test_non_finite_values_take_the_one_piece_writer_which_refuses_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writers, "LARGE", 2)
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        "".join(writers.json_chunks({"a": np.array([1.0, np.inf, 2.0])}))


def test_a_csv_file_below_the_whole_size_is_parsed_in_one_piece_in_memory(
    tmp_path: object,
) -> None:
    """Its first block read (to tell the format) is not parsed apart, which would send
    the rest through the temporary float64 file."""
    from pathlib import Path

    from hw3cli.tensor_io import files, readers
    from hw3cli.tensor_io.rows import InMemory

    rows = 4 * files.BLOCK // 40 + 10  # several blocks of text
    x = np.random.default_rng(3).normal(size=(rows, 2))
    path = Path(str(tmp_path)) / "x.csv"
    path.write_text("a,b\n" + "".join(f"{float(u)!r},{float(v)!r}\n" for u, v in x))
    assert path.stat().st_size > 2 * files.BLOCK
    read = readers.read_rows(str(path), what="x")
    assert isinstance(read, InMemory)
    assert np.array_equal(read.whole(), x)
