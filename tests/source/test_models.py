"""``conv-shape --net FILE.py[:SPEC]``: models read from their Python source, never run.

Golden values come from running the same sources in PyTorch 2.14 with forward hooks on
every module (output shapes of each module call, ``sum(p.numel() for p in
model.parameters())``, and the message and line of the exception PyTorch raises), or are
derived by hand from docs/formulas.md section 2 where the comment says so.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, assert_clean_error, invoke

MODELS = ROOT / "examples" / "models"

TINY = """\
import torch.nn as nn
import torch.nn.functional as F


class Tiny(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8 * 7 * 7, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc(x)
"""

# kuangliu/pytorch-cifar's ResNet (models/resnet.py), as people paste it
CIFAR_RESNET = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super(BasicBlock, self).__init__()
        self.conv1 = nn.Conv2d(
            in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride,
                          bias=False),
                nn.BatchNorm2d(self.expansion * planes),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        out = F.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10):
        super(ResNet, self).__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(block, 64, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(block, 128, num_blocks[1], stride=2)
        self.layer3 = self._make_layer(block, 256, num_blocks[2], stride=2)
        self.layer4 = self._make_layer(block, 512, num_blocks[3], stride=2)
        self.linear = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, num_blocks, stride):
        strides = [stride] + [1] * (num_blocks - 1)
        layers = []
        for stride in strides:
            layers.append(block(self.in_planes, planes, stride))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.layer3(out)
        out = self.layer4(out)
        out = F.avg_pool2d(out, 4)
        out = out.view(out.size(0), -1)
        out = self.linear(out)
        return out


def ResNet18():
    return ResNet(BasicBlock, [2, 2, 2, 2])
"""


def _write(tmp_path: Path, source: str, name: str = "model.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def _json(*args: str) -> dict[str, Any]:
    result = invoke(["conv-shape", *args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _modules(data: dict[str, Any]) -> list[tuple[str, list[int]]]:
    return [(layer["name"], layer["output_shape"]) for layer in data["layers"] if "kind" in layer]


# --- the contract's example ------------------------------------------------------------------


def test_contract_tiny_with_arguments(tmp_path: Path) -> None:
    path = _write(tmp_path, TINY, "tiny.py")
    data = _json("--net", f"{path}:Tiny(classes=4)", "--input", "16x16", "--in-channels", "3")
    assert data["output_shape"] == [1, 4]
    # by hand: conv 3*8*9 + 8, fc 392*4 + 4 (16 -> 14 -> max-pool 7; 8*7*7 = 392)
    assert data["params"] == 3 * 8 * 9 + 8 + 392 * 4 + 4
    assert _modules(data) == [("conv", [1, 8, 14, 14]), ("fc", [1, 4])]
    steps = [(s["op"], Path(s["at"]).name) for s in data["layers"] if "op" in s]
    assert steps == [
        ("F.relu", "tiny.py:12"),
        ("F.max_pool2d", "tiny.py:12"),
        ("Tensor.view", "tiny.py:13"),
    ]


def test_contract_tiny_wrong_size_names_line_and_module(tmp_path: Path) -> None:
    path = _write(tmp_path, TINY, "tiny.py")
    result = invoke(
        ["conv-shape", "--net", f"{path}:Tiny", "--input", "18x18", "--in-channels", "3"]
    )
    err = assert_clean_error(result)
    # PyTorch: RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x512 and 392x5),
    # raised by `return self.fc(x)` on line 14
    assert "tiny.py:14: fc" in err
    assert "mat1 and mat2 shapes cannot be multiplied (1x512 and 392x5)" in err
    assert "tiny.py:9: set nn.Linear(8 * 7 * 7, ...) to nn.Linear(8 * 8 * 8, ...)" in err


# --- the tutorial LeNet and its broken copy ----------------------------------------------------


def test_lenet_from_the_tutorial() -> None:
    data = _json("--net", str(MODELS / "lenet.py"), "--input", "32x32")
    # PyTorch: 61,706 parameters; conv1 1x6x28x28, conv2 1x16x10x10, fc1..fc3
    assert data["params"] == 61706
    assert data["input_shape"] == [1, 1, 32, 32]  # in_channels from conv1
    assert _modules(data) == [
        ("conv1", [1, 6, 28, 28]),
        ("conv2", [1, 16, 10, 10]),
        ("fc1", [1, 120]),
        ("fc2", [1, 84]),
        ("fc3", [1, 10]),
    ]
    ops = [s["op"] for s in data["layers"] if "op" in s]
    assert (
        ops
        == ["F.relu", "F.max_pool2d", "F.relu", "F.max_pool2d", "torch.flatten"] + ["F.relu"] * 2
    )


def test_lenet_broken_copy_says_the_fix() -> None:
    result = invoke(["conv-shape", "--net", str(MODELS / "lenet_broken.py"), "--input", "32x32"])
    err = assert_clean_error(result)
    # PyTorch raises at line 42 (f5 = F.relu(self.fc1(s4))): (1x576 and 400x120)
    assert "lenet_broken.py:42: fc1" in err
    assert "(1x576 and 400x120)" in err
    assert "lenet_broken.py:19: set nn.Linear(16 * 5 * 5, ...) to nn.Linear(16 * 6 * 6, ...)" in err


def test_lenet_at_28_is_the_same_mistake() -> None:
    err = assert_clean_error(
        invoke(["conv-shape", "--net", str(MODELS / "lenet.py"), "--input", "28x28"])
    )
    assert "(1x256 and 400x120)" in err
    assert "to nn.Linear(16 * 4 * 4, ...)" in err


# --- the classic CIFAR ResNet ---------------------------------------------------------------------


def test_cifar_resnet18(tmp_path: Path) -> None:
    path = _write(tmp_path, CIFAR_RESNET)
    data = _json("--net", f"{path}:ResNet18()", "--input", "32x32", "--batch", "2")
    # PyTorch: 11,173,962 parameters, 46 leaf-module calls (the empty shortcuts included)
    assert data["params"] == 11173962
    assert data["output_shape"] == [2, 10]
    modules = _modules(data)
    assert len(modules) == 46
    assert ("layer1.0.shortcut", [2, 64, 32, 32]) in modules
    assert ("layer2.0.shortcut.0", [2, 128, 16, 16]) in modules
    assert modules[-1] == ("linear", [2, 10])


def test_cifar_resnet_spec_with_names_of_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, CIFAR_RESNET)
    spec = f"{path}:ResNet(BasicBlock, [1, 1, 1, 1], num_classes=7)"
    data = _json("--net", spec, "--input", "32x32", "--batch", "2")
    assert data["params"] == 4901703  # PyTorch
    assert data["output_shape"] == [2, 7]


def test_cifar_resnet_at_64_fails_at_the_linear(tmp_path: Path) -> None:
    path = _write(tmp_path, CIFAR_RESNET)
    err = assert_clean_error(
        invoke(["conv-shape", "--net", f"{path}:ResNet18()", "--input", "64x64", "--batch", "2"])
    )
    # PyTorch: mat1 and mat2 shapes cannot be multiplied (2x2048 and 512x10), raised by
    # `out = self.linear(out)`
    line = CIFAR_RESNET.splitlines().index("        out = self.linear(out)") + 1
    assert f"model.py:{line}: linear" in err
    assert "(2x2048 and 512x10)" in err


def test_a_wrong_shortcut_stride_is_a_broadcast_error(tmp_path: Path) -> None:
    broken = CIFAR_RESNET.replace("kernel_size=1, stride=stride,", "kernel_size=1, stride=1,")
    path = _write(tmp_path, broken)
    err = assert_clean_error(
        invoke(["conv-shape", "--net", f"{path}:ResNet18()", "--input", "32x32"])
    )
    # PyTorch raises at `out += self.shortcut(x)`, in layer2.0
    line = CIFAR_RESNET.splitlines().index("        out += self.shortcut(x)") + 1
    assert f"model.py:{line}: layer2.0" in err
    assert (
        "The size of tensor a (16) must match the size of tensor b (32) at non-singleton "
        "dimension 3" in err
    )


# --- PyTorch's own words for the common failures -------------------------------------------------

UNET_STEP = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 8, 2, stride=2)

    def forward(self, x):
        skip = x
        y = self.up(self.down(x))
        return torch.cat([skip, y], dim=1)
"""


def test_cat_of_mismatched_skip(tmp_path: Path) -> None:
    path = _write(tmp_path, UNET_STEP)
    assert _json("--net", str(path), "--input", "38x38")["output_shape"] == [1, 11, 38, 38]
    err = assert_clean_error(invoke(["conv-shape", "--net", str(path), "--input", "37x37"]))
    # by hand: 37 -> down (37 + 2 - 3) // 2 + 1 = 19 -> up 38; PyTorch's message:
    assert (
        "Sizes of tensors must match except in dimension 1. Expected size 37 but got size 38 "
        "for tensor number 1 in the list." in err
    )
    assert "model.py:14" in err


def test_wrong_channels_in_pytorch_words(tmp_path: Path) -> None:
    path = _write(tmp_path, TINY)
    err = assert_clean_error(
        invoke(["conv-shape", "--net", f"{path}:Tiny", "--input", "16x16", "--in-channels", "1"])
    )
    assert (
        "Given groups=1, weight of size [8, 3, 3, 3], expected input[1, 1, 16, 16] to have 3 "
        "channels, but got 1 channels instead" in err
    )
    assert "model.py:8: set nn.Conv2d(3, ...) to nn.Conv2d(1, ...)" in err


def test_kernel_larger_than_input(tmp_path: Path) -> None:
    path = _write(tmp_path, TINY)
    err = assert_clean_error(
        invoke(["conv-shape", "--net", f"{path}:Tiny", "--input", "2x2", "--in-channels", "3"])
    )
    assert (
        "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size "
        "can't be greater than actual input size" in err
    )


BN_HEAD = """\
import torch.nn as nn


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 8)
        self.bn = nn.BatchNorm1d(8)

    def forward(self, x):
        return self.bn(self.fc(x.flatten(1)))
"""


def test_batch_norm_at_batch_1_in_training(tmp_path: Path) -> None:
    path = _write(tmp_path, BN_HEAD)
    args = ["conv-shape", "--net", str(path), "--input", "4x4", "--in-channels", "1"]
    err = assert_clean_error(invoke(args))
    # PyTorch: ValueError: Expected more than 1 value per channel when training, got input
    # size torch.Size([1, 8])
    assert "Expected more than 1 value per channel when training" in err
    assert "torch.Size([1, 8])" in err
    assert invoke([*args, "--mode", "eval"]).exit_code == 0
    assert invoke([*args, "--batch", "2"]).exit_code == 0


def test_view_that_changes_the_batch_warns(tmp_path: Path) -> None:
    source = TINY.replace("x.view(x.size(0), -1)", "x.view(-1, 98)").replace("8 * 7 * 7", "98")
    path = _write(tmp_path, source)
    data = _json("--net", f"{path}:Tiny", "--input", "16x16", "--in-channels", "3")
    # 1x8x7x7 = 392 values: view(-1, 98) gives 4 rows from a batch of 1; PyTorch says nothing
    assert data["output_shape"] == [4, 5]
    assert any("batch axis changed" in w for w in data["warnings"])


def test_view_that_cannot_hold_the_values(tmp_path: Path) -> None:
    source = TINY.replace("x.view(x.size(0), -1)", "x.view(-1, 400)")
    path = _write(tmp_path, source)
    err = assert_clean_error(
        invoke(["conv-shape", "--net", f"{path}:Tiny", "--input", "16x16", "--in-channels", "3"])
    )
    assert "model.py:13" in err
    assert "shape '[-1, 400]' is invalid for input of size 392" in err


def test_a_class_without_forward(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
        """,
    )
    err = assert_clean_error(invoke(["conv-shape", "--net", str(path), "--input", "4"]))
    assert 'Module [Net] is missing the required "forward" function' in err


