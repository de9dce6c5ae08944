"""`tg.autograd.functional`: vjp, jvp, jacobian, hessian, hvp, vhp with PyTorch's names, arguments,
shapes and return structure (a Tensor in gives a Tensor out; a tuple in gives tuples out).

All are built from `tg.autograd.grad`. The inputs are differentiated through detached copies unless
`create_graph=True`, in which case the results stay connected to the caller's tensors (so, e.g., a
Hessian can be differentiated again). jvp uses the double-vjp identity: u ↦ vjp(u) = Jᵀu is linear,
so ∂⟨Jᵀu, v⟩/∂u = Jv. Jacobians are built row by row with reverse mode (one backward per output
element), the "reverse-mode" strategy of PyTorch; inputs the function does not use get zeros.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .autograd_graph import grad
from .grad_mode import enable_grad
from .ops import stack
from .tensor import Tensor


def _not_strict(strict: bool, vectorize: bool, fn: str) -> None:
    if strict:
        raise NotImplementedError(f"{fn}: strict=True is not implemented (unused inputs get zeros, as strict=False)")
    if vectorize:
        raise NotImplementedError(f"{fn}: vectorize=True is not implemented; the rows are computed one by one")


def _as_tuple(x: Any, what: str, fn: str) -> tuple:
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: {what} must be a Tensor or a tuple of Tensors, got {type(t).__name__} at {i}")
    return is_tuple, items


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    """Tensors to differentiate with respect to: the caller's own (create_graph) or fresh leaves."""
    out = []
    for x in inputs:
        if x._data.dtype.kind != "f":
            raise TypeError(f"autograd.functional: inputs must be floating point, got {x._data.dtype}")
        out.append(x if create_graph and x.requires_grad else Tensor._make(x._data, True, None))
    return tuple(out)


def _zeros_for_none(grads: tuple, like: tuple) -> tuple:
    return tuple(Tensor._make(np.zeros_like(t._data), False, None) if g is None else g for g, t in zip(grads, like))


def _finish(ts: tuple, create_graph: bool) -> tuple:
    return ts if create_graph else tuple(t.detach() for t in ts)


def _grad(outs: tuple, ins: tuple, grad_outputs: Any, create_graph: bool) -> tuple:
    live = [(o, g) for o, g in zip(outs, grad_outputs if grad_outputs is not None else (None,) * len(outs))
            if o.requires_grad]
    if not live:
        return tuple(Tensor._make(np.zeros_like(t._data), False, None) for t in ins)
    gos = None if grad_outputs is None else [g for _, g in live]
    return _zeros_for_none(grad([o for o, _ in live], ins, gos, retain_graph=True, create_graph=create_graph,
                                allow_unused=True), ins)


def _call(func: Callable, ins: tuple, fn: str) -> tuple:
    with enable_grad():
        out = func(*ins)
    return _as_tuple(out, "the function's output", fn)


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), vᵀ·J): the vector-Jacobian product. `v` may be omitted for a one-element output."""
    _not_strict(strict, False, "vjp")
    in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
    ins = _prepare(ins, create_graph)
    out_tuple, outs = _call(func, ins, "vjp")
    vs = None if v is None else _as_tuple(v, "v", "vjp")[1]
    result = _grad(outs, ins, vs, create_graph)
    outs, result = _finish(outs, create_graph), _finish(result, create_graph)
    return (outs if out_tuple else outs[0]), (result if in_tuple else result[0])


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), J·v): the Jacobian-vector product. `v` may be omitted for a one-element input."""
    _not_strict(strict, False, "jvp")
    in_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
    ins = _prepare(ins, create_graph)
    if v is None:
        if any(t._data.size != 1 for t in ins):
            raise RuntimeError("jvp: v can be omitted only when every input has one element")
        vs = tuple(Tensor._make(np.ones_like(t._data), False, None) for t in ins)
    else:
        vs = _as_tuple(v, "v", "jvp")[1]
    out_tuple, outs = _call(func, ins, "jvp")
    with enable_grad():
        us = tuple(Tensor._make(np.zeros_like(o._data), True, None) for o in outs)
        jt_u = _grad(outs, ins, us, create_graph=True)                  # Jᵀu, linear in u
        live = [(g, w) for g, w in zip(jt_u, vs) if g.requires_grad]
        if live:
            result = _zeros_for_none(grad([g for g, _ in live], us, [w for _, w in live], retain_graph=True,
                                          create_graph=create_graph, allow_unused=True), us)
        else:
            result = tuple(Tensor._make(np.zeros_like(o._data), False, None) for o in outs)
    outs, result = _finish(outs, create_graph), _finish(result, create_graph)
    return (outs if out_tuple else outs[0]), (result if out_tuple else result[0])


