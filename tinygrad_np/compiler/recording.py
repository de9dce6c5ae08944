"""The tracer: run a step eagerly once and record what it did, as a list of events over named values
(a Trace: trace.py holds the data model, this module the recording replacements and `tracing()`).

While a trace runs (and only then) a few methods are swapped for recording ones: `Function.apply`
(every op), `Tensor.backward`, the optimizers' `step`/`zero_grad`, `Module.__call__` (names and
train/eval modes), comparisons, and every value read (`item`, `numpy`, `bool`, ...), which raise.
Eager mode never pays for any of this: outside a trace the original methods are in place.
"""
from __future__ import annotations

import contextlib
from typing import Any, Optional

import numpy as np

from .. import autograd, data, factories, grad_mode
from ..function import Function
from ..nn import init as nn_init
from ..nn import functional as nn_functional
from ..nn.batchnorm import _BatchNorm
from ..nn.module import Module
from ..ops import inplace as ops_inplace
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .trace import Node, Trace, TraceError, _active, current


_orig_apply = Function.__dict__["apply"].__func__
_orig_backward = Tensor.backward
_orig_call = Module.__call__
_orig_step = Optimizer.step
_orig_opt_zero = Optimizer.zero_grad
_orig_mod_zero = Module.zero_grad
_orig_cmp = Tensor._cmp
_orig_make = Tensor._make
_orig_init = Tensor.__init__
_orig_arg = Tensor._arg


def _traced_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
    tr = current()
    if tr is None or tr.in_op:
        return _orig_apply(cls, *args, **kwargs)
    name = cls.__name__
    inputs = [tr.resolve(a, name) for a in args]
    kw = {k: tr.resolve(v, name) for k, v in kwargs.items()}
    needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
    record = True in needs and grad_mode.is_grad_enabled()
    node = Node(cls, inputs, kw, needs, record, tr.module_prefix())
    tr.in_op += 1
    try:
        out = _orig_apply(cls, *args, **kwargs)
    finally:
        tr.in_op -= 1
    outs = out if type(out) is tuple else (out,)
    base = "loss" if cls.__module__.endswith("ops.loss") else tr.module_prefix() or name.lower().removesuffix("op")
    for i, o in enumerate(outs):
        existing = tr.values.get(id(o._data))
        if existing is not None:            # the op returned an array that already has a name (an alias)
            node.outputs.append(existing)
            continue
        node.outputs.append(tr.add_value(o._data, base if len(outs) == 1 else f"{base}_{i}", "op"))
    if record:
        tr.nodes_by_ctx[id(outs[0].grad_fn)] = node
    node.index = len(tr.events)
    tr.events.append(("op", node))
    return out


def _traced_cmp(self: Tensor, other: Any, ufunc: np.ufunc) -> Tensor:
    tr = current()
    out = _orig_cmp(self, other, ufunc)
    if tr is not None and not tr.in_op:
        a, b = tr.value_of_tensor(self), tr.resolve(other, ufunc.__name__)
        v = tr.add_value(out._data, ufunc.__name__, "op")
        tr.events.append(("ufunc", ufunc, [a, b], v))
    return out


def _traced_arg(self: Tensor, fn: Any, dim: Any, keepdim: bool) -> Tensor:
    raise TraceError(f"tg.compile: {fn.__name__} (argmax/argmin) inside a compiled step is not supported; "
                     "compute it after the step from the returned tensors")


def _traced_backward(self: Tensor, gradient: Any = None, retain_graph: bool = False) -> None:
    tr = current()
    if tr is None:
        return _orig_backward(self, gradient, retain_graph)
    if gradient is not None:
        raise TraceError("tg.compile: backward(gradient=...) inside a compiled step is not supported; "
                         "backward from a one-element loss")
    if self.grad_fn is None:
        return _orig_backward(self, gradient, retain_graph)     # raises the eager error
    plan = _plan_backward(tr, self)
    with _engine(tr):
        _orig_backward(self, gradient, retain_graph)
    tr.events.append(("backward", plan))


@contextlib.contextmanager
def _engine(tr: Optional[Trace]):
    """The engine's own `.grad` writes (recorded as backward/step/zero_grad events) pass unseen."""
    if tr is None:
        yield
        return
    tr.in_engine += 1
    try:
        yield
    finally:
        tr.in_engine -= 1


_GRAD_SLOT = Tensor.__dict__["grad"]


def _traced_set_grad(self: Tensor, value: Any) -> None:
    """`p.grad = None` by hand inside the step is recorded as zero_grad of p; any other value is refused."""
    tr = current()
    try:
        _GRAD_SLOT.__get__(self)
    except AttributeError:                     # a Tensor being constructed sets its first .grad
        return _GRAD_SLOT.__set__(self, value)
    if tr is None or tr.in_engine:
        return _GRAD_SLOT.__set__(self, value)
    if value is not None or id(self) in tr.created:
        raise TraceError("tg.compile: assigning a tensor's .grad inside a compiled step is not supported (other "
                         "than `p.grad = None` on a parameter); use optimizer.zero_grad() or do it outside the step")
    _record_zero(tr, [self], True)
    _GRAD_SLOT.__set__(self, None)


