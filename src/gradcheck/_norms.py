"""Norms and noise of arrays of values, without overflow or underflow.

A check must not warn for a cost or a gradient of 1e200 (pytest's ``filterwarnings =
error`` turns the warning into a failure), nor see a norm of 0 for a Jacobian of
1e-200: :func:`norm2` and :func:`rms_of` scale by the largest entry where the plain
sum of squares would overflow or underflow
(:data:`gradcheck._numerics.NORM2_SQUARES_SAFE`). :func:`noise_from_table` estimates a
function's noise from its values along a line (ECnoise).
"""

from __future__ import annotations

import math
from math import comb
from typing import Any

import numpy as np

from gradcheck._numerics import NORM2_SQUARES_SAFE

__all__ = ["noise_from_table", "norm2", "rms_of"]


def norm2(values: np.ndarray[Any, Any]) -> float:
    """The Euclidean norm of an array, without overflow or underflow where the norm
    itself is a normal float (NumPy's sums the squares, which overflow from about
    1.3e154 and underflow below about 1.5e-154; a check must not warn for a cost or
    gradient of 1e200, since pytest's ``filterwarnings = error`` turns the warning into
    a failure, nor see a norm of 0 for a Jacobian of 1e-200, attack20 A13).

    >>> f"{norm2(np.array([3e200, 4e200])):.6g}", f"{norm2(np.array([3e-200, 4e-200])):.6g}"
    ('5e+200', '5e-200')
    """
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        norm = float(np.linalg.norm(v))
        if (math.isinf(norm) or norm < NORM2_SQUARES_SAFE) and np.all(np.isfinite(v)):
            top = float(np.max(np.abs(v), initial=0.0))
            norm = top * float(np.linalg.norm(v / top)) if top > 0 else 0.0
    return norm


def rms_of(mag: np.ndarray[Any, Any]) -> float:
    """The RMS of an array of magnitudes, scaled by its largest so that the squares
    neither underflow (entries below about 1e-154: their RMS came out 0, and the step
    took the scale 1) nor overflow (above about 1e154); 0 for an empty or zero array.
    Where the plain sum of squares is safe (:data:`gradcheck._numerics.NORM2_SQUARES_SAFE`, as
    :func:`norm2` trusts it) it is used as it is, without the scaled copy.

    >>> f"{rms_of(np.array([3e-200, 4e-200])):.6g}", f"{rms_of(np.array([3e200, 4e200])):.6g}"
    ('3.53553e-200', '3.53553e+200')
    """
    top = float(np.max(mag, initial=0.0))
    if top == 0 or not math.isfinite(top):
        return top
    with np.errstate(over="ignore", under="ignore"):
        squares = float(mag @ mag)
    if NORM2_SQUARES_SAFE**2 <= squares < math.inf:  # as norm2 trusts it: no N-long temporary
        return math.sqrt(squares / mag.size)
    scaled = mag / top
    return top * math.sqrt(float(scaled @ scaled) / mag.size)


def noise_from_table(values: np.ndarray[Any, Any]) -> float:
    """Noise level of a function from its values at equally spaced points.

    The ``k``-th differences of values whose errors are independent with standard
    deviation ``σ`` have variance ``C(2k, k) σ²``; along a step small enough that the
    smooth part's ``k``-th difference vanishes, they are all noise (Moré & Wild,
    "Estimating computational noise", SIAM J. Sci. Comput. 33(3), 2011, the ECnoise
    method). We use ``k = 4`` over every window of the table and return the RMS
    estimate.

    >>> noise_from_table(np.zeros(7))
    0.0
    """
    k = 4
    diffs = np.diff(np.asarray(values, dtype=np.float64), n=k)
    if diffs.size == 0:
        return 0.0
    with np.errstate(over="ignore"):
        mean_square = float(np.mean(diffs**2))
    if math.isinf(mean_square):  # differences above about 1e154 (a cost of 1e200)
        return norm2(diffs) / math.sqrt(diffs.size * comb(2 * k, k))
    return math.sqrt(mean_square / comb(2 * k, k))
