"""The Numba CPU kernels equal the NumPy reference, bit for bit.

Hypothesis draws whole states (parameters, gradients, step sizes, signs and
previous updates) that include zeros of both signs, sign flips, subnormals,
step sizes outside their bounds (clamped on both sides) and non-finite
gradients, and runs a few consecutive steps through both implementations.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rprop_np import _cpu, reference
from rprop_np._variants import VARIANTS

DTYPES = [np.float32, np.float64]


def _special_floats(dtype, allow_nonfinite):
    width = np.dtype(dtype).itemsize * 8
    info = np.finfo(dtype)
    specials = [0.0, -0.0, 1.0, -1.0, float(info.smallest_subnormal),
                -float(info.smallest_subnormal), float(info.tiny), float(info.max)]
    if allow_nonfinite:
        specials += [np.nan, np.inf, -np.inf]
    return st.one_of(
        st.sampled_from(specials),
        st.floats(width=width, allow_nan=allow_nonfinite,
                  allow_infinity=allow_nonfinite, allow_subnormal=True),
        st.floats(-2.0, 2.0, width=width),
    )


@st.composite
def problems(draw, dtype):
    """A state, a few gradients and hyper-parameters for one kernel run."""
    n = draw(st.integers(1, 40))
    eta_minus = draw(st.floats(0.01, 0.99, exclude_min=True, exclude_max=True))
    eta_plus = draw(st.floats(1.01, 5.0))
    min_step = draw(st.sampled_from([1e-300, 1e-40, 1e-6, 0.01, 0.5]))
    max_step = draw(st.sampled_from([min_step, 0.1, 1.0, 50.0, 1e30]))
    if max_step < min_step:
        max_step = min_step
    scalar = np.dtype(dtype).type
    hyper = tuple(scalar(v) for v in (eta_minus, eta_plus, min_step, max_step))
    # float32 rounds tiny bounds to 0 or huge ones to inf: keep them valid.
    hyper = hyper[:2] + (
        max(hyper[2], np.finfo(dtype).smallest_subnormal),
        max(hyper[3], hyper[2], np.finfo(dtype).smallest_subnormal),
    )

    width = np.dtype(dtype).itemsize * 8

    def vector(elements):
        return draw(arrays(dtype, n, elements=elements))

    state = {
        "params": vector(_special_floats(dtype, allow_nonfinite=False)),
        # step sizes drawn around and beyond the bounds, so both clamps happen
        "step_size": np.abs(vector(st.one_of(
            st.sampled_from([float(hyper[2]), float(hyper[3]), 0.0]),
            st.floats(0.0, 1e3, width=width, allow_subnormal=True),
        ))),
        "prev_sign": draw(arrays(np.int8, n, elements=st.sampled_from([-1, 0, 1]))),
        "prev_update": vector(st.floats(-10.0, 10.0, width=width)),
    }
    steps = draw(st.integers(1, 4))
    grads = [vector(_special_floats(dtype, allow_nonfinite=True)) for _ in range(steps)]
    flags = [(draw(st.booleans()), draw(st.booleans())) for _ in range(steps)]
    return state, grads, hyper, flags


def _run(kernel, variant, state, grads, hyper, flags, **options):
    state = {key: value.copy() for key, value in state.items()}
    counts = []
    for grad, (maximize, error_increased) in zip(grads, flags, strict=True):
        counts.append(kernel(
            variant, state["params"], grad, state["step_size"], state["prev_sign"],
            state["prev_update"], *hyper, maximize, error_increased, **options,
        ))
    return state, counts


def _threaded_step(variant, *args):
    """The threaded kernel itself, on all of Numba's threads: `rprop_step`'s
    ``parallel=True`` runs its serial twin where only one core is idle."""
    return _cpu.PARALLEL_KERNELS[variant](*args, *_cpu.NO_RECORD)


def _serial_step(variant, *args):
    return _cpu.rprop_step(variant, *args, parallel=False)


def _assert_bitwise_equal(actual, expected):
    for key in expected:
        np.testing.assert_array_equal(
            actual[key].view(np.uint8), expected[key].view(np.uint8),
            err_msg=f"{key} differs:\n{actual[key]!r}\n{expected[key]!r}",
        )


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("variant", range(len(VARIANTS)), ids=VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_kernel_equals_reference(data, dtype, variant, parallel):
    state, grads, hyper, flags = data.draw(problems(dtype))
    expected, expected_counts = _run(
        reference.rprop_step, variant, state, grads, hyper, flags
    )
    step = _threaded_step if parallel else _serial_step
    actual, counts = _run(step, variant, state, grads, hyper, flags)
    assert counts == expected_counts
    assert counts == [int(np.count_nonzero(~np.isfinite(g))) for g in grads]
    _assert_bitwise_equal(actual, expected)


@pytest.mark.parametrize("variant", range(len(VARIANTS)), ids=VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_serial_and_parallel_agree_on_a_large_problem(dtype, variant):
    rng = np.random.default_rng(variant)
    n = _cpu.PARALLEL_MIN_SIZE + 12345
    state = {
        "params": rng.standard_normal(n).astype(dtype),
        "step_size": np.full(n, 0.01, dtype),
        "prev_sign": np.zeros(n, np.int8),
        "prev_update": np.zeros(n, dtype),
    }
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(5)]
    grads[2][::1000] = np.nan
    hyper = tuple(np.dtype(dtype).type(v) for v in (0.5, 1.2, 1e-6, 50.0))
    flags = [(False, k % 2 == 0) for k in range(5)]
    serial, serial_counts = _run(_serial_step, variant, state, grads, hyper, flags)
    threaded, threaded_counts = _run(_threaded_step, variant, state, grads, hyper,
                                     flags)
    # The default at this size: threaded on the idle cores, serial on one.
    default, default_counts = _run(_cpu.rprop_step, variant, state, grads, hyper, flags)
    reference_state, reference_counts = _run(
        reference.rprop_step, variant, state, grads, hyper, flags
    )
    nans = len(range(0, n, 1000))
    assert (serial_counts == threaded_counts == default_counts == reference_counts
            == [0, 0, nans, 0, 0])
    _assert_bitwise_equal(threaded, serial)
    _assert_bitwise_equal(default, serial)
    _assert_bitwise_equal(default, reference_state)


@pytest.mark.parametrize("variant", [1, 3], ids=["rprop-", "irprop-"])
def test_minus_variants_need_no_prev_update(variant):
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(30) for _ in range(6)]
    hyper = (0.5, 1.2, 1e-6, 50.0)
    states = []
    for backend in (reference.rprop_step, _cpu.rprop_step):
        for prev_update in (np.zeros(30), np.zeros(0)):
            state = {"params": np.linspace(-1, 1, 30), "step_size": np.full(30, 0.1),
                     "prev_sign": np.zeros(30, np.int8), "prev_update": prev_update}
            states.append(_run(backend, variant, state, grads, hyper,
                               [(False, True)] * 6)[0])
    for state in states[1:]:
        for key in ("params", "step_size", "prev_sign"):
            np.testing.assert_array_equal(state[key], states[0][key])


@pytest.mark.parametrize("variant", range(len(VARIANTS)), ids=VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_an_infinite_step_size_with_a_zero_gradient_stores_a_zero_update(dtype,
                                                                        variant):
    # max_step = inf lets a step size grow to inf; a zero gradient then takes
    # no step, and the update it stores (backtracked by the + variants) is 0,
    # not 0 * inf.
    inf = np.dtype(dtype).type(np.inf)
    state = {"params": np.array([1.0, -0.0, 2.0, 3.0], dtype),
             "step_size": np.array([inf, inf, 0.5, inf], dtype),
             "prev_sign": np.array([1, -1, 1, 0], np.int8),
             "prev_update": np.array([-1.0, 1.0, -0.5, 0.0], dtype)}
    grads = [np.array([0.0, 0.0, 1.0, 0.0], dtype), np.array([1.0, -1.0, -1.0, 0.0],
                                                              dtype)]
    hyper = tuple(np.dtype(dtype).type(v) for v in (0.5, 1.2, 1e-6, np.inf))
    flags = [(False, True), (False, True)]
    with np.errstate(invalid="raise"):
        expected, _ = _run(reference.rprop_step, variant, state, grads, hyper, flags)
    actual, _ = _run(_cpu.rprop_step, variant, state, grads, hyper, flags)
    _assert_bitwise_equal(actual, expected)
    assert not np.isnan(actual["params"]).any()
    if variant in (0, 2):  # the + variants keep their updates
        once, _ = _run(_cpu.rprop_step, variant, state, grads[:1], hyper, flags[:1])
        np.testing.assert_array_equal(once["prev_update"][[0, 1, 3]], 0.0)


@pytest.mark.parametrize("variant", range(len(VARIANTS)), ids=VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_a_batch_step_backtracks_and_records_each_component_by_its_flags(dtype,
                                                                          variant):
    # _vectorized steps a batch of problems in one call: each component has
    # its own "objective rose" flag, and the components flagged as at their
    # best point record the point and gradient before the step. Against the
    # reference, one component at a time with its own flag; 1,500 components
    # run the vector loop and its remainder.
    rng = np.random.default_rng(variant)
    n = 1500
    state = {"params": rng.standard_normal(n).astype(dtype),
             "step_size": rng.uniform(0.01, 0.1, n).astype(dtype),
             "prev_sign": rng.integers(-1, 2, n).astype(np.int8),
             "prev_update": rng.standard_normal(n).astype(dtype)}
    grad = rng.standard_normal(n).astype(dtype)
    rose = rng.random(n) < 0.5
    improved = rng.random(n) < 0.5
    hyper = tuple(np.dtype(dtype).type(v) for v in (0.5, 1.2, 1e-6, 50.0))
    actual = {key: value.copy() for key, value in state.items()}
    best_params = np.full(n, np.nan, dtype)
    best_grad = np.full(n, np.nan, dtype)
    _cpu.SERIAL_KERNELS[variant](
        actual["params"], grad, actual["step_size"], actual["prev_sign"],
        actual["prev_update"], *hyper, False, rose, improved, best_params, best_grad)
    for i in rng.choice(n, 60, replace=False):
        one = {key: value[i:i + 1].copy() for key, value in state.items()}
        reference.rprop_step(variant, one["params"], grad[i:i + 1], one["step_size"],
                             one["prev_sign"], one["prev_update"], *hyper, False,
                             bool(rose[i]))
        for key in one:
            assert one[key][0] == actual[key][i] or (
                key == "prev_update" and variant in (1, 3)), (key, i)
    np.testing.assert_array_equal(best_params[improved], state["params"][improved])
    np.testing.assert_array_equal(best_grad[improved], grad[improved])
    assert np.isnan(best_params[~improved]).all()
    assert np.isnan(best_grad[~improved]).all()
