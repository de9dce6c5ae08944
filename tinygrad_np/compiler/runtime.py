"""The few helpers a generated step calls: each does what the eager engine does at that point.

They are named in the generated source (`_ctx`, `run_node`, `_fit`, `_set_grad`, ...), so a reader
of a program can look them up here; every one mirrors one line of autograd.py or optimizer.py.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import fit_gradient, run_node
from ..tensor import Tensor

_new = object.__new__
_make = Tensor._make


class Retrace(Exception):
    """Raised by a program's guard, before it changes anything: the step must be traced again."""


def _ctx(op: type, needs: tuple, record: bool, out_meta: tuple) -> Any:
    """A fresh node for a library or user Function, as Function.apply makes one; `parents` only stands in
    for the inputs' count, which is all autograd.run_node reads of it."""
    ctx = _new(op)
    ctx.needs_input_grad = needs
    ctx._record = record
    ctx.parents = needs
    if len(out_meta) > 1:
        ctx.n_outputs = len(out_meta)
        ctx._out_meta = list(out_meta)
    return ctx


def _arr(out: Any) -> np.ndarray:
    return out if type(out) is np.ndarray else np.asarray(out)


def _arrs(outs: tuple) -> tuple:
    return tuple(o if type(o) is np.ndarray else np.asarray(o) for o in outs)


class _Shape:
    """Stands in for a parent Tensor in fit_gradient (it reads only `._data.shape/.dtype`)."""
    __slots__ = ("_data",)

    def __init__(self, shape: tuple, dtype: Any) -> None:
        self._data = np.empty(shape, dtype)


def _fit(grad: Any, like: "_Shape", node_name: Any, index: int) -> Any:
    """autograd.fit_gradient, for a gradient whose shape is only known at replay (None stays None)."""
    if grad is None:
        return None
    return fit_gradient(grad, like, node_name, index)


def _nz(grad: Any, shape: tuple, dtype: Any) -> np.ndarray:
    """A gradient that may be None (a Function returned None) as zeros, for an op written out in NumPy."""
    return np.zeros(shape, dtype) if grad is None else grad


def _acc(a: Any, b: Any) -> Any:
    """send_gradient's sum, when either side may be None."""
    if a is None:
        return b
    return a if b is None else a + b


def _set_grad(tensor: Tensor, g: Any, private: bool) -> None:
    """store_leaf_grads for one leaf: keep `g` as `.grad` (copied unless it is private), or add to it."""
    if g is None:
        return
    if tensor.grad is None:
        if not private and (g.base is not None or not g.flags.writeable):
            g = g.copy()
        tensor.grad = _make(g, False, None)
    else:
        tensor.grad._data = tensor.grad._data + g


def _check_targets(t: np.ndarray, classes: int, ignore_index: int, op: str) -> None:
    """The check nn.functional makes of class targets, for every replayed batch: each a class in
    [0, classes), none equal to ignore_index (a compiled step has no ignored rows). Viewed as unsigned,
    a negative target is huge, so one reduction checks both ends."""
    if t.size and (t.view(np.uint64 if t.itemsize == 8 else f"u{t.itemsize}").max() >= classes
                   or (0 <= ignore_index < classes and (t == ignore_index).any())):
        lo, hi = int(t.min()), int(t.max())
        if lo <= ignore_index <= hi and (t == ignore_index).any():
            raise ValueError(f"{op}: this batch holds targets equal to ignore_index={ignore_index}, which a compiled "
                             "step does not support; call the step's function eagerly for such batches")
        raise ValueError(f"{op}: target holds class {lo if lo < 0 else hi}, outside [0, {classes}) for input "
                         f"with {classes} classes")


def _opt_state(opt: Any, p: Tensor, group: dict) -> dict:
    """The optimizer's state of `p`, made as Optimizer.step makes it on first use."""
    state = opt.state.get(p)
    if state is None:
        state = opt.state[p] = opt._init_state(p, group)
    return state


def _out(a: np.ndarray, private: bool) -> Tensor:
    """A returned array as a Tensor of its own (a buffer is copied: the next replay overwrites it)."""
    return _make(a if private else a.copy(), False, None)


HELPERS = {name: obj for name, obj in globals().items() if name.startswith("_") and callable(obj)
           and not name.startswith("__") and name not in ("_new", "_make")}
HELPERS.update(Retrace=Retrace, np=np, Tensor=Tensor, _make=_make, run_node=run_node)
