"""Devices: this build computes on the CPU with NumPy, and says so.

Device-agnostic PyTorch code runs unchanged: `tg.device("cpu")`, `.to("cpu")`, `.cpu()`, `device=` on
factories, `tg.cuda.is_available()` (False), `tg.accelerator`. Asking for any other device ("cuda", "mps")
raises a clear error instead of pretending.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np


class device:
    """`tg.device("cpu")`; compares equal to the string "cpu", as torch.device does."""

    __slots__ = ("type", "index")

    def __init__(self, type: Any = "cpu", index: Optional[int] = None) -> None:
        d = check_device(type, "device")
        self.type, self.index = d.type if d is not None else "cpu", index

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"

    def __str__(self) -> str:
        return self.type

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, str):
            return other.split(":")[0] == self.type
        return isinstance(other, device) and other.type == self.type

    def __hash__(self) -> int:
        return hash(self.type)


def is_device(value: Any) -> bool:
    """Whether a positional argument of `.to(...)` names a device rather than a dtype ("cpu" vs "float32")."""
    if isinstance(value, device) or type(value).__name__ == "device":
        return True
    if not isinstance(value, str):
        return False
    try:
        np.dtype(value)
    except TypeError:
        return True
    return False


def dtype_of_to_args(args: tuple, dtype: Any, device: Any, op: str) -> Any:
    """The dtype asked for by `.to(*args, dtype=, device=)` (positional: a device, a dtype or a tensor whose
    dtype to take), after checking the device is the CPU."""
    for a in args:
        if is_device(a):
            device = a
        elif hasattr(a, "_data"):
            dtype = a._data.dtype
        else:
            dtype = a
    check_device(device, op)
    return dtype


def check_device(dev: Any, op: str) -> Optional["device"]:
    """None or the CPU (as a string, `tg.device` or a torch.device) → the CPU device; anything else raises."""
    if dev is None:
        return None
    if isinstance(dev, device):
        return dev
    name = getattr(dev, "type", dev)                 # a real torch.device passed by mixed code
    if isinstance(name, str) and name.split(":")[0] == "cpu":
        return _CPU
    raise RuntimeError(f"{op}: device {str(dev)!r} is not available: tinygrad_np computes on the CPU with NumPy "
                       "(use device='cpu', or torch.cuda.is_available() to pick it)")


_CPU = object.__new__(device)
_CPU.type, _CPU.index = "cpu", None
cpu = _CPU
_default = [_CPU]


def set_default_device(dev: Any) -> None:
    """Only the CPU exists; any other device raises (as an unavailable device does in PyTorch)."""
    _default[0] = check_device(dev, "set_default_device") or _CPU


def get_default_device() -> device:
    return _default[0]


class _NoAccelerator:
    """`tg.cuda`, `tg.backends.mps`, `tg.accelerator`, `tg.mps`: nothing to accelerate with."""

    def __init__(self, name: str) -> None:
        self._name = name

    def is_available(self) -> bool:
        return False

    def device_count(self) -> int:
        return 0

    def current_accelerator(self) -> None:
        return None

    def is_built(self) -> bool:
        return False

    def manual_seed(self, seed: int) -> None:        # torch.cuda.manual_seed(...) is a no-op without CUDA
        return None

    manual_seed_all = manual_seed

    def synchronize(self, *args: Any) -> None:
        return None

    def __getattr__(self, attr: str) -> Any:
        raise RuntimeError(f"{self._name}.{attr}: not available: tinygrad_np computes on the CPU with NumPy")


cuda = _NoAccelerator("cuda")
mps = _NoAccelerator("mps")
accelerator = _NoAccelerator("accelerator")


class _Backends:
    def __init__(self) -> None:
        self.mps = mps
        self.cuda = cuda
        self.cudnn = _NoAccelerator("backends.cudnn")


backends = _Backends()
