"""Why a gradient check failed: the known mistakes whose numbers have a recognisable shape.

`diagnose(case)` runs only after `gradcheck` found a mismatch, and returns one sentence (or None when
nothing fits). It tries, in order (each later test assumes the earlier ones did not fire):
1. a non-deterministic backward (two backprops with the same upstream gradient differ);
2. a backward that ignores grad_output (backprop with upstream 2v equals backprop with v);
3. float32 arithmetic inside fn (rounding ≈ 1e-7·|f| / eps swamps a difference quotient);
4. a kink or tie at the worst index (the two one-sided difference quotients disagree there);
5. a missing sum over broadcast axes (with a uniform upstream gradient, backprop is exactly 1/k of
   the numerical value, k = how many times the input is broadcast into the output);
6. a sign flip or a constant factor (backprop = c · numerical for one c, e.g. 2 or a missing 1/m);
7. a transposed gradient (backprop equals the numerical gradient with its last two axes swapped).
Each test compares arrays with the check's own tolerances, so a correct gradient never matches one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np


@dataclass
class Case:
    index: int                                   # which input failed
    x: np.ndarray                                # its (float64) values; perturbed in place and restored
    analytic: np.ndarray
    numerical: np.ndarray
    worst: tuple
    eps: float
    atol: float
    rtol: float
    out_dtypes: list                             # dtypes fn returned (before gradcheck's float64 sums)
    out_sizes: list
    vs: list                                     # the random upstream gradients
    backprop_with: Callable[[list], np.ndarray]  # upstream gradients -> backprop of this input
    numerical_with: Callable[[list], np.ndarray]
    objective: Callable[[], float]               # ⟨v, fn(xs)⟩ at the current inputs


def _close(a: np.ndarray, b: np.ndarray, case: Case, scale: float = 1.0) -> bool:
    return bool(np.all(np.abs(a - b) <= scale * (case.atol + case.rtol * np.abs(b))))


def _nonzero(a: np.ndarray, case: Case) -> bool:
    return bool(np.any(np.abs(a) > case.atol))


def _factor_name(c: float) -> str:
    """'exactly 2', 'exactly 1/4', or the number itself."""
    for k in range(2, 1025):
        if abs(abs(c) - k) < 1e-6 * k:
            return f"exactly {'-' if c < 0 else ''}{k}"
        if abs(abs(c) - 1 / k) < 1e-6 / k:
            return f"exactly {'-' if c < 0 else ''}1/{k}"
    return f"{c:.6g}"


def _one_sided(case: Case) -> tuple:
    flat, j = case.x.reshape(-1), int(np.ravel_multi_index(case.worst, case.x.shape))
    orig = flat[j]
    centre = case.objective()
    flat[j] = orig + case.eps
    plus = case.objective()
    flat[j] = orig - case.eps
    minus = case.objective()
    flat[j] = orig
    return (plus - centre) / case.eps, (centre - minus) / case.eps


def diagnose(case: Case) -> Optional[str]:
    a, n = case.analytic, case.numerical
    i = case.index
    again = case.backprop_with(case.vs)
    if not np.allclose(again, a, rtol=1e-12, atol=1e-15, equal_nan=True):
        return (f"the backward is not deterministic: two backprops with the same upstream gradient differ by up "
                f"to {np.nanmax(np.abs(again - a)):.3g} (random numbers or state changed inside backward?)")
    doubled = case.backprop_with([2 * v for v in case.vs])
    if _nonzero(a, case) and np.allclose(doubled, a, rtol=1e-9, atol=1e-15):
        return ("the backward ignores grad_output: backprop gave the same gradient for upstream gradients v and "
                "2v; multiply the local derivative by the incoming gradient")
    if any(np.dtype(d) == np.float32 for d in case.out_dtypes):
        return (f"fn computes in float32: rounding of about 1e-7·|f| divided by the step eps={case.eps:g} swamps "
                "the difference quotient; keep fn in float64 (gradcheck already passes float64 inputs; drop the "
                ".float()/float32 casts inside fn)")
    right, left = _one_sided(case)
    if abs(right - left) > 1e-3 * (1 + abs(right) + abs(left)):
        value = case.x[case.worst]
        return (f"input {i} at index {tuple(int(w) for w in case.worst)} = {value:.6g} sits on a kink or tie: the "
                f"slope is {left:.6g} just left of it and {right:.6g} just right, so no derivative exists there; "
                "move the input away from it (tinygrad_np.testing.arrays(away_from=...), distinct_arrays)")
    ratios = [s // case.x.size for s in case.out_sizes if s > case.x.size and s % case.x.size == 0]
    if ratios:
        ones = [np.ones_like(v) for v in case.vs]
        a1, n1 = case.backprop_with(ones), case.numerical_with(ones)
        for k in sorted(set(ratios)):
            if _nonzero(n1, case) and _close(a1 * k, n1, case, scale=10):
                return (f"the gradient of input {i} was not summed over the axes it is broadcast along: with a uniform "
                        f"upstream gradient backprop is 1/{k} of the numerical value, and input {i} appears {k} "
                        "times in the output; sum (not average, not one slice) over the broadcast axes")
    denom = float(np.sum(n * n))
    if denom > 0:
        c = float(np.sum(a * n)) / denom
        if abs(c - 1) > 1e-3 and _close(a, c * n, case, scale=10):
            if abs(c + 1) < 1e-3:
                return "backprop is the numerical gradient with its sign flipped: a minus sign is missing or extra"
            return (f"backprop is {_factor_name(c)} × the numerical gradient everywhere: a constant factor is wrong "
                    "(a missing 1/m of a mean, a lost factor 2 of a square, a wrong scale)")
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and _close(np.swapaxes(a, -1, -2), n, case):
        return ("backprop is the transpose of the numerical gradient: check the order of a matmul's operands "
                "(dW = Gᵀ·X, not Xᵀ·G) or a missing .T")
    return None
