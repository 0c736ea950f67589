"""``minimize_many(..., vectorized=True)``: one call of fun for every running problem.

Each problem's result must be bit for bit the compiled loop's (and so
``minimize``'s): the objectives below compute each row as the ``@njit`` ones
of ``njit_problems`` compute one problem.
"""

import numpy as np
import pytest
from scipy.optimize import Bounds

import rprop_np as rp
from rprop_np._vectorized import UNROLLED_MAX

from .njit_problems import walled, walled_grad
from .test_compiled import many_problems

FIELDS = ("x", "fun", "jac", "nit", "nfev", "njev", "status", "success", "x_last",
          "fun_last")


def walled_rows(x, centres, scales, walls):
    """`walled` for every row of x at once."""
    f = np.sum(scales * (x - centres) ** 2, axis=1)
    f[x[:, 0] > walls] = np.nan
    return f


def walled_rows_grad(x, centres, scales, walls):
    return 2.0 * scales * (x - centres)


def walled_rows_both(x, centres, scales, walls):
    return walled_rows(x, centres, scales, walls), walled_rows_grad(
        x, centres, scales, walls)


def nan_grad_rows(x, centres, scales, walls):
    """`njit_problems.nan_grad_past_one` for every row."""
    grad = 2.0 * scales * (x - centres)
    grad[x[:, 0] > 1.0, 0] = np.nan
    return grad


def assert_same(vectorized, compiled):
    for field in FIELDS:
        np.testing.assert_array_equal(vectorized[field], compiled[field],
                                      err_msg=field)
    assert vectorized.message == compiled.message


@pytest.mark.parametrize("method", ["irprop+", "irprop-", "rprop+", "rprop-"])
def test_equals_the_compiled_loop_for_every_variant(method):
    x0, args = many_problems(m=500)
    options = {"maxiter": 100, "gtol": 1e-8}
    compiled = rp.minimize_many(walled, x0, args=args, jac=walled_grad,
                                method=method, options=options)
    assert {0, 1, 5} <= set(compiled.status.tolist())  # stops of several kinds
    vectorized = rp.minimize_many(walled_rows, x0, args=args, jac=walled_rows_grad,
                                  method=method, options=options, vectorized=True)
    assert_same(vectorized, compiled)


def test_equals_one_minimize_per_problem():
    x0, args = many_problems(m=30, seed=3)
    res = rp.minimize_many(walled_rows_both, x0, args=args, jac=True,
                           options={"maxiter": 200}, vectorized=True)
    for i in range(len(x0)):
        one = rp.minimize(walled, x0[i], args=tuple(a[i] for a in args),
                          jac=walled_grad, options={"maxiter": 200, "compiled": False})
        for field in ("x", "fun", "jac", "nit", "nfev", "njev", "status"):
            np.testing.assert_array_equal(res[field][i], one[field], err_msg=field)


def test_differences_bounds_and_groups_equal_the_compiled_loop():
    x0, args = many_problems(m=200, seed=1)
    bounds = [(-2.0, 2.0), (0.25, 0.25), (None, 0.5)]  # the middle one is fixed
    groups = [{"size": 1, "lr": 0.1}, {"size": 2, "etas": (0.4, 1.3)}]
    options = {"maxiter": 300, "groups": groups, "xtol": 1e-9, "ftol": 1e-12}
    compiled = rp.minimize_many(walled, x0, args=args, bounds=bounds, options=options)
    vectorized = rp.minimize_many(walled_rows, x0, args=args, bounds=bounds,
                                  options=options, vectorized=True)
    assert_same(vectorized, compiled)
    assert {3, 4} & set(compiled.status.tolist())  # xtol or ftol ended some
    assert np.all(vectorized.x[:, 1] == 0.25)
    # a fixed variable is held, not differenced: one call each for the other two
    assert np.all(vectorized.nfev == 3 * vectorized.njev)


@pytest.mark.parametrize("method", ["irprop+", "irprop-", "rprop+", "rprop-"])
def test_bounds_with_one_group_equal_the_compiled_loop(method):
    # One group: every row steps at once (_cpu's kernel, then the projection
    # of the whole batch), unlike the groups above, stepped row by row.
    x0, args = many_problems(m=300, seed=6)
    bounds = [(-1.0, 1.5), (None, 0.5), (-0.5, None)]
    options = {"maxiter": 150, "lr": 0.3}
    for start in (x0, x0.astype(np.float32)):
        compiled = rp.minimize_many(walled, start, args=args, jac=walled_grad,
                                    bounds=bounds, method=method, options=options)
        vectorized = rp.minimize_many(walled_rows, start, args=args,
                                      jac=walled_rows_grad, bounds=bounds,
                                      method=method, options=options,
                                      vectorized=True)
        assert vectorized.x.dtype == start.dtype
        assert_same(vectorized, compiled)
        on_a_bound = (compiled.x == [1.5, 0.5, -0.5]) | (compiled.x == -1.0)
        assert on_a_bound.any(axis=0).all()  # every bound held some problem


