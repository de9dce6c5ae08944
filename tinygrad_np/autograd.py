"""The backward walk: one iterative pass over the recorded graph, in three named steps.

1. `count_consumers`: from the root, count for every node how many gradient edges flow into it;
   a graph freed by an earlier backward is refused here, before anything changes.
2. `run_node`: call one node's backward with the full gradient of each of its outputs.
3. `send_gradient`: fit each returned gradient to its input (`fit_gradient`: undo broadcasting,
   check shape and dtype, naming the op) and add it to the input's node, or to the leaf's total.
A node runs once all of its consumers have run (Kahn's order), so it is called exactly once; no
recursion, so a chain of 100,000 ops walks like a chain of 3. Leaf totals reach `.grad` at the end.

Before a node's backward runs, arrays it saved are checked against in-place modification (versions.py),
but only if any in-place op ran since they were saved. The Tensors it meets bring their own `_make`.
"""
from __future__ import annotations

from typing import Any, Dict, List

import threading

import numpy as np

from .dtypes import quiet

from .versions import check_saved, clock

_ndarray = np.ndarray
_leaf_lock = threading.Lock()    # backward in several threads into one shared leaf must not lose updates


def sum_to_shape(grad: np.ndarray, shape: tuple, op_name: str = "op", input_index: int = 0) -> np.ndarray:
    """Sum a gradient of a broadcast result back to the shape of the input that was broadcast.

    Leading axes that broadcasting added are summed away; axes where the input had size 1 are
    summed with keepdims. Anything else is a wrong gradient and raises, naming the op.
    """
    if grad.shape == shape:
        return grad
    lead, ones = broadcast_axes(grad.shape, shape, op_name, input_index)
    with quiet():                            # inf + -inf = nan, silently (PyTorch); np.errstate costs 1-3 µs
        if lead:
            grad = grad.sum(axis=lead)
        if ones:
            grad = grad.sum(axis=ones, keepdims=True)
    return grad


def broadcast_axes(grad_shape: tuple, shape: tuple, op_name: str, input_index: int) -> tuple:
    """(leading axes to sum away, then axes to sum with keepdims) that take `grad_shape` to `shape`."""
    lead = len(grad_shape) - len(shape)
    if lead < 0 or any(s != 1 and g != s for s, g in zip(shape, grad_shape[lead:])):
        raise ValueError(f"{op_name}.backward: gradient for input {input_index} has shape {grad_shape}, "
                         f"which does not match or broadcast to the input's shape {shape}")
    ones = tuple(i for i, s in enumerate(shape) if s == 1 and grad_shape[lead + i] != 1)
    return tuple(range(lead)), ones


def fit_gradient(grad: Any, parent: Any, node: Any, index: int) -> np.ndarray:
    """The gradient an op returned for input `index`, as an ndarray of that input's shape and dtype."""
    data = parent._data
    grad = np.asarray(grad)
    if grad.shape != data.shape:
        grad = sum_to_shape(grad, data.shape, type(node).__name__, index)
    if grad.dtype != data.dtype:
        if grad.dtype.kind not in "fiub":
            raise TypeError(f"{type(node).__name__}.backward: gradient for input {index} has dtype "
                            f"{grad.dtype}, expected {data.dtype}")
        grad = grad.astype(data.dtype)
    return grad


def _freed_error(node: Any) -> RuntimeError:
    return RuntimeError(
        f"backward: the graph through {type(node).__name__} was already freed by an earlier backward(); "
        "pass retain_graph=True to the first backward() to go through the graph twice")


def count_consumers(*starts: Any) -> Dict[Any, int]:
    """{node: number of gradient edges into it} for every node reachable from the `starts`."""
    pending = {}
    for start in starts:
        if start.parents is None:
            raise _freed_error(start)
        pending[start] = 0
    stack = list(pending)
    while stack:
        node = stack.pop()
        for parent, need in zip(node.parents, node.needs_input_grad):
            fn = parent.grad_fn if need else None
            if fn is None:
                continue
            if fn in pending:
                pending[fn] += 1
            else:
                if fn.parents is None:
                    raise _freed_error(fn)
                pending[fn] = 1
                stack.append(fn)
    return pending


