"""rprop_np.minimize and the scipy.optimize.minimize custom method."""

import subprocess
import sys

import numpy as np
import pytest
from numba import njit
from scipy.optimize import Bounds, rosen, rosen_der
from scipy.optimize import minimize as scipy_minimize

import rprop_np as rp

from . import njit_problems
from .problems import ill_conditioned_quadratic


def beale(x):
    a, b = x
    terms = np.array([1.5 - a + a * b, 2.25 - a + a * b**2, 2.625 - a + a * b**3])
    return np.sum(terms**2)


def beale_grad(x):
    a, b = x
    terms = np.array([1.5 - a + a * b, 2.25 - a + a * b**2, 2.625 - a + a * b**3])
    da = np.array([b - 1.0, b**2 - 1.0, b**3 - 1.0])
    db = np.array([a, 2.0 * a * b, 3.0 * a * b**2])
    return np.array([2 * terms @ da, 2 * terms @ db])


_QUADRATIC, _QUADRATIC_MIN = ill_conditioned_quadratic(n=6, condition=1e4)

# name: (fun, jac, x0, solution, options); 10-D Rosenbrock starts at 0 because
# from (-1.2, 1, ...) rprop+ and rprop- end in its true local minimum (f=3.99).
PROBLEMS = {
    "rosenbrock-2d": (rosen, rosen_der, [-1.2, 1.0], np.ones(2), {}),
    "rosenbrock-10d": (rosen, rosen_der, np.zeros(10), np.ones(10),
                       {"maxiter": 50_000}),
    "beale": (beale, beale_grad, [1.0, 1.0], np.array([3.0, 0.5]), {}),
    "quadratic": (lambda x: _QUADRATIC(x)[0], lambda x: _QUADRATIC(x)[1],
                  np.zeros(6), _QUADRATIC_MIN, {"maxiter": 50_000}),
}


def _assert_same_result(a, b):
    for key in ("x", "fun", "jac", "nit", "nfev", "njev", "status", "success",
                "message", "x_last", "fun_last"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("method", rp.VARIANTS)
@pytest.mark.parametrize("name", PROBLEMS)
def test_each_method_converges_and_scipy_gives_the_same_run(name, method):
    fun, jac, x0, solution, options = PROBLEMS[name]
    options = {**options, "maxiter": options.get("maxiter", 20_000)}
    if method in ("rprop+", "rprop-"):
        options["maxiter"] *= 2  # no step skipped after a sign flip: slower
    res = rp.minimize(fun, x0, jac=jac, method=method, options=options)
    assert res.success, res.message
    assert res.status == 0
    np.testing.assert_allclose(res.x, solution, atol=1e-4)
    via_scipy = scipy_minimize(fun, x0, jac=jac, method=rp.rprop,
                               options={**options, "variant": method})
    _assert_same_result(via_scipy, res)


def test_defaults_solve_2d_rosenbrock_to_1e_4():
    res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-4)
    assert res.fun < 1e-8


# --------------------------------------------------------------------------
# jac and the counts


class Counted:
    """Rosenbrock that counts its own calls, independently of rprop_np."""

    def __init__(self):
        self.fun_calls = self.jac_calls = 0

    def fun(self, x):
        self.fun_calls += 1
        return rosen(x)

    def fun_and_grad(self, x):
        self.fun_calls += 1
        return rosen(x), rosen_der(x)

    def jac(self, x):
        self.jac_calls += 1
        return rosen_der(x)


N = 3
X0 = np.array([-1.2, 1.0, 0.5])


@pytest.mark.parametrize("jac, fun_calls_per_iteration", [
    ("callable", 1), (True, 1), (None, N + 1), ("2-point", N + 1),
    ("3-point", 2 * N + 1), ("cs", N + 1),
])
def test_jac_forms_agree_and_counts_are_exact(jac, fun_calls_per_iteration):
    counted = Counted()
    fun = counted.fun_and_grad if jac is True else counted.fun
    res = rp.minimize(fun, X0, jac=counted.jac if jac == "callable" else jac,
                      options={"maxiter": 200})
    evaluations = res.nit + 1  # x0, then one point per iteration
    assert res.status == 1 and res.nit == 200
    assert res.nfev == counted.fun_calls == fun_calls_per_iteration * evaluations
    assert res.njev == evaluations
    assert counted.jac_calls == (evaluations if jac == "callable" else 0)
    exact = rp.minimize(rosen, X0, jac=rosen_der, options={"maxiter": 200})
    np.testing.assert_allclose(res.x, exact.x, rtol=1e-6)


