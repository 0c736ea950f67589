"""Dask arrays in `curve_fit_many` and `minimize_many`: one in-memory call per block.

The problems of a call are independent (each fit is rescued by its own
noise level, each minimization stops on its own), so a block of them gives
the same bits in any chunking, on any scheduler. Each block runs the
in-memory driver on NumPy arrays and packs its results into one float64
array, ``(..., width)``; the public results are lazy slices of it, so
computing them together (``dask.compute(popt, pcov, info)``) runs every
block once.

Nothing here imports Dask until a Dask array is passed: `is_dask` tells one
by its type's module.
"""

import functools
import warnings

import numpy as np

from . import _stopping


def is_dask(value) -> bool:
    """Whether `value` is a Dask array (without importing Dask)."""
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "chunks")


def curve_fit_many(model, xdata, ydata, p0, sigma, options):
    """`rprop_np.curve_fit_many` over Dask arrays: ``(popt, pcov, info)``, lazy.

    `options` are every keyword argument of the public call but the data.
    """
    import dask.array as da

    _check_sendable(model, "model")
    _check_sendable(options.get("jac"), "jac")
    # What all fits share is small: brought to the client as NumPy.
    p0, xdata, sigma = (np.asarray(a) if is_dask(a) and a.ndim <= 1 else a
                        for a in (p0, xdata, sigma))
    p0 = p0 if is_dask(p0) else np.asarray(p0)
    fits, k = np.shape(ydata)[:-1], np.shape(ydata)[-1]
    if not fits:
        raise ValueError(
            f"ydata must be an array of shape (..., k): one row of k points per "
            f"fit; got shape {np.shape(ydata)}"
        )
    # The fit axes' chunks: those of the first Dask array that has them.
    named = {"ydata": ydata, "p0": p0, "xdata": xdata, "sigma": sigma}
    first = next((name for name, a in named.items()
                  if is_dask(a) and a.ndim == len(fits) + 1), None)
    if first is None:  # only shared arrays were Dask arrays: Dask's chunks
        first, named["ydata"] = "ydata", da.asarray(ydata)
    fit_chunks = (first, named[first].chunks[:-1])
    axes = tuple(f"fit{i}" for i in range(len(fits)))
    ydata = _over_fits(named["ydata"], "ydata", fits, fit_chunks, k)
    if p0.ndim <= 1:
        n = max(p0.size, 1)
        p0_arg = (p0, None)  # shared: passed to every block as it is
    else:
        n = p0.shape[-1]
        p0_arg = (_over_fits(p0, "p0", fits, fit_chunks, n), (*axes, "n"))
    x_arg = (xdata, None)
    if np.ndim(xdata) > 1:
        x_arg = (_over_fits(xdata, "xdata", fits, fit_chunks, k), (*axes, "k"))
    sigma_arg = (sigma, None)
    if np.ndim(sigma) > 1:  # one row per fit: broadcast to ydata's shape
        sigma = (da.broadcast_to(sigma, ydata.shape) if is_dask(sigma)
                 else np.broadcast_to(sigma, ydata.shape))
        sigma_arg = (_over_fits(sigma, "sigma", fits, fit_chunks, k), (*axes, "k"))
    width = n + n * n + 5  # popt, pcov, status, cost, nfev, njev, nit
    # The function and settings go in a partial: as keyword arguments of
    # blockwise, Dask would size the Numba dispatcher, which imports
    # numba.cuda (and fails under its simulator).
    block = functools.partial(_fit_block, model=model, options=options,
                              fit_ndim=len(fits))
    packed = da.blockwise(
        block, (*axes, "out"),
        ydata, (*axes, "k"), *p0_arg, *x_arg, *sigma_arg,
        *_offsets(fits, fit_chunks[1], axes),
        new_axes={"out": width}, concatenate=True, dtype=np.float64,
        meta=np.empty((0,) * (len(fits) + 1)),
    )
    columns = n + n * n
    status = packed[..., columns].astype(np.int64)
    info = {
        "status": status,
        "success": da.isin(status, list(_stopping.SUCCESS)),
        "cost": packed[..., columns + 1],
        "nfev": packed[..., columns + 2].astype(np.int64),
        "njev": packed[..., columns + 3].astype(np.int64),
        "nit": packed[..., columns + 4].astype(np.int64),
        "message": dict(_stopping.STATUS_MESSAGES),  # which occur is not known yet
    }
    pcov = packed[..., n:columns].reshape(*fits, n, n)
    return packed[..., :n], pcov, info


