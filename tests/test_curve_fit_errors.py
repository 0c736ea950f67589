"""rprop_np.curve_fit refuses bad arguments with a message naming the argument
and the value, instead of NumPy's or Python's error or a silent other meaning;
and accepts what scipy.optimize.curve_fit accepts with SciPy's meaning."""

import numpy as np
import pytest
from scipy.optimize import Bounds

import rprop_np as rp


def decay(t, amplitude, rate, offset):
    return amplitude * np.exp(-rate * t) + offset


def complex_decay(t, amplitude, rate, offset):
    return decay(t, amplitude, rate, offset) + 1j * t


T = np.linspace(0.0, 5.0, 40)
Y = decay(T, 2.5, 1.3, 0.4) + 0.02 * np.random.default_rng(7).standard_normal(T.size)
P0 = [1.0, 1.0, 0.0]
Y_NAN = np.where(np.arange(T.size) == 5, np.nan, Y)  # one NaN, at index 5
Y_INF = np.where(np.arange(T.size) == 3, np.inf, Y)  # one inf, at index 3


def fit(**kwargs):
    call = {"f": decay, "xdata": T, "ydata": Y, "p0": P0, **kwargs}
    return rp.curve_fit(call.pop("f"), call.pop("xdata"), call.pop("ydata"), **call)


