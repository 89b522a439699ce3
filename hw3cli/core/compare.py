"""Comparing a user's expected values with computed ones (``--expect``).

Shapes are compared first: an expected array whose shape differs from the computed
one (transposed, reshaped, a flat list, a row more or fewer) fails, naming both shapes;
shapes that differ only by axes of length 1 (a column against a vector) are the same
layout. Then values, block of rows by block of rows, so that memory holds a block
whatever the size: an entry matches when |computed - expected| <= atol + rtol *
|expected| (NumPy's ``isclose`` rule). The report names the quantities that matched and
those that did not, the worst differences, and a likely cause only where the data show
one: a constant factor (the batch size, for a mean against a sum), float32 precision, a
transposed file, rows shifted by one (a header read as data, or the first row read as a
header), a sign flip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hw3cli.errors import shape_text

Array = npt.NDArray[np.float64]
WORST = 10
FLOAT32_RTOL = 1e-5  # float32 carries 7 significant digits; rounding adds up to about this
DIAGNOSE_LIMIT = 1 << 22  # values gathered whole to test a transposed or reshaped reading


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
class Context:
    """What the command knows that names a likely cause: the batch size N, and for a
    loss the reduction used and the denominator of its mean."""

    batch: int | None = None
    reduction: str | None = None
    denominator: float | None = None


@dataclass
class Outcome:
    """One quantity's comparison."""

    name: str
    expected_shape: tuple[int, ...]
    computed_shape: tuple[int, ...]
    compared: int = 0
    mismatched: int = 0
    shape_problem: str | None = None
    worst: list[Difference] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.shape_problem is None and self.mismatched == 0


@dataclass(frozen=True)
class Comparison:
    passed: bool
    outcomes: tuple[Outcome, ...]

    @property
    def compared(self) -> int:
        return sum(o.compared for o in self.outcomes)

    @property
    def mismatched(self) -> int:
        return sum(o.mismatched for o in self.outcomes)

    @property
    def worst(self) -> tuple[Difference, ...]:
        diffs = [d for o in self.outcomes for d in o.worst]
        return tuple(sorted(diffs, key=lambda d: -d.abs_error)[:WORST])


def index_text(index: tuple[int, ...]) -> str:
    """``(2, 1)`` -> ``[2,1]``."""
    return "[" + ",".join(map(str, index)) + "]"


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n for n in shape if n != 1)


def same_layout(expected: tuple[int, ...], computed: tuple[int, ...]) -> bool:
    """Equal shapes, or shapes equal but for axes of length 1 (``5x1`` and ``5``)."""
    return expected == computed or _squeezed(expected) == _squeezed(computed)


class _Blocks:
    """Rows of an array given block by block, taken again in blocks of any length."""

    def __init__(self, blocks: Iterable[Array]) -> None:
        self._blocks: Iterator[Array] = iter(blocks)
        self._rest: Array | None = None

    def take(self, rows: int) -> Array:
        parts: list[Array] = []
        while rows > 0:
            if self._rest is None or self._rest.shape[0] == 0:
                self._rest = np.asarray(next(self._blocks), dtype=np.float64)
                if self._rest.ndim == 0:
                    self._rest = self._rest.reshape(1)
                continue
            part, self._rest = self._rest[:rows], self._rest[rows:]
            parts.append(part)
            rows -= part.shape[0]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


def _whole(blocks: Iterable[Array], shape: tuple[int, ...]) -> Array:
    parts = [np.asarray(b, dtype=np.float64) for b in blocks]
    if not parts:
        return np.zeros(shape)
    if len(parts) == 1:
        return parts[0].reshape(shape)
    return np.concatenate([p.reshape(-1) for p in parts]).reshape(shape)


