"""On a terminal: tables by default, colour unless NO_COLOR or TERM=dumb (CLI.md)."""

from __future__ import annotations

import os
import pty
import re
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


def _write_batch(tmp: str) -> tuple[str, str, str]:
    """A 12 x 8 batch with a header row (feat_0 ... feat_7), its dy, and 8-class logits."""
    import numpy as np

    rng = np.random.default_rng(2)
    paths = [os.path.join(tmp, name) for name in ("x.csv", "dy.csv", "z.csv")]
    heads = [[f"feat_{j}" for j in range(8)], None, [f"class_{j}" for j in range(8)]]
    scales = [100.0, 1.0, 3.0]
    for path, head, scale in zip(paths, heads, scales, strict=True):
        rows = rng.standard_normal((12, 8)) * scale
        lines = [",".join(head)] if head else []
        lines += [",".join(repr(float(v)) for v in row) for row in rows]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
    return paths[0], paths[1], paths[2]


def _columns_shown(shown: str, prefix: str) -> int:
    return len(set(re.findall(prefix + r"_\d", shown)))


@pytest.mark.parametrize("columns", ["60", "80", "120"])
def test_bn_grad_table_cuts_nothing_and_drops_nothing(columns: str, tmp_path: object) -> None:
    x, dy, _ = _write_batch(str(tmp_path))
    shown = _on_terminal({"TERM": "dumb", "COLUMNS": columns}, ["bn-grad", x, "--dy", dy])
    assert "…" not in shown
    for name in ("mean", "var", "dvar", "dmu", "dgamma", "dbeta"):  # every quantity, folded
        assert re.search(rf"┃ +{name} ┃", shown), name
    assert "feat_0" in shown and "feat_7" in shown  # the CSV header names the columns
    assert all(len(line) <= int(columns) for line in shown.splitlines())


def test_wider_terminals_show_more_columns_and_say_what_is_left_out(tmp_path: object) -> None:
    _, _, z = _write_batch(str(tmp_path))
    args = ["softmax-grad", z, "--labels", ",".join(str(i % 8) for i in range(12))]
    narrow = _on_terminal({"TERM": "dumb", "COLUMNS": "60"}, args)
    wide = _on_terminal({"TERM": "dumb", "COLUMNS": "80"}, args)
    widest = _on_terminal({"TERM": "dumb", "COLUMNS": "160"}, args)
    assert "…" not in narrow + wide + widest
    assert _columns_shown(narrow, "class") < _columns_shown(wide, "class")
    assert _columns_shown(widest, "class") == 8 and "left out" not in widest
    words = " ".join(narrow.split())  # the title wraps at 60 columns
    assert "class_2 to class_6 left out for width (all in --format csv or json)" in words


def test_a_single_layer_table_folds_rather_than_cut_headers() -> None:
    args = ["conv-shape", "--input", "224x224", "--kernel", "7", "--stride", "2", "--padding", "3"]
    shown = _on_terminal({"TERM": "dumb", "COLUMNS": "60"}, args)
    assert "…" not in shown
    for header in ("input", "kernel", "stride", "dilation", "padding", "output", "dropped"):
        assert f" {header} " in shown
    assert shown.count("┃ axis") == 2  # folded into two tables, the axis column in each
