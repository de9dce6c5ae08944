"""The fused losses: one `Function` each, with a closed-form backward and no overflow or log(0).

- CrossEntropy: log-softmax and NLL in one node; d/dlogits = (softmax − onehot)/N without smoothing,
  weights or ignored targets (the seeds' `dZ2 = A2 − Y_onehot` with the 1/m mean).
- BCEWithLogits: (1 − y)·x + softplus(−x), softplus computed from e^−|x| ≤ 1; d/dx = sigmoid(x) − y
  (the seeds' `dL/dz = a − y`).
- BCE: logs clamped at −100, gradient denominator at 1e-12, as PyTorch does.
Inputs arrive validated and flattened by the wrappers in `nn.functional` (logits (M, C), targets (M,)).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..dtypes import quiet, quiet_function
from ..function import Function
from ..tensor import Tensor
from .rowwise import row_max, sum_columns


def reduce_loss(per: np.ndarray, reduction: str, denom: Any = None) -> np.ndarray:
    if reduction == "none":
        return per
    total = per.sum()
    if reduction == "sum":
        return total
    denom = per.size if denom is None else denom
    if not denom:                         # every target ignored (or weighted 0): nan, as in PyTorch
        return np.asarray(np.nan, per.dtype)
    return total / denom


def upstream(grad: np.ndarray, reduction: str, denom: Any, valid: Optional[np.ndarray] = None) -> np.ndarray:
    """The factor that the reduction puts in front of each term's derivative (0-d, or per term).

    A 'mean' over a zero denominator (every target ignored, or all their weights 0) is NaN, as PyTorch's
    loss is; its gradient is NaN too, except in the ignored rows, which PyTorch never touches (0): so the
    factor is then per row, NaN where `valid`, 0 where ignored."""
    if reduction != "mean":
        return grad
    if not denom:
        return np.full_like(grad, np.nan) if valid is None else np.where(valid, np.nan, 0).astype(grad.dtype)
    return grad / denom


def target_weights(t: np.ndarray, weight: Optional[np.ndarray], ignored: Optional[np.ndarray], dtype: Any) -> tuple:
    """(safe targets, valid mask or None, per-target weights or None, denominator of 'mean')."""
    if ignored is None:
        w_t = None if weight is None else weight[t]
        return t, None, w_t, (t.shape[0] if w_t is None else w_t.sum())
    valid = ~ignored
    safe = np.where(ignored, 0, t)
    w_t = valid.astype(dtype) if weight is None else weight[safe] * valid
    return safe, valid, w_t, w_t.sum()


def _per_row(g: Any) -> Any:
    return g if g.ndim == 0 else g.reshape(-1, 1)


def upstream_graph(grad: Any, reduction: str, denom: Any, valid: Optional[np.ndarray] = None) -> Any:
    """`upstream` for a Tensor gradient (backward_graph)."""
    if reduction != "mean":
        return grad
    if not denom:
        return grad * (np.nan if valid is None else np.where(valid, np.nan, 0))
    return grad / denom


class CrossEntropy(Function):
    """Softmax + NLL over logits x (M, C) with class targets t (M,)."""

    @staticmethod
    def forward(ctx, x, t, weight=None, ignored=None, reduction="mean", label_smoothing=0.0):
        M, C = x.shape
        safe, valid, w_t, denom = target_weights(t, weight, ignored, x.dtype)
        if valid is not None:                                # ignored rows never reach the arithmetic:
            x = np.where(valid[:, None], x, 0)               # an inf there must not make the loss NaN
        with quiet():   # logits near ±3e38: x - max overflows to -inf
            shifted = x - row_max(x) if C else x
            probs = np.exp(shifted)
        s = sum_columns(probs)
        with quiet():
            log_s = np.log(s)                                # s >= 1 for finite rows: never log(0)
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
        with quiet():
            probs /= s[:, None]
        ctx.save_for_backward(probs)
        ctx.vals = (safe, valid, w_t, denom, weight, eps, reduction)
        return reduce_loss(per, reduction, denom)

    @staticmethod
    def backward(ctx, grad):
        (probs,) = ctx.saved_tensors
        safe, valid, w_t, denom, weight, eps, reduction = ctx.vals
        M, C = probs.shape
        g = upstream(grad, reduction, denom, valid)         # 0-d, or (M,) for reduction='none' or denom 0
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

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        safe, valid, w_t, denom, weight, eps, reduction = ctx.vals
        M, C = x.shape
        probs = x.softmax(1)
        g = upstream_graph(grad, reduction, denom, valid)
        gv = g if valid is None else g * valid
        onehot = np.zeros((M, C), x.dtype)
        onehot[np.arange(M), safe] = 1
        if weight is None:
            gx = probs * _per_row(gv)
        else:
            gx = probs * _per_row(gv * ((1 - eps) * w_t + (eps / C) * weight.sum()))
        gx = gx - onehot * _per_row((1 - eps) * (g if w_t is None else g * w_t))
        if eps:
            smooth = _per_row(gv * (eps / C))
            gx = gx - (smooth if weight is None else smooth * weight)
        return gx, None, None


class NLL(Function):
    """Negative log-likelihood of log-probabilities x (M, C) at class targets t (M,)."""

    @staticmethod
    def forward(ctx, x, t, weight=None, ignored=None, reduction="mean"):
        safe, valid, w_t, denom = target_weights(t, weight, ignored, x.dtype)
        per = -x[np.arange(x.shape[0]), safe]
        if valid is not None:                                # an ignored row's -inf must not give 0 * inf
            per = np.where(valid, per, 0)
        if w_t is not None:
            per *= w_t
        ctx.vals = (x.shape, x.dtype, safe, valid, w_t, denom, reduction)
        return reduce_loss(per, reduction, denom)

    @staticmethod
    def backward(ctx, grad):
        shape, dtype, safe, valid, w_t, denom, reduction = ctx.vals
        g = upstream(grad, reduction, denom, valid)
        gx = np.zeros(shape, dtype)
        gx[np.arange(shape[0]), safe] = -g if w_t is None else -w_t * g
        return gx, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        shape, dtype, safe, valid, w_t, denom, reduction = ctx.vals
        g = upstream_graph(grad, reduction, denom, valid)
        onehot = np.zeros(shape, dtype)
        onehot[np.arange(shape[0]), safe] = -1 if w_t is None else -w_t
        return onehot * _per_row(g), None, None


def _clamped_log(x: np.ndarray) -> np.ndarray:
    out = np.full(x.shape, -100.0, x.dtype)
    np.log(x, out=out, where=x > 0)
    return np.maximum(out, -100.0, out=out)


def _clamped_log_graph(x: Any) -> Any:
    """`_clamped_log` with recorded ops: max(log x, −100), whose slope is 0 where clamped."""
    return x.clamp(min=float(np.exp(-100.0))).log() if hasattr(x, "clamp") else _clamped_log(np.asarray(x))


@quiet_function
class BCE(Function):
    @staticmethod
    def forward(ctx, x, y, weight=None, reduction="mean"):
        log_x, log_1mx = _clamped_log(x), _clamped_log(1 - x)
        per = -(y * log_x + (1 - y) * log_1mx)
        if weight is not None:
            per = per * weight
        ctx.save_for_backward(x, y, log_x, log_1mx)
        ctx.vals = (weight, reduction)
        return reduce_loss(per, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, log_x, log_1mx = ctx.saved_tensors
        weight, reduction = ctx.vals
        g = upstream(grad, reduction, x.size)
        if weight is not None:
            g = g * weight
        gx = g * (x - y) / np.maximum((1 - x) * x, 1e-12) if ctx.needs_input_grad[0] else None
        gy = -g * (log_x - log_1mx) if ctx.needs_input_grad[1] else None
        return gx, gy, None

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = ctx.parents[:2]
        weight, reduction = ctx.vals
        g = upstream_graph(grad, reduction, x.size if isinstance(x, np.ndarray) else x.numel())
        if weight is not None:
            g = g * weight
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = g * (x - y) / ((1 - x) * x).clamp(min=1e-12)
        if ctx.needs_input_grad[1]:
            gy = -g * (_clamped_log_graph(x) - _clamped_log_graph(1 - x))
        return gx, gy, None


@quiet_function
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
        return reduce_loss(per, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, z, softplus_neg = ctx.saved_tensors
        weight, pos_weight, log_w, reduction = ctx.vals
        g = upstream(grad, reduction, x.size)
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

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = ctx.parents[:2]
        x = x if isinstance(x, Tensor) else Tensor._make(np.asarray(x), False, None)
        weight, pos_weight, log_w, reduction = ctx.vals
        g = upstream_graph(grad, reduction, x.numel())
        if weight is not None:
            g = g * weight
        gx = gy = None
        if ctx.needs_input_grad[0]:
            if log_w is None:
                gx = g * (x.sigmoid() - y)
            else:                                # log_w recomputed from y: it depends on y
                gx = g * ((1 - y) - (1 + (pos_weight - 1) * y) * (-x).sigmoid())
        if ctx.needs_input_grad[1]:
            softplus_neg = (-x).clamp(min=0) + ((-x.abs()).exp() + 1).log()
            gy = g * (-x if pos_weight is None else (pos_weight - 1) * softplus_neg - x)
        return gx, gy, None, None


@quiet_function
class MSE(Function):
    @staticmethod
    def forward(ctx, x, y, reduction="mean"):
        d = x - y
        ctx.save_for_backward(d)
        ctx.reduction = reduction
        return reduce_loss(d * d, reduction)

    @staticmethod
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        gx = (2 * upstream(grad, ctx.reduction, d.size)) * d
        return gx, (-gx if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = ctx.parents[:2]
        gx = (2 * upstream_graph(grad, ctx.reduction, np.size(ctx.saved_tensors[0]))) * (x - y)
        return gx, (-gx if ctx.needs_input_grad[1] else None)
