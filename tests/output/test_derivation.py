"""``--explain --format markdown|latex`` on the three commands: the source document's
derivations with the numbers put in.

Checked three ways: every number printed equals the JSON output's to the printed precision
(six significant digits); every formula with the numbers put in evaluates to the value it
states; and the values agree with the source document's formulas written out here in
plain Python (the source's lines, not hw3's code). The standalone LaTeX compiles with
pdflatex.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from tests.conftest import assert_clean_error, invoke
from tests.output.latexmath import display_lines, evaluate, value
from tests.output.rendering import compile_latex

EXAMPLES = Path(__file__).parents[2] / "examples"
BN = str(EXAMPLES / "bn.json")
SOFTMAX = str(EXAMPLES / "softmax.json")


def run(*args: str) -> str:
    result = invoke(list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def printed(x: float) -> float:
    """A number as the derivation prints it: six significant digits."""
    return float(f"{x:.6g}")


def check_line(steps: list[str], expected: float | int) -> None:
    """The formula with the numbers evaluates to the stated value, which is ``expected``
    to the printed precision."""
    stated = value(steps[-1])
    assert stated == pytest.approx(printed(expected), rel=1e-12, abs=1e-300)
    numbers = steps[-2].rsplit(" = ", 1)[0] if len(steps) > 1 else steps[-1].rsplit(" = ", 1)[0]
    assert evaluate(numbers) == pytest.approx(expected, rel=2e-4, abs=1e-5)


# --- conv-shape -----------------------------------------------------------------------------


def test_conv_shape_markdown_is_the_source_formula() -> None:
    """The source: W' = floor((W + 2*p_1 - k_1) / s_1 + 1); H' with p_2, k_2, s_2; the shape
    (B, W', H', output_channels)."""
    md = run("conv-shape", "--input", "5x7", "--kernel", "3", "--stride", "2", "--padding",
             "1", "--out-channels", "8", "--format", "markdown")  # fmt: skip
    data = json.loads(run("conv-shape", "--input", "5x7", "--kernel", "3", "--stride", "2",
                          "--padding", "1", "--out-channels", "8", "--format", "json"))  # fmt: skip
    lines = display_lines(md)
    assert lines["W'"][0] == "\\left\\lfloor \\frac{W + 2 p_1 - k_1}{s_1} + 1 \\right\\rfloor"
    assert lines["H'"][0] == "\\left\\lfloor \\frac{H + 2 p_2 - k_2}{s_2} + 1 \\right\\rfloor"
    assert lines["W'"][1] == "\\left\\lfloor \\frac{5 + 2 \\cdot 1 - 3}{2} + 1 \\right\\rfloor"
    for name, axis in zip(("W'", "H'"), data["axes"], strict=True):
        check_line(lines[name], axis["output"])
    assert lines["(B, W', H', C')"] == ["(1, 3, 4, 8)"]
    assert data["output_shape"] == [1, 3, 4, 8]
    assert "Input $(B, W, H, C) = (1, 5, 7, 1)$." in md


@pytest.mark.parametrize(
    ("args", "name", "expected"),
    [
        # i=32, k=3, s=2, p=0: 15, one pixel dropped (docs/formulas.md section 1)
        (["--input", "32", "--kernel", "3", "--stride", "2"], "W'", 15),
        (["--input", "32", "--kernel", "3", "--stride", "2"], "r_1", 1),
        # dilation 2: k' = 2*(3 - 1) + 1 = 5, (10 - 5)/1 + 1 = 6
        (["--input", "10", "--kernel", "3", "--dilation", "2"], "k'_1", 5),
        (["--input", "10", "--kernel", "3", "--dilation", "2"], "W'", 6),
        # transposed: (16 - 1)*2 - 2 + 4 + 0 = 32 (PyTorch: ConvTranspose2d(k=4, s=2, p=1))
        (["--input", "16", "--kernel", "4", "--stride", "2", "--padding", "1", "--transposed"],
         "W'", 32),
        # ceil mode: i=6, k=1, s=2 gives 3, not 4 (PyTorch)
        (["--input", "6", "--kernel", "1", "--stride", "2", "--pool", "max", "--ceil-mode"],
         "W'", 3),
        # TensorFlow's 'same' with s=2 on 224, k=3: total padding 1
        (["--input", "224", "--kernel", "3", "--stride", "2", "--padding", "same"],
         "p_1^{b} + p_1^{a}", 1),
        (["--input", "224", "--kernel", "3", "--stride", "2", "--padding", "same"], "W'", 112),
        (["--input", "7", "--kernel", "3", "--padding", "0:1"], "W'", 6),
    ],
)  # fmt: skip
def test_conv_shape_lines_evaluate_to_their_values(
    args: list[str], name: str, expected: int
) -> None:
    lines = display_lines(run("conv-shape", *args, "--format", "markdown"))
    check_line(lines[name], expected)


def test_conv_shape_ceil_mode_drops_the_last_window() -> None:
    """PyTorch's rule: i=5, k=2, s=2, p=1, ceil: floor((5+2-2+1)/2)+1 = 4, but the fourth
    window would start at 6 >= 5 + 1: 3."""
    md = run("conv-shape", "--input", "5", "--kernel", "2", "--stride", "2", "--padding", "1",
             "--pool", "max", "--ceil-mode", "--format", "markdown")  # fmt: skip
    check_line(display_lines(md)["W'"], 3)
    assert "PyTorch drops it" in md


def test_stack_markdown_one_line_per_layer_and_the_receptive_field() -> None:
    vgg = str(EXAMPLES / "vgg16.json")
    md = run("conv-shape", "--net", vgg, "--input", "224x224", "--in-channels", "3",
             "--format", "markdown")  # fmt: skip
    data = json.loads(run("conv-shape", "--net", vgg, "--input", "224x224", "--in-channels",
                          "3", "--format", "json"))  # fmt: skip
    lines = display_lines(md)
    names = [layer["name"] for layer in data["layers"]]
    rows = [key for key in lines if key.startswith("\\text{")]
    escaped = [n.replace("_", "\\_") for n in names]  # (conv1_1: \text{conv1\_1})
    assert rows == [f"\\text{{{n}}}\\colon" for n in escaped]
    for key, layer in zip(rows, data["layers"], strict=True):
        (row,) = lines[key]
        # one axis a row (joined back by display_lines), then ",\quad C' = ..."
        parts = re.split(r",\\quad |, (?=[A-Z]')", row)
        sizes = [int(part.rsplit(" = ", 1)[1]) for part in parts if "'" in part
                 and not part.startswith("C'")]  # fmt: skip
        assert sizes == layer["output_shape"][1:3]
        for part in parts:
            if part.startswith(("W'", "H'")):
                formula, result = part.split(" = ", 1)[1].rsplit(" = ", 1)
                assert evaluate(formula) == int(result)
    rf = data["axes"][0]["receptive_field"]
    check_line(lines["r_{W}"], rf)
    assert rf == 212  # VGG16's receptive field (Araujo et al., Distill 2019: 212)


# --- bn-grad --------------------------------------------------------------------------------


def source_batchnorm(
    x: list[float], dy: list[float], g: float, b: float, eps: float
) -> dict[str, object]:
    """The source document's lines, one by one, for one feature (with the sign of the first
    term of dl/dx_i as +: the source's -1 is a typo, which --check confirms)."""
    m = len(x)
    mu = sum(x) / m
    var = sum((xi - mu) ** 2 for xi in x) / m
    xhat = [(xi - mu) / math.sqrt(var + eps) for xi in x]
    y = [g * h + b for h in xhat]
    dxhat = [d * g for d in dy]
    dvar = sum(dh * (xi - mu) for dh, xi in zip(dxhat, x, strict=True)) * -0.5 * (var + eps) ** -1.5
    dmu = (
        sum(dh * -1 / math.sqrt(var + eps) for dh in dxhat)
        + dvar * sum(-2 * (xi - mu) for xi in x) / m
    )
    dx = [
        dh / math.sqrt(var + eps) + dvar * 2 * (xi - mu) / m + dmu / m
        for dh, xi in zip(dxhat, x, strict=True)
    ]
    dgamma = sum(d * h for d, h in zip(dy, xhat, strict=True))
    dbeta = sum(dy)
    return {"mu": mu, "var": var, "xhat": xhat, "y": y, "dxhat": dxhat, "dvar": dvar,
            "dmu": dmu, "dx": dx, "dgamma": dgamma, "dbeta": dbeta}  # fmt: skip


