"""rprop_np.warmup fills Numba's cache for models it has never seen."""

import os
import subprocess
import sys
import textwrap

import pytest

import rprop_np as rp

FIT = """
import numpy as np
from numba import njit
import rprop_np as rp
from rprop_np import _curve_fit_many

@njit
def exponential(t, a, rate, offset):   # not warmup's model, nor in its form
    return a * np.exp(-rate * t) + offset

t = np.linspace(0.0, 4.0, 25)
y = np.stack([3.0 * np.exp(-0.7 * t) + 1.0, 2.0 * np.exp(-1.9 * t) - 0.5])
starts = [[3.0, 0.7, 1.0], [-9.0, -5.0, 8.0]]   # the second needs the rescue
popt, _, info = rp.curve_fit_many(exponential, t, y, starts)
print(np.round(popt, 6).tolist())
print(_curve_fit_many._fit_rows.stats.cache_hits.total(),
      _curve_fit_many._rescue_rows.stats.cache_hits.total())
"""


def run(code, cache):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "NUMBA_CACHE_DIR": cache})
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_warmup_compiles_the_drivers_every_later_process_loads(tmp_path):
    # An empty cache: warmup compiles (and says so); a later process fitting
    # a model of its own, from a start that needs the rescue, compiles no
    # driver: both come from the cache warmup filled.
    warm = run("import rprop_np as rp; print(rp.warmup(['curve_fit_many']))",
               str(tmp_path))
    assert "rprop_np: compiling _fit_rows" in warm.stderr
    fit = run(FIT, str(tmp_path))
    assert "compiling" not in fit.stderr, fit.stderr
    fitted, hits = fit.stdout.strip().splitlines()
    assert fitted.startswith("[[3.0, 0.7, 1.0], "), fitted  # the good start's fit
    assert hits == "1 1"  # the first attempt and the rescue ran, from the cache


def test_warmup_prepares_the_vectorized_loop(tmp_path):
    # A cold vectorized=True call says it compiles (~3 s); after warmup, a
    # later process compiles nothing and says nothing.
    cold = run(textwrap.dedent("""
        import numpy as np
        import rprop_np as rp
        rp.minimize_many(lambda x: np.sum(x * x, axis=1), np.ones((3, 5)),
                         vectorized=True)
    """), str(tmp_path))
    assert "rprop_np: compiling advance" in cold.stderr, cold.stderr
    run("import rprop_np as rp; rp.warmup(['minimize_many'])", str(tmp_path))
    later = run(textwrap.dedent("""
        import numpy as np
        import rprop_np as rp
        from rprop_np import _cpu, _vectorized

        centres = np.linspace(0.0, 3.0, 30).reshape(10, 3)
        res = rp.minimize_many(lambda x, c: np.sum((x - c) ** 2, axis=1),
                               np.zeros(3), args=(centres,), vectorized=True)
        boxed = rp.minimize_many(lambda x, c: np.sum((x - c) ** 2, axis=1),
                                 np.zeros(3), args=(centres,), vectorized=True,
                                 bounds=[(-1.0, 1.0)] * 3)
        kernels = (_vectorized.advance, _vectorized.vacated_rows,
                   _vectorized.move_rows, _vectorized.difference_point,
                   _cpu.SERIAL_KERNELS[2], _cpu.project_onto_bounds)
        print(bool(res.success.all() and boxed.success.all()),
              sum(sum(k.stats.cache_misses.values()) for k in kernels))
    """), str(tmp_path))
    assert later.stdout.split() == ["True", "0"], later.stdout
    assert "compiling" not in later.stderr, later.stderr


def test_warmup_refuses_an_unknown_driver():
    with pytest.raises(ValueError, match="drivers must be a sequence of"):
        rp.warmup(["curve_fit"])
    with pytest.raises(ValueError, match="drivers must be a sequence of"):
        rp.warmup("minimize_many")
