"""AdamW: Adam with decoupled weight decay (p ← p·(1 − lr·wd) before the Adam step)."""
from __future__ import annotations

from typing import Any, Iterable

from .adam import Adam


class AdamW(Adam):
    _decoupled_weight_decay = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
