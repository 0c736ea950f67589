"""Compiled pieces of one small least-squares fit, for ``curve_fit_many``.

Everything here works on one fit's weighted residuals
``r(p) = w * (model(x, p) - y)`` and runs in Numba, called once per fit from
a parallel loop: the residuals, their Jacobian (the user's ``jac`` or forward
differences), the cost and gradient Rprop needs, a projected
Levenberg-Marquardt polish and the covariance of the result.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from ._jit import jit
from ._minimize_loop import _largest
from ._rule import blocked_by_bound, step_inside_bounds
from ._stopping import (
    GRADIENT_NOT_FINITE,
    OBJECTIVE_NOT_FINITE,
    POLISH_FTOL,
    POLISH_FTOL_REACHED,
    POLISH_MAXITER_REACHED,
    POLISH_STUCK,
    POLISH_XTOL,
    POLISH_XTOL_REACHED,
    STOPPED,
)

# As plain floats: inside compiled code np.finfo, like .max(), .min(), np.eye
# and np.all, compiles an implementation of its own on a cold cache (together
# about a second of curve_fit_many's first call); loops and constants do not.
EPS = float(np.finfo(np.float64).eps)
TINY = float(np.finfo(np.float64).tiny)
SQRT_EPS = np.sqrt(EPS)

_blocked_by_bound = njit(inline="always")(blocked_by_bound)
_step_inside_bounds = njit(inline="always")(step_inside_bounds)

# The polish (Levenberg-Marquardt); its stopping rules are in _stopping.
LAMBDA_START = 1e-3  # Marquardt's damping, relative to diag(J'J)
LAMBDA_MAX = 1e16  # more damping than this: no step lowers the cost
LAMBDA_MIN = 1e-15  # keeps lam from reaching 0, where it could not grow

Fit = namedtuple("Fit", "model jac differences x y w scale box stop")
"""One fit's problem, as the compiled functions receive it.

