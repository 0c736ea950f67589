"""The Rprop object: convergence, groups, state round trips, dtypes, validation."""

import numpy as np
import pytest

import rprop_np as rp
from rprop_np import reference
from rprop_np._variants import variant_code

from .problems import ill_conditioned_quadratic, least_squares, rosenbrock

# --------------------------------------------------------------------------
# Convergence


def _minimize(objective, x, variant, steps, tol, solution, **kwargs):
    opt = rp.Rprop(x, variant=variant, **kwargs)
    for k in range(steps):
        f, grad = objective(x)
        opt.step(grad, f)
        if np.max(np.abs(x - solution)) < tol:
            return k + 1
    return None


@pytest.mark.parametrize("variant", rp.VARIANTS)
def test_converges_on_10d_rosenbrock(variant):
    # From 0; from (-1.2, 1, ...) rprop+ and rprop- settle in the true local
    # minimum of the 10-D Rosenbrock near x = (-1, 1, ..., 1), f = 3.99.
    x = np.zeros(10)
    steps = _minimize(rosenbrock, x, variant, 20_000, 1e-4, np.ones(10),
                      lr=0.1, step_sizes=(1e-12, 1.0))
    assert steps is not None, f"{variant} stopped at {x}"
    assert rosenbrock(x)[0] < 1e-7


@pytest.mark.parametrize("variant", rp.VARIANTS)
def test_converges_on_ill_conditioned_quadratic(variant):
    objective, center = ill_conditioned_quadratic(n=10, condition=1e4)
    x = np.zeros(10)
    steps = _minimize(objective, x, variant, 20_000, 1e-4, center,
                      lr=0.1, step_sizes=(1e-12, 1.0))
    assert steps is not None, f"{variant} stopped at {x}"


# --------------------------------------------------------------------------
# Parameter groups


def _reference_run(x, grads, variant, lr, etas, step_sizes):
    """Run the NumPy reference on one segment with its own hyper-parameters."""
    step_size = np.full(x.size, lr, x.dtype) if np.ndim(lr) == 0 else lr.copy()
    prev_sign = np.zeros(x.size, np.int8)
    prev_update = np.zeros(x.size, x.dtype)
    scalar = x.dtype.type
    for grad in grads:
        reference.rprop_step(
            variant_code(variant), x, grad, step_size, prev_sign, prev_update,
            *(scalar(v) for v in etas + step_sizes), False, False,
        )


def test_each_group_uses_its_own_hyper_parameters():
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(9)
    grads = [rng.standard_normal(9) for _ in range(20)]
    x = x0.copy()
    opt = rp.Rprop(x, lr=0.05, variant="rprop+", groups=[
        {"size": 4, "lr": 0.1},
        {"size": 3, "etas": (0.3, 1.1)},
        {"size": 2, "step_sizes": (1e-3, 0.06)},
    ])
    for grad in grads:
        opt.step(grad)
    expected = x0.copy()
    segments = [(0, 4, 0.1, (0.5, 1.2), (1e-6, 50.0)),
                (4, 7, 0.05, (0.3, 1.1), (1e-6, 50.0)),
                (7, 9, 0.05, (0.5, 1.2), (1e-3, 0.06))]
    for start, stop, lr, etas, step_sizes in segments:
        _reference_run(expected[start:stop], [g[start:stop] for g in grads],
                       "rprop+", lr, etas, step_sizes)
    np.testing.assert_array_equal(x, expected)


def test_per_component_lr_sets_each_initial_step():
    x = np.zeros((2, 2))
    lr = np.array([[0.1, 0.2], [0.3, 0.0]])
    rp.Rprop(x, lr=lr, step_sizes=(1e-3, 50)).step(np.ones((2, 2)))
    np.testing.assert_allclose(x, -np.array([[0.1, 0.2], [0.3, 1e-3]]), rtol=1e-15)


def test_per_component_lr_is_split_across_groups():
    x = np.zeros(3)
    opt = rp.Rprop(x, lr=np.array([0.1, 0.2, 0.3]),
                   groups=[{"size": 2}, {"size": 1, "etas": (0.3, 1.1)}])
    opt.step(np.ones(3))
    np.testing.assert_allclose(x, [-0.1, -0.2, -0.3], rtol=1e-15)