def test_args_reach_fun_and_jac():
    def fun(x, a, b):
        return np.sum((x - a) ** 2) * b

    def jac(x, a, b):
        return 2 * (x - a) * b

    res = rp.minimize(fun, np.zeros(2), args=(np.array([1.0, 2.0]), 3.0), jac=jac)
    np.testing.assert_allclose(res.x, [1.0, 2.0], atol=1e-6)


def test_single_non_tuple_arg_is_wrapped():
    res = rp.minimize(lambda x, a: np.sum((x - a) ** 2), [0.0], args=2.0,
                      jac=lambda x, a: 2 * (x - a))
    np.testing.assert_allclose(res.x, [2.0], atol=1e-6)


# --------------------------------------------------------------------------
# Bounds


@pytest.mark.parametrize("method", rp.VARIANTS)
def test_active_bound_is_found_exactly(method):
    res = rp.minimize(lambda x: (x[0] - 3.0) ** 2, [0.0],
                      jac=lambda x: 2 * (x - 3.0), bounds=[(None, 1.0)],
                      method=method)
    assert res.success, res.message
    assert res.x[0] == 1.0
    assert res.fun == 4.0


@pytest.mark.parametrize("bounds", [
    Bounds([-2.0, -1.0], [0.5, 3.0]),
    [(-2.0, 0.5), (-1.0, 3.0)],
], ids=["Bounds", "pairs"])
@pytest.mark.parametrize("method", rp.VARIANTS)
def test_x_never_leaves_the_box(method, bounds):
    seen = []

    def inside(xk):
        seen.append(xk)
        assert -2.0 <= xk[0] <= 0.5 and -1.0 <= xk[1] <= 3.0, xk

    res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der, method=method,
                      bounds=bounds, callback=inside,
                      options={"lr": 1.0, "maxiter": 3000})
    assert len(seen) == res.nit > 10
    # with x[0] <= 0.5, the minimum is on that bound, x[1] = x[0]**2 = 0.25
    assert res.x[0] == 0.5
    np.testing.assert_allclose(res.x[1], 0.25, atol=1e-6)


def test_x0_outside_the_bounds_is_clipped_into_them():
    evaluated = []

    def fun(x):
        evaluated.append(x)
        return np.sum(x**2)

    res = rp.minimize(fun, [5.0, -5.0], jac=lambda x: 2 * x,
                      bounds=[(1.0, 2.0), (-3.0, 3.0)])
    np.testing.assert_array_equal(evaluated[0], [2.0, -3.0])
    assert res.x[0] == 1.0
    assert abs(res.x[1]) <= 0.5e-5  # gtol: |2 x| <= 1e-5


def test_scipy_and_rprop_np_agree_with_bounds():
    kwargs = {"jac": rosen_der, "bounds": Bounds([-2.0, -1.0], [0.5, 3.0])}
    ours = rp.minimize(rosen, [-1.2, 1.0], **kwargs)
    theirs = scipy_minimize(rosen, [-1.2, 1.0], method=rp.rprop, **kwargs)
    _assert_same_result(theirs, ours)


# --------------------------------------------------------------------------
# Every status code


def test_status_0_gtol():
    res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der, options={"gtol": 1e-3})
    assert (res.status, res.success) == (0, True)
    assert np.max(np.abs(res.jac)) <= 1e-3
    assert res.message == rp.STATUS_MESSAGES[0]


def test_status_1_maxiter():
    res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der, options={"maxiter": 7})
    assert (res.status, res.success, res.nit) == (1, False, 7)
    assert res.message == "Maximum number of iterations has been exceeded."


