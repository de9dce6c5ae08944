"""Version counters: backward refuses an array that was saved for it and modified in place since.

PyTorch keeps a counter per storage, shared by all views of it. Here one global clock counts in-place
modifications; `_modified` maps a storage (the ndarray that owns the memory, found through `.base`) to
the clock value of its latest modification and the op that made it. `save_for_backward` records only
the clock (one integer read), and backward looks at the saved arrays only if the clock moved since —
so the common path, where nothing is ever modified in place, pays nothing but that read.

A stale entry (its array died and the id was reused) can never raise wrongly: the old array's
modification happened before the new array existed, hence before anything saved the new one.
Entries are dropped when their storage dies anyway (weakref.finalize, set once per storage).
"""
from __future__ import annotations

import weakref
from typing import Any, Dict, Tuple

import numpy as np

_ndarray = np.ndarray
clock = [0]                                # in-place modifications so far (a list: mutable from anywhere)
_modified: Dict[int, Tuple[int, str]] = {}  # id(storage) -> (clock at its latest modification, op name)


def storage(arr: np.ndarray) -> np.ndarray:
    """The ndarray that owns `arr`'s memory (`arr` itself unless it is a view)."""
    while type(arr.base) is _ndarray:
        arr = arr.base
    return arr


def mark_modified(arr: Any, op: str) -> None:
    """Record that `arr`'s memory (and so every view of it) was just modified in place by `op`."""
    if type(arr) is not _ndarray:
        return
    root = storage(arr)
    key = id(root)
    if key not in _modified:
        weakref.finalize(root, _modified.pop, key, None)
    clock[0] += 1
    _modified[key] = (clock[0], op)


def check_saved(node: Any) -> None:
    """Raise if an array `node` saved for backward was modified in place after it was saved."""
    saved_at = node._saved_at
    for i, arr in enumerate(node.saved_tensors or ()):
        if type(arr) is _ndarray:
            entry = _modified.get(id(storage(arr)))
            if entry is not None and entry[0] > saved_at:
                name = type(node).__name__
                raise RuntimeError(
                    f"{name}.backward: one of the tensors needed for gradient computation has been modified by "
                    f"an in-place operation ({entry[1]}): saved tensor {i} of {name}, shape {arr.shape}, was "
                    f"changed after {name} saved it. Use an out-of-place op (x = x + y instead of x += y), or "
                    f"clone() the tensor before modifying it")