# --- more of the Python model code uses ----------------------------------------------------------

VAE = """\
import torch
from torch import nn
from torch.nn import functional as F


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar
"""


def test_tuple_output_and_helper_methods(tmp_path: Path) -> None:
    path = _write(tmp_path, VAE)
    data = _json("--net", str(path), "--input", "28x28", "--batch", "2")
    # pytorch/examples vae: PyTorch gives (2x784, 2x20, 2x20) and 652,824 parameters
    assert data["output_shape"] == [[2, 784], [2, 20], [2, 20]]
    assert data["params"] == 652824


BUILDERS = """\
import functools
from collections import OrderedDict
import torch
import torch.nn as nn

cfg = {"small": [8, "M", 16, "M"]}


class Features(nn.Module):
    def __init__(self, spec, norm_layer=None):
        super().__init__()
        norm = norm_layer or nn.BatchNorm2d
        layers = []
        c = 3
        for v in cfg[spec]:
            if v == "M":
                layers += [nn.MaxPool2d(2)]
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), norm(v), nn.ReLU(inplace=True)]
                c = v
        self.body = nn.Sequential(*layers)
        self.heads = nn.ModuleDict(OrderedDict([("a", nn.Linear(16, 2)), ("b", nn.Linear(16, 3))]))
        self.extra = nn.ModuleList([nn.Identity() for _ in range(2)])
        setattr(self, "gate_" + str(1), nn.Parameter(torch.zeros(5)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.body(x)
        for layer in self.extra:
            x = layer(x)
        x = x.mean([2, 3])
        return [self.heads[k](x) for k in ("a", "b")]


def small(**kwargs):
    norm = functools.partial(nn.GroupNorm, 4) if kwargs.get("gn") else None
    return Features("small", norm_layer=norm)


model = small()
"""


