"""Calling the user's ``@njit`` functions from compiled drivers, and the drivers.

The drivers (``_minimize_loop.py``, ``_curve_fit_many.py``) take the
objective, Jacobian or model as a first-class function
(``numba.types.FunctionType``), typed by its signature rather than by its
identity, so each driver compiles once per signature and is then loaded from
Numba's on-disk cache in every later process. This module types those
functions, checks what they return, and calls a driver with them through
``_guard`` (their exceptions and Ctrl-C reach the caller).
"""

import sys
import threading

import numba
import numpy as np
from numba import types
from numba.core.registry import CPUDispatcher

from ._guard import INTERRUPTED, USER_ERROR, adopt, guarded_call


class ObjectiveTypeError(TypeError):
    """An objective the compiled drivers cannot call, though Python might."""


def is_njit(function) -> bool:
    """Whether `function` is a Numba CPU dispatcher (``@njit``)."""
    return isinstance(function, CPUDispatcher)


def function_type(function, argtypes, argname, returns):
    """The first-class function type of `function` for these argument types.

    Compiles `function` for them (or loads it from its cache) and checks its
    return type with `returns` (a predicate; a TypeError names `argname`).
    """
    argtypes = tuple(argtypes)
    known = _SIGNATURES.get((function, argtypes))
    if known is not None:
        signature = known
    else:
        signature = _compile_for(function, argtypes, argname)
    problem = returns(signature.return_type)
    if problem:
        raise ObjectiveTypeError(f"{argname} must return {problem}; it returns "
                                 f"{signature.return_type}")
    return types.FunctionType(signature)


def _compile_for(function, argtypes, argname):
    """`function`'s signature for `argtypes`, compiled or loaded once."""
    if not function._can_compile and argtypes not in function.overloads:
        # An eager signature (@njit("f8(f8[:])")) turns compilation off.
        declared = ", ".join(
            f"({', '.join(map(str, signature))})" for signature in function.signatures)
        raise ObjectiveTypeError(
            f"{argname} was compiled eagerly for the arguments {declared}, but the "
            f"compiled loop calls it with ({', '.join(map(str, argtypes))}); "
            f"declare it without a signature (@njit) or with that one"
        )
    try:
        function.compile(argtypes)
    except Exception as error:
        raise ObjectiveTypeError(
            f"{argname} could not be compiled for the arguments "
            f"({', '.join(map(str, argtypes))}): {error}"
        ) from error
    signature = function.overloads[argtypes].signature
    _SIGNATURES[function, argtypes] = signature
    return signature


def typed_objective(fun, jac, argtypes):
    """``(fun's type, jac's value, jac's type)`` for the compiled drivers.

    `jac` is an ``@njit`` function, True (`fun` returns ``(f, grad)``; passed
    on as None) or anything else for forward differences (passed on as 0).
    """
    returns = returns_scalar
    if jac is True:
        returns, jac, jac_type = returns_both, None, types.none
    elif is_njit(jac):
        jac_type = function_type(jac, argtypes, "jac", returns_vector)
    else:
        jac, jac_type = np.int64(0), types.int64
    return function_type(fun, argtypes, "fun", returns), jac, jac_type


