"""`tg.compile`: trace a training step once, then replay it as the straight-line NumPy program it amounts to.

    @tg.compile
    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

The first call with a new signature (the arguments' shapes, dtypes and requires_grad, grad mode, the
train/eval mode of every module the step called) runs the step eagerly while recording it (trace.py),
writes the program it amounts to (codegen.py, emitters.py) and `exec`s that source once; later calls
with that signature call the program. `train_step.source()` is the program of the latest trace.
See docs/compile.md.
"""
from __future__ import annotations

import builtins
import functools
import inspect
import keyword
from typing import Any, Callable, Dict, List, Optional

from ..grad_mode import _state
from ..tensor import Tensor
from .codegen import generate
from .runtime import Retrace
from .trace import Trace, TraceError, Value, tracing

__all__ = ["compile", "CompiledStep", "TraceError"]


class Program:
    """One trace's generated function, with what decides whether it fits a call."""

    def __init__(self, source: str, fn: Callable, modules: list) -> None:
        self.source, self.fn = source, fn
        self.modules = [m for m, _ in modules]
        self.modes = tuple(training for _, training in modules)

    def fits(self) -> bool:
        return tuple(m.training for m in self.modules) == self.modes


class CompiledStep:
    """A function compiled by `tg.compile`: call it like the original; `source()` shows the program."""

    def __init__(self, fn: Callable) -> None:
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._programs: Dict[tuple, List[Program]] = {}
        self._latest: Optional[Program] = None
        self.traces = 0                      # how many times the step was traced (a new signature each time)
        try:
            self._arg_names = [p.name for p in inspect.signature(fn).parameters.values()]
        except (TypeError, ValueError):
            self._arg_names = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(f"tg.compile: {self._fn.__name__}() takes its arguments positionally in a compiled "
                            f"step; got keyword arguments {sorted(kwargs)}")
        key = [_state["enabled"]]
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                d = a._data
                key.append((d.shape, d.dtype, a._requires_grad))
            else:
                key.append(_constant_key(a, i, self._fn.__name__))
        key = tuple(key)
        for program in self._programs.get(key, ()):
            if program.fits():
                try:
                    result = program.fn(*args)
                except Retrace:
                    self._programs[key].remove(program)
                    break
                self._latest = program
                return result
        return self._trace(key, args)

    def _trace(self, key: tuple, args: tuple) -> Any:
        names = []
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                base = self._arg_names[i] if i < len(self._arg_names) else f"arg{i}"
                names.append(base)
            else:
                names.append(None)
        fn_name = getattr(self._fn, "__name__", "")
        if not fn_name.isidentifier() or keyword.iskeyword(fn_name):
            fn_name = "step"                                  # a lambda or a callable object
        tr = Trace(fn_name, names)
        for i, (a, n) in enumerate(zip(args, names)):
            if n is not None:
                if id(a._data) in tr.values:
                    raise TraceError(f"tg.compile: arguments {tr.values[id(a._data)].index} and {i} share one array; "
                                     "pass distinct tensors")
                v = tr.add_value(a._data, n, "arg", holder=a, index=i)
                names[i] = v.name
        with tracing(tr):
            result = self._fn(*args)
            spec = _result_spec(tr, result)
        source, ns = generate(tr, spec)
        code = builtins.compile(source, f"<tg.compile {tr.fn_name}>", "exec")
        exec(code, ns)
        program = Program(source, ns[tr.fn_name], tr.modules)
        self._programs.setdefault(key, []).append(program)
        self._latest = program
        self.traces += 1
        return result

    def source(self) -> str:
        """The generated program of the latest trace (or replay)."""
        if self._latest is None:
            raise RuntimeError(f"tg.compile: {self._fn.__name__} has not been called yet, so there is no program")
        return self._latest.source


def _constant_key(a: Any, i: int, name: str) -> Any:
    try:
        hash(a)
    except TypeError:
        raise TypeError(f"tg.compile: argument {i} of {name}() is a {type(a).__name__}; a compiled step takes "
                        "Tensors (or hashable constants such as numbers)") from None
    return ("constant", type(a), a)


def _result_spec(tr: Trace, result: Any) -> Any:
    if result is None:
        return None
    if isinstance(result, Tensor):
        v = tr.values.get(id(result._data))
        return v if v is not None else tr.value_of_tensor(result)
    if isinstance(result, (tuple, list)):
        return (type(result), [_result_spec(tr, r) for r in result])
    raise TraceError(f"tg.compile: a compiled step may return Tensors, tuples or lists of them, or None; "
                     f"got {type(result).__name__}")


def compile(fn: Callable) -> CompiledStep:
    """Compile a training (or evaluation) step: see the module docstring and docs/compile.md."""
    return CompiledStep(fn)
