"""``minimize_many``: the same small problem, solved for every row, in parallel."""

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult

from . import _dask, _first_class, _minimize_loop, _vectorized
from ._jit import thread_count, use_threads
from ._minimize import (
    _check_options,
    _check_options_type,
    _compiled_rel_step,
    _limits,
    resolve_variant,
)
from ._optimizer import _check_bool, loop_settings
from ._stopping import SUCCESS, message
from ._validation import (
    check_finite,
    check_option_names,
    float_copy,
    jac_kind,
    minimize_bounds,
)

# The options of `minimize` that make sense for a compiled loop.
_OPTIONS = ("lr", "etas", "step_sizes", "groups", "maxiter", "maxfev", "gtol", "xtol",
            "ftol", "finite_diff_rel_step", "parallel")


def minimize_many(
    fun: Callable[..., Any],
    x0,
    args: tuple = (),
    jac: Callable[..., Any] | str | bool | None = None,
    method: str | None = None,
    bounds=None,
    tol: float | None = None,
    options: dict[str, Any] | None = None,
    vectorized: bool = False,
) -> OptimizeResult:
    """Minimize m independent problems of the same form, in parallel.

    Problem i is ``minimize(fun, x0[i], args=tuple(a[i] for a in args), ...)``
    and its result is bit for bit what that call returns; the problems run
    in one compiled loop, on several threads at once for 16 problems or more
    (Python threads over ranges of rows, the loop releasing the GIL), each
    with its own stopping. A non-finite objective ends only its own problem.
    With ``vectorized=True``, `fun` instead evaluates every running problem
    in one call, once per iteration, and may be plain NumPy code.

    Parameters
    ----------
    fun : Numba ``@njit`` function, or any callable with ``vectorized=True``
        ``fun(x, *args_i) -> float`` for one problem, `x` a 1-D array (do not
        modify it); with ``jac=True``, ``fun(x, *args_i) -> (float, ndarray)``.
        With ``vectorized=True``, ``fun(x, *args) -> ndarray (k,)`` for the
        k problems still running, `x` their points (k, n; a copy, the
        function's to keep) and each array of `args` their k rows
        (read-only); with ``jac=True`` then ``fun(x, *args) -> (ndarray (k,),
        ndarray (k, n))``. See `vectorized`.
    x0 : array_like, shape (m, n) or (n,)
        Initial guesses, one row per problem; a 1-D `x0` starts every problem
        there (m is then the leading length of `args`). float32 stays
        float32, anything else becomes float64. Clipped into `bounds`.
    args : tuple (or list) of array_like, optional
        Each has a leading axis of length m; problem i receives the i-th
        slice of each (a scalar from a 1-D array, a row from a 2-D one).
    jac : {``@njit`` function, True, None, '2-point'}, optional
        ``jac(x, *args_i) -> ndarray (n,)``; True if `fun` returns the
        gradient; None or '2-point' for SciPy's forward differences,
        computed in compiled code (float64 only). With ``vectorized=True``
        any callable, ``jac(x, *args) -> ndarray (k, n)``, and the
        differences take n + 1 calls of `fun` per iteration.
    method : {'irprop+', 'irprop-', 'rprop+', 'rprop-'}, optional
        The Rprop variant. Default (None) 'irprop+'; or ``options={"variant":
        ...}``, as `minimize` takes it.
    bounds : `scipy.optimize.Bounds` or sequence of (min, max), optional
        The same box for every problem, as `minimize` takes it.
    tol : float, optional
        Sets `gtol` when the options do not.
    options : dict, optional
        ``lr``, ``etas``, ``step_sizes``, ``groups``, ``maxiter``,
        ``maxfev``, ``gtol``, ``xtol``, ``ftol`` and
        ``finite_diff_rel_step``, as for `minimize`; ``parallel`` (None:
        threads for 16 problems or more; True or False to choose; not True
        with ``vectorized=True``, which runs on the calling thread).
    vectorized : bool, optional
        False (default): `fun` is one problem's objective, compiled into the
        loop. True: `fun` (and `jac`) take every running problem at once, as
        the rows of `x` and of each array in `args` (problems first, as in
        `x0`; SciPy's ``differential_evolution`` puts them last), so that
        NumPy code needs no Numba and an ``@njit`` function over the rows
        runs once per iteration. Problems that stop leave the batch: later
        calls see fewer rows, and the last running problem takes a stopped
        one's row (its rows of `args` move with it), so a row's value must
        not depend on its position. Each problem's result is bit for bit the
        compiled loop's wherever fun and jac give each row the same floats
        an ``@njit`` objective gives that problem alone. Two common ways they
        differ: NumPy sums 8 or more entries pairwise (``np.sum(..., axis=1)``)
        where a Numba loop or ``np.sum`` adds them in order, and NumPy keeps
        ``3 * x`` float32 where Numba computes it in float64.

    Returns
    -------
    res : OptimizeResult
        Arrays over the problems: ``x`` (m, n), the best point of each, with
        ``fun`` (m,) and ``jac`` (m, n) there; ``x_last`` and ``fun_last``;
        ``nit``, ``nfev``, ``njev``, ``status`` and ``success`` (m,).
        ``message`` maps each status that occurred to its text (see
        ``rprop_np.STATUS_MESSAGES``).

    Notes
    -----
    `x0` and the arrays of `args` may be Dask arrays (``pip install
    "rprop-np[dask]"``), chunked over the problems: the result's arrays are
    then lazy Dask arrays in those chunks, each block solved by this
    function when computed, bit for bit as in memory on any scheduler.
    Compute them together (``dask.compute(dict(res))``), or each
    computation solves every block again; ``message`` then holds every
    status's text. NumPy arrays among them are split to match the first
    Dask array; two Dask arrays chunked differently are refused. `fun` and
    `jac` are pickled to reach the workers (one that cannot be is refused
    at the call).

    Examples
    --------
    Fit ``(x - c_i)**2`` for a thousand centres at once:

    >>> import numpy as np
    >>> from numba import njit
    >>> import rprop_np as rp
    >>> @njit
    ... def shifted(x, centre):
    ...     return np.sum((x - centre) ** 2)
    >>> @njit
    ... def shifted_grad(x, centre):
    ...     return 2.0 * (x - centre)
    >>> centres = np.linspace(-5.0, 5.0, 1000).reshape(500, 2)
    >>> res = rp.minimize_many(shifted, np.zeros(2), args=(centres,),
    ...                        jac=shifted_grad)
    >>> res.x.shape, bool(res.success.all()), bool(np.abs(res.x - centres).max() < 1e-5)
    ((500, 2), True, True)

    The same with NumPy, every problem in one call (no Numba needed):

    >>> def shifted_rows(x, centre):
    ...     return np.sum((x - centre) ** 2, axis=1)
    >>> def shifted_rows_grad(x, centre):
    ...     return 2.0 * (x - centre)
    >>> rows = rp.minimize_many(shifted_rows, np.zeros(2), args=(centres,),
    ...                         jac=shifted_rows_grad, vectorized=True)
    >>> bool(np.array_equal(rows.x, res.x)), bool(np.array_equal(rows.nit, res.nit))
    (True, True)
    """
    vectorized = _check_bool(vectorized, "vectorized")
    if vectorized:
        if not callable(fun):
            raise TypeError(f"fun must be callable; got {fun!r}")
    elif not _first_class.is_njit(fun):
        raise TypeError(
            f"fun must be a Numba @njit function (the loop runs compiled), or "
            f"take every problem at once with vectorized=True; got {fun!r}"
        )
    options = {} if options is None else _check_options_type(options)
    as_called = {"method": method, "options": dict(options),  # for Dask's blocks
                 "vectorized": vectorized}
    method = resolve_variant(method, options)
    check_option_names(options, [*_OPTIONS, "variant"], "options for minimize_many")
    if tol is not None:
        options.setdefault("gtol", tol)
    parallel = options.pop("parallel", None)
    opts = _check_options(options)
    opts["parallel"] = parallel
    kind = jac_kind(jac, ("callable", "both", "2-point"))
    if vectorized and use_threads(parallel, 0, 1):
        # Threads sharing each iteration's steps were measured 1.5-8 times
        # slower on 2 cores (a hand-over per iteration costs ~0.2 ms).
        raise ValueError(
            "options['parallel'] cannot be True with vectorized=True: fun "
            "evaluates every problem in one call, on the calling thread"
        )
    if kind == "callable" and not vectorized and not _first_class.is_njit(jac):
        raise TypeError(f"jac must be a Numba @njit function here; got {jac!r}")
    if _dask.is_dask(x0) and x0.ndim <= 1:
        x0 = np.asarray(x0)  # one start, shared: small
    if any(map(_dask.is_dask, (x0, *(args if isinstance(args, list | tuple)
                                     else (args,))))):
        # What can be checked without the data is refused here, not in a block.
        x0_dtype = x0.dtype if _dask.is_dask(x0) else np.asarray(x0).dtype
        dtype = np.dtype(np.float32 if x0_dtype == np.float32 else np.float64)
        _check_differences_dtype(kind, dtype)
        minimize_bounds(bounds, np.shape(x0)[-1] if np.ndim(x0) else 1, dtype)
        use_threads(parallel, 0, 1)
        return _dask.minimize_many(fun, x0, args, {
            "jac": jac, "bounds": bounds, "tol": tol, **as_called})
    args = _check_args(args)
    x = _check_x0_many(x0, args)
    m, n = x.shape
    _check_differences_dtype(kind, x.dtype)
    lower, upper = minimize_bounds(bounds, n, x.dtype)
    np.clip(x, lower, upper, out=x)
    bounded = not np.all(np.isinf(lower) & np.isinf(upper))
    step_size, variant, group_stop, hyper = loop_settings(
        x[0], opts["lr"], opts["etas"], opts["step_sizes"], method, opts["groups"],
        bounded)
    rel_step = _compiled_rel_step(opts, kind, n)
    if vectorized:
        box = _minimize_loop.Box(lower, upper, bounded)
        layout = _minimize_loop.Layout(group_stop, hyper)
        outcomes = _vectorized.solve(fun, jac, kind, x, args, step_size, box, layout,
                                     np.int64(variant), _limits(opts), rel_step)
        return _result(outcomes.best_x, outcomes.best_grad, outcomes.counts,
                       outcomes.values, outcomes.x_last)

    _first_class.check_objective_reads(fun, jac, x[0], [a[0] for a in args])
    argtypes = [_first_class.typeof(x[0])] + [_first_class.typeof(a[0]) for a in args]
    fun_type, jac, jac_type = _first_class.typed_objective(fun, jac, argtypes)
    best_x = np.empty_like(x)
    best_grad = np.empty_like(x)
    counts = np.empty((m, 5), np.int64)
    values = np.empty((m, 2))
    box = _minimize_loop.Box(np.broadcast_to(lower, (m, n)),
                             np.broadcast_to(upper, (m, n)), bounded)
    arguments = (
        fun, jac, args, x, step_size, box, _minimize_loop.Layout(group_stop, hyper),
        np.int64(variant),
        _limits(opts), rel_step, best_x, best_grad, counts, values, np.int64(0),
        np.int64(m),
    )
    value_types = (fun_type, jac_type, *map(_first_class.typeof, arguments[2:]))
    parallel = use_threads(opts["parallel"], m, _minimize_loop.PARALLEL_MIN_PROBLEMS)
    _first_class.call(_minimize_loop.solve_rows, arguments, value_types,
                      threads=thread_count() if parallel else 1)

    return _result(best_x, best_grad, counts, values, x)


