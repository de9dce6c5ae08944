"""Where downloaded data lives, and how it gets there: user cache folder, sha256-checked atomic downloads."""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
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


def publish(tmp: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Give a finished temp file (mkstemp makes it 0600) the usual permissions and move it into place atomically."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, dest)


@contextmanager
def atomic_file(dest: str | os.PathLike, suffix: str = ".part") -> Iterator[BinaryIO]:
    """Write through a temp file beside ``dest``: on success it replaces ``dest`` atomically (with the usual
    permissions); on any error it is removed and ``dest`` is left as it was."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix, dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        publish(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
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
