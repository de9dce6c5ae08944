"""Reader for the IDX format used by MNIST and Fashion-MNIST (plain or gzip-compressed).

Layout: two zero bytes, one dtype code, one byte ``ndim``; then ``ndim`` big-endian uint32 sizes; then the data,
big-endian, C order.
"""
from __future__ import annotations

import gzip
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


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed if it is gzip (detected by content, not by name)."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        d = zlib.decompressobj(wbits=31)  # gzip container
        out = d.decompress(raw)
        if not d.eof:
            raise ValueError("compressed stream ends early")
        while d.unused_data.startswith(_GZIP_MAGIC):  # concatenated gzip members (rare)
            rest = d.unused_data
            d = zlib.decompressobj(wbits=31)
            out += d.decompress(rest)
            if not d.eof:
                raise ValueError("compressed stream ends early")
    except (zlib.error, ValueError) as e:
        raise ValueError(f"read_idx: {path} is not a valid gzip file (corrupt or truncated download?): {e}") from None
    return out


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a READ-ONLY array of its shape.

    ``ubyte``/``byte`` data is a zero-copy view of the decompressed bytes. Multi-byte types are converted to
    native byte order (one copy) and also returned read-only. Copy (``np.array(a)``) if you need to write.
    Raises FileNotFoundError if the file is missing and ValueError (naming the file) if it is not valid IDX.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"read_idx: {p} does not exist")
    if p.is_dir():
        raise IsADirectoryError(f"read_idx: {p} is a directory, expected an IDX file")
    buf = _read_bytes(p)
    if len(buf) < 4:
        raise ValueError(f"read_idx: {p} is too short for an IDX header ({len(buf)} bytes)")
    if buf[0] != 0 or buf[1] != 0:
        raise ValueError(f"read_idx: {p} has a bad magic number 0x{buf[:4].hex()} "
                         f"(IDX starts with 0x0000 then dtype code and ndim): not an IDX file")
    code, ndim = buf[2], buf[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} {n}" for c, (n, _) in IDX_DTYPES.items())
        raise ValueError(f"read_idx: {p} has unknown dtype code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"read_idx: {p} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"read_idx: {p} is truncated inside its header: {ndim} dims need {header} bytes, "
                         f"found {len(buf)}")
    shape = tuple(int(d) for d in np.frombuffer(buf, ">u4", count=ndim, offset=4))
    name, dt = IDX_DTYPES[code]
    dtype = np.dtype(dt)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(buf) - header
    dims = "x".join(map(str, shape))
    if found < expected:
        raise ValueError(f"read_idx: {p} is truncated: header says {dims} {name}, "
                         f"expected {expected} data bytes, found {found} bytes")
    if found > expected:
        raise ValueError(f"read_idx: {p} has {found - expected} extra bytes after the {dims} {name} data "
                         f"(wrong header or two files joined?)")
    a = np.frombuffer(buf, dtype, offset=header).reshape(shape)
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
