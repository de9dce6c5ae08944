"""`Optimizer`: parameter groups, `zero_grad`, `step`, and a state dict that `tg.save` can store.

Subclasses implement `_update(p, grad, group, state)` for one parameter, taking weight decay from the
one shared rule `_weight_decay` (coupled L2, or decoupled for AdamW). Updates write into `p._data`
in place through preallocated scratch arrays (`self._scratch`) and `out=` ufuncs, so a step allocates
nothing per parameter after the first; `p.grad._data` is only read, never written (it may be shared).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import numpy as np

from .. import _validate
from ..autograd import zero_grad
from ..grad_mode import enable_grad
from ..tensor import Tensor
from ..versions import mark_modified


class Optimizer:
    """Base class: `params` is an iterable of Tensors, or of dicts {"params": [...], "lr": ...} (groups
    with their own hyper-parameters; missing ones come from `defaults`)."""

    _scalar_state: tuple = ("step",)      # per-parameter state entries that are numbers, not arrays
    _decoupled_weight_decay = False       # AdamW sets it: decay the parameter, not the gradient

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        name = type(self).__name__
        if isinstance(params, (Tensor, dict)):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts (e.g. "
                            f"model.parameters()), got a single {type(params).__name__}")
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list = []
        self._scratch: dict = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        params = [params] if isinstance(params, Tensor) else list(params or [])
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but one of the params is {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError(f"{name}: cannot optimize a non-leaf Tensor (shape {p._data.shape}); pass leaves "
                                 "such as model.parameters()")
            if p._data.dtype.kind != "f":
                raise TypeError(f"{name}: can only optimize floating-point tensors, got dtype {p._data.dtype}")
            if id(p) in existing:
                raise ValueError(f"{name}: a parameter (shape {p._data.shape}) appears in more than one place")
            existing.add(id(p))
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (set `.grad` to None; with set_to_none=False, to fresh zeros)."""
        zero_grad((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient; `closure` (re-evaluates the loss) is optional."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        updates = [(p, group) for group in self.param_groups for p in group["params"] if p.grad is not None]
        for p, _ in updates:            # all checked first, so an error leaves every parameter and state as it was
            self._check_updatable(p)
        for p, group in updates:
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = self._init_state(p, group)
            self._update(p, p.grad._data, group, state)
            mark_modified(p._data, f"{type(self).__name__}.step")   # as PyTorch: a graph that saved p refuses
        return loss

    def _check_updatable(self, p: Tensor) -> None:
        """Refuse a parameter whose array cannot be updated in place. A broadcast view repeats one element
        along a zero stride: NumPy makes it read-only, and if made writeable, an update would write each
        repeated element several times."""
        data = p._data
        if not data.flags.writeable:
            problem = "is read-only (e.g. a np.broadcast_to view, or an array with writeable=False)"
        elif 0 in data.strides and any(stride == 0 and n > 1 for stride, n in zip(data.strides, data.shape)):
            problem = "repeats its elements in memory (a broadcast view)"
        else:
            return
        raise ValueError(f"{type(self).__name__}.step: cannot update the parameter of shape {data.shape} in place: "
                         f"its array {problem}; give it an array of its own, e.g. nn.Parameter(np.array(...))")

    def _init_state(self, p: Tensor, group: dict) -> dict:
        return {}

    def _update(self, p: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        raise NotImplementedError

    def _weight_decay(self, p: Tensor, grad: np.ndarray, group: dict, out: np.ndarray) -> np.ndarray:
        """The gradient after `group["weight_decay"]` (wd), the one weight-decay rule of every optimizer.

        Coupled (L2, as SGD, Adam and RMSprop): returns grad + wd·p, written into the scratch array `out`.
        Decoupled (`_decoupled_weight_decay`, AdamW): shrinks p in place by (1 − lr·wd) and returns grad.
        With wd = 0, returns grad untouched.
        """
        wd = group["weight_decay"]
        if not wd:
            return grad
        if self._decoupled_weight_decay:
            p._data *= 1 - group["lr"] * wd
            return grad
        np.multiply(p._data, wd, out=out)
        np.add(grad, out, out=out)
        return out

    def _buffers(self, p: Tensor) -> list:
        """Two scratch arrays shaped like p (made once, remade only if p's array changed shape/dtype)."""
        bufs = self._scratch.get(p)
        if bufs is None or bufs[0].shape != p._data.shape or bufs[0].dtype != p._data.dtype:
            bufs = self._scratch[p] = [np.empty_like(p._data), np.empty_like(p._data)]
        return bufs

    # ---- state dict -----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{"state": {param index: {name: ndarray copy or number}}, "param_groups": [{hyper-parameters...,
        "params": [indices]}]}: PyTorch's layout, with ndarrays, storable with `tg.save`."""
        index = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed = {k: (list(v) if isinstance(v, list) else v) for k, v in g.items() if k != "params"}
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyper-parameters and per-parameter state (e.g. from `tg.load`). Checks group and
        parameter counts and every state array's shape first; nothing changes on error."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups' (from state_dict())")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: the saved state has {len(saved_groups)} parameter groups, this optimizer "
                             f"has {len(self.param_groups)}")
        lookup = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            ids = list(saved.get("params", []))
            if len(ids) != len(group["params"]):
                raise ValueError(f"{name}: parameter group {i} has {len(ids)} parameters in the saved state but "
                                 f"{len(group['params'])} here")
            lookup.update({int(k): p for k, p in zip(ids, group["params"])})
        new_state, problems = {}, []
        for key, entries in dict(state_dict["state"]).items():
            p = lookup.get(int(key))
            if p is None:
                problems.append(f"state for unknown parameter index {key}")
                continue
            restored = {}
            for k, v in dict(entries).items():
                if k in self._scalar_state:
                    restored[k] = np.asarray(v).item() if isinstance(v, np.ndarray) else v
                elif v is None:
                    restored[k] = None
                else:
                    arr = v._data if isinstance(v, Tensor) else np.asarray(v)
                    if arr.shape != p._data.shape:
                        problems.append(f"state '{k}' of parameter {key} has shape {arr.shape}, the parameter "
                                        f"has {p._data.shape}")
                    restored[k] = arr.astype(p._data.dtype)      # a private copy in the parameter's dtype
            new_state[p] = restored
        if problems:
            raise ValueError(f"{name}: " + "; ".join(problems))
        self.state = new_state
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(self.defaults.get(k), tuple) else v

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params")
        return "\n".join(lines) + "\n)"


def check_hyper(name: str, **values: float) -> None:
    """Every hyper-parameter given must be a number >= 0; the ValueError names the optimizer `name`."""
    for key, value in values.items():
        _validate.number(value, key, name, minimum=0)
