"""Comparing a user's expected values with computed ones (``--expect``).

An entry matches when |computed - expected| <= atol + rtol * |expected| (NumPy's
``isclose`` rule). The report lists the worst differences first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hw3cli.errors import shape_text

Array = npt.NDArray[np.float64]
WORST = 10


@dataclass(frozen=True)
class Difference:
    name: str
    index: tuple[int, ...]
    expected: float
    computed: float

    @property
    def abs_error(self) -> float:
        return abs(self.computed - self.expected)


@dataclass(frozen=True)
class Comparison:
    passed: bool
    names: tuple[str, ...]
    compared: int
    mismatched: int
    worst: tuple[Difference, ...]
    problems: tuple[str, ...]


def index_text(index: tuple[int, ...]) -> str:
    """``(2, 1)`` -> ``[2,1]``."""
    return "[" + ",".join(map(str, index)) + "]"


def compare(
    expected: Mapping[str, Array],
    computed: Mapping[str, Array],
    rtol: float,
    atol: float,
) -> Comparison:
    """Compare every named expected array with the computed array of that name."""
    problems: list[str] = []
    diffs: list[Difference] = []
    compared = mismatched = 0
    for name, exp in expected.items():
        got = np.asarray(computed[name], dtype=np.float64)
        exp = np.asarray(exp, dtype=np.float64)
        if exp.shape != got.shape:
            if exp.size == got.size and exp.size > 0:
                exp = exp.reshape(got.shape)
            else:
                problems.append(
                    f"{name}: expected shape {shape_text(exp.shape)}, computed "
                    f"{shape_text(got.shape)}"
                )
                continue
        compared += exp.size
        bad = ~np.isclose(got, exp, rtol=rtol, atol=atol)
        mismatched += int(bad.sum())
        if bad.any():
            err = np.where(bad, np.abs(got - exp), -1.0)
            order = np.argsort(err, axis=None)[::-1][: min(WORST, int(bad.sum()))]
            for flat in order:
                index = tuple(int(i) for i in np.unravel_index(int(flat), exp.shape))
                diffs.append(Difference(name, index, float(exp[index]), float(got[index])))
    worst = tuple(sorted(diffs, key=lambda d: -d.abs_error)[:WORST])
    return Comparison(
        passed=not problems and mismatched == 0,
        names=tuple(expected),
        compared=compared,
        mismatched=mismatched,
        worst=worst,
        problems=tuple(problems),
    )


def report(comparison: Comparison, rtol: float, atol: float) -> str:
    """The lines printed on stderr for a mismatch."""
    lines = list(comparison.problems)
    if comparison.mismatched:
        lines.append(
            f"{comparison.mismatched} of {comparison.compared} values differ beyond "
            f"rtol {rtol:g} and atol {atol:g}; the worst:"
        )
        lines.append(
            f"  {'name':8s} {'index':14s} {'expected':>24s} {'computed':>24s} {'|diff|':>10s}"
        )
        for d in comparison.worst:
            index = index_text(d.index)
            lines.append(
                f"  {d.name:8s} {index:14s} {d.expected!r:>24} {d.computed!r:>24} "
                f"{d.abs_error:10.3g}"
            )
    return "\n".join(lines)