class ManyResult(OptimizeResult):
    """`OptimizeResult` whose ``message`` maps status codes to their texts.

    SciPy's repr formats a dict value as a nested result with string keys,
    and raised on the integer codes: this one lists them as lines.
    """

    def __repr__(self) -> str:
        shown = OptimizeResult(self)
        if isinstance(self.get("message"), dict):
            shown["message"] = "\n".join(
                f"{code}: {text}" for code, text in self["message"].items())
        return repr(shown)


def _result(best_x, best_grad, counts, values, x_last):
    """The `ManyResult` of every problem's outcome."""
    status = counts[:, 0]
    return ManyResult(
        x=best_x, fun=values[:, 0], jac=best_grad, nit=counts[:, 1],
        nfev=counts[:, 2], njev=counts[:, 3], status=status,
        success=np.isin(status, list(SUCCESS)), message=_messages(status),
        x_last=x_last, fun_last=values[:, 1],
    )


def _check_differences_dtype(kind, dtype):
    """Refuse compiled forward differences for other than float64 `x0`."""
    if kind == "2-point" and dtype != np.float64:
        raise TypeError(
            f"finite differences need float64 x0; got {dtype} (pass a jac)"
        )


def _messages(status):
    """Each status that occurred, with its text in terms of the result's arrays."""
    return {int(code): message(int(code), "nit[i]", "fun_last[i]", "some")
            for code in np.unique(status)}


