"""A full shape as conv-shape's --input: channels plus space, or refused with both
readings; a third spatial axis is never taken silently.

Golden sizes: floor((224 - 3) / 1) + 1 = 222 per axis (docs/formulas.md section 1), and
the full shapes PyTorch prints for nn.Conv2d(3, 64, 3) on torch.zeros(1, 3, 224, 224):
(1, 64, 222, 222).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_clean_error, invoke

BASE = ["conv-shape", "--kernel", "3", "--out-channels", "64"]


@pytest.mark.parametrize(
    ("size", "layout"), [("1x3x224x224", "nchw"), ("1x224x224x3", "nhwc"), ("1x224x224x3", "bwhc")]
)
def test_four_numbers_are_a_full_shape_in_the_layout(size: str, layout: str) -> None:
    result = invoke([*BASE, "--input", size, "--layout", layout, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    expected = [1, 64, 222, 222] if layout == "nchw" else [1, 222, 222, 64]
    assert data["output_shape"] == expected
    assert data["input_shape"] == [int(v) for v in size.split("x")]
    assert "read as a full" in result.stderr and "3 channels" in result.stderr


def test_three_numbers_with_a_small_channel_count_are_refused_with_both_readings() -> None:
    result = invoke([*BASE, "--input", "3x224x224", "--layout", "nchw"])
    err = assert_clean_error(result, 3)
    assert "3 channels and a 224x224 image" in err and "a 3x224x224 volume" in err
    assert "--input 224x224 --in-channels 3" in err and "--kernel 3x3x3" in err


@pytest.mark.parametrize(
    "extra",
    [["--kernel", "3x3"], ["--in-channels", "3"]],
)
def test_the_layers_or_the_channels_decide_for_an_image(extra: list[str]) -> None:
    args = [*BASE, "--input", "3x224x224", "--layout", "nchw", *extra, "--format", "json"]
    result = invoke(args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["output_shape"] == [1, 64, 222, 222]
    assert "read as 3 channels and a 224x224 image" in result.stderr


def test_a_three_dimensional_kernel_decides_for_a_volume() -> None:
    args = [*BASE[:-2], "--input", "16x112x112", "--layout", "nchw", "--kernel", "3x3x3"]
    result = invoke(args)
    assert result.stdout == "14x110x110\n" and result.stderr == ""


def test_a_volume_read_when_nothing_decides_says_so() -> None:
    result = invoke(["conv-shape", "--input", "8x8x8", "--kernel", "3", "--layout", "nchw"])
    assert result.stdout == "6x6x6\n"
    assert "read as a 3-D input" in result.stderr and "--input 8x8 --in-channels 8" in result.stderr


def test_a_full_shape_contradicting_an_option_is_an_error() -> None:
    args = [*BASE, "--input", "1x3x224x224", "--layout", "nchw", "--in-channels", "4"]
    assert "--in-channels 4 contradicts --input" in assert_clean_error(invoke(args))
    batch = [*BASE, "--input", "2x3x224x224", "--layout", "nchw", "--batch", "2"]
    assert invoke(batch).exit_code == 0
