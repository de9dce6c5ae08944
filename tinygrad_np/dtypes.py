"""The dtype policy, in one place: what a tensor may hold and what it computes in.

- A tensor holds float32, float64, an integer type or bool. float16, complex and object data are
  refused: the engine computes in float32/float64 only.
- ndarrays and NumPy scalars keep their dtype; Python floats and lists of them become float32
  (PyTorch's default dtype), Python ints int64, bools bool.
- Only floating-point tensors can require grad.
- dtype arguments accept whatever `np.dtype()` accepts (`tg.float32` *is* `np.dtype("float32")`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

DTypeLike = Any

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)
default_float = float32

_KINDS = "fiub"
_INT64_MAX = np.iinfo(np.int64).max


def check_dtype(dtype: DTypeLike, op: str) -> np.dtype:
    """`np.dtype(dtype)` if a tensor may hold it, else a TypeError naming the op."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: {dtype!r} is not a dtype") from None
    if dt == np.float16:
        raise TypeError(f"{op}: float16 is not supported; use float32 or float64")
    if dt.kind not in _KINDS:
        raise TypeError(f"{op}: unsupported dtype {dt}; tensors hold float, integer or bool data")
    return dt


def check_float_dtype(dtype: DTypeLike, op: str) -> np.dtype:
    """A dtype that can require grad (float32 or float64)."""
    dt = check_dtype(dtype, op)
    if dt.kind != "f":
        raise TypeError(f"{op}: expected float32 or float64, got {dt}")
    return dt


def check_grad_dtype(arr: np.ndarray, op: str) -> None:
    """Only floating-point tensors can require grad."""
    if arr.dtype.kind != "f":
        raise TypeError(f"{op}: only floating-point tensors can require grad, got dtype {arr.dtype}")


def as_array(data: Any, dtype: DTypeLike = None, op: str = "tensor") -> np.ndarray:
    """`data` (an ndarray, NumPy or Python scalar, or nested list; Tensors are unwrapped by the caller)
    as an ndarray that obeys the policy; `dtype`, when given, is converted to once (no float32 round trip)."""
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
    else:
        try:
            arr = np.asarray(data)
        except ValueError as e:
            raise ValueError(f"{op}: cannot make a tensor from {type(data).__name__}: {e}") from None
        if dtype is None:
            if arr.dtype.kind == "f":
                arr = arr.astype(default_float)
            elif arr.dtype.kind in "iu":
                if arr.dtype == np.uint64 and arr.size and arr.max() > _INT64_MAX:   # a Python int >= 2**63
                    raise ValueError(f"{op}: integer {arr.max()} does not fit in int64 (overflow)")
                arr = arr.astype(np.int64, copy=False)
    if dtype is not None:
        dt = check_dtype(dtype, op)
        if dt != arr.dtype:
            arr = arr.astype(dt)
    else:
        check_dtype(arr.dtype, op)
    return arr
