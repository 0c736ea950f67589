"""The rules for one component: the one source every compiled loop uses.

`update_component` (the Rprop update) is plain Python, compiled by Numba for
the CPU once (``_cpu.py``: its kernels and ``_minimize_loop.py``'s loop call
it) and by numba.cuda as a device function (``_cuda.py``), so the kernels of
both backends run the same rule.
:mod:`rprop_np.reference` states the same rule over whole arrays with NumPy;
the tests hold all three equal, bit for bit. The box rules are here too:
`project_component` after a step, `blocked_by_bound` for the projected
gradient the stopping test reads, and `difference_step` (with
`step_inside_bounds`) for a forward difference's step.
"""

import math

import numpy as np

from ._variants import RPROP_MINUS


def update_component(
    variant, g, w, step, sign, last_update,
    eta_minus, eta_plus, min_step, max_step, maximize, backtrack,
):
    """Rprop for one component; returns (nonfinite, w, step, sign, update).

    `backtrack` says whether a sign change undoes `last_update` (always for
    rprop+, when the objective rose for irprop+). The scalars are of the
    parameters' dtype, so float32 stays float32 as in torch.

    Every branch picks one of values already computed (the return that
    leaves a bad component alone comes last) and no sign is an integer in
    arithmetic, so that LLVM makes a loop over this rule vector code at the
    parameters' own width: 16 float32 lanes to an AVX-512 register, where
    64-bit integer signs held float32 to 8 and made it loop-bound.
    """
    one = eta_plus / eta_plus  # 1 and 0 in the parameters' dtype (the etas
    zero = eta_minus - eta_minus  # are finite and nonzero: validated)
    finite = math.isfinite(g)
    g = g if finite else zero  # no 0 * inf below; the results are dropped

    # sign * g is 0 or +-g in g's dtype (int8 times float32 is float32): the
    # product of the signs, which cannot underflow as g_t * g_{t-1} can.
    product = -(sign * g) if maximize else sign * g
    positive = g < 0 if maximize else g > 0  # the sign the step follows
    negative = g > 0 if maximize else g < 0
    # One multiply, by 1 where either sign is 0, as in the reference.
    factor = eta_plus if product > 0 else (eta_minus if product < 0 else one)
    new_step = min(max(step * factor, min_step), max_step)

    halt = product < 0 and variant != RPROP_MINUS  # a sign change, no step
    if halt:
        new_w = w - last_update if backtrack else w
        update = zero
    else:
        # Subtracting +0.0 for a zero gradient keeps a -0.0 parameter as it is.
        down = new_step if positive else (-new_step if negative else zero)
        new_w = w - down
        update = zero - down
    new_sign = 0 if halt else (1 if positive else (-1 if negative else 0))

    if not finite:
        # A bad gradient must not poison the state: leave everything as it was.
        return 1, w, step, sign, last_update
    return 0, new_w, new_step, new_sign, update


def project_component(w, step, last_update, lower, upper, min_step):
    """Put `w` back in ``[lower, upper]`` after a step; returns (w, step, update).

    A component that left the box goes back onto the bound it crossed; its
    step size becomes the distance it could still travel (at least
    `min_step`), and the update it remembers is the move it really made.
    """
    if w < lower or w > upper:
        on_bound = min(max(w, lower), upper)
        overshoot = w - on_bound
        step = max(step - abs(overshoot), min_step)
        last_update = last_update - overshoot
        w = on_bound
    return w, step, last_update


def blocked_by_bound(w, g, lower, upper):
    """Whether a bound stops `w` from moving downhill along gradient `g`.

    There the projected gradient is zero: the component counts as converged
    for ``gtol``, and a Levenberg-Marquardt step leaves it where it is.
    """
    return (w <= lower and g > 0) or (w >= upper and g < 0)


def step_inside_bounds(w, h, lower, upper):
    """A forward difference's step `h` at `w`, kept inside ``[lower, upper]``.

    SciPy's one-sided adjustment (``approx_derivative``): a step that would
    leave the box is reversed if it fits the other way, and otherwise becomes
    the distance to the farther bound.
    """
    lower_room, upper_room = w - lower, upper - w
    if abs(h) <= max(lower_room, upper_room):
        return -h if (w + h < lower or w + h > upper) else h
    return upper_room if upper_room >= lower_room else -lower_room


DEFAULT_STEP = float(np.finfo(np.float64).eps ** 0.5)
"""SciPy's default relative step for '2-point' differences (float64)."""


def difference_step(w, rel_step):
    """SciPy's '2-point' step at `w`, before `step_inside_bounds` keeps it
    in the box.

    `rel_step` is the user's relative step for this variable, or 0 for
    SciPy's default; a relative step too small to move `w` falls back to
    the default, as in SciPy's ``approx_derivative``.
    """
    sign = 1.0 if w >= 0 else -1.0
    if rel_step == 0:
        return DEFAULT_STEP * sign * max(1.0, abs(w))
    h = rel_step * sign * abs(w)
    if (w + h) - w == 0:
        return DEFAULT_STEP * sign * max(1.0, abs(w))
    return h
