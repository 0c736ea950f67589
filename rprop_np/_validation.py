"""Checks for the public boundary: each error names the argument and the value."""

import numbers

import numpy as np

REAL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
COMPLEX_DTYPES = (np.dtype(np.complex64), np.dtype(np.complex128))


def check_etas(etas, argname: str = "etas") -> tuple[float, float]:
    """Return ``(eta_minus, eta_plus)`` checked for ``0 < eta_minus < 1 < eta_plus``."""
    eta_minus, eta_plus = _real_pair(etas, argname)
    if not 0.0 < eta_minus < 1.0 < eta_plus:
        raise ValueError(
            f"{argname} must satisfy 0 < eta_minus < 1 < eta_plus; "
            f"got eta_minus={eta_minus!r}, eta_plus={eta_plus!r}"
        )
    if not np.isfinite(eta_plus):
        raise ValueError(f"{argname}: eta_plus must be finite; got {eta_plus!r}")
    return eta_minus, eta_plus


def check_step_sizes(step_sizes, argname: str = "step_sizes") -> tuple[float, float]:
    """Return ``(min_step, max_step)`` checked for ``0 < min_step <= max_step``."""
    min_step, max_step = _real_pair(step_sizes, argname)
    if not 0.0 < min_step <= max_step:
        raise ValueError(
            f"{argname} must satisfy 0 < min_step <= max_step; "
            f"got min_step={min_step!r}, max_step={max_step!r}"
        )
    if not np.isfinite(min_step):
        raise ValueError(f"{argname}: min_step must be finite; got {min_step!r}")
    return min_step, max_step


def check_lr(lr, size: int, argname: str = "lr"):
    """Return `lr` as a float, or as a flat float64 array of `size` entries.

    Every entry must be finite and ``>= 0`` (0 starts at the minimum step).
    """
    if isinstance(lr, numbers.Real) or (isinstance(lr, np.ndarray) and lr.ndim == 0):
        value = float(lr)
        if not (np.isfinite(value) and value >= 0.0):
            raise ValueError(f"{argname} must be finite and >= 0; got {value!r}")
        return value
    try:
        values = np.asarray(lr, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{argname} must be a real number or an array of them; got {lr!r}"
        ) from None
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
    return values.ravel()


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
    lower, upper = lower.astype(x.dtype), upper.astype(x.dtype)
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

    Each may be a scalar or have n entries, without NaN; lower <= upper
    everywhere (lower < upper with `strict`).
    """
    arrays = []
    for name, value in (("lower", lower), ("upper", upper)):
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
        first, second = pair
        return float(first), float(second)
    except (TypeError, ValueError):
        raise TypeError(
            f"{argname} must be a pair of real numbers; got {pair!r}"
        ) from None
