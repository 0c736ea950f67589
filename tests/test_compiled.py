"""The compiled minimize loop equals the Python loop, bit for bit; minimize_many
equals one minimize call per problem."""

import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from numba import njit, prange
from scipy.optimize import minimize as scipy_minimize
from scipy.optimize import rosen as python_rosen

import rprop_np as rp
from rprop_np import _first_class

from .njit_problems import (
    eager_rosen,
    nan_grad_past_one,
    returns_array,
    returns_one_element,
    rosen,
    rosen_both,
    rosen_grad,
    short_grad,
    walled,
    walled_grad,
    with_default,
)

FIELDS = ("x", "fun", "jac", "nit", "nfev", "njev", "status", "success", "message",
          "x_last", "fun_last")
QUADRATIC_ARGS = (np.array([3.0, -2.0]), np.array([1.0, 100.0]), np.inf)


def both_paths(*args, **kwargs):
    """(compiled result, Python result) of the same minimize call."""
    options = kwargs.pop("options", {})
    compiled = rp.minimize(*args, options={**options, "compiled": True}, **kwargs)
    python = rp.minimize(*args, options={**options, "compiled": False}, **kwargs)
    return compiled, python


def assert_same_result(first, second):
    for field in FIELDS:
        a, b = first[field], second[field]
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype, field
            np.testing.assert_array_equal(a, b, err_msg=field, strict=True)
        else:
            assert a == b or (np.isnan(a) and np.isnan(b)), (field, a, b)


JACS = {"callable": rosen_grad, "True": True, "2-point": None}


@pytest.mark.parametrize("method", rp.VARIANTS)
@pytest.mark.parametrize("jac", JACS)
@pytest.mark.parametrize("bounds", [None, [(-2.0, 0.9), (None, 0.7)]])
def test_compiled_loop_equals_python_loop(method, jac, bounds):
    fun = rosen_both if jac == "True" else rosen
    compiled, python = both_paths(fun, [-1.2, 1.0], jac=JACS[jac], method=method,
                                  bounds=bounds, options={"maxiter": 3000})
    assert_same_result(compiled, python)
    assert compiled.nit > 100  # a real run, not a stop at x0


# Each stopping rule, provoked on purpose; the status proves it was that rule.
STOPS = {
    0: dict(fun=walled, jac=walled_grad, args=QUADRATIC_ARGS, options={"gtol": 1e-6}),
    1: dict(fun=rosen, jac=rosen_grad, args=(), options={"maxiter": 500}),
    2: dict(fun=rosen, jac=None, args=(), options={"maxfev": 301}),
    3: dict(fun=walled, jac=walled_grad, args=QUADRATIC_ARGS,
            options={"gtol": 0.0, "xtol": 1e-7}),
    4: dict(fun=rosen, jac=rosen_grad, args=(), options={"ftol": 1e-3}),
    5: dict(fun=walled, jac=walled_grad, args=(*QUADRATIC_ARGS[:2], 1.0), options={}),
    6: dict(fun=walled, jac=nan_grad_past_one, args=QUADRATIC_ARGS, options={}),
}


@pytest.mark.parametrize("method", rp.VARIANTS)
@pytest.mark.parametrize("status", STOPS)
def test_each_stopping_rule_is_the_same_on_both_paths(method, status):
    case = STOPS[status]
    compiled, python = both_paths(
        case["fun"], [-1.2, 1.0], args=case["args"], jac=case["jac"], method=method,
        options=case["options"],
    )
    assert compiled.status == status
    assert_same_result(compiled, python)


def test_float32_groups_and_per_component_lr_are_the_same_on_both_paths():
    x0 = np.array([-1.2, 1.0, -1.2, 1.0], np.float32)
    options = {
        "lr": [0.1, 0.01, 0.02, 0.05], "maxiter": 2000,
        "groups": [{"size": 1, "etas": (0.4, 1.3)},
                   {"size": 3, "step_sizes": (1e-7, 1)}],
    }
    compiled, python = both_paths(rosen, x0, jac=rosen_grad, options=options)
    assert compiled.x.dtype == np.float32
    assert_same_result(compiled, python)


