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


# --- delimiters ---------------------------------------------------------------------------

# x = [[0, 0], [1, 0.5], [2, 1]], dy = [[1, 1], [0, 0], [0, 0]], eps = 0, worked by hand:
# feature 0: mu = 1, var = 2/3, invstd = sqrt(3/2), xhat = sqrt(3/2) * [-1, 0, 1];
# sum dy = 1, sum dy * xhat = -sqrt(3/2), so
# dx = invstd / m * (m dy - sum dy - xhat sum(dy xhat))
#    = sqrt(3/2) / 3 * ([3, 0, 0] - [1, 1, 1] + (3/2) [-1, 0, 1]) = sqrt(3/2) / 6 * [1, -2, 1].
# feature 1 is feature 0 halved: var = 1/6, invstd = sqrt(6), the same xhat, so
# dx = sqrt(6) / 6 * [1, -2, 1].
HAND_DX = np.array([[1.0], [-2.0], [1.0]]) * [np.sqrt(1.5) / 6, np.sqrt(6) / 6]
X_ROWS = [["0", "0"], ["1", "0.5"], ["2", "1"]]
DY_ROWS = [["1", "1"], ["0", "0"], ["0", "0"]]


def _join(rows: list[list[str]], sep: str, prefix: str = "") -> str:
    return "".join(prefix + sep.join(row) + "\n" for row in rows)


@pytest.mark.parametrize(
    ("sep", "options"),
    [
        (",", []),
        (";", []),  # a European spreadsheet's export
        ("\t", []),
        ("   ", []),  # np.savetxt writes spaces; several are one separator
        ("|", ["--delimiter", "|"]),
        (":", ["--delimiter", ":"]),
        (";", ["--delimiter", "semicolon"]),
        ("\t", ["--delimiter", "tab"]),
        (" ", ["--delimiter", "whitespace"]),
    ],
)
def test_delimiters_of_input_and_dy(tmp_path: Path, sep: str, options: list[str]) -> None:
    dy = _write(tmp_path, "dy.csv", _join(DY_ROWS, sep))
    result = invoke(["bn-grad", "--eps", "0", "--dy", dy, *options], _join(X_ROWS, sep, "  "))
    assert result.exit_code == 0, result.stderr
    got = np.loadtxt(result.stdout.splitlines(), delimiter=",")  # CSV out stays commas
    np.testing.assert_allclose(got, HAND_DX, rtol=1e-14, atol=1e-15)


def test_savetxt_files_are_read(tmp_path: Path) -> None:
    np.savetxt(tmp_path / "x.txt", np.array(X_ROWS, dtype=float))
    np.savetxt(tmp_path / "dy.txt", np.array(DY_ROWS, dtype=float))
    args = ["bn-grad", str(tmp_path / "x.txt"), "--dy", str(tmp_path / "dy.txt"), "--eps", "0"]
    result = invoke(args)
    assert result.exit_code == 0, result.stderr
    np.testing.assert_allclose(
        np.loadtxt(result.stdout.splitlines(), delimiter=","), HAND_DX, rtol=1e-14, atol=1e-15
    )


def test_delimiter_applies_to_every_csv(tmp_path: Path) -> None:
    x = _write(tmp_path, "x.csv", _join(X_ROWS, "|"))
    dy = _write(tmp_path, "dy.csv", _join(DY_ROWS, "|"))
    gamma = _write(tmp_path, "gamma.csv", "2|2\n")
    expect = _write(
        tmp_path, "expect.csv", _join([[repr(float(2 * v)) for v in r] for r in HAND_DX], "|")
    )
    # gamma = 2 doubles dxhat and so dx (dx is linear in dxhat = dy * gamma)
    args = ["bn-grad", x, "--dy", dy, "--gamma", gamma, "--expect", expect, "--eps", "0"]
    result = invoke([*args, "--delimiter", "|", "--rtol", "1e-12"])
    assert result.exit_code == 0, result.stderr
    stderr = assert_clean_error(invoke(args))  # without the option, '|' is not read
    assert "the values seem separated by '|': give --delimiter '|'" in stderr


@pytest.mark.parametrize("value", ["x", "", "ab", "1", ".", "-"])
def test_bad_delimiter_option_is_a_usage_error(tmp_path: Path, value: str) -> None:
    dy = _write(tmp_path, "dy.csv", "1,2\n3,4\n")
    stderr = assert_clean_error(invoke(["bn-grad", "--dy", dy, "--delimiter", value], "1,2\n3,4\n"))
    assert "--delimiter" in stderr


