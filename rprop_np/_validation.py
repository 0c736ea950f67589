"""Checks for the public boundary: each error names the argument and the value."""

import math
import numbers

import numpy as np

from ._stopping import NO_LIMIT

REAL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
COMPLEX_DTYPES = (np.dtype(np.complex64), np.dtype(np.complex128))


def check_etas(
    etas, argname: str = "etas", dtype=np.float64
) -> tuple[float, float]:
    """Return ``(eta_minus, eta_plus)`` checked for ``0 < eta_minus < 1 < eta_plus``.

    Both must also keep their value in `dtype`, the dtype the kernels use.
    """
    eta_minus, eta_plus = _real_pair(etas, argname)
    if not 0.0 < eta_minus < 1.0 < eta_plus:
        raise ValueError(
            f"{argname} must satisfy 0 < eta_minus < 1 < eta_plus; "
            f"got eta_minus={eta_minus!r}, eta_plus={eta_plus!r}"
        )
    if not np.isfinite(eta_plus):
        raise ValueError(f"{argname}: eta_plus must be finite; got {eta_plus!r}")
    check_representable(eta_minus, dtype, f"{argname}: eta_minus")
    check_representable(eta_plus, dtype, f"{argname}: eta_plus")
    return eta_minus, eta_plus


def check_step_sizes(
    step_sizes, argname: str = "step_sizes", dtype=np.float64
) -> tuple[float, float]:
    """Return ``(min_step, max_step)`` checked for ``0 <= min_step <= max_step``
    and ``max_step > 0``.

    A zero min_step (common in code ported from torch, which accepts it)
    means what it means there: a step size may shrink to 0, where its
    component stops moving. Both must also keep their value in `dtype`, the
    dtype the kernels use.
    """
    min_step, max_step = _real_pair(step_sizes, argname)
    if not (0.0 <= min_step <= max_step and max_step > 0.0):
        raise ValueError(
            f"{argname} must satisfy 0 <= min_step <= max_step and max_step > 0; "
            f"got min_step={min_step!r}, max_step={max_step!r}"
        )
    if not np.isfinite(min_step):
        raise ValueError(f"{argname}: min_step must be finite; got {min_step!r}")
    check_representable(min_step, dtype, f"{argname}: min_step")
    check_representable(max_step, dtype, f"{argname}: max_step")
    return min_step, max_step


def check_lr(lr, size: int, argname: str = "lr", dtype=np.float64):
    """Return `lr` as a float, or as a flat float64 array of `size` entries.

    Every entry must be finite and ``>= 0`` (0 starts at the minimum step),
    and keep its value in `dtype`, the dtype of the step sizes.
    """
    try:
        values = np.asarray(lr)
    except (TypeError, ValueError):  # a ragged list
        values = None
    # Strings and None would otherwise be read as numbers, or as NaN.
    if values is None or values.dtype.kind not in "biuf":
        raise TypeError(
            f"{argname} must be a real number or an array of them; got {lr!r}"
        )
    values = values.astype(np.float64)
    if values.ndim == 0:
        value = float(values)
        if not (np.isfinite(value) and value >= 0.0):
            raise ValueError(f"{argname} must be finite and >= 0; got {value!r}")
        check_representable(value, dtype, argname)
        return value
    if values.size != size:
        raise ValueError(
            f"{argname} must be a scalar or have one entry per component ({size}); "
            f"got shape {values.shape}"
        )
    bad = ~(np.isfinite(values) & (values >= 0.0))
    if bad.any():
        index = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(
            f"{argname} must be finite and >= 0 everywhere; "
            f"{argname}[{index}] (flat index) is {float(values.ravel()[index])!r}"
        )
    check_representable(values.ravel(), dtype, argname)
    return values.ravel()


