"""keep_freed_memory: freed large blocks are reused instead of being page-faulted in again every step."""
import subprocess
import sys
import platform

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
def test_keep_freed_memory_removes_repeated_page_faults():
    def faults(mode):
        out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
        return int(out.stdout.strip())
    default, tuned = faults("default"), faults("tuned")
    # 40 MiB is above glibc's adaptive mmap limit (32 MiB): by default each of the 30 arrays is a fresh mapping
    # that faults in ~10,000 pages; reused heap memory faults almost none
    assert default > 10_000
    assert tuned < default / 20
