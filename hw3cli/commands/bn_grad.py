"""``hw3 bn-grad``: batch-norm forward and all six backward quantities."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from hw3cli.commands._options import FINITE, Command, layout_option, numeric_options
from hw3cli.core.layout import Layout

if TYPE_CHECKING:
    from hw3cli.tensor_io.readers import Array, Document
    from hw3cli.tensor_io.rows import Rows

EPILOG = """\b
Examples:
  hw3 bn-grad examples/bn.json
      JSON {"x": [[...], ...], "dy": [[...], ...]} in, all ten quantities out
  cat examples/x.csv | hw3 bn-grad --dy examples/dy.csv > dx.csv
      CSV in, dx as CSV out (--emit xhat|y|dxhat|dx picks another)
  hw3 bn-grad examples/x.npy --dy examples/dy.npy --gamma 1,2,3 -o grads.npz
  hw3 bn-grad examples/bn.json --check
      compare dx, dgamma, dbeta with central differences; exit 1 if they differ
  hw3 bn-grad examples/bn.json --explain
      the source document's six derivatives with feature 0's numbers put in
  hw3 bn-grad examples/bn.json --feature 1 -o bn.md
      the same as Markdown ($...$ maths; --format latex, -o bn.tex --standalone)
  hw3 bn-grad examples/x.csv --dy examples/dy.csv --expect examples/my_dx.csv --rtol 1e-8
      passes when your dx matches; else exit 1 with the worst differences

