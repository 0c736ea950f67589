"""The NumPy reference implementation of the four Rprop variants.

This module is the readable statement of the update rules and the oracle the
compiled kernels are tested against, bit for bit. Rprop+ is the original
algorithm of Riedmiller and Braun [1]_; Igel and Hüsken named it and the
other three [2]_. It is written for clarity,
not speed: use :class:`rprop_np.Rprop` to optimise.

Per component ``i``, with gradient ``g`` (negated when maximising), step size
``D``, previous gradient sign ``s`` in {-1, 0, +1} and previous update ``dw``::

    p = s * sign(g)
    p > 0:  D = min(D * eta_plus,  max_step)     # same sign: accelerate
    p < 0:  D = max(D * eta_minus, min_step)     # sign change: brake
    p = 0:  D = clamp(D, min_step, max_step)

and then, on a sign change (``p < 0``) / otherwise:

=========  ==========================================  ===========================
variant    p < 0                                       otherwise
=========  ==========================================  ===========================
rprop+     w -= dw (backtrack); s = 0                  dw = -sign(g) D; w += dw;
                                                       s = sign(g)
rprop-     as otherwise                                dw = -sign(g) D; w += dw;
                                                       s = sign(g)
irprop+    if E_t > E_{t-1}: w -= dw (backtrack);      as rprop+
           s = 0
irprop-    s = 0 (no step)                             w -= sign(g) D; s = sign(g)
=========  ==========================================  ===========================

Where a variant takes no step on a sign change, the update it stores is 0:
there is nothing to backtrack afterwards. A component whose gradient is NaN or
infinite is left untouched (``w``, ``D``, ``s``, ``dw``) and counted.

References
----------
.. [1] M. Riedmiller and H. Braun, "A direct adaptive method for faster
   backpropagation learning: the RPROP algorithm", IEEE International
   Conference on Neural Networks, 1993. :doi:`10.1109/ICNN.1993.298623`
.. [2] C. Igel and M. Hüsken, "Empirical evaluation of the improved Rprop
   learning algorithms", Neurocomputing 50, 105-123, 2003.
   :doi:`10.1016/S0925-2312(01)00700-7`
"""

import numpy as np

from ._variants import IRPROP_MINUS, IRPROP_PLUS, RPROP_MINUS, RPROP_PLUS

__all__ = ["rprop_step"]


def rprop_step(
    variant: int,
    params: np.ndarray,
    grad: np.ndarray,
    step_size: np.ndarray,
    prev_sign: np.ndarray,
    prev_update: np.ndarray,
    eta_minus,
    eta_plus,
    min_step,
    max_step,
    maximize: bool,
    error_increased: bool,
) -> int:
    """Apply one Rprop update in place to flat arrays; the NumPy reference.

    Parameters
    ----------
    variant : int
        Variant code (``rprop_np._variants.RPROP_PLUS`` ... ``IRPROP_MINUS``).
    params : ndarray, shape (n,)
        Parameters, updated in place. float32 or float64.
    grad : ndarray, shape (n,)
        Gradient at `params`, same dtype. Read only.
    step_size : ndarray, shape (n,)
        Per-component step sizes ``D``, same dtype, updated in place.
    prev_sign : ndarray of int8, shape (n,)
        Sign of the previous gradient (0 after a sign change), updated in place.
    prev_update : ndarray, shape (n,) or (0,)
        The previous update ``dw``, updated in place; used by the ``+``
        variants only (the others may pass an empty array).
    eta_minus, eta_plus, min_step, max_step : scalar of params' dtype
        Step-size factors and bounds.
    maximize : bool
        Follow the gradient up instead of down.
    error_increased : bool
        ``E_t > E_{t-1}``; used by iRprop+ only.

    Returns
    -------
    int
        The number of components whose gradient was not finite (left untouched).

    Examples
    --------
    Two iRprop- steps on two components; the variant's code is its index in
    `rprop_np.VARIANTS`:

    >>> import numpy as np
    >>> import rprop_np as rp
    >>> from rprop_np.reference import rprop_step
    >>> irprop_minus = rp.VARIANTS.index("irprop-")
    >>> w, D = np.array([1.0, -2.0]), np.full(2, 0.1)
    >>> s, dw = np.zeros(2, np.int8), np.empty(0)  # iRprop- keeps no dw
    >>> rprop_step(irprop_minus, w, np.array([0.5, -4.0]), D, s, dw,
    ...            0.5, 1.2, 1e-6, 50.0, False, False)
    0
    >>> w, s
    (array([ 0.9, -1.9]), array([ 1, -1], dtype=int8))

    The first component's gradient changes sign: its step size halves and it
    does not move; the second speeds up by 1.2:

    >>> rprop_step(irprop_minus, w, np.array([-0.5, -4.0]), D, s, dw,
    ...            0.5, 1.2, 1e-6, 50.0, False, False)
    0
    >>> w, D, s
    (array([ 0.9 , -1.78]), array([0.05, 0.12]), array([ 0, -1], dtype=int8))
    """
    finite = np.isfinite(grad)
    grad_sign = np.sign(np.where(finite, grad, 0)).astype(np.int8)
    if maximize:
        grad_sign = -grad_sign

    product = prev_sign * grad_sign
    same = finite & (product > 0)
    flip = finite & (product < 0)

    one = np.ones((), step_size.dtype)
    factor = np.where(same, eta_plus, np.where(flip, eta_minus, one))
    step_size[finite] = np.clip(step_size * factor, min_step, max_step)[finite]

    # Which components take a new step, and which undo their last one.
    nothing = np.zeros_like(finite)
    if variant == RPROP_PLUS:
        move, backtrack = finite & ~flip, flip
    elif variant == RPROP_MINUS:
        move, backtrack = finite, nothing
    elif variant == IRPROP_PLUS:
        move, backtrack = finite & ~flip, (flip if error_increased else nothing)
    elif variant == IRPROP_MINUS:
        move, backtrack = finite & ~flip, nothing
    else:
        raise ValueError(f"unknown variant code {variant!r}")
    halt = finite & ~move  # a sign change where the variant takes no step

    # A zero gradient takes no step: its update is 0 (as 0 * step it would be
    # NaN for an infinite step size).
    zero = np.zeros((), step_size.dtype)
    update = np.where(grad_sign > 0, -step_size,
                      np.where(grad_sign < 0, step_size, zero))
    keeps_update = variant in (RPROP_PLUS, IRPROP_PLUS)
    if keeps_update:  # the `-` variants may pass an empty prev_update
        params[backtrack] -= prev_update[backtrack]
    # A zero gradient moves nothing: skipping the add keeps a -0.0 parameter.
    moving = move & (grad_sign != 0)
    params[moving] += update[moving]

    prev_sign[move] = grad_sign[move]
    prev_sign[halt] = 0
    if keeps_update:
        prev_update[move] = update[move]
        prev_update[halt] = 0
    return int(grad.size - np.count_nonzero(finite))
