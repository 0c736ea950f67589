"""Time rprop_np's CUDA step against a copy kernel and torch's CUDA Rprop.

For each size and dtype it prints the median time per iRprop- step of
``rprop_np.Rprop`` on Numba device arrays (CUDA events around a batch of
steps), the effective bandwidth for the bytes the step must move (read x, g,
step size, int8 sign; write x, step size, sign), the same for a CUDA kernel
that only moves those bytes (the memory-bandwidth limit), and
``torch.optim.Rprop(foreach=True)`` on CUDA tensors when torch has CUDA.

Run on a machine with an NVIDIA GPU::

    python benchmarks/bench_cuda.py                  # n = 1e6, 1e7, 1e8
    python benchmarks/bench_cuda.py --sizes 1e6 --repeats 5

Targets on an H100 at n = 1e8: at least 80% of the copy kernel's bandwidth and
at least 5x faster than torch's CUDA Rprop. Under NUMBA_ENABLE_CUDASIM=1 it
runs (slowly, use tiny sizes) only to check that it works.
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np
from numba import cuda

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rprop_np as rp  # noqa: E402
from rprop_np._cuda import launch_config  # noqa: E402


@cuda.jit
def copy_same_bytes(params, grad, step_size, prev_sign):
    """Moves exactly the bytes of an iRprop- step and does no arithmetic of note."""
    for i in range(cuda.grid(1), params.size, cuda.gridsize(1)):
        params[i] = grad[i] - params[i]
        step_size[i] = -step_size[i]
        prev_sign[i] = -prev_sign[i]


def bytes_per_element(dtype):
    """Read x, g, step size (dtype) and sign (int8); write x, step size, sign."""
    size = np.dtype(dtype).itemsize
    return (3 * size + 1) + (2 * size + 1)


def time_per_call(run, steps, repeats):
    """Median seconds per call of `run`, timed with CUDA events over `steps` calls."""
    run()  # compile and warm up
    cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start, stop = cuda.event(), cuda.event()
        start.record()
        for _ in range(steps):
            run()
        stop.record()
        stop.synchronize()
        samples.append(start.elapsed_time(stop) / 1e3 / steps)
    return statistics.median(samples)


def time_torch(n, dtype, steps, repeats):
    """Median seconds per torch.optim.Rprop(foreach=True) step on CUDA, or None."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch_dtype = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    param = torch.randn(n, dtype=torch_dtype, device="cuda", requires_grad=True)
    param.grad = torch.randn(n, dtype=torch_dtype, device="cuda")
    optimizer = torch.optim.Rprop([param], foreach=True)
    optimizer.step()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            optimizer.step()
        stop.record()
        stop.synchronize()
        samples.append(start.elapsed_time(stop) / 1e3 / steps)
    del param, optimizer
    torch.cuda.empty_cache()  # leave the memory to the next size
    return statistics.median(samples)


def time_rprop_and_copy(n, dtype, steps, repeats):
    """Median seconds per step of rprop_np and of the copy kernel, on the GPU."""
    rng = np.random.default_rng(0)
    x = cuda.to_device(rng.standard_normal(n).astype(dtype))
    # Alternate two gradients so signs flip and every branch is exercised.
    grads = [cuda.to_device(rng.standard_normal(n).astype(dtype)) for _ in range(2)]
    optimizer = rp.Rprop(x)
    turn = [0]

    def rprop_step():
        turn[0] ^= 1
        optimizer.step(grads[turn[0]])

    rprop_time = time_per_call(rprop_step, steps, repeats)
    step_size = cuda.to_device(np.full(n, 0.01, dtype))
    sign = cuda.to_device(np.ones(n, np.int8))
    blocks, threads = launch_config(n)

    def copy_step():
        copy_same_bytes[blocks, threads](x, grads[0], step_size, sign)

    copy_time = time_per_call(copy_step, steps, repeats)
    return rprop_time, copy_time  # the device arrays are freed on return


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7, 1e8])
    parser.add_argument("--steps", type=int, default=20, help="steps per timing")
    parser.add_argument("--repeats", type=int, default=7, help="timings per median")
    args = parser.parse_args()

    device = cuda.get_current_device()
    print(f"device: {getattr(device, 'name', device)}")
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        print("(CUDA simulator: the times below are not measurements)")
    header = (f"{'n':>10} {'dtype':>8} {'rprop_np us':>12} {'GB/s':>7} "
              f"{'copy us':>10} {'copy GB/s':>10} {'of copy':>8} {'torch us':>10} "
              f"{'torch/rprop':>11}")
    print(header)
    results = {}
    for n in map(int, args.sizes):
        for dtype in (np.float32, np.float64):
            rprop_time, copy_time = time_rprop_and_copy(
                n, dtype, args.steps, args.repeats)
            torch_time = time_torch(n, dtype, args.steps, args.repeats)
            moved = bytes_per_element(dtype) * n
            torch_text = ("-", "-") if torch_time is None else (
                f"{torch_time * 1e6:.1f}", f"{torch_time / rprop_time:.1f}x")
            print(f"{n:>10.0e} {np.dtype(dtype).name:>8} {rprop_time * 1e6:>12.1f} "
                  f"{moved / rprop_time / 1e9:>7.0f} {copy_time * 1e6:>10.1f} "
                  f"{moved / copy_time / 1e9:>10.0f} "
                  f"{copy_time / rprop_time:>7.0%} {torch_text[0]:>10} "
                  f"{torch_text[1]:>11}")
            results[n, dtype] = (rprop_time, copy_time, torch_time)
    largest = max(n for n, _ in results)
    for dtype in (np.float32, np.float64):
        rprop_time, copy_time, torch_time = results[largest, dtype]
        verdict = [f"{copy_time / rprop_time:.0%} of the copy kernel (target 80%)"]
        if torch_time is not None:
            verdict.append(f"{torch_time / rprop_time:.1f}x torch (target 5x)")
        print(f"n={largest:.0e} {np.dtype(dtype).name}: " + ", ".join(verdict))


if __name__ == "__main__":
    main()
