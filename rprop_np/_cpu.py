"""The CPU backend: fused Numba kernels over NumPy arrays, in place.

The update rule is the one :mod:`rprop_np.reference` states; the tests hold
these kernels to it bit for bit. Each variant gets its own compiled kernel
(the variant is a compile-time constant, so the loop carries no branch on it),
built from one loop and the per-component rule of ``_rule.py``, and compiled
twice: serial (`SERIAL_KERNELS`) and threaded (`PARALLEL_KERNELS`).

Every kernel is compiled lazily, on its first call, for the dtype it meets
(float32 or float64, with scalars of the same dtype), and cached on disk.

After the kernels comes the backend interface: the names every backend
module has (``_cuda.py`` too; ``_backends.py`` lists them), through which
`Rprop` and `minimize` reach their arrays.
"""

from functools import partial

import numba
import numpy as np
from numba import njit, prange, types
from numba.core.registry import CPUDispatcher
from numba.extending import overload

from . import _validation
from ._jit import INTERNAL, jit, parallel_call
from ._rule import blocked_by_bound, project_component, update_component
from ._variants import VARIANTS, backtracks, keeps_update

# Below this many components, waking the thread pool costs more than it saves.
# Measured on the 2-core development machine with benchmarks/bench_threshold.py:
# threaded/serial time 1.7x slower at 1e3, 1.1-1.2x faster at 1e4, 1.6x at 3e4;
# 20,000 keeps a margin for a busy second core.
PARALLEL_MIN_SIZE = 20_000


# The rule is written once, in _rule.py, and compiled here for the CPU (and
# in _cuda.py for the GPU): once per dtype, without the wrappers for calls
# from Python or C, and called by every CPU loop (these kernels and
# _minimize_loop's). LLVM inlines the call, so each loop runs as if the rule
# were written in it (the same speed and vector code, measured); Numba's own
# inlining instead deep-copied the rule's 40 blocks of IR twice per loop, up
# to 0.3 s of a cold first call.
_update_component = jit(**INTERNAL)(update_component)
_project_component = njit(inline="always")(project_component)
_blocked_by_bound = njit(inline="always")(blocked_by_bound)
_backtracks = njit(inline="always")(backtracks)


def _backtrack_at(variant, error_increased, i):
    """Whether component `i` undoes its last step on a sign change.

    `error_increased` is one bool for the whole array (`Rprop.step`), or one
    per component (``_vectorized``: each row of a batch is a problem of its
    own, with its own objective).
    """


@overload(_backtrack_at, inline="always")
def _backtrack_at_typed(variant, error_increased, i):
    if isinstance(error_increased, types.Array):
        return lambda variant, error_increased, i: _backtracks(
            variant, error_increased[i])
    # Loop-invariant: LLVM computes it once, before the loop.
    return lambda variant, error_increased, i: _backtracks(variant, error_increased)


# The kernels loop over blocks of this many components. Within a block the
# only value carried from one component to the next is a bool (was any
# gradient non-finite?): a count carried there would be an int64, and
# LLVM sizes its vectors by the widest type a loop carries, which held
# float32 to 8 lanes. A multiple of the widest vector loop (2 x 16 float32
# lanes), small enough to share n = PARALLEL_MIN_SIZE evenly between threads.
BLOCK = 1024


@njit(inline="always")
def _count_nonfinite(values, start, stop):
    """How many of ``values[start:stop]`` are NaN or infinite."""
    count = 0
    for i in range(start, stop):
        count += not np.isfinite(values[i])
    return count