def test_builders_config_dicts_and_containers(tmp_path: Path) -> None:
    path = _write(tmp_path, BUILDERS)
    for spec in ("small()", "model", "Features('small')"):
        data = _json("--net", f"{path}:{spec}", "--input", "8x8", "--batch", "2")
        assert data["output_shape"] == [[2, 2], [2, 3]]
        # by hand: conv 3*8*9+8 = 224, bn 16, conv 8*16*9+16 = 1168, bn 32,
        # heads 16*2+2 + 16*3+3 = 85, the parameter 5: 1530
        assert data["params"] == 1530
    data = _json("--net", f"{path}:small(gn=True)", "--input", "8x8", "--batch", "2")
    assert data["params"] == 1530  # GroupNorm's affine has as many as BatchNorm's
    names = [name for name, _ in _modules(data)]
    assert names[:3] == ["body.0", "body.1", "body.2"]
    assert names[-2:] == ["heads.a", "heads.b"]


def test_without_spec_several_models_are_listed(tmp_path: Path) -> None:
    path = _write(tmp_path, UNET_STEP + "\n\nclass Other(nn.Module):\n    pass\n")
    err = assert_clean_error(invoke(["conv-shape", "--net", str(path), "--input", "8x8"]))
    assert "several models (Net, Other)" in err


