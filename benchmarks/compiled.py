"""python -m benchmarks.compiled [--quick] [--only NAME,...]: tg.compile's rows, every ratio measured side by side.

For each seed MLP (all benchmark batch sizes) and the tiny 64-16-10 MLP: the hand-written NumPy step
(hand.py), the eager tinygrad_np step and the compiled step (`tg.compile` of that same eager step);
for the CNN: eager against compiled; and the replay cost per op of a 100-op elementwise chain on
1-element arrays against the same chain written in NumPy. The variants of one row run in interleaved
rounds (A B C A B C ...) in one process at 1 thread (BLAS and tinygrad_np's own pool), and each ratio is the median over rounds of
the per-round ratio, so a load change on the shared machine hits numerator and denominator alike.
glibc keeps freed memory for reuse (tinygrad_np.allocator.keep_freed_memory), as in training.
"""
from __future__ import annotations

import argparse
import json
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


def floor_step(hand_trainer: Any) -> Callable[[], Any]:
    """The part of the hand MLP step that every framework's step must do as well, and nothing else:
    its matrix products (forward a Wᵀ per layer, backward Gᵀ a per layer and G W for every layer but the
    first, on real activations and a random G of the right shapes) and SGD's update of every parameter,
    lr·grad then p − that (NumPy has no one-pass axpy), all into preallocated outputs. Its time ÷ the
    hand step's is the floor under compiled ÷ hand with NumPy's BLAS and ufuncs: a target below it is out
    of reach whatever the compiler emits for the rest (bias adds, ReLU, the loss)."""
    mlp = hand_trainer.model
    x = hand_trainer._xy[0]
    rng = np.random.default_rng(0)
    Ws, bs = [W.copy() for W in mlp.W], [b.copy() for b in mlp.b]   # its own: the hand step's stay as they are
    acts, outs, grads, d_in = [x], [], [], []
    for W, b in zip(Ws, bs):
        z = acts[-1] @ W.T + b                   # real activations: no garbage (NaN) through BLAS
        outs.append(z)
        acts.append(np.maximum(z, 0))
        grads.append(rng.standard_normal(z.shape).astype(W.dtype))
        d_in.append(np.empty((x.shape[0], W.shape[1]), W.dtype))
    params = Ws + bs
    flat_grads = np.zeros(sum(p.size for p in params), Ws[0].dtype)   # as compiled: the dW GEMMs write into it
    steps = np.empty_like(flat_grads)
    ends = np.cumsum([p.size for p in params])

    def per_param(flat: np.ndarray) -> list:
        return [flat[end - p.size:end].reshape(p.shape) for p, end in zip(params, ends)]
    views, d_w = per_param(steps), per_param(flat_grads)[:len(Ws)]
    lrs = [np.float32(mlp.lr), np.float32(-mlp.lr)]    # ± in turn: the copies stay bounded over many calls

    def run() -> None:
        for i, W in enumerate(Ws):
            np.matmul(acts[i], W.T, out=outs[i])
        for i in range(len(Ws) - 1, -1, -1):
            np.matmul(grads[i].T, acts[i], out=d_w[i])
            if i > 0:
                np.matmul(grads[i], Ws[i], out=d_in[i])
        lrs.reverse()
        np.multiply(flat_grads, lrs[0], out=steps)   # as the compiled step: one lr·grad for all parameters
        for p, step in zip(params, views):
            np.subtract(p, step, out=p)
    return run


