"""The receptive field of a printed model (`--format svg`, markdown, latex): what hw3
answers equals PyTorch's, and where the print does not make the path one chain of layers
(Inception's branches, DenseNet's concatenations) hw3 refuses with exit 3 rather than
chaining the branches, which would overstate the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, assert_clean_error, invoke

PRINTS = ROOT / "tests" / "data" / "models"
TORCHVISION = ROOT / "examples" / "models" / "torchvision"


def _field(model: str, size: int, fmt: str = "svg") -> tuple[int, str, str]:
    result = invoke(
        ["conv-shape", "--net", str(PRINTS / f"{model}.txt"), "--input", f"{size}x{size}",
         "--format", fmt]
    )  # fmt: skip
    return result.exit_code, result.stdout, result.stderr


# Golden values from PyTorch 2.14.1 / torchvision 0.29.1: the input pixels on which one
# output unit of the layer depends, found as the nonzero support of the gradient of that
# unit (all channels at the centre position (o - 1) // 2) with respect to the input, with
# every weight positive, batch norms the identity, max pools swapped for average pools of
# the same window and saturating activations for ReLU (so that no path's gradient
# vanishes). At these sizes the field lies inside the input, so its support is the whole
# field; at 224x224 PyTorch's support is hw3's field cut to the image (resnet18 [0..223],
# alexnet [0..192], mobilenet_v2 [0..223], agreed there too).
GOLDEN = [
    # model, input, last layer of the path, its output units, first..last input pixel
    ("resnet18", 512, "layer4.1.conv2", 16, 7, 441),
    ("resnet50", 512, "layer4.2.conv3", 16, 11, 437),
    ("vgg16", 224, "features.30", 7, 6, 217),
    ("vgg16", 320, "features.30", 10, 38, 249),
    ("vgg11", 224, "features.20", 7, 37, 186),
    ("alexnet", 320, "features.12", 9, 62, 256),
    ("mobilenet_v2", 640, "features.18.0", 20, 43, 533),
    ("mnasnet0_5", 1024, "layers.14", 32, 59, 901),
    ("squeezenet1_0", 320, "features.12.expand3x3", 19, 84, 238),
    # the path ends at the first squeeze-and-excitation, whose scale sees the whole input
    ("efficientnet_b0", 224, "features.1.0.block.0.0", 112, 107, 113),
    ("regnet_y_400mf", 224, "trunk_output.block1.block1-0.f.b.0", 56, 105, 111),
]


@pytest.mark.parametrize(("model", "size", "layer", "units", "first", "last"), GOLDEN)
def test_the_field_of_a_model_is_the_one_pytorch_gives(
    model: str, size: int, layer: str, units: int, first: int, last: int
) -> None:
    code, svg, stderr = _field(model, size)
    assert code == 0, stderr
    unit = (units - 1) // 2
    r = last - first + 1
    assert f"Receptive field of output ({unit}, {unit})" in svg
    assert f" {layer}: {r}x{r}, pixels [{first}..{last}] x [{first}..{last}]" in svg
    assert re.search(rf"the main path: the \d+ convolutions and poolings from \S+ to {layer}", svg)
    assert "assumes" not in stderr  # torchvision's classes are known rules
    # the prints' downsample (ResNet) and proj (RegNet) children before the path's end
    branches = {"resnet18": "3 residual branches (downsample)",
                "resnet50": "4 residual branches (downsample)",
                "regnet_y_400mf": "1 residual branch (proj)"}.get(model)  # fmt: skip
    if branches:
        assert f"{branches} left out" in svg
    else:
        assert "residual branch" not in svg


@pytest.mark.parametrize(
    ("model", "size", "container", "why"),
    [
        ("googlenet", 224, "inception3a", "Inception runs its children (branch1, branch2"),
        ("inception_v3", 299, "Mixed_5b", "InceptionA runs its children (branch1x1, "),
        ("densenet121", 224, "features.denseblock1", "_DenseBlock feeds each of its children"),
        ("shufflenet_v2_x1_0", 224, "stage2.0", "InvertedResidual runs its children (branch1"),
    ],
)
@pytest.mark.parametrize("fmt", ["svg", "markdown", "latex"])
def test_branches_side_by_side_are_refused_with_exit_3(
    model: str, size: int, container: str, why: str, fmt: str
) -> None:
    net = str(TORCHVISION / f"{model}.txt")
    result = invoke(["conv-shape", "--net", net, "--input", f"{size}x{size}", "--format", fmt])
    stderr = assert_clean_error(result, code=3)
    assert f"Error: {container}: {why}" in stderr
    assert "union" in stderr
    assert result.stdout == ""
    # the shapes run (torchvision's blocks are named rules): only the field is refused
    assert invoke(["conv-shape", "--net", net, "--input", f"{size}x{size}"]).exit_code == 0


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "model.txt"
    path.write_text(text)
    return str(path)


BLOCK = """Net(
  (stem): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
  (block): {kind}(
    ({a}): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    ({b}): Conv2d(8, 8, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
  )
)
"""


@pytest.mark.parametrize(
    ("kind", "a", "b", "where"),
    [
        # named branches whose shapes happen to chain: chaining them gave 9, the truth is 7
        ("Block", "branch1", "branch2", "block"),
        ("Block", "conv", "branch", "block"),  # one branch beside a main path
        ("Inception", "x", "y", "block"),
        # torchvision's class names with children that class does not have
        ("BasicBlock", "conv1", "path_b", "block"),
    ],
)
def test_parallel_children_whose_shapes_chain_are_refused(
    tmp_path: Path, kind: str, a: str, b: str, where: str
) -> None:
    net = _write(tmp_path, BLOCK.format(kind=kind, a=a, b=b))
    for fmt in ("svg", "markdown"):
        result = invoke(["conv-shape", "--net", net, "--input", "32x32", "--format", fmt])
        assert f"Error: {where}: {kind} " in assert_clean_error(result, code=3)
    plain = invoke(["conv-shape", "--net", net, "--input", "32x32"])
    if kind == "Inception":  # a named rule of the shapes, which checks the children too
        assert_clean_error(plain, code=3)
    else:  # the shapes alone are what the print shows: they still run
        assert plain.stdout == "1x8x32x32\n"


def test_a_class_without_a_rule_is_followed_as_an_assumption_said_so(tmp_path: Path) -> None:
    """A user's container of a class hw3 has no rule for, whose children chain: followed in
    the printed order (3 + 3 + 5 - 2: 9), the assumption in the note and on stderr."""
    net = _write(tmp_path, BLOCK.format(kind="Stage", a="conv1", b="conv2"))
    result = invoke(["conv-shape", "--net", net, "--input", "32x32", "--format", "svg"])
    assert result.exit_code == 0, result.stderr
    assert "9x9" in result.stdout
    assumed = "the model (Net), block (Stage) run their children in the printed order"
    assert assumed in result.stdout
    assert "Warning: the receptive field assumes that the model (Net), block (Stage)" in (
        result.stderr
    )
    md = invoke(["conv-shape", "--net", net, "--input", "32x32", "--format", "markdown"])
    assert assumed in md.stdout


def test_a_fire_whose_1x1_expand_is_not_1x1_is_refused(tmp_path: Path) -> None:
    fire = """SqueezeNet(
  (features): Sequential(
    (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1))
    (1): Fire(
      (squeeze): Conv2d(16, 8, kernel_size=(1, 1), stride=(1, 1))
      (squeeze_activation): ReLU(inplace=True)
      (expand1x1): Conv2d(8, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
      (expand1x1_activation): ReLU(inplace=True)
      (expand3x3): Conv2d(8, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
      (expand3x3_activation): ReLU(inplace=True)
    )
    (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=True)
  )
)
"""
    net = _write(tmp_path, fire)
    result = invoke(["conv-shape", "--net", net, "--input", "32x32", "--format", "svg"])
    assert "Error: features.1.expand1x1: Fire's expand1x1" in assert_clean_error(result, 3)
    one = fire.replace("(expand1x1): Conv2d(8, 16, kernel_size=(3, 3), stride=(1, 1), "
                       "padding=(1, 1))", "(expand1x1): Conv2d(8, 16, kernel_size=(1, 1), "
                       "stride=(1, 1))")  # fmt: skip
    net = _write(tmp_path, one)
    result = invoke(["conv-shape", "--net", net, "--input", "32x32", "--format", "svg"])
    assert result.exit_code == 0, result.stderr
    # 3 (conv) + 2 (the 3x3 expand; the 1x1 adds nothing) + 1 (the 2x2 pool, jump 1): 6
    assert "after 4 layers: 6x6" in result.stdout
