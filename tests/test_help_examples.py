"""Every example of every ``--help`` runs as printed, from the repository root."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hw3cli.cli import COMMANDS
from tests.conftest import ROOT, hw3_executable, invoke

# a line of an epilog that is a command: it starts with hw3, cat or echo
_COMMAND = re.compile(r"^  (hw3 .*|cat .*|echo .*)$")
# "exit 1 if not" and "exit 1: ..." examples show a failing check on purpose
_EXIT = re.compile(r"^exit (\d)")


def _examples() -> list[tuple[str, int]]:
    """(command, exit status) of each example; the status is 1 when the description line
    under it starts with "exit 1" (an example of a failing check), else 0."""
    found: list[tuple[str, int]] = []
    for command in ["", *COMMANDS]:
        text = invoke([command, "--help"] if command else ["--help"]).stdout
        lines = [line[2:] if line.startswith("    ") else line for line in text.splitlines()]
        for n, line in enumerate(lines):
            match = _COMMAND.match(line)
            if not match:
                continue
            shown = match.group(1).split("   #")[0].strip()
            below = lines[n + 1].strip() if n + 1 < len(lines) else ""
            code = int(m.group(1)) if (m := _EXIT.match(below)) else 0
            found.append((shown, code))
    return sorted(set(found))


EXAMPLES = _examples()


def test_the_help_has_examples() -> None:
    assert len(EXAMPLES) >= 25


@pytest.mark.parametrize(("command", "code"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_help_example_runs_from_the_repository_root(
    command: str, code: int, tmp_path: Path
) -> None:
    if "| jq" in command and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")  # outputs land in tmp_path
    bindir = str(Path(hw3_executable()).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ["PATH"], "NO_COLOR": "1"}
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == code, (command, done.stdout[-500:], done.stderr[-500:])
    assert "Traceback" not in done.stderr
