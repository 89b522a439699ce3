"""``hw3 bn-grad``: batch-norm forward and all six backward quantities."""

from __future__ import annotations

import sys
from typing import Any

import click

from hw3cli.commands._options import FINITE, layout_option, numeric_options
from hw3cli.core.layout import Layout

EPILOG = """\b
Examples:
  hw3 bn-grad batch.json
      JSON {"x": [[...], ...], "dy": [[...], ...]} in, all ten quantities out
  cat x.csv | hw3 bn-grad --dy dy.csv > dx.csv
      CSV in, dx as CSV out (--emit xhat|y|dxhat|dx picks another)
  hw3 bn-grad x.npy --dy dy.npy --gamma 1,2,3 -o grads.npz
  hw3 bn-grad batch.json --check
      compare dx, dgamma, dbeta with central differences; exit 1 if they differ
  hw3 bn-grad batch.json --explain
      the source document's six derivatives with feature 0's numbers put in
  hw3 bn-grad x.csv --dy dy.csv --expect my_dx.csv --rtol 1e-8
      exit 1, with the worst differences, unless your dx matches

\b
JSON input keys: x, dy (same shape: m x D, or rank 4), and optionally gamma,
beta (length D or C), eps, running_mean, running_var, momentum. Options given
on the command line override them. For a rank-4 x, --layout names the channel
axis (bwhc and nhwc: last; nchw: second).
"""

_JSON_KEYS = ("x", "dy", "gamma", "beta", "eps", "running_mean", "running_var", "momentum")
_HINT = "give a file (hw3 bn-grad batch.json) or pipe data in (cat x.csv | hw3 bn-grad --dy dy.csv)"


