"""Read, never run: payloads planted in a model file do nothing.

Each payload would create a marker file if Python ran it (at module level, in a default
argument, a decorator, a class body, through ``__import__``, ``open``, ``os.system``,
``subprocess``, ``exec`` and ``eval``). hw3 reads the model, and no marker appears.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, assert_clean_error, invoke

PAYLOADS = """\
import os
import subprocess
import torch.nn as nn

MARK = {mark!r}
open(MARK + "module-open", "w").write("ran")
os.system("touch " + MARK + "module-system")
__import__("os").system("touch " + MARK + "module-import")
subprocess.run(["touch", MARK + "module-subprocess"])
exec("open(MARK + 'module-exec', 'w')")
eval("__import__('os').system('touch ' + MARK + 'module-eval')")


def default(path=open(MARK + "default-argument", "w")):
    return path


def deco(f):
    os.system("touch " + MARK + "decorator")
    return f


class Trap(nn.Module):
    os.system("touch " + MARK + "class-body")
    handle = open(MARK + "class-body-open", "w")


@deco
class Decorated(nn.Module):
    pass


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        os.system("touch " + MARK + "init")
        self.fc = nn.Linear(4, 2)

    @deco
    def forward(self, x):
        os.system("touch " + MARK + "forward")
        return self.fc(x)
"""


def _markers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("mark-"))


def test_payloads_do_not_run_and_the_model_is_read(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(PAYLOADS.format(mark=str(tmp_path / "mark-")))
    result = invoke(["conv-shape", "--net", f"{path}:Net", "--input", "4", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["output_shape"] == [1, 2]
    assert _markers(tmp_path) == []


@pytest.mark.parametrize("spec", ["Trap", "Decorated", "default()"])
def test_payloads_that_the_model_needs_are_exit_3(tmp_path: Path, spec: str) -> None:
    path = tmp_path / "model.py"
    path.write_text(PAYLOADS.format(mark=str(tmp_path / "mark-")))
    result = invoke(["conv-shape", "--net", f"{path}:{spec}", "--input", "4"])
    assert result.exit_code in (2, 3), result.stderr
    assert "Traceback" not in result.stderr
    assert _markers(tmp_path) == []


@pytest.mark.parametrize(
    "statement",
    [
        "__import__('os').system('touch ' + MARK)",
        "open(MARK, 'w')",
        "getattr(__builtins__, 'open')(MARK, 'w')",
        "x.__class__.__init__.__globals__",
        "(lambda: 0).__code__",
        "'{0.__class__}'.format(x)",
    ],
)
def test_escapes_from_forward_are_exit_3(tmp_path: Path, statement: str) -> None:
    mark = tmp_path / "mark-forward"
    source = (
        f"import torch.nn as nn\nMARK = {str(mark)!r}\n\n\nclass Net(nn.Module):\n"
        f"    def forward(self, x):\n        {statement}\n        return x\n"
    )
    path = tmp_path / "model.py"
    path.write_text(source)
    result = invoke(["conv-shape", "--net", str(path), "--input", "4"])
    assert_clean_error(result, 3)
    assert "model.py:7" in result.stderr
    assert not mark.exists()


def test_the_reader_calls_nothing_that_runs_code() -> None:
    """No module of hw3cli/source calls eval, exec, compile or __import__, or imports a
    module that runs or loads code (os only where the file is read)."""
    forbidden_calls = {"eval", "exec", "compile", "__import__"}
    for path in (ROOT / "hw3cli" / "source").glob("*.py"):
        forbidden_modules = {"importlib", "runpy", "subprocess", "builtins", "pickle", "os"}
        if path.name == "__init__.py":
            forbidden_modules.discard("os")  # os.path.getsize, os.path.basename
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in forbidden_calls, (path, node.lineno)
            if isinstance(node, ast.Import):
                assert not {a.name.split(".")[0] for a in node.names} & forbidden_modules, path
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in forbidden_modules, path
