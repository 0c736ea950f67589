"""The compile policy of every Numba function in rprop_np, in one place.

- ``jit`` is ``numba.njit(cache=True, ...)``: compiled lazily, on the first
  call, and cached on disk. Where Numba finds no writable cache location
  (a read-only install without ``NUMBA_CACHE_DIR``), it compiles without a
  cache and says so once, instead of failing at import.
- ``parallel_call`` runs a ``parallel=True`` function. Numba's ``workqueue``
  threading layer (its fallback when neither TBB nor OpenMP is available)
  aborts the process when two threads launch parallel work at once, so there
  the calls are serialised; OpenMP and TBB run them as they come.
"""

import threading
import types
import warnings

import numba
import numpy as np

_CACHE_WARNING = (
    "rprop_np: Numba found no writable cache location, so compiled code is "
    "not kept between processes (each new process compiles again); set "
    "NUMBA_CACHE_DIR to a writable directory to keep it"
)
_cache_warned = False


def jit(function=None, **options):
    """``numba.njit(cache=True, **options)``, without a cache where none can be kept.

    Usable as ``@jit`` or ``@jit(parallel=True, ...)``.
    """
    if function is None:
        return lambda function: jit(function, **options)
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError as error:
        if "cannot cache" not in str(error):
            raise
    global _cache_warned
    if not _cache_warned:
        _cache_warned = True
        warnings.warn(_CACHE_WARNING, RuntimeWarning, stacklevel=3)
    return numba.njit(**options)(function)


_PARALLEL_LOCK = threading.Lock()
_parallel_is_thread_safe = False  # known once the threading layer has started


def parallel_call(function, *args):
    """``function(*args)`` for a ``parallel=True`` function, serialised if needed."""
    global _parallel_is_thread_safe
    if _parallel_is_thread_safe:
        return function(*args)
    with _PARALLEL_LOCK:
        result = function(*args)
        _parallel_is_thread_safe = numba.threading_layer() != "workqueue"
    return result


def jit_serial_and_parallel(function, **options):
    """``(serial, parallel)``: `function` compiled without and with ``parallel=True``.

    Calling any ``parallel=True`` function starts Numba's threading layer
    (OpenMP, say), after which a fork-based process pool hangs; small work
    must run a twin compiled without it, where ``prange`` is ``range``.
    Numba's on-disk cache tells functions apart by name and line, not by the
    ``parallel`` flag, so the serial twin is a copy under its own name.
    """
    name = function.__name__ + "_serial"
    serial = types.FunctionType(function.__code__, function.__globals__, name,
                                function.__defaults__, function.__closure__)
    serial.__qualname__ = function.__qualname__ + "_serial"
    serial.__doc__ = function.__doc__
    serial.__module__ = function.__module__
    return jit(serial, **options), jit(function, parallel=True, **options)


def use_threads(parallel, count: int, threshold: int) -> bool:
    """Whether a driver runs its `count` problems in threads.

    `parallel` is the user's option: None chooses by count (below `threshold`
    one thread, so small calls never start the threading layer), True or
    False decide.
    """
    if parallel is None:
        return count >= threshold
    if not isinstance(parallel, bool | np.bool_):
        raise TypeError(f"parallel must be None, True or False; got {parallel!r}")
    return bool(parallel)
