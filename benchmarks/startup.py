"""Start-up time of ``hw3 conv-shape`` against ``python -c "import click"``.

Both are run the same number of times, interleaved, in this one invocation; the script
prints the medians and their ratio (goal: at most 1.3). It decides nothing: it measures.

    python benchmarks/startup.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _hw3() -> list[str]:
    here = Path(sys.executable).parent / "hw3"
    found = str(here) if here.exists() else shutil.which("hw3")
    return [found] if found else [sys.executable, "-m", "hw3cli"]


def _time(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds (user + system) of one run of ``cmd``.

    CPU time is what the comparison uses: it hardly moves when the machine is busy.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def interleaved(
    commands: dict[str, list[str]], runs: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of ``runs`` runs of each command, the commands taking turns
    (after one run each to warm the file cache)."""
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():
        _time(cmd)
    for _ in range(runs):
        for name, cmd in commands.items():
            w, c = _time(cmd)
            wall[name].append(w)
            cpu[name].append(c)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    commands = {
        "hw3 conv-shape": [*_hw3(), "conv-shape", "--input", "32x32", "--kernel", "3,3"],
        "hw3 --help": [*_hw3(), "--help"],
        "import click": [sys.executable, "-c", "import click"],
    }
    wall, cpu = interleaved(commands, args.runs)
    base_wall = statistics.median(wall["import click"])
    base_cpu = statistics.median(cpu["import click"])
    print(f"{args.runs} interleaved runs each; medians")
    for name in commands:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(
            f"{name:16s} wall {w * 1000:6.1f} ms (ratio {w / base_wall:4.2f})   "
            f"cpu {c * 1000:6.1f} ms (ratio {c / base_cpu:4.2f})"
        )
    ratio = statistics.median(cpu["hw3 conv-shape"]) / base_cpu
    print(f"ratio hw3 conv-shape / import click (cpu): {ratio:.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()
