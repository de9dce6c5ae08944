"""keep_freed_memory: freed large blocks are reused instead of being page-faulted in again every step."""
import os
import platform
import subprocess
import sys

import pytest

SCRIPT = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from tinygrad_np.allocator import keep_freed_memory
    assert keep_freed_memory(mmap_threshold=64 << 20, trim_threshold=256 << 20)
for _ in range(3):                                   # warm-up: let the thresholds settle
    np.ones(10 << 20, np.float32)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    np.ones(10 << 20, np.float32)                    # 40 MiB, allocated and freed each time
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
@pytest.mark.parametrize("threads", [None, "1"], ids=["blas-default", "OPENBLAS_NUM_THREADS=1"])
def test_keep_freed_memory_removes_repeated_page_faults(threads):
    # The count is of 4 KiB pages: NumPy's transparent huge pages (on by default where the kernel allows) would
    # turn ~10,000 faults per array into ~20, and whether they apply depends on settings such as
    # OPENBLAS_NUM_THREADS=1 (the README recommends it), so they are switched off here.
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env["NUMPY_MADVISE_HUGEPAGE"] = "0"
    if threads is not None:
        env["OPENBLAS_NUM_THREADS"] = threads

    def faults(mode):
        out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True,
                             env=env)
        return int(out.stdout.strip())
    default, tuned = faults("default"), faults("tuned")
    # 40 MiB is above glibc's adaptive mmap limit (32 MiB): by default each of the 30 arrays is a fresh mapping
    # that faults in ~10,000 pages; reused heap memory faults almost none
    assert default > 10_000
    assert tuned < default / 20
