"""--expect as a CI assertion: shapes first, which quantities matched, likely causes.

The expected files are built from hw3's own output (or from the hand-derived batch of
the source document's formulas: dx of a batch norm sums to zero over the batch), then
put in the wrong shape, scaled, negated or shifted, as a user's file would be; every
cause is named only when the data show it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import invoke

BATCH = {"x": [[1.0, 2.0], [3.0, 5.0], [0.0, 1.0]], "dy": [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5]]}


def _bn() -> dict[str, np.ndarray]:
    result = invoke(["bn-grad", "--format", "json"], json.dumps(BATCH))
    assert result.exit_code == 0, result.stderr
    return {k: np.asarray(v) for k, v in json.loads(result.stdout).items() if k != "warnings"}


def _expect(tmp_path: Path, name: str, text: str, *args: str) -> tuple[int, str]:
    (tmp_path / name).write_text(text)
    (tmp_path / "bn.json").write_text(json.dumps(BATCH))
    result = invoke(["bn-grad", str(tmp_path / "bn.json"), "--expect", str(tmp_path / name), *args])
    return result.exit_code, result.stderr


def _csv(a: np.ndarray) -> str:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in a)


def test_right_values_as_a_flat_list_fail_naming_both_shapes(tmp_path: Path) -> None:
    dx = _bn()["dx"]
    code, err = _expect(tmp_path, "flat.json", json.dumps({"dx": dx.reshape(-1).tolist()}))
    assert code == 1
    assert "dx: expected shape 6, computed 3x2" in err
    assert "a flat list" in err and "the values match once read as 3x2" in err


def test_a_transposed_file_is_named_as_such(tmp_path: Path) -> None:
    dx = _bn()["dx"]
    code, err = _expect(tmp_path, "t.csv", _csv(dx.T))
    assert code == 1
    assert "dx: expected shape 2x3, computed 3x2: the file is transposed" in err
    assert "its values match the computed ones transposed" in err


def test_json_names_which_quantities_matched(tmp_path: Path) -> None:
    r = _bn()
    wrong = r["dx"].copy()
    wrong[0, 1] += 1.0
    doc = {"dxhat": r["dxhat"].tolist(), "dvar": r["dvar"].tolist(), "dmu": r["dmu"].tolist()}
    doc["dx"] = wrong.tolist()
    code, err = _expect(tmp_path, "e.json", json.dumps(doc))
    assert code == 1
    assert "dxhat, dvar, dmu match; dx: 1 of 6 differ" in err
    assert "likely cause" not in err  # one changed value shows no cause


def test_a_match_in_the_right_shape_passes_and_a_column_is_a_vector(tmp_path: Path) -> None:
    r = _bn()
    assert _expect(tmp_path, "ok.csv", _csv(r["dx"]))[0] == 0
    # a per-feature quantity written as one CSV row (1x2) against the vector dbeta (2)
    assert _expect(tmp_path, "row.csv", _csv(r["dbeta"].reshape(1, -1)), "--emit", "dbeta")[0] == 0


def test_a_sum_against_a_mean_names_the_batch_size_and_the_reduction(tmp_path: Path) -> None:
    z = [[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [0.0, 0.0, 1.0], [1.0, -1.0, 0.0]]
    doc = json.dumps({"logits": z, "target": [0, 1, 2, 0]})
    mean = json.loads(
        invoke(["softmax-grad", "--format", "json", "--reduction", "mean"], doc).stdout
    )
    (tmp_path / "mean.json").write_text(json.dumps({"grad": mean["grad"]}))
    result = invoke(["softmax-grad", "--expect", str(tmp_path / "mean.json")], doc)
    assert result.exit_code == 1
    assert (
        "every computed value is 4 times the expected one (4 = the batch size N)" in result.stderr
    )
    assert "hw3 used --reduction sum: give --reduction mean" in result.stderr
    again = ["softmax-grad", "--reduction", "mean", "--expect", str(tmp_path / "mean.json")]
    assert invoke(again, doc).exit_code == 0


def test_a_sign_flip_is_named(tmp_path: Path) -> None:
    dx = _bn()["dx"]
    code, err = _expect(tmp_path, "neg.csv", _csv(-dx))
    assert code == 1
    assert "every value has the opposite sign" in err


def test_float32_precision_suggests_the_tolerance_that_passes(tmp_path: Path) -> None:
    dx = _bn()["dx"]
    # relative differences of 3e-6: beyond the default rtol 1e-6, within float32's reach
    nudged = dx * (1 + 3e-6 * np.array([[1, -1], [-1, 1], [1, 1]]))
    code, err = _expect(tmp_path, "f32.csv", _csv(nudged))
    assert code == 1
    assert "float32's precision" in err and "--rtol 1e-05" in err
    assert _expect(tmp_path, "f32.csv", _csv(nudged), "--rtol", "1e-5")[0] == 0


def test_a_header_of_numbers_read_as_data(tmp_path: Path) -> None:
    dx = _bn()["dx"]
    code, err = _expect(tmp_path, "h.csv", "0,1\n" + _csv(dx))
    assert code == 1
    assert "one row more than computed; without its first row the file matches" in err
    code, err = _expect(tmp_path, "short.csv", _csv(dx[1:]))
    assert code == 1 and "was the first row read as a header?" in err


def test_rows_moved_by_one_in_the_same_shape(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x, dy = rng.standard_normal((40, 3)), rng.standard_normal((40, 3))
    (tmp_path / "x.json").write_text(json.dumps({"x": x.tolist(), "dy": dy.tolist()}))
    dx = np.asarray(json.loads(invoke(["bn-grad", str(tmp_path / "x.json")]).stdout)["dx"])
    shifted = np.vstack([[7.0, 8.0, 9.0], dx[:-1]])  # a row on top, the last row lost
    (tmp_path / "s.csv").write_text(_csv(shifted))
    args = ["bn-grad", str(tmp_path / "x.json"), "--expect", str(tmp_path / "s.csv")]
    # blocks of 7 rows: the shift is seen across block boundaries too
    result = invoke([*args, "--block-rows", "7", "--format", "csv"])
    assert result.exit_code == 1
    assert "moved down by one" in result.stderr


@pytest.mark.parametrize("rows", [3, 1000])
def test_streamed_expect_reports_the_index_in_the_whole_array(tmp_path: Path, rows: int) -> None:
    rng = np.random.default_rng(5)
    z = rng.standard_normal((50, 4))
    (tmp_path / "z.csv").write_text(_csv(z))
    labels = ",".join(str(i % 4) for i in range(50))
    base = ["softmax-grad", str(tmp_path / "z.csv"), "--labels", labels, "--block-rows", str(rows)]
    grad = np.loadtxt(invoke(base).stdout.splitlines(), delimiter=",")
    grad[37, 2] += 0.5
    (tmp_path / "e.csv").write_text(_csv(grad))
    result = invoke([*base, "--expect", str(tmp_path / "e.csv")])
    assert result.exit_code == 1
    assert "grad: 1 of 200 differ" in result.stderr and "[37,2]" in result.stderr
