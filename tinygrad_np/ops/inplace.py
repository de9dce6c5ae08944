"""In-place ops, the PyTorch way: `+= -= *= /= @=`, `add_ sub_ mul_ div_ zero_ fill_ copy_ clamp_ normal_
uniform_` and `t[idx] = value` (differentiable indexed assignment).

Every in-place op computes its result with an ordinary Function, then writes it into the tensor's own
memory (so views, modules and optimizers see it) and bumps the version clock (versions.py).
When the op is recorded, the tensor's *old* value and history move to a fresh Tensor (`orig`) which is
the op's input, and the tensor itself becomes the op's output — PyTorch's rebase. Nodes recorded earlier
that consumed the tensor are rewired to `orig` (found with gc.get_referrers: slow, but only on this rare
path), so their gradients still reach the history they saw.

Refused, as in PyTorch: an in-place op on a leaf that requires grad while grad mode is on; a result that
cannot be cast to the tensor's dtype or does not have its shape. Refused here, where PyTorch would rewrite
the history of a view's base: recording an in-place op on a view (or on a tensor that has views in the
graph) — an error rather than a silently wrong gradient.
"""
from __future__ import annotations

import gc
from typing import Any, Optional

import numpy as np

from ..function import Function
from ..grad_mode import is_grad_enabled
from ..random import default_generator
from ..tensor import Tensor
from ..versions import mark_modified
from .binary import Add, Div, MatMul, Mul, Sub
from .movement import Expand, GetItem, Permute, Reshape, _is_advanced
from .tensor_api import _plain_index
from .unary import Clamp

_VIEW_OPS = (Reshape, Permute, Expand, GetItem)


class SetItem(Function):
    """`out = x` with `out[index] = value`: the gradient of the overwritten elements goes to `value`."""

    @staticmethod
    def forward(ctx, x, value, index=()):
        ctx.index = index
        out = x.copy()
        try:
            out[index] = value
        except (IndexError, ValueError) as e:
            raise type(e)(f"setitem: {e} (tensor shape {x.shape}, value shape {np.shape(value)})") from None
        return out

    @staticmethod
    def backward(ctx, grad):
        gx = None
        if ctx.needs_input_grad[0]:
            gx = grad.copy()
            gx[ctx.index] = 0
        return gx, (grad[ctx.index] if ctx.needs_input_grad[1] else None)   # the engine sums to value's shape

    @staticmethod
    def backward_graph(ctx, grad):
        gx = None
        if ctx.needs_input_grad[0]:
            kept = np.ones(grad.shape, grad.dtype)
            kept[ctx.index] = 0                           # the overwritten elements pass nothing back to x
            gx = grad * kept
        return gx, (grad[ctx.index] if ctx.needs_input_grad[1] else None)


class Fill(Function):
    """Overwrite every element (zero_, fill_, normal_, uniform_, copy_): the gradient goes to `values`
    (a Tensor for copy_), none to the old contents."""

    @staticmethod
    def forward(ctx, x, values):
        out = np.empty_like(x)
        try:
            out[...] = values
        except ValueError:
            raise ValueError(f"copy_: cannot broadcast shape {np.shape(values)} to {x.shape}") from None
        return out

    @staticmethod
    def backward(ctx, grad):      # the old contents get zeros, as PyTorch's copy_ gives them
        return (np.zeros_like(grad) if ctx.needs_input_grad[0] else None), grad

    @staticmethod
    def backward_graph(ctx, grad): return (grad * 0.0 if ctx.needs_input_grad[0] else None), grad


def _recording(t: Tensor, others: tuple) -> bool:
    return is_grad_enabled() and (t._requires_grad or any(isinstance(o, Tensor) and o._requires_grad
                                                          for o in others))


def _check_target(t: Tensor, name: str) -> None:
    if t.grad_fn is None and t._requires_grad:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place operation "
                           "(wrap parameter updates in `with torch.no_grad():`, or update `.data`)")
    if t.grad_fn is not None and type(t.grad_fn) in _VIEW_OPS:
        raise RuntimeError(f"{name}: in-place operation on a view ({type(t.grad_fn).__name__} output) of a tensor "
                           "in the autograd graph is not supported by tinygrad_np; use an out-of-place op or "
                           "assign into the base tensor with t[idx] = value")
    if t.grad_fn is None and t._data.base is not None:
        raise RuntimeError(f"{name}: recording an in-place operation on a tensor that shares memory with another "
                           "(a view) is not supported by tinygrad_np; clone() it first")


def _overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    try:
        return bool(np.shares_memory(a, b, max_work=10_000))
    except np.exceptions.TooHardError:        # undecided: assume they overlap (an error, never a wrong gradient)
        return True


def _view_region(node: Function, data: np.ndarray) -> Any:
    """The part of `data` that a view node's output aliases (None if its output is a copy)."""
    if type(node) is GetItem:
        return None if _is_advanced(node.index) else data[node.index]
    return data                                # Reshape, Permute, Expand alias all of it


