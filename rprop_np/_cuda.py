"""The CUDA backend: the Rprop update on an NVIDIA GPU, in place.

Imported only when an `Rprop` is given device arrays (or `minimize` is asked
for ``device='cuda'``), so ``import rprop_np`` never needs CUDA. The
per-component rule is ``_rule.update_component``, the same source the CPU
kernels compile; each variant gets its own kernel with the variant as a
compile-time constant, and a grid-stride loop sized for memory-bound
elementwise work.

Tested with Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) in CI and on
a real GPU where one is available. After the kernels comes the backend
interface, the names ``_cpu.py`` explains.
"""

import math
from functools import partial

import numpy as np

try:
    from numba import cuda
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        "GPU arrays need numba's CUDA support: pip install 'rprop-np[cuda]' "
        "(numba-cuda) and an NVIDIA driver"
    ) from error

from ._rule import update_component
from ._variants import VARIANTS, backtracks, keeps_update

THREADS_PER_BLOCK = 256
# Enough resident blocks to keep every SM's memory pipeline busy; the
# grid-stride loop covers the rest.
BLOCKS_PER_SM = 8

_update_component = cuda.jit(device=True)(update_component)
_backtracks = cuda.jit(device=True)(backtracks)


def _make_kernel(variant):
    keeps = keeps_update(variant)

    # Only plain ints and bools may be closed over (see _cpu._make_kernel).
    def kernel(
        params, grad, step_size, prev_sign, prev_update,
        eta_minus, eta_plus, min_step, max_step, maximize, error_increased,
        nonfinite,
    ):
        backtrack = _backtracks(variant, error_increased)
        bad_here = 0
        for i in range(cuda.grid(1), params.size, cuda.gridsize(1)):
            last = prev_update[i] if keeps else params[i]  # unused by `-`
            bad, params[i], step_size[i], prev_sign[i], update = _update_component(
                variant, grad[i], params[i], step_size[i], prev_sign[i], last,
                eta_minus, eta_plus, min_step, max_step, maximize, backtrack,
            )
            if keeps:
                prev_update[i] = update
            bad_here += bad
        if bad_here:  # rare: one atomic per thread that saw a bad gradient
            cuda.atomic.add(nonfinite, 0, bad_here)

    kernel.__name__ = kernel.__qualname__ = "rprop_cuda_kernel_" + str(variant)
    return cuda.jit(kernel)


KERNELS = tuple(_make_kernel(code) for code in range(len(VARIANTS)))


@cuda.jit
def _max_abs_and_nonfinite(values, out, zero):
    """out[0] = max |finite value| (atomic), out[1] += count of non-finite."""
    largest = zero
    bad_here = 0
    for i in range(cuda.grid(1), values.size, cuda.gridsize(1)):
        value = values[i]
        if math.isfinite(value):
            largest = max(largest, abs(value))
        else:
            bad_here += 1
    cuda.atomic.max(out, 0, largest)
    if bad_here:
        cuda.atomic.add(out, 1, bad_here)


