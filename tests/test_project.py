"""The README's quick start and CI agree; the completion scripts are not stale."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    assert text.startswith("# hw3\n\n## Quick start\n")
    block = re.search(r"## Quick start\n+```sh\n(.*?)```", text, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_has_two_commands() -> None:
    install, test = _quick_start_commands()
    assert install.startswith("pip install . && hw3 conv-shape")
    assert "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    _, test = _quick_start_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci


def test_every_formula_section_a_docstring_cites_exists() -> None:
    # the repository stands alone: "docs/formulas.md section N" names a section there
    headings = set(re.findall(r"^## (\d+)\. ", (ROOT / "docs" / "formulas.md").read_text(), re.M))
    cited: set[str] = set()
    for path in (ROOT / "hw3cli").rglob("*.py"):
        cited |= set(re.findall(r"docs/formulas\.md section (\d+)", path.read_text()))
    assert cited and cited <= headings, (cited, headings)
