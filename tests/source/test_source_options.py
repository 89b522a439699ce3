"""A model read from source takes a printed model's options, through the same code:
full-shape --input, --expect, --min-input, and the counts and memory.

Golden values, from PyTorch 2.14.1 and torchvision 0.29.1 (outside this repository):
- accepted input sizes: every square size from 1 to 199 (torchvision's resnet18: 1 to 79,
  224 and 513) run through ``model(torch.zeros(batch, C, s, s))`` under ``torch.no_grad()``
  in training mode (as a new module is), the sizes that raise nothing;
- counts: at batch 1 in eval mode, torchinfo 1.8.0 ``summary(...).total_mult_adds``,
  fvcore 0.1.5 ``FlopCountAnalysis(...).total()``, ptflops 0.7.5
  ``get_model_complexity_info(..., backend="pytorch")``, ultralytics-thop 2.2.3
  ``profile``, ``torch.utils.flop_counter.FlopCounterMode().get_total_flops()``;
- saved activations: the bytes of the storages ``torch.autograd.graph.saved_tensors_hooks``
  receives in one forward at batch 2, training mode, float32, parameters and buffers left
  out, each storage once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, assert_clean_error, invoke
from tests.source.test_models import CIFAR_RESNET

LENET = str(ROOT / "examples" / "models" / "lenet.py")
RESNET = str(ROOT / "tests" / "data" / "models" / "torchvision_resnet.py")

# PyTorch's CIFAR-10 tutorial ("Training a Classifier"): its pool module called twice
CIFAR_TUTORIAL = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1) # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x
"""


def _file(tmp_path: Path, source: str) -> str:
    path = tmp_path / "model.py"
    path.write_text(source)
    return str(path)