def _fit_block(ydata, p0, xdata, sigma, *offsets_and_options, model, options,
               fit_ndim):
    """One block's fits, packed: ``(..., n + n*n + 5)``."""
    from ._curve_fit_many import curve_fit_many

    offsets = [int(index[0]) for index in offsets_and_options]
    try:
        popt, pcov, info = curve_fit_many(model, xdata, ydata, p0, sigma, **options)
    except ValueError as error:
        raise _located(error, ydata, offsets,
                       options.get("nan_policy") == "omit") from None
    fits = ydata.shape[:fit_ndim]
    return np.concatenate(
        [popt, pcov.reshape(*fits, -1),
         *(info[name][..., None].astype(np.float64)
           for name in ("status", "cost", "nfev", "njev", "nit"))], axis=-1)


def _located(error, ydata, offsets, omit):
    """`error` from a block, with indices over the whole call where it names
    a point of ydata, or else the block's place."""
    missing = np.isinf(ydata) if omit else ~np.isfinite(ydata)  # omit allows NaN
    if "ydata contains NaN or inf" in str(error) and missing.any():
        where = np.unravel_index(np.flatnonzero(missing)[0], ydata.shape)
        index = tuple(int(i) + offset for i, offset in zip(where, [*offsets, 0],
                                                        strict=True))
        fit = index[:-1] if len(index) > 2 else index[0]
        value = float(ydata[where])
        advice = ("; nan_policy='omit' fits each fit on its finite points"
                  if np.isnan(value) else "")
        return ValueError(
            f"ydata contains NaN or inf: ydata[{', '.join(map(str, index))}] = "
            f"{value!r} (fit {fit}, point {index[-1]}){advice}"
        )
    block = ", ".join(f"{start}:{start + size}"
                      for start, size in zip(offsets, ydata.shape[:-1], strict=True))
    return type(error)(f"{error} (in the Dask block of fits [{block}])")


def minimize_many(fun, x0, args, options):
    """`rprop_np.minimize_many` over Dask arrays: its `OptimizeResult`, lazy.

    `options` are the public call's keyword arguments but `fun`, `x0` and
    `args`.
    """
    import dask.array as da

    _check_sendable(fun, "fun")
    _check_sendable(options.get("jac"), "jac")
    args = tuple(args) if isinstance(args, list | tuple) else (args,)
    x0 = x0 if is_dask(x0) else np.asarray(x0)
    # The dispatcher made a shared (1-D) x0 NumPy: a Dask array is over problems.
    first = next(a for a in (x0, *args) if is_dask(a) and a.ndim)
    m, chunks = first.shape[0], first.chunks[0]
    if x0.ndim == 2:
        n = x0.shape[-1]
        x_arg = (_rows(x0, "x0", m, chunks), ("problem", "n"))
    else:  # one start for every problem, passed to every block as it is
        n = max(x0.size, 1)
        x_arg = (x0, None)
    arrays = []
    for index, value in enumerate(args):
        if np.ndim(value) == 0:
            raise ValueError(
                f"args[{index}] must have a leading axis with one entry per "
                f"problem; got a scalar {value!r}"
            )
        array = _rows(value, f"args[{index}]", m, chunks)
        arrays += [array, ("problem", *(f"args{index}_{i}"
                                         for i in range(1, array.ndim)))]
    dtype = np.dtype(x_arg[0].dtype)
    dtype = dtype if dtype == np.float32 else np.dtype(np.float64)
    width = 3 * n + 6  # x, jac, x_last, fun, fun_last, nit, nfev, njev, status
    packed = da.blockwise(  # a partial, as in curve_fit_many
        functools.partial(_minimize_block, fun=fun, options=options),
        ("problem", "out"), *x_arg, *arrays,
        new_axes={"out": width}, concatenate=True, dtype=np.float64,
        meta=np.empty((0, 0)),
    )
    columns = {name: packed[:, 3 * n + i]
               for i, name in enumerate(("fun", "fun_last", "nit", "nfev", "njev",
                                         "status"))}
    status = columns["status"].astype(np.int64)
    from ._minimize_many import ManyResult  # it imports this module

    return ManyResult(
        x=packed[:, :n].astype(dtype), jac=packed[:, n:2 * n].astype(dtype),
        x_last=packed[:, 2 * n:3 * n].astype(dtype),
        fun=columns["fun"], fun_last=columns["fun_last"],
        **{name: columns[name].astype(np.int64) for name in ("nit", "nfev", "njev")},
        status=status, success=da.isin(status, list(_stopping.SUCCESS)),
        message={code: _stopping.message(code, "nit[i]", "fun_last[i]", "some")
                 for code in _stopping.STATUS_MESSAGES},
    )


