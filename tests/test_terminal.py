"""On a terminal: tables by default, colour unless NO_COLOR or TERM=dumb (CLI.md)."""

from __future__ import annotations

import os
import pty
import subprocess

import pytest

from tests.conftest import ROOT, hw3_executable

ARGS = ["conv-shape", "--input", "32x32", "--kernel", "3"]


def _on_terminal(env: dict[str, str], args: list[str] | None = None) -> str:
    """Run hw3 with stdout on a pseudo-terminal; return what it showed."""
    leader, follower = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    full_env.update({"COLUMNS": "100", **env})
    proc = subprocess.Popen(
        [hw3_executable(), *(args or ARGS)],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=full_env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_terminal_gets_a_coloured_table() -> None:
    shown = _on_terminal({"TERM": "xterm-256color"})
    assert "dropped" in shown  # the table, not the plain 30x30
    assert "\x1b[" in shown


@pytest.mark.parametrize("env", [{"NO_COLOR": "1", "TERM": "xterm"}, {"TERM": "dumb"}])
def test_no_colour_when_asked(env: dict[str, str]) -> None:
    shown = _on_terminal(env)
    assert "dropped" in shown
    assert "\x1b[" not in shown


def test_empty_no_color_does_not_disable_colour() -> None:
    shown = _on_terminal({"NO_COLOR": "", "TERM": "xterm-256color"})
    assert "\x1b[" in shown


def test_waiting_on_a_terminal_is_refused_with_a_hint() -> None:
    """bn-grad with no file and stdin a terminal exits 2 at once instead of waiting."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [hw3_executable(), "bn-grad"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    _, err = proc.communicate(timeout=60)
    os.close(follower)
    os.close(leader)
    assert proc.returncode == 2
    assert b"Error: no input given and standard input is a terminal" in err
    assert b"cat examples/x.csv | hw3 bn-grad --dy examples/dy.csv" in err


@pytest.mark.parametrize("columns", ["60", "80", "120"])
def test_a_stack_table_on_a_terminal_never_cuts_a_number(columns: str) -> None:
    # VGG16 at 224x224: the totals are 14,714,688 parameters and 15,346,630,656 MACs
    vgg = str(ROOT / "examples" / "vgg16.json")
    args = ["conv-shape", "--input", "224x224", "--in-channels", "3", "--net", vgg]
    shown = _on_terminal({"TERM": "dumb", "COLUMNS": columns}, args)
    assert "total" in shown and "…" not in shown
    assert ("15,346,630,656" in shown) == (columns == "120")
