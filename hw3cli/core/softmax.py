"""Softmax, cross-entropy and dL/dz with PyTorch's options (docs/formulas.md section 4).

Stable log-softmax: log p = z - max(z) - log(sum exp(z - max(z))). Targets are class
indices or rows of class probabilities; label smoothing t' = (1 - e) t + e / K; class
weights w. Per-sample loss l_n = -sum_c w_c t'_c log p_c, and its gradient

    dl_n/dz_j = (sum_c w_c t'_c) p_j - w_j t'_j

which is the source document's p - y for unweighted, unsmoothed targets that sum to 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from hw3cli.core.blocks import map_blocks, row_blocks
from hw3cli.core.gradcheck import EntryError, GradCheck, check_gradient, relabel
from hw3cli.errors import InputError, plural

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Reduction = Literal["none", "sum", "mean"]
REDUCTIONS: tuple[Reduction, ...] = ("none", "sum", "mean")
DEFAULT_IGNORE_INDEX = -100
SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Targets:
    """Class indices (``indices``) or probability rows (``probs``): exactly one is set."""

    indices: IntArray | None = None
    probs: Array | None = None

    @property
    def count(self) -> int:
        array = self.indices if self.indices is not None else self.probs
        assert array is not None
        return int(array.shape[0])


@dataclass(frozen=True)
class SoftmaxResult:
    """Probabilities, losses and gradients for N samples of K classes."""

    probs: Array
    log_probs: Array
    losses: Array
    loss: float | Array
    grad: Array
    smoothed: Array
    weight: Array
    ignored: npt.NDArray[np.bool_]
    reduction: Reduction
    denominator: float
    warnings: tuple[str, ...] = ()


def log_softmax(z: Array) -> Array:
    """log p = z - max(z) - log(sum exp(z - max(z))), row by row (`log_softmax_and_softmax`)."""
    return log_softmax_and_softmax(z)[0]


def log_softmax_and_softmax(z: Array) -> tuple[Array, Array]:
    """log p = z - max(z) - log(sum exp(z - max(z))) and p = exp(z - max) / sum exp(z - max),
    row by row, from one exp: p never overflows and sums to 1 up to rounding.

    A shift beyond float64 (logits 1e308 apart) is -inf, the exact limit: p = 0 there."""
    with np.errstate(over="ignore"):
        shifted = z - z.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    total = p.sum(axis=1, keepdims=True)
    shifted -= np.log(total)
    p /= total
    return shifted, p


def softmax(z: Array) -> Array:
    """p = softmax(z), row by row: the p of `log_softmax_and_softmax`, the same float for
    float, without log p."""
    with np.errstate(over="ignore"):
        p: Array = z - z.max(axis=1, keepdims=True)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    return p


def softmax_jacobian(p: Array) -> Array:
    """dp_i/dz_j per sample: J = diag(p) - p p^T, shape N x K x K."""
    k = p.shape[1]
    jac: Array = -p[:, :, None] * p[:, None, :]
    jac[:, np.arange(k), np.arange(k)] += p
    return jac


def jacobian_bytes(n: int, k: int) -> int:
    """Memory of the N x K x K float64 Jacobian."""
    return n * k * k * 8


PLACES = {
    "target": "target",
    "weight": "--weight",
    "ignore_index": "--ignore-index",
    "label_smoothing": "--label-smoothing",
}
INT64_LIMIT = 2**63


def check_targets(
    targets: Targets,
    n: int,
    k: int,
    ignore_index: int | None,
    places: dict[str, str] | None = None,
) -> tuple[Targets, list[str]]:
    """Validate targets against N rows of K classes; warnings for rows not summing to 1.

    ``places`` names where each input came from (``target``, ``ignore_index``), for the
    messages.
    """
    where = {**PLACES, **(places or {})}
    warnings: list[str] = []
    if targets.count != n:
        kind = "label" if targets.indices is not None else "target row"
        raise InputError(
            f"{plural(targets.count, kind)} for {plural(n, 'row')} of logits",
            where=where["target"],
            hint="give one target per row of logits",
        )
    if targets.indices is not None:
        idx = targets.indices
        skip = DEFAULT_IGNORE_INDEX if ignore_index is None else ignore_index
        bad = (idx != skip) & ((idx < 0) | (idx >= k))
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(
                f"label {int(idx[row])} in row {row} is outside the classes 0 to {k - 1}",
                where=where["target"],
            )
        return targets, warnings
    probs = targets.probs
    assert probs is not None
    if probs.ndim != 2 or probs.shape[1] != k:
        width = probs.shape[1] if probs.ndim == 2 else 1
        raise InputError(
            f"probability rows have {width} entries but the logits have {k} classes",
            where=where["target"],
        )
    if (probs < 0).any():
        row, col = (int(i) for i in np.argwhere(probs < 0)[0])
        raise InputError(
            f"probability {probs[row, col]} in row {row}, class {col} is negative",
            where=where["target"],
        )
    if ignore_index is not None and ignore_index >= 0:
        # PyTorch: "ignore_index is not supported for floating point target"; a negative
        # one (its default -100 included) is accepted and has no effect.
        raise InputError(
            "applies only to class-index targets, not probabilities",
            where=where["ignore_index"],
        )
    sums = probs.sum(axis=1)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    if off.any():
        rows = np.flatnonzero(off)
        listed = ", ".join(str(int(r)) for r in rows[:5]) + (", ..." if rows.size > 5 else "")
        warnings.append(
            f"{rows.size} target row{'s' if rows.size > 1 else ''} ({listed}) "
            f"{'do' if rows.size > 1 else 'does'} not sum to 1 "
            f"(row {int(rows[0])} sums to {sums[rows[0]]:.6g}); PyTorch accepts such rows and "
            "so does hw3, with the general gradient (sum_c w_c t'_c) p - w t'"
        )
    return targets, warnings


def smoothed_targets(
    targets: Targets, k: int, label_smoothing: float, ignored: npt.NDArray[np.bool_]
) -> Array:
    """t' = (1 - e) t + e / K, indices made one-hot first; ignored rows all zero."""
    if targets.indices is not None:
        n = targets.indices.shape[0]
        t = np.zeros((n, k))
        rows = np.flatnonzero(~ignored.astype(bool))
        t[rows, targets.indices[rows]] = 1.0
    else:
        assert targets.probs is not None
        t = targets.probs.astype(np.float64, copy=True)
    out: Array = (1.0 - label_smoothing) * t + label_smoothing / k
    out[ignored.astype(bool)] = 0.0
    return out


