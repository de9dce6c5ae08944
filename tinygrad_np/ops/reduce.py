"""Reductions along dims (`dim` may be None, an int or a tuple of ints), and the softmax family.

The softmax family and logsumexp compute integer and bool inputs in float32 (dtypes.as_float); mean and
var refuse them, as PyTorch does. An empty reduction or an inf − inf is NaN without a NumPy warning."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..dtypes import as_float, quiet
from ..function import Function


def normalize_dims(dim: Any, ndim: int, op: str) -> Optional[tuple]:
    """None → None (all dims); int or tuple → a sorted tuple of non-negative dims, range-checked."""
    if dim is None:
        return None
    if isinstance(dim, (int, np.integer)) and not isinstance(dim, (bool, np.bool_)):
        dims = (dim,)
    elif isinstance(dim, (tuple, list)) and all(isinstance(d, (int, np.integer)) and
                                                not isinstance(d, (bool, np.bool_)) for d in dim):
        dims = tuple(dim)
    else:
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
    lo = -max(ndim, 1)
    for d in dims:
        if not lo <= d < max(ndim, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor of {ndim} dimensions")
    normalized = tuple(sorted({int(d) % max(ndim, 1) for d in dims}))
    if len(normalized) != len(dims):
        raise ValueError(f"{op}: dim {tuple(dims)} names the same dimension twice")
    return normalized if ndim else ()


def float_only(x: np.ndarray, op: str) -> None:
    """mean/var of an integer or bool tensor has no dtype to infer: PyTorch refuses it, and so do we."""
    if x.dtype.kind != "f":
        raise RuntimeError(f"{op}: input dtype {x.dtype} is not floating point; convert it first (.float())")


def expand_reduced(grad: np.ndarray, shape: tuple, dims: Optional[tuple], keepdim: bool) -> np.ndarray:
    """Broadcast the gradient of a reduction back over the reduced axes (a read-only view)."""
    if not keepdim:
        grad = np.expand_dims(grad, dims) if dims is not None else np.reshape(grad, (1,) * len(shape))
    return np.broadcast_to(grad, shape)


def expand_reduced_graph(grad, shape: tuple, dims: Optional[tuple], keepdim: bool):
    """`expand_reduced` for a Tensor gradient, with recorded ops (for backward_graph)."""
    if not keepdim:
        grad = grad.reshape(tuple(1 if dims is None or i in dims else n for i, n in enumerate(shape)))
    return grad.expand(shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.dims, ctx.keepdim, ctx.shape = normalize_dims(dim, x.ndim, "sum"), keepdim, x.shape
        wide = np.int64 if x.dtype.kind in "biu" else None    # integer and bool sums are int64 (PyTorch)
        with quiet():    # inf + -inf = nan, silently (PyTorch)
            return np.sum(x, axis=ctx.dims, keepdims=keepdim, dtype=wide)

    @staticmethod
    def backward(ctx, grad): return expand_reduced(grad, ctx.shape, ctx.dims, ctx.keepdim)

    @staticmethod
    def backward_graph(ctx, grad): return expand_reduced_graph(grad, ctx.shape, ctx.dims, ctx.keepdim)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        float_only(x, "mean")
        ctx.dims, ctx.keepdim, ctx.shape = normalize_dims(dim, x.ndim, "mean"), keepdim, x.shape
        with quiet():   # the mean of nothing is nan
            total = np.sum(x, axis=ctx.dims, keepdims=keepdim)
            ctx.count = x.size // max(total.size, 1) if x.size else 0
            return np.divide(total, ctx.count, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        with quiet():
            return expand_reduced(grad / ctx.count, ctx.shape, ctx.dims, ctx.keepdim)

    @staticmethod
    def backward_graph(ctx, grad): return expand_reduced_graph(grad / ctx.count, ctx.shape, ctx.dims, ctx.keepdim)


class Var(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False, correction=1):
        float_only(x, "var")
        dims = normalize_dims(dim, x.ndim, "var")
        with quiet():   # n <= correction: inf or nan
            total = np.sum(x, axis=dims, keepdims=True)
            n = x.size // max(total.size, 1) if x.size else 0
            centered = x - np.divide(total, n, dtype=x.dtype)
            ctx.save_for_backward(centered)
            ctx.dims, ctx.keepdim, ctx.divisor = dims, keepdim, max(n - correction, 0)
            return np.divide(np.sum(centered * centered, axis=dims, keepdims=keepdim), ctx.divisor, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_tensors                 # d var / dx = 2 (x - mean) / (n - correction)
        with quiet():   # n <= correction: 2/0 = inf, as in PyTorch
            two_over_n = np.divide(2, ctx.divisor, dtype=grad.dtype)
            return expand_reduced(grad, centered.shape, ctx.dims, ctx.keepdim) * two_over_n * centered

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        centered = x - x.mean(dim=ctx.dims, keepdim=True)
        return expand_reduced_graph(grad, x.shape, ctx.dims, ctx.keepdim) * (2 / ctx.divisor) * centered


class _Extreme(Function):
    """amax/amin: ties share the gradient equally (PyTorch's amax rule). A NaN extreme: `max()`/`min()`
    (nan_wins=True) send the gradient to the NaN, amax/amin give NaN, as PyTorch's two backward rules do."""
    reduce = staticmethod(np.amax)

    @classmethod
    def forward(cls, ctx, x, dim=None, keepdim=False, nan_wins=False):
        name = cls.__name__.lower()
        dims = normalize_dims(dim, x.ndim, name)
        if x.size == 0:                  # PyTorch's error types: no dims given RuntimeError, an empty dim IndexError
            if dims is None:
                raise RuntimeError(f"{name}: cannot reduce an empty tensor of shape {x.shape}; pass dim")
            empty = [d for d in dims if x.shape[d] == 0]
            if empty:
                raise IndexError(f"{name}: dim {empty[0]} of shape {x.shape} is empty")
        out = cls.reduce(x, axis=dims, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        ctx.dims, ctx.keepdim, ctx.nan_wins = dims, keepdim, nan_wins
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        best = expand_reduced(out, x.shape, ctx.dims, ctx.keepdim)
        hit = x == best
        if ctx.nan_wins:
            hit |= np.isnan(x) & np.isnan(best)
        with quiet():
            share = expand_reduced(grad, x.shape, ctx.dims, ctx.keepdim) / np.sum(hit, axis=ctx.dims, keepdims=True)
            return share * hit

    @staticmethod
    def backward_graph(ctx, grad):                      # the tie shares are constants: piecewise linear
        x, out = ctx.saved_tensors
        hit = x == expand_reduced(out, x.shape, ctx.dims, ctx.keepdim)
        return expand_reduced_graph(grad, x.shape, ctx.dims, ctx.keepdim) * (hit / np.sum(hit, axis=ctx.dims, keepdims=True))


class AMax(_Extreme):
    reduce = staticmethod(np.amax)


class AMin(_Extreme):
    reduce = staticmethod(np.amin)


class ArgReduce(Function):
    """`max(dim)`/`min(dim)`: two outputs, (values, int64 indices); the gradient goes to the index."""

    @staticmethod
    def forward(ctx, x, dim=0, keepdim=False, largest=True):
        (axis,) = normalize_dims(dim, x.ndim, "max" if largest else "min") or (0,)
        if x.ndim and x.shape[axis] == 0:
            raise IndexError(f"{'max' if largest else 'min'}: dim {dim} of shape {x.shape} is empty")
        x_ = x if x.ndim else x.reshape(1)
        idx = (np.argmax if largest else np.argmin)(x_, axis=axis, keepdims=True)
        values = np.take_along_axis(x_, idx, axis=axis)
        ctx.save_for_backward(idx)
        ctx.axis, ctx.keepdim, ctx.shape = axis, keepdim, x.shape
        if not keepdim or not x.ndim:
            values, idx = values.squeeze(axis), idx.squeeze(axis)
        return values, idx.astype(np.int64, copy=False)

    @staticmethod
    def backward(ctx, grad, _grad_indices):
        (idx,) = ctx.saved_tensors
        out = np.zeros((ctx.shape or (1,)), grad.dtype)
        g = grad if ctx.keepdim and ctx.shape else np.expand_dims(grad, ctx.axis)
        np.put_along_axis(out, idx, g, axis=ctx.axis)
        return out.reshape(ctx.shape)

    @staticmethod
    def backward_graph(ctx, grad, _grad_indices):
        (idx,) = ctx.saved_tensors
        onehot = np.zeros(ctx.shape or (1,), bool)
        np.put_along_axis(onehot, idx, True, axis=ctx.axis)
        g = grad if ctx.keepdim and ctx.shape else grad.unsqueeze(ctx.axis) if ctx.shape else grad.reshape(1)
        return (g * onehot).reshape(ctx.shape)


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        x = as_float(x)
        dims = normalize_dims(dim, x.ndim, "logsumexp")
        if x.size == 0:
            m = np.zeros(np.sum(x, axis=dims, keepdims=True).shape, x.dtype)
        else:
            m = np.amax(x, axis=dims, keepdims=True)
            m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)   # all -inf rows: no inf - inf
        with quiet():  # log(0) = -inf for such rows
            out = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m
        ctx.save_for_backward(x, out)
        ctx.dims = dims
        return out if keepdim else (out.reshape(()) if dims is None else np.squeeze(out, dims))

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors                          # d lse / dx = softmax(x)
        g = grad.reshape(out.shape)
        with quiet():
            return g * np.exp(x - out)

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        out = x.logsumexp(dim=ctx.dims, keepdim=True)
        return grad.reshape(out.shape) * (x - out).exp()


def _row_max(x: np.ndarray, axis: int) -> np.ndarray:
    """The shift that keeps exp from overflowing; an empty dim has nothing to shift (PyTorch: empty out)."""
    if x.ndim and x.shape[axis] == 0:
        return np.zeros(x.shape[:axis] + (1,) + x.shape[axis + 1:], x.dtype)
    return np.amax(x, axis=axis, keepdims=True)


class SoftmaxOp(Function):
    @staticmethod
    def forward(ctx, x, dim=-1):
        x = as_float(x)
        (axis,) = normalize_dims(dim, x.ndim, "softmax") or (0,)
        with quiet():      # a row holding inf: nan, as in PyTorch
            e = np.exp(x - _row_max(x, axis))
            out = e / np.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors                            # dx = s ⊙ (g − Σ g s)
        with quiet():
            return s * (grad - np.sum(grad * s, axis=ctx.axis, keepdims=True))

    @staticmethod
    def backward_graph(ctx, grad):
        s = ctx.parents[0].softmax(ctx.axis)
        return s * (grad - (grad * s).sum(dim=ctx.axis, keepdim=True))


class LogSoftmaxOp(Function):
    @staticmethod
    def forward(ctx, x, dim=-1):
        x = as_float(x)
        (axis,) = normalize_dims(dim, x.ndim, "log_softmax") or (0,)
        with quiet():
            shifted = x - _row_max(x, axis)
            out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors                          # dx = g − softmax ⊙ Σ g
        with quiet():
            return grad - np.exp(out) * np.sum(grad, axis=ctx.axis, keepdims=True)

    @staticmethod
    def backward_graph(ctx, grad):
        return grad - ctx.parents[0].softmax(ctx.axis) * grad.sum(dim=ctx.axis, keepdim=True)
