"""Adam (L2 weight decay added to the gradient) with PyTorch's update rule, and optional AMSGrad."""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from .. import _validate
from ..tensor import Tensor
from .optimizer import Optimizer, check_hyper


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """start ← start + weight·(end − start), in PyTorch's two-branch form (exact at weight 0 and 1)."""
    np.subtract(end, start, out=tmp)
    if weight < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1 - weight
        np.subtract(end, tmp, out=start)


class Adam(Optimizer):
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  p −= lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + eps);
    weight decay adds wd·p to g (AdamW decays p directly instead)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False) -> None:
        name = type(self).__name__
        check_hyper(name, lr=lr, eps=eps, weight_decay=weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair of numbers in [0, 1), got {betas!r}")
        for i, beta in enumerate(betas):
            _validate.number(beta, f"betas[{i}]", name, minimum=0.0, below=1.0)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _init_state(self, p: Tensor, group: dict) -> dict:
        state = {"step": 0, "exp_avg": np.zeros_like(p._data), "exp_avg_sq": np.zeros_like(p._data)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(p._data)
        return state

    def _update(self, p: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        s, t = self._buffers(p)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        state["step"] = step = state["step"] + 1
        g = self._weight_decay(p, grad, group, out=s)
        lerp_(m, g, 1 - beta1, t)
        v *= beta2
        np.multiply(g, 1 - beta2, out=t)
        t *= g
        v += t
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = np.zeros_like(p._data)
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        np.sqrt(v, out=t)
        t /= bias_correction2_sqrt
        t += eps
        np.multiply(m, -step_size, out=s)
        s /= t
        p._data += s
