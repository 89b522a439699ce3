"""``hw3 bn-grad x.csv --dy dy.csv > dx.csv`` against two baselines, on data it makes.

Baselines, run in this same invocation, interleaved with hw3, each a fresh process:

- ``numpy``: the NumPy script a user would write (``np.loadtxt``, the batch-norm
  backward, ``np.savetxt("%.17g")``);
- ``floor``: the fastest libraries measured (polars reads, NumPy computes, polars writes),
  when polars is installed.

It prints, per job, the median wall-clock time over ``--runs`` runs, the peak memory of
the process (``wait4``'s ``ru_maxrss``), and hw3's ratios to both baselines; and it checks
that hw3's dx equals the NumPy script's to 1e-12 relative. It decides nothing: it measures.

    python benchmarks/csv_pipeline.py [--rows 100000] [--features 32] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BACKWARD = """
def backward(x, dy, eps=1e-5):
    m = x.shape[0]
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc * xc).mean(axis=0)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = xc * invstd
    return (invstd / m) * (m * dy - dy.sum(axis=0) - xhat * (dy * xhat).sum(axis=0))
"""

NUMPY_SCRIPT = (
    "import sys, numpy as np\n"
    + BACKWARD
    + "x = np.loadtxt(sys.argv[1], delimiter=',', skiprows=1)\n"
    "dy = np.loadtxt(sys.argv[2], delimiter=',', skiprows=1)\n"
    "np.savetxt(sys.argv[3], backward(x, dy), delimiter=',', fmt='%.17g')\n"
)

FLOOR_SCRIPT = (
    "import sys, numpy as np, polars as pl\n" + BACKWARD + "fx = pl.read_csv(sys.argv[1])\n"
    "x = fx.to_numpy()\n"
    "dy = pl.read_csv(sys.argv[2]).to_numpy()\n"
    "dx = backward(x, dy)\n"
    "pl.DataFrame(np.asfortranarray(dx), schema=fx.columns, orient='row')"
    ".write_csv(sys.argv[3])\n"
)


def _hw3() -> list[str]:
    here = Path(sys.executable).parent / "hw3"
    found = str(here) if here.exists() else shutil.which("hw3")
    return [found] if found else [sys.executable, "-m", "hw3cli"]


def _run(cmd: list[str], stdout_path: Path | None) -> tuple[float, float]:
    """Wall-clock seconds and peak memory (MiB) of one run of ``cmd``."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if stdout_path:
        out.close()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def _make_data(folder: Path, rows: int, features: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    header = ",".join(f"f{i}" for i in range(features))
    paths = []
    for name in ("x.csv", "dy.csv"):
        values = rng.standard_normal((rows, features)) * np.exp(rng.uniform(-3, 3, features))
        path = folder / name
        np.savetxt(path, values, delimiter=",", header=header, comments="", fmt="%.17g")
        paths.append(path)
    return paths[0], paths[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    try:
        import polars  # noqa: F401

        has_floor = True
    except ImportError:
        has_floor = False

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        x, dy = _make_data(folder, args.rows, args.features)
        size = x.stat().st_size
        jobs: dict[str, tuple[list[str], Path | None]] = {
            "hw3": ([*_hw3(), "bn-grad", str(x), "--dy", str(dy)], folder / "hw3.csv"),
            "numpy": (
                [sys.executable, "-c", NUMPY_SCRIPT, str(x), str(dy), str(folder / "np.csv")],
                None,
            ),
        }
        if has_floor:
            floor = [sys.executable, "-c", FLOOR_SCRIPT, str(x), str(dy), str(folder / "pl.csv")]
            jobs["floor"] = (floor, None)
        times: dict[str, list[float]] = {name: [] for name in jobs}
        peaks: dict[str, float] = dict.fromkeys(jobs, 0.0)
        for _ in range(args.runs):
            for name, (cmd, out) in jobs.items():
                wall, peak = _run(cmd, out)
                times[name].append(wall)
                peaks[name] = max(peaks[name], peak)
        ours = np.loadtxt(folder / "hw3.csv", delimiter=",", skiprows=1)
        reference = np.loadtxt(folder / "np.csv", delimiter=",")
        scale = np.abs(reference).max()
        agree = bool(np.allclose(ours, reference, rtol=1e-12, atol=1e-12 * scale))

    print(
        f"bn-grad on {args.rows:,} x {args.features} CSV ({size / 1e6:.0f} MB each), "
        f"{args.runs} runs, median wall-clock; peak RSS"
    )
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name in jobs:
        print(f"  {name:6s} {medians[name]:7.3f} s  {peaks[name]:7.0f} MiB")
    print(f"  hw3 / numpy script: {medians['hw3'] / medians['numpy']:.2f}x")
    if has_floor:
        print(f"  hw3 / polars floor: {medians['hw3'] / medians['floor']:.2f}x")
    print(f"  hw3's dx equals the NumPy script's to 1e-12: {agree}")


if __name__ == "__main__":
    main()