DL = "\\frac{\\partial l}{\\partial "


def test_bn_grad_markdown_matches_json_and_the_source(tmp_path: Path) -> None:
    batch = json.loads(Path(BN).read_text())
    feature = 1
    md = run("bn-grad", BN, "--feature", str(feature), "--gamma", "1.5,-2,0.5", "--beta",
             "0.1,0.2,0.3", "--format", "markdown")  # fmt: skip
    data = json.loads(run("bn-grad", BN, "--gamma", "1.5,-2,0.5", "--beta", "0.1,0.2,0.3",
                          "--format", "json"))  # fmt: skip
    x = [row[feature] for row in batch["x"]]
    dy = [row[feature] for row in batch["dy"]]
    source = source_batchnorm(x, dy, -2.0, 0.2, 1e-5)
    lines = display_lines(md)
    singles = {
        "\\mu_B": ("mean", "mu"),
        "\\sigma_B^2": ("var", "var"),
        DL + "\\sigma_B^2}": ("dvar", "dvar"),
        DL + "\\mu_B}": ("dmu", "dmu"),
        DL + "\\gamma}": ("dgamma", "dgamma"),
        DL + "\\beta}": ("dbeta", "dbeta"),
    }
    for lhs, (json_name, source_name) in singles.items():
        check_line(lines[lhs], data[json_name][feature])
        assert data[json_name][feature] == pytest.approx(source[source_name], rel=1e-9)
    per_sample = {"\\hat{x}_#": "xhat", "y_#": "y", DL + "\\hat{x}_#}": "dxhat", DL + "x_#}": "dx"}
    for lhs, name in per_sample.items():
        for i in range(len(x)):
            steps = lines[lhs.replace("#", str(i + 1))]
            check_line(steps, data[name][i][feature])
            assert data[name][i][feature] == pytest.approx(source[name][i], rel=1e-9)  # type: ignore[index]
    # the symbolic lines are the source's
    assert lines[DL + "\\hat{x}_i}"][0] == DL + "y_i} \\gamma"
    assert lines[DL + "\\beta}"][0] == "\\sum_{i=1}^{m} " + DL + "y_i}"
    assert "the sign is $+$" in md


