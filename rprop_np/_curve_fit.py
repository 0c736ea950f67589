"""curve_fit: scipy.optimize.curve_fit's contract, refined and rescued by Rprop.

By default SciPy's LM runs first, as SciPy's curve_fit runs it (leastsq;
least_squares 'trf' with bounds); a fit it solves only to its cost tolerance
is refined (Gauss-Newton steps, or a tight LM); a fit it fails is rescued by
Rprop over scaled, re-oriented parameters ``u = p / x_scale`` on
``0.5 * |r(p)|^2`` (``r = W (f(xdata, *p) - ydata)``, ``W`` from `sigma`),
polished by LM. The best point any stage reached is kept.
"""

import inspect
import math
import reprlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.linalg import cholesky, solve_triangular, svd
from scipy.linalg.lapack import dgesdd, dposv
from scipy.optimize import Bounds, OptimizeWarning, least_squares, leastsq
from scipy.optimize import curve_fit as scipy_curve_fit
from scipy.optimize._numdiff import approx_derivative

from ._minimize import minimize
from ._stopping import NO_LIMIT
from ._validation import (
    FINITE_DIFFERENCES,
    check_count,
    check_lr,
    check_option_names,
    check_step_sizes,
    curve_fit_bounds,
    jac_kind,
)
from ._variants import VARIANTS

_RPROP_OPTIONS = {
    "maxiter": None,  # 20,000 with polish=False, 2,000 before a polish
    "maxfev": None,
    "lr": 1e-2,  # of each parameter's own scale
    "etas": (0.5, 1.2),
    "step_sizes": (1e-15, 10.0),  # relative to each parameter's scale
    "gtol": 0.0,
    "ftol": 0.0,
    "xtol": 0.0,
    "disp": False,
}
_FIT_OPTIONS = {"polish": True, "x_scale": None, "rotate": True}
SCIPY_METHODS = ("lm", "trf", "dogbox")
# SciPy's keyword arguments, for leastsq ('lm') and least_squares (the others)
_LEASTSQ_KWARGS = frozenset({"col_deriv", "ftol", "xtol", "gtol", "maxfev", "epsfcn",
                             "factor", "diag"})
_LEAST_SQUARES_KWARGS = frozenset({
    "ftol", "xtol", "gtol", "x_scale", "loss", "f_scale", "diff_step", "tr_solver",
    "tr_options", "jac_sparsity", "max_nfev", "maxfev", "verbose",
})
_SHARED = frozenset({"ftol", "xtol", "gtol", "x_scale", "maxfev"})  # both stages
_SCIPY_ONLY = (_LEASTSQ_KWARGS | _LEAST_SQUARES_KWARGS) - {"x_scale"}
_RPROP_ONLY = frozenset(set(_RPROP_OPTIONS) | set(_FIT_OPTIONS)) - _SHARED
POLISH_BUDGET_ITERATIONS = 2_000
ROUND_ITERATIONS = 1_000  # Rprop iterations between re-orientations
POLISH_MAX_NFEV = 5_000  # per LM run; SciPy's default (100 n) stops MGH17 short
PURE_RPROP_ITERATIONS = 20_000
_EPS = np.finfo(float).eps
_UNBOUNDED = (-np.inf, np.inf)  # SciPy's default bounds
_RELATIVE_STEP = {"2-point": _EPS**0.5, "3-point": _EPS ** (1 / 3), "cs": _EPS**0.5}


