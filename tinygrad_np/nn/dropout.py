"""`Dropout`: inverted dropout in training, the identity in eval mode."""
from __future__ import annotations

from ..tensor import Tensor
from .functional import dropout
from .module import Module


class Dropout(Module):
    """Zero each element with probability p (global generator: `tg.manual_seed`) and scale the kept ones
    by 1/(1 − p), so eval mode needs no rescaling."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be between 0 and 1, got {p!r}")
        self.p, self.inplace = float(p), inplace

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