def _consumers(t: Tensor, name: str, written: np.ndarray) -> list:
    """Nodes recorded so far that take `t` as an input (they must keep seeing t's old history). A view of
    `t` recorded earlier is fine only if the write does not touch its elements: its values, and so its
    old history, stay right (anything that saved it is caught by the version check)."""
    holders = [r for r in gc.get_referrers(t) if type(r) is tuple]
    if not holders:
        return []
    ids = {id(h) for h in holders}
    found = [n for n in gc.get_referrers(*holders)
             if isinstance(n, Function) and id(getattr(n, "parents", None)) in ids]
    for node in found:
        if type(node) in _VIEW_OPS:
            region = _view_region(node, t._data)
            if region is not None and _overlaps(region, written):
                raise RuntimeError(f"{name}: the tensor has a view ({type(node).__name__}) in the autograd graph "
                                   "whose elements this in-place op overwrites; tinygrad_np cannot rewrite the "
                                   "view's history (PyTorch can). Use an out-of-place op (x = x + y)")
    return found


def inplace(t: Tensor, name: str, op: Any, *others: Any, **kwargs: Any) -> Tensor:
    """Run `op.apply(t, *others, **kwargs)` and write the result into `t` (see the module docstring)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(t).__name__}")
    recording = _recording(t, others)
    if recording:
        _check_target(t, name)
        orig = Tensor._make(t._data.copy(), t._requires_grad, t.grad_fn)
        orig._out_index = t._out_index
        res = op.apply(orig, *others, **kwargs)
    else:
        res = op.apply(t, *others, **kwargs)
    new = res._data
    if new.shape != t._data.shape:
        raise RuntimeError(f"{name}: the result has shape {new.shape}, which does not match the tensor's shape "
                           f"{t._data.shape} (an in-place op cannot change a tensor's shape)")
    if not np.can_cast(new.dtype, t._data.dtype, "same_kind"):
        raise RuntimeError(f"{name}: result type {new.dtype} can't be cast to the tensor's dtype {t._data.dtype}")
    if not t._data.flags.writeable:
        raise RuntimeError(f"{name}: the tensor's array is read-only (a DataLoader batch view or a broadcast "
                           "view); clone() it first")
    consumers = []
    if recording and t.grad_fn is not None:
        index = kwargs.get("index", ())
        written = t._data[index] if op is SetItem and not _is_advanced(index) else t._data
        consumers = _consumers(t, name, written)
    np.copyto(t._data, new, casting="same_kind")
    mark_modified(t._data, name)
    if recording:
        for node in consumers:
            node.parents = tuple(orig if p is t else p for p in node.parents)
        t.grad_fn, t._out_index = res.grad_fn, res._out_index
        t._requires_grad = res._requires_grad
    return t


def _scalar(value: Any, name: str) -> Any:
    if isinstance(value, Tensor):
        if value._data.size != 1:
            raise ValueError(f"{name}: expected a number or a one-element tensor, got shape {value._data.shape}")
        return value._data.reshape(())
    return value


class _InplaceMethods:
    """The in-place methods attached to Tensor (see `attach`)."""

    def __iadd__(self, other: Any) -> Tensor: return inplace(self, "add_", Add, other)
    def __isub__(self, other: Any) -> Tensor: return inplace(self, "sub_", Sub, other)
    def __imul__(self, other: Any) -> Tensor: return inplace(self, "mul_", Mul, other)
    def __itruediv__(self, other: Any) -> Tensor: return inplace(self, "div_", Div, other)
    def __imatmul__(self, other: Any) -> Tensor: return inplace(self, "matmul_", MatMul, other)

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        return inplace(self, "add_", Add, other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        return inplace(self, "sub_", Sub, other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Tensor: return inplace(self, "mul_", Mul, other)
    def div_(self, other: Any) -> Tensor: return inplace(self, "div_", Div, other)

    def clamp_(self, min: Optional[float] = None, max: Optional[float] = None) -> Tensor:
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given")
        return inplace(self, "clamp_", Clamp, min=min, max=max)
    clip_ = clamp_

    def zero_(self) -> Tensor: return inplace(self, "zero_", Fill, 0)
    def fill_(self, value: Any) -> Tensor: return inplace(self, "fill_", Fill, _scalar(value, "fill_"))

    def copy_(self, src: Any) -> Tensor:
        return inplace(self, "copy_", Fill, src if isinstance(src, Tensor) else np.asarray(src))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        values = default_generator().normal(mean, std, self._data.shape)
        return inplace(self, "normal_", Fill, values.astype(_float_of(self, "normal_")))

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        values = default_generator().uniform(a, b, self._data.shape)
        return inplace(self, "uniform_", Fill, values.astype(_float_of(self, "uniform_")))

    def __setitem__(self, index: Any, value: Any) -> None:
        index = _plain_index(index)
        if _recording(self, (value,)):
            inplace(self, "setitem", SetItem, value, index=index)
            return
        if not self._data.flags.writeable:      # not recorded: write straight into the array, no copies
            raise RuntimeError("setitem: the tensor's array is read-only (a DataLoader batch view or a broadcast "
                               "view); clone() it first")
        try:
            self._data[index] = value._data if isinstance(value, Tensor) else value
        except (IndexError, ValueError) as e:
            raise type(e)(f"setitem: {e} (tensor shape {self._data.shape})") from None
        mark_modified(self._data, "setitem")


def _float_of(t: Tensor, name: str) -> np.dtype:
    if t._data.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {t._data.dtype}")
    return t._data.dtype


def attach() -> None:
    """Give `Tensor` the in-place methods (called once, when tinygrad_np.ops is imported)."""
    for name, member in vars(_InplaceMethods).items():
        if not name.startswith("__") or name in ("__iadd__", "__isub__", "__imul__", "__itruediv__",
                                                 "__imatmul__", "__setitem__"):
            setattr(Tensor, name, member)