def curve_fit(
    f: Callable[..., Any],
    xdata,
    ydata,
    p0=None,
    sigma=None,
    absolute_sigma: bool = False,
    check_finite: bool | None = None,
    bounds=_UNBOUNDED,
    method: str | None = None,
    jac: Callable[..., Any] | str | None = None,
    *,
    full_output: bool = False,
    nan_policy: str | None = None,
    **kwargs: Any,
):
    """Fit ``ydata ~ f(xdata, *p)``: `scipy.optimize.curve_fit`, made robust.

    Parameters
    ----------
    f : callable
        The model, ``f(xdata, *params) -> ndarray`` with one value per point.
    xdata : array_like
        The independent variable: shape (k,) or (d, k) for k points (anything
        else is passed to `f` as it is).
    ydata : array_like, shape (k,) or scalar
        The data; a scalar is every point's value, as SciPy broadcasts it.
    p0 : array_like, optional
        Initial parameters. None means ones (moved inside `bounds`), with the
        number of parameters read from the signature of `f`, as SciPy does.
    sigma : array_like, optional
        Uncertainty of `ydata`: standard deviations, shape (k,) or a scalar,
        or a covariance matrix, shape (k, k).
    absolute_sigma : bool, optional
        Whether `sigma` is in absolute units (pcov is then not rescaled by
        the reduced chi-square).
    check_finite : bool or None, optional
        Refuse NaN or inf in `xdata`. None, SciPy's default, means True
        unless `nan_policy` is given. NaN or inf left in `ydata` is always
        refused: no fit can match it.
    bounds : 2-tuple of array_like or `scipy.optimize.Bounds`, optional
        Lower and upper bounds on the parameters (scalars or one per
        parameter); honoured by every stage.
    method : {None, 'lm', 'trf', 'dogbox', 'irprop+', ...}, optional
        None (the default): SciPy's curve_fit from `p0` ('lm', or 'trf' with
        bounds, with SciPy's tolerances), refined, and rescued by Rprop when
        it fails (see Notes). 'lm', 'trf', 'dogbox': SciPy's curve_fit with
        that method, exactly, and nothing else. An Rprop variant: Rprop first,
        from `p0`, then the polish.
    jac : callable or {'2-point', '3-point', 'cs'}, optional
        ``jac(xdata, *params) -> ndarray (k, n)``, the Jacobian of the model;
        or a finite-difference scheme. None means '2-point' with a step
        relative to each parameter (``sqrt(eps) * |p|``, as MINPACK's).
    full_output : bool, optional
        Also return ``infodict, mesg, ier``.
    nan_policy : {None, 'raise', 'omit'}, optional
        What NaN in the data does: None follows `check_finite`, 'raise'
        refuses it naming the array, 'omit' drops those points (from `sigma`
        too, which must match `ydata` as passed). Like SciPy's, 'omit' drops
        NaN only, not inf.
    **kwargs
        SciPy's options for its LM stage: those of ``leastsq`` on the 'lm'
        route (``xtol``, ``ftol``, ``gtol``, ``epsfcn``, ``factor``,
        ``diag``, ``col_deriv``) and of ``least_squares`` on the others
        (``xtol``, ``ftol``, ``gtol``, ``x_scale``, ``loss``, ``f_scale``,
        ``diff_step``, ``tr_solver``, ``tr_options``, ``jac_sparsity``,
        ``verbose``); an option of the other solver is refused, as SciPy's
        would be. A robust ``loss`` makes the fit SciPy's LM stage alone.
        ``maxfev`` (or ``max_nfev``) caps the model calls of all stages
        together. The Rprop stage's options: ``polish`` (True), ``x_scale``
        (None: ``|p0|``, 1 where p0 is 0; ``'jac'``; or an array),
        ``rotate`` (True), ``maxiter`` (2,000 before a polish, 20,000
        without), ``lr`` (1e-2), ``etas``, ``step_sizes`` ((1e-15, 10)),
        ``disp``, and, with an Rprop `method`, ``gtol``, ``ftol``, ``xtol``
        (0); ``lr`` and ``step_sizes`` are relative to each parameter's
        scale. Unknown names raise a ValueError.

    Returns
    -------
    popt : ndarray
        The parameters with the lowest cost any stage reached.
    pcov : ndarray
        Their covariance, as SciPy computes it: SciPy's own when SciPy's
        point is kept; otherwise from the SVD of the Jacobian at `popt`,
        scaled by the reduced chi-square unless `absolute_sigma`. A
        rank-deficient Jacobian gives inf and an `OptimizeWarning` on the
        unbounded ('lm') route and the pseudo-inverse with bounds ('trf').
    infodict : dict
        With `full_output`: SciPy's infodict of the LM stage when it ran
        (MINPACK's ``fjac``, ``ipvt``, ``qtf`` on the 'lm' route), and
        ``fvec`` (weighted residuals at popt), ``cost`` (their sum of
        squares), ``nfev``, ``njev``, ``nit`` (totals over the stages),
        ``status``, ``stages`` (what each stage did) and ``chosen`` (whose
        point popt is).
    mesg : str
        With `full_output`: how the stage kept ended.
    ier : int
        With `full_output`: SciPy's code (1-4) when SciPy's LM stage is
        kept or refined; 1 otherwise.

    Raises
    ------
    RuntimeError
        If no stage succeeded ("Optimal parameters not found"), as SciPy:
        ``maxfev`` spent, or Rprop alone (``polish=False``) not converged.

    Notes
    -----
    **The default strategy.** SciPy's LM from `p0` solves most fits in a
    few dozen calls, but its tolerances (1.5e-8 on the relative reduction
    of the cost) leave 3-6 correct digits on the harder NIST problems.
    A fit LM solves by its step tolerance (``ier`` 2 or 3: its steps fell
    below 1.5e-8 relative) is as precise as a refinement would make it and
    is kept as it is; one it solves by the reduction of the cost alone
    (``ier`` 1, or any with bounds) is *refined*: Gauss-Newton steps from
    SciPy's point (n + 1 calls each) while they converge, to a step of 1e-8
    relative; a fit they do not settle (a large-residual minimum, where
    Gauss-Newton converges slowly) gets Newton steps whose Hessian adds a secant
    estimate of the residuals' curvature to J'J (NL2SOL's structured
    update), on an accurate Jacobian (the user's, or 3-point differences).
    All in at most ``REFINE_SHARE`` (half) the calls SciPy's stage made,
    keeping the lowest-cost point. A fit LM fails detectably (no
    convergence, ``maxfev`` reached, non-finite) or whose result is
    suspect (explaining less than 1% of the data's spread about their
    mean, a model collapsed onto a constant; or less than 90% with
    residuals whose signs run far longer than noise's, a runs-test z below
    -4, a feature the model missed) is *rescued*: Rprop from `p0`, then LM
    from Rprop's point and LM from `p0` (tight tolerances, 5,000 calls
    each), keeping the lowest cost. Measured (``benchmarks/bench_fit.py``):
    on 300 decays and Gaussian peaks started within 25% of the truth the
    rescue ran on 10, all peaks where LM had settled on the baseline; on
    318 poor starts it ran on 105; never where SciPy's fit was already
    right. 93.7% of the poor starts succeed, SciPy's curve_fit 65.7%.

    **Scale invariance.** Rprop's steps ignore the gradient's magnitude;
    optimizing ``u = p / x_scale`` makes them ignore each parameter's scale
    too: the first step is `lr` (1%) of each parameter's own size, and the
    minimum step (1e-15 of it) lets the fit resolve every parameter to full
    double precision, whether it is 1e-10 or 1e10.

    **Rprop first** (an Rprop `method`). Rprop adapts one step size per
    parameter, so it crawls when parameters are strongly correlated
    (Lanczos, Hahn1, MGH09 in the NIST suite) and can settle in another
    basin than Levenberg-Marquardt from the same start. With
    ``polish=True`` the fit runs a budgeted Rprop stage, then LM from
    Rprop's best point and LM from `p0`, and keeps the lowest cost of the
    three. ``polish=False`` is pure Rprop.

    Examples
    --------
    >>> import numpy as np
    >>> import rprop_np as rp
    >>> def decay(t, amplitude, rate):
    ...     return amplitude * np.exp(-rate * t)
    >>> t = np.linspace(0, 4, 50)
    >>> y = decay(t, 2.5, 1.3) + 0.01 * np.random.default_rng(0).standard_normal(50)
    >>> popt, pcov = rp.curve_fit(decay, t, y, p0=[1.0, 1.0])
    >>> np.round(popt, 2), np.all(np.sqrt(np.diag(pcov)) < 0.01)
    (array([2.5, 1.3]), np.True_)
    """
    if isinstance(method, str) and method in SCIPY_METHODS:
        rprop_only = sorted(set(kwargs) & _RPROP_ONLY)
        if rprop_only:
            raise ValueError(
                f"method={method!r} is SciPy's, without Rprop; the Rprop options "
                f"{', '.join(map(repr, rprop_only))} need method=None or a variant"
            )
        caught = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                return _scipy_curve_fit(f, xdata, ydata, p0, sigma, absolute_sigma,
                                        check_finite, bounds, method, jac,
                                        full_output, nan_policy, kwargs)
        finally:
            _warn_again(caught)
    if method is not None and not (isinstance(method, str)
                                   and method.lower() in VARIANTS):
        raise ValueError(
            f"method must be one of None, "
            f"{', '.join(map(repr, SCIPY_METHODS + VARIANTS))}; got {method!r}"
        )
    n = _parameter_count(f, p0)
    scipy_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _SCIPY_ONLY}
    if method is not None:  # Rprop first: its tolerances are Rprop's
        kwargs.update({k: scipy_kwargs.pop(k) for k in _SHARED & set(scipy_kwargs)})
    cap = _check_cap(kwargs, scipy_kwargs)
    options = _check_kwargs(kwargs, n)
    polish, rotate, x_scale = (options.pop("polish"), options.pop("rotate"),
                               options.pop("x_scale"))
    if check_finite is None:  # SciPy's default: check unless nan_policy is given
        check_finite = nan_policy is None
    # bool(x) would read the string "False" as True.
    # SciPy's own tests pass full_output=1, so 0 and 1 are flags too.
    for name, value in (("polish", polish), ("rotate", rotate),
                        ("absolute_sigma", absolute_sigma),
                        ("check_finite", check_finite),
                        ("full_output", full_output), ("disp", options["disp"])):
        if not (value is True or value is False or isinstance(value, np.bool_)
                or isinstance(value, (int, np.integer)) and value in (0, 1)):
            raise TypeError(f"{name} must be True or False; got {value!r}")
    if method is None and not polish:  # Rprop alone: no LM at any stage
        method = "irprop+"
    if bounds is _UNBOUNDED:  # the default, unchecked: its checks cost a small fit
        upper = np.full(n, np.inf)
        lower, bounded = -upper, False
    else:
        lower, upper = curve_fit_bounds(bounds, n)
        bounded = bool(np.isfinite(lower).any() or np.isfinite(upper).any())
    p0 = _initial_parameters(p0, n, lower, upper, bounded)
    ydata = _floats("ydata", ydata)
    if ydata.size == 1:  # one value for every point, as SciPy broadcasts it
        ydata = np.broadcast_to(ydata.reshape(()), np.shape(f(xdata, *p0))).copy()
    xdata, ydata, sigma = _check_data(xdata, ydata, sigma, check_finite, nan_policy)
    if ydata.size < n:  # SciPy's error and words
        raise TypeError(f"The number of func parameters={n} must not exceed the "
                        f"number of data points={ydata.size}")
    problem = _Residuals(f, xdata, ydata, _weights(sigma, ydata.size), jac, n)
    problem.check_at(p0)
    # A given x_scale is checked before any fit; the default (|p0|) is made
    # only where Rprop runs.
    scale = None if x_scale is None else _check_x_scale(x_scale, p0, problem)

    stages = {}
    if method is None:
        scipy = _scipy_stage(f, (xdata, ydata, sigma), p0, absolute_sigma, bounds,
                             bounded, jac, scipy_kwargs, x_scale, cap, problem)
        stages["lm"] = scipy
        if scipy_kwargs.get("loss", "linear") != "linear":
            pass  # a robust loss is SciPy's alone: the other stages fit squares
        elif scipy["success"] and not _suspicious(scipy, problem):
            if (bounded or scipy["ier"] not in LEASTSQ_STEP_CONVERGED
                    or scipy_kwargs.get("xtol", LEASTSQ_XTOL) > LEASTSQ_XTOL):
                calls = int(REFINE_SHARE * scipy["nfev"])
                if cap is not None:
                    calls = min(calls, cap - problem.fit_calls)
                stages["refine"] = _refine_stage(problem, scipy, lower, upper,
                                                 bounded, calls)
        else:
            stages["rprop"] = _rprop_stage(problem, p0, scale, lower, upper,
                                           "irprop+", options, True, rotate, cap)
            stages["polish_from_rprop"] = _lm_stage(problem, stages["rprop"]["x"],
                                                    lower, upper, cap)
            stages["polish_from_p0"] = _lm_stage(problem, p0, lower, upper, cap)
    else:
        stages["rprop"] = _rprop_stage(problem, p0, scale, lower, upper, method,
                                       options, polish, rotate, cap)
        if polish:
            stages["polish_from_rprop"] = _lm_stage(problem, stages["rprop"]["x"],
                                                    lower, upper, cap)
            stages["polish_from_p0"] = _lm_stage(problem, p0, lower, upper, cap)
    chosen = _choose(stages)
    best = stages[chosen]
    if not best["success"]:
        raise RuntimeError(f"Optimal parameters not found: {best['message']}")

    popt = best["x"]
    # SciPy's LM stage's own infodict (MINPACK's fjac, ipvt, qtf on the 'lm'
    # route), and its pcov and warnings when its point is kept.
    infodict = dict(stages["lm"].get("infodict", {})) if "lm" in stages else {}
    if chosen == "lm" and "pcov" in best:  # the 'trf' route: SciPy's curve_fit's
        _warn_again(best["warnings"])
        pcov = best["pcov"]
    elif chosen == "lm":  # the 'lm' route: leastsq's cov_x, as SciPy scales it
        # SciPy's np.sum(fvec ** 2), without np.sum's wrapper: the same sum
        pcov = _covariance(best["cov_x"], np.add.reduce(best["fvec"] ** 2),
                           ydata.size, n, absolute_sigma)
    else:
        fjac = best["fjac"] if "fjac" in best else problem.jacobian(popt)
        inverse = _inverse_normal_matrix(fjac, "trf" if bounded else "lm",
                                         best.get("scaled_svd"))
        pcov = _covariance(inverse, best["cost"], ydata.size, n, absolute_sigma)
        infodict.setdefault("fjac", fjac)
    if not full_output:
        return popt, pcov
    if "fvec" in best:  # the LM stage or the refinement: their cost is fvec's
        fvec, cost = best["fvec"], best["cost"]
    else:
        fvec = problem.residuals(popt)
        cost = float(fvec @ fvec)
    infodict.update({
        "fvec": fvec, "cost": cost,
        "nfev": problem.nfev, "njev": problem.njev,
        "nit": sum(s["nit"] for s in stages.values()),
        "status": best["status"], "stages": stages, "chosen": chosen,
    })
    return popt, pcov, infodict, best["message"], best.get("ier", 1)


