"""The CUDA backend equals the CPU kernels bit for bit.

CI runs these on Numba's CUDA simulator (tests/conftest.py turns it on where
there is no NVIDIA driver); on a machine with a GPU the same tests run on it.
Arrays stay small: the simulator runs every GPU thread as a Python thread.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rprop_np as rp
from rprop_np import _cpu

from .test_kernels import _assert_bitwise_equal, problems

cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")
if not cuda.is_available():
    pytest.skip("neither a CUDA GPU nor the CUDA simulator is available",
                allow_module_level=True)

from rprop_np import _cuda  # noqa: E402  (needs numba.cuda, checked above)

SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
print(f"\nCUDA tests run on {'the simulator' if SIMULATED else 'a real GPU'}")


@pytest.mark.parametrize("variant", range(4), ids=rp.VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_cuda_kernel_equals_cpu_kernel(data, dtype, variant):
    state, grads, hyper, flags = data.draw(problems(dtype))
    host = {key: value.copy() for key, value in state.items()}
    device = {key: cuda.to_device(value) for key, value in state.items()}
    counter = cuda.to_device(np.zeros(1, np.int64))
    for grad, (maximize, error_increased) in zip(grads, flags, strict=True):
        _cpu.rprop_step(variant, host["params"], grad, host["step_size"],
                        host["prev_sign"], host["prev_update"], *hyper,
                        maximize, error_increased)
        _cuda.rprop_step(variant, device["params"], cuda.to_device(grad),
                         device["step_size"], device["prev_sign"],
                         device["prev_update"], *hyper, maximize,
                         error_increased, counter)
    _assert_bitwise_equal({k: v.copy_to_host() for k, v in device.items()}, host)
    expected = sum(int(np.count_nonzero(~np.isfinite(g))) for g in grads)
    assert counter.copy_to_host()[0] == expected


@pytest.mark.parametrize("variant", rp.VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_rprop_on_device_arrays_equals_rprop_on_host(dtype, variant):
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal(37).astype(dtype)
    if x0.dtype.kind == "c":
        x0 += 1j * rng.standard_normal(37)
    host_x, device_x = x0.copy(), cuda.to_device(x0)
    kwargs = {"variant": variant, "lr": 5.0, "step_sizes": (1e-3, 0.7),  # clamps
              "groups": [{"size": 30}, {"size": 7, "etas": (0.3, 1.4)}]}
    host, device = rp.Rprop(host_x, **kwargs), rp.Rprop(device_x, **kwargs)
    for k in range(12):
        grad = (host_x - 0.3 * k).astype(dtype)
        grad[::9] = np.inf
        assert host.step(grad, float(k % 4)) == 5  # inf + 0j: one bad part each
        assert device.step(cuda.to_device(grad), float(k % 4)) is None
    np.testing.assert_array_equal(device_x.copy_to_host().view(np.uint8),
                                  host_x.view(np.uint8))
    assert device.nonfinite_total == host.nonfinite_total > 0
    for key, value in host.state_dict().items():
        np.testing.assert_array_equal(device.state_dict()[key], value, err_msg=key)


@pytest.mark.parametrize("variant", ["irprop+", "rprop+"])
def test_state_dict_round_trip_between_host_and_device(variant):
    rng = np.random.default_rng(4)
    x0 = rng.standard_normal(20)
    grads = [rng.standard_normal(20) for _ in range(16)]

    def run(x, opt, part):
        on_host = isinstance(x, np.ndarray)
        for k in part:
            opt.step(grads[k] if on_host else cuda.to_device(grads[k]), float(k))

    reference_x = x0.copy()
    run(reference_x, rp.Rprop(reference_x, variant=variant), range(16))

    device_x = cuda.to_device(x0)
    device = rp.Rprop(device_x, variant=variant)
    run(device_x, device, range(8))
    host_x = device_x.copy_to_host()
    host = rp.Rprop(host_x, variant=variant)
    host.load_state_dict(device.state_dict())          # device -> host
    run(host_x, host, range(8, 12))
    back_x = cuda.to_device(host_x)
    back = rp.Rprop(back_x, variant=variant)
    back.load_state_dict(host.state_dict())            # host -> device
    run(back_x, back, range(12, 16))
    np.testing.assert_array_equal(back_x.copy_to_host(), reference_x)


def test_minimize_on_device_equals_minimize_on_host():
    hessian = np.diag(np.arange(1.0, 6.0))

    def fun(x):  # device array in, host scalar out
        x = x.copy_to_host()
        return float(0.5 * x @ hessian @ x - x.sum())

    def jac(x):
        return cuda.to_device(hessian @ x.copy_to_host() - 1.0)

    seen = []
    res = rp.minimize(fun, np.zeros(5), jac=jac, callback=seen.append,
                      options={"device": "cuda"})
    host = rp.minimize(lambda x: 0.5 * x @ hessian @ x - x.sum(), np.zeros(5),
                       jac=lambda x: hessian @ x - 1.0)
    assert (res.status, res.nit, res.nfev, res.njev) == (
        host.status, host.nit, host.nfev, host.njev)
    assert cuda.devicearray.is_cuda_ndarray(res.x)
    np.testing.assert_array_equal(res.x.copy_to_host(), host.x)
    np.testing.assert_array_equal(res.jac.copy_to_host(), host.jac)
    assert len(seen) == res.nit and cuda.devicearray.is_cuda_ndarray(seen[0])


def test_minimize_on_device_stops_on_a_nan_gradient():
    def jac(x):
        grad = 2 * (x.copy_to_host() - 3.0)
        if grad[0] < 5.0:
            grad[1] = np.nan
        return cuda.to_device(grad)

    res = rp.minimize(lambda x: float(np.sum((x.copy_to_host() - 3.0) ** 2)),
                      np.zeros(2), jac=jac, options={"device": "cuda", "lr": 0.1})
    assert (res.status, res.success) == (6, False)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"jac": "2-point"}, ValueError, r"jac must be callable or True"),
    ({"bounds": [(0, 1)] * 2, "jac": True}, NotImplementedError,
     r"bounds are not supported"),
    ({"options": {"device": "tpu"}}, ValueError,
     r"device must be None, 'cpu' or 'cuda'; got 'tpu'"),
])
def test_minimize_on_device_refuses_what_it_cannot_do(kwargs, error, match):
    options = {"device": "cuda", **kwargs.pop("options", {})}
    with pytest.raises(error, match=match):
        rp.minimize(lambda x: 0.0, np.zeros(2), options=options, **kwargs)


def test_device_grad_must_match_x():
    x = cuda.to_device(np.zeros(4))
    opt = rp.Rprop(x)
    with pytest.raises(ValueError, match=r"grad must have x's shape \(4,\) and "
                                         r"dtype float64; got \(3,\) float64"):
        opt.step(cuda.to_device(np.zeros(3)))
    with pytest.raises(ValueError, match=r"got \(4,\) float32"):
        opt.step(cuda.to_device(np.zeros(4, np.float32)))
    with pytest.raises(TypeError, match=r"grad must be a device array like x; got "
                                        r"ndarray"):
        opt.step(np.zeros(4))
    with pytest.raises(NotImplementedError, match="bounds are not supported for "
                                                  "device arrays"):
        rp.Rprop(x, bounds=(0, 1))


def test_import_never_needs_cuda():
    code = ("import sys, numpy as np, rprop_np as rp; "
            "rp.Rprop(np.zeros(3)).step(np.ones(3)); "
            "rp.minimize(lambda x: float(x @ x), np.ones(2)); "
            "print('numba.cuda' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(not SIMULATED, reason="this machine has a usable GPU")
def test_asking_for_a_gpu_without_one_says_what_is_missing():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    code = ("import numpy as np, rprop_np as rp; "
            "rp.minimize(lambda x: 0.0, np.zeros(2), jac=lambda x: x, "
            "options={'device': 'cuda'})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, env=env)
    assert out.returncode != 0
    assert "needs a usable CUDA GPU" in out.stderr
