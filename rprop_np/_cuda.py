"""numba.cuda kernels: the Rprop update on an NVIDIA GPU, in place.

Imported only when an `Rprop` is given device arrays, so ``import rprop_np``
never needs CUDA. The per-component rule is ``_rule.update_component``, the
same source the CPU kernels compile; each variant gets its own kernel with
the variant as a compile-time constant, and a grid-stride loop sized for
memory-bound elementwise work.

Tested with Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) in CI and on
a real GPU where one is available.
"""

import math

import numpy as np

try:
    from numba import cuda
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        "GPU arrays need numba's CUDA support: pip install 'rprop-np[cuda]' "
        "(numba-cuda) and an NVIDIA driver"
    ) from error

from ._rule import update_component
from ._variants import IRPROP_PLUS, RPROP_PLUS, VARIANTS

THREADS_PER_BLOCK = 256
# Enough resident blocks to keep every SM's memory pipeline busy; the
# grid-stride loop covers the rest.
BLOCKS_PER_SM = 8

_update_component = cuda.jit(device=True)(update_component)


def _make_kernel(variant):
    keeps_update = variant in (RPROP_PLUS, IRPROP_PLUS)

    # Only plain ints and bools may be closed over (see _cpu._make_kernel).
    def kernel(
        params, grad, step_size, prev_sign, prev_update,
        eta_minus, eta_plus, min_step, max_step, maximize, error_increased,
        nonfinite,
    ):
        backtrack = variant == RPROP_PLUS or (
            variant == IRPROP_PLUS and error_increased
        )
        bad_here = 0
        for i in range(cuda.grid(1), params.size, cuda.gridsize(1)):
            last = prev_update[i] if keeps_update else params[i]  # unused by `-`
            bad, params[i], step_size[i], prev_sign[i], update = _update_component(
                variant, grad[i], params[i], step_size[i], prev_sign[i], last,
                eta_minus, eta_plus, min_step, max_step, maximize, backtrack,
            )
            if keeps_update:
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


def to_device(array):
    """Copy a host array to a new device array."""
    return cuda.to_device(np.ascontiguousarray(array))
