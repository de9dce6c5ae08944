"""Reader for the IDX format used by MNIST and Fashion-MNIST (plain or gzip-compressed).

Layout: two zero bytes, one dtype code, one byte ``ndim``; then ``ndim`` big-endian uint32 sizes; then the data,
big-endian, C order.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

# IDX dtype code -> (name, big-endian numpy dtype)
IDX_DTYPES: dict[int, tuple[str, str]] = {
    0x08: ("ubyte", ">u1"),
    0x09: ("byte", ">i1"),
    0x0B: ("short", ">i2"),
    0x0C: ("int", ">i4"),
    0x0D: ("float", ">f4"),
    0x0E: ("double", ">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 24          # the body is read in 16 MB pieces: memory follows the data, never the header's claim
_PEEK = 1 << 20           # how far past the declared end of a gzip body we look to count extra bytes
_MAX_NDIM = 32            # NumPy's limit is 64; no real IDX file has more than a handful


def _open(path: Path):
    """A binary stream of the file's IDX bytes, decompressed on the fly if it is gzip (by content)."""
    f = open(path, "rb")
    if f.read(2) == _GZIP_MAGIC:
        f.seek(0)
        return gzip.GzipFile(fileobj=f, mode="rb"), f
    f.seek(0)
    return f, f


def _read(stream, n: int) -> bytes:
    """Up to n bytes (fewer only at the end of the data), gathered in chunks: no n-byte allocation up front."""
    parts, left = [], n
    while left > 0:
        part = stream.read(min(left, _CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a READ-ONLY array of its shape.

    The header is read and checked first; the body is then read (inflated, for gzip) only up to the size the
    header declares, so a decompression bomb or a lying header costs no more memory than the data it really has.
    Multi-byte types are converted to native byte order. Copy (``np.array(a)``) if you need to write.
    Raises FileNotFoundError if the file is missing and ValueError (naming the file) if it is not valid IDX.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"read_idx: {p} does not exist")
    if p.is_dir():
        raise IsADirectoryError(f"read_idx: {p} is a directory, expected an IDX file")
    if not p.is_file():                      # a FIFO or a device would block or never end
        raise ValueError(f"read_idx: {p} is not a regular file (a pipe, socket or device?)")
    stream, raw = _open(p)
    try:
        return _parse(p, stream, raw)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"read_idx: {p} is not a valid gzip file (corrupt or truncated download?): {e}") from None
    finally:
        stream.close()
        raw.close()


def _parse(p: Path, stream, raw) -> np.ndarray:
    head = _read(stream, 4)
    if len(head) < 4:
        raise ValueError(f"read_idx: {p} is too short for an IDX header ({len(head)} bytes)")
    if head[0] != 0 or head[1] != 0:
        raise ValueError(f"read_idx: {p} has a bad magic number 0x{head[:4].hex()} "
                         f"(IDX starts with 0x0000 then dtype code and ndim): not an IDX file")
    code, ndim = head[2], head[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} {n}" for c, (n, _) in IDX_DTYPES.items())
        raise ValueError(f"read_idx: {p} has unknown dtype code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"read_idx: {p} declares 0 dimensions")
    if ndim > _MAX_NDIM:
        raise ValueError(f"read_idx: {p} declares {ndim} dimensions; at most {_MAX_NDIM} are supported")
    header = 4 + 4 * ndim
    dims_bytes = _read(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise ValueError(f"read_idx: {p} is truncated inside its header: {ndim} dims need {header} bytes, "
                         f"found {4 + len(dims_bytes)}")
    shape = tuple(int(d) for d in np.frombuffer(dims_bytes, ">u4"))
    name, dt = IDX_DTYPES[code]
    dtype = np.dtype(dt)
    expected = math.prod(shape) * dtype.itemsize          # Python ints: (65536,) * 4 cannot overflow
    dims = "x".join(map(str, shape))
    def truncated(found: int) -> ValueError:
        return ValueError(f"read_idx: {p} is truncated: header says {dims} {name}, "
                          f"expected {expected} data bytes, found {found} bytes")

    def extra_bytes(extra: int, at_least: bool) -> ValueError:
        return ValueError(f"read_idx: {p} has {'at least ' if at_least else ''}{extra} extra bytes after the "
                          f"{dims} {name} data (wrong header or two files joined?)")

    if stream is raw:                                     # uncompressed: the file size says it all, up front
        found = os.fstat(raw.fileno()).st_size - header
        if found < expected:
            raise truncated(found)
        if found > expected:
            raise extra_bytes(found - expected, False)
    body = _read(stream, expected)
    if len(body) < expected:
        raise truncated(len(body))
    if stream is not raw:
        extra = len(_read(stream, _PEEK))
        if extra:
            raise extra_bytes(extra, extra == _PEEK)
    a = np.frombuffer(body, dtype).reshape(shape)
    if dtype.itemsize > 1:
        a = a.astype(dtype.newbyteorder("="))
        a.flags.writeable = False
    return a


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in ``.gz``). Mostly for tests."""
    a = np.asarray(array)
    codes = {np.dtype(dt).newbyteorder("="): c for c, (_, dt) in IDX_DTYPES.items()}
    native = a.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(f"write_idx: dtype {a.dtype} has no IDX code (use uint8, int8, int16, int32, float32, float64)")
    if a.ndim == 0 or a.ndim > 255:
        raise ValueError(f"write_idx: cannot write a {a.ndim}-d array")
    data = (bytes([0, 0, codes[native], a.ndim]) + np.asarray(a.shape, ">u4").tobytes()
            + np.ascontiguousarray(a, a.dtype.newbyteorder(">")).tobytes())
    p = Path(path)
    if p.suffix == ".gz":
        data = gzip.compress(data)
    p.write_bytes(data)
