"""`nn.functional`: stateless layers and losses on Tensors, PyTorch's names and arguments.

Each wrapper checks its arguments (naming itself, before anything changes) and calls one op from
`tinygrad_np.ops`; the Modules in `nn` call these. One file, as PyTorch's `torch.nn.functional` is one
namespace: the argument rules of every layer and loss are read in one place.
"""
from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from .. import _validate
from ..ops.adaptive import AdaptiveAvgPool, AdaptiveMaxPool
from ..dtypes import as_array, quiet
from ..ops.conv import Convolution
from ..ops.im2col import Pads
from ..ops.layers import BatchNormOp, DropoutOp, LinearOp
from ..ops.loss import BCE, MSE, NLL, BCEWithLogits, CrossEntropy
from ..ops.pool import AvgPool, MaxPool, pool_geometry
from ..tensor import Tensor

__all__ = ["linear", "conv2d", "max_pool2d", "avg_pool2d", "relu", "leaky_relu", "sigmoid", "tanh", "softmax",
           "log_softmax", "dropout", "one_hot", "batch_norm", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss"]


_ARRAY_LIKE = (np.ndarray, np.generic, list, tuple, int, float)


def _tensor(x: Any, op: str, name: str = "input") -> Tensor:
    """A Tensor argument: Tensors as they are, arrays and numbers wrapped; None or any other object is a
    TypeError naming the op (not a dtype complaint from deep inside)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, bool) or not isinstance(x, _ARRAY_LIKE):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    return Tensor._make(as_array(x, op=op), False, None)


# ---- activations ------------------------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _tensor(input, "relu").relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _tensor(input, "leaky_relu").leaky_relu(negative_slope)


def sigmoid(input: Tensor) -> Tensor:
    return _tensor(input, "sigmoid").sigmoid()


def tanh(input: Tensor) -> Tensor:
    return _tensor(input, "tanh").tanh()


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    return _tensor(input, "softmax").softmax(dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    return _tensor(input, "log_softmax").log_softmax(dim)


# ---- layers -----------------------------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """x @ weight.T + bias for x (..., in), weight (out, in), bias (out,): one fused node."""
    x, w = input._data, weight._data
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape {w.shape} "
                         f"(expected input (..., {w.shape[-1]}))")
    if bias is None:
        return LinearOp.apply(input, weight)
    if bias._data.shape != (w.shape[0],):
        raise ValueError(f"linear: bias of shape {bias._data.shape} does not match weight {w.shape}")
    return LinearOp.apply(input, weight, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero elements with probability p (from the global generator) and scale the rest by 1/(1-p);
    the identity when not training or p == 0."""
    p = _validate.probability(p, "dropout")
    if not training or p == 0.0:
        return input
    if input.dtype.kind != "f" and p < 1.0:   # PyTorch's rule: 1/(1 - p) cannot be cast back to the input
        raise TypeError(f"dropout: p={p} scales the kept elements by 1/(1 - p), which needs a floating point "
                        f"input, got dtype {input.dtype}")
    return DropoutOp.apply(input, p=p)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last axis of size num_classes (max + 1 when -1)."""
    idx = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
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


def batch_norm(input: Tensor, running_mean: Any, running_var: Any, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise per channel (axis 1). With training=True (or no running statistics) the batch's
    statistics are used and the running arrays, when given, are updated in place."""
    x = input._data
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got {x.shape}")
    C = x.shape[1]
    rm = running_mean._data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var._data if isinstance(running_var, Tensor) else running_var
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
    return BatchNormOp.apply(input, weight, bias, running_mean=rm, running_var=rv, training=use_batch,
                             momentum=momentum, eps=eps)


# ---- convolution and pooling -------------------------------------------------------------------------------
def conv_padding(padding: Any, kernel: tuple, stride: tuple, dilation: tuple, op: str = "conv2d") -> Pads:
    """PyTorch's padding argument: int, pair, 'valid' or 'same' (stride 1; extra pixel at the end)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                                 f"(stride={stride})")
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return (total[0] // 2, total[0] - total[0] // 2, total[1] // 2, total[1] - total[1] // 2)
        raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    ph, pw = _validate.pair(padding, "padding", op, 0)
    return (ph, ph, pw, pw)


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1,
           padding: Union[int, tuple, str] = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation over an (N, C_in, H, W) or unbatched (C_in, H, W) input, PyTorch's
    `F.conv2d`: weight (C_out, C_in/groups, KH, KW), bias (C_out,), int-or-pair stride/padding/dilation,
    padding also 'valid' or 'same'. Returns (N, C_out, OH, OW)."""
    x, wt = _tensor(input, "conv2d"), _tensor(weight, "conv2d", "weight")
    b = None if bias is None else _tensor(bias, "conv2d", "bias")
    xs, ws = x._data.shape, wt._data.shape
    if x._data.ndim not in (3, 4):
        raise ValueError(f"conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {xs}")
    if 0 in xs[-3:]:                       # only the batch may be empty
        raise ValueError(f"conv2d: input of shape {xs} has an empty channel or spatial dimension")
    if wt._data.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (C_out, C_in/groups, KH, KW), got shape {ws}")
    for name, arr in (("input", x._data), ("weight", wt._data)) + ((("bias", b._data),) if b is not None else ()):
        if arr.dtype.kind != "f":
            raise TypeError(f"conv2d: {name} must be floating point, got dtype {arr.dtype}")
    groups = _validate.integer(groups, "groups", "conv2d", 1)
    stride_ = _validate.pair(stride, "stride", "conv2d", 1)
    dilation_ = _validate.pair(dilation, "dilation", "conv2d", 1)
    kernel = (ws[2], ws[3])
    pads = conv_padding(padding, kernel, stride_, dilation_)
    c_in = xs[-3]
    if ws[0] % groups:
        raise ValueError(f"conv2d: weight {ws} has {ws[0]} output channels, not divisible by groups={groups}")
    if ws[1] * groups != c_in:
        raise ValueError(f"conv2d: input {xs} has {c_in} channels, but weight {ws} with groups={groups} "
                         f"expects {ws[1] * groups}")
    if b is not None and b._data.shape != (ws[0],):
        raise ValueError(f"conv2d: bias must have shape ({ws[0]},) for weight {ws}, got {b._data.shape}")
    hp, wp = xs[-2] + pads[0] + pads[1], xs[-1] + pads[2] + pads[3]
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation_))
    if min(kernel) < 1 or span[0] > hp or span[1] > wp:
        raise ValueError(f"conv2d: kernel {kernel} with dilation {dilation_} spans {span[0]}x{span[1]}, "
                         f"larger than the padded input {hp}x{wp} (input {xs}, padding {pads[::2]})")
    if x._data.ndim == 3:
        out = conv2d(x.reshape(1, *xs), wt, b, stride_, padding, dilation_, groups)
        return out.reshape(*out.shape[1:])
    with quiet():   # 0 · inf and ±3e38 sums: nan and inf, as in PyTorch
        return Convolution.apply(x, wt, b, stride=stride_, pads=pads, dilation=dilation_, groups=groups)


