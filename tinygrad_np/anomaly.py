"""Anomaly mode: find the op that first produced NaN or inf, and the line of the user's code behind it.

`with tg.autograd.detect_anomaly():` (also a decorator) or `tg.autograd.set_detect_anomaly(True)`:
- forward: an op whose inputs are all finite but whose output is not raises at once, naming the op,
  the input shapes and the user's source line that called it; every recorded node remembers that line;
- backward: a node whose backward returns NaN/inf raises, naming the op and the forward line that
  created the node.
Off by default and free when off: turning it on swaps `Function.apply` and the walk's `run_node` for
checking versions, and turning it off puts the originals back, so the normal path has no flag to test.
"""
from __future__ import annotations

import functools
import linecache
import os
import sys
from typing import Any, Callable, Optional

import numpy as np

from . import autograd, autograd_graph
from .function import Function
from .tensor import Tensor

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_original = {"apply": Function.__dict__["apply"], "run_node": autograd.run_node}
_state = {"enabled": False}


def user_line() -> str:
    """'file:line: code' of the innermost caller outside tinygrad_np."""
    frame: Optional[Any] = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}: {code}"


def _finite(a: Any) -> bool:
    arr = a._data if isinstance(a, Tensor) else a
    return not isinstance(arr, np.ndarray) or arr.dtype.kind != "f" or bool(np.isfinite(arr).all())


def _shapes(args: tuple) -> list:
    return [tuple(np.shape(a._data if isinstance(a, Tensor) else a)) for a in args
            if isinstance(a, (Tensor, np.ndarray))]


@classmethod  # type: ignore[misc]
def _checked_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
    out = _original["apply"].__func__(cls, *args, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    where = user_line()
    if not all(_finite(o) for o in outs) and all(_finite(a) for a in args):
        inside = autograd_graph._anomaly["node"]
        during = "" if inside is None else (f", inside the backward of {type(inside).__name__} created at "
                                            f"{getattr(inside, '_created_at', '<unknown>')}")
        raise RuntimeError(f"anomaly: {cls.__name__} turned finite inputs of shapes {_shapes(args)} into NaN/inf "
                           f"(output shapes {_shapes(outs)}), called at {where}{during}")
    for o in outs:
        if o.grad_fn is not None:
            o.grad_fn._created_at = where       # built-in ops have an instance dict; read back in backward
            break
    return out


def check_backward(node: Any, grads: tuple) -> None:
    for i, g in enumerate(grads):
        if g is not None and not _finite(g):
            where = getattr(node, "_created_at", "<created before anomaly mode was on>")
            raise RuntimeError(f"anomaly: {type(node).__name__}.backward returned NaN/inf in the gradient of its "
                               f"input {i} (shape {tuple(np.shape(g._data if isinstance(g, Tensor) else g))}); "
                               f"that {type(node).__name__} was created at {where}")


def _checked_run_node(node: Any, out_grads: list) -> tuple:
    grads = _original["run_node"](node, out_grads)
    check_backward(node, grads)
    return grads


def set_detect_anomaly(mode: bool, check_nan: bool = True) -> None:
    """Turn anomaly mode on or off (globally, as PyTorch)."""
    on = bool(mode) and bool(check_nan)
    _state["enabled"] = on
    Function.apply = _checked_apply if on else _original["apply"]
    autograd.run_node = _checked_run_node if on else _original["run_node"]
    autograd_graph._anomaly["check"] = check_backward if on else None


def is_anomaly_enabled() -> bool:
    return _state["enabled"]


class detect_anomaly:
    """Context manager and decorator: anomaly mode inside, the previous mode restored after."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._prev = _state["enabled"]
        set_detect_anomaly(True, self.check_nan)

    def __exit__(self, *exc: object) -> None:
        set_detect_anomaly(self._prev)

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper
