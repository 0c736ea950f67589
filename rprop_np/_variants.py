"""The names of the four Rprop variants and the integer codes the kernels use.

This is the one place that maps a user's variant name to the code every
backend (the NumPy reference, the Numba CPU kernel) branches on.
"""

RPROP_PLUS = 0
RPROP_MINUS = 1
IRPROP_PLUS = 2
IRPROP_MINUS = 3

VARIANTS = ("rprop+", "rprop-", "irprop+", "irprop-")
"""Valid variant names, in the order of their integer codes."""


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
