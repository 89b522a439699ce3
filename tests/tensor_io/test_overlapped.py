"""CSV pieces are formatted by threads while the next block is computed: in order, with
errors passed on, and never more than a few blocks ahead."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from hw3cli.tensor_io import writers


def test_order_is_kept_and_the_items_are_made_a_few_ahead_at_most() -> None:
    made: list[int] = []

    def items() -> Iterator[np.ndarray]:
        for i in range(20):
            made.append(i)
            yield np.array([[float(i)]])

    out = []
    for text in writers.overlapped(lambda a: repr(float(a[0, 0])), items()):
        out.append(text)
        assert len(made) <= len(out) + writers.AHEAD + 1  # bounded memory
    assert out == [repr(float(i)) for i in range(20)]


def test_an_error_in_the_work_reaches_the_reader() -> None:
    def work(a: np.ndarray) -> str:
        if a[0, 0] == 3:
            raise ValueError("bad block")
        return "x"

    blocks = (np.array([[float(i)]]) for i in range(10))
    with pytest.raises(ValueError, match="bad block"):
        list(writers.overlapped(work, blocks))


def test_csv_text_is_the_same_with_and_without_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    a = np.random.default_rng(0).normal(size=(50, 3))
    blocks = [a[:17], a[17:]]
    monkeypatch.setattr(writers, "BLOCK_ROWS", 5)
    threaded = "".join(writers.iter_csv_blocks(blocks, ["a", "b", "c"]))
    monkeypatch.setattr(writers, "AHEAD", 0)
    assert "".join(writers.iter_csv_blocks(blocks, ["a", "b", "c"])) == threaded
    assert threaded.count("\n") == 51
