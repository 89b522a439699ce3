"""``hw3 bn-grad`` as CLI.md writes it: inputs, outputs, checks and every error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hw3cli.core.batchnorm import batchnorm
from tests.conftest import assert_clean_error, invoke, run_hw3

NAMES = {"mean", "var", "xhat", "y", "dxhat", "dvar", "dmu", "dx", "dgamma", "dbeta"}


def _data(shape: tuple[int, ...] = (5, 3), seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(shape)


def _closed_form_dx(x: np.ndarray, dy: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """dx by the compact formula, written out independently of hw3 (the contract's check)."""
    m = x.shape[0]
    xh = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
    dx: np.ndarray = 1 / np.sqrt(x.var(0) + eps) / m * (m * dy - dy.sum(0) - xh * (dy * xh).sum(0))
    return dx


def _csv(a: np.ndarray) -> str:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in a)


def test_json_in_json_out_all_ten() -> None:
    x, dy = _data()
    result = invoke(
        ["bn-grad", "--format", "json"], json.dumps({"x": x.tolist(), "dy": dy.tolist()})
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= NAMES
    np.testing.assert_allclose(data["dx"], _closed_form_dx(x, dy), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(data["mean"], x.mean(0), rtol=1e-15)
    np.testing.assert_allclose(data["var"], x.var(0), rtol=1e-14)
    np.testing.assert_allclose(data["dbeta"], dy.sum(0), rtol=1e-14)
    assert np.asarray(data["xhat"]).shape == (5, 3)
    assert data["m"] == 5 and data["eps"] == 1e-5 and data["mode"] == "train"


def test_json_output_reads_back_identical() -> None:
    x, dy = _data()
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist(), "gamma": [1.5, 2, 0.5]})
    data = json.loads(invoke(["bn-grad", "--format", "json"], doc).stdout)
    r = batchnorm(x, dy, np.array([1.5, 2, 0.5]))
    for name in NAMES:
        assert np.asarray(data[name]).tobytes() == getattr(r, name).tobytes(), name


def test_csv_in_csv_out(tmp_path: Path) -> None:
    x, dy = _data()
    (tmp_path / "dy.csv").write_text(_csv(dy))
    result = invoke(["bn-grad", "--dy", str(tmp_path / "dy.csv")], _csv(x))
    assert result.exit_code == 0, result.stderr
    got = np.loadtxt(result.stdout.splitlines(), delimiter=",", ndmin=2)
    np.testing.assert_allclose(got, _closed_form_dx(x, dy), rtol=1e-10, atol=1e-12)


def test_csv_header_is_carried_through(tmp_path: Path) -> None:
    x, dy = _data((4, 2))
    (tmp_path / "x.csv").write_text("height,weight\n" + _csv(x))
    (tmp_path / "dy.csv").write_text(_csv(dy))
    result = invoke(["bn-grad", str(tmp_path / "x.csv"), "--dy", str(tmp_path / "dy.csv")])
    assert result.stdout.splitlines()[0] == "height,weight"
    assert len(result.stdout.splitlines()) == 5


@pytest.mark.parametrize("name", ["xhat", "y", "dxhat", "dx"])
def test_emit(tmp_path: Path, name: str) -> None:
    x, dy = _data()
    (tmp_path / "dy.csv").write_text(_csv(dy))
    result = invoke(["bn-grad", "--dy", str(tmp_path / "dy.csv"), "--emit", name], _csv(x))
    got = np.loadtxt(result.stdout.splitlines(), delimiter=",", ndmin=2)
    assert got.tobytes() == getattr(batchnorm(x, dy), name).tobytes()


def test_npy_input_gives_json(tmp_path: Path) -> None:
    x, dy = _data()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "dy.npy", dy)
    result = invoke(["bn-grad", str(tmp_path / "x.npy"), "--dy", str(tmp_path / "dy.npy")])
    data = json.loads(result.stdout)
    np.testing.assert_allclose(data["dx"], _closed_form_dx(x, dy), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("layout", "axis"), [("bwhc", 3), ("nhwc", 3), ("nchw", 1)])
