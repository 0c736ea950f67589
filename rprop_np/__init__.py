"""rprop_np: the Rprop optimizer family (Rprop+, Rprop-, iRprop+, iRprop-) for NumPy.

The public API:

- :func:`minimize`: ``scipy.optimize.minimize`` with Rprop, returning an
  ``OptimizeResult``; :func:`rprop` is the same as a custom method for
  ``scipy.optimize.minimize(method=rprop_np.rprop)``, and
  :data:`STATUS_MESSAGES` says what each result status means, the same for
  every public function.
- :func:`minimize_many`: many independent problems of the same form, solved
  in one parallel compiled call.
- :func:`curve_fit`: ``scipy.optimize.curve_fit`` with Rprop, scale-invariant,
  polished by Levenberg-Marquardt.
- :func:`curve_fit_many`: many small fits of one ``@njit`` model (one per
  pixel, trace or channel), compiled and in parallel, polished by a compiled
  Levenberg-Marquardt.
- :class:`Rprop`: the optimizer object, updating a NumPy array in place.
- :data:`VARIANTS`: the variant names.
- :func:`warmup`: compile the batch drivers ahead of their first call.
- :mod:`rprop_np.reference`: the NumPy reference implementation, the readable
  statement of the update rules.
"""

import importlib

from . import reference
from ._curve_fit import curve_fit
from ._minimize import minimize, rprop
from ._optimizer import Rprop
from ._stopping import STATUS_MESSAGES
from ._variants import VARIANTS
from ._warmup import warmup

__all__ = [
    "Rprop", "STATUS_MESSAGES", "VARIANTS", "curve_fit", "curve_fit_many", "minimize",
    "minimize_many", "reference", "rprop", "warmup",
]
__version__ = "0.1.0"

# The batch drivers are compiled code from end to end: they import Numba
# (~0.2-0.3 s) on first use, not with the package (PEP 562).
_LAZY = {"curve_fit_many": "._curve_fit_many", "minimize_many": "._minimize_many"}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # once: later lookups do not come here
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
