"""Standalone LaTeX derivations fit the page: pdflatex's log has no "Overfull \\hbox" (a
row or a title past the right margin) for bn-grad's whole batch (m = 16) and its elided
one (m = 17), softmax-grad with every option, and printed models, whose long layer names
are cut onto rows of their own and whose sizes are one axis a row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, invoke
from tests.output.rendering import compile_latex
from tests.output.test_katex import batch_file

EXAMPLES = ROOT / "examples"
PRINTS = ROOT / "tests" / "data" / "models"


LONG_NAMES = """Net(
  (a_very_long_module_name_without_any_dots_at_all_in_it): Conv2d(3, 8, kernel_size=(3, 3), \
stride=(2, 2), padding=(1, 1))
  (blocks): Sequential(
    (0): Sequential(
      (depthwise_separable_convolution_block): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), \
padding=(1, 1), groups=8)
    )
  )
)
"""

CASES = {
    "bn-grad bn.json": ["bn-grad", str(EXAMPLES / "bn.json")],
    "bn-grad x.csv": ["bn-grad", str(EXAMPLES / "x.csv"), "--dy", str(EXAMPLES / "dy.csv"),
                      "--feature", "1"],
    "bn-grad m=16": ["bn-grad", "BATCH16", "--feature", "0"],
    "bn-grad m=17": ["bn-grad", "BATCH17", "--feature", "0"],
    "softmax-grad row 3": ["softmax-grad", str(EXAMPLES / "softmax.json"), "--row", "3"],
    "softmax-grad options": ["softmax-grad", str(EXAMPLES / "softmax.json"), "--weight", "1,2,1",
                             "--label-smoothing", "0.1", "--reduction", "mean"],
    "softmax-grad ignored": ["softmax-grad", str(EXAMPLES / "softmax.json"), "--ignore-index",
                             "1", "--reduction", "none"],
    "resnet18": ["conv-shape", "--net", str(PRINTS / "resnet18.txt"), "--input", "224x224"],
    "alexnet": ["conv-shape", "--net", str(PRINTS / "alexnet.txt"), "--input", "224x224"],
    "mobilenet_v2": ["conv-shape", "--net", str(PRINTS / "mobilenet_v2.txt"), "--input", "224x224"],
    "regnet_y_400mf": ["conv-shape", "--net", str(PRINTS / "regnet_y_400mf.txt"), "--input",
                       "224x224"],
    "long names": ["conv-shape", "--net", "LONG", "--input", "1000x1000"],
    "vgg16 stack": ["conv-shape", "--net", str(EXAMPLES / "vgg16.json"), "--input", "224x224",
                    "--in-channels", "3"],
    "3-D layer": ["conv-shape", "--input", "224x224x224", "--kernel", "3", "--stride", "2",
                  "--padding", "same", "--dilation", "3"],
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_no_row_passes_the_margin(tmp_path: Path, case: str) -> None:
    long = tmp_path / "long.txt"
    long.write_text(LONG_NAMES)
    given = {
        "BATCH16": batch_file(tmp_path, 16),
        "BATCH17": batch_file(tmp_path, 17),
        "LONG": str(long),
    }
    args = [given.get(a, a) for a in CASES[case]]
    result = invoke([*args, "--format", "latex", "--standalone"])
    assert result.exit_code == 0, result.stderr
    status, log = compile_latex(result.stdout)
    assert status == 0, log[-3000:]
    overfull = re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)[^\n]*", log)
    assert not overfull, overfull