def test_typo_in_the_first_row_is_not_taken_for_a_header(tmp_path: Path) -> None:
    dy = _write(tmp_path, "dy.csv", "1,2,3\n4,5,6\n")
    x = _write(tmp_path, "x.csv", "1,2,3a\n4,5,6\n")
    stderr = assert_clean_error(invoke(["bn-grad", x, "--dy", dy]))
    assert f"Error: {x}, row 1, column 3: '3a' is not a number" in stderr
    assert "a header row holds only names" in stderr


def test_decimal_commas_are_explained(tmp_path: Path) -> None:
    dy = _write(tmp_path, "dy.csv", "1;2\n3;4\n")
    stderr = assert_clean_error(invoke(["bn-grad", "--dy", dy], "1,5;2,5\n3,5;4,5\n"))
    assert "stdin, row 1, column 1: '1,5' is not a number" in stderr
    assert "hw3 reads '.' as the decimal point" in stderr


# --- shapes, sizes and depth --------------------------------------------------------------

XY = '"x": [[1, 2], [3, 4]], "dy": [[1, 2], [3, 4]]'
BIG = "1" + "0" * 400

SHAPE_ERRORS: list[tuple[list[str], str, list[str]]] = [
    ([], '{"x": 0, "dy": 0}', ["stdin: x is a single number", "m x D rows", "rank-4"]),
    ([], '{"x": [[[1, 2]]], "dy": [[[1, 2]]]}', ["x has 3 axes (shape 1x1x2)", "m x D"]),
    ([], '{"x": [[[[[1]]]]], "dy": 1}', ["x has 5 axes"]),
    ([], '{"x": [[1, 2], [3, 4]], "dy": 0}', ["dy has shape () (a single number)", "2x2"]),
    ([], '{"x": [1, 2, 3], "dy": [[1, 2, 3]]}', ["stdin: dy has shape 1x3 but x has shape 3"]),
    ([], '{"x": [[1, 2], [3, 4]], "dy": [1, 2]}', ["dy has shape 2 but x has shape 2x2"]),
    ([], '{"x": [], "dy": []}', ["stdin: x: is empty (shape 0)"]),
    ([], '{"x": [[]], "dy": [[]]}', ["stdin: x: is empty (shape 1x0)"]),
    ([], "{" + XY + ', "gamma": [[1, 2], [3, 4]]}', ["stdin: gamma: has shape 2x2", "2 numbers"]),
    ([], "{" + XY + ', "beta": []}', ["stdin: beta: is empty"]),
    ([], "{" + XY + ', "running_mean": [1, 2, 3]}', ["stdin: running_mean: has 3 values"]),
    (["--gamma", "1,2,3"], "{" + XY + "}", ["--gamma: has 3 values but x has 2 features"]),
    ([], "{" + XY + ', "eps": [[1]]}', ["stdin: eps: must be a number, got a list of 1"]),
    ([], "{" + XY + ', "eps": 1e400}', ["stdin: eps: inf is not a finite number", "1.8e308"]),
    ([], "{" + XY + f', "eps": {BIG}}}', ["stdin: eps: a whole number of 401 digits is too"]),
    ([], f'{{"x": [[{BIG}, 2], [1, 2]], "dy": [[1, 2], [3, 4]]}}', ["stdin: x[0][0]: 1.000e+400"]),
    ([], "[" * 100_000 + "]" * 100_000, ["stdin: JSON nested too deeply"]),
    ([], '{"x": ' + "[" * 40 + "1" + "]" * 40 + "}", ["more than 32 axes"]),
]


@pytest.mark.parametrize(("extra", "stdin", "words"), SHAPE_ERRORS)
def test_shape_and_size_errors(extra: list[str], stdin: str, words: list[str]) -> None:
    stderr = assert_clean_error(invoke(["bn-grad", "--format", "json", *extra], stdin))
    for word in words:
        assert word in stderr
    assert "internal error" not in stderr


def test_gamma_as_a_row_a_column_or_one_number(tmp_path: Path) -> None:
    # One value per feature, in any vector-like shape; a single value for every feature.
    doc = "{" + XY + "}"
    reference = json.loads(invoke(["bn-grad", "--format", "json", "--gamma", "2,3"], doc).stdout)
    np.save(tmp_path / "row.npy", np.array([[2.0, 3.0]]))
    np.save(tmp_path / "nchw.npy", np.array([2.0, 3.0]).reshape(1, 2, 1, 1))
    for gamma in ("2\n3\n", "2,3\n"):
        path = _write(tmp_path, "g.csv", gamma)
        data = json.loads(invoke(["bn-grad", "--format", "json", "--gamma", path], doc).stdout)
        assert data["y"] == reference["y"]
    for name in ("row.npy", "nchw.npy"):
        args = ["bn-grad", "--format", "json", "--gamma", str(tmp_path / name)]
        assert json.loads(invoke(args, doc).stdout)["y"] == reference["y"]
    two = json.loads(invoke(["bn-grad", "--format", "json", "--gamma", "2"], doc).stdout)
    both = json.loads(invoke(["bn-grad", "--format", "json", "--gamma", "2,2"], doc).stdout)
    assert two["y"] == both["y"]