@pytest.mark.parametrize("n", [1, UNROLLED_MAX, UNROLLED_MAX + 1])
def test_every_parameter_count_equals_the_compiled_loop(n):
    # Up to UNROLLED_MAX parameters advance is compiled for their count (its
    # loops unrolled), above it for any: both, with bounds and ftol's ring
    # buffer, take the compiled loop's steps and stops.
    rng = np.random.default_rng(n)
    m = 300
    centres = rng.normal(size=(m, n)) * 3
    scales = 10.0 ** rng.uniform(-3, 3, size=(m, n))
    walls = np.where(rng.random(m) < 0.1, -0.5, np.inf)
    x0 = rng.normal(size=(m, n))
    x0[:, 0] = np.minimum(x0[:, 0], -1.0)
    args = (centres, scales, walls)

    def walled_rows_in_order(x, centres, scales, walls):
        # walled_rows, summed from the first column on as Numba's np.sum of
        # one row sums (NumPy's sum of 8 or more is pairwise)
        terms = scales * (x - centres) ** 2
        f = terms[:, 0].copy()
        for column in range(1, n):
            f += terms[:, column]
        f[x[:, 0] > walls] = np.nan
        return f

    for bounds, options in ((None, {"maxiter": 100, "gtol": 1e-8}),
                            (Bounds(-1.0, 1.5), {"maxiter": 150, "ftol": 1e-9})):
        compiled = rp.minimize_many(walled, x0, args=args, jac=walled_grad,
                                    bounds=bounds, options=options)
        vectorized = rp.minimize_many(walled_rows_in_order, x0, args=args,
                                      jac=walled_rows_grad, bounds=bounds,
                                      options=options, vectorized=True)
        assert len(set(compiled.status.tolist())) >= 2  # stops of several kinds
        assert_same(vectorized, compiled)


@pytest.mark.parametrize("convert", [
    lambda g: np.asfortranarray(g),
    lambda g: g.astype(np.float32),
    lambda g: g.tolist(),
    lambda g: np.broadcast_to(g, g.shape),  # read-only
])
def test_a_gradient_of_another_layout_or_type_is_read_as_its_values(convert):
    x0, args = many_problems(m=100, seed=8)
    expected = rp.minimize_many(walled_rows, x0, args=args, jac=walled_rows_grad,
                                vectorized=True)
    got = rp.minimize_many(walled_rows, x0, args=args, vectorized=True,
                           jac=lambda x, *a: convert(walled_rows_grad(x, *a)))
    if np.asarray(convert(np.ones((1, 1)))).dtype == np.float32:
        # Rounded values, the same signs: Rprop's steps barely move.
        np.testing.assert_allclose(got.x, expected.x, atol=1e-5)
        np.testing.assert_array_equal(got.jac, expected.jac.astype(np.float32))
    else:
        assert_same(got, expected)


def test_a_fortran_ordered_start_and_a_gradient_changing_layout():
    # x0 may be any layout (a transposed array of starts); jac may return a
    # C-ordered gradient once and a Fortran-ordered one after: each is read
    # by its values (the compiled step reads rows as contiguous memory).
    x0, args = many_problems(m=100, seed=8)
    expected = rp.minimize_many(walled_rows, x0, args=args, jac=walled_rows_grad,
                                vectorized=True)
    for start in (np.asfortranarray(x0), np.ascontiguousarray(x0.T).T):
        assert not start.flags.c_contiguous
        assert_same(rp.minimize_many(walled_rows, start, args=args,
                                     jac=walled_rows_grad, vectorized=True), expected)
    calls = []

    def changing(x, *a):
        calls.append(1)
        grad = walled_rows_grad(x, *a)
        return grad if len(calls) == 1 else np.asfortranarray(grad)

    assert_same(rp.minimize_many(walled_rows, x0, args=args, jac=changing,
                                 vectorized=True), expected)
    assert len(calls) > 10


