"""The gradient check that must pass before anything is timed.

For every model and batch: one forward + backward from the same weights and batch in the hand-written
baseline, tinygrad_np and PyTorch (when importable); every parameter gradient and the loss of each
framework must equal the baseline's within TOL. The error of a parameter is
max|g - g_hand| / max|g_hand| (relative to the gradient's scale, so float32 rounding in entries that
are nearly zero cannot fail it while a wrong entry of any real size does). The 10-op overhead chain is
checked the same way.
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from . import specs
from .machine import torch_installed
from .micro import chain_gradients
from .train import make_trainer

TOL = 1e-3


def rel_err(g: Any, ref: np.ndarray) -> float:
    if g is None:
        return float("inf")
    g = np.asarray(g, dtype=np.float64)
    if g.shape != ref.shape:
        return float("inf")
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    return float(np.max(np.abs(g - ref.astype(np.float64)))) / max(scale, 1e-30) if ref.size else 0.0


def _compare(ref: Dict[str, np.ndarray], got: Dict[str, Any]) -> Dict[str, float]:
    missing = set(ref) ^ set(got)
    if missing:
        raise RuntimeError(f"parameter names differ from the baseline's: {sorted(missing)}")
    return {k: rel_err(got[k], ref[k]) for k in ref}


def _frameworks() -> List[str]:
    return ["tinygrad_np", "torch"] if torch_installed() else ["tinygrad_np"]


def run_gradient_check() -> Dict[str, Any]:
    entries = []
    for model, batch in specs.train_items():
        loss_ref, ref = make_trainer("hand", model, batch).gradients()
        for fw in _frameworks():
            e: Dict[str, Any] = {"model": model, "batch": batch, "framework": fw, "loss_hand": loss_ref}
            try:
                loss, got = make_trainer(fw, model, batch).gradients()
                errs = _compare(ref, got)
                e.update(loss=loss, loss_rel_err=abs(loss - loss_ref) / max(abs(loss_ref), 1e-12),
                         param_rel_err=errs, max_rel_err=max(errs.values()))
                e["passed"] = e["max_rel_err"] < TOL and e["loss_rel_err"] < TOL
            except Exception as ex:                 # a missing layer or a crash is a failed check
                e.update(passed=False, error=f"{type(ex).__name__}: {ex}")
            entries.append(e)
    ref = chain_gradients("hand")
    for fw in _frameworks():
        e = {"model": "overhead_chain", "batch": 1, "framework": fw}
        try:
            errs = _compare(ref, chain_gradients(fw))
            e.update(param_rel_err=errs, max_rel_err=max(errs.values()), passed=max(errs.values()) < TOL)
        except Exception as ex:
            e.update(passed=False, error=f"{type(ex).__name__}: {ex}")
        entries.append(e)
    return {"tolerance": TOL, "passed": all(e["passed"] for e in entries), "entries": entries}