def _plan_backward(tr: Trace, root: Tensor) -> dict:
    """The order in which autograd.run_backward will visit the nodes (the same walk, on the same graph),
    and the leaves it will reach, so the generated backward adds gradients in eager's order."""
    start = root.grad_fn
    pending = autograd.count_consumers(start)
    order, routes = [], []
    ready = [start]
    while ready:
        ctx = ready.pop()
        node = _node_of(tr, ctx)
        if ctx._retained:
            raise TraceError("tg.compile: retain_grad() inside a compiled step is not supported")
        order.append(node)
        route = []
        routes.append(route)
        for i, (parent, need) in enumerate(zip(ctx.parents, ctx.needs_input_grad)):
            if not need:
                continue
            fn = parent.grad_fn
            if fn is None:
                tr.value_of_tensor(parent)
                route.append((i, ("leaf", parent)))
                continue
            route.append((i, ("node", _node_of(tr, fn), parent._out_index)))
            pending[fn] -= 1
            if not pending[fn]:
                ready.append(fn)
    return {"order": order, "routes": routes, "root": tr.values[id(root._data)], "root_index": root._out_index,
            "root_node": _node_of(tr, start)}


def _node_of(tr: Trace, ctx: Any) -> Node:
    node = tr.nodes_by_ctx.get(id(ctx))
    if node is None:
        raise TraceError(f"tg.compile: backward reached {type(ctx).__name__}, recorded before the step began; "
                         "compute the whole loss inside the compiled function")
    return node


def _traced_call(self: Module, *args: Any, **kwargs: Any) -> Any:
    tr = current()
    if tr is None:
        return _orig_call(self, *args, **kwargs)
    if self._module_hooks and any(self._module_hooks.values()):
        raise TraceError(f"tg.compile: {type(self).__name__} has a module hook (register_forward_pre_hook, "
                         "register_forward_hook or register_full_backward_hook); a replay would not call it. "
                         "Remove the hook, or run this step eagerly")
    if id(self) not in tr.names:
        _name_modules(tr, self)
    if all(m is not self for m, _ in tr.modules):
        tr.modules.append((self, self.training))
    if isinstance(self, _BatchNorm) and self.training and self.track_running_stats:
        if self.momentum is None:
            raise TraceError("tg.compile: BatchNorm with momentum=None (a cumulative average) is not supported")
        x = args[0]._data if args and isinstance(args[0], Tensor) else None
        if x is not None and x.ndim >= 2 and x.size // x.shape[1] > 1:      # the module's own condition
            tr.events.append(("count_batch", tr.value_of_tensor(self.num_batches_tracked)))
    tr.module_stack.append(tr.names[id(self)] or type(self).__name__.lower())
    try:
        return _orig_call(self, *args, **kwargs)
    finally:
        tr.module_stack.pop()


def _name_modules(tr: Trace, root: Module) -> None:
    """Name every module under `root` from its attribute path: fc1, layer1 -> relu1 (Sequential index)."""
    for path, m in root.named_modules():
        if id(m) in tr.names:
            continue
        parts = path.split(".") if path else []
        if parts and parts[-1].isdigit():
            parts[-1] = type(m).__name__.lower() + parts[-1]
        tr.names[id(m)] = "_".join(parts)


def _traced_step(self: Optimizer, closure: Any = None) -> Any:
    tr = current()
    if tr is None:
        return _orig_step(self, closure)
    if closure is not None:
        raise TraceError("tg.compile: optimizer.step(closure) inside a compiled step is not supported")
    params = [(p, g) for g in self.param_groups for p in g["params"] if p.grad is not None]
    for p, _ in params:
        tr.value_of_tensor(p)
    with _engine(tr):
        out = _orig_step(self, closure)
    tr.events.append(("step", self, params))
    return out


def _traced_opt_zero(self: Optimizer, set_to_none: bool = True) -> None:
    _record_zero(current(), [p for g in self.param_groups for p in g["params"]], set_to_none)
    with _engine(current()):
        _orig_opt_zero(self, set_to_none)


def _traced_mod_zero(self: Module, set_to_none: bool = True) -> None:
    _record_zero(current(), list(self.parameters()), set_to_none)
    with _engine(current()):
        _orig_mod_zero(self, set_to_none)


def _record_zero(tr: Optional[Trace], params: list, set_to_none: bool) -> None:
    if tr is not None:
        for p in params:
            tr.value_of_tensor(p)
        tr.events.append(("zero_grad", params, set_to_none))


def _recording_make(tr: Trace, make: Any) -> Any:
    """Tensor._make, noting the Tensors made while tracing (op outputs are made by function.py's own
    reference to the original, so they are not noted)."""
    def recording(data: np.ndarray, requires_grad: bool, grad_fn: Any) -> Tensor:
        t = make(data, requires_grad, grad_fn)
        tr.created.add(id(t))
        return t
    return recording