def run_node(node: Any, out_grads: List[Any]) -> tuple:
    """Call `node`'s backward; returns one gradient (or None) per input of the node."""
    if node._saved_at < clock[0]:            # something was modified in place since this node saved arrays
        check_saved(node)
    if node.n_outputs == 1:
        grads = None if out_grads[0] is None else type(node).backward(node, out_grads[0])
    elif all(g is None for g in out_grads):
        grads = None
    else:                                    # unused outputs of a multi-output op get zeros
        grads = type(node).backward(node, *[np.zeros(shape, dtype) if g is None else g
                                            for g, (shape, dtype) in zip(out_grads, node._out_meta)])
    n_inputs = len(node.parents)
    if grads is None:
        return (None,) * n_inputs
    if type(grads) is not tuple:
        grads = (grads,)
    if len(grads) != n_inputs:
        raise RuntimeError(f"{type(node).__name__}.backward returned {len(grads)} gradients for {n_inputs} inputs")
    return grads


def send_gradient(parent: Any, grad: np.ndarray, buffers: dict, leaf_grads: dict) -> None:
    """Add `grad` to what `parent` has received so far: its node's output slot, or its leaf total."""
    fn = parent.grad_fn
    if fn is None:                           # add_to_total, inline: one call less per leaf edge
        key = id(parent)
        prev = leaf_grads.get(key)
        leaf_grads[key] = (parent, grad if prev is None else prev[1] + grad)
        return
    slots = buffers.get(fn)
    if slots is None:
        slots = buffers[fn] = [None] * fn.n_outputs
    k = parent._out_index
    slots[k] = grad if slots[k] is None else slots[k] + grad


def add_to_total(totals: dict, tensor: Any, grad: np.ndarray) -> None:
    """Sum `grad` into the total gathered for `tensor` (keyed by identity: Tensors compare elementwise)."""
    prev = totals.get(id(tensor))
    totals[id(tensor)] = (tensor, grad if prev is None else prev[1] + grad)


def run_backward(root: Any, grad: np.ndarray, retain_graph: bool) -> None:
    """Propagate `grad` (already shaped and typed like `root`) from `root` to every leaf."""
    leaf_grads: dict = {}
    start = root.grad_fn
    if start is None:
        leaf_grads[id(root)] = (root, grad)
        return store_leaf_grads(leaf_grads, grad)
    pending = count_consumers(start)
    buffers: dict = {start: [None] * start.n_outputs}
    buffers[start][root._out_index] = grad
    ready = [start]
    while ready:
        node = ready.pop()
        out_grads = buffers.pop(node, None) or [None] * node.n_outputs   # None: its consumers sent nothing
        if node._hooks is not None:
            out_grads = run_tensor_hooks(node, out_grads)
        if node._retained:
            for index, ref in node._retained.items():
                t = ref()                            # a weak reference: None once the tensor is gone
                if t is not None and out_grads[index] is not None:   # its total, stored like a leaf's
                    add_to_total(leaf_grads, t, out_grads[index])
        pass_on(node, run_node(node, out_grads), fit_gradient, buffers, leaf_grads, pending, ready, retain_graph)
    store_leaf_grads(leaf_grads, grad)


