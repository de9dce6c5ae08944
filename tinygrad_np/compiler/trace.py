"""The trace's data model: what one eager run of a step recorded, as a list of events over named values
(recording.py does the recording: the methods swapped in while a trace runs).

A *value* is one ndarray the step computes or reads; it is known by the identity of its array:
an argument's, an outside tensor's (a parameter, a buffer, any tensor made before the step),
or an op's output. An ndarray that reaches an op and is none of these is a constant kept by reference.
"""
from __future__ import annotations

import keyword
from typing import Any, Dict, List, Optional

import numpy as np

from ..tensor import Tensor


class TraceError(RuntimeError):
    """The step cannot be compiled (or it read a value during tracing); the message says why."""


class Value:
    """One array of the step: its static shape and dtype, where it comes from, and its name in the source."""
    __slots__ = ("name", "shape", "dtype", "kind", "holder", "index", "buffer")

    def __init__(self, name: str, arr: np.ndarray, kind: str, holder: Any = None, index: int = -1) -> None:
        self.name, self.shape, self.dtype, self.kind = name, arr.shape, arr.dtype, kind
        self.holder, self.index = holder, index      # extern: the Tensor read at replay; arg: its position
        self.buffer = False                          # True when the source writes it into a preallocated array


class Node:
    """One op call: the Function class, its inputs (Values or constants), keyword arguments, outputs."""
    __slots__ = ("op", "inputs", "kwargs", "outputs", "needs", "record", "module", "index", "ctx_name")

    def __init__(self, op: type, inputs: list, kwargs: dict, needs: tuple, record: bool, module: str) -> None:
        self.op, self.inputs, self.kwargs, self.needs, self.record = op, inputs, kwargs, needs, record
        self.module, self.outputs, self.index, self.ctx_name = module, [], -1, ""


class Const:
    """A constant input of an op (a Python value or an ndarray kept by reference)."""
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Pack:
    """A tuple argument holding traced values (an index such as `(rows, y)`): rebuilt at every replay."""
    __slots__ = ("items",)

    def __init__(self, items: list) -> None:
        self.items = items


class Trace:
    """What one eager run of the step did: values, op nodes and the other events, in order."""

    def __init__(self, fn_name: str, arg_names: List[str]) -> None:
        self.fn_name, self.arg_names = fn_name, arg_names
        self.constants: Dict[int, Any] = {}    # position -> a non-Tensor argument (part of the signature)
        self.values: Dict[int, Value] = {}     # id(ndarray) -> Value
        self.keep: list = []                   # the arrays themselves, so their ids stay unique
        self.events: list = []                 # ("op", Node) ("cmp", ...) ("backward", ...) ("step", opt) ...
        self.externs: List[Value] = []
        self.modules: list = []                # (module, training) of every module called
        self.module_stack: List[str] = []
        self.names: Dict[int, str] = {}        # id(module) -> dotted name inside the outermost module
        self.used_names: set = set()
        self.in_op = 0
        self.in_engine = 0                     # > 0 while backward, step or zero_grad set .grad themselves
        self.nodes_by_ctx: Dict[int, Node] = {}
        self.created: set = set()             # ids of Tensors made while tracing, other than op outputs

    # ---- values -----------------------------------------------------------------------------------
    def unique(self, base: str) -> str:
        base = "".join(c if c.isalnum() or c == "_" else "_" for c in base).lstrip("_") or "v"
        if base[0].isdigit():
            base = "v" + base
        name, k = base, 1
        while name in self.used_names or name in _RESERVED or keyword.iskeyword(name):
            name, k = f"{base}_{k}", k + 1
        self.used_names.add(name)
        return name

    def add_value(self, arr: np.ndarray, name: str, kind: str, holder: Any = None, index: int = -1) -> Value:
        v = Value(self.unique(name), arr, kind, holder, index)
        self.values[id(arr)] = v
        self.keep.append(arr)
        if kind == "extern":
            self.externs.append(v)
        return v

    def value_of_tensor(self, t: Tensor) -> Value:
        v = self.values.get(id(t._data))
        if v is None:
            if id(t) in self.created:
                raise TraceError("tg.compile: a tensor made inside the step outside the graph (by tg.tensor, "
                                 "Tensor(...), a factory or a helper such as F.one_hot reading values) feeds an op; "
                                 "a replay would reuse its first contents. Make it before the step and pass it in")
            v = self.add_value(t._data, self.extern_name(t), "extern", holder=t)
        return v

    def extern_name(self, t: Tensor) -> str:
        for m, _ in self.modules:
            for kind in ("_parameters", "_buffers"):
                for pname, p in m.__dict__.get(kind, {}).items():
                    if p is t:
                        prefix = self.names.get(id(m), "")
                        return f"{prefix}_{pname}" if prefix else pname
        return "t"

    def resolve(self, a: Any, op_name: str) -> Any:
        """An op input as a Value (Tensors, known arrays) or a Const."""
        if isinstance(a, Tensor):
            return self.value_of_tensor(a)
        if isinstance(a, np.ndarray):
            v = self.values.get(id(a))
            if v is not None:
                return v
            base = a.base
            while base is not None:
                if id(base) in self.values:
                    raise TraceError(f"tg.compile: {op_name} received an array computed from a traced value outside "
                                     f"the graph (a view of '{self.values[id(base)].name}'); the compiler cannot "
                                     "capture it — compute it with tensor operations")
                base = base.base
            return Const(a)
        if type(a) is tuple:
            items = [self.resolve(i, op_name) for i in a]
            if any(not isinstance(i, Const) for i in items):
                return Pack(items)
        return Const(a)

    def rename_externs(self) -> None:
        """Give parameters and buffers their module names (fc1_weight), known once every module was called."""
        for v in self.externs:
            name = self.extern_name(v.holder)
            if name != "t":
                self.used_names.discard(v.name)
                v.name = self.unique(name)

    def module_prefix(self) -> str:
        return self.module_stack[-1] if self.module_stack else ""


_RESERVED = {"np", "Tensor", "Retrace", "float", "int", "bool", "len", "tuple", "range"}

_active: List[Trace] = []


def current() -> Optional[Trace]:
    return _active[-1] if _active else None

