"""SciPy-style full-batch driver: ``minimize`` and the ``rprop`` custom method."""

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult
from scipy.optimize._numdiff import approx_derivative

from . import _stopping
from ._backends import BACKENDS, DEFAULT, for_device
from ._optimizer import Rprop, loop_settings
from ._stopping import RUNNING, SUCCESS
from ._validation import (
    FINITE_DIFFERENCES,
    check_count,
    check_option_names,
    check_x0,
    jac_kind,
    minimize_bounds,
)
from ._variants import variant_code

FTOL_WINDOW = _stopping.FTOL_WINDOW

_DEFAULT_OPTIONS = {
    "lr": 1e-2,
    "etas": (0.5, 1.2),
    "step_sizes": (1e-10, 50.0),
    "groups": None,
    "maxiter": 20_000,
    "maxfev": None,
    "gtol": 1e-5,
    "xtol": 0.0,
    "ftol": 0.0,
    "disp": False,
    "progress": False,
    "finite_diff_rel_step": None,
    "device": None,
    "compiled": None,
}


def minimize(
    fun: Callable[..., Any],
    x0,
    args: tuple = (),
    jac: Callable[..., Any] | str | bool | None = None,
    method: str | None = None,
    bounds=None,
    tol: float | None = None,
    callback: Callable[..., Any] | None = None,
    options: dict[str, Any] | None = None,
) -> OptimizeResult:
    """Minimize a scalar function of one or more variables with Rprop.

    The call and the result follow `scipy.optimize.minimize`: a SciPy user
    switches to Rprop by changing the `method`.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``, with `x` a 1-D array. With ``jac=True``,
        ``fun(x, *args) -> (float, ndarray)``.
    x0 : array_like, shape (n,)
        Initial guess; never modified. float32 stays float32, anything else
        (integers, lists) becomes float64. Clipped into `bounds` if outside.
    args : tuple, optional
        Extra arguments passed to `fun` and `jac`.
    jac : {callable, True, None, '2-point', '3-point', 'cs'}, optional
        The gradient: ``jac(x, *args) -> ndarray (n,)``; True if `fun`
        returns it; or a finite-difference scheme (SciPy's own
        ``approx_derivative``, inside `bounds`); None means '2-point'.
    method : {'irprop+', 'irprop-', 'rprop+', 'rprop-'}, optional
        The Rprop variant (case-insensitive). Default (None) 'irprop+', which
        undoes a step only when the objective rose. ``options={"variant":
        ...}`` (the name `scipy.optimize.minimize(method=rprop_np.rprop)`
        takes it by) says the same; given both, they must agree.
    bounds : `scipy.optimize.Bounds` or sequence of (min, max), optional
        Box bounds, as SciPy accepts them (None in a pair for no bound). A step
        that leaves the box is projected onto it and that component's step
        size shrinks to the distance it could travel.
    tol : float, optional
        Sets `gtol` when the options do not.
    callback : callable, optional
        ``callback(intermediate_result)`` (an `OptimizeResult` with ``x``,
        ``fun``, ``jac``, ``nit``; chosen when the only parameter is named
        ``intermediate_result``, as in SciPy) or ``callback(xk)``, after each
        iteration with the current point. Raising `StopIteration` ends the
        run with status 99.
    options : dict, optional
        ``lr`` (1e-2; scalar or one per component), ``etas`` ((0.5, 1.2)),
        ``step_sizes`` ((1e-10, 50)), ``groups`` (as `Rprop`), ``maxiter``
        (20000), ``maxfev`` (None), ``gtol`` (1e-5: the max-norm of the
        gradient, projected on active bounds), ``xtol`` (0: stop when the
        largest step size is at most ``max(xtol, min_step)``), ``ftol`` (0,
        off: stop when the best objective improved by less than
        ``ftol * max(|f_best|, 1)`` over the last 10 iterations), ``disp``
        (False: print an iteration table and a summary), ``progress`` (False:
        a tqdm progress bar), ``finite_diff_rel_step`` (None), ``compiled``
        (None: see Notes). Unknown names raise a ValueError.

    Returns
    -------
    res : OptimizeResult
        ``x`` is the best point seen (the lowest objective; Rprop's objective
        is not monotone), with ``fun`` and ``jac`` there. ``x_last`` and
        ``fun_last`` are the last iterate. ``nit``, ``nfev`` (every call of
        `fun`, finite differences included), ``njev`` (gradient evaluations),
        ``status`` (a key of ``rprop_np.STATUS_MESSAGES``), ``success`` and
        ``message`` say how the run went.

    Notes
    -----
    When `fun` is a Numba ``@njit`` function and `jac` is one too, or True,
    or forward differences with float64 `x0`, the whole loop runs compiled
    (no Python per iteration) with the same result bit for bit; `fun` then
    receives `x` itself, not a copy, and must not modify it. A `callback`,
    `disp` or `progress` needs the Python loop. ``compiled=False`` forces the
    Python loop; ``compiled=True`` demands the compiled one and raises a
    ValueError that says why it cannot run.

    Through ``scipy.optimize.minimize(method=rprop_np.rprop)``, SciPy turns a
    string `jac` into None for custom methods, so '3-point' and 'cs' are
    available from ``rprop_np.minimize`` only.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import rosen, rosen_der
    >>> import rprop_np as rp
    >>> res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der)
    >>> res.success, np.allclose(res.x, 1.0, atol=1e-4)
    (True, True)
    >>> res.status, res.nit, res.nfev  # gtol reached; one evaluation per point
    (0, 6008, 6009)
    """
    options = {} if options is None else _check_options_type(options)
    if tol is not None:
        options.setdefault("gtol", tol)
    return _minimize_rprop(fun, x0, args, jac, method, bounds, callback, options)


