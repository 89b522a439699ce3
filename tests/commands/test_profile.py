"""``conv-shape --counts / --counts-as / --memory / --fit``: the contract's keys and
options on stacks and printed models.

Golden values: the ResNet-18 counts are what torchinfo 1.8.0, fvcore 0.1.5, ptflops
0.7.5, ultralytics-thop 2.2.3 and torch.utils.flop_counter print for torchvision 0.29.1's
resnet18 at 1x3x224x224 (PyTorch 2.14.1); its memory figures are PyTorch's, measured with
saved_tensors_hooks (tests/core/test_memory.py). Stack values are derived by hand below.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import ROOT, assert_clean_error, invoke

RESNET18 = str(ROOT / "examples" / "models" / "resnet18.txt")
MODEL = ["conv-shape", "--net", RESNET18, "--input", "224x224"]
COUNTS = {
    "macs": 1_814_073_344,
    "flops": 3_628_146_688,
    "torchinfo": 1_814_083_944,
    "fvcore": 1_819_065_856,
    "ptflops": 1_825_313_768,
    "thop": 1_824_033_792,
    "flop_counter": 3_628_146_688,
}


def _json(args: list[str]) -> dict[str, Any]:
    result = invoke([*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_json_always_carries_every_tools_count() -> None:
    data = _json(MODEL)
    assert data["counts"] == COUNTS
    assert data["macs"] == COUNTS["macs"]
    assert "memory" not in data and "fit_batch" not in data


@pytest.mark.parametrize("tool", sorted(COUNTS))
def test_counts_as_makes_that_tools_number_the_plain_count(tool: str) -> None:
    result = invoke([*MODEL, "--counts-as", tool, "--format", "plain"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{COUNTS[tool]}\n"


def test_counts_adds_a_table_and_counts_as_names_the_column() -> None:
    result = invoke([*MODEL, "--counts", "--counts-as", "fvcore", "--format", "table"])
    assert result.exit_code == 0, result.stderr
    for tool, value in COUNTS.items():
        assert tool in result.stdout and f"{value:,}" in result.stdout
    assert "total fvcore per sample: 1,819,065,856" in result.stdout


def test_memory_of_resnet18_at_batch_64_with_adam() -> None:
    # weights and gradients 46,758,048 bytes each; Adam 2 x 46,758,048 + 4 x 62 step
    # tensors; saved 64 x 22,179,840 + 38,400 batch-norm statistics (PyTorch, measured)
    data = _json([*MODEL, "--memory", "--batch", "64"])
    saved = 64 * 22_179_840 + 38_400
    memory = data["memory"]
    assert set(memory) == {
        "weights",
        "gradients",
        "optimizer_state",
        "saved_activations",
        "training_total",
        "inference_peak",
    }
    assert memory["weights"] == memory["gradients"] == 46_758_048
    assert memory["optimizer_state"] == 93_516_344
    assert memory["saved_activations"] == saved
    assert memory["training_total"] == 2 * 46_758_048 + 93_516_344 + saved
    assert memory["weights"] < memory["inference_peak"] < memory["training_total"]
    per_layer = sum(layer["saved_activations"] for layer in data["layers"])
    assert per_layer == saved


@pytest.mark.parametrize(
    ("optimizer", "state"), [("sgd", 0), ("momentum", 46_758_048), ("adamw", 93_516_344)]
)
def test_optimizer_state(optimizer: str, state: int) -> None:
    data = _json([*MODEL, "--optimizer", optimizer])  # implies --memory
    assert data["memory"]["optimizer_state"] == state


def test_fit_gives_the_largest_batch() -> None:
    # (24 GiB - 187,070,840 fixed bytes) // 22,179,840 bytes per sample = 1153
    data = _json([*MODEL, "--fit", "24GiB"])
    assert data["fit_batch"] == 1153
    result = invoke([*MODEL, "--fit", "24GiB", "--format", "plain"])
    assert result.stdout == "1153\n"


def test_fit_that_nothing_meets_is_zero_and_says_so() -> None:
    result = invoke([*MODEL, "--fit", "100MB", "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["fit_batch"] == 0
    assert "not even batch 1" in result.stderr


def test_amp_and_half_precision() -> None:
    fp32 = _json([*MODEL, "--memory"])["memory"]
    half = _json([*MODEL, "--memory", "--dtype", "bfloat16"])["memory"]
    amp = _json([*MODEL, "--memory", "--amp"])["memory"]
    assert half["weights"] * 2 == fp32["weights"]
    assert amp["gradients"] == fp32["gradients"]  # float32 master weights
    assert amp["saved_activations"] < fp32["saved_activations"]


def test_stack_counts_and_memory() -> None:
    # conv k=3 p=1 out=16 on 1x32x32: 16 x 32 x 32 outputs of 9 MACs = 147,456; torchinfo
    # adds the bias: (144 + 16) x 1024 = 163,840; the convolution keeps its 1,024 input
    # values (4,096 bytes), the max pool its 16,384 inputs (65,536 bytes) and 4,096 int64
    # indices (32,768 bytes)
    args = ["conv-shape", "--input", "32x32", "--layer", "conv k=3 p=1 out=16"]
    data = _json([*args, "--layer", "pool max k=2", "--memory"])
    assert data["counts"]["macs"] == 147_456
    assert data["counts"]["torchinfo"] == 163_840
    assert data["memory"]["saved_activations"] == 4_096 + 65_536 + 32_768
    assert [layer["saved_activations"] for layer in data["layers"]] == [4_096, 98_304]


@pytest.mark.parametrize(
    "args",
    [
        ["conv-shape", "--input", "32", "--kernel", "3", "--memory"],
        ["conv-shape", "--input", "32", "--kernel", "3", "--counts-as", "fvcore"],
        [*MODEL, "--fit", "24XB"],
        [*MODEL, "--amp", "--dtype", "float16"],
        [*MODEL, "--counts-as", "nvidia"],
    ],
)
def test_bad_uses_are_clean_errors(args: list[str]) -> None:
    assert_clean_error(invoke(args))


def test_a_forward_hw3_does_not_know_is_named_in_notes() -> None:
    # EmotionCNN is the user's own class: its forward may run steps the print hides
    model = ["conv-shape", "--net", str(ROOT / "examples" / "models" / "emotion_cnn.txt")]
    plain = invoke([*model, "--input", "48x48", "--format", "json"])
    assert plain.exit_code == 0
    notes = json.loads(plain.stdout)["notes"]
    assert len(notes) == 1 and notes[0].startswith("the model (EmotionCNN)")
    assert "EmotionCNN" not in plain.stderr  # counts not asked for: no warning
    asked = invoke([*model, "--input", "48x48", "--counts-as", "thop", "--format", "plain"])
    assert asked.exit_code == 0 and "EmotionCNN" in asked.stderr


def test_torchvision_forward_is_known_and_leaves_no_note() -> None:
    # (notes may hold the reading of the print, e.g. the flatten before fc; none is about
    # operations the counts leave out)
    notes = _json(MODEL).get("notes", [])
    assert isinstance(notes, list)
    assert not any("forward may run operations" in note for note in notes)