@pytest.mark.parametrize("kwargs, error, match", [
    # step_sizes: checked as given, before the per-parameter rescaling
    ({"step_sizes": 1e-3}, TypeError,
     r"step_sizes must be a pair of real numbers; got 0\.001"),
    ({"step_sizes": (1.0, 0.5)}, ValueError,
     r"step_sizes must satisfy 0 <= min_step <= max_step and max_step > 0; "
     r"got min_step=1\.0, max_step=0\.5"),
    ({"step_sizes": (-1.0, 1.0)}, ValueError, r"step_sizes .*min_step=-1\.0, "
                                              r"max_step=1\.0"),
    ({"step_sizes": "12"}, TypeError,
     r"step_sizes must be a pair of real numbers; got '12'"),
    ({"lr": -1.0}, ValueError, r"lr must be finite and >= 0; got -1\.0"),
    ({"lr": "0.1"}, TypeError, r"lr must be a real number .*; got '0\.1'"),
    ({"maxiter": "10"}, TypeError, r"maxiter must be a number >= 0; got '10'"),
    ({"maxiter": True}, TypeError, r"maxiter must be a number >= 0; got True"),
    ({"maxfev": 0}, ValueError, r"maxfev must be a number >= 1; got 0"),
    # x_scale: None, 'jac' or numbers; no other string
    ({"x_scale": "auto"}, ValueError, r"x_scale must be None, 'jac', or positive "
                                      r"finite numbers .*; got 'auto'"),
    ({"x_scale": "2"}, ValueError, r"x_scale must be None, 'jac', .*; got '2'"),
    # sigma must match ydata as passed, before nan_policy='omit' drops points
    ({"ydata": Y_NAN, "nan_policy": "omit", "sigma": np.ones(39)}, ValueError,
     r"sigma must be a scalar, have shape \(40,\) or \(40, 40\); "
     r"got shape \(39,\) \(ydata's points as passed"),
    ({"ydata": Y_NAN, "nan_policy": "omit", "sigma": np.ones(5)}, ValueError,
     r"sigma must be a scalar, have shape \(40,\) .*got shape \(5,\)"),
    ({"ydata": Y_NAN, "nan_policy": "omit", "sigma": np.eye(39)}, ValueError,
     r"sigma must be a scalar, .*\(40, 40\); got shape \(39, 39\)"),
    ({"sigma": np.zeros(40)}, ValueError,
     r"sigma must be finite and > 0 everywhere; sigma\[0\] is 0\.0"),
    ({"sigma": -2.0}, ValueError,
     r"sigma must be finite and > 0 everywhere; sigma is -2\.0"),
    ({"sigma": np.where(np.eye(40) == 1, np.nan, np.eye(40))}, ValueError,
     r"sigma must be finite everywhere; sigma\[0, 0\] is nan"),
    # NaN or inf left in ydata: no fit can match it
    ({"ydata": Y_INF, "check_finite": False}, ValueError,
     r"ydata contains NaN or inf \(ydata\[3\] = inf, 1 of 40 values\)"),
    ({"ydata": Y_INF, "nan_policy": "raise"}, ValueError,
     r"ydata contains inf \(ydata\[3\] = inf, 1 of 40 values\); "
     r"nan_policy='raise' handles NaN only"),
    ({"xdata": np.where(T > 4.9, np.inf, T), "check_finite": None}, ValueError,
     r"xdata contains NaN or inf \(xdata\[39\] = inf, 1 of 40 values\)"),
    # a model of complex values would be fitted by its real part
    ({"f": complex_decay}, TypeError,
     r"f must return real numbers; f\(xdata, \*p0\) returned dtype complex128"),
    # flags: bool("False") is True
    ({"polish": "False"}, TypeError, r"polish must be True or False; got 'False'"),
    ({"rotate": "False"}, TypeError, r"rotate must be True or False; got 'False'"),
    ({"absolute_sigma": "yes"}, TypeError,
     r"absolute_sigma must be True or False; got 'yes'"),
    ({"check_finite": "no"}, TypeError,
     r"check_finite must be True or False; got 'no'"),
    ({"full_output": "yes"}, TypeError,
     r"full_output must be True or False; got 'yes'"),
    ({"disp": "yes"}, TypeError, r"disp must be True or False; got 'yes'"),
    # bounds that leave no feasible point
    ({"bounds": (np.inf, np.inf)}, ValueError, r"bounds: lower is \+inf at index 0"),
    ({"bounds": (-np.inf, -np.inf)}, ValueError,
     r"bounds: upper is -inf at index 0"),
    ({"bounds": Bounds(np.inf, np.inf)}, ValueError,
     r"bounds: lower is \+inf at index 0"),
    # not numbers, or complex numbers (which NumPy casts to their real part)
    ({"p0": "abc"}, TypeError, r"p0 must be real numbers; got 'abc'"),
    ({"sigma": "a"}, TypeError, r"sigma must be real numbers; got 'a'"),
    ({"ydata": Y + 0j}, TypeError, r"ydata must be real numbers; got array\("),
    ({"xdata": T + 0j}, TypeError, r"xdata must be real numbers; got array\("),
    ({"jac": np.ones((40, 3))}, ValueError,
     r"jac must be callable, None, or one of .*; got array\("),
])
def test_bad_argument_is_named_with_its_value(kwargs, error, match):
    with pytest.raises(error, match=match):
        fit(**kwargs)


@pytest.mark.parametrize("data", ["ydata", "xdata"])
def test_inf_with_nan_policy_omit_is_refused_without_suggesting_omit(data):
    # SciPy's nan_policy='omit' drops NaN only, and keeps inf.
    values = {"ydata": Y_INF.copy(), "xdata": np.where(T == T[3], np.inf, T)}[data]
    values[5] = np.nan
    with pytest.raises(ValueError, match=rf"{data} contains inf \({data}\[3\] = "
                                         r"inf, 1 of 40 values\); nan_policy='omit' "
                                         r"handles NaN only") as error:
        fit(**{data: values, "nan_policy": "omit"})
    assert "pass nan_policy" not in str(error.value)


def test_method_none_is_the_default_method_as_in_scipy():
    np.testing.assert_array_equal(fit(method=None)[0], fit()[0])


@pytest.mark.parametrize("nan_policy, ydata", [(None, Y), ("omit", Y_NAN)])
def test_sigma_of_one_entry_is_a_scalar_as_in_scipy(nan_policy, ydata):
    expected = fit(sigma=0.5, ydata=ydata, nan_policy=nan_policy)
    got = fit(sigma=np.array([0.5]), ydata=ydata, nan_policy=nan_policy)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
