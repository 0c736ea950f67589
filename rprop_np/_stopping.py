"""Why a run stops: the status codes, their messages, and the stopping tests.

Every public function reports the same codes with the same meaning, and the
tests are written once here, as plain Python: the Python loop of
``_minimize.py`` calls them as they are, and the compiled loop of
``_minimize_loop.py`` compiles them, so both stop at the same iteration for the
same reason (the tests hold them to it, bit for bit). Changing a stopping rule
means changing this file, and its description in ``docs/guide/stopping.md``
(whose table of codes is generated from `STATUS_MESSAGES`).
"""

import math
from typing import NamedTuple

import numpy as np

RUNNING = -1  # no reason to stop yet

# Rprop's own (minimize, minimize_many, and the Rprop stages of the fits)
GRADIENT_SMALL = 0
MAXITER_REACHED = 1
MAXFEV_REACHED = 2
STEPS_SMALL = 3
NO_PROGRESS = 4
OBJECTIVE_NOT_FINITE = 5
GRADIENT_NOT_FINITE = 6
# The Levenberg-Marquardt polish of curve_fit_many
POLISH_XTOL_REACHED = 10
POLISH_FTOL_REACHED = 11
POLISH_MAXITER_REACHED = 12
POLISH_STUCK = 13
# curve_fit_many with nan_policy='omit': a fit left with too few points
TOO_FEW_POINTS = 20
# Never in a result: the call raises instead (see ``_guard``)
STOPPED = 98
CALLBACK_STOPPED = 99

FTOL_WINDOW = 10  # iterations over which ftol compares the best objective
NO_LIMIT = np.iinfo(np.int64).max  # maxfev=None
POLISH_XTOL = 1e-10  # the polish stops when a step moves p by at most this
POLISH_FTOL = 1e-15  # ... or lowers the cost by less than this (relative)

STATUS_MESSAGES = {
    GRADIENT_SMALL: "Optimization terminated successfully: the projected "
        "gradient's max-norm is at most gtol.",
    MAXITER_REACHED: "Maximum number of iterations has been exceeded.",
    MAXFEV_REACHED: "Maximum number of function evaluations has been exceeded.",
    STEPS_SMALL: "Optimization terminated successfully: every step size is at "
        "most xtol (or at min_step), so x can no longer change by more than "
        "that.",
    NO_PROGRESS: "Optimization terminated successfully: the best objective "
        "improved by less than ftol (relative) over the last "
        f"{FTOL_WINDOW} iterations.",
    OBJECTIVE_NOT_FINITE: "The objective was not finite (in a fit: the model "
        "or its cost); the result is the best finite point.",
    GRADIENT_NOT_FINITE: "The gradient had non-finite components (in a fit: the "
        "Jacobian); the result is the best point where it was finite.",
    POLISH_XTOL_REACHED: "Polish converged: the last step moved the parameters "
        f"by at most {POLISH_XTOL:g} (relative, in Marquardt's norm).",
    POLISH_FTOL_REACHED: "Polish converged: the last step lowered the cost by "
        f"less than {POLISH_FTOL:g} of it.",
    POLISH_MAXITER_REACHED: "Polish reached polish_maxiter iterations.",
    POLISH_STUCK: "Polish stopped: no step lowered the cost, even with the "
        "largest damping.",
    TOO_FEW_POINTS: "Not fitted: fewer finite data points than parameters "
        "(nan_policy='omit'); popt, pcov and the cost are NaN.",
    CALLBACK_STOPPED: "`callback` raised `StopIteration`.",
}
"""What each status means, the same for every public function: ``{status: message}``."""

_CONVERGED = (GRADIENT_SMALL, STEPS_SMALL, NO_PROGRESS, POLISH_XTOL_REACHED,
              POLISH_FTOL_REACHED)
SUCCESS = frozenset(_CONVERGED)
"""The statuses that are a convergence."""


def message(status: int, nit: int, fun: float, nonfinite: int) -> str:
    """The message of one run's `status`, with where it stopped if it failed."""
    if status == OBJECTIVE_NOT_FINITE:
        return (f"The objective was not finite ({fun}) at iteration {nit}; "
                "returning the best finite point.")
    if status == GRADIENT_NOT_FINITE:
        return (f"The gradient had {nonfinite} non-finite component(s) at "
                f"iteration {nit}; returning the best finite point.")
    return STATUS_MESSAGES[status]


class Limits(NamedTuple):
    """The stopping settings of one Rprop run (``NO_LIMIT`` for none)."""

    maxiter: int
    maxfev: int
    gtol: float
    xtol: float  # max(xtol, min_step): below min_step no step size shrinks
    ftol: float


def limits(maxiter, maxfev, gtol, xtol, ftol, min_step) -> Limits:
    """The `Limits` of checked settings; None for `maxfev` is no limit.

    The step-size test uses ``max(xtol, min_step)``: no step size shrinks
    below min_step (the smallest of all groups'), so a smaller xtol would
    never be met.
    """
    maxfev = NO_LIMIT if maxfev is None else maxfev
    return Limits(
        np.int64(min(maxiter, NO_LIMIT)), np.int64(min(maxfev, NO_LIMIT)),
        np.float64(gtol), np.float64(max(xtol, min_step)), np.float64(ftol),
    )


def before_step(gradient_norm, nit, nfev, limits):
    """The status that ends the run before another step, or RUNNING."""
    if gradient_norm <= limits.gtol:
        return GRADIENT_SMALL
    if nit >= limits.maxiter:
        return MAXITER_REACHED
    if nfev >= limits.maxfev:
        return MAXFEV_REACHED
    return RUNNING


def after_evaluation(f, nonfinite):
    """The status of a non-finite objective or gradient at the new point."""
    if not math.isfinite(f):
        return OBJECTIVE_NOT_FINITE
    if nonfinite:
        return GRADIENT_NOT_FINITE
    return RUNNING


def after_step(nit, best_f, largest_step, best_history, limits):
    """The status that ends the run after step `nit`, or RUNNING.

    `best_history` (``FTOL_WINDOW + 1`` entries) is a ring buffer of the best
    objective after each iteration; this records `best_f` in it while
    ``limits.ftol > 0`` (with ftol 0 the test can never stop a run: the best
    objective never rises).
    """
    status = steps_small(largest_step, limits)
    if status == RUNNING and limits.ftol > 0:
        status = no_progress(nit, best_f, best_history, limits)
    return status


def steps_small(largest_step, limits):
    """STEPS_SMALL if no step size is above ``limits.xtol``, else RUNNING."""
    return STEPS_SMALL if largest_step <= limits.xtol else RUNNING


def no_progress(nit, best_f, best_history, limits):
    """NO_PROGRESS if the best objective fell by less than ftol (relative)
    over the last `FTOL_WINDOW` iterations, else RUNNING; records `best_f`
    in `best_history` (see `after_step`)."""
    best_history[nit % (FTOL_WINDOW + 1)] = best_f
    if nit >= FTOL_WINDOW:
        old = best_history[(nit - FTOL_WINDOW) % (FTOL_WINDOW + 1)]
        if old - best_f < limits.ftol * max(abs(best_f), 1.0):
            return NO_PROGRESS
    return RUNNING
