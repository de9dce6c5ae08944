"""Grad mode: whether new operations are recorded for backward.

`no_grad()` and `enable_grad()` work both as context managers and as decorators, like PyTorch's.
The mode is per thread, as in PyTorch: a `no_grad` block in one thread never stops another thread from
recording, and a new thread starts with grad enabled (the class default of the `threading.local`).

Every op asks "is grad enabled here?", so the answer must be cheap. Reading a `threading.local` costs
about three times a dict lookup, so `Function.apply` first reads `_threads_off[0]`, the number of threads
whose mode is off: while it is 0 (the usual case) every thread records and the thread-local is never read.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _ThreadState(threading.local):
    enabled = True          # what a thread that never changed its mode reads


_state = _ThreadState()
_threads_off = [0]          # threads whose mode is off; only ever > 0 while some thread is in no_grad
_lock = threading.Lock()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded (in this thread)."""
    return _state.enabled


def _set_enabled(mode: bool) -> None:
    with _lock:                             # the count and this thread's flag change together
        if _state.enabled != mode:
            _threads_off[0] += -1 if mode else 1
        _state.enabled = mode


class _GradMode:
    _enabled = True

    def __enter__(self) -> None:
        self._prev = _state.enabled
        _set_enabled(self._enabled)

    def __exit__(self, *exc: object) -> None:
        _set_enabled(self._prev)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Record nothing and save no arrays for backward inside the block (or decorated function)."""
    _enabled = False


class enable_grad(_GradMode):
    """Re-enable recording inside a `no_grad` block."""
    _enabled = True
