"""The whole `minimize` loop in Numba, for one problem or many.

For an ``@njit`` objective the Python loop of ``_minimize.py`` costs far more
than the arithmetic of a small problem. ``solve`` runs that loop, stopping
rules included, inside one nopython function, and ``solve_one`` /
``solve_rows`` call it for one problem or for each of a range of rows of an
``(m, n)`` array (on several threads at once for many problems). Every step
is the one the Python path takes, in the same order and dtype, so both paths
give the same result bit for bit (the tests
hold them to it); the Rprop rule itself is ``_rule.update_component``.

The objective reaches the compiled code as a first-class function (see
``_first_class.py``, which also calls these drivers).
"""

from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import overload

from . import _cpu, _stopping
from ._jit import INTERNAL, jit
from ._rule import (
    difference_step,
    project_component,
    step_inside_bounds,
)
from ._stopping import FTOL_WINDOW, RUNNING, STOPPED
from ._variants import backtracks, keeps_update

PARALLEL_MIN_PROBLEMS = 16  # fewer problems run serially: no threads started

# The per-component rules and the stopping tests, compiled into the loop.
# The Rprop rule is _cpu's compiled one, called (see there): a cold first
# minimize_many took ~0.25 s less than with its IR inlined here.
_update_component = _cpu._update_component
_project_component = njit(inline="always")(project_component)
_difference_step = njit(inline="always")(difference_step)
_step_inside_bounds = njit(inline="always")(step_inside_bounds)
# The Python loop's own summary, inlined: a call per iteration costs ~15% of a
# small problem's iteration.
_gradient_summary = njit(inline="always")(_cpu.gradient_summary.py_func)
_keeps_update = njit(inline="always")(keeps_update)
_backtracks = njit(inline="always")(backtracks)
_before_step = njit(inline="always")(_stopping.before_step)
_after_evaluation = njit(inline="always")(_stopping.after_evaluation)
# after_step in two parts: the ftol test takes an array, and an array passed
# to an inlined function costs two atomic reference counts per iteration,
# which are skipped where ftol is 0 (the default).
_steps_small = njit(inline="always")(_stopping.steps_small)
_no_progress = njit(inline="always")(_stopping.no_progress)


class Box(NamedTuple):
    """Bounds of one problem, as the compiled loop takes them."""

    lower: np.ndarray
    upper: np.ndarray
    bounded: bool  # False: both are infinite everywhere, skip the projection


class Layout(NamedTuple):
    """Parameter groups: where each ends, and its hyper-parameters."""

    group_stop: np.ndarray  # int64 (groups,)
    hyper: np.ndarray  # (groups, 4): eta_minus, eta_plus, min_step, max_step


def _evaluate(fun, jac, call_args, grad, work, box, rel_step):
    """``f`` and the number of calls of `fun`; writes the gradient into `grad`.

    `call_args` is ``(x, *args)``, built once per problem: a call written
    ``fun(x, *args)`` builds that tuple on every call, counting a reference
    to each array in it, atomic operations that cost more than a small
    problem's arithmetic. `jac` is the gradient function, None when `fun`
    returns ``(f, grad)``, or an integer for forward differences (SciPy's
    '2-point' steps).
    """


@overload(_evaluate, inline="always")
def _evaluate_typed(fun, jac, call_args, grad, work, box, rel_step):
    if isinstance(jac, types.NoneType):
        def returns_both(fun, jac, call_args, grad, work, box, rel_step):
            f, g = fun(*call_args)
            _copy_gradient(g, grad)
            return np.float64(f), 1
        return returns_both
    if isinstance(jac, types.Integer):
        def differences(fun, jac, call_args, grad, work, box, rel_step):
            f = np.float64(fun(*call_args))
            calls = _forward_differences(fun, call_args, f, grad, work, box.lower,
                                         box.upper, rel_step)
            return f, 1 + calls
        return differences

    def separate(fun, jac, call_args, grad, work, box, rel_step):
        f = np.float64(fun(*call_args))
        _copy_gradient(jac(*call_args), grad)
        return f, 1
    return separate


@jit(**INTERNAL)
def _copy_gradient(g, grad):
    if g.size != grad.size:
        raise ValueError(
            "jac (or fun, with jac=True) must return one gradient entry per parameter"
        )
    for i in range(grad.size):
        grad[i] = g[i]  # rounds to x's dtype, as the Python path's astype


