"""The Rprop optimizer object: state for one parameter array, or a list of them."""

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import _backends
from ._validation import (
    check_etas,
    check_grad,
    check_lr,
    check_params,
    check_step_sizes,
)
from ._variants import VARIANTS, keeps_update, needs_objective, variant_code

_GROUP_KEYS = ("size", "lr", "etas", "step_sizes")


class _Group(NamedTuple):
    """One segment of the real flat view, with its hyper-parameters."""

    start: int  # in entries of the real view (two per complex component)
    stop: int
    etas: tuple[float, float]
    step_sizes: tuple[float, float]


class Rprop:
    r"""Resilient backpropagation (Rprop) for a NumPy parameter array.

    Each component of `x` has its own step size, which grows by ``eta_plus``
    while its gradient keeps its sign and shrinks by ``eta_minus`` when the sign
    flips; the step taken is that size in the direction opposite the
    gradient's sign, whatever the gradient's magnitude. Four variants differ
    in what they do after a sign flip (see :mod:`rprop_np.reference` for the
    exact rules):

    ``"irprop-"`` (default)
        No step on a sign flip. With a scalar `lr` this is exactly
        ``torch.optim.Rprop``, bit for bit.
    ``"irprop+"``
        On a sign flip, undo the last step only if the objective increased:
        `step` needs the objective value `f`.
    ``"rprop+"``
        On a sign flip, always undo the last step (weight-backtracking).
    ``"rprop-"``
        Always step; sign flips only shrink the step size.

    Parameters
    ----------
    x : ndarray, list of ndarray, or list of dict
        The parameters: a writeable, C-contiguous array of float32, float64,
        complex64 or complex128, any shape. It is updated in place by `step`,
        as torch updates its parameters. As in torch, it may also be a list of
        such NumPy arrays (one dtype, any shapes; `step` then takes a list of
        gradients) or a list of group dicts ``[{"params": [W], "lr": 0.1},
        {"params": [b]}]``, each with its own ``lr``, ``etas`` and
        ``step_sizes`` (and then not `groups`); the state runs over the arrays
        in order. A CPU ``torch.Tensor`` is passed as ``tensor.detach().numpy()``,
        which shares its memory. A complex component is updated as its
        real and imaginary parts, like ``torch.view_as_real``.
    lr : float or array_like, optional
        Initial step size: a scalar, or one value per component of `x` (same
        size). Must be finite and >= 0. Default 1e-2.
    etas : (float, float), optional
        ``(eta_minus, eta_plus)`` with ``0 < eta_minus < 1 < eta_plus``: the
        factors that shrink and grow a step size. Default (0.5, 1.2).
    step_sizes : (float, float), optional
        ``(min_step, max_step)`` with ``0 <= min_step <= max_step`` and
        ``max_step > 0``: the bounds of every step size (a step size that
        reaches a min_step of 0 stays 0, as in torch). Default (1e-6, 50).
    variant : {"irprop-", "irprop+", "rprop+", "rprop-"}, optional
        Case-insensitive. Default "irprop-".
    maximize : bool, optional
        Climb the objective instead of descending it. Default False.
    groups : sequence of dict, optional
        Consecutive segments of the flattened `x`, each with its own
        hyper-parameters, like torch's parameter groups. Each dict has a
        ``"size"`` (number of components) and optionally ``"lr"``, ``"etas"``
        and ``"step_sizes"``, which default to the arguments above. The sizes
        must add up to ``x.size``.
    bounds : (array_like, array_like), optional
        ``(lower, upper)`` bounds on `x` (real `x` only), each a scalar or an
        array with x's size; ``-np.inf`` / ``np.inf`` for none. After each
        step, a component that left the box is put back on the bound it
        crossed, its step size becomes the distance it could travel (at least
        ``min_step``), and for the ``+`` variants the remembered update is the
        move actually made. `x` itself must start inside the box.

    Notes
    -----
    Per component, with gradient :math:`g_t`, step size :math:`\Delta_t` and
    previous gradient sign :math:`s_{t-1}` (iRprop-):

    .. math::

        \Delta_t = \begin{cases}
            \min(\eta_+ \Delta_{t-1}, \Delta_{max}) & s_{t-1}\,\mathrm{sign}(g_t) > 0 \\
            \max(\eta_- \Delta_{t-1}, \Delta_{min}) & s_{t-1}\,\mathrm{sign}(g_t) < 0 \\
            \Delta_{t-1} & \text{otherwise (clamped to the bounds)}
        \end{cases}

    then :math:`w \leftarrow w - \mathrm{sign}(g_t)\,\Delta_t` and
    :math:`s_t = \mathrm{sign}(g_t)`, except after a sign change, where no step
    is taken and :math:`s_t = 0`.

    Only the sign of the previous gradient is needed, and it is stored as
    int8. One difference from torch, on purpose: torch detects a sign change
    from ``sign(g_t * g_{t-1})``, which underflows to 0 when both gradients are
    tiny (``1e-200 * 1e-200``); rprop_np multiplies the signs, as the papers
    do, so it still sees the sign change there.

    A component whose gradient is NaN or infinite is left untouched
    (parameter and state); `step` returns how many there were.

    ``copy.deepcopy`` and ``pickle`` give an independent optimizer with its own
    copy of `x` (its `x` attribute), which it updates in place from then on.

    References
    ----------
    .. [1] M. Riedmiller and H. Braun, "A direct adaptive method for faster
       backpropagation learning: the RPROP algorithm", ICNN 1993.
       :doi:`10.1109/ICNN.1993.298623`
    .. [2] C. Igel and M. Hüsken, "Empirical evaluation of the improved Rprop
       learning algorithms", Neurocomputing 50, 105-123, 2003.
       :doi:`10.1016/S0925-2312(01)00700-7`

    Examples
    --------
    Minimise ``sum((x - 3)**2)`` from zero:

    >>> import numpy as np
    >>> import rprop_np as rp
    >>> x = np.zeros(3)
    >>> opt = rp.Rprop(x, lr=0.1)
    >>> for _ in range(100):
    ...     nonfinite = opt.step(2 * (x - 3))  # the gradient; x moves in place
    >>> np.allclose(x, 3.0, atol=1e-5)
    True
    """

    def __init__(
        self,
        x: np.ndarray,
        lr: float | np.ndarray = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        variant: str = "irprop-",
        maximize: bool = False,
        groups: Sequence[Mapping[str, Any]] | None = None,
        bounds: tuple[Any, Any] | None = None,
    ) -> None:
        self._x = x  # the caller's object (NumPy, Numba, CuPy, torch; or a list)
        arrays, list_groups = _parameter_list(x, groups, bounds)
        # Where x lives decides every array operation below, once.
        self._backend = _backends.for_params(arrays[0])
        # One entry per array the caller passed (a list's arrays are checked
        # already); a view for device arrays.
        self._params = (arrays if isinstance(x, list | tuple)
                        else [self._backend.check_params(x)])
        self._variant = variant_code(variant)
        self._maximize = _check_bool(maximize, "maximize")
        self._pieces = [_real_view(params) for params in self._params]
        # real entries per component
        self._parts = 2 if self._params[0].dtype.kind == "c" else 1
        size = sum(params.size for params in self._params)
        dtype = self._real_dtype  # of the step sizes: each setting must fit in it

        self._groups, step_size = _initial_step_sizes(
            size, self._parts, dtype, lr, etas, step_sizes,
            groups if list_groups is None else list_groups)
        self._prev_f = np.inf
        self._iteration = 0
        self._nonfinite = self._backend.new_counter()
        if bounds is not None:
            check_positive_min_step([g.step_sizes for g in self._groups])
        self._bounds = None if bounds is None else self._backend.check_bounds(
            bounds, self._params[0]
        )
        self._set_state(
            step_size,
            np.zeros(self._real_size, np.int8),
            np.zeros(self._update_size(self._variant), dtype),
        )

    @property
    def x(self) -> np.ndarray | list:
        """The parameters this optimizer updates in place, as they were passed."""
        return self._x

    @property
    def step_size(self) -> np.ndarray:
        """The current step sizes over the real view of `x`.

        Read-only for host arrays; for device arrays, the device array itself
        (do not write to it).
        """
        return self._backend.read_only(self._step_size)

    @property
    def nonfinite_total(self) -> int:
        """How many non-finite gradient entries all steps so far have skipped.

        For device arrays this reads the device-side count back (and so waits
        for the steps launched so far).
        """
        return self._backend.read_counter(self._nonfinite)

    @property
    def maximize(self) -> bool:
        """Whether the objective is climbed instead of descended."""
        return self._maximize

    @property
    def iteration(self) -> int:
        """The number of steps taken (restored by `load_state_dict`)."""
        return self._iteration

    @property
    def variant(self) -> str:
        """The variant's name, one of ``rprop_np.VARIANTS``."""
        return VARIANTS[self._variant]

    def step(self, grad: np.ndarray, f: float | None = None) -> int | None:
        """Update `x` in place by one Rprop step.

        Parameters
        ----------
        grad : array_like
            The gradient of the objective at the current `x`, with x's shape.
            Another float dtype is converted to x's; complex `x` needs a
            complex gradient (real and imaginary parts are the gradients of
            the real and imaginary parts of `x`).
        f : float, optional
            The objective at the current `x`. Required by ``"irprop+"``, which
            undoes a step after a sign flip only if `f` rose since the last
            call; ignored by the other variants.

        Returns
        -------
        int or None
            The number of gradient entries that were NaN or infinite (real and
            imaginary parts counted apart); their components were left as they
            were. 0 on a normal step. None for device arrays: the step is only
            launched, and the count stays on the device (`nonfinite_total`).

        Examples
        --------
        iRprop+ on ``sum(x**2)`` takes the objective with the gradient; a NaN
        gradient entry is counted and its component left where it was:

        >>> import numpy as np
        >>> import rprop_np as rp
        >>> x = np.array([1.0, 2.0])
        >>> opt = rp.Rprop(x, lr=0.5, variant="irprop+")
        >>> opt.step(2 * x, f=np.sum(x**2)), x
        (0, array([0.5, 1.5]))
        >>> opt.step(np.array([np.nan, 2 * x[1]]), f=np.sum(x**2)), x
        (1, array([0.5, 0.9]))
        """
        if not isinstance(self._x, list | tuple):
            # One array, the common case: no list to build (a small step's
            # whole cost is this Python).
            grad = self._backend.check_grad(grad, self._params[0])
            nonfinite = self._backend.step(
                self._calls[0], self._real_flat(grad), self._error_increased(f),
                self._nonfinite,
            )
        else:
            grads = _gradient_list(grad, self._params)
            error_increased = self._error_increased(f)
            nonfinite = 0
            for calls, piece_grad in zip(self._calls, grads, strict=True):
                nonfinite += self._backend.step(
                    calls, self._real_flat(piece_grad), error_increased,
                    self._nonfinite,
                )
        if self._bounds is not None:
            self._project_onto_bounds()
        self._iteration += 1
        return nonfinite

    def state_dict(self) -> dict[str, Any]:
        """Return a copy of the state: plain NumPy arrays and scalars.

        The dict can be saved with ``np.savez(file, **state)`` and restored with
        ``load_state_dict(np.load(file))``. It holds the hyper-parameters, the
        iteration count and the per-component state over the real view of `x`
        (two entries per complex component): ``step_size``, ``prev_sign``
        (int8) and, for the ``+`` variants, ``prev_update``. The initial step
        size `lr` is not kept: after the first step the state's step sizes
        are all there is of it.

        Examples
        --------
        >>> import numpy as np
        >>> import rprop_np as rp
        >>> x = np.zeros(2)
        >>> opt = rp.Rprop(x, lr=0.1)
        >>> for _ in range(3):
        ...     nonfinite = opt.step(x - 1)
        >>> state = opt.state_dict()
        >>> state["iteration"], state["step_size"]
        (3, array([0.144, 0.144]))
        """
        return {
            "variant": self.variant,
            "maximize": self.maximize,
            "iteration": self.iteration,
            "prev_f": self._prev_f,
            "dtype": self._x_dtype.str,
            "group_sizes": np.array(
                [(g.stop - g.start) // self._parts for g in self._groups], np.int64
            ),
            "etas": np.array([g.etas for g in self._groups], np.float64),
            "step_sizes": np.array([g.step_sizes for g in self._groups], np.float64),
            "step_size": self._backend.to_host(self._step_size),
            "prev_sign": self._backend.to_host(self._prev_sign),
            "prev_update": self._backend.to_host(self._prev_update),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state from `state_dict` (or ``np.load`` of a saved one).

        The hyper-parameters, variant and iteration count become the saved
        ones; `x` itself is not part of the state. The state must come from an
        optimizer over an array of the same dtype, size and group sizes. Every
        field is checked before any is applied, so a bad state raises and
        leaves the optimizer as it was.

        Examples
        --------
        A second optimizer, given the first one's state and a copy of its
        `x`, continues exactly as the first does:

        >>> import numpy as np
        >>> import rprop_np as rp
        >>> x = np.zeros(2)
        >>> opt = rp.Rprop(x, lr=0.1)
        >>> for _ in range(3):
        ...     nonfinite = opt.step(x - 1)
        >>> y = x.copy()
        >>> other = rp.Rprop(y)
        >>> other.load_state_dict(opt.state_dict())
        >>> nonfinite, nonfinite_too = opt.step(x - 1), other.step(y - 1)
        >>> np.array_equal(x, y), other.iteration
        (True, 4)
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"state must be a mapping like the one state_dict() returns; "
                f"got {type(state).__name__}"
            )
        missing = [key for key in _STATE_KEYS if key not in state]
        if missing:
            raise KeyError(f"state is missing {', '.join(map(repr, missing))}")
        if str(np.asarray(state["dtype"])) != self._x_dtype.str:
            raise ValueError(
                f"state['dtype'] is {str(np.asarray(state['dtype']))!r}, but x has "
                f"dtype {self._x_dtype.str!r}"
            )
        sizes = np.asarray(state["group_sizes"])
        own_sizes = [(g.stop - g.start) // self._parts for g in self._groups]
        if sizes.tolist() != own_sizes:
            raise ValueError(
                f"state['group_sizes'] is {sizes.tolist()}, but this optimizer's "
                f"groups have sizes {own_sizes}"
            )
        variant = variant_code(str(np.asarray(state["variant"])), "state['variant']")
        maximize = _state_scalar(state, "maximize", "b", "True or False")
        iteration = _state_scalar(state, "iteration", "iu", "an integer")
        if iteration < 0:
            raise ValueError(f"state['iteration'] must be >= 0; got {iteration}")
        prev_f = _state_scalar(state, "prev_f", "iuf", "a real number")
        if np.isnan(prev_f):
            raise ValueError("state['prev_f'] must not be NaN (it is inf at first)")
        real = self._real_dtype
        etas = _state_rows(state, "etas", len(self._groups))
        step_sizes = _state_rows(state, "step_sizes", len(self._groups))
        groups = [
            _Group(
                g.start, g.stop,
                check_etas(etas[i], f"state['etas'][{i}]", real),
                check_step_sizes(step_sizes[i], f"state['step_sizes'][{i}]", real),
            )
            for i, g in enumerate(self._groups)
        ]
        arrays = {}
        layout = {
            "step_size": (real, self._real_size),
            "prev_sign": (np.dtype(np.int8), self._real_size),
            "prev_update": (real, self._update_size(variant)),
        }
        for key, (dtype, size) in layout.items():
            value = np.array(state[key])  # a copy: the caller keeps theirs
            if value.dtype != dtype or value.shape != (size,):
                raise ValueError(
                    f"state[{key!r}] must be a {dtype} array of shape ({size},); "
                    f"got {value.dtype} with shape {value.shape}"
                )
            arrays[key] = value
        step_size, prev_sign, prev_update = arrays.values()
        _check_entries("step_size", step_size, np.isnan(step_size) | (step_size < 0),
                       "step sizes must be >= 0, not NaN")
        _check_entries("prev_sign", prev_sign, (prev_sign < -1) | (prev_sign > 1),
                       "a previous sign is -1, 0 or 1")
        _check_entries("prev_update", prev_update, np.isnan(prev_update),
                       "a previous update must not be NaN")

        self._variant = variant
        self._maximize = bool(maximize)
        self._iteration = int(iteration)
        self._prev_f = float(prev_f)
        self._groups = groups
        self._set_state(step_size, prev_sign, prev_update)

    def __getstate__(self) -> dict[str, Any]:
        """The state `copy` and `pickle` keep: everything but the views.

        ``_pieces`` and the bound calls are views into `x` and the state arrays;
        copied, they would be separate arrays that the copy's steps update
        instead of its own. `__setstate__` derives them again, and the
        backend (a module) from `x`.
        """
        if not self._backend.PICKLABLE:
            raise TypeError(
                "an Rprop over a device array cannot be copied or pickled; save "
                "its state_dict() and load it into a new one"
            )
        state = self.__dict__.copy()
        del state["_backend"], state["_pieces"], state["_calls"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if not isinstance(self._params, list):  # pickled before lists were taken
            self._params = [self._params]
        self._backend = _backends.for_params(self._params[0])
        self._pieces = [_real_view(params) for params in self._params]
        self._bind()

    def __repr__(self) -> str:
        device = self._backend.DEVICE
        device = "" if device is None else f", device={device!r}"
        return (
            f"Rprop(variant={self.variant!r}, size={self._real_size // self._parts}, "
            f"dtype={self._x_dtype}, groups={len(self._groups)}, "
            f"iteration={self.iteration}{device})"
        )

    @property
    def _x_dtype(self) -> np.dtype:
        real = self._real_dtype
        return np.result_type(real, np.complex64) if self._parts == 2 else real

    @property
    def _real_dtype(self) -> np.dtype:
        """The dtype of the real entries the kernels update (and of the state)."""
        return self._pieces[0].dtype

    @property
    def _real_size(self) -> int:
        """How many real entries there are, over all arrays."""
        return sum(piece.size for piece in self._pieces)

    def _real_flat(self, array):
        """`array` (shaped like x) as the flat real view the kernels update."""
        flat = array if array.ndim == 1 else array.reshape(array.size)
        return flat.view(self._real_dtype) if self._parts == 2 else flat

    def _update_size(self, variant: int) -> int:
        """Only the `+` variants keep the previous update (to backtrack it)."""
        return self._real_size if keeps_update(variant) else 0

    def _set_state(self, step_size, prev_sign, prev_update) -> None:
        """Take new host state arrays into the backend's memory and bind them."""
        self._step_size = self._backend.to_device(step_size)
        self._prev_sign = self._backend.to_device(prev_sign)
        self._prev_update = self._backend.to_device(prev_update)
        self._bind()

    def _bind(self) -> None:
        """Prepare each kernel call once, not on every step.

        ``_calls`` has one list per array of `x` (one for a single array):
        the calls the backend's ``step`` runs on that array's gradient. A call
        is a group's kernel, its segment of that gradient (None for all of
        it), its parameters, and its arguments from the step sizes up to
        `maximize`. A group covers whole arrays of a list, so a list's array
        gets one call.
        """
        scalar = self._real_dtype.type  # torch multiplies in the parameters' dtype
        has_update = self._prev_update.size > 0
        self._calls = []
        offset = 0
        for piece in self._pieces:
            stop = offset + piece.size
            calls = []
            for g in self._groups:
                start, end = max(g.start, offset), min(g.stop, stop)
                if start >= end:
                    continue
                state = slice(start, end)
                rest = (
                    self._step_size[state],
                    self._prev_sign[state],
                    self._prev_update[state] if has_update else self._prev_update,
                    *(scalar(value) for value in g.etas + g.step_sizes),
                    self._maximize,
                )
                own = slice(start - offset, end - offset)
                calls.append((
                    self._backend.kernel_for(self._variant, end - start),
                    None if end - start == piece.size else own,
                    piece[own],
                    rest,
                ))
            self._calls.append(calls)
            offset = stop

    def _project_onto_bounds(self) -> None:
        """Put components that left the box back on the bound they crossed."""
        lower, upper = self._bounds
        has_update = self._prev_update.size > 0
        for g in self._groups:
            segment = slice(g.start, g.stop)
            self._backend.project_onto_bounds(
                self._pieces[0][segment], self._step_size[segment],
                self._prev_update[segment] if has_update else self._prev_update,
                lower[segment], upper[segment], self._real_dtype.type(g.step_sizes[0]),
            )

    def _error_increased(self, f) -> bool:
        if f is None:
            if needs_objective(self._variant):
                raise TypeError(
                    "step() needs f, the objective at the current x, for variant "
                    "'irprop+' (it undoes a step only if the objective rose)"
                )
            return False
        try:
            value = float(f)
        except (TypeError, ValueError):
            raise TypeError(f"f must be a real number; got {f!r}") from None
        if np.isnan(value):
            raise ValueError("f must be a real number; got nan")
        increased = value > self._prev_f
        self._prev_f = value
        return increased


_STATE_KEYS = (
    "variant", "maximize", "iteration", "prev_f", "dtype", "group_sizes", "etas",
    "step_sizes", "step_size", "prev_sign", "prev_update",
)


def _parameter_list(x, groups, bounds):
    """``(arrays, groups)``: the arrays `x` holds, and the groups a list implies.

    `x` is one array (groups: None, `groups` applies), a list of arrays (one
    group), or torch-style group dicts ``[{"params": [W], "lr": 0.1},
    {"params": [b]}]`` (a group each, with its own settings). A list's arrays
    are NumPy arrays of one dtype, each updated in place.
    """
    if not isinstance(x, list | tuple):
        _refuse_cpu_tensor(x, "x")
        return [x], None
    if not x:
        raise ValueError("x must be an array or a non-empty list of arrays; got an "
                         "empty list")
    if groups is not None:
        raise TypeError(
            "groups= splits one array; a list gives its groups as dicts, as torch "
            "does: [{'params': [W], 'lr': 0.1}, {'params': [b]}]"
        )
    if bounds is not None:
        raise NotImplementedError("bounds are not supported for a list of arrays; "
                                  "pass one array")
    for index, item in enumerate(x):
        _refuse_cpu_tensor(item, f"x[{index}]")
    if not any(isinstance(item, np.ndarray | Mapping) for item in x):
        # Numbers, say: nothing there could be updated in place.
        raise TypeError(
            f"x must be a NumPy array (it is updated in place) or a list of "
            f"them; got a {type(x).__name__} of {type(x[0]).__name__}"
        )
    dicts = [isinstance(item, Mapping) for item in x]
    if any(dicts) and not all(dicts):
        raise TypeError("x must be a list of arrays or a list of group dicts "
                        "({'params': [...], ...}), not a mix of both")
    named, groups_of = [], None  # groups_of: each dict's arrays and settings
    if all(dicts):
        groups_of = []
        for index, group in enumerate(x):
            unknown = sorted(set(group) - {"params", "lr", "etas", "step_sizes"})
            if unknown or "params" not in group:
                raise ValueError(
                    f"x[{index}] must have 'params' and may have 'lr', 'etas', "
                    f"'step_sizes'; got keys {sorted(group)}"
                )
            params = group["params"]
            params = list(params) if isinstance(params, list | tuple) else [params]
            if not params:
                raise ValueError(f"x[{index}]['params'] is empty")
            named += [(array, f"x[{index}]['params'][{j}]")
                      for j, array in enumerate(params)]
            groups_of.append((params, {key: group[key] for key in group
                                       if key != "params"}))
    else:
        named = [(array, f"x[{index}]") for index, array in enumerate(x)]
    first, first_name = named[0]
    for i, (array, name) in enumerate(named):
        _refuse_cpu_tensor(array, name)
        check_params(array, name)
        if array.dtype != first.dtype:
            raise TypeError(
                f"{name} has dtype {array.dtype}, but {first_name} has {first.dtype}: "
                f"the arrays of one Rprop share a dtype"
            )
        for other, other_name in named[:i]:
            if np.shares_memory(array, other):
                raise ValueError(
                    f"{name} shares memory with {other_name}: each array may "
                    f"appear once (it would be updated twice per step), as torch "
                    f"refuses a parameter in two groups"
                )
    specs = None if groups_of is None else [
        {"size": sum(array.size for array in params), **settings}
        for params, settings in groups_of
    ]
    return [array for array, _ in named], specs


def _refuse_cpu_tensor(value, name):
    """A TypeError that says what to pass instead of a CPU torch.Tensor."""
    if type(value).__module__.split(".")[0] == "torch" and str(
            getattr(value, "device", "")) == "cpu":
        raise TypeError(
            f"{name} is a CPU torch.Tensor; pass {name}.detach().numpy(), which "
            f"shares its memory, so the tensor is updated in place too"
        )


def _gradient_list(grad, params):
    """A list `x`'s gradient: one array per array of `x`, each checked."""
    if not isinstance(grad, list | tuple) or len(grad) != len(params):
        raise TypeError(
            f"grad must be a list of {len(params)} arrays, one per array of x; got "
            f"{type(grad).__name__}"
            + (f" of {len(grad)}" if isinstance(grad, list | tuple) else "")
        )
    return [check_grad(g, p, f"grad[{i}]") for i, (g, p) in
            enumerate(zip(grad, params, strict=True))]


def _initial_step_sizes(size, parts, dtype, lr, etas, step_sizes, groups):
    """``(groups, step_size)``: each group's `_Group` and the initial step sizes.

    Checks `lr`, `etas`, `step_sizes` and `groups` as `Rprop` takes them, for
    `size` components of `parts` real entries each, in `dtype`.
    """
    if groups is None:
        groups = [{"size": size}]
    default_lr = check_lr(lr, size, dtype=dtype)
    lrs = []
    layout = []
    start = 0
    for index, spec in enumerate(_check_groups(groups, size)):
        group_size = int(spec["size"])
        if "lr" in spec:
            lrs.append(check_lr(
                spec["lr"], group_size, f"groups[{index}]['lr']", dtype
            ))
        elif np.ndim(default_lr):
            lrs.append(default_lr[start // parts:][:group_size])
        else:
            lrs.append(default_lr)
        stop = start + group_size * parts
        layout.append(_Group(
            start, stop,
            check_etas(
                spec.get("etas", etas), _group_arg("etas", index, spec), dtype
            ),
            check_step_sizes(
                spec.get("step_sizes", step_sizes),
                _group_arg("step_sizes", index, spec), dtype,
            ),
        ))
        start = stop

    step_size = np.empty(size * parts, dtype)
    for group, group_lr in zip(layout, lrs, strict=True):
        # A complex component starts both of its parts at its lr, as torch does.
        step_size[group.start:group.stop] = np.repeat(
            np.asarray(group_lr, dtype), parts
        ) if np.ndim(group_lr) else group_lr
    return layout, step_size


def _state_scalar(state, key: str, kinds: str, what: str):
    """``state[key]`` as a Python scalar, if it is one of the NumPy `kinds`."""
    value = np.asarray(state[key])
    if value.ndim != 0 or value.dtype.kind not in kinds:
        raise TypeError(f"state[{key!r}] must be {what}; got {state[key]!r}")
    return value.item()


def _state_rows(state, key: str, groups: int) -> np.ndarray:
    """``state[key]`` as one (first, second) row of reals per group."""
    rows = np.asarray(state[key])
    if rows.shape != (groups, 2) or rows.dtype.kind not in "iuf":
        raise ValueError(
            f"state[{key!r}] must be a real array of shape ({groups}, 2), one row "
            f"per group; got {rows.dtype} with shape {rows.shape}"
        )
    return rows


def _check_entries(key: str, array: np.ndarray, bad: np.ndarray, rule: str) -> None:
    """Raise a ValueError naming the first entry of ``state[key]`` that is `bad`."""
    index = np.flatnonzero(bad)
    if index.size:
        i = int(index[0])
        raise ValueError(f"state[{key!r}][{i}] is {array[i].item()!r}; {rule}")


def _real_view(array: np.ndarray) -> np.ndarray:
    """C-contiguous `array` as one flat real vector (complex: real, imag, ...)."""
    flat = array.reshape(array.size)
    if flat.dtype.kind == "c":
        return flat.view(np.dtype(flat.dtype.char.lower()))
    return flat


def _check_bool(value, argname: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{argname} must be True or False; got {value!r}")
    return bool(value)


def _group_arg(key: str, index: int, spec: Mapping[str, Any]) -> str:
    return f"groups[{index}][{key!r}]" if key in spec else key


def _check_groups(groups, size: int) -> list[Mapping[str, Any]]:
    if isinstance(groups, Mapping) or not isinstance(groups, Sequence) or not groups:
        raise TypeError(
            f"groups must be a non-empty list of dicts with a 'size'; got {groups!r}"
        )
    for index, spec in enumerate(groups):
        if not isinstance(spec, Mapping):
            raise TypeError(f"groups[{index}] must be a dict; got {spec!r}")
        unknown = sorted(set(spec) - set(_GROUP_KEYS))
        if unknown:
            raise ValueError(
                f"groups[{index}] has unknown keys {unknown}; "
                f"valid keys are {list(_GROUP_KEYS)}"
            )
        group_size = spec.get("size")
        if (  # True is an int to Python, but not a size
            isinstance(group_size, bool)
            or not isinstance(group_size, (int, np.integer))
            or group_size < 1
        ):
            raise ValueError(
                f"groups[{index}]['size'] must be a positive integer; "
                f"got {group_size!r}"
            )
    total = sum(int(spec["size"]) for spec in groups)
    if total != size:
        raise ValueError(
            f"the group sizes add up to {total}, but x has {size} components"
        )
    return groups


def check_positive_min_step(step_sizes) -> None:
    """Refuse a zero min_step with bounds: a component pushed against its bound
    would get step size 0 from the projection, and 0 never grows again.

    `step_sizes` has each group's ``(min_step, max_step)``.
    """
    for index, pair in enumerate(step_sizes):
        if pair[0] == 0:
            where = ("step_sizes" if len(step_sizes) == 1
                     else f"groups[{index}] step_sizes")
            raise ValueError(
                f"{where}: min_step must be > 0 with bounds (a component held on "
                f"its bound would keep a step size of 0 for good); got "
                f"{tuple(float(value) for value in pair)}"
            )


def loop_settings(x: np.ndarray, lr, etas, step_sizes, variant: str, groups,
                  bounded: bool = False):
    """What the compiled loop (``_minimize_loop.py``) starts from, checked.

    ``(step_size, variant, group_stop, hyper)`` for a real host `x` and
    `Rprop`'s settings: the initial step sizes, the variant's code, where
    each group ends and its ``(eta_minus, eta_plus, min_step, max_step)`` in
    x's dtype (as `_bind` gives them to the kernels); without building an
    `Rprop`.
    """
    layout, step_size = _initial_step_sizes(
        x.size, 1, x.dtype, lr, etas, step_sizes, groups)
    if bounded:
        check_positive_min_step([g.step_sizes for g in layout])
    group_stop = np.array([g.stop for g in layout], np.int64)
    hyper = np.array([g.etas + g.step_sizes for g in layout], x.dtype)
    return step_size, variant_code(variant), group_stop, hyper
