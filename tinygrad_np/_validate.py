"""Argument checks shared by ops, nn, optim and data: one rule in one place.

Each raises before any state changes and names the op (or class) and the offending value, e.g.
`Conv2d: groups must be a positive integer, got 0`. Bools are refused where a number is meant:
`Linear(True, 3)` is a bug, not a 1.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

REDUCTIONS = ("none", "mean", "sum")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def integer(value: Any, name: str, op: str, minimum: Optional[int] = None) -> int:
    """`value` as an int, refusing bools, floats and anything below `minimum`."""
    if not _is_int(value) or (minimum is not None and value < minimum):
        kind = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}")
        raise ValueError(f"{op}: {name} must be {kind}, got {value!r}")
    return int(value)


def number(value: Any, name: str, op: str, minimum: Optional[float] = None,
           maximum: Optional[float] = None, *, below: Optional[float] = None) -> float:
    """`value` as a float within [minimum, maximum], or within [minimum, below) when the upper end is open
    (Adam's betas); NaN is refused: it compares false with every bound."""
    ok = (_is_real(value) and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
          and (below is None or value < below))
    if not ok or value != value:
        if below is not None:
            rule = f"a number < {below:g}" if minimum is None else f"a number in [{minimum:g}, {below:g})"
        elif minimum is not None and maximum is not None:
            rule = f"a number between {minimum:g} and {maximum:g}"
        elif minimum is not None:
            rule = f"a number >= {minimum:g}"
        elif maximum is not None:
            rule = f"a number <= {maximum:g}"
        else:
            rule = "a number"
        raise ValueError(f"{op}: {name} must be {rule}, got {value!r}")
    return float(value)


def probability(p: Any, op: str, name: str = "probability p") -> float:
    """A probability in [0, 1] (dropout's p, label smoothing)."""
    return number(p, name, op, 0.0, 1.0)


def pair(value: Any, name: str, op: str, minimum: int) -> Tuple[int, int]:
    """An int or a pair of ints (PyTorch's `_pair`), each at least `minimum`, as a tuple."""
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(vals) != 2 or not all(_is_int(v) for v in vals):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in vals):
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value!r}")
    return int(vals[0]), int(vals[1])


def reduction(value: Any, op: str) -> str:
    """One of the loss reductions 'none', 'mean', 'sum'."""
    if value not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {value!r}")
    return value
