"""Time one iRprop- step on the CPU against its peers, all in the same run.

For n in {1e3, 1e5, 1e6, 1e7} and float32/float64 this prints the median
time per step of

- ``rprop_np.Rprop(x).step(grad)``: the fused Numba kernel (default variant
  irprop-), threaded from ``rprop_np._cpu.PARALLEL_MIN_SIZE`` components on;
- ``torch.optim.Rprop([p], foreach=True).step()`` on a CPU tensor of the same
  size and dtype (the column reads "-" when torch cannot be imported);
- optax's ``rprop`` update and ``apply_updates`` in one ``jax.jit`` with the
  parameters and state donated (updated in place, as rprop_np's), the
  gradient already on the device ("-" without jax and optax: ``pip install
  "rprop-np[bench]"``);
- the NumPy reference ``rprop_np.reference.rprop_step`` (irprop-);
- "copy": a Numba kernel that moves exactly the bytes an iRprop- step moves
  (reads x, g, step size and the int8 sign; writes x, step size and sign),
  threaded at the same sizes as rprop_np: the memory-bandwidth limit;

then the effective bandwidth of rprop_np, counting ``3 * itemsize + 1`` bytes
read and ``2 * itemsize + 1`` written per component, and the ratios
torch/rprop_np, optax/rprop_np, reference/rprop_np and rprop_np/copy.

Three random-normal gradients are cycled so that signs flip and every branch
is taken. Every callable is warmed up first (the first call compiles), then
each call is timed on its own with ``time.perf_counter``; the calls are made
in blocks that alternate between the callables over a few rounds, so a noisy
stretch of a shared machine does not land on one callable only, and the
median of all a callable's calls is reported. The repeat count falls with n
(thousands at 1e3, ~25 at 1e7) so that the whole run takes a few minutes.

Run from anywhere (no install needed)::

    python benchmarks/bench_step.py
    python benchmarks/bench_step.py --sizes 1e3 1e5 --repeats 50   # quick check

After the table it prints the targets and whether this run met them: at
n=1e7 float64, rprop_np at least 15x faster than torch foreach; at n=1e7,
float32 and float64, within 1.15x of the copy kernel; at n=1e3, float32 and
float64, at most 3 us per step.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit, prange

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rprop_np  # noqa: E402
from rprop_np import _cpu, reference  # noqa: E402
from rprop_np._variants import IRPROP_MINUS  # noqa: E402

DEFAULT_SIZES = (1e3, 1e5, 1e6, 1e7)
DTYPES = (np.float32, np.float64)
METHODS = ("rprop_np", "torch", "optax", "reference", "copy")
ROUNDS = 3  # blocks per callable, alternating with the other callables
WARMUP = 6  # untimed calls per callable (twice through the gradients)
ETAS = (0.5, 1.2)
STEP_SIZES = (1e-6, 50.0)
LR = 0.01

TARGET_TORCH_SPEEDUP = 15.0  # at n = 1e7 float64
TARGET_COPY_RATIO = 1.15  # at n = 1e7, float32 and float64
TARGET_SMALL_US = 3.0  # at n = 1e3, float32 and float64


@njit(cache=True, parallel=True)
def copy_kernel(params, grad, step_size, prev_sign, parallel):
    """Move the bytes of an iRprop- step and do (almost) nothing else.

    Reads `params`, `grad`, `step_size` and the int8 `prev_sign`; writes
    `params`, `step_size` and `prev_sign`. The values stay bounded: with a
    gradient cycle of period 3, `params` comes back to itself every 6 calls.
    The threaded loop mirrors the one of ``rprop_np._cpu``.
    """
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
    """Bytes an iRprop- step reads and writes per component.

    Parameters
    ----------
    dtype : numpy dtype
        The parameters' dtype.

    Returns
    -------
    int
        ``(3 * itemsize + 1)`` read (x, g, step size, int8 sign) plus
        ``(2 * itemsize + 1)`` written (x, step size, sign).
    """
    size = np.dtype(dtype).itemsize
    return (3 * size + 1) + (2 * size + 1)


def default_repeats(n):
    """Timed calls per callable for `n` components: ~5000 at 1e3, 25 at 1e7."""
    return int(np.clip(5e6 / n, 25, 5000))


def make_rprop_np(x):
    """Return ``(prepare, run)`` timing ``rprop_np.Rprop(x).step(grad)``."""
    optimizer = rprop_np.Rprop(x, lr=LR, etas=ETAS, step_sizes=STEP_SIZES)
    return (lambda grad: grad), optimizer.step


def make_torch(x):
    """Return ``(prepare, run)`` timing torch's foreach Rprop; None without torch.

    ``prepare`` sets ``p.grad`` (untimed); ``run`` is the timed ``step()``.
    """
    try:
        import torch
    except ImportError:
        return None
    param = torch.from_numpy(x).requires_grad_(True)
    optimizer = torch.optim.Rprop(
        [param], lr=LR, etas=ETAS, step_sizes=STEP_SIZES, foreach=True
    )
    grads = {}

    def prepare(grad):
        # One tensor per gradient array, made once; assigning it is untimed.
        tensor = grads.setdefault(id(grad), torch.from_numpy(grad.copy()))
        param.grad = tensor
        return None

    return prepare, lambda _: optimizer.step()


def make_optax(x):
    """Return ``(prepare, run)`` timing optax's rprop step, jitted with its
    buffers donated; None without jax or optax.

    ``prepare`` puts the gradient on the device (once per gradient array,
    untimed); ``run`` steps and waits for the result.
    """
    try:
        import jax
        import optax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    optimizer = optax.rprop(LR, eta_minus=ETAS[0], eta_plus=ETAS[1],
                            min_step_size=STEP_SIZES[0], max_step_size=STEP_SIZES[1])

    def step(params, state, grad):
        updates, state = optimizer.update(grad, state, params)
        return optax.apply_updates(params, updates), state

    step = jax.jit(step, donate_argnums=(0, 1))
    params = jax.device_put(x)
    current = {"params": params, "state": optimizer.init(params)}
    grads = {}

    def prepare(grad):
        return grads.setdefault(id(grad), jax.device_put(grad))

    def run(grad):
        current["params"], current["state"] = step(current["params"],
                                                   current["state"], grad)
        current["params"].block_until_ready()

    return prepare, run


def make_reference(x):
    """Return ``(prepare, run)`` timing the NumPy reference (irprop-)."""
    dtype = x.dtype
    step_size = np.full(x.size, LR, dtype)
    prev_sign = np.zeros(x.size, np.int8)
    prev_update = np.zeros(0, dtype)
    hyper = tuple(dtype.type(v) for v in ETAS + STEP_SIZES)

    def run(grad):
        return reference.rprop_step(
            IRPROP_MINUS, x, grad, step_size, prev_sign, prev_update, *hyper,
            False, False,
        )

    return (lambda grad: grad), run


def make_copy(x):
    """Return ``(prepare, run)`` timing `copy_kernel`, threaded as rprop_np is."""
    step_size = np.full(x.size, LR, x.dtype)
    prev_sign = np.ones(x.size, np.int8)
    parallel = x.size >= _cpu.PARALLEL_MIN_SIZE

    def run(grad):
        return copy_kernel(x, grad, step_size, prev_sign, parallel)

    return (lambda grad: grad), run


def time_block(prepare, run, grads, start, count):
    """Time `count` calls of ``run(prepare(grad))`` one by one, cycling `grads`.

    Only `run` is inside the timer. Returns the list of seconds per call.
    """
    samples = []
    for k in range(start, start + count):
        arg = prepare(grads[k % len(grads)])
        begin = time.perf_counter()
        run(arg)
        samples.append(time.perf_counter() - begin)
    return samples


def measure(n, dtype, repeats, rng):
    """Median seconds per step of each method at size `n` and `dtype`.

    Each method gets its own copy of x and its own state. Returns a dict from
    the names in `METHODS` to seconds (None for a method that was skipped).
    """
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(3)]
    x0 = rng.standard_normal(n).astype(dtype)
    makers = {
        "rprop_np": make_rprop_np, "torch": make_torch, "optax": make_optax,
        "reference": make_reference, "copy": make_copy,
    }
    benches = {}
    for name, make in makers.items():
        bench = make(x0.copy())
        if bench is not None:
            time_block(*bench, grads, 0, WARMUP)  # compiles / loads the kernels
            benches[name] = bench

    samples = {name: [] for name in benches}
    per_round = -(-repeats // ROUNDS)
    for r in range(ROUNDS):
        count = max(0, min(per_round, repeats - r * per_round))
        for name, bench in benches.items():
            start = WARMUP + r * per_round
            samples[name] += time_block(*bench, grads, start, count)
    return {
        name: statistics.median(samples[name]) if name in samples else None
        for name in METHODS
    }


def ratio(numerator, denominator):
    """``numerator / denominator``, or None if either is missing."""
    if numerator is None or denominator is None:
        return None
    return numerator / denominator


def fmt(value, width, spec, suffix=""):
    """Format `value` with `spec` (and `suffix`), or "-" for None; right-aligned."""
    text = "-" if value is None else format(value, spec) + suffix
    return text.rjust(width)


def print_header():
    """Print the table's column names."""
    print(f"{'n':>7} {'dtype':>7} {'rprop_np us':>12} {'GB/s':>6} "
          f"{'torch us':>10} {'optax us':>10} {'reference us':>13} {'copy us':>10} "
          f"{'torch/rp':>9} {'optax/rp':>9} {'ref/rp':>8} {'rp/copy':>8}")