\b
JSON input keys: x, dy (same shape: m x D, or rank 4), and optionally gamma,
beta (length D or C), eps, running_mean, running_var, momentum. Options given
on the command line override them. For a rank-4 x, --layout names the channel
axis (bwhc and nhwc: last; nchw: second).
"""

_JSON_KEYS = ("x", "dy", "gamma", "beta", "eps", "running_mean", "running_var", "momentum")
_HINT = (
    "give a file (hw3 bn-grad examples/bn.json) or pipe data in "
    "(cat examples/x.csv | hw3 bn-grad --dy examples/dy.csv)"
)


@click.command("bn-grad", cls=Command, epilog=EPILOG, short_help="Batch-norm forward and backward.")
@click.argument("input_file", required=False, metavar="[INPUT]")
@click.option("--dy", "dy_file", default=None, metavar="FILE", help="Upstream gradient dL/dy.")
@click.option("--gamma", default=None, help="Scale: a comma list or a file [default: ones].")
@click.option("--beta", default=None, help="Shift: a comma list or a file [default: zeros].")
@click.option("--eps", type=FINITE, default=None, help="Added to the variance [default: 1e-5].")
@layout_option("Which axis of a rank-4 input is the channel.")
@click.option("--no-affine", is_flag=True, help="No gamma and beta (PyTorch's affine=False).")
@click.option(
    "--eval",
    "eval_mode",
    is_flag=True,
    help="Evaluation mode: normalise with the running statistics.",
)
@click.option(
    "--running-mean", default=None, help="Running mean: a list or a file [default: zeros]."
)
@click.option("--running-var", default=None, help="Running variance [default: ones].")
@click.option(
    "--momentum",
    type=FINITE,
    default=None,
    help="Running-statistics update factor, PyTorch's convention [default: 0.1].",
)
@click.option(
    "--emit",
    type=click.Choice(
        ("dx", "dxhat", "xhat", "y", "mean", "var", "dvar", "dmu", "dgamma", "dbeta")
    ),
    default="dx",
    show_default=True,
    help="What CSV holds: a per-sample quantity (one row per sample), or a per-feature one "
    "(one row).",
)
@click.option("--explain", is_flag=True, help="Walk through the six derivatives.")
@click.option(
    "--feature",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="The feature (column, or channel) --explain derives.",
)
@numeric_options
def bn_grad(
    input_file: str | None,
    dy_file: str | None,
    gamma: str | None,
    beta: str | None,
    eps: float | None,
    layout: str,
    no_affine: bool,
    eval_mode: bool,
    running_mean: str | None,
    running_var: str | None,
    momentum: float | None,
    emit: str,
    explain: bool,
    feature: int,
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
    """Batch normalisation (training mode): forward and all six backward quantities.

    Reads a mini-batch x and the upstream gradient dy, and computes mean, var, xhat, y
    and the source document's dxhat, dvar, dmu, dx, dgamma, dbeta, in float64.
    """
    import numpy as np

    from hw3cli.commands import _numeric as nm
    from hw3cli.commands._options import check_standalone
    from hw3cli.core import batchnorm as bn
    from hw3cli.core.blocks import rows_per_block
    from hw3cli.core.compare import Context
    from hw3cli.errors import InputError, plural
    from hw3cli.output import batchnorm as out
    from hw3cli.output import formats
    from hw3cli.tensor_io.rows import InMemory

    # options -> inputs
    nm.start_progress(input_file, *([dy_file] if dy_file else []))
    vectors = {
        "gamma": gamma,
        "beta": beta,
        "running_mean": running_mean,
        "running_var": running_var,
    }
    inputs = _inputs(
        input_file, input_format, delimiter, dy_file, vectors, eps, momentum, layout, no_affine
    )
    resolved = nm.output_format(fmt, inputs.doc.format, output)
    check_standalone(standalone, fmt, output)
    explain = explain or resolved in ("markdown", "latex")  # (the derivation is all they hold)
    reason = nm.in_memory_reason(resolved, explain=explain)
    hint = (  # --explain: one feature's numbers, and features are independent
        f"--explain walks through one feature: give its column alone (with dy's), e.g. "
        f"cut -d, -f{feature + 1}"
    )
    # held: x, dy, and xhat, y, dxhat, dx
    x, dy = nm.held(inputs.x, reason, hint, 6), nm.held(inputs.dy, reason, hint, 6)
    axis = inputs.channel_axis
    c = x.shape[axis]
    if explain and feature >= c:
        raise InputError(
            f"x has {plural(c, 'feature')} (0 to {c - 1}), got {feature}", where="--feature"
        )

    # -> core: pass 1 over the blocks gives every per-feature quantity, pass 2 the rest
    s = bn.setup(
        x.shape,
        dy.shape,
        inputs.gamma,
        inputs.beta,
        inputs.eps,
        axis,
        training=not eval_mode,
        running_mean=inputs.running_mean,
        running_var=inputs.running_var,
        momentum=inputs.momentum,
        places=inputs.places,
    )

    rows = block_rows or rows_per_block(x.shape)

    def pairs() -> Iterator[tuple[Array, Array]]:
        return zip(x.blocks(rows), dy.blocks(rows), strict=True)

    stats = bn.statistics(s, bn.moments(pairs(), axis))
    bn.check_outputs(stats, pairs())
    for warning in stats.warnings:
        formats.warn(warning)

    def per_sample(name: str) -> Iterator[Array]:
        for xb, dyb in pairs():
            block = bn.per_sample(stats, name, xb, dyb)
            yield block.reshape(-1) if inputs.squeeze else block

    held_result: list[bn.BatchNormResult] = []

    def whole() -> bn.BatchNormResult:  # for JSON, a table, --check, --explain, --expect
        if not held_result:
            result = bn.result_of(stats, x.whole(), dy.whole())
            held_result.append(_squeezed(result) if inputs.squeeze else result)
        return held_result[0]

    grad_check = None
    if check:
        m = x.size // c  # the values of one feature: what each entry is differenced through
        nm.refuse_costly_check(
            [(x.size, check_entries, m), (c, check_entries, m), (c, check_entries, m)],
            check_entries,
        )
        if isinstance(x, InMemory) or 2 * 8 * x.size <= nm.CHECK_BYTES:
            grad_check = bn.gradcheck_batchnorm(
                x.whole(),
                dy.whole(),
                s.gamma,
                s.beta,
                whole(),
                s.eps,
                axis,
                running_mean=s.running_mean,
                running_var=s.running_var,
                max_entries=check_entries,
            )
        else:  # too large to hold: whole features, as many as fit, sampled across features
            fit = max(1, min(c, nm.CHECK_BYTES // (2 * 8 * m)))
            features = sorted(np.random.default_rng(0).choice(c, fit, replace=False).tolist())
            grad_check = bn.gradcheck_features(s, pairs(), features, max_entries=check_entries)
    explanation = None
    if explain:
        explanation = out.explain(whole(), x.whole(), dy.whole(), s.gamma, s.beta, axis, feature)

    # -> emit
    affine = not no_affine
    if not affine and emit in ("dgamma", "dbeta"):
        raise InputError(f"there is no {emit} without gamma and beta", where="--no-affine")
    sample_shape = (x.shape[0],) if inputs.squeeze else x.shape
    per_feature = emit not in bn.PER_SAMPLE

    def emitted() -> Iterator[Array]:
        if per_feature:  # one row of C values
            return iter([getattr(stats, emit).reshape(1, -1)])
        return per_sample(emit)

    nm.emit(
        resolved,
        output,
        nm.Emission(
            header=inputs.doc.header,
            matrix_shape=(1, c) if per_feature else sample_shape,
            matrix=emitted,
            members=lambda: out.npz_members(stats, per_sample, sample_shape, affine),
            json_obj=lambda extra: out.result_json(whole(), extra, affine),
            table=lambda stream, colour: out.render_table(
                whole(), emit, axis, explanation, stream, colour, header=inputs.doc.header
            ),
            document=lambda kind: nm.render_document(
                out.derivation(
                    whole(), x.whole(), dy.whole(), s.gamma, s.beta, axis, feature, affine
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
        context=Context(batch=x.size // c),
    )


def _squeezed(result: Any) -> Any:
    """Per-sample quantities of a rank-1 x back to rank 1."""
    from dataclasses import replace

    return replace(
        result,
        **{name: getattr(result, name).reshape(-1) for name in ("xhat", "y", "dxhat", "dx")},
    )


@dataclass(frozen=True)
class _Inputs:
    """What bn-grad computes from, resolved once: an option over the JSON key over
    PyTorch's default; x and dy as `Rows` (read block by block from CSV or NPY)."""

    doc: Document
    x: Rows
    dy: Rows
    squeeze: bool  # x was a vector: read as one column, written back as a vector
    channel_axis: int
    gamma: Array | None
    beta: Array | None
    running_mean: Array | None
    running_var: Array | None
    eps: float
    momentum: float
    places: dict[str, str]


