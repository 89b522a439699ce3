"""What hw3 never does with its input: evaluate it, unpickle it, or write where it reads.

These read hw3's own source with ``ast``: a new module that breaks a rule fails here.
The behaviour itself (a pickled NPY is refused and never run; ``-o`` refuses an input)
is tested beside the readers and in tests/test_hostile.py.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hw3cli"
SOURCES = sorted(PACKAGE.rglob("*.py"))

NEVER_CALLED = {"eval", "exec", "compile", "__import__", "input", "breakpoint"}
NEVER_IMPORTED = {"pickle", "cPickle", "dill", "marshal", "shelve", "yaml", "subprocess"}
# The only places that open something for writing: the -o writer, and cli.py, which
# points a closed stdout at /dev/null.
# (writers.py opens a member of the .npz archive it writes into atomic_output's file)
WRITERS = {  # the calls each module may open a file for writing with
    "tensor_io/atomic.py": ("open", "os.fdopen", "os.open"),  # -o, its temporary file
    "cli.py": ("os.open",),
    "tensor_io/writers.py": ("archive.open",),
}


def _calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield ast.unparse(node.func), node


def _module(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.parametrize("path", SOURCES, ids=_module)
def test_no_evaluation_and_no_unpickling(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    for name, call in _calls(tree):
        assert name not in NEVER_CALLED, f"{_module(path)}:{call.lineno} calls {name}"
        for keyword in call.keywords:
            if keyword.arg == "allow_pickle":
                value = keyword.value
                assert isinstance(value, ast.Constant) and value.value is False, (
                    f"{_module(path)}:{call.lineno} passes allow_pickle={ast.unparse(value)}"
                )
        if name.endswith(".load") and name.split(".")[0] in ("np", "numpy"):
            assert any(k.arg == "allow_pickle" for k in call.keywords), (
                f"{_module(path)}:{call.lineno} calls {name} without allow_pickle=False"
            )
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in NEVER_IMPORTED, f"{_module(path)} imports {name}"


def _opens_for_writing(name: str, call: ast.Call) -> bool:
    if name in ("open", "os.fdopen") or (name.endswith(".open") and name != "os.open"):
        mode = call.args[1] if len(call.args) > 1 else None
        mode = next((k.value for k in call.keywords if k.arg == "mode"), mode)
        if mode is None:
            return False
        text = ast.literal_eval(mode) if isinstance(mode, ast.Constant) else "w?"
        return any(flag in str(text) for flag in "wax+")
    if name == "os.open":
        return "O_RDONLY" not in ast.unparse(call.args[1])
    return False


@pytest.mark.parametrize("path", SOURCES, ids=_module)
def test_files_are_opened_for_reading_only_except_by_the_output_writer(path: Path) -> None:
    allowed = WRITERS.get(_module(path), ())
    for name, call in _calls(ast.parse(path.read_text(), str(path))):
        if _opens_for_writing(name, call):
            assert name in allowed, (
                f"{_module(path)}:{call.lineno}: {ast.unparse(call)} opens for writing"
            )


def test_the_rules_see_what_they_look_for() -> None:
    # not vacuous: the writer itself is found writing, and np.load(..., allow_pickle=True)
    # would be caught
    atomic = ast.parse((PACKAGE / "tensor_io" / "atomic.py").read_text())
    assert any(_opens_for_writing(name, call) for name, call in _calls(atomic))
    bad = ast.parse("np.load(f, allow_pickle=True)")
    (_, call), *_ = list(_calls(bad))
    assert isinstance(call.keywords[0].value, ast.Constant) and call.keywords[0].value.value
