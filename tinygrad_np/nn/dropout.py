"""`Dropout`: inverted dropout in training, the identity in eval mode."""
from __future__ import annotations

from .. import _validate
from ..tensor import Tensor
from .functional import dropout
from .module import Module


class Dropout(Module):
    """Zero each element with probability p (global generator: `tg.manual_seed`) and scale the kept ones
    by 1/(1 − p), so eval mode needs no rescaling."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p, self.inplace = _validate.probability(p, "Dropout"), inplace

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