def test_status_1_maxiter_zero_evaluates_x0_only():
    res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der, options={"maxiter": 0})
    assert (res.status, res.nit, res.nfev) == (1, 0, 1)
    assert res.fun == rosen(np.array([-1.2, 1.0]))


def test_status_2_maxfev():
    res = rp.minimize(rosen, [-1.2, 1.0], options={"maxfev": 30})  # 3 per point
    assert (res.status, res.success, res.nfev) == (2, False, 30)
    assert "function evaluations" in res.message


def test_status_3_xtol():
    res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der,
                      options={"xtol": 1e-3, "gtol": 0.0})
    assert (res.status, res.success) == (3, True)
    assert "step size is at most xtol" in res.message


def test_status_3_when_every_step_reaches_min_step():
    res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der,
                      options={"step_sizes": (1e-4, 1.0), "gtol": 0.0})
    assert res.status == 3


def test_status_4_ftol():
    res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der,
                      options={"ftol": 1e-3, "gtol": 0.0})
    assert (res.status, res.success) == (4, True)
    assert "over the last 10 iterations" in res.message
    assert res.nit < 1000


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_status_5_nonfinite_objective_returns_best_finite_point(bad):
    def fun(x):
        return bad if x[0] > 0.5 else (x[0] - 3.0) ** 2

    res = rp.minimize(fun, [0.0], jac=lambda x: 2 * (x - 3.0),
                      options={"lr": 0.1})
    assert (res.status, res.success) == (5, False)
    assert f"The objective was not finite ({bad})" in res.message
    assert res.x[0] <= 0.5 and np.isfinite(res.fun)
    assert res.fun == (res.x[0] - 3.0) ** 2
    assert res.x_last[0] > 0.5 and not np.isfinite(res.fun_last)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_status_6_nonfinite_gradient(bad):
    def jac(x):
        grad = 2 * (x - 3.0)
        if x[0] > 0.5:
            grad[1] = bad
        return grad

    res = rp.minimize(lambda x: np.sum((x - 3.0) ** 2), [0.0, 0.0], jac=jac,
                      options={"lr": 0.1})
    assert (res.status, res.success) == (6, False)
    assert "The gradient had 1 non-finite component(s) at iteration" in res.message
    assert res.x[0] <= 0.5 and np.all(np.isfinite(res.jac))


def test_status_99_stop_iteration_from_callback():
    def stop_at_5(intermediate_result):
        if intermediate_result.nit == 5:
            raise StopIteration

    res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der, callback=stop_at_5)
    assert (res.status, res.success, res.nit) == (99, False, 5)
    assert res.message == "`callback` raised `StopIteration`."


def test_every_status_has_a_test():
    """Every status minimize can end with; 10-13 are the polish's and 20
    nan_policy='omit''s, tested with curve_fit_many."""
    tested = {0, 1, 2, 3, 4, 5, 6, 99}
    assert set(rp.STATUS_MESSAGES) - {10, 11, 12, 13, 20} == tested


# --------------------------------------------------------------------------
# Result, callbacks, display


def test_x_is_the_best_point_and_x_last_the_last():
    # from 1 with a step of 3, x jumps to -2 where f = 4 > f(1) = 1
    res = rp.minimize(lambda x: x[0] ** 2, [1.0], jac=lambda x: 2 * x,
                      options={"lr": 3.0, "maxiter": 1})
    assert (res.x[0], res.fun, res.jac[0]) == (1.0, 1.0, 2.0)
    assert (res.x_last[0], res.fun_last) == (-2.0, 4.0)


def test_both_callback_forms_see_every_iterate():
    xk_calls, result_calls = [], []
    rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der, callback=xk_calls.append,
                options={"maxiter": 5})

    def by_result(intermediate_result):
        result_calls.append(intermediate_result)

    rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der, callback=by_result,
                options={"maxiter": 5})
    assert len(xk_calls) == len(result_calls) == 5
    for xk, result in zip(xk_calls, result_calls, strict=True):
        np.testing.assert_array_equal(xk, result.x)
        assert result.fun == rosen(result.x)
        np.testing.assert_array_equal(result.jac, rosen_der(result.x))
    assert [r.nit for r in result_calls] == [1, 2, 3, 4, 5]


