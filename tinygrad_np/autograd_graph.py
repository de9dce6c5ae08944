"""Gradients as Tensors: `tg.autograd.grad` and `backward(create_graph=True)`.

The plain `loss.backward()` walks the graph on ndarrays (autograd.run_backward, the fast path). This
module walks the same graph in the same order (count consumers, run a node once all its consumers
ran, send gradients) but for several roots, optionally returning the gradients of chosen `inputs`
instead of accumulating `.grad`, and, with `create_graph=True`, with Tensor gradients: each node's
`backward_graph` runs under grad mode, so the backward pass is itself recorded and can be
differentiated again (Hessian-vector products, gradient penalties, gradgradcheck).
A node without `backward_graph` (a user's first-order Function) still runs its ndarray backward; its
result is wrapped in `FirstOrderOnly`, which raises if anyone differentiates through it.
"""
from __future__ import annotations

import contextlib
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import autograd
from .autograd import add_to_total, broadcast_axes, count_consumers, pass_on, send_gradient
from .grad_mode import enable_grad
from .ops.higher import FirstOrderOnly
from .tensor import Tensor

# set by tinygrad_np.anomaly when on: "check" is called with (node, input_grads); "node" is the node whose
# backward is running, so that a NaN made by an op inside a backward_graph names that node
_anomaly: dict = {"check": None, "node": None}


def fit_gradient_tensor(grad: Any, parent: Tensor, node: Any, index: int) -> Tensor:
    """`autograd.fit_gradient` for Tensor gradients: sum broadcast axes and cast with recorded ops."""
    if not isinstance(grad, Tensor):
        grad = Tensor._make(np.asarray(grad), False, None)
    shape = parent._data.shape
    if grad._data.shape != shape:
        lead, ones = broadcast_axes(grad._data.shape, shape, type(node).__name__, index)
        if lead:
            grad = grad.sum(dim=lead)
        if ones:
            grad = grad.sum(dim=ones, keepdim=True)
    if grad._data.dtype != parent._data.dtype:
        grad = grad.to(parent._data.dtype)
    return grad


def run_node_graph(node: Any, out_grads: list) -> tuple:
    """Call `node`'s backward on Tensor gradients (its `backward_graph`), recording it."""
    if all(g is None for g in out_grads):
        return (None,) * len(node.parents)
    if node.n_outputs > 1:                  # unused outputs of a multi-output op get zeros
        out_grads = [Tensor._make(np.zeros(shape, dtype), False, None) if g is None else g
                     for g, (shape, dtype) in zip(out_grads, node._out_meta)]
    backward_graph = type(node).backward_graph
    if backward_graph is None:
        return _first_order(node, out_grads)
    grads = backward_graph(node, *out_grads)
    if type(grads) is not tuple:
        grads = (grads,)
    if len(grads) != len(node.parents):
        raise RuntimeError(f"{type(node).__name__}.backward_graph returned {len(grads)} gradients for "
                           f"{len(node.parents)} inputs")
    return grads


def _first_order(node: Any, out_grads: list) -> tuple:
    """Run an ndarray backward; tie each result to what it depends on, so differentiating it raises."""
    grads = autograd.run_node(node, [g._data for g in out_grads])
    depends = [t for t in (*out_grads, *node.parents) if isinstance(t, Tensor)]
    name = type(node).__name__
    return tuple(None if g is None else FirstOrderOnly.apply(np.asarray(g), *depends, op=name) for g in grads)


def backward_walk(roots: Sequence[Tensor], seeds: Sequence[Any], create_graph: bool, retain_graph: bool,
                  wanted: Optional[Sequence[Tensor]] = None) -> dict:
    """Propagate `seeds` (ndarrays, or Tensors when `create_graph`) from `roots`.

    Returns {id(tensor): (tensor, total gradient)}: for every leaf reached (and each retain_grad()
    tensor) when `wanted` is None, otherwise for the `wanted` tensors only (leaves or not)."""
    totals: dict = {}
    wanted_slots = {} if wanted is None else {(t.grad_fn, t._out_index): t for t in wanted if t.grad_fn is not None}
    buffers: dict = {}
    for root, seed in zip(roots, seeds):
        send_gradient(root, seed, buffers, totals)
    starts = list({id(r.grad_fn): r.grad_fn for r in roots if r.grad_fn is not None}.values())
    pending = count_consumers(*starts)
    ready = [s for s in starts if not pending[s]]
    run = run_node_graph if create_graph else autograd.run_node
    fit = fit_gradient_tensor if create_graph else autograd.fit_gradient
    check = _anomaly["check"]
    while ready:
        node = ready.pop()
        out_grads = buffers.pop(node, None) or [None] * node.n_outputs
        if node._hooks is not None:
            out_grads = autograd.run_tensor_hooks(node, out_grads)
        taps = node._retained if wanted is None else None
        for index, g in enumerate(out_grads):
            t = wanted_slots.get((node, index)) if wanted_slots else None
            if t is None and taps:
                t = taps.get(index)
            if t is not None and g is not None:
                add_to_total(totals, t, g)
        if check is not None:
            _anomaly["node"] = node
            try:
                input_grads = run(node, out_grads)
            finally:
                _anomaly["node"] = None
            check(node, input_grads)
        else:
            input_grads = run(node, out_grads)
        pass_on(node, input_grads, fit, buffers, totals, pending, ready, retain_graph)
    if wanted is not None:
        keep = {id(t) for t in wanted}
        totals = {k: v for k, v in totals.items() if k in keep}
    return totals