def print_row(n, dtype, t):
    """Print one table row from the medians `t` of `measure`."""
    us = {name: None if s is None else s * 1e6 for name, s in t.items()}
    bandwidth = bytes_per_element(dtype) * n / t["rprop_np"] / 1e9
    print(f"{n:>7.0e} {np.dtype(dtype).name:>7} {us['rprop_np']:>12.2f} "
          f"{bandwidth:>6.1f} {fmt(us['torch'], 10, '.1f')} "
          f"{fmt(us['optax'], 10, '.1f')} "
          f"{us['reference']:>13.1f} {us['copy']:>10.2f} "
          f"{fmt(ratio(t['torch'], t['rprop_np']), 9, '.1f', 'x')} "
          f"{fmt(ratio(t['optax'], t['rprop_np']), 9, '.2f', 'x')} "
          f"{fmt(ratio(t['reference'], t['rprop_np']), 8, '.1f', 'x')} "
          f"{fmt(ratio(t['rprop_np'], t['copy']), 8, '.2f', 'x')}")


def verdict(met):
    """The word for whether a target was met."""
    return "met" if met else "NOT met"


def print_targets(results):
    """Print the targets and whether this run met them (no assertion)."""
    print("\ntargets:")
    big = results.get((10_000_000, "float64"))
    if big is None:
        print("  n=1e7 float64: not measured in this run")
    else:
        speedup = ratio(big["torch"], big["rprop_np"])
        if speedup is None:
            print("  n=1e7 float64 vs torch foreach: torch not importable")
        else:
            print(f"  n=1e7 float64: {speedup:.1f}x faster than torch foreach "
                  f"(target >= {TARGET_TORCH_SPEEDUP:g}x): "
                  f"{verdict(speedup >= TARGET_TORCH_SPEEDUP)}")
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        big = results.get((10_000_000, name))
        if big is None:
            print(f"  n=1e7 {name}: not measured in this run")
        else:
            copy = big["rprop_np"] / big["copy"]
            print(f"  n=1e7 {name}: {copy:.2f}x the copy kernel's time "
                  f"(target <= {TARGET_COPY_RATIO:g}x): "
                  f"{verdict(copy <= TARGET_COPY_RATIO)}")
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        small = results.get((1_000, name))
        if small is None:
            print(f"  n=1e3 {name}: not measured in this run")
        else:
            us = small["rprop_np"] * 1e6
            print(f"  n=1e3 {name}: {us:.2f} us per step "
                  f"(target <= {TARGET_SMALL_US:g} us): "
                  f"{verdict(us <= TARGET_SMALL_US)}")


