"""rprop_np.curve_fit against scipy.optimize.curve_fit and hand checks."""

import numpy as np
import pytest
from scipy.optimize import Bounds, OptimizeWarning
from scipy.optimize import curve_fit as scipy_curve_fit

import rprop_np as rp


def decay(t, amplitude, rate, offset):
    return amplitude * np.exp(-rate * t) + offset


def decay_jac(t, amplitude, rate, offset):
    e = np.exp(-rate * t)
    return np.column_stack([e, -amplitude * t * e, np.ones_like(t)])


T = np.linspace(0.0, 5.0, 40)
TRUE = np.array([2.5, 1.3, 0.4])
NOISE = 0.02 * np.random.default_rng(7).standard_normal(T.size)
Y = decay(T, *TRUE) + NOISE
P0 = [1.0, 1.0, 0.0]


@pytest.mark.parametrize("jac", [None, decay_jac, "3-point", "cs"])
def test_matches_scipy_curve_fit(jac):
    popt, pcov = rp.curve_fit(decay, T, Y, p0=P0, jac=jac)
    expected, expected_cov = scipy_curve_fit(decay, T, Y, p0=P0)
    np.testing.assert_allclose(popt, expected, rtol=1e-7)
    np.testing.assert_allclose(pcov, expected_cov, rtol=1e-5)


@pytest.mark.parametrize("sigma", [
    np.full(T.size, 0.02),
    np.linspace(0.01, 0.05, T.size),
    np.diag(np.linspace(0.01, 0.05, T.size) ** 2) + 1e-5,
], ids=["scalar-like", "1-D", "2-D"])
@pytest.mark.parametrize("absolute_sigma", [False, True])
def test_sigma_and_absolute_sigma_as_scipy(sigma, absolute_sigma):
    popt, pcov = rp.curve_fit(decay, T, Y, p0=P0, sigma=sigma,
                              absolute_sigma=absolute_sigma, jac=decay_jac)
    expected, expected_cov = scipy_curve_fit(decay, T, Y, p0=P0, sigma=sigma,
                                             absolute_sigma=absolute_sigma,
                                             jac=decay_jac)
    np.testing.assert_allclose(popt, expected, rtol=1e-7)
    np.testing.assert_allclose(pcov, expected_cov, rtol=1e-5)


def test_p0_none_reads_the_parameter_count_from_the_signature():
    popt, _ = rp.curve_fit(decay, T, Y)
    np.testing.assert_allclose(popt, scipy_curve_fit(decay, T, Y)[0], rtol=1e-7)


def test_full_output_says_what_each_stage_did():
    popt, pcov, info, mesg, ier = rp.curve_fit(decay, T, Y, p0=P0, jac=decay_jac,
                                               method="irprop+", full_output=True)
    assert ier == 1 and isinstance(mesg, str)
    assert set(info["stages"]) == {"rprop", "polish_from_rprop", "polish_from_p0"}
    assert info["chosen"] in info["stages"]
    np.testing.assert_allclose(info["fvec"], decay(T, *popt) - Y)
    np.testing.assert_allclose(info["fjac"], decay_jac(T, *popt))
    assert info["cost"] == pytest.approx(np.sum(info["fvec"] ** 2))
    assert info["nfev"] == sum(s["nfev"] for s in info["stages"].values()) + 2
    assert info["nit"] == info["stages"]["rprop"]["nit"] > 0
    for stage in info["stages"].values():
        assert stage["cost"] >= info["cost"] * (1 - 1e-10)


def test_polish_false_is_pure_rprop():
    popt, _, info, _, _ = rp.curve_fit(decay, T, Y, p0=P0, jac=decay_jac,
                                       polish=False, full_output=True)
    assert set(info["stages"]) == {"rprop"}
    np.testing.assert_allclose(popt, scipy_curve_fit(decay, T, Y, p0=P0)[0],
                               rtol=1e-6)


@pytest.mark.parametrize("rotate", [True, False])
def test_scale_invariance_over_ten_orders_of_magnitude(rotate):
    # the same decay with amplitude 2.5e-6 and rate 1.3e4 (time in 1e-4 units)
    def tiny(t, amplitude, rate, offset):
        return amplitude * np.exp(-rate * t) + offset

    t, scale_y = T * 1e-4, 1e-6
    y = tiny(t, *(TRUE * [scale_y, 1e4, scale_y])) + NOISE * scale_y
    p0 = np.array(P0) * [scale_y, 1e4, 1.0]
    plain = rp.curve_fit(decay, T, Y, p0=P0, polish=False, rotate=rotate)[0]
    scaled = rp.curve_fit(tiny, t, y, p0=p0, polish=False, rotate=rotate)[0]
    np.testing.assert_allclose(scaled / [scale_y, 1e4, scale_y], plain, rtol=1e-6)