def _inputs(
    input_file: str | None,
    input_format: str,
    delimiter: str,
    dy_file: str | None,
    vectors: dict[str, str | None],
    eps: float | None,
    momentum: float | None,
    layout: str,
    no_affine: bool,
) -> _Inputs:
    from hw3cli.commands import _numeric as nm
    from hw3cli.core import batchnorm as bn
    from hw3cli.core.layout import channel_axis
    from hw3cli.errors import InputError, shape_text
    from hw3cli.tensor_io.rows import Column

    doc, values = nm.read_main(
        input_file,
        input_format,
        main="x",
        keys=_JSON_KEYS,
        hint=_HINT,
        example='{"x": [[1, 2], [3, 4]], "dy": [[0.1, 0.2], [0.3, 0.4]]}',
        delimiter=delimiter,
    )
    x = nm.as_rows(values["x"], f"{doc.source}: x")
    if x.ndim not in (1, 2, 4):
        got = f"has {x.ndim} axes (shape {shape_text(x.shape)})" if x.ndim else ""
        raise InputError(
            f"x {got or 'is a single number'}; bn-grad takes m x D rows "
            "(2 axes: one sample a row, one feature a column) or a rank-4 tensor",
            where=doc.source,
            hint="e.g. [[1, 2], [3, 4]]: 2 samples of 2 features",
        )
    if dy_file is not None:
        dy, dy_place = nm.rows_option(dy_file, "--dy", delimiter=delimiter), f"--dy {dy_file}"
    elif "dy" in values:
        dy, dy_place = nm.as_rows(values["dy"], f"{doc.source}: dy"), doc.source
    else:
        raise InputError(
            "the upstream gradient dy is missing",
            hint="give --dy FILE (same shape as x), or a JSON input with a 'dy' key",
        )
    dy_shape, x_shape = shape_text(dy.shape), shape_text(x.shape)
    squeeze = x.ndim == 1
    if squeeze:
        x = Column(x)
    if dy.ndim == 1 and x.ndim == 2 and x.shape[1] == 1:  # a list against a column
        dy = Column(dy)
    if dy.shape != x.shape:
        raise InputError(
            f"dy has shape {dy_shape} but x has shape {x_shape}",
            where=dy_place,
            hint="dy is the upstream gradient dL/dy: give one value per value of x, in x's shape",
        )
    given = {
        key: nm.option_or_key(value, key, values, doc.source, delimiter)
        for key, value in vectors.items()
    }
    if no_affine and (given["gamma"][0] is not None or given["beta"][0] is not None):
        raise InputError("--no-affine takes no gamma or beta")
    lay: Layout = layout.lower()  # type: ignore[assignment]
    return _Inputs(
        doc=doc,
        x=x,
        dy=dy,
        squeeze=squeeze,
        channel_axis=1 if x.ndim == 2 else channel_axis(x.ndim, lay),
        gamma=given["gamma"][0],
        beta=given["beta"][0],
        running_mean=given["running_mean"][0],
        running_var=given["running_var"][0],
        eps=eps if eps is not None else nm.json_number(values, "eps", doc.source, bn.DEFAULT_EPS),
        momentum=momentum
        if momentum is not None
        else nm.json_number(values, "momentum", doc.source, bn.DEFAULT_MOMENTUM),
        places={key: place for key, (_, place) in given.items()},
    )