# error_model="numpy": a zero step (lower == upper) divides by zero, giving
# inf or NaN as in SciPy, rather than raising.
@jit(error_model="numpy", **INTERNAL)
def _forward_differences(fun, call_args, f0, grad, work, lower, upper, rel_step):
    """SciPy's ``approx_derivative(method='2-point')``, step for step.

    `call_args` is ``(x, *args)``. A variable fixed by its bounds (lower ==
    upper) gets a zero gradient and no call: it is held where it is, as
    SciPy's `minimize` holds it. Returns the number of calls of `fun`.
    `rel_step` is empty for SciPy's default relative step. float64 only.
    """
    x = call_args[0]
    work_args = (work, *call_args[1:])  # built once: see _evaluate
    _copy(x, work, x.size)
    calls = 0
    for i in range(x.size):
        if lower[i] == upper[i]:
            grad[i] = 0.0
            continue
        x0 = x[i]
        h = _difference_step(x0, rel_step[i] if rel_step.size else 0.0)
        h = _step_inside_bounds(x0, h, lower[i], upper[i])
        work[i] = x0 + h
        grad[i] = (np.float64(fun(*work_args)) - f0) / ((x0 + h) - x0)
        work[i] = x0
        calls += 1
    return calls


# `size` is the arrays' size, passed so that a caller that knows it at
# compile time (_vectorized.advance) gets these loops unrolled.
@njit(inline="always")
def _copy(source, destination, size):
    # An explicit loop: slice assignment costs more than these few entries.
    for i in range(size):
        destination[i] = source[i]


@njit(inline="always")
def _largest(values, size):
    """``float(np.max(values))`` for non-negative `values` (step sizes, a
    fit's damping scales)."""
    largest = values[0]
    for i in range(1, size):
        largest = max(largest, values[i])
    return np.float64(largest)


def rprop_update(variant, x, grad, step_size, prev_sign, prev_update, layout,
                 backtrack, box):
    """``Rprop.step`` without maximize: each group's kernel loop, then the box."""
    keeps = _keeps_update(variant)
    start = 0
    for group in range(layout.group_stop.size):
        eta_minus, eta_plus = layout.hyper[group, 0], layout.hyper[group, 1]
        min_step, max_step = layout.hyper[group, 2], layout.hyper[group, 3]
        stop = layout.group_stop[group]
        for i in range(start, stop):
            last = prev_update[i] if keeps else x[i]
            # np.bool_: the kernels' compiled rule, not one for a literal False.
            _, x[i], step_size[i], prev_sign[i], update = _update_component(
                variant, grad[i], x[i], step_size[i], prev_sign[i], last,
                eta_minus, eta_plus, min_step, max_step, np.bool_(False), backtrack,
            )
            if keeps:
                prev_update[i] = update
        if box.bounded:
            for i in range(start, stop):
                last = prev_update[i] if keeps else x[i]
                x[i], step_size[i], last = _project_component(
                    x[i], step_size[i], last, box.lower[i], box.upper[i], min_step)
                if keeps:
                    prev_update[i] = last
        start = stop


# Called, not inlined: inlined into solve, the branch-free rule's blocks left
# Numba's reference counting in the loop (239 against 166 ns an iteration of
# a 4-D quadratic, bench_drivers' inlined_loop at 94), and inlined into
# _vectorized.advance it cost that compile ~0.1 s more.
_rprop_update_called = jit(_nrt=False, **INTERNAL)(rprop_update)