class _Residuals:
    """Weighted residuals and their Jacobian, with exact evaluation counts."""

    def __init__(self, f, xdata, ydata, weights, jac, n):
        self.f, self.xdata, self.ydata, self.weights = f, xdata, ydata, weights
        self.n = n
        self.nfev = self.njev = 0
        kind = jac_kind(jac, ("callable", *FINITE_DIFFERENCES))
        self.jac = jac if kind == "callable" else kind

    cap = None  # the most model calls the fit may make (maxfev), while one holds
    fit_calls = 0  # calls of the fit's stages (not of the checks around them)

    def model(self, p):
        if self.cap is not None and self.fit_calls >= self.cap:
            raise _BudgetSpent(self.cap)
        self.nfev += 1
        self.fit_calls += 1
        return np.asarray(self.f(self.xdata, *p))

    def budget(self, cap):
        """A context in which the model call past `cap` fit calls in all
        raises `_BudgetSpent` (a class's context: contextmanager's generator
        costs a small fit's model call)."""
        self.cap = cap
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.cap = None

    def residuals(self, p):
        return self.weights(self.model(p) - self.ydata)

    def jacobian(self, p, kind=None, f0=None):
        """The weighted residuals' Jacobian: the user's, or differences of
        `kind` (default: the fit's own `jac`); `f0`: the residuals at `p`,
        if known (a call saved)."""
        self.njev += 1
        kind = kind or ("callable" if callable(self.jac) else self.jac)
        if kind == "callable":
            columns = np.asarray(self.jac(self.xdata, *p), dtype=float)
            if columns.shape != (self.ydata.size, self.n):
                raise ValueError(
                    f"jac must return an array of shape ({self.ydata.size}, "
                    f"{self.n}); got {columns.shape}"
                )
            return self.weights(columns)
        # A step relative to |p| itself, as MINPACK takes, not SciPy's default
        # max(1, |p|): a parameter of 1e-7 (Hahn1) needs a step of its size.
        if kind == "cs":
            return approx_derivative(self.residuals, p, method=kind,
                                     rel_step=_RELATIVE_STEP[kind], f0=f0)
        return self._differences(p, kind, f0)

    def _differences(self, p, kind, f0):
        """``approx_derivative(method=kind, rel_step=_RELATIVE_STEP[kind])``
        for '2-point' and '3-point', unbounded, without its set-up (which
        costs more than a small model's calls)."""
        f0 = self.residuals(p) if f0 is None and kind == "2-point" else f0
        shifted = np.array(p, dtype=float)
        ahead, behind, steps = [], [], []
        for i, value in enumerate(shifted.tolist()):
            step = _RELATIVE_STEP[kind] * (abs(value) if value != 0 else 1.0) * (
                1.0 if value >= 0 else -1.0)
            shifted[i] = value + step
            ahead.append(self.residuals(shifted))
            upper = shifted[i]
            if kind == "2-point":
                steps.append(upper - value)
            else:
                shifted[i] = value - step
                behind.append(self.residuals(shifted))
                steps.append(upper - shifted[i])
            shifted[i] = value
        # One array operation for all the columns (each its own is slower).
        return (np.array(ahead) - (f0 if kind == "2-point" else behind)).T / steps

    values_at_p0 = residuals_at_p0 = None  # set by check_at: the model at p0

    def check_at(self, p0):
        try:
            values = self.values_at_p0 = self.model(p0)
        except TypeError as error:
            raise TypeError(
                f"f(xdata, *p0) failed with p0 of length {p0.size}; does f take "
                f"{p0.size} parameters after xdata? ({error})"
            ) from error
        if values.dtype.kind not in "biufO":
            # NumPy would drop a complex model's imaginary part with only a
            # warning, and fit the real part.
            raise TypeError(
                f"f must return real numbers; f(xdata, *p0) returned dtype "
                f"{values.dtype}"
            )
        if values.shape != self.ydata.shape:
            raise ValueError(
                f"f(xdata, *p0) must return one value per point, shape "
                f"{self.ydata.shape}; got shape {values.shape}"
            )
        finite = np.isfinite(values)
        if not finite.all():
            bad = values.size - np.count_nonzero(finite)
            raise ValueError(
                f"f(xdata, *p0) is not finite at {bad} of {values.size} points; "
                f"choose another p0 (p0 = {p0.tolist()})"
            )
        self.residuals_at_p0 = self.weights(values - self.ydata)

    def rounding_cost(self):
        """The cost below which residuals are rounding: eps**2 times the
        data's sum of squares, or, for data that are all zero (a residual
        vector fitted to zeros), the model's at p0. Never p0's residuals
        against real data: a poor p0 would make any point look converged."""
        data = self.weights(self.ydata)
        scale = float(data @ data)
        if scale == 0:
            model = self.weights(self.values_at_p0)
            scale = float(model @ model)
        return _EPS**2 * scale


