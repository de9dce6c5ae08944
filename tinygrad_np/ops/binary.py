"""Binary ops with NumPy broadcasting and PyTorch's type promotion (dtypes.result_type). Either operand may
be a constant (Python scalar or ndarray). Operands of one dtype skip promotion entirely (one `is` test)."""
from __future__ import annotations

import numpy as np

from ..dtypes import binary_operands, default_float
from ..function import Function
from ..tensor import Tensor
from ..threads import matmul

_nd = np.ndarray
_f64 = np.dtype(np.float64)


def _is_float(v: object) -> bool:
    if type(v) is float:
        return True
    dtype = getattr(v, "dtype", None)          # ndarrays and NumPy scalars; a Python int has none
    return dtype is not None and dtype.kind == "f"


def _broadcast_error(op: str, x: object, y: object) -> ValueError:
    return ValueError(f"{op}: shapes {np.shape(x)} and {np.shape(y)} cannot be broadcast together")


class Add(Function):
    @staticmethod
    def forward(ctx, x, y):
        if type(x) is not _nd or type(y) is not _nd or x.dtype is not y.dtype:
            x, y = binary_operands(x, y)
        try:
            return x + y
        except ValueError:
            raise _broadcast_error("add", x, y) from None

    @staticmethod
    def backward(ctx, grad):
        return grad, grad

    @staticmethod
    def backward_graph(ctx, grad): return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, x, y):
        if type(x) is not _nd or type(y) is not _nd or x.dtype is not y.dtype:
            x, y = binary_operands(x, y)
        try:
            return x - y
        except ValueError:
            raise _broadcast_error("sub", x, y) from None

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_graph(ctx, grad): return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, x, y):
        if type(x) is not _nd or type(y) is not _nd or x.dtype is not y.dtype:
            x, y = binary_operands(x, y)
        ctx.save_for_backward(x, y)
        try:
            return x * y
        except ValueError:
            raise _broadcast_error("mul", x, y) from None

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return (grad * y if ctx.needs_input_grad[0] else None,
                grad * x if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = ctx.parents
        return (grad * y if ctx.needs_input_grad[0] else None,
                grad * x if ctx.needs_input_grad[1] else None)


class Div(Function):
    @staticmethod
    def forward(ctx, x, y):
        if type(x) is not _nd or type(y) is not _nd or x.dtype is not y.dtype:
            x, y = binary_operands(x, y)
        try:
            out = x / y
        except ValueError:
            raise _broadcast_error("div", x, y) from None
        if out.dtype is _f64 and not (_is_float(x) or _is_float(y)):
            out = out.astype(default_float)          # true division of integers gives the default float
        ctx.save_for_backward(y, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        y, out = ctx.saved_tensors
        gx = grad / y
        return gx, (-gx * out if ctx.needs_input_grad[1] else None)   # d(x/y)/dy = -(x/y)/y

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = ctx.parents
        gx = grad / y
        return gx, (-gx * x / y if ctx.needs_input_grad[1] else None)


class Pow(Function):
    @staticmethod
    def forward(ctx, x, y):
        if type(x) is not _nd or type(y) is not _nd or x.dtype is not y.dtype:
            x, y = binary_operands(x, y)
        try:
            out = x ** y
        except ValueError:
            raise _broadcast_error("pow", x, y) from None
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        gx = grad * y * x ** (y - 1) if ctx.needs_input_grad[0] else None
        gy = None
        if ctx.needs_input_grad[1]:
            log_x = np.log(x)
            if type(log_x) is not np.ndarray:    # a Python-scalar base: keep its log weak (no float64 upcast)
                log_x = float(log_x)
            gy = grad * out * log_x
        return gx, gy

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = ctx.parents
        gx = grad * y * x ** (y - 1) if ctx.needs_input_grad[0] else None
        gy = None
        if ctx.needs_input_grad[1]:
            log_x = x.log() if isinstance(x, Tensor) else np.log(x)
            if type(log_x) is np.float64 and not isinstance(x, np.ndarray):
                log_x = float(log_x)             # a Python-scalar base: keep its log weak (no float64 upcast)
            gy = grad * x ** y * log_x
        return gx, gy


class MatMul(Function):
    """`x @ y` with np.matmul semantics: 1-D operands are promoted, leading (batch) axes broadcast."""

    @staticmethod
    def forward(ctx, x, y):
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul: both operands need at least one dimension, got shapes {x.shape} and {y.shape}")
        k1, k2 = x.shape[-1], y.shape[-2] if y.ndim > 1 else y.shape[0]
        if k1 != k2:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not align ({k1} != {k2})")
        ctx.save_for_backward(x, y)
        try:
            return matmul(x, y)
        except ValueError:
            raise ValueError(f"matmul: batch shapes of {x.shape} and {y.shape} cannot be broadcast") from None

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if x.ndim == 1 and y.ndim == 1:
            return grad * y, grad * x
        g = grad
        if x.ndim == 1:
            g = np.expand_dims(g, -2)
        if y.ndim == 1:
            g = np.expand_dims(g, -1)
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = matmul(g, y[None, :] if y.ndim == 1 else np.swapaxes(y, -1, -2))   # dX = G Yᵀ
            if x.ndim == 1:
                gx = gx[..., 0, :]
        if ctx.needs_input_grad[1]:
            gy = matmul(x[:, None] if x.ndim == 1 else np.swapaxes(x, -1, -2), g)   # dY = Xᵀ G
            if y.ndim == 1:
                gy = gy[..., 0]
        return gx, gy

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = (a if isinstance(a, Tensor) else Tensor._make(np.asarray(a), False, None) for a in ctx.parents)
        xd, yd = x.ndim, y.ndim
        if xd == 1 and yd == 1:
            return grad * y, grad * x
        g = grad.unsqueeze(-2) if xd == 1 else grad
        g = g.unsqueeze(-1) if yd == 1 else g
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = g @ (y.unsqueeze(0) if yd == 1 else y.transpose(-1, -2))         # dX = G Yᵀ
            gx = gx[..., 0, :] if xd == 1 else gx
        if ctx.needs_input_grad[1]:
            gy = (x.unsqueeze(-1) if xd == 1 else x.transpose(-1, -2)) @ g        # dY = Xᵀ G
            gy = gy[..., 0] if yd == 1 else gy
        return gx, gy
