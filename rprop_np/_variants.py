"""The names of the four Rprop variants, their codes, and what sets them apart.

This is the one place that maps a user's variant name to the code every
backend branches on, and that says which variants keep their previous update,
when a variant backtracks and which needs the objective's value.
`keeps_update`, `backtracks` and `needs_objective` are plain Python, called as
they are by `Rprop` and compiled by each backend (Numba CPU and CUDA), like
``_rule.py``. :mod:`rprop_np.reference` does not use them: it states each
variant's rule in full, on its own, as the oracle the kernels are tested
against.
"""

RPROP_PLUS = 0
RPROP_MINUS = 1
IRPROP_PLUS = 2
IRPROP_MINUS = 3

VARIANTS = ("rprop+", "rprop-", "irprop+", "irprop-")
"""Valid variant names, in the order of their integer codes."""


def keeps_update(variant):
    """Whether `variant` stores each step it takes, to backtrack it later."""
    return variant == RPROP_PLUS or variant == IRPROP_PLUS


def backtracks(variant, objective_rose):
    """Whether a sign change undoes the last step in this iteration.

    Always for rprop+; for irprop+ only when the objective rose since the
    previous iteration (``E_t > E_{t-1}``); never for the others.
    """
    return variant == RPROP_PLUS or (variant == IRPROP_PLUS and objective_rose)


def needs_objective(variant):
    """Whether a step of `variant` needs the objective's value (to backtrack)."""
    return variant == IRPROP_PLUS


def variant_code(variant: str, argname: str = "variant") -> int:
    """Return the kernel code of a variant name (case-insensitive).

    Raises
    ------
    ValueError
        If `variant` is not one of `VARIANTS`; the message names `argname`.
    """
    name = variant.lower() if isinstance(variant, str) else variant
    if name not in VARIANTS:
        raise ValueError(
            f"{argname} must be one of {', '.join(map(repr, VARIANTS))}; "
            f"got {variant!r}"
        )
    return VARIANTS.index(name)