def _rprop_stage(problem, p0, scale, lower, upper, method, options, polish, rotate,
                 cap):
    """Rprop on the sum of squares; returns what it did, with x in parameters.

    `scale`: the parameters' scales, None for the default (|p0|, 1 where
    p0 is 0).
    """
    if scale is None:
        scale = _check_x_scale(None, p0, problem)
    try:
        with problem.budget(cap):
            return _rprop_rounds(problem, p0, scale, lower, upper, method, options,
                                 polish, rotate)
    except _BudgetSpent as spent:
        return spent.stage(p0)


def _rprop_rounds(problem, p0, scale, lower, upper, method, options, polish, rotate):
    options = dict(options)
    maxiter = options.pop("maxiter")
    if maxiter is None:
        maxiter = POLISH_BUDGET_ITERATIONS if polish else PURE_RPROP_ITERATIONS
    lr, (min_step, max_step) = options.pop("lr"), options.pop("step_sizes")
    counts = problem.nfev, problem.njev
    bounded = bool(np.any(np.isfinite(lower) | np.isfinite(upper)))
    rotating = rotate and not bounded
    point, nit = p0, 0
    while True:
        # Rprop's axes: the principal axes of the Jacobian here, each scaled
        # to unit effect, re-oriented every round; or each parameter's own
        # scale, in one round of the whole budget.
        if rotating:
            axes, size = _principal_axes(problem.jacobian(point), point, scale)
            box, rounds = None, ROUND_ITERATIONS
        else:
            axes, size = np.diag(scale), np.ones(point.size)
            box = Bounds((lower - point) / scale, (upper - point) / scale)
            box, rounds = (box if bounded else None), maxiter
        res = minimize(
            _in_coordinates(problem, point, axes), np.zeros(point.size), jac=True,
            method=method, bounds=box,
            options={**options, "maxiter": min(rounds, maxiter - nit),
                     "lr": lr * size,
                     "step_sizes": (min_step * size.min(), max_step * size.max())},
        )
        nit += res.nit
        moved = point + axes @ res.x
        settled = np.allclose(moved, point, rtol=1e-14, atol=0.0)
        point = moved
        if nit >= maxiter or not rotating or (res.status != 1 and settled):
            break
    return {"x": point, "cost": 2 * res.fun, "nit": nit,
            "nfev": problem.nfev - counts[0], "njev": problem.njev - counts[1],
            "status": res.status,
            # a spent budget is a start for the polish, not a fit on its own
            "success": res.success or (polish and res.status == 1),
            "message": res.message}


def _choose(stages):
    """The stage with the lowest cost; on a tie within rounding, LM from p0.

    Several NIST models have equivalent parameterizations with the same cost
    (Lanczos's exponentials in any order, Eckerle4's signs); on such a tie,
    prefer the point SciPy's curve_fit would return (refined, then as SciPy
    returned it), then LM from Rprop's.
    """
    preference = ["refine", "lm", "polish_from_p0", "polish_from_rprop", "rprop"]
    finished = [name for name in preference
                if name in stages and math.isfinite(stages[name]["cost"])
                and stages[name].get("moved", True)]
    if not finished:
        return "rprop"
    lowest = min(stages[name]["cost"] for name in finished)
    tie = lowest + 1e-10 * abs(lowest)
    return next(name for name in finished if stages[name]["cost"] <= tie)


def _in_coordinates(problem, center, axes):
    """Half the sum of squares and its gradient over p = center + axes @ u."""
    def cost_and_grad(u):
        p = center + axes @ u
        r = problem.residuals(p)
        return 0.5 * float(r @ r), axes.T @ (problem.jacobian(p).T @ r)
    return cost_and_grad


def _principal_axes(jacobian, point, scale):
    """Axes along the right singular vectors of J, each of unit effect on r.

    Rprop steps each coordinate on its own; along these axes the parameters'
    correlations (which make plain Rprop crawl) are gone, to first order.
    Returns the axes and each axis's size (how far 1% of the parameters'
    magnitude reaches along it), which makes `lr` and `step_sizes` relative.
    """
    _, singular, vt = svd(jacobian, full_matrices=False)
    singular = np.maximum(singular, singular[0] * 1e-12)
    magnitude = np.where(point != 0, np.abs(point), scale)
    return vt.T / singular, singular * (np.abs(vt) @ magnitude)


def _tight_lm(residuals, jacobian, start, lower, upper, xtol=1e-15):
    """SciPy's ``least_squares`` with tolerances of 1e-15 (`xtol` aside):
    Levenberg-Marquardt, or trust-region reflective with bounds."""
    bounded = np.any(np.isfinite(lower) | np.isfinite(upper))
    return least_squares(
        residuals, start, jac=jacobian,
        bounds=(lower, upper) if bounded else (-np.inf, np.inf),
        method="trf" if bounded else "lm", x_scale="jac",
        ftol=1e-15, xtol=xtol, gtol=1e-15, max_nfev=POLISH_MAX_NFEV,
    )


def _lm_stage(problem, start, lower, upper, cap=None):
    """The tight LM polish from `start`, within the fit's call cap.

    Its tolerances (1e-15) are never met on a zero-residual fit whose
    Jacobian is singular at the solution (MGH's Powell singular: LM converges
    linearly to cost 0); there the residuals falling to rounding level (a
    cost of at most ``problem.rounding_cost()``) ends it, converged.
    """
    nfev, njev = problem.nfev, problem.njev
    start = np.clip(start, lower, upper)
    rounding_cost = problem.rounding_cost()

    def residuals(p):
        values = problem.residuals(p)
        with np.errstate(over="ignore"):  # residuals above 1e154: an inf cost
            cost = float(values @ values)
        if cost <= rounding_cost:
            raise _RoundingLevel(p.copy(), cost)
        return values

    try:
        with problem.budget(cap):
            res = _tight_lm(residuals, problem.jacobian, start, lower, upper)
    except _BudgetSpent as spent:
        return spent.stage(start)
    except _RoundingLevel as reached:
        return {"x": reached.x, "cost": reached.cost, "nit": 0,
                "nfev": problem.nfev - nfev, "njev": problem.njev - njev,
                "status": 2, "success": True,
                "message": "The residuals fell to rounding level (a cost at most "
                           "eps**2 times the data's sum of squares)."}
    return {"x": res.x, "cost": 2 * res.cost, "nit": 0,
            "nfev": problem.nfev - nfev, "njev": problem.njev - njev,
            "status": res.status, "success": res.status > 0, "message": res.message}


class _RoundingLevel(Exception):
    """An LM polish reached residuals at rounding level: converged."""

    def __init__(self, x, cost):
        super().__init__(cost)
        self.x, self.cost = x, cost


def _warn_again(caught):
    """Emit recorded warnings again: SciPy's own, which it addressed to its
    caller (a line of this file), at the line that called `curve_fit`, as
    SciPy's curve_fit addresses them; the model's at its own line."""
    for warning in caught:
        if warning.filename == __file__:
            warnings.warn(warning.message, warning.category, stacklevel=3)
        else:
            warnings.warn_explicit(warning.message, warning.category,
                                   warning.filename, warning.lineno)


def _scipy_curve_fit(f, xdata, ydata, p0, sigma, absolute_sigma, check_finite,
                     bounds, method, jac, full_output, nan_policy, kwargs):
    """``scipy.optimize.curve_fit`` itself, for SciPy's own methods."""
    return scipy_curve_fit(f, xdata, ydata, p0, sigma, absolute_sigma, check_finite,
                           bounds, method, jac, full_output=full_output,
                           nan_policy=nan_policy, **kwargs)


