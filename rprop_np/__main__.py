"""A short demo: ``python -m rprop_np`` minimizes a few classic functions."""

import time

import numpy as np

from ._optimizer import Rprop
from ._variants import VARIANTS


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


def run(fun, x0, variant, steps=5000, gtol=1e-8):
    """Rprop steps until the gradient's max-norm is below `gtol`."""
    x = np.array(x0, dtype=np.float64)
    opt = Rprop(x, lr=0.1, step_sizes=(1e-12, 1.0), variant=variant)
    for _ in range(steps):
        f, grad = fun(x)
        if np.max(np.abs(grad)) < gtol:
            break
        opt.step(grad, f)
    return x, fun(x)[0], opt.iteration


def main():
    print("rprop_np demo: each variant from the classic start, lr=0.1, "
          "step_sizes=(1e-12, 1), at most 5000 steps\n")
    print(f"{'problem':<22}{'variant':<9}{'f(x)':>12}{'steps':>7}{'ms':>8}  x[:2]")
    for name, fun, x0 in PROBLEMS:
        for variant in VARIANTS:
            start = time.perf_counter()
            x, f, steps = run(fun, x0, variant)
            ms = 1e3 * (time.perf_counter() - start)
            print(f"{name:<22}{variant:<9}{f:>12.3e}{steps:>7}{ms:>8.1f}  "
                  f"{np.array2string(x[:2], precision=6)}")


if __name__ == "__main__":
    main()