def _as_tuple(x: Any) -> tuple:
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _seeds(outputs: tuple, grad_outputs: Any, create_graph: bool, op: str) -> list:
    if grad_outputs is None:
        given: tuple = (None,) * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        given = (grad_outputs,)
    else:
        given = tuple(grad_outputs)
    if len(given) != len(outputs):
        raise ValueError(f"{op}: {len(given)} grad_outputs for {len(outputs)} outputs")
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, given)):
        if not isinstance(out, Tensor) or not out._requires_grad:
            raise RuntimeError(f"{op}: output {i} does not require grad and has no grad_fn")
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for one-element outputs; output {i} "
                                   f"has shape {out._data.shape}, so pass grad_outputs")
            g = np.ones(out._data.shape, out._data.dtype)
        g_arr = g._data if isinstance(g, Tensor) else np.asarray(g)
        if g_arr.shape != out._data.shape:
            raise ValueError(f"{op}: grad_outputs[{i}] has shape {g_arr.shape}, but output {i} has shape "
                             f"{out._data.shape}")
        if create_graph:
            seed = g if isinstance(g, Tensor) else Tensor._make(g_arr, False, None)
            seeds.append(seed if seed._data.dtype == out._data.dtype else seed.to(out._data.dtype))
        else:
            seeds.append(g_arr.astype(out._data.dtype, copy=False))
    return seeds


def grad(outputs: Union[Tensor, Sequence[Tensor]], inputs: Union[Tensor, Sequence[Tensor]],
         grad_outputs: Any = None, retain_graph: Optional[bool] = None, create_graph: bool = False,
         allow_unused: bool = False) -> Tuple[Optional[Tensor], ...]:
    """The gradients of `outputs` with respect to `inputs` (a tuple, one per input), as PyTorch's
    `torch.autograd.grad`: `.grad` is not touched; `grad_outputs` weights each output (default 1 for
    one-element outputs); `create_graph=True` makes the results differentiable; `retain_graph`
    defaults to `create_graph`; an input that the outputs do not depend on raises unless
    `allow_unused=True` (then its gradient is None)."""
    outs, ins = _as_tuple(outputs), _as_tuple(inputs)
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    retain = create_graph if retain_graph is None else retain_graph
    seeds = _seeds(outs, grad_outputs, create_graph, "grad")
    if create_graph:
        with enable_grad():
            totals = backward_walk(outs, seeds, True, retain, ins)
    else:
        totals = backward_walk(outs, seeds, False, retain, ins)
    result = []
    for i, t in enumerate(ins):
        found = totals.get(id(t))
        if found is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {t._data.shape}) was not used in the graph of the "
                                   "outputs; pass allow_unused=True if that is intended")
            result.append(None)
            continue
        g = found[1]
        result.append(g if isinstance(g, Tensor) else Tensor._make(_own(g, seeds), False, None))
    return tuple(result)


def _own(g: np.ndarray, seeds: list) -> np.ndarray:
    """A result array nobody else sees (not a seed, not a view, writeable)."""
    if any(g is s for s in seeds) or g.base is not None or not g.flags.writeable:
        return g.copy()
    return g


def tensor_backward_graph(self: Tensor, gradient: Any, retain_graph: Optional[bool], create_graph: bool,
                          inputs: Any) -> None:
    """`Tensor.backward` with `create_graph=True` or `inputs=`: accumulate into `.grad` (of `inputs`
    only, when given); with create_graph the new `.grad`s carry a graph."""
    retain = create_graph if retain_graph is None else retain_graph
    seeds = _seeds((self,), None if gradient is None else (gradient,), create_graph, "backward")
    wanted = None if inputs is None else _as_tuple(inputs)
    with enable_grad() if create_graph else contextlib.nullcontext():
        totals = backward_walk((self,), seeds, create_graph, retain, wanted)
        if create_graph:
            for key in list(totals):                   # hooks of leaves see Tensor gradients too
                tensor, g = totals[key]
                hooks = autograd.leaf_hooks.get(key)
                if hooks:
                    totals[key] = (tensor, autograd._call_hooks(hooks, g, Tensor._make))
            for tensor, g in totals.values():
                tensor.grad = g if tensor.grad is None else tensor.grad + g
    if not create_graph:
        autograd.store_leaf_grads(totals, seeds[0])


def install() -> None:
    """Give Tensor.backward its create_graph/inputs path (tensor.py cannot import this module)."""
    Tensor._backward_graph = tensor_backward_graph
