"""`python -m tinygrad_np.as_torch`: the corpus of PyTorch-style programs (tests/as_torch_corpus/) runs
unmodified, and its final losses match real PyTorch's from the same start (weights and data are drawn with
NumPy inside each program, so both frameworks start identically). Unsupported APIs fail naming the API.

Tolerances (relative, on the final loss): both sides compute in float32, but BLAS/convolution summation
orders differ, so each step differs by ~1e-7 relative and training amplifies that along the trajectory.
Measured differences: <= 3e-7 for the polynomial fits, the CNN and the VAE; 1.5e-4 for poly_optim (1000
adaptive-optimizer steps); 2e-3 for mnist_loop (lr=1 Adadelta on conv nets). The bounds below are ~5-10x
those, far below what a wrong gradient or update rule gives (a changed optimizer rule moves these losses
by 10-100%; the silently failing `p -= ...` left poly_autograd at ~3e4 instead of 9).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "as_torch_corpus"
PROGRAMS = {  # program: (extra args, relative tolerance vs PyTorch, an upper bound on the final loss)
    "poly_autograd.py": ((), 1e-5, 20.0),
    "poly_custom_function.py": ((), 1e-5, 20.0),
    "poly_nn.py": ((), 1e-5, 20.0),
    "poly_optim.py": ((), 2e-3, 1000.0),
    "dynamic_net.py": ((), 1e-5, 1000.0),
    "small_cnn.py": ((), 1e-4, 1.5),
    "mnist_loop.py": (("--no-shuffle", "--dropout", "0"), 2e-2, 2.3),
    "vae.py": ((), 1e-4, 45.0),
}


def _run(args: list, torch_side: bool = False) -> subprocess.CompletedProcess:
    # one thread each: on a shared 2-core machine PyTorch's thread pool otherwise spins (10x slower)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    cmd = [sys.executable] + ([] if torch_side else ["-m", "tinygrad_np.as_torch"]) + args
    return subprocess.run(cmd, cwd=CORPUS, env=env, capture_output=True, text=True, timeout=600)


def _final_loss(proc: subprocess.CompletedProcess) -> float:
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("final loss:")]
    assert lines, proc.stdout[-2000:]
    return float(lines[-1].split(":")[1])


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_corpus_program_runs_unmodified_and_matches_pytorch(program):
    extra, rtol, bound = PROGRAMS[program]
    ours = _final_loss(_run([program, *extra]))
    assert ours == ours and ours < bound, f"{program}: final loss {ours} (expected < {bound})"
    pytest.importorskip("torch")
    theirs = _final_loss(_run([program, *extra], torch_side=True))
    assert abs(ours - theirs) <= rtol * abs(theirs), f"{program}: tinygrad_np {ours} vs PyTorch {theirs}"


def test_mnist_loop_with_dropout_and_shuffling_still_learns():
    loss = _final_loss(_run(["mnist_loop.py", "--epochs", "2"]))
    assert loss < 2.3          # ln(10) = 2.303 is chance level for 10 classes


def test_unsupported_api_fails_naming_it(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import torch\nmodel = torch.nn.Linear(2, 2)\nmodel = torch.compile(model)\n")
    proc = _run([str(script)])
    assert proc.returncode == 1
    assert "torch.compile is not supported" in proc.stderr and "line 3" in proc.stderr
    assert "Traceback" not in proc.stderr
    script.write_text("import torch.distributed as dist\n")
    proc = _run([str(script)])
    assert proc.returncode == 1 and "torch.distributed is not supported" in proc.stderr
    script.write_text("import torch\nx = torch.nn.Transformer()\n")
    proc = _run([str(script)])
    assert proc.returncode == 1 and "torch.nn.Transformer is not supported" in proc.stderr


def test_usage_and_missing_script():
    proc = _run([])
    assert proc.returncode == 2 and "usage: python -m tinygrad_np.as_torch" in proc.stderr
    proc = _run(["no_such_script.py"])
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_install_resolves_torch_in_process_and_uninstall_restores():
    import tinygrad_np as tg
    from tinygrad_np import as_torch
    before = sys.modules.get("torch")
    with as_torch.installed():
        import torch
        import torch.nn.functional as F
        from torch.utils.data import DataLoader
        assert torch.Tensor is tg.Tensor and F.relu is tg.nn.functional.relu and DataLoader is tg.data.DataLoader
        assert torch.tensor([1.0]).device == torch.device("cpu") and not torch.cuda.is_available()
    assert sys.modules.get("torch") is before
