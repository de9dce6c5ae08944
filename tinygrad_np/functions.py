"""PyTorch's module-level functions: `tg.sum(t, 1)`, `tg.max(t, 1)`, `tg.exp(t)`, `tg.flatten(t, 1)`, ...

Each is the Tensor method of the same name called on its first argument (a Tensor, or anything
`tg.tensor` accepts), so there is one implementation per op. The few that differ from their method
(`max`/`min` with a second tensor, `maximum`, `allclose`, ...) are written out below.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .ops.movement import Where
from .tensor import Tensor

# Tensor methods that PyTorch also offers as torch.<name>(input, ...)
METHOD_FUNCTIONS = (
    "abs absolute neg negative exp log sqrt tanh sigmoid relu sin cos tan asin acos atan arcsin arccos arctan "
    "sinh cosh log1p expm1 log2 log10 square rsqrt reciprocal sign floor ceil round trunc clamp clip clone "
    "detach sum mean var std amax amin argmax argmin logsumexp softmax log_softmax reshape flatten unsqueeze "
    "squeeze permute transpose t add sub subtract mul multiply div divide true_divide pow matmul mm bmm "
    "eq ne lt le gt ge numel leaky_relu").split()


def _method_function(name: str) -> Callable[..., Any]:
    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(input if isinstance(input, Tensor) else Tensor(input), name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`tg.{name}(t, ...)` is `t.{name}(...)` (PyTorch's torch.{name})."
    return fn


globals().update({name: _method_function(name) for name in METHOD_FUNCTIONS})


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise maximum; where the two are equal the gradient goes to `input` (PyTorch splits it)."""
    a, b = _as_tensor(input), _as_tensor(other)
    return Where.apply((a._data >= b._data), a, b)


def minimum(input: Any, other: Any) -> Tensor:
    a, b = _as_tensor(input), _as_tensor(other)
    return Where.apply((a._data <= b._data), a, b)


def max(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """`max(t)`, `max(t, dim)` → (values, indices), or `max(a, b)` elementwise, as torch.max."""
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    return _as_tensor(input).max(dim, keepdim)


def min(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    return _as_tensor(input).min(dim, keepdim)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def allclose(input: Any, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    return bool(np.allclose(np.asarray(input), np.asarray(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Any, other: Any) -> bool:
    a, b = np.asarray(input), np.asarray(other)
    return a.shape == b.shape and bool(np.array_equal(a, b))


def isnan(input: Any) -> Tensor:
    return Tensor._make(np.isnan(np.asarray(input)), False, None)


def isfinite(input: Any) -> Tensor:
    return Tensor._make(np.isfinite(np.asarray(input)), False, None)


__all__ = list(METHOD_FUNCTIONS) + ["maximum", "minimum", "max", "min", "is_tensor", "allclose", "equal",
                                    "isnan", "isfinite"]
