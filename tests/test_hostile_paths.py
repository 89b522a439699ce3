"""``-o`` never replaces an input, whatever the path's spelling.

A trailing ``/``, ``/.`` or ``/..``, a file used as a folder (``x.csv/y``), or a path the
system cannot resolve (longer than PATH_MAX) is refused before anything is read; any
other spelling (``//``, ``./``, ``..`` through a symbolic link to a folder, relative or
absolute, ``/proc/self/fd/N``, ``/dev/fd/N``) is resolved once, and the file the guard
checks is the file written. The property drives the writer itself with spellings built
from the parts of a small tree of files, folders and links; the subprocess tests run the
installed ``hw3`` for each command.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hw3cli.errors import InputError
from hw3cli.tensor_io import guard
from hw3cli.tensor_io.atomic import write_atomic
from tests.conftest import hw3_executable, invoke

X_CSV = "a,b,c\n1,2,3\n4,5,7\n"
DY_CSV = "a,b,c\n0.5,-1,2\n1.5,1,-2\n"
MODEL = "Net(\n  (conv): Conv2d(1, 4, kernel_size=(3, 3))\n)\n"
# Linux's PATH_MAX: a path of more bytes is refused by the system itself (ENAMETOOLONG)
PATH_MAX = 4096


def _tree(root: Path) -> Path:
    """root/a/b/c/d holding x.csv (the input), sub/inner/ (folders), dl -> d, ln ->
    sub/inner (so ln/.. is sub for the system), xl -> x.csv; d is returned. Four ``..``
    from d stay inside root."""
    d = root / "a" / "b" / "c" / "d"
    (d / "sub" / "inner").mkdir(parents=True, exist_ok=True)
    for name, target in (("dl", d), ("ln", d / "sub" / "inner"), ("xl", d / "x.csv")):
        if not (d / name).is_symlink():
            (d / name).symlink_to(target)
    return d


@contextmanager
def _inside(folder: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


FOLDERS = st.lists(st.sampled_from(["", ".", "..", "sub", "dl", "ln", "inner", "d"]), max_size=4)
NAMES = st.sampled_from(["x.csv", "xl", "y.csv", "sub", "x.csv/y", "x.csv/", "x.csv/.", "xl/.."])
ENDS = st.sampled_from(["", "/", "/.", "//"])


@given(
    absolute=st.booleans(),
    folders=FOLDERS,
    name=NAMES,
    end=ENDS,
    dots=st.sampled_from([0, 1, PATH_MAX // 2]),
    fd_form=st.sampled_from([None, "/proc/self/fd/", "/dev/fd/"]),
)
def test_the_writer_never_replaces_the_input(
    tmp_path_factory: pytest.TempPathFactory,
    absolute: bool,
    folders: list[str],
    name: str,
    end: str,
    dots: int,
    fd_form: str | None,
) -> None:
    """Whatever the spelling: the input keeps its bytes; when the write is not refused,
    the file the system opens for the spelling holds the new bytes."""
    d = _tree(tmp_path_factory.getbasetemp() / "paths")
    x = d / "x.csv"
    x.write_text(X_CSV)
    guard.forget_all()
    with open(x, "rb") as held, _inside(d):
        guard.note_read("x.csv", os.fstat(held.fileno()))
        if fd_form is not None:
            spelling = f"{fd_form}{held.fileno()}{end}"
        else:
            base = f"{d}/" if absolute else ""
            spelling = base + "./" * dots + "/".join([*folders, name]) + end
        try:
            write_atomic(spelling, b"new\n")
        except InputError:
            written = False
        else:
            written = True
        assert x.read_text() == X_CSV, spelling[:200]
        if written:
            with open(spelling, "rb") as f:
                assert f.read() == b"new\n"
        assert not any(p.name.startswith(".hw3-") for p in d.rglob("*"))


@settings(max_examples=40)
@given(
    folders=FOLDERS,
    name=st.sampled_from(["x.csv", "xl", "y.csv", "z.csv", "x.csv/y"]),
    end=st.sampled_from(["", "", "", "/", "/."]),
    absolute=st.booleans(),
)
def test_the_command_never_replaces_the_input(
    tmp_path_factory: pytest.TempPathFactory,
    folders: list[str],
    name: str,
    end: str,
    absolute: bool,
) -> None:
    """The same spellings through the whole command (the check as -o is parsed, the
    guard and the writer): exit 0 with the result where the system says, or exit 2."""
    d = _tree(tmp_path_factory.getbasetemp() / "command")
    (d / "x.csv").write_text(X_CSV)
    (d / "dy.csv").write_text(DY_CSV)
    spelling = (f"{d}/" if absolute else "") + "/".join([*folders, name]) + end
    with _inside(d):
        result = invoke(["bn-grad", "x.csv", "--dy", "dy.csv", "-o", spelling])
        assert result.exit_code in (0, 2), result.stderr
        event(f"exit {result.exit_code}")  # both outcomes are drawn (--hypothesis-show-statistics)
        assert "Traceback" not in result.stderr
        assert (d / "x.csv").read_text() == X_CSV, spelling
        if result.exit_code == 0:
            with open(spelling) as f:
                assert f.read().startswith("a,b,c\n")
        else:
            assert result.stderr.startswith("Error: -o ")


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    (tmp_path / "x.csv").write_text(X_CSV)
    (tmp_path / "dy.csv").write_text(DY_CSV)
    (tmp_path / "m.txt").write_text(MODEL)
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "link").symlink_to(tmp_path / "real" / "sub")
    (tmp_path / "real" / "x.csv").write_text(X_CSV)
    return tmp_path


COMMANDS = {
    "bn-grad": ["bn-grad", "{input}", "--dy", "dy.csv"],
    "softmax-grad": ["softmax-grad", "{input}", "--labels", "2,0"],
    "conv-shape": ["conv-shape", "--net", "{input}", "--input", "8x8"],
}
REFUSED_AT_ONCE = {  # spelling of -o for the input x.csv -> what the error says
    "x.csv/": "names a folder",
    "x.csv/.": "names a folder",
    "x.csv/..": "names a folder",
    "x.csv//": "names a folder",
    "x.csv/y": "goes through x.csv, a file, as if it were a folder",
    "./" * (PATH_MAX // 2) + "x.csv": "File name too long",
}
SAME_FILE = ["x.csv", "./x.csv", ".//x.csv", "{dir}/x.csv", "{dir}//./x.csv", "other/link/../x.csv"]


def _run(
    batch: Path, command: str, input_name: str, output: str, pass_fds: tuple[int, ...] = ()
) -> subprocess.CompletedProcess[str]:
    args = [a.replace("{input}", input_name) for a in COMMANDS[command]]
    return subprocess.run(
        [hw3_executable(), *args, "-o", output.replace("{dir}", str(batch))],
        cwd=batch,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
        pass_fds=pass_fds,
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("spelling", list(REFUSED_AT_ONCE))
def test_a_folder_spelling_is_refused_before_anything_is_read(
    batch: Path, command: str, spelling: str
) -> None:
    """Standard input is a pipe that never ends: were anything read, hw3 would wait."""
    name = "m.txt" if command == "conv-shape" else "x.csv"
    spelling = spelling.replace("x.csv", name)
    args = [a.replace("{input}", "-") for a in COMMANDS[command]]
    before = _files(batch)
    proc = subprocess.Popen(
        [hw3_executable(), *args, "-o", spelling],
        cwd=batch,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        status = proc.wait(timeout=30)  # standard input stays open: reading it would wait
    finally:
        proc.kill()
        proc.stdin.close()
    out, err = proc.stdout.read(), proc.stderr.read()
    assert status == 2, err
    assert out == ""
    says = REFUSED_AT_ONCE[spelling.replace(name, "x.csv")].replace("x.csv", name)
    assert err.startswith("Error: -o ") and says in err.splitlines()[0]
    assert "Traceback" not in err
    assert _files(batch) == before


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("spelling", list(REFUSED_AT_ONCE))
def test_a_folder_spelling_of_the_input_leaves_it_whole(
    batch: Path, command: str, spelling: str
) -> None:
    name = "m.txt" if command == "conv-shape" else "x.csv"
    before = _files(batch)
    proc = _run(batch, command, name, spelling.replace("x.csv", name))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _files(batch) == before


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("spelling", SAME_FILE)
def test_every_spelling_of_the_input_is_refused(batch: Path, command: str, spelling: str) -> None:
    name = "m.txt" if command == "conv-shape" else "x.csv"
    input_name = "real/sub/../" + name if "link" in spelling else name
    if "link" in spelling:  # other/link/.. is real/ for the system
        (batch / "real" / name).write_bytes((batch / name).read_bytes())
    before = _files(batch)
    proc = _run(batch, command, input_name, spelling.replace("x.csv", name))
    assert proc.returncode == 2, proc.stderr
    assert "would overwrite the input" in proc.stderr.splitlines()[0]
    assert _files(batch) == before


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("form", ["/proc/self/fd/{fd}", "/dev/fd/{fd}"])
def test_a_descriptor_naming_the_input_is_refused(batch: Path, form: str) -> None:
    before = _files(batch)
    with open(batch / "x.csv", "rb") as held:
        fd = held.fileno()
        proc = _run(batch, "bn-grad", "x.csv", form.format(fd=fd), pass_fds=(fd,))
    assert proc.returncode == 2, proc.stderr
    assert "would overwrite the input x.csv" in proc.stderr
    assert _files(batch) == before


def test_another_file_through_the_same_tricks_is_written(batch: Path) -> None:
    """The refusals are about the input, not the spelling: //, ./ and .. through a link
    to a folder still write a new file where the system says."""
    proc = _run(batch, "bn-grad", "x.csv", "other/link/..//./dx.csv")
    assert proc.returncode == 0, proc.stderr
    assert (batch / "real" / "dx.csv").read_text().startswith("a,b,c\n")
    assert not (batch / "other" / "dx.csv").exists()


def test_a_nul_in_the_path_is_an_input_error() -> None:
    """Only a caller in Python can pass one (argv and the environment cannot)."""
    with pytest.raises(InputError, match="NUL"):
        write_atomic("out\x00.csv", b"x")
