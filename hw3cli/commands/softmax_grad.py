"""``hw3 softmax-grad``: softmax, cross-entropy and dL/dz."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from hw3cli.commands._options import FINITE, Command, numeric_options

if TYPE_CHECKING:
    from hw3cli.core.softmax import Targets
    from hw3cli.tensor_io.readers import Array, Document
    from hw3cli.tensor_io.rows import Rows

EPILOG = """\b
Examples:
  hw3 softmax-grad examples/logits.csv --labels 2,0,1
      dL/dz as CSV: each row is p - y (reduction sum, the default)
  echo '{"logits": [[2.0, 1.0, 0.1]], "target": [0]}' | hw3 softmax-grad --format json
  hw3 softmax-grad examples/logits.csv --target examples/onehot.csv --label-smoothing 0.1
  hw3 softmax-grad examples/softmax.json --weight 1,2,1 --ignore-index 0 --check
  hw3 softmax-grad examples/softmax.json --jacobian -o out.json
      also the softmax Jacobian diag(p) - p p^T of every sample
  hw3 softmax-grad examples/softmax.json --explain
      the derivation of dL/dz_j = p_j - y_j with one sample's numbers
  hw3 softmax-grad examples/softmax.json --row 1 --format latex --standalone
      the same derivation for row 1 as a LaTeX document (-o FILE.md: Markdown)

