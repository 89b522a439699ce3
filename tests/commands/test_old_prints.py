"""Prints of PyTorch 0.3/0.4, custom reprs, and text that is not a print at all.

The 0.3 print below is what PyTorch 0.3.1's reprs give for the CIFAR-10 tutorial Net
(``Conv2d (`` with a space, ``MaxPool2d (size=(2, 2), ...)``, ``Linear (400 -> 120)``,
``ReLU (inplace)``, ``Dropout (p = 0.5)``, BatchNorm without track_running_stats).
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import assert_clean_error, conv_json, invoke

PYTORCH_03 = """Net (
  (conv1): Conv2d (3, 6, kernel_size=(5, 5), stride=(1, 1))
  (pool): MaxPool2d (size=(2, 2), stride=(2, 2), dilation=(1, 1))
  (conv2): Conv2d (6, 16, kernel_size=(5, 5), stride=(1, 1))
  (bn): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True)
  (relu): ReLU (inplace)
  (drop): Dropout (p = 0.5)
  (fc1): Linear (400 -> 120)
  (fc2): Linear (120 -> 84)
  (fc3): Linear (84 -> 10)
)
"""


def test_a_pytorch_03_print_is_read() -> None:
    # the tutorial's shapes: 32 -> 28 -> pool 14 -> 10 -> pool (reused) 5: 16x5x5 = 400;
    # params 456 + 2,416 + 32 (bn) + 48,120 + 10,164 + 850 = 62,038
    data = conv_json(["--net", "-", "--input", "32x32"], PYTORCH_03)
    assert data["output_shape"] == [1, 10] and data["params"] == 62_038
    layers = data["layers"]
    assert isinstance(layers, list)
    fc1 = next(x for x in layers if x["name"] == "fc1")
    assert fc1["params"] == 400 * 120 + 120


CUSTOM = """GCN (
  (conv1): Conv2d (3, 8, kernel_size=(3, 3), stride=(1, 1))
  (gc1): GraphConvolution (300 -> 1024)
  (fc): Linear (1024 -> 10)
)
"""


def test_a_custom_repr_stops_the_run_with_its_name_and_line() -> None:
    err = assert_clean_error(invoke(["conv-shape", "--net", "-", "--input", "32x32"], CUSTOM))
    assert "gc1: unknown layer class GraphConvolution (line 3)" in err
    assert "hidden forward step" not in err  # nothing after it is guessed


def test_text_that_is_not_a_print_says_so(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("\nmy model has three layers\n")
    err = assert_clean_error(invoke(["conv-shape", "--net", str(notes), "--input", "32"]))
    assert "not a printed PyTorch model (line 2: 'my model has three layers')" in err


def test_python_source_gets_a_pointer_to_what_net_reads(tmp_path: Path) -> None:
    source = tmp_path / "model.py"
    source.write_text("import torch.nn as nn\n\nclass Net(nn.Module):\n    pass\n")
    err = assert_clean_error(
        invoke(["conv-shape", "--net", "-", "--input", "32"], source.read_text())
    )
    assert "is Python source" in err and "FILE.py" in err and "print(model)" in err
    # a .py file is read as model source: this class has no forward
    err = assert_clean_error(invoke(["conv-shape", "--net", str(source), "--input", "32"]))
    assert "model.py:3" in err and 'missing the required "forward" function' in err
