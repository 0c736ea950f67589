"""``minimize_many(..., vectorized=True)``: one call of the objective per iteration.

The objective sees every running problem at once, as the rows of an array,
and may be any Python callable (NumPy code, or an ``@njit`` function over
the rows). A Python loop calls it, then one compiled pass (`advance`) takes
each problem through the same bookkeeping as ``_minimize_loop.solve`` (the
same stopping tests and best point, from the same inlined pieces, in the
same order), and ``_cpu``'s step kernel, the one `Rprop.step` runs, steps
every row at once with each row's own backtracking, recording the rows at
their best point so far on the way. So each problem's result
is bit for bit what ``minimize`` returns for it, given an objective whose
rows do not depend on which other rows are in the batch. Problems that stop
leave the batch: the last running rows move into their places, and the
arrays the objective sees shrink.

Stepping all rows in one vector loop, rather than each row in `advance`,
made the 4-D quadratics of ``benchmarks/bench_vectorized.py`` 2x faster:
a row's rule alone compiles to branches on the gradients' signs, which a
batch of unrelated problems makes unpredictable. The best-point copies moved
into that loop for the same reason (a branch on each row's objective), and
the counts are the loop's own (every running problem has the same).
"""

from typing import NamedTuple

import numpy as np

from . import _cpu, _first_class, _minimize_loop
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
    _rprop_update_called,
    _step_inside_bounds,
    _steps_small,
)
from ._stopping import RUNNING
from ._variants import keeps_update


class Problems(NamedTuple):
    """The state of the running problems: row j is the problem in row j of x.

    A problem that stops hands its row to the last running one
    (`vacated_rows`, `move_rows`), so that the running problems always fill
    the first rows, in memory that stays close together.
    """

    step_size: np.ndarray  # (m, n)
    prev_sign: np.ndarray  # (m, n) int8
    prev_update: np.ndarray  # (m, n)
    best_x: np.ndarray  # (m, n)
    best_grad: np.ndarray  # (m, n)
    best_history: np.ndarray  # (m, FTOL_WINDOW + 1): the ftol ring buffer
    prev_f: np.ndarray  # (m, 1): the objective before the last step
    best_f: np.ndarray  # (m, 1)


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
        prev_f=np.full((m, 1), np.inf),
        best_f=np.empty((m, 1)),
    )


# Up to this many parameters, `advance` is compiled for their number (see
# `width`): its loops over a row's entries unroll, and a row of the 4-D
# quadratics of benchmarks/bench_vectorized.py takes about half the time (a
# compile per parameter count, each cached on disk like the rest).
UNROLLED_MAX = 8


def width(n):
    """``advance``'s `width` for rows of `n` parameters: a tuple of n zeros
    (its type holds n, a compile-time constant) up to `UNROLLED_MAX`, else
    empty (n read from the arrays)."""
    return (0,) * n if n <= UNROLLED_MAX else ()


