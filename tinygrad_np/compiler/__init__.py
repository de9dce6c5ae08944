"""`tg.compile`: trace a training step once, then replay it as the straight-line NumPy program it amounts to.

    @tg.compile
    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

The first call with a new signature (the arguments' shapes, dtypes and requires_grad, grad mode, the
train/eval mode of every module the step called) runs the step eagerly while recording it (recording.py,
into trace.py's Trace), writes the program it amounts to (codegen.py, emitters.py) and `exec`s that
source once; later calls with that signature call the program. `train_step.source()` is the program of
the latest trace.
See docs/compile.md.
"""
from __future__ import annotations

import builtins
import functools
import inspect
import keyword
from typing import Any, Callable, Dict, List, Optional

from ..tensor import Tensor
from .codegen import generate
from .runtime import Retrace
from .recording import tracing
from .trace import Trace, TraceError

__all__ = ["compile", "CompiledStep", "TraceError"]

MAX_PROGRAMS = 8          # signatures kept per step (a new one beyond that forgets the oldest)


class Program:
    """One trace's generated function and its source. The function checks its own signature first (guards
    in its prologue) and raises Retrace, before changing anything, when a call does not fit it."""

    def __init__(self, source: str, fn: Callable) -> None:
        self.source, self.fn = source, fn


class CompiledStep:
    """A function compiled by `tg.compile`: call it like the original; `source()` shows the program."""

    def __init__(self, fn: Callable) -> None:
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._programs: Dict[int, List[Program]] = {}     # number of arguments -> programs, oldest first
        self._latest: Optional[Program] = None
        self._latest_nargs = -1
        self.traces = 0                      # how many times the step was traced (a new signature each time)
        try:
            self._arg_names = [p.name for p in inspect.signature(fn).parameters.values()]
        except (TypeError, ValueError):
            self._arg_names = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        latest = self._latest
        if not kwargs and len(args) == self._latest_nargs:
            try:
                return latest.fn(*args)       # the common case: the same signature as the last call
            except Retrace:
                pass
        if kwargs:
            raise TypeError(f"tg.compile: {self._fn.__name__}() takes its arguments positionally in a compiled "
                            f"step; got keyword arguments {sorted(kwargs)}")
        for i, a in enumerate(args):
            if not isinstance(a, Tensor):
                _check_constant(a, i, self._fn.__name__)
        programs = self._programs.setdefault(len(args), [])
        for program in programs:
            if program is latest:
                continue
            try:
                result = program.fn(*args)
            except Retrace:
                continue
            self._latest, self._latest_nargs = program, len(args)
            return result
        return self._trace(programs, args)

    def _trace(self, programs: list, args: tuple) -> Any:
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
            if n is None:
                tr.constants[i] = a
            else:
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
        program = Program(source, ns[tr.fn_name])
        programs.append(program)
        del programs[:-MAX_PROGRAMS]
        self._latest, self._latest_nargs = program, len(args)
        self.traces += 1
        return _detached(result)

    def source(self) -> str:
        """The generated program of the latest trace (or replay)."""
        if self._latest is None:
            raise RuntimeError(f"tg.compile: {self._fn.__name__} has not been called yet, so there is no program")
        return self._latest.source


def _detached(result: Any) -> Any:
    """The traced call returns what every replay returns: detached copies (the eager loss has a graph)."""
    if isinstance(result, Tensor):
        return Tensor._make(result._data.copy(), False, None)
    if isinstance(result, (tuple, list)):
        return type(result)(_detached(r) for r in result)
    return result


def _check_constant(a: Any, i: int, name: str) -> None:
    if not isinstance(a, (bool, int, float, str, type(None))):
        raise TypeError(f"tg.compile: argument {i} of {name}() is a {type(a).__name__}; a compiled step takes "
                        "Tensors, or numbers and strings (which become part of its signature)")


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
