"""The README's "Errors" table: every row runs as written and ends as the row says.

Each row gives a problem, a command, the first line hw3 writes on stderr for it, and the
exit status. Commands run in bash from a copy of the repository's examples (so that a
refused ``-o`` could not touch the real ones), with the installed ``hw3`` first on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, hw3_executable


def _rows() -> list[tuple[str, str, str, int]]:
    """(problem, command, first stderr line, exit status) of each row of the table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 4 or not cells[3].isdigit():
            continue
        command, message = (re.sub(r"^`(.*)`$", r"\1", c).replace("\\|", "|") for c in cells[1:3])
        rows.append((cells[0], command, message, int(cells[3])))
    return rows


ROWS = _rows()


def test_the_table_covers_every_exit_status() -> None:
    assert {status for *_, status in ROWS} == {0, 1, 2, 3, 70, 129, 130, 143}
    assert len(ROWS) >= 20


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("errors")
    shutil.copytree(ROOT / "examples", d / "examples")
    return d


@pytest.mark.parametrize(
    ("problem", "command", "message", "status"), ROWS, ids=[row[0] for row in ROWS]
)
def test_row(workdir: Path, problem: str, command: str, message: str, status: int) -> None:
    if command == "(none known)":
        # a bug has no command; tests/test_cli.py raises one on purpose and checks this line
        assert status == 70
        assert message.startswith("Error: internal error (")
        return
    bindir = str(Path(hw3_executable()).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ["PATH"], "NO_COLOR": "1"}
    before = {p: p.read_bytes() for p in (workdir / "examples").rglob("*") if p.is_file()}
    # stderr to a file, not a pipe: a background `sleep` of a row may hold a pipe open
    with open(workdir / "stderr.txt", "w+") as err:
        proc = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {command}"],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        err.seek(0)
        stderr = err.read()
    assert proc.returncode == status, (command, stderr)
    assert "Traceback" not in stderr
    if message == "(nothing)":
        assert stderr == ""
    else:
        lines = stderr.splitlines()
        first = next(line for line in lines if line.startswith(("Error:", "hw3:")))
        assert first == message
    after = {p: p.read_bytes() for p in (workdir / "examples").rglob("*") if p.is_file()}
    assert after == before  # nothing the user had is changed
