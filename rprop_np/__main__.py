"""A short demo: ``python -m rprop_np`` minimizes a few classic functions."""

import time

import numpy as np
from scipy.optimize import minimize as scipy_minimize

from ._minimize import minimize


def rosenbrock(x):
    """The n-D Rosenbrock function and its gradient; minimum 0 at x = 1."""
    head, tail = x[:-1], x[1:]
    f = np.sum(100.0 * (tail - head**2) ** 2 + (1.0 - head) ** 2)
    grad = np.zeros_like(x)
    grad[:-1] = -400.0 * head * (tail - head**2) - 2.0 * (1.0 - head)
    grad[1:] += 200.0 * (tail - head**2)
    return f, grad


def beale(x):
    """Beale's function and its gradient; minimum 0 at (3, 0.5)."""
    a, b = x
    terms = np.array([1.5 - a + a * b, 2.25 - a + a * b**2, 2.625 - a + a * b**3])
    da = np.array([b - 1.0, b**2 - 1.0, b**3 - 1.0])
    db = np.array([a, 2.0 * a * b, 3.0 * a * b**2])
    return np.sum(terms**2), np.array([2 * terms @ da, 2 * terms @ db])


def quadratic(x):
    """An ill-conditioned quadratic, sum(10**k x_k**2) for k = 0..n-1."""
    weights = np.logspace(0, len(x) - 1, len(x))
    return np.sum(weights * x**2), 2.0 * weights * x


PROBLEMS = [
    ("Rosenbrock 2-D", rosenbrock, [-1.2, 1.0]),
    ("Rosenbrock 10-D", rosenbrock, np.zeros(10)),
    ("Beale", beale, [1.0, 1.0]),
    ("quadratic, cond 1e6", quadratic, np.ones(7)),
]


def main():
    print("rprop_np.minimize (defaults: method='irprop+', lr=1e-2, analytic "
          "gradient) beside scipy.optimize.minimize(method='L-BFGS-B')\n")
    print(f"{'problem':<22}{'method':<10}{'f(x)':>12}{'nit':>7}{'nfev':>7}"
          f"{'ms':>8}  status")
    for name, fun, x0 in PROBLEMS:
        for method, solve in (("irprop+", minimize), ("irprop-", minimize),
                              ("L-BFGS-B", scipy_minimize)):
            start = time.perf_counter()
            res = solve(fun, x0, jac=True, method=method)
            ms = 1e3 * (time.perf_counter() - start)
            print(f"{name:<22}{method:<10}{res.fun:>12.3e}{res.nit:>7}"
                  f"{res.nfev:>7}{ms:>8.1f}  {res.status} "
                  f"({'success' if res.success else 'failure'})")
    print("\nRprop takes many cheap steps, each a sign-based update with no line "
          "search;\nL-BFGS-B takes few, expensive ones. Rprop is at home on "
          "noisy, badly scaled\nor huge problems; on smooth small ones a "
          "quasi-Newton method needs fewer steps.")


if __name__ == "__main__":
    main()
