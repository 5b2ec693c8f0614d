"""The two exceptions gradcheck raises.

``GradcheckError`` is the one error class for bad input and failed evaluations: its
message always names the offending parameter, option or evaluation, and says what to do.
``GradientMismatch`` is what :func:`gradcheck.assert_gradients` raises; its message is
the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradcheck._report import Report

__all__ = ["GradcheckError", "GradientMismatch"]


class GradcheckError(ValueError):
    """Bad input, a bad option, or a cost that could not be evaluated.

    The message names the parameter, option or evaluation at fault.
    """


class GradientMismatch(AssertionError):
    """A gradient check that did not pass; ``report`` holds the full result."""

    def __init__(self, report: Report) -> None:
        super().__init__(str(report))
        self.report = report