@dataclass(frozen=True)
class CrossEntropySetup:
    """The checked inputs of one cross-entropy, all but the logits: N rows of K classes,
    the targets, the class weights w, which rows are ignored, the mean's denominator."""

    n: int
    k: int
    targets: Targets
    weight: Array
    label_smoothing: float
    ignored: npt.NDArray[np.bool_]
    reduction: Reduction
    denominator: float
    warnings: tuple[str, ...]
    places: dict[str, str]
    weighted: bool  # class weights were given


def setup(
    n: int,
    k: int,
    targets: Targets,
    *,
    weight: Array | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: Reduction = "sum",
    places: dict[str, str] | None = None,
) -> CrossEntropySetup:
    """Check everything but the logits. ``ignore_index`` None means PyTorch's default,
    -100. The mean's denominator: the sum of w_{y_n} over non-ignored rows for index
    targets (PyTorch's rule), N for probability targets."""
    where = {**PLACES, **(places or {})}
    if not 0.0 <= label_smoothing <= 1.0:
        raise InputError(
            f"must be between 0 and 1, got {label_smoothing}", where=where["label_smoothing"]
        )
    if ignore_index is not None and not -INT64_LIMIT <= ignore_index < INT64_LIMIT:
        raise InputError(
            f"{ignore_index} does not fit a 64-bit integer", where=where["ignore_index"]
        )
    if reduction not in REDUCTIONS:
        raise InputError(f"must be none, sum or mean, got {reduction!r}", where="--reduction")
    w = _class_weights(weight, k, where["weight"])
    targets, warnings = check_targets(targets, n, k, ignore_index, where)
    if targets.indices is not None:
        skip = DEFAULT_IGNORE_INDEX if ignore_index is None else ignore_index
        ignored = targets.indices == skip
    else:
        ignored = np.zeros(n, dtype=bool)
    denominator = 1.0
    if reduction == "mean":
        if targets.indices is not None:
            with np.errstate(over="ignore"):  # an overflowing sum is refused below
                denominator = float(w[targets.indices[~ignored]].sum())
            if not math.isfinite(denominator):
                raise InputError(
                    "the mean's denominator, the sum of the weights of the non-ignored "
                    "labels, overflows float64 (weights near 1e308)",
                    where=where["weight"],
                    hint="scale the weights down: the mean does not change when every "
                    "weight is multiplied by the same number",
                )
            if denominator == 0.0:
                raise InputError(
                    "the mean's denominator, the sum of the weights of the non-ignored "
                    "labels, is 0 (PyTorch returns nan here)",
                    where="--reduction mean",
                    hint="use --reduction sum, or check --ignore-index and --weight",
                )
        else:
            denominator = float(n)
    return CrossEntropySetup(
        n,
        k,
        targets,
        w,
        label_smoothing,
        ignored,
        reduction,
        denominator,
        tuple(warnings),
        where,
        weight is not None,
    )


