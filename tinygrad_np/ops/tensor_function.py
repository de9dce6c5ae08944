"""`TensorFunction`: a custom op written PyTorch's way — forward and backward take and return Tensors.

`tg.Function` hands forward/backward plain ndarrays (the NumPy view of the chain rule). A PyTorch script's
`torch.autograd.Function` subclass instead calls Tensor methods inside them (`input.clamp(min=0)`,
`grad_output.clone()`), so `python -m tinygrad_np.as_torch` maps `torch.autograd.Function` here. The
user's class never becomes a graph node itself: `apply` runs a small node class made once per user class,
which wraps the arrays into Tensors (no graph is recorded inside, as in PyTorch) and unwraps the results.
"""
from __future__ import annotations

from typing import Any

from ..function import Function
from ..grad_mode import no_grad
from ..tensor import Tensor

_make = Tensor._make


def _wrap(a: Any) -> Any:
    return _make(a, False, None) if type(a).__module__ == "numpy" and hasattr(a, "dtype") else a


def _unwrap(t: Any) -> Any:
    return t._data if isinstance(t, Tensor) else t


class _Node(Function):
    """The graph node behind one TensorFunction subclass (`user`); it is also the user's `ctx`."""

    user: Any = None

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep Tensors for backward (their arrays, so the version check sees them)."""
        Function.save_for_backward(self, *(_unwrap(t) for t in tensors))

    @property
    def saved_variables(self) -> tuple:
        return tuple(_wrap(a) for a in self.saved_tensors)

    def mark_non_differentiable(self, *tensors: Any) -> None:
        raise NotImplementedError("ctx.mark_non_differentiable is not supported by tinygrad_np")

    def set_materialize_grads(self, value: bool) -> None:
        if not value:
            raise NotImplementedError("ctx.set_materialize_grads(False) is not supported by tinygrad_np "
                                      "(unused outputs always receive zero gradients)")

    @staticmethod
    def forward(ctx: Any, *arrays: Any, **kwargs: Any) -> Any:
        with no_grad():
            out = ctx.user.forward(ctx, *(_wrap(a) for a in arrays), **kwargs)
        return tuple(_unwrap(o) for o in out) if isinstance(out, tuple) else _unwrap(out)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        saved = ctx.saved_tensors
        ctx.saved_tensors = tuple(_wrap(a) for a in saved)   # the user's backward reads Tensors
        try:
            with no_grad():
                out = ctx.user.backward(ctx, *(_wrap(g) for g in grads))
        finally:
            ctx.saved_tensors = saved
        return tuple(_unwrap(g) for g in out) if isinstance(out, tuple) else _unwrap(out)


class TensorFunction:
    """Base class of a PyTorch-style custom op: `forward(ctx, *tensors)` and `backward(ctx, *grads)` on
    Tensors; call it as `MyOp.apply(*tensors)`."""

    _node: Any = None

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        node = cls.__dict__.get("_node")
        if node is None:
            node = type(cls.__name__, (_Node,), {"user": cls, "__module__": cls.__module__})
            cls._node = node
        return node.apply(*args, **kwargs)
