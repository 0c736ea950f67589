"""Running a compiled driver so that user exceptions and Ctrl-C reach the caller.

The compiled drivers call the user's ``@njit`` functions as first-class
functions, and Numba calls those through a C wrapper that cannot return an
exception: it hands it to ``sys.unraisablehook`` ("Exception ignored ...")
and returns a zero value, which a loop would take for a result. And Python
runs its SIGINT handler only between bytecodes, so a compiled loop would
ignore Ctrl-C until it ended.

`guarded_call` closes both holes with one flag per call, an ``int64`` array
of one entry that every compiled loop reads once per iteration and stops on:

- a hook on ``sys.unraisablehook``, installed while a driver runs, keeps the
  exception of a Numba C wrapper and sets the flag; the call then raises that
  exception itself;
- on the main thread, ``signal.set_wakeup_fd`` makes SIGINT write a byte to a
  pipe that a watcher thread reads; it sets the flag, and the call raises
  KeyboardInterrupt once the loop has stopped (the drivers are compiled with
  ``nogil=True``, so the watcher can run meanwhile).
"""

import os
import signal
import sys
import threading

import numpy as np

RUNNING = 0
USER_ERROR = 1  # a user function raised
INTERRUPTED = 2  # Ctrl-C (SIGINT)

# What Numba's C wrapper reports as the unraisable's object: the context's
# name, with " object at 0x..." after it in older Numba.
_NUMBA_WRAPPER = "<numba.core.cpu.CPUContext"


class _Call:
    """One running driver call: its flag, its thread, what stopped it."""

    def __init__(self):
        self.flag = np.zeros(1, np.int64)
        self.threads = {threading.get_ident()}  # the caller, and its workers
        self.errors = []


_lock = threading.Lock()
_active: list[_Call] = []
_previous_hook = None


def guarded_call(function, arguments):
    """``function(*arguments, flag)``, raising what stopped it.

    `function` is a compiled driver whose last argument is the stop flag.
    A user function's exception comes first: the driver may have tripped
    over the zero value that stood in for its result.
    """
    call = _Call()
    _enter(call)
    failure = None
    try:
        with _interrupts(call):
            result = function(*arguments, call.flag)
    except BaseException as error:
        failure = error
    finally:
        _leave(call)
    if call.errors:
        error = call.errors[0]
        if hasattr(error, "add_note"):  # Python >= 3.11
            error.add_note(
                "(raised by a user function (fun, jac or model) called from "
                "rprop_np's compiled loop; the run was stopped)"
            )
        raise error
    if call.flag[0] == INTERRUPTED or _caused_by_interrupt(failure):
        raise KeyboardInterrupt(
            "rprop_np: interrupted; the compiled loop stopped at its next "
            "iteration and its results were discarded"
        ) from None
    if failure is not None:
        raise failure
    return result


def _caused_by_interrupt(error):
    """Whether `error` is, or was raised while handling, a KeyboardInterrupt.

    Python runs the SIGINT handler at its next bytecode, which may be inside
    Numba's boxing of the driver's result: a SystemError around it.
    """
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return True
        error = error.__cause__ or error.__context__
    return False


def _enter(call):
    global _previous_hook
    with _lock:
        if not _active:
            _previous_hook = sys.unraisablehook
            sys.unraisablehook = _hook
        _active.append(call)


def _leave(call):
    with _lock:
        _active.remove(call)
        if not _active and sys.unraisablehook is _hook:
            sys.unraisablehook = _previous_hook


def adopt(flag):
    """Count the calling thread as a worker of the running call whose stop
    flag is `flag`: a user error raised in it is that call's alone."""
    with _lock:
        for call in _active:
            if call.flag is flag:
                call.threads.add(threading.get_ident())


def _hook(unraisable):
    if not str(unraisable.object).startswith(_NUMBA_WRAPPER):
        return _previous_hook(unraisable)
    with _lock:
        # A driver raises in its caller's thread or in one of the worker
        # threads its call adopted (`adopt`); a thread no call knows (none
        # should) stops them all.
        calls = [c for c in _active if threading.get_ident() in c.threads] or _active
        for call in calls:
            call.errors.append(unraisable.exc_value)
            call.flag[0] = USER_ERROR
    return None


class _Watcher:
    """A thread that reads the signal wakeup pipe and stops the watched call."""

    def __init__(self):
        self.read_end, self.write_end = os.pipe()
        os.set_blocking(self.write_end, False)
        self.call = None  # the main thread's running call
        self.forward_to = -1  # the wakeup fd that was set before ours
        self.pid = os.getpid()
        threading.Thread(target=self._run, daemon=True,
                         name="rprop_np-interrupts").start()

    def _run(self):
        while True:
            data = os.read(self.read_end, 64)
            call = self.call
            if call is not None and signal.SIGINT in data:
                call.flag[0] = INTERRUPTED
            if self.forward_to >= 0:
                try:
                    os.write(self.forward_to, data)
                except OSError:
                    pass


_watcher = None


class _interrupts:
    """While a call runs on the main thread, SIGINT sets its flag."""

    def __init__(self, call):
        self.call = call
        self.watching = (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        )

    def __enter__(self):
        global _watcher
        if not self.watching:
            return
        if _watcher is None or _watcher.pid != os.getpid():  # none yet, or forked
            _watcher = _Watcher()
        _watcher.call = self.call
        _watcher.forward_to = signal.set_wakeup_fd(
            _watcher.write_end, warn_on_full_buffer=False)

    def __exit__(self, *exc):
        if not self.watching:
            return
        signal.set_wakeup_fd(_watcher.forward_to)
        _watcher.call = None
        _watcher.forward_to = -1
