"""What the numeric commands (bn-grad, softmax-grad) share: inputs, outputs, checks.

Imported only by those commands, so NumPy is loaded only when they run.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

import numpy as np

from hw3cli.core.compare import Context, combine, compare_blocks, index_text, report
from hw3cli.core.gradcheck import GradCheck
from hw3cli.errors import CheckFailed, InputError, escaped, refuse_unknown, shape_text, size_text
from hw3cli.output import formats
from hw3cli.tensor_io import readers, writers
from hw3cli.tensor_io.atomic import atomic_output
from hw3cli.tensor_io.readers import Array, Document
from hw3cli.tensor_io.rows import InMemory, Rows

_NUMBER_LIST = re.compile(r"^\s*[-+0-9.eE]+([\s,]+[-+0-9.eE]+)*\s*$")


def start_progress(*paths: str | None) -> None:
    """A progress bar on stderr while the inputs (``paths``: the main ones, None for
    stdin) are read (`hw3cli.output.progress`)."""
    from hw3cli.output import progress

    progress.start_reading(paths)


def read_main(
    path: str | None,
    requested: str,
    *,
    main: str,
    keys: Sequence[str],
    hint: str,
    example: str,
    what: str = "input",
    delimiter: str = "auto",
) -> tuple[Document, dict[str, Any]]:
    """The main input and its named values: a JSON/NPZ input's keys (checked against
    ``keys``, ``main`` required), or a CSV/NPY matrix as ``main`` (as `Rows`, read
    block by block)."""
    doc = readers.read_document(
        path, requested.lower(), what=what, hint=hint, delimiter=delimiter, stream=True
    )
    if doc.format not in ("json", "npz"):
        return doc, {main: doc.values["data"]}
    refuse_unknown(doc.values, keys, where=doc.source)
    if main not in doc.values:
        raise InputError(f"has no {main!r}", where=doc.source, hint=f"e.g. {example}")
    return doc, dict(doc.values)


def parse_number_list(text: str, option: str) -> list[float]:
    """``1,2.5,-3`` (commas or spaces) as numbers, or an InputError naming the bad item."""
    items = [v for v in re.split(r"[,\s]+", text.strip()) if v]
    if not items:
        raise InputError("is empty", where=option, hint="e.g. 1,2,3")
    numbers = []
    for item in items:
        try:
            value = float(item)
        except ValueError:
            raise InputError(
                f"{item!r} is not a number", where=option, hint="write numbers separated by ','"
            ) from None
        if not np.isfinite(value):
            raise InputError(f"{item!r} is not a finite number", where=option)
        numbers.append(value)
    return numbers


def vector_option(value: str | None, option: str, *, delimiter: str = "auto") -> Array | None:
    """A comma list of numbers (``1,2.5,3``) or a file holding them (its shape kept: the
    command checks that it is a vector, a row or a column)."""
    if value is None:
        return None
    if os.path.exists(value):
        return matrix_option(value, option, delimiter=delimiter)
    if _NUMBER_LIST.match(value):
        return np.asarray(parse_number_list(value, option), dtype=np.float64)
    raise InputError(
        f"{value!r} is neither a comma list of numbers nor an existing file",
        where=option,
        hint="e.g. 1,1,1 or a CSV/JSON/NPY file",
    )


def option_or_key(
    value: str | None, key: str, values: Mapping[str, Any], source: str, delimiter: str
) -> tuple[Array | None, str]:
    """An option's numbers (a comma list or a file) over the input's ``key``, else None;
    with where they came from (``--running-mean``, ``batch.json: running_mean``)."""
    option = "--" + key.replace("_", "-")
    if value is not None:
        return vector_option(value, option, delimiter=delimiter), option
    where = f"{source}: {key}"
    return (readers.to_array(values[key], where) if key in values else None), where


def json_number(values: Mapping[str, Any], key: str, source: str, default: float) -> float:
    """A finite number field of a JSON (or NPZ) input, ``default`` when absent."""
    if key not in values:
        return default
    value = values[key]
    where = f"{source}: {key}"
    if isinstance(value, np.ndarray):  # an NPZ member: a scalar or one-entry array
        if value.size != 1:
            raise InputError(
                f"must be a number, got an array of shape {shape_text(value.shape)}",
                where=where,
            )
        value = float(value.reshape(-1)[0])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"must be a number, got {readers.describe(value)}", where=where)
    try:
        number = float(value)
    except OverflowError:
        raise InputError(
            f"{readers.describe(value)} is too large for a float64 (at most about 1.8e308)",
            where=where,
        ) from None
    if not np.isfinite(number):
        beyond = "a number beyond about 1.8e308 is infinite as a float64"
        raise InputError(
            f"{readers.describe(value)} is not a finite number",
            where=where,
            hint=beyond if np.isinf(number) else None,
        )
    return number


def matrix_option(value: str, option: str, *, delimiter: str = "auto") -> Array:
    """An array from a file named by an option (such as --gamma)."""
    try:
        return readers.read_matrix(value, what=option, delimiter=delimiter)
    except InputError as e:
        raise e.at(option) from None


def rows_option(value: str, option: str, *, delimiter: str = "auto") -> Rows:
    """An array from a file named by an option (such as --dy), read block by block when
    it is a CSV or NPY file."""
    try:
        return readers.read_rows(value, what=option, delimiter=delimiter)
    except InputError as e:
        raise e.at(option) from None


def as_rows(value: Any, where: str) -> Rows:
    """A named value of an input (a nested list, an array, or `Rows`) as `Rows`."""
    if isinstance(value, Rows):
        return value
    return InMemory(readers.to_array(value, where), where)


def output_format(fmt: str, input_format: str, output: str | None) -> str:
    """auto: a table on a terminal; CSV in gives CSV out; JSON/NPY/NPZ in gives JSON out."""
    fallback = "csv" if input_format == "csv" else "json"
    return formats.resolve_format(
        fmt.lower(),
        fallback=fallback,
        output=output,
        allowed=("json", "csv", "npz", "table", "markdown", "latex"),
    )


IN_MEMORY_BYTES = 3 << 29  # what a result held whole may take: 1.5 GiB (1.6 GB)
CHECK_BYTES = 1 << 24  # bytes of x and dy a streamed --check gathers (whole features)
_BLOCKWISE = (
    "CSV (--format csv: one quantity) and NPZ (-o out.npz: every quantity) are written "
    "block by block, in bounded memory"
)
HOLD_HINTS = {
    "JSON output": f"JSON holds every quantity as text, about 20 bytes a value; {_BLOCKWISE}",
    "a table": f"a table is for reading on a terminal; {_BLOCKWISE}",
}


def in_memory_reason(fmt: str, **options: bool) -> str | None:
    """Why the inputs must be held whole (JSON or a table out, or one of the options
    given), or None: CSV and NPZ output are computed and written block by block."""
    if fmt in ("json", "table"):
        return "JSON output" if fmt == "json" else "a table"
    return next((f"--{name}" for name, given in options.items() if given), None)


def held(rows: Rows, reason: str | None, explain_hint: str = "", copies: int = 1) -> Rows:
    """``rows`` whole in memory when ``reason`` says so, else as they are. Refused, with
    the sizes and the hint for the reason, when the result held whole (``copies``
    arrays of this size: the inputs and the per-sample quantities) would take more than
    `IN_MEMORY_BYTES`."""
    if reason is None:
        return rows
    need = rows.size * 8 * copies
    if need > IN_MEMORY_BYTES:
        hint = explain_hint if reason == "--explain" else _BLOCKWISE
        raise InputError(
            f"{shape_text(rows.shape)} = {rows.size:,} values ({size_text(rows.size * 8)} as "
            f"float64): {reason} holds the result whole, {copies} arrays this size "
            f"({size_text(need)}), more than the {size_text(IN_MEMORY_BYTES)} hw3 holds "
            "in memory",
            where=rows.source,
            hint=HOLD_HINTS.get(reason, hint),
        )
    whole = rows.whole()
    return rows if isinstance(rows, InMemory) else InMemory(whole, rows.source)


Member = tuple[str, tuple[int, ...], Iterable[Array]]


@dataclass(frozen=True)
class Emission:
    """What a numeric command writes, for every format: the emitted matrix block by
    block (CSV), every output as (name, shape, blocks) (NPZ), the JSON object and the
    table (both from a result held whole)."""

    header: Sequence[str] | None
    matrix_shape: tuple[int, ...]
    matrix: Callable[[], Iterable[Array]]
    members: Callable[[], Iterable[Member]]
    json_obj: Callable[[dict[str, Any]], Mapping[str, Any]]  # given the extra keys
    table: Callable[[IO[str], bool], None]
    document: Callable[[str], str] | None = None  # the derivation: markdown or latex


def emit(
    fmt: str,
    output: str | None,
    out: Emission,
    *,
    check: GradCheck | None,
    explanation: list[str] | None,
    expect: str | None,
    emitted: str,
    delimiter: str,
    rtol: float,
    atol: float,
    context: Context | None = None,
) -> None:
    """The shared end of the numeric commands: the --expect file read (and refused if
    bad) before anything is written, the result written, then the verdicts of --check
    and --expect (`finish`), the comparison block by block against the output's
    members, in bounded memory."""
    extra: dict[str, Any] = {}
    if check is not None:
        extra["check"] = check_json(check)
    words_out(explanation, fmt, extra)
    names = [name for name, _, _ in out.members()] if expect is not None else []
    expected = load_expect(expect, names, emitted, delimiter=delimiter)
    write_result(fmt, output, out, extra)
    verdict = run_expect(expect, expected, out.members, rtol, atol, context or Context())
    finish(check, verdict, fmt)


def write_result(
    fmt: str, output: str | None, out: Emission, extra: dict[str, Any] | None = None
) -> None:
    """The one place a numeric result is written, in the resolved format."""
    from hw3cli.output import progress

    progress.stop()  # the reading is over: the bar goes before the data comes
    to_file = output is not None and output != "-"
    if fmt == "json":
        write_chunks(writers.json_chunks(out.json_obj(extra or {})), output)
    elif fmt == "csv":
        writers.check_csv_shape(out.matrix_shape)
        write_binary(lambda f: writers.write_csv(f, out.matrix(), out.header), output)
    elif fmt == "npz":
        if not to_file:
            raise InputError(
                "NPZ is binary: write it to a file", where="--format npz", hint="add -o out.npz"
            )
        assert output is not None
        with atomic_output(output) as f:
            writers.write_npz_members(f, out.members())
    elif fmt == "table":
        formats.write_table(out.table, output)
    elif fmt in ("markdown", "latex") and out.document is not None:
        formats.write_text(out.document(fmt), output)
    else:  # pragma: no cover - click.Choice allows no other value
        raise InputError(f"unknown format {fmt!r}", where="--format")


def render_document(document: Any, kind: str, standalone: bool) -> str:
    """A derivation as ``markdown`` or ``latex`` (its module is imported for these alone)."""
    from hw3cli.output.derivation import render

    return render(document, kind, standalone)


def write_chunks(chunks: Iterable[str | bytes], output: str | None) -> None:
    """Text made piece by piece (a few MB at a time; str, or UTF-8 bytes) to stdout or
    atomically to a file."""

    def fill(f: IO[bytes]) -> None:
        for chunk in chunks:
            f.write(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8"))

    write_binary(fill, output)


def write_binary(fill: Callable[[IO[bytes]], None], output: str | None) -> None:
    """``fill`` writes UTF-8 bytes into a binary file: stdout's binary buffer (after what
    was written to stdout as text), or the file ``output``, atomically."""
    if output is not None and output != "-":
        with atomic_output(output) as f:
            fill(f)
        return
    with formats.writing_stdout():
        sys.stdout.flush()  # (what was written as text goes first)
        buffer = getattr(sys.stdout, "buffer", None)
        fill(buffer if buffer is not None else cast(IO[bytes], _TextAsBytes(sys.stdout)))


class _TextAsBytes:
    """A text stream (a stdout without a binary buffer) taking UTF-8 bytes."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, data: bytes) -> int:
        self.stream.write(data.decode("utf-8"))
        return len(data)