def rprop(
    fun: Callable[..., Any],
    x0,
    args: tuple = (),
    jac: Callable[..., Any] | str | bool | None = None,
    hess=None,
    hessp=None,
    bounds=None,
    constraints=(),
    callback: Callable[..., Any] | None = None,
    variant: str = "irprop+",
    tol: float | None = None,
    **options: Any,
) -> OptimizeResult:
    """Rprop as a custom method for `scipy.optimize.minimize`.

    ``scipy.optimize.minimize(fun, x0, jac=..., method=rprop_np.rprop,
    bounds=..., callback=..., options={...})`` runs exactly what
    `rprop_np.minimize` runs; choose the variant with
    ``options={"variant": "irprop-"}``. See `minimize` for the options.
    Constraints are not supported; `hess` and `hessp` are not used.

    Examples
    --------
    >>> from scipy.optimize import minimize, rosen, rosen_der
    >>> import rprop_np as rp
    >>> res = minimize(rosen, [-1.2, 1.0], jac=rosen_der, method=rp.rprop)
    >>> res.success, res.nit == rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der).nit
    (True, True)
    """
    if constraints:
        raise ValueError("rprop does not support constraints; got constraints="
                         f"{constraints!r}")
    if hess is not None or hessp is not None:
        warnings.warn("rprop does not use Hessian information (hess, hessp)",
                      RuntimeWarning, stacklevel=3)
    if tol is not None:
        options.setdefault("gtol", tol)
    return _minimize_rprop(fun, x0, args, jac, None, bounds, callback,
                           {**options, "variant": variant})


# ---------------------------------------------------------------------------