def test_expect_on_a_source_model(tmp_path: Path) -> None:
    path = _write(tmp_path, UNET_STEP)
    base = ["conv-shape", "--net", str(path), "--input", "8x8", "--format", "plain"]
    assert invoke([*base, "--expect", "8x8"]).exit_code == 0
    failed = invoke([*base, "--expect", "4x4"])
    assert failed.exit_code == 1
    assert "expected 4x4" in failed.stderr


def test_table_shows_the_tree_and_the_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, CIFAR_RESNET)
    result = invoke(
        [
            "conv-shape",
            "--net",
            f"{path}:ResNet18()",
            "--input",
            "32x32",
            "--format",
            "table",
            "--depth",
            "2",
        ]
    )
    assert result.exit_code == 0, result.stderr
    assert "layer1: Sequential" in result.stdout
    line = CIFAR_RESNET.splitlines().index("        out = F.avg_pool2d(out, 4)") + 1
    assert f"F.avg_pool2d (line {line})" in result.stdout
    # layer1 folded: two blocks of 2 x (64*64*9 + 128) = 147,968 params
    assert any(
        "layer1: Sequential" in row and "147,968" in row for row in result.stdout.splitlines()
    )
    assert "total params: 11,173,962" in result.stdout


def test_mode_only_for_source_models() -> None:
    err = assert_clean_error(
        invoke(["conv-shape", "--input", "8", "--kernel", "3", "--mode", "eval"])
    )
    assert "--mode" in err


# --- exit 3: hw3 cannot decide ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("from .blocks import Block\n", "Block (imported from .blocks, another file)"),
        ("", "nn.LSTM"),
        ("", "a branch on a tensor's values"),
    ],
)
def test_undecided_names_the_construct_and_the_line(tmp_path: Path, body: str, what: str) -> None:
    if "Block" in body:
        extra, forward = "        self.block = Block(8)\n", "        return self.block(x)\n"
    elif what == "nn.LSTM":
        extra, forward = "        self.rnn = nn.LSTM(8, 8)\n", "        return x\n"
    else:
        extra, forward = "", "        if x.sum() > 0:\n            return x\n        return -x\n"
    source = (
        "import torch.nn as nn\n" + body + "\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        + extra
        + "\n    def forward(self, x):\n"
        + forward
    )
    path = _write(tmp_path, source)
    err = assert_clean_error(invoke(["conv-shape", "--net", str(path), "--input", "4"]), 3)
    assert what in err
    assert "model.py:" in err


@pytest.mark.parametrize(
    "loop",
    [
        "        while True:\n            pass\n",
        "        def f(n):\n            return f(n + 1)\n        f(0)\n",
        "        x = 2 ** 10 ** 10\n",
        "        x = [0] * 10 ** 9\n",
    ],
)
def test_work_is_bounded(tmp_path: Path, loop: str) -> None:
    source = (
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n" + loop + "\n    def forward(self, x):\n        return x\n"
    )
    path = _write(tmp_path, source)
    assert_clean_error(invoke(["conv-shape", "--net", str(path), "--input", "4"]), 3)


