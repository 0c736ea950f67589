"""Time one Rprop step on the CPU against its peers, measured in the same run.

For n in {1e3, 1e5, 1e6, 1e7} and float32/float64 it prints the median time
per iRprop- step of

- ``rprop_np.Rprop.step`` (the fused Numba kernel, threaded above
  ``PARALLEL_MIN_SIZE``),
- ``torch.optim.Rprop(foreach=True)`` on a CPU tensor (skipped without torch),
- the NumPy reference ``rprop_np.reference.rprop_step``,
- a Numba kernel that only moves the bytes an iRprop- step moves (read x, g,
  step size, int8 sign; write x, step size, sign): the memory-bandwidth limit,

with the effective bandwidth of rprop_np and the ratios. Three gradients are
cycled so that signs flip and every branch is taken. Run::

    python benchmarks/bench_step.py
    python benchmarks/bench_step.py --sizes 1e3 1e6 --repeats 50

Targets on the 2-core development machine: at n=1e7 float64 at least 15x
faster than torch foreach and within 1.15x of the copy kernel; at n=1e3 at
most 3 microseconds per step.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit, prange

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rprop_np as rp  # noqa: E402
from rprop_np import _cpu, reference  # noqa: E402
from rprop_np._variants import IRPROP_MINUS  # noqa: E402


@njit(cache=True, parallel=True)
def copy_same_bytes(params, grad, step_size, prev_sign, parallel):
    """Moves exactly the bytes of an iRprop- step, with no arithmetic of note."""
    if parallel:
        for i in prange(params.size):
            params[i] = grad[i] - params[i]
            step_size[i] = -step_size[i]
            prev_sign[i] = -prev_sign[i]
    else:
        for i in range(params.size):
            params[i] = grad[i] - params[i]
            step_size[i] = -step_size[i]
            prev_sign[i] = -prev_sign[i]


def bytes_per_element(dtype):
    size = np.dtype(dtype).itemsize
    return (3 * size + 1) + (2 * size + 1)


def median_time(step, grads, repeats):
    """Median seconds of `step(grad)`, cycling through `grads`, after a warm-up."""
    for grad in grads:
        step(grad)
    batch = max(1, int(2e-4 / max(_one_call(step, grads[0]), 1e-9)))
    samples = []
    for k in range(repeats):
        grad = grads[k % len(grads)]
        start = time.perf_counter()
        for _ in range(batch):
            step(grad)
        samples.append((time.perf_counter() - start) / batch)
    return statistics.median(samples)


def _one_call(step, grad):
    start = time.perf_counter()
    step(grad)
    return time.perf_counter() - start


def measure(n, dtype, repeats):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(3)]
    x = rng.standard_normal(n).astype(dtype)
    times = {}

    optimizer = rp.Rprop(x)
    times["rprop_np"] = median_time(optimizer.step, grads, repeats)

    try:
        import torch
    except ImportError:
        times["torch"] = None
    else:
        param = torch.from_numpy(x.copy()).requires_grad_(True)
        torch_optimizer = torch.optim.Rprop([param], foreach=True)
        torch_grads = [torch.from_numpy(g) for g in grads]

        def torch_step(grad):
            param.grad = grad
            torch_optimizer.step()

        times["torch"] = median_time(torch_step, torch_grads, repeats)

    scalar = np.dtype(dtype).type
    step_size = np.full(n, 0.01, dtype)
    prev_sign = np.zeros(n, np.int8)
    hyper = tuple(scalar(v) for v in (0.5, 1.2, 1e-6, 50.0))

    def reference_step(grad):
        reference.rprop_step(IRPROP_MINUS, x, grad, step_size, prev_sign,
                             np.zeros(0, dtype), *hyper, False, False)

    times["reference"] = median_time(reference_step, grads, max(3, repeats // 10))

    parallel = n >= _cpu.PARALLEL_MIN_SIZE

    def copy_step(grad):
        copy_same_bytes(x, grad, step_size, prev_sign, parallel)

    times["copy"] = median_time(copy_step, grads, repeats)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e3, 1e5, 1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=41, help="samples per median")
    args = parser.parse_args()

    print(f"{'n':>8} {'dtype':>8} {'rprop_np us':>12} {'GB/s':>6} {'torch us':>10} "
          f"{'reference us':>13} {'copy us':>10} {'torch/rp':>9} {'ref/rp':>7} "
          f"{'rp/copy':>8}")
    results = {}
    for n in map(int, args.sizes):
        for dtype in (np.float32, np.float64):
            t = measure(n, dtype, args.repeats)
            results[n, np.dtype(dtype).name] = t
            torch_us = "-" if t["torch"] is None else f"{t['torch'] * 1e6:.1f}"
            torch_ratio = (
                "-" if t["torch"] is None else f"{t['torch'] / t['rprop_np']:.1f}x"
            )
            print(f"{n:>8.0e} {np.dtype(dtype).name:>8} {t['rprop_np'] * 1e6:>12.2f} "
                  f"{bytes_per_element(dtype) * n / t['rprop_np'] / 1e9:>6.1f} "
                  f"{torch_us:>10} {t['reference'] * 1e6:>13.1f} "
                  f"{t['copy'] * 1e6:>10.2f} {torch_ratio:>9} "
                  f"{t['reference'] / t['rprop_np']:>6.1f}x "
                  f"{t['rprop_np'] / t['copy']:>7.2f}x")

    print()
    if (int(1e7), "float64") in results:
        t = results[int(1e7), "float64"]
        if t["torch"] is not None:
            print(f"n=1e7 float64: {t['torch'] / t['rprop_np']:.1f}x faster than torch "
                  "foreach (target >= 15x)")
        print(f"n=1e7 float64: {t['rprop_np'] / t['copy']:.2f}x the copy kernel's "
              "time (target <= 1.15x)")
    if (int(1e3), "float64") in results:
        print(f"n=1e3 float64: {results[int(1e3), 'float64']['rprop_np'] * 1e6:.2f} us "
              "per step (target <= 3 us)")


if __name__ == "__main__":
    main()
