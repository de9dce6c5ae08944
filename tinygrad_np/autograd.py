"""The backward walk: one iterative pass over the recorded graph.

Nodes are `Function` instances (ctx objects). Discovery counts, for every node, how many gradient
edges flow into it; a node runs its backward only when all of its consumers have run (Kahn's order),
so each node is called exactly once, with the full gradient of each of its outputs. No recursion:
a chain of 100,000 ops walks like a chain of 3.

This is also the one place that undoes NumPy broadcasting (`sum_to_shape`) and checks the shape and
dtype of every gradient an op returns, naming the op when it is wrong.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .function import Function

_ndarray = np.ndarray


def sum_to_shape(grad: np.ndarray, shape: tuple, op_name: str = "op", input_index: int = 0) -> np.ndarray:
    """Sum a gradient of a broadcast result back to the shape of the input that was broadcast.

    Leading axes that broadcasting added are summed away; axes where the input had size 1 are
    summed with keepdims. Anything else is a wrong gradient and raises, naming the op.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0 or any(s != 1 and g != s for s, g in zip(shape, grad.shape[lead:])):
        raise ValueError(f"{op_name}.backward: gradient for input {input_index} has shape {grad.shape}, "
                         f"which does not match or broadcast to the input's shape {shape}")
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    ones = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)
    return grad


def _fit(grad: Any, parent: "Tensor", node: "Function", index: int) -> np.ndarray:
    if type(grad) is not _ndarray:
        grad = np.asarray(grad)
    data = parent.data
    if grad.shape != data.shape:
        grad = sum_to_shape(grad, data.shape, type(node).__name__, index)
    if grad.dtype != data.dtype:
        if grad.dtype.kind not in "fiub":
            raise TypeError(f"{type(node).__name__}.backward: gradient for input {index} has dtype "
                            f"{grad.dtype}, expected {data.dtype}")
        grad = grad.astype(data.dtype)
    return grad


def _freed_error(node: "Function") -> RuntimeError:
    return RuntimeError(
        f"backward: the graph through {type(node).__name__} was already freed by an earlier backward(); "
        "pass retain_graph=True to the first backward() to go through the graph twice")


def run_backward(root: "Tensor", grad: np.ndarray, retain_graph: bool) -> None:
    """Propagate `grad` (already shaped and typed like `root`) from `root` to every leaf."""
    start = root.grad_fn
    if start is None:
        _store_leaf_grads({id(root): (root, grad)}, grad)
        return
    # discovery: count incoming gradient edges per node; refuse a freed graph before touching anything
    if start.parents is None:
        raise _freed_error(start)
    pending = {start: 0}
    stack = [start]
    push = stack.append
    while stack:
        node = stack.pop()
        for parent, need in zip(node.parents, node.needs_input_grad):
            if need:
                fn = parent.grad_fn
                if fn is None:
                    continue
                if fn in pending:
                    pending[fn] += 1
                else:
                    if fn.parents is None:
                        raise _freed_error(fn)
                    pending[fn] = 1
                    push(fn)

    buffers: dict = {start: [None] * start.n_outputs}
    buffers[start][root._out_index] = grad
    leaf_grads: dict = {}
    ready = [start]
    push = ready.append
    while ready:
        node = ready.pop()
        grads = buffers.pop(node)
        if node._retained:
            for idx, t in node._retained.items():
                if grads[idx] is not None:
                    prev = leaf_grads.get(id(t))
                    leaf_grads[id(t)] = (t, grads[idx] if prev is None else prev[1] + grads[idx])
        parents = node.parents
        if node.n_outputs == 1:
            input_grads: Any = None if grads[0] is None else type(node).backward(node, grads[0])
        elif all(g is None for g in grads):
            input_grads = None
        else:
            input_grads = type(node).backward(
                node, *[np.zeros(s, d) if g is None else g for g, (s, d) in zip(grads, node._out_meta)])
        if input_grads is None:
            input_grads = (None,) * len(parents)
        elif type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if len(input_grads) != len(parents):
            raise RuntimeError(f"{type(node).__name__}.backward returned {len(input_grads)} gradients "
                               f"for {len(parents)} inputs")
        if not retain_graph:
            node.parents = None
            node.saved_tensors = None
        i = -1
        for parent, g, need in zip(parents, input_grads, node.needs_input_grad):
            i += 1
            if not need:
                continue
            fn = parent.grad_fn
            if g is not None:
                data = parent.data
                if type(g) is not _ndarray or g.shape != data.shape or g.dtype != data.dtype:
                    g = _fit(g, parent, node, i)
                if fn is None:
                    key = id(parent)
                    prev = leaf_grads.get(key)
                    leaf_grads[key] = (parent, g if prev is None else prev[1] + g)
                else:
                    buf = buffers.get(fn)
                    if buf is None:
                        buf = buffers[fn] = [None] * fn.n_outputs
                    k = parent._out_index
                    buf[k] = g if buf[k] is None else buf[k] + g
            if fn is not None:
                left = pending[fn] - 1
                pending[fn] = left
                if not left:
                    push(fn)
    _store_leaf_grads(leaf_grads, grad)


def _store_leaf_grads(leaf_grads: dict, seed: np.ndarray) -> None:
    """Accumulate into `.grad`. A gradient array is stored without a copy only when nothing else can
    see it (not a view, not read-only, not shared with another leaf or the caller's seed)."""
    seen: set = set()
    for tensor, g in leaf_grads.values():
        if tensor.grad is None:
            if g is seed or g.base is not None or id(g) in seen or not g.flags.writeable:
                g = g.copy()
            tensor.grad = _make(g, False, None)
        else:
            tensor.grad.data = tensor.grad.data + g
        seen.add(id(g))


from .tensor import Tensor  # noqa: E402  (autograd is first imported by Tensor.backward, after tensor.py)
_make = Tensor._make


def zero_grad(params: Any, set_to_none: bool = True) -> None:
    """Forget the gradients of `params` (`.grad = None`; with set_to_none=False, fresh zeros), the one
    rule behind `Module.zero_grad` and `Optimizer.zero_grad`."""
    for p in params:
        if p.grad is not None:
            p.grad = None if set_to_none else _make(np.zeros_like(p.data), False, None)
