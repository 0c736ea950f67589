"""curve_fit_many: many small independent curve fits, compiled and in parallel.

Per-pixel fitting (one decay curve per pixel of an image, say) means millions
of fits of a few parameters to a few dozen points. Called once per fit,
`scipy.optimize.curve_fit` spends most of its time in Python. Here every fit
runs in Numba, in parallel over fits: a short Rprop stage (``_compiled.solve``
on the scaled parameters ``p / scale``, as ``curve_fit``) for robustness from
poor starting values, then a Levenberg-Marquardt polish (``_lm.polish``) for
the precise minimum, then the covariance. Each fit stops on its own.
"""

import warnings
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import njit, prange, types
from numba.core.errors import NumbaExperimentalFeatureWarning
from scipy.optimize import Bounds

from . import _compiled, _lm
from ._validation import bound_arrays, check_etas, check_lr, check_step_sizes
from ._variants import variant_code

# Rprop iterations before the polish, as measured on a*exp(-t/tau) + c, k = 50
# points on [0, 5], noise 0.02, m = 2,000 fits (a in [1, 3], tau in [0.5, 2],
# c in [-0.5, 0.5]), one thread: the share of fits reaching the minimum SciPy
# finds from the true parameters, and us per fit (forward differences / jac).
#   maxiter:         0            10           20           50           100
#   good p0 (10%)  100% 18/13   100% 40/30   100% 59/44   100% 117/88  100% 214/164
#   shared [1,1,0] 100% 21/16   100% 43/33   100% 61/54   100% 117/89  100% 217/164
#   poor (10x off)  92% 36/31    94% 56/44  99.9% 67/50  98.9% 122/93 98.9% 229/168
# (scipy.optimize.curve_fit, for each fit: 100%, 100%, 85%; 245-400 us.) The
# polish alone slides into the tau -> inf valley from 8% of poor starts; 20
# Rprop iterations first bring all but 0.1% to the minimum, while longer runs
# carry a few into the valley themselves. Good starts pay 2-4 times the polish
# alone for this; they can pass maxiter=0.
RPROP_ITERATIONS = 20
PURE_RPROP_ITERATIONS = 20_000  # polish=False, as curve_fit
POLISH_MAXITER = 100

_OPTIONS = {
    "maxiter": None,  # Rprop iterations: RPROP_ITERATIONS, or 20,000 unpolished
    "lr": 1e-2,  # of each parameter's scale
    "etas": (0.5, 1.2),
    "step_sizes": (1e-15, 10.0),  # relative to each parameter's scale
    "gtol": 0.0,
    "ftol": 0.0,
    "xtol": 0.0,
    "polish": True,
    "polish_maxiter": POLISH_MAXITER,
}

STATUS_MESSAGES = {
    0: "Rprop converged: the projected gradient's max-norm is at most gtol.",
    1: "Rprop reached maxiter iterations.",
    3: "Rprop converged: every step size is at most max(xtol, min_step).",
    4: "Rprop converged: the best cost improved by less than ftol (relative) "
       f"over the last {_compiled.FTOL_WINDOW} iterations.",
    5: "The model was not finite (or returned the wrong number of values) at p0, "
       "or at an Rprop iterate without a polish; popt is the best finite point.",
    6: "The Jacobian was not finite; popt is the last point where it was (or "
       "p0).",
    _lm.POLISH_XTOL_REACHED: "Polish converged: the last step moved the "
       f"parameters by at most {_lm.POLISH_XTOL:g} (relative, in Marquardt's "
       "norm).",
    _lm.POLISH_FTOL_REACHED: "Polish converged: the last step lowered the cost "
       f"by less than {_lm.POLISH_FTOL:g} of it.",
    _lm.POLISH_MAXITER: "Polish reached polish_maxiter iterations.",
    _lm.POLISH_STUCK: "Polish stopped: no step lowered the cost, even with the "
       "largest damping.",
}
SUCCESS = (0, 3, 4, _lm.POLISH_XTOL_REACHED, _lm.POLISH_FTOL_REACHED)