def _minimize_rprop(fun, x0, args, jac, method, bounds, callback, options):
    """The loop behind `minimize` and `rprop`; inputs not yet validated."""
    from . import _first_class  # Numba, imported on the first call, not at import

    if not callable(fun):
        raise TypeError(f"fun must be callable; got {fun!r}")
    method = resolve_variant(method, options)
    opts = _check_options(options)
    kind = jac_kind(jac)
    if not isinstance(args, tuple):
        args = (args,)
    # The backend's array operations; it refuses a jac or bounds it cannot run.
    ops = for_device(opts["device"]).MinimizeArrays(jac, bounds)
    x = ops.initial_point(x0, check_x0)
    box = None
    if bounds is not None:
        lower, upper = minimize_bounds(bounds, x.size, x.dtype)
        np.clip(x, lower, upper, out=x)
        box = None if np.all(np.isinf(lower) & np.isinf(upper)) else (lower, upper)
    settings = {"lr": opts["lr"], "etas": opts["etas"],
                "step_sizes": opts["step_sizes"], "variant": method,
                "groups": opts["groups"]}
    if isinstance(x, np.ndarray):  # compiled code, in either loop, reads unchecked
        _first_class.check_objective_reads(fun, jac, x, args)
    if _use_compiled_loop(fun, jac, kind, x, args, callback, opts):
        try:
            return _minimize_compiled(fun, jac, kind, args, x, box, settings, opts)
        except _first_class.ObjectiveTypeError:
            # An eager signature, a default argument, a size-1 array for f...:
            # automatic selection must not fail a call the Python loop runs.
            if opts["compiled"]:
                raise
    optimizer = Rprop(x, **settings, bounds=box)

    rel_step = opts["finite_diff_rel_step"]
    if kind in FINITE_DIFFERENCES:  # unused, and so not checked, otherwise
        rel_step = _check_rel_step(rel_step, x.size)
    objective = _Objective(fun, jac, kind, args, x, box, rel_step, ops)
    report_to = _callback_caller(callback, ops.copy)
    display = _Display(opts["disp"], opts["progress"], opts["maxiter"])
    limits = _limits(opts)

    f, grad = objective(x)
    gradient_norm, nonfinite = ops.gradient_summary(x, grad, box)
    best = _Best(x, f, grad, ops.copy)
    best_history = np.empty(FTOL_WINDOW + 1)  # as the compiled loop keeps it
    best_history[0] = best.f
    nit = 0
    status = _stopping.after_evaluation(f, nonfinite)
    while status == RUNNING:
        status = _stopping.before_step(gradient_norm, nit, objective.nfev, limits)
        if status != RUNNING:
            break
        optimizer.step(grad, f)
        nit += 1
        f, grad = objective(x)
        gradient_norm, nonfinite = ops.gradient_summary(x, grad, box)
        status = _stopping.after_evaluation(f, nonfinite)
        if status != RUNNING:
            break
        best.update(x, f, grad)
        largest_step = ops.max(optimizer.step_size)
        display.row(nit, f, best.f, gradient_norm, largest_step, objective.nfev)
        try:
            report_to(x, f, grad, nit)
        except StopIteration:
            status = _stopping.CALLBACK_STOPPED
            break
        status = _stopping.after_step(nit, best.f, largest_step, best_history, limits)

    result = _result(status, nit, objective.nfev, objective.njev, best.x, best.f,
                     best.grad, ops.copy(x), f, nonfinite)
    display.close(result)
    return result


def _result(status, nit, nfev, njev, x, f, grad, x_last, f_last, nonfinite):
    """The OptimizeResult both loops return."""
    message = _stopping.message(status, nit, f_last, nonfinite)
    return OptimizeResult(
        x=x, fun=f, jac=grad, nit=nit, nfev=nfev, njev=njev, status=status,
        success=status in SUCCESS, message=message, x_last=x_last, fun_last=f_last,
    )


