"""The backends an `Rprop` or `minimize` can compute on, in one place.

A backend is a module with the same few names (see ``_cpu.py``, the host
one, for what each does): `Rprop` and `minimize` reach their arrays only
through it. Adding one is a new module plus its line in `BACKENDS`.
Modules are imported on first use, so ``import rprop_np`` never needs CUDA.
"""

import importlib

import numpy as np


def _on_host(x) -> bool:
    return isinstance(x, np.ndarray)


def _on_cuda(x) -> bool:
    # Numba's CUDA simulator has device arrays without the CUDA interface.
    return hasattr(x, "__cuda_array_interface__") or type(x).__module__.startswith(
        "numba.cuda.simulator"
    )


# The recognisers run without importing the module, in this order.
BACKENDS = {
    "cpu": ("rprop_np._cpu", _on_host),
    "cuda": ("rprop_np._cuda", _on_cuda),
}
"""Each backend's name (as ``options['device']`` names it): its module, and
whether a parameter array lives in its memory."""

DEFAULT = "cpu"
"""The backend of host values, and of anything no backend recognises."""


def backend(name: str):
    """The backend module called `name` in `BACKENDS`."""
    return importlib.import_module(BACKENDS[name][0])


def for_params(x):
    """The backend that holds parameter array `x`.

    Anything no backend recognises goes to the default one, whose
    ``check_params`` says what is wrong with it (a list, a tuple, ...).
    """
    for name, (_, holds) in BACKENDS.items():
        if holds(x):
            return backend(name)
    return backend(DEFAULT)


def for_device(device: str | None):
    """The backend of ``options['device']`` (None: the default one)."""
    return backend(DEFAULT if device is None else device)