def launch_config(size):
    """(blocks, threads) for a grid-stride loop over `size` elements."""
    blocks_needed = (size + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
    return max(1, min(blocks_needed, _resident_blocks())), THREADS_PER_BLOCK


_RESIDENT_BLOCKS = []


def _resident_blocks():
    if not _RESIDENT_BLOCKS:
        device = cuda.get_current_device()
        sms = getattr(device, "MULTIPROCESSOR_COUNT", 1)
        _RESIDENT_BLOCKS.append(max(1, sms) * BLOCKS_PER_SM)
    return _RESIDENT_BLOCKS[0]


def rprop_step(
    variant, params, grad, step_size, prev_sign, prev_update,
    eta_minus, eta_plus, min_step, max_step, maximize, error_increased,
    nonfinite,
):
    """Launch one Rprop update on device arrays; asynchronous.

    Arguments as ``reference.rprop_step``, all arrays on the device, plus
    `nonfinite`, an int64 device array of one element that the count of
    non-finite gradient components is added to (read it back when needed).
    """
    blocks, threads = launch_config(params.size)
    KERNELS[variant][blocks, threads](
        params, grad, step_size, prev_sign, prev_update,
        eta_minus, eta_plus, min_step, max_step, maximize, error_increased,
        nonfinite,
    )


def max_abs_and_nonfinite(values):
    """(max |finite entry|, number of non-finite entries) of a device array.

    Synchronizes: the two scalars come back to the host.
    """
    out = cuda.to_device(np.zeros(2, values.dtype))
    blocks, threads = launch_config(values.size)
    _max_abs_and_nonfinite[blocks, threads](values, out, values.dtype.type(0))
    largest, bad = out.copy_to_host()
    return float(largest), int(bad)


def require_gpu(what):
    """Raise a clear error when neither a GPU nor the simulator is usable."""
    if not cuda.is_available():
        raise RuntimeError(
            f"{what} needs a usable CUDA GPU, and numba.cuda finds none (no "
            "NVIDIA driver or device; numba.cuda.detect() says more). Set "
            "NUMBA_ENABLE_CUDASIM=1 to run on Numba's CUDA simulator instead."
        )


def is_device_array(value) -> bool:
    """Whether `value` is a device array (Numba's, or one with the CUDA interface)."""
    return cuda.devicearray.is_cuda_ndarray(value) or hasattr(
        value, "__cuda_array_interface__"
    )


def device_copy(array):
    """A new device array holding a copy of device array `array`."""
    copy = cuda.device_array_like(array)
    copy.copy_to_device(array)
    return copy


_DTYPES = tuple(map(np.dtype, ("float32", "float64", "complex64", "complex128")))


def device_view(value, argname, like=None):
    """A Numba device-array view of `value` (no copy), checked.

    `value` is a Numba device array or anything with
    ``__cuda_array_interface__`` (CuPy, PyTorch CUDA tensors). With
    ``like=(shape, dtype)`` it must have exactly that shape and dtype: a
    conversion would be a hidden copy on the device.
    """
    if cuda.devicearray.is_cuda_ndarray(value):
        array = value
    elif hasattr(value, "__cuda_array_interface__"):
        if value.__cuda_array_interface__["data"][1]:
            raise ValueError(f"{argname} is a read-only device array")
        array = cuda.as_cuda_array(value)
    else:
        raise TypeError(
            f"{argname} must be a device array like x; got {type(value).__name__}"
        )
    if like is None and array.dtype not in _DTYPES:
        raise TypeError(
            f"{argname} must have dtype float32, float64, complex64 or complex128; "
            f"got {array.dtype}"
        )
    if like is not None and (array.shape, array.dtype) != like:
        raise ValueError(
            f"{argname} must have x's shape {like[0]} and dtype {like[1]}; got "
            f"{array.shape} {array.dtype}"
        )
    if array.size == 0:
        raise ValueError(f"{argname} must have at least one element")
    if not array.is_c_contiguous():
        raise ValueError(f"{argname} must be a C-contiguous device array")
    return array


# ---------------------------------------------------------------------------
# The backend interface: the names and signatures of _cpu.py's, on device
# arrays. Nothing here synchronizes but what brings a value to the host.

DEVICE = "cuda"
"""The device `Rprop`'s repr names."""

PICKLABLE = False
"""Device arrays are not copied or pickled: a state_dict() moves the state."""


def check_params(x):
    """A Numba view of device array `x` (no copy), checked."""
    return device_view(x, "x")


def check_grad(grad, params):
    """A Numba view of device array `grad`, of params' exact shape and dtype."""
    return device_view(grad, "grad", like=(params.shape, params.dtype))


def check_bounds(bounds, params):
    """Refuse `bounds`: the projection onto them runs on the host only."""
    raise NotImplementedError(
        "bounds are not supported for device arrays yet; project x "
        "yourself after each step"
    )


def to_device(array: np.ndarray):
    """A device copy of host array `array`."""
    return cuda.to_device(np.ascontiguousarray(array))


def to_host(array) -> np.ndarray:
    """A NumPy copy of device array `array` (waits for the work queued on it)."""
    return array.copy_to_host()


def read_only(array):
    """Device arrays have no read-only flag: the array itself (do not write to it)."""
    return array


def kernel_for(variant: int, size: int):
    """`rprop_step` for `variant`; it sizes each launch from the group it updates."""
    return partial(rprop_step, variant)


def project_onto_bounds(params, step_size, prev_update, lower, upper, min_step):
    """Not on the device: ``check_bounds`` refuses bounds first."""
    raise NotImplementedError("bounds are not supported for device arrays yet")


def new_counter():
    """An int64 device array of one element, at 0, that the kernels add to."""
    return to_device(np.zeros(1, np.int64))


def read_counter(counter) -> int:
    """The count on the device (waits for the steps launched so far)."""
    return int(counter.copy_to_host()[0])


def step(calls, grad, error_increased, counter) -> None:
    """Launch one step's kernel calls (as ``_cpu.step`` takes them); no wait.

    The number of non-finite gradient entries is added to `counter` on the
    device, so nothing comes back to the host: the result is None.
    """
    for kernel, segment, params, rest in calls:
        kernel(
            params, grad if segment is None else grad[segment], *rest,
            error_increased, counter,
        )


class MinimizeArrays:
    """`minimize`'s array operations on device arrays: only scalars reach the host.

    Refuses what the device loop cannot run: finite differences (they run on
    the host) and bounds.
    """

    def __init__(self, jac, bounds) -> None:
        require_gpu("options={'device': 'cuda'}")
        if not (jac is True or callable(jac)):
            raise ValueError(
                "with options={'device': 'cuda'}, jac must be callable or True: "
                f"finite differences run on the host; got jac={jac!r}"
            )
        if bounds is not None:
            raise NotImplementedError(
                "bounds are not supported with options={'device': 'cuda'} yet"
            )

    @staticmethod
    def initial_point(x0, check_x0):
        """A device copy of x0: a device array, or host values `check_x0` checks."""
        if not isinstance(x0, np.ndarray) and is_device_array(x0):
            x0 = device_view(x0, "x0")
            if x0.ndim != 1 or x0.dtype.kind != "f":
                raise ValueError(
                    f"x0 must be a 1-D real device array; got {x0.shape} {x0.dtype}"
                )
            return device_copy(x0)
        return to_device(check_x0(x0))

    copy = staticmethod(device_copy)

    @staticmethod
    def check_grad(grad, shape, dtype):
        return device_view(grad, "jac's result", like=(shape, dtype))

    @staticmethod
    def max(values) -> float:
        return max_abs_and_nonfinite(values)[0]  # step sizes are > 0

    @staticmethod
    def gradient_summary(x, grad, box) -> tuple[float, int]:
        return max_abs_and_nonfinite(grad)