def check_reads(function, argname, arguments, position, names, every_entry=False):
    """Raise a ValueError if `function` reads past the end of an argument.

    Compiled code reads past the end of an array without a word (and a run
    would "succeed" on whatever memory is there), so `function`'s Python code
    runs once on `arguments`, with ``arguments[position]`` replaced by a copy
    that records each entry read. Only what that proves is reported: an index
    past the end (of that array, or an IndexError from any other), an
    unpacking into another count, and with `every_entry`,
    integer reads alone that stop before the last entry (a function that uses
    the array as a whole, by slices, NumPy functions or loops, is not judged
    on that). `names` is ``(name in the function, the argument it comes from,
    what one entry is, a qualifier)``, e.g. ``("p", "p0", "parameter",
    " per fit")``. Checked once per function and argument shapes.

    Returns whether the function used the argument only as a whole (no
    integer read), as far as its Python code shows (False where it could not
    run).
    """
    key = (function, position, every_entry, tuple(map(_shape_key, arguments)))
    if key in _READS_CHECKED:
        return _READS_CHECKED[key]
    python_function = getattr(function, "py_func", None)
    if python_function is None:
        return False
    name, given, entry, qualifier = names
    size = np.size(arguments[position])
    recorded = np.array(arguments[position], copy=True).view(_RecordedReads)
    probe = list(arguments)
    probe[position] = recorded
    try:
        python_function(*probe)
    except Exception as error:
        if recorded.past_end is not None:
            raise ValueError(
                f"{argname} reads {name}[{recorded.past_end}], but {given} has {size} "
                f"{entry}s{qualifier}; give {given} one entry per {entry} {argname} "
                f"reads"
            ) from error
        if isinstance(error, ValueError) and "values to unpack" in str(error):
            raise ValueError(
                f"{argname} unpacks {name} into another number of {entry}s than "
                f"{given} has ({size}{qualifier}): {error}"
            ) from error
        if isinstance(error, IndexError):  # compiled, the same read goes unchecked
            raise ValueError(
                f"{argname} reads past the end of an array when called with {given} "
                f"({size} {entry}s{qualifier}): its Python code raised "
                f"IndexError: {error}"
            ) from error
        return False  # not judged: the Python code itself failed (the run says why)
    indices = recorded.integer_reads
    if every_entry and indices and not recorded.used_whole and max(indices) < size - 1:
        raise ValueError(
            f"{argname} reads {name}[0] to {name}[{max(indices)}] only, but {given} "
            f"has {size} {entry}s{qualifier}; the others would have no effect "
            f"(infinite variance): give {given} one entry per {entry} {argname} reads"
        )
    _READS_CHECKED[key] = recorded.used_whole and not indices
    return _READS_CHECKED[key]


def _shape_key(value):
    """What of `value` the reads of a function can depend on, besides values."""
    if isinstance(value, np.ndarray):
        return value.dtype, value.shape
    if isinstance(value, tuple):
        return tuple(map(_shape_key, value))
    return type(value)


class _RecordedReads(np.ndarray):
    """An array that records how a function's Python code reads it."""

    def __array_finalize__(self, source):
        self.integer_reads = set()
        self.used_whole = False
        self.past_end = None

    def __getitem__(self, key):
        base = self.view(np.ndarray)
        if isinstance(key, int | np.integer):
            if not -base.size <= key < base.size:
                self.past_end = int(key)
            else:
                self.integer_reads.add(int(key) % base.size)
        else:
            self.used_whole = True
        return base[key]

    def __iter__(self):
        self.used_whole = True
        return iter(self.view(np.ndarray))

    def __len__(self):
        self.used_whole = True
        return self.view(np.ndarray).__len__()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        self.used_whole = True
        inputs = [a.view(np.ndarray) if a is self else a for a in inputs]
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        self.used_whole = True
        args = [a.view(np.ndarray) if a is self else a for a in args]
        return func(*args, **kwargs)


def check_objective_reads(fun, jac, x, args):
    """``check_reads`` for an ``@njit`` objective and Jacobian at `x`."""
    for function, argname in ((fun, "fun"), (jac, "jac")):
        if is_njit(function):
            check_reads(function, argname, (x, *args), 0, ("x", "x0", "variable", ""))


def returns_scalar(value_type):
    """'' if `value_type` is a real scalar, else what was expected."""
    return "" if isinstance(value_type, _REAL_SCALARS) else "a real scalar"


def returns_vector(value_type):
    """'' if `value_type` is a 1-D real array."""
    ok = isinstance(value_type, types.Array) and value_type.ndim == 1 and isinstance(
        value_type.dtype, _REAL_SCALARS)
    return "" if ok else "a 1-D array of real numbers"