# --------------------------------------------------------------------------
# state_dict round trip


def _grad_and_f(x):
    objective = least_squares(m=12, n=x.size, dtype=x.real.dtype)
    if x.dtype.kind == "c":
        f_re, g_re = objective(x.real.copy())
        f_im, g_im = objective(x.imag.copy())
        return g_re + 1j * g_im, f_re + f_im
    f, grad = objective(x)
    return grad, f


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("variant", rp.VARIANTS)
def test_state_dict_round_trip_continues_bit_identically(variant, dtype, tmp_path):
    x0 = np.linspace(-1.0, 1.0, 6).astype(dtype)
    kwargs = {"variant": variant, "lr": 0.05,
              "groups": [{"size": 4}, {"size": 2, "etas": (0.4, 1.3)}]}

    x = x0.copy()
    uninterrupted = rp.Rprop(x, **kwargs)
    for _ in range(60):
        uninterrupted.step(*_grad_and_f(x))

    y = x0.copy()
    first = rp.Rprop(y, **kwargs)
    for _ in range(30):
        first.step(*_grad_and_f(y))
    np.savez(tmp_path / "state.npz", **first.state_dict())

    z = y.copy()
    resumed = rp.Rprop(z, lr=123.0, etas=(0.1, 3.0),  # overwritten by the state
                       variant=variant, groups=[{"size": 4}, {"size": 2}])
    with np.load(tmp_path / "state.npz") as saved:
        resumed.load_state_dict(saved)
    for _ in range(30):
        resumed.step(*_grad_and_f(z))

    assert resumed.iteration == uninterrupted.iteration == 60
    np.testing.assert_array_equal(z.view(np.uint8), x.view(np.uint8))
    for key, value in uninterrupted.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)


def test_state_dict_is_a_copy():
    x = np.zeros(3)
    opt = rp.Rprop(x)
    state = opt.state_dict()
    state["step_size"][:] = 7.0
    opt.step(np.ones(3))
    np.testing.assert_allclose(x, -0.01)


def test_load_state_dict_restores_the_variant_and_hyper_parameters():
    x = np.zeros(2)
    source = rp.Rprop(x.copy(), variant="rprop+", etas=(0.4, 1.3), maximize=True)
    target = rp.Rprop(x)
    target.load_state_dict(source.state_dict())
    assert (target.variant, target.maximize) == ("rprop+", True)
    assert target.state_dict()["etas"].tolist() == [[0.4, 1.3]]
    assert target.state_dict()["prev_update"].shape == (2,)


@pytest.mark.parametrize("key, value, match", [
    ("dtype", "<f4", r"state\['dtype'\] is '<f4'"),
    ("group_sizes", np.array([2, 1]), r"state\['group_sizes'\] is \[2, 1\]"),
    ("variant", "adam", r"state\['variant'\] must be one of"),
    ("etas", np.array([[0.5, 0.9]]), r"state\['etas'\]\[0\] must satisfy"),
    ("step_sizes", np.array([[1.0, 0.5]]), r"state\['step_sizes'\]\[0\] must"),
    ("step_size", np.zeros(2), r"state\['step_size'\] must be a float64 array "
                               r"of shape \(3,\); got float64 with shape \(2,\)"),
    ("prev_sign", np.zeros(3), r"state\['prev_sign'\] must be a int8 array"),
])
def test_load_state_dict_rejects_a_mismatched_state(key, value, match):
    opt = rp.Rprop(np.zeros(3))
    state = opt.state_dict()
    state[key] = value
    with pytest.raises((ValueError, TypeError), match=match):
        opt.load_state_dict(state)
    del state[key]
    with pytest.raises(KeyError, match=repr(key)):
        opt.load_state_dict(state)


# --------------------------------------------------------------------------
# dtypes and arrays


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_x_keeps_its_dtype_shape_and_identity(dtype):
    x = np.ones((2, 3), dtype)
    opt = rp.Rprop(x, lr=0.5)
    opt.step(np.ones((2, 3), dtype))
    assert x.dtype == dtype and x.shape == (2, 3)
    assert opt.x is x
    np.testing.assert_allclose(x.real, 0.5)


