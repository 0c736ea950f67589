"""Fused Numba CPU kernels: one pass over flat arrays, in place.

The update rule is the one :mod:`rprop_np.reference` states; the tests hold
these kernels to it bit for bit. Each variant gets its own compiled kernel
(the variant is a compile-time constant, so the loop carries no branch on it),
built from one loop and the per-component rule of ``_rule.py``.

Every kernel is compiled lazily, on its first call, for the dtype it meets
(float32 or float64, with scalars of the same dtype), and cached on disk.
"""

import numpy as np
from numba import njit, prange

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


def _make_kernel(variant):
    keeps_update = variant in (RPROP_PLUS, IRPROP_PLUS)

    # Only `variant` and `keeps_update` (plain ints and bools) may be closed
    # over: Numba's on-disk cache keys closures by their pickled cell contents,
    # and a closed-over function would give a new key in every process.
    def kernel(
        params, grad, step_size, prev_sign, prev_update,
        eta_minus, eta_plus, min_step, max_step, maximize, error_increased,
        parallel,
    ):
        backtrack = variant == RPROP_PLUS or (
            variant == IRPROP_PLUS and error_increased
        )
        nonfinite = 0
        if parallel:
            for i in prange(params.size):
                last = prev_update[i] if keeps_update else params[i]  # unused by `-`
                bad, params[i], step_size[i], prev_sign[i], update = _update_component(
                    variant, grad[i], params[i], step_size[i], prev_sign[i], last,
                    eta_minus, eta_plus, min_step, max_step, maximize, backtrack,
                )
                if keeps_update:
                    prev_update[i] = update
                nonfinite += bad
        else:
            for i in range(params.size):
                last = prev_update[i] if keeps_update else params[i]
                bad, params[i], step_size[i], prev_sign[i], update = _update_component(
                    variant, grad[i], params[i], step_size[i], prev_sign[i], last,
                    eta_minus, eta_plus, min_step, max_step, maximize, backtrack,
                )
                if keeps_update:
                    prev_update[i] = update
                nonfinite += bad
        return nonfinite

    kernel.__name__ = kernel.__qualname__ = "rprop_kernel_" + str(variant)
    return njit(cache=True, parallel=True)(kernel)


KERNELS = tuple(_make_kernel(code) for code in range(len(VARIANTS)))
"""One compiled kernel per variant code; compiled on first call."""


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
    return KERNELS[variant](
        params, grad, step_size, prev_sign, prev_update,
        eta_minus, eta_plus, min_step, max_step, maximize, error_increased,
        parallel,
    )
