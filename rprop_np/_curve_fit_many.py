"""curve_fit_many: many small independent curve fits, compiled and in parallel.

Per-pixel fitting (one decay curve per pixel of an image, say) means millions
of fits of a few parameters to a few dozen points. Called once per fit,
`scipy.optimize.curve_fit` spends most of its time in Python. Here every fit
runs in Numba, in parallel over fits: a Levenberg-Marquardt polish
(``_least_squares.polish``) from p0, fast and precise near the minimum; then, for the
fits where it failed detectably, rescues from poor starting values: a short
Rprop stage (``_minimize_loop.solve`` on the scaled parameters ``p / scale``, as
``curve_fit``) and another polish; then the covariance. Each fit stops on its
own.
"""

import contextlib
import inspect
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numba
import numpy as np
from numba import types
from numba.core.errors import NumbaExperimentalFeatureWarning

from . import _curve_fit, _dask, _first_class, _least_squares, _minimize_loop, _stopping
from ._jit import jit, thread_count, use_threads
from ._optimizer import check_positive_min_step
from ._stopping import (
    GRADIENT_NOT_FINITE,
    NO_LIMIT,
    OBJECTIVE_NOT_FINITE,
    SUCCESS,
    TOO_FEW_POINTS,
    Limits,
)
from ._validation import (
    check_count,
    check_etas,
    check_lr,
    check_option_names,
    check_step_sizes,
    curve_fit_bounds,
)
from ._variants import variant_code

# The stages, as measured on a*exp(-t/tau) + c, k = 50 points on [0, 5], noise
# 0.02, true a in [1, 3], tau in [0.5, 2], c in [0.2, 1] (the benchmark's
# data): the share of 4,000 fits (two seeds) reaching the minimum (a cost within
# 1e-6 of the best of all methods, SciPy from the truth included) from good
# starts (truth x U(0.8, 1.25)), from the benchmark's poor ones (each parameter
# times or divided by 5-10, its sign flipped with probability 1/3) and from
# starts up to 10x off with the same sign; and us per fit at m = 10^4 on two
# busy threads (analytic jac / forward differences; the old default measured
# 23/34 us there on a quiet machine).
#                                    reached the minimum       us/fit, m = 10^4
#   strategy                         good    poor     10x      good       poor
#   scipy curve_fit, fit by fit      100%   67.2%   88.9%
#   20 Rprop its, polish (old)       100%   56.9%   99.9%      40/56     102/126
#   polish alone                     100%   61.7%   93.5%      12/17      51/53
#   polish, rescue lr 0.01           100%   66.8%   99.9%      12/17
#   polish, rescue lr 0.1            100%   68.6%  100.0%      12/17     114/125
#   polish, rescue lr 0.1, 50 its    100%   66.6%  100.0%      12/17
#   polish, rescue 0.03, then 0.3    100%   70.1%  100.0%      12/17
#   polish, rescue 0.1, then 0.3     100%   70.3%  100.0%      12/17     170/190
#   polish, rescue 0.03, 0.1, 0.3    100%   71.4%  100.0%      12/17
# (rescue: Rprop from p0 for 20 iterations with that first step, then the
# polish, for the fits the polish left unconverged or at a cost above
# RESCUE_COST_FACTOR times the median converged cost; the next lr rescues the
# fits still flagged. The median cost has since given way to each fit's own
# noise level, see `_rescue_threshold`: the same rescues on these data, 69.2%
# and 70.2% on two seeds of 4,000 poor starts either way, and where the noise
# sd differs up to 30-fold between fits, 0.2% of good starts rescued
# needlessly instead of 16.8%; the noise is a median of pseudo-residuals, so
# that a missed peak a point wide is still rescued.) Good starts need no
# rescue: the polish alone (13 model and Jacobian calls per fit, SciPy 9; old
# 53). From poor starts the polish fails detectably: polish_maxiter (22% of
# the poor starts: the tau -> inf valley, tau creeping to +-inf) or a false
# convergence at a cost 100-10^6 times the median (16%: stuck at tau < 0, a
# line fit), while converged fits lie within 1.8 times the median (a
# chi-square spread). Rprop up front hurts the poor set: at 87% of the starts
# with tau < 0 the gradient pushes tau away from the pole at 0 (the cost is
# infinite there), so sign steps never cross it, whatever lr or maxiter (Rprop
# alone reached tau > 0 from none; with lr 0.1 or 100 iterations neither);
# only a long Levenberg-Marquardt step jumps it, and Rprop's slide towards
# tau -> -inf first makes that less likely. The rescue's larger first steps (0.1,
# then 0.3 of the scale) matter for the same-sign starts where a is flipped;
# rescuing from the polished point instead of p0 rescued almost none. A rescue
# only ever lowers a fit's cost; a cost-flagged fit that was right (noise
# levels that differ between fits) only costs time.
RPROP_ITERATIONS = 0  # Rprop iterations before the first polish
RESCUE_LR = (0.1, 0.3)  # one rescue round per entry: Rprop's first step
RESCUE_ITERATIONS = 20  # Rprop iterations of each rescue, before its polish
RESCUE_COST_FACTOR = 10.0  # converged above this times a right fit's cost: rescued
ROUNDING_COST = 1e-20  # a cost this small against the data's squares is rounding
CHI2_1_MEDIAN = 0.454936423119572  # the median of chi-square with 1 dof
NOISE_ROWS = 65_536  # fits per block of the noise estimate
PURE_RPROP_ITERATIONS = _curve_fit.PURE_RPROP_ITERATIONS  # polish=False
POLISH_ITERATIONS = 100  # polish_maxiter's default

_OPTIONS = {
    "maxiter": None,  # Rprop iterations: RPROP_ITERATIONS, or 20,000 unpolished
    # The Rprop stage's scaled settings are curve_fit's own.
    **{name: _curve_fit._RPROP_OPTIONS[name]
       for name in ("lr", "etas", "step_sizes", "gtol", "ftol", "xtol")},
    "polish": True,
    "polish_maxiter": POLISH_ITERATIONS,
    "rescue_lr": RESCUE_LR,
    "rescue_maxiter": RESCUE_ITERATIONS,
    "parallel": None,
}

PARALLEL_MIN_FITS = 64  # fewer fits run in one thread: no threads started
STATUS_MESSAGES = _stopping.STATUS_MESSAGES  # one table for every function


