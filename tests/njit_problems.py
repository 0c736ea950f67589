"""``@njit`` objectives for the compiled drivers (cached, like a user's would be)."""

import numpy as np
from numba import njit


@njit(cache=True)
def rosen(x):
    """The n-D Rosenbrock function."""
    total = 0.0
    for i in range(x.size - 1):
        total += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return total


@njit(cache=True)
def rosen_grad(x):
    grad = np.zeros_like(x)
    for i in range(x.size - 1):
        grad[i] += -400.0 * x[i] * (x[i + 1] - x[i] ** 2) - 2.0 * (1.0 - x[i])
        grad[i + 1] += 200.0 * (x[i + 1] - x[i] ** 2)
    return grad


@njit(cache=True)
def rosen_both(x):
    return rosen(x), rosen_grad(x)


@njit(cache=True)
def walled(x, centre, scale, wall):
    """sum(scale (x - centre)^2), NaN once x[0] passes `wall`."""
    if x[0] > wall:
        return np.nan
    return np.sum(scale * (x - centre) ** 2)


@njit(cache=True)
def walled_grad(x, centre, scale, wall):
    return 2.0 * scale * (x - centre)


@njit(cache=True)
def nan_grad_past_one(x, centre, scale, wall):
    """The gradient of `walled`, NaN in its first entry once x[0] passes 1."""
    grad = 2.0 * scale * (x - centre)
    if x[0] > 1.0:
        grad[0] = np.nan
    return grad


@njit(cache=True)
def returns_array(x):
    return x * 2.0


@njit(cache=True)
def short_grad(x, centre, scale, wall):
    return 2.0 * scale[:1] * (x[:1] - centre[:1])


@njit("float64(float64[:])", cache=True)
def eager_rosen(x):
    """Compiled eagerly for A-layout arrays only: no new signatures."""
    return 100.0 * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2


@njit(cache=True)
def with_default(x, a, b=2.0):
    return np.sum((x - a) ** 2) + b


@njit(cache=True)
def returns_one_element(x):
    return np.array([np.sum(x ** 2)])