UP_BLOCK = """\
import torch.nn as nn


class Up(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)

    def forward(self, x):
        return self.up(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 128, 3, padding=1)
        self.up = Up(96, 64)

    def forward(self, x):
        return self.up(self.stem(x))
"""


def test_the_fix_names_where_an_argument_comes_from(tmp_path: Path) -> None:
    path = _write(tmp_path, UP_BLOCK)
    err = assert_clean_error(invoke(["conv-shape", "--net", str(path), "--input", "8x8"]))
    # PyTorch: Given transposed=1, weight of size [96, 64, 2, 2], expected input[1, 128, 8, 8]
    # to have 96 channels, but got 128 channels instead (in up.up, at `return self.up(x)`)
    assert "model.py:10: up.up" in err
    assert "weight of size [96, 64, 2, 2], expected input[1, 128, 8, 8] to have 96" in err
    assert (
        "model.py:7: set nn.ConvTranspose2d(in_channels, ...) to nn.ConvTranspose2d(128, ...)"
        in err
    )
    assert "in_channels is an argument of Up, given at" in err
    assert "model.py:17: Up(96, 64)" in err


def test_a_class_without_forward_is_named_at_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    pass\n")
    err = assert_clean_error(invoke(["conv-shape", "--net", str(path), "--input", "4"]))
    assert "model.py:4" in err


@pytest.mark.parametrize("option", [["--strict"], ["--target", "8"], ["--layer", "conv k=3"]])
def test_options_of_a_single_layer_or_a_stack_are_refused(option: list[str]) -> None:
    args = ["conv-shape", "--net", str(MODELS / "lenet.py"), "--input", "32", *option]
    err = assert_clean_error(invoke(args))
    assert "does not apply to a model read from source" in err


def test_full_shape_input() -> None:
    lenet = str(MODELS / "lenet.py")
    data = _json("--net", lenet, "--input", "2x1x32x32")
    assert data["input_shape"] == [2, 1, 32, 32]
    assert data["output_shape"] == [2, 10]
    assert _json("--net", lenet, "--input", "1x32x32")["input_shape"] == [1, 1, 32, 32]
    assert _json("--net", lenet, "--input", "32")["input_shape"] == [1, 1, 32, 32]
    err = assert_clean_error(
        invoke(["conv-shape", "--net", lenet, "--input", "1x32x32", "--in-channels", "3"])
    )
    assert "--in-channels" in err


# pytorch/examples super_resolution/model.py
SUPER_RESOLUTION = """\
import torch
import torch.nn as nn
import torch.nn.init as init


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()

        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(32, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)
"""


def test_pixel_shuffle_module(tmp_path: Path) -> None:
    path = _write(tmp_path, SUPER_RESOLUTION)
    data = _json("--net", f"{path}:Net(3)", "--input", "32x32", "--batch", "2")
    # PyTorch: output 2x1x96x96, 59,657 parameters
    assert data["output_shape"] == [2, 1, 96, 96]
    assert data["params"] == 59657
    assert _modules(data)[-1] == ("pixel_shuffle", [2, 1, 96, 96])
    err = assert_clean_error(
        invoke(["conv-shape", "--net", f"{path}:Net(3)", "--input", "32x32", "--in-channels", "2"])
    )
    assert "to have 1 channels, but got 2 channels instead" in err


def test_what_python_would_catch_is_not_a_confident_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
                try:
                    self.extra = self.missing
                except AttributeError:
                    self.extra = None

            def forward(self, x):
                self.register_forward_pre_hook(print)
                return self.fc(x)
        """,
    )
    # an AttributeError a handler catches, and nn.Module's own methods hw3 does not model:
    # exit 3, never a made-up error
    assert_clean_error(invoke(["conv-shape", "--net", str(path), "--input", "4"]), 3)


def test_spec_errors_name_the_spec() -> None:
    lenet = str(MODELS / "lenet.py")
    err = assert_clean_error(invoke(["conv-shape", "--net", f"{lenet}:Net(3)", "--input", "32"]))
    assert "--net SPEC 'Net(3)'" in err
    err = assert_clean_error(
        invoke(["conv-shape", "--net", f"{lenet}:Missing()", "--input", "32"]), 3
    )
    assert "'Missing' is not defined in the file" in err
    err = assert_clean_error(invoke(["conv-shape", "--net", f"{lenet}:Net(", "--input", "32"]))
    assert "is not a class name, a call or a variable" in err