def test_callback_cannot_change_the_run():
    def vandal(xk):
        xk[:] = 100.0

    res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der, callback=vandal)
    assert res.success


def test_disp_prints_a_table_and_a_summary(capsys):
    rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der,
                options={"disp": True, "maxiter": 250})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["nit", "f", "best", "f", "|grad|_inf", "max",
                                "step", "nfev"]
    printed = [int(line.split()[0]) for line in lines[1:] if line[:8].strip().isdigit()]
    assert printed == list(range(1, 10)) + list(range(10, 100, 10)) + [100, 200]
    assert lines[-5] == "Maximum number of iterations has been exceeded."
    assert lines[-3].split() == ["Iterations:", "250"]


def test_progress_bar_with_tqdm(capsys):
    pytest.importorskip("tqdm")
    res = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der,
                      options={"progress": True, "maxiter": 50})
    assert "50/50" in capsys.readouterr().err
    assert res.nit == 50


def test_progress_bar_finishes_where_an_early_stop_ends_it(capsys):
    pytest.importorskip("tqdm")
    res = rp.minimize(lambda x: (x[0] - 2.0) ** 2, [0.0], options={"progress": True})
    final = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert res.success and res.nit < 20_000
    assert "100%" in final and f"{res.nit}/{res.nit}" in final
    assert "status=0 (success)" in final


def test_progress_without_tqdm_says_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="needs tqdm, which is not installed"):
        rp.minimize(rosen, [-1.2, 1.0], options={"progress": True})


def test_tol_sets_gtol():
    loose = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der, tol=1e-1)
    explicit = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der,
                           options={"gtol": 1e-1})
    _assert_same_result(loose, explicit)
    assert loose.nit < rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der).nit


def test_method_is_case_insensitive():
    a = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der, method="iRprop-",
                    options={"maxiter": 50})
    b = rp.minimize(rosen, [-1.2, 1.0], jac=rosen_der, method="irprop-",
                    options={"maxiter": 50})
    _assert_same_result(a, b)


# --------------------------------------------------------------------------
# dtypes


def test_float32_x0_stays_float32():
    x0 = np.array([-1.2, 1.0], np.float32)
    res = rp.minimize(rosen, x0, jac=rosen_der, options={"maxiter": 100})
    assert res.x.dtype == res.x_last.dtype == res.jac.dtype == np.float32


@pytest.mark.parametrize("x0", [[1, 2], np.array([1, 2]), (1.0, 2.0)])
def test_integer_or_list_x0_becomes_float64(x0):
    res = rp.minimize(lambda x: np.sum(x**2), x0, jac=lambda x: 2 * x)
    assert res.x.dtype == np.float64
    np.testing.assert_allclose(res.x, 0.0, atol=1e-5)


def test_x0_is_never_modified():
    x0 = np.array([-1.2, 1.0])
    rp.minimize(rosen, x0, jac=rosen_der, bounds=[(0.0, 2.0), (0.0, 2.0)])
    np.testing.assert_array_equal(x0, [-1.2, 1.0])


# --------------------------------------------------------------------------
# Bad input: each error names the argument


