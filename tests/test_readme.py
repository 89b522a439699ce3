"""Every ``$ hw3 ...`` example in the README runs, and prints what the README shows."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hw3cli.core.batchnorm import batchnorm
from tests.conftest import ROOT, hw3_executable


def _examples() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each ``$`` line of the console blocks."""
    text = (ROOT / "README.md").read_text()
    found = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        current: tuple[str, list[str]] | None = None
        for line in block.splitlines():
            if line.startswith("$ "):
                current = (line[2:].split("  #")[0].strip(), [])
                found.append(current)
            elif current is not None:
                current[1].append(line)
    return found


EXAMPLES = _examples()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files the examples name, made here: a small batch, logits and targets."""
    d = tmp_path_factory.mktemp("readme")
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    np.savetxt(d / "x.csv", x, delimiter=",")
    np.savetxt(d / "dy.csv", dy, delimiter=",")
    np.save(d / "x.npy", x)
    np.save(d / "dy.npy", dy)
    np.savetxt(d / "my_dx.csv", batchnorm(x, dy).dx, delimiter=",")
    (d / "bn.json").write_text(json.dumps({"x": x.tolist(), "dy": dy.tolist()}))
    (d / "sm.json").write_text(json.dumps({"logits": x.tolist(), "target": [0, 2, 1, 1, 0]}))
    np.savetxt(d / "logits.csv", rng.standard_normal((3, 3)), delimiter=",")
    np.savetxt(d / "onehot.csv", np.eye(3), delimiter=",")
    shutil.copytree(ROOT / "examples", d / "examples")
    return d


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(workdir: Path, command: str, expected: list[str]) -> None:
    # batch.json is a bn-grad batch in the bn-grad examples and logits with targets in
    # the softmax-grad ones
    source = "sm.json" if "softmax-grad" in command else "bn.json"
    shutil.copy(workdir / source, workdir / "batch.json")
    bindir = str(Path(hw3_executable()).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ["PATH"], "NO_COLOR": "1"}
    proc = subprocess.run(
        ["bash", "-c", command + " 2>&1"],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    if "--format table" in command:
        return  # tables are for people; their content is tested elsewhere
    got = proc.stdout.splitlines()
    for n, line in enumerate(expected):
        assert n < len(got), (command, got)
        if line.endswith("..."):
            assert got[n].startswith(line[:-3]), (got[n], line)
        else:
            assert got[n] == line, (got[n], line)


def test_the_quick_start_shows_what_a_terminal_and_a_pipe_get() -> None:
    from tests.conftest import invoke

    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    table = re.findall(r"```text\n(.*?)```", quick, re.S)[0]
    args = ["conv-shape", "--input", "32x32", "--kernel", "3,3"]
    shown = invoke([*args, "--format", "table"], COLUMNS="80").stdout
    assert [line.rstrip() for line in shown.splitlines()] == table.splitlines()
    assert invoke(args).stdout == "30x30\n"  # a pipe
    assert "prints the one\nline `30x30`" in quick
