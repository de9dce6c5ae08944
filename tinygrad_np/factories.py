"""Tensor factories: `zeros(2, 3)` and `zeros((2, 3))` both work; the default dtype is float32."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .random import default_generator
from .tensor import DTypeLike, Tensor, as_array

_DEFAULT = np.dtype(np.float32)


def _shape(size: tuple, op: str) -> tuple:
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    if any(not isinstance(s, (int, np.integer)) or s < 0 for s in shape):
        raise ValueError(f"{op}: sizes must be non-negative integers, got {shape}")
    return shape


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor(as_array(arr), requires_grad=requires_grad)


def zeros(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(_shape(size, "zeros"), dtype or _DEFAULT), requires_grad)


def ones(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(_shape(size, "ones"), dtype or _DEFAULT), requires_grad)


def full(size: Any, fill_value: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = as_array(fill_value).dtype
    return _finish(np.full(_shape((size,), "full"), fill_value, dtype), requires_grad)


def zeros_like(t: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(np.shape(t.data if isinstance(t, Tensor) else t), dtype or np.asarray(t).dtype), requires_grad)


def ones_like(t: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(np.shape(t.data if isinstance(t, Tensor) else t), dtype or np.asarray(t).dtype), requires_grad)


def randn(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the global generator (see `manual_seed`)."""
    return _finish(default_generator().standard_normal(_shape(size, "randn"), dtype=np.dtype(dtype or _DEFAULT)),
                   requires_grad)


def rand(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from the global generator."""
    return _finish(default_generator().random(_shape(size, "rand"), dtype=np.dtype(dtype or _DEFAULT)), requires_grad)


def arange(start: float, end: Optional[float] = None, step: float = 1, dtype: DTypeLike = None,
           requires_grad: bool = False) -> Tensor:
    """int64 when start, end and step are all integers (as in PyTorch), float32 otherwise."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    return _finish(np.arange(start, end, step, dtype=dtype or (np.int64 if ints else _DEFAULT)), requires_grad)


def eye(n: int, m: Optional[int] = None, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=dtype or _DEFAULT), requires_grad)
