"""What the exception and Ctrl-C guard of the compiled loops costs.

``_guard.guarded_call`` (see its docstring) adds two costs to a compiled
driver: per call, installing the ``sys.unraisablehook`` hook and the SIGINT
wakeup pipe; per iteration, one read of the stop flag. Two measurements,
each a ratio of two things timed in the same run (medians):

``per call``
    ``rprop_np.minimize`` with an @njit objective and gradient (the compiled
    loop) on a 2-D quadratic, one iteration and to convergence: as shipped, and with
    the guard replaced by a bare call of the driver (flag passed, nothing
    installed). The difference is the guard's cost per call.
``per iteration``
    Two @njit loops of the same shape as the drivers' (a first-class
    function call per iteration, the result accumulated): one reads a stop
    flag every iteration and leaves when it is set, the other does not.

Run from anywhere (no install needed)::

    python benchmarks/bench_guard.py [--repeats 31]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from numba import njit, types  # noqa: E402

import rprop_np as rp  # noqa: E402
from rprop_np import _first_class  # noqa: E402


@njit
def quadratic(x):
    return (x[0] - 1.0) ** 2 + 10.0 * (x[1] + 2.0) ** 2


@njit
def quadratic_grad(x):
    return np.array([2.0 * (x[0] - 1.0), 20.0 * (x[1] + 2.0)])


def _interleaved_medians(functions, repeats, number):
    """Median seconds per call of each of `functions`, timed in alternating blocks."""
    times = {label: [] for label in functions}
    for _ in range(repeats):
        for label, function in functions.items():
            start = time.perf_counter()
            for _ in range(number):
                function()
            times[label].append((time.perf_counter() - start) / number)
    return {label: statistics.median(values) for label, values in times.items()}


def _bare_call(function, arguments):
    return function(*arguments, np.zeros(1, np.int64))


def per_call(repeats):
    print("per call: rp.minimize, compiled loop, 2-D quadratic (median us per call)")
    print(f"{'maxiter':>8} {'nit':>5} {'guarded':>10} {'bare':>10} {'guard cost':>11}")
    guarded = _first_class.guarded_call
    for maxiter in (1, 1000):
        def run(maxiter=maxiter):
            return rp.minimize(quadratic, np.zeros(2), jac=quadratic_grad,
                               options={"maxiter": maxiter, "compiled": True})
        nit = run().nit

        def bare():
            _first_class.guarded_call = _bare_call
            try:
                run()
            finally:
                _first_class.guarded_call = guarded
        timings = {label: seconds * 1e6 for label, seconds in _interleaved_medians(
            {"guarded": run, "bare": bare}, repeats, 100).items()}
        cost = timings["guarded"] - timings["bare"]
        print(f"{maxiter:>8} {nit:>5} {timings['guarded']:>10.1f} "
              f"{timings['bare']:>10.1f} {cost:>10.1f}")


@njit
def _loop_reading_flag(function, x, iterations, flag):
    total = 0.0
    for _ in range(iterations):
        if flag[0] != 0:
            break
        total += function(x)
        x[0] += 1e-12
    return total


@njit
def _loop_ignoring_flag(function, x, iterations, flag):
    total = 0.0
    for _ in range(iterations):
        total += function(x)
        x[0] += 1e-12
    return total


def per_iteration(repeats):
    iterations = 1_000_000
    x = np.zeros(2)
    flag = np.zeros(1, np.int64)
    function_type = types.FunctionType(types.float64(types.float64[::1]))
    signature = (function_type, types.float64[::1], types.int64, types.int64[::1])
    print(f"\nper iteration: {iterations:,} first-class calls of a 2-D quadratic "
          "(median ns per iteration)")
    pointer = _first_class._FunctionPointer.of(quadratic, function_type.signature)
    runs = {}
    for label, loop in (("flag read", _loop_reading_flag),
                        ("no flag", _loop_ignoring_flag)):
        loop.compile(signature)
        entry_point = loop.overloads[signature].entry_point
        runs[label] = lambda entry_point=entry_point: entry_point(
            pointer, x, iterations, flag)
        runs[label]()
    timings = {label: seconds / iterations * 1e9 for label, seconds in
               _interleaved_medians(runs, repeats, 1).items()}
    print(f"{'flag read':>10} {'no flag':>10} {'ratio':>7}")
    print(f"{timings['flag read']:>10.2f} {timings['no flag']:>10.2f} "
          f"{timings['flag read'] / timings['no flag']:>7.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31)
    options = parser.parse_args()
    quadratic.compile((types.float64[::1],))
    per_call(options.repeats)
    per_iteration(options.repeats)


if __name__ == "__main__":
    main()