def returns_both(value_type):
    """'' if `value_type` is a (real scalar, 1-D real array) pair."""
    ok = (
        isinstance(value_type, types.BaseTuple) and len(value_type) == 2
        and not returns_scalar(value_type[0]) and not returns_vector(value_type[1])
    )
    return "" if ok else "(f, grad): a real scalar and a 1-D array of real numbers"


def call(driver, values, value_types, threads=1):
    """``driver(*values, stop_flag)`` compiled for `value_types` (cached on disk).

    Called directly, a dispatcher would type a function argument by its
    identity and compile anew in every process; the explicit signature types
    it as a first-class function instead. ``_guard.guarded_call`` supplies
    the stop flag and raises a user function's exception, or
    KeyboardInterrupt, once the driver has stopped. With `threads` > 1 the
    driver is a range driver (`values` end with its first and stop rows)
    run on that many threads at once (`_over_threads`).
    """
    entry_point = compiled_entry_point(driver, (*value_types, _STOP_FLAG_TYPE))
    values = [
        _FunctionPointer.of(value, value_type.signature)
        if isinstance(value_type, types.FunctionType) else value
        for value, value_type in zip(values, value_types, strict=True)
    ]
    if threads > 1:
        def run(*arguments):
            return _over_threads(entry_point, arguments, threads)
    else:
        run = entry_point
    return guarded_call(run, values)


CHUNKS_PER_THREAD = 8  # ranges of rows per thread, taken as threads come free


def _over_threads(entry_point, arguments, threads):
    """``entry_point(*arguments)`` for a range driver, on `threads` threads.

    `arguments` end with ``first, stop, stop_flag``. The rows are cut into
    about `CHUNKS_PER_THREAD` ranges per thread, which the threads (this one
    and ``threads - 1`` more) take one at a time as they come free, so a
    thread that shares its core with another process holds up only its own
    range. The drivers release the GIL, and Numba's threading layer is never
    started: a fork-based pool forked afterwards works. Once the stop flag
    is set, no further range starts; an exception in any thread stops the
    others and is raised here once all have stopped.
    """
    *fixed, first, stop, flag = arguments
    chunk = max(1, -(-(stop - first) // (threads * CHUNKS_PER_THREAD)))
    starts = iter(range(first, stop, chunk))
    lock = threading.Lock()
    failures = []

    def fail(error):
        failures.append(error)
        if flag[0] == 0:  # the other threads stop at their next iteration
            interrupted = isinstance(error, KeyboardInterrupt)
            flag[0] = INTERRUPTED if interrupted else USER_ERROR

    def work():
        while flag[0] == 0 and not failures:
            with lock:
                begin = next(starts, None)
            if begin is None:
                return
            try:
                entry_point(*fixed, np.int64(begin), np.int64(min(begin + chunk, stop)),
                            flag)
            except BaseException as error:  # noqa: BLE001 (raised below)
                fail(error)

    def worker():
        adopt(flag)  # a user error raised here is this call's
        work()

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads - 1)]
    try:
        for thread in workers:
            thread.start()
        work()
    except BaseException as error:  # Ctrl-C in this thread, between two ranges
        fail(error)
    # Ctrl-C may also come while this thread waits for the others: they stop
    # (the flag), and the call returns only once none of them still runs.
    while any(thread.is_alive() for thread in workers):
        try:
            for thread in workers:
                thread.join()
        except BaseException as error:  # noqa: BLE001 (raised below)
            fail(error)
    if failures:
        raise failures[0]


def compiled_entry_point(driver, signature):
    """`driver`'s compiled code for the argument types `signature`.

    Compiled, or loaded from Numba's disk cache, on first use in a process
    (saying so when it compiles); remembered after that, so a call costs a
    dictionary lookup rather than Numba's dispatch (and a look at the disk
    cache's index, 0.3 ms).
    """
    entry_point = _ENTRY_POINTS.get((driver, signature))
    if entry_point is None:
        if not in_disk_cache(driver, signature):
            say_compiling(driver)
        driver.compile(signature)
        entry_point = _ENTRY_POINTS[driver, signature] = (
            driver.overloads[signature].entry_point)
    return entry_point


