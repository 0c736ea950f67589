"""``minimize_many(..., vectorized=True)``: one call of the objective per iteration.

The objective sees every running problem at once, as the rows of an array,
and may be any Python callable (NumPy code, or an ``@njit`` function over
the rows). A Python loop calls it, then one compiled pass (`advance`) takes
each problem through the same bookkeeping and step as ``_minimize_loop.solve``
(the same stopping tests, best point, and Rprop update, from the same
inlined pieces), in the same order, so each problem's result is bit for bit
what ``minimize`` returns for it, given an objective whose rows do not depend
on which other rows are in the batch. Problems that stop leave the batch:
the arrays the objective sees shrink as they do.
"""

from typing import NamedTuple

import numpy as np

from . import _cpu, _minimize_loop
from ._jit import jit
from ._minimize_loop import (
    Box,
    _after_evaluation,
    _backtracks,
    _before_step,
    _copy,
    _difference_step,
    _gradient_summary,
    _largest,
    _no_progress,
    _rprop_update,
    _step_inside_bounds,
    _steps_small,
)
from ._stopping import RUNNING


class Problems(NamedTuple):
    """The state of the running problems, one row each ("slots").

    Slots follow the problems' order; a problem that stops leaves its slot
    empty until `solve` packs the slots again, so that the rows `advance`
    reads stay close together in memory.
    """

    step_size: np.ndarray  # (slots, n)
    prev_sign: np.ndarray  # (slots, n) int8
    prev_update: np.ndarray  # (slots, n)
    best_x: np.ndarray  # (slots, n)
    best_grad: np.ndarray  # (slots, n)
    best_history: np.ndarray  # (slots, FTOL_WINDOW + 1): the ftol ring buffer
    prev_f: np.ndarray  # (slots,): the objective before the last step
    best_f: np.ndarray  # (slots,)
    counts: np.ndarray  # (slots, 3) int64: nit, nfev, njev


class Outcomes(NamedTuple):
    """What each problem ends with, by its row in `x0` (m first)."""

    best_x: np.ndarray  # (m, n)
    best_grad: np.ndarray  # (m, n)
    x_last: np.ndarray  # (m, n)
    counts: np.ndarray  # (m, 5) int64: status, nit, nfev, njev, nonfinite
    values: np.ndarray  # (m, 2): best f, last f


def new_problems(x, step_size):
    """`Problems` for starts `x` (m, n), each with step sizes `step_size` (n,)."""
    m, n = x.shape
    return Problems(
        step_size=np.broadcast_to(step_size, (m, n)).copy(),
        prev_sign=np.zeros((m, n), np.int8),
        prev_update=np.zeros_like(x),
        best_x=np.empty_like(x),
        best_grad=np.empty_like(x),
        best_history=np.empty((m, _minimize_loop.FTOL_WINDOW + 1)),
        prev_f=np.full(m, np.inf),
        best_f=np.empty(m),
        counts=np.zeros((m, 3), np.int64),
    )