@pytest.mark.parametrize("kwargs, error, match", [
    ({"x0": []}, ValueError, r"x0 must have at least one element"),
    ({"x0": [[1.0, 2.0]]}, ValueError, r"x0 must be 1-D; got shape \(1, 2\)"),
    ({"x0": [1.0, np.nan]}, ValueError, r"x0 must be finite; x0\[1\] is nan"),
    ({"x0": [1j, 2.0]}, TypeError, r"x0 must be real numbers; got dtype complex128"),
    ({"jac": lambda x: np.zeros(3)}, ValueError,
     r"jac must return an array of shape \(2,\); got shape \(3,\)"),
    ({"jac": "4-point"}, ValueError, r"jac must be callable, True, None, or one of"),
    ({"fun": lambda x: x}, ValueError,
     r"fun must return a scalar; got an array of shape \(2,\)"),
    ({"fun": lambda x: "a"}, TypeError, r"fun must return a real number"),
    ({"fun": "rosen"}, TypeError, r"fun must be callable"),
    ({"method": "bfgs"}, ValueError,
     r"method must be one of 'rprop\+', 'rprop-', 'irprop\+', 'irprop-'; got 'bfgs'"),
    ({"method": 3}, TypeError, r"method must be a string"),
    ({"options": {"maxiter": 10, "learning_rate": 0.1, "beta": 2}}, ValueError,
     r"Unknown options: 'beta', 'learning_rate'; valid options are 'lr'"),
    ({"options": {"maxiter": -1}}, ValueError, r"maxiter must be a number >= 0; got -"),
    ({"options": {"maxiter": "9"}}, TypeError, r"maxiter must be a number >= 0; got '"),
    ({"options": {"maxiter": True}}, TypeError, r"maxiter must be a number >= 0; go"),
    ({"options": {"maxiter": np.nan}}, ValueError, r"maxiter must be a number >= 0"),
    ({"options": {"maxfev": 0}}, ValueError,
     r"maxfev must be a number >= 1 or None; got 0"),
    ({"options": {"gtol": -1e-5}}, ValueError, r"gtol must be a number >= 0"),
    ({"options": {"etas": (1.2, 0.5)}}, ValueError,
     r"etas must satisfy 0 < eta_minus < 1 < eta_plus"),
    ({"options": {"lr": -1.0}}, ValueError, r"lr must be finite and >= 0"),
    ({"options": "fast"}, TypeError, r"options must be a dict"),
    ({"bounds": [(0, 1)]}, ValueError,
     r"bounds must have one \(min, max\) pair per variable \(2\); got 1"),
    ({"bounds": [(0, 1), (2, 1)]}, ValueError,
     r"bounds: lower > upper at index 1 \(2.0 > 1.0\)"),
    ({"bounds": Bounds([0, 0, 0], [1, 1, 1])}, ValueError,
     r"bounds: lower must be a scalar or have one entry per variable \(2\); "
     r"got shape \(3,\)"),
    ({"bounds": Bounds([0, 2], [1, 1])}, ValueError, r"bounds: lower > upper"),
    ({"bounds": 3}, TypeError, r"bounds must be a scipy.optimize.Bounds"),
    ({"callback": 3}, TypeError, r"callback must be callable"),
])
def test_bad_input_names_the_argument(kwargs, error, match):
    call = {"fun": rosen, "x0": [-1.2, 1.0], "jac": rosen_der, **kwargs}
    with pytest.raises(error, match=match):
        rp.minimize(call.pop("fun"), call.pop("x0"), **call)


def test_jac_true_with_a_scalar_fun_says_what_it_expected():
    with pytest.raises(ValueError, match=r"with jac=True, fun must return \(f, grad\)"):
        rp.minimize(rosen, [-1.2, 1.0], jac=True)


def test_scipy_door_refuses_constraints_and_warns_on_hess():
    constraint = {"type": "ineq", "fun": lambda x: x[0]}
    with pytest.raises(ValueError, match="rprop does not support constraints"):
        scipy_minimize(rosen, [-1.2, 1.0], jac=rosen_der, method=rp.rprop,
                       constraints=[constraint])
    with pytest.warns(RuntimeWarning, match="does not use Hessian"):
        scipy_minimize(rosen, [-1.2, 1.0], jac=rosen_der, method=rp.rprop,
                       hess=lambda x: np.eye(2), options={"maxiter": 3})


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("maxiter, nit", [(3.5, 4), (3.0, 3), (np.int32(3), 3),
                                          (np.float32(2.2), 3)])
def test_counts_are_taken_as_scipy_takes_them(compiled, maxiter, nit):
    # SciPy's loops stop at `nit >= maxiter`: a real count acts as its ceiling.
    scipy_nit = scipy_minimize(rosen, [-1.2, 1.0], method="L-BFGS-B",
                               options={"maxiter": maxiter}).nit
    res = rp.minimize(njit_problems.rosen, [-1.2, 1.0], jac=njit_problems.rosen_grad,
                      options={"maxiter": maxiter, "compiled": compiled})
    assert res.nit == scipy_nit == nit
    assert res.status == 1