class _Tally:
    """What a block-by-block comparison of one quantity accumulates."""

    def __init__(self, outcome: Outcome, rtol: float, atol: float) -> None:
        self.outcome = outcome
        self.rtol, self.atol = rtol, atol
        self.ratio: float | None = None  # computed / expected, while it stays one number
        self.ratio_holds = True
        self.float32_holds = True  # every entry within float32's relative precision
        self.max_diff = 0.0
        self.max_computed = 0.0
        self.shift_down = True  # expected row i + 1 == computed row i (a row too many above)
        self.shift_up = True  # expected row i == computed row i + 1 (the first row lost)
        self.last: tuple[Array, Array] | None = None  # the previous block's last rows
        self.shift_pairs = 0

    def add(self, exp: Array, got: Array, start: int, shape: tuple[int, ...]) -> None:
        o = self.outcome
        o.compared += exp.size
        bad = ~np.isclose(got, exp, rtol=self.rtol, atol=self.atol)
        count = int(bad.sum())
        o.mismatched += count
        diff = np.abs(got - exp)
        if exp.size:
            self.max_diff = max(self.max_diff, float(diff.max()))
            self.max_computed = max(self.max_computed, float(np.abs(got).max()))
        if count:
            self._worst(exp, got, bad, diff, start, shape)
        self._ratio(exp, got)
        if self.float32_holds:
            self.float32_holds = bool(np.isclose(got, exp, rtol=FLOAT32_RTOL, atol=self.atol).all())
        self._shift(exp, got)

    def _worst(
        self,
        exp: Array,
        got: Array,
        bad: npt.NDArray[np.bool_],
        diff: Array,
        start: int,
        shape: tuple[int, ...],
    ) -> None:
        err = np.where(bad, diff, -1.0).reshape(-1)
        count = int(bad.sum())
        order = np.argsort(err)[::-1][: min(WORST, count)]
        row_items = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        flat_exp, flat_got = exp.reshape(-1), got.reshape(-1)
        for flat in order:
            whole_flat = start * row_items + int(flat)
            index = tuple(int(i) for i in np.unravel_index(whole_flat, shape)) if shape else ()
            self.outcome.worst.append(
                Difference(self.outcome.name, index, float(flat_exp[flat]), float(flat_got[flat]))
            )
        self.outcome.worst.sort(key=lambda d: -d.abs_error)
        del self.outcome.worst[WORST:]

    def _ratio(self, exp: Array, got: Array) -> None:
        if not self.ratio_holds or exp.size == 0:
            return
        nonzero = np.abs(exp) > 0
        if self.ratio is None:
            if not nonzero.any():
                self.ratio_holds = bool(np.isclose(got, 0.0, atol=self.atol).all())
                return
            first = int(np.flatnonzero(nonzero.reshape(-1))[0])
            self.ratio = float(got.reshape(-1)[first] / exp.reshape(-1)[first])
        scaled = self.ratio * exp
        self.ratio_holds = bool(np.isclose(got, scaled, rtol=FLOAT32_RTOL, atol=self.atol).all())

    def _shift(self, exp: Array, got: Array) -> None:
        if exp.ndim < 2 or not (self.shift_down or self.shift_up):
            return
        if self.last is not None:
            exp = np.concatenate([self.last[0], exp])
            got = np.concatenate([self.last[1], got])
        if exp.shape[0] >= 2:
            rtol, atol = self.rtol, self.atol
            if self.shift_down:
                self.shift_down = bool(np.isclose(got[:-1], exp[1:], rtol=rtol, atol=atol).all())
            if self.shift_up:
                self.shift_up = bool(np.isclose(got[1:], exp[:-1], rtol=rtol, atol=atol).all())
            self.shift_pairs += exp.shape[0] - 1
        self.last = (exp[-1:], got[-1:])

    def causes(self, context: Context) -> list[str]:
        """Likely causes of the mismatch, each only where every value shows it."""
        o = self.outcome
        if o.mismatched == 0:
            return []
        if self.shift_pairs >= 2 and (self.shift_down or self.shift_up):
            if self.shift_down:
                return [
                    f"{o.name}: the expected rows are the computed ones moved down by one: the "
                    "file has a row too many at the top (a header of numbers read as data?) "
                    "and lacks the last row"
                ]
            return [
                f"{o.name}: the expected rows are the computed ones moved up by one: the "
                "file lacks the first row (was it read as a header?)"
            ]
        if self.ratio is not None and self.ratio_holds and abs(self.ratio - 1) > 1e-3:
            return [self._ratio_text(context)]
        if self.float32_holds:
            return [
                f"{o.name}: the differences are at float32's precision (7 significant "
                "digits): values computed in float32, as PyTorch does by default, match "
                f"with --rtol {FLOAT32_RTOL:g}"
            ]
        if self.max_computed > 0 and self.max_diff <= FLOAT32_RTOL * self.max_computed:
            atol = float(f"{FLOAT32_RTOL * self.max_computed:.0e}")
            if atol < FLOAT32_RTOL * self.max_computed:
                atol *= 2
            return [
                f"{o.name}: the differences are at float32's precision relative to the "
                f"largest value ({self.max_computed:.3g}): values computed in float32 match "
                f"with --rtol {FLOAT32_RTOL:g} --atol {atol:g}"
            ]
        return []

    def _ratio_text(self, context: Context) -> str:
        assert self.ratio is not None
        r, name = self.ratio, self.outcome.name
        if abs(r + 1) <= 1e-6:
            return (
                f"{name}: every value has the opposite sign of the expected one: a sign "
                "flipped (p - y against y - p, or a gradient against a descent step?)"
            )
        n = context.denominator if context.denominator is not None else context.batch
        label = "the batch size N"
        if context.denominator is not None and context.denominator != context.batch:
            label = "the denominator of the mean"
        if n is not None and n > 1 and abs(r - n) <= 1e-6 * n:
            text = (
                f"{name}: every computed value is {n:g} times the expected one ({n:g} = "
                f"{label}): the expected values look like a mean over the batch"
            )
            if context.reduction == "sum":
                return text + "; hw3 used --reduction sum: give --reduction mean"
            return text + ", the computed ones a sum"
        if n is not None and n > 1 and abs(r * n - 1) <= 1e-6:
            text = (
                f"{name}: every computed value is 1/{n:g} of the expected one ({n:g} = "
                f"{label}): the expected values look like a sum over the batch"
            )
            if context.reduction == "mean":
                return text + "; hw3 used --reduction mean: give --reduction sum"
            return text + ", the computed ones a mean"
        factor = f"{r:.6g} times" if abs(r) >= 1 else f"1/{1 / r:.6g} of"
        text = f"{name}: every computed value is {factor} the expected one"
        return text + ": a constant factor"


