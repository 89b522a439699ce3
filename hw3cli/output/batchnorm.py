"""bn-grad results as JSON objects, NPZ arrays, a Rich table and an explanation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

import numpy as np

from hw3cli.core.batchnorm import BatchNormResult, BatchNormStats
from hw3cli.output.numbers import num, term, terms, vec

Array = np.ndarray[Any, np.dtype[np.float64]]


def result_arrays(result: BatchNormResult, affine: bool = True) -> dict[str, Any]:
    """Every quantity by name (the NPZ output holds exactly these); without affine
    parameters there is no dgamma or dbeta."""
    arrays: dict[str, Any] = {name: getattr(result, name) for name in BatchNormResult.NAMES}
    if not affine:
        del arrays["dgamma"], arrays["dbeta"]
    if result.running_mean is not None:
        arrays["running_mean"] = result.running_mean
        arrays["running_var"] = result.running_var
    return arrays


def npz_members(
    stats: BatchNormStats,
    per_sample: Callable[[str], Iterable[Array]],
    sample_shape: tuple[int, ...],
    affine: bool = True,
) -> Iterator[tuple[str, tuple[int, ...], Iterable[Array]]]:
    """The NPZ output's members, named and ordered as `result_arrays`: per-sample ones
    block by block from ``per_sample(name)``, per-feature ones from ``stats``."""
    names = [n for n in BatchNormResult.NAMES if affine or n not in ("dgamma", "dbeta")]
    if stats.running_mean is not None:
        names += ["running_mean", "running_var"]
    for name in names:
        if name in BatchNormResult.PER_SAMPLE:
            yield name, sample_shape, per_sample(name)
        else:
            value = getattr(stats, name)
            yield name, tuple(value.shape), [value]


def result_json(
    result: BatchNormResult, extra: dict[str, Any], affine: bool = True
) -> dict[str, Any]:
    """The JSON object: every quantity (dgamma and dbeta null without affine), m, eps, mode."""
    arrays = result_arrays(result, affine)
    obj: dict[str, Any] = {name: arrays.pop(name, None) for name in BatchNormResult.NAMES}
    obj.update(arrays)
    obj.update({"m": result.m, "eps": result.eps, "mode": "train" if result.training else "eval"})
    obj.update(extra)
    return obj


def as_rows(a: Array, channel_axis: int) -> Array:
    """A per-sample array as a matrix of (values x channels), for previews."""
    if a.ndim <= 2:
        return a.reshape(a.shape[0], -1) if a.ndim == 2 else a.reshape(-1, 1)
    moved = np.moveaxis(a, channel_axis, -1)
    return moved.reshape(-1, moved.shape[-1])


def render_table(
    result: BatchNormResult,
    emit: str,
    channel_axis: int,
    explanation: list[str] | None,
    stream: IO[str],
    colour: bool,
    max_rows: int = 8,
    header: Sequence[str] | None = None,
) -> None:
    """Per-feature statistics and gradients (every one: folded into several tables when
    the terminal is narrow), then a preview of the emitted matrix (as many columns as the
    width holds). Numbers and headers are never cut; columns carry the CSV header's
    names when the input had one."""
    from hw3cli.output.console import Column, Text, make_console, print_folded, print_preview

    console = make_console(stream, colour)
    mode = "training" if result.training else "evaluation"
    names = ("mean", "var", "dvar", "dmu", "dgamma", "dbeta")
    c = result.mean.size
    labels = list(header) if header is not None and len(header) == c else list(map(str, range(c)))
    shown = list(range(c)) if c <= 2 * max_rows else [*range(max_rows), -1, *range(c - 2, c)]

    def cells(values: Array) -> list[str]:
        return ["..." if j < 0 else num(values[j]) for j in shown]

    print_folded(
        console,
        f"bn-grad: {mode} mode, m = {result.m} values per feature, eps = {result.eps:g}",
        Column("feature", ["..." if j < 0 else labels[j] for j in shown]),
        [Column(name, cells(getattr(result, name))) for name in names],
    )
    print_preview(console, emit, as_rows(getattr(result, emit), channel_axis), labels, max_rows)
    if result.running_mean is not None and result.running_var is not None:
        console.print(Text(f"running mean after update: {vec(result.running_mean)}"))
        console.print(Text(f"running var after update:  {vec(result.running_var)}"))
    for line in explanation or []:
        console.print(Text(line), soft_wrap=True)


def explain(
    result: BatchNormResult,
    x: Array,
    dy: Array,
    gamma: Array,
    beta: Array,
    channel_axis: int,
    feature: int,
) -> list[str]:
    """The source document's six derivatives with one feature's numbers put in."""
    xs = as_rows(x, channel_axis)[:, feature]
    dys = as_rows(dy, channel_axis)[:, feature]
    dxhat = as_rows(result.dxhat, channel_axis)[:, feature]
    xhat = as_rows(result.xhat, channel_axis)[:, feature]
    dx = as_rows(result.dx, channel_axis)[:, feature]
    y = as_rows(result.y, channel_axis)[:, feature]
    m, eps = result.m, result.eps
    mu, var = result.mean[feature], result.var[feature]
    g, b = gamma[feature], beta[feature]
    dvar, dmu = result.dvar[feature], result.dmu[feature]
    xc = xs - mu
    sd = f"sqrt({num(var)} + {num(eps)})"
    lines = [
        f"Feature {feature} of {result.mean.size}: m = {m} values, eps = {num(eps)}, "
        f"gamma = {num(g)}, beta = {num(b)}",
        f"  x     = {vec(xs)}",
        f"  dl/dy = {vec(dys)}",
    ]
    if not result.training:
        lines += [
            "Evaluation mode: the running statistics are constants.",
            f"xhat_i = (x_i - rm) / sqrt(rv + eps) = (x_i - {num(mu)}) / {sd} = {vec(xhat)}",
            f"y_i = gamma * xhat_i + beta = {vec(y)}",
            f"1. dl/dxhat_i = dl/dy_i * gamma = {vec(dys)} * {num(g)} = {vec(dxhat)}",
            f"4. dl/dx_i = dl/dxhat_i / sqrt(rv + eps) = {vec(dxhat)} / {sd} = {vec(dx)}",
            f"   (dl/drv = {num(dvar)} and dl/drm = {num(dmu)}: gradients with respect to the "
            "running statistics used)",
            f"5. dl/dgamma = sum_i dl/dy_i * xhat_i = {num(result.dgamma[feature])}",
            f"6. dl/dbeta = sum_i dl/dy_i = {num(result.dbeta[feature])}",
        ]
        return lines
    s_dxhat_xc = float((dxhat * xc).sum())
    s_dxhat = float(dxhat.sum())
    s_xc = float(xc.sum())
    lines += [
        f"mu  = (1/m) sum_i x_i = ({terms(xs)}) / {m} = {num(mu)}",
        f"var = (1/m) sum_i (x_i - mu)^2 = ({_squares(xc)}) / {m} = {num(var)}",
        f"xhat_i = (x_i - mu) / sqrt(var + eps) = (x_i - {term(mu)}) / {sd} = {vec(xhat)}",
        f"y_i = gamma * xhat_i + beta = {term(g)} * xhat_i + {term(b)} = {vec(y)}",
        "",
        "1. dl/dxhat_i = dl/dy_i * gamma",
        f"             = {vec(dys)} * {term(g)} = {vec(dxhat)}",
        "2. dl/dvar = sum_i dl/dxhat_i * (x_i - mu) * (-1/2) * (var + eps)^(-3/2)",
        f"           = {term(s_dxhat_xc)} * (-1/2) * ({num(var)} + {num(eps)})^(-3/2)"
        f" = {num(dvar)}",
        "3. dl/dmu = sum_i dl/dxhat_i * (-1/sqrt(var + eps)) + dl/dvar * sum_i -2(x_i - mu) / m",
        f"          = {term(s_dxhat)} * (-1/{sd}) + {term(dvar)} * {term(-2 * s_xc)} / {m}"
        f" = {num(dmu)}",
        "4. dl/dx_i = dl/dxhat_i / sqrt(var + eps) + dl/dvar * 2(x_i - mu) / m + dl/dmu / m",
        f"          = {vec(dxhat)} / {sd} + {term(dvar)} * 2 * {vec(xc)} / {m} + {term(dmu)} / {m}",
        f"          = {vec(dx)}",
        "   (the source document writes -1/sqrt(var + eps) in the first term; the sign is +)",
        "5. dl/dgamma = sum_i dl/dy_i * xhat_i",
        f"            = {_products(dys, xhat)} = {num(result.dgamma[feature])}",
        "6. dl/dbeta = sum_i dl/dy_i",
        f"           = {terms(dys)} = {num(result.dbeta[feature])}",
    ]
    return lines


def _squares(xc: Array) -> str:
    shown = [f"({num(v)})^2" for v in xc[:4]]
    if xc.size > 4:
        shown.append("...")
    return " + ".join(shown)


def _products(a: Array, b: Array) -> str:
    shown = [f"{term(u)}*{term(v)}" for u, v in zip(a[:4], b[:4], strict=True)]
    if a.size > 4:
        shown.append("...")
    return " + ".join(shown)


# --- the derivation as Markdown or LaTeX -------------------------------------------------

# the source document's symbols
_DL = "\\frac{\\partial l}{\\partial "
_SD = "\\sqrt{\\sigma_B^2 + \\epsilon}"


def _d(of: str) -> str:
    return _DL + of + "}"


D_Y, D_XHAT, D_VAR, D_MU = _d("y_i"), _d("\\hat{x}_i"), _d("\\sigma_B^2"), _d("\\mu_B")


def derivation(
    result: BatchNormResult,
    x: Array,
    dy: Array,
    gamma: Array,
    beta: Array,
    channel_axis: int,
    feature: int,
    affine: bool = True,
) -> Any:
    """The source document's forward lines and six derivatives for one feature, each as
    its formula, with the numbers put in, and its value; the whole batch written out up
    to `WHOLE` values (without ``affine`` parameters: gamma 1 and beta 0, and no dgamma
    or dbeta). Every value is core's (``result``); only the printing is here."""
    from hw3cli.output.derivation import (
        BREAK,
        Block,
        Derivation,
        Line,
        shown_indices,
        tex_num,
        tex_term,
        vector,
        wrapped_sum,
    )

    def column(a: Array) -> Array:
        return as_rows(a, channel_axis)[:, feature]

    xs, dys = column(x), column(dy)
    xhat, y, dxhat, dx = (column(getattr(result, n)) for n in ("xhat", "y", "dxhat", "dx"))
    m, eps = result.m, result.eps
    mu, var = result.mean[feature], result.var[feature]
    g, b = gamma[feature], beta[feature]
    dvar, dmu = result.dvar[feature], result.dmu[feature]
    dgamma, dbeta = result.dgamma[feature], result.dbeta[feature]
    mu_t, var_t, eps_t = tex_term(mu), tex_num(var), tex_num(eps)
    sd = f"\\sqrt{{{var_t} + {eps_t}}}"
    idx = shown_indices(m)

    def each(lhs: str, symbolic: str, numbers: Any, values: Array) -> list[Line]:
        """A per-sample line: the formula once, then one line per sample written out."""
        lines = [Line(lhs.replace("#", "i"), (symbolic,))]
        for i in idx:
            if i is None:
                lines.append(Line("\\vdots", (), rel=""))
                continue
            text, value = numbers(i), tex_num(values[i])
            steps = (text, value) if len(text) > 100 else (f"{text} = {value}",)
            index = str(i + 1) if i < 9 else f"{{{i + 1}}}"  # (x_{10}, not x_1 0)
            lines.append(Line(lhs.replace("#", index), steps))
        return lines

    def total(terms: list[str]) -> str:
        return wrapped_sum(terms)

    data = (
        f"Feature {feature} of {result.mean.size}: $m = {m}$ values, "
        + (
            f"$\\epsilon = {eps_t}$, $\\gamma = {tex_num(g)}$, $\\beta = {tex_num(b)}$"
            if affine
            else f"$\\epsilon = {eps_t}$, no affine parameters ($\\gamma = 1$, $\\beta = 0$ fixed)"
        )
        + ("; the first and last values of each vector (JSON has them all)." if m > 16 else ".")
    )
    given = [Line("x", (vector(xs),)), Line(D_Y.replace("_i", ""), (vector(dys),))]
    products_y = [f"{tex_term(u)} \\cdot {tex_term(v)}" for u, v in zip(dys, xhat, strict=True)]
    parameters = [  # the last two derivatives, the same in both modes (with affine ones)
        Line(
            _d("\\gamma"),
            (f"\\sum_{{i=1}}^{{m}} {D_Y} \\hat{{x}}_i", total(products_y), tex_num(dgamma)),
        ),
        Line(
            _d("\\beta"),
            (f"\\sum_{{i=1}}^{{m}} {D_Y}", total([tex_term(u) for u in dys]), tex_num(dbeta)),
        ),
    ][: 2 if affine else 0]
    if not result.training:
        forward = each(
            "\\hat{x}_#",
            "\\frac{x_i - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}",
            lambda i: f"\\frac{{{tex_num(xs[i])} - {mu_t}}}{{{sd}}}",
            xhat,
        )
        backward = [
            *each(
                _d("\\hat{x}_#"),
                _d("y_i") + " \\gamma",
                lambda i: f"{tex_term(dys[i])} \\cdot {tex_term(g)}",
                dxhat,
            ),
            *each(
                _d("x_#"),
                _d("\\hat{x}_i") + " \\frac{1}{\\sqrt{\\sigma^2 + \\epsilon}}",
                lambda i: f"\\frac{{{tex_term(dxhat[i])}}}{{{sd}}}",
                dx,
            ),
            *parameters,
        ]
        return Derivation(
            f"Batch normalisation, evaluation mode: feature {feature}",
            (
                Block(
                    text=(
                        data,
                        f"The running statistics $\\mu = {mu_t}$ and "
                        f"$\\sigma^2 = {var_t}$ are constants here.",
                    ),
                    lines=(*given, *forward),
                ),
                Block(title="Backward", lines=tuple(backward)),
            ),
        )

    forward = [
        Line(
            "\\mu_B",
            (
                "\\frac{1}{m} \\sum_{i=1}^{m} x_i",
                f"\\frac{{1}}{{{m}}} ({total([tex_term(v) for v in xs])})",
                tex_num(mu),
            ),
        ),
        Line(
            "\\sigma_B^2",
            (
                "\\frac{1}{m} \\sum_{i=1}^{m} (x_i - \\mu_B)^2",
                f"\\frac{{1}}{{{m}}} ({total([f'({tex_num(v)} - {mu_t})^2' for v in xs])})",
                tex_num(var),
            ),
        ),
        *each(
            "\\hat{x}_#",
            f"\\frac{{x_i - \\mu_B}}{{{_SD}}}",
            lambda i: f"\\frac{{{tex_num(xs[i])} - {mu_t}}}{{{sd}}}",
            xhat,
        ),
        *each(
            "y_#",
            "\\gamma \\hat{x}_i + \\beta",
            lambda i: f"{tex_term(g)} \\cdot {tex_term(xhat[i])} + {tex_term(b)}",
            y,
        ),
    ]
    centred = [f"({tex_num(v)} - {mu_t})" for v in xs]
    products = list(zip(dxhat, centred, strict=True))
    backward = [
        *each(
            _d("\\hat{x}_#"),
            _d("y_i") + " \\gamma",
            lambda i: f"{tex_term(dys[i])} \\cdot {tex_term(g)}",
            dxhat,
        ),
        Line(
            _d("\\sigma_B^2"),
            (
                f"\\sum_{{i=1}}^{{m}} {D_XHAT} (x_i - \\mu_B) \\cdot \\frac{{-1}}{{2}} "
                "(\\sigma_B^2 + \\epsilon)^{-3/2}",
                f"\\bigl[{total([f'{tex_term(u)} {c}' for u, c in products])}\\bigr]{BREAK}"
                f"\\cdot \\frac{{-1}}{{2}} ({var_t} + {eps_t})^{{-3/2}}",
                tex_num(dvar),
            ),
        ),
        Line(
            _d("\\mu_B"),
            (
                f"\\left(\\sum_{{i=1}}^{{m}} {D_XHAT} \\cdot \\frac{{-1}}{{{_SD}}}\\right){BREAK}"
                f"+ {D_VAR} \\frac{{\\sum_{{i=1}}^{{m}} -2 (x_i - \\mu_B)}}{{m}}",
                f"({total([tex_term(u) for u in dxhat])}){BREAK}\\cdot \\frac{{-1}}{{{sd}}}{BREAK}"
                f"+ {tex_term(dvar)} \\cdot \\frac{{-2}}{{{m}}}{BREAK}"
                f"\\cdot \\bigl[{total(centred)}\\bigr]",
                tex_num(dmu),
            ),
        ),
        *each(
            _d("x_#"),
            f"{D_XHAT} \\frac{{1}}{{{_SD}}} + {D_VAR} "
            f"\\frac{{2 (x_i - \\mu_B)}}{{m}} + {D_MU} \\frac{{1}}{{m}}",
            lambda i: (
                f"\\frac{{{tex_term(dxhat[i])}}}{{{sd}}} + {tex_term(dvar)} \\cdot "
                f"\\frac{{2 {centred[i]}}}{{{m}}}{BREAK}+ \\frac{{{tex_term(dmu)}}}{{{m}}}"
            ),
            dx,
        ),
        *parameters,
    ]
    return Derivation(
        f"Batch normalisation: feature {feature}",
        (
            Block(title="Forward", text=(data,), lines=(*given, *forward)),
            Block(
                title="Backward: the six derivatives",
                lines=tuple(backward),
                after=(
                    "The source document writes $\\frac{-1}{\\sqrt{\\sigma_B^2 + \\epsilon}}$ in "
                    "the first term of $\\frac{\\partial l}{\\partial x_i}$; the sign is $+$, as "
                    "above.",
                ),
            ),
        ),
    )