def test_bn_grad_writes_the_whole_batch_up_to_16(tmp_path: Path) -> None:
    for m, whole in ((16, True), (17, False)):
        x = [[float(i * i % 7), float(i)] for i in range(m)]
        dy = [[float(i % 3) - 1, 0.5] for i in range(m)]
        src = tmp_path / f"b{m}.json"
        src.write_text(json.dumps({"x": x, "dy": dy}))
        lines = display_lines(run("bn-grad", str(src), "--format", "markdown"))
        # x_{10}, not x_10 (which TeX and KaTeX set as x_1 followed by 0)
        subscripts = {i: str(i) if i < 10 else f"{{{i}}}" for i in range(1, m + 1)}
        written = [i for i, sub in subscripts.items() if f"\\hat{{x}}_{sub}" in lines]
        assert written == (list(range(1, m + 1)) if whole else [1, 2, 3, m - 1, m])
        assert ("\\vdots" in lines) is not whole
        assert ("\\cdots" in lines["\\mu_B"][1]) is not whole
        data = json.loads(run("bn-grad", str(src), "--format", "json"))
        if whole:
            check_line(lines["\\mu_B"], data["mean"][0])
        assert value(lines["\\mu_B"][-1]) == printed(data["mean"][0])


def test_bn_grad_without_affine_parameters_has_no_dgamma() -> None:
    md = run("bn-grad", BN, "--no-affine", "--format", "markdown")
    lines = display_lines(md)
    assert "no affine parameters" in md
    assert DL + "\\gamma}" not in lines and DL + "\\beta}" not in lines
    data = json.loads(run("bn-grad", BN, "--no-affine", "--format", "json"))
    check_line(lines[DL + "x_1}"], data["dx"][0][0])


def test_bn_grad_eval_mode_markdown() -> None:
    md = run("bn-grad", BN, "--eval", "--running-mean", "1,2,3", "--running-var", "2,2,2",
             "--format", "markdown")  # fmt: skip
    data = json.loads(run("bn-grad", BN, "--eval", "--running-mean", "1,2,3",
                          "--running-var", "2,2,2", "--format", "json"))  # fmt: skip
    lines = display_lines(md)
    assert "evaluation mode" in md
    for i in range(3):
        check_line(lines[f"{DL}x_{i + 1}}}"], data["dx"][i][0])


