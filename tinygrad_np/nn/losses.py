"""Loss functions, each one fused `Function` with a closed-form backward and no overflow or log(0).

- cross_entropy: log-softmax and NLL in one node; d/dlogits = (softmax − onehot)/N without smoothing,
  weights or ignored targets (the seeds' `dZ2 = A2 − Y_onehot` with the 1/m mean).
- binary_cross_entropy_with_logits: (1 − y)·x + softplus(−x), softplus computed from e^−|x| ≤ 1;
  d/dx = sigmoid(x) − y (the seeds' `dL/dz = a − y`).
- binary_cross_entropy: logs clamped at −100, gradient denominator at 1e-12, as PyTorch does.
Each checks the target's shape, dtype and class range first and names itself in the error.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..function import Function
from ..tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _float_input(input: Any, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        input = Tensor(input)
    if input.data.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {input.data.dtype}")
    return input


def _const(x: Any) -> Optional[np.ndarray]:
    return x.data if isinstance(x, Tensor) else (None if x is None else np.asarray(x))


def _reduce(per: np.ndarray, reduction: str, denom: Any = None) -> np.ndarray:
    if reduction == "none":
        return per
    total = per.sum()
    if reduction == "sum":
        return total
    denom = per.size if denom is None else denom
    if not denom:                         # every target ignored (or weighted 0): nan, as in PyTorch
        return np.asarray(np.nan, per.dtype)
    return total / denom


def _upstream(grad: np.ndarray, reduction: str, denom: Any) -> np.ndarray:
    """The factor that the reduction puts in front of each term's derivative (0-d, or per term)."""
    if reduction != "mean":
        return grad
    if not denom:
        return np.full_like(grad, np.nan)
    return grad / denom


# ---- class-index losses ---------------------------------------------------------------------------------
def _class_targets(input: Tensor, target: Any, weight: Any, ignore_index: int, op: str) -> tuple:
    """Validate and flatten to logits (M, C) and targets (M,).
    Returns (x2d, t, weight, ignored mask over t or None when nothing is ignored, out_shape)."""
    target = _const(target)
    x = input.data
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


def _target_weights(t: np.ndarray, weight: Optional[np.ndarray], ignored: Optional[np.ndarray], dtype: Any) -> tuple:
    """(safe targets, valid mask or None, per-target weights or None, denominator of 'mean')."""
    if ignored is None:
        w_t = None if weight is None else weight[t]
        return t, None, w_t, (t.shape[0] if w_t is None else w_t.sum())
    valid = ~ignored
    safe = np.where(ignored, 0, t)
    w_t = valid.astype(dtype) if weight is None else weight[safe] * valid
    return safe, valid, w_t, w_t.sum()


def _per_row(g: np.ndarray) -> np.ndarray:
    return g if g.ndim == 0 else g[:, None]


class CrossEntropy(Function):
    """Softmax + NLL over logits x (M, C) with class targets t (M,)."""

    @staticmethod
    def forward(ctx, x, t, weight=None, ignored=None, reduction="mean", label_smoothing=0.0):
        M, C = x.shape
        safe, valid, w_t, denom = _target_weights(t, weight, ignored, x.dtype)
        shifted = x - x.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        s = probs.sum(axis=1)
        log_s = np.log(s)                                    # s >= 1: never log(0)
        per = log_s - shifted[np.arange(M), safe]
        if w_t is not None:
            per *= w_t
        eps = label_smoothing
        if eps:
            if weight is None:
                smooth = log_s * C - shifted.sum(axis=1)     # -Σ_c log p_c
            else:
                smooth = log_s * weight.sum() - shifted @ weight
            if valid is not None:
                smooth *= valid
            per = (1 - eps) * per + (eps / C) * smooth
        probs /= s[:, None]
        ctx.save_for_backward(probs)
        ctx.vals = (safe, valid, w_t, denom, weight, eps, reduction)
        return _reduce(per, reduction, denom)

    @staticmethod
    def backward(ctx, grad):
        (probs,) = ctx.saved_tensors
        safe, valid, w_t, denom, weight, eps, reduction = ctx.vals
        M, C = probs.shape
        g = _upstream(grad, reduction, denom)                # 0-d, or (M,) for reduction='none'
        gv = g if valid is None else valid * g
        # d/dx of Σ_c A_c·(−log p_c) is p·ΣA − A, with A = (1−ε)·w_t·onehot + (ε/C)·w·valid
        if weight is None:
            gx = probs * _per_row(gv)
        else:
            gx = probs * _per_row(((1 - eps) * w_t + (eps / C) * weight.sum()) * gv)
        gx[np.arange(M), safe] -= (1 - eps) * (g if w_t is None else w_t * g)
        if eps:
            smooth = _per_row((eps / C) * gv)
            gx -= smooth if weight is None else smooth * weight
        return gx, None, None


class NLL(Function):
    """Negative log-likelihood of log-probabilities x (M, C) at class targets t (M,)."""

    @staticmethod
    def forward(ctx, x, t, weight=None, ignored=None, reduction="mean"):
        safe, _, w_t, denom = _target_weights(t, weight, ignored, x.dtype)
        per = -x[np.arange(x.shape[0]), safe]
        if w_t is not None:
            per *= w_t
        ctx.vals = (x.shape, x.dtype, safe, w_t, denom, reduction)
        return _reduce(per, reduction, denom)

    @staticmethod
    def backward(ctx, grad):
        shape, dtype, safe, w_t, denom, reduction = ctx.vals
        g = _upstream(grad, reduction, denom)
        gx = np.zeros(shape, dtype)
        gx[np.arange(shape[0]), safe] = -g if w_t is None else -w_t * g
        return gx, None, None


