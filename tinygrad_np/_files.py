"""Atomic file writes: a file appears at its path complete, or not at all.

`atomic_write(path)` writes into a hidden temp file beside the target (the same folder, hence the same
file system, so the final `os.replace` is an atomic rename), flushes and fsyncs it, then renames it over
the target. On any exception the temp file is removed and the target is left as it was.

Permissions: the temp file is created by `os.open(..., 0o666)`, so the kernel applies the umask exactly as
for `open(path, "w")` (umask 0o022 gives 0o644, 0o027 gives 0o640). Reading the umask to chmod a
`mkstemp` file instead would mean setting it, which is not thread-safe.

Temp names are `.<target name>.<pid>.<16 hex digits>.tmp`. A save killed mid-way (SIGKILL, power loss)
leaves its temp file behind; the next save of the same target removes it (`remove_stale_temps`).

`datasets/_download.py` keeps its own copy of this rule, because datasets must not import tinygrad_np.
"""
from __future__ import annotations

import os
import re
import secrets
import time
from contextlib import contextmanager
from typing import IO, Iterator, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]
STALE_AFTER_SECONDS = 60.0


def temp_path(target: str) -> str:
    """A fresh temp-file name for `target`, in its folder; the pid in it lets a later save tell whether
    the writer is still running."""
    folder, name = os.path.split(target)
    return os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(8)}.tmp")


def _process_running(pid: int) -> bool:
    if pid == os.getpid():
        return True                 # another thread of this process may be writing the same target
    if os.name != "posix":
        return True                 # os.kill(pid, 0) would terminate the process on Windows: keep the file
    try:
        os.kill(pid, 0)             # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True                 # e.g. PermissionError: it exists but belongs to another user
    return True


def remove_stale_temps(target: str) -> None:
    """Remove the temp files that killed `atomic_write`s of `target` left behind.

    Only files named like `target`'s own temp files are considered (other targets' temp files and
    everything else in the folder are never touched), and one is removed only when BOTH its owning
    process (the pid in its name) is no longer running on this machine AND it was last modified more
    than a minute ago. Either test alone could remove a live writer's file: the pid means nothing on a
    folder shared with another machine (but a live writer keeps the file's mtime fresh), and a slow
    writer's file may be old while its pid is alive. A reused pid only keeps a stale file a while longer.
    """
    folder, name = os.path.split(target)
    own_temp = re.compile(re.escape(f".{name}.") + r"(\d+)\.[0-9a-f]{16}\.tmp")
    try:
        entries = list(os.scandir(folder or "."))
    except OSError:
        return                      # no folder: the write itself will say so
    now = time.time()
    for entry in entries:
        match = own_temp.fullmatch(entry.name)
        if match is None or _process_running(int(match.group(1))):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_SECONDS:
                os.unlink(entry.path)
        except OSError:
            pass                    # gone already (another save cleaned it) or not ours to remove


@contextmanager
def atomic_write(path: PathLike, mode: str = "wb", encoding: Optional[str] = None) -> Iterator[IO]:
    """Yield a file open for writing (`mode` "wb", or "w" for text, UTF-8 unless `encoding` says otherwise)
    that becomes `path` when the `with` block ends without an exception; see the module docstring."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    target = os.fspath(path)
    remove_stale_temps(target)
    tmp = temp_path(target)
    # O_EXCL: never open a file someone else created; O_BINARY (Windows only): no newline translation
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, mode, encoding=None if mode == "wb" else encoding or "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
