"""`BatchNorm1d/2d`: the modules over `nn.functional.batch_norm` (one fused op, `ops.layers.BatchNormOp`).

Training normalises with the batch's biased variance and updates the running statistics with the
unbiased one (as PyTorch does); eval mode normalises with the running statistics.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import _validate
from ..tensor import Tensor
from .functional import batch_norm
from .module import Module, Parameter


class _BatchNorm(Module):
    _dims: tuple = ()
    _layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype: Any = np.float32) -> None:
        super().__init__()
        self.num_features = _validate.integer(num_features, "num_features", type(self).__name__, 1)
        self.eps, self.momentum = eps, momentum
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
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        shape = input._data.shape
        if input._data.ndim not in self._dims:
            raise ValueError(f"{name}: expected {self._layout} input, got shape {shape}")
        if shape[1] != self.num_features:
            raise ValueError(f"{name}: expected {self.num_features} channels (num_features), got input of shape {shape}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            if input._data.size // shape[1] > 1:
                self.num_batches_tracked._data += 1
            if self.momentum is None:               # cumulative moving average
                factor = 1.0 / max(int(self.num_batches_tracked._data), 1)
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