def measure(only: Any = None, quick: bool = False, log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Every row of the section (1 thread), printed through `log` as it is measured, and returned."""
    import tinygrad_np as tg
    from tinygrad_np.allocator import keep_freed_memory
    tg.set_num_threads(1)                         # the hand baseline runs one BLAS thread; so does everyone
    # as training (`python -m models train`) and the other sections' workers (MALLOC_ENV) run: without it,
    # glibc hands the CNN's large arrays back to the OS on free, and the eager step page-faults them in again
    # (~6,900 minor faults per cnn_binary step, measured) while the compiled one, holding its buffers, does not
    keep_freed_memory()
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        log("threadpoolctl missing: BLAS threads not limited")
    rounds, seconds, min_calls = (2, 0.02, 3) if quick else (7, 0.25, 5)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    log(f"tg.compile benchmarks (1 thread; load average {load:.1f} on {os.cpu_count()} cores at the start: "
        "a loaded shared machine moves absolute times, the side-by-side ratios much less)")
    log(f"{'row':24s} {'hand µs':>10s} {'eager µs':>10s} {'compiled µs':>12s} {'compiled/hand':>14s} "
        f"{'eager/hand':>11s} {'compiled/eager':>15s} {'floor/hand':>11s}")
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
            r = side_by_side({"hand": hand.step, "eager": eager.step, "compiled": comp,
                              "floor": floor_step(hand)}, rounds, seconds, min_calls)
            rows.append(_row(m.name, b, r))
            _log_row(log, rows[-1])
    if not only or "cnn" in only or "cnn_binary" in only:
        cnn = next(m for m in specs.MODELS if m.spec.net != "mlp")
        b = cnn.batches[0]
        eager = train.make_trainer("tinygrad_np", cnn.name, b)
        comp, _ = compiled_trainer(cnn.name, b)
        r = side_by_side({"eager": eager.step, "compiled": comp}, rounds, seconds * 2, 3)
        rows.append(_row(cnn.name, b, r))
        _log_row(log, rows[-1])
    chain = None
    if not only or "chain" in only:
        r = side_by_side(chain_variants(), rounds, seconds, min_calls)
        per_op = statistics.median((c - n) / CHAIN_OPS for c, n in zip(r["compiled"], r["numpy"])) * 1e6
        med = {k: statistics.median(v) * 1e6 for k, v in r.items()}
        chain = {"ops": CHAIN_OPS, "numpy_us": med["numpy"], "compiled_us": med["compiled"], "us_per_op": per_op}
        log(f"chain of {CHAIN_OPS} ops: NumPy {med['numpy']:.1f} µs, compiled {med['compiled']:.1f} µs → replay "
            f"costs {per_op:+.2f} µs per op above NumPy's own (forward ops counted; both include the backward)")
    log("targets: " + ", ".join(f"{k} ≤ {v}" for k, v in TARGETS.items()))
    log("floor/hand: the hand step's matrix products and SGD update alone ÷ the hand step, the floor under "
        "compiled/hand with NumPy's BLAS and ufuncs (every step does that work)")
    return {"load_average": load, "rounds": rounds, "rows": rows, "chain": chain, "targets": TARGETS}


def _row(model: str, batch: int, per_round: Dict[str, list]) -> dict:
    row: Dict[str, Any] = {"model": model, "batch": batch,
                           "us": {k: statistics.median(v) * 1e6 for k, v in per_round.items()}}
    for a, b in (("compiled", "hand"), ("eager", "hand"), ("compiled", "eager"), ("floor", "hand")):
        if a in per_round and b in per_round:
            row[f"{a}/{b}"] = ratio(per_round, a, b)
    return row


def _log_row(log: Callable[[str], None], row: dict) -> None:
    us = row["us"]
    cell = lambda v, w, f: f"{v:{w}{f}}" if v is not None else " " * w   # noqa: E731
    log(f"{row['model'] + '/' + str(row['batch']):24s} {cell(us.get('hand'), 10, '.1f')} {us['eager']:10.1f} "
        f"{us['compiled']:12.1f} {cell(row.get('compiled/hand'), 14, '.2f')} {cell(row.get('eager/hand'), 11, '.2f')} "
        f"{row['compiled/eager']:15.2f} {cell(row.get('floor/hand'), 11, '.2f')}")


def main(argv: Any = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.compiled", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a few short rounds (a smoke test; ratios not meaningful)")
    p.add_argument("--only", default=None, help="comma-separated rows: model/batch (digits_mlp/32), cnn, chain")
    p.add_argument("--json", metavar="PATH", help="also write the rows here (python -m benchmarks reads them)")
    a = p.parse_args(argv)
    only = None if a.only is None else {s.strip() for s in a.only.split(",")}
    result = measure(only, a.quick, log=lambda msg: print(msg, flush=True))
    if a.json:
        from tinygrad_np._files import atomic_write
        with atomic_write(a.json, "w") as f:
            json.dump(result, f, indent=1, allow_nan=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