def _stack_rows(rows: list, out_shape: tuple, in_shape: tuple, create_graph: bool) -> Tensor:
    if not rows:
        return Tensor._make(np.zeros(out_shape + in_shape), False, None)
    if create_graph:
        return stack(rows).reshape(out_shape + in_shape)
    return Tensor._make(np.stack([r._data for r in rows]).reshape(out_shape + in_shape), False, None)


def _jacobian(func: Callable, ins: tuple, create_graph: bool, fn: str) -> tuple:
    """((J[out k][in j] for j) for k), each of shape out_k.shape + in_j.shape."""
    _, outs = _call(func, ins, fn)
    table = []
    for out in outs:
        rows: list = [[] for _ in ins]
        for i in range(out._data.size):
            seed = np.zeros(out._data.shape, out._data.dtype)
            seed.reshape(-1)[i] = 1
            grads = _grad((out,), ins, (Tensor._make(seed, False, None),), create_graph)
            for j, g in enumerate(grads):
                rows[j].append(g)
        table.append(tuple(_stack_rows(rows[j], out._data.shape, x._data.shape, create_graph)
                           for j, x in enumerate(ins)))
    return tuple(table)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of `func` at `inputs`: shape output.shape + input.shape; a tuple per input when
    `inputs` is a tuple, and a tuple per output when `func` returns one (PyTorch's nesting)."""
    _not_strict(strict, vectorize, "jacobian")
    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: only strategy='reverse-mode' is implemented, got {strategy!r}")
    in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
    ins = _prepare(ins, create_graph)
    with enable_grad():
        out_tuple, _ = _as_tuple(func(*ins), "the function's output", "jacobian")
    table = _jacobian(func, ins, create_graph, "jacobian")
    rows = [row if in_tuple else row[0] for row in table]
    return tuple(rows) if out_tuple else rows[0]


def _gradient_of(func: Callable, fn: str) -> Callable:
    def gradient(*ins: Tensor) -> tuple:
        _, outs = _call(func, ins, fn)
        if len(outs) != 1 or outs[0]._data.size != 1:
            raise RuntimeError(f"{fn}: the function must return a single one-element Tensor, got "
                               f"{[tuple(o.shape) for o in outs]}")
        return _grad(outs, ins, None, create_graph=True)
    return gradient


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar `func`: shape input.shape + input.shape; for a tuple of inputs, a tuple of
    tuples H[i][j] of shape input_i.shape + input_j.shape."""
    _not_strict(strict, vectorize, "hessian")
    if outer_jacobian_strategy != "reverse-mode":
        raise ValueError(f"hessian: only outer_jacobian_strategy='reverse-mode' is implemented, got "
                         f"{outer_jacobian_strategy!r}")
    in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")
    ins = _prepare(ins, create_graph)
    table = _jacobian(_gradient_of(func, "hessian"), ins, create_graph, "hessian")
    return table if in_tuple else table[0][0]


def vhp(func: Callable, inputs: Any, v: Optional[Any] = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), vᵀ·H) for a scalar `func`."""
    _not_strict(strict, False, "vhp")
    in_tuple, ins = _as_tuple(inputs, "inputs", "vhp")
    ins = _prepare(ins, create_graph)
    vs = _as_tuple(v, "v", "vhp")[1] if v is not None else None
    if vs is None and any(t._data.size != 1 for t in ins):
        raise RuntimeError("vhp: v can be omitted only when every input has one element")
    with enable_grad():
        _, outs = _call(func, ins, "vhp")
        grads = _gradient_of(lambda *a: outs[0], "vhp")(*ins)
        vs = vs or tuple(Tensor._make(np.ones_like(t._data), False, None) for t in ins)
        live = [(g, w) for g, w in zip(grads, vs) if g.requires_grad]
        result = _grad(tuple(g for g, _ in live), ins, tuple(w for _, w in live), create_graph) if live \
            else tuple(Tensor._make(np.zeros_like(t._data), False, None) for t in ins)
    outs, result = _finish(outs, create_graph), _finish(result, create_graph)
    return outs[0], (result if in_tuple else result[0])


def hvp(func: Callable, inputs: Any, v: Optional[Any] = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), H·v) for a scalar `func` (H is symmetric, so this equals vᵀH)."""
    return vhp(func, inputs, v, create_graph, strict)