def compare_blocks(
    name: str,
    expected_shape: tuple[int, ...],
    expected: Callable[[], Iterable[Array]],
    computed_shape: tuple[int, ...],
    computed: Callable[[], Iterable[Array]],
    rtol: float,
    atol: float,
    context: Context = Context(),
) -> Outcome:
    """One quantity: shapes first, then values block by block. ``expected`` and
    ``computed`` give the arrays' blocks of rows (along the first axis), each time they
    are called."""
    outcome = Outcome(name, tuple(expected_shape), tuple(computed_shape))
    exp_shape, got_shape = outcome.expected_shape, outcome.computed_shape
    if not same_layout(exp_shape, got_shape):
        outcome.shape_problem = _shape_problem(
            name, exp_shape, expected, got_shape, computed, rtol, atol
        )
        return outcome
    tally = _Tally(outcome, rtol, atol)
    size = int(np.prod(got_shape))
    if size == 0:
        return outcome
    rows_alike = len(exp_shape) and len(got_shape) and exp_shape[0] == got_shape[0]
    if not rows_alike:  # e.g. 1xC against C: small, one of the axes has length 1
        exp = _whole(expected(), exp_shape).reshape(got_shape)
        got = _whole(computed(), got_shape)
        tally.add(exp, got, 0, got_shape)
    else:
        source = _Blocks(expected())
        start = 0
        for block in computed():
            mine: Array = np.asarray(block, dtype=np.float64).reshape((-1, *got_shape[1:]))
            count = int(mine.shape[0])
            tally.add(source.take(count).reshape(mine.shape), mine, start, got_shape)
            start += count
    outcome.causes = tally.causes(context)
    if outcome.mismatched and not outcome.causes and len(got_shape) == 2:
        outcome.causes = _transposed_square(
            name, expected, exp_shape, computed, got_shape, rtol, atol
        )
    return outcome


def _transposed_square(
    name: str,
    expected: Callable[[], Iterable[Array]],
    exp_shape: tuple[int, ...],
    computed: Callable[[], Iterable[Array]],
    got_shape: tuple[int, ...],
    rtol: float,
    atol: float,
) -> list[str]:
    if got_shape[0] != got_shape[1] or got_shape[0] < 2 or int(np.prod(got_shape)) > DIAGNOSE_LIMIT:
        return []
    exp = _whole(expected(), exp_shape).reshape(got_shape)
    got = _whole(computed(), got_shape)
    if np.isclose(got, exp.T, rtol=rtol, atol=atol).all():
        return [f"{name}: the expected matrix is the computed one transposed"]
    return []


