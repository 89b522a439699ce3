"""Shell completion: the committed scripts are what hw3 prints, and they really complete.

The bash test drives the committed script's completion function in a real bash; zsh and
fish are driven the same way where they are installed (``.ci/run`` installs them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, hw3_executable, invoke

SHELLS = ("bash", "zsh", "fish")


def _env() -> dict[str, str]:
    """PATH with the installed hw3 first, as a user's shell would have it."""
    bindir = str(Path(hw3_executable()).parent)
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_script_is_what_hw3_prints(shell: str) -> None:
    result = invoke(["completion", shell])
    assert result.exit_code == 0
    committed = (ROOT / "completions" / f"hw3.{shell}").read_text()
    assert result.stdout == committed, (
        f"regenerate: hw3 completion {shell} > completions/hw3.{shell}"
    )


def test_unknown_shell_is_a_usage_error() -> None:
    result = invoke(["completion", "tcsh"])
    assert result.exit_code == 2
    assert "Error:" in result.stderr


def _bash(words: list[str]) -> list[str]:
    script = ROOT / "completions" / "hw3.bash"
    array = " ".join(f"'{w}'" for w in words)
    code = (
        f"source '{script}'\n"
        f"COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}\n"
        "_hw3_completion hw3\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run(
        ["bash", "--norc", "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    return [line for line in proc.stdout.splitlines() if line]


def test_bash_completes_commands() -> None:
    assert set(_bash(["hw3", ""])) >= {"conv-shape", "bn-grad", "softmax-grad", "completion"}


def test_bash_completes_options() -> None:
    options = _bash(["hw3", "conv-shape", "--pa"])
    assert options == ["--padding"]


@pytest.mark.parametrize(
    ("command", "option", "choices"),
    [
        (
            "conv-shape",
            "--format",
            ["auto", "table", "json", "plain", "csv", "svg", "markdown", "latex"],
        ),
        ("conv-shape", "--layout", ["bwhc", "nhwc", "nchw"]),
        ("conv-shape", "--pool", ["max", "avg"]),
        ("bn-grad", "--format", ["auto", "table", "json", "csv", "npz", "markdown", "latex"]),
        ("bn-grad", "--input-format", ["auto", "csv", "json", "npy", "npz"]),
        (
            "bn-grad",
            "--emit",
            ["dx", "dxhat", "xhat", "y", "mean", "var", "dvar", "dmu", "dgamma", "dbeta"],
        ),
        ("bn-grad", "--layout", ["bwhc", "nhwc", "nchw"]),
        ("softmax-grad", "--reduction", ["none", "sum", "mean"]),
        ("softmax-grad", "--emit", ["grad", "probs"]),
        ("softmax-grad", "--input-format", ["auto", "csv", "json", "npy", "npz"]),
    ],
)
def test_bash_completes_fixed_choices(command: str, option: str, choices: list[str]) -> None:
    assert _bash(["hw3", command, option, ""]) == choices


def test_bash_completes_shell_names() -> None:
    assert _bash(["hw3", "completion", ""]) == ["bash", "zsh", "fish"]


def _zsh(words: list[str]) -> list[str]:
    """Run the committed zsh function with compadd/_describe stand-ins that print."""
    script = ROOT / "completions" / "hw3.zsh"
    array = " ".join(f"'{w}'" for w in words)
    code = (
        "compdef() { : }\n"
        '_describe() { print -l -- "${(@P)3}" }\n'
        'compadd() { print -l -- "${(@P)5}" }\n'
        f"source '{script}'\n"
        f"words=({array}); CURRENT={len(words)}\n"
        "_hw3_completion\n"
    )
    proc = subprocess.run(
        ["zsh", "-f", "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    return [line.split(":")[0] for line in proc.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_commands_and_choices() -> None:
    assert {"conv-shape", "completion"} <= set(_zsh(["hw3", ""]))
    assert _zsh(["hw3", "conv-shape", "--format", ""]) == [
        *("auto", "table", "json", "plain", "csv", "svg", "markdown", "latex")
    ]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_commands_and_choices() -> None:
    script = ROOT / "completions" / "hw3.fish"

    def complete(line: str) -> list[str]:
        code = f"source '{script}'; complete -C '{line}'"
        proc = subprocess.run(
            ["fish", "--no-config", "-c", code],
            capture_output=True,
            text=True,
            env=_env(),
            check=True,
        )
        return [x.split("\t")[0] for x in proc.stdout.splitlines() if x]

    assert {"conv-shape", "completion"} <= set(complete("hw3 "))
    assert sorted(complete("hw3 conv-shape --layout ")) == ["bwhc", "nchw", "nhwc"]
