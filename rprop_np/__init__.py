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
- :mod:`rprop_np.reference`: the NumPy reference implementation, the readable
  statement of the update rules.
"""

from . import reference
from ._curve_fit import curve_fit
from ._curve_fit_many import curve_fit_many
from ._minimize import minimize, rprop
from ._minimize_many import minimize_many
from ._optimizer import Rprop
from ._stopping import STATUS_MESSAGES
from ._variants import VARIANTS

__all__ = [
    "Rprop", "STATUS_MESSAGES", "VARIANTS", "curve_fit", "curve_fit_many", "minimize",
    "minimize_many", "reference", "rprop",
]
__version__ = "0.1.0"