def check_representable(values, dtype, argname: str):
    """Return `values` cast to `dtype`, refusing a cast that changes their meaning.

    A finite value that would overflow to inf, or a nonzero value that would
    flush to zero, raises a ValueError naming `argname` (with the flat index
    for an array) and the value; inf, -inf, 0 and NaN are cast as they are.
    """
    dtype = np.dtype(dtype)
    values = np.asarray(values)
    if values.dtype.kind == "f" and values.dtype.itemsize <= dtype.itemsize:
        return values.astype(dtype)[()]  # a widening cast: nothing can change
    with np.errstate(over="ignore", under="ignore"):
        cast = values.astype(dtype)
    overflows = np.isfinite(values) & ~np.isfinite(cast)
    bad = np.flatnonzero(overflows | ((values != 0) & (cast == 0)))
    if bad.size:
        index = int(bad[0])
        info = np.finfo(dtype)
        limit = (
            f"largest {info.max!s}" if overflows.ravel()[index]
            else f"smallest nonzero {info.smallest_subnormal!s}"
        )
        label = argname if values.ndim == 0 else f"{argname}[{index}]"
        raise ValueError(
            f"{label} {float(values.ravel()[index])!r} is not representable in "
            f"{dtype} ({limit})"
        )
    return cast[()]  # a NumPy scalar for a scalar, else the array


