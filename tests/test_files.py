"""Atomic writes: tinygrad_np._files.atomic_write and datasets' own copy of the same rule (datasets must not
import tinygrad_np). A file appears complete or not at all, gets the permissions the umask gives, and a
later write of the same target removes the temp files a killed write left behind, and nothing else."""
import os
import stat
import subprocess
import sys
import time
import types

import numpy as np
import pytest

import tinygrad_np as tg
from datasets import _download
from models import runs
from tinygrad_np import _files, viz

HELPERS = {"tinygrad_np": lambda path: _files.atomic_write(path, "wb"), "datasets": _download.atomic_file}


@pytest.fixture(params=HELPERS.values(), ids=HELPERS.keys())
def atomic(request):
    return request.param


@pytest.fixture
def umask():
    """Set the process umask for one test (and put the old one back)."""
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


@pytest.fixture(scope="module")
def dead_pid():
    """The pid of a process that has exited (reused by another process only after the pid space wraps)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def temp_name(target_name, pid, token="0123456789abcdef"):
    return f".{target_name}.{pid}.{token}.tmp"


def make_old(path, seconds=3600):
    then = time.time() - seconds
    os.utime(path, (then, then))


class Crash(Exception):
    pass


def test_the_file_appears_complete_or_not_at_all(atomic, tmp_path):
    target = tmp_path / "out.bin"
    with atomic(target) as f:
        f.write(b"first")
        assert not target.exists()                       # nothing at the target while writing
    assert target.read_bytes() == b"first"

    with pytest.raises(Crash):
        with atomic(target) as f:
            f.write(b"second, but only half")
            raise Crash
    assert target.read_bytes() == b"first"               # the old file is intact
    assert os.listdir(tmp_path) == ["out.bin"]           # and the temp file is gone

    with pytest.raises(Crash):
        with atomic(tmp_path / "new.bin") as f:
            f.write(b"partial")
            raise Crash
    assert os.listdir(tmp_path) == ["out.bin"]           # a new target does not appear at all


@pytest.mark.parametrize("mask, mode", [(0o027, 0o640), (0o022, 0o644), (0o077, 0o600), (0o002, 0o664)], ids=oct)
def test_permissions_follow_the_umask_without_reading_it(atomic, tmp_path, umask, monkeypatch, mask, mode):
    umask(mask)

    def no_umask(*args):
        raise AssertionError("os.umask sets the process-wide umask to read it: not thread-safe")

    monkeypatch.setattr(os, "umask", no_umask)
    target = tmp_path / "out.bin"
    with atomic(target) as f:
        f.write(b"x")
    assert stat.S_IMODE(os.stat(target).st_mode) == mode


def test_stale_temp_files_of_the_same_target_are_removed_and_nothing_else(atomic, tmp_path, dead_pid):
    target = tmp_path / "model.npz"
    files = {
        "stale": temp_name("model.npz", dead_pid),                        # dead writer, old: removed
        "fresh": temp_name("model.npz", dead_pid, "fedcba9876543210"),    # dead writer, but recent: kept
        "live": temp_name("model.npz", os.getppid()),                     # writer still running: kept
        "other target": temp_name("other.npz", dead_pid),                 # not this target's: kept
        "longer name": temp_name("model.npz.bak", dead_pid),              # a different target, same prefix
        "not a temp": ".model.npz.backup",
        "visible": "model.npz.12.0123456789abcdef.tmp",                   # not hidden: not our pattern
    }
    for kind, name in files.items():
        (tmp_path / name).write_bytes(b"left over")
        if kind != "fresh":
            make_old(tmp_path / name)
    with atomic(target) as f:
        f.write(b"new")
    assert sorted(os.listdir(tmp_path)) == sorted(["model.npz"] + [n for k, n in files.items() if k != "stale"])
    assert target.read_bytes() == b"new"


def test_tinygrad_np_text_mode_and_mode_check(tmp_path):
    target = tmp_path / "notes.json"
    with _files.atomic_write(target, "w") as f:
        f.write("größe\n")
    assert target.read_bytes() == "größe\n".encode("utf-8")
    with pytest.raises(ValueError, match="atomic_write: mode must be 'wb' or 'w', got 'a'"):
        with _files.atomic_write(target, "a"):
            pass
    assert os.listdir(tmp_path) == ["notes.json"]


def test_temp_names_carry_this_pid_and_never_repeat(tmp_path):
    names = {_files.temp_path(str(tmp_path / "x.npz")) for _ in range(100)}
    assert len(names) == 100
    assert all(os.path.basename(n).startswith(f".x.npz.{os.getpid()}.") for n in names)


def test_a_killed_save_is_cleaned_up_by_the_next_save(tmp_path, dead_pid):
    path = tmp_path / "ckpt.npz"
    left = tmp_path / temp_name("ckpt.npz", dead_pid)
    left.write_bytes(b"PK half a zip")
    make_old(left)
    tg.save({"w": np.arange(3.0)}, path)
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    np.testing.assert_array_equal(tg.load(path)["w"], np.arange(3.0))


def test_the_library_writers_follow_the_umask(tmp_path, umask, monkeypatch):
    fake_graphviz = types.SimpleNamespace(Source=lambda source: types.SimpleNamespace(pipe=lambda format: b"<svg/>"),
                                          ExecutableNotFound=RuntimeError)
    monkeypatch.setitem(sys.modules, "graphviz", fake_graphviz)
    umask(0o027)
    tg.save({"w": np.ones(2)}, tmp_path / "w.npz")
    runs.write_json(tmp_path / "meta.json", {"epochs": 2})
    viz.render(tg.Tensor(np.ones(2), requires_grad=True).sum(), str(tmp_path / "graph.svg"))
    assert sorted(os.listdir(tmp_path)) == ["graph.svg", "meta.json", "w.npz"]
    for name in os.listdir(tmp_path):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o640, name
    assert (tmp_path / "meta.json").read_text() == '{\n  "epochs": 2\n}\n'
