"""Batch normalisation: one fused `Function` (`batch_norm`) and the `BatchNorm1d/2d` modules.

Training normalises with the batch's biased variance and updates the running statistics with the
unbiased one (as PyTorch does); eval mode normalises with the running statistics.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..function import Function
from ..tensor import Tensor
from .module import Module, Parameter


class BatchNorm(Function):
    """x (N, C, *) → (x − mean) / √(var + eps) · weight + bias, statistics per channel (axis 1)."""

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
            if running_mean is not None:          # in place: the module's buffers are these arrays
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
        ctx.vals = (axes, shape, count)
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


def batch_norm(input: Tensor, running_mean: Any, running_var: Any, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise per channel (axis 1). With training=True (or no running statistics) the batch's
    statistics are used and the running arrays, when given, are updated in place."""
    x = input.data
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got {x.shape}")
    C = x.shape[1]
    rm = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var.data if isinstance(running_var, Tensor) else running_var
    for name, arr in (("running_mean", rm), ("running_var", rv), ("weight", weight), ("bias", bias)):
        if arr is not None and np.shape(arr) != (C,):
            raise ValueError(f"batch_norm: {name} must have shape ({C},) for input of shape {x.shape}, "
                             f"got {np.shape(arr)}")
    use_batch = training or rm is None or rv is None
    if use_batch and x.size // max(C, 1) <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of "
                         f"shape {x.shape}")
    if use_batch and not training:          # no running statistics to use or update
        rm = rv = None
    return BatchNorm.apply(input, weight, bias, running_mean=rm, running_var=rv, training=use_batch,
                           momentum=momentum, eps=eps)


class _BatchNorm(Module):
    _dims: tuple = ()
    _layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype: Any = np.float32) -> None:
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive integer, got {num_features!r}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype))
            self.bias = Parameter(np.zeros(num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        shape = input.data.shape
        if input.data.ndim not in self._dims:
            raise ValueError(f"{name}: expected {self._layout} input, got shape {shape}")
        if shape[1] != self.num_features:
            raise ValueError(f"{name}: expected {self.num_features} channels (num_features), got input of shape {shape}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            if input.data.size // shape[1] > 1:
                self.num_batches_tracked.data += 1
            if self.momentum is None:               # cumulative moving average
                factor = 1.0 / max(int(self.num_batches_tracked.data), 1)
        use_running = not self.training or self.track_running_stats
        try:
            return batch_norm(input, self.running_mean if use_running else None,
                              self.running_var if use_running else None, self.weight, self.bias,
                              self.training or not self.track_running_stats, factor, self.eps)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs."""
    _dims = (2, 3)
    _layout = "2D (N, C) or 3D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs."""
    _dims = (4,)
    _layout = "4D (N, C, H, W)"
