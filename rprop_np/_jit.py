"""The compile policy of every Numba function in rprop_np, in one place.

- ``jit`` is ``numba.njit(cache=True, ...)``: compiled lazily, on the first
  call, and cached on disk. Where Numba finds no writable cache location
  (a read-only install without ``NUMBA_CACHE_DIR``), it compiles without a
  cache and says so once, instead of failing at import.
- ``INTERNAL``: the options of a function only compiled code calls.
- ``parallel_call`` runs a ``parallel=True`` function, or its serial twin
  where only one core is idle. Numba's ``workqueue``
  threading layer (its fallback when neither TBB nor OpenMP is available)
  aborts the process when two threads launch parallel work at once, so there
  the calls are serialised; OpenMP and TBB run them as they come. Each call
  runs on at most as many threads as there are idle cores (`idle_cores`):
  a thread sharing its core with another process would hold up the rest.
"""

import os
import threading
import time
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


# Functions only compiled code calls are compiled without the wrappers Numba
# adds for calls from Python (cpython) and C (cfunc): those wrappers unbox
# every argument type, and leaving them out took ~0.25 s off the first
# minimize_many of a process (of ~2.8 s). ``jit(**INTERNAL)``; the drivers'
# entry points, which Python calls, leave out only the cfunc one.
INTERNAL = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}


_PARALLEL_LOCK = threading.Lock()
_parallel_is_thread_safe = False  # known once the threading layer has started


def parallel_call(function, serial, *args):
    """``function(*args)`` for a ``parallel=True`` function, serialised if needed,
    on no more threads than there are idle cores (`idle_cores`); where that is
    one, ``serial(*args)``, its twin compiled without ``parallel=True``.

    One thread gets the serial twin rather than a one-thread parallel loop:
    that starts no threading layer (``numba.get_num_threads`` would), which
    a later fork() could not use, and beside a busy process the one-thread
    OpenMP loop took 0-18% longer than the serial kernel (a 1e6 step, ten
    interleaved phases, median 9%).
    """
    global _parallel_is_thread_safe, _workers
    idle = idle_cores()  # at most NUMBA_NUM_THREADS
    if idle <= 1:
        return serial(*args)
    threads = numba.get_num_threads()  # the user's setting, restored after
    fewer = min(threads, idle)
    if fewer == 1:
        return serial(*args)
    if fewer < threads:
        numba.set_num_threads(fewer)
    try:
        if _parallel_is_thread_safe:
            return function(*args)
        with _PARALLEL_LOCK:
            before = _threads_of_this_process()
            result = function(*args)  # OpenMP starts its threads on a first loop
            # Found once: under workqueue this path runs every call, and later
            # calls start no thread.
            _workers = _workers or sorted(_threads_of_this_process() - before)
            _parallel_is_thread_safe = numba.threading_layer() != "workqueue"
        return result
    finally:
        if fewer < threads:
            numba.set_num_threads(threads)


IDLE_CHECK_SECONDS = 0.01  # how long one count of idle cores is used
_idle = {"cores": 0, "until": -1.0}
_workers = []  # the thread ids of Numba's pool (Linux), found on its first loop


def idle_cores() -> int:
    """How many cores no other process's thread is running on, counted at
    most `IDLE_CHECK_SECONDS` ago.

    A parallel loop splits its work evenly over its threads and returns when
    the last is done: a thread that shares a core with another process waits
    for the scheduler's time slices, and a 1 ms step took 8 ms beside one
    busy process on 2 cores. Linux counts the threads running or ready to
    run in ``/proc/loadavg``; the caller and Numba's own threads (which spin
    for a while after each loop) are not others. Elsewhere every core
    counts as idle.
    """
    now = time.monotonic()
    if now < _idle["until"]:
        return _idle["cores"]
    cores = os.cpu_count() or 1
    if _usable_cores() < cores:
        # The count is the whole machine's: with fewer cores of its own (a
        # container, a batch job's cpuset), others' threads cannot be told
        # from the ones on this process's cores.
        idle = numba.config.NUMBA_NUM_THREADS
    else:
        others = _runnable_threads() - 1 - sum(map(_running, _workers))
        idle = min(numba.config.NUMBA_NUM_THREADS, cores - max(others, 0))
    _idle.update(cores=idle, until=now + IDLE_CHECK_SECONDS)
    return _idle["cores"]


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _runnable_threads() -> int:
    """The machine's threads running or ready to run (1, the caller, where
    the count cannot be read)."""
    try:
        with open("/proc/loadavg", "rb") as loadavg:
            return int(loadavg.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return 1


def _threads_of_this_process() -> set[int]:
    try:
        return set(map(int, os.listdir("/proc/self/task")))
    except OSError:
        return set()


def _running(thread_id: int) -> bool:
    """Whether this process's thread `thread_id` is running or ready to run."""
    try:
        with open(f"/proc/self/task/{thread_id}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"R"
    except (OSError, IndexError):
        return False


def thread_count() -> int:
    """Threads for a threaded batch call: Numba's configured count
    (``NUMBA_NUM_THREADS``), at most the idle cores (`idle_cores`)."""
    return max(1, idle_cores())


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