def words_out(explanation: list[str] | None, fmt: str, extra: dict[str, Any]) -> None:
    """An explanation goes into the JSON object, or to stderr beside CSV or NPZ data (a
    table shows it itself)."""
    if explanation is None:
        return
    if fmt == "json":
        extra["explanation"] = explanation
    elif fmt not in ("table", "markdown", "latex") and not formats.quiet():  # (those show it)
        sys.stderr.write("".join(escaped(line) + "\n" for line in explanation))


Expected = Array | Rows


def read_expected(
    path: str, emitted: str, names: Sequence[str], *, delimiter: str = "auto"
) -> dict[str, Expected]:
    """The --expect file: JSON (or NPZ) with output names (a JSON list: the emitted
    matrix), or CSV/NPY of the emitted matrix (as `Rows`, read block by block)."""
    doc = readers.read_document(
        path, what="--expect", hint="give a file", delimiter=delimiter, stream=True
    )
    if doc.format in ("csv", "npy"):
        return {emitted: doc.values["data"]}
    values = doc.values
    if doc.format == "json" and set(values) == {"data"} and "data" not in names:
        values = {emitted: values["data"]}  # a JSON array: the emitted matrix
    refuse_unknown(values, names, where=f"--expect {path}", kind="name")
    expected: dict[str, Expected] = {}
    for name, value in values.items():
        if value is None:
            continue
        scalar = isinstance(value, (int, float)) and not isinstance(value, bool)
        expected[name] = readers.to_array([value] if scalar else value, f"--expect {path}: {name}")
    if not expected:
        raise InputError("holds nothing to compare", where=f"--expect {path}")
    return expected