# _nrt=False: every row takes views of a dozen arrays, and with Numba's
# reference counting each view cost two atomic operations (63 -> 44 ns a row
# of 4 parameters). Nothing here allocates.
@jit(nogil=True, _nrt=False)
def advance(width, x, f, grad, nit, nfev, njev, rows, problems, outcomes, box,
            layout, variant, limits, keep, rose, improved):
    """Take each running problem from its new evaluation to its next step.

    Row j of `x` (k, n), `f` (k,) and `grad` (k, n) is problem ``rows[j]``,
    whose state is row j of `problems`, just evaluated. Every running problem
    has the same counts (they all start together, and each iteration
    evaluates each of them alike): `nit` steps taken, `nfev` and `njev`
    evaluations with this one. For each: what ``solve`` does after an
    evaluation (gradient summary, stopping tests, best point); if it runs on,
    ``keep[j] = True`` and ``rose[j]`` (n,) is set to whether its objective
    rose, for the caller's step of every row at once (``_cpu``'s kernel,
    which backtracks by it), and ``improved[j]`` (n,) to whether this is its
    best point so far, which that kernel records. With `rose` None, its next
    Rprop step is taken here, in place in ``x[j]`` (several groups of
    parameters), and its best point recorded here. Numba compiles only the
    branch a call's `rose` takes. A problem that stops has its outcome
    written to row ``rows[j]`` of `outcomes`. `width` is ``width(n)``.
    Returns how many run on. The order of the tests is
    ``solve``'s: a change to one is a change to both
    (tests/test_vectorized.py holds them equal).
    """
    n = len(width) if len(width) else x.shape[1]  # a constant where it can be
    running = 0
    for j in range(x.shape[0]):
        point, gradient, f_new = x[j], grad[j], np.float64(f[j])
        best_x, best_grad = problems.best_x[j], problems.best_grad[j]
        gradient_norm, nonfinite = _gradient_summary(point, gradient, box.lower,
                                                     box.upper, n)
        status = _after_evaluation(f_new, nonfinite)
        best_f = problems.best_f[j, 0]
        better = False
        if njev == 1:  # the starting point: the best so far, whatever it is
            _copy(point, best_x, n)
            _copy(gradient, best_grad, n)
            best_f = f_new
            problems.best_history[j, 0] = best_f
        elif status == RUNNING:
            better = f_new < best_f
            if better:
                best_f = f_new
                if rose is None:  # no kernel to record it
                    _copy(point, best_x, n)
                    _copy(gradient, best_grad, n)
            status = _steps_small(_largest(problems.step_size[j], n), limits)
            if status == RUNNING and limits.ftol > 0:  # as _stopping.after_step
                status = _no_progress(nit, best_f, problems.best_history[j],
                                      limits)
        if status == RUNNING:
            status = _before_step(gradient_norm, nit, nfev, limits)
        keep[j] = status == RUNNING
        if status == RUNNING:
            objective_rose = f_new > problems.prev_f[j, 0]
            problems.prev_f[j, 0] = f_new
            if rose is None:
                _rprop_update_called(
                    variant, point, gradient, problems.step_size[j],
                    problems.prev_sign[j], problems.prev_update[j], layout,
                    _backtracks(variant, objective_rose), box)
            else:
                for i in range(n):
                    rose[j, i] = objective_rose
                    improved[j, i] = better
            problems.best_f[j, 0] = best_f
            running += 1
            continue
        # Stopped: the kernel steps this row too, but what it records and
        # steps there is left behind (its flags are stale: the last
        # iteration's, or never set on the first).
        if better and rose is not None:
            _copy(point, best_x, n)
            _copy(gradient, best_grad, n)
        row = rows[j, 0]
        _copy(best_x, outcomes.best_x[row], n)
        _copy(best_grad, outcomes.best_grad[row], n)
        _copy(point, outcomes.x_last[row], n)
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
def vacated_rows(keep, moves):
    """Plan to fill the rows of stopped problems with the last running ones.

    `keep` (k,) says which rows run on. Writes to `moves` (k, 2) the pairs
    (from, to) that bring every running row before every stopped one,
    moving only rows that must move (the last running rows into the first
    stopped ones); returns ``(pairs, running)``.
    """
    first, last, pairs = 0, keep.size - 1, 0
    while True:
        while first <= last and keep[first]:
            first += 1
        while last > first and not keep[last]:
            last -= 1
        if first >= last:
            return pairs, first
        moves[pairs, 0] = last
        moves[pairs, 1] = first
        pairs += 1
        first += 1
        last -= 1


@jit(nogil=True)
def move_rows(array, moves):
    """``array[to] = array[from]`` for each pair of `moves` (pairs, 2).

    `array` is bytes (m, row's bytes): one compiled copy serves every dtype.
    """
    for pair in range(moves.shape[0]):
        source, target = moves[pair, 0], moves[pair, 1]
        for column in range(array.shape[1]):
            array[target, column] = array[source, column]