def _make_kernel(variant, parallel):
    keeps = keeps_update(variant)

    # Only `variant` and `keeps` (plain ints and bools) may be closed
    # over: Numba's on-disk cache keys closures by their pickled cell contents,
    # and a closed-over function would give a new key in every process.
    # Without parallel=True, prange is plain range, so this one loop is both
    # kernels.
    def kernel(
        params, grad, step_size, prev_sign, prev_update,
        eta_minus, eta_plus, min_step, max_step, maximize, error_increased,
        improved, best_params, best_grad,
    ):
        nonfinite = 0
        for block in prange((params.size + BLOCK - 1) // BLOCK):
            # Unsigned indices: Numba wraps a signed index that may be
            # negative, a select that keeps LLVM from vectorizing the loop.
            start = np.uint64(block * BLOCK)
            stop = np.uint64(min(block * BLOCK + BLOCK, params.size))
            any_bad = False
            for i in range(start, stop):
                # A batch of problems (_vectorized): each component of a
                # problem at its best point so far records it and its
                # gradient before the step, as masked vector stores (a copy
                # per row, branching on f, cost a fifth of a batch). Three
                # arguments, not a tuple: Numba 0.68's dead-code pass drops
                # the stores into arrays unpacked from a tuple argument inside
                # a loop that also calls an inline="always" overload (here
                # _backtrack_at); it keeps them with that pass switched off.
                if improved is not None:
                    if improved[i]:
                        best_params[i] = params[i]
                        best_grad[i] = grad[i]
                last = prev_update[i] if keeps else params[i]  # unused by `-`
                # np.int64: a literal variant would compile a rule for each;
                # LLVM folds the constant once it inlines the call.
                bad, params[i], step_size[i], prev_sign[i], update = _update_component(
                    np.int64(variant), grad[i], params[i], step_size[i],
                    prev_sign[i], last,
                    eta_minus, eta_plus, min_step, max_step, maximize,
                    _backtrack_at(variant, error_increased, i),
                )
                if keeps:
                    prev_update[i] = update
                any_bad |= bad > 0
            if any_bad:  # rare: count them
                nonfinite += _count_nonfinite(grad, start, stop)
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
"""One threaded kernel per variant code; call it through ``_jit.parallel_call``
(with its `SERIAL_KERNELS` twin, which runs where only one core is idle)."""

NO_RECORD = (None, None, None)
"""The kernels' last three arguments outside a batch (`Rprop.step`): nothing
to record. Numba compiles the kernel for them without the record's branch.
(Not defaults: a call that leaves arguments out misses its compiled entry
point, `_entry_point`, and Numba's dispatcher took 40 us a call.)
"""


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
        *NO_RECORD,
    )
    if parallel:
        return parallel_call(PARALLEL_KERNELS[variant], SERIAL_KERNELS[variant], *args)
    return SERIAL_KERNELS[variant](*args)


# ---------------------------------------------------------------------------
# The backend interface: the same names, with the same signatures, in every
# backend module. The host's checks are the public boundary's own.

check_params = _validation.check_params
"""``check_params(x)``: the array the kernels update (`x` itself here)."""

check_grad = _validation.check_grad
"""``check_grad(grad, params)``: `grad` as an array of params' shape and dtype."""

check_bounds = _validation.check_bounds
"""``check_bounds(bounds, params)``: ``(lower, upper)``, checked."""

DEVICE = None
"""The device `Rprop`'s repr names; None for host memory."""

PICKLABLE = True
"""Whether an `Rprop` over this backend's arrays can be copied and pickled."""


def to_device(array: np.ndarray) -> np.ndarray:
    """A new host state array in this backend's memory: here, the array itself."""
    return array


def to_host(array: np.ndarray) -> np.ndarray:
    """A NumPy copy of a state array."""
    return array.copy()


def read_only(array: np.ndarray) -> np.ndarray:
    """A state array as `Rprop` shows it: a read-only view."""
    view = array.view()
    view.flags.writeable = False
    return view


def kernel_for(variant: int, size: int):
    """The kernel `step` runs for one group of `size` real entries.

    It takes `rprop_step`'s arguments after `variant` (not `parallel`) and
    returns the number of non-finite gradient entries. Small groups get the
    serial kernel, which never starts Numba's threading layer (a started
    OpenMP layer makes fork() hang); large ones the threaded kernel, through
    `parallel_call` (two threads launching it at once abort the process under
    the workqueue layer), which runs the serial one where only one core is
    idle.
    """
    serial = SERIAL_KERNELS[variant]
    if size >= PARALLEL_MIN_SIZE:
        return partial(parallel_call, PARALLEL_KERNELS[variant], serial)
    return serial


@jit
def project_onto_bounds(params, step_size, prev_update, lower, upper, min_step):
    """Put the entries of one group that left ``[lower, upper]`` back on it.

    ``_rule.project_component`` for each entry, in place; `prev_update` is
    empty for the variants that keep no update.
    """
    keeps = prev_update.size > 0
    for i in range(params.size):
        last = prev_update[i] if keeps else params[i]
        params[i], step_size[i], last = _project_component(
            params[i], step_size[i], last, lower[i], upper[i], min_step)
        if keeps:
            prev_update[i] = last


