"""The fused ops behind layers: affine map (Linear), inverted dropout, batch normalisation.

Each is one graph node instead of the three or more its composed form would record; the arguments
arrive validated by the wrappers in `nn.functional`. Names end in `Op` where the plain name is the
`nn` layer's.
"""
from __future__ import annotations

import numpy as np

from ..function import Function
from ..random import default_generator
from ..threads import matmul
from .rowwise import sum_rows


class LinearOp(Function):
    """y = x Wᵀ + b for x (..., in), W (out, in), b (out,) or absent."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        out = matmul(x, weight.T)                 # x of more than 2 dims: NumPy's own batched @
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad + (False,) * (3 - len(ctx.needs_input_grad))
        gx = matmul(grad, weight) if need_x else None                                 # dX = G W
        g2 = grad.reshape(-1, weight.shape[0])
        gw = matmul(g2.T, x.reshape(-1, weight.shape[1])) if need_w else None          # dW = Gᵀ X, a fresh array
        gb = sum_rows(g2) if need_b else None                                 # db = Σ_rows G = 1ᵀ G
        return (gx, gw) if len(ctx.needs_input_grad) == 2 else (gx, gw, gb)

    @staticmethod
    def backward_graph(ctx, grad):
        x, weight = ctx.parents[:2]
        need_x, need_w, need_b = ctx.needs_input_grad + (False,) * (3 - len(ctx.needs_input_grad))
        g2 = grad.reshape(-1, weight.shape[0])
        gx = grad @ weight if need_x else None
        gw = g2.T @ x.reshape(-1, weight.shape[1]) if need_w else None
        gb = g2.sum(dim=0) if need_b else None
        return (gx, gw) if len(ctx.needs_input_grad) == 2 else (gx, gw, gb)


class DropoutOp(Function):
    """Inverted dropout: keep each element with probability 1 − p and scale it by 1 / (1 − p)."""

    @staticmethod
    def forward(ctx, x, p=0.5):
        if p >= 1.0:                     # all zeros, in any dtype (PyTorch's: int in, int zeros out)
            mask = np.zeros(x.shape, x.dtype)
        else:                            # F.dropout refuses integer and bool inputs here
            mask = default_generator().random(x.shape, dtype=x.dtype) >= p
            mask = np.multiply(mask, 1.0 / (1.0 - p), dtype=x.dtype)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]                                    # the same mask

    @staticmethod
    def backward_graph(ctx, grad): return grad * ctx.saved_tensors[0]


class BatchNormOp(Function):
    """x (N, C, *) → (x − mean) / √(var + eps) · weight + bias, statistics per channel (axis 1).

    Training normalises with the batch's biased variance and updates the running statistics (given as
    the module's own arrays, changed in place) with the unbiased one, as PyTorch does; otherwise the
    running statistics normalise and are constants."""

    @staticmethod
    def forward(ctx, x, weight=None, bias=None, running_mean=None, running_var=None, training=True,
                momentum=0.1, eps=1e-5):
        C = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, C) + (1,) * (x.ndim - 2)
        if training:
            count = x.size // C
            mean = x.mean(axis=axes)
            xhat = x - mean.reshape(shape)
            var = np.mean(xhat * xhat, axis=axes)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += (momentum * count / (count - 1)) * var
        else:
            count = 0
            xhat = x - running_mean.reshape(shape)
            var = running_var
        invstd = (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat *= invstd.reshape(shape)
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.vals, ctx.eps = (axes, shape, count), eps
        ctx.running_mean = None if training else running_mean.copy()   # for backward_graph
        if weight is None:
            return xhat if bias is None else xhat + bias.reshape(shape)
        out = xhat * weight.reshape(shape)
        if bias is not None:
            out += bias.reshape(shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        xhat, invstd, weight = ctx.saved_tensors
        axes, shape, count = ctx.vals
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gb = grad.sum(axis=axes) if (need_b or (need_x and count)) else None
        gw = (grad * xhat).sum(axis=axes) if (need_w or (need_x and count)) else None
        gx = None
        if need_x:
            scale = invstd if weight is None else invstd * weight
            if count:    # batch statistics depend on x: dx = w·invstd·(g − mean(g) − x̂·mean(g·x̂))
                gx = grad - (gb / count).reshape(shape)
                gx -= xhat * (gw / count).reshape(shape)
                gx *= scale.reshape(shape)
            else:
                gx = grad * scale.reshape(shape)
        return gx, (gw if need_w else None), (gb if need_b else None)

    @staticmethod
    def backward_graph(ctx, grad):
        """BatchNormOp's backward with recorded ops: x̂ and 1/σ are recomputed from the input Tensor, so
        they carry the graph (the running statistics are not touched again)."""
        x, weight = ctx.parents[0], ctx.parents[1]
        _, invstd_arr, _ = ctx.saved_tensors
        axes, shape, count = ctx.vals
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if count:
            centered = x - x.mean(dim=axes, keepdim=True)
            invstd = ((centered * centered).mean(dim=axes, keepdim=True) + ctx.eps) ** -0.5
        else:
            centered = x - ctx.running_mean.reshape(shape)
            invstd = invstd_arr.reshape(shape)
        xhat = centered * invstd
        gb = grad.sum(dim=axes) if (need_b or (need_x and count)) else None
        gw = (grad * xhat).sum(dim=axes) if (need_w or (need_x and count)) else None
        gx = None
        if need_x:
            scale = invstd if weight is None else invstd * weight.reshape(shape)
            gx = (grad - (gb / count).reshape(shape) - xhat * (gw / count).reshape(shape)) * scale if count \
                else grad * scale
        return gx, (gw if need_w else None), (gb if need_b else None)
