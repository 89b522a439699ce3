"""Shared fixtures: a CliRunner and the installed ``hw3`` for real-pipe tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hw3cli.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def invoke(args: Sequence[str], stdin: str | bytes | None = None, **env: str) -> Result:
    """Run hw3 in-process with stdout and stderr kept apart."""
    return CliRunner(env={"NO_COLOR": "1", **env}).invoke(
        cli, list(args), input=stdin, catch_exceptions=False, prog_name="hw3"
    )


def hw3_executable() -> str:
    """The installed console script beside this interpreter, else on PATH."""
    here = Path(sys.executable).parent / "hw3"
    if here.exists():
        return str(here)
    found = shutil.which("hw3")
    if found is None:
        pytest.fail("the hw3 console script is not installed: run pip install '.[test]'")
    return found


def run_hw3(
    args: Sequence[str], stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed hw3 with real pipes."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [hw3_executable(), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def assert_clean_error(result: Result | subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The contract's refusal: the exit status, an Error: line on stderr, no traceback."""
    rc = result.exit_code if isinstance(result, Result) else result.returncode
    assert rc == code, (rc, result.stdout, result.stderr)
    assert "Error:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr
