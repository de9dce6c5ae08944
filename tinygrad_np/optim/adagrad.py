"""Adagrad and Adadelta with PyTorch's update rules (the same numbers for the same start)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, check_hyper


class Adagrad(Optimizer):
    """s ← s + g²;  p −= lr/(1 + (t−1)·lr_decay) · g/(√s + eps)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10) -> None:
        check_hyper(type(self).__name__, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                    initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value))

    def _init_state(self, p: Tensor, group: dict) -> dict:
        return {"step": 0, "sum": np.full_like(p._data, group["initial_accumulator_value"])}

    def _update(self, p: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        s, t = self._buffers(p)
        state["step"] += 1
        g = self._weight_decay(p, grad, group, out=s)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        acc = state["sum"]
        acc += g * g
        np.sqrt(acc, out=t)
        t += group["eps"]
        p._data -= clr * g / t


class Adadelta(Optimizer):
    """v ← ρv + (1−ρ)g²;  δ = √(u + eps)/√(v + eps) · g;  u ← ρu + (1−ρ)δ²;  p −= lr·δ."""

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0) -> None:
        check_hyper(type(self).__name__, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        if rho > 1:
            raise ValueError(f"Adadelta: rho must be in [0, 1], got {rho}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def _init_state(self, p: Tensor, group: dict) -> dict:
        return {"step": 0, "square_avg": np.zeros_like(p._data), "acc_delta": np.zeros_like(p._data)}

    def _update(self, p: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        s, _ = self._buffers(p)
        rho, eps = group["rho"], group["eps"]
        state["step"] += 1
        g = self._weight_decay(p, grad, group, out=s)
        sq, acc = state["square_avg"], state["acc_delta"]
        sq *= rho
        sq += (1 - rho) * g * g
        delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
        acc *= rho
        acc += (1 - rho) * delta * delta
        p._data -= group["lr"] * delta