def print_setup():
    """Print the thread counts and threshold the numbers depend on."""
    import numba

    try:
        import torch
        torch_info = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        torch_info = "torch not importable: its column is skipped"
    try:
        import jax
        import optax
        optax_info = (f"optax {optax.__version__} on jax {jax.__version__} "
                      f"({jax.devices()[0].platform})")
    except ImportError:
        optax_info = "jax/optax not importable: the optax column is skipped"
    print(f"numba {numba.__version__}, {numba.get_num_threads()} threads; "
          f"{torch_info}; {optax_info}; PARALLEL_MIN_SIZE = "
          f"{_cpu.PARALLEL_MIN_SIZE}")
    print("median time per iRprop- step, each call timed on its own\n")


def parse_args(argv=None):
    """Parse ``--sizes`` and ``--repeats``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=float, nargs="+", default=list(DEFAULT_SIZES),
        help="numbers of components (default: 1e3 1e5 1e6 1e7)",
    )
    parser.add_argument(
        "--repeats", type=int, default=None,
        help="timed calls per callable and size (default: ~5e6/n, 25 to 5000)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmark and print the table and the targets."""
    args = parse_args(argv)
    rng = np.random.default_rng(0)
    print_setup()
    print_header()
    results = {}
    for n in (int(size) for size in args.sizes):
        repeats = args.repeats or default_repeats(n)
        for dtype in DTYPES:
            t = measure(n, dtype, repeats, rng)
            results[n, np.dtype(dtype).name] = t
            print_row(n, dtype, t)
    print_targets(results)


if __name__ == "__main__":
    main()