def test_vector_options_of_matrix_shape_are_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "m.npy", np.ones((2, 2)))
    _write(tmp_path, "m.csv", "1,2\n3,4\n")
    for option in ("--gamma", "--beta", "--running-mean", "--running-var"):
        for name in ("m.npy", "m.csv"):
            args = ["bn-grad", "--format", "json", "--eval", option, str(tmp_path / name)]
            stderr = assert_clean_error(invoke(args, "{" + XY + "}"))
            assert f"{option}: has shape 2x2" in stderr


def test_zero_dimensional_npy_and_npz_inputs(tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", np.float64(3.0))
    np.savez(tmp_path / "s.npz", x=np.float64(3.0), dy=np.float64(1.0))
    np.savez(tmp_path / "e.npz", x=np.ones((2, 2)), dy=np.ones((2, 2)), eps=np.ones(3))
    cases = [
        (["bn-grad", str(tmp_path / "s.npy"), "--dy", str(tmp_path / "s.npy")], "is a single"),
        (["bn-grad", str(tmp_path / "s.npz")], "x is a single number"),
        (["bn-grad", str(tmp_path / "e.npz")], "eps: must be a number, got an array of shape 3"),
    ]
    for args, words in cases:
        assert words in assert_clean_error(invoke(args))


def test_dy_as_a_list_for_a_column_of_x(tmp_path: Path) -> None:
    # x read from a one-column CSV is 3 x 1; dy given as the list [1, 0, 0] is accepted.
    dy = _write(tmp_path, "dy.json", "[1, 0, 0]")
    result = invoke(["bn-grad", "--dy", dy, "--eps", "0"], "0\n1\n2\n")
    assert result.exit_code == 0, result.stderr
    got = np.loadtxt(result.stdout.splitlines(), delimiter=",")
    np.testing.assert_allclose(got, HAND_DX[:, 0], rtol=1e-14)  # feature 0 above


def test_a_constant_feature_is_named_on_stderr_and_the_numbers_stay() -> None:
    # feature 0 is constant: var 0 < eps, xhat 0, dx = dxhat / sqrt(eps) = 316.2... * dxhat
    x = [[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]]
    dy = [[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]]
    result = invoke(["bn-grad", "--format", "json"], json.dumps({"x": x, "dy": dy}))
    assert result.exit_code == 0
    assert "Warning: feature 0: variance 0 is below eps = 1e-05" in result.stderr
    assert "316" in result.stderr and "feature 1" not in result.stderr
    data = json.loads(result.stdout)
    np.testing.assert_allclose(np.array(data["xhat"])[:, 0], 0.0)
    assert data["dx"] == batchnorm(np.array(x), np.array(dy)).dx.tolist()


@pytest.mark.parametrize("name", ["mean", "var", "dvar", "dmu", "dgamma", "dbeta"])
def test_emit_a_per_feature_quantity_as_one_row_with_the_header(name: str) -> None:
    x, dy = _data((6, 3))
    csv_x = "a,b,c\n" + _csv(x)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "dy.csv").write_text(_csv(dy))
        result = invoke(["bn-grad", "--dy", str(Path(tmp) / "dy.csv"), "--emit", name], csv_x)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "a,b,c" and len(lines) == 2
    got = np.array([float(v) for v in lines[1].split(",")])
    np.testing.assert_array_equal(got, getattr(batchnorm(x, dy), name))


def test_emit_dgamma_without_affine_is_refused() -> None:
    x, dy = _data()
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist()})
    err = assert_clean_error(invoke(["bn-grad", "--no-affine", "--emit", "dgamma"], doc))
    assert "no dgamma without gamma and beta" in err


@pytest.mark.parametrize("columns", ["60", "80", "120"])
def test_the_table_never_cuts_a_number(columns: str) -> None:
    # narrow: three significant digits and fewer columns before anything is cut
    rng = np.random.default_rng(3)
    x, dy = rng.normal(size=(20, 12)) * 1e3, rng.normal(size=(20, 12))
    doc = json.dumps({"x": x.tolist(), "dy": dy.tolist()})
    result = invoke(["bn-grad", "--format", "table"], doc, COLUMNS=columns)
    assert result.exit_code == 0, result.stderr
    assert "…" not in result.stdout
