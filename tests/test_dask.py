"""curve_fit_many and minimize_many on Dask arrays: lazy, and bit for bit the
in-memory call on the same data, whatever the chunking and the scheduler."""

import ctypes
import ctypes.util
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from numba import njit

import rprop_np as rp

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


@njit(cache=True)
def decay(t, p):
    return p[0] * np.exp(-t / p[1]) + p[2]


@njit(cache=True)
def line(t, p):
    return p[0] + p[1] * t


@njit(cache=True)
def bowl(x, centre, scale):
    return np.sum(scale * (x - centre) ** 2)


@njit(cache=True)
def bowl_grad(x, centre, scale):
    return 2 * scale * (x - centre)


T = np.linspace(0.0, 5.0, 40)


def decay_data(m, seed=0):
    """ydata (m, k) from a decay per fit, and poor starts (m, 3): every other
    parameter 6 times off, so that some fits need the rescue."""
    rng = np.random.default_rng(seed)
    true = rng.uniform([1.0, 0.5, 0.2], [3.0, 2.0, 1.0], size=(m, 3))
    y = true[:, :1] * np.exp(-T / true[:, 1:2]) + true[:, 2:]
    y += 0.02 * rng.standard_normal(y.shape)
    p0 = true * np.where(rng.random((m, 3)) < 0.5, 6.0, 1 / 6.0)
    return y, p0


def assert_same_fits(lazy, in_memory):
    """`lazy` (Dask results of curve_fit_many, computed) is `in_memory`, bit for bit."""
    popt, pcov, info = lazy
    np.testing.assert_array_equal(popt, in_memory[0])
    np.testing.assert_array_equal(pcov, in_memory[1])
    for name in ("status", "success", "cost", "nfev", "njev", "nit"):
        np.testing.assert_array_equal(info[name], in_memory[2][name], err_msg=name)


@pytest.fixture(scope="module")
def fits_10k():
    y, p0 = decay_data(10_000)
    return y, p0, rp.curve_fit_many(decay, T, y, p0)


@pytest.mark.parametrize("chunks", [10_000, 2_500, 999])
def test_threaded_scheduler_gives_the_in_memory_bits(fits_10k, chunks):
    y, p0, in_memory = fits_10k
    lazy = rp.curve_fit_many(decay, T, da.from_array(y, chunks=(chunks, -1)),
                             da.from_array(p0, chunks=(chunks, -1)))
    assert isinstance(lazy[0], da.Array)
    assert lazy[0].chunks == da.from_array(y, chunks=(chunks, -1)).chunks[:1] + ((3,),)
    assert lazy[1].shape == (10_000, 3, 3)
    with dask.config.set(scheduler="threads"):
        assert_same_fits(dask.compute(*lazy), in_memory)
    assert in_memory[2]["success"].mean() > 0.6  # most fits converge...
    assert np.count_nonzero(in_memory[2]["nit"] > 30) > 100  # ... many rescued


def test_the_processes_scheduler_gives_the_in_memory_bits(fits_10k):
    # Dask's process pool: the model and the blocks are pickled to fresh
    # interpreters, which load the drivers from Numba's cache.
    y, p0, in_memory = fits_10k
    rows = slice(0, 2_000)
    lazy = rp.curve_fit_many(decay, T, da.from_array(y[rows], chunks=(500, -1)),
                             da.from_array(p0[rows], chunks=(500, -1)))
    computed = dask.compute(*lazy, scheduler="processes", num_workers=2)
    assert_same_fits(computed, rp.curve_fit_many(decay, T, y[rows], p0[rows]))


def test_image_shaped_data_keep_their_chunks_and_shared_p0():
    y, _ = decay_data(600, seed=1)
    image = y.reshape(20, 30, T.size)
    in_memory = rp.curve_fit_many(decay, T, image, [2.0, 1.0, 0.5],
                                  sigma=0.5 + T / 10)
    lazy = rp.curve_fit_many(decay, T, da.from_array(image, chunks=(7, 11, -1)),
                             [2.0, 1.0, 0.5], sigma=0.5 + T / 10)
    assert lazy[0].chunks == ((7, 7, 6), (11, 11, 8), (3,))
    assert lazy[2]["status"].chunks == ((7, 7, 6), (11, 11, 8))
    assert_same_fits(dask.compute(*lazy, scheduler="threads"), in_memory)


