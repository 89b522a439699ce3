"""softmax-grad results as JSON objects, NPZ arrays, a Rich table and an explanation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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
    max_cols: int = 8,
) -> None:
    """Per sample: label, p of the label, loss; then the gradient (or probability) matrix."""
    from rich.table import Table

    from hw3cli.output.console import Text, make_console

    console = make_console(stream, colour)
    n, k = result.probs.shape
    loss = result.loss
    total = vec(loss) if isinstance(loss, np.ndarray) else num(loss)
    samples = Table(
        title=f"softmax-grad: {plural(n, 'sample')}, {plural(k, 'class', 'classes')}, "
        f"reduction {result.reduction}, loss {total}",
        title_justify="left",
    )
    for column in ("sample", "label", "p(label)", "loss"):
        samples.add_column(column, justify="right")
    rows = list(range(n)) if n <= max_rows + 2 else [*range(max_rows - 2), -1, n - 2, n - 1]
    for i in rows:
        if i < 0:
            samples.add_row(*(Text("...") for _ in range(4)))
            continue
        if result.ignored[i]:
            p_label = "ignored"
        elif targets.indices is not None:
            p_label = num(result.probs[i, targets.indices[i]])
        else:
            p_label = "-"
        samples.add_row(
            Text(str(i)), Text(_label_text(targets, i)), Text(p_label), Text(num(result.losses[i]))
        )
    console.print(samples)

    matrix = result.grad if emit == "grad" else result.probs
    title = "dL/dz" if emit == "grad" else "softmax probabilities"
    grid = Table(title=f"{title} ({n} x {k})", title_justify="left")
    grid.add_column("", justify="right")
    cols = list(range(k)) if k <= max_cols else [*range(max_cols - 1), -1, k - 1]
    for j in cols:
        grid.add_column("..." if j < 0 else str(j), justify="right")
    for i in rows:
        if i < 0:
            grid.add_row(Text("..."), *(Text("...") for _ in cols))
            continue
        cells = [Text("...") if j < 0 else Text(num(matrix[i, j])) for j in cols]
        grid.add_row(Text(str(i)), *cells)
    console.print(grid)
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
