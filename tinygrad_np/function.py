"""`Function`: the one way an op enters the graph, for built-in ops and users' own alike.

A subclass writes `forward(ctx, *arrays, **kwargs)` and `backward(ctx, *grads)` on plain ndarrays.
`apply` runs forward on the inputs' arrays and, when recording, makes the Function instance itself
the graph node (the `ctx`): it keeps the input Tensors (`parents`) and whatever forward saved.
The backward walk (autograd.py) reduces broadcast gradients and checks shapes centrally,
so no op ever has to undo NumPy broadcasting itself.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .grad_mode import _state, _threads_off
from .tensor import Tensor
from .versions import clock

_ndarray = np.ndarray
_new = object.__new__
_make = Tensor._make


class Function:
    """Base class of every differentiable op. Subclass it and call `MyOp.apply(*tensors, **kwargs)`.

    Positional arguments may be Tensors or constants (Python scalars, ndarrays, None); constants reach
    forward unchanged and get no gradient. `backward` returns one gradient (or None) per positional
    argument; a gradient may have the broadcast shape, the engine sums it back to the input's shape.
    """

    __slots__ = ("parents", "needs_input_grad", "saved_tensors", "_record")
    saved_tensors: tuple
    n_outputs = 1          # class defaults: a multi-output node overrides them on the instance
    _retained = None       # {output index: weakref to the Tensor} for tensors that called retain_grad()
    _hooks = None          # {output index: (Tensor._make, [hook])} for tensors that called register_hook()
    # Optional: `backward_graph(ctx, *grad_tensors)` writes backward with Tensor ops on `ctx.parents` (the
    # inputs); `backward(create_graph=True)` and `tg.autograd.grad(create_graph=True)` call it so that the
    # gradient is itself differentiable. Without it an op is first order (see docs/higher-order.md).
    backward_graph = None
    _out_meta: list
    _saved_at = 1 << 62    # the version clock when forward saved arrays (versions.py); never checked if unset

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays for backward; a no-op when nothing is being recorded (under no_grad). Records the
        version clock, so backward can refuse an array modified in place since (versions.py)."""
        self.saved_tensors = arrays if self._record else ()
        self._saved_at = clock[0]

    @staticmethod
    def forward(ctx: "Function", *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: "Function", *grads: np.ndarray) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run forward on the arrays of `args`; record the node when grad mode is on and any input
        requires grad. Returns a Tensor, or a tuple of Tensors when forward returns a tuple."""
        ctx = _new(cls)
        if len(args) == 2:       # binary ops, most calls: inline unwrap, 19% fewer instructions per a + b than _unwrap
            x, y = args
            x_is, y_is = isinstance(x, Tensor), isinstance(y, Tensor)
            arrays = (x._data if x_is else x, y._data if y_is else y)
            needs = (x_is and x._requires_grad, y_is and y._requires_grad)
        elif len(args) == 1:     # unary ops and reductions (exp, relu, sum): no lists to build, as above
            x, = args
            if isinstance(x, Tensor):
                arrays, needs = (x._data,), (x._requires_grad,)
            else:
                arrays, needs = args, (False,)
        else:
            arrays, needs = _unwrap(args)
        ctx.needs_input_grad = needs
        ctx._record = record = True in needs and (not _threads_off[0] or _state.enabled)
        out = cls.forward(ctx, *arrays, **kwargs)
        if type(out) is tuple:
            return _wrap_outputs(ctx, out, args, record)
        if type(out) is not _ndarray:
            out = np.asarray(out)
        if record and out.dtype.kind == "f":
            ctx.parents = args
            return _make(out, True, ctx)
        return _make(out, False, None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple:
        """((node, output index), ...) per input, as PyTorch's grad_fn.next_functions: the input's grad_fn,
        an `AccumulateGrad` for a leaf that requires grad, or (None, 0)."""
        if self.parents is None:
            raise RuntimeError(f"next_functions: the graph through {type(self).__name__} was freed by backward()")
        out = []
        for p, need in zip(self.parents, self.needs_input_grad):
            if not need:
                out.append((None, 0))
            elif p.grad_fn is not None:
                out.append((p.grad_fn, p._out_index))
            else:
                out.append((AccumulateGrad(p), 0))
        return tuple(out)


class AccumulateGrad:
    """The graph's view of a leaf that requires grad (`.variable` is the leaf), as in PyTorch."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable
        self.next_functions = ()

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _unwrap(args: tuple) -> tuple:
    """(arrays, needs_input_grad): each Tensor's ndarray and requires_grad; constants pass through
    unchanged and need no gradient."""
    arrays, needs = [], []
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a._data)
            needs.append(a._requires_grad)
        else:
            arrays.append(a)
            needs.append(False)
    return arrays, tuple(needs)


def _wrap_outputs(ctx: Function, outs: tuple, args: tuple, record: bool) -> tuple:
    """Several outputs share one node; only float outputs are differentiable (indices are not)."""
    outputs = []
    for i, out in enumerate(outs):
        if type(out) is not _ndarray:
            out = np.asarray(out)
        differentiable = record and out.dtype.kind == "f"
        t = _make(out, differentiable, ctx if differentiable else None)
        t._out_index = i
        outputs.append(t)
    if record:
        ctx.parents = args
        ctx.n_outputs = len(outs)
        ctx._out_meta = [(t._data.shape, t._data.dtype) for t in outputs]
    return tuple(outputs)