def test_any_of_the_per_fit_arrays_may_be_the_dask_one():
    # NumPy arrays over the fits are split as the first Dask array among
    # ydata, p0, xdata and sigma is chunked: a per-fit sigma, p0 or xdata.
    y, p0 = decay_data(120, seed=8)
    sigma = 0.02 * np.linspace(1.0, 2.0, 120)[:, None] * np.ones(T.size)
    x = np.tile(T, (120, 1)) * np.linspace(0.9, 1.1, 120)[:, None]
    in_memory = rp.curve_fit_many(decay, x, y, p0, sigma=sigma)
    for arrays in ({"ydata": da.from_array(y, chunks=(50, -1))},
                   {"p0": da.from_array(p0, chunks=(30, -1))},
                   {"xdata": da.from_array(x, chunks=(70, -1))},
                   {"sigma": da.from_array(sigma, chunks=(40, -1))}):
        given = {"xdata": x, "ydata": y, "p0": p0, "sigma": sigma, **arrays}
        lazy = rp.curve_fit_many(decay, **given)
        assert lazy[0].chunks[0] == next(iter(arrays.values())).chunks[0]
        assert_same_fits(dask.compute(*lazy, scheduler="threads"), in_memory)
    with pytest.raises(ValueError, match=r"xdata is chunked .* but p0"):
        rp.curve_fit_many(decay, da.from_array(x, chunks=(70, -1)), y,
                          da.from_array(p0, chunks=(30, -1)))


def test_a_shared_dask_start_of_minimize_many_is_one_start():
    rng = np.random.default_rng(9)
    centres = rng.normal(size=(300, 4))
    in_memory = rp.minimize_many(bowl, np.ones(4), args=(centres, np.ones((300, 4))))
    lazy = rp.minimize_many(bowl, da.ones(4, chunks=2),
                            args=(da.from_array(centres, chunks=(100, -1)),
                                  np.ones((300, 4))))
    np.testing.assert_array_equal(lazy.x.compute(scheduler="threads"), in_memory.x)


def test_omit_with_an_inf_names_the_inf():
    y, p0 = decay_data(100, seed=10)
    y[60, 3], y[61, 5] = np.nan, np.inf
    lazy = rp.curve_fit_many(decay, T, da.from_array(y, chunks=(50, -1)), p0,
                             nan_policy="omit")
    with pytest.raises(ValueError, match=r"ydata\[61, 5\] = inf \(fit 61, point 5\)$"):
        dask.compute(*lazy, scheduler="threads")


def test_a_split_data_axis_is_rechunked_with_a_warning():
    y, p0 = decay_data(50, seed=2)
    with pytest.warns(UserWarning, match="ydata's last axis is split into 2 chunks"):
        lazy = rp.curve_fit_many(decay, T, da.from_array(y, chunks=(20, 25)), p0)
    assert_same_fits(dask.compute(*lazy, scheduler="threads"),
                     rp.curve_fit_many(decay, T, y, p0))


def test_minimize_many_on_dask_args_is_the_in_memory_call():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(3000, 4))
    scales = 10 ** rng.uniform(-2, 2, (3000, 4))
    x0 = rng.normal(size=(3000, 4)).astype(np.float32)
    for start in (np.zeros(4), x0):
        in_memory = rp.minimize_many(bowl, start, args=(centres, scales),
                                     jac=bowl_grad)
        lazy = rp.minimize_many(bowl, start if start.ndim == 1 else
                                da.from_array(start, chunks=(700, -1)),
                                args=(da.from_array(centres, chunks=(700, -1)), scales),
                                jac=bowl_grad)
        assert isinstance(lazy.x, da.Array) and lazy.x.chunks[0] == (700,) * 4 + (200,)
        (computed,) = dask.compute(dict(lazy), scheduler="threads")
        for name in ("x", "jac", "x_last", "fun", "fun_last", "nit", "nfev", "njev",
                     "status", "success"):
            np.testing.assert_array_equal(computed[name], in_memory[name], err_msg=name)
            assert computed[name].dtype == in_memory[name].dtype, name
        assert set(in_memory.message) <= set(lazy.message)
        # Both print as SciPy's results do, each status on a line of its own.
        for res in (in_memory, lazy):
            text = repr(res)
            for code, message in res.message.items():
                assert f"{code}: {message}" in text


