"""Check the NIST StRD parser, hand-written models and Jacobians in tests/nist.py."""

import numpy as np
import pytest

from tests.nist import NAMES, NistProblem, load, lre

# Certified RSS at the certified values, to a relative 1e-6, except where the
# certified fit is so close to exact that the 11 printed digits of the
# certified parameters dominate the residuals (Lanczos1: RSS ~ 1e-25).
LOOSE_RSS = {"Lanczos1"}

# Rat43.dat says "Degrees of Freedom: 9", but it has 15 observations and 4
# parameters (11 dof; its Residual Standard Deviation is sqrt(RSS / 11)).
# nist.load keeps the header's value.
DOF_ERRATA = {"Rat43": 9}

N_PARAMS = {
    "Bennett5": 3, "BoxBOD": 2, "Chwirut1": 3, "Chwirut2": 3, "DanWood": 2,
    "ENSO": 9, "Eckerle4": 3, "Gauss1": 8, "Gauss2": 8, "Gauss3": 8, "Hahn1": 7,
    "Kirby2": 5, "Lanczos1": 6, "Lanczos2": 6, "Lanczos3": 6, "MGH09": 4,
    "MGH10": 3, "MGH17": 5, "Misra1a": 2, "Misra1b": 2, "Misra1c": 2,
    "Misra1d": 2, "Nelson": 3, "Rat42": 3, "Rat43": 4, "Roszman1": 4,
    "Thurber": 7,
}  # fmt: skip


@pytest.fixture(scope="module", params=NAMES)
def problem(request) -> NistProblem:
    return load(request.param)


def test_names():
    assert len(NAMES) == 27
    assert tuple(sorted(NAMES)) == NAMES  # plain str order: ENSO < Eckerle4
    assert set(NAMES) == set(N_PARAMS)


def test_parsed(problem):
    k = N_PARAMS[problem.name]
    for arr in (
        problem.start1,
        problem.start2,
        problem.certified,
        problem.certified_sd,
    ):
        assert arr.shape == (k,) and arr.dtype == np.float64
    assert not np.array_equal(problem.start1, problem.start2)
    n = len(problem.y)
    if problem.name in DOF_ERRATA:
        # The header's "Degrees of Freedom" is wrong; its residual SD agrees
        # with n - k, so check that instead.
        assert problem.dof == DOF_ERRATA[problem.name] != n - k
        dof = n - k
    else:
        assert problem.dof + k == n
        dof = problem.dof
    assert len(problem.x) == n
    assert problem.x.shape == ((n, 2) if problem.name == "Nelson" else (n,))
    assert problem.rss > 0 and problem.residual_sd > 0
    assert np.isclose(problem.residual_sd**2 * dof, problem.rss, rtol=1e-8)
    assert problem.difficulty in ("Lower", "Average", "Higher")
    assert np.all(np.isfinite(problem.x)) and np.all(np.isfinite(problem.y))


def test_certified_rss(problem):
    r = problem.model(problem.x, *problem.certified) - problem.y
    rss = float(r @ r)
    if problem.name in LOOSE_RSS:
        # Rounding the certified parameters to 11 digits moves the model by
        # ~1e-11 relative; the RSS can then be no smaller than ~1e-20.
        assert rss < 1e-18
    else:
        assert rss == pytest.approx(problem.rss, rel=1e-6)


def _step(pj):
    return 1e-6 * abs(pj) if pj != 0 else 1e-6


def _central_jacobian(model, x, p):
    p = np.asarray(p, dtype=np.float64)
    cols = []
    for j in range(len(p)):
        h = _step(p[j])
        up, dn = p.copy(), p.copy()
        up[j] += h
        dn[j] -= h
        cols.append((model(x, *up) - model(x, *dn)) / (2 * h))
    return np.column_stack(cols)


def _complex_step_jacobian(model, x, p):
    # d f / d p_j = Im f(p + i h e_j) / h, exact to rounding (no cancellation).
    p = np.asarray(p, dtype=np.complex128)
    cols = []
    for j in range(len(p)):
        h = 1e-30 * max(abs(p[j].real), 1.0)
        q = p.copy()
        q[j] += 1j * h
        cols.append(np.imag(model(x, *q)) / h)
    return np.column_stack(cols)


@pytest.mark.parametrize("where", ["start1", "certified"])
def test_jacobian(problem, where):
    p = getattr(problem, where)
    analytic = problem.jacobian(problem.x, *p)
    assert analytic.shape == (len(problem.y), len(p))
    assert analytic.dtype == np.float64
    f_max = np.abs(problem.model(problem.x, *p)).max()
    numeric = _central_jacobian(problem.model, problem.x, p)
    exact = _complex_step_jacobian(problem.model, problem.x, p)
    for j in range(len(p)):
        msg = f"{problem.name} d/db{j + 1} at {where}"
        scale = np.abs(numeric[:, j]).max()
        # Central difference: truncation ~ 1e-12 relative, plus the rounding
        # of f itself, ~ eps * |f| / h (matters when f >> h * df/dp, MGH17).
        roundoff = 10 * np.finfo(float).eps * f_max / _step(p[j])
        np.testing.assert_allclose(
            analytic[:, j],
            numeric[:, j],
            rtol=1e-5,
            atol=1e-7 * scale + roundoff,
            err_msg=msg,
        )
        np.testing.assert_allclose(
            analytic[:, j],
            exact[:, j],
            rtol=1e-10,
            atol=1e-13 * np.abs(exact[:, j]).max(),
            err_msg=msg + " (complex step)",
        )


def test_lre():
    assert lre(1.0001, 1.0) == pytest.approx(4.0, abs=1e-3)
    assert lre(1.0, 1.0) == 11.0
    assert lre([2.0, -3.0], [2.0, -3.0]) == 11.0
    assert lre(1.0 + 1e-13, 1.0) == 11.0
    assert lre([1.01, 2.0], [1.0, 2.0]) == pytest.approx(2.0, abs=1e-6)
    assert lre(-0.99, -1.0) == pytest.approx(2.0, abs=1e-6)