\b
Targets: JSON "target" (class indices, or rows of probabilities), --labels 0,2,1,
or --target FILE (one integer column, or one probability row per sample).
Reductions follow PyTorch's cross_entropy: none, sum (default here, so that a
row's gradient is exactly p - y) or mean (divided by the weights of the
non-ignored labels, or by N for probability targets).
"""

_HINT = (
    "give a file (hw3 softmax-grad examples/logits.csv --labels 2,0,1) or pipe data in "
    "(cat examples/logits.csv | hw3 softmax-grad --labels 2,0,1)"
)
_JSON_KEYS = ("logits", "target", "weight", "ignore_index", "label_smoothing", "reduction")
JACOBIAN_LIMIT = 2**24  # entries: 128 MiB as float64


@click.command(
    "softmax-grad", cls=Command, epilog=EPILOG, short_help="Softmax, cross-entropy and dL/dz."
)
@click.argument("input_file", required=False, metavar="[INPUT]")
@click.option("--labels", default=None, help="Class indices, one per row: 2,0,1.")
@click.option(
    "--target",
    "target_file",
    default=None,
    metavar="FILE",
    help="Targets from a file: one integer column, or one probability row per sample.",
)
@click.option(
    "--reduction",
    type=click.Choice(("none", "sum", "mean")),
    default=None,
    help="How the per-sample losses combine [default: sum].",
)
@click.option("--weight", default=None, help="Class weights: a comma list or a file.")
@click.option(
    "--ignore-index",
    type=int,
    default=None,
    help="Rows with this label get zero loss and gradient [default: -100, as PyTorch].",
)
@click.option(
    "--label-smoothing", type=FINITE, default=None, help="e in [0, 1]: t' = (1 - e) t + e/K."
)
@click.option(
    "--jacobian", is_flag=True, help="Also output each sample's softmax Jacobian (K x K)."
)
@click.option(
    "--emit",
    type=click.Choice(("grad", "probs")),
    default="grad",
    show_default=True,
    help="The matrix written as CSV.",
)
@click.option("--explain", is_flag=True, help="Derive dL/dz = p - y with the numbers put in.")
@click.option(
    "--sample",
    "--row",
    "sample",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="The row (sample, from 0) --explain derives.",
)
@numeric_options
def softmax_grad(
    input_file: str | None,
    labels: str | None,
    target_file: str | None,
    reduction: str | None,
    weight: str | None,
    ignore_index: int | None,
    label_smoothing: float | None,
    jacobian: bool,
    emit: str,
    explain: bool,
    sample: int,
    input_format: str,
    delimiter: str,
    check: bool,
    check_entries: int,
    expect: str | None,
    rtol: float,
    atol: float,
    fmt: str,
    output: str | None,
    standalone: bool,
    block_rows: int | None,
) -> None:
    """Softmax, cross-entropy loss and its gradient dL/dz, for any number of classes.

    Reads logits (one sample a row) and targets, and computes p = softmax(z), the loss
    and dL/dz = p - y (the source document's result, in its general weighted and
    smoothed form), matching PyTorch's cross_entropy.
    """
    import numpy as np

    from hw3cli.commands import _numeric as nm
    from hw3cli.commands._options import check_standalone
    from hw3cli.core import softmax as sm
    from hw3cli.core.blocks import rows_per_block
    from hw3cli.core.compare import Context
    from hw3cli.errors import InputError, plural
    from hw3cli.output import formats
    from hw3cli.output import softmax as out
    from hw3cli.tensor_io.rows import InMemory

    # options -> inputs
    nm.start_progress(input_file, *([target_file] if target_file else []))
    inputs = _inputs(
        input_file,
        input_format,
        delimiter,
        labels,
        target_file,
        {"weight": weight, "ignore_index": ignore_index, "label_smoothing": label_smoothing},
        reduction,
    )
    resolved = nm.output_format(fmt, inputs.doc.format, output)
    check_standalone(standalone, fmt, output)
    explain = explain or resolved in ("markdown", "latex")  # (the derivation is all they hold)
    n, k = inputs.logits.shape
    if jacobian:
        _refuse_jacobian(resolved, n, k)
    reason = nm.in_memory_reason(resolved, explain=explain, jacobian=jacobian)
    hint = (  # --explain: one sample's numbers, and rows are independent
        f"--explain walks through one sample: give its row alone (with its target), e.g. "
        f"sed -n {sample + 1}p"
    )
    logits = nm.held(inputs.logits, reason, hint, 4)  # z, p, log p, dL/dz
    if explain and sample >= n:
        raise InputError(
            f"the logits have {plural(n, 'row')} (0 to {n - 1}), got {sample}", where="--sample"
        )

    # -> core: every row's loss first (checked before anything is written), then the rows
    s = sm.setup(
        n,
        k,
        inputs.targets,
        weight=inputs.weight,
        ignore_index=inputs.ignore_index,
        label_smoothing=inputs.label_smoothing,
        reduction=inputs.reduction,  # type: ignore[arg-type]
        places=inputs.places,
    )
    for warning in s.warnings:
        formats.warn(warning)

    def blocks() -> Iterator[tuple[int, Array]]:
        start = 0
        for z in logits.blocks(block_rows or rows_per_block((n, k))):
            yield start, z
            start += z.shape[0]

    def parts() -> Iterator[sm.CrossEntropyRows]:
        return (sm.rows(s, z, start) for start, z in blocks())

    # --check on rows too many to hold: rows chosen across the batch, gathered in passing
    sampled = check and not isinstance(logits, InMemory) and 8 * n * k > nm.CHECK_BYTES
    picked = (
        np.sort(np.random.default_rng(0).choice(n, min(n, check_entries), replace=False))
        if sampled
        else np.empty(0, dtype=np.intp)
    )
    gathered: list[tuple[Array, Array]] = []
    kept: list[sm.CrossEntropyRows] = []
    losses = []
    held_whole = reason is not None or (check and not sampled)
    # dL/dz alone to CSV: the logits' range may show every loss finite (`finite_for_spread`);
    # then the first pass looks at the range alone, and no loss is computed
    grad_alone = (
        resolved == "csv" and emit == "grad" and expect is None and not (held_whole or sampled)
    )
    if grad_alone and not _finite_by_range(s, blocks()):
        grad_alone = False
    for start, z in [] if grad_alone else blocks():  # the losses only, unless rows are kept
        if not (held_whole or sampled):
            losses.append(sm.row_losses(s, z, start))
            continue
        part = sm.rows(s, z, start)
        sm.refuse_overflow(s, part)
        losses.append(part.losses)
        if held_whole:
            kept.append(part)
        if sampled:
            mine = picked[(picked >= start) & (picked < start + z.shape[0])] - start
            gathered.append((z[mine], part.grad[mine]))
    loss: float | Array = 0.0
    all_losses = np.empty(0)
    if not grad_alone:  # (with dL/dz alone no loss was computed, and none is written)
        all_losses = np.concatenate(losses)
        loss = sm.reduced_loss(s, all_losses)
    whole_rows: list[sm.SoftmaxResult] = []

    def whole() -> sm.SoftmaxResult:  # for JSON, a table, --check, --explain, --expect
        if not whole_rows:
            part = sm.CrossEntropyRows(
                *(np.concatenate([getattr(p, name) for p in kept]) for name in sm.ROWS_FIELDS)
            )
            whole_rows.append(sm.result_of(s, part, loss))
        return whole_rows[0]

    jac = sm.softmax_jacobian(whole().probs) if jacobian else None
    grad_check = None
    if check:
        # each entry is differenced through its row's K logits
        nm.refuse_costly_check([(n * k, check_entries, k)], check_entries)
        if sampled:
            grad_check = sm.gradcheck_rows(
                s,
                picked,
                np.concatenate([z for z, _ in gathered]),
                np.concatenate([g for _, g in gathered]),
                weight=inputs.weight,
                ignore_index=inputs.ignore_index,
                label_smoothing=inputs.label_smoothing,
                max_entries=check_entries,
            )
        else:
            grad_check = sm.gradcheck_cross_entropy(
                logits.whole(),
                s.targets,
                whole(),
                weight=inputs.weight,
                ignore_index=inputs.ignore_index,
                label_smoothing=inputs.label_smoothing,
                max_entries=check_entries,
            )
    explanation = None
    if explain:
        weighted = inputs.weight is not None
        explanation = out.explain(
            whole(), logits.whole(), s.targets, sample, inputs.label_smoothing, weighted
        )

    # -> emit
    def matrix(name: str) -> Iterator[Any]:
        if name == "grad":
            return (sm.row_grads(s, z, start) for start, z in blocks())
        return (getattr(part, name) for part in parts())

    nm.emit(
        resolved,
        output,
        nm.Emission(
            header=inputs.doc.header,
            matrix_shape=(n, k),
            matrix=lambda: matrix("grad" if emit == "grad" else "probs"),
            members=lambda: out.npz_members(matrix, (n, k), loss, all_losses, jac),
            json_obj=lambda extra: out.result_json(whole(), jac, extra),
            table=lambda stream, colour: out.render_table(
                whole(), s.targets, emit, explanation, stream, colour, header=inputs.doc.header
            ),
            document=lambda kind: nm.render_document(
                out.derivation(
                    whole(),
                    logits.whole(),
                    s.targets,
                    sample,
                    inputs.label_smoothing,
                    inputs.weight is not None,
                ),
                kind,
                standalone,
            ),
        ),
        check=grad_check,
        explanation=explanation,
        expect=expect,
        emitted=emit,
        delimiter=delimiter,
        rtol=rtol,
        atol=atol,
        context=Context(batch=n, reduction=s.reduction, denominator=_mean_denominator(s)),
    )


def _finite_by_range(s: Any, blocks: Iterator[tuple[int, Any]]) -> bool:
    """Whether the logits' range (one pass over them, no loss computed) shows every loss,
    their reduction and every dL/dz finite (`finite_for_spread`)."""
    from hw3cli.core import softmax as sm

    low, high = float("inf"), float("-inf")
    for _, z in blocks:
        low, high = min(low, float(z.min())), max(high, float(z.max()))
    return sm.finite_for_spread(s, high - low)  # (inf where it overflows)


def _mean_denominator(s: Any) -> float:
    """What --reduction mean divides by (N, or the weights of the labels not ignored):
    the factor between a sum and a mean that --expect names."""
    if s.reduction == "mean":
        return float(s.denominator)
    if s.targets.indices is not None:
        return float(s.weight[s.targets.indices[~s.ignored]].sum())
    return float(s.n)


def _refuse_jacobian(fmt: str, n: int, k: int) -> None:
    """The Jacobian is N x K x K: only JSON and NPZ hold it, and only up to a size."""
    from hw3cli.core.softmax import jacobian_bytes
    from hw3cli.errors import InputError, size_text

    if fmt in ("csv", "table"):
        raise InputError(
            "the Jacobian is N x K x K: it is written only as JSON or NPZ",
            where="--jacobian",
            hint="add --format json, or -o out.json / out.npz",
        )
    entries = n * k * k
    if entries > JACOBIAN_LIMIT:
        raise InputError(
            f"{n} samples x {k} x {k} classes = {entries:,} entries would need "
            f"{size_text(jacobian_bytes(n, k))} as float64 (and about "
            f"{size_text(entries * 24)} as JSON text); the limit is {JACOBIAN_LIMIT:,} "
            f"entries ({size_text(JACOBIAN_LIMIT * 8)})",
            where="--jacobian",
            hint="ask for fewer samples at a time",
        )


@dataclass(frozen=True)
class _Inputs:
    """What softmax-grad computes from, resolved once: an option over the JSON key over
    PyTorch's default; the logits as `Rows` (read block by block from CSV or NPY), the
    targets whole (N labels, or N probability rows)."""

    doc: Document
    logits: Rows
    targets: Targets
    weight: Array | None
    ignore_index: int | None
    label_smoothing: float
    reduction: str
    places: dict[str, str]


def _inputs(
    input_file: str | None,
    input_format: str,
    delimiter: str,
    labels: str | None,
    target_file: str | None,
    given: dict[str, Any],
    reduction: str | None,
) -> _Inputs:
    from hw3cli.commands import _numeric as nm
    from hw3cli.errors import InputError, shape_text
    from hw3cli.tensor_io import readers
    from hw3cli.tensor_io.rows import InMemory

    if labels is not None and target_file is not None:
        raise InputError("give --labels or --target, not both")
    doc, values = nm.read_main(
        input_file,
        input_format,
        main="logits",
        keys=_JSON_KEYS,
        hint=_HINT,
        example='{"logits": [[2.0, 1.0, 0.1]], "target": [0]}',
        what="logits",
        delimiter=delimiter,
    )
    logits = nm.as_rows(values["logits"], f"{doc.source}: logits")
    if logits.ndim == 1:
        logits = InMemory(logits.whole().reshape(1, -1), logits.source)
    if logits.ndim != 2:
        got = f"{logits.ndim} axes (shape {shape_text(logits.shape)})"
        raise InputError(
            f"logits must be a matrix N x K, one sample a row; got "
            f"{got if logits.ndim else 'a single number'}",
            where=doc.source,
            hint="e.g. [[2.0, 1.0, 0.1]]: 1 sample of 3 classes",
        )
    places: dict[str, str] = {
        key: f"{doc.source}: {key}"
        if given[key] is None and key in values
        else "--" + key.replace("_", "-")
        for key in given
    }
    if labels is not None:
        places["target"] = "--labels"
        targets = _labels(nm.parse_number_list(labels, "--labels"), "--labels")
    elif target_file is not None:
        places["target"] = f"--target {target_file}"
        target_array = nm.matrix_option(target_file, "--target", delimiter=delimiter)
        targets = _targets(target_array, places["target"])
    elif "target" in values:
        places["target"] = f"{doc.source}: target"
        targets = _targets(readers.to_array(values["target"], places["target"]), places["target"])
    else:
        raise InputError(
            "the targets are missing",
            hint="give --labels 2,0,1, --target FILE, or a JSON input with a 'target' key",
        )
    weight, _ = nm.option_or_key(given["weight"], "weight", values, doc.source, delimiter)
    ignore_index = given["ignore_index"]
    if ignore_index is None and "ignore_index" in values:
        ignore_index = _json_int(values, "ignore_index", doc.source)
    smoothing = given["label_smoothing"]
    if smoothing is None:
        smoothing = nm.json_number(values, "label_smoothing", doc.source, 0.0)
    return _Inputs(
        doc=doc,
        logits=logits,
        targets=targets,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=smoothing,
        reduction=reduction or _json_choice(values, "reduction", doc.source) or "sum",
        places=places,
    )


def _labels(values: Any, where: str) -> Any:
    """Whole numbers as class indices, or an error at the first fractional one."""
    import numpy as np

    from hw3cli.core.softmax import Targets
    from hw3cli.errors import InputError

    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    fractional = flat != np.round(flat)
    if fractional.any():
        row = int(np.argmax(fractional))
        raise InputError(
            f"label {float(flat[row])!r} in row {row} is not a whole number (class indices "
            "are 0, 1, ..., K-1)",
            where=where,
        )
    huge = np.abs(flat) >= 2.0**62
    if huge.any():
        row = int(np.argmax(huge))
        raise InputError(
            f"label {float(flat[row]):g} in row {row} is not a class index", where=where
        )
    return Targets(indices=flat.astype(np.int64))


def _targets(array: Any, where: str) -> Any:
    """A column (or list) of class indices, or a matrix of probability rows."""
    from hw3cli.core.softmax import Targets
    from hw3cli.errors import shape_text

    if array.ndim == 1 or (array.ndim == 2 and array.shape[1] == 1):
        return _labels(array, where)
    if array.ndim != 2:
        from hw3cli.errors import InputError

        got = f"{array.ndim} axes (shape {shape_text(array.shape)})" if array.ndim else ""
        raise InputError(
            f"expected N labels or N probability rows (N x K), got {got or 'a single number'}",
            where=where,
            hint="labels are a list, [0, 2, 1]; probabilities a matrix, one row per sample",
        )
    return Targets(probs=array)


def _json_choice(values: dict[str, Any], key: str, source: str) -> str | None:
    from hw3cli.errors import InputError

    if key not in values:
        return None
    value = values[key]
    if value not in ("none", "sum", "mean"):
        raise InputError(f"must be none, sum or mean, got {value!r}", where=f"{source}: {key}")
    return str(value)


def _json_int(values: dict[str, Any], key: str, source: str) -> int:
    from hw3cli.errors import InputError

    value = values[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"must be a whole number, got {value!r}", where=f"{source}: {key}")
    return value