def pass_on(node: Any, input_grads: tuple, fit: Any, buffers: dict, totals: dict, pending: dict, ready: list,
            retain_graph: bool) -> None:
    """After `node` ran: free it (unless retained), send each fitted gradient on, and mark the
    parents' nodes whose consumers have now all run as ready."""
    parents, needs = node.parents, node.needs_input_grad
    if not retain_graph:
        node.parents = node.saved_tensors = None
    for index, (parent, g, need) in enumerate(zip(parents, input_grads, needs)):
        if not need:
            continue
        if g is not None:
            data = parent._data              # checked inline: most gradients already fit (saves a call per edge);
            # `is not` on dtypes: NumPy's builtin dtypes are singletons, and fit() also handles equal non-identical ones
            if type(g) is not _ndarray or g.shape != data.shape or g.dtype is not data.dtype:
                g = fit(g, parent, node, index)
            send_gradient(parent, g, buffers, totals)
        fn = parent.grad_fn
        if fn is not None:
            left = pending[fn] - 1
            pending[fn] = left
            if not left:
                ready.append(fn)


def store_leaf_grads(leaf_grads: dict, seed: np.ndarray) -> None:
    """Accumulate into `.grad`. A gradient array is stored without a copy only when nothing else can
    see it (not a view, not read-only, not shared with another leaf or the caller's seed).
    One lock around the whole store (taken once per backward): the read-add-write of `.grad` is atomic,
    as in PyTorch, when threads run backward into the same parameters."""
    seen: set = set()
    if leaf_hooks:
        run_leaf_hooks(leaf_grads)
    with _leaf_lock:                             # concurrent backwards into one leaf must not lose updates
        for tensor, g in leaf_grads.values():
            if tensor.grad is None:
                if type(g) is not _ndarray:      # a NumPy scalar (0-d reductions): .grad must be a writable array
                    g = np.array(g)
                elif g is seed or g.base is not None or id(g) in seen or not g.flags.writeable:
                    g = g.copy()
                tensor.grad = tensor._make(g, False, None)
            else:
                tensor.grad._data = np.asarray(tensor.grad._data + g)
            seen.add(id(g))


def zero_grad(params: Any, set_to_none: bool = True) -> None:
    """Forget the gradients of `params` (`.grad = None`; with set_to_none=False, fresh zeros), the one
    rule behind `Module.zero_grad` and `Optimizer.zero_grad`."""
    for p in params:
        if p.grad is not None:
            p.grad = None if set_to_none else p._make(np.zeros_like(p._data), False, None)


# ---- hooks (Tensor.register_hook): the walk calls these only where a hook was registered ----------------
leaf_hooks: Dict[int, list] = {}     # id(leaf tensor) -> [fn]; an entry leaves with its tensor (weakref.finalize)


def _call_hooks(hooks: list, grad: Any, make: Any) -> Any:
    """Run hooks in registration order; each sees the Tensor gradient and may return a replacement."""
    wrapped = grad if not isinstance(grad, _ndarray) else make(grad, False, None)
    for fn in hooks:
        new = fn(wrapped)
        if new is not None:
            if new.shape != wrapped.shape:
                raise RuntimeError(f"hook {getattr(fn, '__name__', fn)!r} returned a gradient of shape "
                                   f"{tuple(new.shape)}, expected {tuple(wrapped.shape)}")
            wrapped = new
    return wrapped._data if isinstance(grad, _ndarray) else wrapped


def run_tensor_hooks(node: Any, out_grads: list) -> list:
    """The hooks of a non-leaf tensor (stored on its node, per output index) on its total gradient."""
    out_grads = list(out_grads)
    for index, (make, hooks) in node._hooks.items():
        if out_grads[index] is not None and hooks:
            out_grads[index] = _call_hooks(hooks, out_grads[index], make)
    return out_grads


def run_leaf_hooks(leaf_grads: dict) -> None:
    for key, (tensor, g) in list(leaf_grads.items()):
        hooks = leaf_hooks.get(key)
        if hooks:
            leaf_grads[key] = (tensor, _call_hooks(hooks, g, tensor._make))


class RemovableHandle:
    """What every `register_*hook` returns: `.remove()` takes the hook out again (twice is harmless)."""

    def __init__(self, hooks: Any, key: Any) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        if isinstance(self._hooks, dict):
            self._hooks.pop(self._key, None)
        elif self._key in self._hooks:
            self._hooks.remove(self._key)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