def test_bad_input_is_refused_before_anything_runs():
    y, p0 = decay_data(100, seed=4)
    with pytest.raises(ValueError, match=r"p0 is chunked \(\(30, 30, 30, 10\),\) over "
                                         r"the fit axes, but ydata \(\(50, 50\),\)"):
        rp.curve_fit_many(decay, T, da.from_array(y, chunks=(50, -1)),
                          da.from_array(p0, chunks=(30, -1)))
    with pytest.raises(ValueError, match=r"p0 must have shape \(100, 3\)"):
        rp.curve_fit_many(decay, T, da.from_array(y, chunks=(50, -1)), p0[:99])
    with pytest.raises(ValueError, match="Unknown options: .rescue_iterations."):
        rp.curve_fit_many(decay, T, da.from_array(y, chunks=(50, -1)), p0,
                          rescue_iterations=3)
    with pytest.raises(ValueError, match=r"p0\[0, 0\] = 2.0 is outside the bounds "
                                         r"\[0.0, 1.0\]"):
        rp.curve_fit_many(decay, T, da.from_array(y, chunks=(50, -1)),
                          [2.0, 1.5, 0.5], bounds=(0.0, 1.0))
    with pytest.raises(ValueError, match="sigma must be > 0 everywhere"):
        rp.curve_fit_many(decay, T, da.from_array(y, chunks=(50, -1)), p0,
                          sigma=np.zeros(T.size))
    with pytest.raises(TypeError, match="parallel must be None, True or False"):
        rp.curve_fit_many(decay, T, da.from_array(y, chunks=(50, -1)), p0,
                          parallel="x")
    with pytest.raises(ValueError, match=r"bounds must have one \(min, max\) pair"):
        rp.minimize_many(bowl, np.zeros(4), args=(da.ones((10, 4), chunks=5),) * 2,
                         bounds=[(0, 1)] * 3)
    with pytest.raises(TypeError, match="finite differences need float64 x0"):
        rp.minimize_many(bowl, np.zeros(4, np.float32),
                         args=(da.ones((10, 4), chunks=5),) * 2)
    with pytest.raises(ValueError,
                       match=r"args\[1\] is chunked \(40, 40, 20\) over the problems"):
        rp.minimize_many(bowl, np.zeros(2),
                         args=(da.from_array(np.ones((100, 2)), chunks=(50, 2)),
                               da.from_array(np.ones((100, 2)), chunks=(40, 2))))


def test_nan_with_raise_names_the_fit_over_the_whole_call():
    y, p0 = decay_data(300, seed=5)
    y = y.reshape(3, 100, T.size)
    y[2, 61, 7] = np.nan
    lazy = rp.curve_fit_many(decay, T, da.from_array(y, chunks=(1, 25, -1)),
                             p0.reshape(3, 100, 3))
    with pytest.raises(ValueError, match=r"ydata\[2, 61, 7\] = nan \(fit \(2, 61\), "
                                         r"point 7\)"):
        dask.compute(*lazy, scheduler="threads")
    omitted = rp.curve_fit_many(decay, T, da.from_array(y, chunks=(1, 25, -1)),
                                p0.reshape(3, 100, 3), nan_policy="omit")
    assert_same_fits(dask.compute(*omitted, scheduler="threads"),
                     rp.curve_fit_many(decay, T, y, p0.reshape(3, 100, 3),
                                       nan_policy="omit"))


_LIBM = ctypes.CDLL(ctypes.util.find_library("m"))
_C_EXP = _LIBM.exp
_C_EXP.argtypes, _C_EXP.restype = [ctypes.c_double], ctypes.c_double


@njit
def decay_through_ctypes(t, p):
    """decay, calling C's exp through ctypes: compiles, but cannot be pickled."""
    out = np.empty(t.size)
    for j in range(t.size):
        out[j] = p[0] * _C_EXP(-t[j] / p[1]) + p[2]
    return out


def test_a_model_that_cannot_be_sent_is_refused_by_name():
    y, p0 = decay_data(20, seed=6)
    np.testing.assert_allclose(  # the model itself works in memory
        rp.curve_fit_many(decay_through_ctypes, T, y, p0)[0],
        rp.curve_fit_many(decay, T, y, p0)[0], rtol=1e-6)
    with pytest.raises(TypeError, match="model cannot be sent to Dask's workers: "
                                        "pickling it failed"):
        rp.curve_fit_many(decay_through_ctypes, T, da.from_array(y, chunks=(10, -1)),
                          p0)


def test_import_never_imports_dask():
    code = ("import sys, numpy as np, rprop_np as rp\n"
            "from numba import njit\n"
            "line = njit(lambda t, p: p[0] + p[1] * t)\n"
            "t = np.linspace(0, 1, 5)\n"
            "rp.curve_fit_many(line, t, np.ones((3, 5)) + t, [0.5, 0.5])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'dask'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


# --- dask.distributed: a LocalCluster of two worker processes on loopback ----


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  memory_limit="2GiB") as local, \
            distributed.Client(local) as client:
        yield client


@pytest.mark.parametrize("chunks", [10_000, 3_000, 1_024])
def test_a_local_cluster_gives_the_in_memory_bits(cluster, fits_10k, chunks):
    y, p0, in_memory = fits_10k
    lazy = rp.curve_fit_many(decay, T, da.from_array(y, chunks=(chunks, -1)),
                             da.from_array(p0, chunks=(chunks, -1)))
    assert_same_fits(cluster.compute(list(lazy), sync=True), in_memory)


