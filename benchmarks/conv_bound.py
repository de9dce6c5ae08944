"""python -m benchmarks.conv_bound [--seconds S] [--rounds R]: how far im2col convolution is from PyTorch's,
and what bounds it.

For mnist_cnn's conv2 and the seed CNN's conv2, at 1 thread, in interleaved rounds in this one process
(compiled.py's side_by_side: a median per round, ratios paired within rounds): tinygrad_np's conv forward + backward, its three GEMMs alone (forward, dWᵀ, dcols: the shapes and batch chunks
that ops/conv.py uses at that layer, on random data) and PyTorch's forward + backward. When the GEMMs alone
take longer than PyTorch's whole layer, no faster copy or col2im brings the layer to PyTorch's time.
Needs PyTorch.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any, Callable, Dict

import numpy as np

from .compiled import ratio, side_by_side

LAYERS = {"mnist_cnn conv2": (64, 16, 32, 5, 14, 0), "seed CNN conv2": (32, 16, 32, 3, 31, 0)}  # N, C, O, k, H, pad


def _gemms(n: int, c: int, o: int, k: int, h: int, pad: int) -> Callable[[], None]:
    """conv.py's three products at this layer: per chunk W·cols, Σ cols·Gᵀ and Wᵀ·G (bias folded: K + 1)."""
    from tinygrad_np.ops import conv as conv_module, conv_planes
    rng = np.random.default_rng(0)
    oh, hp = h + 2 * pad - k + 1, h + 2 * pad
    rows = c * k * k
    if conv_module.planes_pay(hp, oh):                                    # backward in the plane layout
        columns = hp * hp
        per_chunk = conv_planes._chunk_samples((rows + 1) * columns, 4, conv_module.CHUNK_BYTES)
    else:                                                                 # the wide grid
        per_chunk, _, columns = conv_module._chunking((n, c, hp, hp), 4, (k, k), (1, 1), (oh, oh), True)
    w = rng.standard_normal((o, rows + 1)).astype(np.float32)
    wt = np.ascontiguousarray(w[:, :rows].T)
    cols = rng.standard_normal((per_chunk, rows + 1, columns)).astype(np.float32)
    g = rng.standard_normal((per_chunk, o, columns)).astype(np.float32)
    out, dcols = np.empty((per_chunk, o, columns), np.float32), np.empty((per_chunk, rows, columns), np.float32)
    dwt = np.zeros((rows + 1, o), np.float32)

    def run() -> None:
        for _ in range(-(-n // per_chunk)):
            np.matmul(w, cols, out=out)
            dwt[...] += np.matmul(cols, g.transpose(0, 2, 1)).sum(axis=0)
            np.matmul(wt, g, out=dcols)
    return run


def _layer_step(module: Any, x: Any, grad: Any) -> Callable[[], None]:
    def run() -> None:
        x.grad = None
        for p in module.parameters():
            p.grad = None
        module(x).backward(grad)
    return run


def measure(seconds: float = 0.4, rounds: int = 5) -> Dict[str, Dict[str, float]]:
    import torch
    import tinygrad_np as tg
    from threadpoolctl import threadpool_limits
    tg.set_num_threads(1)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    rows = {}
    for name, (n, c, o, k, h, pad) in LAYERS.items():
        oh = h + 2 * pad - k + 1
        x = rng.standard_normal((n, c, h, h)).astype(np.float32)
        g = rng.standard_normal((n, o, oh, oh)).astype(np.float32)
        variants = {
            "ours": _layer_step(tg.nn.Conv2d(c, o, k, padding=pad), tg.Tensor(x, requires_grad=True), tg.Tensor(g)),
            "gemms": _gemms(n, c, o, k, h, pad),
            "torch": _layer_step(torch.nn.Conv2d(c, o, k, padding=pad),
                                 torch.tensor(x, requires_grad=True), torch.tensor(g)),
        }
        with threadpool_limits(1):
            per_round = side_by_side(variants, rounds, seconds, min_calls=3)
        row = {f"{v} ms": statistics.median(t) * 1e3 for v, t in per_round.items()}
        for v in ("ours", "gemms"):
            row[f"{v}/torch"] = ratio(per_round, v, "torch")
        rows[name] = row
    return rows


def main(argv: Any = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.conv_bound", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=0.4, help="timing per variant and round (default 0.4)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    a = p.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is not installed (pip install torch==2.13.0): nothing to compare with", file=sys.stderr)
        return 1
    print("| layer (1 thread, fwd + bwd) | tinygrad_np ms | its GEMMs alone ms | PyTorch ms | GEMMs ÷ PyTorch | "
          "tinygrad_np ÷ PyTorch |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in measure(a.seconds, a.rounds).items():
        print(f"| {name} | {r['ours ms']:.3g} | {r['gemms ms']:.3g} | {r['torch ms']:.3g} | {r['gemms/torch']:.2f}× | "
              f"{r['ours/torch']:.2f}× |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
