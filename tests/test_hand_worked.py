"""Three hand-computed steps of every variant.

A convergence test cannot see an update that is one step late (optax's rprop
shipped one for years); these numbers were worked out on paper from the rules
in DESIGN.md section 1.

Setup for every case: x0 = [1.0, -2.0], lr = 0.1, etas = (0.5, 1.2),
step_sizes = (0.06, 0.13), and the gradients, given by hand:

    step 1: g = [+2, -1]   first step: both move by lr against the sign
    step 2: g = [+3, +1]   component 0 keeps its sign: D0 = 0.1 * 1.2 = 0.12
                           component 1 flips: D1 = max(0.1 * 0.5, 0.06) = 0.06
                           (clamped at min_step)
    step 3: g = [+1, +4]   component 0 again: D0 = min(0.144, 0.13) = 0.13
                           (clamped at max_step)
"""

import numpy as np
import pytest

import rprop_np as rp
from rprop_np import _cpu, reference
from rprop_np._variants import variant_code

GRADS = [[2.0, -1.0], [3.0, 1.0], [1.0, 4.0]]
HYPER = {"lr": 0.1, "etas": (0.5, 1.2), "step_sizes": (0.06, 0.13)}

# (variant, objective values passed as f, x after each step, D after each step)
CASES = [
    pytest.param(
        "irprop-", None,
        # step 2: component 1 flips, takes no step; step 3: it restarts at D1
        [[0.9, -1.9], [0.78, -1.9], [0.65, -1.96]],
        [[0.1, 0.1], [0.12, 0.06], [0.13, 0.06]],
        id="irprop-",
    ),
    pytest.param(
        "rprop-", None,
        # step 2: component 1 flips but steps anyway (-1.9 - 0.06);
        # step 3: same sign again, D1 = 0.06 * 1.2 = 0.072
        [[0.9, -1.9], [0.78, -1.96], [0.65, -2.032]],
        [[0.1, 0.1], [0.12, 0.06], [0.13, 0.072]],
        id="rprop-",
    ),
    pytest.param(
        "rprop+", None,
        # step 2: component 1 flips and undoes its first step (+0.1): -2.0
        [[0.9, -1.9], [0.78, -2.0], [0.65, -2.06]],
        [[0.1, 0.1], [0.12, 0.06], [0.13, 0.06]],
        id="rprop+",
    ),
    pytest.param(
        "irprop+", [5.0, 6.0, 4.0],
        # the objective rose at step 2 (6 > 5): backtrack as rprop+
        [[0.9, -1.9], [0.78, -2.0], [0.65, -2.06]],
        [[0.1, 0.1], [0.12, 0.06], [0.13, 0.06]],
        id="irprop+-error-rose",
    ),
    pytest.param(
        "irprop+", [5.0, 4.0, 3.0],
        # the objective fell at step 2: no backtrack, no step, as irprop-
        [[0.9, -1.9], [0.78, -1.9], [0.65, -1.96]],
        [[0.1, 0.1], [0.12, 0.06], [0.13, 0.06]],
        id="irprop+-error-fell",
    ),
]


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-15), (np.float32, 3e-7)])
@pytest.mark.parametrize("variant, objective, expected_x, expected_step", CASES)
def test_three_steps_of_the_optimizer(
    variant, objective, expected_x, expected_step, dtype, rtol
):
    x = np.array([1.0, -2.0], dtype)
    opt = rp.Rprop(x, variant=variant, **HYPER)
    for k, grad in enumerate(GRADS):
        f = None if objective is None else objective[k]
        assert opt.step(np.array(grad, dtype), f) == 0
        np.testing.assert_allclose(x, expected_x[k], rtol=rtol)
        np.testing.assert_allclose(
            opt.state_dict()["step_size"], expected_step[k], rtol=rtol
        )


@pytest.mark.parametrize("backend", [reference.rprop_step, _cpu.rprop_step])
@pytest.mark.parametrize("variant, objective, expected_x, expected_step", CASES)
def test_three_steps_of_each_backend(
    backend, variant, objective, expected_x, expected_step
):
    code = variant_code(variant)
    x = np.array([1.0, -2.0])
    step_size = np.full(2, 0.1)
    prev_sign = np.zeros(2, np.int8)
    prev_update = np.zeros(2)
    previous_f = np.inf
    expected_signs = {
        "irprop-": [[1, -1], [1, 0], [1, 1]],
        "rprop-": [[1, -1], [1, 1], [1, 1]],
        "rprop+": [[1, -1], [1, 0], [1, 1]],
        "irprop+": [[1, -1], [1, 0], [1, 1]],
    }[variant]
    for k, grad in enumerate(GRADS):
        f = np.inf if objective is None else objective[k]
        nonfinite = backend(
            code, x, np.array(grad), step_size, prev_sign, prev_update,
            0.5, 1.2, 0.06, 0.13, False, f > previous_f,
        )
        previous_f = f
        assert nonfinite == 0
        np.testing.assert_allclose(x, expected_x[k], rtol=1e-15)
        np.testing.assert_allclose(step_size, expected_step[k], rtol=1e-15)
        np.testing.assert_array_equal(prev_sign, expected_signs[k])


def test_plus_variants_remember_the_update_they_took():
    x = np.array([1.0, -2.0])
    opt = rp.Rprop(x, variant="rprop+", **HYPER)
    opt.step(np.array(GRADS[0]))
    np.testing.assert_allclose(opt.state_dict()["prev_update"], [-0.1, 0.1])
    opt.step(np.array(GRADS[1]))
    # component 1 backtracked: nothing is left to undo, so its update is 0
    np.testing.assert_allclose(opt.state_dict()["prev_update"], [-0.12, 0.0])


def test_maximize_climbs():
    x = np.array([1.0, -2.0])
    opt = rp.Rprop(x, maximize=True, **HYPER)
    opt.step(np.array(GRADS[0]))
    np.testing.assert_allclose(x, [1.1, -2.1], rtol=1e-15)


def test_lr_above_max_step_is_clamped_on_the_first_step():
    x = np.array([0.0])
    opt = rp.Rprop(x, lr=5.0, step_sizes=(0.06, 0.13))
    opt.step(np.array([1.0]))
    np.testing.assert_allclose(x, [-0.13], rtol=1e-15)


@pytest.mark.parametrize("variant", rp.VARIANTS)
def test_nonfinite_gradient_leaves_its_component_untouched(variant):
    x = np.array([1.0, -2.0, 3.0])
    opt = rp.Rprop(x, variant=variant, **HYPER)
    opt.step(np.array([1.0, 1.0, 1.0]), 1.0)
    before = opt.state_dict()
    assert opt.step(np.array([np.nan, -np.inf, 1.0]), 2.0) == 2
    after = opt.state_dict()
    np.testing.assert_array_equal(x[:2], [0.9, -2.1])
    assert x[2] == pytest.approx(3.0 - 0.1 - 0.12)
    for key in ("step_size", "prev_sign", "prev_update"):
        np.testing.assert_array_equal(after[key][:2], before[key][:2])