def _scipy_stage(f, data, p0, absolute_sigma, bounds, bounded, jac, scipy_kwargs,
                 x_scale, cap, problem):
    """SciPy's curve_fit from p0 with SciPy's defaults: 'lm', or 'trf' if bounded.

    Its pcov, on the 'lm' route, is left for `_covariance` to finish from
    ``cov_x`` if its point is kept; the model calls count towards
    `problem`'s.
    """
    route = "trf" if bounded else "lm"
    accepted = _LEASTSQ_KWARGS if route == "lm" else _LEAST_SQUARES_KWARGS
    refused = sorted(set(scipy_kwargs) - accepted - {"maxfev", "max_nfev"})
    if refused:  # SciPy's leastsq or least_squares would refuse them too
        solver = "leastsq" if route == "lm" else "least_squares"
        raise ValueError(
            f"{', '.join(map(repr, refused))}: not an option of SciPy's {solver}, "
            f"which this {'un' if route == 'lm' else ''}bounded fit's LM stage "
            f"('{route}', as SciPy's curve_fit chooses) runs; pass "
            f"method={'trf' if route == 'lm' else 'lm'!r} for SciPy's other solver"
        )
    kwargs = {k: v for k, v in scipy_kwargs.items() if k not in ("maxfev", "max_nfev")}
    if cap is not None:
        kwargs["maxfev" if route == "lm" else "max_nfev"] = cap - problem.fit_calls
    if route == "lm":
        return _leastsq_stage(problem, p0, jac, kwargs)
    if x_scale is not None:
        kwargs["x_scale"] = x_scale
    return _least_squares_stage(f, data, p0, absolute_sigma, bounds, jac, kwargs,
                                problem)


def _leastsq_stage(problem, p0, jac, kwargs):
    """scipy.optimize.curve_fit's 'lm' route without its wrapper: SciPy's
    ``leastsq(full_output=True)`` on `problem`'s residuals, as curve_fit
    calls it, and its ``cov_x`` kept for pcov.

    The wrapper checks the data again and wraps the model twice more, which
    costs a small fit as much as its refinement. Its memoizer is kept:
    leastsq evaluates the residuals (and a `jac`) at p0 to check them, and
    MINPACK starts there; one evaluation answers both, and the residuals'
    is check_at's.
    """
    f, xdata, ydata, weights = problem.f, problem.xdata, problem.ydata, problem.weights

    def residuals(p):
        # problem.residuals without its budget check (leastsq's maxfev is
        # the cap here) and calls: MINPACK makes most of a fit's calls here.
        problem.nfev += 1
        problem.fit_calls += 1
        return weights(f(xdata, *p) - ydata)

    residuals = _remember_p0(residuals, p0, problem.residuals_at_p0)
    dfun = None
    if callable(jac):
        def columns(p):
            problem.njev += 1
            return problem.weights(np.asarray(jac(problem.xdata, *p)))

        dfun = _remember_p0(columns, p0)
    nfev, njev = problem.nfev, problem.njev
    popt, cov_x, infodict, message, ier = leastsq(residuals, p0, Dfun=dfun,
                                                  full_output=True, **kwargs)
    stage = {"nit": 0, "nfev": problem.nfev - nfev, "njev": problem.njev - njev,
             "status": ier, "message": message}
    if ier == 0:  # the settings, not the fit: SciPy's curve_fit raises
        raise RuntimeError("Optimal parameters not found: " + message)
    if ier not in (1, 2, 3, 4):  # where SciPy's curve_fit raises
        return {**stage, "x": p0, "cost": np.inf, "success": False}
    fvec = infodict["fvec"]
    return {**stage, "x": popt, "fvec": fvec, "cost": float(fvec @ fvec),
            "success": True, "ier": ier, "infodict": infodict, "cov_x": cov_x}


def _remember_p0(function, p0, value=None):
    """`function`, answering its calls at `p0` from one evaluation (or
    `value`) until it is called elsewhere: SciPy's curve_fit memoizer."""
    def remembered(p):
        nonlocal value
        if value is not False and (p == p0).all():
            if value is None:
                value = function(p)
            return value
        value = False  # called elsewhere: no more look-ups
        return function(p)

    return remembered


def _least_squares_stage(f, data, p0, absolute_sigma, bounds, jac, kwargs, problem):
    """SciPy's curve_fit itself on the 'trf' route (least_squares' own set-up
    outweighs the wrapper's).

    It gets the data as checked here (NaN already omitted), so it checks
    nothing again. Its pcov and warnings are kept as they are, to be
    returned if this stage is chosen.
    """
    if isinstance(jac, str) or jac is None:
        scipy_jac = jac or "2-point"
    else:
        def scipy_jac(x, *p):
            problem.njev += 1
            return jac(x, *p)

    # SciPy's first call is at p0, where check_at called the model already.
    reuse = [(tuple(p0.tolist()), problem.values_at_p0)]

    def model(x, *p):
        if reuse:
            at, values = reuse.pop()
            if p == at:
                return values
        problem.nfev += 1
        problem.fit_calls += 1
        return f(x, *p)

    nfev, njev = problem.nfev, problem.njev
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            popt, pcov, infodict, message, ier = _scipy_curve_fit(
                model, data[0], data[1], p0, data[2], absolute_sigma, False, bounds,
                "trf", scipy_jac, True, None, kwargs)
        except RuntimeError as error:
            message = str(error).removeprefix("Optimal parameters not found: ")
            return {"x": p0, "cost": np.inf, "nit": 0, "nfev": problem.nfev - nfev,
                    "njev": problem.njev - njev, "status": 0, "success": False,
                    "message": message}
    return {"x": popt, "fvec": infodict["fvec"],
            "cost": float(infodict["fvec"] @ infodict["fvec"]), "nit": 0,
            "nfev": problem.nfev - nfev, "njev": problem.njev - njev, "status": ier,
            "success": True, "message": message, "pcov": pcov, "ier": ier,
            "infodict": infodict, "warnings": caught}


REFINE_SHARE = 0.5  # the refinement's model calls, at most, per LM stage call
# leastsq's codes for its step test met (xtol, 1.5e-8 on the step relative to
# x, both scaled by the Jacobian's column norms: the refinement's own measure,
# and about its REFINE_STEP): LM's point is as precise as the refinement would
# make it. Measured: on NIST (54 cases, finite differences and analytic
# Jacobians) the refinement kept every such point (LRE 8.3-10.9), and on the
# MGH problems its Gauss-Newton step from there was at most 2e-10.
LEASTSQ_STEP_CONVERGED = (2, 3)
LEASTSQ_XTOL = 1.49012e-8  # leastsq's default xtol: a looser one is refined
REFINE_XTOL = 1e-10
REFINE_STEP = 1e-8  # a Gauss-Newton step at most this (relative) ends it at once
REFINE_FLOOR = 1e-6  # ... or at most this, where steps stop helping
REFINE_REACH = 0.01  # a step above this is not a refinement: the point stays
_TINY = np.finfo(float).tiny


def _refine_stage(problem, lm, lower, upper, bounded, calls):
    """Refine the LM stage's point, in at most `calls` model calls.

    SciPy's default tolerances (1.5e-8 on the relative reduction of the
    cost) stop LM with 3-6 correct digits on the harder NIST problems. First
    Gauss-Newton steps on the fit's own Jacobian (`_gauss_newton`): on a
    well-posed fit one or two of them take SciPy's point to where the next
    step is below `REFINE_STEP`, for n + 1 model calls each. A fit they do
    not settle so (a large-residual minimum, where Gauss-Newton converges
    slowly or not at all, an ill-conditioned Jacobian, or bounds) goes on
    from the best point so far on an accurate Jacobian (the user's, or
    3-point differences): `_structured_newton` unbounded, tight LM (trf)
    with bounds, to a step of `REFINE_XTOL`, keeping the lowest-cost point
    evaluated when the calls run out. With ``calls = REFINE_SHARE * LM's
    calls`` the NIST problems get 6 digits in all 54 cases with finite
    differences (SciPy's defaults 29; with a quarter of SciPy's calls 47;
    tight LM in place of the Newton steps needed twice SciPy's calls for 54).
    """
    x = lm["x"]
    best = {"x": x, "fvec": lm["fvec"], "cost": lm["cost"]}
    counts = problem.nfev, problem.njev
    stop = problem.fit_calls + calls

    def residuals(p):
        values = problem.residuals(p)
        with np.errstate(over="ignore"):  # residuals above 1e154: an inf cost
            cost = float(values @ values)
        if cost < best["cost"]:
            best.update(x=p.copy(), fvec=values, cost=cost)
        return values

    try:
        with problem.budget(stop):
            settled = not bounded and _gauss_newton(problem, residuals, best)
            if not settled:
                # 2-point differences' error would bias the point found; None:
                # the fit's own
                kind = "3-point" if problem.jac == "2-point" else None

                def jacobian(p):
                    # pcov's Jacobian: the last one, as MINPACK's; it is at the
                    # point kept or one step before it, within the tolerances
                    # of the point itself.
                    best["fjac"], best["scaled_svd"] = problem.jacobian(p, kind), None
                    return best["fjac"]

                if bounded:
                    _tight_lm(residuals, jacobian, best["x"], lower, upper,
                              REFINE_XTOL)
                else:
                    _structured_newton(residuals, jacobian, best["x"], best["fvec"])
    except _BudgetSpent:
        pass
    return {**best, "nit": 0, "nfev": problem.nfev - counts[0],
            "njev": problem.njev - counts[1], "status": lm["status"],
            "success": True, "message": lm["message"], "ier": lm["ier"],
            "moved": best["x"] is not x}