@jit
def gradient_summary(x, grad, lower, upper, size):
    """(max-norm of the gradient projected on active bounds, non-finite count).

    Over the first `size` entries of `x` and `grad` (all of them; a
    compile-time `size` lets the batch loop unroll it). Empty `lower` and
    `upper` mean no bounds. The norm matters only while every entry is
    finite; it is 0 in grad's dtype for a gradient of zeros.
    """
    bounded = lower.size > 0
    largest = grad[0] - grad[0]  # zero in grad's dtype, as NumPy's max
    nonfinite = 0
    for i in range(size):
        g = grad[i]
        if not np.isfinite(g):
            nonfinite += 1
        elif not (bounded and _blocked_by_bound(x[i], g, lower[i], upper[i])):
            largest = max(largest, abs(g))
    return np.float64(largest), nonfinite


def new_counter() -> list[int]:
    """A running count of skipped non-finite gradient entries, at 0."""
    return [0]


def read_counter(counter: list[int]) -> int:
    """The count `counter` holds."""
    return counter[0]


def step(calls, grad, error_increased, counter) -> int:
    """Run one step's kernel calls; return the number of non-finite entries.

    `calls` has one ``(kernel, segment, params, rest)`` per group, as
    ``Rprop._bind`` prepares them: the group's kernel from `kernel_for`, its
    slice of the flat real gradient `grad` (None: all of it), its flat
    parameters, and its arguments after the gradient up to `maximize`. The
    number is also added to `counter`. A serial kernel's first call puts its
    compiled entry point in its place (`_entry_point`): `grad` must be
    C-contiguous, of the parameters' dtype.
    """
    nonfinite = 0
    for index, (kernel, segment, params, rest) in enumerate(calls):
        piece = grad if segment is None else grad[segment]
        nonfinite += kernel(params, piece, *rest, error_increased, *NO_RECORD)
        if isinstance(kernel, CPUDispatcher):
            calls[index] = (_entry_point(kernel, (params, piece, *rest,
                                                  error_increased, *NO_RECORD)),
                            segment, params, rest)
    if nonfinite:
        counter[0] += nonfinite
    return nonfinite


def _entry_point(kernel, arguments):
    """`kernel`'s compiled entry point for these `arguments`' types, or the
    dispatcher itself where it has none.

    A serial step's arguments keep their types from call to call (the
    optimizer's own arrays, and a gradient ``_validation.check_grad`` made
    C-contiguous of their dtype: an entry point does not check, and reads a
    strided array as if it were contiguous), so the entry point can take
    them directly: Numba's dispatcher would type all ten on every call, 0.4
    us of a 1,000-entry step's 2.3 us.
    """
    overload = kernel.overloads.get(tuple(map(numba.typeof, arguments)))
    return kernel if overload is None else overload.entry_point


class MinimizeArrays:
    """The few array operations `minimize`'s loop needs, on NumPy arrays.

    The host runs every `jac` and `bounds`, so there is nothing to refuse.
    """

    def __init__(self, jac, bounds) -> None:
        pass

    @staticmethod
    def initial_point(x0, check_x0) -> np.ndarray:
        """The loop's own copy of x0, as the driver's `check_x0` makes it."""
        return check_x0(x0)

    copy = staticmethod(np.copy)

    @staticmethod
    def check_grad(grad, shape, dtype) -> np.ndarray:
        grad = np.asarray(grad)
        if grad.shape != shape:
            raise ValueError(
                f"jac must return an array of shape {shape}; got shape {grad.shape}"
            )
        if grad.dtype.kind not in "fiu":
            raise TypeError(f"jac must return real numbers; got dtype {grad.dtype}")
        return grad.astype(dtype, copy=False)

    @staticmethod
    def max(values) -> float:
        return float(np.max(values))

    @staticmethod
    def gradient_summary(x, grad, box) -> tuple[float, int]:
        """(max-norm of the projected gradient, number of non-finite entries)."""
        lower, upper = (_NO_BOUNDS, _NO_BOUNDS) if box is None else box
        return gradient_summary(x, grad, lower, upper, x.size)


_NO_BOUNDS = np.empty(0)
