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