def test_rank4_layouts(tmp_path: Path, layout: str, axis: int) -> None:
    x, dy = _data((2, 3, 4, 5))
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist()})
    data = json.loads(invoke(["bn-grad", "--format", "json", "--layout", layout], doc).stdout)
    assert len(data["mean"]) == x.shape[axis]
    np.testing.assert_allclose(data["dx"], batchnorm(x, dy, channel_axis=axis).dx, rtol=1e-15)
    assert np.asarray(data["dx"]).shape == x.shape


def test_output_files(tmp_path: Path) -> None:
    x, dy = _data()
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist()})
    for name in ("out.json", "out.csv", "out.npz"):
        result = invoke(["bn-grad", "-o", str(tmp_path / name)], doc)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
    assert set(json.loads((tmp_path / "out.json").read_text())) >= NAMES
    dx = np.loadtxt(tmp_path / "out.csv", delimiter=",")
    np.testing.assert_allclose(dx, _closed_form_dx(x, dy), rtol=1e-10)
    with np.load(tmp_path / "out.npz") as archive:
        assert set(archive.files) >= NAMES
        assert archive["dx"].shape == (5, 3)


def test_gamma_beta_eps_options_override_the_file(tmp_path: Path) -> None:
    x, dy = _data()
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist(), "gamma": [9, 9, 9], "eps": 0.5})
    (tmp_path / "beta.csv").write_text("0.5\n1\n-1\n")
    args = ["bn-grad", "--format", "json", "--gamma", "1,2,3", "--beta", str(tmp_path / "beta.csv")]
    data = json.loads(invoke([*args, "--eps", "0.001"], doc).stdout)
    r = batchnorm(x, dy, np.array([1.0, 2, 3]), np.array([0.5, 1, -1]), eps=0.001)
    np.testing.assert_array_equal(data["y"], r.y)
    assert data["eps"] == 0.001


def test_no_affine_and_eval_mode() -> None:
    x, dy = _data()
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist()})
    data = json.loads(invoke(["bn-grad", "--format", "json", "--no-affine"], doc).stdout)
    assert data["dgamma"] is None and data["dbeta"] is None
    args = ["bn-grad", "--format", "json", "--eval", "--running-mean", "0.5", "--running-var", "4"]
    data = json.loads(invoke(args, doc).stdout)
    assert data["mode"] == "eval"
    np.testing.assert_allclose(data["dx"], dy / np.sqrt(4 + 1e-5), rtol=1e-15)


def test_running_statistics_reported() -> None:
    x, dy = _data()
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist()})
    data = json.loads(invoke(["bn-grad", "--format", "json", "--momentum", "0.5"], doc).stdout)
    np.testing.assert_allclose(data["running_mean"], 0.5 * x.mean(0), rtol=1e-15)
    np.testing.assert_allclose(data["running_var"], 0.5 + 0.5 * x.var(0, ddof=1), rtol=1e-14)


def test_check_passes_and_reports() -> None:
    x, dy = _data()
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist()})
    result = invoke(["bn-grad", "--format", "json", "--check"], doc)
    assert result.exit_code == 0
    check = json.loads(result.stdout)["check"]
    assert check["passed"] is True
    assert check["checked"] == 15 + 3 + 3
    assert check["max_abs_error"] < 1e-7
    assert {"passed", "max_abs_error", "max_rel_error"} <= set(check)
    csv_run = invoke(["bn-grad", "--format", "csv", "--check"], doc)
    assert "gradient check passed" in csv_run.stderr


def test_expect_match_and_mismatch(tmp_path: Path) -> None:
    x, dy = _data()
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist()})
    r = batchnorm(x, dy)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"dx": r.dx.tolist(), "dbeta": r.dbeta.tolist()}))
    assert invoke(["bn-grad", "--format", "json", "--expect", str(good)], doc).exit_code == 0
    wrong = r.dx.copy()
    wrong[2, 1] += 0.01
    bad = tmp_path / "bad.csv"
    bad.write_text(_csv(wrong))
    result = invoke(["bn-grad", "--format", "csv", "--expect", str(bad)], doc)
    assert result.exit_code == 1
    assert "1 of 15 values differ" in result.stderr
    assert "dx" in result.stderr and "[2,1]" in result.stderr
    assert "Traceback" not in result.stderr