`model` and `jac` are first-class functions ``(x, p) -> values``; with
`differences` True, `jac` is a placeholder and the Jacobian comes from
forward differences. A flag rather than a None `jac` keeps one compiled
specialization for both. `w` are the weights (1 / sigma); `scale` the
parameters' scales (``|p0|``, 1 where 0); `box` the bounds (a
``_minimize_loop.Box``);
`stop` the call's stop flag (see ``_guard``), which the loops check.
"""


@jit
def no_jacobian(x, p):
    """The placeholder `jac` for forward differences; never called."""
    return np.empty((0, 0))


@jit
def residuals(fit, p, out):
    """Write ``w * (model(x, p) - y)`` into `out`; return half its squared norm.

    The cost is NaN when the model returns the wrong number of values (rather
    than read past its end), and not finite when any residual is not.
    """
    values = fit.model(fit.x, p)
    if values.size != fit.y.size:
        return np.nan
    total = 0.0
    for j in range(fit.y.size):
        out[j] = fit.w[j] * (values[j] - fit.y[j])
        total += out[j] * out[j]
    return 0.5 * total


@jit
def jacobian(fit, p, r, out):
    """Write the (k, n) Jacobian of the residuals at `p` into `out`.

    `r` holds the residuals at `p`. Returns ``(model calls, finite)``.
    Forward differences take SciPy's '2-point' step in the scaled coordinates
    ``p / scale`` (``sqrt(eps) * max(|p|, scale)``), flipped or shortened to
    stay inside the box as ``approx_derivative`` does.
    """
    k, n = out.shape
    finite = True
    if not fit.differences:
        columns = fit.jac(fit.x, p)
        if columns.shape[0] != k or columns.shape[1] != n:
            out[:] = np.nan
            return 0, False
        for j in range(k):
            for i in range(n):
                out[j, i] = fit.w[j] * columns[j, i]
                finite = finite and np.isfinite(out[j, i])
        return 0, finite
    work = p.copy()
    for i in range(n):
        h = _step_inside_bounds(p[i], SQRT_EPS * max(abs(p[i]), fit.scale[i]),
                                fit.box.lower[i], fit.box.upper[i])
        work[i] = p[i] + h
        h = work[i] - p[i]  # the step as represented
        values = fit.model(fit.x, work)
        work[i] = p[i]
        if values.size != k:
            out[:, i] = np.nan
            finite = False
            continue
        for j in range(k):
            out[j, i] = (fit.w[j] * (values[j] - fit.y[j]) - r[j]) / h
            finite = finite and np.isfinite(out[j, i])
    return n, finite


@jit
def cost_and_grad(u, fit):
    """``(0.5 |r|^2, gradient)`` over the scaled parameters ``u = p / scale``.

    This is the objective of the Rprop stage (``_minimize_loop.solve`` with
    ``jac=None``). The gradient is NaN where the cost is not finite.
    """
    k, n = fit.y.size, u.size
    p = np.empty(n)
    for i in range(n):  # u * scale, kept in the box against rounding
        p[i] = min(max(u[i] * fit.scale[i], fit.box.lower[i]), fit.box.upper[i])
    r = np.empty(k)
    grad = np.full(n, np.nan)
    cost = residuals(fit, p, r)
    if not np.isfinite(cost):
        return cost, grad
    J = np.empty((k, n))
    jacobian(fit, p, r, J)
    for i in range(n):
        total = 0.0
        for j in range(k):
            total += J[j, i] * r[j]
        grad[i] = total * fit.scale[i]
    return cost, grad


@jit
def _normal_equations(J, r, A, g):
    """``A = J'J`` and ``g = J'r``."""
    k, n = J.shape
    for a in range(n):
        total = 0.0
        for j in range(k):
            total += J[j, a] * r[j]
        g[a] = total
        for b in range(a + 1):
            total = 0.0
            for j in range(k):
                total += J[j, a] * J[j, b]
            A[a, b] = total
            A[b, a] = total


@jit
def _damped_step(A, g, D, lam, free, L, step):
    """Solve ``(A + lam diag(D)) step = -g`` over the free components.

    The others get a zero step (their row and column are replaced by the
    identity). Cholesky factorization into `L`; False when the matrix is not
    numerically positive definite.
    """
    n = g.size
    for a in range(n):
        for b in range(a + 1):
            if free[a] and free[b]:
                total = A[a, b] + (lam * D[a] if a == b else 0.0)
            else:
                total = 1.0 if a == b else 0.0
            for q in range(b):
                total -= L[a, q] * L[b, q]
            if a == b:
                if not total > 0.0:
                    return False
                L[a, a] = np.sqrt(total)
            else:
                L[a, b] = total / L[b, b]
    for a in range(n):  # L z = -g
        total = -g[a] if free[a] else 0.0
        for q in range(a):
            total -= L[a, q] * step[q]
        step[a] = total / L[a, a]
    for a in range(n - 1, -1, -1):  # L' step = z
        total = step[a]
        for q in range(a + 1, n):
            total -= L[q, a] * step[q]
        step[a] = total / L[a, a]
    return True


@jit
def polish(fit, p, maxiter, J):
    """Projected Levenberg-Marquardt from `p` (updated in place).

    Each iteration solves ``(J'J + lam D) step = -J'r``, with Marquardt's
    ``D``: the largest ``diag(J'J)`` seen so far (as MINPACK), which makes
    the damping invariant to each parameter's scale. Components on a bound
    that the gradient pushes outward are held fixed and the rest of the step
    is clipped to the box. A step that lowers the cost is accepted and
    ``lam`` follows Nielsen's rule (shrinks by up to 3 when the cost fell as
    the linear model predicted, grows when it fell much less: without this,
    Gauss-Newton steps can oscillate around a large-residual minimum);
    otherwise ``lam`` grows (2, 4, 8... times) and the step is solved again.
    Stops when a step moves ``p`` by at most `POLISH_XTOL` in the norm
    ``|sqrt(D) step| / |sqrt(D) p|``, when an accepted step lowers the cost
    by less than `POLISH_FTOL` of it, after `maxiter` iterations
    (Jacobians), or (`STOPPED`) once the stop flag is set. `J` ends as the
    weighted Jacobian at the final `p`, which the covariance uses. Returns
    ``(status, nit, nfev, njev, cost)``.
    """
    k, n = J.shape
    lower, upper = fit.box.lower, fit.box.upper
    r = np.empty(k)
    r_trial = np.empty(k)
    trial = np.empty(n)
    A = np.empty((n, n))
    L = np.empty((n, n))
    g = np.empty(n)
    D = np.zeros(n)
    damping = np.empty(n)
    step = np.empty(n)
    free = np.empty(n, np.bool_)

    cost = residuals(fit, p, r)
    nfev, njev, nit = 1, 0, 0
    if not np.isfinite(cost):
        return OBJECTIVE_NOT_FINITE, nit, nfev, njev, cost
    calls, finite = jacobian(fit, p, r, J)
    nfev += calls
    njev += 1
    if not finite:
        return GRADIENT_NOT_FINITE, nit, nfev, njev, cost
    lam = LAMBDA_START
    while True:
        if fit.stop[0] != 0:
            return STOPPED, nit, nfev, njev, cost
        if nit >= maxiter:
            return POLISH_MAXITER_REACHED, nit, nfev, njev, cost
        nit += 1
        _normal_equations(J, r, A, g)
        for a in range(n):
            D[a] = max(D[a], A[a, a])
            free[a] = not _blocked_by_bound(p[a], g[a], lower[a], upper[a])
        # A parameter without effect keeps a tiny damping, so the system
        # stays solvable (its gradient, and so its step, is zero).
        floor = TINY + EPS * _largest(D, n)
        for a in range(n):
            damping[a] = max(D[a], floor)
        p_norm = 0.0
        for a in range(n):
            p_norm += damping[a] * p[a] * p[a]
        growth = 2.0
        while True:  # raise the damping until a step lowers the cost
            if _damped_step(A, g, damping, lam, free, L, step):
                step_norm = 0.0
                for a in range(n):
                    trial[a] = min(max(p[a] + step[a], lower[a]), upper[a])
                    step[a] = trial[a] - p[a]
                    step_norm += damping[a] * step[a] * step[a]
                if step_norm <= POLISH_XTOL**2 * p_norm:
                    return POLISH_XTOL_REACHED, nit, nfev, njev, cost
                trial_cost = residuals(fit, trial, r_trial)
                nfev += 1
                if trial_cost < cost:  # False for NaN: a non-finite trial fails
                    break
            lam *= growth
            growth *= 2.0
            if lam > LAMBDA_MAX:
                return POLISH_STUCK, nit, nfev, njev, cost
        reduction = cost - trial_cost
        predicted = 0.0  # by the linear model: -(g'step + step'A step / 2)
        for a in range(n):
            curvature = 0.0
            for b in range(n):
                curvature += A[a, b] * step[b]
            predicted -= step[a] * (g[a] + 0.5 * curvature)
        ratio = reduction / predicted if predicted > 0.0 else 1.0
        lam = max(lam * max(1.0 / 3.0, 1.0 - (2.0 * ratio - 1.0) ** 3), LAMBDA_MIN)
        # Loops, not slice assignments: each of those compiles Numba's
        # formatter of its shape error (curve_fit_many cold: 54 s -> 42 s).
        for a in range(n):
            p[a] = trial[a]
        for j in range(r.size):
            r[j] = r_trial[j]
        cost = trial_cost
        calls, finite = jacobian(fit, p, r, J)
        nfev += calls
        njev += 1
        if not finite:
            return GRADIENT_NOT_FINITE, nit, nfev, njev, cost
        if reduction <= POLISH_FTOL * cost:
            return POLISH_FTOL_REACHED, nit, nfev, njev, cost


@jit(error_model="numpy")  # 1/s**2 may overflow to inf, not raise
def covariance(J, cost, out):
    """``(J'J)^-1`` into `out`, from the SVD of the weighted Jacobian at popt.

    As `scipy.optimize.curve_fit` computes it before it scales it by the
    reduced chi-square (``absolute_sigma=False``, the caller's to do, so
    that ``2 cost / (k - n)`` is per fit). Filled with inf when it cannot be
    estimated: a non-finite J or cost, or a rank-deficient J (a singular
    value at most ``eps * max(k, n) * s_max``, SciPy's cut-off for its
    pseudo-inverse; SciPy's 'lm' path gives inf for a singular J).
    """
    k, n = J.shape
    out[:] = np.inf
    if not np.isfinite(cost):
        return
    for j in range(k):
        for a in range(n):
            if not np.isfinite(J[j, a]):
                return
    s, V = _svd(J)
    smallest, largest = s[0], s[0]
    for a in range(1, n):
        smallest, largest = min(smallest, s[a]), max(largest, s[a])
    if not smallest > EPS * max(k, n) * largest:
        return
    for a in range(n):
        for b in range(n):
            total = 0.0
            for q in range(n):
                total += V[a, q] * V[b, q] / (s[q] * s[q])
            out[a, b] = total


@jit
def _svd(J):
    """Singular values and right singular vectors (columns) of a (k, n) J.

    One-sided Jacobi (Hestenes): rotate pairs of columns of J until all are
    orthogonal; their norms are then the singular values, to high relative
    accuracy. For the few columns of a curve fit this is several times
    faster than LAPACK's SVD called per fit.
    """
    k, n = J.shape
    U = J.copy()
    V = np.zeros((n, n))
    for a in range(n):
        V[a, a] = 1.0
    for _ in range(60):  # sweeps; a few suffice (quadratic convergence)
        rotated = False
        for a in range(n - 1):
            for b in range(a + 1, n):
                alpha = beta = gamma = 0.0
                for j in range(k):
                    alpha += U[j, a] * U[j, a]
                    beta += U[j, b] * U[j, b]
                    gamma += U[j, a] * U[j, b]
                if abs(gamma) <= EPS * np.sqrt(alpha * beta):
                    continue
                rotated = True
                zeta = (beta - alpha) / (2.0 * gamma)
                t = (1.0 if zeta >= 0 else -1.0) / (abs(zeta) + np.hypot(1.0, zeta))
                c = 1.0 / np.sqrt(1.0 + t * t)
                s = c * t
                for j in range(k):
                    ua, ub = U[j, a], U[j, b]
                    U[j, a] = c * ua - s * ub
                    U[j, b] = s * ua + c * ub
                for j in range(n):
                    va, vb = V[j, a], V[j, b]
                    V[j, a] = c * va - s * vb
                    V[j, b] = s * va + c * vb
        if not rotated:
            break
    singular = np.empty(n)
    for a in range(n):
        total = 0.0
        for j in range(k):
            total += U[j, a] * U[j, a]
        singular[a] = np.sqrt(total)
    return singular, V
