"""Where a training step's time goes: python -m benchmarks.profile_step MODEL BATCH [--threads N] [--steps K] [--top T]

Runs in this one process (thread count set before NumPy loads), interleaving the frameworks.
Prints, per phase (zero_grad, forward, loss, backward, update), the median time in tinygrad_np, the
hand-written baseline and PyTorch, then tinygrad_np's top functions under cProfile. For attribution
only: switching frameworks at every phase cools the caches, so absolute times run above the
benchmark's (which gives each framework its own process).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, List


def _phases_framework(t: Any) -> Dict[str, Any]:
    model, opt, x, y, loss_fn = t.model, t.opt, t.x, t.y, t.loss_fn
    state: Dict[str, Any] = {}

    def zero() -> None:
        opt.zero_grad()

    def forward() -> None:
        state["z"] = model(x)

    def loss() -> None:
        state["l"] = loss_fn(state["z"], y)

    def backward() -> None:
        state["l"].backward()

    def update() -> None:
        opt.step()
    return {"zero_grad": zero, "forward": forward, "loss": loss, "backward": backward, "update": update}


def _phases_hand(t: Any) -> Dict[str, Any]:
    model = t.model
    x, y = t._xy
    st: Dict[str, Any] = {}
    if not hasattr(model, "forward"):                     # the CNN: one call, reported as "backward"
        return {"zero_grad": lambda: None, "forward": lambda: None, "loss": lambda: None,
                "backward": lambda: st.__setitem__("g", model.gradients(x, y)[1]),
                "update": lambda: None}

    def forward() -> None:
        st["z"], st["cache"] = model.forward(x)

    def loss() -> None:
        st["l"], st["dz"] = model.loss(st["z"], y)

    def backward() -> None:
        st["g"] = model.backward(st["dz"], st["cache"])[0]

    def update() -> None:
        model.update(st["g"])
    return {"zero_grad": lambda: None, "forward": forward, "loss": loss, "backward": backward, "update": update}


def main(argv: Any = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_step", description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("batch", type=int)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--top", type=int, default=15)
    a = p.parse_args(argv)
    if "numpy" in sys.modules:
        raise RuntimeError("benchmarks.profile_step: NumPy was loaded before the thread count was set")
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = str(a.threads)
    import cProfile
    import pstats
    import statistics
    import time

    from .train import make_trainer
    fws = ["hand", "tinygrad_np"]
    try:
        import torch
        torch.set_num_threads(a.threads)
        fws.append("torch")
    except ImportError:
        pass
    trainers = {fw: make_trainer(fw, a.model, a.batch) for fw in fws}
    phases = {fw: (_phases_hand(t) if fw == "hand" else _phases_framework(t)) for fw, t in trainers.items()}
    names = ["zero_grad", "forward", "loss", "backward", "update"]
    times: Dict[str, Dict[str, List[float]]] = {fw: {n: [] for n in names} for fw in fws}
    clock = time.perf_counter
    for i in range(a.steps + 10):
        for fw in fws:
            for n in names:
                f = phases[fw][n]
                t0 = clock()
                f()
                if i >= 10:
                    times[fw][n].append(clock() - t0)
    print(f"{a.model} (batch {a.batch}), {a.threads} thread(s), {a.steps} steps: median µs per phase")
    print(f"{'phase':10s}" + "".join(f"{fw:>14s}" for fw in fws))
    for n in names + ["total"]:
        row = []
        for fw in fws:
            v = (sum(statistics.median(times[fw][m]) for m in names) if n == "total"
                 else statistics.median(times[fw][n]))
            row.append(f"{v * 1e6:14.1f}")
        print(f"{n:10s}" + "".join(row))
    prof = cProfile.Profile()
    step = trainers["tinygrad_np"].step
    prof.enable()
    for _ in range(a.steps):
        step()
    prof.disable()
    st = pstats.Stats(prof)
    print("\ntinygrad_np under cProfile (adds ~1 µs per Python call). A function's tottime includes the NumPy\n"
          "operators (+, *, @, indexing) evaluated in its own lines: those are kernels, not framework overhead.")
    st.sort_stats("tottime").print_stats(a.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
