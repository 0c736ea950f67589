"""Find the size from which the threaded (prange) kernel beats the serial one.

For n on a log grid from 1e3 to 1e6 it prints, in float64, for the variants
irprop- (code 3) and rprop+ (code 0), the median time per call of
``rprop_np._cpu.rprop_step(..., parallel=False)`` and ``parallel=True``, and
their ratio; then the smallest n from which the threaded loop is faster by
more than 10% for both variants, next to the ``PARALLEL_MIN_SIZE`` the package
uses to choose between them.

Three random-normal gradients are cycled (signs flip, every branch is taken).
Each kernel is warmed up first (the first call compiles or loads it), then
each call is timed on its own with ``time.perf_counter``, in blocks that
alternate between the serial and threaded kernels over a few rounds, so that
a noisy stretch of a shared machine hits both; medians are reported.

Run from anywhere (no install needed)::

    python benchmarks/bench_threshold.py
    python benchmarks/bench_threshold.py --sizes 1e4 2e4 5e4 --repeats 500
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rprop_np import _cpu  # noqa: E402
from rprop_np._variants import IRPROP_MINUS, RPROP_PLUS, VARIANTS  # noqa: E402

DEFAULT_SIZES = (1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6)
VARIANT_CODES = (IRPROP_MINUS, RPROP_PLUS)
MIN_SPEEDUP = 1.1  # "faster by more than 10%": serial / threaded > 1.1
ROUNDS = 5  # blocks per kernel, alternating serial / threaded
WARMUP = 6
HYPER = tuple(np.float64(v) for v in (0.5, 1.2, 1e-6, 50.0))


def default_repeats(n):
    """Timed calls per kernel for `n` components: 2000 at 1e3, 200 at 1e6."""
    return int(np.clip(2e8 / n, 200, 2000))


def make_state(variant, x0):
    """Fresh state arrays ``(params, step_size, prev_sign, prev_update)``.

    `prev_update` is only kept by the ``+`` variants; the others get an empty
    array, as ``rprop_np.Rprop`` gives them.
    """
    n = x0.size
    keeps_update = variant == RPROP_PLUS
    return (
        x0.copy(), np.full(n, 0.01), np.zeros(n, np.int8),
        np.zeros(n if keeps_update else 0),
    )


def time_block(variant, state, parallel, grads, start, count):
    """Seconds of each of `count` kernel calls, timed one by one, cycling `grads`."""
    params, step_size, prev_sign, prev_update = state
    samples = []
    for k in range(start, start + count):
        grad = grads[k % len(grads)]
        begin = time.perf_counter()
        _cpu.rprop_step(
            variant, params, grad, step_size, prev_sign, prev_update, *HYPER,
            False, False, parallel,
        )
        samples.append(time.perf_counter() - begin)
    return samples


def measure(variant, n, repeats, rng):
    """Median seconds per call of the serial and the threaded kernel.

    Returns
    -------
    (float, float)
        ``(serial, threaded)``.
    """
    grads = [rng.standard_normal(n) for _ in range(3)]
    x0 = rng.standard_normal(n)
    states = {flag: make_state(variant, x0) for flag in (False, True)}
    for flag, state in states.items():
        time_block(variant, state, flag, grads, 0, WARMUP)
    samples = {False: [], True: []}
    per_round = -(-repeats // ROUNDS)
    for r in range(ROUNDS):
        count = max(0, min(per_round, repeats - r * per_round))
        for flag, state in states.items():
            start = WARMUP + r * per_round
            samples[flag] += time_block(variant, state, flag, grads, start, count)
    return statistics.median(samples[False]), statistics.median(samples[True])


def crossover(sizes, speedups):
    """Where threading starts to pay for every variant.

    Parameters
    ----------
    sizes : list of int
        The grid, increasing.
    speedups : dict
        ``speedups[n]`` is the list of serial/threaded ratios at `n`.

    Returns
    -------
    first : int or None
        The smallest n where the ratio exceeds `MIN_SPEEDUP` for all variants.
    stable : int or None
        The smallest n from which that holds at every larger n of the grid too
        (differs from `first` only when noise makes the pattern non-monotone).
    """
    pays = [min(speedups[n]) > MIN_SPEEDUP for n in sizes]
    first = next((n for n, ok in zip(sizes, pays, strict=True) if ok), None)
    stable = None
    for n, ok in zip(reversed(sizes), reversed(pays), strict=True):
        if not ok:
            break
        stable = n
    return first, stable


def parse_args(argv=None):
    """Parse ``--sizes`` and ``--repeats``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=float, nargs="+", default=list(DEFAULT_SIZES),
        help="numbers of components (default: 1e3 3e3 ... 1e6)",
    )
    parser.add_argument(
        "--repeats", type=int, default=None,
        help="timed calls per kernel and size (default: 2e8/n, 200 to 2000)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    """Run the comparison and print the table and the crossover."""
    import numba

    args = parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes)
    rng = np.random.default_rng(0)
    print(f"numba {numba.__version__}, {numba.get_num_threads()} threads; "
          "float64, median time per call\n")
    print(f"{'n':>9} {'variant':>8} {'serial us':>10} {'threaded us':>12} "
          f"{'serial/threaded':>16}")
    speedups = {}
    for n in sizes:
        repeats = args.repeats or default_repeats(n)
        for variant in VARIANT_CODES:
            serial, threaded = measure(variant, n, repeats, rng)
            speedups.setdefault(n, []).append(serial / threaded)
            print(f"{n:>9} {VARIANTS[variant]:>8} {serial * 1e6:>10.2f} "
                  f"{threaded * 1e6:>12.2f} {serial / threaded:>15.2f}x")
    first, stable = crossover(sizes, speedups)
    where = "at no n of the grid" if first is None else f"from n = {first:,}"
    if stable != first:
        where += f" (and at every larger n from {stable:,})" if stable else (
            " (but not at every larger n)")
    print(f"\nthreaded is >{MIN_SPEEDUP - 1:.0%} faster for both variants {where}; "
          f"threading layer {numba.threading_layer()}; "
          f"PARALLEL_MIN_SIZE = {_cpu.PARALLEL_MIN_SIZE:,}")

if __name__ == "__main__":
    main()