def _class_weights(weight: Array | None, k: int, where: str) -> Array:
    if weight is None:
        return np.ones(k)
    w = np.asarray(weight, dtype=np.float64)
    if sum(n > 1 for n in w.shape) > 1:
        shape = "x".join(map(str, w.shape))
        raise InputError(
            f"has shape {shape}; expected {k} class weights, one per column of the logits",
            where=where,
            hint="give a list (1,2,1), or a file with one row or one column",
        )
    w = w.reshape(-1)
    if w.size != k:
        raise InputError(
            f"{plural(w.size, 'weight')} for {plural(k, 'class', 'classes')}", where=where
        )
    if (w < 0).any():
        raise InputError(f"weights must not be negative, got {w[w < 0][0]}", where=where)
    return w


@dataclass(frozen=True)
class CrossEntropyRows:
    """Probabilities, losses and dL/dz of some consecutive rows."""

    probs: Array
    log_probs: Array
    losses: Array
    grad: Array


ROWS_FIELDS = ("probs", "log_probs", "losses", "grad")


@dataclass(frozen=True)
class _RowTargets:
    """The targets of some consecutive rows, weighted: for probability targets w t'
    (``wt``); for class indices the rows not ignored (``kept``), their classes ``y``,
    w_y t'_y less its e/K share (``at_y``) and w_c e/K for every class (``spread``)."""

    wt: Array | None
    kept: npt.NDArray[np.intp]
    y: npt.NDArray[np.int64]
    at_y: Array
    spread: Array


def _row_targets(s: CrossEntropySetup, start: int, end: int) -> _RowTargets:
    ignored = s.ignored[start:end]
    if s.targets.indices is None:
        assert s.targets.probs is not None
        part = Targets(probs=s.targets.probs[start:end])
        wt = s.weight * smoothed_targets(part, s.k, s.label_smoothing, ignored)
        none = np.empty(0, dtype=np.intp)
        return _RowTargets(wt, none, none.astype(np.int64), np.empty(0), np.empty(0))
    kept = np.flatnonzero(~ignored)
    y = s.targets.indices[start:end][kept]
    e, w = s.label_smoothing, s.weight
    return _RowTargets(None, kept, y, (1.0 - e) * w[y], (e / s.k) * w)


def _losses(s: CrossEntropySetup, t: _RowTargets, log_p: Array) -> Array:
    """l_n = -sum_c w_c t'_c log p_c, row by row (0 for an ignored row)."""
    if t.wt is not None:
        # a class with no target weight adds nothing, even where log p is -inf (p = 0)
        weighted: Array = 0.0 - np.where(t.wt == 0.0, 0.0, t.wt * log_p).sum(axis=1)
        return weighted
    losses = np.zeros(log_p.shape[0])
    losses[t.kept] = -np.where(t.at_y == 0.0, 0.0, t.at_y * log_p[t.kept, t.y])
    if s.label_smoothing:
        spread_terms = np.where(t.spread == 0.0, 0.0, log_p[t.kept] * t.spread)
        losses[t.kept] -= spread_terms.sum(axis=1)
    return losses


def rows(s: CrossEntropySetup, z: Array, start: int = 0) -> CrossEntropyRows:
    """Rows ``start``.. of the logits ``z``: p = softmax(z), t' the smoothed targets,

    l_n = -sum_c w_c t'_c log p_c      dL/dz_j = ((sum_c w_c t'_c) p_j - w_j t'_j) / D

    with D the mean's denominator (1 for none and sum). For class indices y, t' is
    (1 - e) at y and e/K everywhere, so sum_c w_c t'_c = (1 - e) w_y + (e/K) sum_c w_c,
    and the one-hot matrix is never built."""
    log_p, p = log_softmax_and_softmax(z)
    with np.errstate(all="ignore"):  # overflow is reported by `refuse_overflow`
        t = _row_targets(s, start, start + z.shape[0])
        losses = _losses(s, t, log_p)
        grad = _grad(s, t, p)
    return CrossEntropyRows(p, log_p, losses, grad)


