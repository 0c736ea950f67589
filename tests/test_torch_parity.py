"""iRprop- equals torch.optim.Rprop bit for bit over long runs.

Both optimizers get the same gradient, computed from rprop_np's parameters,
at every step, and the parameters must stay bitwise equal for 1000 steps.
"""

import numpy as np
import pytest

import rprop_np as rp

from .problems import ill_conditioned_quadratic, least_squares, rosenbrock

torch = pytest.importorskip("torch")

STEPS = 1000


def _quadratic(x):
    objective, _ = ill_conditioned_quadratic(n=x.size, condition=1e3)
    return objective(x)


OBJECTIVES = {
    "quadratic": (_quadratic, 10),
    "rosenbrock": (rosenbrock, 8),
    "least-squares": (lambda x: least_squares(dtype=x.dtype)(x), 10),
}

HYPER = {
    "default": {},
    "custom": {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-4, 0.5)},
    "lr-above-max-step": {"lr": 100.0, "step_sizes": (1e-8, 0.2)},
    "maximize": {"maximize": True},
}


def _assert_parity(objective, x0, steps, torch_kwargs, sign=1.0, **kwargs):
    x = x0.copy()
    param = torch.from_numpy(x0.copy()).requires_grad_(True)
    reference = torch.optim.Rprop([param], **torch_kwargs, **kwargs)
    opt = rp.Rprop(x, **kwargs)
    for k in range(steps):
        _, grad = objective(x)
        grad = sign * grad
        opt.step(grad)
        param.grad = torch.from_numpy(grad.copy())
        reference.step()
        np.testing.assert_array_equal(
            x.view(np.uint8), param.detach().numpy().view(np.uint8),
            err_msg=f"rprop_np and torch differ after step {k + 1}",
        )


@pytest.mark.parametrize("foreach", [False, True], ids=["for-loop", "foreach"])
@pytest.mark.parametrize("hyper", HYPER.values(), ids=HYPER.keys())
@pytest.mark.parametrize("name", OBJECTIVES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_irprop_minus_equals_torch(name, hyper, foreach, dtype):
    objective, n = OBJECTIVES[name]
    x0 = np.random.default_rng(0).uniform(-1.5, 1.5, n).astype(dtype)
    # When maximizing, climb -f: the same landscape, so the run stays bounded.
    sign = -1.0 if hyper.get("maximize") else 1.0
    _assert_parity(objective, x0, STEPS, {"foreach": foreach}, sign=sign, **hyper)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_irprop_minus_equals_torch_on_complex_parameters(dtype):
    rng = np.random.default_rng(2)
    matrix = (rng.standard_normal((12, 6)) + 1j * rng.standard_normal((12, 6)))
    target = rng.standard_normal(12) + 1j * rng.standard_normal(12)
    matrix, target = matrix.astype(dtype), target.astype(dtype)

    def objective(z):
        residual = matrix @ z - target
        # d|r|^2/dRe(z) + i d|r|^2/dIm(z), the convention torch uses
        return np.vdot(residual, residual).real, 2 * matrix.conj().T @ residual

    x0 = (rng.standard_normal(6) + 1j * rng.standard_normal(6)).astype(dtype)
    _assert_parity(objective, x0, STEPS, {}, lr=0.05)



@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_a_zero_min_step_equals_torch(dtype):
    # step_sizes=(0, 50), common in ported code: a gradient that flips sign at
    # every step halves each step size (iRprop- every other step, after the
    # pause a flip makes) until it underflows to 0, where both keep it.
    def flipping(x):
        flipping.calls += 1
        return None, (-1.0) ** flipping.calls * np.ones_like(x)

    flipping.calls = 0
    steps = 2400 if dtype == np.float64 else 400  # halved every other step
    _assert_parity(flipping, np.linspace(-1.0, 1.0, 5).astype(dtype), steps, {},
                   lr=0.5, step_sizes=(0.0, 50.0))
    x = np.zeros(3, dtype)
    opt = rp.Rprop(x, lr=0.5, step_sizes=(0.0, 50.0))
    for k in range(steps):
        opt.step((-1.0) ** k * np.ones(3, dtype))
    assert np.all(opt.step_size == 0)


@pytest.mark.parametrize("variant_groups", ["one group", "two groups"])
def test_a_list_of_arrays_equals_torch_on_the_same_tensors(variant_groups):
    rng = np.random.default_rng(3)
    weights, bias = rng.standard_normal((3, 4)), rng.standard_normal(4)
    features, targets = rng.standard_normal((20, 3)), rng.standard_normal((20, 4))
    tensors = [torch.tensor(weights.copy(), requires_grad=True),
               torch.tensor(bias.copy(), requires_grad=True)]
    if variant_groups == "one group":
        opt = rp.Rprop([weights, bias], lr=0.05)
        reference = torch.optim.Rprop(tensors, lr=0.05)
    else:
        opt = rp.Rprop([{"params": [weights], "lr": 0.1},
                        {"params": [bias], "etas": (0.3, 1.5)}])
        reference = torch.optim.Rprop([{"params": [tensors[0]], "lr": 0.1},
                                       {"params": [tensors[1]], "etas": (0.3, 1.5)}])
    for k in range(300):
        residual = features @ weights + bias - targets
        grads = [2 * features.T @ residual, 2 * residual.sum(axis=0)]
        opt.step(grads)  # updates weights and bias in place
        for tensor, grad in zip(tensors, grads, strict=True):
            tensor.grad = torch.from_numpy(grad.copy())
        reference.step()
        for array, tensor in zip((weights, bias), tensors, strict=True):
            np.testing.assert_array_equal(
                array.view(np.uint8), tensor.detach().numpy().view(np.uint8),
                err_msg=f"rprop_np and torch differ after step {k + 1}")
