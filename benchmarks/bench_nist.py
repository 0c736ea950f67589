"""rprop_np.curve_fit on the 27 NIST StRD problems, beside SciPy and torch.

For all 54 (problem, start) cases it prints the LRE (digits agreeing with the
certified parameters, capped at 11; against the certified one of equivalent
parameterizations, see tests/nist.py) and the function / Jacobian evaluation
counts of

- rprop_np.curve_fit with its defaults (SciPy's LM refined, or the Rprop
  rescue) and with polish=False (Rprop alone, at most 20,000 iterations),
- scipy.optimize.curve_fit (Levenberg-Marquardt), with its default and with
  tight (1e-15) tolerances,
- torch.optim.Rprop with its defaults, 5,000 full-batch steps on the same sum
  of squares (what a PyTorch user would get; skipped without torch),

then the number of cases at LRE >= 4 and >= 6 for each. All methods get the
analytic Jacobian. Run::

    python benchmarks/bench_nist.py
"""

import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.optimize import curve_fit as scipy_curve_fit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rprop_np as rp  # noqa: E402
from tests import nist  # noqa: E402

TORCH_STEPS = 5_000


class Counted:
    """The problem's model and Jacobian, counting their calls."""

    def __init__(self, problem):
        self.problem, self.nfev, self.njev = problem, 0, 0

    def model(self, x, *p):
        self.nfev += 1
        return self.problem.model(x, *p)

    def jacobian(self, x, *p):
        self.njev += 1
        return self.problem.jacobian(x, *p)


def run_rprop_np(problem, p0, polish):
    counted = Counted(problem)
    popt, _ = rp.curve_fit(counted.model, problem.x, problem.y, p0=p0,
                           jac=counted.jacobian, polish=polish)
    return popt, counted.nfev, counted.njev


def run_scipy(problem, p0, tight):
    counted = Counted(problem)
    tolerances = {"ftol": 1e-15, "xtol": 1e-15, "gtol": 1e-15, "maxfev": 10_000}
    popt, _ = scipy_curve_fit(counted.model, problem.x, problem.y, p0=p0,
                              jac=counted.jacobian, **(tolerances if tight else {}))
    return popt, counted.nfev, counted.njev


def run_torch(problem, p0):
    import torch

    params = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Rprop([params])
    for _ in range(TORCH_STEPS):
        p = params.detach().numpy()
        residual = problem.model(problem.x, *p) - problem.y
        grad = problem.jacobian(problem.x, *p).T @ residual
        if not np.all(np.isfinite(grad)):
            break
        params.grad = torch.from_numpy(grad)
        optimizer.step()
    return params.detach().numpy(), TORCH_STEPS, TORCH_STEPS


def methods():
    found = {
        "rprop_np": lambda pr, p0: run_rprop_np(pr, p0, polish=True),
        "rprop_np alone": lambda pr, p0: run_rprop_np(pr, p0, polish=False),
        "scipy LM": lambda pr, p0: run_scipy(pr, p0, tight=False),
        "scipy LM tight": lambda pr, p0: run_scipy(pr, p0, tight=True),
    }
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is not installed: its column is skipped")
    else:
        found["torch Rprop"] = run_torch
    return found


def main():
    runners = methods()
    print(f"{'problem':<10}{'start':>6}" + "".join(
        f"{name:>22}" for name in runners))
    print(f"{'':<16}" + "".join(f"{'LRE  nfev/njev':>22}" for _ in runners))
    scores = {name: [] for name in runners}
    for name in nist.NAMES:
        problem = nist.load(name)
        for start, p0 in ((1, problem.start1), (2, problem.start2)):
            cells = []
            for method, run in runners.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        popt, nfev, njev = run(problem, p0)
                        lre = nist.matched_lre(name, popt, problem.certified)
                    except (RuntimeError, ValueError) as error:
                        lre, nfev, njev = 0.0, -1, -1
                        print(f"  {method} failed on {name} start {start}: {error}")
                scores[method].append(lre)
                cells.append(f"{lre:>6.1f} {nfev:>7}/{njev:<6}")
            print(f"{name:<10}{start:>6}" + "".join(f"{c:>22}" for c in cells))
    print()
    for method, lres in scores.items():
        lres = np.array(lres)
        print(f"{method:<16} LRE >= 4: {np.sum(lres >= 4):>2}/{lres.size}   "
              f"LRE >= 6: {np.sum(lres >= 6):>2}/{lres.size}")


if __name__ == "__main__":
    main()