def row_grads(s: CrossEntropySetup, z: Array, start: int = 0) -> Array:
    """dL/dz of rows ``start``.. alone (the `rows` value, float for float), for a pass
    that writes nothing else."""
    p = softmax(z)
    with np.errstate(all="ignore"):  # overflow is ruled out or reported before
        return _grad(s, _row_targets(s, start, start + z.shape[0]), p)


def _grad(s: CrossEntropySetup, t: _RowTargets, p: Array) -> Array:
    """dL/dz_j = ((sum_c w_c t'_c) p_j - w_j t'_j) / D (see `rows`)."""
    if t.wt is not None:
        grad: Array = t.wt.sum(axis=1, keepdims=True) * p
        grad -= t.wt
    else:
        total = np.zeros(p.shape[0])
        total[t.kept] = t.at_y + t.spread.sum()
        grad = p * total[:, None]
        grad[t.kept, t.y] -= t.at_y
        if s.label_smoothing:
            grad[t.kept] -= t.spread
    if s.reduction == "mean":
        grad /= s.denominator
    return grad


def finite_for_spread(s: CrossEntropySetup, spread: float) -> bool:
    """Whether every row's loss, their reduction and every dL/dz are sure to be finite
    for logits that lie within ``spread`` of each other (the largest minus the smallest),
    without computing them: a first pass over a large batch then needs only the logits'
    range. For class indices, log p_j = z_j - max z - log sum exp(z - max z) >= -spread -
    log K, so |l_n| <= (sum_c |w_c t'_c|) (spread + log K), with sum_c |w_c t'_c| <=
    (1 - e) w_y + (e/K) sum_c w_c; the sum of N losses is at most N times the largest,
    and dL/dz is bounded as in `row_losses`. Probability targets: False (not bounded
    here; the losses are computed)."""
    if s.targets.indices is None or not math.isfinite(spread):
        return False
    labels = s.targets.indices[~s.ignored]
    e = s.label_smoothing
    with np.errstate(over="ignore"):
        at_y = (1.0 - e) * float(s.weight[labels].max(initial=0.0))
        share = float(np.abs(s.weight).sum()) * e / s.k
        loss = (at_y + share) * (spread + math.log(s.k))
        worst = max(loss * s.n, (2 * at_y + 2 * share)) / s.denominator
    return math.isfinite(worst)


def row_losses(s: CrossEntropySetup, z: Array, start: int = 0) -> Array:
    """The losses of rows ``start``.., checked as `refuse_overflow` checks `rows`, without
    computing p or dL/dz (the first pass of a batch read block by block needs only the
    losses): dL/dz is finite when a bound on it is, |dL/dz_j| <= (sum_c |w_c t'_c| +
    max_c |w_c t'_c|) / D since 0 <= p_j <= 1; only where the bound is not finite are the
    rows computed whole to tell."""
    log_p = log_softmax(z)
    with np.errstate(all="ignore"):  # overflow is reported below
        t = _row_targets(s, start, start + z.shape[0])
        losses = _losses(s, t, log_p)
        if t.wt is not None:
            bound = float(np.abs(t.wt).sum(axis=1).max(initial=0.0)) * 2
        else:
            bound = float(np.abs(t.at_y).max(initial=0.0)) * 2 + float(np.abs(t.spread).sum()) * 2
    if not (np.isfinite(losses).all() and np.isfinite(bound / s.denominator)):
        refuse_overflow(s, rows(s, z, start))
    return losses


def refuse_overflow(s: CrossEntropySetup, part: CrossEntropyRows) -> None:
    """InputError when some rows' losses or gradients overflowed float64."""
    if not (np.isfinite(part.losses).all() and np.isfinite(part.grad).all()):
        raise InputError(
            "the loss or its gradient overflows float64 (weights or targets near 1e308)",
            where=s.places["weight"] if s.weighted else s.places["target"],
        )


def reduced_loss(s: CrossEntropySetup, losses: Array | float) -> float | Array:
    """The reduction of the per-sample losses (or of their sum, already added up)."""
    if s.reduction == "none":
        return losses
    with np.errstate(over="ignore"):  # an overflowing sum is reported below
        total = float(np.sum(losses))
    loss = total / s.denominator if s.reduction == "mean" else total
    if not np.isfinite(loss):  # each loss fits, their sum does not
        largest = float(np.max(np.abs(losses)))
        raise InputError(
            f"the {s.reduction} of the losses overflows float64 (each is finite; the largest "
            f"is {largest:.3g}): logits near 1e308 apart",
            where="--reduction",
            hint="use --reduction none to see each sample's loss",
        )
    return loss


