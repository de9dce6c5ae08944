"""`Conv2d`, `MaxPool2d` and `AvgPool2d`: thin Modules over `nn.functional`'s conv2d and pools, PyTorch's
arguments, parameter shapes, default initialisation and repr."""
from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from .._validate import integer, pair
from ..tensor import Tensor
from . import init
from .functional import avg_pool2d, conv2d, conv_padding, max_pool2d
from .module import Module, Parameter


class Conv2d(Module):
    """2-D convolution over (N, C_in, H, W) inputs with weight (C_out, C_in/groups, KH, KW) and bias
    (C_out,). Initialised as PyTorch does: weight ~ kaiming_uniform(a=√5) = U(±1/√fan_in), bias ~
    U(±1/√fan_in), with fan_in = C_in/groups · KH · KW."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Union[int, tuple, str] = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.in_channels = integer(in_channels, "in_channels", "Conv2d", 1)
        self.out_channels = integer(out_channels, "out_channels", "Conv2d", 1)
        self.groups = integer(groups, "groups", "Conv2d", 1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels={in_channels} and out_channels={out_channels} must both be "
                             f"divisible by groups={groups}")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = pair(stride, "stride", "Conv2d", 1)
        self.dilation = pair(dilation, "dilation", "Conv2d", 1)
        conv_padding(padding, self.kernel_size, self.stride, self.dilation, "Conv2d")   # validates
        self.padding: Union[tuple, str] = padding if isinstance(padding, str) else pair(padding, "padding", "Conv2d", 0)
        self.weight = Parameter(np.empty((out_channels, in_channels // groups) + self.kernel_size, dtype))
        self.register_parameter("bias", Parameter(np.empty(out_channels, dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_layer_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        p = self._parameters
        return conv2d(input, p["weight"], p["bias"], self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxPool2d(Module):
    """Max over kernel_size windows (stride defaults to kernel_size); see `nn.functional.max_pool2d`."""

    def __init__(self, kernel_size: Any, stride: Optional[Any] = None, padding: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over kernel_size windows (stride defaults to kernel_size); see `nn.functional.avg_pool2d`."""

    def __init__(self, kernel_size: Any, stride: Optional[Any] = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
