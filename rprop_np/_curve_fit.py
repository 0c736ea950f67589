"""curve_fit with Rprop: scipy.optimize.curve_fit's contract, scale-invariant.

The fit minimizes ``0.5 * |r(p)|^2`` with ``r = W (f(xdata, *p) - ydata)``
(``W`` from `sigma`) by Rprop over scaled parameters ``u = p / x_scale``, then
polishes with SciPy's Levenberg-Marquardt (``least_squares``) and keeps the
best point any stage reached.
"""

import inspect
import reprlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.linalg import cholesky, solve_triangular, svd
from scipy.optimize import Bounds, OptimizeWarning, least_squares
from scipy.optimize._numdiff import approx_derivative

from ._minimize import minimize
from ._validation import (
    FINITE_DIFFERENCES,
    check_lr,
    check_option_names,
    check_step_sizes,
    curve_fit_bounds,
    jac_kind,
)

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
POLISH_BUDGET_ITERATIONS = 2_000
ROUND_ITERATIONS = 1_000  # Rprop iterations between re-orientations
POLISH_MAX_NFEV = 5_000  # per LM run; SciPy's default (100 n) stops MGH17 short
PURE_RPROP_ITERATIONS = 20_000


def curve_fit(
    f: Callable[..., Any],
    xdata,
    ydata,
    p0=None,
    sigma=None,
    absolute_sigma: bool = False,
    check_finite: bool | None = True,
    bounds=(-np.inf, np.inf),
    method: str | None = "irprop+",
    jac: Callable[..., Any] | str | None = None,
    full_output: bool = False,
    nan_policy: str | None = None,
    **kwargs: Any,
):
    """Fit ``ydata ~ f(xdata, *p)`` with Rprop, as `scipy.optimize.curve_fit`.

    Parameters
    ----------
    f : callable
        The model, ``f(xdata, *params) -> ndarray`` with one value per point.
    xdata : array_like
        The independent variable: shape (k,) or (d, k) for k points (anything
        else is passed to `f` as it is).
    ydata : array_like, shape (k,)
        The data.
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
        Refuse NaN or inf in `xdata`. Default True; None, SciPy's default,
        means True unless `nan_policy` is given. NaN or inf left in `ydata`
        is always refused: no fit can match it.
    bounds : 2-tuple of array_like or `scipy.optimize.Bounds`, optional
        Lower and upper bounds on the parameters (scalars or one per
        parameter); honoured by the Rprop stage and the polish.
    method : {'irprop+', 'irprop-', 'rprop+', 'rprop-'}, optional
        The Rprop variant of the first stage; None (SciPy's default) means
        'irprop+'.
    jac : callable or {'2-point', '3-point', 'cs'}, optional
        ``jac(xdata, *params) -> ndarray (k, n)``, the Jacobian of the model;
        or a finite-difference scheme (SciPy's ``approx_derivative``). None
        means '2-point'.
    full_output : bool, optional
        Also return ``infodict, mesg, ier``.
    nan_policy : {None, 'raise', 'omit'}, optional
        What NaN in the data does: None follows `check_finite`, 'raise'
        refuses it naming the array, 'omit' drops those points (from `sigma`
        too, which must match `ydata` as passed). Like SciPy's, 'omit' drops
        NaN only, not inf.
    **kwargs
        Options: ``polish`` (True), ``x_scale`` (None: ``|p0|``, 1 where p0
        is 0; ``'jac'``: inverse column norms of the Jacobian at p0; or an
        array), and the Rprop stage's ``maxiter`` (2,000 before a polish,
        20,000 without), ``maxfev``, ``lr`` (1e-2), ``etas``, ``step_sizes``
        ((1e-15, 10)), ``gtol`` (0), ``ftol`` (0), ``xtol`` (0), ``disp``;
        ``lr`` and ``step_sizes`` are relative to each parameter's scale.
        Unknown names raise a ValueError.

    Returns
    -------
    popt : ndarray
        The parameters with the lowest cost any stage reached.
    pcov : ndarray
        Their covariance, computed as SciPy does (pseudo-inverse of J'J via
        the SVD of the Jacobian at `popt`, singular values below
        ``eps * max(J.shape) * s[0]`` dropped, scaled by the reduced
        chi-square unless `absolute_sigma`); inf with an `OptimizeWarning`
        when it cannot be estimated.
    infodict : dict
        With `full_output`: ``fvec`` (weighted residuals at popt), ``fjac``
        (their Jacobian), ``cost`` (sum of squared residuals), ``nfev``,
        ``njev``, ``nit`` (totals over the stages), ``status``, ``stages``
        (what each stage did) and ``chosen`` (whose point popt is).
    mesg : str
        With `full_output`: how the chosen stage ended.
    ier : int
        With `full_output`: 1 for success (SciPy's success codes are 1-4).

    Raises
    ------
    RuntimeError
        If no stage succeeded ("Optimal parameters not found"), as SciPy.

    Notes
    -----
    **Scale invariance.** Rprop's steps ignore the gradient's magnitude;
    optimizing ``u = p / x_scale`` makes them ignore each parameter's scale
    too: the first step is `lr` (1%) of each parameter's own size, and the
    minimum step (1e-15 of it) lets the fit resolve every parameter to full
    double precision, whether it is 1e-10 or 1e10.

    **Polish.** Rprop adapts one step size per parameter, so it crawls when
    parameters are strongly correlated (Lanczos, Hahn1, MGH09 in the NIST
    suite) and can settle in another basin than Levenberg-Marquardt from the
    same start. With ``polish=True`` the fit runs a budgeted Rprop stage,
    then LM (``least_squares``, tolerances 1e-15) from Rprop's best point and
    LM from `p0`, and keeps the lowest cost of the three: never worse than
    Rprop alone or LM alone. ``polish=False`` is pure Rprop.

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
    n = _parameter_count(f, p0)
    options = _check_kwargs(kwargs, n)
    polish, rotate, x_scale = (options.pop(k) for k in ("polish", "rotate", "x_scale"))
    if check_finite is None:  # SciPy's default: check unless nan_policy is given
        check_finite = nan_policy is None
    # bool(x) would read the string "False" as True.
    for name, value in (("polish", polish), ("rotate", rotate),
                        ("absolute_sigma", absolute_sigma),
                        ("check_finite", check_finite),
                        ("full_output", full_output), ("disp", options["disp"])):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False; got {value!r}")
    if method is None:  # SciPy's spelling of "the default method"
        method = "irprop+"
    lower, upper = curve_fit_bounds(bounds, n)
    p0 = _initial_parameters(p0, n, lower, upper)
    xdata, ydata, sigma = _check_data(xdata, ydata, sigma, check_finite, nan_policy)
    if ydata.size < n:
        raise ValueError(
            f"ydata has {ydata.size} points, fewer than the {n} parameters of f"
        )
    problem = _Residuals(f, xdata, ydata, _weights(sigma, ydata.size), jac, n)
    problem.check_at(p0)
    scale = _check_x_scale(x_scale, p0, problem)

    stages = {}
    rprop = _rprop_stage(problem, p0, scale, lower, upper, method, options, polish,
                         rotate)
    stages["rprop"] = rprop
    if polish:
        stages["polish_from_rprop"] = _lm_stage(problem, rprop["x"], lower, upper)
        stages["polish_from_p0"] = _lm_stage(problem, p0, lower, upper)
    chosen = _choose(stages)
    best = stages[chosen]
    if not best["success"]:
        raise RuntimeError(f"Optimal parameters not found: {best['message']}")

    popt = best["x"]
    fvec = problem.residuals(popt)
    fjac = problem.jacobian(popt)
    cost = float(fvec @ fvec)
    pcov = _covariance(fjac, cost, ydata.size, n, absolute_sigma)
    if not full_output:
        return popt, pcov
    infodict = {
        "fvec": fvec, "fjac": fjac, "cost": cost,
        "nfev": problem.nfev, "njev": problem.njev,
        "nit": sum(s["nit"] for s in stages.values()),
        "status": best["status"], "stages": stages, "chosen": chosen,
    }
    return popt, pcov, infodict, best["message"], 1


class _Residuals:
    """Weighted residuals and their Jacobian, with exact evaluation counts."""

    def __init__(self, f, xdata, ydata, weights, jac, n):
        self.f, self.xdata, self.ydata, self.weights = f, xdata, ydata, weights
        self.n = n
        self.nfev = self.njev = 0
        kind = jac_kind(jac, ("callable", *FINITE_DIFFERENCES))
        self.jac = jac if kind == "callable" else kind

    def model(self, p):
        self.nfev += 1
        return np.asarray(self.f(self.xdata, *p))

    def residuals(self, p):
        return self.weights(self.model(p) - self.ydata)

    def jacobian(self, p):
        self.njev += 1
        if callable(self.jac):
            columns = np.asarray(self.jac(self.xdata, *p), dtype=float)
            if columns.shape != (self.ydata.size, self.n):
                raise ValueError(
                    f"jac must return an array of shape ({self.ydata.size}, "
                    f"{self.n}); got {columns.shape}"
                )
            return self.weights(columns)
        return approx_derivative(self.residuals, p, method=self.jac)

    def check_at(self, p0):
        try:
            values = self.model(p0)
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
        if not np.all(np.isfinite(values)):
            bad = int(np.count_nonzero(~np.isfinite(values)))
            raise ValueError(
                f"f(xdata, *p0) is not finite at {bad} of {values.size} points; "
                f"choose another p0 (p0 = {p0.tolist()})"
            )


def _rprop_stage(problem, p0, scale, lower, upper, method, options, polish, rotate):
    """Rprop on the sum of squares; returns what it did, with x in parameters."""
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
            "success": res.success or res.status == 1,  # a spent budget still fits
            "message": res.message}


def _choose(stages):
    """The stage with the lowest cost; on a tie within rounding, LM from p0.

    Several NIST models have equivalent parameterizations with the same cost
    (Lanczos's exponentials in any order, Eckerle4's signs); on such a tie,
    prefer the point SciPy's curve_fit would return, then LM from Rprop's.
    """
    preference = ["polish_from_p0", "polish_from_rprop", "rprop"]
    finished = [name for name in preference
                if name in stages and np.isfinite(stages[name]["cost"])]
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


def _lm_stage(problem, start, lower, upper):
    """SciPy's Levenberg-Marquardt (trust-region reflective with bounds)."""
    bounded = np.any(np.isfinite(lower) | np.isfinite(upper))
    nfev, njev = problem.nfev, problem.njev
    res = least_squares(
        problem.residuals, np.clip(start, lower, upper),
        jac=problem.jacobian, bounds=(lower, upper) if bounded else (-np.inf, np.inf),
        method="trf" if bounded else "lm", x_scale="jac",
        ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=POLISH_MAX_NFEV,
    )
    return {"x": res.x, "cost": 2 * res.cost, "nit": 0,
            "nfev": problem.nfev - nfev, "njev": problem.njev - njev,
            "status": res.status, "success": res.status > 0, "message": res.message}