@click.command("bn-grad", epilog=EPILOG, short_help="Batch-norm forward and backward.")
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
    type=click.Choice(("dx", "dxhat", "xhat", "y")),
    default="dx",
    show_default=True,
    help="The per-sample quantity written as CSV.",
)
@click.option("--explain", is_flag=True, help="Walk through the six derivatives.")
@click.option(
    "--feature", type=click.IntRange(min=0), default=0, show_default=True, help="For --explain."
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
) -> None:
    """Batch normalisation (training mode): forward and all six backward quantities.

    Reads a mini-batch x and the upstream gradient dy, and computes mean, var, xhat, y
    and the source document's dxhat, dvar, dmu, dx, dgamma, dbeta, in float64.
    """
    from hw3cli.commands import _numeric as nm
    from hw3cli.core import batchnorm as bn
    from hw3cli.core.layout import channel_axis
    from hw3cli.errors import InputError, shape_text
    from hw3cli.output import batchnorm as out
    from hw3cli.tensor_io import readers

    doc, values = nm.read_main(
        input_file,
        input_format,
        main="x",
        keys=_JSON_KEYS,
        hint=_HINT,
        example='{"x": [[1, 2], [3, 4]], "dy": [[0.1, 0.2], [0.3, 0.4]]}',
        delimiter=delimiter,
    )

    def field(key: str) -> Any:
        where = f"{doc.source}: {key}"
        return readers.to_array(values[key], where)

    x = field("x")
    if x.ndim not in (1, 2, 4):
        got = f"has {x.ndim} axes (shape {shape_text(x.shape)})" if x.ndim else ""
        raise InputError(
            f"x {got or 'is a single number'}; bn-grad takes m x D rows "
            "(2 axes: one sample a row, one feature a column) or a rank-4 tensor",
            where=doc.source,
            hint="e.g. [[1, 2], [3, 4]]: 2 samples of 2 features",
        )
    if dy_file is not None:
        dy, dy_place = nm.matrix_option(dy_file, "--dy", delimiter=delimiter), f"--dy {dy_file}"
    elif "dy" in values:
        dy, dy_place = field("dy"), doc.source
    else:
        raise InputError(
            "the upstream gradient dy is missing",
            hint="give --dy FILE (same shape as x), or a JSON input with a 'dy' key",
        )
    dy_shape, x_shape = shape_text(dy.shape), shape_text(x.shape)
    squeeze = x.ndim == 1
    if squeeze:
        x = x.reshape(-1, 1)
    if dy.ndim == 1 and x.ndim == 2 and x.shape[1] == 1:  # a list against a column
        dy = dy.reshape(-1, 1)
    if dy.shape != x.shape:
        raise InputError(
            f"dy has shape {dy_shape} but x has shape {x_shape}",
            where=dy_place,
            hint="dy is the upstream gradient dL/dy: give one value per value of x, in x's shape",
        )
    lay: Layout = layout.lower()  # type: ignore[assignment]
    axis = 1 if x.ndim == 2 else channel_axis(x.ndim, lay)

    places: dict[str, str] = {}

    def option_or_field(value: str | None, option: str, key: str) -> Any:
        if value is not None:
            places[key] = option
            return nm.vector_option(value, option, delimiter=delimiter)
        places[key] = f"{doc.source}: {key}"
        return field(key) if key in values else None

    g = option_or_field(gamma, "--gamma", "gamma")
    b = option_or_field(beta, "--beta", "beta")
    if no_affine and (g is not None or b is not None):
        raise InputError("--no-affine takes no gamma or beta")
    rm = option_or_field(running_mean, "--running-mean", "running_mean")
    rv = option_or_field(running_var, "--running-var", "running_var")
    eps_value = (
        eps if eps is not None else nm.json_number(values, "eps", doc.source, bn.DEFAULT_EPS)
    )
    momentum_value = (
        momentum
        if momentum is not None
        else nm.json_number(values, "momentum", doc.source, bn.DEFAULT_MOMENTUM)
    )
    c = x.shape[axis]
    if explain and feature >= c:
        raise InputError(f"x has {c} features (0 to {c - 1}), got {feature}", where="--feature")
    gamma_v = bn.feature_vector(g, c, 1.0, places["gamma"])
    beta_v = bn.feature_vector(b, c, 0.0, places["beta"])
    rm_v = bn.feature_vector(rm, c, 0.0, places["running_mean"])
    rv_v = bn.feature_vector(rv, c, 1.0, places["running_var"])
    result = bn.batchnorm(
        x,
        dy,
        gamma_v,
        beta_v,
        eps_value,
        axis,
        training=not eval_mode,
        running_mean=rm_v,
        running_var=rv_v,
        momentum=momentum_value,
    )
    grad_check = None
    if check:
        m = x.size // c  # the values of one feature: what each entry is differenced through
        nm.refuse_costly_check(
            [(x.size, check_entries, m), (c, check_entries, m), (c, check_entries, m)],
            check_entries,
        )
        grad_check = bn.gradcheck_batchnorm(
            x,
            dy,
            gamma_v,
            beta_v,
            result,
            eps_value,
            axis,
            running_mean=rm_v,
            running_var=rv_v,
            max_entries=check_entries,
        )
    if squeeze:
        result = _squeezed(result)
    explanation = out.explain(result, x, dy, gamma_v, beta_v, axis, feature) if explain else None

    resolved = nm.output_format(fmt, doc.format, output)
    extra: dict[str, Any] = {}
    if grad_check is not None:
        extra["check"] = nm.check_json(grad_check)
    if explanation is not None:
        if resolved == "json":
            extra["explanation"] = explanation
        elif resolved != "table":  # CSV or NPZ: the data stays clean, the words go to stderr
            sys.stderr.write("".join(line + "\n" for line in explanation))
    arrays = out.result_arrays(result, affine=not no_affine)
    expected = nm.load_expect(expect, arrays, emit, delimiter=delimiter)
    nm.write_result(
        resolved,
        output,
        json_obj=lambda: out.result_json(result, extra, affine=not no_affine),
        matrix=lambda: getattr(result, emit),
        header=doc.header,
        arrays=lambda: arrays,
        table=lambda stream, colour: out.render_table(
            result, emit, axis, explanation, stream, colour
        ),
    )
    expect_failure = nm.run_expect(expect, expected, arrays, rtol, atol)
    nm.finish(grad_check, expect_failure, resolved)


def _squeezed(result: Any) -> Any:
    """Per-sample quantities of a rank-1 x back to rank 1."""
    from dataclasses import replace

    return replace(
        result,
        **{name: getattr(result, name).reshape(-1) for name in ("xhat", "y", "dxhat", "dx")},
    )
