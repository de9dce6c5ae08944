"""`Linear`, `Identity` and `Flatten`."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import integer
from ..tensor import Tensor
from . import init
from .functional import linear
from .module import Module, Parameter


class Linear(Module):
    """y = x Wᵀ + b with weight (out_features, in_features), PyTorch's default initialisation:
    W ~ kaiming_uniform(a=√5) = U(±1/√in), b ~ U(±1/√in)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = np.float32) -> None:
        super().__init__()
        self.in_features = integer(in_features, "in_features", "Linear", 0)
        self.out_features = integer(out_features, "out_features", "Linear", 0)
        self.weight = Parameter(np.empty((out_features, in_features), dtype))
        self.register_parameter("bias", Parameter(np.empty(out_features, dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_layer_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        p = self._parameters
        return linear(input, p["weight"], p["bias"])

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged (a placeholder layer); accepts and ignores any arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Flatten(Module):
    """Flatten dims start_dim..end_dim into one (by default all but the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        nd = input._data.ndim
        for d in (self.start_dim, self.end_dim):
            if not -max(nd, 1) <= d < max(nd, 1):
                raise IndexError(f"Flatten: dim {d} is out of range for input of shape {input._data.shape}")
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
