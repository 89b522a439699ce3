"""``hw3 softmax-grad`` as CLI.md writes it."""

from __future__ import annotations

import json
from math import log
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import assert_clean_error, invoke, run_hw3

Z = [[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]


def _p(z: list[list[float]]) -> np.ndarray:
    a = np.asarray(z)
    e = np.exp(a - a.max(1, keepdims=True))
    out: np.ndarray = e / e.sum(1, keepdims=True)
    return out


def _json(**fields: object) -> str:
    return json.dumps({"logits": Z, **fields})


def test_contract_json_example() -> None:
    result = invoke(["softmax-grad", "--format", "json"], _json(target=[0, 1]))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    p = _p(Z)
    np.testing.assert_allclose(data["probs"], p, rtol=1e-15)
    np.testing.assert_allclose(data["grad"], p - np.eye(3)[[0, 1]], rtol=1e-12, atol=1e-15)
    assert data["loss"] == pytest.approx(-np.log(p[0, 0]) - np.log(p[1, 1]), rel=1e-14)
    assert "jacobian" not in data


def test_csv_with_labels(tmp_path: Path) -> None:
    (tmp_path / "logits.csv").write_text("2,1,0.1\n0.5,2.5,-1\n")
    result = invoke(["softmax-grad", str(tmp_path / "logits.csv"), "--labels", "2,0"])
    assert result.exit_code == 0, result.stderr
    got = np.loadtxt(result.stdout.splitlines(), delimiter=",")
    np.testing.assert_allclose(got, _p(Z) - np.eye(3)[[2, 0]], rtol=1e-12, atol=1e-15)


def test_csv_header_and_emit_probs() -> None:
    result = invoke(
        ["softmax-grad", "--labels", "0,1", "--emit", "probs"],
        "cat,dog,bird\n2,1,0.1\n0.5,2.5,-1\n",
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "cat,dog,bird"
    np.testing.assert_allclose(np.loadtxt(lines[1:], delimiter=","), _p(Z), rtol=1e-15)


def test_target_file_indices_and_probabilities(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("1\n2\n")
    (tmp_path / "probs.csv").write_text("0,1,0\n0,0,1\n")
    doc = json.dumps({"logits": Z})
    a = json.loads(invoke(["softmax-grad", "--target", str(tmp_path / "labels.csv")], doc).stdout)
    b = json.loads(invoke(["softmax-grad", "--target", str(tmp_path / "probs.csv")], doc).stdout)
    assert a["grad"] == b["grad"]  # one-hot rows and indices give the same answer
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-15)


@pytest.mark.parametrize(
    ("options", "expected_loss"),
    [
        (["--reduction", "sum"], "sum"),
        (["--reduction", "mean"], "mean"),
        (["--reduction", "none"], "none"),
    ],
)
def test_reductions(options: list[str], expected_loss: str) -> None:
    data = json.loads(invoke(["softmax-grad", *options], _json(target=[0, 1])).stdout)
    p = _p(Z)
    losses = [-np.log(p[0, 0]), -np.log(p[1, 1])]
    g = p - np.eye(3)[[0, 1]]
    if expected_loss == "none":
        np.testing.assert_allclose(data["loss"], losses, rtol=1e-14)
        np.testing.assert_allclose(data["grad"], g, rtol=1e-12, atol=1e-15)
    elif expected_loss == "sum":
        assert data["loss"] == pytest.approx(sum(losses), rel=1e-14)
    else:
        assert data["loss"] == pytest.approx(sum(losses) / 2, rel=1e-14)
        np.testing.assert_allclose(data["grad"], g / 2, rtol=1e-12, atol=1e-15)


def test_weight_ignore_index_smoothing_from_the_command_line() -> None:
    args = ["softmax-grad", "--weight", "2,1,1", "--ignore-index", "1", "--reduction", "mean"]
    data = json.loads(invoke([*args, "--label-smoothing", "0.1"], _json(target=[0, 1])).stdout)
    assert data["ignored"] == [1]
    assert data["denominator"] == 2.0  # only row 0 counts, with weight w_0 = 2
    assert data["grad"][1] == [0.0, 0.0, 0.0]
    p = _p(Z)[0]
    t = 0.9 * np.array([1.0, 0, 0]) + 0.1 / 3
    w = np.array([2.0, 1, 1])
    np.testing.assert_allclose(data["grad"][0], ((w * t).sum() * p - w * t) / 2, rtol=1e-12)


def test_negative_ignore_index_value() -> None:
    args = ["softmax-grad", "--ignore-index", "-1", "--reduction", "mean"]
    data = json.loads(invoke(args, _json(target=[-1, 1])).stdout)
    assert data["ignored"] == [0]


def test_json_fields_for_options() -> None:
    doc = _json(target=[0, 1], weight=[1, 2, 3], reduction="mean", label_smoothing=0.2)
    a = json.loads(invoke(["softmax-grad"], doc).stdout)
    b = json.loads(
        invoke(
            [
                "softmax-grad",
                "--weight",
                "1,2,3",
                "--reduction",
                "mean",
                "--label-smoothing",
                "0.2",
            ],
            _json(target=[0, 1]),
        ).stdout
    )
    assert a["grad"] == b["grad"] and a["loss"] == b["loss"]


def test_jacobian_output() -> None:
    data = json.loads(invoke(["softmax-grad", "--jacobian"], _json(target=[0, 1])).stdout)
    p = _p(Z)
    expected = np.stack([np.diag(r) - np.outer(r, r) for r in p])
    np.testing.assert_allclose(data["jacobian"], expected, rtol=1e-14, atol=1e-17)


def test_jacobian_memory_guard_refuses_at_once() -> None:
    logits = np.zeros((20, 1000))
    doc = json.dumps({"logits": logits.tolist(), "target": [0] * 20})
    stderr = assert_clean_error(invoke(["softmax-grad", "--jacobian"], doc))
    assert "20,000,000 entries would need 160.0 MB" in stderr


def test_jacobian_needs_json_or_npz() -> None:
    assert_clean_error(invoke(["softmax-grad", "--jacobian", "--labels", "0"], "1,2\n"))


def test_unnormalised_rows_warn(tmp_path: Path) -> None:
    result = invoke(["softmax-grad"], _json(target=[[1, 1, 0], [0, 1, 0]]))
    assert result.exit_code == 0
    assert "Warning: 1 target row (0) does not sum to 1" in result.stderr


def test_huge_logits() -> None:
    doc = json.dumps({"logits": [[1e4, 0.0, -1e4]], "target": [1]})
    data = json.loads(invoke(["softmax-grad"], doc).stdout)
    assert data["loss"] == 1e4
    assert data["grad"] == [[1.0, -1.0, 0.0]]


def test_check_and_expect(tmp_path: Path) -> None:
    result = invoke(["softmax-grad", "--check", "--reduction", "mean"], _json(target=[0, 2]))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["check"]["passed"] is True
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"loss": json.loads(result.stdout)["loss"]}))
    ok = invoke(
        ["softmax-grad", "--reduction", "mean", "--expect", str(good)], _json(target=[0, 2])
    )
    assert ok.exit_code == 0
    bad = invoke(["softmax-grad", "--expect", str(good)], _json(target=[0, 2]))
    assert bad.exit_code == 1
    assert "loss" in bad.stderr