def _gauss_newton(problem, residuals, best):
    """Gauss-Newton steps from ``best`` while they converge; True once settled.

    Each step solves ``J step = -r`` (least squares) on the fit's own
    Jacobian at the best point; ``best["fjac"]`` is that Jacobian. Its size
    is measured as MINPACK's xtol measures it, ``|D step| / |D x|`` with D
    the Jacobian's column norms (scale-free, and a parameter near 0 does not
    dominate it). Settled, the point and its Jacobian kept: the step is at
    most `REFINE_STEP`, or at most `REFINE_FLOOR` and yet it no longer lowers
    the cost or shrinks (the point is as precise as the Jacobian's
    differences allow), or above `REFINE_REACH`: the quadratic model is not
    to be trusted so far out (Freudenstein-Roth's local minimum, where J'J
    is nearly singular, asks for a step of 3e4), and LM's point stays as it
    is. Not settled, for LM to go on from the best point: a
    larger step that does not lower the cost, or that is not less than half
    the one before (slower than Gauss-Newton converges on a well-posed fit)
    or, above `REFINE_FLOOR`, whose cost reduction says the next one would
    not be, or a Jacobian that is not finite or, its columns scaled to norm
    1, of a condition number above 1/sqrt(eps).
    """
    previous = np.inf
    while True:
        jacobian = problem.jacobian(best["x"], f0=best["fvec"])
        best["fjac"], best["scaled_svd"] = jacobian, None
        norms = np.sqrt(np.einsum("ij,ij->j", jacobian, jacobian))
        # A column's norm is finite only if all its entries are, and is then
        # at most sqrt(max float): the norms' sum is finite only if each is.
        if not math.isfinite(norms.sum()):
            return False
        # On the columns scaled to norm 1 (so the parameters' units do not
        # count), singular values below sqrt(eps) of the largest are
        # differencing noise at best: such a fit (ill-conditioned, or a
        # parameter without effect) is left to LM, with its accurate Jacobian.
        # A column of zeros (a parameter with no effect at this point, e.g.
        # differenced at 1e-13 with a step relative to it) gets no step. The
        # SVD is lstsq's (rcond sqrt(eps)), kept for pcov at this point.
        columns = np.where(norms > 0, norms, 1.0)
        # LAPACK's SVD itself: NumPy's wrapper costs four times its work here
        u, singular, vt, info = dgesdd(jacobian / columns, full_matrices=False)
        if info != 0:  # no convergence
            return False
        rank = singular.size  # the singular values come largest first
        if not singular[-1] > _EPS**0.5 * singular[0]:
            rank = int(np.count_nonzero(singular > _EPS**0.5 * singular[0]))
            if rank < np.count_nonzero(norms):
                return False
        best["scaled_svd"] = singular, vt, columns
        if rank < singular.size:  # columns of zeros: no step along them
            u, singular, vt = u[:, :rank], singular[:rank], vt[:rank]
        projected = best["fvec"] @ u  # U'r
        scaled_step = vt.T @ (projected / -singular)
        size = _relative_size(scaled_step, columns * best["x"])
        if size <= REFINE_STEP or size > REFINE_REACH:
            return True
        if not size <= 0.5 * previous:
            return size <= REFINE_FLOOR
        cost = best["cost"]
        residuals(best["x"] + scaled_step / columns)
        if not best["cost"] < cost:
            return size <= REFINE_FLOOR
        # The step lowered the cost by (1 - rate) times the |U'r|^2 the linear
        # model predicted: rate is the residuals' own curvature over J'J along
        # the step, the rate Gauss-Newton converges at from here. Where it is
        # above one half, the next step would not halve: the Newton steps
        # take over a Jacobian sooner. (Measured on NIST and MGH: within 0.05
        # of the next step's size ratio for steps above REFINE_FLOOR; below
        # it the costs' rounding blurs it.)
        rate = 1.0 - (cost - best["cost"]) / float(projected @ projected)
        if size > REFINE_FLOOR and abs(rate) > 0.5:
            return False
        previous = size


def _structured_newton(residuals, jacobian, start, values):
    """Newton steps on the sum of squares from `start`, to a step of `REFINE_XTOL`.

    The Hessian of ``|r|^2 / 2`` is ``J'J + S``, S the residuals' own
    curvature weighted by the residuals, which Gauss-Newton and LM drop: on
    a large-residual minimum they converge only linearly (ENSO, Thurber and
    MGH09 in the NIST suite took tight LM twice SciPy's calls to 6 digits).
    Here S is estimated by the structured secant update of Dennis, Gay and
    Welsch (NL2SOL, 1981), from the Jacobians the steps evaluate anyway, so
    the steps converge superlinearly for one Jacobian each. A step that
    does not lower the cost is cut by 4, at most 5 times; where ``J'J + S``
    is not positive definite, the step is Gauss-Newton's. Returns when the
    step, measured as `_gauss_newton` measures it, is at most
    `REFINE_XTOL`, or no step lowers the cost (a step of at most
    `REFINE_FLOOR` that does not is the cost's rounding: it is not cut);
    the caller's `residuals` keeps the best point. `values`: the residuals at `start`.
    """
    x = np.array(start, dtype=float)
    cost = float(values @ values)
    columns = jacobian(x)
    curvature = np.zeros((x.size, x.size))  # S
    while True:
        gradient = columns.T @ values
        norms = np.sqrt(np.einsum("ij,ij->j", columns, columns))
        norms = np.where(norms > 0, norms, 1.0)
        scaled_step = None
        gram = columns.T @ columns
        for hessian in (gram + curvature, gram):
            # On the columns scaled to norm 1, as in _gauss_newton. Solved by
            # its Cholesky factors, which exist only if it is positive
            # definite in floating point (info 0).
            _, solution, info = dposv(hessian / np.outer(norms, norms),
                                      gradient / norms)
            if info == 0:
                scaled_step = -solution
                break
        if scaled_step is None or not np.isfinite(scaled_step).all():
            return
        step = scaled_step / norms
        size = _relative_size(scaled_step, norms * x)
        if size > REFINE_REACH:
            return
        for _ in range(6):
            trial = x + step
            trial_values = residuals(trial)
            trial_cost = float(trial_values @ trial_values)
            if trial_cost < cost:
                break
            if size <= REFINE_FLOOR:  # the cost's rounding, not a poor step
                return
            step, size = 0.25 * step, 0.25 * size
        else:
            return
        if size <= REFINE_XTOL:
            return
        trial_columns = jacobian(trial)
        trial_gradient = trial_columns.T @ trial_values
        # S's share of the gradient's change: the Jacobian's change, at the
        # new residuals.
        curvature = _secant_update(curvature, step, trial_gradient - gradient,
                                   trial_gradient - columns.T @ trial_values)
        x, values, cost, columns = trial, trial_values, trial_cost, trial_columns


