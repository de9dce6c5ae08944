"""Clocks: one timed repeat, the warm-up, the drift sentinel, and the peak memory of one step."""
from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from typing import Any, Callable, Dict

try:
    import resource
except ImportError:                     # not on Windows: page faults are then reported as 0
    resource = None  # type: ignore[assignment]

_clock = time.perf_counter


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource is not None else 0


def run_repeat(step: Callable[[], Any], seconds: float, min_steps: int, inner: int = 1) -> Dict[str, float]:
    """Call `step` until at least `seconds` have passed and `min_steps` were taken, timing every call.
    Returns per-operation seconds (a step's time / `inner`): median, min, max, the step count, and the
    minor page faults per step (fresh memory from the OS: with glibc, NumPy arrays of 128 KB and more
    can be mmapped and unmapped on every step, and each first touch of a page then costs a fault)."""
    times = []
    append = times.append
    gc.collect()
    faults = _minor_faults()
    end = _clock() + seconds
    while True:
        t0 = _clock()
        step()
        t1 = _clock()
        append(t1 - t0)
        if t1 >= end and len(times) >= min_steps:
            break
    faults = _minor_faults() - faults
    return {"median": statistics.median(times) / inner, "min": min(times) / inner,
            "max": max(times) / inner, "steps": len(times), "faults_per_step": faults / len(times)}


def warm_up(step: Callable[[], Any], seconds: float, min_steps: int) -> int:
    """Untimed calls (caches, allocator pools, lazy imports, BLAS thread start-up)."""
    n = 0
    end = _clock() + seconds
    while n < min_steps or _clock() < end:
        step()
        n += 1
    return n


def peak_memory(step: Callable[[], Any]) -> int:
    """Bytes allocated during one call of `step` and alive at the same time (tracemalloc's peak).
    NumPy reports its array buffers to tracemalloc, so this counts arrays and Python objects alike.
    Memory held from before the call (weights, data, last step's gradients) is not counted; what the
    step frees of it is not subtracted either, the same for every framework measured this way."""
    gc.collect()
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