def _covariance(fjac, cost, points, n, absolute_sigma):
    """pcov exactly as scipy.optimize.curve_fit computes it."""
    _, s, vt = svd(fjac, full_matrices=False)
    threshold = np.finfo(float).eps * max(fjac.shape) * s[0]
    s = s[s > threshold]
    vt = vt[:s.size]
    pcov = (vt.T / s**2) @ vt
    estimable = not np.isnan(pcov).any()
    if estimable and not absolute_sigma:
        if points > n:
            pcov = pcov * (cost / (points - n))
        else:
            estimable = False
    if not estimable:
        pcov = np.full((n, n), np.inf)
        warnings.warn("Covariance of the parameters could not be estimated",
                      OptimizeWarning, stacklevel=3)
    return pcov


def _check_kwargs(kwargs, n):
    """The options, with maxiter, lr and step_sizes checked as given.

    The Rprop stage splits maxiter into rounds and rescales lr and step_sizes
    per parameter, so minimize's own checks would see other values (and miss
    a min_step above max_step).
    """
    valid = {**_RPROP_OPTIONS, **_FIT_OPTIONS}
    check_option_names(kwargs, valid)
    options = {**valid, **kwargs}
    maxiter = options["maxiter"]
    integer = isinstance(maxiter, (int, np.integer)) and not isinstance(maxiter, bool)
    if maxiter is not None and not (integer and maxiter >= 0):
        raise ValueError(
            f"maxiter must be None or a non-negative integer; got {maxiter!r}"
        )
    options["lr"] = check_lr(options["lr"], n)
    options["step_sizes"] = check_step_sizes(options["step_sizes"])
    return options


def _floats(name, value):
    """`value` as a float64 array (as SciPy converts it), or a TypeError naming
    `name`; complex numbers too, which NumPy would cast to their real part
    with only a warning.
    """
    try:
        array = np.asarray(value)
        if array.dtype.kind != "c":
            return array.astype(float)
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


def _initial_parameters(p0, n, lower, upper):
    """p0 as floats inside the bounds; None -> ones moved inside, as SciPy."""
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
    if not np.all(np.isfinite(p0)):
        raise ValueError(f"p0 must be finite; got {p0.tolist()}")
    outside = (p0 < lower) | (p0 > upper)
    if outside.any():
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
    # check_finite says; NaN is nan_policy's to handle when it is given.
    for name, values in (("xdata", xdata if check_finite else None), ("ydata", ydata)):
        if not isinstance(values, np.ndarray):
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
    if x_scale is None:
        scale = np.abs(p0)
        scale[scale == 0] = 1.0  # a parameter starting at 0 gets unit scale
        return scale
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