class FitData(NamedTuple):
    """The data of all fits, as the compiled driver takes it."""

    xdata: np.ndarray  # (1, k) shared, or (m, k)
    ydata: np.ndarray  # (m, k)
    weights: np.ndarray  # 1 / sigma: (1, k) shared, or (m, k)
    scale: np.ndarray  # (m, n): each fit's parameter scales, |p0| (1 where 0)
    # One box for every fit, as fields.
    lower: np.ndarray  # (n,)
    upper: np.ndarray  # (n,)
    bounded: bool


class FitSettings(NamedTuple):
    """The settings every fit of a call shares, checked."""

    variant: int
    hyper: np.ndarray  # (1, 4): the Rprop stages' one group (see _minimize_loop.Layout)
    step0: np.ndarray  # (n,): the first Rprop stage's initial step sizes
    limits: Limits  # of the first Rprop stage; a rescue has its own maxiter
    polish: bool
    polish_maxiter: int
    rescue_lr: np.ndarray  # one rescue round per entry (may be empty)
    rescue_maxiter: int


def curve_fit_many(
    model: Callable[..., Any],
    xdata,
    ydata,
    p0,
    sigma=None,
    bounds=(-np.inf, np.inf),
    method: str = "irprop+",
    jac: Callable[..., Any] | None = None,
    absolute_sigma: bool = False,
    nan_policy: str | None = None,
    **options: Any,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Fit m independent curves ``ydata[i] ~ model(xdata[i], p)`` in parallel.

    Each fit minimizes ``0.5 * sum(((model(x, p) - y) / sigma)**2)`` by a
    projected Levenberg-Marquardt polish (fast and precise near the minimum);
    a fit where it fails detectably is rescued by a short Rprop stage over the
    scaled parameters ``p / |p0|`` from p0 (robust from poor starting values)
    and a second polish. All compiled with Numba and run in parallel over the
    fits, each with its own stopping.

    Parameters
    ----------
    model : Numba ``@njit`` function
        ``model(x, p) -> ndarray (k,)``: the model values at one fit's k
        points `x` (a 1-D float64 array) for the parameters `p` (n,); or,
        as SciPy's curve_fit takes it, ``model(x, a, b, ...)`` with the n
        parameters as scalars. Told apart by its signature: only a function
        of exactly two arguments, neither defaulted, gets the vector `p`
        (with n = 1, the number ``p[0]`` where its code compiles only for a
        number); any other is called as SciPy calls it, ``model(x, *p)`` (so
        p0 may set defaulted arguments, and ``model(x, *p)`` takes any n).
    xdata : array_like, shape (k,) or ydata's
        The points, shared by all fits or one row per fit: one independent
        variable (SciPy's multi-variable ``xdata`` of shape (d, k) is not
        supported).
    ydata : array_like, shape (m, k) or (..., k)
        The data, one row of k points per fit; the fits may run over several
        axes, as the pixels of an image, ``(H, W, k)``.
    p0 : array_like, shape (n,) or (..., n)
        Initial parameters, shared or one row per fit (over ydata's fit
        axes). Their magnitudes set each parameter's scale (1 where p0 is 0).
    sigma : array_like, optional
        Standard deviations of `ydata` (residuals are divided by them), of
        any shape that broadcasts to ydata's: (k,) shared, ``(..., 1)`` one
        per fit, or one per point.
    absolute_sigma : bool, optional
        As in `scipy.optimize.curve_fit`: True, `sigma` is in the data's
        units and pcov is ``(J'J)^-1``; False (default), only its relative
        sizes count and pcov is scaled by each fit's reduced chi-square.
    nan_policy : {None, 'raise', 'omit'}, optional
        None or 'raise' (SciPy's default): NaN or inf in the data raises,
        naming the first fit and point. 'omit': each fit uses only its
        finite points (NaN in `ydata`; inf still raises); a fit left with
        fewer points than parameters is not run, gets status 20 and NaN
        popt, pcov and cost.
    bounds : 2-tuple of array_like or `scipy.optimize.Bounds`, optional
        Lower and upper bounds on the parameters (scalars or one per
        parameter), shared by all fits; p0 must lie inside.
    method : {'irprop+', 'irprop-', 'rprop+', 'rprop-'}, optional
        The Rprop variant (of the rescues, and of any Rprop before the
        first polish).
    jac : Numba ``@njit`` function, optional
        ``jac(x, p) -> ndarray (k, n)`` (or ``jac(x, a, b, ...)``), the
        Jacobian of the model. None:
        forward differences, SciPy's '2-point' step in the scaled parameters.
    **options
        ``maxiter`` (Rprop iterations before the first polish: 0, or 20,000
        without a polish), ``lr`` (their first step, 1e-2), ``rescue_lr``
        ((0.1, 0.3): one rescue round per entry, its Rprop's first step; ``()``
        for none), ``rescue_maxiter`` (20: Rprop iterations per rescue),
        ``etas`` ((0.5, 1.2)), ``step_sizes`` ((1e-15, 10)), ``gtol``,
        ``ftol``, ``xtol`` (0: Rprop's stopping rules, as
        `rprop_np.minimize`), ``polish`` (True; False: Rprop alone, no
        rescue) and ``polish_maxiter`` (100); ``lr``, ``rescue_lr`` and
        ``step_sizes`` are relative to each parameter's scale. Unknown names
        raise a ValueError. ``maxiter=20, rescue_lr=()`` is the former
        default (20 Rprop iterations, then the polish, for every fit).
        ``parallel`` (None: threads for 64 fits or more; True or False to
        choose).

    Returns
    -------
    popt : ndarray, shape (..., n)
        Each fit's parameters, over ydata's fit axes.
    pcov : ndarray, shape (..., n, n)
        Their covariances, as `scipy.optimize.curve_fit` computes them
        (``(J'J)^-1`` by the SVD of the weighted Jacobian at popt, times the
        reduced chi-square unless `absolute_sigma`); inf when it cannot be
        estimated: ``k <= n`` (scaled), a rank-deficient or non-finite
        Jacobian. (SciPy's unbounded 'lm' also
        gives inf for a singular Jacobian; its bounded 'trf' gives a
        pseudo-inverse instead.)
    info : dict
        Per-fit arrays, shaped as ydata's fit axes: ``status``,
        ``success``: the status is a convergence (Rprop's 0, 3, 4 or the
        polish's 10, 11; a spent iteration budget is not), ``cost``: half
        the sum of squared weighted residuals at popt, ``nfev`` (model
        calls, finite differences included), ``njev`` (Jacobians evaluated)
        and ``nit`` (Rprop plus polish iterations), each summed over all
        attempts of the fit; and ``message``: the text of each status that
        occurs (all are in
        ``STATUS_MESSAGES``). The status, cost and popt are those of the
        attempt of lowest cost.

    Notes
    -----
    **Stages.** Every fit starts with the polish from p0, which converges in
    a few iterations from good starting values. From poor ones it can slide
    into a flat valley (for a decay, tau -> inf: it then runs out of
    ``polish_maxiter``) or stop at a false minimum. So a fit is rescued when
    its polish did not converge (status 12, 13, or not finite after the
    start) or converged to a cost above 10 times the cost a right fit has on
    average, ``(k - n) / 2`` times the variance of the noise in its own data
    (estimated from the data alone: the median of each point's squared
    distance from the line through its neighbours in x, Gasser et al. 1986),
    and above a rounding floor. That rule is per fit: fits never meet, so a
    fit's result does not depend on the others in the call, nor on how Dask
    chunks them. A fit rescued needlessly only costs time, and a rescue
    never raises its cost. A rescue runs 20 Rprop iterations from p0, which
    step by signs from a first step of ``rescue_lr`` times each
    parameter's scale, growing 1.2 times per iteration, so they move
    steadily where Levenberg-Marquardt slides, then the polish again; each
    further entry of ``rescue_lr`` rescues the fits still flagged, and a fit
    keeps the attempt of lowest cost. Measured on decay curves (see
    ``RESCUE_LR`` in the source): from good starts no fit needs a rescue and
    the polish alone is 3-4 times faster than the former 20 Rprop iterations
    before every polish; from poor starts the rescues raise the share of
    fits reaching the minimum above SciPy's. No descent crosses a pole
    between p0 and the minimum (a decay's tau started with the wrong sign):
    there only a long polish step can help.

    **Polish.** Levenberg-Marquardt with Marquardt's scaling, a Cholesky
    solve of the damped normal equations and Nielsen's damping update;
    components on a bound that the gradient pushes outward are held fixed
    and each step is clipped to the box. It stops when a step moves the
    parameters by at most 1e-10 of their size (status 10), when an accepted
    step lowers the cost by less than 1e-15 of it (rounding level, 11), or
    after ``polish_maxiter`` iterations (12).

    **Isolation.** A fit whose model is not finite at p0 stops with status 5
    and leaves every other fit untouched; in the polish, a non-finite trial
    point only makes it take a shorter step. The model is called from
    several threads at once, so it must not write to shared state.

    **Dask.** Any of `ydata`, `p0`, `sigma` and `xdata` may be a Dask array
    (``pip install "rprop-np[dask]"``): popt, pcov and the arrays of info
    are then lazy Dask arrays chunked as ydata's fit axes, each block fitted
    by this function on its own NumPy block when they are computed, on any
    scheduler (threads, processes, ``dask.distributed``). A fit never
    depends on the others in its call, so the results are bit for bit those
    of the in-memory call, whatever the chunking. Compute them together
    (``dask.compute(popt, pcov, info)``), or each computation fits every
    block again. ydata's last axis is rechunked into one chunk (with a
    warning); the first Dask array over the fit axes among ydata, p0, xdata
    and sigma sets their chunks, NumPy arrays are split to match, and
    another Dask array chunked otherwise is refused. ``info["message"]``
    holds every status's text (which occur is known only once computed).
    Errors in the data are raised when computed, naming the fit over the
    whole call. The model (and `jac`) are pickled to reach the workers:
    define them at the top level of a module; one that cannot be pickled is
    refused at the call.

    **Compilation.** The model and the Jacobian reach the compiled loop as
    first-class functions, typed by signature, so the loop compiles once per
    argument types and later processes load it from Numba's cache; with or
    without `jac` share one compilation. On a 2-core machine with an empty
    cache the first call takes 9-12 s, and the rescue's loop, compiled the
    first time a fit needs one, about as long again (`rprop_np.warmup`
    compiles both ahead).

    Examples
    --------
    >>> import numpy as np
    >>> from numba import njit
    >>> import rprop_np as rp
    >>> @njit
    ... def decay(t, p):
    ...     return p[0] * np.exp(-t / p[1]) + p[2]
    >>> t = np.linspace(0.0, 5.0, 50)
    >>> rng = np.random.default_rng(0)
    >>> true = rng.uniform([1.0, 0.5, -0.5], [3.0, 2.0, 0.5], size=(1000, 3))
    >>> y = true[:, :1] * np.exp(-t / true[:, 1:2]) + true[:, 2:]
    >>> y += 0.01 * rng.standard_normal(y.shape)
    >>> popt, pcov, info = rp.curve_fit_many(decay, t, y, p0=[1.0, 1.0, 0.0])
    >>> bool(info["success"].all()), bool(np.abs(popt - true).max() < 0.1)
    (True, True)
    >>> pcov.shape
    (1000, 3, 3)
    """
    if not _first_class.is_njit(model):
        raise TypeError(f"model must be a Numba @njit function; got {model!r}")
    if jac is not None and not _first_class.is_njit(jac):
        raise TypeError(f"jac must be None or a Numba @njit function; got {jac!r}")
    if not isinstance(absolute_sigma, bool | np.bool_):
        raise TypeError(f"absolute_sigma must be True or False; got {absolute_sigma!r}")
    if nan_policy not in (None, "raise", "omit"):
        raise ValueError(
            f"nan_policy must be None, 'raise' or 'omit'; got {nan_policy!r}")
    if any(map(_dask.is_dask, (xdata, ydata, p0, sigma))):
        # What can be checked without the data is refused here, not in a block.
        n = np.shape(p0)[-1] if np.ndim(p0) else 1
        _vector_form(model, n)
        if jac is not None:
            _vector_form(jac, n, "jac")
        settings = _settings(_check_options(options), method, n)
        use_threads(options.get("parallel"), 0, 1)
        if not _dask.is_dask(p0):
            p0 = _float_array(p0, "p0")
            _check_bounds(bounds, p0.reshape(-1, n), settings)
        if sigma is not None and not _dask.is_dask(sigma):
            _check_sigma(np.asarray(sigma))
        return _dask.curve_fit_many(model, xdata, ydata, p0, sigma, {
            "bounds": bounds, "method": method, "jac": jac,
            "absolute_sigma": absolute_sigma, "nan_policy": nan_policy, **options})
    shape, xdata, ydata, weights, popt, missing = _check_data(
        xdata, ydata, p0, sigma, nan_policy == "omit")
    m, k = ydata.shape
    n = popt.shape[1]
    settings = _settings(_check_options(options), method, n)
    lower, upper, bounded = _check_bounds(bounds, popt, settings)
    points = np.full(m, k)  # each fit's points
    if missing is not None:  # nan_policy='omit': a missing point weighs 0
        points = k - np.count_nonzero(missing, axis=1)
        ydata = np.where(missing, 0.0, ydata)
        weights = np.where(missing, 0.0, weights)
    fitted = points >= n
    if fitted.all():
        pcov, counts, cost = _run(model, jac, xdata, ydata, weights, popt, lower,
                                  upper, bounded, settings, options.get("parallel"))
    else:  # the fits with too few points do not run; the others as without them
        rows = np.flatnonzero(fitted)

        def some(array):  # a shared row (1, k) stays shared
            return np.ascontiguousarray(array[rows]) if len(array) == m else array

        pcov = np.full((m, n, n), np.nan)
        counts = np.zeros((m, 4), np.int64)
        cost = np.full(m, np.nan)
        if rows.size:
            some_popt = some(popt)
            pcov[rows], counts[rows], cost[rows] = _run(
                model, jac, some(xdata), some(ydata), some(weights), some_popt, lower,
                upper, bounded, settings, options.get("parallel"))
            popt[rows] = some_popt
        popt[~fitted] = np.nan
        counts[~fitted, 0] = TOO_FEW_POINTS
    if not absolute_sigma:  # SciPy's scaling, by each fit's reduced chi-square
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = pcov * (2.0 * cost / (points - n))[:, None, None]
        keep = np.isfinite(pcov) & (points > n)[:, None, None]
        pcov = np.where(keep, scaled, np.where(np.isnan(pcov), np.nan, np.inf))
    status = counts[:, 0]
    info = {
        "status": status,
        "success": _converged(status),
        "cost": cost,
        "nfev": counts[:, 2],
        "njev": counts[:, 3],
        "nit": counts[:, 1],
        "message": {int(s): STATUS_MESSAGES[int(s)] for s in np.unique(status)},
    }
    for name in ("status", "success", "cost", "nfev", "njev", "nit"):
        info[name] = info[name].reshape(shape)
    return popt.reshape(*shape, n), pcov.reshape(*shape, n, n), info


# ``_minimize_loop.solve`` compiled as a dispatcher of its own. Here its objective
# is a Numba function (typed by identity), in `minimize` a first-class
# function; given an overload for the latter, Numba 0.68 tries to convert the
# former to it by compiling it for the wrong arguments, and raises instead of
# moving on. Only after `minimize` had run in the same process, so a test
# order could hide it.
_solve = jit(_minimize_loop.solve.py_func)


def _run(model, jac, xdata, ydata, weights, popt, lower, upper, bounded, settings,
         parallel):
    """Fit every row of `ydata` (m, k) from `popt` (m, n, in place): ``(pcov,
    counts, cost)``, pcov not yet scaled by the reduced chi-square."""
    m, k = ydata.shape
    n = popt.shape[1]
    scale = np.abs(popt)
    scale[scale == 0] = 1.0  # a parameter starting at 0 gets unit scale
    differences = jac is None
    model, model_type, jac, jac_type = _typed_functions(model, jac, xdata, popt, k, n)
    pcov = np.empty((m, n, n))
    counts = np.empty((m, 4), np.int64)  # status, nit, nfev, njev
    cost = np.empty(m)
    functions = (model, jac, differences)
    shared = (FitData(xdata, ydata, weights, scale, lower, upper, bounded), settings)
    outputs = (popt, pcov, counts, cost)
    threads = thread_count() if use_threads(parallel, m, PARALLEL_MIN_FITS) else 1
    with warnings.catch_warnings():  # first-class functions are "experimental"
        warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
        _fit_all(functions, (model_type, jac_type, types.boolean), shared, outputs,
                 threads)
    return pcov, counts, cost


def _fit_all(functions, function_types, shared, outputs, threads):
    """`_fit_rows` for every row, then the rescues, on `threads` threads.

    `functions` are ``(model, jac, differences)`` with their `function_types`,
    `shared` ``(FitData, FitSettings)``, and `outputs` ``(popt, pcov, counts,
    cost)``, which it fills: `popt` (m, n, starting as p0), `pcov` (m, n,
    n), `counts` (m, 4: status, nit, nfev, njev) and `cost` (m,). Each
    entry of ``settings.rescue_lr`` is one more round over the fits that
    `_needs_rescue` flags (see `_rescue_threshold`): Rprop from the row's
    p0 with that first step, then the polish (`_rescue_rows`); a fit keeps
    the attempt of lowest cost, and counts the work of all.
    """
    settings = shared[1]
    popt, _, counts, cost = outputs

    def run(driver, extra, stop):
        """`driver` (a range driver) on its rows 0 to `stop`; `extra` are its
        arguments between `shared` and `outputs`."""
        values = (*functions, *shared, *extra, *outputs, np.int64(0), np.int64(stop))
        _first_class.call(driver, values,
                          (*function_types, *map(numba.typeof, values[3:])),
                          threads=threads)

    start = popt.copy()
    # None: the Rprop stage is left out of _fit_rows' compiled code (its
    # compile is a third of the first call's), as no first attempt needs it.
    rprop = None if settings.limits.maxiter == 0 and settings.polish else True
    run(_fit_rows, (rprop,), popt.shape[0])
    if settings.rescue_lr.size == 0 or not settings.polish:
        return
    converged = _converged(counts[:, 0])
    threshold = _rescue_threshold(shared[0], popt.shape[1])
    for first_step in settings.rescue_lr:
        rows = np.flatnonzero(_needs_rescue(counts[:, 0], counts[:, 1], cost,
                                            threshold, converged))
        if rows.size == 0:
            return
        run(_rescue_rows, (start, np.full(popt.shape[1], first_step), rows), rows.size)
        converged = _converged(counts[:, 0])


def _rescue_threshold(data, n):
    """Per fit: the cost above which a converged fit is rescued.

    `RESCUE_COST_FACTOR` times the cost a right fit has on average, ``(k -
    n) / 2`` times the variance of the noise in its own data
    (`_noise_variance`; k counts the points of non-zero weight), and at
    least `ROUNDING_COST` of the data's own sum of squares, the cost of a
    right fit to noise-free data; inf where the noise is unknown (fewer than
    three points at distinct x), so only a failed fit is rescued there.
    """
    weights = np.broadcast_to(data.weights, data.ydata.shape)
    points = np.count_nonzero(weights > 0, axis=1)
    noise = _noise_variance(data.xdata, data.ydata, data.weights)
    floor = ROUNDING_COST * 0.5 * np.sum((weights * data.ydata) ** 2, axis=1)
    threshold = np.maximum(
        RESCUE_COST_FACTOR * 0.5 * np.maximum(points - n, 1) * noise, floor)
    return np.where(np.isnan(threshold), np.inf, threshold)


def _noise_variance(xdata, ydata, weights):
    """Per fit: the variance of its weighted noise, estimated from its data alone.

    Gasser, Sroka and Jennen-Steinmetz's pseudo-residuals (Biometrika 73,
    1986): in the order of x, each point's distance from the straight line
    through its two neighbours, over that distance's standard deviation
    under noise of sd ``s / w``, estimates ``s``, which a right fit's
    reduced chi-square ``2 cost / (k - n)`` estimates squared, whatever the
    model. The median of their squares over chi-square(1)'s median, not
    their mean: where the signal bends sharply between neighbours (a peak a
    point or two wide) the few points there would count as noise and hide
    a fit that missed the peak. Points of weight 0 (missing) are left out,
    and triples of no width; NaN where none is left. `xdata` and
    `weights` have one row or one per fit; rows go in blocks of
    `NOISE_ROWS`, so the temporaries stay small.
    """
    m = ydata.shape[0]
    noise = np.empty(m)
    for first in range(0, m, NOISE_ROWS):
        rows = slice(first, min(first + NOISE_ROWS, m))
        x = xdata if len(xdata) == 1 else xdata[rows]
        w = weights if len(weights) == 1 else weights[rows]
        y = ydata[rows]
        # In x order, the missing points last: a triple bridges a gap.
        if len(x) == 1 and len(w) == 1:  # one order for every fit
            order = np.argsort(np.where(w[0] > 0, x[0], np.inf), kind="stable")
            x, y, w = x[:, order], y[:, order], w[:, order]
        else:
            x, w = np.broadcast_to(x, y.shape), np.broadcast_to(w, y.shape)
            order = np.argsort(np.where(w > 0, x, np.inf), axis=1, kind="stable")
            x, y, w = (np.take_along_axis(a, order, axis=1) for a in (x, y, w))
        with np.errstate(divide="ignore", invalid="ignore"):
            span = x[:, 2:] - x[:, :-2]
            before = (x[:, 2:] - x[:, 1:-1]) / span  # the line's weight on each
            after = (x[:, 1:-1] - x[:, :-2]) / span
            deviation = before * y[:, :-2] + after * y[:, 2:] - y[:, 1:-1]
            variance = ((before / w[:, :-2]) ** 2 + (after / w[:, 2:]) ** 2
                        + (1.0 / w[:, 1:-1]) ** 2)
            squares = deviation * deviation / variance
        usable = (span > 0) & (w[:, :-2] > 0) & (w[:, 1:-1] > 0) & (w[:, 2:] > 0)
        usable = np.broadcast_to(usable, squares.shape)
        if squares.shape[1] == 0:  # fewer than three points: no triple at all
            noise[rows] = np.nan
        elif usable.all():
            noise[rows] = np.median(squares, axis=1)
        else:
            with warnings.catch_warnings():  # a row with none left: NaN, said so
                warnings.simplefilter("ignore", RuntimeWarning)
                noise[rows] = np.nanmedian(np.where(usable, squares, np.nan), axis=1)
    return noise / CHI2_1_MEDIAN


def _converged(status):
    """Per fit: whether its status is a convergence (one of `SUCCESS`)."""
    return np.isin(status, list(SUCCESS))


@jit(nogil=True)
def _fit_rows(model, jac, differences, data, settings, rprop, popt, pcov, counts,
              cost, first, stop, stop_flag):
    """`_fit_one` from p0 for rows `first` to `stop`, into the outputs;
    `rprop` as `_fit_one` takes it."""
    for row in range(first, stop):
        fit = _row_fit(model, jac, differences, data, row, stop_flag)
        status, nit, nfev, njev, value = _fit_one(
            fit, popt[row], rprop, settings.variant, settings.hyper, settings.step0,
            settings.limits.maxiter, settings.limits.gtol, settings.limits.xtol,
            settings.limits.ftol, settings.polish, settings.polish_maxiter, pcov[row],
        )
        counts[row, 0] = status
        counts[row, 1] = nit
        counts[row, 2] = nfev
        counts[row, 3] = njev
        cost[row] = value


@jit(nogil=True)
def _rescue_rows(model, jac, differences, data, settings, start, steps, rows, popt,
                 pcov, counts, cost, first, stop, stop_flag):
    """A rescue of ``rows[first:stop]``: Rprop from the row's p0 (`start`)
    with first steps `steps`, then the polish; kept where its cost is lower."""
    n = popt.shape[1]
    for j in range(first, stop):
        row = rows[j]
        fit = _row_fit(model, jac, differences, data, row, stop_flag)
        p = start[row].copy()
        cov = np.empty((n, n))
        status, nit, nfev, njev, value = _fit_one(
            fit, p, True, settings.variant, settings.hyper, steps,
            settings.rescue_maxiter, settings.limits.gtol, settings.limits.xtol,
            settings.limits.ftol, True, settings.polish_maxiter, cov)
        counts[row, 1] += nit
        counts[row, 2] += nfev
        counts[row, 3] += njev
        if value < cost[row] or (np.isnan(cost[row]) and not np.isnan(value)):
            for a in range(n):  # loops, not slice assignments (see polish)
                popt[row, a] = p[a]
                for b in range(n):
                    pcov[row, a, b] = cov[a, b]
            counts[row, 0] = status
            cost[row] = value


@jit
def _row_fit(model, jac, differences, data, row, stop_flag):
    """Row `row`'s `_least_squares.Fit`: `xdata`, `weights` shared or one each."""
    xdata, weights = data.xdata, data.weights
    return _least_squares.Fit(
        model, jac, differences, xdata[row if xdata.shape[0] > 1 else 0],
        data.ydata[row], weights[row if weights.shape[0] > 1 else 0],
        data.scale[row], _minimize_loop.Box(data.lower, data.upper, data.bounded),
        stop_flag,
    )


def _needs_rescue(status, nit, cost, threshold, converged):
    """Per fit: not `converged`, or converged to a cost above `threshold`.

    A model or Jacobian not finite at p0 itself (no iteration) is left alone:
    a rescue starts there too.
    """
    at_p0 = (nit == 0) & ((status == OBJECTIVE_NOT_FINITE)
                          | (status == GRADIENT_NOT_FINITE))
    return ~at_p0 & (~converged | ~(cost <= threshold))


@jit
def _fit_one(fit, p, rprop, variant, hyper, step0, maxiter, gtol, xtol, ftol, polish,
             polish_maxiter, pcov):
    """One fit from `p` (in place): Rprop (`maxiter` iterations from step sizes
    `step0`, stopping as ``_stopping.Limits`` says), the polish, then pcov.

    `rprop` None leaves the Rprop stage out of the compiled code (Numba
    prunes a branch on an argument that is None), for calls where `maxiter`
    is 0 and `polish` True; True keeps it. Returns ``(status, nit, nfev,
    njev, cost)``.
    """
    k, n = fit.y.size, p.size
    status, nit, nfev, njev, cost = 1, 0, 0, 0, np.nan
    if rprop is not None and (maxiter > 0 or not polish):
        best_u = np.empty(n)
        status, nit, evaluations, _, cost, _, _ = _solve(
            _least_squares.cost_and_grad, None, (fit,), p / fit.scale, step0.copy(),
            best_u, np.empty(n),
            _minimize_loop.Box(fit.box.lower / fit.scale, fit.box.upper / fit.scale,
                               fit.box.bounded),
            _minimize_loop.Layout(np.full(1, n, np.int64), hyper), variant,
            Limits(maxiter, NO_LIMIT, gtol, xtol, ftol), np.empty(0), fit.stop,
        )
        # Each evaluation computed a Jacobian, except a last non-finite one.
        njev = evaluations - (1 if status == OBJECTIVE_NOT_FINITE else 0)
        nfev = evaluations + (njev * n if fit.differences else 0)
        for a in range(n):
            p[a] = min(max(best_u[a] * fit.scale[a], fit.box.lower[a]),
                       fit.box.upper[a])
        if nit == 0 and (status == OBJECTIVE_NOT_FINITE
                         or status == GRADIENT_NOT_FINITE):
            pcov[:] = np.inf
            return status, nit, nfev, njev, cost
    J = np.empty((k, n))
    if polish:
        status, polish_nit, calls, jacobians, cost = _least_squares.polish(
            fit, p, polish_maxiter, J)
        nit += polish_nit
    else:  # the Jacobian at Rprop's best point, for pcov
        r = np.empty(k)
        cost = _least_squares.residuals(fit, p, r)
        calls, _ = _least_squares.jacobian(fit, p, r, J)
        calls, jacobians = calls + 1, 1
    nfev += calls
    njev += jacobians
    _least_squares.covariance(J, cost, pcov)
    return status, nit, nfev, njev, cost


def _typed_functions(model, jac, xdata, popt, k, n):
    """`model` and `jac` with their first-class function types, checked.

    Compiles them for one fit's row types and calls them once on the first
    fit, so that a model of the wrong shape is reported here, by name. A
    None `jac` becomes the placeholder ``_least_squares.no_jacobian``.
    """
    model = _vector_form(model, n)
    jac = jac if jac is None else _vector_form(jac, n, "jac")
    argtypes = (numba.typeof(xdata[0]), numba.typeof(popt[0]))
    with _how_it_was_called(model, n):
        whole = _first_class.check_reads(model, "model", (xdata[0], popt[0]), 1,
                                         ("p", "p0", "parameter", " per fit"),
                                         every_entry=True)
    if whole and 1 < n == k and model not in _CALLED_AS:
        # f(x, a) given a p0 of n: with k == n points, a * x broadcasts, and
        # the fit is of another model (SciPy raises TypeError here).
        name = getattr(model, "__name__", "model")
        warnings.warn(
            f"{name}(x, p) uses p only as a whole array (never p[0], p[1], ...), "
            f"and each fit has as many points as parameters ({n}): if {name} "
            f"takes one parameter, as SciPy's f(x, a), p0 has "
            f"{n - 1} {'entry' if n == 2 else 'entries'} too many per fit (SciPy "
            f"would raise TypeError), and this fit is of another model",
            UserWarning, stacklevel=4)
    model, model_type = _compiled(model, "model", n, argtypes,
                                  _first_class.returns_vector)
    if jac is None:
        jac_type = _first_class.function_type(
            _least_squares.no_jacobian, argtypes, "jac", _returns_matrix)
    else:
        jac, jac_type = _compiled(jac, "jac", n, argtypes, _returns_matrix)
    shape = np.shape(_first_call(model, "model", xdata[0], popt[0]))
    if shape != (k,):
        raise ValueError(
            f"model(x, p) must return one value per point, shape ({k},); got "
            f"shape {shape}"
        )
    if jac is not None:
        shape = np.shape(_first_call(jac, "jac", xdata[0], popt[0]))
        if shape != (k, n):
            raise ValueError(
                f"jac(x, p) must return the Jacobian, shape ({k}, {n}); got shape "
                f"{shape}"
            )
    else:
        jac = _least_squares.no_jacobian
    return model, model_type, jac, jac_type


def _compiled(function, name, n, argtypes, returns):
    """``(function, its first-class function type)``, or a TypeError naming
    `name` and saying how it was called.

    ``f(x, a)`` with one parameter per fit is given the vector p (see
    `_vector_form`); where it compiles only for a number, as SciPy passes
    it, it is called through an adapter passing ``p[0]``.
    """
    with _how_it_was_called(function, n):
        try:
            return function, _first_class.function_type(function, argtypes, name,
                                                        returns)
        except _first_class.ObjectiveTypeError as error:
            if n != 1 or function in _CALLED_AS:
                raise
            scalar = _adapter(function, 1, name)
            try:
                return scalar, _first_class.function_type(scalar, argtypes, name,
                                                          returns)
            except _first_class.ObjectiveTypeError:
                if hasattr(error, "add_note"):  # Python 3.11+
                    error.add_note(
                        f"rprop_np called it as "
                        f"{getattr(function, '__name__', name)}(x, p) with p an "
                        f"array of the 1 parameter per fit, and as "
                        f"{_CALLED_AS[scalar]} with a number: it compiled for "
                        f"neither."
                    )
                raise error from None


@contextlib.contextmanager
def _how_it_was_called(function, n):
    """Add to a compile error of a SciPy-form adapter how it called the
    user's function: the error names the user's function, not the adapter."""
    try:
        yield
    except _first_class.ObjectiveTypeError as error:
        if function in _CALLED_AS and hasattr(error, "add_note"):  # Python 3.11+
            error.add_note(
                f"rprop_np called it as {_CALLED_AS[function]}: SciPy's form, "
                f"p0's {n} entries per fit being its arguments after x, as "
                f"scipy.optimize.curve_fit passes them. Only a function of two "
                f"arguments, f(x, p), is given the parameter vector."
            )
        raise


def _vector_form(function, n, argname="model"):
    """`function` as ``f(x, p)``: as it is, or, for SciPy's form ``f(x, a, b,
    ...)``, an ``@njit`` adapter that passes ``p[0], p[1], ...``.

    Only ``f(x, p)`` with exactly two positional arguments, neither with a
    default, and no ``*args``, is read as taking the parameter vector. Every
    other signature is SciPy's form, read as `scipy.optimize.curve_fit` reads
    it: it calls ``f(x, *p)``, so p0 may set arguments with defaults
    (``f(x, a, tau=1.0)`` with n = 2 sets tau) and ``f(x, *p)`` takes any n.
    So ``f(x, p, c=1.0)`` is SciPy's form too (and fails as it does in SciPy):
    a vector-form model with a default would be indistinguishable from a
    SciPy-form model given too long a p0, which would fit silently wrong
    when it happens to broadcast.

    A function of SciPy's form that cannot take p0's n parameters is refused
    with a TypeError naming both counts. The adapter is made once per
    function and parameter count; it is not cached on disk (it has no source
    file), but it is small, and the drivers it is passed to are typed by its
    signature and load from the cache.
    """
    try:
        parameters = inspect.signature(function.py_func).parameters.values()
    except (TypeError, ValueError):
        return function
    keywords = [p for p in parameters if p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD)]
    if keywords:
        raise TypeError(
            f"{argname} has keyword-only or ** parameters "
            f"({', '.join(map(str, keywords))}), which Numba cannot compile a "
            f"call of; give them positional defaults, or make them globals"
        )
    positional = [p for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    varargs = any(p.kind == p.VAR_POSITIONAL for p in parameters)
    if len(positional) == len(required) == 2 and not varargs:  # f(x, p)
        return function
    fewest = max(len(required) - 1, 0)
    most = np.inf if varargs else len(positional) - 1
    if not fewest <= n <= most:
        count = (fewest if most == fewest else f"{fewest} or more"
                 if most == np.inf else f"{fewest} to {most}")
        names = ", ".join(map(str, [*positional[1:], *(
            p for p in parameters if p.kind == p.VAR_POSITIONAL)]))
        message = (f"{argname} takes {count} parameters after xdata ({names}), "
                   f"but p0 has {n} per fit")
        if len(required) == 2:
            vector = positional[1].name
            message += (f"; if {vector} is meant as the parameter vector, "
                        f"{argname}(x, {vector}) takes no further positional "
                        f"arguments (a constant can be a global)")
        raise TypeError(message)
    return _adapter(function, n, argname)


def _adapter(function, n, argname):
    """An ``@njit`` ``adapter(x, p)`` calling ``function(x, p[0], ...,
    p[n - 1])``, made once per function and n."""
    key = (function, n)
    if key not in _ADAPTERS:
        values = ", ".join(f"p[{i}]" for i in range(n))
        namespace = {"function": function}
        exec(f"def adapter(x, p):\n    return function(x, {values})\n", namespace)
        _ADAPTERS[key] = numba.njit(namespace["adapter"])
        name = getattr(function, "__name__", argname)
        _CALLED_AS[_ADAPTERS[key]] = f"{name}(x, {values})"
    return _ADAPTERS[key]


_ADAPTERS = {}  # (SciPy-form function, n): its f(x, p) adapter
_CALLED_AS = {}  # adapter: how it calls its function, for error messages


def _first_call(function, name, x, p):
    """``function(x, p)`` on the first fit; an error it raises says how it
    was called when `function` may be of SciPy's form with one parameter.

    ``f(x, a)`` reads as ``f(x, p)`` (see `_vector_form`): with more than one
    parameter per fit, the vector `p` then meets code written for a number
    (Numba's own words: "unable to broadcast ..."). The error stays the
    model's own, with a note.
    """
    try:
        return function(x, p)
    except Exception as error:
        if (p.size > 1 and function not in _ADAPTERS.values()
                and hasattr(error, "add_note")):  # Python 3.11+
            error.add_note(
                f"rprop_np called {name}(x, p) with p the {p.size} parameters of "
                f"the first fit (its row of p0). If {name} takes one parameter "
                f"per argument, as SciPy's f(x, a, b, ...), p0 has too many "
                f"entries per fit for it: {p.size}."
            )
        raise


def _returns_matrix(value_type):
    """'' if `value_type` is a 2-D real array, else what was expected."""
    ok = (isinstance(value_type, types.Array) and value_type.ndim == 2
          and isinstance(value_type.dtype, (types.Float, types.Integer)))
    return "" if ok else "a 2-D array of real numbers"


def _check_data(xdata, ydata, p0, sigma, omit=False):
    """``(fit axes, xdata, ydata, weights, popt, missing)``, the arrays as
    C-contiguous float64 2-D arrays.

    `ydata` of shape ``(..., k)`` (m fits in all, over any number of axes:
    ``(H, W, k)`` for an image) becomes (m, k), and `p0` of shape (n,) or
    ``(..., n)`` over the same axes (m, n). `xdata` and the weights
    ``1 / sigma`` have one row shared by all fits or one per fit: `xdata` of
    shape (k,) or ydata's, `sigma` any shape that broadcasts to ydata's.
    With `omit`, NaN in ydata is allowed: the last value returned is where
    (m, k), or None where there is none.
    """
    ydata = _float_array(ydata, "ydata", allow_nan=omit)
    missing = np.isnan(ydata) if omit else None
    if ydata.ndim < 2 or ydata.size == 0:
        raise ValueError(
            f"ydata must be a non-empty array of shape (..., k): one row of k "
            f"points per fit; got shape {ydata.shape}"
        )
    fits, k = ydata.shape[:-1], ydata.shape[-1]
    m = int(np.prod(fits))
    xdata = _rows(xdata, "xdata", ydata.shape)
    weights = np.ones((1, k))
    if sigma is not None:
        sigma = _rows(sigma, "sigma", ydata.shape, broadcast=True)
        weights = 1.0 / _check_sigma(sigma)
    p0 = _float_array(p0, "p0")
    if p0.ndim == 0:  # one parameter, as SciPy's curve_fit takes a scalar p0
        p0 = p0.reshape(1)
    if p0.ndim == 1 and p0.size:
        p0 = np.broadcast_to(p0, (m, p0.size))
    elif p0.ndim == len(fits) + 1 and p0.shape[:-1] == fits and p0.shape[-1]:
        p0 = p0.reshape(m, p0.shape[-1])
    else:
        raise ValueError(
            f"p0 must have shape (n,) or (..., n) = {(*fits, 'n')} for ydata of "
            f"shape {ydata.shape}; got shape {p0.shape}".replace("'n'", "n")
        )
    if missing is not None:
        missing = missing.reshape(m, k) if missing.any() else None
    return (fits, xdata, ydata.reshape(m, k), weights,
            np.array(p0, order="C"), missing)  # C: one row type


def _float_array(values, argname, allow_nan=False):
    """`values` as a float64 array, C-contiguous and writeable, all finite
    (NaN allowed with `allow_nan`)."""
    try:
        array = np.require(values, np.float64, ["C", "W"])
    except (TypeError, ValueError):
        raise TypeError(f"{argname} must be an array of real numbers") from None
    finite = np.isfinite(array) | (np.isnan(array) if allow_nan else False)
    if not finite.all():
        index = tuple(map(int, np.unravel_index(np.flatnonzero(~finite)[0],
                                                array.shape)))
        where = ", ".join(map(str, index))
        fit = (f" (fit {index[:-1] if len(index) > 2 else index[0]}, point "
               f"{index[-1]})" if argname == "ydata" and len(index) > 1 else "")
        raise ValueError(
            f"{argname} contains NaN or inf: {argname}[{where}] = "
            f"{float(array[index])!r}{fit}, {array.size - np.count_nonzero(finite)} "
            f"of {array.size} values"
        )
    return array


def _rows(values, argname, shape, broadcast=False):
    """`values` of shape (k,) as (1, k), or of ydata's `shape` (..., k) (any
    shape that broadcasts to it, with `broadcast`) as (m, k)."""
    array = _float_array(values, argname)
    k = shape[-1]
    if (array.ndim == 1 and array.size == k) or (broadcast and array.size == 1
                                                  and array.ndim <= 1):
        return np.array(np.broadcast_to(array.reshape(-1), (1, k)))
    if broadcast:
        try:
            array = np.broadcast_to(array, shape)
        except ValueError:
            pass
    if array.shape != tuple(shape):
        wanted = "a shape that broadcasts to" if broadcast else "shape (k,) or"
        raise ValueError(
            f"{argname} must have {wanted} ydata's shape {tuple(shape)}; got "
            f"shape {np.shape(values)}"
        )
    return np.ascontiguousarray(array.reshape(-1, k))


def _check_bounds(bounds, p0, settings):
    """``(lower, upper, bounded)``, one entry per parameter, with every p0
    (m, n) inside; a box needs a minimum step size above 0."""
    lower, upper = curve_fit_bounds(bounds, p0.shape[1])
    outside = np.argwhere((p0 < lower) | (p0 > upper))
    if outside.size:
        i, a = outside[0]
        raise ValueError(
            f"p0[{i}, {a}] = {float(p0[i, a])!r} is outside the bounds "
            f"[{float(lower[a])!r}, {float(upper[a])!r}]"
        )
    bounded = bool(np.isfinite(lower).any() or np.isfinite(upper).any())
    if bounded:
        check_positive_min_step([settings.hyper[0, 2:]])
    return lower, upper, bounded


def _check_sigma(sigma):
    """`sigma`, refused unless > 0 everywhere."""
    if np.any(sigma <= 0):
        raise ValueError("sigma must be > 0 everywhere")
    return sigma


def _settings(options, method, n):
    """The `FitSettings` of checked `options`."""
    polish = options["polish"]
    if not isinstance(polish, bool | np.bool_):
        raise TypeError(f"polish must be True or False; got {polish!r}")
    polish = bool(polish)
    maxiter = options["maxiter"]
    if maxiter is None:
        maxiter = RPROP_ITERATIONS if polish else PURE_RPROP_ITERATIONS
    eta_minus, eta_plus = check_etas(options["etas"])
    min_step, max_step = check_step_sizes(options["step_sizes"])
    tolerances = {name: _nonnegative(options[name], name)
                  for name in ("gtol", "xtol", "ftol")}
    return FitSettings(
        np.int64(variant_code(method, "method")),
        np.array([[eta_minus, eta_plus, min_step, max_step]]),
        np.broadcast_to(check_lr(options["lr"], n), (n,)).astype(np.float64),
        _stopping.limits(check_count(maxiter, "maxiter"), None, tolerances["gtol"],
                         tolerances["xtol"], tolerances["ftol"], min_step),
        polish,
        np.int64(check_count(options["polish_maxiter"], "polish_maxiter")),
        _rescue_lr(options["rescue_lr"]),
        np.int64(check_count(options["rescue_maxiter"], "rescue_maxiter")),
    )


def _rescue_lr(value):
    """`rescue_lr` as a 1-D float64 array of finite values > 0 (may be empty)."""
    try:
        lr = np.array(value, dtype=np.float64, ndmin=1)
    except (TypeError, ValueError):
        lr = np.array([np.nan])
    if lr.ndim != 1 or not np.all(np.isfinite(lr) & (lr > 0)):
        raise ValueError(
            f"rescue_lr must be a sequence of finite numbers > 0 (empty: no "
            f"rescue); got {value!r}"
        )
    return lr


def _nonnegative(value, argname):
    try:
        number = np.float64(value)
    except (TypeError, ValueError):
        number = np.nan
    if not number >= 0:
        raise ValueError(f"{argname} must be a real number >= 0; got {value!r}")
    return number


def _check_options(options):
    check_option_names(options, _OPTIONS)
    return {**_OPTIONS, **options}
