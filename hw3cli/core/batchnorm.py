"""Batch normalisation: forward, the source document's staged backward, the compact dx.

docs/formulas.md section 3. Per feature (for a tensor of rank 3 or more, per channel,
reducing over every other axis; m = the number of values reduced):

    mu = (1/m) sum x            var = (1/m) sum (x - mu)^2   (biased, two-pass, float64)
    invstd = 1 / sqrt(var + eps)    xhat = (x - mu) * invstd    y = gamma * xhat + beta

Every quantity of the derivation is returned, so that each line of it can be checked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from hw3cli.core.blocks import map_blocks, row_blocks
from hw3cli.core.gradcheck import STEP, EntryError, GradCheck, check_gradient, combine, relabel
from hw3cli.errors import InputError, plural, shape_text

Array = npt.NDArray[np.float64]

DEFAULT_EPS = 1e-5
DEFAULT_MOMENTUM = 0.1


@dataclass(frozen=True)
class BatchNormForward:
    """The forward pass. Statistics keep their reduced axes (size 1) for broadcasting."""

    x: Array
    gamma: Array
    beta: Array
    eps: float
    channel_axis: int
    mean: Array
    var: Array
    invstd: Array
    xhat: Array
    y: Array
    training: bool = True

    @property
    def m(self) -> int:
        """How many values each feature's statistics reduce over."""
        return int(self.x.size // self.x.shape[self.channel_axis])

    @property
    def reduce_axes(self) -> tuple[int, ...]:
        return reduce_axes(self.x.ndim, self.channel_axis)

    def per_feature(self, stat: Array) -> Array:
        """A kept-dims statistic as a vector of length C."""
        return stat.reshape(-1)


@dataclass(frozen=True)
class BatchNormResult:
    """All ten quantities of docs/formulas.md section 3, per-feature ones as vectors of length C.

    In evaluation mode ``mean`` and ``var`` are the running statistics that were used,
    and ``dmu`` / ``dvar`` are the gradients with respect to them.
    """

    mean: Array
    var: Array
    xhat: Array
    y: Array
    dxhat: Array
    dvar: Array
    dmu: Array
    dx: Array
    dgamma: Array
    dbeta: Array
    m: int
    eps: float
    training: bool
    running_mean: Array | None = None
    running_var: Array | None = None

    NAMES = ("mean", "var", "xhat", "y", "dxhat", "dvar", "dmu", "dx", "dgamma", "dbeta")
    PER_SAMPLE = ("xhat", "y", "dxhat", "dx")


def reduce_axes(ndim: int, channel_axis: int) -> tuple[int, ...]:
    """Every axis but the channel axis."""
    return tuple(a for a in range(ndim) if a != channel_axis)


def _feature_shape(ndim: int, channel_axis: int, c: int) -> tuple[int, ...]:
    shape = [1] * ndim
    shape[channel_axis] = c
    return tuple(shape)


def _as_feature(v: Array, ndim: int, channel_axis: int) -> Array:
    return v.reshape(_feature_shape(ndim, channel_axis, v.size))


# --- pass 1: per-feature moments of a batch, block by block -------------------------------


@dataclass(frozen=True)
class Moments:
    """Per-feature sums over some rows of x and dy, enough for every batch statistic.

    ``count`` values per feature; ``mean_x`` and ``m2_x`` = sum (x - mean_x)^2;
    ``sum_dy`` and ``mean_dy``; ``c_xdy`` = sum (x - mean_x)(dy - mean_dy), the
    co-moment, which equals sum (x - mean_x) dy; ``ss_dy`` = sum dy^2. Two sets of rows
    merge exactly (`merge_moments`), so a batch can be read in blocks. sqrt(m2_x) and
    sqrt(ss_dy) bound every |x - mean_x| and |dy|, and so the per-sample outputs
    (`BatchNormStats.outputs_finite`).
    """

    count: int
    mean_x: Array
    m2_x: Array
    sum_dy: Array
    mean_dy: Array
    c_xdy: Array
    ss_dy: Array


def _per_feature(x: Array, channel_axis: int) -> tuple[Array, str]:
    """x as a matrix of one column per feature when that is a free reshape (channel
    last), with the einsum subscripts of its per-feature sums."""
    if channel_axis == x.ndim - 1:
        return x.reshape(-1, x.shape[-1]), "ij"
    letters = "abcdefghijklmnopqrstuvwxyz"[: x.ndim]
    return x, letters


def _sums(a: Array, b: Array | None, channel_axis: int) -> Array:
    """Per feature, sum a (b None) or sum a * b, with einsum: without a temporary array
    of a's size, faster than ``a.sum(axis=0)``, and in an order that depends only on the
    layout of a (a matrix product with ones is faster still, but its order depends on
    the BLAS library and its threads)."""
    a2, letters = _per_feature(a, channel_axis)
    out = letters[-1] if letters == "ij" else letters[channel_axis]
    if b is None:
        return np.einsum(f"{letters}->{out}", a2)  # type: ignore[no-any-return]
    b2, _ = _per_feature(b, channel_axis)
    return np.einsum(f"{letters},{letters}->{out}", a2, b2)  # type: ignore[no-any-return]


def block_moments(x: Array, dy: Array, channel_axis: int) -> Moments:
    """The moments of one block of rows, two-pass: the mean first, then the sums of
    squares and products about it. The mean is refined once by the mean c of what is
    left (which corrects the first sum's rounding to about an ulp), and the sums follow
    it exactly, without another pass: about mean + c,

        sum (x - mean - c)^2 = sum (x - mean)^2 - n c^2
        sum (x - mean - c) dy = sum (x - mean) dy - c sum dy
    """
    with np.errstate(all="ignore"):  # (per thread) an overflow is explained by `statistics`
        return _block_moments(x, dy, channel_axis)


def _block_moments(x: Array, dy: Array, channel_axis: int) -> Moments:
    count = int(x.size // x.shape[channel_axis])
    f = _feature_shape(x.ndim, channel_axis, x.shape[channel_axis])
    mean = _sums(x, None, channel_axis) / count
    xc = x - mean.reshape(f)
    correction = _sums(xc, None, channel_axis) / count
    sum_dy = _sums(dy, None, channel_axis)
    return Moments(
        count=count,
        mean_x=mean + correction,
        # (at least 0: for a constant feature both terms are n c^2, up to rounding)
        m2_x=np.maximum(_sums(xc, xc, channel_axis) - count * correction * correction, 0.0),
        sum_dy=sum_dy,
        mean_dy=sum_dy / count,
        # = sum (x - mean_x)(dy - mean_dy): sum (x - mean_x) is 0
        c_xdy=_sums(xc, dy, channel_axis) - correction * sum_dy,
        ss_dy=_sums(dy, dy, channel_axis),
    )


def merge_moments(a: Moments, b: Moments) -> Moments:
    """The moments of two sets of rows together: Chan, Golub and LeVeque's pairwise
    update. With n = na + nb and d = mean_b - mean_a:

        mean = mean_a + d nb / n      M2 = M2_a + M2_b + d^2 na nb / n
        C_xdy = C_a + C_b + d_x d_dy na nb / n
    """
    n = a.count + b.count
    weight = a.count * b.count / n
    dx = b.mean_x - a.mean_x
    ddy = b.mean_dy - a.mean_dy
    sum_dy = a.sum_dy + b.sum_dy
    return Moments(
        count=n,
        mean_x=a.mean_x + dx * (b.count / n),
        m2_x=a.m2_x + b.m2_x + dx * dx * weight,
        sum_dy=sum_dy,
        mean_dy=sum_dy / n,
        c_xdy=a.c_xdy + b.c_xdy + dx * ddy * weight,
        ss_dy=a.ss_dy + b.ss_dy,
    )


def moments(pairs: Iterable[tuple[Array, Array]], channel_axis: int) -> Moments:
    """The merged moments of blocks of rows (x, dy), in order."""
    return _merged(block_moments(x, dy, channel_axis) for x, dy in pairs)


def whole_moments(x: Array, dy: Array, channel_axis: int) -> Moments:
    """The moments of a batch held in memory: its blocks' moments, computed on the
    cores' threads and merged in order."""
    blocks = row_blocks(x.shape)
    return _merged(map_blocks(lambda rows: block_moments(x[rows], dy[rows], channel_axis), blocks))


def _merged(parts: Iterable[Moments]) -> Moments:
    total: Moments | None = None
    with np.errstate(all="ignore"):  # an overflow is found, and explained, by `statistics`
        for part in parts:
            total = part if total is None else merge_moments(total, part)
    if total is None:
        raise InputError("x holds no rows")
    return total


# --- the per-feature results, and the per-sample ones block by block -----------------------


@dataclass(frozen=True)
class BatchNormSetup:
    """The checked parameters of one batch norm: shape, channel axis, vectors of length C."""

    shape: tuple[int, ...]
    channel_axis: int
    gamma: Array
    beta: Array
    eps: float
    training: bool
    running_mean: Array
    running_var: Array
    momentum: float

    @property
    def m(self) -> int:
        """How many values each feature's statistics reduce over."""
        return math.prod(self.shape) // self.shape[self.channel_axis]


@dataclass(frozen=True)
class BatchNormStats:
    """Every per-feature quantity (vectors of length C), from the moments of the batch.

    In evaluation mode ``mean`` and ``var`` are the running statistics used, and
    ``dmu`` / ``dvar`` the gradients with respect to them.
    """

    setup: BatchNormSetup
    mean: Array
    var: Array
    invstd: Array
    dvar: Array
    dmu: Array
    dgamma: Array
    dbeta: Array
    bounds: dict[str, float]
    running_mean: Array | None = None
    running_var: Array | None = None
    warnings: tuple[str, ...] = ()

    def feature(self, v: Array) -> Array:
        """A vector of length C shaped to broadcast against x."""
        return _as_feature(v, len(self.setup.shape), self.setup.channel_axis)

    @property
    def outputs_finite(self) -> bool:
        """Whether no per-sample output can overflow (from bounds on |x - mu| and |dy|)."""
        return all(math.isfinite(b) for b in self.bounds.values())


def setup(
    shape: tuple[int, ...],
    dy_shape: tuple[int, ...],
    gamma: Array | None = None,
    beta: Array | None = None,
    eps: float = DEFAULT_EPS,
    channel_axis: int = 1,
    *,
    training: bool = True,
    running_mean: Array | None = None,
    running_var: Array | None = None,
    momentum: float = DEFAULT_MOMENTUM,
    places: dict[str, str] | None = None,
) -> BatchNormSetup:
    """Check everything that needs no values of x: shapes, parameters, m >= 2.

    ``gamma`` and ``beta`` default to ones and zeros; the running statistics to zeros
    and ones (PyTorch's initial values). ``places`` names where each vector came from,
    for the messages (keys gamma, beta, running_mean, running_var)."""
    where = {
        "gamma": "gamma",
        "beta": "beta",
        "running_mean": "running mean",
        "running_var": "running var",
        **(places or {}),
    }
    ndim = len(shape)
    if ndim < 2:
        raise InputError(f"x must have at least 2 axes (samples x features), got {ndim}")
    if not -ndim <= channel_axis < ndim:
        raise InputError(f"channel axis {channel_axis} is outside x's {ndim} axes")
    channel_axis %= ndim
    if tuple(dy_shape) != tuple(shape):
        raise InputError(
            f"dy has shape {shape_text(dy_shape)} but x has shape {shape_text(shape)}",
            where="dy",
            hint="dy is the upstream gradient dL/dy, one value per value of x",
        )
    c = shape[channel_axis]
    rm = feature_vector(running_mean, c, 0.0, where["running_mean"])
    rv = feature_vector(running_var, c, 1.0, where["running_var"])
    if not eps >= 0 or not np.isfinite(eps):
        raise InputError(f"must be a number >= 0, got {eps}", where="eps")
    if not 0.0 <= momentum <= 1.0:
        raise InputError(f"must be between 0 and 1, got {momentum}", where="momentum")
    if not training and not (rv + eps > 0).all():
        raise InputError("running variance + eps must be positive", where="running var")
    result = BatchNormSetup(
        shape=tuple(shape),
        channel_axis=channel_axis,
        gamma=feature_vector(gamma, c, 1.0, where["gamma"]),
        beta=feature_vector(beta, c, 0.0, where["beta"]),
        eps=eps,
        training=training,
        running_mean=rm,
        running_var=rv,
        momentum=momentum,
    )
    if training and result.m < 2:
        raise InputError(
            f"each feature has only {result.m} value (m = 1): the variance is 0 and the "
            "gradient identically zero; PyTorch refuses this too ('Expected more than 1 "
            "value per channel when training')",
            hint="give at least two samples, or use --eval with running statistics",
        )
    return result


def statistics(s: BatchNormSetup, mo: Moments) -> BatchNormStats:
    """The per-feature quantities, the source document's staged backward in sums:

    sum dxhat = gamma sum dy      sum dxhat (x - mu) = gamma C_xdy
    dvar  = gamma C_xdy (-1/2) (var + eps)^(-3/2)
    dmu   = -invstd gamma sum dy + dvar (-2/m) sum (x - mu)   (the sum is 0 by mu's
            definition, so the second term vanishes)
    dgamma = sum dy xhat = invstd C_xdy ;  dbeta = sum dy

    In evaluation mode mu and var are the running rm, rv, and sum (x - rm) dy =
    C_xdy + (mean_x - rm) sum dy.
    """
    m, g, eps = mo.count, s.gamma, s.eps
    with np.errstate(all="ignore"):
        if s.training:
            mean, var = mo.mean_x, mo.m2_x / m
            centred = mo.c_xdy
        else:
            mean, var = s.running_mean, s.running_var
            centred = mo.c_xdy + (mo.mean_x - mean) * mo.sum_dy
        _refuse_overflow({"mean": mean, "var": var})
        if not (var + eps > 0).all():
            j = int(np.argmax(var + eps <= 0))
            raise InputError(
                f"feature {j} is constant (variance 0) and eps is 0: xhat would divide by zero",
                where="eps",
                hint="use eps > 0 (PyTorch's default is 1e-5)",
            )
        invstd = 1.0 / np.sqrt(var + eps)
        dvar = g * centred * -0.5 * (var + eps) ** -1.5
        dmu = -invstd * (g * mo.sum_dy)
        rm = rv = None
        if s.training:
            rm, rv = running_update(s.running_mean, s.running_var, mean, var, m, s.momentum)
        # |x - mu| <= |mean_x - mu| + sqrt(M2) and |dy| <= sqrt(sum dy^2), per feature
        xc = np.abs(mo.mean_x - mean) + np.sqrt(mo.m2_x)
        dy_bound = np.sqrt(mo.ss_dy)
        xhat = float(np.max(xc * invstd))
        dxhat = float(np.max(np.abs(g) * dy_bound))
        dx = float(np.max(np.abs(g) * dy_bound * invstd + xc * 2 * np.abs(dvar) / m))
        bounds = {
            "xhat": xhat * 1.01,
            "y": float(np.max(np.abs(g) * xhat + np.abs(s.beta))) * 1.01,
            "dxhat": dxhat * 1.01,
            "dx": (dx + float(np.max(np.abs(dmu))) / m) * 1.01,
        }
        stats = BatchNormStats(
            warnings=_degenerate_features(var, eps, invstd) if s.training else (),
            setup=s,
            mean=mean,
            var=var,
            invstd=invstd,
            dvar=dvar,
            dmu=dmu,
            dgamma=invstd * centred,
            dbeta=mo.sum_dy,
            bounds=bounds,
            running_mean=rm,
            running_var=rv,
        )
    _refuse_overflow(
        {
            n: getattr(stats, n)
            for n in ("dvar", "dmu", "dgamma", "dbeta", "running_mean", "running_var")
        },
        stats,
    )
    return stats


def _degenerate_features(var: Array, eps: float, invstd: Array) -> tuple[str, ...]:
    """A warning per feature whose variance is below eps (0 for a constant feature): its
    xhat is about 0 and its dx is dxhat scaled by 1/sqrt(var + eps), 316 for eps = 1e-5."""
    low = np.flatnonzero(var < eps)
    if not low.size:
        return ()
    shown = ", ".join(str(int(j)) for j in low[:5]) + (", ..." if low.size > 5 else "")
    j = int(low[0])
    return (
        f"feature{'s' if low.size > 1 else ''} {shown}: variance {float(var[j]):.3g} is below "
        f"eps = {eps:g}, so xhat is about 0 and dx is dxhat scaled by 1/sqrt(var + eps) = "
        f"{float(invstd[j]):.3g} (a constant feature, or values closer than sqrt(eps))",
    )


def per_sample(stats: BatchNormStats, name: str, x: Array, dy: Array) -> Array:
    """One per-sample quantity for a block of rows of x and dy (`per_sample_all`)."""
    return per_sample_all(stats, (name,), x, dy)[name]


def per_sample_all(
    stats: BatchNormStats, names: Iterable[str], x: Array, dy: Array
) -> dict[str, Array]:
    """Per-sample quantities for a block of rows of x and dy, sharing x - mu:

    xhat = (x - mu) invstd     y = gamma xhat + beta     dxhat = dy gamma
    dx = dxhat invstd + dvar 2 (x - mu) / m + dmu / m   (training)
    dx = dxhat invstd                                   (evaluation)

    Each is computed in the same steps whichever others are asked for, so that it is the
    same to the last bit."""
    f, s = stats.feature, stats.setup
    wanted = set(names)
    out: dict[str, Array] = {}
    with np.errstate(all="ignore"):
        xc = None
        if wanted & {"xhat", "y"} or ("dx" in wanted and s.training):
            xc = x - f(stats.mean)
        if wanted & {"xhat", "y"}:
            assert xc is not None
            xhat = xc * f(stats.invstd)
            out["xhat"] = xhat
            if "y" in wanted:
                y = xhat * f(s.gamma) if "xhat" in wanted else xhat
                if "xhat" not in wanted:
                    y *= f(s.gamma)
                y += f(s.beta)
                out["y"] = y
        if wanted & {"dxhat", "dx"}:
            dxhat = dy * f(s.gamma)  # dxhat first: gamma invstd alone may overflow
            out["dxhat"] = dxhat
            if "dx" in wanted:
                dx = dxhat * f(stats.invstd) if "dxhat" in wanted else dxhat
                if "dxhat" not in wanted:
                    dx *= f(stats.invstd)
                if s.training:
                    assert xc is not None
                    xc *= f(stats.dvar * (2.0 / s.m))  # (x - mu) is not needed any more
                    dx += xc
                    dx += f(stats.dmu / s.m)
                out["dx"] = dx
    unknown = wanted - set(PER_SAMPLE)
    if unknown:  # pragma: no cover - the callers name only these
        raise ValueError(f"unknown per-sample quantity {sorted(unknown)}")
    return {name: out[name] for name in PER_SAMPLE if name in wanted}


def check_outputs(stats: BatchNormStats, blocks: Iterable[tuple[Array, Array]]) -> None:
    """Refuse a batch whose per-sample outputs overflow float64, before any is written.

    Free when the bounds from the moments are finite (always, but for values near
    1e154 and beyond); otherwise every block is computed once and looked at."""
    if stats.outputs_finite:
        return
    for x, dy in blocks:
        _refuse_overflow(dict(per_sample_all(stats, PER_SAMPLE, x, dy)), stats)


PER_SAMPLE = ("xhat", "y", "dxhat", "dx")


def _refuse_overflow(values: dict[str, Array | None], stats: BatchNormStats | None = None) -> None:
    """InputError naming the first quantity that overflowed float64, and why."""
    rescale = "rescale x (batch norm does not change under x -> x / c, eps aside)"
    for name, value in values.items():
        if value is None or np.isfinite(value).all():
            continue
        if stats is None or name in ("running_mean", "running_var"):
            raise InputError(
                f"{name} overflows float64: the squares of x - mean exceed 1.8e308",
                hint=rescale,
            )
        smallest = float(np.min(stats.var + stats.setup.eps))
        raise InputError(
            f"{name} overflows float64 (beyond 1.8e308): it multiplies x - mean, dy, "
            f"gamma and 1/sqrt(var + eps), and here the smallest var + eps is "
            f"{smallest:.3g}",
            hint=f"{rescale} or dy, or give a larger --eps for a constant feature",
        )


def batchnorm_forward(
    x: Array,
    gamma: Array,
    beta: Array,
    eps: float = DEFAULT_EPS,
    channel_axis: int = 1,
) -> BatchNormForward:
    """Training-mode forward: batch statistics, two-pass variance, float64."""
    axes = reduce_axes(x.ndim, channel_axis)
    g = _as_feature(gamma, x.ndim, channel_axis)
    b = _as_feature(beta, x.ndim, channel_axis)
    mean = x.mean(axis=axes, keepdims=True)
    # one refinement step: the mean of what is left corrects the rounding of the first
    # sum (to about an ulp), which large offsets would otherwise carry into var and dvar
    xc = x - mean
    correction = xc.mean(axis=axes, keepdims=True)
    mean = mean + correction
    xc -= correction
    # three arrays of x's size in all (xc, xhat, y): each new one costs its page faults
    xhat = np.multiply(xc, xc)
    var = xhat.mean(axis=axes, keepdims=True)
    invstd = 1.0 / np.sqrt(var + eps)
    np.multiply(xc, invstd, out=xhat)
    y = xhat * g
    y += b
    return BatchNormForward(x, g, b, eps, channel_axis, mean, var, invstd, xhat, y)


def batchnorm_forward_eval(
    x: Array,
    gamma: Array,
    beta: Array,
    running_mean: Array,
    running_var: Array,
    eps: float = DEFAULT_EPS,
    channel_axis: int = 1,
) -> BatchNormForward:
    """Evaluation-mode forward: xhat = (x - rm) / sqrt(rv + eps)."""
    nd = x.ndim
    g, b = _as_feature(gamma, nd, channel_axis), _as_feature(beta, nd, channel_axis)
    mean = _as_feature(running_mean, nd, channel_axis)
    var = _as_feature(running_var, nd, channel_axis)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean) * invstd
    y = g * xhat + b
    return BatchNormForward(x, g, b, eps, channel_axis, mean, var, invstd, xhat, y, False)


def batchnorm_backward(fwd: BatchNormForward, dy: Array) -> BatchNormResult:
    """The source document's six derivatives for a forward pass (`statistics` gives the
    per-feature ones, `per_sample` the rest); in evaluation mode the statistics are
    constants: dx = dxhat * invstd, and dvar / dmu are the gradients with respect to the
    running variance and mean."""
    s = BatchNormSetup(
        shape=fwd.x.shape,
        channel_axis=fwd.channel_axis,
        gamma=fwd.gamma.reshape(-1),
        beta=fwd.beta.reshape(-1),
        eps=fwd.eps,
        training=fwd.training,
        running_mean=fwd.per_feature(fwd.mean),
        running_var=fwd.per_feature(fwd.var),
        momentum=DEFAULT_MOMENTUM,
    )
    stats = statistics(s, whole_moments(fwd.x, dy, fwd.channel_axis))
    return result_of(stats, fwd.x, dy)


def result_of(stats: BatchNormStats, x: Array, dy: Array) -> BatchNormResult:
    """Every quantity of a batch held in memory (x and dy whole), the per-sample ones
    computed block by block (`hw3cli.core.blocks`) into arrays of x's shape."""
    per_sample_arrays = {name: np.empty_like(x) for name in PER_SAMPLE}

    def fill(rows: slice) -> None:
        for name, value in per_sample_all(stats, PER_SAMPLE, x[rows], dy[rows]).items():
            per_sample_arrays[name][rows] = value

    for _ in map_blocks(fill, row_blocks(x.shape)):
        pass
    return BatchNormResult(
        mean=stats.mean,
        var=stats.var,
        **per_sample_arrays,
        dvar=stats.dvar,
        dmu=stats.dmu,
        dgamma=stats.dgamma,
        dbeta=stats.dbeta,
        m=stats.setup.m,
        eps=stats.setup.eps,
        training=stats.setup.training,
        running_mean=stats.running_mean,
        running_var=stats.running_var,
    )


def batchnorm_dx_compact(fwd: BatchNormForward, dy: Array) -> Array:
    """dx = (invstd / m) * (m * dxhat - sum dxhat - xhat * sum(dxhat * xhat)).

    The form frameworks compute; equal to the staged dx (a test holds them equal).
    """
    axes = fwd.reduce_axes
    m = fwd.m
    dxhat = dy * fwd.gamma
    sum_dxhat = dxhat.sum(axis=axes, keepdims=True)
    sum_dxhat_xhat = (dxhat * fwd.xhat).sum(axis=axes, keepdims=True)
    result: Array = (fwd.invstd / m) * (m * dxhat - sum_dxhat - fwd.xhat * sum_dxhat_xhat)
    return result


def running_update(
    running_mean: Array,
    running_var: Array,
    mean: Array,
    var: Array,
    m: int,
    momentum: float = DEFAULT_MOMENTUM,
) -> tuple[Array, Array]:
    """PyTorch's convention: rm' = (1 - momentum) rm + momentum mu;
    rv' = (1 - momentum) rv + momentum var m / (m - 1) (the unbiased variance)."""
    rm = (1.0 - momentum) * running_mean + momentum * mean
    rv = (1.0 - momentum) * running_var + momentum * var * m / (m - 1)
    return rm, rv


def batchnorm(
    x: Array,
    dy: Array,
    gamma: Array | None = None,
    beta: Array | None = None,
    eps: float = DEFAULT_EPS,
    channel_axis: int = 1,
    *,
    training: bool = True,
    running_mean: Array | None = None,
    running_var: Array | None = None,
    momentum: float = DEFAULT_MOMENTUM,
) -> BatchNormResult:
    """Forward and backward in one call, with every input checked (`setup`).

    ``x`` and ``dy`` have the same shape, rank 2 (m x D, ``channel_axis`` 1) or higher
    (``channel_axis`` names the channel). In training mode the result carries the
    updated running statistics. The batch goes through `moments`, `statistics` and
    `per_sample` in blocks of rows, as a batch read block by block from a file does.
    """
    s = setup(
        x.shape,
        dy.shape,
        gamma,
        beta,
        eps,
        channel_axis,
        training=training,
        running_mean=running_mean,
        running_var=running_var,
        momentum=momentum,
    )
    stats = statistics(s, whole_moments(x, dy, s.channel_axis))
    check_outputs(stats, [(x[rows], dy[rows]) for rows in row_blocks(x.shape)])
    return result_of(stats, x, dy)


def feature_vector(v: Array | None, c: int, default: float, what: str) -> Array:
    """A per-feature vector of length C: ``default`` when None, one number for every
    feature, or C numbers in a vector, a row or a column (at most one axis longer than 1,
    so that PyTorch's (1, C, 1, 1) works too). ``what`` names it in errors."""
    if v is None:
        return np.full(c, default)
    v = np.asarray(v, dtype=np.float64)
    if sum(n > 1 for n in v.shape) > 1:
        raise InputError(
            f"has shape {shape_text(v.shape)}; expected {c} numbers, one per feature "
            "(channel) of x",
            where=what,
            hint="give a list (1,2,3), or a file with one row or one column",
        )
    v = v.reshape(-1)
    if v.size == 1 and c != 1:
        return np.full(c, float(v[0]))
    if v.size != c:
        raise InputError(
            f"has {plural(v.size, 'value')} but x has {plural(c, 'feature')} (channels)",
            where=what,
        )
    return v


def gradcheck_batchnorm(
    x: Array,
    dy: Array,
    gamma: Array,
    beta: Array,
    result: BatchNormResult,
    eps: float,
    channel_axis: int,
    *,
    running_mean: Array | None = None,
    running_var: Array | None = None,
    max_entries: int = 200,
    seed: int = 0,
) -> GradCheck:
    """Check dx, dgamma and dbeta against central differences of f = sum(y * dy).

    ``gamma``/``beta`` are vectors of length C; in evaluation mode (``result.training``
    false) the running statistics are held fixed, as the forward pass uses them.
    """
    c = x.shape[channel_axis]
    rm = running_mean if running_mean is not None else np.zeros(c)
    rv = running_var if running_var is not None else np.ones(c)

    def part(xv: Array, g: Array, b: Array, j: int) -> float:
        """The terms of f = sum(y * dy) that belong to feature j, from feature j alone
        (``xv`` holds that feature only; ``g`` and ``b`` its gamma and beta)."""
        one = slice(j, j + 1)
        if result.training:
            y = batchnorm_forward(xv, g, b, eps, channel_axis).y
        else:
            y = batchnorm_forward_eval(xv, g, b, rm[one], rv[one], eps, channel_axis).y
        return float((y * feature(dy, j)).sum())

    def feature(v: Array, j: int) -> Array:
        where = [slice(None)] * v.ndim
        where[channel_axis] = slice(j, j + 1)
        return v[tuple(where)]

    # each entry is differenced through its own feature's terms: an x entry's feature is
    # its channel coordinate, a gamma or beta entry's its only one
    def x_part(v: Array, i: tuple[int, ...]) -> float:
        j = i[channel_axis]
        return part(feature(v, j), gamma[j : j + 1], beta[j : j + 1], j)

    targets: dict[str, tuple[Array, Array, Any]] = {
        "dx": (x, result.dx, x_part),
        "dgamma": (
            gamma,
            result.dgamma,
            lambda v, i: part(feature(x, i[0]), v[i[0] : i[0] + 1], beta[i[0] : i[0] + 1], i[0]),
        ),
        "dbeta": (
            beta,
            result.dbeta,
            lambda v, i: part(feature(x, i[0]), gamma[i[0] : i[0] + 1], v[i[0] : i[0] + 1], i[0]),
        ),
    }
    checks = [
        check_gradient(name, f, value, analytic, max_entries=max_entries, seed=seed)
        for name, (value, analytic, f) in targets.items()
    ]
    verdict = combine(checks)
    spread = np.sqrt(result.var + eps)
    if spread.min() < 1e3 * STEP:
        j = int(np.argmin(spread))
        note = (
            f"feature {j}: sqrt(var + eps) = {spread[j]:.3g} is within 1000 steps h = {STEP:g} "
            "of zero, where central differences lose their accuracy: a failure here may be "
            "the check's, not the gradient's"
        )
        verdict = replace(verdict, notes=(*verdict.notes, note))
    return verdict


def gradcheck_features(
    s: BatchNormSetup,
    pairs: Iterable[tuple[Array, Array]],
    features: Sequence[int],
    *,
    max_entries: int = 200,
    seed: int = 0,
) -> GradCheck:
    """`gradcheck_batchnorm` on a batch read block by block: the ``features`` (channels)
    gathered from every block of (x, dy), whole batch long, and checked as a batch of
    their own (each feature's statistics and gradients involve that feature alone, so
    these are the input's own); indices are the input's."""
    axis = s.channel_axis
    picked = np.asarray(features, dtype=np.intp)
    xs, dys = [], []
    for xb, dyb in pairs:
        xs.append(np.take(xb, picked, axis=axis))
        dys.append(np.take(dyb, picked, axis=axis))
    x, dy = np.concatenate(xs), np.concatenate(dys)
    gamma, beta = s.gamma[picked], s.beta[picked]
    rm, rv = s.running_mean[picked], s.running_var[picked]
    result = batchnorm(
        x, dy, gamma, beta, s.eps, axis, training=s.training, running_mean=rm, running_var=rv
    )
    check = gradcheck_batchnorm(
        x,
        dy,
        gamma,
        beta,
        result,
        s.eps,
        axis,
        running_mean=rm,
        running_var=rv,
        max_entries=max_entries,
        seed=seed,
    )
    c = s.shape[axis]

    def index(e: EntryError) -> tuple[int, ...]:
        where = list(e.index)
        at = axis if e.name == "dx" else 0
        where[at] = int(picked[where[at]])
        return tuple(where)

    shown = ", ".join(map(str, picked[:8])) + (", ..." if picked.size > 8 else "")
    note = (
        f"checked on {picked.size} of {c} features ({shown}), each over the whole batch: "
        "as many as a check holds in memory"
    )
    return relabel(check, index, total=math.prod(s.shape) + 2 * c, note=note)
