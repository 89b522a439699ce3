"""Reading arrays from CSV, JSON, NPY and NPZ, from a path or standard input.

Every problem is an InputError that names the place: the file, the row and column of a
bad CSV cell, the JSON key and index of a bad entry. Non-finite numbers are refused.
CSV is read in blocks of rows (`iter_csv_blocks`) so that a streaming consumer can use
the same parser later.

CSV: the delimiter is given (a single character; ``" "`` means runs of whitespace, as
``np.savetxt`` writes) or ``auto``, found on the first non-blank line (`detect_delimiter`).
Row 1 is a header when none of its cells is a number. NPY and NPZ: the header is read
and checked (a real-number dtype, a declared size equal to the bytes present) before
anything is allocated; pickles are never loaded.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import os
import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from hw3cli.errors import InputError, shape_text
from hw3cli.tensor_io.engine import attempt
from hw3cli.tensor_io.files import (
    NPY_MAGIC,
    ZIP_MAGIC,
    Input,
    max_input_bytes,
    open_input,
    parse_json,
    source_name,
)
from hw3cli.tensor_io.rows import InMemory, OnDisk, Rows, Spool

Array = npt.NDArray[np.float64]

_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".json": "json", ".npy": "npy", ".npz": "npz"}
BLOCK_ROWS = 65536
WHITESPACE = " "  # the delimiter value that means "runs of spaces and tabs"
MAX_AXES = 32
NPY_MAX_HEADER = 65536  # bytes of header text; NumPy writes well under 1 kB


@dataclass(frozen=True)
class Document:
    """What a file held: named values (arrays or scalars), its format, a CSV header."""

    source: str
    format: str
    values: dict[str, Any]
    header: tuple[str, ...] | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def detect_format(path: str | None, data: bytes, requested: str = "auto") -> str:
    """``requested`` unless ``auto``; then the extension, then the content."""
    if requested != "auto":
        return requested
    if path not in (None, "-"):
        ext = os.path.splitext(str(path))[1].lower()
        if ext in _EXTENSIONS:
            return _EXTENSIONS[ext]
    if data.startswith(NPY_MAGIC):
        return "npy"
    if data.startswith(ZIP_MAGIC):
        return "npz"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head in (b"{", b"[") else "csv"


def read_document(
    path: str | None,
    requested: str = "auto",
    *,
    what: str = "input",
    hint: str = "",
    delimiter: str = "auto",
    stream: bool = False,
) -> Document:
    """Read ``path`` (or stdin) in its format into a Document.

    ``delimiter`` applies to CSV: ``auto`` or a single character (``" "``: whitespace).
    ``stream``: a CSV or NPY matrix comes as `Rows`, read block by block in bounded
    memory (a CSV text is parsed once, into a temporary float64 file, when it is larger
    than one piece; an .npy file is read where it is), rather than as an array.
    """
    name = source_name(path)
    with open_input(path, what=what, hint=hint) as source:
        fmt = detect_format(path, source.head, requested)
        if fmt == "csv":
            rows, header = read_csv_rows(source, delimiter, spool=stream)
            return Document(name, "csv", {"data": rows if stream else rows.whole()}, header)
        if fmt == "npy" and stream and source.size is not None:
            return Document(name, "npy", {"data": npy_rows(source)})
        data = source.all_bytes()
    if fmt == "json":
        raw = parse_json(data, name)
        values = raw if isinstance(raw, dict) else {"data": raw}
        return Document(name, "json", dict(values), raw=values)
    if fmt == "npy":
        return Document(name, "npy", {"data": parse_npy(data, name)})
    if fmt == "npz":
        return Document(name, "npz", parse_npz(data, name))
    raise InputError(f"unknown input format {fmt!r}", where="--input-format")


def read_csv_rows(
    source: Input, delimiter: str = "auto", *, spool: bool = False
) -> tuple[Rows, tuple[str, ...] | None]:
    """A CSV input parsed piece by piece (`CsvPieces`): in memory, or with ``spool``
    written to a temporary float64 file as it comes once it is larger than one piece."""
    parser = CsvPieces(source.name, delimiter)
    blocks: list[Array] = []
    disk: Spool | None = None
    size = PIECE_BYTES
    chunks: Iterable[bytes] = source.chunks(in_memory=not spool, size=size)
    if source.size is not None and source.size <= WHOLE_BYTES:
        whole = parser.parse_file(source)
        if whole is not None:
            return InMemory(parser.finish([whole]), source.name), parser.header
        # one piece, in memory: polars parses it on every core, and nothing is spooled
        size = max(size, source.size + 1)
        chunks = [source.all_bytes(in_memory=not spool)]
    pieces = csv_pieces(chunks, size, source.name, lambda: parser.line)
    for piece, offset in pieces:
        block = parser.parse(piece, offset)
        if not block.shape[0]:
            continue
        if disk is not None:
            disk.write(block)
        elif spool and blocks:
            disk = Spool(source.name)
            disk.write(blocks.pop())
            disk.write(block)
        else:
            blocks.append(block)
    if disk is not None:
        return disk.rows_on_disk(), parser.header
    return InMemory(parser.finish(blocks), source.name), parser.header


def npy_rows(source: Input) -> Rows:
    """An .npy file's array, read block by block from the file (its header checked first;
    its values as each block is read)."""
    assert source.size is not None
    header = read_npy_header(source.head[: 12 + NPY_MAX_HEADER], source.name)
    _check_npy_size(header, source.size - header.data_offset, source.name)
    shape = header.shape
    in_memory = (
        not shape
        or math.prod(shape) == 0
        or header.dtype == np.bool_
        or (header.fortran_order and len(shape) > 2)
    )
    if in_memory:  # refused with parse_npy's message, or read whole as a rare layout
        return InMemory(parse_npy(source.all_bytes(), source.name), source.name)
    file = os.fdopen(os.dup(source.file.fileno()), "rb")
    return OnDisk(
        file,
        header.data_offset,
        shape,
        header.dtype,
        source.name,
        fortran=header.fortran_order and len(shape) == 2,
        checked=False,
        report=True,
    )


def read_rows(path: str, *, what: str, delimiter: str = "auto") -> Rows:
    """One numeric array from a file of any format, as `Rows` (read block by block from
    a CSV or NPY file)."""
    doc = read_document(
        path, what=what, hint=f"give {what} as a file", delimiter=delimiter, stream=True
    )
    value = doc.values.get("data")
    if isinstance(value, Rows):
        return value
    return InMemory(read_matrix_of(doc), doc.source)


def read_matrix(path: str, *, what: str, requested: str = "auto", delimiter: str = "auto") -> Array:
    """One numeric array from a file of any format (a JSON file: its only array)."""
    doc = read_document(
        path, requested, what=what, hint=f"give {what} as a file", delimiter=delimiter
    )
    return read_matrix_of(doc)


def read_matrix_of(doc: Document) -> Array:
    """The one array of a Document (a JSON file: its only array)."""
    if len(doc.values) != 1:
        names = ", ".join(sorted(doc.values))
        raise InputError(f"holds several arrays ({names}); expected one", where=doc.source)
    (key, value) = next(iter(doc.values.items()))
    return to_array(value, doc.source if doc.format != "json" else f"{doc.source}: {key}")


# --- CSV --------------------------------------------------------------------------------


def _lines(text: str) -> Iterator[str]:
    """The text's lines, with any of \\n, \\r\\n and \\r ending one (as ``open`` reads);
    a comment line (``#`` first, as ``np.savetxt`` writes a header) is read as a blank line,
    so that every line keeps its number."""
    for line in io.StringIO(text, newline=None):
        yield "\n" if line.lstrip().startswith("#") else line


_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _delimiter_name(delimiter: str) -> str:
    return {"\t": "tabs", WHITESPACE: "spaces"}.get(delimiter, repr(delimiter))


def _delimiter_option(delimiter: str) -> str:
    return {"\t": "tab", WHITESPACE: "space", ";": "';'"}.get(delimiter, repr(delimiter))


def detect_delimiter(text: str) -> str:
    """The delimiter of CSV text, from its first non-blank line.

    ``;`` if that line has one (a European spreadsheet's export), else a tab if it has
    one, else ``,`` if it has one, else whitespace (``" "``) if it has several tokens
    (``np.savetxt``'s default), else ``,`` (a single column).
    """
    for line in _lines(text):
        if not line.strip():
            continue
        for candidate in (";", "\t", ","):
            if candidate in line:
                return candidate
        return WHITESPACE if len(line.split()) > 1 else ","
    return ","


def _check_delimiter(delimiter: str, text: str) -> str:
    if delimiter == "auto":
        return detect_delimiter(text)
    if len(delimiter) != 1 or delimiter in '"\r\n' or delimiter.isalnum() or delimiter in ".+-":
        raise InputError(
            f"{delimiter!r} cannot separate numbers",
            where="--delimiter",
            hint="give auto, a single character such as ';' or '|', or comma, semicolon, "
            "tab or space",
        )
    return delimiter


def _cell_hint(cell: str, delimiter: str) -> str | None:
    """What a cell that is not a number suggests, read with ``delimiter``."""
    text = cell.strip()
    if _DECIMAL_COMMA.fullmatch(text):
        decimal = (
            f"hw3 reads '.' as the decimal point: write {text.replace(',', '.')}, not {text} "
            "(export the spreadsheet with '.' as its decimal separator)"
        )
        if delimiter == ";":  # a European export: the comma is the decimal separator
            return decimal
        return f"the values seem separated by ',': give --delimiter comma; or {decimal}"
    for ch, parts in _splits(text):
        if len(parts) >= 2 and any(map(_numberish, parts)):
            sep = ch if ch == "\t" or not ch.isspace() else WHITESPACE
            return (
                f"the values seem separated by {_delimiter_name(sep)}: "
                f"give --delimiter {_delimiter_option(sep)}"
            )
    return None


def _looks_numeric(cell: str) -> bool:
    """A number, a number with a decimal comma, or only such numbers joined by some other
    delimiter (``1|2``; but not a name such as ``feature 1``)."""
    text = cell.strip()
    if _numberish(text):
        return True
    if _SPLITTER.search(text) is None or len(set(_FOREIGN.findall(text))) > 1:
        return False  # nothing to split at, or a foreign character left inside a part
    return any(len(parts) >= 2 and all(map(_numberish, parts)) for _, parts in _splits(text))


def _numberish(text: str) -> bool:
    """A number, or one written with a decimal comma (``1,5``)."""
    return _is_number(text) or _DECIMAL_COMMA.fullmatch(text) is not None


# Characters a number (``float``, or with a decimal comma) can hold: letters and digits
# (``inf``, ``1e5``), ``.+-_,`` and whitespace. Any other character is "foreign".
_FOREIGN = re.compile(r"[^\w\s.+,-]")
_NUMBER_CHARS = re.compile(r"[\w\s.+,-]+")
_SPACE = re.compile(r"\s")
_SPLITTER = re.compile(r"[^\w.+-]|_")  # a character `_splits` may split at


def _splits(text: str) -> Iterator[tuple[str, list[str]]]:
    """For each character of ``text`` that could be a delimiter splitting off a number
    (`_split_chars`), in the order they first appear, the non-blank parts it splits
    ``text`` into (any whitespace character splits at runs of whitespace)."""
    for ch in _split_chars(text):
        parts = text.split() if ch.isspace() else text.split(ch)
        yield ch, [p.strip() for p in parts if p.strip()]


def _split_chars(text: str) -> list[str]:
    """The characters that split ``text`` into parts of which at least one is a number
    (not a digit, a letter, ``.``, ``+`` or ``-``), in the order they first appear.

    Found in one pass, whatever the number of distinct characters: a part holding no
    foreign character (`_FOREIGN`) lies within one run of number characters, so a
    foreign character gives a number part only where it stands on both sides of such a
    run that is a number (or on one side, the other being an end of ``text``). ``,``,
    ``_`` and whitespace, which numbers may hold, are taken when present. Splitting by
    the first foreign one found leaves at least two parts whenever ``text`` holds another
    foreign character, so that a caller looking for the first useful split tries at
    most four."""
    found: set[str] = {ch for ch in ",_" if ch in text}
    space = _SPACE.search(text)
    if space is not None:
        found.add(space.group())
    for run in _NUMBER_CHARS.finditer(text):
        if not _numberish(run.group().strip()):
            continue
        left = text[run.start() - 1] if run.start() else ""
        right = text[run.end()] if run.end() < len(text) else ""
        if left == right or not (left and right):
            found.add(left or right)
    found.discard("")
    if len(found) <= 1:
        return list(found)
    order = {ch: i for i, ch in enumerate(dict.fromkeys(text))}
    return sorted(found, key=order.__getitem__)


def _rows(text: str, source: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank row."""
    if delimiter == WHITESPACE:
        for number, line in enumerate(_lines(text), start=1):
            cells = line.split()
            if cells:
                yield number, cells
        return
    reader = csv.reader(_lines(text), delimiter=delimiter)
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                yield reader.line_num, row
    except csv.Error as e:
        raise InputError(f"not valid CSV: {e}", where=f"{source}, row {reader.line_num}") from None


def _numbered_blocks(
    text: str, source: str, block_rows: int, delimiter: str
) -> Iterator[tuple[list[int], list[list[str]]]]:
    lines: list[int] = []
    block: list[list[str]] = []
    for number, row in _rows(text, source, delimiter):
        lines.append(number)
        block.append(row)
        if len(block) >= block_rows:
            yield lines, block
            lines, block = [], []
    if block:
        yield lines, block


def iter_csv_blocks(
    text: str, source: str, block_rows: int = BLOCK_ROWS, *, delimiter: str = ","
) -> Iterator[tuple[int, list[list[str]]]]:
    """Blocks of (first line number, rows of cells); blank lines skipped.

    ``delimiter`` is one character; ``" "`` splits on runs of whitespace.
    """
    for lines, rows in _numbered_blocks(text, source, block_rows, delimiter):
        yield lines[0], rows


def parse_csv(
    data: bytes, source: str, delimiter: str = "auto"
) -> tuple[Array, tuple[str, ...] | None]:
    """A matrix of float64, one sample a row, and the header row if the file had one.

    Row 1 (the first non-blank row) is a header when none of its cells is a number
    (empty cells count as names, as in pandas' ``,a,b``); a row 1 that mixes numbers and
    names is an error at its first name. ``delimiter``: ``auto`` (`detect_delimiter`)
    or one character, ``" "`` meaning whitespace. Rows are named by their line in the
    file. CRLF line ends and a UTF-8 byte-order mark are accepted. The text is read in
    pieces cut at line ends (`csv_pieces`), as a streamed input is.
    """
    reader = CsvPieces(source, delimiter)
    blocks = [reader.parse(piece, offset) for piece, offset in csv_pieces([data], None, source)]
    return reader.finish(blocks), reader.header


PIECE_BYTES = 8 << 20  # bytes of CSV text parsed at a time
WHOLE_BYTES = 64 << 20  # a file up to this size is parsed in one piece (faster)


def csv_pieces(
    chunks: Iterable[bytes],
    piece_bytes: int | None = None,
    source: str = "input",
    line_of: Callable[[], int] | None = None,
) -> Iterator[tuple[bytes, int]]:
    """The text of ``chunks`` in pieces of at most about ``piece_bytes`` (`PIECE_BYTES`)
    that end at a line end (a longer line is one piece): (piece, its first byte's
    offset in the text). A line longer than `MAX_LINE_BYTES` is an InputError as soon as
    it is (an endless line on a pipe); the unfinished line is kept as the chunks that
    hold it, joined once when it ends. ``line_of`` gives the number of the next piece's
    first line where the consumer counts lines anyway (a parser); without it the line
    ends are counted here, for the error's row."""
    piece_bytes = piece_bytes or PIECE_BYTES

    def before() -> int:  # line ends before the next piece
        return line_of() - 1 if line_of is not None else lines

    carry: list[bytes | memoryview] = []  # the unfinished line: it holds no line end
    carried = 0
    offset = 0
    lines = 0  # line ends before the next piece
    for chunk in chunks:
        view = memoryview(chunk)
        start = 0
        while True:
            limit = min(len(chunk), start + max(piece_bytes - carried, 1))
            cut = chunk.rfind(b"\n", start, limit) + 1
            if cut <= start and limit < len(chunk):  # a line longer than a piece
                cut = chunk.find(b"\n", limit) + 1
            if cut <= start:
                break
            whole = not carry and start == 0 and cut == len(chunk)
            piece = chunk if whole else b"".join((*carry, view[start:cut]))  # one copy, or none
            _refuse_long_lines(piece, before(), source)
            yield piece, offset
            offset += len(piece)
            if line_of is None:
                lines += piece.count(b"\n")
            carry, carried, start = [], 0, cut
        if start < len(chunk):
            carry.append(view[start:])
            carried += len(chunk) - start
            if carried > MAX_LINE_BYTES:
                raise _long_line(before() + 1, source)
    if carry:
        piece = b"".join(carry)
        _refuse_long_lines(piece, before(), source)
        yield piece, offset


MAX_LINE_BYTES = 16 << 20  # the longest CSV line: 8,388,608 values of one digit


def _long_line(row: int, source: str) -> InputError:
    return InputError(
        f"is longer than {MAX_LINE_BYTES >> 20} MiB of text, the longest row hw3 reads "
        f"(at most {MAX_LINE_BYTES // 2:,} values)",
        where=f"{source}, row {row}",
        hint="give one sample a row (a column of values is read whatever its length), "
        "or the array as an .npy file",
    )


def _refuse_long_lines(piece: bytes, lines: int, source: str) -> None:
    """An InputError for the first line of ``piece`` longer than `MAX_LINE_BYTES`
    (``lines`` line ends came before it). Such a line covers a whole window of half that
    size with no line end, so that a few searches, one a window, find it."""
    step = MAX_LINE_BYTES // 2
    for k in range(0, len(piece) - MAX_LINE_BYTES, step):
        if piece.find(b"\n", k, k + step) >= 0:
            continue
        left = piece.rfind(b"\n", 0, k) + 1
        right = piece.find(b"\n", k)
        if (right if right >= 0 else len(piece)) - left > MAX_LINE_BYTES:
            raise _long_line(lines + piece.count(b"\n", 0, left) + 1, source)


def _short_lines(source: Input) -> bool:
    """Whether no line of a regular file can be longer than `MAX_LINE_BYTES`: every window
    that `_refuse_long_lines` would search holds a line end. Its last 4 KiB are read
    first (a line end is almost always there), the whole window only when they hold none;
    False also when the file cannot be read so."""
    assert source.size is not None
    step = MAX_LINE_BYTES // 2
    for k in range(0, source.size - MAX_LINE_BYTES, step):
        last = min(step, 4096)
        tail = source.read_at(k + step - last, last)
        if tail is not None and b"\n" in tail:
            continue
        window = source.read_at(k, step)
        if window is None or b"\n" not in window:
            return False
    return True


class CsvPieces:
    """Parses the pieces of one CSV text in order: the first decides the delimiter and
    the header; every later one must have the same width. Each piece goes to polars when
    it is plain (`_fast_csv`), else to the careful reader, which names row and column."""

    def __init__(self, source: str, delimiter: str = "auto") -> None:
        self.source = source
        self.delimiter = delimiter  # "auto" until the first line with text
        self.header: tuple[str, ...] | None = None
        self.width: int | None = None
        self.rows = 0
        self.line = 1  # the number of the next piece's first line

    def parse(self, piece: bytes, offset: int) -> Array:
        """The rows of numbers of the next piece (possibly none), checked."""
        if offset == 0 and piece.startswith(b"\xef\xbb\xbf"):
            piece, offset = piece[3:], 3
        block = self._fast(piece) if self.width is not None or offset <= 3 else None
        if block is None:
            block = self._careful(piece, self.line, offset)
            self.line += len(io.StringIO(piece.decode("utf-8"), newline=None).readlines())
        else:  # polars read one row per line
            self.line += block.shape[0]
        self.rows += block.shape[0]
        return block

    def parse_file(self, source: Input) -> Array | None:
        """A regular file's rows, read by polars from the file itself (no copy of its text
        here: a third faster) when it is plain and whole in one piece; None to read it in
        pieces, which also refuses a line longer than `MAX_LINE_BYTES` (a file that might
        hold one is left to them: `_short_lines`)."""
        if self.width is not None or source.head.startswith(b"\xef\xbb\xbf"):
            return None
        if not source.size or not _short_lines(source):
            return None
        block = self._fast(source.head, source.rewound)
        if block is not None:
            self.line += block.shape[0]
            self.rows += block.shape[0]
        return block

    def _fast(self, piece: bytes, file: Callable[[], Any] | None = None) -> Array | None:
        first = self.width is None
        fast = _fast_csv(piece, self.delimiter, width=self.width, file=file)
        if fast is None:
            return None
        block, header, delimiter = fast
        if first:
            self.header, self.delimiter = header, delimiter
            self.width = block.shape[1]
            self.line += header is not None
        return block

    def _careful(self, piece: bytes, line: int, offset: int) -> Array:
        try:
            text = piece.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(
                f"not UTF-8 text (byte {offset + e.start})", where=self.source
            ) from None
        if self.delimiter == "auto" and text.strip():
            self.delimiter = _check_delimiter("auto", _first_text_line(text))
        elif self.delimiter != "auto":
            self.delimiter = _check_delimiter(self.delimiter, text)
        delimiter = self.delimiter if self.delimiter != "auto" else ","
        blocks: list[Array] = []
        source = self.source
        for numbers, rows in _numbered_blocks(text, source, BLOCK_ROWS, delimiter):
            lines = [n + line - 1 for n in numbers]
            if self.width is None:
                if not any(_looks_numeric(cell) for cell in rows[0]):
                    self.header = tuple(cell.strip() for cell in rows[0])
                    self.width = len(self.header)
                    lines, rows = lines[1:], rows[1:]
                    if not rows:
                        continue
                else:
                    _refuse_mixed_first_row(rows[0], source, lines[0], delimiter)
            self.width = _check_widths(rows, self.width, source, lines)
            blocks.append(_cells_to_floats(rows, source, lines, delimiter))
        if not blocks:
            return np.empty((0, self.width or 0))
        return np.concatenate(blocks, axis=0) if len(blocks) > 1 else blocks[0]

    def finish(self, blocks: list[Array]) -> Array:
        """The parsed pieces as one matrix; an error when there was no row of numbers."""
        blocks = [b for b in blocks if b.shape[0]]
        if not blocks:
            raise InputError("holds no rows of numbers", where=self.source)
        return np.concatenate(blocks, axis=0) if len(blocks) > 1 else blocks[0]


def _first_text_line(text: str) -> str:
    for line in _lines(text):
        if line.strip():
            return line
    return ""


def _fast_csv(
    data: bytes,
    delimiter: str,
    width: int | None = None,
    file: Callable[[], Any] | None = None,
) -> tuple[Array, tuple[str, ...] | None, str] | None:
    """A piece of CSV text read by polars: (rows, header, delimiter), or None to leave
    the piece to the careful reader.

    Taken only where both readers read the same numbers: one delimiter character, every
    cell a float to polars (which parses digits exactly, as Python's ``float`` does, and
    refuses what ``float`` refuses, quotes and comments included, with no quote character
    set), one row per line (a blank line would be a row of nulls), all finite. Anything
    else, including every error, goes the careful way, which names the row and column.
    ``width`` None: the first piece, whose first line decides the delimiter (when
    ``auto``) and is a header when none of its cells is a number; else a later piece of
    ``width`` columns, all numbers. ``file``: polars reads the text from the file it gives
    (a whole regular file, at its first byte), and ``data`` is the file's first block.
    """
    end = data.find(b"\n")
    if end <= 0:
        return None
    try:
        first = data[:end].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        return None
    if not first.strip():
        return None
    delimiter = _check_delimiter(delimiter, first)
    if delimiter == WHITESPACE:
        return None
    cells = first.split(delimiter)
    header = None
    if width is None:
        width = len(cells)
        if not any(_looks_numeric(c) for c in cells):
            header = tuple(c.strip() for c in cells)
    skip = 1 if header is not None else 0
    if width > WIDE_COLUMNS:
        if file is not None:  # (read line by line from the text itself)
            return None
        matrix = attempt(lambda pl: _wide_rows(pl, data, skip, delimiter, width))
    else:
        frame = attempt(
            lambda pl: pl.read_csv(
                data if file is None else file(),
                has_header=False,
                skip_rows=skip,
                separator=delimiter,
                quote_char=None,
                schema={f"c{i}": pl.Float64 for i in range(width)},
            )
        )
        # in C order, as every other reader gives: the sums of the maths then add in the
        # same order whatever the input format
        matrix = None if frame is None else np.ascontiguousarray(frame.to_numpy(), np.float64)
    if matrix is None:
        return None
    if (header is None and matrix.shape[0] < 1) or not np.isfinite(matrix).all():
        return None
    return matrix, header, delimiter


WIDE_COLUMNS = 1024  # wider rows are read line by line (a polars schema per column is slow)


def _wide_rows(pl: Any, data: bytes, skip: int, delimiter: str, width: int) -> Array | None:
    """Rows of ``width`` numbers, each line split by polars as one string: the same
    numbers as a schema of ``width`` Float64 columns gives (a strict cast refuses what
    ``float`` refuses), in time linear in the text whatever the width. None for a line
    of another width (a blank line included); a cell that is not a number raises."""
    lines = data.decode("utf-8").split("\n")[skip:]
    if lines and not lines[-1]:
        lines.pop()
    cells = pl.Series(lines, dtype=pl.String).str.strip_chars_end("\r").str.split(delimiter)
    if not len(cells) or (cells.list.len() != width).any():
        return None
    values = cells.explode().cast(pl.Float64, strict=True).to_numpy()
    return np.ascontiguousarray(values, dtype=np.float64).reshape(len(lines), width)


def _refuse_mixed_first_row(row: list[str], source: str, line: int, delimiter: str) -> None:
    """Row 1 holds numbers: every cell must be one (a header holds only names)."""
    for c, cell in enumerate(row):
        if _is_number(cell):
            continue
        hint = _cell_hint(cell, delimiter)
        if not _looks_numeric(cell):  # a name among numbers
            header_rule = (
                "a header row holds only names, and the first row mixes numbers and names: "
                "correct the cell, or give every column of the header a name"
            )
            hint = f"{hint}; {header_rule}" if hint else header_rule
        raise InputError(
            f"{cell.strip()!r} is not a number",
            where=f"{source}, row {line}, column {c + 1}",
            hint=hint,
        )


def _check_widths(rows: list[list[str]], width: int | None, source: str, lines: list[int]) -> int:
    expected = width if width is not None else len(rows[0])
    for line, row in zip(lines, rows, strict=True):
        if len(row) != expected:
            raise InputError(
                f"has {len(row)} columns where the rows before have {expected}",
                where=f"{source}, row {line}",
            )
    return expected


def _cells_to_floats(rows: list[list[str]], source: str, lines: list[int], delimiter: str) -> Array:
    try:
        block = np.array(rows, dtype=np.float64)
    except ValueError:
        block = None
    if block is not None and np.isfinite(block).all():
        return block
    for line, row in zip(lines, rows, strict=True):
        for c, cell in enumerate(row):
            place = f"{source}, row {line}, column {c + 1}"
            try:
                value = float(cell)
            except ValueError:
                raise InputError(
                    f"{cell.strip()!r} is not a number",
                    where=place,
                    hint=_cell_hint(cell, delimiter),
                ) from None
            if not math.isfinite(value):
                raise InputError(f"{cell.strip()!r} is not a finite number", where=place)
    raise AssertionError("unreachable: a bad cell was found above")  # pragma: no cover


# --- JSON arrays ------------------------------------------------------------------------

_FLOAT_MAX = float(np.finfo(np.float64).max)


def to_array(value: Any, where: str) -> Array:
    """A nested list (or array) of finite numbers as float64, or an InputError at the entry.

    At most ``MAX_AXES`` axes; a whole number beyond float64's range is refused at its
    index.
    """
    if isinstance(value, np.ndarray):
        return _checked_array(value, where)
    if isinstance(value, bool) or not isinstance(value, (list, int, float)):
        raise InputError(f"expected numbers, got {describe(value)}", where=where)
    _walk(value, where, _shape_of(value, where))
    return _checked_array(np.array(value, dtype=np.float64), where)


def _too_many_axes(ndim: str, where: str, *, json: bool = False) -> InputError:
    return InputError(
        f"has {ndim} axes; hw3 reads arrays of at most {MAX_AXES}",
        where=where,
        hint="check the brackets: a matrix is a list of rows, [[1, 2], [3, 4]]" if json else None,
    )


def _shape_of(value: Any, where: str) -> tuple[int, ...]:
    """The shape the first entries give, refused beyond ``MAX_AXES`` axes."""
    shape: list[int] = []
    while isinstance(value, list):
        if len(shape) == MAX_AXES:
            raise _too_many_axes(f"more than {MAX_AXES}", where, json=True)
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def _walk(value: Any, where: str, shape: tuple[int, ...]) -> None:
    """Find the first entry that is not a number or breaks the rectangular shape."""
    if not shape:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"expected a number, got {describe(value)}", where=where)
        if isinstance(value, int) and not -_FLOAT_MAX <= value <= _FLOAT_MAX:
            raise InputError(
                f"{_big_int_text(value)} is too large for a float64 (at most about 1.8e308)",
                where=where,
            )
        return
    if not isinstance(value, list):
        raise InputError(
            f"expected a list of {shape[0]}, got {describe(value)} (the array is not rectangular)",
            where=where,
        )
    if len(value) != shape[0]:
        raise InputError(
            f"has {len(value)} entries where the first has {shape[0]} (the array is not "
            "rectangular)",
            where=where,
        )
    for i, item in enumerate(value):
        _walk(item, f"{where}[{i}]", shape[1:])


def _big_int_text(value: int) -> str:
    """A whole number too long to print whole: ``1.234e+400 (401 digits)``."""
    digits = str(abs(value))
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:4] or '0'}e+{len(digits) - 1} ({len(digits)} digits)"


