"""Numerical gradient check by central differences (docs/formulas.md section 5).

g_num = (f(v + h) - f(v - h)) / (2h) with h = 1e-6 in float64, where f is the scalar the
analytic gradient belongs to. The callers pass, for each entry, only the part of f that
depends on it (a batch-norm feature, a cross-entropy row): the same derivative, without
the rounding of the other terms (a loss of 3e5 would otherwise carry errors of
eps * 3e5 / h = 7e-5, above the tolerance). An entry passes when
|g - g_num| <= atol + rtol * |g_num| (torch.autograd.gradcheck's defaults: atol 1e-5,
rtol 1e-3). Relative error is
|a - b| / max(1e-8, |a| + |b|). Large inputs are checked on a random sample of entries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

STEP = 1e-6
ATOL = 1e-5
RTOL = 1e-3
MAX_ENTRIES = 200
WORST = 5
# The cost of a check, in values evaluated: each checked entry evaluates its part of f
# twice, at a fixed price (about ENTRY_COST values' worth of Python and NumPy calls) plus
# the values of that part. MAX_WORK keeps a check within a second or two.
ENTRY_COST = 12_500
MAX_WORK = 100_000_000


def check_work(plan: Sequence[tuple[int, int, int]]) -> int:
    """The work of checking gradients, per (entries, entries asked for at most, values
    of the part of f an entry is differenced through)."""
    return sum(min(size, most) * (values + ENTRY_COST) for size, most, values in plan)


@dataclass(frozen=True)
class EntryError:
    """One checked entry: where, the analytic and numerical values, and their errors."""

    name: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    passed: bool


@dataclass(frozen=True)
class GradCheck:
    """The outcome of checking one or more gradients."""

    passed: bool
    max_abs_error: float
    max_rel_error: float
    checked: int
    total: int
    worst: tuple[EntryError, ...]
    notes: tuple[str, ...] = ()


def relative_error(a: float, b: float) -> float:
    return abs(a - b) / max(1e-8, abs(a) + abs(b))


LocalScalar = Callable[[Array, tuple[int, ...]], float]


def numerical_gradient(
    f: LocalScalar, v: Array, indices: Sequence[tuple[int, ...]], h: float = STEP
) -> Array:
    """Central differences at v for the listed entries; f(v, index) is the scalar, or the
    part of it that depends on v[index]."""
    out = np.empty(len(indices))
    work = v.copy()
    for n, index in enumerate(indices):
        original = work[index]
        work[index] = original + h
        plus = f(work, index)
        work[index] = original - h
        minus = f(work, index)
        work[index] = original
        out[n] = (plus - minus) / (2.0 * h)
    return out


def choose_entries(
    shape: tuple[int, ...], max_entries: int, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    """All entries, or a random sample of ``max_entries`` of them (without repeats)."""
    size = int(np.prod(shape))
    flat = np.arange(size) if size <= max_entries else np.sort(rng.choice(size, max_entries, False))
    return [tuple(int(i) for i in np.unravel_index(int(k), shape)) for k in flat]


def check_gradient(
    name: str,
    f: LocalScalar,
    v: Array,
    analytic: Array,
    *,
    max_entries: int = MAX_ENTRIES,
    seed: int = 0,
    h: float = STEP,
    atol: float = ATOL,
    rtol: float = RTOL,
) -> GradCheck:
    """Compare ``analytic`` (shaped like v) with central differences of f at v.

    ``f(v, index)`` is the scalar whose gradient ``analytic`` is, or any part of it that
    holds every term depending on ``v[index]``.
    """
    rng = np.random.default_rng(seed)
    indices = choose_entries(v.shape, max_entries, rng)
    numeric = numerical_gradient(f, v, indices, h)
    entries = []
    for index, g_num in zip(indices, numeric, strict=True):
        g = float(analytic[index])
        err = abs(g - float(g_num))
        entries.append(
            EntryError(
                name,
                index,
                g,
                float(g_num),
                err,
                relative_error(g, float(g_num)),
                err <= atol + rtol * abs(float(g_num)),
            )
        )
    return summarise(entries, total=int(v.size))


def summarise(entries: Sequence[EntryError], total: int, notes: Sequence[str] = ()) -> GradCheck:
    worst = sorted(entries, key=lambda e: (e.passed, -e.abs_error))[:WORST]
    return GradCheck(
        passed=all(e.passed for e in entries),
        max_abs_error=max((e.abs_error for e in entries), default=0.0),
        max_rel_error=max((e.rel_error for e in entries), default=0.0),
        checked=len(entries),
        total=total,
        worst=tuple(worst),
        notes=tuple(notes),
    )


def combine(checks: Sequence[GradCheck]) -> GradCheck:
    """One verdict over several gradients (each keeps its worst entries)."""
    entries = [e for c in checks for e in c.worst]
    worst = sorted(entries, key=lambda e: (e.passed, -e.abs_error))[:WORST]
    return GradCheck(
        passed=all(c.passed for c in checks),
        max_abs_error=max((c.max_abs_error for c in checks), default=0.0),
        max_rel_error=max((c.max_rel_error for c in checks), default=0.0),
        checked=sum(c.checked for c in checks),
        total=sum(c.total for c in checks),
        worst=tuple(worst),
        notes=tuple(n for c in checks for n in c.notes),
    )


def relabel(
    check: GradCheck,
    index: Callable[[EntryError], tuple[int, ...]],
    total: int,
    note: str,
) -> GradCheck:
    """A check made on a sample gathered from a larger input, told in the input's terms:
    each entry's ``index`` in it, the input's ``total`` entries, and a ``note`` of how
    the sample was taken."""
    worst = tuple(replace(e, index=index(e)) for e in check.worst)
    return replace(check, worst=worst, total=total, notes=(*check.notes, note))
