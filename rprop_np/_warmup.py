"""``warmup``: compile the batch drivers ahead of the first real call.

The compiled drivers take the user's functions as first-class functions,
typed by signature, so a driver compiled for one model serves every model
of the same signature, from Numba's on-disk cache, in every later process.
Running the drivers once on small stand-ins of the usual signatures fills
that cache: at a deployment's build step, say, with ``NUMBA_CACHE_DIR``
pointing at a directory that ships with it.
"""

import time

import numpy as np

_DRIVERS = ("curve_fit_many", "minimize_many")


def warmup(drivers=_DRIVERS) -> dict[str, float]:
    """Compile `drivers` for their usual signatures, or load them from the cache.

    Parameters
    ----------
    drivers : sequence of {'curve_fit_many', 'minimize_many'}, optional
        Which to prepare: both by default.

    Returns
    -------
    seconds : dict
        The time each took: a few seconds to a minute where it compiled, a
        fraction of a second where Numba's cache already held it.

    Notes
    -----
    What is prepared: `curve_fit_many` for models ``model(x, p)`` (or
    SciPy's ``model(x, a, b, ...)``) of float64 arrays returning a float64
    array, with or without ``jac`` and bounds, its first attempt and its
    rescue; `minimize_many` for objectives ``fun(x)`` and ``fun(x, a)`` of
    a float64 row ``x`` and one float64 row ``a`` of ``args``, with finite
    differences and with an ``@njit`` ``jac`` returning a float64 array,
    and its ``vectorized=True`` loop, with and without bounds, for float64
    ``x0`` of any size (its
    bookkeeping is compiled once for each count of parameters up to 8, and
    once for more).
    Calls of other signatures (other ``args``, float32) compile on their
    first call, as without `warmup`. Compiled code is cached next to
    rprop_np's modules, or in ``NUMBA_CACHE_DIR`` where that is set.

    Examples
    --------
    >>> import rprop_np as rp
    >>> seconds = rp.warmup()
    >>> sorted(seconds)
    ['curve_fit_many', 'minimize_many']
    """
    unknown = sorted(set(drivers) - set(_DRIVERS))
    if isinstance(drivers, str) or unknown:
        raise ValueError(
            f"drivers must be a sequence of {_DRIVERS!r}; got {drivers!r}")
    work = {"curve_fit_many": _curve_fit_many, "minimize_many": _minimize_many}
    seconds = {}
    for name in drivers:
        start = time.perf_counter()
        work[name]()
        seconds[name] = time.perf_counter() - start
    return seconds


def _curve_fit_many():
    """A decay fitted from good and poor starts (the rescue runs), with and
    without its Jacobian and bounds."""
    from numba import njit

    from ._curve_fit_many import curve_fit_many

    decay = njit(lambda x, p: p[0] * np.exp(-x / p[1]) + p[2])
    decay_jac = njit(_decay_jac)
    x = np.linspace(0.0, 5.0, 30)
    y = 2.0 * np.exp(-x / 1.5) + 0.5 + 0.01 * np.sin(7.0 * x)
    p0 = np.array([[2.0, 1.5, 0.5], [-2.0, -1.5, 5.0]])  # a good and a poor start
    rows = np.broadcast_to(y, (2, x.size))
    for jac in (None, decay_jac):
        curve_fit_many(decay, x, rows, p0, jac=jac)


def _decay_jac(x, p):
    jac = np.empty((x.size, 3))
    for j in range(x.size):
        e = np.exp(-x[j] / p[1])
        jac[j, 0] = e
        jac[j, 1] = p[0] * e * x[j] / (p[1] * p[1])
        jac[j, 2] = 1.0
    return jac


def _minimize_many():
    """A bowl per row of x0, and a shifted one per row of ``args``, by finite
    differences and by jac."""
    from numba import njit

    from ._minimize_many import minimize_many
    from ._vectorized import UNROLLED_MAX

    bowl = njit(lambda x: np.sum(x * x))
    bowl_grad = njit(lambda x: 2.0 * x)
    shifted = njit(lambda x, centre: np.sum((x - centre) ** 2))
    shifted_grad = njit(lambda x, centre: 2.0 * (x - centre))
    centres = np.linspace(-1.0, 1.0, 8).reshape(4, 2)
    for jac in (None, bowl_grad):
        minimize_many(bowl, centres, jac=jac)
    for jac in (None, shifted_grad):
        minimize_many(shifted, np.zeros(2), args=(centres,), jac=jac)
    for jac in (None, _rows_grad):  # vectorized=True: its compiled steps
        minimize_many(_rows, np.zeros(2), args=(centres,), jac=jac, vectorized=True)
    minimize_many(_rows, np.zeros(2), args=(centres,), bounds=[(-0.5, 0.5)] * 2,
                  vectorized=True)  # and its projection onto bounds
    # ... whose bookkeeping is compiled for each count of parameters up to
    # UNROLLED_MAX, and once for all larger ones
    for n in (1, *range(3, UNROLLED_MAX + 2)):
        rows = np.linspace(-1.0, 1.0, 4 * n).reshape(4, n)
        minimize_many(_rows, np.zeros(n), args=(rows,), vectorized=True)


def _rows(x, centre):
    return np.sum((x - centre) ** 2, axis=1)


def _rows_grad(x, centre):
    return 2.0 * (x - centre)