# --- softmax-grad ---------------------------------------------------------------------------


def test_softmax_markdown_matches_json_and_the_source() -> None:
    """The source: y-hat_t = e^{z_t} / sum_i e^{z_i}, L = -sum_i y_i log y-hat_i and
    dL/dz = y-hat - y, for row 1 (target 1) of examples/softmax.json."""
    md = run("softmax-grad", SOFTMAX, "--row", "1", "--format", "markdown")
    data = json.loads(run("softmax-grad", SOFTMAX, "--format", "json"))
    z = json.loads(Path(SOFTMAX).read_text())["logits"][1]
    lines = display_lines(md)
    total = sum(math.exp(v) for v in z)
    assert evaluate(lines["\\sum_i e^{z_i}"][0]) == pytest.approx(total)
    for j in range(3):
        stated = value(lines[f"\\hat{{y}}_{{{j}}}"][0])
        assert stated == printed(data["probs"][1][j])
        assert stated == pytest.approx(math.exp(z[j]) / total, rel=1e-5)
        grad = lines[f"\\frac{{\\partial L}}{{\\partial z_{{{j}}}}}"]
        check_line(grad, data["grad"][1][j])
        assert data["grad"][1][j] == pytest.approx(math.exp(z[j]) / total - (j == 1))
    check_line(lines["L_t"], data["losses"][1])
    assert lines["L_t"][0] == "-\\sum_i y_i \\log \\hat{y}_i"
    assert value(lines["L"][-1]) == printed(data["loss"])


def test_softmax_markdown_with_weights_smoothing_and_mean() -> None:
    """PyTorch's cross_entropy with weight=[1, 2, 1], label_smoothing=0.1, reduction mean:
    dl/dz_j = (S y-hat_j - w_j y'_j) / D with S = sum_c w_c y'_c (docs/formulas.md section 4)."""
    options = ["--weight", "1,2,1", "--label-smoothing", "0.1", "--reduction", "mean"]
    md = run("softmax-grad", SOFTMAX, "--row", "2", *options, "--format", "markdown")
    data = json.loads(run("softmax-grad", SOFTMAX, *options, "--format", "json"))
    lines = display_lines(md)
    s = evaluate(lines["S"][1])
    assert s == pytest.approx(1 * 0.1 / 3 + 2 * 0.1 / 3 + 1 * (0.9 + 0.1 / 3), rel=1e-5)
    for j in range(3):
        steps = lines[f"\\frac{{\\partial L}}{{\\partial z_{{{j}}}}}"]
        numbers, stated = steps[0].rsplit(" = ", 1)
        assert evaluate(stated) == printed(data["grad"][2][j])
        assert evaluate(numbers, S=s) == pytest.approx(data["grad"][2][j], rel=1e-4)
    check_line(lines["l"], data["losses"][2])
    assert value(lines["L"][-1]) == printed(data["loss"])
    assert f"\\frac{{1}}{{{data['denominator']:g}}}" in lines["L"][1]
    assert "\\varepsilon" in md and "w_c y'_c" in md


def test_softmax_ignored_row() -> None:
    md = run("softmax-grad", SOFTMAX, "--row", "0", "--ignore-index", "0", "--format", "markdown")
    assert "ignore index" in md


# --- files, formats, LaTeX ------------------------------------------------------------------


def test_extension_picks_the_format_and_stdout_holds_only_the_derivation(tmp_path: Path) -> None:
    md, tex = tmp_path / "bn.md", tmp_path / "bn.tex"
    result = invoke(["bn-grad", BN, "-o", str(md)])
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    assert md.read_text().startswith("## Batch normalisation: feature 0")
    assert invoke(["bn-grad", BN, "-o", str(tex)]).exit_code == 0
    assert tex.read_text().startswith("\\section*{Batch normalisation: feature 0}")
    piped = invoke(["softmax-grad", SOFTMAX, "--explain", "--format", "markdown"])
    assert piped.stderr == "" and piped.stdout.startswith("## Softmax")
    layer = tmp_path / "layer.tex"
    assert invoke(["conv-shape", "--input", "32", "--kernel", "3", "-o", str(layer)]).exit_code == 0
    assert "\\begin{align*}" in layer.read_text()
    # an arrow, not "->", which pdflatex's default font prints as an inverted question mark
    assert "Conv1d k=3 s=1 p=0 d=1, 32 $\\rightarrow$ 30}" in layer.read_text()


