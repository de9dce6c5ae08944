"""RMSprop with PyTorch's update rule (optional momentum and centring)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..tensor import Tensor
from .adam import lerp_
from .optimizer import Optimizer, check_hyper


class RMSprop(Optimizer):
    """v ← αv + (1−α)g²;  avg = √(v − ḡ²) (centered, ḡ ← lerp(ḡ, g, 1−α)) or √v, plus eps;
    p −= lr·g/avg, or with momentum b ← μb + g/avg, p −= lr·b."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False) -> None:
        check_hyper(type(self).__name__, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered))

    def _init_state(self, p: Tensor, group: dict) -> dict:
        state = {"step": 0, "square_avg": np.zeros_like(p._data)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(p._data)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(p._data)
        return state

    def _update(self, p: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        lr, alpha, eps, momentum = (group[k] for k in ("lr", "alpha", "eps", "momentum"))
        s, t = self._buffers(p)
        state["step"] += 1
        g = self._weight_decay(p, grad, group, out=s)
        sq = state["square_avg"]
        sq *= alpha
        np.multiply(g, 1 - alpha, out=t)
        t *= g
        sq += t
        if group["centered"]:
            if "grad_avg" not in state:                 # centered switched on after the first step
                state["grad_avg"] = np.zeros_like(p._data)
            ga = state["grad_avg"]
            lerp_(ga, g, 1 - alpha, t)
            np.multiply(ga, -1, out=t)
            t *= ga
            t += sq
            np.sqrt(t, out=t)
        else:
            np.sqrt(sq, out=t)
        t += eps
        if momentum > 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = np.zeros_like(p._data)
            buf = state["momentum_buffer"]
            buf *= momentum
            np.divide(g, t, out=t)
            buf += t
            np.multiply(buf, lr, out=t)
            p._data -= t
        else:
            np.multiply(g, -lr, out=s)
            s /= t
            p._data += s
