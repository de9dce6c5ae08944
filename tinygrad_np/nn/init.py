"""In-place weight initialisers with PyTorch's formulas, drawing from the global generator
(`tg.manual_seed` makes them repeatable). Each writes into `tensor._data` and returns the tensor.

Fans follow PyTorch: for a weight of shape (out, in, *kernel), fan_in = in · prod(kernel) and
fan_out = out · prod(kernel); a grouped conv weight (out, in/groups, kh, kw) thus gets
fan_in = in/groups · kh · kw, as in PyTorch.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .. import _validate
from ..random import default_generator
from ..tensor import Tensor
from ..versions import mark_modified


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The recommended gain for an activation (PyTorch's table)."""
    linear = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid"}
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = _validate.number(0.01 if param is None else param, "negative_slope", "calculate_gain")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity '{nonlinearity}'")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple:
    shape = tensor._data.shape
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out need a tensor of at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:], dtype=np.int64)) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got '{mode}'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _write(tensor: Tensor, values: np.ndarray) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init: expected a Tensor, got {type(tensor).__name__}")
    if tensor._data.dtype.kind != "f":
        raise TypeError(f"init: cannot initialise a tensor of dtype {tensor._data.dtype}")
    if tensor._data.flags.writeable:
        np.copyto(tensor._data, values, casting="unsafe")
        mark_modified(tensor._data, "init")
    else:
        tensor._data = values.astype(tensor._data.dtype)
    return tensor


def default_bias_(bias: Tensor, weight: Tensor) -> Tensor:
    """PyTorch's default bias init for Linear and Conv2d: U(−1/√fan_in, 1/√fan_in), fan_in taken from `weight`."""
    fan_in = _calculate_fan_in_and_fan_out(weight)[0]
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform_(bias, -bound, bound)


def default_layer_(weight: Tensor, bias: Optional[Tensor]) -> None:
    """PyTorch's default init of Linear and Conv2d: weight ~ kaiming_uniform(a=√5) = U(±1/√fan_in),
    bias (if any) ~ U(±1/√fan_in)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        default_bias_(bias, weight)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with samples from U(a, b)."""
    return _write(tensor, default_generator().uniform(a, b, tensor._data.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with samples from N(mean, std²)."""
    return _write(tensor, default_generator().normal(mean, std, tensor._data.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _write(tensor, np.full(tensor._data.shape, val))


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """U(-a, a) with a = gain · √(6 / (fan_in + fan_out)) (Glorot & Bengio)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """U(-bound, bound) with bound = gain · √(3 / fan) (He et al.); `a` is the leaky-relu slope.
    `Linear` and `Conv2d` use a = √5, which makes bound = 1/√fan_in."""
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """N(0, std²) with std = gain / √fan."""
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))