def test_explain_walks_through_six_derivatives() -> None:
    doc = json.dumps({"x": [[0.0], [1.0], [2.0]], "dy": [[1.0], [0.0], [0.0]], "eps": 0})
    result = invoke(["bn-grad", "--format", "json", "--explain"], doc)
    lines = json.loads(result.stdout)["explanation"]
    text = "\n".join(lines)
    for n in range(1, 7):
        assert f"{n}. dl/d" in text
    assert "mu  = (1/m) sum_i x_i = (0 + 1 + 2) / 3 = 1" in text
    assert "var = (1/m) sum_i (x_i - mu)^2 = ((-1)^2 + (0)^2 + (1)^2) / 3 = 0.666667" in text


def test_real_pipe(tmp_path: Path) -> None:
    x, dy = _data()
    (tmp_path / "dy.csv").write_text(_csv(dy))
    proc = run_hw3(["bn-grad", "--dy", str(tmp_path / "dy.csv")], stdin=_csv(x))
    assert proc.returncode == 0, proc.stderr
    got = np.loadtxt(proc.stdout.splitlines(), delimiter=",", ndmin=2)
    np.testing.assert_allclose(got, _closed_form_dx(x, dy), rtol=1e-10, atol=1e-12)


def _write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


MALFORMED: list[tuple[list[str], str, str | None]] = [
    ([], "1,2\n3,oops\n", "row 2, column 2"),  # bad cell; dy via --dy below
    ([], "1,2\n3\n", "row 2"),
    ([], "1,2\nnan,1\n", "finite"),
    ([], "", "empty"),
    ([], '{"x": [[1, 2], [3]]}', "x[1]"),
    ([], '{"x": [[1, "a"], [3, 4]], "dy": [[1, 1], [1, 1]]}', "x[0][1]"),
    ([], '{"x": [[1, 2], [3, 4]], "dY": []}', "unknown key 'dY'"),
    ([], '{"dy": [[1, 2]]}', "has no 'x'"),
    ([], '{"x": [[1, 2], [3, 4]]', "line 1"),
    ([], '{"x": [[1, 2], [3, 4]], "dy": [[1, 2, 3]]}', "dy has shape"),
    ([], '{"x": [[1, 2]], "dy": [[1, 2]]}', "more than 1 value"),
    ([], '{"x": [[1, 2], [3, 4]], "dy": [[1, 2], [3, 4]], "eps": "big"}', "eps"),
    ([], '{"x": [[1, 2], [3, 4]]}', "dy is missing"),
    (["--gamma", "1,2,3"], '{"x": [[1, 2], [3, 4]], "dy": [[1, 2], [3, 4]]}', "3 values"),
    (["--gamma", "abc"], '{"x": [[1, 2], [3, 4]], "dy": [[1, 2], [3, 4]]}', "--gamma"),
    (["--eps", "-1"], '{"x": [[1, 2], [3, 4]], "dy": [[1, 2], [3, 4]]}', "eps"),
    (["--momentum", "3"], '{"x": [[1, 2], [3, 4]], "dy": [[1, 2], [3, 4]]}', "momentum"),
    (["--format", "npz"], '{"x": [[1, 2], [3, 4]], "dy": [[1, 2], [3, 4]]}', "-o out.npz"),
    (
        ["--feature", "5", "--explain"],
        '{"x": [[1, 2], [3, 4]], "dy": [[1, 2], [3, 4]]}',
        "--feature",
    ),
    (["--input-format", "npy"], "1,2\n3,4\n", ".npy"),
    (["--no-affine", "--gamma", "1"], '{"x": [[1, 2], [3, 4]], "dy": [[1, 2], [3, 4]]}', "affine"),
    ([], '{"x": [[[1, 2]]], "dy": [[[1, 2]]]}', "3 axes"),
    ([], '{"x": [[1, true], [3, 4]], "dy": [[1, 2], [3, 4]]}', "true"),
    ([], '{"x": [[1, 2], [3, 4]], "dy": [[1, 2], [3, 4]], "running_var": [1]}', None),
]


