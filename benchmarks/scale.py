"""hw3 at scale: start-up, CSV and NPY batch norm, softmax, against baselines, on data it makes.

Every job runs hw3 and its baselines interleaved, each run a fresh process, in this one
invocation; the data (random normal float64, written once with full precision into a
temporary directory, removed at the end) is made before any timing. Every command runs
with Python's bytecode cache allowed (``PYTHONDONTWRITEBYTECODE`` unset), as after a
``pip install .``. Jobs (``--only``):

- ``startup``: ``hw3 conv-shape --input 32x32 --kernel 3,3``, ``hw3 --help`` and one TAB
  completion (``hw3 conv<TAB>``: hw3 run with ``_HW3_COMPLETE=bash_complete``, as the
  bash script in completions/ runs it), each against ``python -c "import click"`` (same
  interpreter). CPU time (user + system of the child) is compared, as
  benchmarks/startup.py does; wall time is shown too. These take ``--startup-runs`` runs,
  with Python's bytecode cache allowed (``PYTHONDONTWRITEBYTECODE`` unset), as after a
  ``pip install .``, which compiles every module.
- ``csv100k``: ``hw3 bn-grad x.csv --dy dy.csv > dx.csv`` on 100,000 x 32 against the
  NumPy script (``np.loadtxt``, the maths, ``np.savetxt("%.17g")``) and the
  fastest-library floor (polars reads, NumPy computes, polars writes); hw3's peak memory.
- ``npy1m``: ``hw3 bn-grad x.npy --dy dy.npy -o out.npz`` on 1,000,000 x 32 against the
  NumPy script (``np.load``, every quantity, ``np.savez`` of them all).
- ``csv1m``: the CSV job on 1,000,000 x 32 against the floor; hw3's peak memory.
- ``softmax1m``: ``hw3 softmax-grad z.csv --target t.csv > g.csv`` on 1,000,000 x 16
  logits and a column of class labels, against the floor (polars reads, NumPy's stable
  softmax and p - onehot, polars writes); hw3's peak memory.

Times are medians of ``--runs`` runs (wall clock for the data jobs); peak memory is the
largest ``ru_maxrss`` of the child over the runs (``os.wait4``, in a small launcher
process started before any data, so that this process's size does not leak into it).
Each data job also checks that hw3's output equals a NumPy reference to 1e-12 relative.
The end is a Markdown table (hw3, baseline, ratio, goal, whether the goal holds) to
paste into a README. It decides nothing: it measures.

    python benchmarks/scale.py [--runs 3] [--small] [--only startup,csv100k,...]

``--small`` divides every row count by 10, for a quick try. The full run takes minutes
and about 6 GB of /tmp (the 1,000,000-row CSV files are about 0.6 GB each).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

Array = npt.NDArray[np.float64]

JOBS = ("startup", "csv100k", "npy1m", "csv1m", "softmax1m")
EPS = 1e-5
FEATURES = 32
CLASSES = 16
SEEDS = {"x": 0, "dy": 1, "z": 2}

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

NUMPY_CSV_SCRIPT = (
    "import sys, numpy as np\n" + BACKWARD + "header = open(sys.argv[1]).readline().strip()\n"
    "x = np.loadtxt(sys.argv[1], delimiter=',', skiprows=1)\n"
    "dy = np.loadtxt(sys.argv[2], delimiter=',', skiprows=1)\n"
    "np.savetxt(sys.argv[3], backward(x, dy), delimiter=',', fmt='%.17g',"
    " header=header, comments='')\n"
)

FLOOR_CSV_SCRIPT = (
    "import sys, numpy as np, polars as pl\n" + BACKWARD + "fx = pl.read_csv(sys.argv[1])\n"
    "x = fx.to_numpy()\n"
    "dy = pl.read_csv(sys.argv[2]).to_numpy()\n"
    "dx = backward(x, dy)\n"
    "pl.DataFrame(np.asfortranarray(dx), schema=fx.columns, orient='row')"
    ".write_csv(sys.argv[3])\n"
)

NUMPY_NPY_SCRIPT = """
import sys, numpy as np
x = np.load(sys.argv[1])
dy = np.load(sys.argv[2])
m, c = x.shape
eps = 1e-5
gamma, beta = np.ones(c), np.zeros(c)
mean = x.mean(axis=0)
xc = x - mean
var = (xc * xc).mean(axis=0)
invstd = 1.0 / np.sqrt(var + eps)
xhat = xc * invstd
y = gamma * xhat + beta
dxhat = dy * gamma
dvar = (dxhat * xc).sum(axis=0) * -0.5 * (var + eps) ** -1.5
dmu = -invstd * dxhat.sum(axis=0) + dvar * (-2.0 / m) * xc.sum(axis=0)
dx = (invstd / m) * (m * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
dgamma = (dy * xhat).sum(axis=0)
dbeta = dy.sum(axis=0)
np.savez(sys.argv[3], mean=mean, var=var, xhat=xhat, y=y, dxhat=dxhat, dvar=dvar, dmu=dmu,
         dx=dx, dgamma=dgamma, dbeta=dbeta)
"""

FLOOR_SOFTMAX_SCRIPT = """
import sys, numpy as np, polars as pl
fz = pl.read_csv(sys.argv[1])
z = fz.to_numpy()
t = pl.read_csv(sys.argv[2]).to_series(0).to_numpy()
p = np.exp(z - z.max(axis=1, keepdims=True))
p /= p.sum(axis=1, keepdims=True)
p[np.arange(t.shape[0]), t] -= 1.0
pl.DataFrame(np.asfortranarray(p), schema=fz.columns, orient='row').write_csv(sys.argv[3])
"""


class Sample(NamedTuple):
    wall: float  # seconds
    cpu: float  # seconds, user + system of the child
    peak: float  # MiB, the child's ru_maxrss


@dataclass(frozen=True)
class Command:
    argv: list[str]
    stdout: Path | None = None
    env: dict[str, str] | None = None


@dataclass(frozen=True)
class Row:
    what: str
    hw3: str
    baseline: str
    ratio: str
    goal: str
    ok: bool


def _hw3() -> list[str]:
    here = Path(sys.executable).parent / "hw3"
    found = str(here) if here.exists() else shutil.which("hw3")
    return [found] if found else [sys.executable, "-m", "hw3cli"]


# Runs every timed command and reports its rusage. Peak memory needs a launcher: Python
# starts a child with vfork, and a child started so inherits, as its ru_maxrss, the peak
# resident size of the process it was started from; this process holds the data (GBs),
# the launcher, started before any data exists, only itself (about 10 MiB).
LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    out = open(job["stdout"], "wb") if job["stdout"] else subprocess.DEVNULL
    with open(job["stderr"], "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(job["argv"], stdout=out, stderr=err, env=job["env"])
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    if job["stdout"]:
        out.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps([wall, cpu, usage.ru_maxrss, proc.returncode]), flush=True)
"""


# Every command runs with Python's bytecode cache allowed, as after `pip install .`, which
# compiles every module: where the environment forbids the cache, an editable install
# would otherwise compile each of hw3's modules again at every run (about 0.2 s).
COMPILED = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class Launcher:
    """A small process that runs commands for this one and reports wall, CPU and peak."""

    def __init__(self, folder: Path):
        self.errors = folder / "stderr.txt"
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-c", LAUNCHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, cmd: Command) -> Sample:
        """One run of ``cmd``: wall seconds, CPU seconds (user + system), peak MiB."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        job = {
            "argv": cmd.argv,
            "stdout": str(cmd.stdout) if cmd.stdout else None,
            "stderr": str(self.errors),
            "env": cmd.env if cmd.env is not None else COMPILED,
        }
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise SystemExit("the launcher process ended")
        wall, cpu, peak_kib, code = json.loads(answer)
        if code != 0:
            raise SystemExit(f"{cmd.argv} exited {code}: {self.errors.read_text()[-2000:]}")
        return Sample(float(wall), float(cpu), float(peak_kib) / 1024)  # KiB on Linux

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def _interleaved(
    launcher: Launcher, commands: dict[str, Command], runs: int
) -> dict[str, list[Sample]]:
    """``runs`` rounds, each running every command once, in order."""
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            samples[name].append(launcher.run(cmd))
    return samples


def _median(samples: list[Sample], field: str) -> float:
    return statistics.median(float(getattr(s, field)) for s in samples)


def _peak(samples: list[Sample]) -> float:
    return max(s.peak for s in samples)


def _report(samples: dict[str, list[Sample]]) -> None:
    for name, runs in samples.items():
        print(
            f"    {name:22s} wall {_median(runs, 'wall'):8.3f} s   "
            f"cpu {_median(runs, 'cpu'):8.3f} s   peak {_peak(runs):6.0f} MiB"
        )


def _equal(ours: Array, reference: Array) -> bool:
    """Equal to 1e-12 relative, the scale being the reference's largest magnitude."""
    if ours.shape != reference.shape:
        return False
    scale = float(np.abs(reference).max())
    return bool(np.allclose(ours, reference, rtol=1e-12, atol=1e-12 * scale))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _machine() -> str:
    cores = os.cpu_count() or 0
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = ", " + line.split(":", 1)[1].strip()
                break
    python = ".".join(map(str, sys.version_info[:3]))
    return (
        f"machine: {cores} cores{model}, {memory:.1f} GiB memory; Python {python}, "
        f"NumPy {np.__version__}, polars {pl.__version__}"
    )


# ---------------------------------------------------------------------- data and maths


class Data:
    """The random inputs, made once per size and kept for the references."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.arrays: dict[tuple[str, int, int], Array] = {}
        self.labels: dict[int, npt.NDArray[np.int64]] = {}

    def array(self, name: str, rows: int, cols: int) -> Array:
        key = (name, rows, cols)
        if key not in self.arrays:
            rng = np.random.default_rng([SEEDS[name], rows, cols])
            self.arrays[key] = rng.standard_normal((rows, cols))
        return self.arrays[key]

    def csv(self, name: str, rows: int, cols: int) -> Path:
        path = self.folder / f"{name}_{rows}x{cols}.csv"
        if not path.exists():
            columns = [f"c{i}" for i in range(cols)]
            values = np.asfortranarray(self.array(name, rows, cols))
            pl.DataFrame(values, schema=columns, orient="row").write_csv(path)
        return path

    def npy(self, name: str, rows: int, cols: int) -> Path:
        path = self.folder / f"{name}_{rows}x{cols}.npy"
        if not path.exists():
            np.save(path, self.array(name, rows, cols))
        return path

    def label_column(self, rows: int, classes: int) -> tuple[npt.NDArray[np.int64], Path]:
        path = self.folder / f"t_{rows}.csv"
        if rows not in self.labels:
            rng = np.random.default_rng(rows)
            self.labels[rows] = rng.integers(0, classes, rows, dtype=np.int64)
            pl.DataFrame({"label": self.labels[rows]}).write_csv(path)
        return self.labels[rows], path


def bn_dx(x: Array, dy: Array, eps: float = EPS) -> Array:
    """Training-mode batch-norm dx, gamma 1, beta 0, biased variance."""
    m = x.shape[0]
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc * xc).mean(axis=0)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = xc * invstd
    dx: Array = (invstd / m) * (m * dy - dy.sum(axis=0) - xhat * (dy * xhat).sum(axis=0))
    return dx


def softmax_grad(z: Array, labels: npt.NDArray[np.int64]) -> Array:
    """d(sum of cross-entropies)/dz = softmax(z) - onehot(labels)."""
    p: Array = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(labels.shape[0]), labels] -= 1.0
    return p


def _read_csv(path: Path) -> Array:
    values: Array = pl.read_csv(path).to_numpy().astype(np.float64, copy=False)
    return values


# ---------------------------------------------------------------------- the jobs


def _time_row(what: str, hw3: list[Sample], base: list[Sample], goal: float) -> Row:
    ours, theirs = _median(hw3, "wall"), _median(base, "wall")
    ratio = ours / theirs
    return Row(
        what, f"{ours:.2f} s", f"{theirs:.2f} s", f"{ratio:.2f}x", f"<= {goal:.2f}x", ratio <= goal
    )


def _memory_row(what: str, hw3: list[Sample], base: list[Sample], goal: float) -> Row:
    ours, theirs = _peak(hw3), _peak(base)
    return Row(
        what,
        f"{ours:.0f} MiB",
        f"{theirs:.0f} MiB (floor)",
        f"{ours / theirs:.2f}x",
        f"<= {goal:.0f} MiB",
        ours <= goal,
    )


def job_startup(launcher: Launcher, runs: int) -> tuple[list[Row], list[str]]:
    hw3 = _hw3()
    # as after `pip install .`, which compiles every module: the warm-up runs below write
    # the bytecode of an editable install too, unless the environment forbids it
    plain = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env = {
        **plain,
        "_HW3_COMPLETE": "bash_complete",
        "COMP_WORDS": "hw3 conv",
        "COMP_CWORD": "1",
    }
    answer = subprocess.run(hw3, env=env, capture_output=True, text=True, check=False).stdout
    label = {
        "conv-shape": "`hw3 conv-shape --input 32x32 --kernel 3,3`",
        "help": "`hw3 --help`",
        "complete": "TAB completion `hw3 conv<TAB>`",
    }
    commands = {
        "conv-shape": Command(
            [*hw3, "conv-shape", "--input", "32x32", "--kernel", "3,3"], env=plain
        ),
        "help": Command([*hw3, "--help"], env=plain),
        "complete": Command(hw3, env=env),
        "import click": Command([sys.executable, "-c", "import click"], env=plain),
    }
    for cmd in commands.values():  # warm the file cache
        launcher.run(cmd)
    samples = _interleaved(launcher, commands, runs)
    print(f"  startup: {runs} interleaved runs each, medians")
    _report(samples)
    base = samples["import click"]
    base_cpu, base_wall = _median(base, "cpu"), _median(base, "wall")
    rows = []
    for name, what in label.items():
        cpu, wall = _median(samples[name], "cpu"), _median(samples[name], "wall")
        rows.append(
            Row(
                f'{what} / `python -c "import click"`',
                f"{cpu * 1000:.0f} ms cpu ({wall * 1000:.0f} wall)",
                f"{base_cpu * 1000:.0f} ms cpu ({base_wall * 1000:.0f} wall)",
                f"{cpu / base_cpu:.2f} ({wall / base_wall:.2f} wall)",
                "<= 1.20 (cpu)",
                cpu / base_cpu <= 1.2,
            )
        )
    # bash_complete answers one "type,value" line per candidate
    found = any(line.split(",", 1)[-1] == "conv-shape" for line in answer.splitlines())
    notes = [f"startup: the completion answers conv-shape: {_yes(found)}"]
    return rows, notes


def job_bn_csv(
    launcher: Launcher, data: Data, rows: int, runs: int, folder: Path, *, numpy_script: bool
) -> tuple[list[Row], list[str], str]:
    """``hw3 bn-grad x.csv --dy dy.csv > dx.csv`` against the floor (and the NumPy script)."""
    x_path, dy_path = data.csv("x", rows, FEATURES), data.csv("dy", rows, FEATURES)
    hw3_out = folder / "hw3_dx.csv"
    commands = {
        "hw3": Command([*_hw3(), "bn-grad", str(x_path), "--dy", str(dy_path)], hw3_out),
        "floor (polars+numpy)": Command(
            [
                sys.executable,
                "-c",
                FLOOR_CSV_SCRIPT,
                str(x_path),
                str(dy_path),
                str(folder / "f.csv"),
            ]
        ),
    }
    if numpy_script:
        commands["numpy script"] = Command(
            [
                sys.executable,
                "-c",
                NUMPY_CSV_SCRIPT,
                str(x_path),
                str(dy_path),
                str(folder / "n.csv"),
            ]
        )
    samples = _interleaved(launcher, commands, runs)
    reference = bn_dx(data.array("x", rows, FEATURES), data.array("dy", rows, FEATURES))
    equal = _equal(_read_csv(hw3_out), reference)
    for name in ("hw3_dx.csv", "f.csv", "n.csv"):
        (folder / name).unlink(missing_ok=True)
    size = x_path.stat().st_size / 1e6
    print(f"  bn-grad CSV, {rows:,} x {FEATURES} ({size:.0f} MB each), {runs} runs")
    _report(samples)
    what = f"`hw3 bn-grad x.csv --dy dy.csv > dx.csv`, {rows:,} x {FEATURES}"
    return (
        [
            *(
                [_time_row(f"{what} / NumPy script", samples["hw3"], samples["numpy script"], 0.30)]
                if numpy_script
                else []
            ),
            _time_row(
                f"{what} / floor",
                samples["hw3"],
                samples["floor (polars+numpy)"],
                1.3 if numpy_script else 1.2,
            ),
            _memory_row(
                f"{what}, hw3 peak memory",
                samples["hw3"],
                samples["floor (polars+numpy)"],
                400 if numpy_script else 200,
            ),
        ],
        [],
        _yes(equal),
    )


def job_npy(
    launcher: Launcher, data: Data, rows: int, runs: int, folder: Path
) -> tuple[list[Row], list[str], str]:
    x_path, dy_path = data.npy("x", rows, FEATURES), data.npy("dy", rows, FEATURES)
    hw3_out = folder / "hw3_out.npz"
    commands = {
        "hw3": Command([*_hw3(), "bn-grad", str(x_path), "--dy", str(dy_path), "-o", str(hw3_out)]),
        "numpy script": Command(
            [
                sys.executable,
                "-c",
                NUMPY_NPY_SCRIPT,
                str(x_path),
                str(dy_path),
                str(folder / "n.npz"),
            ]
        ),
    }
    samples = _interleaved(launcher, commands, runs)
    reference = bn_dx(data.array("x", rows, FEATURES), data.array("dy", rows, FEATURES))
    with np.load(hw3_out) as archive:
        equal = _equal(archive["dx"], reference)
    for name in ("hw3_out.npz", "n.npz"):
        (folder / name).unlink(missing_ok=True)
    print(f"  bn-grad NPY -> NPZ, {rows:,} x {FEATURES}, {runs} runs")
    _report(samples)
    what = f"`hw3 bn-grad x.npy --dy dy.npy -o out.npz`, {rows:,} x {FEATURES} / NumPy script"
    return [_time_row(what, samples["hw3"], samples["numpy script"], 1.5)], [], _yes(equal)


def job_softmax(
    launcher: Launcher, data: Data, rows: int, runs: int, folder: Path
) -> tuple[list[Row], list[str], str]:
    z_path = data.csv("z", rows, CLASSES)
    labels, t_path = data.label_column(rows, CLASSES)
    hw3_out = folder / "hw3_g.csv"
    commands = {
        "hw3": Command([*_hw3(), "softmax-grad", str(z_path), "--target", str(t_path)], hw3_out),
        "floor (polars+numpy)": Command(
            [
                sys.executable,
                "-c",
                FLOOR_SOFTMAX_SCRIPT,
                str(z_path),
                str(t_path),
                str(folder / "f.csv"),
            ]
        ),
    }
    samples = _interleaved(launcher, commands, runs)
    reference = softmax_grad(data.array("z", rows, CLASSES), labels)
    equal = _equal(_read_csv(hw3_out), reference)
    for name in ("hw3_g.csv", "f.csv"):
        (folder / name).unlink(missing_ok=True)
    size = z_path.stat().st_size / 1e6
    print(f"  softmax-grad CSV, {rows:,} x {CLASSES} ({size:.0f} MB), {runs} runs")
    _report(samples)
    what = f"`hw3 softmax-grad z.csv --target t.csv > g.csv`, {rows:,} x {CLASSES}"
    floor = samples["floor (polars+numpy)"]
    return (
        [
            _memory_row(f"{what}, hw3 peak memory", samples["hw3"], floor, 200),
            _time_row(f"{what} / floor", samples["hw3"], floor, 1.5),
        ],
        [],
        _yes(equal),
    )


def _markdown(rows: list[Row]) -> str:
    lines = [
        "| job | hw3 | baseline | ratio | goal | ok |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.what} | {r.hw3} | {r.baseline} | {r.ratio} | {r.goal} | {_yes(r.ok)} |" for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each data job [3]")
    parser.add_argument("--startup-runs", type=int, default=30, help="runs of each start-up [30]")
    parser.add_argument("--small", action="store_true", help="every row count divided by 10")
    parser.add_argument("--only", default=",".join(JOBS), help=f"a comma list of {', '.join(JOBS)}")
    args = parser.parse_args()
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(JOBS))
    if unknown:
        parser.error(f"unknown job(s) {', '.join(unknown)}; choose from {', '.join(JOBS)}")
    div = 10 if args.small else 1

    print(_machine())
    print(f"hw3: {' '.join(_hw3())}")
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hw3-scale-") as tmp:
        folder = Path(tmp)
        launcher = Launcher(folder)  # before any data: see LAUNCHER
        data = Data(folder)
        work: dict[str, Callable[[], tuple[list[Row], list[str], str]]] = {
            "csv100k": lambda: job_bn_csv(
                launcher, data, 100_000 // div, args.runs, folder, numpy_script=True
            ),
            "npy1m": lambda: job_npy(launcher, data, 1_000_000 // div, args.runs, folder),
            "csv1m": lambda: job_bn_csv(
                launcher, data, 1_000_000 // div, args.runs, folder, numpy_script=False
            ),
            "softmax1m": lambda: job_softmax(launcher, data, 1_000_000 // div, args.runs, folder),
        }
        try:
            for name in JOBS:
                if name not in only:
                    continue
                start = time.perf_counter()
                if name == "startup":
                    job_rows, job_notes = job_startup(launcher, args.startup_runs)
                else:
                    print(f"  {name}: making data ...", flush=True)
                    job_rows, job_notes, equal = work[name]()
                    job_notes.append(f"{name}: outputs equal: {equal}")
                    print(f"  {name}: outputs equal: {equal}")
                print(f"  ({name} took {time.perf_counter() - start:.0f} s)", flush=True)
                rows += job_rows
                notes += job_notes
        finally:
            launcher.close()
    print()
    print(_machine())
    if args.small:
        print("(--small: row counts divided by 10)")
    print()
    print(_markdown(rows))
    print()
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
