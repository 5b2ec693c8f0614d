"""gradcheck: prove a gradient is right, or show exactly where and how it is wrong.

>>> import numpy as np, gradcheck
>>> W = np.array([[1.0, 2.0], [3.0, 4.0]])
>>> report = gradcheck.check(lambda p: np.sum(p["W"] ** 2), {"W": W}, {"W": 2 * W})
>>> report.passed
True
"""

from gradcheck._engine import assert_gradients, check
from gradcheck._errors import GradcheckError
from gradcheck._execution import Batched
from gradcheck._hessian import check_hessian
from gradcheck._jacobian import check_jacobian
from gradcheck._modes import Auto, Directional, Full, Sample
from gradcheck._report import Diagnosis, Entry, GradientMismatch, ParameterResult, Report

__version__ = "0.1.0"

__all__ = [
    "Auto",
    "Batched",
    "Diagnosis",
    "Directional",
    "Entry",
    "Full",
    "GradcheckError",
    "GradientMismatch",
    "ParameterResult",
    "Report",
    "Sample",
    "__version__",
    "assert_gradients",
    "check",
    "check_hessian",
    "check_jacobian",
]
