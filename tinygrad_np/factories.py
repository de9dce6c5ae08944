"""Tensor factories: `zeros(2, 3)` and `zeros((2, 3))` both work; the default dtype is float32.
Every factory takes PyTorch's `device=` (only the CPU exists: device.py)."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .device import check_device
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


def zeros(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    check_device(device, "zeros")
    return _finish(np.zeros(_shape(size, "zeros"), _dtype(dtype, "zeros")), requires_grad)


def ones(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    check_device(device, "ones")
    return _finish(np.ones(_shape(size, "ones"), _dtype(dtype, "ones")), requires_grad)


def full(size: Any, fill_value: Any, dtype: DTypeLike = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    check_device(device, "full")
    dt = _dtype(dtype, "full", as_array(fill_value, op="full").dtype)
    return _finish(np.full(_shape((size,), "full"), fill_value, dt), requires_grad)


def zeros_like(t: Any, dtype: DTypeLike = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    check_device(device, "zeros_like")
    like = t._data if isinstance(t, Tensor) else np.asarray(t)
    return _finish(np.zeros(like.shape, _dtype(dtype, "zeros_like", like.dtype)), requires_grad)


def ones_like(t: Any, dtype: DTypeLike = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    check_device(device, "ones_like")
    like = t._data if isinstance(t, Tensor) else np.asarray(t)
    return _finish(np.ones(like.shape, _dtype(dtype, "ones_like", like.dtype)), requires_grad)


def randn(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    """Standard normal samples from the global generator (see `manual_seed`)."""
    check_device(device, "randn")
    return _finish(default_generator().standard_normal(_shape(size, "randn"), dtype=_float(dtype, "randn")),
                   requires_grad)


def rand(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    """Uniform [0, 1) samples from the global generator."""
    check_device(device, "rand")
    return _finish(default_generator().random(_shape(size, "rand"), dtype=_float(dtype, "rand")), requires_grad)


def arange(start: float, end: Optional[float] = None, step: float = 1, dtype: DTypeLike = None,
           requires_grad: bool = False,
         device: Any = None) -> Tensor:
    """int64 when start, end and step are all integers (as in PyTorch), float32 otherwise."""
    check_device(device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    return _finish(np.arange(start, end, step, dtype=_dtype(dtype, "arange", np.int64 if ints else default_float)), requires_grad)


def eye(n: int, m: Optional[int] = None, dtype: DTypeLike = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    check_device(device, "eye")
    return _finish(np.eye(n, m, dtype=_dtype(dtype, "eye")), requires_grad)


def empty(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Zeros (NumPy's uninitialised memory would make results depend on garbage)."""
    check_device(device, "empty")
    return _finish(np.zeros(_shape(size, "empty"), _dtype(dtype, "empty")), requires_grad)


def _like(t: Any) -> np.ndarray:
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def empty_like(t: Any, dtype: DTypeLike = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return zeros_like(t, dtype=dtype, requires_grad=requires_grad, device=device)


def full_like(t: Any, fill_value: Any, dtype: DTypeLike = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    check_device(device, "full_like")
    like = _like(t)
    return _finish(np.full(like.shape, fill_value, _dtype(dtype, "full_like", like.dtype)), requires_grad)


def randn_like(t: Any, dtype: DTypeLike = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    like = _like(t)
    return randn(like.shape, dtype=like.dtype if dtype is None else dtype, requires_grad=requires_grad, device=device)


def rand_like(t: Any, dtype: DTypeLike = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    like = _like(t)
    return rand(like.shape, dtype=like.dtype if dtype is None else dtype, requires_grad=requires_grad, device=device)


def randint(low: int, high: Any = None, size: Any = None, dtype: DTypeLike = None, device: Any = None) -> Tensor:
    """Integers in [low, high) (`randint(high, size)` as well), int64 by default."""
    check_device(device, "randint")
    if size is None:                          # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: missing the size argument")
    shape = _shape((size,), "randint")
    return _finish(default_generator().integers(low, high, shape).astype(_dtype(dtype, "randint", np.int64)), False)


def randperm(n: int, dtype: DTypeLike = None, device: Any = None) -> Tensor:
    check_device(device, "randperm")
    return _finish(default_generator().permutation(n).astype(_dtype(dtype, "randperm", np.int64)), False)


def linspace(start: float, end: float, steps: int, dtype: DTypeLike = None, requires_grad: bool = False,
             device: Any = None) -> Tensor:
    """`steps` evenly spaced values from start to end inclusive (float32 by default, as in PyTorch)."""
    check_device(device, "linspace")
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    return _finish(np.linspace(start, end, int(steps)).astype(_float(dtype, "linspace")), requires_grad)


def logspace(start: float, end: float, steps: int, base: float = 10.0, dtype: DTypeLike = None,
             requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device(device, "logspace")
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"logspace: steps must be a non-negative integer, got {steps!r}")
    return _finish(np.logspace(start, end, int(steps), base=base).astype(_float(dtype, "logspace")), requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A Tensor sharing `array`'s memory (writes through either are seen by both), as torch.from_numpy."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}")
    return Tensor._make(as_array(array, op="from_numpy"), False, None)


def as_tensor(data: Any, dtype: DTypeLike = None, device: Any = None) -> Tensor:
    """Share memory with an ndarray or Tensor when the dtype allows, else convert (torch.as_tensor)."""
    check_device(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None or check_dtype(dtype, "as_tensor") == data._data.dtype else data.to(dtype)
    return Tensor._make(as_array(data, dtype, op="as_tensor"), False, None)
