"""rprop_np.curve_fit on the 27 NIST StRD nonlinear-regression problems.

Every problem is fitted from both certified starting vectors with its
analytic Jacobian, and the log relative error (LRE, digits that agree with the
certified values, capped at 11) must reach 6. LREs are taken against the
certified parameterization among the equivalent ones (``nist.matched_lre``:
Lanczos's terms in another order, Eckerle4's signs), which give the same model
function.

Measured with defaults (SciPy's LM refined, or the Rprop rescue): LRE >= 6
on 54 of 54 cases (with finite differences too: tests/test_curve_fit_dropin.py).
Rprop alone (polish=False, at most 20,000 iterations, re-oriented along the
Jacobian's principal axes every 1,000): 42 of 54. Where Rprop alone stays
low, and why:

- Lanczos1-3: three exponentials with nearly collinear columns (condition
  number ~1e8); Rprop reaches the certified RSS to ~1e-6 relative but not
  the parameters in 20,000 iterations.
- Bennett5, MGH10: extremely ill-conditioned (MGH10's parameters span ten
  orders of magnitude along a curved valley); Rprop is still creeping at
  20,000 iterations.
- Rat43 from start 1: Rprop ends in a different, higher local minimum.
"""

import warnings

import numpy as np
import pytest

import rprop_np as rp

from . import nist

# Six digits is what the issue asks for; the measured LREs are mostly 8-11,
# but the digits beyond ~7 move with the NumPy/SciPy/BLAS build (up to 2.5
# digits between numpy 2.3 and 2.4), so they are not pinned.
REQUIRED_LRE = 6

# The cases where Rprop alone does not reach REQUIRED_LRE (see above). Those
# still moving at the iteration limit raise, as SciPy's curve_fit does when
# it runs out of calls (Thurber from start 1 has its 6 digits by then, but
# has not converged); Rat43 from start 1 converges, in another basin, and
# must still lower the cost.
ALONE_UNCONVERGED = {
    ("Bennett5", 1), ("Bennett5", 2), ("Lanczos1", 1), ("Lanczos1", 2),
    ("Lanczos2", 1), ("Lanczos2", 2), ("Lanczos3", 1), ("Lanczos3", 2),
    ("MGH10", 1), ("MGH10", 2),
}
ALONE_ELSEWHERE = {("Rat43", 1)}
# Which of Thurber's starts Rprop alone brings to convergence within its
# 20,000 iterations moves with the NumPy build: start 2 with an earlier one,
# start 1 (in 1,364 iterations, LRE 10.4) with NumPy 2.4.6, where start 2
# runs out. Either outcome is taken: a return must reach the six digits, a
# raise must be the iteration limit's.
ALONE_EITHER = {("Thurber", 1), ("Thurber", 2)}


def _fit(name, start, polish):
    problem = nist.load(name)
    p0 = problem.start1 if start == 1 else problem.start2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow en route
        return problem, rp.curve_fit(problem.model, problem.x, problem.y, p0=p0,
                                     jac=problem.jacobian, polish=polish,
                                     full_output=True)


def test_rprop_alone_falls_short_on_at_most_12_of_54_cases():
    short = ALONE_UNCONVERGED | ALONE_ELSEWHERE
    assert {name for name, _ in short | ALONE_EITHER} <= set(nist.NAMES)
    assert len(short) + len(ALONE_EITHER) - 1 <= 12  # one of Thurber's falls short


@pytest.mark.parametrize("start", [1, 2])
@pytest.mark.parametrize("name", nist.NAMES)
def test_defaults_reach_the_certified_values(name, start):
    problem, (popt, pcov, info, _, ier) = _fit(name, start, polish=True)
    assert ier in (1, 2, 3, 4)  # SciPy's success codes
    lre = nist.matched_lre(name, popt, problem.certified)
    assert lre >= REQUIRED_LRE
    # the certified residual sum of squares (Lanczos1's is ~1e-25: pure noise)
    if problem.rss > 1e-20:
        np.testing.assert_allclose(info["cost"], problem.rss, rtol=1e-6)
    # the certified standard deviations, from pcov
    matched = max(nist.equivalent_parameters(name, popt),
                  key=lambda p: nist.lre(p, problem.certified))
    if nist.lre(matched, problem.certified) >= 6 and problem.rss > 1e-20:
        np.testing.assert_allclose(np.sqrt(np.diag(np.abs(pcov))),
                                   problem.certified_sd, rtol=1e-3)


@pytest.mark.parametrize("start", [1, 2])
@pytest.mark.parametrize("name", nist.NAMES)
def test_rprop_alone(name, start):
    if (name, start) in ALONE_UNCONVERGED:
        with pytest.raises(RuntimeError, match="Optimal parameters not found: "
                                               "Maximum number of iterations"):
            _fit(name, start, polish=False)
        return
    try:
        problem, (popt, _, info, _, _) = _fit(name, start, polish=False)
    except RuntimeError as error:
        if (name, start) not in ALONE_EITHER:
            raise
        assert str(error).startswith("Optimal parameters not found: Maximum number "
                                     "of iterations")
        return
    assert set(info["stages"]) == {"rprop"}
    assert info["nit"] <= 20_000
    if (name, start) not in ALONE_ELSEWHERE:
        assert nist.matched_lre(name, popt, problem.certified) >= REQUIRED_LRE
    else:
        p0 = problem.start1 if start == 1 else problem.start2
        assert info["cost"] < np.sum(problem.residuals(p0) ** 2)
