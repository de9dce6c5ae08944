"""Where and with what a run was made: CPU, cores, memory, versions, BLAS, the checkout's commit."""
from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

ROOT = Path(__file__).resolve().parents[1]
TORCH_HINT = "pip install torch==2.13.0 adds the PyTorch columns"


def torch_installed() -> bool:
    """Whether PyTorch can be imported here (found without importing it, so NumPy's thread setup is untouched)."""
    return importlib.util.find_spec("torch") is not None


def machine_info() -> Dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    mem = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "usable_cores": usable, "memory_gib": mem,
            "platform": platform.platform(), "python": sys.version.split()[0]}


def git_info() -> Dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _blas() -> Dict[str, Any]:
    import numpy as np
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return {k: cfg.get(k) for k in ("name", "version", "openblas configuration") if cfg.get(k)}
    except Exception:                       # older NumPy: no dict mode; the version is enough then
        return {}


def worker_versions(framework: str) -> Dict[str, Any]:
    """Versions as seen inside a worker (after its thread count was fixed)."""
    import numpy as np
    info: Dict[str, Any] = {"python": sys.version.split()[0], "numpy": np.__version__, "blas": _blas(),
                            "env_threads": {k: os.environ.get(k) for k in
                                            ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                             "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}}
    if framework in ("tinygrad_np", "check"):
        import tinygrad_np
        info["tinygrad_np"] = tinygrad_np.__version__
        info["tinygrad_np_path"] = str(Path(tinygrad_np.__file__).resolve().parent)
    if framework == "torch" or framework == "check" and torch_installed():
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    return info