def _secant_update(curvature, step, change, target):
    """Dennis, Gay and Welsch's update of S, so that ``S step = target``.

    `change` is the gradient's change over `step`, `target` the part of it
    S should explain. S is first sized down (NL2SOL's factor) where it
    predicts more curvature along `step` than `target` shows; a pair
    without positive curvature (``change @ step <= 0``) leaves S as it is.
    """
    curve = float(change @ step)
    if not curve > 0:
        return curvature
    predicted = float(step @ curvature @ step)
    if predicted > 0:
        curvature = curvature * min(1.0, abs(float(step @ target)) / predicted)
    miss = target - curvature @ step
    # S + (m c' + c m') / curve - (m's) c c' / curve^2, as w c' + c w' with
    # w = m / curve - (m's) c / (2 curve^2); o + o' keeps S symmetric exactly.
    half = np.outer(miss / curve - float(miss @ step) / (2.0 * curve**2) * change,
                    change)
    return curvature + (half + half.T)


def _relative_size(scaled_step, scaled_point):
    """``|D step| / |D x|`` (MINPACK's xtol measure), from ``D step`` and ``D x``."""
    return math.sqrt(float(scaled_step @ scaled_step)
                     / max(float(scaled_point @ scaled_point), _TINY))


SUSPECT_R2 = 0.01  # a converged LM fit explaining less than this is suspect
SUSPECT_RUNS_R2 = 0.9  # ... or less than this, with residuals far from noise:
SUSPECT_RUNS_Z = -4.0  # fewer runs of one sign than this many sd below chance
RUNS_MIN_POINTS = 20  # the runs test's normal approximation needs as many


def _suspicious(stage, problem):
    """Whether a converged LM result is suspect, so Rprop should try too.

    Suspect: not finite; or explaining less than `SUSPECT_R2` of the data's
    spread about their best constant (R^2 of the weighted residuals), a
    model collapsed to a constant (BoxBOD from its first NIST start: b2 ->
    inf); or explaining less than `SUSPECT_RUNS_R2` with residuals whose
    signs change far less often than noise's do (the Wald-Wolfowitz runs
    test, in the points' order: z below `SUSPECT_RUNS_Z`), a feature of
    the data the model missed (a Gaussian peak fitted a few widths from its
    center settles on the baseline: R^2 0.1-0.75, z -12 to -13.5, where
    right fits have R^2 above 0.98 and z within 1.7). Lack of fit alone does
    not make a fit suspect: the certified NIST fits reach z = -11 (Kirby2)
    with R^2 above 0.98, ENSO R^2 0.6 with z = -2.5. Points in no particular
    order only weaken the runs test (z near 0). A suspect fit that was right
    only costs time: the rescue keeps the lowest cost.
    """
    if not np.isfinite(stage["x"]).all():
        return True
    ones = problem.weights(np.ones(problem.ydata.size))
    data = problem.weights(problem.ydata)
    spread = data - (ones @ data) / (ones @ ones) * ones
    null_cost = float(spread @ spread)
    # Data that are a constant (a residual vector fitted to zeros) have no
    # spread to explain: there only a non-finite point is suspect.
    if null_cost == 0 or stage["cost"] <= (1.0 - SUSPECT_RUNS_R2) * null_cost:
        return False
    return (stage["cost"] > (1.0 - SUSPECT_R2) * null_cost
            or _runs_z(stage["fvec"]) < SUSPECT_RUNS_Z)


def _runs_z(residuals):
    """The runs test's z: how many sd the runs of residual signs (zeros left
    out) fall below (negative) or above the count expected of noise; 0 for
    fewer than `RUNS_MIN_POINTS` signs, or all of one sign."""
    positive = residuals[residuals != 0] > 0
    count, above = positive.size, int(np.count_nonzero(positive))
    below = count - above
    if count < RUNS_MIN_POINTS or above == 0 or below == 0:
        return 0.0
    runs = 1 + int(np.count_nonzero(positive[1:] != positive[:-1]))
    expected = 2.0 * above * below / count + 1.0
    variance = (expected - 1.0) * (expected - 2.0) / (count - 1.0)
    return (runs - expected) / math.sqrt(variance)


def _inverse_normal_matrix(fjac, route, scaled_svd=None):
    """``(J'J)^-1`` as scipy.optimize.curve_fit inverts it on `route` ('lm'
    or 'trf'), or None where it gives up.

    By the SVD of the Jacobian at popt; 'trf' drops singular values below
    ``eps * max(J.shape) * s[0]`` (a pseudo-inverse), while 'lm' (MINPACK)
    gives up on a Jacobian so rank-deficient. `scaled_svd`: ``(s, vt,
    columns)``, the SVD of ``fjac / columns`` where the refinement computed
    it (unbounded: 'lm'); the same inverse, its rank judged on the columns
    scaled to norm 1, as MINPACK's pivoted QR is blind to their scale too.
    """
    if scaled_svd is None:
        _, s, vt, info = dgesdd(fjac, full_matrices=False)
        # No convergence (NaN in J), or NaN singular values (inf in J).
        if info != 0 or not math.isfinite(s[0]):
            return None
    else:
        s, vt, columns = scaled_svd
    kept = s > _EPS * max(fjac.shape) * s[0]  # the largest first: a prefix
    if not kept.all():
        if route == "lm":
            return None
        s, vt = s[kept], vt[:np.count_nonzero(kept)]
    inverse = (vt.T / s**2) @ vt
    return inverse if scaled_svd is None else inverse / np.outer(columns, columns)


def _covariance(inverse, cost, points, n, absolute_sigma):
    """pcov as scipy.optimize.curve_fit finishes it from `inverse`, ``(J'J)^-1``.

    Scaled by the reduced chi-square ``cost / (points - n)`` unless
    `absolute_sigma`; inf and an `OptimizeWarning` where it cannot be
    estimated: `inverse` None or NaN, or no degrees of freedom left.
    """
    estimable = inverse is not None and not np.isnan(inverse).any()
    if estimable and not absolute_sigma:
        if points > n:
            inverse = inverse * (cost / (points - n))
        else:
            estimable = False
    if not estimable:
        warnings.warn("Covariance of the parameters could not be estimated",
                      OptimizeWarning, stacklevel=3)
        return np.full((n, n), np.inf)
    return inverse


class _BudgetSpent(Exception):
    """``maxfev`` model calls were made: the stage running ends there."""

    def __init__(self, cap):
        super().__init__(cap)
        self.cap = cap

    def stage(self, start):
        """What a stage stopped by the budget reports."""
        return {"x": start, "cost": np.inf, "nit": 0, "nfev": 0, "njev": 0,
                "status": 0, "success": False,
                "message": f"Number of calls to function has reached maxfev = "
                           f"{self.cap}."}


def _check_cap(kwargs, scipy_kwargs):
    """``maxfev`` (or SciPy's ``max_nfev``): the cap on model calls, or None."""
    if not (kwargs or scipy_kwargs):  # the default
        return None
    values = {k: d[k] for d in (kwargs, scipy_kwargs) for k in ("maxfev", "max_nfev")
              if k in d}
    if len(values) > 1:
        raise ValueError(f"give maxfev or max_nfev, not both; got {values}")
    name, cap = next(iter(values.items()), ("maxfev", None))
    kwargs.pop("maxfev", None)
    if cap is None:
        return None
    cap = check_count(cap, name, 1)
    return None if cap == NO_LIMIT else cap


def _check_kwargs(kwargs, n):
    """The options, with maxiter, lr and step_sizes checked as given.

    The Rprop stage splits maxiter into rounds and rescales lr and step_sizes
    per parameter, so minimize's own checks would see other values (and miss
    a min_step above max_step).
    """
    valid = {**_RPROP_OPTIONS, **_FIT_OPTIONS}
    if not kwargs:  # the defaults, valid as they are
        return valid
    check_option_names(kwargs, valid)
    options = {**valid, **kwargs}
    if options["maxiter"] is not None:
        options["maxiter"] = check_count(options["maxiter"], "maxiter")
    options["lr"] = check_lr(options["lr"], n)
    options["step_sizes"] = check_step_sizes(options["step_sizes"])
    return options