def test_complex_component_moves_its_real_and_imaginary_parts_apart():
    x = np.zeros(2, np.complex128)
    rp.Rprop(x, lr=0.5).step(np.array([1 - 1j, -1 + 0j]))
    np.testing.assert_array_equal(x, [-0.5 + 0.5j, 0.5 + 0j])


def test_grad_of_another_float_dtype_is_converted():
    x = np.zeros(2, np.float32)
    rp.Rprop(x, lr=0.5).step(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(x, np.array([-0.5, 0.5], np.float32))


def test_non_contiguous_and_list_gradients_are_accepted():
    x = np.zeros(3)
    opt = rp.Rprop(x, lr=0.5)
    opt.step(np.ones(6)[::2])
    opt.step([-1.0, -1.0, -1.0])
    np.testing.assert_array_equal(x, [-0.5, -0.5, -0.5])  # flip: no step


def test_step_does_not_modify_the_gradient():
    x = np.zeros(3)
    grad = np.array([1.0, np.nan, -2.0])
    rp.Rprop(x).step(grad)
    np.testing.assert_array_equal(grad, [1.0, np.nan, -2.0])


def test_irprop_plus_needs_f():
    opt = rp.Rprop(np.zeros(2), variant="IRPROP+")
    with pytest.raises(TypeError, match="needs f.*'irprop\\+'"):
        opt.step(np.ones(2))


def test_f_is_ignored_but_checked_by_other_variants():
    opt = rp.Rprop(np.zeros(2))
    opt.step(np.ones(2), 3.0)
    with pytest.raises(ValueError, match="f must be a real number; got nan"):
        opt.step(np.ones(2), np.nan)
    with pytest.raises(TypeError, match="f must be a real number; got 'a'"):
        opt.step(np.ones(2), "a")


def test_repr_names_the_variant_and_size():
    assert repr(rp.Rprop(np.zeros(4), variant="rprop-")) == (
        "Rprop(variant='rprop-', size=4, dtype=float64, groups=1, iteration=0)"
    )


# --------------------------------------------------------------------------
# Validation: every error names the argument and the value


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lr": -0.1}, ValueError, r"lr must be finite and >= 0; got -0.1"),
    ({"lr": np.nan}, ValueError, r"lr must be finite and >= 0; got nan"),
    ({"lr": np.array([0.1, -1.0, 0.1])}, ValueError, r"lr\[1\] .* is -1.0"),
    ({"lr": np.ones(2)}, ValueError, r"lr must be a scalar or have one entry per "
                                     r"component \(3\); got shape \(2,\)"),
    ({"lr": "fast"}, TypeError, r"lr must be a real number or an array"),
    ({"etas": (1.2, 0.5)}, ValueError,
     r"etas must satisfy 0 < eta_minus < 1 < eta_plus; got eta_minus=1.2, "
     r"eta_plus=0.5"),
    ({"etas": (0.0, 1.2)}, ValueError, r"etas must satisfy .* eta_minus=0.0"),
    ({"etas": (0.5, 1.0)}, ValueError, r"etas must satisfy .* eta_plus=1.0"),
    ({"etas": (0.5, np.inf)}, ValueError, r"etas: eta_plus must be finite"),
    ({"etas": 0.5}, TypeError, r"etas must be a pair of real numbers; got 0.5"),
    ({"step_sizes": (-1e-6, 1.0)}, ValueError,
     r"step_sizes must satisfy 0 <= min_step <= max_step and max_step > 0; got "
     r"min_step=-1e-06, max_step=1.0"),
    ({"step_sizes": (0.0, 0.0)}, ValueError, r"min_step=0.0, max_step=0.0"),
    ({"step_sizes": (2.0, 1.0)}, ValueError, r"min_step=2.0, max_step=1.0"),
    ({"step_sizes": (np.nan, 1.0)}, ValueError, r"min_step=nan"),
    ({"step_sizes": (1e-6, 50, 3)}, TypeError, r"step_sizes must be a pair"),
    ({"variant": "adam"}, ValueError,
     r"variant must be one of 'rprop\+', 'rprop-', 'irprop\+', 'irprop-'; "
     r"got 'adam'"),
    ({"variant": None}, ValueError, r"variant must be one of .* got None"),
    ({"maximize": "yes"}, TypeError, r"maximize must be True or False; got 'yes'"),
    ({"groups": []}, TypeError, r"groups must be a non-empty list"),
    ({"groups": [{"size": 3, "momentum": 0.9}]}, ValueError,
     r"groups\[0\] has unknown keys \['momentum'\]"),
    ({"groups": [{"size": 0}, {"size": 3}]}, ValueError,
     r"groups\[0\]\['size'\] must be a positive integer; got 0"),
    ({"groups": [{"lr": 0.1}]}, ValueError,
     r"groups\[0\]\['size'\] must be a positive integer; got None"),
    ({"groups": [{"size": 2}, {"size": 2}]}, ValueError,
     r"the group sizes add up to 4, but x has 3 components"),
    ({"groups": [{"size": 3, "etas": (2, 3)}]}, ValueError,
     r"groups\[0\]\['etas'\] must satisfy"),
    ({"groups": [{"size": 3, "lr": -1.0}]}, ValueError,
     r"groups\[0\]\['lr'\] must be finite and >= 0; got -1.0"),
    ({"groups": ["a"]}, TypeError, r"groups\[0\] must be a dict; got 'a'"),
])
def test_constructor_rejects_bad_hyper_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        rp.Rprop(np.zeros(3), **kwargs)


