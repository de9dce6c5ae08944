"""`python -m tinygrad_np.as_torch SCRIPT.py [args]`: run an unmodified PyTorch script on tinygrad_np.

An import hook resolves `torch`, `torch.nn`, `torch.nn.functional`, `torch.nn.init`, `torch.optim`,
`torch.optim.lr_scheduler`, `torch.utils.data` and `torch.autograd` to tinygrad_np (even when PyTorch is
installed), so every gradient of the script is a NumPy array one can inspect. Whatever has no
counterpart fails loudly: an attribute of these modules raises `UnsupportedTorchAPI` naming it
(`torch.compile`), and any other torch submodule (`torch.distributed`) fails to import, naming it.
The supported surface is listed in docs/as_torch.md.

`install()` does the same inside a running program (tests use it); `uninstall()` undoes it.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
import types
from typing import Any, Dict, List, Optional

import tinygrad_np as tg
from . import data, nn, optim
from .grad_mode import enable_grad, no_grad
from .ops.tensor_function import TensorFunction


class UnsupportedTorchAPI(AttributeError):
    """A torch API the script uses that tinygrad_np does not provide."""


# tinygrad_np names that exist but mean something else than torch's: `tg.compile` traces a whole training
# step function (docs/compile.md), while `torch.compile(model)` wraps a module.
_NOT_THE_SAME = {"torch": {"compile"}}


class _TorchModule(types.ModuleType):
    """A stand-in for one torch module: own names first, then the tinygrad_np module's, else a clear error."""

    def __init__(self, name: str, target: Any, extra: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(name, f"{name}, resolved to {getattr(target, '__name__', 'tinygrad_np')} by tinygrad_np.as_torch")
        self._target = target
        self.__dict__.update(extra or {})

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        if attr in _NOT_THE_SAME.get(self.__name__, ()):       # same name, other meaning: refuse, never guess
            raise UnsupportedTorchAPI(f"{self.__name__}.{attr} is not supported by tinygrad_np "
                                      "(see docs/as_torch.md for what is)")
        try:
            return getattr(self._target, attr)
        except AttributeError:
            raise UnsupportedTorchAPI(f"{self.__name__}.{attr} is not supported by tinygrad_np "
                                      "(see docs/as_torch.md for what is)") from None


class set_grad_enabled:
    """`torch.set_grad_enabled(mode)`: a context manager (and, called plainly, sets the mode)."""

    def __init__(self, mode: bool) -> None:
        self._ctx = enable_grad() if mode else no_grad()
        self._ctx.__enter__()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


def _variable(data: Any, requires_grad: bool = False) -> Any:
    """`torch.autograd.Variable` (deprecated in PyTorch): just a Tensor."""
    t = data if isinstance(data, tg.Tensor) else tg.tensor(data)
    return t.requires_grad_() if requires_grad else t


def _no_printoptions(**kwargs: Any) -> None:
    import numpy as np
    if "precision" in kwargs:
        np.set_printoptions(precision=kwargs["precision"])


def build_modules() -> Dict[str, types.ModuleType]:
    """{"torch": ..., "torch.nn": ...}: the modules the hook hands out."""
    autograd = _TorchModule("torch.autograd", types.SimpleNamespace(), {
        "Function": TensorFunction, "Variable": _variable, "no_grad": no_grad, "enable_grad": enable_grad,
        "set_grad_enabled": set_grad_enabled, "gradcheck": tg.gradcheck})
    grad_fn = getattr(getattr(tg, "autograd", None), "grad", None)     # tg.autograd.grad, when it exists
    if callable(grad_fn):
        autograd.grad = grad_fn
    utils_data = _TorchModule("torch.utils.data", data)
    utils = _TorchModule("torch.utils", types.SimpleNamespace(), {"data": utils_data})
    functional = _TorchModule("torch.nn.functional", nn.functional)
    init = _TorchModule("torch.nn.init", nn.init)
    torch_nn = _TorchModule("torch.nn", nn, {"functional": functional, "init": init})
    scheduler = _TorchModule("torch.optim.lr_scheduler", optim.lr_scheduler)
    torch_optim = _TorchModule("torch.optim", optim, {"lr_scheduler": scheduler})
    torch = _TorchModule("torch", tg, {
        "nn": torch_nn, "optim": torch_optim, "utils": utils, "autograd": autograd,
        "inference_mode": no_grad, "set_grad_enabled": set_grad_enabled, "set_printoptions": _no_printoptions,
        "float16": None, "__version__": f"tinygrad_np-{tg.__version__}"})
    del torch.__dict__["float16"]                       # float16 stays unsupported (a clear error)
    return {"torch": torch, "torch.nn": torch_nn, "torch.nn.functional": functional, "torch.nn.init": init,
            "torch.optim": torch_optim, "torch.optim.lr_scheduler": scheduler, "torch.utils": utils,
            "torch.utils.data": utils_data, "torch.autograd": autograd}


class _Loader(importlib.abc.Loader):
    def __init__(self, module: types.ModuleType) -> None:
        self.module = module

    def create_module(self, spec: Any) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class TorchFinder(importlib.abc.MetaPathFinder):
    """Serves the stand-in modules; refuses every other torch submodule with an ImportError naming it."""

    def __init__(self) -> None:
        self.modules = build_modules()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        module = self.modules.get(fullname)
        if module is None:
            raise ImportError(f"{fullname} is not supported by tinygrad_np (python -m tinygrad_np.as_torch); see "
                              "docs/as_torch.md", name=fullname)
        return importlib.machinery.ModuleSpec(fullname, _Loader(module), is_package=True)


_saved: List[Any] = []


def install() -> TorchFinder:
    """Make `import torch` (and its submodules above) resolve to tinygrad_np in this process."""
    finder = TorchFinder()
    stale = {k: sys.modules.pop(k) for k in list(sys.modules) if k == "torch" or k.startswith("torch.")}
    _saved.append((finder, stale))
    sys.meta_path.insert(0, finder)
    return finder


def uninstall() -> None:
    """Undo the latest `install()` (the real torch modules, if any were imported, come back)."""
    finder, stale = _saved.pop()
    sys.meta_path.remove(finder)
    for k in [k for k in sys.modules if k == "torch" or k.startswith("torch.")]:
        del sys.modules[k]
    sys.modules.update(stale)


@contextlib.contextmanager
def installed() -> Any:
    install()
    try:
        yield
    finally:
        uninstall()


USAGE = "usage: python -m tinygrad_np.as_torch SCRIPT.py [args ...]"


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE + "\nRuns a PyTorch script with `import torch` resolved to tinygrad_np (docs/as_torch.md).",
              file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    script = argv[0]
    if not os.path.isfile(script):
        print(f"as_torch: {script}: no such file", file=sys.stderr)
        return 2
    install()
    sys.argv = list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    except (UnsupportedTorchAPI, ImportError) as e:
        if isinstance(e, ImportError) and not (e.name or "").startswith("torch"):
            raise
        line = _script_line(e, script)
        print(f"as_torch: {script}{line}: {e}", file=sys.stderr)
        return 1
    return 0


def _script_line(e: BaseException, script: str) -> str:
    """`, line N` of the innermost frame inside the script, if any."""
    tb, found = e.__traceback__, ""
    target = os.path.abspath(script)
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) == target:
            found = f", line {tb.tb_lineno}"
        tb = tb.tb_next
    return found


if __name__ == "__main__":
    sys.exit(main())
