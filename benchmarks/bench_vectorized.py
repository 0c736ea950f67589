"""``minimize_many(vectorized=True)`` against the compiled loop and optax in jit(vmap).

Issue 12's target 2: on 10^4 4-D quadratics, faster than optax's ``rprop``
in a ``jit(vmap)`` loop. The problems are ``bench_drivers``' two families
(shifted quadratics with scales 1e-3..1e3, shifted 4-D Rosenbrock), all
stopping at a projected-gradient max-norm of 1e-8. Timed in one run,
interleaved (``bench_drivers.alternate``), medians:

- ``compiled``: ``minimize_many`` with ``@njit`` fun and jac of one problem
  (threads), as a user calls it;
- ``rows numpy``: ``vectorized=True`` with NumPy fun/jac over the running rows;
- ``rows njit``: ``vectorized=True`` with one ``@njit`` function returning
  (f, gradient) for every row (``jac=True``);
- ``jax``: optax ``rprop`` (rprop_np's hyper-parameters) in ``jit(vmap)`` of
  a ``fori_loop``, the fewest iterations of ``bench_drivers.JAX_ITERATIONS``
  that solves as many problems (``|x - x*|_inf <= 1e-6``); compile excluded.
  Skipped when jax or optax is not installed (``pip install "rprop-np[bench]"``).

Both vectorized runs are checked to give the compiled loop's x and nit bit for
bit. Usage::

    python benchmarks/bench_vectorized.py [--quick]
"""

import argparse
import os
import sys

import numba
import numpy as np
from numba import njit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_drivers import (  # noqa: E402
    JAX_ITERATIONS,
    MANY_GTOL,
    alternate,
    load_average,
    many_problems,
    optax_solver,
)

import rprop_np as rp  # noqa: E402

SOLVED = 1e-6  # |x - x*|_inf that counts as solved, as bench_many_jax


def quadratic_rows(x, scale, centre):
    d = x - centre
    return np.sum(scale * d * d, axis=1)


def quadratic_rows_grad(x, scale, centre):
    return 2.0 * scale * (x - centre)


def rosen_rows(x, a, shift):
    y = x - shift
    d = y[:, 1:] - y[:, :-1] * y[:, :-1]
    return np.sum(a * d * d + (1.0 - y[:, :-1]) ** 2, axis=1)


def rosen_rows_grad(x, a, shift):
    y = x - shift
    d = y[:, 1:] - y[:, :-1] * y[:, :-1]
    g = np.zeros_like(x)
    g[:, :-1] = -4.0 * a * y[:, :-1] * d - 2.0 * (1.0 - y[:, :-1])
    g[:, 1:] += 2.0 * a * d
    return g


@njit(cache=True)
def quadratic_rows_both(x, scale, centre):
    """f and gradient of every row in one pass, as ``quadratic`` for one."""
    k, n = x.shape
    f = np.empty(k)
    g = np.empty((k, n))
    for r in range(k):
        total = 0.0
        for i in range(n):
            d = x[r, i] - centre[r, i]
            total += scale[r, i] * d * d
            g[r, i] = 2.0 * scale[r, i] * (x[r, i] - centre[r, i])
        f[r] = total
    return f, g


@njit(cache=True)
def rosen_rows_both(x, a, shift):
    """f and gradient of every row in one pass, as ``rosen_shifted`` for one."""
    k, n = x.shape
    f = np.empty(k)
    g = np.zeros((k, n))
    for r in range(k):
        total = 0.0
        for i in range(n - 1):
            y, y_next = x[r, i] - shift[r, i], x[r, i + 1] - shift[r, i + 1]
            d = y_next - y * y
            total += a[r, i] * d * d + (1.0 - y) ** 2
            g[r, i] += -4.0 * a[r, i] * y * d - 2.0 * (1.0 - y)
            g[r, i + 1] += 2.0 * a[r, i] * d
        f[r] = total
    return f, g


ROWS = {"quadratic": (quadratic_rows, quadratic_rows_grad, quadratic_rows_both),
        "Rosenbrock": (rosen_rows, rosen_rows_grad, rosen_rows_both)}


def bench_family(family, fun, jac, x0, fargs, x_star, repeats):
    """Time and print one family's rows; returns ``{peer: seconds / jax's}``."""
    rows_fun, rows_grad, rows_both = ROWS[family]
    options = {"gtol": MANY_GTOL}
    runs = {
        "compiled": lambda: rp.minimize_many(fun, x0, args=fargs, jac=jac,
                                             options=options),
        "rows numpy": lambda: rp.minimize_many(
            rows_fun, x0, args=fargs, jac=rows_grad, options=options,
            vectorized=True),
        "rows njit": lambda: rp.minimize_many(
            rows_both, x0, args=fargs, jac=True, options=options, vectorized=True),
    }
    for run in runs.values():
        run()  # compile / load
    compiled = runs["compiled"]()
    solved = np.mean(np.abs(compiled.x - x_star).max(axis=1) <= SOLVED)
    notes = {"compiled": f"mean nit {compiled.nit.mean():.0f}"}
    for key in ("rows numpy", "rows njit"):
        res = runs[key]()
        same = (np.array_equal(res.x, compiled.x)
                and np.array_equal(res.nit, compiled.nit))
        notes[key] = "x, nit as compiled" if same else "DIFFERS from compiled"
    make = optax_solver()
    jax_solved = np.nan
    if make is not None:
        for iterations in JAX_ITERATIONS:
            solver = make(family, iterations)
            x = np.asarray(solver(x0, *fargs).block_until_ready())  # compiles
            jax_solved = np.mean(np.abs(x - x_star).max(axis=1) <= SOLVED)
            if jax_solved >= solved:
                break
        runs["jax"] = lambda: solver(x0, *fargs).block_until_ready()
        notes["jax"] = f"{iterations} iterations"
    found = alternate(runs, dict.fromkeys(runs, repeats), 3)
    jax_time = found["jax"][0] if "jax" in found else np.nan
    for key, (seconds, _) in found.items():
        share = f"{seconds / jax_time:6.2f}x" if "jax" in found else "      -"
        print(f"{family:<12} {key:<12} {seconds:>8.4f} {share:>7} "
              f"{jax_solved if key == 'jax' else solved:>7.1%} {notes[key]:<30}")
    return {key: seconds / jax_time for key, (seconds, _) in found.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 problems")
    args = parser.parse_args(argv)
    m = 1_000 if args.quick else 10_000
    repeats = 3 if args.quick else 9
    print(f"{m:,} problems per family, n = 4, gtol {MANY_GTOL:g}; Numba threads "
          f"{numba.get_num_threads()}; {load_average()}\n")
    print(f"{'family':<12} {'peer':<12} {'seconds':>8} {'/ jax':>7} {'solved':>7} "
          f"{'note':<30}")
    ratios = {}
    for name, fun, jac, x0, fargs, x_star in many_problems(m, np.random.default_rng(1)):
        family = name.split(",")[0].split(" ")[0]
        ratios[family] = bench_family(family, fun, jac, x0, fargs, x_star, repeats)
    print(f"\n{load_average()}")
    if "quadratic" in ratios and "jax" in ratios["quadratic"]:
        best = min(ratios["quadratic"][k] for k in ("rows numpy", "rows njit"))
        print(f"target 2 (quadratics, faster than jax): best vectorized / jax "
              f"{best:.2f}: {'met' if best < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