def test_explain() -> None:
    doc = json.dumps({"logits": [[log(3.0), 0.0]], "target": [0]})
    lines = json.loads(invoke(["softmax-grad", "--explain"], doc).stdout)["explanation"]
    text = "\n".join(lines)
    assert "j = t:  dp_t/dz_t = p_t (1 - p_t), so dL/dz_t = -(1 - p_t) = p_t - 1 = 0.75 - 1" in text
    assert "j != t: dp_t/dz_j = -p_t p_j" in text
    assert "together: dL/dz = p - y = [-0.25, 0.25]" in text
    assert "dl/dz_j = (sum_c w_c t'_c) p_j - w_j t'_j" in text


def test_table() -> None:
    result = invoke(
        ["softmax-grad", "--format", "table", "--labels", "0,1"], "2,1,0.1\n0.5,2.5,-1\n"
    )
    assert result.exit_code == 0
    assert "p(label)" in result.stdout and "dL/dz (2 x 3)" in result.stdout


def test_real_pipe() -> None:
    proc = run_hw3(["softmax-grad", "--labels", "2,0"], stdin="2,1,0.1\n0.5,2.5,-1\n")
    assert proc.returncode == 0, proc.stderr
    got = np.loadtxt(proc.stdout.splitlines(), delimiter=",")
    np.testing.assert_allclose(got, _p(Z) - np.eye(3)[[2, 0]], rtol=1e-12, atol=1e-15)