def test_a_killed_worker_costs_no_fit(cluster):
    # 10^5 fits from poor starts, with finite differences (seconds of work):
    # one worker process is killed while they run; its blocks run again on
    # the restarted one, and every fit comes back once, as in memory.
    y, p0 = decay_data(100_000, seed=7)
    lazy = rp.curve_fit_many(decay, T, da.from_array(y, chunks=(2_500, -1)),
                             da.from_array(p0, chunks=(2_500, -1)))
    futures = cluster.compute([lazy[0], lazy[1], lazy[2]["status"], lazy[2]["nit"]])
    workers = cluster.run(os.getpid)
    deadline = time.monotonic() + 120
    while not any(cluster.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # some blocks done, more running
    assert not all(future.done() for future in futures)
    victim = sorted(workers)[0]
    os.kill(workers[victim], 9)
    popt, pcov, status, nit = cluster.gather(futures)
    assert set(cluster.run(os.getpid).values()) != set(workers.values())
    in_memory = rp.curve_fit_many(decay, T, y, p0)
    np.testing.assert_array_equal(popt, in_memory[0])
    np.testing.assert_array_equal(pcov, in_memory[1])
    np.testing.assert_array_equal(status, in_memory[2]["status"])
    np.testing.assert_array_equal(nit, in_memory[2]["nit"])


def _rss():
    import psutil

    return psutil.Process().memory_info().rss


def _line_block(block_id=None, size=100_000, points=8):
    """ydata of `size` straight lines with noise, made where the block runs."""
    rng = np.random.default_rng(block_id[0])
    x = np.linspace(0.0, 1.0, points)
    slope = rng.uniform(0.5, 2.0, (size, 1))
    return 1.0 + slope * x + 0.01 * rng.standard_normal((size, points))


@pytest.mark.slow
def test_ten_million_fits_stream_through_bounded_workers(cluster):
    blocks, size, points = 100, 100_000, 8
    ydata = da.map_blocks(_line_block, chunks=((size,) * blocks, (points,)),
                          dtype=np.float64, size=size, points=points)
    popt, _, info = rp.curve_fit_many(line, np.linspace(0.0, 1.0, points), ydata,
                                      [1.0, 1.0])
    summary = [info["success"].sum(), popt.mean(axis=0), popt.min(axis=0),
               popt.max(axis=0)]
    peak = dict.fromkeys(cluster.scheduler_info()["workers"], 0)
    done = threading.Event()

    def watch():
        while not done.is_set():
            for worker, rss in cluster.run(_rss).items():
                peak[worker] = max(peak.get(worker, 0), rss)
            time.sleep(0.25)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        successes, mean, low, high = cluster.compute(summary, sync=True)
    finally:
        done.set()
        watcher.join()
    assert successes == blocks * size
    np.testing.assert_allclose(mean, [1.0, 1.25], atol=2e-3)
    assert low[1] > 0.45 and high[1] < 2.05
    print(f"peak worker memory: {max(peak.values()) / 2**20:.0f} MiB")
    assert 0 < max(peak.values()) < 1024**3, peak


def test_a_vectorized_minimize_many_on_dask_is_the_in_memory_call():
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(2000, 4))
    scales = 10 ** rng.uniform(-2, 2, (2000, 4))

    def bowl_rows(x, centre, scale):  # a Python function over every row: no Numba
        return np.sum(scale * (x - centre) ** 2, axis=1)

    in_memory = rp.minimize_many(bowl_rows, np.zeros(4), args=(centres, scales),
                                 vectorized=True)
    lazy = rp.minimize_many(bowl_rows, np.zeros(4),
                            args=(da.from_array(centres, chunks=(600, -1)), scales),
                            vectorized=True)
    (computed,) = dask.compute(dict(lazy), scheduler="processes")
    for name in ("x", "jac", "x_last", "fun", "fun_last", "nit", "nfev", "status"):
        np.testing.assert_array_equal(computed[name], in_memory[name], err_msg=name)
    assert in_memory.success.all()


def test_a_scipy_style_model_with_a_short_p0_is_refused_at_the_call():
    from .test_curve_fit_many import decay_scipy_form

    y, _ = decay_data(100, seed=4)
    with pytest.raises(TypeError, match=r"model takes 3 parameters after xdata "
                       r"\(a, tau, c\), but p0 has 2 per fit"):
        rp.curve_fit_many(decay_scipy_form, T, da.from_array(y, chunks=(50, -1)),
                          [1.0, 1.0])
