"""ResNet-50's summary: hw3 (read the print, run it, make the JSON) against torchinfo.

Run with a Python that has torch, torchvision and torchinfo (hw3 is imported from this
checkout). Both are timed in this process, interleaved, and the script prints the medians
and their ratio (goal: at most 0.05). It decides nothing: it measures.

    python benchmarks/model_summary.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs

    import importlib

    torchinfo: Any = importlib.import_module("torchinfo")  # not dependencies of hw3
    torchvision: Any = importlib.import_module("torchvision")

    from hw3cli.core.forward import run_model
    from hw3cli.output.model import model_json
    from hw3cli.tensor_io.printed import parse_printed

    model = torchvision.models.resnet50(weights=None).eval()
    text = str(model)

    def hw3() -> int:
        result = run_model(parse_printed(text, "resnet50"), (3, 224, 224))
        return int(model_json(result, 1)["macs"])

    def reference() -> int:
        stats = torchinfo.summary(model, (1, 3, 224, 224), verbose=0)
        return int(stats.total_params)

    times: dict[str, list[float]] = {"hw3": [], "torchinfo": []}
    for _ in range(runs):
        for name, work in (("hw3", hw3), ("torchinfo", reference)):
            start = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - start)
    ours, theirs = (statistics.median(times[k]) for k in ("hw3", "torchinfo"))
    print(f"hw3 (print -> summary)   {ours * 1000:8.1f} ms")
    print(f"torchinfo.summary        {theirs * 1000:8.1f} ms")
    print(f"ratio                    {ours / theirs:8.3f}  (goal: at most 0.05)")


if __name__ == "__main__":
    main()
