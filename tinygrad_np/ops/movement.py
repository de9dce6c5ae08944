"""Shape ops, indexing, joining and selection. Gradients are moved back, never changed."""
from __future__ import annotations

import numpy as np

from ..dtypes import quiet, result_type
from ..function import Function
from .reduce import normalize_dims


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.shape = x.shape
        if (not all(isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_)) for n in shape)
                or any(n < -1 for n in shape) or sum(n == -1 for n in shape) > 1):
            raise ValueError(f"reshape: shape {tuple(shape)} must be integers >= 0 with at most one -1")
        try:
            return x.reshape(shape)
        except (ValueError, TypeError):
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} into {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad): return grad.reshape(ctx.shape)

    @staticmethod
    def backward_graph(ctx, grad): return grad.reshape(ctx.shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims=()):
        nd = x.ndim
        if any(not -nd <= d < nd for d in dims) or sorted(d % nd for d in dims) != list(range(nd)):
            raise ValueError(f"permute: {tuple(dims)} is not a permutation of the {x.ndim} dims of shape {x.shape}")
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad): return np.transpose(grad, np.argsort([d % grad.ndim for d in ctx.dims]))

    @staticmethod
    def backward_graph(ctx, grad): return grad.permute(tuple(np.argsort([d % grad.ndim for d in ctx.dims])))


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape=()):
        lead = len(shape) - x.ndim
        if lead < 0:
            raise ValueError(f"expand: cannot expand shape {x.shape} to fewer dims {tuple(shape)}")
        target = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
        try:
            return np.broadcast_to(x, target)
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {x.shape} to {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad): return grad          # the engine sums the gradient back to the input's shape

    @staticmethod
    def backward_graph(ctx, grad): return grad


def _is_advanced(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (np.ndarray, list)) for i in items)


class GetItem(Function):
    """Basic slicing (views) and integer-array indexing; repeated indices accumulate their gradients."""

    @staticmethod
    def forward(ctx, x, index=()):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        try:
            return x[index]
        except (IndexError, ValueError, TypeError) as e:     # ValueError: a slice step of 0
            raise type(e)(f"getitem: {e} (tensor shape {x.shape}, index {index!r})") from None

    @staticmethod
    def backward(ctx, grad): return scatter_add(grad, ctx.shape, ctx.index)

    @staticmethod
    def backward_graph(ctx, grad): return ScatterAdd.apply(grad, shape=ctx.shape, index=ctx.index)


def scatter_add(grad: np.ndarray, shape: tuple, index) -> np.ndarray:
    out = np.zeros(shape, grad.dtype)
    if _is_advanced(index):
        np.add.at(out, index, grad)             # scatter-add: repeated indices must accumulate
    else:
        out[index] = grad
    return out


class ScatterAdd(Function):
    """zeros(shape)[index] += grad: the adjoint of `x[index]`, so that indexing's backward is
    differentiable (and indexing is in turn ScatterAdd's backward)."""

    @staticmethod
    def forward(ctx, grad, shape=(), index=()):
        ctx.index = index
        return scatter_add(grad, shape, index)

    @staticmethod
    def backward(ctx, grad): return grad[ctx.index]

    @staticmethod
    def backward_graph(ctx, grad): return GetItem.apply(grad, index=ctx.index)


class Cat(Function):
    @staticmethod
    def forward(ctx, *xs, dim=0):
        (axis,) = normalize_dims(dim, xs[0].ndim, "cat") or (0,)
        try:
            out = np.concatenate(xs, axis=axis)
        except ValueError:
            raise ValueError(f"cat: shapes {[x.shape for x in xs]} do not match outside dim {dim}") from None
        ctx.axis, ctx.splits = axis, np.cumsum([x.shape[axis] for x in xs])[:-1]
        return out

    @staticmethod
    def backward(ctx, grad): return tuple(np.split(grad, ctx.splits, axis=ctx.axis))

    @staticmethod
    def backward_graph(ctx, grad):
        bounds = [0, *ctx.splits, grad.shape[ctx.axis]]
        lead = (slice(None),) * ctx.axis
        return tuple(grad[lead + (slice(int(a), int(b)),)] for a, b in zip(bounds[:-1], bounds[1:]))


class Stack(Function):
    @staticmethod
    def forward(ctx, *xs, dim=0):
        (axis,) = normalize_dims(dim, xs[0].ndim + 1, "stack") or (0,)
        if any(x.shape != xs[0].shape for x in xs):
            raise ValueError(f"stack: all tensors need the same shape, got {[x.shape for x in xs]}")
        ctx.axis = axis
        return np.stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, grad): return tuple(np.moveaxis(grad, ctx.axis, 0))

    @staticmethod
    def backward_graph(ctx, grad):
        lead = (slice(None),) * ctx.axis
        return tuple(grad[lead + (i,)] for i in range(grad.shape[ctx.axis]))


class Where(Function):
    @staticmethod
    def forward(ctx, cond, x, y):
        ctx.save_for_backward(cond)
        if not (type(x) is np.ndarray and type(y) is np.ndarray and x.dtype == y.dtype):   # else: nothing to do
            dt = result_type(x, y)           # PyTorch's: where(c, 1.0, 0.0) is float32, np.where's float64
            with quiet():                    # a Python float past float32's range is inf, as in PyTorch
                x, y = np.asarray(x).astype(dt, copy=False), np.asarray(y).astype(dt, copy=False)
        try:
            return np.where(cond, x, y)
        except ValueError:
            raise ValueError(f"where: shapes {np.shape(cond)}, {np.shape(x)} and {np.shape(y)} cannot be "
                             "broadcast together") from None

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        return (None,
                np.where(cond, grad, 0) if ctx.needs_input_grad[1] else None,
                np.where(cond, 0, grad) if ctx.needs_input_grad[2] else None)

    @staticmethod
    def backward_graph(ctx, grad):
        (cond,) = ctx.saved_tensors
        return (None,
                Where.apply(cond, grad, 0.0) if ctx.needs_input_grad[1] else None,
                Where.apply(cond, 0.0, grad) if ctx.needs_input_grad[2] else None)
