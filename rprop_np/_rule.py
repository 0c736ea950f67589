"""The rules for one component: the one source every compiled loop uses.

`update_component` (the Rprop update) is plain Python, compiled by Numba for
the CPU (``_cpu.py``, ``_minimize_loop.py``) and by numba.cuda as a device
function (``_cuda.py``), so the kernels of both backends run the same rule.
:mod:`rprop_np.reference` states the same rule over whole arrays with NumPy;
the tests hold all three equal, bit for bit. The box rules are here too:
`project_component` after a step, `blocked_by_bound` for the projected
gradient the stopping test reads, and `step_inside_bounds` for a forward
difference's step.
"""

import math

from ._variants import RPROP_MINUS


def update_component(
    variant, g, w, step, sign, last_update,
    eta_minus, eta_plus, min_step, max_step, maximize, backtrack,
):
    """Rprop for one component; returns (nonfinite, w, step, sign, update).

    `backtrack` says whether a sign change undoes `last_update` (always for
    rprop+, when the objective rose for irprop+). The scalars are of the
    parameters' dtype, so float32 stays float32 as in torch.
    """
    if not math.isfinite(g):
        # A bad gradient must not poison the state: leave everything as it was.
        return 1, w, step, sign, last_update
    grad_sign = int(g > 0) - int(g < 0)
    if maximize:
        grad_sign = -grad_sign

    product = sign * grad_sign
    if product > 0:
        step = step * eta_plus
    elif product < 0:
        step = step * eta_minus
    step = min(max(step, min_step), max_step)

    if product < 0 and variant != RPROP_MINUS:
        if backtrack:
            w = w - last_update
        return 0, w, step, 0, step - step  # no step taken: the update is 0

    # A branch, not -grad_sign * step: an integer times a float32 step is
    # float64 in Numba, and float32 parameters would take the step in float64
    # (twice the work and a double rounding) where torch takes it in float32.
    if grad_sign > 0:
        update = -step
    elif grad_sign < 0:
        update = step
    else:  # skipping the add keeps a -0.0 parameter as it is
        return 0, w, step, grad_sign, step - step
    return 0, w + update, step, grad_sign, update


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