def _use_compiled_loop(fun, jac, kind, x, args, callback, opts):
    """Whether the loop runs compiled: automatic, or as ``options['compiled']``."""
    from . import _first_class

    compiled = opts["compiled"]
    if compiled not in (None, True, False):
        raise ValueError(f"compiled must be None, True or False; got {compiled!r}")
    if compiled is False:
        return False
    differences = kind == "2-point"
    obstacles = [
        (not _first_class.is_njit(fun), "fun is not a Numba @njit function"),
        (not (kind == "both" or _first_class.is_njit(jac) or differences),
         "jac is not an @njit function, True or '2-point'"),
        (differences and x.dtype != np.float64,
         "compiled finite differences need float64 x0"),
        (callback is not None, "a callback runs in Python"),
        (opts["disp"] or opts["progress"], "disp and progress print from Python"),
        (opts["device"] not in (None, DEFAULT),
         f"device={opts['device']!r} runs the Python loop"),
        (not all(map(_numba_typeable, args)), "args are not all Numba types"),
    ]
    reasons = [reason for blocked, reason in obstacles if blocked]
    if compiled and reasons:
        raise ValueError(
            "options={'compiled': True} cannot run the compiled loop: "
            + "; ".join(reasons)
        )
    return not reasons


def _limits(opts):
    """The stopping settings of checked options, for both loops."""
    groups = opts["groups"] or [{}]
    min_step = min(g.get("step_sizes", opts["step_sizes"])[0] for g in groups)
    return _stopping.limits(opts["maxiter"], opts["maxfev"], opts["gtol"],
                            opts["xtol"], opts["ftol"], min_step)


def _check_rel_step(rel_step, n):
    """``finite_diff_rel_step``: None, or n (or one) real numbers > 0, as float64."""
    if rel_step is None:
        return None
    try:
        steps = np.asarray(rel_step, np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"finite_diff_rel_step must be None or real numbers; got {rel_step!r}"
        ) from None
    if steps.size not in (1, n) or steps.ndim > 1:
        raise ValueError(
            f"finite_diff_rel_step must be a scalar or have one entry per variable "
            f"({n}); got shape {steps.shape}"
        )
    if not np.all(np.isfinite(steps) & (steps > 0)):
        raise ValueError(
            f"finite_diff_rel_step must be finite and > 0; got {rel_step!r}"
        )
    return steps


def _compiled_rel_step(opts, kind, n):
    """``finite_diff_rel_step`` as the compiled loop takes it: n float64 steps,
    or empty for SciPy's default step (and when there are no differences)."""
    if kind not in FINITE_DIFFERENCES:
        return np.empty(0)  # unused, and so not checked, as in SciPy
    rel_step = _check_rel_step(opts["finite_diff_rel_step"], n)
    if rel_step is None:
        return np.empty(0)
    return np.broadcast_to(rel_step, (n,)).copy()


def _numba_typeable(value):
    from . import _first_class

    try:
        _first_class.typeof(value)
    except (ValueError, TypeError):
        return False
    return True


def _minimize_compiled(fun, jac, kind, args, x, box, settings, opts):
    """The loop of `_minimize_rprop`, run by ``_minimize_loop.solve_one``."""
    from . import _first_class, _minimize_loop

    lower, upper = box if box is not None else (
        np.full(x.size, -np.inf, x.dtype), np.full(x.size, np.inf, x.dtype))
    rel_step = _compiled_rel_step(opts, kind, x.size)
    argtypes = [_first_class.typeof(x)] + [_first_class.typeof(value) for value in args]
    fun_type, jac, jac_type = _first_class.typed_objective(fun, jac, argtypes)
    step_size, variant, group_stop, hyper = loop_settings(
        x, **settings, bounded=box is not None)
    values = (
        fun, jac, args, x, step_size, _minimize_loop.Box(lower, upper, box is not None),
        _minimize_loop.Layout(group_stop, hyper), np.int64(variant), _limits(opts),
        rel_step,
    )
    value_types = (fun_type, jac_type, *map(_first_class.typeof, values[2:]))
    outcome, best_x, best_grad = _first_class.call(
        _minimize_loop.solve_one, values, value_types)
    status, nit, nfev, njev, best_f, f, nonfinite = outcome
    return _result(status, nit, nfev, njev, best_x, best_f, best_grad, x.copy(), f,
                   nonfinite)


