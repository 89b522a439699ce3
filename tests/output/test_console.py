"""Which columns a matrix preview shows in the width there is."""

from __future__ import annotations

from hw3cli.output.console import fitting_columns


def test_all_columns_when_they_fit_else_first_and_last_around_a_gap() -> None:
    widths = [5] * 8  # each takes 5 + 3 characters
    assert fitting_columns(widths, 64) == list(range(8))
    assert fitting_columns(widths, 40) == [0, 1, -1, 6, 7]  # 6 + 4 x 8 = 38
    assert fitting_columns(widths, 30) == [0, 1, -1, 7]
    assert fitting_columns(widths, 5) == [0, -1]  # the first column always; the rest elided