def load_expect(
    path: str | None, names: Sequence[str], emitted: str, *, delimiter: str = "auto"
) -> dict[str, Expected] | None:
    """The --expect file, read (and refused if bad) before anything is written."""
    if path is None:
        return None
    return read_expected(path, emitted, names, delimiter=delimiter)


def run_expect(
    path: str | None,
    expected: Mapping[str, Expected] | None,
    members: Callable[[], Iterable[Member]],
    rtol: float,
    atol: float,
    context: Context,
) -> str | None:
    """The --expect verdict: None when everything matches, else the report. Each
    expected quantity is compared with the output member of its name, block by block."""
    if expected is None:
        return None
    outcomes = []
    for name, shape, _ in members():
        if name not in expected:
            continue
        exp = expected[name]

        def computed(name: str = name) -> Iterable[Array]:
            return next(blocks for n, _, blocks in members() if n == name)

        def wanted(exp: Expected = exp) -> Iterable[Array]:
            return exp.blocks() if isinstance(exp, Rows) else [exp]

        outcomes.append(
            compare_blocks(name, exp.shape, wanted, shape, computed, rtol, atol, context)
        )
    order = list(expected)
    result = combine(sorted(outcomes, key=lambda o: order.index(o.name)))
    if result.passed:
        return None
    return f"--expect {path}: does not match\n" + report(result, rtol, atol)


