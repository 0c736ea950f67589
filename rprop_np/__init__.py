"""rprop_np: the Rprop optimizer family (Rprop+, Rprop-, iRprop+, iRprop-) for NumPy.

The public API:

- :class:`Rprop`: the optimizer object, updating a NumPy array in place.
- :data:`VARIANTS`: the variant names.
- :mod:`rprop_np.reference`: the NumPy reference implementation, the readable
  statement of the update rules.
"""

from . import reference
from ._optimizer import Rprop
from ._variants import VARIANTS

__all__ = ["Rprop", "VARIANTS", "reference"]
__version__ = "0.1.0"