def test_finite_difference_relative_step_is_the_same_on_both_paths():
    compiled, python = both_paths(
        rosen, [-1.2, 1.0], bounds=[(-1.2, 2.0), (-1.0, 1.0)],
        options={"finite_diff_rel_step": 1e-6, "maxiter": 2000},
    )
    assert_same_result(compiled, python)


def test_the_compiled_loop_is_chosen_automatically(monkeypatch):
    calls = []
    original = _first_class.call
    monkeypatch.setattr(_first_class, "call",
                        lambda *a: calls.append(1) or original(*a))
    rp.minimize(rosen, [-1.2, 1.0], jac=rosen_grad, options={"maxiter": 10})
    assert calls == [1]
    seen = []
    rp.minimize(rosen, [-1.2, 1.0], jac=rosen_grad, callback=seen.append,
                options={"maxiter": 10})
    rp.minimize(rosen, [-1.2, 1.0], jac=rosen_grad,
                options={"maxiter": 10, "compiled": False})
    rp.minimize(python_rosen, [-1.2, 1.0], options={"maxiter": 10})
    assert calls == [1] and len(seen) == 10  # the callback forced the Python loop


@pytest.mark.parametrize("kwargs, match", [
    (dict(fun=python_rosen), "fun is not a Numba @njit function"),
    (dict(fun=rosen, callback=print), "a callback runs in Python"),
    (dict(fun=rosen, jac="3-point"), "jac is not an @njit function"),
    (dict(fun=rosen, x0=np.array([-1.2, 1.0], np.float32)), "need float64 x0"),
    (dict(fun=rosen, options={"disp": True}), "disp and progress"),
    (dict(fun=rosen, args=({"a": 1},)), "args are not all Numba types"),
])
def test_compiled_true_says_why_it_cannot(kwargs, match):
    kwargs = {"x0": [-1.2, 1.0], **kwargs}
    kwargs["options"] = {**kwargs.get("options", {}), "compiled": True}
    with pytest.raises(ValueError, match=match):
        rp.minimize(**kwargs)


def test_compiled_option_must_be_a_bool_or_none():
    with pytest.raises(ValueError, match="compiled must be None, True or False"):
        rp.minimize(rosen, [1.0, 2.0], options={"compiled": "yes"})


def test_an_objective_returning_an_array_is_refused_by_name():
    with pytest.raises(TypeError, match="fun must return a real scalar"):
        rp.minimize(returns_array, [1.0, 2.0], jac=rosen_grad,
                    options={"compiled": True})
    with pytest.raises(TypeError, match="jac must return a 1-D array"):
        rp.minimize(rosen, [1.0, 2.0], jac=rosen, options={"compiled": True})


@pytest.mark.parametrize("fun, args", [
    (eager_rosen, ()), (with_default, (1.0,)), (returns_one_element, ()),
])
def test_what_the_compiled_loop_cannot_call_runs_in_python(fun, args):
    """Automatic selection never fails a call that the Python loop runs."""
    res = rp.minimize(fun, [-1.2, 1.0], args=args, options={"maxiter": 50})
    python = rp.minimize(fun, [-1.2, 1.0], args=args,
                         options={"maxiter": 50, "compiled": False})
    assert_same_result(res, python)
    assert res.nit == 50
    with pytest.raises(TypeError, match="fun"):
        rp.minimize(fun, [-1.2, 1.0], args=args, options={"compiled": True})


def test_a_fixed_variable_with_differences_is_held_on_both_paths():
    bounds = [(-2.0, 2.0), (1.0, 1.0)]
    compiled, python = both_paths(rosen, [-1.2, 1.0], bounds=bounds)
    assert compiled.status == 0 and compiled.x[1] == 1.0
    # From x = -1.2, with y held at 1, the nearest minimum is at x = -0.99497.
    expected = scipy_minimize(python_rosen, [-1.2, 1.0], method="L-BFGS-B",
                              bounds=bounds, tol=1e-12).x
    np.testing.assert_allclose(compiled.x, expected, atol=1e-5)
    assert_same_result(compiled, python)


