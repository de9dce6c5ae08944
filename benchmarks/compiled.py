"""python -m benchmarks.compiled [--quick] [--only NAME,...]: tg.compile's rows, every ratio measured side by side.

For each seed MLP (all benchmark batch sizes) and the tiny 64-16-10 MLP: the hand-written NumPy step
(hand.py), the eager tinygrad_np step and the compiled step (`tg.compile` of that same eager step);
for the CNN: eager against compiled; and the replay cost per op of a 100-op elementwise chain on
1-element arrays against the same chain written in NumPy. The variants of one row run in interleaved
rounds (A B C A B C ...) in one process at 1 BLAS thread, and each ratio is the median over rounds of
the per-round ratio, so a load change on the shared machine hits numerator and denominator alike.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from . import specs, train

TARGETS = {"compiled/hand (seed MLPs)": 0.9, "compiled/hand (tiny MLP)": 1.0, "compiled/eager (CNN)": 0.95,
           "replay µs/op above NumPy": 0.5}
CHAIN_OPS = 100


def _median_call(fn: Callable[[], Any], seconds: float, min_calls: int) -> float:
    times = []
    end = time.perf_counter() + seconds
    while len(times) < min_calls or time.perf_counter() < end:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def side_by_side(variants: Dict[str, Callable[[], Any]], rounds: int, seconds: float, min_calls: int) -> Dict[str, list]:
    """Per-round medians of every variant, the variants interleaved within each round."""
    for fn in variants.values():                 # warm-up: traces, caches, allocator pools
        for _ in range(3):
            fn()
    out: Dict[str, list] = {k: [] for k in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            out[name].append(_median_call(fn, seconds, min_calls))
    return out


def ratio(per_round: Dict[str, list], a: str, b: str) -> float:
    return statistics.median(x / y for x, y in zip(per_round[a], per_round[b]))


def compiled_trainer(model: str, batch: int) -> Tuple[Callable[[], Any], Any]:
    """The eager benchmark step of tinygrad_np, wrapped in tg.compile."""
    import tinygrad_np as tg
    from models.backprop import training_step
    t = train.make_trainer("tinygrad_np", model, batch)
    compiled = tg.compile(training_step(t.model, t.opt, t.loss_fn))
    x, y = t.x, t.y
    return (lambda: compiled(x, y)), t


def chain_variants() -> Dict[str, Callable[[], Any]]:
    """x → (x·w + c) repeated: 100 forward ops, then backward to x; the same in NumPy by hand."""
    import tinygrad_np as tg
    xa, wa, ca = np.array([0.3]), np.array([0.99]), np.array([0.01])
    x, w, c = tg.tensor(xa, requires_grad=True), tg.tensor(wa), tg.tensor(ca)

    def step(x):
        h = x
        for _ in range(CHAIN_OPS // 2):
            h = h * w + c
        h.backward()
        return h
    compiled = tg.compile(step)

    def numpy_chain():
        h = xa
        for _ in range(CHAIN_OPS // 2):
            h = h * wa
            h = h + ca
        g = np.ones(1)
        for _ in range(CHAIN_OPS // 2):        # d/dx through the chain: one multiply per Mul (Add passes it on)
            g = g * wa
        return h, g

    def compiled_chain():
        x.grad = None
        return compiled(x)
    return {"numpy": numpy_chain, "compiled": compiled_chain}


def main(argv: Any = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.compiled", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a few short rounds (a smoke test; ratios not meaningful)")
    p.add_argument("--only", default=None, help="comma-separated rows: model/batch (digits_mlp/32), cnn, chain")
    a = p.parse_args(argv)
    only = None if a.only is None else {s.strip() for s in a.only.split(",")}
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        print("threadpoolctl missing: BLAS threads not limited", file=sys.stderr)
    rounds, seconds, min_calls = (2, 0.02, 3) if a.quick else (7, 0.25, 5)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"tg.compile benchmarks (1 BLAS thread; load average {load:.1f} on {os.cpu_count()} cores at the start: "
          "a loaded shared machine moves absolute times, the side-by-side ratios much less)")
    print(f"{'row':24s} {'hand µs':>10s} {'eager µs':>10s} {'compiled µs':>12s} {'compiled/hand':>14s} "
          f"{'eager/hand':>11s} {'compiled/eager':>15s}")
    rows: List[dict] = []
    for m in specs.MODELS:
        if m.spec.net != "mlp":
            continue
        for b in m.batches:
            name = f"{m.name}/{b}"
            if only and name not in only and m.name not in only:
                continue
            hand = train.make_trainer("hand", m.name, b)
            eager = train.make_trainer("tinygrad_np", m.name, b)
            comp, _ = compiled_trainer(m.name, b)
            r = side_by_side({"hand": hand.step, "eager": eager.step, "compiled": comp}, rounds, seconds, min_calls)
            med = {k: statistics.median(v) * 1e6 for k, v in r.items()}
            row = {"row": name, **med, "compiled/hand": ratio(r, "compiled", "hand"),
                   "eager/hand": ratio(r, "eager", "hand"), "compiled/eager": ratio(r, "compiled", "eager")}
            rows.append(row)
            print(f"{name:24s} {med['hand']:10.1f} {med['eager']:10.1f} {med['compiled']:12.1f} "
                  f"{row['compiled/hand']:14.2f} {row['eager/hand']:11.2f} {row['compiled/eager']:15.2f}", flush=True)
    if not only or "cnn" in only:
        cnn = next(m for m in specs.MODELS if m.spec.net != "mlp")
        b = cnn.batches[0]
        eager = train.make_trainer("tinygrad_np", cnn.name, b)
        comp, _ = compiled_trainer(cnn.name, b)
        r = side_by_side({"eager": eager.step, "compiled": comp}, rounds, seconds * 2, 3)
        med = {k: statistics.median(v) * 1e6 for k, v in r.items()}
        print(f"{cnn.name + '/' + str(b):24s} {'':>10s} {med['eager']:10.1f} {med['compiled']:12.1f} {'':>14s} "
              f"{'':>11s} {ratio(r, 'compiled', 'eager'):15.2f}", flush=True)
    if not only or "chain" in only:
        r = side_by_side(chain_variants(), rounds, seconds, min_calls)
        per_op = statistics.median((c - n) / CHAIN_OPS for c, n in zip(r["compiled"], r["numpy"])) * 1e6
        med = {k: statistics.median(v) * 1e6 for k, v in r.items()}
        print(f"chain of {CHAIN_OPS} ops: NumPy {med['numpy']:.1f} µs, compiled {med['compiled']:.1f} µs → replay costs "
              f"{per_op:+.2f} µs per op above NumPy's own (forward ops counted; both include the backward)")
    print("targets: " + ", ".join(f"{k} ≤ {v}" for k, v in TARGETS.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
