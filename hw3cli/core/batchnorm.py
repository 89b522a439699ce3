"""Batch normalisation: forward, the source document's staged backward, the compact dx.

FORMULAS.md section 3. Per feature (for a tensor of rank 3 or more, per channel,
reducing over every other axis; m = the number of values reduced):

    mu = (1/m) sum x            var = (1/m) sum (x - mu)^2   (biased, two-pass, float64)
    invstd = 1 / sqrt(var + eps)    xhat = (x - mu) * invstd    y = gamma * xhat + beta

Every quantity of the derivation is returned, so that each line of it can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from hw3cli.core.gradcheck import STEP, GradCheck, check_gradient, combine
from hw3cli.errors import InputError, shape_text

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
    """All ten quantities of FORMULAS.md section 3, per-feature ones as vectors of length C.

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
    """The source document's six derivatives, in its staged form.

    dxhat = dy * gamma
    dvar  = sum dxhat * (x - mu) * (-1/2) * (var + eps)^(-3/2)
    dmu   = -invstd * sum dxhat + dvar * (-2/m) * sum (x - mu)
    dx    = dxhat * invstd + dvar * 2 (x - mu) / m + dmu / m
    dgamma = sum dy * xhat ;  dbeta = sum dy

    In evaluation mode the statistics are constants: dx = dxhat * invstd, and dvar / dmu
    are the gradients with respect to the running variance and mean.
    """
    axes = fwd.reduce_axes
    m = fwd.m
    xc = fwd.x - fwd.mean
    dxhat = dy * fwd.gamma
    scratch = np.multiply(dxhat, xc)  # reused below for dy * xhat: fewer new arrays
    dvar = scratch.sum(axis=axes, keepdims=True) * -0.5 * (fwd.var + fwd.eps) ** -1.5
    dmu = -fwd.invstd * dxhat.sum(axis=axes, keepdims=True)
    if fwd.training:
        dmu = dmu + dvar * (-2.0 / m) * xc.sum(axis=axes, keepdims=True)
        # dx = dxhat * invstd + dvar * 2 (x - mu) / m + dmu / m, term by term in one
        # buffer (the per-feature factors first: two temporaries fewer)
        dx = dxhat * fwd.invstd
        xc *= dvar * (2.0 / m)
        dx += xc
        dx += dmu / m
    else:
        dx = dxhat * fwd.invstd
    return BatchNormResult(
        mean=fwd.per_feature(fwd.mean),
        var=fwd.per_feature(fwd.var),
        xhat=fwd.xhat,
        y=fwd.y,
        dxhat=dxhat,
        dvar=fwd.per_feature(dvar),
        dmu=fwd.per_feature(dmu),
        dx=dx,
        dgamma=np.multiply(dy, fwd.xhat, out=scratch).sum(axis=axes),
        dbeta=dy.sum(axis=axes),
        m=m,
        eps=fwd.eps,
        training=fwd.training,
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


def channel_count(x: Array, channel_axis: int) -> int:
    return int(x.shape[channel_axis])


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
    """Forward and backward in one call, with every input checked.

    ``x`` and ``dy`` have the same shape, rank 2 (m x D, ``channel_axis`` 1) or higher
    (``channel_axis`` names the channel). ``gamma`` and ``beta`` default to ones and
    zeros; the running statistics to zeros and ones (PyTorch's initial values). In
    training mode the result carries the updated running statistics.
    """
    if x.ndim < 2:
        raise InputError(f"x must have at least 2 axes (samples x features), got {x.ndim}")
    if not -x.ndim <= channel_axis < x.ndim:
        raise InputError(f"channel axis {channel_axis} is outside x's {x.ndim} axes")
    channel_axis %= x.ndim
    if dy.shape != x.shape:
        raise InputError(
            f"dy has shape {shape_text(dy.shape)} but x has shape {shape_text(x.shape)}",
            where="dy",
            hint="dy is the upstream gradient dL/dy, one value per value of x",
        )
    c = channel_count(x, channel_axis)
    gamma = feature_vector(gamma, c, 1.0, "gamma")
    beta = feature_vector(beta, c, 0.0, "beta")
    running_mean = feature_vector(running_mean, c, 0.0, "running mean")
    running_var = feature_vector(running_var, c, 1.0, "running var")
    if not eps >= 0 or not np.isfinite(eps):
        raise InputError(f"must be a number >= 0, got {eps}", where="eps")
    if not 0.0 <= momentum <= 1.0:
        raise InputError(f"must be between 0 and 1, got {momentum}", where="momentum")
    if not training:
        if not (running_var + eps > 0).all():
            raise InputError("running variance + eps must be positive", where="running var")
        with np.errstate(all="ignore"):
            fwd = batchnorm_forward_eval(
                x, gamma, beta, running_mean, running_var, eps, channel_axis
            )
            return _finite(batchnorm_backward(fwd, dy))
    m = x.size // c
    if m < 2:
        raise InputError(
            f"each feature has only {m} value (m = 1): the variance is 0 and the gradient "
            "identically zero; PyTorch refuses this too ('Expected more than 1 value per "
            "channel when training')",
            hint="give at least two samples, or use --eval with running statistics",
        )
    with np.errstate(all="ignore"):
        fwd = batchnorm_forward(x, gamma, beta, eps, channel_axis)
        if not (fwd.var + eps > 0).all():
            flat = fwd.var.reshape(-1)
            j = int(np.argmax(flat + eps <= 0))
            raise InputError(
                f"feature {j} is constant (variance 0) and eps is 0: xhat would divide by zero",
                where="eps",
                hint="use eps > 0 (PyTorch's default is 1e-5)",
            )
        result = batchnorm_backward(fwd, dy)
        rm, rv = running_update(running_mean, running_var, result.mean, result.var, m, momentum)
    result = BatchNormResult(
        **{name: getattr(result, name) for name in BatchNormResult.NAMES},
        m=m,
        eps=eps,
        training=True,
        running_mean=rm,
        running_var=rv,
    )
    return _finite(result)


def _finite(result: BatchNormResult) -> BatchNormResult:
    """Refuse results that overflowed float64 (inputs near 1e154 and beyond)."""
    for name in (*BatchNormResult.NAMES, "running_mean", "running_var"):
        value = getattr(result, name)
        if value is not None and not np.isfinite(value).all():
            rescale = "rescale x (batch norm does not change under x -> x / c, eps aside)"
            if name in ("mean", "var", "running_mean", "running_var"):
                raise InputError(
                    f"{name} overflows float64: the squares of x - mean exceed 1.8e308",
                    hint=rescale,
                )
            smallest = float(np.min(result.var + result.eps))
            raise InputError(
                f"{name} overflows float64 (beyond 1.8e308): it multiplies x - mean, dy, "
                f"gamma and 1/sqrt(var + eps), and here the smallest var + eps is "
                f"{smallest:.3g}",
                hint=f"{rescale} or dy, or give a larger --eps for a constant feature",
            )
    return result


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
        raise InputError(f"has {v.size} values but x has {c} features (channels)", where=what)
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
