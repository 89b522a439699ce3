"""hw3's batch-norm and softmax kernels against PyTorch's CPU autograd, in one process.

On the same float64 arrays (random normal; integer class labels), timed with
``time.perf_counter``, hw3 and PyTorch interleaved, median of ``--runs`` runs after one
warm-up run each:

- batch norm, training mode, eps 1e-5, gamma 1, beta 0 (both requiring gradients), on
  100,000 x 32 and 1,000,000 x 32: PyTorch's ``F.batch_norm`` forward and ``y.backward(dy)``
  together (dx, dgamma, dbeta), against hw3's public ``batchnorm()`` (the forward, every
  backward quantity, the running statistics, and its input and finiteness checks), and
  against the same outputs as PyTorch's (y, dx, dgamma, dbeta) from hw3's block
  functions (``setup``, ``whole_moments``, ``statistics``, ``per_sample_all``);
- softmax cross-entropy on 1,000,000 x 16 logits, reduction sum: ``F.cross_entropy``
  and ``.backward()`` against hw3's ``cross_entropy`` (loss, probabilities and gradient).

PyTorch uses as many threads as the machine has cores (``torch.set_num_threads``); hw3's
NumPy is what it is. It prints the times, the ratio hw3 / PyTorch (goal: at most 1.0,
"not slower") and whether the results agree (dx, dgamma, dbeta; the gradient and the
loss) to 1e-10 relative. It decides nothing: it measures. Without PyTorch it says so
and exits 0.

    python benchmarks/kernels_torch.py [--runs 5] [--small]

``--small`` divides every row count by 10.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hw3cli.core import batchnorm as bn
from hw3cli.core import softmax as sm
from hw3cli.core.batchnorm import batchnorm
from hw3cli.core.blocks import map_blocks, row_blocks
from hw3cli.core.softmax import Targets, cross_entropy

Array = npt.NDArray[np.float64]
EPS = 1e-5
RTOL = 1e-10


@dataclass(frozen=True)
class Row:
    what: str
    hw3: float  # seconds, median
    torch: float  # seconds, median
    agree: bool


def _torch() -> Any | None:
    """The torch module, or None where it cannot be imported."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def _close(ours: Any, theirs: Any) -> bool:
    """Equal to ``RTOL`` relative, the scale being the larger array's largest magnitude."""
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(theirs, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = float(np.abs(b).max()) if b.size else 0.0
    return bool(np.allclose(a, b, rtol=RTOL, atol=RTOL * scale))


def _interleaved(
    fns: dict[str, Callable[[], object]], runs: int
) -> tuple[dict[str, float], dict[str, object]]:
    """Median seconds of each function over ``runs`` interleaved runs, and its last result."""
    last = {name: fn() for name, fn in fns.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            last[name] = None  # free the previous result before the next run
            start = time.perf_counter()
            last[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, last


def bench_batchnorm(torch: Any, rows: int, features: int, runs: int) -> list[Row]:
    functional = torch.nn.functional
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, features))
    dy = rng.standard_normal((rows, features))
    gamma, beta = np.ones(features), np.zeros(features)

    def with_torch() -> tuple[Any, Any, Any]:
        xt = torch.from_numpy(x).requires_grad_()
        g = torch.from_numpy(gamma).requires_grad_()
        b = torch.from_numpy(beta).requires_grad_()
        y = functional.batch_norm(xt, None, None, weight=g, bias=b, training=True, eps=EPS)
        y.backward(torch.from_numpy(dy))
        return xt.grad, g.grad, b.grad

    def public() -> tuple[Array, Array, Array]:
        r = batchnorm(x, dy, gamma, beta, EPS, 1, training=True)
        return r.dx, r.dgamma, r.dbeta

    def same_outputs() -> tuple[Array, Array, Array]:
        """What PyTorch computes (y, dx, dgamma, dbeta), with hw3's block functions."""
        s = bn.setup(x.shape, dy.shape, gamma, beta, EPS, 1)
        stats = bn.statistics(s, bn.whole_moments(x, dy, 1))
        y, dx = np.empty_like(x), np.empty_like(x)

        def fill(rows: slice) -> None:
            out = bn.per_sample_all(stats, ("y", "dx"), x[rows], dy[rows])
            y[rows], dx[rows] = out["y"], out["dx"]

        for _ in map_blocks(fill, row_blocks(x.shape)):
            pass
        return dx, stats.dgamma, stats.dbeta

    variants: dict[str, Callable[[], object]] = {
        "torch": with_torch,
        "batchnorm()": public,
        "y, dx": same_outputs,
    }
    medians, last = _interleaved(variants, runs)
    theirs: Any = last["torch"]
    rows_out = []
    for name, label in (
        ("batchnorm()", "batchnorm(), all ten outputs"),
        ("y, dx", "y, dx, dgamma, dbeta"),
    ):
        ours: Any = last[name]
        agree = all(_close(a, b.detach().numpy()) for a, b in zip(ours, theirs, strict=True))
        what = f"batch norm {rows:,} x {features}, hw3 {label}"
        rows_out.append(Row(what, medians[name], medians["torch"], agree))
    return rows_out


def bench_softmax(torch: Any, rows: int, classes: int, runs: int) -> list[Row]:
    functional = torch.nn.functional
    rng = np.random.default_rng(rows + 1)
    z = rng.standard_normal((rows, classes))
    labels = rng.integers(0, classes, rows, dtype=np.int64)
    targets = Targets(indices=labels)

    def with_torch() -> tuple[Any, float]:
        zt = torch.from_numpy(z).requires_grad_()
        loss = functional.cross_entropy(zt, torch.from_numpy(labels), reduction="sum")
        loss.backward()
        return zt.grad, float(loss.item())

    def ours() -> tuple[Array, float]:
        r = cross_entropy(z, targets, reduction="sum")
        return r.grad, float(r.loss)

    def same_outputs() -> tuple[Array, float]:
        """What PyTorch computes (the loss and dL/dz), with hw3's block functions."""
        s = sm.setup(rows, classes, targets, reduction="sum")
        grad, losses = np.empty_like(z), np.empty(rows)

        def fill(block: slice) -> None:
            part = sm.rows(s, z[block], block.start)
            grad[block], losses[block] = part.grad, part.losses

        for _ in map_blocks(fill, row_blocks(z.shape)):
            pass
        return grad, float(sm.reduced_loss(s, losses))

    variants: dict[str, Callable[[], object]] = {
        "torch": with_torch,
        "cross_entropy()": ours,
        "loss, grad": same_outputs,
    }
    medians, last = _interleaved(variants, runs)
    theirs: Any = last["torch"]
    out = []
    for name, label in (
        ("cross_entropy()", "cross_entropy(): p, log p, losses, dL/dz"),
        ("loss, grad", "the loss and dL/dz"),
    ):
        mine: Any = last[name]
        agree = _close(mine[0], theirs[0].numpy()) and _close(mine[1], theirs[1])
        what = f"softmax cross-entropy {rows:,} x {classes}, hw3 {label}"
        out.append(Row(what, medians[name], medians["torch"], agree))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each [5]")
    parser.add_argument("--small", action="store_true", help="every row count divided by 10")
    args = parser.parse_args()
    torch = _torch()
    if torch is None:
        print("PyTorch is not installed: nothing to compare against (pip install torch).")
        return
    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    div = 10 if args.small else 1
    python = ".".join(map(str, sys.version_info[:3]))
    print(
        f"{cores} cores; Python {python}, NumPy {np.__version__}, PyTorch {torch.__version__} "
        f"({torch.get_num_threads()} threads); float64, CPU; median of {args.runs} runs"
    )
    rows = [
        *bench_batchnorm(torch, 100_000 // div, 32, args.runs),
        *bench_batchnorm(torch, 1_000_000 // div, 32, args.runs),
        *bench_softmax(torch, 1_000_000 // div, 16, args.runs),
    ]
    print()
    print("| kernel (forward + backward) | hw3 | PyTorch | hw3 / PyTorch | goal | ok | agree |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = r.hw3 / r.torch
        print(
            f"| {r.what} | {r.hw3 * 1000:.1f} ms | {r.torch * 1000:.1f} ms | {ratio:.2f} "
            f"| <= 1.00 | {'yes' if ratio <= 1.0 else 'no'} | {'yes' if r.agree else 'no'} |"
        )
    print(f"\nagree: hw3's results equal PyTorch's to rtol {RTOL:g} (atol {RTOL:g} x max |ref|)")


if __name__ == "__main__":
    main()
