"""Grad mode: whether new operations are recorded for backward.

`no_grad()` and `enable_grad()` work both as context managers and as decorators, like PyTorch's.
The flag is a module-level global (read on every op), so a single attribute lookup decides recording.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_state = {"enabled": True}


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded."""
    return _state["enabled"]


class _GradMode:
    _enabled = True

    def __enter__(self) -> None:
        self._prev = _state["enabled"]
        _state["enabled"] = self._enabled

    def __exit__(self, *exc: object) -> None:
        _state["enabled"] = self._prev

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
