"""Where downloaded data lives, and how it gets there: user cache folder, sha256-checked atomic downloads."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

ENV_VAR = "TINYGRAD_NP_DATA"
CHUNK = 1 << 20


def cache_dir(name: str = "") -> Path:
    """``$XDG_CACHE_HOME/tinygrad_np/<name>`` (default ``~/.cache/tinygrad_np/<name>``). Not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    root = Path(base).expanduser() / "tinygrad_np"
    return root / name if name else root


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


class _Progress:
    """tqdm when it is installed, else a plain percentage line on stderr (only when stderr is a terminal)."""

    def __init__(self, total: int | None, desc: str):
        self.total, self.desc, self.done, self._last = total, desc, 0, -1
        try:
            from tqdm import tqdm
        except ImportError:
            self._bar = None
        else:
            self._bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif sys.stderr.isatty():
            pct = int(100 * self.done / self.total) if self.total else self.done >> 20
            if pct != self._last:
                self._last = pct
                unit = "%" if self.total else " MiB"
                print(f"\r{self.desc}: {pct}{unit}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif sys.stderr.isatty():
            print(file=sys.stderr)


# The same rule as tinygrad_np/_files.py (datasets must not import tinygrad_np): a temp file beside the
# target, created by os.open(..., 0o666) so the kernel applies the umask (never read it: os.umask is not
# thread-safe), fsynced, then os.replace'd over the target. Temp names: .<name>.<pid>.<16 hex>.tmp.
STALE_AFTER_SECONDS = 60.0


def _process_running(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":    # on Windows os.kill(pid, 0) would end the process
        return True
    try:
        os.kill(pid, 0)                             # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True                                 # e.g. PermissionError: another user's process
    return True


def remove_stale_temps(dest: Path) -> None:
    """Remove ``dest``'s own temp files left by killed writes: those whose pid is no longer running here AND
    that are over a minute old (a reused pid only delays the clean-up; on a folder shared between machines
    the pid means nothing, but a live writer keeps its file's mtime fresh). Other files are never touched."""
    own_temp = re.compile(re.escape(f".{dest.name}.") + r"(\d+)\.[0-9a-f]{16}\.tmp")
    now = time.time()
    for entry in os.scandir(dest.parent):
        match = own_temp.fullmatch(entry.name)
        if match is None or _process_running(int(match.group(1))):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_SECONDS:
                os.unlink(entry.path)
        except OSError:
            pass                                    # removed meanwhile by another writer


@contextmanager
def atomic_file(dest: str | os.PathLike) -> Iterator[BinaryIO]:
    """Write through a temp file beside ``dest`` (its folder is created if needed): on success it replaces
    ``dest`` atomically, with the permissions ``open()`` would give; on any error it is removed and ``dest``
    is left as it was."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(dest)
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def download(url: str, dest: str | os.PathLike, sha256: str | None = None, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest`` atomically (temp file in the same folder, then ``os.replace``).

    If ``sha256`` is given, the bytes are checked before the file appears at ``dest``; on mismatch nothing is
    left behind and ValueError names the file, the URL and both digests. Network failures raise OSError naming
    the URL. ``file://`` URLs work too (used by the tests).
    """
    dest = Path(dest)
    h = hashlib.sha256()
    with atomic_file(dest) as out:
        try:
            resp = urllib.request.urlopen(url, timeout=timeout)
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            raise OSError(f"download: cannot fetch {url}: {reason}") from None
        with resp:
            length = resp.headers.get("Content-Length") if hasattr(resp, "headers") else None
            bar = _Progress(int(length) if length and length.isdigit() else None, dest.name)
            try:
                for block in iter(lambda: resp.read(CHUNK), b""):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
            finally:
                bar.close()
        if sha256 is not None and h.hexdigest() != sha256.lower():
            raise ValueError(f"download: {dest.name} from {url} failed its checksum: sha256 {h.hexdigest()}, "
                             f"expected {sha256.lower()} (corrupt download or wrong mirror); nothing was saved")
    return dest
