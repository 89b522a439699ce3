"""The reading progress bar: drawn on a terminal after a delay, never elsewhere."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from hw3cli.output import progress
from hw3cli.tensor_io import files


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _stopped() -> Iterator[None]:
    yield
    progress.stop()


def test_nothing_is_drawn_when_stderr_is_not_a_terminal() -> None:
    stream = io.StringIO()
    progress.start_reading(stream=stream, delay=0.0)
    files.advance(0, 1000)
    files.advance(1000)
    progress.stop()
    assert stream.getvalue() == ""


def test_the_bar_waits_for_the_delay_counts_bytes_and_goes_away() -> None:
    stream, clock = _Terminal(), _Clock()
    progress.start_reading(stream=stream, delay=1.0, clock=clock)
    files.advance(0, 2_000_000)  # x.csv opened: 2 MB
    files.advance(500_000)
    assert stream.getvalue() == ""  # a quick read shows nothing
    clock.now += 1.5
    files.advance(500_000)
    watch = progress._watching[0]
    assert watch.bar is not None
    task = watch.bar.tasks[0]
    assert (task.completed, task.total) == (1_000_000, 2_000_000)
    files.advance(0, None)  # then stdin: the total is no longer known
    files.advance(10)
    assert watch.bar.tasks[0].total is None
    progress.stop()
    assert progress._watching == []
    assert "reading" in stream.getvalue()


def test_the_total_is_the_size_of_the_main_inputs(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1,2\n" * 250)  # 1000 bytes
    (tmp_path / "dy.csv").write_text("1,2\n" * 100)
    stream, clock = _Terminal(), _Clock()
    paths = [str(tmp_path / "x.csv"), str(tmp_path / "dy.csv")]
    progress.start_reading(paths, stream=stream, delay=1.0, clock=clock)
    clock.now += 2
    files.advance(0, 1000)  # x.csv opened: already counted
    files.advance(600)
    assert progress._watching[0].bar.tasks[0].total == 1400
    progress.start_reading([paths[0], None], stream=stream, delay=1.0, clock=clock)
    assert progress._watching[0].total is None  # stdin: unknown


def test_a_command_stops_the_bar_before_it_writes(tmp_path: pytest.TempPathFactory) -> None:
    # the command starts watching (stderr is no terminal here: nothing is drawn), and
    # nothing is left watching once it has written its result
    from tests.conftest import invoke

    result = invoke(
        ["bn-grad", "--format", "json"], '{"x": [[1, 2], [3, 5]], "dy": [[1, 0], [0, 1]]}'
    )
    assert result.exit_code == 0, result.stderr
    assert progress._watching == [] and files._progress == []
