"""No silent wrong answers from the compiled drivers: user exceptions, Ctrl-C,
fork-based pools, recompiled objectives, fixed variables, and clear errors."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from numba import float64, njit
from scipy.optimize import minimize as scipy_minimize

import rprop_np as rp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@njit
def raises_past_half(x):
    if x[0] > 0.5:
        raise ValueError("objective refused x[0] > 0.5")
    return (x[0] - 2.0) ** 2 + x[1] ** 2


@njit
def quadratic_grad(x):
    return np.array([2.0 * (x[0] - 2.0), 2.0 * x[1]])


@njit
def grad_raises_past_half(x):
    if x[0] > 0.5:
        raise ValueError("jac refused x[0] > 0.5")
    return np.array([2.0 * (x[0] - 2.0), 2.0 * x[1]])


@njit
def both_raises_past_half(x):
    if x[0] > 0.5:
        raise ValueError("fun with jac=True refused x[0] > 0.5")
    return (x[0] - 2.0) ** 2 + x[1] ** 2, np.array([2.0 * (x[0] - 2.0), 2.0 * x[1]])


@njit
def shifted(x, data):
    # x one entry shorter than data: a NumPy broadcasting error in nopython code
    return np.sum((x - data) ** 2)


@pytest.mark.parametrize("fun, jac, match", [
    (raises_past_half, None, "objective refused"),
    (raises_past_half, "2-point", "objective refused"),
    (raises_past_half, quadratic_grad, "objective refused"),
    (njit(lambda x: (x[0] - 2.0) ** 2 + x[1] ** 2), grad_raises_past_half,
     "jac refused"),
    (both_raises_past_half, True, "fun with jac=True refused"),
])
def test_compiled_loop_raises_the_users_exception(fun, jac, match):
    original_hook = sys.unraisablehook
    with pytest.raises(ValueError, match=match) as caught:
        rp.minimize(fun, [0.0, 1.0], jac=jac, options={"compiled": True})
    assert "compiled loop" in "".join(caught.value.__notes__)
    assert sys.unraisablehook is original_hook
    # Nothing is left behind: the next run is the run it would have been.
    res = rp.minimize(raises_past_half, [0.0, 1.0], bounds=[(-1, 0.4), (-1, 1)],
                      options={"compiled": True})
    reference = rp.minimize(raises_past_half, [0.0, 1.0], bounds=[(-1, 0.4), (-1, 1)],
                            options={"compiled": False})
    assert res.success and res.x[0] == 0.4
    np.testing.assert_array_equal(res.x, reference.x)


def test_compiled_loop_raises_a_numpy_shape_error():
    with pytest.raises(ValueError):
        rp.minimize(shifted, np.zeros(2), args=(np.ones(3),),
                    options={"compiled": True})


@njit
def raises_for_one_problem(x, centre):
    if centre > 40.5 and x[0] > 1.0:
        raise ZeroDivisionError("problem with centre 41 failed")
    return (x[0] - centre) ** 2


@pytest.mark.parametrize("parallel", [False, True])
def test_minimize_many_raises_the_users_exception(parallel):
    centres = np.arange(50.0)
    with pytest.raises(ZeroDivisionError, match="centre 41"):
        rp.minimize_many(raises_for_one_problem, np.zeros(1), args=(centres,),
                         options={"parallel": parallel})
    res = rp.minimize_many(raises_for_one_problem, np.zeros(1),
                           args=(centres[:40],), options={"parallel": parallel})
    assert res.success.all()


@njit
def centre_grad_raises(x, centre):
    if centre > 40.5 and x[0] > 1.0:
        raise ZeroDivisionError("gradient for centre 41 failed")
    return 2.0 * (x - centre)


@njit
def to_centre_squared(x, centre):
    return np.sum((x - centre) ** 2)


@pytest.mark.parametrize("parallel", [False, True])
def test_minimize_many_raises_the_users_jac_exception(parallel):
    centres = np.arange(50.0)
    with pytest.raises(ZeroDivisionError, match="gradient for centre 41"):
        rp.minimize_many(to_centre_squared, np.zeros(1), args=(centres,),
                         jac=centre_grad_raises, options={"parallel": parallel})


@njit
def reads_three(x):
    return (x[0] - 1.0) ** 2 + (x[1] - 2.0) ** 2 + (x[2] - 3.0) ** 2


@njit
def grad_reads_three(x):
    return np.array([2.0 * (x[0] - 1.0), 2.0 * (x[1] - 2.0), 2.0 * (x[2] - 3.0)])


@njit
def reads_as_many_as_data(x, data):
    total = 0.0
    for i in range(data.size):
        total += (x[i] - data[i]) ** 2
    return total


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("fun, jac, args, match", [
    (reads_three, None, (), r"fun reads x\[2\], but x0 has 2 variables"),
    (reads_three, "2-point", (), r"fun reads x\[2\], but x0 has 2 variables"),
    (njit(lambda x: x[0] ** 2 + x[1] ** 2), grad_reads_three, (),
     r"jac reads x\[2\], but x0 has 2 variables"),
    (reads_as_many_as_data, None, (np.ones(3),),
     r"fun reads x\[2\], but x0 has 2 variables"),
])
def test_an_objective_reading_past_the_end_of_x0_is_refused(compiled, fun, jac, args,
                                                            match):
    # Compiled code reads past the end without a word: before the check this
    # "converged" on whatever memory followed x.
    with pytest.raises(ValueError, match=match):
        rp.minimize(fun, np.zeros(2), args=args, jac=jac,
                    options={"compiled": compiled})
    with pytest.raises(ValueError, match=match):
        rp.minimize_many(fun, np.zeros((4, 2)), jac=jac,
                         args=tuple(np.tile(a, (4, 1)) for a in args))


@njit
def reads_as_many_as_x(x, data):
    total = 0.0
    for i in range(x.size):
        total += (x[i] - data[i]) ** 2
    return total


@pytest.mark.parametrize("compiled", [False, True])
def test_an_objective_reading_past_the_end_of_its_args_is_refused(compiled):
    with pytest.raises(ValueError, match=r"fun reads past the end of an array .*"
                                         r"IndexError: index 2 is out of bounds"):
        rp.minimize(reads_as_many_as_x, np.zeros(3), args=(np.ones(2),),
                    options={"compiled": compiled})


def test_an_objective_reading_all_of_x0_still_runs_after_the_check():
    res = rp.minimize(reads_as_many_as_data, np.zeros(3), args=(np.arange(3.0),))
    assert res.success
    np.testing.assert_allclose(res.x, [0.0, 1.0, 2.0], atol=1e-5)


@njit
def decay(t, p):
    return p[0] * np.exp(-t / p[1]) + p[2]


@njit
def decay_raising(t, p):
    if p[1] > 1.45:
        raise FloatingPointError("model refused tau > 1.45")
    return p[0] * np.exp(-t / p[1]) + p[2]


@njit
def decay_jac_raising(t, p):
    if p[1] > 1.45:
        raise FloatingPointError("jac refused tau > 1.45")
    out = np.empty((t.size, 3))
    e = np.exp(-t / p[1])
    out[:, 0] = e
    out[:, 1] = p[0] * e * t / p[1] ** 2
    out[:, 2] = 1.0
    return out


def _decay_data(m):
    t = np.linspace(0.0, 5.0, 30)
    return t, 2.0 * np.exp(-t / 1.5) + 0.3 + np.zeros((m, 1))


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("model, jac, match", [
    (decay_raising, None, "model refused"),
    (decay, decay_jac_raising, "jac refused"),
])
def test_curve_fit_many_raises_the_users_exception(parallel, model, jac, match):
    t, y = _decay_data(100)
    with pytest.raises(FloatingPointError, match=match):
        rp.curve_fit_many(model, t, y, p0=[1.0, 1.0, 0.0], jac=jac, parallel=parallel)


@pytest.mark.parametrize("p0, match", [
    ([1.0, 1.0], r"model reads p\[2\], but p0 has 2"),
    ([1.0, 1.0, 0.0, 0.5], r"reads p\[0\] to p\[2\] only, but p0 has 4"),
])
def test_curve_fit_many_checks_the_parameter_count(p0, match):
    t, y = _decay_data(3)
    with pytest.raises(ValueError, match=match):
        rp.curve_fit_many(decay, t, y, p0=p0)


@njit
def unpacks_three(t, p):
    a, tau, c = p
    return a * np.exp(-t / tau) + c


def test_curve_fit_many_checks_an_unpacked_parameter_count():
    t, y = _decay_data(3)
    with pytest.raises(ValueError, match=r"unpacks p .* \(2 per fit\)"):
        rp.curve_fit_many(unpacks_three, t, y, p0=[1.0, 1.0])
    popt, _, info = rp.curve_fit_many(unpacks_three, t, y, p0=[1.0, 1.0, 0.0])
    assert info["success"].all()
    np.testing.assert_allclose(popt, [[2.0, 1.5, 0.3]] * 3, rtol=1e-6)


def _run_script(code, timeout, env=None):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
        text=True, timeout=timeout, cwd=ROOT, env={**os.environ, **(env or {})},
    )


def test_small_work_leaves_fork_based_pools_working():
    script = """
        import multiprocessing
        import numpy as np
        from numba import njit
        from numba.np.ufunc import parallel
        import rprop_np as rp

        @njit
        def sphere(x):
            return np.sum((x - 1.0) ** 2)

        @njit
        def line(t, p):
            return p[0] * t + p[1]

        x = np.zeros(100)
        for variant in rp.VARIANTS:
            opt = rp.Rprop(x, variant=variant)
            opt.step(np.ones(100), 1.0)
        rp.minimize(sphere, np.zeros(3))
        rp.minimize(lambda x: float(np.sum(x ** 2)), np.ones(3))
        rp.minimize_many(sphere, np.zeros((5, 2)))
        t = np.linspace(0.0, 1.0, 10)
        rp.curve_fit_many(line, t, 2.0 * t + 1.0 + np.zeros((8, 1)), p0=[1.0, 0.0])
        rp.curve_fit(lambda t, a, b: a * t + b, t, 2.0 * t + 1.0)
        assert not parallel._is_initialized, "the threading layer was started"
        with multiprocessing.get_context("fork").Pool(2) as pool:
            print(sum(pool.map(abs, range(-10, 0))))
    """
    result = _run_script(script, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "55"


def test_threaded_batch_calls_leave_fork_based_pools_working():
    # minimize_many and curve_fit_many thread over rows with Python threads
    # (their compiled drivers release the GIL): Numba's threading layer,
    # which a forked child would hang in, is never started.
    script = """
        import multiprocessing
        import numpy as np
        from numba import njit
        from numba.np.ufunc import parallel
        import rprop_np as rp

        @njit
        def sphere(x, centre):
            return np.sum((x - centre) ** 2)

        @njit
        def line(t, p):
            return p[0] * t + p[1]

        centres = np.random.default_rng(0).standard_normal((2000, 3))
        res = rp.minimize_many(sphere, np.zeros(3), args=(centres,),
                               options={"parallel": True})
        t = np.linspace(0.0, 1.0, 10)
        lines = np.outer(np.arange(1.0, 501.0), t) + 1.0
        popt = rp.curve_fit_many(line, t, lines, p0=[1.0, 0.0], parallel=True)[0]
        assert not parallel._is_initialized, "the threading layer was started"
        slopes = np.arange(1.0, 501.0)
        print(res.success.all(), np.abs(popt[:, 0] - slopes).max() < 1e-8)
        with multiprocessing.get_context("fork").Pool(2) as pool:
            print(sum(pool.map(abs, range(-10, 0))))
    """
    result = _run_script(script, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["True", "True", "55"]


CENTRE = 1.0


@njit
def around_centre(x):
    return np.sum((x - CENTRE) ** 2)


def test_recompiled_objective_is_the_one_minimized():
    global CENTRE
    first = rp.minimize(around_centre, np.zeros(2), options={"compiled": True})
    np.testing.assert_allclose(first.x, 1.0, atol=1e-4)
    try:
        CENTRE = 3.0
        around_centre.recompile()
        for compiled in (True, False):
            res = rp.minimize(around_centre, np.zeros(2),
                              options={"compiled": compiled})
            np.testing.assert_allclose(res.x, 3.0, atol=1e-4)
        many = rp.minimize_many(around_centre, np.zeros((2, 2)))
        np.testing.assert_allclose(many.x, 3.0, atol=1e-4)
    finally:
        CENTRE = 1.0
        around_centre.recompile()


@njit
def to_centre(x, centre):
    return np.sum((x - centre) ** 2)


def test_minimize_many_with_one_problem_and_list_args():
    centres = np.array([[1.0, -2.0]])
    res = rp.minimize_many(to_centre, np.zeros(2), args=(centres,))
    np.testing.assert_allclose(res.x, centres, atol=1e-4)
    assert res.x.shape == (1, 2) and res.success.all()
    centres = np.array([[1.0, -2.0], [3.0, 0.5], [0.0, 4.0]])
    listed = rp.minimize_many(to_centre, np.zeros(2), args=[centres])
    tupled = rp.minimize_many(to_centre, np.zeros(2), args=(centres,))
    np.testing.assert_array_equal(listed.x, tupled.x)
    np.testing.assert_allclose(listed.x, centres, atol=1e-4)


INTERRUPT_SCRIPT = """
    import sys
    import numpy as np
    from numba import njit
    import rprop_np as rp

    @njit
    def downhill(x, slope):  # never converges: the steps grow to max_step
        return np.sum(slope * x)

    options = dict(gtol=0.0, maxiter=10**15)
    slopes = np.ones((CALL_M, 2))
    def run(maxiter):
        if CALL_M == 0:
            return rp.minimize(downhill, np.zeros(2), args=(1.0,),
                               options=dict(options, maxiter=maxiter))
        return rp.minimize_many(downhill, np.zeros(2), args=(slopes,),
                                options=dict(options, maxiter=maxiter))
    run(10)  # compiled, or loaded from the cache, before the clock starts
    print("ready", flush=True)
    try:
        run(10**15)
    except KeyboardInterrupt as error:
        print("interrupted:", error, flush=True)
        sys.exit(3)
    print("not interrupted", flush=True)