# _nrt=False: every row takes views of a dozen arrays, and with Numba's
# reference counting each view cost two atomic operations (63 -> 44 ns a row
# of 4 parameters). Nothing here allocates.
@jit(nogil=True, _nrt=False)
def advance(x, f, grad, calls, rows, slots, problems, outcomes, box, layout,
            variant, limits, keep):
    """Take each running problem from its new evaluation to its next point.

    Row j of `x` (k, n), `f` (k,) and `grad` (k, n) is problem ``rows[j]``,
    whose state is slot ``slots[j]`` of `problems`, just evaluated with
    `calls` calls of the objective. For each: what ``solve`` does after an
    evaluation (gradient summary, stopping tests, best point), then, if it
    runs on, its next Rprop step, in place in ``x[j]``, and ``keep[j] =
    True``; if it stops, its outcome goes to row ``rows[j]`` of `outcomes`.
    Returns how many run on. The order of the tests is ``solve``'s: a change
    to one is a change to both (tests/test_vectorized.py holds them equal).
    """
    running = 0
    for j in range(x.shape[0]):
        slot = slots[j]
        point, gradient, f_new = x[j], grad[j], np.float64(f[j])
        best_x, best_grad = problems.best_x[slot], problems.best_grad[slot]
        nit = problems.counts[slot, 0]
        nfev = problems.counts[slot, 1] + calls
        njev = problems.counts[slot, 2] + 1
        gradient_norm, nonfinite = _gradient_summary(point, gradient, box.lower,
                                                     box.upper)
        status = _after_evaluation(f_new, nonfinite)
        best_f = problems.best_f[slot]
        if njev == 1:  # the starting point: the best so far, whatever it is
            _copy(point, best_x)
            _copy(gradient, best_grad)
            best_f = f_new
            problems.best_history[slot, 0] = best_f
        elif status == RUNNING:
            if f_new < best_f:
                _copy(point, best_x)
                _copy(gradient, best_grad)
                best_f = f_new
            status = _steps_small(_largest(problems.step_size[slot]), limits)
            if status == RUNNING and limits.ftol > 0:  # as _stopping.after_step
                status = _no_progress(nit, best_f, problems.best_history[slot],
                                      limits)
        if status == RUNNING:
            status = _before_step(gradient_norm, nit, nfev, limits)
        keep[j] = status == RUNNING
        if status == RUNNING:
            backtrack = _backtracks(variant, f_new > problems.prev_f[slot])
            problems.prev_f[slot] = f_new
            _rprop_update(variant, point, gradient, problems.step_size[slot],
                          problems.prev_sign[slot], problems.prev_update[slot],
                          layout, backtrack, box)
            problems.counts[slot, 0] = nit + 1
            problems.counts[slot, 1] = nfev
            problems.counts[slot, 2] = njev
            problems.best_f[slot] = best_f
            running += 1
            continue
        row = rows[j]
        _copy(best_x, outcomes.best_x[row])
        _copy(best_grad, outcomes.best_grad[row])
        _copy(point, outcomes.x_last[row])
        outcomes.counts[row, 0] = status
        outcomes.counts[row, 1] = nit
        outcomes.counts[row, 2] = nfev
        outcomes.counts[row, 3] = njev
        outcomes.counts[row, 4] = nonfinite
        outcomes.values[row, 0] = best_f
        outcomes.values[row, 1] = f_new
    return running


@jit(nogil=True)
def difference_point(x, work, column, lower, upper, rel_step):
    """Move column `column` of `work` (a copy of `x`) by each row's forward-
    difference step (``_rule.difference_step``, as the compiled loop's);
    return the steps as taken, ``(x + h) - x`` (k,). `rel_step` is empty for
    SciPy's default.
    """
    relative = rel_step[column] if rel_step.size else 0.0
    taken = np.empty(x.shape[0])
    for j in range(x.shape[0]):
        x0 = x[j, column]
        h = _step_inside_bounds(x0, _difference_step(x0, relative), lower[column],
                                upper[column])
        work[j, column] = x0 + h
        taken[j] = (x0 + h) - x0
    return taken


@jit(nogil=True)
def compact_rows(keep, rows):
    """Move the rows of `rows` (k, w) where `keep` is True to its front, in order.

    In place: the batch's arrays shrink as problems stop without a new
    allocation per iteration. Returns how many were kept.
    """
    kept = 0
    for j in range(keep.size):
        if keep[j]:
            if kept < j:
                for column in range(rows.shape[1]):
                    rows[kept, column] = rows[j, column]
            kept += 1
    return kept