def curve_fit_many(
    model: Callable[..., Any],
    xdata,
    ydata,
    p0,
    sigma=None,
    bounds=(-np.inf, np.inf),
    method: str = "irprop+",
    jac: Callable[..., Any] | None = None,
    **options: Any,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Fit m independent curves ``ydata[i] ~ model(xdata[i], p)`` in parallel.

    Each fit minimizes ``0.5 * sum(((model(x, p) - y) / sigma)**2)`` by a
    short Rprop stage over the scaled parameters ``p / |p0|`` (robust from
    poor starting values), then a projected Levenberg-Marquardt polish (fast
    and precise near the minimum), all compiled with Numba and run in
    parallel over the fits, each with its own stopping.

    Parameters
    ----------
    model : Numba ``@njit`` function
        ``model(x, p) -> ndarray (k,)``: the model values at one fit's k
        points `x` (a 1-D float64 array) for the parameters `p` (n,).
    xdata : array_like, shape (k,) or (m, k)
        The points, shared by all fits or one row per fit: one independent
        variable (SciPy's multi-variable ``xdata`` of shape (d, k) is not
        supported).
    ydata : array_like, shape (m, k)
        The data, one row per fit.
    p0 : array_like, shape (n,) or (m, n)
        Initial parameters, shared or one row per fit. Their magnitudes set
        each parameter's scale (1 where p0 is 0).
    sigma : array_like, shape (k,) or (m, k), optional
        Standard deviations of `ydata` (residuals are divided by them), as
        `scipy.optimize.curve_fit` with ``absolute_sigma=False``.
    bounds : 2-tuple of array_like or `scipy.optimize.Bounds`, optional
        Lower and upper bounds on the parameters (scalars or one per
        parameter), shared by all fits; p0 must lie inside.
    method : {'irprop+', 'irprop-', 'rprop+', 'rprop-'}, optional
        The Rprop variant of the first stage.
    jac : Numba ``@njit`` function, optional
        ``jac(x, p) -> ndarray (k, n)``, the Jacobian of the model. None:
        forward differences, SciPy's '2-point' step in the scaled parameters.
    **options
        ``maxiter`` (Rprop iterations: 20 before a polish, 20,000 without),
        ``lr`` (1e-2), ``etas`` ((0.5, 1.2)), ``step_sizes`` ((1e-15, 10)),
        ``gtol``, ``ftol``, ``xtol`` (0: Rprop's stopping rules, as
        `rprop_np.minimize`), ``polish`` (True) and ``polish_maxiter`` (100);
        ``lr`` and ``step_sizes`` are relative to each parameter's scale.
        Unknown names raise a ValueError.

    Returns
    -------
    popt : ndarray, shape (m, n)
        Each fit's parameters.
    pcov : ndarray, shape (m, n, n)
        Their covariances, as `scipy.optimize.curve_fit` computes them
        (``(J'J)^-1`` by the SVD of the weighted Jacobian at popt, times the
        reduced chi-square); inf when it cannot be estimated: ``k <= n``, a
        rank-deficient or non-finite Jacobian. (SciPy's unbounded 'lm' also
        gives inf for a singular Jacobian; its bounded 'trf' gives a
        pseudo-inverse instead.)
    info : dict
        Per-fit arrays: ``status`` (m,), ``success`` (m,): the status is a
        convergence (Rprop's 0, 3, 4 or the polish's 10, 11; a spent
        iteration budget is not), ``cost`` (m,): half the sum of squared
        weighted residuals at popt, ``nfev`` (model calls, finite differences
        included), ``njev`` (Jacobians evaluated) and ``nit`` (Rprop plus
        polish iterations); and ``message``: the text of each status that
        occurs (all are in ``STATUS_MESSAGES``).

    Notes
    -----
    **Stages.** Rprop steps by signs, a first step of 1% of each parameter's
    scale growing 1.2 times per iteration, so it moves steadily from poor
    starting values where Levenberg-Marquardt can slide into a flat valley
    (for a decay, tau -> inf); but it converges slowly. The polish converges
    in a few iterations once near. 20 Rprop iterations before the polish
    were measured best (see ``RPROP_ITERATIONS`` in the source); with good
    starting values, ``maxiter=0`` (the polish alone) is 2-4 times faster.

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

    **Compilation.** The model and the Jacobian reach the compiled loop as
    first-class functions, typed by signature, so the loop compiles once per
    argument types (about 25 s) and later processes load it from Numba's
    cache; with or without `jac` share one compilation.

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
    if not _compiled.is_njit(model):
        raise TypeError(f"model must be a Numba @njit function; got {model!r}")
    if jac is not None and not _compiled.is_njit(jac):
        raise TypeError(f"jac must be None or a Numba @njit function; got {jac!r}")
    xdata, ydata, weights, popt = _check_data(xdata, ydata, p0, sigma)
    m, k = ydata.shape
    n = popt.shape[1]
    lower, upper = _check_bounds(bounds, popt)
    settings = _rprop_settings(_check_options(options), method, n)
    scale = np.abs(popt)
    scale[scale == 0] = 1.0  # a parameter starting at 0 gets unit scale

    differences = jac is None
    model, model_type, jac, jac_type = _typed_functions(model, jac, xdata, popt, k, n)
    pcov = np.empty((m, n, n))
    counts = np.empty((m, 4), np.int64)  # status, nit, nfev, njev
    cost = np.empty(m)
    values = (
        model, jac, differences, xdata, ydata, weights, popt, scale, lower, upper,
        bool(np.isfinite(lower).any() or np.isfinite(upper).any()), *settings,
        pcov, counts, cost,
    )
    value_types = (model_type, jac_type, *map(numba.typeof, values[2:]))
    with warnings.catch_warnings():  # first-class functions are "experimental"
        warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
        _compiled.call(_fit_all, values, value_types)

    status = counts[:, 0]
    info = {
        "status": status,
        "success": np.isin(status, SUCCESS),
        "cost": cost,
        "nfev": counts[:, 2],
        "njev": counts[:, 3],
        "nit": counts[:, 1],
        "message": {int(s): STATUS_MESSAGES[int(s)] for s in np.unique(status)},
    }
    return popt, pcov, info


# ``_compiled.solve`` compiled as a dispatcher of its own. Here its objective
# is a Numba function (typed by identity), in `minimize` a first-class
# function; given an overload for the latter, Numba 0.68 tries to convert the
# former to it by compiling it for the wrong arguments, and raises instead of
# moving on. Only after `minimize` had run in the same process, so a test
# order could hide it.
_solve = njit(cache=True)(_compiled.solve.py_func)


@njit(cache=True, parallel=True)
def _fit_all(model, jac, differences, xdata, ydata, weights, popt, scale, lower,
             upper, bounded, variant, hyper, step0, maxiter, gtol, xtol, ftol,
             polish, polish_maxiter, pcov, counts, cost):
    """`_fit_one` for each row of `ydata`, in parallel; fills the outputs."""
    for i in prange(ydata.shape[0]):
        row = np.int64(i)  # prange's index is unsigned: mixed with 0, a float
        fit = _lm.Fit(
            model, jac, differences,
            xdata[row if xdata.shape[0] > 1 else 0],  # one shared row, or one each
            ydata[row], weights[row if weights.shape[0] > 1 else 0], scale[row],
            lower, upper,
        )
        status, nit, nfev, njev, value = _fit_one(
            fit, popt[row], bounded, variant, hyper, step0, maxiter, gtol, xtol,
            ftol, polish, polish_maxiter, pcov[row],
        )
        counts[row, 0] = status
        counts[row, 1] = nit
        counts[row, 2] = nfev
        counts[row, 3] = njev
        cost[row] = value


@njit(cache=True)
def _fit_one(fit, p, bounded, variant, hyper, step0, maxiter, gtol, xtol, ftol,
             polish, polish_maxiter, pcov):
    """One fit from `p` (in place): Rprop, then the polish, then pcov.

    Returns ``(status, nit, nfev, njev, cost)``.
    """
    k, n = fit.y.size, p.size
    status, nit, nfev, njev, cost = 1, 0, 0, 0, np.nan
    if maxiter > 0 or not polish:
        best_u = np.empty(n)
        status, nit, evaluations, _, cost, _, _ = _solve(
            _lm.cost_and_grad, None, (fit,), p / fit.scale, step0.copy(), best_u,
            np.empty(n), fit.lower / fit.scale, fit.upper / fit.scale, bounded,
            np.full(1, n, np.int64), hyper, variant, maxiter, _compiled.NO_LIMIT,
            gtol, xtol, ftol, np.empty(0),
        )
        # Each evaluation computed a Jacobian, except a last non-finite one.
        njev = evaluations - (1 if status == _lm.NONFINITE_MODEL else 0)
        nfev = evaluations + (njev * n if fit.differences else 0)
        for a in range(n):
            p[a] = min(max(best_u[a] * fit.scale[a], fit.lower[a]), fit.upper[a])
        if nit == 0 and (status == _lm.NONFINITE_MODEL
                         or status == _lm.NONFINITE_JACOBIAN):
            pcov[:] = np.inf
            return status, nit, nfev, njev, cost
    J = np.empty((k, n))
    if polish:
        status, polish_nit, calls, jacobians, cost = _lm.polish(
            fit, p, polish_maxiter, J)
        nit += polish_nit
    else:  # the Jacobian at Rprop's best point, for pcov
        r = np.empty(k)
        cost = _lm.residuals(fit, p, r)
        calls, _ = _lm.jacobian(fit, p, r, J)
        calls, jacobians = calls + 1, 1
    nfev += calls
    njev += jacobians
    _lm.covariance(J, cost, pcov)
    return status, nit, nfev, njev, cost


def _typed_functions(model, jac, xdata, popt, k, n):
    """`model` and `jac` with their first-class function types, checked.

    Compiles them for one fit's row types and calls them once on the first
    fit, so that a model of the wrong shape is reported here, by name. A
    None `jac` becomes the placeholder ``_lm.no_jacobian``.
    """
    argtypes = (numba.typeof(xdata[0]), numba.typeof(popt[0]))
    model_type = _compiled.function_type(model, argtypes, "model",
                                         _compiled.returns_vector)
    shape = np.shape(model(xdata[0], popt[0]))
    if shape != (k,):
        raise ValueError(
            f"model(x, p) must return one value per point, shape ({k},); got "
            f"shape {shape}"
        )
    if jac is None:
        jac = _lm.no_jacobian
    else:
        shape = np.shape(jac(xdata[0], popt[0]))
        if shape != (k, n):
            raise ValueError(
                f"jac(x, p) must return the Jacobian, shape ({k}, {n}); got shape "
                f"{shape}"
            )
    return model, model_type, jac, _compiled.function_type(
        jac, argtypes, "jac", _returns_matrix)


def _returns_matrix(value_type):
    """'' if `value_type` is a 2-D real array, else what was expected."""
    ok = (isinstance(value_type, types.Array) and value_type.ndim == 2
          and isinstance(value_type.dtype, (types.Float, types.Integer)))
    return "" if ok else "a 2-D array of real numbers"


def _check_data(xdata, ydata, p0, sigma):
    """``(xdata, ydata, weights, popt)`` as C-contiguous float64 2-D arrays.

    `xdata` and the weights ``1 / sigma`` have one row shared by all fits or
    one per fit; `popt` is a copy of `p0` with one row per fit.
    """
    ydata = _float_array(ydata, "ydata")
    if ydata.ndim != 2 or ydata.size == 0:
        raise ValueError(
            f"ydata must be a non-empty 2-D array (m fits, k points); got shape "
            f"{ydata.shape}"
        )
    m, k = ydata.shape
    xdata = _rows(xdata, "xdata", m, k)
    weights = np.ones((1, k))
    if sigma is not None:
        sigma = _rows(sigma, "sigma", m, k)
        if np.any(sigma <= 0):
            raise ValueError("sigma must be > 0 everywhere")
        weights = 1.0 / sigma
    p0 = _float_array(p0, "p0")
    if p0.ndim == 1 and p0.size:
        p0 = np.broadcast_to(p0, (m, p0.size))
    if p0.ndim != 2 or p0.shape[0] != m or p0.shape[1] == 0:
        raise ValueError(
            f"p0 must have shape (n,) or (m, n) = ({m}, n) for ydata of shape "
            f"{ydata.shape}; got shape {p0.shape}"
        )
    return xdata, ydata, weights, np.array(p0, order="C")  # C: one row type


def _float_array(values, argname):
    """`values` as a float64 array, C-contiguous and writeable, all finite."""
    try:
        array = np.require(values, np.float64, ["C", "W"])
    except (TypeError, ValueError):
        raise TypeError(f"{argname} must be an array of real numbers") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{argname} contains NaN or inf")
    return array


def _rows(values, argname, m, k):
    """`values` of shape (k,) or (m, k) as (1, k) or (m, k)."""
    array = _float_array(values, argname)
    if array.ndim == 1 and array.shape[0] == k:
        return array.reshape(1, k)
    if array.shape != (m, k):
        raise ValueError(
            f"{argname} must have shape (k,) = ({k},) or (m, k) = ({m}, {k}) for "
            f"ydata of shape ({m}, {k}); got shape {array.shape}"
        )
    return array


def _check_bounds(bounds, p0):
    """``(lower, upper)``, one entry per parameter, with every p0 inside."""
    if isinstance(bounds, Bounds):
        lower, upper = bounds.lb, bounds.ub
    else:
        try:
            lower, upper = bounds
        except (TypeError, ValueError):
            raise TypeError(
                f"bounds must be a 2-tuple (lower, upper) or a Bounds; got {bounds!r}"
            ) from None
    lower, upper = bound_arrays(lower, upper, p0.shape[1], strict=True)
    outside = np.argwhere((p0 < lower) | (p0 > upper))
    if outside.size:
        i, a = outside[0]
        raise ValueError(
            f"p0[{i}, {a}] = {float(p0[i, a])!r} is outside the bounds "
            f"[{float(lower[a])!r}, {float(upper[a])!r}]"
        )
    return lower, upper


def _rprop_settings(options, method, n):
    """The driver's arguments from `variant` to `polish_maxiter`, checked."""
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
    return (
        np.int64(variant_code(method, "method")),
        np.array([[eta_minus, eta_plus, min_step, max_step]]),
        np.broadcast_to(check_lr(options["lr"], n), (n,)).astype(np.float64),
        np.int64(_count(maxiter, "maxiter")),
        tolerances["gtol"],
        max(tolerances["xtol"], np.float64(min_step)),  # as rprop_np.minimize
        tolerances["ftol"],
        polish,
        np.int64(_count(options["polish_maxiter"], "polish_maxiter")),
    )


def _count(value, argname):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{argname} must be an integer >= 0; got {value!r}")
    return min(value, _compiled.NO_LIMIT)


def _nonnegative(value, argname):
    try:
        number = np.float64(value)
    except (TypeError, ValueError):
        number = np.nan
    if not number >= 0:
        raise ValueError(f"{argname} must be a real number >= 0; got {value!r}")
    return number


def _check_options(options):
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ValueError(
            f"Unknown options: {', '.join(map(repr, unknown))}; valid options are "
            f"{', '.join(map(repr, _OPTIONS))}"
        )
    return {**_OPTIONS, **options}
