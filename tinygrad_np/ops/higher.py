"""Functions that only the higher-order machinery creates.

- `FirstOrderOnly` wraps a gradient that a first-order op (ndarray `backward`, no `backward_graph`)
  produced under `create_graph=True`: it depends on the op's inputs and upstream gradients, so a
  second differentiation reaches it, and then it refuses clearly instead of silently returning zero.
"""
from __future__ import annotations

from ..function import Function


class FirstOrderOnly(Function):
    @staticmethod
    def forward(ctx, value, *depends_on, op="Function"):
        ctx.op = op
        return value

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            f"{ctx.op} is first order only: its backward works on ndarrays, so the gradient it produced "
            f"cannot be differentiated again. Give {ctx.op} a `backward_graph(ctx, *grads)` written with "
            "Tensor operations on ctx.parents (docs/higher-order.md shows how)")