def solve(fun, jac, kind, x, args, step_size, box, layout, variant, limits, rel_step):
    """Run every problem of `x` (m, n), in place, to its stop; returns `Outcomes`.

    `kind` is ``_validation.jac_kind``'s name for `jac`; `args` are arrays
    with one leading entry per problem; the rest as ``_minimize_loop.solve``
    takes them, with `box` holding the bounds of one problem (n,).
    """
    m, n = x.shape
    outcomes = Outcomes(np.empty_like(x), np.empty_like(x), np.empty_like(x),
                        np.empty((m, 5), np.int64), np.empty((m, 2)))
    problems = new_problems(x, step_size)
    rows = np.arange(m)
    slots = np.arange(m)
    # Owned copies, shrunk in place as problems stop: the caller's stay whole.
    args = tuple(np.array(a, order="C", copy=True) for a in args)
    batch = [x, rows.reshape(m, 1), slots.reshape(m, 1),
             *(a.reshape(m, -1) for a in args)]
    keep = np.empty(m, np.bool_)
    # The gradient summary skips bounds that are infinite everywhere; the
    # differences keep them (they test lower == upper).
    summary_box = box if box.bounded else Box(x[0, :0], x[0, :0], False)
    run = advance
    running = m
    while running:
        # The args are views of the copies above: read-only, so that fun
        # cannot change another call's data by writing into them.
        point_args = tuple(_cpu.read_only(a[:running]) for a in args)
        f, grad, calls = _evaluate(fun, jac, kind, x[:running], point_args, box,
                                   rel_step)
        k = running
        arguments = (x[:k], f, grad, calls, rows[:k], slots[:k], problems, outcomes,
                     summary_box, layout, variant, limits, keep[:k])
        running = run(*arguments)
        if run is advance:
            # From here on its compiled entry point: the arguments keep their
            # types (_rows_of makes f and the gradient C-contiguous of their
            # dtypes), and the dispatcher would type all thirteen on every
            # call (about 4 us).
            run = _cpu._entry_point(advance, arguments)
        if running < k:
            for array in batch:
                compact_rows(keep[:k], array[:k])
            if 2 * running <= len(problems.best_f):
                # Half the slots are empty: pack them, so that the state of
                # the running problems stays close together in memory.
                problems = Problems(*(a[slots[:running]] for a in problems))
                slots[:running] = np.arange(running)
    return outcomes


def _evaluate(fun, jac, kind, x, args, box, rel_step):
    """``(f (k,) float64, gradient (k, n) in x's dtype, calls per problem)``.

    Like SciPy, fun and jac get a copy of the points, theirs to keep: the
    steps change `x` in place.
    """
    k, n = x.shape
    returned = fun(x.copy(), *args)
    if kind == "both":
        if not (isinstance(returned, tuple | list) and len(returned) == 2):
            raise TypeError(
                "with jac=True and vectorized=True, fun must return a pair (f of "
                f"shape (k,), gradient of shape (k, n)); got {_kind_of(returned)}"
            )
        f, grad = returned
    else:
        f = returned
    f = _rows_of(f, (k,), np.float64, "fun", "f")
    if kind == "2-point":
        return f, *_differences(fun, x, args, f, box, rel_step)
    if kind == "callable":
        grad = jac(x.copy(), *args)
    return f, _rows_of(grad, (k, n), x.dtype, "jac" if kind == "callable"
                       else "fun", "the gradient"), 1


def _differences(fun, x, args, f, box, rel_step):
    """SciPy's '2-point' differences for every row at once, as
    ``_minimize_loop._forward_differences`` takes them for one; returns
    ``(gradient, calls per problem)``."""
    k, n = x.shape
    grad = np.empty((k, n))
    calls = 1
    for column in range(n):
        if box.lower[column] == box.upper[column]:  # fixed: held, not called
            grad[:, column] = 0.0
            continue
        shifted = x.copy()
        taken = difference_point(x, shifted, column, box.lower, box.upper, rel_step)
        f_shifted = _rows_of(fun(shifted, *args), (k,), np.float64, "fun", "f")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            grad[:, column] = (f_shifted - f) / taken
        calls += 1
    return grad, calls


def _rows_of(value, shape, dtype, name, what):
    """A new C-contiguous array of `shape` and `dtype` from `value` (a user's
    function may return, and later overwrite, a buffer of its own), or a
    clear error."""
    array = np.asarray(value)
    if array.shape != shape:
        rows = "(k,): one value per row" if len(shape) == 1 else "(k, n)"
        raise ValueError(
            f"with vectorized=True, {name} must return {what} of shape {rows} "
            f"of x, here {shape}; got {_kind_of(value)}"
        )
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must return real numbers for {what}; got "
                        f"{array.dtype}")
    return np.array(array, dtype=dtype, order="C", copy=True)


def _kind_of(value):
    """What a function returned, for an error message."""
    if value is None or isinstance(value, tuple | list | str):
        return repr(value) if value is None else type(value).__name__
    return f"shape {np.shape(value)}"