def cross_entropy(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits `input` (N, C) [or (C,) or (N, C, d1, …)] against integer class `target`
    (N,) [or () or (N, d1, …)]. Targets equal to ignore_index contribute nothing; 'mean' divides by the
    summed weights of the counted targets, as in PyTorch."""
    op = "cross_entropy"
    _check_reduction(reduction, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    input = _float_input(input, op)
    x2d, t, w, ignored, shape = _class_targets(input, target, weight, ignore_index, op)
    out = CrossEntropy.apply(x2d, t, w, ignored=ignored, reduction=reduction,
                             label_smoothing=float(label_smoothing))
    return out.reshape(shape) if reduction == "none" else out


def nll_loss(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities `input` (e.g. from log_softmax) at class `target`."""
    op = "nll_loss"
    _check_reduction(reduction, op)
    input = _float_input(input, op)
    x2d, t, w, ignored, shape = _class_targets(input, target, weight, ignore_index, op)
    out = NLL.apply(x2d, t, w, ignored=ignored, reduction=reduction)
    return out.reshape(shape) if reduction == "none" else out


# ---- elementwise losses ---------------------------------------------------------------------------------
def _paired(input: Any, target: Any, op: str) -> tuple:
    input = _float_input(input, op)
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target))
    if target.data.dtype.kind not in "fiub":
        raise TypeError(f"{op}: target must be numeric, got dtype {target.data.dtype}")
    if target.data.shape != input.data.shape:
        raise ValueError(f"{op}: target of shape {target.data.shape} differs from input of shape "
                         f"{input.data.shape} (reshape one of them; silent broadcasting hides bugs)")
    if target.data.dtype != input.data.dtype:
        target = target.to(input.data.dtype) if target.data.dtype.kind == "f" else \
            Tensor(target.data.astype(input.data.dtype))
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


def _clamped_log(x: np.ndarray) -> np.ndarray:
    out = np.full(x.shape, -100.0, x.dtype)
    np.log(x, out=out, where=x > 0)
    return np.maximum(out, -100.0, out=out)


class BCE(Function):
    @staticmethod
    def forward(ctx, x, y, weight=None, reduction="mean"):
        log_x, log_1mx = _clamped_log(x), _clamped_log(1 - x)
        per = -(y * log_x + (1 - y) * log_1mx)
        if weight is not None:
            per = per * weight
        ctx.save_for_backward(x, y, log_x, log_1mx)
        ctx.vals = (weight, reduction)
        return _reduce(per, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, log_x, log_1mx = ctx.saved_tensors
        weight, reduction = ctx.vals
        g = _upstream(grad, reduction, x.size)
        if weight is not None:
            g = g * weight
        gx = g * (x - y) / np.maximum((1 - x) * x, 1e-12) if ctx.needs_input_grad[0] else None
        gy = -g * (log_x - log_1mx) if ctx.needs_input_grad[1] else None
        return gx, gy, None


class BCEWithLogits(Function):
    @staticmethod
    def forward(ctx, x, y, weight=None, pos_weight=None, reduction="mean"):
        z = np.exp(-np.abs(x))                                   # ≤ 1: no overflow for any finite x
        softplus_neg = np.log1p(z) + np.maximum(-x, 0)          # log(1 + e^-x)
        log_w = None if pos_weight is None else 1 + (pos_weight - 1) * y
        per = (1 - y) * x + (softplus_neg if log_w is None else log_w * softplus_neg)
        if weight is not None:
            per = per * weight
        ctx.save_for_backward(x, y, z, softplus_neg)
        ctx.vals = (weight, pos_weight, log_w, reduction)
        return _reduce(per, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, z, softplus_neg = ctx.saved_tensors
        weight, pos_weight, log_w, reduction = ctx.vals
        g = _upstream(grad, reduction, x.size)
        if weight is not None:
            g = g * weight
        gx = gy = None
        if ctx.needs_input_grad[0]:
            if log_w is None:
                gx = g * (np.where(x >= 0, 1, z) / (1 + z) - y)              # sigmoid(x) − y
            else:
                gx = g * ((1 - y) - log_w * (np.where(x >= 0, z, 1) / (1 + z)))   # σ(−x) = 1 − σ(x)
        if ctx.needs_input_grad[1]:
            gy = g * (-x if pos_weight is None else (pos_weight - 1) * softplus_neg - x)
        return gx, gy, None, None


class MSE(Function):
    @staticmethod
    def forward(ctx, x, y, reduction="mean"):
        d = x - y
        ctx.save_for_backward(d)
        ctx.reduction = reduction
        return _reduce(d * d, reduction)

    @staticmethod
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        gx = (2 * _upstream(grad, ctx.reduction, d.size)) * d
        return gx, (-gx if ctx.needs_input_grad[1] else None)


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """−[y·log x + (1 − y)·log(1 − x)] for probabilities x in [0, 1]; logs are clamped at −100."""
    op = "binary_cross_entropy"
    _check_reduction(reduction, op)
    input, target = _paired(input, target, op)
    x = input.data
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
    _check_reduction(reduction, op)
    input, target = _paired(input, target, op)
    x = input.data
    w = _weight(weight, x.shape, x.dtype, op)
    pw = _weight(pos_weight, x.shape, x.dtype, op, "pos_weight")
    return BCEWithLogits.apply(input, target, w, pw, reduction=reduction)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or elementwise) squared error; input and target must have the same shape."""
    op = "mse_loss"
    _check_reduction(reduction, op)
    input, target = _paired(input, target, op)
    return MSE.apply(input, target, reduction=reduction)
