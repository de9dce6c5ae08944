"""Elementwise unary ops: the math functions, the activations, clamp and the dtype cast.

An op whose natural name is taken by an `nn` layer (ReLU, Sigmoid, ...) ends in `Op`, so that no class
name means both a Function and a Module.

The float-only ops (exp, log, sqrt, tanh, sigmoid, leaky_relu) compute integer and bool inputs in float32 (dtypes.as_float).
NaN and inf are answers, not accidents: where PyTorch returns them silently, so do these ops (dtypes.quiet),
so NumPy's RuntimeWarnings never reach the user."""
from __future__ import annotations

import numpy as np

from ..dtypes import as_float, quiet
from ..function import Function


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        if x.dtype == np.bool_:
            raise RuntimeError("neg: negating a bool tensor is not supported; use ~ (logical not)")
        return -x
    @staticmethod
    def backward(ctx, grad): return -grad


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        with quiet():
            out = np.exp(as_float(x))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad): return grad * ctx.saved_tensors[0]


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        x = as_float(x)
        ctx.save_for_backward(x)
        with quiet():     # log(0) = -inf, log(-1) = nan
            return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        with quiet():
            return grad / ctx.saved_tensors[0]


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        with quiet():                      # sqrt(-1) = nan
            out = np.sqrt(as_float(x))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        with quiet():     # at 0: inf, as in PyTorch
            return grad / (2 * ctx.saved_tensors[0])


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        x = ctx.saved_tensors[0]
        return grad * ((x > 0).astype(grad.dtype) - (x < 0))   # sign(x), but 0 at NaN (PyTorch's sgn)


class TanhOp(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.tanh(as_float(x))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return grad * (1 - out * out)


class SigmoidOp(Function):
    """1 / (1 + e^-x) computed from e^-|x| ≤ 1, so no overflow for any finite x."""

    @staticmethod
    def forward(ctx, x):
        x = as_float(x)
        z = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1, z).astype(x.dtype, copy=False) / (1 + z)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return grad * out * (1 - out)


class ReLUOp(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad): return grad * ~(ctx.saved_tensors[0] <= 0)   # ReLU'(0) = 0; NaN passes (PyTorch)


class LeakyReLUOp(Function):
    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        x = as_float(x)
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        x = ctx.saved_tensors[0]
        return np.where(x > 0, grad, grad * ctx.negative_slope)


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, min=None, max=None):
        ctx.save_for_backward(x)
        ctx.bounds = (min, max)
        return np.clip(x, min, max)

    @staticmethod
    def backward(ctx, grad):
        x = ctx.saved_tensors[0]
        lo, hi = ctx.bounds
        inside = np.ones(x.shape, bool) if lo is None else x >= lo    # bounds themselves pass the gradient
        if hi is not None:
            inside &= x <= hi
        return grad * inside


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype=None):
        with quiet():   # 1e300 → float32 is inf, as in PyTorch
            return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad): return grad   # the engine casts it back to the input's dtype