ERRORS: list[tuple[list[str], str, str]] = [
    ([], '{"logits": [[1.0, 2.0]], "target": [5]}', "outside the classes 0 to 1"),
    ([], '{"logits": [[1.0, 2.0]], "target": [-3]}', "label -3"),
    ([], '{"logits": [[1.0, 2.0]], "target": [0.5]}', "not a whole number"),
    ([], '{"logits": [[1.0, 2.0]], "target": [0, 1]}', "2 labels for 1 row"),
    ([], '{"logits": [[1.0, 2.0]], "target": [[0.2, 0.3, 0.5]]}', "3 entries"),
    ([], '{"logits": [[1.0, 2.0]], "target": [[1.2, -0.2]]}', "negative"),
    (["--weight", "1,2,3"], '{"logits": [[1.0, 2.0]], "target": [0]}', "3 weights for 2"),
    (["--weight", "1,-2"], '{"logits": [[1.0, 2.0]], "target": [0]}', "negative"),
    (["--weight", "a,b"], '{"logits": [[1.0, 2.0]], "target": [0]}', "--weight"),
    (["--ignore-index", "0"], '{"logits": [[1.0, 2.0]], "target": [[0.5, 0.5]]}', "class-index"),
    (["--label-smoothing", "1.5"], '{"logits": [[1.0, 2.0]], "target": [0]}', "between 0 and 1"),
    ([], '{"logits": [[1.0, 2.0]]}', "targets are missing"),
    (["--labels", "0,x"], '{"logits": [[1.0, 2.0]]}', "--labels"),
    (["--labels", "0", "--target", "t.csv"], '{"logits": [[1.0, 2.0]]}', "not both"),
    ([], '{"logit": [[1.0, 2.0]], "target": [0]}', "unknown key 'logit'"),
    ([], '{"logits": [[1.0, "a"]], "target": [0]}', "logits[0][1]"),
    ([], '{"logits": [[1.0, 2.0], [1.0]], "target": [0, 0]}', "logits[1]"),
    ([], '{"logits": [[1.0, 2.0]], "target": [0], "reduction": "avg"}', "none, sum or mean"),
    (["--labels", "0"], "1,2\n3,nan\n", "row 2, column 2"),
    (["--target", "/no/such/file.csv"], '{"logits": [[1.0, 2.0]]}', "no such file"),
    (["--sample", "4", "--explain"], '{"logits": [[1.0, 2.0]], "target": [0]}', "--sample"),
    ([], '{"logits": [[[1.0, 2.0]]], "target": [0]}', "3 axes"),
]


@pytest.mark.parametrize(("extra", "stdin", "words"), ERRORS)
def test_errors_are_clean(extra: list[str], stdin: str, words: str) -> None:
    stderr = assert_clean_error(invoke(["softmax-grad", "--format", "json", *extra], stdin))
    assert words in stderr


def test_check_passes_on_huge_losses() -> None:
    # Logits near 1e4 make the total loss ~3e5; central differences of the whole sum would
    # carry rounding of eps * 3e5 / 1e-6 ~ 7e-5 > the 1e-5 tolerance, so the check
    # differences each row's own loss (the same derivative). Found comparing with PyTorch.
    rng = np.random.default_rng(3)
    logits = np.round(rng.normal(scale=1e4, size=(20, 10)))
    doc = json.dumps({"logits": logits.tolist(), "target": rng.integers(0, 10, 20).tolist()})
    result = invoke(["softmax-grad", "--label-smoothing", "0.1", "--check"], doc)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["loss"] > 1e5
    assert data["check"]["passed"] is True


