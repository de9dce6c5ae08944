"""`Module` and `Parameter`: the containers a model is written in, shaped like PyTorch's.

Assigning a `Parameter`, a `Module` or a registered buffer to an attribute records it, in definition
order, in `_parameters`, `_modules` or `_buffers`; every traversal (`named_parameters`, `state_dict`, …)
walks those dicts, so names and order are PyTorch's: a module's own parameters, then its own buffers,
then each child's, depth first (`0.weight`, `0.bias`, `fc1.weight`, `bn.running_mean`, …).

`state_dict()` returns a snapshot: an ordered dict of ndarray *copies*, so that later training does not
change a saved "best" state, `tg.save` stores it directly, and `torch.from_numpy(v)` accepts every value.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterator, Mapping, Optional

import numpy as np

from .. import autograd
from ..dtypes import as_array, check_float_dtype
from ..autograd import RemovableHandle
from ..device import check_device, dtype_of_to_args
from ..tensor import Tensor
from .hooks import call_with_hooks
from .hooks import register as register_hook

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable weight (requires_grad=True, floating point)."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            data = data._data
        arr = np.empty(0, np.float32) if data is None else as_array(data, op="Parameter")
        if arr.dtype.kind != "f":
            raise TypeError(f"Parameter: parameters must be floating point, got dtype {arr.dtype}")
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _as_buffer(value: Any, name: str) -> Optional[Tensor]:
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return Tensor(np.asarray(value))
    raise TypeError(f"cannot assign {type(value).__name__} as buffer '{name}' (a Tensor, ndarray or None is required)")


class Module:
    """Base class of every layer and model: subclass it, assign layers and Parameters in `__init__`,
    write `forward`, and call the module like a function."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define one in the subclass")

    _module_hooks = None     # {kind: {key: hook}} once a hook is registered (nn/hooks.py)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._module_hooks is None:
            return self.forward(*args, **kwargs)
        return call_with_hooks(self, self._module_hooks, args, kwargs)

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """`hook(module, args)` before each forward; a returned value replaces args."""
        return register_hook(self, "forward_pre", hook)

    def register_forward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """`hook(module, args, output)` after each forward; a returned value replaces the output."""
        return register_hook(self, "forward", hook)

    def register_full_backward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """`hook(module, grad_input, grad_output)` once the gradients of the module's inputs are
        computed (tuples of Tensors or None); a returned tuple replaces grad_input."""
        return register_hook(self, "backward", hook)

    # ---- registration -----------------------------------------------------------------------------
    def _dicts(self, name: str) -> dict:
        d = self.__dict__.get(name)
        if d is None:
            raise AttributeError(f"cannot assign submodules, parameters or buffers to {type(self).__name__} "
                                 "before Module.__init__() has been called (call super().__init__() first)")
        return d

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            self._dicts("_parameters")
            self._forget(name, keep="_parameters")      # a replaced parameter keeps its place in the order
            params[name] = value
        elif isinstance(value, Module):
            self._dicts("_modules")
            self._forget(name, keep="_modules")
            self._modules[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter '{name}' of "
                                f"{type(self).__name__} (an nn.Parameter or None is required)")
            params[name] = None
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module '{name}' of "
                                f"{type(self).__name__} (an nn.Module or None is required)")
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            self._buffers[name] = _as_buffer(value, name)
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str = "") -> None:
        self.__dict__.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            if key != keep:
                self.__dict__[key].pop(name, None)
        self._non_persistent.discard(name)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            sub = d.get(key)
            if sub is not None and name in sub:
                return sub[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(key, ()):
                del self.__dict__[key][name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Register `param` (or None: a declared but absent parameter, like `bias=False`) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be an nn.Parameter or None, got {type(param).__name__}")
        self._dicts("_parameters")
        self._forget(name, keep="_parameters")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Register non-learnable state (running statistics); persistent buffers are part of state_dict."""
        self._dicts("_buffers")
        if "." in name or not name:
            raise KeyError(f"register_buffer: invalid buffer name '{name}'")
        self._forget(name, keep="_buffers")
        self._buffers[name] = _as_buffer(tensor, name)
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be an nn.Module or None, got {type(module).__name__}")
        self._dicts("_modules")
        self._forget(name, keep="_modules")
        self._modules[name] = module

    # ---- traversal ----------------------------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo: Optional[set] = None) -> Iterator[tuple]:
        """(name, module) for this module and every descendant, depth first; shared modules once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple]:
        seen: set = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator["Module"]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, attr: str, prefix: str, recurse: bool) -> Iterator[tuple]:
        seen: set = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, attr).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple]:
        """(name, Parameter) pairs in registration order; a parameter shared by two layers appears once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple]:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call `fn` on every submodule (children first) and on self, as PyTorch does: custom init."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes, grads, dtype ----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (set to None; with set_to_none=False, replace by fresh zeros)."""
        autograd.zero_grad(self.parameters(), set_to_none)

    def to(self, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False) -> "Module":
        """`to(dtype)`, `to(device)` or both: cast floating-point parameters and buffers to `dtype` in place
        (the Parameter objects stay the same, so an optimizer built earlier still holds them); integer
        buffers are left alone. Only the CPU exists (a "cuda" device raises)."""
        dtype = dtype_of_to_args(args, dtype, device, "Module.to")
        if dtype is None:
            return self
        dt = check_float_dtype(dtype, "Module.to")
        for p in self.parameters():
            if p._data.dtype != dt:
                p._data = p._data.astype(dt)
                if p.grad is not None:
                    p.grad = Tensor(p.grad._data.astype(dt))
        for b in self.buffers():
            if b._data.dtype.kind == "f" and b._data.dtype != dt:
                b._data = b._data.astype(dt)
        return self

    def float(self) -> "Module":
        return self.to(np.float32)

    def cpu(self) -> "Module":
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> "Module":
        check_device("cuda", "Module.cuda")
        return self

    def double(self) -> "Module":
        return self.to(np.float64)

    # ---- state dict -----------------------------------------------------------------------------------
    def _state_items(self) -> Iterator[tuple]:
        """(name, Tensor) of every parameter and persistent buffer, in PyTorch's state_dict order (a
        parameter tied between two modules appears under both names, as in PyTorch)."""
        for prefix, mod in self.named_modules():
            dot = prefix + "." if prefix else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    yield dot + name, p
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    yield dot + name, b

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Name → ndarray copy of every parameter and persistent buffer (see the module docstring)."""
        return OrderedDict((name, t._data.copy()) for name, t in self._state_items())

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values (ndarrays, Tensors, anything np.asarray accepts) into the parameters and buffers.

        Every problem (missing and unexpected keys when strict; wrong shapes or dtypes always) is
        collected and reported in one error before any parameter changes. Values are copied into the
        existing arrays, so optimizers keep working on the same Parameters.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a dict of arrays, got {type(state_dict).__name__}")
        own = OrderedDict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems, values = [], {}
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        shapes, dtypes = [], []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            try:
                arr = value._data if isinstance(value, Tensor) else np.asarray(value)
            except ValueError as e:              # a ragged nested list
                shapes.append(f"'{key}': not an array ({e})")
                continue
            if arr.dtype.kind not in "fiub":
                dtypes.append(f"'{key}': expected {target._data.dtype}, got {arr.dtype}")
                continue
            if arr.shape != target._data.shape:
                shapes.append(f"'{key}': expected {target._data.shape}, got {arr.shape}")
            elif arr.dtype != target._data.dtype:
                dtypes.append(f"'{key}': expected {target._data.dtype}, got {arr.dtype}")
            else:
                values[key] = arr
        if shapes:
            problems.append("wrong shapes {" + ", ".join(shapes) + "}")
        if dtypes:
            problems.append("wrong dtypes {" + ", ".join(dtypes) + "} (cast the model with .to(dtype) "
                            "or the arrays with .astype first)")
        if problems:
            raise RuntimeError("load_state_dict: " + ", ".join(problems) + f" (in {type(self).__name__})")
        for key, arr in values.items():
            target = own[key]
            if target._data.flags.writeable:
                np.copyto(target._data, arr)
            else:
                target._data = arr.copy()
        return IncompatibleKeys(missing, unexpected)

    # ---- repr ------------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr; layers override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not self._modules:
            return f"{type(self).__name__}({extra})"
        return type(self).__name__ + "(\n  " + "\n  ".join(lines) + "\n)"
