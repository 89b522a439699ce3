"""softmax-grad results as JSON objects, NPZ arrays, a Rich table and an explanation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

import numpy as np

from hw3cli.core.softmax import SoftmaxResult, Targets
from hw3cli.errors import plural
from hw3cli.output.numbers import num, term, vec


def result_arrays(result: SoftmaxResult, jacobian: Any | None) -> dict[str, Any]:
    """Every output by name (the JSON and NPZ outputs hold exactly these)."""
    arrays: dict[str, Any] = {
        "probs": result.probs,
        "loss": result.loss,
        "losses": result.losses,
        "grad": result.grad,
    }
    if jacobian is not None:
        arrays["jacobian"] = jacobian
    return arrays


def npz_members(
    blocks: Callable[[str], Iterable[Any]],
    shape: tuple[int, int],
    loss: Any,
    losses: Any,
    jacobian: Any | None,
) -> Iterator[tuple[str, tuple[int, ...], Iterable[Any]]]:
    """The NPZ output's members, named and ordered as `result_arrays`: probs and grad
    block by block from ``blocks(name)``."""
    yield "probs", shape, blocks("probs")
    yield "loss", tuple(np.shape(loss)), [np.asarray(loss)]
    yield "losses", tuple(losses.shape), [losses]
    yield "grad", shape, blocks("grad")
    if jacobian is not None:
        yield "jacobian", tuple(jacobian.shape), [jacobian]


def result_json(
    result: SoftmaxResult, jacobian: Any | None, extra: dict[str, Any]
) -> dict[str, Any]:
    obj = result_arrays(result, jacobian)
    obj.update(
        {
            "reduction": result.reduction,
            "denominator": result.denominator,
            "ignored": [int(i) for i in np.flatnonzero(result.ignored)],
            "warnings": list(result.warnings),
        }
    )
    obj.update(extra)
    return obj


def _label_text(targets: Targets, n: int) -> str:
    if targets.indices is not None:
        return str(int(targets.indices[n]))
    return "probs"


def render_table(
    result: SoftmaxResult,
    targets: Targets,
    emit: str,
    explanation: list[str] | None,
    stream: IO[str],
    colour: bool,
    max_rows: int = 10,
    header: Sequence[str] | None = None,
) -> None:
    """Per sample: label, p of the label, loss; then the gradient (or probability)
    matrix, as many columns as the width holds, named by the CSV header when there was
    one. Numbers and headers are never cut."""
    from hw3cli.output.console import Column, Text, make_console, print_folded, print_preview

    console = make_console(stream, colour)
    n, k = result.probs.shape
    loss = result.loss
    total = vec(loss) if isinstance(loss, np.ndarray) else num(loss)
    rows = list(range(n)) if n <= max_rows + 2 else [*range(max_rows - 2), -1, n - 2, n - 1]

    def p_label(i: int) -> str:
        if result.ignored[i]:
            return "ignored"
        if targets.indices is not None:
            return num(result.probs[i, targets.indices[i]])
        return "-"

    def cells(cell: Callable[[int], str]) -> list[str]:
        return ["..." if i < 0 else cell(i) for i in rows]

    print_folded(
        console,
        f"softmax-grad: {plural(n, 'sample')}, {plural(k, 'class', 'classes')}, "
        f"reduction {result.reduction}, loss {total}",
        Column("sample", cells(str)),
        [
            Column("label", cells(lambda i: _label_text(targets, i))),
            Column("p(label)", cells(p_label)),
            Column("loss", cells(lambda i: num(result.losses[i]))),
        ],
    )
    matrix = result.grad if emit == "grad" else result.probs
    title = "dL/dz" if emit == "grad" else "softmax probabilities"
    print_preview(console, title, matrix, list(header or []), max_rows)
    for warning in result.warnings:
        console.print(Text(f"note: {warning}"), soft_wrap=True)
    for line in explanation or []:
        console.print(Text(line), soft_wrap=True)


def explain(
    result: SoftmaxResult,
    logits: Any,
    targets: Targets,
    sample: int,
    label_smoothing: float,
    weighted: bool,
) -> list[str]:
    """dL/dz_j = p_j - y_j for K classes, both cases, then the general form, with numbers."""
    z = logits[sample]
    p = result.probs[sample]
    k = p.size
    lines = [
        f"Softmax and cross-entropy, sample {sample} of {result.probs.shape[0]}, K = {k} classes",
        f"  z = {vec(z)}",
        "p_j = exp(z_j) / sum_k exp(z_k), computed stably as exp(z_j - max z - log sum_k "
        "exp(z_k - max z))",
        f"  max z = {num(z.max())}, log sum_k exp(z_k - max z) = "
        f"{num(np.log(np.exp(z - z.max()).sum()))}",
        f"  p = {vec(p)}",
    ]
    if targets.indices is not None:
        t = int(targets.indices[sample])
        if result.ignored[sample]:
            return [*lines, f"Label {t} is the ignore index: this row has loss 0 and gradient 0."]
        lines += [
            f"Target class t = {t} (y_t = 1, every other y_j = 0):",
            f"L = -sum_j y_j log p_j = -log p_t = -log {num(p[t])} = {num(-np.log(p[t]))}",
            "dL/dz_j = -(1/p_t) dp_t/dz_j, with dp_t/dz_j = p_t (delta_tj - p_j):",
            f"  j = t:  dp_t/dz_t = p_t (1 - p_t), so dL/dz_t = -(1 - p_t) = p_t - 1 = "
            f"{num(p[t])} - 1 = {num(p[t] - 1)}",
            "  j != t: dp_t/dz_j = -p_t p_j,   so dL/dz_j = p_j = p_j - 0",
            f"  together: dL/dz = p - y = {vec(p - np.eye(k)[t])}",
            "  (the source document proves the binary case y_t = 1; this is every K)",
        ]
    else:
        assert targets.probs is not None
        y = targets.probs[sample]
        lines += [
            f"Target probabilities y = {vec(y)} (sum {num(y.sum())}):",
            "L = -sum_i y_i log p_i;  d(log p_i)/dz_j = delta_ij - p_j, so",
            "dL/dz_j = -sum_i y_i (delta_ij - p_j) = p_j sum_i y_i - y_j",
            f"  = {vec(p * y.sum() - y)}  (= p - y when the row sums to 1)",
        ]
    tprime = result.smoothed[sample]
    w = result.weight
    s = float((w * tprime).sum())
    lines += [
        "General form (class weights w, label smoothing e, t' = (1 - e) t + e / K):",
        "  l = -sum_c w_c t'_c log p_c,  dl/dz_j = (sum_c w_c t'_c) p_j - w_j t'_j",
    ]
    if weighted or label_smoothing:
        lines += [
            f"  e = {num(label_smoothing)}: t' = {vec(tprime)}; w = {vec(w)}",
            f"  sum_c w_c t'_c = {num(s)}; dl/dz = {term(s)} * p - w * t' = "
            f"{vec(s * p - w * tprime)}",
        ]
    else:
        lines.append("  here w = 1 and e = 0, so it is p - y again")
    if result.reduction == "mean":
        lines.append(
            f"Reduction 'mean': every row's gradient is divided by {num(result.denominator)}: "
            f"{vec(result.grad[sample])}"
        )
    else:
        lines.append(
            f"Reduction '{result.reduction}': the row's gradient is the formula above: "
            f"{vec(result.grad[sample])}"
        )
    return lines


# --- the derivation as Markdown or LaTeX -------------------------------------------------


def derivation(
    result: SoftmaxResult,
    logits: Any,
    targets: Targets,
    row: int,
    label_smoothing: float,
    weighted: bool,
) -> Any:
    """Row ``row``'s softmax, loss and dL/dz in the source document's notation (z the
    logits, y-hat = softmax(z), y the target), with the options in force (class weights w,
    label smoothing e, the reduction) in the formulas; the K classes written out up to
    `WHOLE`. Every value is core's (``result``); only the printing is here."""
    from hw3cli.output.derivation import (
        Block,
        Derivation,
        Line,
        shown_indices,
        tex_num,
        tex_term,
        vector,
        wrapped_sum,
    )

    z, p = logits[row], result.probs[row]
    n, k = result.probs.shape
    classes = shown_indices(k)
    general = weighted or label_smoothing != 0 or targets.indices is None
    title = f"Softmax and cross-entropy: row {row} of {n}, $K = {k}$ classes"

    softmax = [
        Line("z", (vector(z),)),
        Line("\\sum_i e^{z_i}", (wrapped_sum([f"e^{{{tex_num(v)}}}" for v in z]),)),
        Line("\\hat{y}_j", ("\\frac{e^{z_j}}{\\sum_i e^{z_i}}",)),
    ]
    for j in classes:
        if j is None:
            softmax.append(Line("\\vdots", (), rel=""))
        else:
            softmax.append(
                Line(
                    f"\\hat{{y}}_{{{j}}}",
                    (f"\\frac{{e^{{{tex_num(z[j])}}}}}{{\\sum_i e^{{z_i}}}} = {tex_num(p[j])}",),
                )
            )
    blocks = [
        Block(
            title="Softmax",
            text=(
                "Computed stably as $\\hat{y}_j = e^{z_j - \\max z} / \\sum_i e^{z_i - \\max z}$, "
                "the same value.",
            ),
            lines=tuple(softmax),
        )
    ]

    target_lines: list[Line] = []
    prose: list[str] = []
    if targets.indices is not None:
        t = int(targets.indices[row])
        if result.ignored[row]:
            blocks.append(
                Block(
                    title="Target",
                    text=(
                        f"Label ${t}$ is the ignore index: this row has loss $0$ and gradient "
                        "$0$, and the mean leaves it out.",
                    ),
                )
            )
            return Derivation(title, tuple(blocks))
        prose.append(f"Target class $t = {t}$: $y_t = 1$, every other $y_j = 0$.")
    else:
        assert targets.probs is not None
        target_lines.append(Line("y", (vector(targets.probs[row]),)))
        prose.append("Target probabilities $y$ (a row of the target):")
    if label_smoothing:
        e = tex_num(label_smoothing)
        target_lines.append(
            Line(
                "y'_j",
                (
                    "(1 - \\varepsilon) y_j + \\frac{\\varepsilon}{K}",
                    f"(1 - {e}) y_j + \\frac{{{e}}}{{{k}}}",
                ),
            )
        )
        target_lines.append(Line("y'", (vector(result.smoothed[row]),)))
        prose.append(f"Label smoothing $\\varepsilon = {tex_num(label_smoothing)}$:")
    if weighted:
        target_lines.append(Line("w", (vector(result.weight),)))
        prose.append("Class weights $w$.")
    blocks.append(Block(title="Target", text=(" ".join(prose),), lines=tuple(target_lines)))

    yp = "y'" if label_smoothing else "y"
    tp = result.smoothed[row]
    w = result.weight
    loss_lines: list[Line] = []
    if not general:
        t = int(targets.indices[row])  # type: ignore[index]
        loss_lines.append(
            Line(
                "L_t",
                (
                    "-\\sum_i y_i \\log \\hat{y}_i",
                    "-\\log \\hat{y}_t",
                    f"-\\log {tex_num(p[t])}",
                    tex_num(result.losses[row]),
                ),
            )
        )
    else:
        terms = [
            f"{tex_term(w[c])} \\cdot {tex_term(tp[c])} \\log {tex_num(p[c])}" for c in range(k)
        ]
        loss_lines.append(
            Line(
                "l",
                (
                    f"-\\sum_c w_c {yp}_c \\log \\hat{{y}}_c"
                    if weighted
                    else f"-\\sum_c {yp}_c \\log \\hat{{y}}_c",
                    "-\\bigl(" + wrapped_sum(terms, width=72) + "\\bigr)",
                    tex_num(result.losses[row]),
                ),
            )
        )
    reduced = result.loss
    if result.reduction == "sum":
        loss_lines.append(Line("L", (f"\\sum_{{n=1}}^{{{n}}} l_n", tex_num(reduced))))
    elif result.reduction == "mean":
        loss_lines.append(
            Line(
                "L",
                (
                    "\\frac{1}{D} \\sum_n l_n",
                    f"\\frac{{1}}{{{tex_num(result.denominator)}}} \\sum_n l_n",
                    tex_num(reduced),
                ),
            )
        )
    blocks.append(
        Block(
            title="Loss",
            text=(
                f"The row's loss, then the reduction '{result.reduction}' over the {n} rows"
                + (
                    " ($D$: the sum of the weights of the rows' labels, or $N$)."
                    if result.reduction == "mean"
                    else "."
                ),
            ),
            lines=tuple(loss_lines),
        )
    )

    g = result.grad[row]
    scale = f"\\frac{{1}}{{{tex_num(result.denominator)}}}" if result.reduction == "mean" else ""
    lhs_sym = "\\frac{\\partial L}{\\partial z_j}"
    grad_lines: list[Line] = []
    if not general:
        t = int(targets.indices[row])  # type: ignore[index]
        grad_lines.append(
            Line(lhs_sym, ((("\\frac{1}{D}" if scale else "") + "(\\hat{y}_j - y_j)"),))
        )
        for j in classes:
            if j is None:
                grad_lines.append(Line("\\vdots", (), rel=""))
                continue
            numbers = f"{scale}({tex_num(p[j])} - {1 if j == t else 0})"
            grad_lines.append(
                Line(
                    f"\\frac{{\\partial L}}{{\\partial z_{{{j}}}}}",
                    (f"{numbers} = {tex_num(g[j])}",),
                )
            )
        after = (
            "The source document derives $\\frac{\\partial L_t}{\\partial z_t} = \\hat{y}_t - y_t$ "
            "for the binary case $y_t = 1$; the lines above are every $K$ and every class "
            "$j$: $\\hat{y}_j - 1$ at $j = t$, $\\hat{y}_j$ elsewhere.",
        )
    else:
        weights = [f"{tex_term(w[c])} \\cdot {tex_term(tp[c])}" for c in range(k)]
        grad_lines.append(Line("S", (f"\\sum_c w_c {yp}_c", wrapped_sum(weights, width=72))))
        grad_lines.append(
            Line(
                lhs_sym,
                (("\\frac{1}{D}" if scale else "") + f"\\bigl(S \\hat{{y}}_j - w_j {yp}_j\\bigr)",),
            )
        )
        for j in classes:
            if j is None:
                grad_lines.append(Line("\\vdots", (), rel=""))
                continue
            own = f"{tex_term(w[j])} \\cdot {tex_term(tp[j])}"
            numbers = f"{scale}\\bigl(S \\cdot {tex_num(p[j])} - {own}\\bigr)"
            grad_lines.append(
                Line(
                    f"\\frac{{\\partial L}}{{\\partial z_{{{j}}}}}",
                    (f"{numbers} = {tex_num(g[j])}",),
                )
            )
        after = (
            "With $w = 1$ and no smoothing, $S = 1$ for a target that sums to 1, and this is "
            "the source document's $\\hat{y}_j - y_j$.",
        )
    note = {
        "sum": "The reduction 'sum' adds the rows' losses, so each row's gradient is its own.",
        "mean": "The reduction 'mean' divides every row's gradient by $D$.",
        "none": "The reduction 'none': each row's gradient of its own loss.",
    }[result.reduction]
    blocks.append(Block(title="Gradient", text=(note,), lines=tuple(grad_lines), after=after))
    return Derivation(title, tuple(blocks))
