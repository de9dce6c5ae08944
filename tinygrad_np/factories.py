"""Tensor factories: `zeros(2, 3)` and `zeros((2, 3))` both work; the default dtype is float32."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .random import default_generator
from .dtypes import DTypeLike, as_array, check_dtype, check_float_dtype, default_float
from .tensor import Tensor



def _shape(size: tuple, op: str) -> tuple:
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise ValueError(f"{op}: sizes must be non-negative integers, got {shape}")
    return shape


def _dtype(dtype: DTypeLike, op: str, default: Any = default_float) -> np.dtype:
    """Check a requested dtype against the Tensor dtype policy before any array is made."""
    return check_dtype(default if dtype is None else dtype, op)


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    """Wrap an array the factory already made with a checked dtype (no second pass of the policy)."""
    t = Tensor._make(arr, False, None)
    return t.requires_grad_() if requires_grad else t


def _float(dtype: DTypeLike, op: str) -> np.dtype:
    return check_float_dtype(default_float if dtype is None else dtype, op)


def zeros(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(_shape(size, "zeros"), _dtype(dtype, "zeros")), requires_grad)


def ones(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(_shape(size, "ones"), _dtype(dtype, "ones")), requires_grad)


def full(size: Any, fill_value: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    dt = _dtype(dtype, "full", as_array(fill_value, op="full").dtype)
    return _finish(np.full(_shape((size,), "full"), fill_value, dt), requires_grad)


def zeros_like(t: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    like = t._data if isinstance(t, Tensor) else np.asarray(t)
    return _finish(np.zeros(like.shape, _dtype(dtype, "zeros_like", like.dtype)), requires_grad)


def ones_like(t: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    like = t._data if isinstance(t, Tensor) else np.asarray(t)
    return _finish(np.ones(like.shape, _dtype(dtype, "ones_like", like.dtype)), requires_grad)


def randn(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the global generator (see `manual_seed`)."""
    return _finish(default_generator().standard_normal(_shape(size, "randn"), dtype=_float(dtype, "randn")),
                   requires_grad)


def rand(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from the global generator."""
    return _finish(default_generator().random(_shape(size, "rand"), dtype=_float(dtype, "rand")), requires_grad)


def arange(start: float, end: Optional[float] = None, step: float = 1, dtype: DTypeLike = None,
           requires_grad: bool = False) -> Tensor:
    """int64 when start, end and step are all integers (as in PyTorch), float32 otherwise."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    return _finish(np.arange(start, end, step, dtype=_dtype(dtype, "arange", np.int64 if ints else default_float)), requires_grad)


def eye(n: int, m: Optional[int] = None, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_dtype(dtype, "eye")), requires_grad)
