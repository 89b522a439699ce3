"""ResNet-50 from torchvision's own resnet.py: ``hw3 conv-shape --net resnet.py:resnet50()``
against PyTorch + torchinfo making the same table, each timed as a whole process.

The PyTorch side needs an interpreter with torch, torchvision and torchinfo (hw3 does
not): ``--torch-python``. resnet.py is the file that interpreter's torchvision installed.
Both run the same number of times, interleaved; the script prints the medians (wall and
CPU seconds) and the ratio hw3 / PyTorch (goal: below 0.1). It decides nothing.

    python benchmarks/source_model.py --torch-python /path/to/venv/bin/python [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess

from startup import _hw3, interleaved

TORCHINFO = (
    "import torch, torchvision, torchinfo; "
    "torchinfo.summary(torchvision.models.resnet50(), (1, 3, 224, 224), device='cpu')"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--torch-python", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    resnet = subprocess.run(
        [args.torch_python, "-c", "import torchvision.models.resnet as r; print(r.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    commands = {
        "hw3 (source)": [
            *_hw3(),
            "conv-shape",
            "--net",
            f"{resnet}:resnet50()",
            "--input",
            "224x224",
            "--format",
            "json",
        ],
        "torch + torchinfo": [args.torch_python, "-c", TORCHINFO],
    }
    wall, cpu = interleaved(commands, args.runs)
    for name in commands:
        print(
            f"{name:18} wall {statistics.median(wall[name]):.3f} s   "
            f"cpu {statistics.median(cpu[name]):.3f} s"
        )
    ratio_wall = statistics.median(wall["hw3 (source)"]) / statistics.median(
        wall["torch + torchinfo"]
    )
    ratio_cpu = statistics.median(cpu["hw3 (source)"]) / statistics.median(cpu["torch + torchinfo"])
    print(f"ratio hw3 / PyTorch: wall {ratio_wall:.3f}, cpu {ratio_cpu:.3f} (goal < 0.1)")


if __name__ == "__main__":
    main()