def _read_only():
    x = np.zeros(3)
    x.flags.writeable = False
    return x


@pytest.mark.parametrize("x, error, match", [
    ([0.0, 1.0], TypeError, r"x must be a NumPy array \(it is updated in place\) "
                            r"or a list of them; got a list of float"),
    (np.zeros(3, np.int64), TypeError, r"x must have dtype float32, float64, "
                                       r"complex64 or complex128; got int64"),
    (np.zeros((3, 4))[:, ::2], ValueError, r"x must be C-contiguous"),
    (np.zeros((3, 4)).T, ValueError, r"x must be C-contiguous"),
    (_read_only(), ValueError, r"x must be writeable"),
    (np.zeros((0, 3)), ValueError, r"x must have at least one element; got shape "
                                   r"\(0, 3\)"),
])
def test_constructor_rejects_bad_x(x, error, match):
    with pytest.raises(error, match=match):
        rp.Rprop(x)


@pytest.mark.parametrize("x, grad, error, match", [
    (np.zeros(3), np.zeros(4), ValueError,
     r"grad must have the shape of x, \(3,\); got \(4,\)"),
    (np.zeros((3, 1)), np.zeros(3), ValueError,
     r"grad must have the shape of x, \(3, 1\); got \(3,\)"),
    (np.zeros(3), np.zeros(3, complex), TypeError,
     r"grad has dtype complex128, which cannot be converted to x's dtype float64"),
    (np.zeros(3, complex), np.zeros(3), TypeError,
     r"grad must be complex for complex x \(complex128\); got float64"),
    (np.zeros(3), np.array(["a", "b", "c"]), TypeError, r"grad has dtype <U1"),
])
def test_step_rejects_bad_grad(x, grad, error, match):
    with pytest.raises(error, match=match):
        rp.Rprop(x).step(grad)


# --------------------------------------------------------------------------
# Bounds on the optimizer object


