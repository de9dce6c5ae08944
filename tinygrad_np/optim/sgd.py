"""SGD with PyTorch's update rule (momentum, dampening, Nesterov, L2 weight decay)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, check_hyper


class SGD(Optimizer):
    """d = g + wd·p;  b = d (first step) else μ·b + (1 − τ)·d;  d = d + μ·b (Nesterov) or b;  p −= lr·d."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False) -> None:
        name = type(self).__name__
        check_hyper(name, lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"{name}: Nesterov momentum requires momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _init_state(self, p: Tensor, group: dict) -> dict:
        return {"momentum_buffer": None} if group["momentum"] else {}

    def _update(self, p: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        lr, momentum = group["lr"], group["momentum"]
        s, t = self._buffers(p)
        d = self._weight_decay(p, grad, group, out=s)
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                # np.array, not d.copy(): a 0-d gradient may be a NumPy scalar, whose copy is an immutable
                # scalar again, and `buf *= momentum` below would rebind a local instead of updating the state
                buf = state["momentum_buffer"] = np.array(d)
            else:
                buf *= momentum
                if group["dampening"]:
                    np.multiply(d, 1 - group["dampening"], out=t)
                    buf += t
                else:
                    buf += d
            if group["nesterov"]:
                np.multiply(buf, momentum, out=t)
                np.add(d, t, out=t)
                d = t
            else:
                d = buf
        out = d if (d is s or d is t) else t
        np.multiply(d, lr, out=out)
        np.subtract(p._data, out, out=p._data)