def in_disk_cache(driver, signature) -> bool:
    """Whether Numba's on-disk cache holds `driver` for `signature`.

    Numba's own lookup, read without loading (its private API: any failure
    counts as cached, so nothing is said).
    """
    try:
        cache = driver._cache
        key = cache._index_key(signature, driver.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:
        return True


def say_compiling(driver):
    """Say on stderr, once per process, that a driver compiles (it takes a
    while: LLVM holds the GIL, so nothing can say it during)."""
    global _compile_noticed
    if _compile_noticed:
        return
    _compile_noticed = True
    print(f"rprop_np: compiling {driver.__name__} for these argument types (once, "
          f"seconds to a minute); later calls and processes load it from Numba's "
          f"cache", file=sys.stderr, flush=True)


_compile_noticed = False


def typeof(value):
    """``numba.typeof(value)``, remembered for arrays, scalars and tuples.

    ``numba.typeof`` builds a new type object on every call; for the dozen
    arrays of a small problem's call that cost more than the run.
    """
    if isinstance(value, tuple):  # as Numba types a tuple, from its items' types
        items = tuple(typeof(item) for item in value)
        key = (type(value), tuple(map(id, items)))
        known = _TUPLE_TYPES.get(key)
        if known is None:  # the items are kept too, so their ids stay theirs
            pyclass = None if type(value) is tuple else type(value)  # a NamedTuple
            known = _TUPLE_TYPES[key] = (
                items, types.BaseTuple.from_types(items, pyclass))
        return known[1]
    if type(value) is not np.ndarray:
        if type(value) in _SCALAR_KINDS:
            known = _SCALAR_TYPES.get(type(value))
            if known is None:
                known = _SCALAR_TYPES[type(value)] = numba.typeof(value)
            return known
        return numba.typeof(value)
    flags = value.flags
    layout = "C" if flags.c_contiguous else ("F" if flags.f_contiguous else "A")
    key = (value.dtype, value.ndim, layout, flags.writeable, flags.aligned)
    known = _ARRAY_TYPES.get(key)
    if known is None:
        known = _ARRAY_TYPES[key] = numba.typeof(value)
    return known


class _FunctionPointer:
    """A compiled function's address, as Numba unboxes a first-class function.

    Numba accepts any object with ``__wrapper_address__``; handing it the
    dispatcher instead makes it look the address up on every call (~0.2 ms).
    """

    _known: dict = {}

    def __init__(self, address):
        self.address = address

    def __wrapper_address__(self):
        return self.address

    @classmethod
    def of(cls, function, signature):
        """The pointer to `function`'s compiled code for `signature`.

        Remembered per compilation: after ``function.recompile()`` the
        dispatcher holds a new one, and the pointer is looked up again.
        """
        compiled = function.overloads[tuple(signature.args)]
        known = cls._known.get((function, signature))
        if known is None or known[0] is not compiled:
            known = cls._known[function, signature] = (compiled, cls(
                compiled.library.get_pointer_to_function(
                    compiled.fndesc.llvm_cfunc_wrapper_name)))
        return known[1]


# Per process: each objective's signature and each driver's entry point, so a
# repeated call does not ask Numba again (a small problem's whole run takes
# less than those lookups did).
_SIGNATURES: dict = {}
_READS_CHECKED: dict = {}  # key: used only as a whole
_ENTRY_POINTS: dict = {}
_ARRAY_TYPES: dict = {}
_TUPLE_TYPES: dict = {}
_SCALAR_TYPES: dict = {}
# Scalars whose Numba type depends on their class alone (not a Python int,
# whose type depends on its size).
_SCALAR_KINDS = frozenset({bool, float, np.bool_, np.int8, np.int16, np.int32,
                           np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
                           np.float32, np.float64})
_REAL_SCALARS = (types.Float, types.Integer, types.Boolean)
_STOP_FLAG_TYPE = types.int64[::1]