@jit(**INTERNAL)
def solve(fun, jac, args, x, step_size, best_x, best_grad, box, layout, variant,
          limits, rel_step, stop_flag):
    """The loop of ``_minimize._minimize_rprop`` for one problem, in place.

    `x` and `step_size` start as the initial point and step sizes and end as
    the last ones; `best_x` and `best_grad` receive the best point and its
    gradient. `box` is a `Box`, `layout` a `Layout`, `limits` a
    ``_stopping.Limits``. Once `stop_flag[0]` is set (see ``_guard``) the
    loop ends with status `STOPPED` after the evaluation in progress.
    Returns ``(status, nit, nfev, njev, best_f, f, nonfinite)``.
    """
    n = x.size
    # Allocated by as few distinct calls as possible, and zeroed by loops:
    # each distinct allocation call compiles a function of its own the
    # first time (np.zeros and np.zeros_like cost ~0.1 s each).
    grad = np.empty_like(x)
    work = np.empty_like(x)
    prev_update = np.empty_like(x)
    prev_sign = np.empty(n, np.int8)
    for i in range(n):
        prev_update[i] = 0
        prev_sign[i] = 0
    best_history = np.empty(FTOL_WINDOW + 1)  # ring buffer of best f per iteration

    # _vectorized.advance takes the same steps after an evaluation, in this
    # order, for a batch: change both together.
    call_args = (x, *args)  # once per problem: see _evaluate
    # Bounds infinite everywhere block nothing: the summary skips empty ones.
    lower = box.lower if box.bounded else box.lower[:0]
    upper = box.upper if box.bounded else box.upper[:0]
    # One evaluation at the top of the loop serves x0 too (nit == 0): each
    # call site of an inlined helper costs compile time of its own.
    nit, nfev, njev = 0, 0, 0
    best_f = prev_f = np.inf
    while True:
        f, calls = _evaluate(fun, jac, call_args, grad, work, box, rel_step)
        nfev += calls
        njev += 1
        if nit > 0 and stop_flag[0] != 0:  # x0's summary and best come first
            status = STOPPED
            break
        gradient_norm, nonfinite = _gradient_summary(x, grad, lower, upper, n)
        status = _after_evaluation(f, nonfinite)
        if nit == 0 or (status == RUNNING and f < best_f):  # x0's, even not finite
            _copy(x, best_x, n)
            _copy(grad, best_grad, n)
            best_f = f
        if nit == 0:
            best_history[0] = best_f
            if stop_flag[0] != 0:
                status = STOPPED
        elif status == RUNNING:
            status = _steps_small(_largest(step_size, n), limits)
            if status == RUNNING and limits.ftol > 0:  # as _stopping.after_step
                status = _no_progress(nit, best_f, best_history, limits)
        if status != RUNNING:
            break
        status = _before_step(gradient_norm, nit, nfev, limits)
        if status != RUNNING:
            break
        backtrack = _backtracks(variant, f > prev_f)
        prev_f = f
        _rprop_update_called(variant, x, grad, step_size, prev_sign, prev_update,
                             layout, backtrack, box)
        nit += 1
    return status, nit, nfev, njev, best_f, f, nonfinite


# The entry points release the GIL, so that _guard's interrupt watcher (and
# other Python threads) run while they do.
@jit(nogil=True, no_cfunc_wrapper=True)
def solve_one(fun, jac, args, x, step_size, box, layout, variant, limits,
                 rel_step, stop_flag):
    """`solve` for one problem; also returns the best point and its gradient."""
    best_x = np.empty_like(x)
    best_grad = np.empty_like(x)
    outcome = solve(fun, jac, args, x, step_size, best_x, best_grad, box, layout,
                    variant, limits, rel_step, stop_flag)
    return outcome, best_x, best_grad


@jit(nogil=True, no_cfunc_wrapper=True)
def solve_rows(fun, jac, args, x, step_size, box, layout, variant, limits,
               rel_step, best_x, best_grad, counts, values, first, stop, stop_flag):
    """`solve` for rows `first` to `stop` of `x` (m, n), each with its own stop.

    Each array in `args` has a leading axis of length m; problem i gets its
    i-th slices. `step_size` (n,) is every problem's initial step size; the
    arrays of `box` are (m, n). Fills `best_x`, `best_grad` (m, n), `counts`
    (m, 5: status, nit, nfev, njev, nonfinite) and `values` (m, 2: best f,
    last f); `x` ends as the last iterates. Threads run it on ranges of rows
    at once (``_first_class.call``); it releases the GIL.
    """
    steps = np.empty_like(step_size)  # each problem's, reset from step_size
    for i in range(first, stop):
        _copy(step_size, steps, steps.size)
        status, nit, nfev, njev, best_f, f, nonfinite = solve(
            fun, jac, _problem_args(args, i), x[i], steps, best_x[i],
            best_grad[i], Box(box.lower[i], box.upper[i], box.bounded), layout,
            variant, limits, rel_step, stop_flag,
        )
        counts[i, 0] = status
        counts[i, 1] = nit
        counts[i, 2] = nfev
        counts[i, 3] = njev
        counts[i, 4] = nonfinite
        values[i, 0] = best_f
        values[i, 1] = f


def _problem_args(args, i):
    """``tuple(a[i] for a in args)``: problem i's slice of each argument."""


@overload(_problem_args)
def _problem_args_typed(args, i):
    # A tuple of mixed types cannot be iterated in nopython code, so the
    # slicing is written out for this many arguments.
    items = "".join(f"args[{k}][i], " for k in range(len(args)))
    namespace = {}
    exec(f"def take(args, i):\n    return ({items})\n", namespace)
    return namespace["take"]