class _Best:
    """The best finite point seen so far (Rprop's objective is not monotone)."""

    def __init__(self, x, f, grad, copy):
        self.copy = copy
        self.x, self.f, self.grad = copy(x), f, copy(grad)

    def update(self, x, f, grad):
        if f < self.f:
            self.x, self.f, self.grad = self.copy(x), f, self.copy(grad)


class _Objective:
    """``x -> (f, g)`` with SciPy's jac conventions and exact counts.

    `nfev` counts every call of `fun` (finite differences included), `njev`
    every gradient evaluation, as SciPy's own minimizers count them.
    """

    def __init__(self, fun, jac, kind, args, x, box, rel_step, ops):
        self.fun, self.args, self.ops = fun, args, ops
        self.shape, self.dtype = x.shape, x.dtype
        self.bounds = (-np.inf, np.inf) if box is None else box
        self.rel_step = rel_step
        self.nfev = self.njev = 0
        self.jac = jac if kind == "callable" else (True if kind == "both" else kind)

    def __call__(self, x):
        if self.jac is True:
            value = self._call(x)
            try:
                f, grad = value
            except (TypeError, ValueError):
                raise ValueError(
                    "with jac=True, fun must return (f, grad); got "
                    f"{type(value).__name__}"
                ) from None
        else:
            f = self._call(x)
            if callable(self.jac):
                grad = self.jac(self.ops.copy(x), *self.args)
            else:
                grad = self._differences(x, _check_scalar(f))
        self.njev += 1
        return _check_scalar(f), self.ops.check_grad(grad, self.shape, self.dtype)

    def _differences(self, x, f0):
        """SciPy's ``approx_derivative``, over the variables not fixed by bounds.

        A variable with lower == upper has no room for a difference step: its
        gradient is 0 and it is held, as SciPy's `minimize` holds it.
        """
        lower, upper = np.broadcast_to(self.bounds[0], x.shape), np.broadcast_to(
            self.bounds[1], x.shape)
        free = lower < upper
        if free.all():
            return approx_derivative(self._call_scalar, x, method=self.jac,
                                     rel_step=self.rel_step, f0=f0,
                                     bounds=self.bounds)
        grad = np.zeros_like(x)
        if not free.any():
            return grad
        rel_step = self.rel_step
        if rel_step is not None:
            rel_step = np.broadcast_to(rel_step, x.shape)[free]

        def on_free(values):
            point = x.astype(np.result_type(x, values))  # complex for 'cs'
            point[free] = values
            return self._call_scalar(point)

        grad[free] = approx_derivative(on_free, x[free], method=self.jac,
                                       rel_step=rel_step, f0=f0,
                                       bounds=(lower[free], upper[free]))
        return grad

    def _call(self, x):
        self.nfev += 1
        return self.fun(self.ops.copy(x), *self.args)

    def _call_scalar(self, x):
        value = self._call(x)
        # complex-step differences need the complex value fun returns
        return np.asarray(value).reshape(()) if self.jac == "cs" else _check_scalar(
            value
        )


def _check_scalar(f):
    if isinstance(f, tuple):
        raise ValueError(
            f"fun must return a scalar; it returned a tuple of {len(f)} items "
            "(if it returns (f, grad), pass jac=True)"
        )
    value = np.asarray(f)
    if value.size != 1:
        raise ValueError(
            f"fun must return a scalar; got an array of shape {value.shape}"
        )
    if value.dtype.kind not in "fiub":
        raise TypeError(f"fun must return a real number; got {value.dtype}")
    return float(value.reshape(()))


def resolve_variant(method, options):
    """The variant: `method`, or ``options["variant"]`` (removed from
    `options`), 'irprop+' if neither; both given must name the same one."""
    variant = options.pop("variant", None)
    if method is None:
        method = "irprop+" if variant is None else variant
        _check_method(method, "variant" if variant is not None else "method")
    else:
        code = _check_method(method)
        if variant is not None and _check_method(variant, "variant") != code:
            raise ValueError(
                f"method={method!r} and options={{'variant': {variant!r}}} name "
                f"different variants; give one of them"
            )
    return method