def test_float32_and_a_nan_gradient_equal_the_compiled_loop():
    from .njit_problems import nan_grad_past_one

    x0, args = many_problems(m=200, seed=2)
    x0[:50, 0] = 0.9  # these step past x[0] = 1, where the gradient is NaN
    for start in (x0, x0.astype(np.float32)):
        compiled = rp.minimize_many(walled, start, args=args, jac=nan_grad_past_one,
                                    options={"maxiter": 150})
        vectorized = rp.minimize_many(walled_rows, start, args=args,
                                      jac=nan_grad_rows, options={"maxiter": 150},
                                      vectorized=True)
        assert 6 in compiled.status  # gradient not finite
        assert vectorized.x.dtype == start.dtype
        assert_same(vectorized, compiled)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_best_points_away_from_the_last_equal_the_compiled_loop(dtype):
    # lr 2.0 overshoots, so many problems end away from their best point:
    # with one group the step kernel records it, with several (and for a
    # problem that stops) advance copies it; one problem alone stops as the
    # last running row, after which no kernel runs.
    x0, args = many_problems(m=200, seed=9)
    groups = [{"size": 1, "lr": 2.0}, {"size": 2, "etas": (0.4, 1.3)}]
    bounds = [(-2.0, 2.0), (None, 0.5), (-0.5, None)]
    for options in ({"lr": 2.0}, {"groups": groups}):
        options = {**options, "maxiter": 37, "ftol": 1e-3}
        for m in (200, 1):
            start, problem_args = x0[:m].astype(dtype), tuple(a[:m] for a in args)
            compiled = rp.minimize_many(walled, start, args=problem_args,
                                        jac=walled_grad, bounds=bounds,
                                        method="rprop+", options=options)
            vectorized = rp.minimize_many(walled_rows, start, args=problem_args,
                                          jac=walled_rows_grad, bounds=bounds,
                                          method="rprop+", options=options,
                                          vectorized=True)
            assert_same(vectorized, compiled)
            if m > 1:
                assert (compiled.x != compiled.x_last).any(axis=1).sum() > 20


def test_the_result_prints_with_every_status_message():
    # SciPy's repr takes a dict value for a nested result with string keys:
    # printing this result (a notebook's last line) raised on the codes.
    x0, args = many_problems(m=60)
    for vectorized, fun, jac in ((True, walled_rows, walled_rows_grad),
                                 (False, walled, walled_grad)):
        res = rp.minimize_many(fun, x0, args=args, jac=jac, vectorized=vectorized,
                               options={"maxiter": 40})
        assert len(res.message) >= 2
        text = repr(res)
        for code, message in res.message.items():
            assert f"{code}: {message}" in text
        assert "nit: [" in text and text == str(res)


def test_a_problem_is_the_same_in_any_batch():
    x0, args = many_problems(m=300, seed=4)
    whole = rp.minimize_many(walled_rows, x0, args=args, jac=walled_rows_grad,
                             vectorized=True)
    pick = np.random.default_rng(0).permutation(300)[:37]
    part = rp.minimize_many(walled_rows, x0[pick], args=tuple(a[pick] for a in args),
                            jac=walled_rows_grad, vectorized=True)
    for field in FIELDS:
        np.testing.assert_array_equal(part[field], whole[field][pick], err_msg=field)