def _floats(name, value):
    """`value` as a float64 array (as SciPy converts it; the value itself if it
    is one), or a TypeError naming `name`; complex numbers too, which NumPy
    would cast to their real part with only a warning.
    """
    try:
        array = np.asarray(value)
        if array.dtype.kind != "c":
            return array.astype(float, copy=False)
    except (TypeError, ValueError):
        pass
    raise TypeError(f"{name} must be real numbers; got {reprlib.repr(value)}")


def _parameter_count(f, p0):
    if not callable(f):
        raise TypeError(f"f must be callable; got {f!r}")
    if p0 is not None:
        return np.atleast_1d(p0).size
    try:
        parameters = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        parameters = []
    positional = [p for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2:
        raise ValueError(
            "Unable to determine number of fit parameters from f's signature; "
            "pass p0"
        )
    return len(positional) - 1


def _initial_parameters(p0, n, lower, upper, bounded):
    """p0 as floats (a copy) inside the bounds; None -> ones moved inside, as
    SciPy."""
    if p0 is None:
        p0 = np.ones(n)
        both = np.isfinite(lower) & np.isfinite(upper)
        p0[both] = 0.5 * (lower[both] + upper[both])
        only_lower = np.isfinite(lower) & ~np.isfinite(upper)
        p0[only_lower] = lower[only_lower] + 1
        only_upper = ~np.isfinite(lower) & np.isfinite(upper)
        p0[only_upper] = upper[only_upper] - 1
        return p0
    p0 = np.atleast_1d(_floats("p0", p0)).copy()
    if p0.ndim != 1:
        raise ValueError(f"p0 must be 1-D; got shape {p0.shape}")
    if not np.isfinite(p0).all():
        raise ValueError(f"p0 must be finite; got {p0.tolist()}")
    outside = (p0 < lower) | (p0 > upper) if bounded else None
    if bounded and outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"p0[{i}] = {float(p0[i])!r} is outside the bounds "
            f"[{float(lower[i])!r}, {float(upper[i])!r}]"
        )
    return p0


def _check_data(xdata, ydata, sigma, check_finite, nan_policy):
    if nan_policy not in (None, "raise", "omit"):
        raise ValueError(
            f"nan_policy must be None, 'raise' or 'omit'; got {nan_policy!r}"
        )
    ydata = _floats("ydata", ydata)
    if ydata.ndim != 1 or ydata.size == 0:
        raise ValueError(
            f"ydata must be a non-empty 1-D array; got shape {ydata.shape}"
        )
    point_axis = None  # the axis of xdata that runs over the points
    if isinstance(xdata, (list, tuple, np.ndarray)):
        xdata = _floats("xdata", xdata)
        if xdata.ndim and xdata.shape[-1] == ydata.size:
            point_axis = xdata.ndim - 1  # SciPy's layout: (k,) or (d, k)
        elif xdata.ndim and xdata.shape[0] == ydata.size:
            point_axis = 0  # one row per point: (k, d)
        else:
            raise ValueError(
                f"xdata and ydata must have the same number of points: xdata has "
                f"shape {xdata.shape}, ydata {ydata.shape}"
            )
    if sigma is not None:
        sigma = _floats("sigma", sigma)
        k = ydata.size  # before nan_policy='omit' drops points from both
        if not (sigma.size == 1 or sigma.shape in ((k,), (k, k))):
            raise ValueError(
                f"sigma must be a scalar, have shape ({k},) or ({k}, {k}); got "
                f"shape {sigma.shape}" + (" (ydata's points as passed, before "
                "nan_policy='omit' drops some)" if nan_policy == "omit" else "")
            )
    # No fit can match a NaN or inf in ydata, so it is refused whatever
    # check_finite says; NaN is nan_policy's to handle when it is given, and
    # an inf, which it does not omit, is refused in xdata too.
    checked_x = check_finite or nan_policy is not None
    for name, values in (("xdata", xdata if checked_x else None), ("ydata", ydata)):
        if not isinstance(values, np.ndarray) or (
                nan_policy is None and np.isfinite(values).all()):
            continue
        bad = np.isinf(values) if nan_policy is not None else ~np.isfinite(values)
        if bad.any():
            index = np.unravel_index(np.flatnonzero(bad)[0], values.shape)
            where = (f"{name}[{', '.join(map(str, index))}] = "
                     f"{float(values[index])!r}, {np.count_nonzero(bad)} of "
                     f"{values.size} values")
            if nan_policy is None:
                raise ValueError(
                    f"{name} contains NaN or inf ({where}); remove those points, "
                    "or pass nan_policy='omit' to drop NaN"
                )
            raise ValueError(
                f"{name} contains inf ({where}); nan_policy={nan_policy!r} "
                "handles NaN only, as SciPy's does: remove those points"
            )
    if nan_policy is not None:
        missing = np.isnan(ydata)
        if point_axis is not None:
            other_axes = tuple(a for a in range(xdata.ndim) if a != point_axis)
            missing = missing | np.isnan(xdata).any(axis=other_axes)
        if missing.any():
            if nan_policy == "raise":
                where = "ydata" if np.isnan(ydata).any() else "xdata"
                raise ValueError(f"{where} contains NaN (nan_policy='raise')")
            keep = ~missing
            ydata = ydata[keep]
            if point_axis is not None:
                xdata = np.compress(keep, xdata, axis=point_axis)
            if sigma is not None and sigma.size > 1:
                sigma = sigma[keep] if sigma.ndim == 1 else sigma[np.ix_(keep, keep)]
    return xdata, ydata, sigma


def _weights(sigma, points):
    """The map from model - data to weighted residuals, and its check.

    `sigma`'s shape is checked by _check_data: size 1, (points,) or
    (points, points).
    """
    if sigma is None:
        return lambda values: values
    deviations = sigma.size == 1 or sigma.shape == (points,)
    bad = np.flatnonzero(~np.isfinite(sigma) | (deviations & (sigma <= 0)))
    if bad.size:
        where = np.unravel_index(bad[0], sigma.shape)
        name = f"sigma[{', '.join(map(str, where))}]" if sigma.ndim else "sigma"
        raise ValueError(
            f"sigma must be finite{' and > 0' if deviations else ''} everywhere; "
            f"{name} is {float(sigma[where])!r}"
        )
    if deviations:
        inverse = 1.0 / sigma.reshape(-1) if sigma.size > 1 else 1.0 / sigma.item()
        if np.ndim(inverse):
            return lambda values: (values.T * inverse).T
        return lambda values: values * inverse
    try:
        factor = cholesky(sigma, lower=True)
    except np.linalg.LinAlgError:
        raise ValueError("sigma (a covariance matrix) must be positive "
                         "definite") from None
    return lambda values: solve_triangular(factor, values, lower=True)


def _check_x_scale(x_scale, p0, problem):
    n = p0.size
    if x_scale is None:  # a parameter starting at 0 gets unit scale
        return np.where(p0 != 0, np.abs(p0), 1.0)
    message = ("x_scale must be None, 'jac', or positive finite numbers (one or one "
               f"per parameter); got {x_scale!r}")
    if isinstance(x_scale, str):
        if x_scale != "jac":  # SciPy's least_squares also knows only 'jac'
            raise ValueError(message)
        norms = np.linalg.norm(problem.jacobian(p0), axis=0)
        scale = np.ones(n)
        scale[norms > 0] = 1.0 / norms[norms > 0]
        return scale
    scale = _floats("x_scale", x_scale)
    if scale.size not in (1, n) or not np.all(np.isfinite(scale) & (scale > 0)):
        raise ValueError(message)
    return np.broadcast_to(scale.ravel(), (n,)).copy()