def test_bounds_are_honoured_in_both_stages():
    bounds = ([0.0, 0.0, 0.5], [10.0, 10.0, 1.0])  # offset forced above its 0.4
    popt, _, info, _, _ = rp.curve_fit(decay, T, Y, p0=[1.0, 1.0, 0.6],
                                       bounds=bounds, jac=decay_jac,
                                       full_output=True)
    assert popt[2] == pytest.approx(0.5)
    for stage in info["stages"].values():
        assert np.all(stage["x"] >= bounds[0]) and np.all(stage["x"] <= bounds[1])
    expected = scipy_curve_fit(decay, T, Y, p0=[1.0, 1.0, 0.6], bounds=bounds)[0]
    np.testing.assert_allclose(popt, expected, rtol=1e-5)  # SciPy's trf: 1e-8 tols
    same = rp.curve_fit(decay, T, Y, p0=[1.0, 1.0, 0.6], jac=decay_jac,
                        bounds=Bounds(*bounds))[0]
    np.testing.assert_array_equal(same, popt)


def test_nan_policy_omit_drops_the_points():
    y = Y.copy()
    y[[3, 17]] = np.nan
    popt, _ = rp.curve_fit(decay, T, y, p0=P0, nan_policy="omit")
    keep = ~np.isnan(y)
    np.testing.assert_allclose(popt, scipy_curve_fit(decay, T[keep], Y[keep],
                                                     p0=P0)[0], rtol=1e-7)


def test_covariance_that_cannot_be_estimated_is_inf_with_a_warning():
    t = np.array([0.0, 1.0, 2.0])
    with pytest.warns(OptimizeWarning, match="could not be estimated"):
        _, pcov = rp.curve_fit(decay, t, decay(t, *TRUE), p0=P0)
    assert np.all(np.isinf(pcov))


def _model_wrong_shape(t, a, b, c):
    return np.zeros(3)


def _model_nan(t, a, b, c):
    return np.full_like(t, np.nan)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"xdata": T[:-1]}, ValueError, r"xdata and ydata must have the same number "
                                    r"of points"),
    ({"ydata": np.where(T > 1, Y, np.nan)}, ValueError, r"ydata contains NaN or inf"),
    ({"xdata": np.where(T > 1, T, np.inf)}, ValueError, r"xdata contains NaN or inf"),
    ({"ydata": np.where(T > 1, Y, np.nan), "nan_policy": "raise"}, ValueError,
     r"ydata contains NaN \(nan_policy='raise'\)"),
    ({"nan_policy": "propagate"}, ValueError, r"nan_policy must be None, 'raise' "
                                              r"or 'omit'"),
    ({"f": _model_wrong_shape}, ValueError, r"f\(xdata, \*p0\) must return one "
                                            r"value per point"),
    ({"f": _model_nan}, ValueError, r"f\(xdata, \*p0\) is not finite at 40 of 40"),
    ({"sigma": np.ones(5)}, ValueError, r"sigma must be a scalar, have shape "
                                        r"\(40,\) or \(40, 40\); got shape \(5,\)"),
    ({"sigma": np.zeros(40)}, ValueError, r"sigma must be finite and > 0"),
    ({"sigma": -np.eye(40)}, ValueError, r"sigma .* must be positive definite"),
    ({"p0": [1.0, 1.0]}, TypeError, r"f\(xdata, \*p0\) failed with p0 of length "
                                    r"2; does f take 2 parameters"),
    ({"p0": [1.0, np.nan, 0.0]}, ValueError, r"p0 must be finite"),
    ({"xdata": T[:2], "ydata": Y[:2]}, TypeError, r"The number of func "
                                                  r"parameters=3 must not exceed "
                                                  r"the number of data points=2"),
    ({"maxiter": 10, "momentum": 0.9}, ValueError, r"Unknown options: 'momentum'"),
    ({"bounds": ([0, 0, 0], [1, 1])}, ValueError, r"bounds: upper must be a scalar "
                                                  r"or have one entry per variable "
                                                  r"\(3\); got shape \(2,\)"),
    ({"bounds": (1, 0)}, ValueError, r"bounds: lower >= upper at index 0 "
                                     r"\(1.0 >= 0.0\)"),
    ({"p0": [20.0, 1.0, 0.0], "bounds": (0, 10)}, ValueError,
     r"p0\[0\] = 20.0 is outside the bounds"),
    ({"x_scale": [1.0, -1.0, 1.0]}, ValueError, r"x_scale must be None, 'jac', or "
                                                r"positive"),
    ({"jac": "5-point"}, ValueError, r"jac must be callable, None, or one of"),
    ({"method": "adam"}, ValueError, r"method must be one of"),
])
def test_bad_input_names_the_argument(kwargs, error, match):
    call = {"f": decay, "xdata": T, "ydata": Y, "p0": P0, **kwargs}
    with pytest.raises(error, match=match):
        rp.curve_fit(call.pop("f"), call.pop("xdata"), call.pop("ydata"), **call)


def test_p0_none_without_a_readable_signature_asks_for_p0():
    with pytest.raises(ValueError, match="Unable to determine number of fit "
                                         "parameters"):
        rp.curve_fit(lambda *args: args[0], T, Y)