def _image_input(op: str, input: Any) -> Tensor:
    """A float (C, H, W) or (N, C, H, W) input of a pool, as a Tensor; only the batch may be empty (PyTorch)."""
    x = _tensor(input, op)
    if x._data.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x._data.shape}")
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x._data.dtype}")
    if 0 in x._data.shape[-3:]:
        raise ValueError(f"{op}: input of shape {x._data.shape} has an empty channel or spatial dimension")
    return x


def _pool(op: str, fn: Any, input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
          ceil_mode: bool, **kwargs: Any) -> Tensor:
    x = _image_input(op, input)
    shape = x._data.shape
    if x._data.ndim == 3:
        shape = (1,) + shape
    geo = pool_geometry(op, shape, kernel_size, stride, padding, dilation, ceil_mode)
    with quiet():   # window sums of ±3e38 are ±inf, as in PyTorch
        if x._data.ndim == 3:
            return fn.apply(x.reshape(*shape), geometry=geo, **kwargs).reshape(shape[1], *geo.out_hw)
        return fn.apply(x, geometry=geo, **kwargs)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Optional[Any] = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False) -> Tensor:
    """Max over KH x KW windows of an (N, C, H, W) or (C, H, W) input, PyTorch's `F.max_pool2d`:
    stride defaults to the kernel, padding (at most half the kernel) never wins, overlapping windows
    and ceil_mode allowed. Ties send the gradient to the first maximum of the window."""
    return _pool("max_pool2d", MaxPool, input, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Optional[Any] = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over KH x KW windows, PyTorch's `F.avg_pool2d`: zero padding counts in the divisor unless
    count_include_pad=False; in ceil_mode the part of a window past the padding never counts."""
    return _pool("avg_pool2d", AvgPool, input, kernel_size, stride, padding, 1, ceil_mode,
                 count_include_pad=bool(count_include_pad))


# ---- losses -----------------------------------------------------------------------------------------------
def _float_input(input: Any, op: str) -> Tensor:
    input = _tensor(input, op)
    if input._data.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {input._data.dtype}")
    return input


def _const(x: Any) -> Optional[np.ndarray]:
    return x._data if isinstance(x, Tensor) else (None if x is None else np.asarray(x))


def _class_targets(input: Tensor, target: Any, weight: Any, ignore_index: int, op: str) -> tuple:
    """Validate and flatten to logits (M, C) and targets (M,).
    Returns (x2d, t, weight, ignored mask over t or None when nothing is ignored, out_shape)."""
    target = _const(target)
    x = input._data
    if target is None or target.dtype.kind not in "iu":
        got = "None" if target is None else f"dtype {target.dtype}"
        raise TypeError(f"{op}: target must hold integer class indices (e.g. int64), got {got}")
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor")
    expected = () if x.ndim == 1 else (x.shape[0],) + x.shape[2:]
    if target.shape != expected:
        raise ValueError(f"{op}: target of shape {target.shape} does not match input of shape {x.shape} "
                         f"(expected target shape {expected}: one class index per row)")
    C = x.shape[0] if x.ndim == 1 else x.shape[1]
    t = target.reshape(-1)
    ignored = None
    if t.size:
        lo, hi = t.min(), t.max()
        if lo <= ignore_index <= hi:
            ignored = t == ignore_index
            if ignored.any():
                rest = t[~ignored]
                lo, hi = (rest.min(), rest.max()) if rest.size else (0, 0)
            else:
                ignored = None
        if lo < 0 or hi >= C:
            raise ValueError(f"{op}: target holds class {int(lo if lo < 0 else hi)}, outside [0, {C}) for input "
                             f"with {C} classes")
    w = _const(weight)
    if w is not None and w.shape != (C,):
        raise ValueError(f"{op}: weight must have shape ({C},) (one per class), got {w.shape}")
    if x.ndim == 1:
        x2d = input.reshape(1, C)
    elif x.ndim == 2:
        x2d = input
    else:
        x2d = input.permute(0, *range(2, x.ndim), 1).reshape(-1, C)
    return x2d, t, (None if w is None else w.astype(x.dtype, copy=False)), ignored, expected


def cross_entropy(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits `input` (N, C) [or (C,) or (N, C, d1, …)] against integer class `target`
    (N,) [or () or (N, d1, …)]. Targets equal to ignore_index contribute nothing; 'mean' divides by the
    summed weights of the counted targets, as in PyTorch."""
    op = "cross_entropy"
    _validate.reduction(reduction, op)
    label_smoothing = _validate.probability(label_smoothing, op, "label_smoothing")
    input = _float_input(input, op)
    x2d, t, w, ignored, shape = _class_targets(input, target, weight, ignore_index, op)
    out = CrossEntropy.apply(x2d, t, w, ignored=ignored, reduction=reduction,
                             label_smoothing=label_smoothing)
    return out.reshape(shape) if reduction == "none" else out


def nll_loss(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities `input` (e.g. from log_softmax) at class `target`."""
    op = "nll_loss"
    _validate.reduction(reduction, op)
    input = _float_input(input, op)
    x2d, t, w, ignored, shape = _class_targets(input, target, weight, ignore_index, op)
    out = NLL.apply(x2d, t, w, ignored=ignored, reduction=reduction)
    return out.reshape(shape) if reduction == "none" else out


def _paired(input: Any, target: Any, op: str) -> tuple:
    input = _float_input(input, op)
    if not isinstance(target, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: target must be a Tensor, got {type(target).__name__}")
    target = _tensor(target, op, "target")
    if target._data.dtype.kind not in "fiub":
        raise TypeError(f"{op}: target must be numeric, got dtype {target._data.dtype}")
    if target._data.shape != input._data.shape:
        raise ValueError(f"{op}: target of shape {target._data.shape} differs from input of shape "
                         f"{input._data.shape} (reshape one of them; silent broadcasting hides bugs)")
    if target._data.dtype != input._data.dtype:
        target = target.to(input._data.dtype) if target._data.dtype.kind == "f" else \
            Tensor(target._data.astype(input._data.dtype))
    return input, target


def _weight(weight: Any, shape: tuple, dtype: Any, op: str, name: str = "weight") -> Optional[np.ndarray]:
    w = _const(weight)
    if w is None:
        return None
    try:
        np.broadcast_shapes(w.shape, shape)
    except ValueError:
        raise ValueError(f"{op}: {name} of shape {w.shape} does not broadcast to input of shape {shape}") from None
    return w.astype(dtype, copy=False)


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """−[y·log x + (1 − y)·log(1 − x)] for probabilities x in [0, 1]; logs are clamped at −100."""
    op = "binary_cross_entropy"
    _validate.reduction(reduction, op)
    input, target = _paired(input, target, op)
    x = input._data
    if x.size and not (x.min() >= 0 and x.max() <= 1):
        raise ValueError(f"{op}: input must hold probabilities in [0, 1], got values in "
                         f"[{x.min():.6g}, {x.max():.6g}] (use binary_cross_entropy_with_logits for logits)")
    w = _weight(weight, x.shape, x.dtype, op)
    return BCE.apply(input, target, w, reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """sigmoid + binary cross-entropy in one stable node; `pos_weight` (broadcast along the last axis)
    weighs the positive term, as in PyTorch."""
    op = "binary_cross_entropy_with_logits"
    _validate.reduction(reduction, op)
    input, target = _paired(input, target, op)
    x = input._data
    w = _weight(weight, x.shape, x.dtype, op)
    pw = _weight(pos_weight, x.shape, x.dtype, op, "pos_weight")
    return BCEWithLogits.apply(input, target, w, pw, reduction=reduction)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or elementwise) squared error; input and target must have the same shape."""
    op = "mse_loss"
    _validate.reduction(reduction, op)
    input, target = _paired(input, target, op)
    return MSE.apply(input, target, reduction=reduction)


# ---- adaptive pooling ------------------------------------------------------------------------------------
def _adaptive(op: str, fn: Any, input: Any, output_size: Any) -> Tensor:
    x = _image_input(op, input)
    shape = x._data.shape
    sizes = (output_size, output_size) if not isinstance(output_size, (tuple, list)) else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(shape[-2 + i] if s is None else _validate.integer(s, "output_size", op, minimum=1)
                  for i, s in enumerate(sizes))
    return fn.apply(x, output_size=sizes)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Mean over PyTorch's adaptive bins, so the output is (..., *output_size) for any input size."""
    return _adaptive("adaptive_avg_pool2d", AdaptiveAvgPool, input, output_size)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    if return_indices:
        raise NotImplementedError("adaptive_max_pool2d: return_indices=True is not supported by tinygrad_np")
    return _adaptive("adaptive_max_pool2d", AdaptiveMaxPool, input, output_size)