def test_standalone_needs_latex() -> None:
    for args in (
        ["conv-shape", "--input", "5", "--kernel", "3", "--standalone"],
        ["bn-grad", BN, "--standalone", "--format", "markdown"],
        ["softmax-grad", SOFTMAX, "--standalone"],
    ):
        assert "--standalone" in assert_clean_error(invoke(args))


@pytest.mark.parametrize(
    "args",
    [
        ["conv-shape", "--input", "5x5", "--kernel", "3", "--stride", "2", "--padding", "0:1"],
        ["conv-shape", "--input", "224x224", "--net", str(EXAMPLES / "alexnet.json"),
         "--in-channels", "3"],
        ["conv-shape", "--input", "6", "--kernel", "2", "--pool", "max", "--ceil-mode",
         "--padding", "1"],
        ["bn-grad", BN],
        ["bn-grad", str(EXAMPLES / "x.csv"), "--dy", str(EXAMPLES / "dy.csv"), "--feature", "1"],
        ["softmax-grad", SOFTMAX, "--row", "3"],
        ["softmax-grad", SOFTMAX, "--weight", "1,2,1", "--label-smoothing", "0.1",
         "--reduction", "mean"],
        ["softmax-grad", str(EXAMPLES / "logits.csv"), "--target", str(EXAMPLES / "onehot.csv")],
    ],
)  # fmt: skip
def test_standalone_latex_compiles(args: list[str]) -> None:
    tex = run(*args, "--format", "latex", "--standalone")
    assert tex.startswith("\\documentclass{article}") and tex.endswith("\\end{document}\n")
    status, log = compile_latex(tex)
    assert status == 0, log[-3000:]


def test_fragment_has_no_preamble_and_compiles_inside_a_document() -> None:
    fragment = run("bn-grad", BN, "--format", "latex")
    assert "\\documentclass" not in fragment and "\\begin{document}" not in fragment
    document = (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
        + fragment
        + "\\end{document}\n"
    )
    status, log = compile_latex(document)
    assert status == 0, log[-3000:]


def test_latex_of_any_layer_name_compiles_with_the_base_fonts() -> None:
    """Names with every character LaTeX treats specially compile, and only with the
    Type 1 fonts of texlive-latex-base: no bitmap font made on the fly (a ``.600pk``
    font in the log; TS1's dollar or arrow would need one)."""
    name = "a_b#1%&$x{y}~^\\z"
    tex = run("conv-shape", "--input", "16", "--layer", f"conv k=3 name={name}",
              "--layer", "pool max k=2 name=<p>", "--format", "latex", "--standalone")  # fmt: skip
    status, log = compile_latex(tex)
    assert status == 0, log[-3000:]
    assert ".600pk" not in log and "mktexpk" not in log


def test_printed_model_derivation() -> None:
    """A printed model (PyTorch's NCHW, so the axes are H and W): every layer in the order
    run, the main path's receptive field (ResNet-18: 435, by hand in test_svg), the
    shapes; the standalone LaTeX compiles."""
    model = str(EXAMPLES / "models" / "resnet18.txt")
    md = run("conv-shape", "--net", model, "--input", "224x224", "--format", "markdown")
    data = json.loads(run("conv-shape", "--net", model, "--input", "224x224", "--format", "json"))
    lines = display_lines(md)
    rows = [key for key in lines if key.startswith("\\text{")]
    assert len(rows) == len(data["layers"])
    (conv1,) = lines["\\text{conv1}\\colon"]
    assert conv1.startswith("H' = \\left\\lfloor \\frac{224 + 2 \\cdot 3 - 7}{2} + 1")
    assert conv1.endswith("= 112,\\quad C' = 64")
    assert lines["\\text{layer2.0.downsample.0}\\colon"] == ["\\text{Conv2d} \\to (128, 28, 28)"]
    check_line(lines["r_{H}"], 435)
    assert "up to avgpool (AdaptiveAvgPool2d)" in md
    assert lines["(N, F)"] == ["(1, 1000)"]
    status, log = compile_latex(
        run("conv-shape", "--net", model, "--input", "224x224", "--format", "latex", "--standalone")
    )
    assert status == 0, log[-3000:]
