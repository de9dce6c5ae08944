"""`nn.functional`: stateless layers and losses on Tensors, PyTorch's names and arguments.

`linear` and `dropout` are fused `Function`s (one node each instead of three), the losses live in
`losses.py` and `batch_norm` in `batchnorm.py`; all are re-exported here.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..function import Function
from ..ops.conv import conv2d  # noqa: F401  (re-exported: nn.functional.conv2d)
from ..ops.pool import avg_pool2d, max_pool2d  # noqa: F401
from ..random import default_generator
from ..tensor import Tensor
from .batchnorm import batch_norm
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss,
                     nll_loss)

__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "dropout",
           "one_hot", "batch_norm", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss"]


class Linear(Function):
    """y = x Wᵀ + b for x of shape (..., in), W (out, in), b (out,) or None."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape {weight.shape} "
                             f"(expected input (..., {weight.shape[-1]}))")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias of shape {bias.shape} does not match weight {weight.shape}")
        ctx.save_for_backward(x, weight)
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad + (False,) * (3 - len(ctx.needs_input_grad))
        gx = grad @ weight if need_x else None
        g2 = grad.reshape(-1, weight.shape[0])
        gw = g2.T @ x.reshape(-1, weight.shape[1]) if need_w else None    # a fresh (out, in) array
        gb = g2.sum(axis=0) if need_b else None
        return (gx, gw) if len(ctx.needs_input_grad) == 2 else (gx, gw, gb)


def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """x @ weight.T + bias, one fused node."""
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return input.leaky_relu(negative_slope)


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    return input.softmax(dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    return input.log_softmax(dim)


class Dropout(Function):
    """Inverted dropout: keep each element with probability 1 − p and scale it by 1 / (1 − p)."""

    @staticmethod
    def forward(ctx, x, p=0.5):
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        if p >= 1.0:
            mask = np.zeros(x.shape, dtype)
        else:
            mask = default_generator().random(x.shape, dtype=dtype) >= p
            mask = np.multiply(mask, 1.0 / (1.0 - p), dtype=dtype)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero elements with probability p (from the global generator) and scale the rest by 1/(1-p);
    the identity when not training or p == 0."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be between 0 and 1, got {p!r}")
    if not training or p == 0.0:
        return input
    return Dropout.apply(input, p=float(p))


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last axis of size num_classes (max + 1 when -1)."""
    idx = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got dtype {idx.dtype}")
    if num_classes == -1:
        if idx.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(idx.max()) + 1
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise ValueError(f"one_hot: class index {int(bad)} is outside [0, {num_classes})")
    out = np.zeros(idx.shape + (num_classes,), np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.intp), 1, axis=-1)
    return Tensor(out)