def cross_entropy(
    logits: Array,
    targets: Targets,
    *,
    weight: Array | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: Reduction = "sum",
    places: dict[str, str] | None = None,
) -> SoftmaxResult:
    """Softmax cross-entropy with PyTorch's ``cross_entropy`` options, and dL/dz, for
    logits held whole (`setup`, then all rows at once with `rows`).

    ``reduction``: ``none`` keeps l_n (each row's gradient is that of its own loss);
    ``sum`` adds them; ``mean`` divides by the sum of w_{y_n} over non-ignored rows for
    index targets (PyTorch's rule) and by N for probability targets.
    """
    if logits.ndim != 2:
        raise InputError(
            f"logits must be a matrix, one sample a row; got {logits.ndim} axes",
            where="logits",
        )
    n, k = logits.shape
    s = setup(
        n,
        k,
        targets,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        places=places,
    )
    part = CrossEntropyRows(
        probs=np.empty_like(logits),
        log_probs=np.empty_like(logits),
        losses=np.empty(n),
        grad=np.empty_like(logits),
    )

    def fill(sl: slice) -> None:  # in blocks of rows that stay in cache
        block = rows(s, logits[sl], sl.start)
        refuse_overflow(s, block)
        for name in ROWS_FIELDS:
            getattr(part, name)[sl] = getattr(block, name)

    for _ in map_blocks(fill, row_blocks(logits.shape)):
        pass
    return result_of(s, part, reduced_loss(s, part.losses))


def result_of(s: CrossEntropySetup, part: CrossEntropyRows, loss: float | Array) -> SoftmaxResult:
    """The result of every row (``part`` holds them all), with the smoothed targets t'
    (for an explanation)."""
    return SoftmaxResult(
        probs=part.probs,
        log_probs=part.log_probs,
        losses=part.losses,
        loss=loss,
        grad=part.grad,
        smoothed=smoothed_targets(s.targets, s.k, s.label_smoothing, s.ignored),
        weight=s.weight,
        ignored=s.ignored,
        reduction=s.reduction,
        denominator=s.denominator,
        warnings=s.warnings,
    )


def gradcheck_cross_entropy(
    logits: Array,
    targets: Targets,
    result: SoftmaxResult,
    *,
    weight: Array | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    max_entries: int = 200,
    seed: int = 0,
) -> GradCheck:
    """dL/dz against central differences of the reduced loss (sum of l_n for ``none``)."""
    return _gradcheck(
        logits,
        targets,
        result.grad,
        result.denominator,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        max_entries=max_entries,
        seed=seed,
    )


def _gradcheck(
    logits: Array,
    targets: Targets,
    grad: Array,
    denominator: float,
    *,
    weight: Array | None,
    ignore_index: int | None,
    label_smoothing: float,
    max_entries: int,
    seed: int,
) -> GradCheck:
    """``grad`` (dL/dz of ``logits``' rows) against central differences of each row's
    loss over the reduction's ``denominator``."""

    def row_loss(z: Array, index: tuple[int, ...]) -> float:
        """The reduced loss's terms from row index[0]: its own loss (over the mean's
        denominator, which does not depend on z)."""
        n = index[0]
        r = cross_entropy(
            z[n : n + 1],
            _target_rows(targets, slice(n, n + 1)),
            weight=weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            reduction="sum",
        )
        return float(r.loss) / denominator

    return check_gradient("grad", row_loss, logits, grad, max_entries=max_entries, seed=seed)


def _target_rows(targets: Targets, rows: slice | npt.NDArray[np.intp]) -> Targets:
    return Targets(
        indices=None if targets.indices is None else targets.indices[rows],
        probs=None if targets.probs is None else targets.probs[rows],
    )


def gradcheck_rows(
    s: CrossEntropySetup,
    picked: npt.NDArray[np.intp],
    logits: Array,
    grad: Array,
    *,
    weight: Array | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    max_entries: int = 200,
    seed: int = 0,
) -> GradCheck:
    """`gradcheck_cross_entropy` on rows ``picked`` of a batch read block by block
    (``logits`` and ``grad`` hold those rows): each row's terms of the loss involve that
    row alone, and the mean's denominator is the whole batch's; indices are the batch's."""
    check = _gradcheck(
        logits,
        _target_rows(s.targets, picked),
        grad,
        s.denominator,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        max_entries=max_entries,
        seed=seed,
    )

    def index(e: EntryError) -> tuple[int, ...]:
        return (int(picked[e.index[0]]), *e.index[1:])

    note = f"checked on {picked.size:,} of {s.n:,} rows, chosen at random across the batch"
    return relabel(check, index, total=s.n * s.k, note=note)