def describe(value: Any, limit: int = 40) -> str:
    """A short text for a value in a message: JSON-like, cut to ``limit`` characters, and
    safe for long values (a 5000-digit number is not printed)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        digits = len(str(abs(value))) if value.bit_length() < 13000 else None
        if digits is not None and digits <= limit:
            return str(value)
        return f"a whole number of {digits or 'thousands of'} digits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 3] + "..."
        return f"the string {text!r}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    return type(value).__name__


_AT_LEAST_ONE = "give at least one number"


def _checked_array(array: npt.NDArray[Any], where: str) -> Array:
    if array.ndim > MAX_AXES:
        raise _too_many_axes(str(array.ndim), where)
    if array.dtype.kind not in "iuf" and array.dtype != np.bool_:
        raise InputError(f"holds {array.dtype} values, not real numbers", where=where)
    if array.dtype == np.bool_:
        raise InputError("holds booleans, not numbers", where=where)
    out = np.asarray(array, dtype=np.float64)
    if out.size == 0:
        raise InputError(
            f"is empty (shape {shape_text(out.shape)})",
            where=where,
            hint=_AT_LEAST_ONE,
        )
    bad = ~np.isfinite(out)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        place = "".join(f"[{i}]" for i in index)
        raise InputError(f"{out[index]} at {place} is not a finite number", where=where)
    return out


# --- NPY / NPZ --------------------------------------------------------------------------

_NPY_VERSIONS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}
_NPY_RESAVE = "save the array again with np.save (a real-number dtype such as float64)"


@dataclass(frozen=True)
class NpyHeader:
    """What a .npy header declares, and where its data starts."""

    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype[Any]
    data_offset: int

    @property
    def data_bytes(self) -> int:
        """prod(shape) * itemsize, as a Python int (no overflow)."""
        return math.prod(self.shape) * self.dtype.itemsize


def _bad_npy(detail: str, source: str, hint: str = _NPY_RESAVE) -> InputError:
    return InputError(f"not a readable .npy file: {detail}", where=source, hint=hint)


def read_npy_header(head: bytes, source: str) -> NpyHeader:
    """The header of a .npy file from its first bytes (all of the header must be there).

    Checks the magic, the version, the header's length and text, and the dtype: real
    numbers only (integers, floats; booleans are refused later with their own message),
    never objects, strings, structured or complex values.
    """
    if not head:
        raise _bad_npy("the file is empty (0 bytes)", source)
    if not head.startswith(NPY_MAGIC):
        raise _bad_npy(
            "it does not start with the .npy magic \\x93NUMPY",
            source,
            hint="is it CSV or JSON? give --input-format csv or json, or a .csv/.json name",
        )
    if len(head) < 8:
        raise _bad_npy(f"it ends after {len(head)} bytes, inside the header", source)
    version = (head[6], head[7])
    if version not in _NPY_VERSIONS:
        raise _bad_npy(f"unknown format version {version[0]}.{version[1]}", source)
    length_format, encoding = _NPY_VERSIONS[version]
    start = 8 + struct.calcsize(length_format)
    if len(head) < start:
        raise _bad_npy(f"it ends after {len(head)} bytes, inside the header", source)
    (header_length,) = struct.unpack(length_format, head[8:start])
    if header_length > NPY_MAX_HEADER:
        raise _bad_npy(
            f"its header claims {header_length:,} bytes (at most {NPY_MAX_HEADER:,} are read)",
            source,
        )
    if len(head) < start + header_length:
        raise _bad_npy(
            f"its header claims {header_length} bytes but only {len(head) - start} follow",
            source,
        )
    try:
        text = head[start : start + header_length].decode(encoding)
        fields = ast.literal_eval(text)
    except Exception:  # noqa: BLE001 - SyntaxError, ValueError, MemoryError, RecursionError
        raise _bad_npy("its header is not a Python dict literal", source) from None
    if not isinstance(fields, dict) or set(fields) != {"descr", "fortran_order", "shape"}:
        raise _bad_npy("its header does not have exactly descr, fortran_order and shape", source)
    shape, fortran, descr = fields["shape"], fields["fortran_order"], fields["descr"]
    if not isinstance(shape, tuple) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise _bad_npy(f"its header's shape {str(shape)[:60]} is not a tuple of lengths", source)
    if len(shape) > MAX_AXES:
        raise _too_many_axes(str(len(shape)), source)
    if not isinstance(fortran, bool):
        raise _bad_npy("its header's fortran_order is not True or False", source)
    dtype = _npy_dtype(descr, source)
    return NpyHeader(shape, fortran, dtype, start + header_length)


def _npy_dtype(descr: Any, source: str) -> np.dtype[Any]:
    """The dtype of a header's descr, when it holds real numbers (or booleans)."""
    if not isinstance(descr, str):
        # a list of fields: a structured array (a string would need parsing of its own)
        raise InputError(
            "holds a structured array (records of named fields), not an array of numbers",
            where=source,
            hint="save each field as its own array, as float64",
        )
    try:
        dtype = np.dtype(descr)
    except Exception:  # noqa: BLE001 - TypeError, ValueError, SyntaxError for a bad descr
        raise _bad_npy(f"its dtype {descr[:40]!r} is not a NumPy dtype", source) from None
    kind = {
        "O": "Python objects (a pickle, which hw3 never loads)",
        "c": "complex numbers",
        "U": "strings",
        "S": "byte strings",
        "V": "raw or structured records",
        "M": "dates",
        "m": "time spans",
    }
    if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None:
        raise InputError(
            f"holds {kind['O' if dtype.hasobject else 'V']}, not real numbers",
            where=source,
            hint=_NPY_RESAVE,
        )
    if dtype.kind not in "iufb":
        what = kind.get(dtype.kind, f"{dtype} values")
        raise InputError(
            f"holds {what} ({dtype}), not real numbers", where=source, hint=_NPY_RESAVE
        )
    return dtype


def _check_npy_size(header: NpyHeader, present: int, source: str) -> None:
    declared = header.data_bytes
    if declared != present:
        raise _bad_npy(
            f"its header declares shape {header.shape} of {header.dtype}, "
            f"{declared:,} bytes of data, but the file holds {present:,}",
            source,
            hint="the file is truncated or damaged: "
            + _NPY_RESAVE.replace(" (a real-number dtype such as float64)", ""),
        )


def parse_npy(data: bytes, source: str) -> Array:
    """A .npy file's array as float64; the header is checked before anything is allocated."""
    header = read_npy_header(data[: 12 + NPY_MAX_HEADER], source)
    _check_npy_size(header, len(data) - header.data_offset, source)
    count = math.prod(header.shape)
    if count == 0:  # an empty array, refused as such without building its shape
        shape = shape_text(header.shape)
        raise InputError(f"is empty (shape {shape[:80]})", where=source, hint=_AT_LEAST_ONE)
    else:
        flat = np.frombuffer(data, dtype=header.dtype, count=count, offset=header.data_offset)
        array = flat.reshape(header.shape, order="F" if header.fortran_order else "C")
    return _checked_array(array, source)


def parse_npz(data: bytes, source: str) -> dict[str, Any]:
    """The arrays of an .npz archive by name; each member's header is checked first."""
    if not data:
        raise InputError("not a readable .npz file: the file is empty (0 bytes)", where=source)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = _npz_members(archive, source)
            unpacked = sum(info.file_size for info in members.values())
            if unpacked > max_input_bytes():  # a zip bomb, or too much for this machine
                raise InputError(
                    f"unpacks to {unpacked:,} bytes, more than hw3 reads into this machine's "
                    f"memory ({max_input_bytes():,})",
                    where=source,
                    hint="give a part of the data at a time",
                )
            _refuse_bomb(members, len(data), source)
            out: dict[str, Any] = {}
            for name, info in members.items():
                place = f"{source}: {name}"
                with archive.open(info) as member:
                    head = member.read(12 + NPY_MAX_HEADER)
                header = read_npy_header(head, place)
                if info.file_size != header.data_offset + header.data_bytes:
                    raise _bad_npy(
                        f"the archive says it is {info.file_size:,} bytes but its header "
                        f"declares {header.data_offset + header.data_bytes:,} (shape "
                        f"{header.shape} of {header.dtype})",
                        place,
                        hint="the archive is damaged: save it again with np.savez",
                    )
                out[name] = parse_npy(archive.read(info), place)
            return out
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - zipfile and zlib raise several kinds for a bad file
        raise InputError(f"not a readable .npz file ({e})", where=source) from None


