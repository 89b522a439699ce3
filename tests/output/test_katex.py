"""Every piece of maths in hw3's Markdown renders with KaTeX (``throwOnError``), as GitHub
and KaTeX-based viewers would show it: conv-shape's layers (dilated, ``same``,
asymmetric, transposed, ceil mode, 1-D and 3-D), stacks, printed models whose names hold
the characters TeX and Markdown treat specially, bn-grad with the whole batch (m = 16) and
elided (m = 17), softmax-grad with every option. Skipped, saying so, where node cannot load
katex (.ci/run installs it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import invoke
from tests.output.rendering import katex_errors

EXAMPLES = Path(__file__).parents[2] / "examples"
BN = str(EXAMPLES / "bn.json")
SOFTMAX = str(EXAMPLES / "softmax.json")


def maths(markdown: str) -> list[tuple[str, bool]]:
    """The maths of a Markdown text as a renderer finds it: ``$$...$$`` display and
    ``$...$`` inline (an escaped ``\\$`` is a dollar sign, in prose and in maths), outside
    code spans and fences.
    A ``$`` left without its pair is an error: it would turn the prose after it into maths."""
    text = re.sub(r"```.*?```|`[^`\n]*`", "", markdown, flags=re.DOTALL)
    found: list[tuple[str, bool]] = []
    pos = 0
    while True:
        m = re.compile(r"(?<!\\)\$").search(text, pos)
        if m is None:
            return found
        display = text.startswith("$$", m.start())
        close = "$$" if display else "$"
        start = m.start() + len(close)
        end = start
        while True:
            end = text.find(close, end)
            assert end != -1, f"a {close} without its pair: {text[m.start() : m.start() + 80]!r}"
            if text[end - 1] != "\\":
                break
            end += 1
        piece = text[start:end]
        # a $ in maths is written \$ (GitHub's documented form), never bare: a renderer
        # would end the maths there
        assert not re.search(r"(?<!\\)\$", piece), f"a bare $ in maths: {piece[:200]!r}"
        found.append((piece, display))
        pos = end + len(close)


def batch_file(tmp_path: Path, rows: int) -> str:
    """x and dy of ``rows`` samples and 2 features, as bn-grad reads them from JSON."""
    x = [[(i * 7 % 11) - 5.5123, i / 3] for i in range(rows)]
    dy = [[(i % 5) / 10 - 0.2, 1 - i / 20] for i in range(rows)]
    path = tmp_path / f"batch{rows}.json"
    path.write_text(json.dumps({"x": x, "dy": dy}))
    return str(path)


ODD_NAMES = """Net(
  (conv_1): Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
  (a$b): ReLU()
  (c\\\\d): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=True)
  (e{f}): Conv2d(8, 4, kernel_size=(3, 3), stride=(1, 1), padding=same, dilation=(2, 2))
  (g%h#i&j~k^l): AdaptiveAvgPool2d(output_size=1)
  (fc): Linear(in_features=4, out_features=10, bias=True)
)
"""

LAYER = ["conv-shape", "--input"]
CASES = [
    [*LAYER, "5x7", "--kernel", "3", "--stride", "2", "--padding", "1", "--out-channels", "8"],
    [*LAYER, "32x32", "--kernel", "3", "--dilation", "2", "--padding", "same"],
    [*LAYER, "6x6", "--kernel", "3", "--stride", "2", "--padding", "same"],
    [*LAYER, "5x5", "--kernel", "3", "--stride", "2", "--padding", "0:1"],
    [*LAYER, "3x3", "--kernel", "3", "--stride", "2", "--padding", "1", "--transposed",
     "--output-padding", "1"],
    [*LAYER, "6", "--kernel", "2", "--pool", "max", "--ceil-mode", "--padding", "1"],
    [*LAYER, "7x7", "--kernel", "3", "--pool", "avg", "--stride", "2", "--ceil-mode"],
    [*LAYER, "10", "--kernel", "3", "--stride", "2"],
    [*LAYER, "8x8x8", "--kernel", "3", "--stride", "2", "--padding", "1"],
    [*LAYER, "224x224", "--net", str(EXAMPLES / "alexnet.json"), "--in-channels", "3"],
    [*LAYER, "224x224", "--net", str(EXAMPLES / "vgg16.json"), "--in-channels", "3"],
    [*LAYER, "16", "--layer", "conv k=3 name=a_b#1%&$x{y}~^\\z", "--layer",
     "pool max k=2 name=<p>"],
    [*LAYER, "224x224", "--net", str(EXAMPLES / "models" / "resnet18.txt")],
    # long names cut onto rows of their own (an array)
    [*LAYER, "224x224", "--net", str(EXAMPLES.parent / "tests/data/models/regnet_y_400mf.txt")],
    ["bn-grad", BN],
    ["bn-grad", BN, "--feature", "1", "--no-affine"],
    ["bn-grad", BN, "--eval"],
    ["bn-grad", str(EXAMPLES / "x.csv"), "--dy", str(EXAMPLES / "dy.csv"), "--feature", "1"],
    ["softmax-grad", SOFTMAX],
    ["softmax-grad", SOFTMAX, "--row", "3", "--reduction", "sum"],
    ["softmax-grad", SOFTMAX, "--weight", "1,2,1", "--label-smoothing", "0.1",
     "--reduction", "mean"],
    ["softmax-grad", SOFTMAX, "--ignore-index", "1", "--reduction", "none"],
    ["softmax-grad", str(EXAMPLES / "logits.csv"), "--target", str(EXAMPLES / "onehot.csv")],
]  # fmt: skip


def _check(args: list[str]) -> str:
    result = invoke([*args, "--format", "markdown"])
    assert result.exit_code == 0, result.stderr
    found = maths(result.stdout)
    assert found
    failed = [(tex, error) for (tex, _), error in zip(found, katex_errors(found), strict=True)
              if error is not None]  # fmt: skip
    assert not failed, failed
    return result.stdout


@pytest.mark.parametrize("args", CASES, ids=[" ".join(a[1:4]) for a in CASES])
def test_every_piece_of_maths_renders_with_katex(args: list[str]) -> None:
    _check(args)


@pytest.mark.parametrize("rows", [16, 17])
def test_a_batch_written_whole_or_elided_renders(tmp_path: Path, rows: int) -> None:
    md = _check(["bn-grad", batch_file(tmp_path, rows), "--feature", "1"])
    assert ("\\cdots" in md) == (rows > 16)  # written whole up to 16


def test_a_model_with_odd_names_renders(tmp_path: Path) -> None:
    model = tmp_path / "odd.txt"
    model.write_text(ODD_NAMES)
    _check(["conv-shape", "--net", str(model), "--input", "32x32"])


def test_maths_is_found_as_a_renderer_finds_it() -> None:
    assert maths("a $x$ and \\$5 and `$no$`\n\n$$\ny\n$$\n") == [("x", False), ("\ny\n", True)]
    with pytest.raises(AssertionError, match="without its pair"):
        maths("a name a$b in prose")
