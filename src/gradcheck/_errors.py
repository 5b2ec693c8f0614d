"""The error gradcheck raises for bad input and failed evaluations.

``GradcheckError`` is the one error class for bad input and failed evaluations: its
message always names the offending parameter, option or evaluation, and says what to do.
``GradientMismatch``, what :func:`gradcheck.assert_gradients` raises, lives beside the
report it carries (``gradcheck._report``), so that this module imports nothing.
"""

from __future__ import annotations

__all__ = ["GradcheckError"]


class GradcheckError(ValueError):
    """Bad input, a bad option, or a cost that could not be evaluated.

    The message names the parameter, option or evaluation at fault.
    """
