"""The 27 NIST StRD nonlinear least-squares problems, for the tests.

The data files under ``tests/data/nist`` are the NIST ``.dat`` files, unchanged.
:func:`load` parses each header (starting values, certified values, residual
statistics, difficulty) and the data rows; the model formulas and their analytic
Jacobians are written out by hand below, one per problem, from the formula in
each header. Models follow the SciPy ``curve_fit`` convention: ``model(x, *p)``.

Every file has the columns ``y x`` except Nelson, which has ``y x1 x2``: its
``x`` is a 2-D array of shape ``(n, 2)`` (one row per observation, columns x1
and x2), so ``len(x)`` is the number of observations for every problem.

Nelson's model is for ``log(y)``, not ``y`` (``log[y] = b1 - b2*x1*exp[-b3*x2]``,
natural log), and its certified values and residual sum of squares are for that
fit. ``NistProblem.y`` for Nelson therefore holds ``np.log`` of the response
column in the file, so ``sum((y - model(x, *certified))**2)`` is the certified
residual sum of squares for every problem alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data" / "nist"

NAMES = (
    "Bennett5",
    "BoxBOD",
    "Chwirut1",
    "Chwirut2",
    "DanWood",
    "ENSO",
    "Eckerle4",
    "Gauss1",
    "Gauss2",
    "Gauss3",
    "Hahn1",
    "Kirby2",
    "Lanczos1",
    "Lanczos2",
    "Lanczos3",
    "MGH09",
    "MGH10",
    "MGH17",
    "Misra1a",
    "Misra1b",
    "Misra1c",
    "Misra1d",
    "Nelson",
    "Rat42",
    "Rat43",
    "Roszman1",
    "Thurber",
)


@dataclass(frozen=True)
class NistProblem:
    name: str
    # Predictor values: shape (n,), or (n, 2) for Nelson (columns x1, x2).
    x: np.ndarray
    # Responses; for Nelson, log of the file's y column (see the module doc).
    y: np.ndarray
    start1: np.ndarray
    start2: np.ndarray
    certified: np.ndarray
    certified_sd: np.ndarray
    rss: float
    residual_sd: float
    # As stated in the header. Rat43.dat says 9, but n - n_params = 11 (its
    # residual_sd is sqrt(rss / 11)): a known erratum in the NIST file.
    dof: int
    model: Callable[..., np.ndarray]
    jacobian: Callable[..., np.ndarray]
    difficulty: str

    @property
    def n_params(self) -> int:
        return len(self.certified)

    def residuals(self, p) -> np.ndarray:
        return self.model(self.x, *p) - self.y


# --------------------------------------------------------------------------
# Models and Jacobians (d model / d b_j, shape (n, n_params)).


def _cols(*cols) -> np.ndarray:
    n = max(np.size(c) for c in cols)
    return np.column_stack([np.broadcast_to(c, (n,)) for c in cols])


def bennett5(x, b1, b2, b3):
    return b1 * (b2 + x) ** (-1 / b3)


def bennett5_jac(x, b1, b2, b3):
    u = b2 + x
    p = u ** (-1 / b3)
    return _cols(p, -b1 / b3 * p / u, b1 * p * np.log(u) / b3**2)


def misra1a(x, b1, b2):  # also BoxBOD
    return b1 * (1 - np.exp(-b2 * x))


def misra1a_jac(x, b1, b2):
    e = np.exp(-b2 * x)
    return _cols(1 - e, b1 * x * e)


def chwirut(x, b1, b2, b3):
    return np.exp(-b1 * x) / (b2 + b3 * x)


def chwirut_jac(x, b1, b2, b3):
    d = b2 + b3 * x
    f = np.exp(-b1 * x) / d
    return _cols(-x * f, -f / d, -x * f / d)


def danwood(x, b1, b2):
    return b1 * x**b2


def danwood_jac(x, b1, b2):
    p = x**b2
    return _cols(p, b1 * p * np.log(x))


def enso(x, b1, b2, b3, b4, b5, b6, b7, b8, b9):
    w = 2 * np.pi * x
    return (
        b1
        + b2 * np.cos(w / 12)
        + b3 * np.sin(w / 12)
        + b5 * np.cos(w / b4)
        + b6 * np.sin(w / b4)
        + b8 * np.cos(w / b7)
        + b9 * np.sin(w / b7)
    )


def enso_jac(x, b1, b2, b3, b4, b5, b6, b7, b8, b9):
    w = 2 * np.pi * x
    c4, s4 = np.cos(w / b4), np.sin(w / b4)
    c7, s7 = np.cos(w / b7), np.sin(w / b7)
    return _cols(
        1.0,
        np.cos(w / 12),
        np.sin(w / 12),
        w / b4**2 * (b5 * s4 - b6 * c4),
        c4,
        s4,
        w / b7**2 * (b8 * s7 - b9 * c7),
        c7,
        s7,
    )


def eckerle4(x, b1, b2, b3):
    z = (x - b3) / b2
    return b1 / b2 * np.exp(-0.5 * z**2)


def eckerle4_jac(x, b1, b2, b3):
    z = (x - b3) / b2
    g = np.exp(-0.5 * z**2)
    f = b1 / b2 * g
    return _cols(g / b2, f * (z**2 - 1) / b2, f * z / b2)


def gauss(x, b1, b2, b3, b4, b5, b6, b7, b8):
    return (
        b1 * np.exp(-b2 * x)
        + b3 * np.exp(-((x - b4) ** 2) / b5**2)
        + b6 * np.exp(-((x - b7) ** 2) / b8**2)
    )


def gauss_jac(x, b1, b2, b3, b4, b5, b6, b7, b8):
    e = np.exp(-b2 * x)
    g1 = np.exp(-((x - b4) ** 2) / b5**2)
    g2 = np.exp(-((x - b7) ** 2) / b8**2)
    return _cols(
        e,
        -b1 * x * e,
        g1,
        b3 * g1 * 2 * (x - b4) / b5**2,
        b3 * g1 * 2 * (x - b4) ** 2 / b5**3,
        g2,
        b6 * g2 * 2 * (x - b7) / b8**2,
        b6 * g2 * 2 * (x - b7) ** 2 / b8**3,
    )


def cubic_ratio(x, b1, b2, b3, b4, b5, b6, b7):  # Hahn1, Thurber
    num = b1 + b2 * x + b3 * x**2 + b4 * x**3
    den = 1 + b5 * x + b6 * x**2 + b7 * x**3
    return num / den


def cubic_ratio_jac(x, b1, b2, b3, b4, b5, b6, b7):
    num = b1 + b2 * x + b3 * x**2 + b4 * x**3
    den = 1 + b5 * x + b6 * x**2 + b7 * x**3
    q = -num / den**2
    return _cols(1 / den, x / den, x**2 / den, x**3 / den, q * x, q * x**2, q * x**3)


def kirby2(x, b1, b2, b3, b4, b5):
    return (b1 + b2 * x + b3 * x**2) / (1 + b4 * x + b5 * x**2)


def kirby2_jac(x, b1, b2, b3, b4, b5):
    num = b1 + b2 * x + b3 * x**2
    den = 1 + b4 * x + b5 * x**2
    q = -num / den**2
    return _cols(1 / den, x / den, x**2 / den, q * x, q * x**2)


def lanczos(x, b1, b2, b3, b4, b5, b6):
    return b1 * np.exp(-b2 * x) + b3 * np.exp(-b4 * x) + b5 * np.exp(-b6 * x)


def lanczos_jac(x, b1, b2, b3, b4, b5, b6):
    e2, e4, e6 = np.exp(-b2 * x), np.exp(-b4 * x), np.exp(-b6 * x)
    return _cols(e2, -b1 * x * e2, e4, -b3 * x * e4, e6, -b5 * x * e6)


def mgh09(x, b1, b2, b3, b4):
    return b1 * (x**2 + x * b2) / (x**2 + x * b3 + b4)


def mgh09_jac(x, b1, b2, b3, b4):
    num = x**2 + x * b2
    den = x**2 + x * b3 + b4
    q = -b1 * num / den**2
    return _cols(num / den, b1 * x / den, q * x, q)


def mgh10(x, b1, b2, b3):
    return b1 * np.exp(b2 / (x + b3))


def mgh10_jac(x, b1, b2, b3):
    u = x + b3
    e = np.exp(b2 / u)
    return _cols(e, b1 * e / u, -b1 * e * b2 / u**2)


def mgh17(x, b1, b2, b3, b4, b5):
    return b1 + b2 * np.exp(-x * b4) + b3 * np.exp(-x * b5)


def mgh17_jac(x, b1, b2, b3, b4, b5):
    e4, e5 = np.exp(-x * b4), np.exp(-x * b5)
    return _cols(1.0, e4, e5, -b2 * x * e4, -b3 * x * e5)


def misra1b(x, b1, b2):
    return b1 * (1 - (1 + b2 * x / 2) ** (-2))


def misra1b_jac(x, b1, b2):
    u = 1 + b2 * x / 2
    return _cols(1 - u ** (-2), b1 * x * u ** (-3))


def misra1c(x, b1, b2):
    return b1 * (1 - (1 + 2 * b2 * x) ** (-0.5))


def misra1c_jac(x, b1, b2):
    u = 1 + 2 * b2 * x
    return _cols(1 - u ** (-0.5), b1 * x * u ** (-1.5))


def misra1d(x, b1, b2):
    return b1 * b2 * x * ((1 + b2 * x) ** (-1))


def misra1d_jac(x, b1, b2):
    u = 1 + b2 * x
    return _cols(b2 * x / u, b1 * x / u**2)


def nelson(x, b1, b2, b3):
    # Model for log(y); x has columns (x1, x2).
    x1, x2 = x[:, 0], x[:, 1]
    return b1 - b2 * x1 * np.exp(-b3 * x2)


def nelson_jac(x, b1, b2, b3):
    x1, x2 = x[:, 0], x[:, 1]
    e = np.exp(-b3 * x2)
    return _cols(1.0, -x1 * e, b2 * x1 * x2 * e)


def rat42(x, b1, b2, b3):
    return b1 / (1 + np.exp(b2 - b3 * x))


def rat42_jac(x, b1, b2, b3):
    e = np.exp(b2 - b3 * x)
    d = 1 + e
    return _cols(1 / d, -b1 * e / d**2, b1 * x * e / d**2)


def rat43(x, b1, b2, b3, b4):
    return b1 / ((1 + np.exp(b2 - b3 * x)) ** (1 / b4))


def rat43_jac(x, b1, b2, b3, b4):
    e = np.exp(b2 - b3 * x)
    d = 1 + e
    p = d ** (-1 / b4)
    g = b1 / b4 * p * e / d
    return _cols(p, -g, g * x, b1 * p * np.log(d) / b4**2)


def roszman1(x, b1, b2, b3, b4):
    return b1 - b2 * x - np.arctan(b3 / (x - b4)) / np.pi


def roszman1_jac(x, b1, b2, b3, b4):
    u = x - b4
    t = b3 / u
    s = 1 / (np.pi * (1 + t**2))
    return _cols(1.0, -x, -s / u, -s * b3 / u**2)


MODELS: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    "Bennett5": (bennett5, bennett5_jac),
    "BoxBOD": (misra1a, misra1a_jac),
    "Chwirut1": (chwirut, chwirut_jac),
    "Chwirut2": (chwirut, chwirut_jac),
    "DanWood": (danwood, danwood_jac),
    "ENSO": (enso, enso_jac),
    "Eckerle4": (eckerle4, eckerle4_jac),
    "Gauss1": (gauss, gauss_jac),
    "Gauss2": (gauss, gauss_jac),
    "Gauss3": (gauss, gauss_jac),
    "Hahn1": (cubic_ratio, cubic_ratio_jac),
    "Kirby2": (kirby2, kirby2_jac),
    "Lanczos1": (lanczos, lanczos_jac),
    "Lanczos2": (lanczos, lanczos_jac),
    "Lanczos3": (lanczos, lanczos_jac),
    "MGH09": (mgh09, mgh09_jac),
    "MGH10": (mgh10, mgh10_jac),
    "MGH17": (mgh17, mgh17_jac),
    "Misra1a": (misra1a, misra1a_jac),
    "Misra1b": (misra1b, misra1b_jac),
    "Misra1c": (misra1c, misra1c_jac),
    "Misra1d": (misra1d, misra1d_jac),
    "Nelson": (nelson, nelson_jac),
    "Rat42": (rat42, rat42_jac),
    "Rat43": (rat43, rat43_jac),
    "Roszman1": (roszman1, roszman1_jac),
    "Thurber": (cubic_ratio, cubic_ratio_jac),
}


# --------------------------------------------------------------------------
# Parsing.

_PARAM = re.compile(r"^\s*b(\d+)\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")
_STAT = re.compile(
    r"^\s*(Residual Sum of Squares|Residual Standard Deviation"
    r"|Degrees of Freedom|Number of Observations):\s*(\S+)\s*$"
)
_DIFFICULTY = re.compile(r"\b(Lower|Average|Higher) Level of Difficulty\b")
# The column-header "Data:" line, e.g. "Data:   y   x" or "Data:  y  x1  x2".
_DATA = re.compile(r"^Data:\s+(y(?:\s+x\d*)+)\s*$")


def _find(pattern, lines, what, name):
    for i, line in enumerate(lines):
        m = pattern.search(line)
        if m:
            return i, m
    raise ValueError(f"{name}: no {what} found")


def load(name: str) -> NistProblem:
    """Parse ``tests/data/nist/{name}.dat`` into a :class:`NistProblem`."""
    lines = (DATA_DIR / f"{name}.dat").read_text().splitlines()

    params = {}
    for line in lines:
        m = _PARAM.match(line)
        if m:
            params[int(m.group(1))] = [float(v) for v in m.groups()[1:]]
    if sorted(params) != list(range(1, len(params) + 1)) or not params:
        raise ValueError(f"{name}: parameters not numbered b1..bN: {sorted(params)}")
    table = np.array([params[k] for k in sorted(params)], dtype=np.float64)

    stats = {}
    for line in lines:
        m = _STAT.match(line)
        if m:
            stats[m.group(1)] = m.group(2)
    _, diff = _find(_DIFFICULTY, lines, "difficulty", name)

    start, m = _find(_DATA, lines, "data column header", name)
    columns = m.group(1).split()
    rows = [ln.split() for ln in lines[start + 1 :] if ln.strip()]
    data = np.array(rows, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != len(columns):
        raise ValueError(f"{name}: data rows do not match columns {columns}")
    n_obs = int(stats["Number of Observations"])
    if len(data) != n_obs:
        raise ValueError(f"{name}: {len(data)} data rows, header says {n_obs}")

    y = data[:, 0].copy()
    x = data[:, 1].copy() if data.shape[1] == 2 else data[:, 1:].copy()
    if name == "Nelson":
        y = np.log(y)  # the model (and certified fit) is for log(y)

    model, jacobian = MODELS[name]
    return NistProblem(
        name=name,
        x=x,
        y=y,
        start1=table[:, 0].copy(),
        start2=table[:, 1].copy(),
        certified=table[:, 2].copy(),
        certified_sd=table[:, 3].copy(),
        rss=float(stats["Residual Sum of Squares"]),
        residual_sd=float(stats["Residual Standard Deviation"]),
        dof=int(stats["Degrees of Freedom"]),
        model=model,
        jacobian=jacobian,
        difficulty=diff.group(1),
    )


def lre(estimate, certified) -> float:
    """Log relative error: min over components of -log10(|e - c| / |c|), cap 11."""
    e = np.atleast_1d(np.asarray(estimate, dtype=np.float64))
    c = np.atleast_1d(np.asarray(certified, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(e - c) / np.abs(c)
        vals = np.where(rel == 0, 11.0, -np.log10(rel))
    vals = np.where(np.isnan(vals), 0.0, vals)
    return float(min(11.0, vals.min()))


def equivalent_parameters(name: str, params) -> list:
    """Parameter vectors that give `params`' model function exactly.

    Some NIST models are symmetric: Lanczos's three exponentials may come in
    any order, Gauss's two peaks likewise and their widths enter squared,
    Eckerle4 depends on b1/b2 and b2**2 only. A fit may reach the certified
    residual sum of squares at any of these points; the LRE is taken against
    the one the certified values use.
    """
    import itertools

    p = np.asarray(params, dtype=np.float64)
    if name.startswith("Lanczos"):
        pairs = p.reshape(3, 2)
        orders = itertools.permutations(range(3))
        return [pairs[list(order)].ravel() for order in orders]
    if name.startswith("Gauss"):
        head, peaks = p[:2], [p[2:5], p[5:8]]
        found = []
        for first, second in (peaks, peaks[::-1]):
            for s1, s2 in itertools.product((1, -1), repeat=2):
                found.append(np.concatenate([head, first * [1, 1, s1],
                                             second * [1, 1, s2]]))
        return found
    if name == "Eckerle4":
        return [p, p * [-1, -1, 1]]
    return [p]


def matched_lre(name: str, estimate, certified) -> float:
    """The LRE of the equivalent parameterization closest to the certified one."""
    return max(lre(e, certified) for e in equivalent_parameters(name, estimate))
