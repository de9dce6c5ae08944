"""Module hooks, PyTorch's three: forward pre-hooks, forward hooks and full backward hooks.

`Module.__call__` runs `forward` directly until a hook is registered; then `call_with_hooks` runs:
pre-hooks (module, args) → may return new args; the inputs pass through `BackwardHookIn` when a
backward hook exists; forward; forward hooks (module, args, output) → may return a new output; the
outputs pass through `BackwardHookOut`. Each `register_*` returns a handle whose `.remove()` undoes it.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..autograd import RemovableHandle
from ..ops.hooks import BackwardHookIn, BackwardHookOut, HookState
from ..tensor import Tensor

KINDS = ("forward_pre", "forward", "backward")


def register(module: Any, kind: str, hook: Any) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"register_{kind}_hook: hook must be callable, got {type(hook).__name__}")
    hooks = module.__dict__.get("_module_hooks")
    if hooks is None:
        hooks = {k: OrderedDict() for k in KINDS}
        object.__setattr__(module, "_module_hooks", hooks)
    key = object()
    hooks[kind][key] = hook
    return RemovableHandle(hooks[kind], key)


def call_with_hooks(module: Any, hooks: dict, args: tuple, kwargs: dict) -> Any:
    for hook in list(hooks["forward_pre"].values()):
        new = hook(module, args)
        if new is not None:
            args = new if isinstance(new, tuple) else (new,)
    state = None
    if hooks["backward"]:
        slots = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        state = HookState(module, list(hooks["backward"].values()), len(args), slots)
        if slots:
            passed = BackwardHookIn.apply(*[args[i] for i in slots], state=state)
            args = list(args)
            for i, t in zip(slots, passed):
                args[i] = t
            args = tuple(args)
    out = module.forward(*args, **kwargs)
    for hook in list(hooks["forward"].values()):
        new = hook(module, args, out)
        if new is not None:
            out = new
    if state is not None:
        outs = out if isinstance(out, tuple) else (out,)
        grads_needed = [o for o in outs if isinstance(o, Tensor) and o.requires_grad]
        if len(grads_needed) == len(outs):
            passed = BackwardHookOut.apply(*outs, state=state)
            out = passed if isinstance(out, tuple) else passed[0]
    return out