def refuse_costly_check(plan: Sequence[tuple[int, int, int]], check_entries: int) -> None:
    """--check on more entries than a second or two allows: refused before it starts.

    ``plan``: per gradient, (its entries, --check-entries, values an entry's part of the
    function holds)."""
    from hw3cli.core.gradcheck import MAX_WORK, check_work

    def work(most: int) -> int:
        return check_work([(size, most, values) for size, _, values in plan])

    if work(check_entries) <= MAX_WORK:
        return
    low, high = 0, check_entries  # the most entries per gradient that fit: work(low) fits
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if work(middle) <= MAX_WORK else (low, middle)
    entries = sum(min(size, check_entries) for size, _, _ in plan)
    values = max(v for *_, v in plan)
    raise InputError(
        f"checking {entries:,} entries, each through the {values:,} values it depends on, "
        "would take more than the second or two a check may take",
        where="--check-entries",
        hint=f"check a random sample of at most {low:,} entries per gradient: "
        f"--check-entries {max(low, 1)}",
    )


def check_json(check: GradCheck) -> dict[str, Any]:
    return {
        "passed": check.passed,
        "max_abs_error": check.max_abs_error,
        "max_rel_error": check.max_rel_error,
        "checked": check.checked,
        "total": check.total,
        "notes": list(check.notes),
        "worst": [
            {
                "name": e.name,
                "index": list(e.index),
                "analytic": e.analytic,
                "numeric": e.numeric,
                "abs_error": e.abs_error,
            }
            for e in check.worst
        ],
    }


def check_report(check: GradCheck) -> str:
    verdict = "passed" if check.passed else "FAILED"
    lines = [
        f"gradient check {verdict}: {check.checked} of {check.total} entries checked against "
        f"central differences (h = 1e-6); max abs error {check.max_abs_error:.3g}, max rel "
        f"error {check.max_rel_error:.3g} (pass: |g - g_num| <= 1e-5 + 1e-3 |g_num|)"
    ]
    lines.extend(f"  {note}" for note in check.notes)
    if not check.passed:
        lines.append(f"  {'name':8s} {'index':14s} {'analytic':>24s} {'numeric':>24s}")
        for e in check.worst:
            if not e.passed:
                index = index_text(e.index)
                lines.append(f"  {e.name:8s} {index:14s} {e.analytic!r:>24} {e.numeric!r:>24}")
    return "\n".join(lines)


def finish(check: GradCheck | None, expect_failure: str | None, fmt: str) -> None:
    """After the result is written: report --check on stderr, raise for failed checks."""
    problems = []
    if check is not None:
        text = check_report(check)
        if check.passed:
            if fmt != "json" and not formats.quiet():
                sys.stderr.write(escaped(text, newlines=True) + "\n")
        else:
            problems.append("--check: " + text)
    if expect_failure is not None:
        problems.append(expect_failure)
    if problems:
        raise CheckFailed("\n".join(problems))