def _shape_problem(
    name: str,
    exp_shape: tuple[int, ...],
    expected: Callable[[], Iterable[Array]],
    got_shape: tuple[int, ...],
    computed: Callable[[], Iterable[Array]],
    rtol: float,
    atol: float,
) -> str:
    """Why the shapes differ, in words: both shapes, and what the data show (the file
    transposed, the values in another shape, a row too many or too few)."""
    text = f"{name}: expected shape {shape_text(exp_shape)}, computed {shape_text(got_shape)}"
    exp_size, got_size = int(np.prod(exp_shape)), int(np.prod(got_shape))
    transposed = len(exp_shape) == len(got_shape) == 2 and exp_shape == got_shape[::-1]
    small = got_size <= DIAGNOSE_LIMIT and exp_size <= DIAGNOSE_LIMIT

    def values() -> tuple[Array, Array]:
        return _whole(expected(), exp_shape), _whole(computed(), got_shape)

    if transposed:
        text += ": the file is transposed (one row per feature or class, not per sample)"
        if small:
            exp, got = values()
            if np.isclose(got, exp.T, rtol=rtol, atol=atol).all():
                text += "; its values match the computed ones transposed"
        return text
    if exp_size == got_size:
        text += ": the same number of values in another layout"
        if len(_squeezed(exp_shape)) == 1:
            text += " (a flat list)"
        if small:
            exp, got = values()
            if np.isclose(got.reshape(-1), exp.reshape(-1), rtol=rtol, atol=atol).all():
                text += f"; the values match once read as {shape_text(got_shape)}"
        return text
    if len(exp_shape) == len(got_shape) >= 2 and exp_shape[1:] == got_shape[1:]:
        extra = exp_shape[0] - got_shape[0]
        if extra == 1:
            text += ": one row more than computed"
            if small:
                exp, got = values()
                if np.isclose(got, exp[1:], rtol=rtol, atol=atol).all():
                    text += (
                        "; without its first row the file matches: a header of numbers "
                        "read as data?"
                    )
                elif np.isclose(got, exp[:-1], rtol=rtol, atol=atol).all():
                    text += "; without its last row the file matches"
        elif extra == -1:
            text += ": one row fewer than computed"
            if small:
                exp, got = values()
                if np.isclose(got[1:], exp, rtol=rtol, atol=atol).all():
                    text += (
                        "; it matches the computed rows but the first: was the first row "
                        "read as a header?"
                    )
                elif np.isclose(got[:-1], exp, rtol=rtol, atol=atol).all():
                    text += "; it matches the computed rows but the last"
    return text


def compare(
    expected: Mapping[str, Array],
    computed: Mapping[str, Array],
    rtol: float,
    atol: float,
    context: Context = Context(),
) -> Comparison:
    """Compare every named expected array with the computed array of that name (both
    held whole)."""
    outcomes = []
    for name, exp in expected.items():
        e = np.asarray(exp, dtype=np.float64)
        g = np.asarray(computed[name], dtype=np.float64)
        outcomes.append(
            compare_blocks(name, e.shape, _held(e), g.shape, _held(g), rtol, atol, context)
        )
    return combine(outcomes)


def _held(array: Array) -> Callable[[], Iterable[Array]]:
    return lambda: [array]


def combine(outcomes: Iterable[Outcome]) -> Comparison:
    done = tuple(outcomes)
    return Comparison(passed=all(o.passed for o in done), outcomes=done)


def summary(comparison: Comparison) -> str:
    """``dxhat, dvar, dmu match; dx: 6 of 8 differ``."""
    matched = [o.name for o in comparison.outcomes if o.passed]
    parts = []
    if matched:
        parts.append(", ".join(matched) + (" matches" if len(matched) == 1 else " match"))
    for o in comparison.outcomes:
        if o.shape_problem is not None:
            parts.append(f"{o.name}: the shape differs")
        elif o.mismatched:
            parts.append(f"{o.name}: {o.mismatched:,} of {o.compared:,} differ")
    return "; ".join(parts)


def report(comparison: Comparison, rtol: float, atol: float) -> str:
    """The lines printed on stderr for a mismatch."""
    lines = [summary(comparison)]
    lines.extend(o.shape_problem for o in comparison.outcomes if o.shape_problem is not None)
    if comparison.mismatched:
        lines.append(
            f"{comparison.mismatched:,} of {comparison.compared:,} values differ beyond "
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
    causes = [c for o in comparison.outcomes for c in o.causes]
    lines.extend(f"likely cause: {c}" for c in causes)
    return "\n".join(lines)