def _check_args(args):
    """`args` as a tuple of C-contiguous arrays with one common leading length.

    A list is taken as a tuple: every argument is an array of its own, so a
    list of them is never one argument.
    """
    if isinstance(args, list):
        args = tuple(args)
    elif not isinstance(args, tuple):
        args = (args,)
    arrays = []
    for index, value in enumerate(args):
        array = np.asarray(value)
        if array.ndim == 0:
            raise ValueError(
                f"args[{index}] must have a leading axis with one entry per "
                f"problem; got a scalar {value!r}"
            )
        if array.dtype.kind not in "biuf":
            raise TypeError(f"args[{index}] must hold real numbers; got {array.dtype}")
        arrays.append(np.ascontiguousarray(array))
    lengths = {len(array) for array in arrays}
    if len(lengths) > 1:
        shapes = ", ".join(f"args[{i}]: {a.shape}" for i, a in enumerate(arrays))
        raise ValueError(
            f"every array in args must have the same leading length (one entry "
            f"per problem); got {shapes}"
        )
    return tuple(arrays)


def _check_x0_many(x0, args):
    """x0 as an owned (m, n) array, float32 or float64."""
    x = float_copy(x0)
    if x.ndim == 0:  # one variable, as minimize takes a scalar
        x = x.reshape(1)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError(
            f"x0 must have shape (m, n) or (n,) with n >= 1; got shape {x.shape}"
        )
    if x.ndim == 1:
        if not args:
            raise ValueError(
                "x0 is 1-D and there are no args to count the problems: "
                "give x0 the shape (m, n)"
            )
        x = np.broadcast_to(x, (len(args[0]), x.size)).copy()  # writeable
    elif args and len(args[0]) != len(x):
        raise ValueError(
            f"x0 has {len(x)} rows (problems), but args[0] has leading length "
            f"{len(args[0])}"
        )
    if x.shape[0] == 0:
        raise ValueError("x0 must hold at least one problem; got shape (0, n)")
    return check_finite(x)
