"""A short demo: ``python -m rprop_np`` minimizes a few classic functions."""

import time

import numpy as np
from scipy.optimize import minimize as scipy_minimize

from ._curve_fit import curve_fit
from ._minimize import minimize
from ._stopping import STATUS_MESSAGES


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


# NIST StRD Misra1a: y = b1 * (1 - exp(-b2 * x)), with its certified values.
MISRA1A_X = [77.6, 114.9, 141.1, 190.8, 239.9, 289.0, 332.8, 378.4, 434.8, 477.3,
             536.8, 593.1, 689.1, 760.0]
MISRA1A_Y = [10.07, 14.73, 17.94, 23.93, 29.61, 35.18, 40.02, 44.82, 50.76, 55.05,
             61.01, 66.4, 75.47, 81.78]
MISRA1A_CERTIFIED = [2.3894212918e02, 5.5015643181e-04]
MISRA1A_CERTIFIED_SD = [2.7070075241e00, 7.2668688436e-06]


def fit_misra1a():
    """curve_fit on NIST's Misra1a from its first start, beside the certified values."""
    def jacobian(x, b1, b2):
        return np.column_stack([1 - np.exp(-b2 * x), b1 * x * np.exp(-b2 * x)])

    popt, pcov = curve_fit(lambda x, b1, b2: b1 * (1 - np.exp(-b2 * x)),
                           np.array(MISRA1A_X), np.array(MISRA1A_Y),
                           p0=[500.0, 1e-4], jac=jacobian)
    print("\nrprop_np.curve_fit on NIST StRD Misra1a (start 1: b1=500, b2=1e-4, "
          "analytic Jacobian)")
    print(f"{'':4}{'estimate':>18}{'certified':>18}{'std error':>14}"
          f"{'certified':>14}")
    for name, value, certified, error, certified_error in zip(
        ("b1", "b2"), popt, MISRA1A_CERTIFIED, np.sqrt(np.diag(pcov)),
        MISRA1A_CERTIFIED_SD, strict=True,
    ):
        print(f"{name:4}{value:>18.10e}{certified:>18.10e}{error:>14.6e}"
              f"{certified_error:>14.6e}")


def main():
    print("rprop_np.minimize (defaults: method='irprop+', lr=1e-2, analytic "
          "gradient) beside scipy.optimize.minimize(method='L-BFGS-B')\n")
    print(f"{'problem':<22}{'method':<10}{'f(x)':>12}{'nit':>7}{'nfev':>7}"
          f"{'ms':>8}  status")
    seen = {}
    for name, fun, x0 in PROBLEMS:
        for method, solve in (("irprop+", minimize), ("irprop-", minimize),
                              ("L-BFGS-B", scipy_minimize)):
            start = time.perf_counter()
            res = solve(fun, x0, jac=True, method=method)
            ms = 1e3 * (time.perf_counter() - start)
            print(f"{name:<22}{method:<10}{res.fun:>12.3e}{res.nit:>7}"
                  f"{res.nfev:>7}{ms:>8.1f}  {res.status} "
                  f"({'success' if res.success else 'failure'})")
            if method != "L-BFGS-B":
                seen[res.status] = STATUS_MESSAGES[res.status]
    print("\nThe first row's time includes compiling rprop_np's Numba kernels (on a "
          "first run;\nlater runs load them from the on-disk cache). rprop_np's "
          "status codes above:")
    for status, meaning in sorted(seen.items()):
        print(f"  {status}: {meaning}")
    fit_misra1a()
    print("\nRprop takes many cheap steps, each a sign-based update with no line "
          "search;\nL-BFGS-B takes few, expensive ones. Rprop is at home on "
          "noisy, badly scaled\nor huge problems; on smooth small ones a "
          "quasi-Newton method needs fewer steps.")


if __name__ == "__main__":
    main()