def solve(fun, jac, kind, x, args, step_size, box, layout, variant, limits, rel_step):
    """Run every problem of `x` (m, n) to its stop; returns `Outcomes`.

    `kind` is ``_validation.jac_kind``'s name for `jac`; `args` are arrays
    with one leading entry per problem; the rest as ``_minimize_loop.solve``
    takes them, with `box` holding the bounds of one problem (n,).

    Each iteration evaluates the running problems (the first rows), takes
    them through `advance`, steps them all at once with ``_cpu``'s kernel
    (one group of parameters; with several, `advance` steps each row), and
    moves the last running rows into those of the problems that stopped.
    """
    m, n = x.shape
    # Rows as contiguous memory: the steps run over flat views, and stopped
    # rows move as bytes (a Fortran-ordered x0 arrives Fortran-ordered).
    x = np.ascontiguousarray(x)
    outcomes = Outcomes(np.empty_like(x), np.empty_like(x), np.empty_like(x),
                        np.empty((m, 5), np.int64), np.empty((m, 2)))
    problems = new_problems(x, step_size)
    rows = np.arange(m).reshape(m, 1)
    # Owned copies, reordered in place as problems stop: the caller's stay.
    args = tuple(np.array(a, order="C", copy=True) for a in args)
    batch = [a.reshape(m, -1).view(np.uint8)
             for a in (x, rows, *problems, *args)]
    keep = np.empty(m, np.bool_)
    rose = np.empty((m, n), np.bool_)
    improved = np.empty((m, n), np.bool_)
    moves = np.empty((m, 2), np.int64)
    # The gradient summary skips bounds that are infinite everywhere; the
    # differences keep them (they test lower == upper).
    summary_box = box if box.bounded else Box(x[0, :0], x[0, :0], False)
    step_rows = layout.group_stop.size > 1
    row_width = width(n)
    hyper = tuple(layout.hyper[0])  # eta_minus, eta_plus, min_step, max_step
    kernel = _cpu.SERIAL_KERNELS[variant]
    if box.bounded and not step_rows:
        # Every row has the same bounds: the first k rows of these serve k.
        lower, upper = (np.ascontiguousarray(np.broadcast_to(b, (m, n)))
                        for b in (box.lower, box.upper))
        # Plain Python here: the njit twin compiles in every process (not
        # cached: it is only ever inlined).
        kept_update = problems.prev_update if keeps_update(variant) else x[:0]
    run, step, move = advance, kernel, move_rows
    running, k = m, 0
    nit = nfev = njev = 0  # every running problem's (see advance)
    while running:
        if running != k:
            # Views of the first k rows, remade only when problems stop: a
            # slice and a reshape cost ~0.3 us each in Python, a dozen of
            # them most of an iteration's overhead with few problems.
            k = running
            x_k, rows_k, keep_k = x[:k], rows[:k], keep[:k]
            rose_k = None if step_rows else rose[:k]
            improved_k = None if step_rows else improved[:k]
            # The args are views of the copies above: read-only, so that fun
            # cannot change another call's data by writing into them.
            point_args = tuple(_cpu.read_only(a[:k]) for a in args)
            flat = tuple(a[:k].reshape(-1) for a in (
                x, problems.step_size, problems.prev_sign, problems.prev_update,
                rose))
            best = tuple(a[:k].reshape(-1) for a in (
                improved, problems.best_x, problems.best_grad))
            if box.bounded and not step_rows:
                flat_box = tuple(a[:k].reshape(-1) for a in (
                    kept_update, lower, upper))
        f, grad, calls = _evaluate(fun, jac, kind, x_k, point_args, box, rel_step)
        nfev, njev = nfev + calls, njev + 1
        arguments = (row_width, x_k, f, grad, nit, nfev, njev, rows_k, problems,
                     outcomes, summary_box, layout, variant, limits, keep_k,
                     rose_k, improved_k)
        if run is advance:
            # Its compiled entry point, for every call: the arguments keep
            # their types (_evaluate makes f and the gradient C-contiguous of
            # their dtypes), and the dispatcher would type all of them on
            # every call. A cold compile takes ~2-3 s, once per n.
            run = _first_class.compiled_entry_point(
                advance, tuple(map(_first_class.typeof, arguments)))
        running = run(*arguments)
        nit += 1
        if not step_rows and running:
            # Every row at once, the stopped ones too: their outcomes are
            # written, and their rows are overwritten or left behind below.
            x_flat, step_flat, sign_flat, update_flat, rose_flat = flat
            arguments = (x_flat, grad.reshape(-1), step_flat, sign_flat,
                         update_flat, *hyper, False, rose_flat, *best)
            step(*arguments)
            if step is kernel:
                step = _cpu._entry_point(kernel, arguments)
            if box.bounded:
                _cpu.project_onto_bounds(x_flat, step_flat, *flat_box, hyper[2])
        if 0 < running < k:
            pairs, _ = vacated_rows(keep_k, moves)
            planned = moves[:pairs]
            for array in batch:
                arguments = (array, planned)
                move(*arguments)
                if move is move_rows:  # every array of the batch is uint8 (m, bytes)
                    move = _cpu._entry_point(move_rows, arguments)
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
                       else "fun", "the gradient", copy=False), 1


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


def _rows_of(value, shape, dtype, name, what, copy=True):
    """A C-contiguous, writeable array of `shape` and `dtype` from `value`,
    or a clear error.

    A new one unless `copy` is False: a user's function may return, and
    later overwrite, a buffer of its own, so only what is read before the
    next call (the gradient, within one iteration) may be the user's own.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise ValueError(
            f"with vectorized=True, {name} must return {what} as an array; got "
            f"{_kind_of(value)} that NumPy cannot make one of ({error})"
        ) from error
    if array.shape != shape:
        rows = "(k,): one value per row" if len(shape) == 1 else "(k, n)"
        raise ValueError(
            f"with vectorized=True, {name} must return {what} of shape {rows} "
            f"of x, here {shape}; got {_kind_of(value)}"
        )
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must return real numbers for {what}; got "
                        f"{array.dtype}")
    if copy or not (array.dtype == dtype and array.flags.c_contiguous
                    and array.flags.writeable):
        return np.array(array, dtype=dtype, order="C", copy=True)
    return array


def _kind_of(value):
    """What a function returned, for an error message."""
    if value is None or isinstance(value, tuple | list | str):
        return repr(value) if value is None else type(value).__name__
    return f"shape {np.shape(value)}"