def test_an_infinite_count_is_no_limit():
    capped = rp.minimize(njit_problems.rosen, [-1.2, 1.0], jac=njit_problems.rosen_grad)
    unlimited = rp.minimize(njit_problems.rosen, [-1.2, 1.0],
                            jac=njit_problems.rosen_grad,
                            options={"maxiter": np.inf, "maxfev": np.inf})
    assert unlimited.success
    np.testing.assert_array_equal(unlimited.x, capped.x)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_scalar_x0_is_one_variable_as_in_scipy(compiled):
    fun = njit_problems.rosen if compiled else (lambda x: (x[0] - 2.0) ** 2)
    res = rp.minimize(fun, 0.5, options={"compiled": compiled})
    assert res.x.shape == scipy_minimize(fun, 0.5, method="L-BFGS-B").x.shape == (1,)
    np.testing.assert_array_equal(
        res.x, rp.minimize(fun, [0.5], options={"compiled": compiled}).x)
    many = rp.minimize_many(_square_from, 0.5, args=(np.arange(3.0),))
    assert many.x.shape == (3, 1)
    np.testing.assert_allclose(many.x[:, 0], np.arange(3.0), atol=1e-5)


@njit
def _square_from(x, centre):
    return (x[0] - centre) ** 2


def test_the_variant_has_one_name_on_both_routes():
    def f(x):
        return (x[0] - 2.0) ** 2 + 3 * x[1] ** 2

    by_method = rp.minimize(f, [0.0, 1.0], method="rprop-")
    by_option = rp.minimize(f, [0.0, 1.0], options={"variant": "rprop-"})
    by_scipy = scipy_minimize(f, [0.0, 1.0], method=rp.rprop,
                              options={"variant": "rprop-"})
    assert by_method.nit == by_option.nit == by_scipy.nit
    np.testing.assert_array_equal(by_method.x, by_option.x)
    np.testing.assert_array_equal(by_method.x, by_scipy.x)
    assert by_method.nit != rp.minimize(f, [0.0, 1.0]).nit  # not the default
    # the same variant twice is fine; two different ones are an error
    rp.minimize(f, [0.0, 1.0], method="RPROP-", options={"variant": "rprop-"})
    with pytest.raises(ValueError, match=r"method='rprop\+' and options=\{'variant': "
                                         r"'irprop-'\} name different variants"):
        rp.minimize(f, [0.0, 1.0], method="rprop+", options={"variant": "irprop-"})
    with pytest.raises(ValueError, match="variant must be one of"):
        rp.minimize(f, [0.0, 1.0], options={"variant": "adam"})


@pytest.mark.parametrize("route", ["minimize", "scipy", "minimize_many"])
def test_every_valid_options_list_names_variant(route):
    with pytest.raises(ValueError, match=r"Unknown options.*: 'varient'; .*'variant'"):
        if route == "minimize":
            rp.minimize(rosen, [0.0, 0.0], options={"varient": "rprop-"})
        elif route == "scipy":
            scipy_minimize(rosen, [0.0, 0.0], method=rp.rprop,
                           options={"varient": "rprop-"})
        else:
            rp.minimize_many(njit_problems.rosen, np.zeros((2, 2)),
                             options={"varient": "rprop-"})


def test_import_loads_numba_only_when_a_driver_needs_it():
    # Numba costs ~0.2-0.3 s of import: the batch drivers load it on first
    # access, minimize and Rprop on their first call.
    code = ("import sys, rprop_np as rp; "
            "before = 'numba' in sys.modules; "
            "missing = sorted(set(rp.__all__) - set(dir(rp))); "
            "driver = rp.minimize_many; "
            "from rprop_np import curve_fit_many; "
            "print(before, 'numba' in sys.modules, driver.__module__, "
            "curve_fit_many.__module__, missing)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["False", "True", "rprop_np._minimize_many",
                                  "rprop_np._curve_fit_many", "[]"]
    with pytest.raises(AttributeError, match="has no attribute 'minimise_many'"):
        rp.minimise_many  # noqa: B018
