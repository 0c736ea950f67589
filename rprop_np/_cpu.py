"""Fused Numba CPU kernels: one pass over flat arrays, in place.

The update rule is the one :mod:`rprop_np.reference` states; the tests hold
these kernels to it bit for bit. Each variant gets its own compiled kernel
(the variant is a compile-time constant, so the loop carries no branch on it),
built from one loop and the per-component rule of ``_rule.py``, and compiled
twice: serial (`SERIAL_KERNELS`) and threaded (`PARALLEL_KERNELS`).

Every kernel is compiled lazily, on its first call, for the dtype it meets
(float32 or float64, with scalars of the same dtype), and cached on disk.
"""

import numpy as np
from numba import njit, prange

from ._jit import jit, parallel_call
from ._rule import update_component
from ._variants import IRPROP_PLUS, RPROP_PLUS, VARIANTS

# Below this many components, waking the thread pool costs more than it saves.
# Measured on the 2-core development machine with benchmarks/bench_threshold.py:
# threaded/serial time 1.7x slower at 1e3, 1.1-1.2x faster at 1e4, 1.6x at 3e4;
# 20,000 keeps a margin for a busy second core.
PARALLEL_MIN_SIZE = 20_000


# The rule is written once, in _rule.py, and compiled here for the CPU (and
# in _cuda.py for the GPU), inlined into each loop.
_update_component = njit(inline="always")(update_component)


def _make_kernel(variant, parallel):
    keeps_update = variant in (RPROP_PLUS, IRPROP_PLUS)

    # Only `variant` and `keeps_update` (plain ints and bools) may be closed
    # over: Numba's on-disk cache keys closures by their pickled cell contents,
    # and a closed-over function would give a new key in every process.
    # Without parallel=True, prange is plain range, so this one loop is both
    # kernels.
    def kernel(
        params, grad, step_size, prev_sign, prev_update,
        eta_minus, eta_plus, min_step, max_step, maximize, error_increased,
    ):
        backtrack = variant == RPROP_PLUS or (
            variant == IRPROP_PLUS and error_increased
        )
        nonfinite = 0
        for i in prange(params.size):
            last = prev_update[i] if keeps_update else params[i]  # unused by `-`
            bad, params[i], step_size[i], prev_sign[i], update = _update_component(
                variant, grad[i], params[i], step_size[i], prev_sign[i], last,
                eta_minus, eta_plus, min_step, max_step, maximize, backtrack,
            )
            if keeps_update:
                prev_update[i] = update
            nonfinite += bad
        return nonfinite

    # A distinct name for each compiled function: Numba's cache index is named
    # after it and does not key on the parallel flag, so the serial and the
    # threaded kernel must not share one. Serial kernels are compiled without
    # parallel=True because calling any parallel=True function starts the
    # threading layer, and a started OpenMP layer makes fork() hang.
    name = f"rprop_kernel_{variant}_{'parallel' if parallel else 'serial'}"
    kernel.__name__ = kernel.__qualname__ = name
    return jit(kernel, parallel=True) if parallel else jit(kernel)


SERIAL_KERNELS = tuple(_make_kernel(code, False) for code in range(len(VARIANTS)))
"""One serial kernel per variant code; never starts Numba's threading layer."""

PARALLEL_KERNELS = tuple(_make_kernel(code, True) for code in range(len(VARIANTS)))
"""One threaded kernel per variant code; call it through ``_jit.parallel_call``."""


def rprop_step(
    variant: int,
    params: np.ndarray,
    grad: np.ndarray,
    step_size: np.ndarray,
    prev_sign: np.ndarray,
    prev_update: np.ndarray,
    eta_minus,
    eta_plus,
    min_step,
    max_step,
    maximize: bool,
    error_increased: bool,
    parallel: bool | None = None,
) -> int:
    """One Rprop update in place; arguments and result as ``reference.rprop_step``.

    `parallel` picks the threaded loop; None chooses it from the size.
    """
    if parallel is None:
        parallel = params.size >= PARALLEL_MIN_SIZE
    args = (
        params, grad, step_size, prev_sign, prev_update,
        eta_minus, eta_plus, min_step, max_step, maximize, error_increased,
    )
    if parallel:
        return parallel_call(PARALLEL_KERNELS[variant], *args)
    return SERIAL_KERNELS[variant](*args)
