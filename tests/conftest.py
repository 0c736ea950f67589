"""Run the CUDA tests on Numba's simulator where this machine has no GPU.

The switch must be set before numba.cuda is first imported, so it lives here,
before any test module loads. On a machine with an NVIDIA driver it is left
alone and the same tests run on the real GPU.
"""

import ctypes.util
import os
from pathlib import Path


def _has_nvidia_driver() -> bool:
    driver = ctypes.util.find_library("cuda")
    return Path("/dev/nvidiactl").exists() or driver is not None


if "NUMBA_ENABLE_CUDASIM" not in os.environ and not _has_nvidia_driver():
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
