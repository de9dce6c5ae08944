"""Opt-in allocator tuning for training loops on glibc (Linux).

A training step allocates and frees the same large arrays (im2col columns, activations) every step.
By default glibc serves blocks above 128 KiB-32 MiB (adaptive) with mmap and returns them to the OS on
free, so the next step page-faults them in again: for the seed CNN that is ~7,000 minor faults and
~40 % of the step. Raising the mmap and trim thresholds keeps freed memory in the process, as PyTorch's
caching allocator does. It is a process-wide setting, so the library never does it on import:
training scripts (`python -m models`) and the benchmarks (for every framework alike) call it.
"""
from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 128 << 20) -> bool:
    """Ask glibc's malloc to keep freed blocks for reuse; returns False where that is not possible."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1
    return bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)) == 1 and ok)