@pytest.mark.parametrize(("extra", "stdin", "words"), MALFORMED)
def test_malformed_inputs_are_clean_errors(
    tmp_path: Path, extra: list[str], stdin: str, words: str | None
) -> None:
    args = ["bn-grad", *extra]
    if not stdin.lstrip().startswith("{"):
        args += ["--dy", _write(tmp_path, "dy.csv", "1,2\n3,4\n")]
    result = invoke(args, stdin)
    if words is None:  # accepted: a single running variance applies to every feature
        assert result.exit_code == 0, result.stderr
        return
    stderr = assert_clean_error(result)
    assert words in stderr


def test_missing_dy_file_is_named(tmp_path: Path) -> None:
    stderr = assert_clean_error(
        invoke(["bn-grad", "--dy", str(tmp_path / "nope.csv")], "1,2\n3,4\n")
    )
    assert "--dy" in stderr and "nope.csv" in stderr


def test_terminal_stdin_is_refused_with_a_hint() -> None:
    proc = run_hw3(["bn-grad", "--dy", "/dev/null"], stdin=None)
    assert_clean_error(proc)  # empty stdin from a pipe: an error, not a wait


def test_overflowing_inputs_are_a_clean_error() -> None:
    # Found comparing with PyTorch: a variance beyond 1.8e308 used to crash the JSON writer.
    doc = '{"x": [[1e200, 1], [-1e200, 2], [0, 3]], "dy": [[1, 1], [1, 1], [1, 1]]}'
    for fmt in ("json", "csv"):
        stderr = assert_clean_error(invoke(["bn-grad", "--format", fmt], doc))
        assert "overflows float64" in stderr
        assert "RuntimeWarning" not in stderr


def test_output_extension_without_a_format_of_its_own(tmp_path: Path) -> None:
    x, dy = _data()
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist()})
    result = invoke(["bn-grad", "-o", str(tmp_path / "out.txt")], doc)
    assert result.exit_code == 0, result.stderr
    assert "dx" in json.loads((tmp_path / "out.txt").read_text())  # JSON, as for JSON input


def test_npz_input_with_scalar_eps(tmp_path: Path) -> None:
    x, dy = _data()
    np.savez(tmp_path / "in.npz", x=x, dy=dy, eps=np.float64(1e-3))
    data = json.loads(invoke(["bn-grad", str(tmp_path / "in.npz")]).stdout)
    assert data["eps"] == 1e-3
    np.testing.assert_allclose(data["dx"], _closed_form_dx(x, dy, 1e-3), rtol=1e-10)


def test_bad_expect_file_is_refused_before_any_output(tmp_path: Path) -> None:
    x, dy = _data()
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist()})
    (tmp_path / "bad.json").write_text('{"dX": [1]}')
    result = invoke(["bn-grad", "--expect", str(tmp_path / "bad.json")], doc)
    assert_clean_error(result)
    assert result.stdout == ""


def test_mean_is_accurate_with_a_large_offset() -> None:
    # 1000 + 1e-3 noise: the refined mean is within about an ulp of the exact mean
    # (computed with fractions), where a plain strided sum can be 2-3 ulp off.
    from fractions import Fraction

    rng = np.random.default_rng(12)
    x = 1000 + 1e-3 * rng.standard_normal((37, 4))
    r = batchnorm(x, np.ones_like(x))
    for j in range(4):
        exact = sum((Fraction(float(v)) for v in x[:, j]), Fraction(0)) / 37
        ulp = Fraction(float(np.spacing(1000.0)))
        assert abs(Fraction(float(r.mean[j])) - exact) <= ulp


def test_check_notes_ill_conditioned_features() -> None:
    doc = json.dumps({"x": [[1000.0], [1000.000001], [1000.000002]], "dy": [[1.0], [0], [0]]})
    data = json.loads(invoke(["bn-grad", "--format", "json", "--check", "--eps", "0"], doc).stdout)
    assert any("central differences lose their accuracy" in n for n in data["check"]["notes"])