def test_fun_sees_only_the_running_problems_with_a_copy_of_x():
    x0, args = many_problems(m=100, seed=5)
    seen = []
    kept = []

    def recording(x, centres, scales, walls):
        seen.append(len(x))
        kept.append(x)  # a memo may keep x: it must not change afterwards
        assert x.flags.writeable and x.flags.owndata
        assert not centres.flags.writeable
        assert len(centres) == len(scales) == len(walls) == len(x)
        return walled_rows(x, centres, scales, walls)

    res = rp.minimize_many(recording, x0, args=args, jac=walled_rows_grad,
                           options={"maxiter": 80}, vectorized=True)
    assert seen[0] == 100 and seen[-1] >= 1
    assert all(a >= b for a, b in zip(seen, seen[1:], strict=False))
    assert len(set(seen)) > 3  # the batch shrank as problems stopped
    assert len(seen) == res.nit.max() + 1
    np.testing.assert_array_equal(kept[0], x0)  # still the starts
    assert not np.array_equal(kept[1], kept[2])
    # the caller's arrays are untouched
    x0_again, args_again = many_problems(m=100, seed=5)
    np.testing.assert_array_equal(x0, x0_again)
    for a, b in zip(args, args_again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_single_start_and_scalar_arguments():
    centres = np.linspace(-3.0, 3.0, 50)

    def bowl(x, centre):
        return np.sum((x - centre[:, None]) ** 2, axis=1)

    res = rp.minimize_many(bowl, np.zeros(2), args=(centres,), vectorized=True)
    np.testing.assert_allclose(res.x, np.column_stack([centres, centres]), atol=1e-5)
    assert res.success.all() and res.x.shape == (50, 2)


def test_an_exception_in_fun_reaches_the_caller():
    x0, args = many_problems(m=20)
    calls = []

    def failing(x, *args):
        calls.append(1)
        if len(calls) == 3:
            raise ZeroDivisionError("user's own error")
        return walled_rows(x, *args)

    with pytest.raises(ZeroDivisionError, match="user's own error"):
        rp.minimize_many(failing, x0, args=args, jac=walled_rows_grad,
                         vectorized=True)


def test_a_function_that_reuses_its_output_buffers_is_read_in_time():
    # fun returns the same array every call (np.sum(..., out=...)); the
    # forward differences call it n + 1 times per iteration.
    x0, args = many_problems(m=50, seed=7)
    buffer = np.empty(50)
    grad_buffer = np.empty((50, 3))

    def reusing(x, centres, scales, walls):
        out = np.sum(scales * (x - centres) ** 2, axis=1, out=buffer[:len(x)])
        out[x[:, 0] > walls] = np.nan
        return out

    def reusing_grad(x, centres, scales, walls):
        np.multiply(2.0 * scales, x - centres, out=grad_buffer[:len(x)])
        return grad_buffer[:len(x)]

    for jac, compiled_jac in ((None, None), (reusing_grad, walled_grad)):
        expected = rp.minimize_many(walled, x0, args=args, jac=compiled_jac)
        got = rp.minimize_many(reusing, x0, args=args, jac=jac, vectorized=True)
        assert_same(got, expected)
        assert got.nit.min() > 10


def test_jac_true_takes_a_list_pair_as_minimize_does():
    x0, args = many_problems(m=20, seed=8)
    as_list = rp.minimize_many(lambda *a: list(walled_rows_both(*a)), x0, args=args,
                               jac=True, vectorized=True)
    assert_same(as_list, rp.minimize_many(walled_rows_both, x0, args=args, jac=True,
                                          vectorized=True))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(vectorized="yes"), TypeError, "vectorized must be True or False"),
    (dict(fun=3.0), TypeError, "fun must be callable"),
    (dict(options={"parallel": 1}), TypeError, "parallel must be None, True or False"),
    (dict(options={"parallel": True}), ValueError,
     r"options\['parallel'\] cannot be True with vectorized=True"),
    (dict(fun=lambda x, *a: np.zeros(len(x) + 1)), ValueError,
     r"fun must return f of shape \(k,\): one value per row of x, here \(4,\); "
     r"got shape \(5,\)"),
    (dict(fun=lambda x, *a: np.zeros(len(x), complex)), TypeError,
     "fun must return real numbers for f"),
    (dict(jac=lambda x, *a: np.zeros(x.shape[1])), ValueError,
     r"jac must return the gradient of shape \(k, n\) of x, here \(4, 3\); "
     r"got shape \(3,\)"),
    (dict(fun=walled_rows, jac=True), TypeError,
     r"with jac=True and vectorized=True, fun must return a pair .* got shape \(4,\)"),
    (dict(fun=lambda x, *a: None), ValueError, r"f of shape .* got None"),
    (dict(jac=lambda x, *a: [[1.0, 2.0, 3.0]] + [[1.0]] * (len(x) - 1)), ValueError,
     "jac must return the gradient as an array; got list that NumPy cannot"),
    (dict(fun=lambda x, *a: [[1.0], [1.0, 2.0]]), ValueError,
     "fun must return f as an array; got list"),
])
def test_bad_input_names_the_argument(kwargs, error, match):
    call = dict(fun=walled_rows, x0=np.zeros((4, 3)), jac=walled_rows_grad,
                args=(np.zeros((4, 3)), np.ones((4, 3)), np.full(4, np.inf)),
                vectorized=True)
    call.update(kwargs)
    with pytest.raises(error, match=match):
        rp.minimize_many(**call)


def test_without_vectorized_a_python_fun_is_refused_with_the_way_out():
    with pytest.raises(TypeError, match="or take every problem at once with "
                       "vectorized=True"):
        rp.minimize_many(walled_rows, np.zeros((4, 3)), args=(
            np.zeros((4, 3)), np.ones((4, 3)), np.full(4, np.inf)))