"""


@pytest.mark.parametrize("m", [0, 2, 40])
def test_ctrl_c_stops_the_compiled_loop_promptly(m):
    process = subprocess.Popen(
        [sys.executable, "-c",
         textwrap.dedent(INTERRUPT_SCRIPT).replace("CALL_M", str(m))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
        time.sleep(1.0)
        sent = time.perf_counter()
        process.send_signal(signal.SIGINT)
        output, errors = process.communicate(timeout=60)
        elapsed = time.perf_counter() - sent
    finally:
        process.kill()
    assert process.returncode == 3, errors[-3000:]
    assert "interrupted: rprop_np: interrupted" in output
    assert elapsed < 10.0


def _fixed_middle(x):
    return (x[0] - 2.0) ** 2 + (x[1] + 1.0) ** 2 + x[0] * x[2] + x[2] ** 2


fixed_middle = njit(_fixed_middle)
FIXED_BOUNDS = [(0.0, 5.0), (0.5, 0.5), (-3.0, 3.0)]


@pytest.mark.parametrize("jac", [None, "2-point", "3-point", "cs"])
def test_fixed_variables_with_finite_differences_are_held(jac):
    expected = scipy_minimize(_fixed_middle, [1.0, 0.5, 0.0], method="L-BFGS-B",
                              bounds=FIXED_BOUNDS, tol=1e-12).x
    res = rp.minimize(_fixed_middle, [1.0, 0.5, 0.0], jac=jac, bounds=FIXED_BOUNDS,
                      options={"gtol": 1e-7})
    assert res.success and res.status == 0
    assert res.x[1] == 0.5
    np.testing.assert_allclose(res.x, expected, atol=1e-5)


def test_fixed_variables_on_every_route_agree():
    python = rp.minimize(fixed_middle, [1.0, 0.5, 0.0], bounds=FIXED_BOUNDS,
                         options={"compiled": False})
    compiled = rp.minimize(fixed_middle, [1.0, 0.5, 0.0], bounds=FIXED_BOUNDS,
                           options={"compiled": True})
    through_scipy = scipy_minimize(fixed_middle, [1.0, 0.5, 0.0], method=rp.rprop,
                                   bounds=FIXED_BOUNDS)
    many = rp.minimize_many(fixed_middle, np.array([[1.0, 0.5, 0.0]] * 2),
                            bounds=FIXED_BOUNDS)
    assert python.success and python.x[1] == 0.5
    for other in (compiled, through_scipy):
        np.testing.assert_array_equal(other.x, python.x)
        assert (other.nfev, other.nit) == (python.nfev, python.nit)
    np.testing.assert_array_equal(many.x, [python.x] * 2)
    # One call per free variable per gradient: two, not three.
    assert python.nfev == 3 * python.njev


@pytest.mark.parametrize("compiled", [False, True])
def test_all_variables_fixed_returns_at_once(compiled):
    res = rp.minimize(fixed_middle, [1.0, 0.5, 0.0],
                      bounds=[(1.0, 1.0), (0.5, 0.5), (0.0, 0.0)],
                      options={"compiled": compiled})
    assert res.success and res.nit == 0 and res.nfev == 1
    np.testing.assert_array_equal(res.x, [1.0, 0.5, 0.0])
    assert res.fun == _fixed_middle(np.array([1.0, 0.5, 0.0]))


def test_uncacheable_numba_compiles_without_a_cache_and_says_so():
    script = """
        import warnings
        import numba.core.caching
        numba.core.caching.CacheImpl._locator_classes = []  # nowhere to write
        import numpy as np
        from numba import njit

        @njit
        def sphere(x):
            return np.sum((x - 1.0) ** 2)

        # Said once, when compiled code first loads (Numba itself is not
        # imported with rprop_np).
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import rprop_np as rp
            x = np.zeros(3)
            rp.Rprop(x).step(np.ones(3))
            res = rp.minimize(sphere, np.zeros(2), options={"compiled": True})
        said = [str(w.message) for w in caught if "rprop_np" in str(w.message)]
        print(len(said), said[0] if said else "")
        print(res.success, np.abs(res.x - 1.0).max() < 1e-4)
    """
    result = _run_script(script, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    warning_line, outcome = result.stdout.strip().splitlines()
    assert warning_line.startswith("1 rprop_np: Numba found no writable cache")
    assert "NUMBA_CACHE_DIR" in warning_line
    assert outcome == "True True"


def test_fun_returning_a_pair_without_jac_true_is_named():
    with pytest.raises(ValueError, match=r"tuple of 2 items .*pass jac=True"):
        rp.minimize(lambda x: (np.sum(x ** 2), 2 * x), np.ones(2))


@pytest.mark.parametrize("rel_step, error, match", [
    ([1e-3] * 3, ValueError, r"one entry per variable \(2\); got shape \(3,\)"),
    ("abc", TypeError, "finite_diff_rel_step must be None or real numbers; got 'abc'"),
    (-1e-3, ValueError, "finite and > 0; got -0.001"),
])
def test_finite_diff_rel_step_is_checked(rel_step, error, match):
    for compiled in (False, True):
        with pytest.raises(error, match=match):
            rp.minimize(around_centre, np.zeros(2),
                        options={"finite_diff_rel_step": rel_step,
                                 "compiled": compiled})


@njit(float64(float64[:]))
def eager_sphere(x):
    return np.sum((x - 2.0) ** 2)


def test_eager_signature_under_compiled_true_says_why():
    with pytest.raises(TypeError, match=r"fun was compiled eagerly for the arguments "
                       r"\(array\(float64, 1d, A\)\).*declare it without a signature"):
        rp.minimize(eager_sphere, np.zeros(2), options={"compiled": True})
    res = rp.minimize(eager_sphere, np.zeros(2))  # the Python loop runs it
    np.testing.assert_allclose(res.x, 2.0, atol=1e-4)


@pytest.mark.parametrize("bounds, match", [
    ([(1e-50, 1.0), (0.0, 1.0)], r"bounds\[0\] 1e-50 is not representable in "),
    ([(0.0, 1e300), (0.0, 1.0)], r"bounds\[0\] 1e\+300 is not representable in "),
])
def test_float32_bounds_that_float32_cannot_hold_are_refused(bounds, match):
    x0 = np.full(2, 0.5, np.float32)
    with pytest.raises(ValueError, match=match):
        rp.minimize(lambda x: float(np.sum(x ** 2)), x0, bounds=bounds)
    with pytest.raises(ValueError, match=match):
        rp.minimize_many(around_centre, np.tile(x0, (3, 1)), jac=njit(
            lambda x: 2 * (x - 1.0)), bounds=bounds)


@pytest.mark.parametrize("bounds, match", [
    ([(np.inf, np.inf)], r"bounds: lower is \+inf at index 0"),
    ([(-np.inf, -np.inf)], r"bounds: upper is -inf at index 0"),
])
def test_bounds_without_a_feasible_point_are_refused_by_minimize(bounds, match):
    for compiled in (False, True):
        with pytest.raises(ValueError, match=match):
            rp.minimize(around_centre, np.zeros(1), bounds=bounds,
                        options={"compiled": compiled})


@njit
def raises_past_half_with(x, offset):
    if x[0] > 0.5:
        raise ValueError("objective refused x[0] > 0.5")
    return (x[0] - 2.0 - offset[0]) ** 2 + x[1] ** 2


@njit
def to_offset(x, offset):
    return (x[0] - 2.0 - offset[0]) ** 2 + x[1] ** 2


def test_a_user_error_in_one_threaded_call_leaves_another_running():
    # Two threads each run a threaded minimize_many; the workers of the
    # first raise. Only the first call raises: the error is its own.
    import threading

    offsets = np.zeros((400, 1))
    outcome = {}

    def run(name, fun):
        try:
            res = rp.minimize_many(fun, np.zeros(2), args=(offsets,),
                                   options={"parallel": True, "gtol": 1e-10})
            outcome[name] = bool(res.success.all())
        except ValueError as error:
            outcome[name] = str(error)

    threads = [threading.Thread(target=run, args=("bad", raises_past_half_with)),
               threading.Thread(target=run, args=("good", to_offset))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcome == {"bad": "objective refused x[0] > 0.5", "good": True}


def test_omit_with_no_fit_left_gives_every_fit_its_status():
    @njit
    def line(t, p):
        return p[0] * t + p[1]

    t = np.linspace(0.0, 1.0, 4)
    y = np.full((3, 4), np.nan)
    y[:, 0] = 1.0  # one point each, for two parameters
    popt, pcov, info = rp.curve_fit_many(line, t, y, [1.0, 0.0], nan_policy="omit")
    assert (info["status"] == 20).all() and np.isnan(popt).all()
    assert np.isnan(pcov).all() and np.isnan(info["cost"]).all()
    with pytest.raises(ValueError, match=r"xdata must have shape \(k,\)"):
        rp.curve_fit_many(line, t[:1], np.ones((3, 4)), [1.0, 0.0])


def test_a_vector_model_with_a_default_argument_is_read_as_scipy_reads_it():
    # line(t, p, shift=0.0) with p0 of 2: SciPy calls line(t, 1.0, 0.0), and
    # so does rprop_np (p0 may set a defaulted argument, as in SciPy), where
    # p[0] of a number does not compile; the error says how it was called.
    @njit
    def line(t, p, shift=0.0):
        return p[0] * (t - shift) + p[1]

    t = np.linspace(0.0, 1.0, 6)
    with pytest.raises(TypeError, match=r"model could not be compiled") as caught:
        rp.curve_fit_many(line, t, np.array([2.0 * t + 1.0]), [1.0, 0.0])
    if sys.version_info >= (3, 11):  # exceptions carry notes from 3.11
        assert any("called it as line(x, p[0], p[1]): SciPy's form" in note
                   for note in caught.value.__notes__)
