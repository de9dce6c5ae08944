"""The dtype policy, in one place: what a tensor may hold and what it computes in.

- A tensor holds float32, float64, an integer type or bool. float16, complex and object data are
  refused: the engine computes in float32/float64 only.
- ndarrays and NumPy scalars keep their dtype; Python floats and lists of them become float32
  (PyTorch's default dtype), Python ints int64, bools bool.
- Only floating-point tensors can require grad.
- Float-only ops (exp, log, sqrt, tanh, sigmoid, softmax, ...) on integer or bool tensors compute in
  float32, as PyTorch's do: `as_float` is the one place that says so.
- dtype arguments accept whatever `np.dtype()` accepts (`tg.float32` *is* `np.dtype("float32")`).
- NaN and ±inf are results, not accidents: where PyTorch returns them silently, ops compute inside `quiet()`,
  so NumPy's floating-point RuntimeWarnings never reach the user.
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


class _Quiet:
    """`with quiet():` — NumPy's floating-point warnings off for one block. `np.errstate` costs 1-3 µs per
    use (more than a whole small op); setting NumPy's error-state context variable directly costs ~0.2 µs.
    That variable is NumPy-internal, so without it (another NumPy) this falls back to np.errstate."""
    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _ERRSTATE.set(_ALL_IGNORED)

    def __exit__(self, *exc: object) -> None:
        _ERRSTATE.reset(self._token)


try:
    from numpy._core._ufunc_config import _extobj_contextvar as _ERRSTATE
    with np.errstate(all="ignore"):
        _ALL_IGNORED = _ERRSTATE.get()
    quiet = _Quiet
except (ImportError, AttributeError):          # pragma: no cover - a NumPy without the context variable
    def quiet() -> Any:  # type: ignore[misc]
        return np.errstate(all="ignore")


def as_float(x: np.ndarray) -> np.ndarray:
    """A float-only op's input: float arrays unchanged, integer and bool arrays as float32 (PyTorch's
    default dtype). Converting first also keeps int64 extremes from overflowing in `x - max(x)`."""
    return x if x.dtype.kind == "f" else x.astype(default_float)


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


# ---- type promotion: PyTorch's (torch.result_type), not NumPy's ---------------------------------------------
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}
_PY_SCALAR_DTYPE = {bool: bool_, int: int64, float: default_float}


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """torch.promote_types: within a category NumPy's rule; across categories (bool < integer < float)
    the higher category's dtype wins (int64 with float32 gives float32, where NumPy says float64)."""
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb:
        return np.promote_types(a, b)
    return a if ca > cb else b


def _combine(higher: Any, lower: Any) -> Any:
    """A lower-priority operand (0-d, or a Python scalar) changes the dtype only by raising its category."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def result_type(*operands: Any) -> np.dtype:
    """The dtype PyTorch computes `operands` in: dimensioned tensors/ndarrays first, then 0-d tensors and
    NumPy scalars, then Python scalars (a Python float counts as the default float32); a lower tier
    counts only if it is of a higher category (bool < integer < float)."""
    tiers = [None, None, None]        # dimensioned, 0-d, Python scalar
    for o in operands:
        o = getattr(o, "_data", o)    # a Tensor (this module sits below tensor.py)
        if type(o) in _PY_SCALAR_DTYPE:
            tier, dt = 2, _PY_SCALAR_DTYPE[type(o)]
        elif isinstance(o, (np.ndarray, np.generic)):
            tier, dt = (0 if o.ndim else 1), o.dtype
        else:
            raise TypeError(f"result_type: expected tensors, arrays or numbers, got {type(o).__name__}")
        if dt.kind not in _CATEGORY:
            raise TypeError(f"result_type: unsupported dtype {dt}")
        tiers[tier] = dt if tiers[tier] is None else promote_types(tiers[tier], dt)
    return _combine(tiers[0], _combine(tiers[1], tiers[2]))


def binary_operands(x: Any, y: Any) -> tuple:
    """`x, y` (ndarrays, NumPy or Python scalars) cast so that NumPy computes in PyTorch's result type.
    Python scalars stay Python scalars: NumPy 2 lets them take the array's dtype."""
    if type(x) is np.ndarray and x.dtype.kind == "f" and type(y) in (float, int):
        return x, y                   # the common `t * 2.0`: NumPy already agrees
    if type(y) is np.ndarray and y.dtype.kind == "f" and type(x) in (float, int):
        return x, y
    dt = result_type(x, y)
    return _cast_operand(x, dt), _cast_operand(y, dt)


def _cast_operand(v: Any, dt: np.dtype) -> Any:
    if isinstance(v, (np.ndarray, np.generic)):
        return v if v.dtype == dt else v.astype(dt)
    return v


def quiet_staticmethod(fn: Any) -> staticmethod:
    """A Function's forward or backward run under `quiet()`: an overflowing product or an inf − inf is
    inf or NaN, as in PyTorch, never a RuntimeWarning. Use in place of @staticmethod (or `quiet_function`
    on the class, which mutation testing can see into: mutmut skips functions with other decorators)."""
    def run(*args: Any, **kwargs: Any) -> Any:
        with quiet():
            return fn(*args, **kwargs)
    run.__doc__, run.__name__, run.__qualname__ = fn.__doc__, fn.__name__, fn.__qualname__
    return staticmethod(run)


def quiet_function(cls: Any) -> Any:
    """Class decorator for a Function: its own static forward, backward and backward_graph run under
    `quiet()` (as `quiet_staticmethod` does for one method). The methods keep a plain @staticmethod, so
    tools/mutation.py's mutmut, which does not mutate functions with any other decorator, mutates them."""
    for name in ("forward", "backward", "backward_graph"):
        method = vars(cls).get(name)
        if isinstance(method, staticmethod):
            setattr(cls, name, quiet_staticmethod(method.__func__))
    return cls
