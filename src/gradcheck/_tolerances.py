"""Round-off and the tolerance rules that compute with it.

The unit round-off of a dtype, the default screening tolerance per dtype and method
(:data:`gradcheck._numerics.RTOL`), what central differences of exactly 0 leave
possible (:func:`resolution`), the JVP–VJP consistency checks' allowance
(:func:`consistency_tolerance`) and whether a low-precision gradient is round-off of
its float64 self (:func:`plausible`). The constants, with their reasons and sources,
are in ``gradcheck._numerics``.

>>> unit_roundoff(np.float32)
1.1920928955078125e-07
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradcheck._numerics import (
    CONSISTENCY_ROUNDOFFS,
    CONSISTENCY_RTOL,
    PLAUSIBLE,
    RTOL,
    SMALLEST,
    Method,
)

__all__ = [
    "consistency_tolerance",
    "default_rtol",
    "plausible",
    "resolution",
    "unit_roundoff",
]


def unit_roundoff(dtype: Any) -> float:
    """Machine epsilon of a floating (or complex) dtype."""
    return float(np.finfo(np.dtype(dtype)).eps)


def _dtype_key(dtype: Any) -> str:
    size = np.dtype(dtype).itemsize
    if np.issubdtype(np.dtype(dtype), np.complexfloating):
        size //= 2
    return {8: "float64", 4: "float32", 2: "float16"}.get(size, "float64")


def default_rtol(dtype: Any, method: Method) -> float:
    """The screening tolerance for ``dtype`` and ``method`` (see :data:`gradcheck._numerics.RTOL`).

    >>> default_rtol(np.float64, "central")
    1e-07
    """
    return RTOL[_dtype_key(dtype)][method]


def resolution(sigma: float | np.ndarray[Any, Any], h: Any) -> np.ndarray[Any, Any]:
    """``R = 2·max(σ, SMALLEST)/h``: the largest ``|g|`` that central differences of
    exactly 0 at step ``h`` leave possible, for values of round-off ``σ ≥ u·|J|``.

    Two values that round to the same number differ by at most their spacing, which
    is at most ``2u·|J| ≤ 2σ``; ``C(h) = 0`` so proves ``2h·|g| ≤ 2σ`` up to curvature,
    and ``R`` keeps a factor 2 of margin. ``Σθ + 1e8`` in float32 has a spacing of 8:
    its gradient of 1 shows differences of exactly 0 at every step (``gradcheck._flatness``).
    """
    return np.asarray(2.0 * np.maximum(sigma, SMALLEST) / np.asarray(h), dtype=np.float64)


def consistency_tolerance(roundoff: float, size: int, scale: float, floor: float = 0.0) -> float:
    """The consistency checks' allowance for ``|uᵀ(Jv) − (uᵀJ)v|`` (see
    :data:`gradcheck._numerics.CONSISTENCY_ROUNDOFFS` and
    :data:`gradcheck._numerics.CONSISTENCY_RTOL`).

    ``floor`` is an absolute scale of the round-off alone (no relative part): the
    size ``uᵀJv`` would have for derivatives as large as the function's values over
    its inputs' scales, ``‖u ⊙ f‖·‖v / s‖``. A Jacobian known only at a rounded point
    is known to about ``u`` times that (``sin(fl(3π))`` is 3.7e-16, not 0): at a
    stationary point the forms' own scale is round-off, and two correct forms
    differ by all of it (attack13 F3, ``cos`` at ``kπ``). A function that oscillates
    much faster than its inputs' scale (``cos`` at ``50π``) is not covered: its
    curvature is not seen in ``|f|/s``.

    Args:
        roundoff: the unit round-off the forms compute in.
        size: ``n + m``, the numbers of input and output entries.
        scale: ``Σ|uᵢ(Jv)ᵢ| + Σ|(uᵀJ)ⱼvⱼ|`` by the two forms compared (the sums of
            absolute products behind each side, ``gradcheck._consistency``).
        floor: the round-off-only scale above (0: none).

    >>> f"{consistency_tolerance(2.0**-53, 100, 1.0):.3g}"
    '1e-06'
    """
    ulps = CONSISTENCY_ROUNDOFFS * math.sqrt(size) * roundoff
    return (ulps + CONSISTENCY_RTOL) * scale + ulps * floor


def plausible(user: np.ndarray[Any, Any], g64: np.ndarray[Any, Any], floor: float) -> bool:
    """Whether a user's-dtype gradient ``user`` differs from its float64 self ``g64`` by
    no more than round-off explains: ``PLAUSIBLE`` of ``g64``'s scale, or ``floor``
    (``ATOL_ROUNDOFFS`` round-offs of the model's largest entry), whichever is larger.

    >>> plausible(np.array([1.0, 2.0]), np.array([1.0, 2.1]), 0.0)
    True
    >>> plausible(np.array([-1.0, -2.0]), np.array([1.0, 2.0]), 0.0)
    False
    """
    scale = float(np.max(np.abs(g64), initial=0.0))
    return float(np.max(np.abs(user - g64), initial=0.0)) <= max(PLAUSIBLE * scale, floor)
