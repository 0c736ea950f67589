"""Test objectives with analytic gradients: (f(x), grad(x)) pairs."""

import numpy as np


def rosenbrock(x):
    """The n-D Rosenbrock function and its gradient; minimum 0 at x = 1."""
    head, tail = x[:-1], x[1:]
    f = np.sum(100.0 * (tail - head**2) ** 2 + (1.0 - head) ** 2)
    grad = np.zeros_like(x)
    grad[:-1] = -400.0 * head * (tail - head**2) - 2.0 * (1.0 - head)
    grad[1:] += 200.0 * (tail - head**2)
    return f, grad


def rosenbrock_start(n, dtype=np.float64):
    """The classic start (-1.2, 1, -1.2, 1, ...)."""
    x0 = np.ones(n, dtype)
    x0[::2] = -1.2
    return x0


def ill_conditioned_quadratic(n=10, condition=1e4, seed=0):
    """A rotated quadratic 0.5 (x - c)' H (x - c) with cond(H) = `condition`."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((n, n)))
    hessian = rotation @ np.diag(np.geomspace(1.0, condition, n)) @ rotation.T
    center = rng.standard_normal(n)

    def objective(x):
        residual = x - center.astype(x.dtype)
        grad = hessian.astype(x.dtype) @ residual
        return 0.5 * residual @ grad, grad

    return objective, center


def least_squares(m=40, n=10, seed=1, dtype=np.float64):
    """0.5 |A x - b|^2 for a random A (m, n) and b."""
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((m, n)).astype(dtype)
    target = rng.standard_normal(m).astype(dtype)

    def objective(x):
        residual = matrix @ x - target
        return 0.5 * residual @ residual, matrix.T @ residual

    return objective