def test_bounds_project_the_step_and_shrink_the_step_size():
    # lr 0.5 from 0: component 0 would reach 0.5 but its upper bound is 0.3,
    # component 1 would reach -0.5 but its lower bound is -0.2
    x = np.zeros(3)
    opt = rp.Rprop(x, lr=0.5, variant="rprop+",
                   bounds=([-1.0, -0.2, -1.0], [0.3, 1.0, 1.0]))
    opt.step(np.array([-1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(x, [0.3, -0.2, -0.5])
    # the step size becomes the distance travelled; the update, the move made
    np.testing.assert_allclose(opt.step_size, [0.3, 0.2, 0.5], rtol=1e-15)
    np.testing.assert_allclose(opt.state_dict()["prev_update"], [0.3, -0.2, -0.5],
                               rtol=1e-15)
    # pushing on against the bound: nothing left to travel, min_step remains
    opt.step(np.array([-1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(x[:2], [0.3, -0.2])
    np.testing.assert_array_equal(opt.step_size[:2], [1e-6, 1e-6])


@pytest.mark.parametrize("x, bounds, error, match", [
    (np.zeros(2, complex), (0, 1), TypeError, r"bounds are not supported for "
                                              r"complex x"),
    (np.zeros(2), (0, 1, 2), TypeError, r"bounds must be a pair \(lower, upper\)"),
    (np.zeros(2), (np.zeros(3), 1), ValueError,
     r"bounds: lower must be a scalar or have one entry per variable \(2\); got "
     r"shape \(3,\)"),
    (np.zeros(2), (-1, [1, np.nan]), ValueError, r"bounds: upper contains NaN"),
    (np.zeros(2), ([-1, 2], 1), ValueError,
     r"bounds: lower > upper at index 1 \(2.0 > 1.0\)"),
    (np.array([0.0, 5.0]), (-1, 1), ValueError,
     r"x\[1\] \(flat index\) = 5.0 is outside bounds \[-1.0, 1.0\]"),
])
def test_bad_bounds_are_refused(x, bounds, error, match):
    with pytest.raises(error, match=match):
        rp.Rprop(x, bounds=bounds)


def test_a_list_of_arrays_is_updated_in_place_and_copies_continue_alone():
    import copy
    import pickle

    weights, bias = np.ones((2, 3)), np.zeros(3)
    opt = rp.Rprop([weights, bias], lr=0.1, variant="rprop+")
    opt.step([np.ones((2, 3)), -np.ones(3)])
    np.testing.assert_array_equal(weights, 0.9)
    np.testing.assert_array_equal(bias, 0.1)
    assert opt.x[0] is weights and opt.state_dict()["step_size"].shape == (9,)
    for twin in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        twin.step([np.ones((2, 3)), -np.ones(3)])
        np.testing.assert_array_equal(twin.x[0], 0.9 - 0.12)
        np.testing.assert_array_equal(weights, 0.9)  # the original is untouched
    # one state over all arrays, in order, restored into a fresh optimizer
    fresh = rp.Rprop([np.ones((2, 3)), np.zeros(3)], lr=0.1, variant="rprop+")
    fresh.load_state_dict(opt.state_dict())
    np.testing.assert_array_equal(fresh.state_dict()["step_size"],
                                  opt.state_dict()["step_size"])


@pytest.mark.parametrize("x, kwargs, error, match", [
    ([np.ones(2), np.ones(2, np.float32)], {}, TypeError,
     r"x\[1\] has dtype float32, but x\[0\] has float64"),
    ([np.ones((2, 3)).T], {}, ValueError, r"x\[0\] must be C-contiguous"),
    ([], {}, ValueError, "non-empty list of arrays"),
    ([np.ones(2)], {"groups": [{"size": 2}]}, TypeError, "a list gives its groups"),
    ([np.ones(2)], {"bounds": (0, 1)}, NotImplementedError, "list of arrays"),
    ([{"params": [np.ones(2)], "momentum": 0.9}], {}, ValueError,
     r"x\[0\] must have 'params' and may have 'lr'"),
    ([{"params": [np.ones(2)]}, np.ones(2)], {}, TypeError, "not a mix"),
    ([{"params": [np.ones(2)], "lr": -1.0}], {}, ValueError,
     r"groups\[0\]\['lr'\] must be finite and >= 0"),
])
def test_a_bad_list_of_arrays_is_refused_by_name(x, kwargs, error, match):
    with pytest.raises(error, match=match):
        rp.Rprop(x, **kwargs)


def test_a_list_takes_a_list_of_gradients():
    opt = rp.Rprop([np.ones(2), np.ones(3)])
    with pytest.raises(TypeError, match="grad must be a list of 2 arrays"):
        opt.step(np.ones(5))
    with pytest.raises(ValueError, match=r"grad\[1\] must have the shape of x"):
        opt.step([np.ones(2), np.ones(4)])


def test_a_cpu_tensor_is_told_to_pass_numpy():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"x is a CPU torch.Tensor; pass "
                                        r"x.detach\(\).numpy\(\)"):
        rp.Rprop(torch.zeros(3))
    with pytest.raises(TypeError, match=r"x\[1\] is a CPU torch.Tensor"):
        rp.Rprop([np.zeros(3), torch.zeros(3)])


def test_an_array_listed_twice_is_refused_as_torch_refuses_it():
    weights, base = np.ones(3), np.ones(6)
    for x in ([weights, weights], [{"params": [weights]}, {"params": [weights]}],
              [base[:4], base[2:]]):
        with pytest.raises(ValueError, match=r"shares memory with x\[0\]"):
            rp.Rprop(x)
    rp.Rprop([base[:3], base[3:]])  # disjoint views of one array are fine


def test_a_tensor_inside_a_group_dict_is_told_to_pass_numpy():
    torch = pytest.importorskip("torch")
    layer = torch.nn.Linear(2, 1)
    with pytest.raises(TypeError, match=r"x\[0\]\['params'\]\[0\] is a CPU "
                                        r"torch.Tensor; pass"):
        rp.Rprop([{"params": list(layer.parameters())}])
    with pytest.raises(TypeError, match=r"x\[0\] is a CPU torch.Tensor"):
        rp.Rprop(list(layer.parameters()))


def test_a_pickle_of_a_single_array_optimizer_from_before_lists_still_steps():
    import pickle

    x = np.zeros(3)
    opt = rp.Rprop(x, lr=0.1)
    state = opt.__getstate__()
    state["_params"] = state["_params"][0]  # as pickles kept it: one array
    old = rp.Rprop.__new__(rp.Rprop)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    old.step(np.ones(3))
    np.testing.assert_array_equal(old.x, -0.1)


@pytest.mark.parametrize("route", ["Rprop", "minimize", "compiled", "minimize_many",
                                   "curve_fit_many"])
def test_a_zero_min_step_with_bounds_is_refused(route):
    # The projection would leave a component on its bound with step size 0,
    # which never grows again: a frozen component reported as converged.
    from numba import njit

    @njit
    def bowl(x):
        return (x[0] - x[1]) ** 2 + (x[1] - 2.0) ** 2

    @njit
    def line(t, p):
        return p[0] * t + p[1]

    bounds = [(0.0, 10.0), (None, None)]
    options = {"step_sizes": (0.0, 50.0)}
    with pytest.raises(ValueError, match="min_step must be > 0 with bounds"):
        if route == "Rprop":
            rp.Rprop(np.zeros(2), step_sizes=(0.0, 50.0), bounds=(0.0, 1.0))
        elif route in ("minimize", "compiled"):
            rp.minimize(bowl, [0.0, -5.0], bounds=bounds,
                        options={**options, "compiled": route == "compiled"})
        elif route == "minimize_many":
            rp.minimize_many(bowl, np.zeros((3, 2)), bounds=bounds, options=options)
        else:
            t = np.linspace(0.0, 1.0, 10)
            rp.curve_fit_many(line, t, np.outer([1.0, 2.0], t), p0=[1.0, 0.0],
                              bounds=([0.0, -1.0], [5.0, 1.0]), **options)
    unbounded = rp.minimize(bowl, [0.0, -5.0], options=options)
    np.testing.assert_allclose(unbounded.x, [2.0, 2.0], atol=1e-4)


def test_steps_through_the_compiled_entry_point_take_any_gradient_layout():
    # After its first step a serial kernel is called through its compiled
    # entry point, which reads the gradient as a C-contiguous array of x's
    # dtype: strided, read-only and other-dtype gradients must give the same
    # bits as plain ones (against the NumPy reference).
    from rprop_np import _cpu

    rng = np.random.default_rng(5)
    gradients = rng.standard_normal((40, 2 * 300))
    x, expected = np.zeros(300), np.zeros(300)
    opt = rp.Rprop(x, lr=0.05, variant="rprop+")
    state = {"step_size": np.full(300, 0.05), "prev_sign": np.zeros(300, np.int8),
             "prev_update": np.zeros(300)}
    for i, row in enumerate(gradients):
        plain = row[::2].copy()
        given = [plain, row[::2], plain.astype(np.float32)][i % 3]
        if i % 4 == 1:
            given = np.array(given)
            given.setflags(write=False)
        opt.step(given)
        rp.reference.rprop_step(rp.VARIANTS.index("rprop+"), expected,
                                given.astype(np.float64), state["step_size"],
                                state["prev_sign"], state["prev_update"], 0.5, 1.2,
                                1e-6, 50.0, False, False)
        np.testing.assert_array_equal(x, expected)
    kernel = opt._calls[0][0][0]
    assert not isinstance(kernel, type(_cpu.SERIAL_KERNELS[0]))  # the entry point
