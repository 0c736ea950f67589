"""Rprop without silent wrong answers, lost state or hangs.

Copies and pickles that keep stepping their own arrays, kernels that leave
fork() working, atomic load_state_dict, float32 settings that keep their
meaning, threads under the workqueue layer, and clear errors for bad input.
"""

import copy
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import rprop_np as rp
from rprop_np import _cpu, _validation

ROOT = Path(__file__).resolve().parents[1]  # the checkout whose rprop_np is tested


def _run_python(code, timeout=120, **env):
    """Run `code` in a fresh interpreter on this checkout; return the result."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, timeout=timeout,
        capture_output=True, text=True, env={**os.environ, **env},
    )


# --------------------------------------------------------------------------
# copy.deepcopy and pickle give an independent optimizer (item 2)


def _real_grad_and_f(x):
    # Not convex, so signs flip and the `+` variants backtrack.
    center = np.linspace(-1.0, 1.0, x.size).astype(x.dtype)
    grad = 2 * (x - center) + 0.5 * np.sin(7 * x)
    f = float(np.sum((x - center) ** 2) - np.sum(np.cos(7 * x)) / 14)
    return grad, f


def _grad_and_f(x):
    if x.dtype.kind != "c":
        return _real_grad_and_f(x)
    g_re, f_re = _real_grad_and_f(x.real.copy())
    g_im, f_im = _real_grad_and_f(x.imag.copy())
    return g_re + 1j * g_im, f_re + f_im


CONFIGS = {
    "plain": (np.float64, {}),
    "groups": (np.float64, {"groups": [{"size": 4, "lr": 0.05},
                                       {"size": 6, "etas": (0.4, 1.3)}]}),
    "bounds": (np.float64, {"bounds": (-0.4, 0.6)}),
    "complex": (np.complex128, {"groups": [{"size": 3}, {"size": 7}]}),
}


def _assert_same_run(actual, expected):
    np.testing.assert_array_equal(actual.x.view(np.uint8), expected.x.view(np.uint8))
    assert actual.iteration == expected.iteration
    want = expected.state_dict()
    for key, value in actual.state_dict().items():
        np.testing.assert_array_equal(value, want[key], err_msg=key)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("variant", rp.VARIANTS)
def test_copies_and_pickles_continue_bit_identically(variant, config):
    dtype, kwargs = CONFIGS[config]
    x = (np.linspace(-0.3, 0.5, 10) * (1 - 0.5j if dtype is np.complex128 else 1))
    opt = rp.Rprop(x.astype(dtype), variant=variant, lr=0.02, **kwargs)
    for _ in range(20):
        opt.step(*_grad_and_f(opt.x))
    copies = [copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))]
    x_before = opt.x.copy()
    state_before = opt.state_dict()

    for twin in copies:
        own_x = twin.x
        assert own_x is not opt.x
        for _ in range(100):
            twin.step(*_grad_and_f(twin.x))
        assert twin.x is own_x and twin.iteration == 120
        assert not np.array_equal(own_x, x_before)  # the copy moved its own x
    # Stepping the copies left the original alone.
    np.testing.assert_array_equal(opt.x, x_before)
    for key, value in opt.state_dict().items():
        np.testing.assert_array_equal(value, state_before[key], err_msg=key)

    for _ in range(100):
        opt.step(*_grad_and_f(opt.x))
    for twin in copies:
        _assert_same_run(twin, opt)


def test_deepcopy_keeps_x_and_the_optimizer_together():
    x = np.linspace(-1.0, 1.0, 5)
    opt = rp.Rprop(x, lr=0.1)
    x_copy, opt_copy = copy.deepcopy((x, opt))
    assert opt_copy.x is x_copy and x_copy is not x
    opt_copy.step(np.ones(5))
    np.testing.assert_allclose(x_copy, np.linspace(-1.0, 1.0, 5) - 0.1, rtol=1e-15)
    np.testing.assert_array_equal(x, np.linspace(-1.0, 1.0, 5))


# --------------------------------------------------------------------------
# Small steps never start the threading layer; fork() keeps working (item 4)


def test_small_steps_leave_fork_pools_working():
    # A worker that runs threaded work of its own dies when the parent had
    # started GNU OpenMP before fork(), and its pool waits for it forever.
    result = _run_python("""
        import multiprocessing
        import numba.np.ufunc.parallel as parallel
        import numpy as np
        import rprop_np as rp

        def large_step(lr):
            x = np.zeros(rp._cpu.PARALLEL_MIN_SIZE)
            rp.Rprop(x, lr=lr).step(np.ones_like(x))
            return float(x[0])

        for variant in rp.VARIANTS:
            for dtype in (np.float64, np.float32, np.complex128):
                x = np.linspace(-1, 1, 100).astype(dtype)
                opt = rp.Rprop(x, variant=variant, groups=[{"size": 60},
                                                           {"size": 40}])
                for _ in range(3):
                    opt.step(x - 0.3, float(abs(x).sum()))
        print("initialized:", parallel._is_initialized, flush=True)
        with multiprocessing.get_context("fork").Pool(2) as pool:
            # terminate() on leaving the block ends the workers even if they hang
            print("pool:", pool.map_async(abs, [-1, -2, 3]).get(timeout=60))
            print("large:", pool.map_async(large_step, [0.5, 0.25]).get(timeout=60))
    """, timeout=200)
    assert "initialized: False" in result.stdout, result.stdout + result.stderr
    assert "pool: [1, 2, 3]" in result.stdout, result.stdout + result.stderr
    assert "large: [-0.5, -0.25]" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("variant", rp.VARIANTS)
def test_a_large_group_runs_threaded_and_equals_the_serial_kernel(variant):
    n = _cpu.PARALLEL_MIN_SIZE + 13
    rng = np.random.default_rng(3)
    x = rng.standard_normal(n + 5)
    grads = [rng.standard_normal(n + 5) for _ in range(6)]
    grads[2][::997] = np.nan
    opt = rp.Rprop(x, variant=variant, groups=[{"size": n}, {"size": 5}])
    expected = x.copy()
    step_size = np.full(n + 5, 0.01)
    prev_sign = np.zeros(n + 5, np.int8)
    prev_update = np.zeros(n + 5)
    hyper = (0.5, 1.2, 1e-6, 50.0)
    code = rp.VARIANTS.index(variant)
    for k, grad in enumerate(grads):
        counted = opt.step(grad, float(k % 2))
        expected_count = 0
        for part in (slice(0, n), slice(n, n + 5)):
            expected_count += _cpu.rprop_step(
                code, expected[part], grad[part], step_size[part], prev_sign[part],
                prev_update[part], *hyper, False, k % 2 == 1 and k > 0,
                parallel=False,
            )
        assert counted == expected_count
    assert opt.nonfinite_total == len(range(0, n + 5, 997))
    np.testing.assert_array_equal(x.view(np.uint8), expected.view(np.uint8))
    np.testing.assert_array_equal(opt.step_size, step_size)


# --------------------------------------------------------------------------
# load_state_dict: all checked, then all applied (item 9)


def _stepped_optimizer(variant="rprop+", maximize=False, etas=(0.5, 1.2)):
    x = np.linspace(-1.0, 1.0, 6)
    opt = rp.Rprop(x, lr=0.05, variant=variant, maximize=maximize, etas=etas,
                   groups=[{"size": 4}, {"size": 2}])
    for _ in range(5):
        opt.step(*_grad_and_f(x))
    return opt


def _bad_state(key, value):
    # From an optimizer that differs in every scalar, so that a half-applied
    # state shows.
    source = _stepped_optimizer("irprop+", maximize=True, etas=(0.3, 1.4))
    source.step(*_grad_and_f(source.x))
    state = source.state_dict()
    if callable(value):
        value = value(state[key].copy())
    state[key] = value
    return state


def _with(index, entry):
    def change(array):
        array[index] = entry
        return array
    return change


@pytest.mark.parametrize("key, value, error, match", [
    ("maximize", "yes", TypeError, r"state\['maximize'\] must be True or False; "
                                   r"got 'yes'"),
    ("maximize", 1, TypeError, r"state\['maximize'\] must be True or False; got 1"),
    ("iteration", -3, ValueError, r"state\['iteration'\] must be >= 0; got -3"),
    ("iteration", "x", TypeError, r"state\['iteration'\] must be an integer; "
                                  r"got 'x'"),
    ("iteration", 2.5, TypeError, r"state\['iteration'\] must be an integer; "
                                  r"got 2.5"),
    ("prev_f", "abc", TypeError, r"state\['prev_f'\] must be a real number; "
                                 r"got 'abc'"),
    ("prev_f", np.nan, ValueError, r"state\['prev_f'\] must not be NaN"),
    ("etas", np.array([[0.5, 1.2], [0.5, 1.2], [0.4, 1.3]]), ValueError,
     r"state\['etas'\] must be a real array of shape \(2, 2\), one row per group; "
     r"got float64 with shape \(3, 2\)"),
    ("etas", np.array([0.5, 1.2, 0.4, 1.3]), ValueError,
     r"state\['etas'\] must be a real array of shape \(2, 2\)"),
    ("etas", np.array([["0.5", "1.2"], ["0.5", "1.2"]]), ValueError,
     r"state\['etas'\] must be a real array of shape \(2, 2\), one row per group; "
     r"got <U3"),
    ("etas", np.array([[0.5, 1.2], [np.nan, 1.2]]), ValueError,
     r"state\['etas'\]\[1\] must satisfy 0 < eta_minus < 1 < eta_plus; "
     r"got eta_minus=nan"),
    ("step_sizes", np.array([[1e-6, 50.0], [1e-6, 50.0], [1e-6, 1.0]]), ValueError,
     r"state\['step_sizes'\] must be a real array of shape \(2, 2\)"),
    ("step_size", _with(3, np.nan), ValueError,
     r"state\['step_size'\]\[3\] is nan; step sizes must be >= 0, not NaN"),
    ("step_size", _with(0, -0.5), ValueError,
     r"state\['step_size'\]\[0\] is -0.5; step sizes must be >= 0"),
    ("prev_sign", _with(2, 5), ValueError,
     r"state\['prev_sign'\]\[2\] is 5; a previous sign is -1, 0 or 1"),
    ("prev_sign", _with(4, -2), ValueError, r"state\['prev_sign'\]\[4\] is -2"),
    ("prev_update", _with(1, np.nan), ValueError,
     r"state\['prev_update'\]\[1\] is nan; a previous update must not be NaN"),
])
def test_a_bad_state_is_refused_and_changes_nothing(key, value, error, match):
    opt = _stepped_optimizer()
    twin = _stepped_optimizer()
    before = opt.state_dict()
    with pytest.raises(error, match=match):
        opt.load_state_dict(_bad_state(key, value))
    after = opt.state_dict()
    assert after.keys() == before.keys()
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)
    # The kernel, the hyper-parameters and the arrays all stayed in place.
    for _ in range(3):
        opt.step(*_grad_and_f(opt.x))
        twin.step(*_grad_and_f(twin.x))
    _assert_same_run(opt, twin)


def test_a_good_state_from_another_optimizer_still_loads():
    opt = _stepped_optimizer()
    opt.load_state_dict(_bad_state("iteration", 7))
    assert (opt.variant, opt.maximize, opt.iteration) == ("irprop+", True, 7)
    assert opt.state_dict()["etas"].tolist() == [[0.3, 1.4], [0.3, 1.4]]


@pytest.mark.parametrize("state, name", [(None, "NoneType"), ([1, 2], "list"),
                                         ("state", "str")])
def test_load_state_dict_needs_a_mapping(state, name):
    opt = _stepped_optimizer()
    with pytest.raises(TypeError, match=r"state must be a mapping like the one "
                                        rf"state_dict\(\) returns; got {name}"):
        opt.load_state_dict(state)


# --------------------------------------------------------------------------
# Settings must keep their value in x's dtype (item 11)


@pytest.mark.parametrize("values, dtype, argname, match", [
    (1e300, np.float32, "step_sizes: max_step",
     r"^step_sizes: max_step 1e\+300 is not representable in float32 "
     r"\(largest 3.4028235e\+38\)$"),
    (-1e39, np.float32, "bounds", r"^bounds -1e\+39 is not representable in "
                                  r"float32 \(largest 3.4028235e\+38\)$"),
    (np.array([1.0, 0.0, 1e-50]), np.float32, "bounds",
     r"^bounds\[2\] 1e-50 is not representable in float32 "
     r"\(smallest nonzero 1e-45\)$"),
    (np.array([1e-320, 1.0]), np.float16, "lr",
     r"^lr\[0\] 1e-320 is not representable in float16 \(smallest nonzero 6e-08\)$"),
])
def test_check_representable_names_the_argument_and_the_value(
    values, dtype, argname, match
):
    with pytest.raises(ValueError, match=match):
        _validation.check_representable(values, dtype, argname)


def test_check_representable_keeps_inf_zero_and_tiny_subnormals():
    values = np.array([0.0, -0.0, np.inf, -np.inf, 1e-40, -3e38, 0.1])
    cast = _validation.check_representable(values, np.float32, "bounds")
    assert cast.dtype == np.float32
    np.testing.assert_array_equal(cast, values.astype(np.float32))
    assert cast[5] == np.float32(-3e38) and cast[4] > 0  # 1e-40 is subnormal
    scalar = _validation.check_representable(1e300, np.float64, "lr")
    assert scalar == 1e300 and scalar.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
@pytest.mark.parametrize("kwargs, match", [
    ({"step_sizes": (1e-6, 1e300)},
     r"step_sizes: max_step 1e\+300 is not representable in float32 "
     r"\(largest 3.4028235e\+38\)"),
    ({"step_sizes": (1e-50, 1.0)},
     r"step_sizes: min_step 1e-50 is not representable in float32 "
     r"\(smallest nonzero 1e-45\)"),
    ({"groups": [{"size": 1}, {"size": 2, "step_sizes": (1e-6, 1e300)}]},
     r"groups\[1\]\['step_sizes'\]: max_step 1e\+300 is not representable"),
    ({"etas": (1e-50, 1.2)}, r"etas: eta_minus 1e-50 is not representable"),
    ({"lr": 1e-50}, r"^lr 1e-50 is not representable in float32 "
                    r"\(smallest nonzero 1e-45\)"),
    ({"lr": 1e39}, r"^lr 1e\+39 is not representable in float32 \(largest"),
    ({"lr": np.array([0.1, 0.0, 1e-50])}, r"^lr\[2\] 1e-50 is not representable"),
    ({"groups": [{"size": 1}, {"size": 2, "lr": 1e40}]},
     r"groups\[1\]\['lr'\] 1e\+40 is not representable"),
])
def test_float32_settings_that_would_change_meaning_are_refused(dtype, kwargs, match):
    with pytest.raises(ValueError, match=match):
        rp.Rprop(np.zeros(3, dtype), **kwargs)
    rp.Rprop(np.zeros(3), **kwargs)  # float64 holds them all


@pytest.mark.parametrize("bounds, match", [
    ((1e-50, 1.0), r"bounds: lower\[0\] 1e-50 is not representable in float32 "
                   r"\(smallest nonzero 1e-45\)"),
    ((0.0, [1.0, 1e300, 2.0]), r"bounds: upper\[1\] 1e\+300 is not representable "
                               r"in float32 \(largest 3.4028235e\+38\)"),
])
def test_float32_bounds_that_would_change_meaning_are_refused(bounds, match):
    with pytest.raises(ValueError, match=match):
        rp.Rprop(np.full(3, 0.5, np.float32), bounds=bounds)


def test_float32_keeps_inf_and_zero_settings():
    x = np.full(3, 0.5, np.float32)
    opt = rp.Rprop(x, lr=0.0, step_sizes=(1e-6, np.inf), bounds=(0.0, np.inf))
    opt.step(np.ones(3, np.float32))
    np.testing.assert_array_equal(x, np.float32(0.5) - np.float32(1e-6))


def test_load_state_dict_checks_step_sizes_in_x_dtype():
    x = np.zeros(3, np.float32)
    opt = rp.Rprop(x)
    before = opt.state_dict()
    state = opt.state_dict()
    state["step_sizes"] = np.array([[1e-6, 1e300]])
    with pytest.raises(ValueError, match=r"state\['step_sizes'\]\[0\]: max_step "
                                         r"1e\+300 is not representable in float32"):
        opt.load_state_dict(state)
    np.testing.assert_array_equal(opt.state_dict()["step_sizes"], before["step_sizes"])


# --------------------------------------------------------------------------
# Two threads under the workqueue threading layer (item 12)


def test_two_threads_stepping_large_arrays_under_workqueue():
    result = _run_python("""
        import threading
        import numba
        import numpy as np
        import rprop_np as rp

        def run(seed, variant, results):
            rng = np.random.default_rng(seed)
            x = rng.standard_normal(1_000_000)
            target = rng.standard_normal(1_000_000)
            opt = rp.Rprop(x, variant=variant, lr=0.1)
            for _ in range(20):
                opt.step(x - target, float(np.sum((x - target) ** 2)))
            results[seed] = x

        jobs = [(0, "irprop-"), (1, "rprop+")]
        threaded, single = {}, {}
        threads = [threading.Thread(target=run, args=(*job, threaded)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for job in jobs:
            run(*job, single)
        print("layer:", numba.threading_layer())
        print("equal:", all(np.array_equal(threaded[s], single[s]) for s in single))
    """, timeout=300, NUMBA_THREADING_LAYER="workqueue")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "layer: workqueue" in result.stdout
    assert "equal: True" in result.stdout


def test_two_threads_running_parallel_drivers_under_workqueue():
    result = _run_python("""
        import threading
        import numba
        import numpy as np
        from numba import njit
        import rprop_np as rp

        @njit
        def to_centre(x, centre):
            return np.sum((x - centre) ** 2)

        @njit
        def line(t, p):
            return p[0] * t + p[1]

        centres = np.random.default_rng(0).standard_normal((4000, 3))
        t = np.linspace(0.0, 1.0, 20)
        lines = np.outer(np.arange(1.0, 2001.0), t) + 0.5

        def run(job, results):
            if job == "minimize_many":
                res = rp.minimize_many(to_centre, np.zeros(3), args=(centres,),
                                       options={"parallel": True})
                results[job] = res.x
            elif job == "curve_fit_many":
                results[job] = rp.curve_fit_many(line, t, lines, p0=[1.0, 0.0],
                                                 parallel=True)[0]
            else:  # the threaded kernel: Numba's threading layer
                x = np.zeros(60_000)
                optimizer = rp.Rprop(x)
                for _ in range(20):
                    optimizer.step(np.sin(np.arange(60_000.0)) - x)
                results[job] = x

        jobs = ["minimize_many", "curve_fit_many", "step"] * 2
        threaded = [{} for _ in jobs]
        threads = [threading.Thread(target=run, args=(job, out))
                   for job, out in zip(jobs, threaded)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        single = {}
        for job in set(jobs):
            run(job, single)
        print("layer:", numba.threading_layer())
        print("equal:", all(np.array_equal(out[job], single[job])
                            for job, out in zip(jobs, threaded)))
    """, timeout=600, NUMBA_THREADING_LAYER="workqueue")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "layer: workqueue" in result.stdout
    assert "equal: True" in result.stdout


# --------------------------------------------------------------------------
# Clear errors for bad settings


@pytest.mark.parametrize("kwargs, error, match", [
    ({"step_sizes": "12"}, TypeError,
     r"step_sizes must be a pair of real numbers; got '12'"),
    ({"step_sizes": "ab"}, TypeError,
     r"step_sizes must be a pair of real numbers; got 'ab'"),
    ({"step_sizes": ("1e-6", "50")}, TypeError,
     r"step_sizes must be a pair of real numbers; got \('1e-6', '50'\)"),
    ({"step_sizes": (1e-6, np.nan)}, ValueError,
     r"step_sizes must satisfy 0 <= min_step <= max_step and max_step > 0; got "
     r"min_step=1e-06, "
     r"max_step=nan"),
    ({"etas": "05"}, TypeError, r"etas must be a pair of real numbers; got '05'"),
    ({"etas": ("0.5", "1.2")}, TypeError, r"etas must be a pair of real numbers"),
    ({"etas": (0.5, np.nan)}, ValueError, r"etas must satisfy .* eta_plus=nan"),
    ({"etas": [[0.5], [1.2]]}, TypeError, r"etas must be a pair of real numbers"),
    ({"groups": [{"size": 3, "step_sizes": "12"}]}, TypeError,
     r"groups\[0\]\['step_sizes'\] must be a pair of real numbers; got '12'"),
    ({"lr": None}, TypeError, r"lr must be a real number or an array of them; "
                              r"got None"),
    ({"lr": "0.1"}, TypeError, r"lr must be a real number or an array of them; "
                               r"got '0.1'"),
    ({"lr": ["0.1", "0.1", "0.1"]}, TypeError, r"lr must be a real number"),
    ({"lr": [0.1, [0.2]]}, TypeError, r"lr must be a real number"),
    ({"groups": [{"size": 3, "lr": "0.1"}]}, TypeError,
     r"groups\[0\]\['lr'\] must be a real number or an array of them; got '0.1'"),
    ({"lr": np.ones(2), "groups": [{"size": 2}, {"size": 1}]}, ValueError,
     r"lr must be a scalar or have one entry per component \(3\); got shape \(2,\)"),
    ({"groups": [{"size": 2, "lr": np.ones(3)}, {"size": 1}]}, ValueError,
     r"groups\[0\]\['lr'\] must be a scalar or have one entry per component \(2\); "
     r"got shape \(3,\)"),
    ({"groups": [{"size": True}, {"size": 2}]}, ValueError,
     r"groups\[0\]\['size'\] must be a positive integer; got True"),
    ({"groups": [{"size": np.bool_(True)}, {"size": 2}]}, ValueError,
     r"groups\[0\]\['size'\] must be a positive integer; got np.True_"),
    ({"bounds": ([0.0, np.inf, 0.0], np.inf)}, ValueError,
     r"bounds: lower is \+inf at index 1, which leaves no feasible point"),
])
def test_bad_settings_get_a_clear_error(kwargs, error, match):
    with pytest.raises(error, match=match):
        rp.Rprop(np.zeros(3), **kwargs)


@pytest.mark.parametrize("x", [np.zeros(1), np.zeros((1, 1), np.float32)])
def test_a_string_lr_is_refused_even_for_one_component(x):
    with pytest.raises(TypeError, match=r"lr must be a real number or an array of "
                                        r"them; got '0.1'"):
        rp.Rprop(x, lr="0.1")


@pytest.mark.parametrize("lower, upper, match", [
    (np.inf, np.inf, r"bounds: lower is \+inf at index 0, which leaves no "
                     r"feasible point"),
    (-np.inf, [0.0, -np.inf], r"bounds: upper is -inf at index 1, which leaves no "
                              r"feasible point"),
])
def test_bound_arrays_refuses_bounds_without_a_feasible_point(lower, upper, match):
    with pytest.raises(ValueError, match=match):
        _validation.bound_arrays(lower, upper, 2)


def test_numeric_settings_in_any_real_form_still_work():
    x = np.zeros(2)
    opt = rp.Rprop(x, lr=np.array(0.5), etas=np.array([0.5, 1.2]),
                   step_sizes=(np.int64(1), np.float32(2.0)),
                   groups=[{"size": np.int64(2), "lr": np.float32(0.25)}])
    opt.step(np.ones(2))
    np.testing.assert_array_equal(x, [-1.0, -1.0])  # lr 0.25 lifted to min_step
    assert opt.state_dict()["step_sizes"].tolist() == [[1.0, 2.0]]
