"""Parameter checks shared by the estimator and the model file loader."""

import math
import os
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, InvalidParameterError


class NumberInterval(Interval):
    """An :class:`~sklearn.utils._param_validation.Interval` that refuses bool.

    ``True`` is an int to Python, so a plain ``Interval(Integral, 1, None)``
    accepts ``hidden_size=True``; here no size, count or rate is a bool.
    """

    def is_satisfied_by(self, val):
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)

    def __str__(self):
        return super().__str__().replace(" in the range", " (not a bool) in the range")


def physical_memory():
    """Bytes of memory of this machine, or None where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def real_numbers(values):
    """``values`` as a float64 array if every one is a real number (not a
    bool, not a string that spells one), else None."""
    try:
        items = np.asarray(values, dtype=object).ravel()
    except (TypeError, ValueError):
        return None
    if not all(
        isinstance(v, Real) and not isinstance(v, (bool, np.bool_)) for v in items
    ):
        return None
    return np.asarray(values, dtype=np.float64)


def positive_int():
    """An int >= 1, not a bool."""
    return NumberInterval(Integral, 1, None, closed="left")


def check_epsilon(epsilon, beta_2, dtype, what="epsilon"):
    """Refuse an AdamW ``epsilon`` that rounds to 0 in ``dtype``.

    AdamW adds ``epsilon * sqrt(1 - beta_2 ** t)`` to the root of the second
    moment (see :class:`~sklearn_charrnn.nn.optim.AdamW`); at the first step
    that is ``epsilon * sqrt(1 - beta_2)``. Below the dtype's smallest normal
    number it rounds away, and a weight whose gradient is zero (the unknown
    token's row, for one) is divided by zero: NaN weights, and an error that
    would blame the learning rate.

    Raises
    ------
    InvalidParameterError
        Naming ``what`` (the parameter), its value and the smallest that
        works with this ``beta_2`` and ``dtype``.
    """
    tiny = float(np.finfo(np.dtype(dtype)).tiny)
    factor = math.sqrt(1.0 - beta_2)
    if epsilon * factor < tiny:
        raise InvalidParameterError(
            f"The '{what}' parameter is too small for dtype={str(dtype)!r}: AdamW "
            f"adds {what} * sqrt(1 - beta_2) = {epsilon * factor:.3g} to the "
            f"root of the second moment, below {dtype}'s smallest normal number "
            f"{tiny:.3g}, so a weight with a zero gradient would become NaN. Use "
            f"{what} >= {tiny / factor:.3g}, or dtype='float64'. Got {epsilon!r}."
        )


__all__ = ["NumberInterval", "Real", "check_epsilon", "positive_int"]
