"""Threads: how many the framework uses, and the pool that runs pieces of one op in parallel.

`tg.set_num_threads(n)` / `tg.get_num_threads()` mean what they mean in PyTorch: the threads one op
may use. Two rules keep a busy machine (a user's laptop) from collapsing:

- NumPy's BLAS (OpenBLAS/MKL, reached through threadpoolctl) is kept at one thread per call. A
  multithreaded GEMM whose partner thread has been descheduled waits a whole scheduler slice, and
  OpenBLAS's idle threads spin on the cores other processes need: on a loaded machine every GEMM of a
  training step got slower, not faster (issue 15: the 2-thread CNN step at 94-2,400 ms against 31 ms
  quiet; a 256^3 product at 2 BLAS threads 170x slower than at 1 with other work running).
- The parallel work is ours: an op cuts itself into more pieces than threads (a convolution's batch
  chunks of im2col -> GEMM -> col2im, a large matrix product's row or column blocks), and a persistent
  pool of Python threads *claims them one at a time* (`run_chunks`). NumPy releases the GIL in copies,
  ufuncs and BLAS, so the pieces run in parallel; a descheduled helper holds up at most the one piece
  it has, because the others claim the rest. Idle helpers sleep on a queue instead of spinning.

The default is OMP_NUM_THREADS if set, else every core this process may run on (as PyTorch), capped at
`DEFAULT_MAX_THREADS`. The first op that multiplies matrices sets NumPy's BLAS to one thread for the
whole process (BLAS has one global setting); `set_blas_threads` changes it back for code that wants it.
"""
from __future__ import annotations

import itertools
import operator
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

import numpy as np

DEFAULT_MAX_THREADS = 8
# An op is split over the pool only when one thread would take well over the few milliseconds that a
# busy machine can charge for waiting on a descheduled thread (or on the GIL it holds): measured on the
# loaded 2-core machine, splitting the MNIST MLP's 26 MFLOP products made its 2-thread step 4.7x slower
# than 1 thread, while the CNN's 100-300 MFLOP convolutions gained. Products: FLOPs (2*M*N*K) of the op;
# memory-bound ops (pools): bytes of input.
PARALLEL_FLOPS = 1e8
PARALLEL_BYTES = 4 << 20
CHUNKS_PER_THREAD = 2           # more pieces than threads, so a descheduled helper holds up only one


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                       # not on Linux
        return max(1, os.cpu_count() or 1)


def _env_threads() -> Optional[int]:
    """OMP_NUM_THREADS, as PyTorch reads it, when it is a positive integer."""
    text = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


_lock = threading.Lock()
_num_threads = _env_threads() or min(_usable_cores(), DEFAULT_MAX_THREADS)
_pool: Optional[ThreadPoolExecutor] = None
_pool_size = 0
_in_worker = threading.local()
_blas: Any = None                # threadpoolctl's controller of NumPy's BLAS (False: none found)
_blas_now: Optional[int] = None  # the BLAS thread count we last set (None: not set yet)


def set_num_threads(n: int) -> None:
    """Let one op use at most `n` threads (the caller's and `n - 1` pool helpers). As in PyTorch, n >= 1
    and a wrong argument raises RuntimeError."""
    global _num_threads
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    n = operator.index(n)
    if n < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n}")
    with _lock:
        _num_threads = n


def get_num_threads() -> int:
    """The thread count ops may use: `set_num_threads`'s, else OMP_NUM_THREADS, else the usable cores."""
    return _num_threads


def _controller() -> Any:
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
            found = ThreadpoolController().select(user_api="blas")
            _blas = found if found.lib_controllers else False
        except ImportError:                       # threadpoolctl missing: leave BLAS as the environment set it
            _blas = False
    return _blas


def set_blas_threads(n: int, check: bool = False) -> None:
    """Set NumPy's BLAS thread count, skipping the call when it already is `n`: as we last set it, or with
    `check`, as BLAS itself says (~1 µs: for ops that take milliseconds, because other code -- a
    `threadpool_limits` block, another library -- may have changed it since)."""
    global _blas_now
    if check and (ctl := _controller()) and any(lib.get_num_threads() != n for lib in ctl.lib_controllers):
        _blas_now = None
    if n == _blas_now:
        return
    ctl = _controller()
    if ctl:
        for lib in ctl.lib_controllers:
            lib.set_num_threads(n)
    _blas_now = n


