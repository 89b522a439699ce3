"""``-o FILE``: atomic replacement, links followed, devices written in place, inputs kept."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest

from hw3cli.cli import Interrupted
from hw3cli.errors import InputError
from hw3cli.tensor_io import guard
from hw3cli.tensor_io.atomic import atomic_output, write_atomic


@pytest.fixture(autouse=True)
def _fresh_guard() -> None:
    guard.forget_all()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".hw3-"))


def test_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_atomic(str(target), b"1,2\n")
    assert target.read_bytes() == b"1,2\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_existing_file_is_replaced_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"old\n")
    target.chmod(0o640)
    write_atomic(str(target), b"new\n")
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("failure", [ValueError("mid-write"), Interrupted(signal.SIGINT)])
def test_failure_or_interrupt_mid_write_leaves_the_old_file(
    tmp_path: Path, failure: BaseException
) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"old\n")
    with pytest.raises(type(failure)), atomic_output(str(target)) as f:
        f.write(b"half a res")
        raise failure
    assert target.read_bytes() == b"old\n"
    assert _leftovers(tmp_path) == []


def test_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_atomic(str(link), b"new\n")
    assert link.is_symlink()
    assert real.read_bytes() == b"new\n"


def test_missing_folder_and_folder_target_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_atomic(str(tmp_path / "nowhere" / "out.csv"), b"x")
    with pytest.raises(InputError, match="is a folder"):
        write_atomic(str(tmp_path), b"x")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_device_is_written_in_place_and_a_full_one_is_an_error() -> None:
    write_atomic("/dev/null", b"discarded\n")
    assert Path("/dev/null").is_char_device()
    with pytest.raises(InputError, match="writing the output failed: No space left on device"):
        write_atomic("/dev/full", b"x" * 100_000)
    assert Path("/dev/full").is_char_device()


def test_an_input_is_never_replaced_by_any_of_its_names(tmp_path: Path) -> None:
    source = tmp_path / "x.csv"
    source.write_bytes(b"1,2\n")
    (tmp_path / "hard.csv").hardlink_to(source)
    (tmp_path / "soft.csv").symlink_to(source)
    guard.note_read(str(source), source.stat())
    for name in ("x.csv", "hard.csv", "soft.csv"):
        with pytest.raises(InputError, match="would overwrite the input") as refused:
            write_atomic(str(tmp_path / name), b"dx\n")
        assert refused.value.where == f"-o {tmp_path / name}"
    assert source.read_bytes() == b"1,2\n"
    write_atomic(str(tmp_path / "other.csv"), b"dx\n")  # any other file is fine
    guard.forget_all()
    write_atomic(str(source), b"dx\n")  # and so is the file once nothing reads it
    assert source.read_bytes() == b"dx\n"


def test_devices_and_pipes_are_not_noted_as_inputs() -> None:
    guard.note_read("/dev/null", os.stat("/dev/null"))
    write_atomic("/dev/null", b"fine\n")