def _recording_init(tr: Trace) -> Any:
    def init(self: Tensor, *args: Any, **kwargs: Any) -> None:
        _orig_init(self, *args, **kwargs)
        tr.created.add(id(self))
    return init


def _refuse_read(what: str) -> Any:
    def read(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        raise TraceError(f"tg.compile: {what} reads a tensor's value while the step is being traced; a compiled "
                         "step records operations, not values, so its replays could not follow a branch or a "
                         "number taken here. Return the tensor from the step and read it afterwards.")
    return read


def _refuse_inplace(t: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    raise TraceError(f"tg.compile: the in-place op {name} inside a compiled step is not supported: the write into "
                     "the tensor's memory is not an op the compiler records, so a replay would skip it. Use the "
                     "out-of-place form (x = x + y), or an optimizer for parameter updates (its step is compiled)")


def _refuse_hooks(hooks: list, grad: Any, make: Any) -> Any:
    """Tensor hooks (register_hook) run Python the generated program does not contain: refused."""
    raise TraceError("tg.compile: a tensor hook (register_hook) ran in the traced step; a replay would not call "
                     "it, so its effect (logging, clipping, a replaced gradient) would silently be lost. Remove "
                     "the hook, or run this step eagerly")


def _refuse_data_set(self: Tensor, value: Any) -> None:
    raise TraceError("tg.compile: assigning `tensor.data = ...` inside a compiled step is not supported (a replay "
                     "would not repeat it); do it outside the step")


def _refuse_random(*args: Any, **kwargs: Any) -> Any:
    raise TraceError("tg.compile: drawing random numbers outside an op (randn, rand, init, shuffling) inside a "
                     "compiled step is not supported: a replay would reuse the first draw. Draw them outside the "
                     "step and pass them in as arguments (dropout is fine: it draws fresh masks every replay)")


_READS = {"item": ".item()", "tolist": ".tolist()", "numpy": ".numpy()", "__bool__": "bool(tensor)",
          "__float__": "float(tensor)", "__int__": "int(tensor)", "__array__": "np.asarray(tensor)",
          "__iter__": "iterating over a tensor", "__repr__": "printing a tensor"}
_RANDOM_USERS = (factories, nn_init, data)


@contextlib.contextmanager
def tracing(tr: Trace):
    """Swap in the recording methods for the duration of one trace; always swap them back."""
    saved = []

    def swap(owner: Any, name: str, new: Any) -> None:
        saved.append((owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)))
        setattr(owner, name, new)

    _active.append(tr)
    try:
        swap(Function, "apply", classmethod(_traced_apply))
        swap(Tensor, "backward", _traced_backward)
        swap(Tensor, "_cmp", _traced_cmp)
        swap(Tensor, "_arg", _traced_arg)
        swap(Module, "__call__", _traced_call)
        swap(Module, "zero_grad", _traced_mod_zero)
        swap(Optimizer, "step", _traced_step)
        swap(Optimizer, "zero_grad", _traced_opt_zero)
        for name, what in _READS.items():
            swap(Tensor, name, _refuse_read(what))
        for module in _RANDOM_USERS:
            swap(module, "default_generator", _refuse_random)
        swap(nn_functional, "_class_targets", _traced_class_targets)
        swap(ops_inplace, "inplace", _refuse_inplace)
        swap(autograd, "_call_hooks", _refuse_hooks)
        swap(Tensor, "grad", property(_GRAD_SLOT.__get__, _traced_set_grad))
        swap(Tensor, "__setitem__", lambda self, index, value: _refuse_inplace(self, "setitem (t[idx] = v)"))
        swap(Tensor, "data", property(Tensor.data.fget, _refuse_data_set))
        swap(Tensor, "_make", staticmethod(_recording_make(tr, _orig_make)))
        swap(Tensor, "__init__", _recording_init(tr))
        yield tr
    finally:
        for owner, name, old in reversed(saved):
            setattr(owner, name, old)
        _active.pop()


_orig_class_targets = nn_functional._class_targets


def _traced_class_targets(input: Tensor, target: Any, weight: Any, ignore_index: int, op: str) -> tuple:
    """Class targets are checked against their values (range, ignore_index) in eager mode; a replay must
    check every new batch the same way, so the check is recorded as an event of the step."""
    tr = current()
    out = _orig_class_targets(input, target, weight, ignore_index, op)
    x2d, t, w, ignored, expected = out
    if ignored is not None:
        raise TraceError(f"tg.compile: {op} with targets equal to ignore_index={ignore_index} is not supported "
                         "yet (which rows are ignored depends on the batch's values)")
    if tr is None:
        return out
    tv = tr.values.get(id(t))
    if tv is None and t.base is not None and id(t.base) in tr.values:   # target.reshape(-1): a view of it
        tv = tr.add_value(t, tr.values[id(t.base)].name + "_flat", "op")
        tr.events.append(("view", tv, tr.values[id(t.base)]))
    if tv is None:
        raise TraceError(f"tg.compile: {op}'s target must be an argument of the compiled step (or computed "
                         "by tensor operations inside it)")
    tr.events.append(("check_targets", tv, x2d.shape[1], ignore_index, op))
    return out
