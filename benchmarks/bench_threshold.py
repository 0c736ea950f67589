"""Find the size above which the threaded (prange) kernel beats the serial one.

For n on a log grid it prints the median time of ``rprop_np._cpu.rprop_step``
with ``parallel=False`` and ``parallel=True`` for iRprop- and Rprop+ in
float64, and the smallest n where the threaded loop is faster by more than
10% for both, next to the ``PARALLEL_MIN_SIZE`` the package uses. Run::

    python benchmarks/bench_threshold.py
"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rprop_np import _cpu  # noqa: E402
from rprop_np._variants import IRPROP_MINUS, RPROP_PLUS, VARIANTS  # noqa: E402

SIZES = [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000]


def median_time(variant, n, parallel, repeats=201):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(n) for _ in range(3)]
    state = (rng.standard_normal(n), np.full(n, 0.01), np.zeros(n, np.int8),
             np.zeros(n))
    hyper = (0.5, 1.2, 1e-6, 50.0)
    samples = []
    for k in range(repeats + 3):
        start = time.perf_counter()
        _cpu.rprop_step(variant, state[0], grads[k % 3], *state[1:], *hyper,
                        False, False, parallel)
        if k >= 3:  # the first calls compile or load the kernel
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main():
    print(f"{'n':>9} {'variant':>8} {'serial us':>10} {'parallel us':>12} "
          f"{'serial/parallel':>16}")
    pays = {}
    for n in SIZES:
        for variant in (IRPROP_MINUS, RPROP_PLUS):
            serial = median_time(variant, n, parallel=False)
            threaded = median_time(variant, n, parallel=True)
            pays.setdefault(n, []).append(serial / threaded > 1.1)
            print(f"{n:>9} {VARIANTS[variant]:>8} {serial * 1e6:>10.1f} "
                  f"{threaded * 1e6:>12.1f} {serial / threaded:>15.2f}x")
    crossover = next((n for n in SIZES if all(pays[n])), None)
    print(f"\nthreaded is >10% faster for both variants from n = {crossover}; "
          f"PARALLEL_MIN_SIZE = {_cpu.PARALLEL_MIN_SIZE}")


if __name__ == "__main__":
    main()