def _minimize_block(x0, *args, fun, options):
    """One block's problems, packed: ``(m, 3n + 6)``."""
    from ._minimize_many import minimize_many

    res = minimize_many(fun, x0, args=args, **options)
    return np.column_stack([
        res.x, res.jac, res.x_last, res.fun, res.fun_last, res.nit, res.nfev,
        res.njev, res.status]).astype(np.float64)


def _chunked_data(array, argname):
    """`array` with its last axis in one chunk (rechunked, with a warning)."""
    if array.ndim and len(array.chunks[-1]) > 1:
        warnings.warn(
            f"{argname}'s last axis is split into {len(array.chunks[-1])} chunks; "
            f"each problem needs all of it, so it is rechunked into one",
            UserWarning, stacklevel=4)
        array = array.rechunk({array.ndim - 1: -1})
    return array


def _over_fits(values, argname, fits, fit_chunks, last):
    """`values` of shape ``(*fits, last)`` as a Dask array chunked over the
    fit axes as `fit_chunks` says, ``(the first Dask array's name, its
    chunks)``: a NumPy array is split so, a Dask array must be."""
    import dask.array as da

    first, chunks = fit_chunks
    shape = (*fits, last)
    if np.shape(values) != shape:
        raise ValueError(
            f"{argname} must have shape {shape} (ydata's fit axes, then "
            f"{last}); got shape {np.shape(values)}"
        )
    if not is_dask(values):
        return da.from_array(np.asarray(values), chunks=(*chunks, last))
    values = _chunked_data(values, argname)
    if values.chunks[:-1] != tuple(chunks):
        raise ValueError(
            f"{argname} is chunked {values.chunks[:-1]} over the fit axes, but "
            f"{first} {tuple(chunks)}: rechunk one to the other, e.g. "
            f"{argname}.rechunk({first}.chunks[:-1] + (-1,))"
        )
    return values


def _rows(values, argname, m, chunks):
    """`values` (m, ...) as a Dask array chunked `chunks` over its rows and
    not at all over its other axes: a NumPy array is split so, a Dask array
    must be (its other axes are rechunked, with a warning)."""
    import dask.array as da

    if np.shape(values)[0] != m:
        raise ValueError(
            f"{argname} has leading length {np.shape(values)[0]}, but there are "
            f"{m} problems (the leading length of the first Dask array)"
        )
    if not is_dask(values):
        values = np.asarray(values)
        return da.from_array(values, chunks=(chunks, *values.shape[1:]))
    if any(len(c) > 1 for c in values.chunks[1:]):
        warnings.warn(
            f"{argname} is split along an axis other than the problems'; each "
            f"problem needs all of its row, so it is rechunked into one",
            UserWarning, stacklevel=4)
        values = values.rechunk({i: -1 for i in range(1, values.ndim)})
    if values.chunks[0] != tuple(chunks):
        raise ValueError(
            f"{argname} is chunked {values.chunks[0]} over the problems, but the "
            f"first Dask array {tuple(chunks)}: rechunk one to the other, e.g. "
            f"{argname}.rechunk({{0: {tuple(chunks)}}})"
        )
    return values


def _offsets(fits, fit_chunks, axes):
    """Per fit axis, its global indices as a Dask array in ydata's chunks, so
    that a block knows where it starts (errors name fits by their index)."""
    import dask.array as da

    pairs = []
    for size, chunks, axis in zip(fits, fit_chunks, axes, strict=True):
        pairs += [da.arange(size, chunks=(chunks,)), (axis,)]
    return pairs


def _check_sendable(function, argname):
    """Refuse a function that cannot be pickled for Dask's workers, by name."""
    if function is None or isinstance(function, str | bool):
        return
    import cloudpickle

    try:
        cloudpickle.dumps(function)
    except Exception as error:  # pickling raises many kinds (ctypes: ValueError)
        raise TypeError(
            f"{argname} cannot be sent to Dask's workers: pickling it failed "
            f"({error}). Define it at the top level of a module, and keep what "
            f"it reads from outside (globals, closures) picklable"
        ) from error