def matmul(a: np.ndarray, b: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """`a @ b` with BLAS on one thread; a product of at least `PARALLEL_FLOPS` (both operands 2-D) is cut
    into row or column blocks that `run_chunks` multiplies in parallel into one output (`out` if given)."""
    if _blas_now != 1:
        set_blas_threads(1)
    if a.ndim == 2 and b.ndim == 2 and is_large_product(a.shape[0], a.shape[1], b.shape[1]) and _num_threads > 1 \
            and not getattr(_in_worker, "active", False):
        return _split_matmul(a, b, out)
    if out is not None:
        return np.matmul(a, b, out=out)
    return a @ b                                   # small (the common case), batched, or inside a chunk


def is_large_product(m: int, k: int, n: int) -> bool:
    """Whether an (m, k) @ (k, n) product is big enough for `matmul` to split it over the threads."""
    return 2 * m * k * n >= PARALLEL_FLOPS


def _split_matmul(a: np.ndarray, b: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    m, n = a.shape[0], b.shape[1]
    if out is None:
        out = np.empty((m, n), np.result_type(a, b))
    pieces = CHUNKS_PER_THREAD * _num_threads
    rows = m >= n                                   # cut the longer side of the output
    size = -(-(m if rows else n) // pieces)

    def block(c: int, slot: int) -> None:
        part = slice(c * size, (c + 1) * size)
        if rows:
            np.matmul(a[part], b, out=out[part])
        else:
            np.matmul(a, b[:, part], out=out[:, part])
    run_chunks(block, -(-(m if rows else n) // size))
    return out


def _forget_pool() -> None:
    """In a forked child the pool's threads do not exist: start a new pool there when one is needed."""
    global _pool, _pool_size, _lock
    _pool, _pool_size, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _get_pool(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < size:
            old, _pool = _pool, ThreadPoolExecutor(max_workers=size, thread_name_prefix="tinygrad_np")
            _pool_size = size
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def chunk_threads(count: int, parallel: bool = True) -> int:
    """How many threads `run_chunks(fn, count, parallel)` will use: the number of per-thread buffers."""
    return 1 if not parallel or getattr(_in_worker, "active", False) else max(1, min(_num_threads, count))


def run_chunks(fn: Callable[[int, int], None], count: int, parallel: bool = True) -> None:
    """Call fn(chunk, slot) for chunk = 0 ... count - 1 on `chunk_threads(count)` threads (the caller's
    included); slot (0 <= slot < chunk_threads(count)) names the thread, for per-thread buffers.

    Chunks are claimed one at a time from a shared counter, and the caller waits only for chunks that
    were claimed, never for a helper to wake up: on a busy machine a helper the OS has not scheduled yet
    finds nothing left when it runs, and one descheduled mid-chunk holds up only that chunk. BLAS is kept
    at one thread meanwhile (the chunks are the parallelism). fn must write disjoint outputs (or per-slot
    ones the caller combines). After an error no new chunk starts, and the first error is raised once
    the running ones have finished. Calls from inside a chunk, or with `parallel` false (the caller's
    judgement that the op is too small: see PARALLEL_FLOPS), run serially, in slot 0."""
    threads = chunk_threads(count, parallel)
    set_blas_threads(1, check=True)       # else a BLAS raised behind our back oversubscribes every chunk
    if threads == 1:
        for i in range(count):
            fn(i, 0)
        return
    claim = itertools.count()                    # next() on it is atomic under the GIL
    settled = itertools.count(1)                 # chunks run or skipped so far (next() returns the new count)
    errors: list = []
    finished = threading.Event()

    def drain(slot: int) -> None:
        _in_worker.active = True
        try:
            for i in iter(claim.__next__, None):
                if i >= count:
                    return
                if not errors:
                    try:
                        fn(i, slot)
                    except BaseException as e:   # re-raised in the caller's thread
                        errors.append(e)
                if next(settled) == count:
                    finished.set()
        finally:
            _in_worker.active = False

    pool = _get_pool(threads - 1)
    for slot in range(1, threads):
        pool.submit(drain, slot)
    drain(0)
    finished.wait()
    if errors:
        raise errors[0]
