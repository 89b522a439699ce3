"""Shared fixtures: a CliRunner and the installed ``hw3`` for real-pipe tests, and the
Hypothesis profiles of the whole suite.

Hypothesis profiles (registered and loaded here, at import time: pytest imports this file
before any test module, so every ``@given`` test, and every ``@settings(max_examples=N)``
written in a test, inherits from the loaded profile what it does not set itself):

- ``ci``, the default: derandomized (the same examples on every run and every machine),
  no example database (nothing is replayed from a local ``.hypothesis/`` folder), 100
  examples per test unless a test says otherwise, no deadline, and a failure printed with
  its ``@reproduce_failure`` blob.
- ``explore``: random seeds, 20 times as many examples, and the example database in
  ``.hypothesis/`` (Hypothesis's default place), so that a failure found is saved, shrunk
  and replayed first on the next run. The explicit ``@example`` cases are skipped (ci
  runs them): a known failure among them would stop the search for new ones.

Select one with the environment variable ``HW3_HYPOTHESIS_PROFILE`` (default ``ci``) or
with pytest's own ``--hypothesis-profile NAME``, which wins. ``--hypothesis-seed N`` fixes
the seed of an ``explore`` run (``ci`` is derandomized: it has no seed).
``HW3_FUZZ_EXAMPLES=N`` sets the examples of each test in tests/test_fuzz.py (N times the
test's weight; default: the profile's count, 100 or 2000). A long exploratory run:

    HW3_HYPOTHESIS_PROFILE=explore python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, Phase, settings

from hw3cli.cli import cli

ROOT = Path(__file__).resolve().parent.parent

PROFILE_VARIABLE = "HW3_HYPOTHESIS_PROFILE"
FUZZ_EXAMPLES_VARIABLE = "HW3_FUZZ_EXAMPLES"
CI_EXAMPLES = 100
EXPLORE_FACTOR = 20

# too_slow: a timing check, so it depends on the machine's load; it has no place in a
# reproducible run. Tests suppress the other health checks themselves, where needed.
_COMMON = settings(
    settings.get_profile("default"),
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("ci", _COMMON, max_examples=CI_EXAMPLES, derandomize=True, database=None)
# explore skips the explicit @example cases: ci replays them, and a known failure among
# them would end a test before it searched for new ones.
settings.register_profile(
    "explore",
    _COMMON,
    max_examples=CI_EXAMPLES * EXPLORE_FACTOR,
    derandomize=False,
    phases=[phase for phase in Phase if phase is not Phase.explicit],
)
settings.load_profile(os.environ.get(PROFILE_VARIABLE, "").strip() or "ci")


def fuzz_examples(weight: float = 1.0) -> int:
    """Examples for a fuzz test of this weight: ``weight * HW3_FUZZ_EXAMPLES``, or
    ``weight *`` the loaded profile's ``max_examples``. Call it at a test module's import,
    after pytest has loaded any ``--hypothesis-profile``."""
    text = os.environ.get(FUZZ_EXAMPLES_VARIABLE, "").strip()
    base = int(text) if text else settings().max_examples
    return max(1, round(base * weight))


def invoke(args: Sequence[str], stdin: str | bytes | None = None, **env: str) -> Result:
    """Run hw3 in-process with stdout and stderr kept apart."""
    return CliRunner(env={"NO_COLOR": "1", **env}).invoke(
        cli, list(args), input=stdin, catch_exceptions=False, prog_name="hw3"
    )


def conv_json(args: list[str], stdin: str | None = None) -> dict[str, object]:
    """``hw3 conv-shape ARGS --format json``, which must succeed, as a dict."""
    import json

    result = invoke(["conv-shape", *args, "--format", "json"], stdin)
    assert result.exit_code == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


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