NPZ_MAX_RATIO = 100  # unpacked bytes per byte of archive, beyond NPZ_FREE_BYTES
NPZ_FREE_BYTES = 64 << 20  # an archive may unpack to this much whatever its ratio
NPZ_MAX_INFLATED = 512 << 20  # what compressed members may unpack to, in all


def _refuse_bomb(members: dict[str, zipfile.ZipInfo], packed: int, source: str) -> None:
    """An InputError for an archive that unpacks to more than `NPZ_FREE_BYTES` and more
    than `NPZ_MAX_RATIO` times its own size (a zip bomb), or whose compressed members
    unpack to more than `NPZ_MAX_INFLATED` (memory a small file cannot announce): checked
    from the sizes its directory declares, before anything is unpacked (each member's
    size is checked against its header's shape as it is read)."""
    unpacked = sum(info.file_size for info in members.values())
    hint = "a zip bomb? If not, save the arrays with np.savez (uncompressed) or np.save"
    if unpacked > NPZ_FREE_BYTES and unpacked > NPZ_MAX_RATIO * packed:
        raise InputError(
            f"unpacks to {unpacked:,} bytes, {unpacked // max(packed, 1):,} times its own "
            f"size; hw3 unpacks at most {NPZ_MAX_RATIO} times an archive's size (beyond "
            f"{NPZ_FREE_BYTES >> 20} MiB)",
            where=source,
            hint=hint,
        )
    inflated = sum(
        info.file_size for info in members.values() if info.compress_type != zipfile.ZIP_STORED
    )
    if inflated > NPZ_MAX_INFLATED:
        raise InputError(
            f"its compressed arrays unpack to {inflated:,} bytes; hw3 unpacks at most "
            f"{NPZ_MAX_INFLATED >> 20} MiB from compressed members",
            where=source,
            hint=hint,
        )


def _npz_members(archive: zipfile.ZipFile, source: str) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if info.is_dir():
            continue
        if not info.filename.endswith(".npy"):
            raise InputError(
                f"holds {info.filename!r}, which is not a .npy array",
                where=source,
                hint="an .npz holds only .npy members, as np.savez writes",
            )
        name = info.filename[: -len(".npy")]
        if name in members:
            raise InputError(f"holds {info.filename!r} twice", where=source)
        members[name] = info
    if not members:
        raise InputError("not a readable .npz file: it holds no arrays", where=source)
    return members