def test_unused_rel_step_and_huge_maxiter_are_accepted_as_in_python():
    options = {"finite_diff_rel_step": [1e-6] * 3, "maxiter": 10**19,
               "maxfev": 10**19}
    compiled, python = both_paths(rosen, [-1.2, 1.0], jac=rosen_grad,
                                  options=options)
    assert compiled.status == 0
    assert_same_result(compiled, python)


# --- minimize_many ------------------------------------------------------------


def many_problems(m=1000, seed=0):
    """Shifted, badly scaled quadratics; some hit a NaN wall, some maxiter."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(m, 3)) * 3
    scales = 10.0 ** rng.uniform(-3, 3, size=(m, 3))
    walls = np.where(rng.random(m) < 0.1, -0.5, np.inf)  # NaN once x[0] > -0.5
    x0 = rng.normal(size=(m, 3))
    x0[:, 0] = np.minimum(x0[:, 0], -1.0)
    return x0, (centres, scales, walls)


@pytest.mark.parametrize("method", ["irprop+", "rprop-"])
def test_minimize_many_equals_one_minimize_per_problem(method):
    x0, args = many_problems()
    options = {"maxiter": 100, "gtol": 1e-8}
    many = rp.minimize_many(walled, x0, args=args, jac=walled_grad, method=method,
                            options=options)
    statuses = set(many.status.tolist())
    assert {0, 1, 3, 5} <= statuses  # early stops, maxiter and NaN all occur
    for i in range(len(x0)):
        one = rp.minimize(walled, x0[i], args=tuple(a[i] for a in args),
                          jac=walled_grad, method=method,
                          options={**options, "compiled": False})
        many_i = {field: many[field][i] for field in FIELDS if field != "message"}
        many_i["message"] = one.message  # per-problem text; checked below
        assert_same_result(many_i, one)
    for code, text in many.message.items():
        assert text.split()[:3] == rp.STATUS_MESSAGES[code].split()[:3]


def test_minimize_many_equals_the_python_loop_with_bounds_and_differences():
    x0, args = many_problems(m=40, seed=1)
    bounds = [(-2.0, 2.0), (-1.0, 1.0), (None, 0.5)]
    many = rp.minimize_many(walled, x0, args=args, bounds=bounds,
                            options={"maxiter": 300})
    for i in range(len(x0)):
        one = rp.minimize(walled, x0[i], args=tuple(a[i] for a in args),
                          bounds=bounds, options={"maxiter": 300, "compiled": False})
        np.testing.assert_array_equal(many.x[i], one.x)
        assert (many.nit[i], many.nfev[i], many.status[i]) == (
            one.nit, one.nfev, one.status)
    assert np.all(many.x >= [-2.0, -1.0, -np.inf]) and np.all(many.x[:, 2] <= 0.5)


def test_minimize_many_broadcasts_a_single_start():
    centres = np.linspace(-5.0, 5.0, 20).reshape(10, 2)
    scales = np.ones((10, 2))
    walls = np.full(10, np.inf)
    res = rp.minimize_many(walled, np.zeros(2), args=(centres, scales, walls),
                           jac=walled_grad)
    np.testing.assert_allclose(res.x, centres, atol=1e-5)
    assert res.success.all()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(fun=python_rosen), TypeError, "fun must be a Numba @njit function"),
    (dict(x0=np.zeros((2, 3, 4))), ValueError, r"x0 must have shape \(m, n\)"),
    (dict(x0=np.zeros((5, 3))), ValueError, "x0 has 5 rows"),
    (dict(args=(np.zeros((4, 3)), np.ones((3, 3)), np.zeros(4))), ValueError,
     "same leading length"),
    (dict(args=(np.zeros((4, 3)), 1.0, np.zeros(4))), ValueError,
     r"args\[1\] must have a leading axis .* got a scalar"),
    (dict(jac="3-point"), ValueError, r"jac must be callable, True, None, or one "
     r"of '2-point'; got '3-point'"),
    (dict(jac=python_rosen), TypeError, "jac must be a Numba @njit function"),
    (dict(options={"disp": True}), ValueError, "Unknown options for minimize_many"),
    (dict(method="adam"), ValueError, "method"),
    (dict(x0=np.full((4, 3), np.nan)), ValueError, "x0 must be finite"),
])
def test_minimize_many_bad_input_names_the_argument(kwargs, error, match):
    call = dict(fun=walled, x0=np.zeros((4, 3)), jac=walled_grad,
                args=(np.zeros((4, 3)), np.ones((4, 3)), np.zeros(4)))
    call.update(kwargs)
    with pytest.raises(error, match=match):
        rp.minimize_many(**call)


def test_a_warm_cache_compiles_nothing_in_a_new_process(tmp_path):
    """The drivers are typed by the objective's signature, not its identity."""
    script = textwrap.dedent("""
        import numpy as np
        from numba import njit
        import rprop_np as rp
        from rprop_np import _first_class, _minimize_loop

        @njit(cache=True)
        def bowl(x, centre):
            return np.sum((x - centre) ** 2)

        @njit(cache=True)
        def bowl_grad(x, centre):
            return 2.0 * (x - centre)

        @njit(cache=True)
        def line(t, p):
            return p[0] + p[1] * t

        rp.minimize(bowl, np.zeros(2), args=(np.ones(2),), jac=bowl_grad)
        rp.minimize_many(bowl, np.zeros(2), args=(np.ones((3, 2)),), jac=bowl_grad)
        t = np.linspace(0.0, 1.0, 5)
        rp.curve_fit_many(line, t, np.array([1.0 + 2.0 * t, 3.0 - t]), [1.0, 1.0])
        drivers = (_minimize_loop.solve_one, _minimize_loop.solve_rows,
                   rp._curve_fit_many._fit_rows)
        print(sum(sum(d.stats.cache_misses.values()) for d in drivers))
    """)
    (tmp_path / "user.py").write_text(script)
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PATH": ""}
    runs = [
        subprocess.run([sys.executable, "user.py"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert [run.stdout.split() for run in runs] == [["3"], ["0"]]
    # A first compilation says so, once; loading from the cache is silent.
    assert runs[0].stderr.count("rprop_np: compiling") == 1, runs[0].stderr
    assert "rprop_np: compiling" not in runs[1].stderr, runs[1].stderr


def test_a_gradient_of_the_wrong_size_is_a_clear_error_on_every_path():
    x0, args = many_problems(m=4)
    with pytest.raises(ValueError, match="one gradient entry per parameter"):
        rp.minimize_many(walled, x0, args=args, jac=short_grad)
    one_args = tuple(a[0] for a in args)
    with pytest.raises(ValueError, match="one gradient entry per parameter"):
        rp.minimize(walled, x0[0], args=one_args, jac=short_grad)
    with pytest.raises(ValueError, match=r"jac must return an array of shape \(3,\)"):
        rp.minimize(walled, x0[0], args=one_args, jac=short_grad,
                    options={"compiled": False})


def test_scipy_door_runs_the_compiled_loop_with_the_same_result():
    from scipy.optimize import minimize as scipy_minimize

    through_scipy = scipy_minimize(rosen, [-1.2, 1.0], jac=rosen_grad,
                                   method=rp.rprop, options={"maxiter": 3000})
    python = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_grad,
                         options={"maxiter": 3000, "compiled": False})
    assert_same_result(through_scipy, python)


@njit(parallel=True)  # no cache: it reads Numba's own globals
def _threads_in_use(x):
    for i in prange(x.size):
        x[i] = numba.get_num_threads()
    return numba.get_num_threads()


@pytest.mark.parametrize("others, own_spinning", [(1, 0), (0, 1), (5, 0)])
def test_a_parallel_call_leaves_busy_cores_to_their_processes(
        monkeypatch, others, own_spinning):
    # /proc/loadavg's runnable count is faked: the caller, `others` threads
    # of other processes, and Numba's own workers where they still spin.
    from rprop_np import _jit

    def serial_twin(x):
        return "serial"

    total = numba.config.NUMBA_NUM_THREADS
    # compiled, workers found (where two cores are idle now)
    _jit.parallel_call(_threads_in_use, serial_twin, np.zeros(8))
    monkeypatch.setattr(_jit, "_workers", [0] * own_spinning)
    monkeypatch.setattr(_jit, "_running", lambda thread_id: True)
    monkeypatch.setattr(_jit, "_runnable_threads", lambda: 1 + others + own_spinning)
    monkeypatch.setitem(_jit._idle, "cores", total)  # both restored after
    monkeypatch.setitem(_jit._idle, "until", -1.0)
    assert numba.get_num_threads() == total
    used = _jit.parallel_call(_threads_in_use, serial_twin, np.zeros(8))
    idle = max(1, total - others)
    # One idle core runs the serial twin: no thread pool to hand work to.
    assert used == ("serial" if idle == 1 else idle)
    assert numba.get_num_threads() == total  # the user's setting, restored


def test_a_large_step_beside_a_busy_core_never_starts_the_thread_pool(tmp_path):
    # With one core idle, a step above the threading threshold runs the
    # serial kernel: the same numbers, and a process that can still fork a
    # pool whose workers run threaded work (see test_optimizer_reliability).
    script = textwrap.dedent("""
        import numba.np.ufunc.parallel as parallel
        import numpy as np
        import rprop_np as rp
        from rprop_np import _cpu, _jit

        _jit.idle_cores = lambda: 1  # the other core is busy
        n = _cpu.PARALLEL_MIN_SIZE + 7
        grad = np.sin(np.arange(n))
        x, expected = np.zeros(n), np.zeros(n)
        opt = rp.Rprop(x, variant="irprop-")
        state = [np.full(n, 0.01), np.zeros(n, np.int8), np.empty(0)]
        for sign in (1.0, 1.0, -1.0):
            opt.step(sign * grad)
            _cpu.rprop_step(3, expected, sign * grad, *state, 0.5, 1.2, 1e-6,
                            50.0, False, False, parallel=False)
        print(parallel._is_initialized, np.array_equal(x, expected),
              np.array_equal(x, 0.0))
    """)
    (tmp_path / "user.py").write_text(script)
    run = subprocess.run([sys.executable, "user.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "True", "False"], run.stdout


def test_every_cpu_loop_calls_one_compiled_rule(tmp_path):
    # Each specialization of the rule is a compile of its own in a fresh
    # cache (~0.1-0.2 s): every variant's kernel, serial and threaded, and
    # the compiled loops share one per dtype (a literal variant or False at a
    # call site would add one). Only a cold process compiles the rule (warm,
    # each loop's cached code has it inlined), so this runs in one.
    script = textwrap.dedent("""
        import numpy as np
        from numba import njit

        import rprop_np as rp
        from rprop_np import _cpu
        from rprop_np._variants import VARIANTS

        @njit(cache=True)
        def bowl(x):
            return np.sum((x - 1.0) ** 2)

        @njit(cache=True)
        def bowl_grad(x):
            return 2.0 * (x - 1.0)

        for variant in VARIANTS:
            for n in (5, _cpu.PARALLEL_MIN_SIZE):
                x = np.zeros(n)
                opt = rp.Rprop(x, variant=variant)
                opt.step(np.ones(n), f=1.0)
                opt.step(-np.ones(n), f=2.0)  # a sign change after a rise
        single = rp.minimize(bowl, np.zeros(3), jac=bowl_grad)
        batch = rp.minimize_many(bowl, np.zeros((20, 3)), jac=bowl_grad)
        assert single.success and batch.success.all()
        print(sorted(str(s[1]) for s in _cpu._update_component.signatures))
    """)
    (tmp_path / "user.py").write_text(script)
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PATH": ""}
    run = subprocess.run([sys.executable, "user.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["['float64']"], run.stdout
