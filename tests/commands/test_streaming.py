"""Inputs larger than a block: streamed results equal the in-memory ones.

The blocks are made tiny (the hidden ``--block-rows``, and `PIECE_BYTES`, the bytes of
CSV text parsed at a time) so that a few dozen rows cross many block boundaries; the
same command with one block for everything is the in-memory reference. Equality is to
1e-12 relative (of the largest entry): merging block moments rounds differently.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from hw3cli.tensor_io import files, readers
from tests.conftest import assert_clean_error, invoke

TINY_PIECE = 97  # bytes: a few rows of text per piece, cut at odd places


def _close(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * float(np.abs(b).max()))


def _csv_text(a: np.ndarray, header: bool = True) -> str:
    head = ",".join(f"f{j}" for j in range(a.shape[1])) + "\n" if header else ""
    return head + "".join(",".join(repr(float(v)) for v in row) + "\n" for row in a)


def _matrix(text: str) -> np.ndarray:
    return readers.parse_csv(text.encode(), "out")[0]


@pytest.fixture
def tiny_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "PIECE_BYTES", TINY_PIECE)


@pytest.fixture
def batch(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(5.0, 3.0, size=(41, 4)) + 1e3
    dy = rng.normal(size=x.shape)
    (tmp_path / "x.csv").write_text(_csv_text(x))
    (tmp_path / "dy.csv").write_text(_csv_text(dy))
    return tmp_path / "x.csv", tmp_path / "dy.csv", x, dy


@pytest.mark.parametrize("emit", ["dx", "xhat", "y", "dxhat"])
@pytest.mark.parametrize("mode", [[], ["--eval", "--running-mean", "1e3", "--running-var", "4"]])
def test_bn_grad_csv_streamed_equals_in_memory(
    batch: tuple[Path, Path, np.ndarray, np.ndarray],
    tiny_pieces: None,
    emit: str,
    mode: list[str],
) -> None:
    x_path, dy_path, _, _ = batch
    args = ["bn-grad", str(x_path), "--dy", str(dy_path), "--emit", emit, "--gamma", "2,1,3,0.5"]
    streamed = invoke([*args, *mode, "--block-rows", "5"])
    whole = invoke([*args, *mode, "--block-rows", "1000000"])
    assert streamed.exit_code == 0 and whole.exit_code == 0, streamed.stderr + whole.stderr
    assert streamed.stdout.splitlines()[0] == "f0,f1,f2,f3"  # the header comes back
    _close(_matrix(streamed.stdout), _matrix(whole.stdout))


def test_bn_grad_streamed_dx_matches_the_closed_form(
    batch: tuple[Path, Path, np.ndarray, np.ndarray], tiny_pieces: None
) -> None:
    # the compact formula, written out here, on the whole batch (docs/formulas.md section 3)
    x_path, dy_path, x, dy = batch
    result = invoke(["bn-grad", str(x_path), "--dy", str(dy_path), "--block-rows", "3"])
    assert result.exit_code == 0, result.stderr
    m = x.shape[0]
    invstd = 1 / np.sqrt(x.var(0) + 1e-5)
    xhat = (x - x.mean(0)) * invstd
    dx = invstd / m * (m * dy - dy.sum(0) - xhat * (dy * xhat).sum(0))
    np.testing.assert_allclose(_matrix(result.stdout), dx, rtol=1e-9, atol=1e-12)


def test_bn_grad_npz_from_npy_streamed_equals_in_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(23, 2, 3, 3))  # NCHW: blocks of samples, channel axis 1
    dy = rng.normal(size=x.shape)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "dy.npy", np.asfortranarray(dy))  # another layout on disk
    args = ["bn-grad", str(tmp_path / "x.npy"), "--dy", str(tmp_path / "dy.npy")]
    for rows, name in (("4", "streamed.npz"), ("100000", "whole.npz")):
        result = invoke(
            [*args, "--layout", "nchw", "--block-rows", rows, "-o", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.stderr
    streamed, whole = np.load(tmp_path / "streamed.npz"), np.load(tmp_path / "whole.npz")
    assert list(streamed.keys()) == list(whole.keys())
    assert "running_var" in streamed
    for key in whole:
        _close(streamed[key], whole[key])
    # and the in-memory JSON path says the same
    result = invoke([*args, "--layout", "nchw", "--format", "json"])
    data = json.loads(result.stdout)
    _close(streamed["dx"], np.array(data["dx"]))
    _close(streamed["dgamma"], np.array(data["dgamma"]))


def test_bn_grad_vector_npy_streams_back_as_a_vector(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    np.save(tmp_path / "x.npy", rng.normal(size=17))
    np.save(tmp_path / "dy.npy", rng.normal(size=17))
    args = ["bn-grad", str(tmp_path / "x.npy"), "--dy", str(tmp_path / "dy.npy")]
    result = invoke([*args, "--block-rows", "4", "-o", str(tmp_path / "out.npz")])
    assert result.exit_code == 0, result.stderr
    out = np.load(tmp_path / "out.npz")
    assert out["dx"].shape == (17,) and out["mean"].shape == (1,)
    whole = json.loads(invoke([*args, "--format", "json"]).stdout)
    _close(out["dx"], np.array(whole["dx"]))


def test_bn_grad_stdin_is_spooled_and_the_spool_removed(
    batch: tuple[Path, Path, np.ndarray, np.ndarray],
    tiny_pieces: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tempfile

    x_path, dy_path, _, _ = batch
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_dir))
    streamed = invoke(["bn-grad", "--dy", str(dy_path), "--block-rows", "6"], x_path.read_text())
    whole = invoke(["bn-grad", str(x_path), "--dy", str(dy_path)])
    assert streamed.exit_code == 0, streamed.stderr
    _close(_matrix(streamed.stdout), _matrix(whole.stdout))
    assert list(spool_dir.iterdir()) == []


def test_a_bad_cell_in_a_later_piece_is_named_by_its_row(
    batch: tuple[Path, Path, np.ndarray, np.ndarray], tiny_pieces: None
) -> None:
    x_path, dy_path, _, _ = batch
    lines = x_path.read_text().splitlines(keepends=True)
    lines[30] = "1,2,oops,4\n"  # line 31 of the file
    x_path.write_text("".join(lines))
    result = invoke(["bn-grad", str(x_path), "--dy", str(dy_path), "--block-rows", "5"])
    err = assert_clean_error(result)
    assert "row 31, column 3: 'oops' is not a number" in err
    assert result.stdout == ""  # refused before anything was written


def test_a_short_row_in_a_later_piece_is_named_by_its_row(
    batch: tuple[Path, Path, np.ndarray, np.ndarray], tiny_pieces: None
) -> None:
    x_path, dy_path, _, _ = batch
    lines = x_path.read_text().splitlines(keepends=True)
    lines[25] = "\n# a comment\n1,2,3\n"  # lines 26, 27 and 28
    x_path.write_text("".join(lines))
    err = assert_clean_error(invoke(["bn-grad", str(x_path), "--dy", str(dy_path)]))
    assert "row 28" in err and "has 3 columns where the rows before have 4" in err


def test_non_finite_npy_values_are_refused_before_output(tmp_path: Path) -> None:
    x = np.arange(40.0).reshape(10, 4)
    x[8, 2] = np.nan
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "dy.npy", np.ones((10, 4)))
    out = tmp_path / "out.csv"
    args = ["bn-grad", str(tmp_path / "x.npy"), "--dy", str(tmp_path / "dy.npy")]
    err = assert_clean_error(invoke([*args, "--block-rows", "3", "-o", str(out)]))
    assert "nan at [8][2] is not a finite number" in err
    assert not out.exists()


def test_whole_result_formats_refuse_inputs_larger_than_memory_allows(
    batch: tuple[Path, Path, np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hw3cli.commands import _numeric

    monkeypatch.setattr(_numeric, "IN_MEMORY_BYTES", 6 * 800)
    x_path, dy_path, _, _ = batch
    args = ["bn-grad", str(x_path), "--dy", str(dy_path)]
    err = assert_clean_error(invoke([*args, "--format", "json"]))
    assert "41x4 = 164 values (1.3 kB as float64): JSON output holds the result whole" in err
    assert "6 arrays this size (7.9 kB), more than the 4.8 kB hw3 holds" in err
    assert "--format csv" in err and "-o out.npz" in err
    # --explain walks one feature, and features are independent: the hint gives one column
    explain = assert_clean_error(invoke([*args, "--explain", "--feature", "2"]))
    assert "give its column alone" in explain and "cut -d, -f3" in explain
    assert invoke(args).exit_code == 0  # CSV: block by block, no limit
    assert invoke([*args, "--check"]).exit_code == 0  # --check streams too


def test_check_streams_whole_features_of_a_batch_too_large_to_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hw3cli.commands import _numeric

    rng = np.random.default_rng(11)
    x, dy = rng.normal(2.0, 3.0, size=(300, 6)), rng.normal(size=(300, 6))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "dy.npy", dy)
    args = ["bn-grad", str(tmp_path / "x.npy"), "--dy", str(tmp_path / "dy.npy"), "--check"]
    whole = invoke([*args, "-o", str(tmp_path / "a.npz")])
    assert "gradient check passed: 212 of 1812 entries" in whole.stderr  # 200 + 6 + 6
    # 300 rows x 2 features x (x and dy) x 8 bytes = 9600 bytes: two whole features fit
    monkeypatch.setattr(_numeric, "CHECK_BYTES", 9600)
    streamed = invoke([*args, "-o", str(tmp_path / "b.npz"), "--block-rows", "7"])
    assert streamed.exit_code == 0, streamed.stderr
    assert "gradient check passed: 204 of 1812 entries" in streamed.stderr  # 200 + 2 + 2
    assert "checked on 2 of 6 features" in streamed.stderr
    assert "each over the whole batch" in streamed.stderr


def test_softmax_check_samples_rows_across_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hw3cli.commands import _numeric

    rng = np.random.default_rng(12)
    z = rng.normal(size=(500, 5))
    np.save(tmp_path / "z.npy", z)
    labels = ",".join(str(i % 5) for i in range(500))
    monkeypatch.setattr(_numeric, "CHECK_BYTES", 1000)
    for reduction in ("sum", "mean", "none"):
        args = ["softmax-grad", str(tmp_path / "z.npy"), "--labels", labels, "--check"]
        result = invoke(
            [*args, "--reduction", reduction, "-o", str(tmp_path / "g.npz"), "--block-rows", "9"]
        )
        assert result.exit_code == 0, result.stderr
        assert "gradient check passed: 200 of 2500 entries" in result.stderr
        assert "checked on 200 of 500 rows, chosen at random across the batch" in result.stderr


@pytest.mark.parametrize(
    "options",
    [
        ["--reduction", "sum"],
        ["--reduction", "mean", "--weight", "1,2,0.5", "--ignore-index", "1"],
        ["--reduction", "none", "--label-smoothing", "0.1"],
        ["--emit", "probs"],
    ],
)
def test_softmax_grad_streamed_equals_in_memory(
    tmp_path: Path, tiny_pieces: None, options: list[str]
) -> None:
    rng = np.random.default_rng(11)
    z = rng.normal(size=(37, 3)) * 4
    (tmp_path / "z.csv").write_text(_csv_text(z))
    (tmp_path / "t.csv").write_text("".join(f"{v}\n" for v in rng.integers(0, 3, size=37)))
    args = ["softmax-grad", str(tmp_path / "z.csv"), "--target", str(tmp_path / "t.csv")]
    streamed = invoke([*args, *options, "--block-rows", "4"])
    whole = invoke([*args, *options, "--format", "json"])
    assert streamed.exit_code == 0 and whole.exit_code == 0, streamed.stderr + whole.stderr
    key = "probs" if "probs" in options else "grad"
    _close(_matrix(streamed.stdout), np.array(json.loads(whole.stdout)[key]))
    npz = tmp_path / "out.npz"
    assert invoke([*args, *options, "--block-rows", "4", "-o", str(npz)]).exit_code == 0
    data, reference = np.load(npz), json.loads(whole.stdout)
    for name in ("probs", "losses", "grad"):
        _close(data[name], np.array(reference[name]))
    np.testing.assert_allclose(data["loss"], reference["loss"], rtol=1e-12)


def test_csv_pieces_end_at_line_ends_and_lose_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "PIECE_BYTES", 10)
    text = b"1,2\r\n" + b"3" * 25 + b"\n4,5\n\n6,7"  # a line longer than a piece, no last \n
    chunks = [text[i : i + 7] for i in range(0, len(text), 7)]
    pieces = list(readers.csv_pieces(chunks))
    assert b"".join(p for p, _ in pieces) == text
    assert all(p.endswith(b"\n") for p, _ in pieces[:-1])
    assert [offset for _, offset in pieces] == [
        sum(len(p) for p, _ in pieces[:i]) for i in range(len(pieces))
    ]
    assert max(len(p) for p, _ in pieces) == 26  # only the long line is longer than a piece


def test_piecewise_parse_equals_one_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    text = "a,b,c\n" + "".join(
        ("# note\n" if i % 7 == 3 else "")
        + ("\n" if i % 5 == 1 else "")
        + ",".join(repr(float(v)) for v in rng.normal(size=3))
        + "\n"
        for i in range(60)
    )
    whole, header = readers.parse_csv(text.encode(), "x.csv")
    monkeypatch.setattr(readers, "PIECE_BYTES", 50)
    pieces, header2 = readers.parse_csv(text.encode(), "x.csv")
    assert header == header2 == ("a", "b", "c")
    np.testing.assert_array_equal(pieces, whole)
    assert whole.shape == (60, 3)
    # and through a file object, as stdin is read
    stream = io.BytesIO(text.encode())
    source = files.Input("stdin", stream, b"", None)
    rows, _ = readers.read_csv_rows(source, spool=True)
    np.testing.assert_array_equal(rows.whole(), whole)


@pytest.mark.parametrize(("labels", "status"), [("0,0", 0), ("1,0", 2)])
def test_softmax_grad_csv_of_logits_too_far_apart_for_the_range_check(
    tmp_path: Path, labels: str, status: int
) -> None:
    """dL/dz alone to CSV skips the losses when the logits' range shows them finite;
    logits 1e308 apart show nothing, and every loss is computed first, as for JSON:
    log p = -inf at label 1 of row 1 is refused before anything is written."""
    z = np.array([[1e308, -1e308, 0.0], [0.0, 1.0, 2.0]])
    (tmp_path / "z.csv").write_text(_csv_text(z))
    args = ["softmax-grad", str(tmp_path / "z.csv"), "--labels", labels, "--block-rows", "1"]
    streamed = invoke(args)
    whole = invoke([*args, "--format", "json"])
    assert (streamed.exit_code, whole.exit_code) == (status, status)
    if status:
        assert streamed.stdout == ""
        assert "overflows float64" in streamed.stderr
    else:  # row 1, label 0: p = (1, 0, 0), dL/dz = p - onehot = 0
        grad = _matrix(streamed.stdout)
        np.testing.assert_array_equal(grad, np.array(json.loads(whole.stdout)["grad"]))
        np.testing.assert_array_equal(grad[0], [0.0, 0.0, 0.0])
