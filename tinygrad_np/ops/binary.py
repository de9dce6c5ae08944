"""Binary ops with NumPy broadcasting and PyTorch's type promotion (dtypes.result_type). Either operand may
be a constant (Python scalar or ndarray); the operators (ops/tensor_api.py) refuse anything else before it
gets here. Operands of one dtype skip promotion entirely (one `is` test)."""
from __future__ import annotations

import numpy as np

from ..dtypes import binary_operands, default_float, quiet
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


def _is_bool(v: object) -> bool:
    return isinstance(v, (bool, np.bool_)) or (isinstance(v, np.ndarray) and v.dtype == np.bool_)


def _operand_error(op: str, x: object, y: object, e: Exception) -> Exception:
    """What NumPy's complaint about `x op y` means, in the op's own words."""
    if "negative integer powers" in str(e):
        return RuntimeError(f"{op}: integers to negative integer powers are not allowed; use a float tensor")
    if isinstance(e, OverflowError):            # uint8_tensor + 300: refused rather than wrapped silently
        return ValueError(f"{op}: {e}; convert the tensor to a wider dtype first")
    if isinstance(e, TypeError):                # bool - bool, as PyTorch refuses it too
        return RuntimeError(f"{op}: {e}")
    try:
        np.broadcast_shapes(np.shape(x), np.shape(y))
    except ValueError:
        return _broadcast_error(op, x, y)
    return ValueError(f"{op}: {e}")


class Add(Function):
    @staticmethod
    def forward(ctx, x, y):
        if type(x) is not _nd or type(y) is not _nd or x.dtype is not y.dtype:
            x, y = binary_operands(x, y)
        try:
            return x + y
        except (ValueError, OverflowError, TypeError) as e:
            raise _operand_error("add", x, y, e) from None

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
        except (ValueError, OverflowError, TypeError) as e:
            raise _operand_error("sub", x, y, e) from None

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
        except (ValueError, OverflowError, TypeError) as e:
            raise _operand_error("mul", x, y, e) from None

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
            with quiet():   # x/0 = ±inf or nan
                out = x / y
        except (ValueError, OverflowError, TypeError) as e:
            raise _operand_error("div", x, y, e) from None
        if out.dtype is _f64 and not (_is_float(x) or _is_float(y)):
            out = out.astype(default_float)          # true division of integers gives the default float
        ctx.save_for_backward(y, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        y, out = ctx.saved_tensors
        with quiet():
            gx = grad / y              # d(x/y)/dy = -(x/y)/y, in that order: no inf·0 for a tiny y
            return gx, (-grad * out / y if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = ctx.parents
        gx = grad / y
        return gx, (-gx * x / y if ctx.needs_input_grad[1] else None)


class Pow(Function):
    """x ** y. At the edges PyTorch's gradients are 0, not 0·inf = NaN: d/dx is 0 wherever y == 0
    (x ** 0 is constant, even at x = 0), and d/dy is 0 where x == 0 and y >= 0 (0 ** y is flat there)."""

    @staticmethod
    def forward(ctx, x, y):
        if _is_bool(x) and _is_bool(y):
            raise RuntimeError("pow: bool ** bool is not supported (PyTorch refuses it too); convert to int first")
        if isinstance(y, (int, np.integer)) and y < 0 and isinstance(x, np.ndarray) and x.dtype.kind in "iub":
            raise RuntimeError("pow: integers to negative integer powers are not allowed; use a float tensor")
        if type(x) is not _nd or type(y) is not _nd or x.dtype is not y.dtype:
            x, y = binary_operands(x, y)
        try:
            with quiet():          # 0 ** -1 = inf, (-8) ** 0.5 = nan, as in PyTorch
                out = x ** y
        except (ValueError, OverflowError, TypeError) as e:
            raise _operand_error("pow", x, y, e) from None
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        gx = gy = None
        with quiet():
            if ctx.needs_input_grad[0]:
                gx = np.where(np.equal(y, 0), 0, grad * (y * x ** (y - 1)))
            if ctx.needs_input_grad[1]:
                log_x = np.log(x)
                if type(log_x) is not np.ndarray:    # a Python-scalar base: keep its log weak (no float64 upcast)
                    log_x = float(log_x)
                gy = np.where(np.equal(x, 0) & np.greater_equal(y, 0), 0, grad * out * log_x)
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
        if x.dtype == np.bool_ or y.dtype == np.bool_:
            raise RuntimeError(f"matmul: bool tensors are not supported (got {x.dtype} and {y.dtype})")
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul: both operands need at least one dimension, got shapes {x.shape} and {y.shape}")
        k1, k2 = x.shape[-1], y.shape[-2] if y.ndim > 1 else y.shape[0]
        if k1 != k2:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not align ({k1} != {k2})")
        ctx.save_for_backward(x, y)
        try:
            with quiet():     # 0 · inf = nan, as in PyTorch
                return matmul(x, y)
        except ValueError:
            raise ValueError(f"matmul: batch shapes of {x.shape} and {y.shape} cannot be broadcast") from None

    @staticmethod
    def backward(ctx, grad):
        with quiet():
            return MatMul._backward(ctx, grad)

    @staticmethod
    def _backward(ctx, grad):
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
