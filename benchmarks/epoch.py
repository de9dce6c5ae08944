"""python -m benchmarks.epoch [NAME,...] [--threads 1,2] [--rounds 3] [--max-steps N]: seconds per training epoch.

tinygrad_np runs the models CLI's own loop (`models.training.fit`, the model's default steps: compiled for
the MLPs, eager for the CNNs; `--eager`/`--compiled` to force); PyTorch runs the same model (built by
models/nets.py with torch.nn), the same optimizer, batch size and shuffled batches, written as a PyTorch
user would (zero_grad, forward, loss, backward, step, `loss.item()`). Both read the model's real default data
(models/data.py). One epoch each, interleaved A B B A ... in this process at each thread count; the ratio
is the median of the per-round ratios, so a load change on the shared machine hits both alike. The first
round is a warm-up (traces, allocator pools) and not counted. `--max-steps` cuts an epoch short (both
frameworks alike) for a quick look.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from dataclasses import replace
from typing import Any, Dict, List

import numpy as np


def _torch_epoch(spec: Any, data: Any, threads: int, max_steps: int, seed: int) -> float:
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    k = 1 if spec.head == "sigmoid" else len(data.classes)
    model = spec.build(torch.nn, input_shape=data.X_train.shape[1:], num_outputs=k, **spec.arch)
    r = spec.recipe
    opt = (torch.optim.Adam(model.parameters(), lr=r.lr, weight_decay=r.weight_decay) if r.optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=r.lr, momentum=r.momentum, weight_decay=r.weight_decay))
    X, y = data.X_train, data.y_train
    n = len(y)
    bs = n if r.batch_size is None else min(r.batch_size, n)
    target = y.astype(np.float32).reshape(-1, 1) if spec.head == "sigmoid" else y.astype(np.int64)
    loss_fn = (torch.nn.functional.binary_cross_entropy_with_logits if spec.head == "sigmoid"
               else torch.nn.functional.cross_entropy)
    order = np.random.default_rng(seed).permutation(n)
    model.train()
    t0 = time.perf_counter()
    for s in range(min(-(-n // bs), max_steps)):
        idx = order[s * bs:(s + 1) * bs]
        xb, tb = torch.from_numpy(X[idx]), torch.from_numpy(target[idx])
        logits = model(xb)
        loss = loss_fn(logits, tb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
        logits.detach().numpy()
    return time.perf_counter() - t0


def _ours_epoch(spec: Any, data: Any, threads: int, max_steps: int, seed: int, compiled: Any) -> float:
    import tinygrad_np as tg
    from models.progress import Progress
    from models.training import fit
    tg.set_num_threads(threads)
    tg.manual_seed(seed)
    k = 1 if spec.head == "sigmoid" else len(data.classes)
    model = spec.build(input_shape=data.X_train.shape[1:], num_outputs=k, **spec.arch)
    bs = len(data.y_train) if spec.recipe.batch_size is None else spec.recipe.batch_size
    part = data
    if max_steps * bs < len(data.y_train):           # cut the epoch the same way as PyTorch's
        part = replace(data, X_train=data.X_train[:max_steps * bs], y_train=data.y_train[:max_steps * bs])
    one = replace(spec, recipe=replace(spec.recipe, epochs=1))
    history = fit(model, one, part, Progress(1, 1, bars=False, stream=io.StringIO()), compiled=compiled)
    return history[0]["seconds"]


def main(argv: Any = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.epoch", description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="?", default="mnist_cnn", help="comma-separated models (default mnist_cnn)")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--rounds", type=int, default=3, help="counted rounds after the warm-up (default 3)")
    p.add_argument("--max-steps", type=int, default=10 ** 9, help="at most this many steps per epoch")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--eager", action="store_true")
    how.add_argument("--compiled", action="store_true")
    a = p.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is not installed (pip install torch==2.13.0): nothing to compare with", file=sys.stderr)
        return 1
    from models.data import load_source, prepare
    from models.registry import MODELS
    from tinygrad_np.allocator import keep_freed_memory
    keep_freed_memory()                    # as `python -m models train` does
    compiled = True if a.compiled else False if a.eager else None
    print("| model | threads | tinygrad_np s/epoch | PyTorch s/epoch | tinygrad_np ÷ PyTorch [min–max] |")
    print("|---|---:|---:|---:|---:|")
    for name in a.names.split(","):
        spec = MODELS[name]
        data = prepare(spec, load_source(spec))
        for threads in (int(t) for t in a.threads.split(",")):
            times: Dict[str, List[float]] = {"ours": [], "torch": []}
            ratios = []
            for r in range(a.rounds + 1):
                pair = {}
                for fw in (("ours", "torch") if r % 2 else ("torch", "ours")):
                    pair[fw] = (_ours_epoch(spec, data, threads, a.max_steps, r, compiled) if fw == "ours"
                                else _torch_epoch(spec, data, threads, a.max_steps, r))
                if r:                                 # round 0 is the warm-up
                    ratios.append(pair["ours"] / pair["torch"])
                    for fw in pair:
                        times[fw].append(pair[fw])
            med = {fw: statistics.median(v) for fw, v in times.items()}
            print(f"| {name} | {threads} | {med['ours']:.3g} | {med['torch']:.3g} | "
                  f"{statistics.median(ratios):.2f}× [{min(ratios):.2f}–{max(ratios):.2f}] |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
