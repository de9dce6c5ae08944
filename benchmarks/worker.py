"""A benchmark worker: one process per (framework, thread count), driven over stdin/stdout.

    python -m benchmarks.worker FRAMEWORK THREADS

The parent puts the thread count in OMP/OPENBLAS/MKL_NUM_THREADS before this process starts, so
BLAS sizes its pool before NumPy loads; the worker checks that and, for PyTorch, also calls
`torch.set_num_threads`. Requests and replies are one JSON object per line; the worker's own
stdout is redirected to stderr so that nothing else can interleave with the replies.
Frameworks: hand (bare NumPy), tinygrad_np, torch, and check (all installed ones, for the gradient check).
"""
from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any, Dict

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS")


# glibc's malloc otherwise hands freed large blocks back to the OS and page-faults them in again on the
# next step (thousands of faults per CNN step). The same setting goes to every framework's worker, so
# the comparison stays fair; it is what `tinygrad_np.allocator.keep_freed_memory()` does for training.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(128 << 20)}


def thread_env(threads: int) -> Dict[str, str]:
    return {**{k: str(threads) for k in THREAD_VARS}, **MALLOC_ENV}


class Worker:
    def __init__(self, framework: str, threads: int) -> None:
        if "numpy" in sys.modules:
            raise RuntimeError("benchmarks.worker: NumPy was loaded before the thread count was set")
        for k, v in thread_env(threads).items():
            if os.environ.get(k) != v:
                raise RuntimeError(f"benchmarks.worker: {k} must be {v} in the environment, "
                                   f"found {os.environ.get(k)!r}")
        self.framework = framework
        self.threads = threads
        from .machine import torch_installed
        if framework == "torch" or framework == "check" and torch_installed():
            import torch
            torch.set_num_threads(threads)
        if framework in ("tinygrad_np", "check"):
            import tinygrad_np
            tinygrad_np.set_num_threads(threads)
        from . import micro, timing
        self.micro, self.timing = micro, timing
        self.bench: Any = None
        self.sentinel = micro.make_matmul(micro.SENTINEL_N)

    # ---- requests ---------------------------------------------------------------------------------
    def hello(self, seconds: float) -> Dict[str, Any]:
        from .machine import worker_versions
        return {"versions": worker_versions(self.framework), "sentinel": self.run_sentinel(seconds),
                "load": _loadavg()}

    def run_sentinel(self, seconds: float) -> float:
        self.timing.warm_up(self.sentinel.step, 0.0, 3)
        return self.timing.run_repeat(self.sentinel.step, seconds, 5)["median"]

    def setup(self, kind: str, name: str, batch: int = 0) -> Dict[str, Any]:
        """Build the benchmark `kind`/`name` for this worker's framework (replacing the previous one)."""
        self.bench = None
        m = self.micro
        fw = self.framework
        if kind == "train":
            from .train import make_trainer
            t = make_trainer(fw, name, batch)
            self.bench = m.Bench(t.step, reset=t.reset)
        elif kind == "layer":
            self.bench = m.make_layer(fw, name)
        elif kind == "overhead":
            if name == "chain":
                self.bench = m.make_chain(fw)
            else:
                self.bench = m.make_add(fw, requires_grad=name == "add_grad")
        elif kind == "optim":
            self.bench = m.make_sgd(fw)
        elif kind == "matmul":
            self.bench = m.make_matmul()
        else:
            raise ValueError(f"benchmarks.worker: unknown benchmark kind {kind!r}")
        return {"inner": self.bench.inner}

    def warmup(self, seconds: float, min_steps: int) -> Dict[str, Any]:
        return {"steps": self.timing.warm_up(self.bench.step, seconds, min_steps)}

    def repeat(self, seconds: float, min_steps: int) -> Dict[str, Any]:
        if self.bench.reset is not None:
            self.bench.reset()
        return self.timing.run_repeat(self.bench.step, seconds, min_steps, self.bench.inner)

    def memory(self) -> Dict[str, Any]:
        b = self.bench
        if b.reset is not None:
            b.reset()
        self.timing.warm_up(b.step, 0.0, 2)
        return {"peak_bytes": self.timing.peak_memory(b.step)}

    def release(self) -> Dict[str, Any]:
        self.bench = None
        return {}

    def gradcheck(self) -> Dict[str, Any]:
        from .check import run_gradient_check
        return run_gradient_check()

    def bye(self, seconds: float) -> Dict[str, Any]:
        self.bench = None
        return {"sentinel": self.run_sentinel(seconds), "load": _loadavg()}


def _loadavg() -> Any:
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def main(argv: Any = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    framework, threads = argv[0], int(argv[1])
    out = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout = sys.stderr                     # stray prints must not corrupt the protocol
    try:
        worker = Worker(framework, threads)
        out.write(json.dumps({"ok": True}) + "\n")
    except Exception as e:                       # e.g. torch missing: the parent reports it and goes on
        out.write(json.dumps({"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}) + "\n")
        return 1
    for line in sys.stdin:
        req = json.loads(line)
        op = req.pop("op")
        try:
            reply = getattr(worker, op)(**req)
        except Exception as e:
            reply = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
        out.write(json.dumps(reply) + "\n")
        if op == "bye":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
