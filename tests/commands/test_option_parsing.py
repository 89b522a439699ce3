"""Sizes and paddings are read without regular expressions (one less to compile at every
start); they read exactly what these patterns read, which state the rule."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from hw3cli.commands._options import parse_padding, split_values
from hw3cli.errors import InputError

# digits (ASCII and others that int() reads), separators, spaces of several kinds, colons
texts = st.text(alphabet=st.sampled_from(list("0123456789\u0663 \t\u00a0xX,:+-a")), max_size=10)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_values_split_at_commas_and_xs_with_the_spaces_around_them(text: str) -> None:
    assert split_values(text) == re.split(r"\s*[,xX]\s*", text.strip())


@settings(max_examples=400, deadline=None)
@given(texts)
def test_a_padding_is_digits_or_digits_colon_digits(text: str) -> None:
    if text.strip().lower() in ("same", "valid"):
        return
    expected: list[tuple[int, int]] | None = []
    for part in re.split(r"\s*[,xX]\s*", text.strip()):
        m = re.fullmatch(r"(\d+)(?:\s*:\s*(\d+))?", part)
        if m is None or expected is None:
            expected = None
            continue
        before = int(m.group(1))
        expected.append((before, int(m.group(2)) if m.group(2) is not None else before))
    try:
        got = parse_padding(text, "--padding")
    except InputError:
        got = None
    assert got == (tuple(expected) if expected is not None else None)


def test_paddings_as_written_in_the_help() -> None:
    assert parse_padding("0:1,1:1", "--padding") == ((0, 1), (1, 1))
    assert parse_padding("2 : 3", "--padding") == ((2, 3),)
    assert parse_padding("1x2", "--padding") == ((1, 1), (2, 2))
    assert parse_padding("Same", "--padding") == "same"