def _check_method(method, argname="method"):
    if not isinstance(method, str):
        raise TypeError(f"{argname} must be a string such as 'irprop+'; got "
                        f"{method!r}")
    return variant_code(method, argname)


def _check_options_type(options):
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict; got {options!r}")
    return dict(options)


def _check_options(options):
    # "variant" was taken out by resolve_variant; it is still a valid name.
    check_option_names(options, [*_DEFAULT_OPTIONS, "variant"])
    opts = {**_DEFAULT_OPTIONS, **options}
    opts["maxiter"] = check_count(opts["maxiter"], "maxiter")
    opts["maxfev"] = check_count(opts["maxfev"], "maxfev", 1, none_is_no_limit=True)
    if opts["device"] is not None and opts["device"] not in BACKENDS:
        *names, last = map(repr, BACKENDS)
        raise ValueError(f"device must be None, {', '.join(names)} or {last}; got "
                         f"{opts['device']!r}")
    for name in ("gtol", "xtol", "ftol"):
        value = opts[name]
        if not isinstance(value, (int, float, np.floating)) or not value >= 0:
            raise ValueError(f"{name} must be a number >= 0; got {value!r}")
    return opts


def _callback_caller(callback, copy):
    """Call either SciPy callback form with (a copy of) the current iterate."""
    if callback is None:
        return lambda x, f, grad, nit: None
    if not callable(callback):
        raise TypeError(f"callback must be callable; got {callback!r}")
    try:
        parameters = set(inspect.signature(callback).parameters)
    except (TypeError, ValueError):
        parameters = set()
    if parameters == {"intermediate_result"}:
        def call(x, f, grad, nit):
            callback(intermediate_result=OptimizeResult(
                x=copy(x), fun=f, jac=copy(grad), nit=nit))
    else:
        def call(x, f, grad, nit):
            callback(copy(x))
    return call


class _Display:
    """The ``disp`` iteration table and the ``progress`` bar."""

    def __init__(self, disp, progress, maxiter):
        self.disp = bool(disp)
        self.bar = None
        if progress:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                raise ImportError(
                    "options={'progress': True} needs tqdm, which is not "
                    "installed: pip install tqdm"
                ) from None
            total = None if maxiter >= _stopping.NO_LIMIT else maxiter
            self.bar = tqdm(total=total, unit="it", desc="rprop")
        if self.disp:
            print(f"{'nit':>8} {'f':>14} {'best f':>14} {'|grad|_inf':>12} "
                  f"{'max step':>10} {'nfev':>8}")

    def row(self, nit, f, best_f, gradient_norm, largest_step, nfev):
        if self.bar is not None:
            self.bar.update(1)
            if nit % 100 == 0:
                self.bar.set_postfix(best_f=f"{best_f:.6g}", refresh=False)
        # 1..10, then every 10 to 100, every 100 to 1000, ...
        if self.disp and nit % 10 ** (len(str(nit)) - 1) == 0:
            print(f"{nit:>8} {f:>14.6e} {best_f:>14.6e} {gradient_norm:>12.3e} "
                  f"{largest_step:>10.3e} {nfev:>8}")

    def close(self, result):
        if self.bar is not None:
            # A run that stops early ends the bar where it stopped, with why,
            # so it reads as finished rather than as 30% done.
            self.bar.n = self.bar.total = result.nit
            outcome = "success" if result.success else "failure"
            self.bar.set_postfix(best_f=f"{result.fun:.6g}",
                                 status=f"{result.status} ({outcome})", refresh=False)
            self.bar.close()
        if self.disp:
            print(result.message)
            print(f"         Current function value: {result.fun:.6e}")
            print(f"         Iterations: {result.nit}")
            print(f"         Function evaluations: {result.nfev}")
            print(f"         Gradient evaluations: {result.njev}")