def _json(*args: str) -> dict[str, Any]:
    result = invoke(["conv-shape", *args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# --- --min-input -----------------------------------------------------------------------


def test_min_input_of_the_tutorial_lenet_is_the_range_pytorch_accepts() -> None:
    # PyTorch: sizes 32 to 35 (two 5x5 convolutions and 2x2 pools must leave 5x5 for
    # Linear(16 * 5 * 5, 120))
    data = _json("--net", LENET, "--min-input")
    assert data["min_input"] == [32, 32]
    assert data["max_input"] == [35, 35]
    assert data["input_shape"] == [1, 1, 32, 32]
    assert data["output_shape"] == [1, 10]
    plain = invoke(["conv-shape", "--net", LENET, "--min-input"])
    assert plain.exit_code == 0
    assert plain.stdout.strip() == "32x32"
    assert "accepts only inputs 32 to 35" in plain.stderr


def test_min_input_of_the_cifar10_tutorial_net(tmp_path: Path) -> None:
    # PyTorch: sizes 32 to 35
    data = _json("--net", _file(tmp_path, CIFAR_TUTORIAL), "--min-input")
    assert (data["min_input"], data["max_input"]) == ([32, 32], [35, 35])
    assert data["input_shape"] == [1, 3, 32, 32]


def test_min_input_leaves_out_sizes_where_view_changes_the_batch(tmp_path: Path) -> None:
    # the tutorial's older x.view(-1, 16 * 5 * 5): PyTorch runs 32 to 35 with 1 row, and
    # also 52 to 55 (4 rows), 72 to 75 (9 rows), ...: sizes where the view makes a batch
    # of 1 several rows, which the loss then refuses; hw3 counts only the first range
    source = CIFAR_TUTORIAL.replace("torch.flatten(x, 1)", "x.view(-1, 16 * 5 * 5)")
    data = _json("--net", _file(tmp_path, source), "--min-input")
    assert (data["min_input"], data["max_input"]) == ([32, 32], [35, 35])
    four_rows = _json("--net", _file(tmp_path, source), "--input", "52")
    assert four_rows["output_shape"] == [4, 10]  # as PyTorch, with a warning
    assert any("the batch axis changed" in w for w in four_rows["warnings"])


def test_min_input_of_a_cifar_resnet_with_a_fixed_average_pool(tmp_path: Path) -> None:
    # kuangliu's ResNet18: F.avg_pool2d(out, 4) then Linear(512, 10); PyTorch accepts
    # sizes 25 to 56 (layer4's 4x4 to 7x7 maps pool to 1x1)
    data = _json("--net", f"{_file(tmp_path, CIFAR_RESNET)}:ResNet18()", "--min-input")
    assert (data["min_input"], data["max_input"]) == ([25, 25], [56, 56])


@pytest.mark.parametrize(
    ("options", "smallest"),
    [
        # training mode, batch 1: below 33, layer4's batch norm sees 1 value per channel
        ((), 33),
        (("--batch", "2"), 1),
        (("--mode", "eval"), 1),
    ],
)
def test_min_input_of_torchvision_resnet18(options: tuple[str, ...], smallest: int) -> None:
    # PyTorch: every size from the smallest up (1 to 79, 224 and 513 tried): no bound
    data = _json("--net", f"{RESNET}:resnet18()", "--min-input", *options)
    assert data["min_input"] == [smallest, smallest]
    assert data["max_input"] is None
    assert data["output_shape"][-1] == 1000


def test_min_input_takes_the_channels_and_batch_of_a_full_shape_input() -> None:
    data = _json("--net", LENET, "--min-input", "--input", "2x1x32x32")
    assert data["input_shape"] == [2, 1, 32, 32]
    assert data["max_input"] == [35, 35]


def test_min_input_names_the_failure_when_no_size_works(tmp_path: Path) -> None:
    # a Linear that no flattened map fits: 16 channels times a square is never 401
    source = CIFAR_TUTORIAL.replace("nn.Linear(16 * 5 * 5, 120)", "nn.Linear(401, 120)")
    err = assert_clean_error(
        invoke(["conv-shape", "--net", _file(tmp_path, source), "--min-input"])
    )
    assert "fc1" in err


# --- --input and --expect ----------------------------------------------------------------


def test_expect_takes_the_full_shape_the_shape_without_batch_or_the_spatial_size() -> None:
    base = ["conv-shape", "--net", LENET, "--input", "2x1x32x32", "--format", "plain"]
    for expected in ("2x10", "10"):
        assert invoke([*base, "--expect", expected]).exit_code == 0
    failed = invoke([*base, "--expect", "1x10"])
    assert failed.exit_code == 1
    assert "--expect: expected 1x10, computed 2x10" in failed.stderr


def test_a_full_shape_input_that_contradicts_batch_is_refused() -> None:
    err = assert_clean_error(
        invoke(["conv-shape", "--net", LENET, "--input", "2x1x32x32", "--batch", "3"])
    )
    assert "--batch is 3" in err


# --- counts and memory -------------------------------------------------------------------

# torchvision's resnet18 at 224x224, and the tutorial LeNet at 32x32 (see the top)
TOOLS_RESNET18 = {
    "torchinfo": 1_814_083_944,
    "fvcore": 1_819_065_856,
    "ptflops": 1_825_313_768,
    "thop": 1_824_033_792,
    "flop_counter": 3_628_146_688,
}
TOOLS_LENET = {
    "torchinfo": 423_038,
    "fvcore": 416_520,
    "ptflops": 435_850,  # F.relu and F.max_pool2d, which ptflops patches, count once each
    "thop": 416_520,
    "flop_counter": 833_040,
}


@pytest.mark.parametrize(
    ("net", "size", "tools", "saved_batch_2"),
    [
        (f"{RESNET}:resnet18()", "224", TOOLS_RESNET18, 44_398_080),
        (LENET, "32", TOOLS_LENET, 98_080),
    ],
)
def test_counts_and_saved_activations_are_the_tools(
    net: str, size: str, tools: dict[str, int], saved_batch_2: int
) -> None:
    data = _json("--net", net, "--input", size)
    assert {k: data["counts"][k] for k in tools} == tools
    assert data["counts"]["flops"] == 2 * data["counts"]["macs"] == 2 * data["macs"]
    memory = _json("--net", net, "--input", size, "--memory", "--batch", "2")["memory"]
    assert memory["saved_activations"] == saved_batch_2


def test_counts_are_always_in_json_of_a_source_model() -> None:
    data = _json("--net", LENET, "--input", "32")
    assert set(data["counts"]) == {
        "macs", "flops", "torchinfo", "fvcore", "ptflops", "thop", "flop_counter"
    }  # fmt: skip
    assert data["notes"] == []
    assert "memory" not in data


def test_counts_as_a_tool_gives_each_step_its_count() -> None:
    data = _json("--net", LENET, "--input", "32", "--counts-as", "ptflops")
    assert data["count_as"] == "ptflops"
    relu = next(layer for layer in data["layers"] if layer.get("op") == "F.relu")
    assert relu["ptflops"] == 6 * 28 * 28  # ptflops' patched F.relu: its input's elements
    assert sum(layer["ptflops"] for layer in data["layers"]) == TOOLS_LENET["ptflops"]
    plain = invoke(["conv-shape", "--net", LENET, "--input", "32", "--counts-as", "fvcore"])
    assert plain.stdout.strip() == str(TOOLS_LENET["fvcore"])


def test_memory_optimizer_and_fit_on_a_source_model() -> None:
    base = ("--net", LENET, "--input", "32")
    adam = _json(*base, "--memory")
    # docs/formulas.md section 7: Adam keeps 2 values per parameter and a step per tensor
    # (61,706 parameters in 10 tensors)
    assert adam["memory"]["weights"] == 61_706 * 4
    assert adam["memory"]["optimizer_state"] == 2 * 61_706 * 4 + 4 * 10
    sgd = _json(*base, "--optimizer", "sgd")
    assert sgd["memory"]["optimizer_state"] == 0
    fit = _json(*base, "--fit", "1MiB")
    fixed = 4 * 61_706 * 4 + 4 * 10  # weights, gradients, Adam's two moments and steps
    assert fit["fit_batch"] == (2**20 - fixed) // (98_080 // 2) == 1
    assert _json(*base, "--fit", "2MiB")["fit_batch"] == (2**21 - fixed) // (98_080 // 2)


def test_a_functional_call_hw3_cannot_count_is_a_note(tmp_path: Path) -> None:
    source = CIFAR_TUTORIAL.replace("x = torch.flatten(x, 1)", "x = torch.flatten(torch.exp(x), 1)")
    data = _json("--net", _file(tmp_path, source), "--input", "32", "--counts")
    assert any("torch.exp" in note for note in data["notes"])


def test_the_table_shows_the_counts_and_memory() -> None:
    result = invoke(
        ["conv-shape", "--net", LENET, "--input", "32", "--format", "table", "--counts", "--memory"]
    )
    assert result.exit_code == 0, result.stderr
    assert "counts per sample" in result.stdout
    assert "435,850" in result.stdout


UPSAMPLE = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Up(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        x = F.interpolate(self.conv(x), scale_factor=2, mode="bilinear", align_corners=False)
        x = F.adaptive_avg_pool2d(F.relu(x), 1)
        return torch.flatten(x, 1)
"""


def test_functional_interpolate_and_pooling_count_as_each_tool_sees_them(tmp_path: Path) -> None:
    # the tools at batch 1 on 3x8x8 (see the top): fvcore counts bilinear F.interpolate
    # (4 per output element) and F.adaptive_avg_pool2d (its input's elements); ptflops its
    # patched F.interpolate, F.relu and F.adaptive_avg_pool2d; thop and torchinfo only
    # the convolution module
    data = _json("--net", _file(tmp_path, UPSAMPLE), "--input", "8")
    assert {k: data["counts"][k] for k in TOOLS_LENET} == {
        "torchinfo": 7_168,
        "fvcore": 12_032,
        "ptflops": 10_240,
        "thop": 6_912,
        "flop_counter": 13_824,
    }
    memory = _json("--net", _file(tmp_path, UPSAMPLE), "--input", "8", "--memory", "--batch", "2")
    assert memory["memory"]["saved_activations"] == 9_728


def test_a_table_of_more_rows_than_hw3_draws_is_refused_unless_folded(tmp_path: Path) -> None:
    source = (
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.f = nn.Sequential(*[nn.ReLU() for _ in range(2500)])\n\n"
        "    def forward(self, x):\n        return self.f(x)\n"
    )
    args = ["conv-shape", "--net", _file(tmp_path, source), "--input", "4", "--format", "table"]
    err = assert_clean_error(invoke(args))
    assert "2,501 rows, more than the 2,000" in err
    assert invoke([*args, "--depth", "1"]).exit_code == 0


STYLE = """\
import torch
import torch.nn as nn


class Style(nn.Module):
    def __init__(self, tracked=False):
        super().__init__()
        self.pad1 = nn.ReflectionPad2d(4)
        self.conv1 = nn.Conv2d(3, 8, 9)
        self.in1 = nn.InstanceNorm2d(8, affine=True)
        self.pad2 = nn.ReflectionPad2d(1)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2)
        self.in2 = nn.InstanceNorm2d(16, affine=True, track_running_stats=tracked)

    def forward(self, x):
        x = torch.relu(self.in1(self.conv1(self.pad1(x))))
        return torch.relu(self.in2(self.conv2(self.pad2(x))))
"""


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_reflection_padding_takes_less_than_the_axis(tmp_path: Path, mode: str) -> None:
    # PyTorch: sizes from 5 up, in both modes; at 4, ReflectionPad2d(4) refuses with
    # "Padding size should be less than the corresponding input dimension, but got:
    # padding (4, 4) at dimension 3 of input [1, 3, 4, 4]"
    net = _file(tmp_path, STYLE)
    data = _json("--net", net, "--min-input", "--mode", mode)
    assert (data["min_input"], data["max_input"]) == ([5, 5], None)
    err = assert_clean_error(invoke(["conv-shape", "--net", net, "--input", "4", "--mode", mode]))
    assert "padding (4, 4) at dimension 3 of input [1, 3, 4, 4]" in err
    assert "pad1" in err


def test_instance_norm_needs_more_than_one_spatial_element(tmp_path: Path) -> None:
    # PyTorch, nn.Sequential(nn.Conv2d(3, 8, 1), nn.InstanceNorm2d(8)) at 1x1: "Expected
    # more than 1 spatial element when training, got input size torch.Size([1, 8, 1, 1])"
    # in training and eval mode alike (no running statistics); with
    # track_running_stats=True, eval mode takes it
    source = (
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self, tracked=False):\n        super().__init__()\n"
        "        self.f = nn.Sequential(nn.Conv2d(3, 8, 1), "
        "nn.InstanceNorm2d(8, track_running_stats=tracked))\n\n"
        "    def forward(self, x):\n        return self.f(x)\n"
    )
    net = _file(tmp_path, source)
    for mode in ("train", "eval"):
        args = ["conv-shape", "--net", net, "--input", "1", "--mode", mode]
        assert "Expected more than 1 spatial element" in assert_clean_error(invoke(args))
        assert _json("--net", net, "--min-input", "--mode", mode)["min_input"] == [2, 2]
    tracked = _json("--net", f"{net}:Net(tracked=True)", "--input", "1", "--mode", "eval")
    assert tracked["output_shape"] == [1, 8, 1, 1]