def check_params(x, argname: str = "x") -> np.ndarray:
    """Check that `x` is an array Rprop can update in place."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{argname} must be a NumPy array (it is updated in place); "
            f"got {type(x).__name__}"
        )
    if x.dtype not in REAL_DTYPES + COMPLEX_DTYPES:
        raise TypeError(
            f"{argname} must have dtype float32, float64, complex64 or complex128; "
            f"got {x.dtype}"
        )
    if not x.flags.c_contiguous:
        raise ValueError(
            f"{argname} must be C-contiguous so it can be updated in place as one "
            f"flat vector; pass np.ascontiguousarray({argname}) and keep that array"
        )
    if x.size == 0:
        raise ValueError(
            f"{argname} must have at least one element; got shape {x.shape}"
        )
    if not x.flags.writeable:
        raise ValueError(f"{argname} must be writeable; it is updated in place")
    return x


def check_grad(grad, x: np.ndarray, argname: str = "grad") -> np.ndarray:
    """Return `grad` as a C-contiguous array of x's dtype and shape.

    A gradient of another float dtype is converted (NumPy's ``same_kind``
    casting); a real gradient for complex `x` is refused, since it would
    silently freeze the imaginary parts.
    """
    if type(grad) is np.ndarray and grad.dtype == x.dtype and grad.shape == x.shape:
        return grad if grad.flags.c_contiguous else np.ascontiguousarray(grad)
    grad = np.asarray(grad)
    if grad.shape != x.shape:
        raise ValueError(
            f"{argname} must have the shape of x, {x.shape}; got {grad.shape}"
        )
    if x.dtype.kind == "c" and grad.dtype.kind != "c":
        raise TypeError(
            f"{argname} must be complex for complex x ({x.dtype}); got {grad.dtype}"
        )
    if not np.can_cast(grad.dtype, x.dtype, casting="same_kind"):
        raise TypeError(
            f"{argname} has dtype {grad.dtype}, which cannot be converted to "
            f"x's dtype {x.dtype}"
        )
    return np.ascontiguousarray(grad, dtype=x.dtype)


def check_bounds(bounds, x: np.ndarray, argname: str = "bounds"):
    """Return ``(lower, upper)`` as flat arrays of x's dtype, checked.

    Each may be a scalar or have x's size; lower <= upper everywhere, no NaN,
    and `x` must lie inside.
    """
    if x.dtype.kind == "c":
        raise TypeError(f"{argname} are not supported for complex x ({x.dtype})")
    try:
        lower, upper = bounds
    except (TypeError, ValueError):
        raise TypeError(
            f"{argname} must be a pair (lower, upper); got {bounds!r}"
        ) from None
    lower, upper = bound_arrays(lower, upper, x.size, argname)
    lower = check_representable(lower, x.dtype, f"{argname}: lower")
    upper = check_representable(upper, x.dtype, f"{argname}: upper")
    outside = np.flatnonzero((x.ravel() < lower) | (x.ravel() > upper))
    if outside.size:
        i = int(outside[0])
        raise ValueError(
            f"x[{i}] (flat index) = {float(x.ravel()[i])!r} is outside "
            f"{argname} [{float(lower[i])!r}, {float(upper[i])!r}]"
        )
    return lower, upper


def bound_arrays(lower, upper, n: int, argname: str = "bounds", strict=False):
    """(lower, upper) as float64 arrays of n entries, checked.

    Each may be a scalar or have n entries, without NaN, a lower bound of +inf
    or an upper bound of -inf; lower <= upper everywhere (lower < upper with
    `strict`).
    """
    arrays = []
    for name, value, empty in (("lower", lower, np.inf), ("upper", upper, -np.inf)):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{argname}: {name} must be real numbers; got "
                            f"{value!r}") from None
        if array.size not in (1, n):
            raise ValueError(
                f"{argname}: {name} must be a scalar or have one entry per "
                f"variable ({n}); got shape {array.shape}"
            )
        if np.isnan(array).any():
            raise ValueError(f"{argname}: {name} contains NaN")
        hopeless = np.flatnonzero(array.ravel() == empty)
        if hopeless.size:
            raise ValueError(
                f"{argname}: {name} is {empty:+} at index {int(hopeless[0])}, "
                f"which leaves no feasible point"
            )
        arrays.append(np.broadcast_to(array.ravel(), (n,)).copy())
    lower, upper = arrays
    crossed = np.flatnonzero(lower >= upper if strict else lower > upper)
    if crossed.size:
        i = int(crossed[0])
        relation = ">=" if strict else ">"
        raise ValueError(
            f"{argname}: lower {relation} upper at index {i} "
            f"({float(lower[i])!r} {relation} {float(upper[i])!r})"
        )
    return lower, upper


def check_count(value, argname: str, minimum: int = 0, none_is_no_limit=False) -> int:
    """A count setting (``maxiter``, ``maxfev``, ...) as an int, as SciPy takes it.

    SciPy's loops compare their counter with the setting (``nit >=
    maxiter``), so a real number works there as its ceiling does, and inf as
    no limit: it becomes that int here (at most ``NO_LIMIT``). A bool, a
    string or another type is a TypeError, a value below `minimum` or NaN a
    ValueError, each naming `argname`. With `none_is_no_limit`, None is no
    limit too.
    """
    if value is None and none_is_no_limit:
        return NO_LIMIT
    expected = f"a number >= {minimum}" + (" or None" if none_is_no_limit else "")
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{argname} must be {expected}; got {value!r}")
    if not value >= minimum:
        raise ValueError(f"{argname} must be {expected}; got {value!r}")
    if math.isinf(value):
        return NO_LIMIT
    return min(math.ceil(value), NO_LIMIT)


def check_option_names(options, valid, label: str = "options") -> None:
    """Raise a ValueError naming every key of `options` not in `valid`."""
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(
            f"Unknown {label}: {', '.join(map(repr, unknown))}; valid options are "
            f"{', '.join(map(repr, valid))}"
        )


def _real_pair(pair, argname: str) -> tuple[float, float]:
    try:
        values = np.asarray(pair)
    except (TypeError, ValueError):  # a ragged list
        values = None
    # A string is a sequence too: "12" must not read as (1.0, 2.0).
    if values is None or values.shape != (2,) or values.dtype.kind not in "iuf":
        raise TypeError(f"{argname} must be a pair of real numbers; got {pair!r}")
    return float(values[0]), float(values[1])


# --- The SciPy-style front doors: x0, both forms of bounds, jac ------------


def float_copy(x0, argname: str = "x0") -> np.ndarray:
    """A copy of `x0` (never the caller's array): float32 stays, else float64."""
    x = np.array(x0, copy=True)
    if x.dtype.kind in "biu":
        x = x.astype(np.float64)
    if x.dtype not in REAL_DTYPES:
        raise TypeError(f"{argname} must be real numbers; got dtype {x.dtype}")
    return x


def check_finite(x: np.ndarray, argname: str = "x0") -> np.ndarray:
    """`x` itself, if every entry is finite; else a ValueError naming the first."""
    if not np.isfinite(x).all():
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
        label = ", ".join(map(str, index))
        raise ValueError(f"{argname} must be finite; {argname}[{label}] is "
                         f"{float(x[index])!r}")
    return x


def check_x0(x0) -> np.ndarray:
    """`minimize`'s x0: a finite, non-empty 1-D float copy (a scalar becomes
    shape (1,), as SciPy's ``np.atleast_1d``)."""
    x = float_copy(x0)
    if x.ndim == 0:
        x = x.reshape(1)
    if x.ndim != 1:
        raise ValueError(f"x0 must be 1-D; got shape {x.shape}")
    if x.size == 0:
        raise ValueError("x0 must have at least one element; got an empty array")
    return check_finite(x)


def minimize_bounds(bounds, n: int, dtype=np.float64):
    """`minimize`'s bounds (a `Bounds`, or n (min, max) pairs with None for
    none) as ``(lower, upper)`` arrays of n entries in `dtype`.

    A bound that `dtype` cannot hold (1e300, or 1e-50, in float32) is refused
    rather than rounded to inf or 0.
    """
    from scipy.optimize import Bounds  # only here: importing SciPy's costs

    if bounds is None:
        return np.full(n, -np.inf, dtype), np.full(n, np.inf, dtype)
    if isinstance(bounds, Bounds):
        lower, upper = bounds.lb, bounds.ub
    else:
        try:
            pairs = list(bounds)
            if len(pairs) != n:
                raise ValueError(
                    f"bounds must have one (min, max) pair per variable ({n}); "
                    f"got {len(pairs)}"
                )
            lower = [-np.inf if pair[0] is None else pair[0] for pair in pairs]
            upper = [np.inf if pair[1] is None else pair[1] for pair in pairs]
        except (TypeError, IndexError):
            raise TypeError(
                "bounds must be a scipy.optimize.Bounds or a sequence of "
                f"(min, max) pairs; got {bounds!r}"
            ) from None
    return tuple(check_representable(bound, dtype, "bounds")
                 for bound in bound_arrays(lower, upper, n))


def curve_fit_bounds(bounds, n: int):
    """`curve_fit`'s bounds (a `Bounds`, or a 2-tuple (lower, upper) of scalars
    or arrays) as float64 ``(lower, upper)`` with lower < upper everywhere."""
    from scipy.optimize import Bounds

    if type(bounds) is tuple and len(bounds) == 2 and all(
            type(bound) is float for bound in bounds) and bounds == (-np.inf, np.inf):
        # SciPy's default, on every unbounded fit: its checks cost more than a
        # small fit's Gauss-Newton refinement.
        return np.full(n, -np.inf), np.full(n, np.inf)
    if isinstance(bounds, Bounds):
        lower, upper = bounds.lb, bounds.ub
    else:
        try:
            lower, upper = bounds
        except (TypeError, ValueError):
            raise TypeError(
                f"bounds must be a 2-tuple (lower, upper) or a Bounds; got {bounds!r}"
            ) from None
    return bound_arrays(lower, upper, n, strict=True)


FINITE_DIFFERENCES = ("2-point", "3-point", "cs")


def jac_kind(jac, allowed=("callable", "both", *FINITE_DIFFERENCES)) -> str:
    """What SciPy's `jac` asks for: 'callable', 'both' (True: fun returns
    (f, grad)) or a finite-difference scheme (None and False mean '2-point').

    Raises a ValueError naming the kinds in `allowed` for anything else.
    """
    if jac is True:
        kind = "both"
    elif jac is None or jac is False:
        kind = "2-point"
    elif callable(jac):
        kind = "callable"
    elif isinstance(jac, str) and jac in FINITE_DIFFERENCES:
        kind = jac
    else:
        kind = None
    if kind not in allowed:
        choices = [name for kind, name in (("callable", "callable"), ("both", "True"),
                                           ("2-point", "None")) if kind in allowed]
        schemes = [repr(a) for a in FINITE_DIFFERENCES if a in allowed]
        raise ValueError(f"jac must be {', '.join(choices)}, or one of "
                         f"{', '.join(schemes)}; got {jac!r}")
    return kind