def test_negative_ignore_index_with_probabilities_is_accepted_like_pytorch() -> None:
    # PyTorch refuses ignore_index >= 0 with probability targets; a negative one (its
    # default -100 included) has no effect.
    doc = _json(target=[[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    plain = json.loads(invoke(["softmax-grad"], doc).stdout)
    ignored = json.loads(invoke(["softmax-grad", "--ignore-index", "-1"], doc).stdout)
    assert plain["grad"] == ignored["grad"]
    assert_clean_error(invoke(["softmax-grad", "--ignore-index", "0"], doc))


@pytest.mark.parametrize(
    ("extra", "doc", "words"),
    [
        ([], '{"logits": [[1.0, 2.0]], "target": [1e30]}', "label 1e+30 in row 0"),
        ([], '{"logits": [[1.0, 2.0], [1, 2]], "target": [0, 1.5]}', "label 1.5 in row 1"),
        (["--labels", "0,7"], '{"logits": [[1.0, 2.0], [1, 2]]}', "--labels: label 7 in row 1"),
        ([], '{"logits": [[1.0, 2.0]], "target": [0], "weight": [1]}', "stdin: weight: 1 weight"),
        (
            [],
            '{"logits": [[1.0, 2.0]], "target": [0], "label_smoothing": 2}',
            "stdin: label_smoothing",
        ),
        (["--ignore-index", str(2**70)], '{"logits": [[1.0, 2.0]], "target": [0]}', "64-bit"),
    ],
)
def test_error_places_and_values(extra: list[str], doc: str, words: str) -> None:
    result = invoke(["softmax-grad", *extra], doc)
    stderr = assert_clean_error(result)
    assert words in stderr
    assert "Warning" not in stderr


def test_target_file_error_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("0\n9\n")
    stderr = assert_clean_error(
        invoke(["softmax-grad", "--target", str(tmp_path / "t.csv")], json.dumps({"logits": Z}))
    )
    assert f"--target {tmp_path / 't.csv'}: label 9 in row 1" in stderr


# --- delimiters ---------------------------------------------------------------------------

# logits [[0, 0], [ln 3, 0]], labels [0, 1], worked by hand: p = e^z / sum e^z gives
# [1/2, 1/2] and [3/(3+1), 1/(3+1)] = [3/4, 1/4]; with reduction sum each row of dL/dz is
# p - y: [[-1/2, 1/2], [3/4, -3/4]].
LN3 = repr(log(3))
HAND_GRAD = [[-0.5, 0.5], [0.75, -0.75]]


@pytest.mark.parametrize(
    ("sep", "options"),
    [(";", []), ("\t", []), (" ", []), ("|", ["--delimiter", "|"]), ("\t", ["--delimiter", "tab"])],
)
def test_delimiters_of_logits_target_and_weight(
    tmp_path: Path, sep: str, options: list[str]
) -> None:
    (tmp_path / "t.csv").write_text(f"1{sep}0\n0{sep}1\n")  # one-hot rows: labels 0 and 1
    (tmp_path / "w.csv").write_text(f"1{sep}1\n")
    args = [
        "softmax-grad",
        "--target",
        str(tmp_path / "t.csv"),
        "--weight",
        str(tmp_path / "w.csv"),
    ]
    result = invoke([*args, *options], f"0{sep}0\n{LN3}{sep}0\n")
    assert result.exit_code == 0, result.stderr
    got = np.loadtxt(result.stdout.splitlines(), delimiter=",")
    np.testing.assert_allclose(got, HAND_GRAD, rtol=1e-15, atol=1e-16)


def test_delimiter_applies_to_expect(tmp_path: Path) -> None:
    (tmp_path / "expect.csv").write_text("-0.5;0.5\n0.75;-0.75\n")
    args = ["softmax-grad", "--labels", "0,1", "--expect", str(tmp_path / "expect.csv")]
    result = invoke([*args, "--delimiter", ";"], f"0,0\n{LN3},0\n")
    # the input has commas but --delimiter ';' applies to it too: under ';' a comma
    # reads as a decimal comma, and the hint says so
    assert "hw3 reads '.' as the decimal point" in assert_clean_error(result)
    result = invoke(args, f"0;0\n{LN3};0\n")  # auto: each file its own delimiter
    assert result.exit_code == 0, result.stderr


# --- shapes, sizes and depth --------------------------------------------------------------

BIG = "1" + "0" * 400

SHAPE_ERRORS: list[tuple[list[str], str, list[str]]] = [
    ([], '{"logits": 0, "target": [0]}', ["stdin: logits must be a matrix N x K", "a single"]),
    ([], '{"logits": [[[1, 2]]], "target": [0]}', ["3 axes (shape 1x1x2)"]),
    ([], '{"logits": [[1, 2]], "target": 0}', ["stdin: target: expected N labels", "single"]),
    ([], '{"logits": [[1, 2]], "target": [[[1, 0]]]}', ["target: expected N labels", "1x1x2"]),
    ([], '{"logits": [[1, 2]], "target": []}', ["stdin: target: is empty (shape 0)"]),
    ([], '{"logits": [[]], "target": [0]}', ["stdin: logits: is empty (shape 1x0)"]),
    ([], '{"logits": [[1, 2]], "target": [0], "weight": [[1, 2], [3, 4]]}', ["weight: has shape"]),
    ([], f'{{"logits": [[1, 2]], "target": [{BIG}]}}', ["stdin: target[0]: 1.000e+400", "large"]),
    ([], f'{{"logits": [[{BIG}, 2]], "target": [0]}}', ["stdin: logits[0][0]", "too large"]),
    (
        [],
        f'{{"logits": [[1, 2]], "target": [0], "label_smoothing": {BIG}}}',
        ["stdin: label_smoothing: a whole number of 401 digits is too large"],
    ),
    ([], '{"logits": ' + "[" * 200 + "]" * 200 + "}", ["JSON nested too deeply"]),
    (["--labels", BIG], '{"logits": [[1, 2]]}', ["--labels", "not a finite number"]),
]


@pytest.mark.parametrize(("extra", "stdin", "words"), SHAPE_ERRORS)
def test_shape_and_size_errors(extra: list[str], stdin: str, words: list[str]) -> None:
    stderr = assert_clean_error(invoke(["softmax-grad", "--format", "json", *extra], stdin))
    for word in words:
        assert word in stderr


def test_weight_files_of_vector_and_matrix_shape(tmp_path: Path) -> None:
    np.save(tmp_path / "row.npy", np.array([[1.0, 1.0]]))
    np.save(tmp_path / "m.npy", np.ones((2, 2)))
    doc = json.dumps({"logits": [[0, 0], [log(3), 0]], "target": [0, 1]})
    result = invoke(
        ["softmax-grad", "--format", "json", "--weight", str(tmp_path / "row.npy")], doc
    )
    assert result.exit_code == 0, result.stderr
    np.testing.assert_allclose(json.loads(result.stdout)["grad"], HAND_GRAD, rtol=1e-15)
    args = ["softmax-grad", "--weight", str(tmp_path / "m.npy")]
    assert "--weight: has shape 2x2; expected 2 class weights" in assert_clean_error(
        invoke(args, doc)
    )


def test_zero_dimensional_npy_and_npz(tmp_path: Path) -> None:
    np.save(tmp_path / "t.npy", np.int64(0))
    np.savez(tmp_path / "in.npz", logits=np.float64(1.0), target=np.int64(0))
    stderr = assert_clean_error(
        invoke(["softmax-grad", "--target", str(tmp_path / "t.npy")], '{"logits": [[1, 2]]}')
    )
    assert f"--target {tmp_path / 't.npy'}: expected N labels" in stderr
    stderr = assert_clean_error(invoke(["softmax-grad", str(tmp_path / "in.npz")]))
    assert "logits must be a matrix N x K" in stderr
