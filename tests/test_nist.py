"""rprop_np.curve_fit on the 27 NIST StRD nonlinear-regression problems.

Every problem is fitted from both certified starting vectors with its
analytic Jacobian, and the log relative error (LRE, digits that agree with the
certified values, capped at 11) must reach the thresholds below: the values
measured when they were written, rounded down with at least 0.3 digits to
spare. LREs are taken against the certified parameterization among the
equivalent ones (``nist.matched_lre``: Lanczos's terms in another order,
Eckerle4's signs), which give the same model function.

Measured with defaults (Rprop, then LM from its best point and from p0):
LRE >= 6 on 54 of 54 cases. Rprop alone (polish=False, at most 20,000
iterations, re-oriented along the Jacobian's principal axes every 1,000):
43 of 54. Where Rprop alone stays low, and why:

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

# name: (defaults start 1, defaults start 2, polish=False start 1, start 2);
# 0 where Rprop alone gets no digit (see above): it must still lower the cost.
THRESHOLDS = {
    'Bennett5': (10, 10, 0, 0),
    'BoxBOD': (10, 8, 10, 10),
    'Chwirut1': (8, 8, 8, 10),
    'Chwirut2': (8, 8, 10, 8),
    'DanWood': (10, 8, 10, 9),
    'ENSO': (6, 6, 6, 8),
    'Eckerle4': (9, 10, 9, 10),
    'Gauss1': (10, 10, 9, 10),
    'Gauss2': (9, 9, 9, 10),
    'Gauss3': (8, 9, 10, 9),
    'Hahn1': (10, 7, 10, 10),
    'Kirby2': (9, 8, 10, 10),
    'Lanczos1': (10, 10, 0, 0),
    'Lanczos2': (10, 10, 0, 0),
    'Lanczos3': (7, 6, 1, 0),
    'MGH09': (7, 7, 10, 9),
    'MGH10': (10, 10, 0, 2),
    'MGH17': (9, 9, 10, 10),
    'Misra1a': (10, 10, 8, 10),
    'Misra1b': (9, 10, 7, 10),
    'Misra1c': (8, 10, 10, 10),
    'Misra1d': (8, 8, 10, 10),
    'Nelson': (7, 8, 10, 10),
    'Rat42': (10, 9, 10, 10),
    'Rat43': (7, 8, 0, 9),
    'Roszman1': (6, 6, 8, 8),
    'Thurber': (8, 7, 10, 8),
}


def _fit(name, start, polish):
    problem = nist.load(name)
    p0 = problem.start1 if start == 1 else problem.start2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow en route
        return problem, rp.curve_fit(problem.model, problem.x, problem.y, p0=p0,
                                     jac=problem.jacobian, polish=polish,
                                     full_output=True)


def test_the_table_covers_every_problem():
    assert set(THRESHOLDS) == set(nist.NAMES)
    defaults = [t for row in THRESHOLDS.values() for t in row[:2]]
    alone = [t for row in THRESHOLDS.values() for t in row[2:]]
    assert sum(t >= 6 for t in defaults) >= 50
    assert sum(t >= 6 for t in alone) >= 36


@pytest.mark.parametrize("start", [1, 2])
@pytest.mark.parametrize("name", nist.NAMES)
def test_defaults_reach_the_certified_values(name, start):
    problem, (popt, pcov, info, _, ier) = _fit(name, start, polish=True)
    assert ier == 1
    lre = nist.matched_lre(name, popt, problem.certified)
    assert lre >= THRESHOLDS[name][start - 1]
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
    problem, (popt, _, info, _, _) = _fit(name, start, polish=False)
    assert set(info["stages"]) == {"rprop"}
    assert info["nit"] <= 20_000
    threshold = THRESHOLDS[name][start + 1]
    if threshold:
        assert nist.matched_lre(name, popt, problem.certified) >= threshold
    else:
        p0 = problem.start1 if start == 1 else problem.start2
        assert info["cost"] < np.sum(problem.residuals(p0) ** 2)
