"""Which common mistake explains a wrong gradient.

Given a parameter's analytic gradient ``a`` and the numerical one ``n``, test the
mistakes people make by hand, in order: a parameter the cost does not use at all
(its numerical gradient is exactly 0), a zero (missing) gradient, a wrong sign, a
constant factor (a doubled term, a ``k/m`` for ``1/m``), a transpose, and a gradient
swapped with another parameter's. A pattern "fits" when it explains ``a`` to within
:data:`FIT` relative error.

>>> n = np.array([[1.0, 2.0], [3.0, 4.0]])
>>> diagnose(2 * n, n).text
'×2 — the gradient is 2 times too large (a doubled term?)'
>>> diagnose(n.T, n).kind
'transpose'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gradcheck._report import Diagnosis

__all__ = ["FIT", "diagnose"]

#: A pattern fits when ‖a − pattern(n)‖ ≤ FIT · ‖a‖: loose enough for the
#: finite-difference error in ``n``, tight enough that a 1% scattered error is not
#: called a factor.
FIT = 1e-3

Array = np.ndarray[Any, Any]


def _fits(a: Array, b: Array) -> bool:
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)))
    return scale > 0 and float(np.linalg.norm(a - b)) <= FIT * scale


def _factor_text(c: float) -> str:
    k = round(c)
    if k >= 2 and abs(c - k) <= FIT * abs(c):
        hint = "a doubled term?" if k == 2 else f"{k}/m where 1/m was meant?"
        return f"×{k} — the gradient is {k} times too large ({hint})"
    inv = 1 / c
    j = round(inv)
    if j >= 2 and abs(inv - j) <= FIT * abs(inv):
        return f"×1/{j} ({c:.4g}) — the gradient is {j} times too small (an extra 1/m?)"
    return f"×{c:.4g} — the gradient is off by a constant factor"


def diagnose(
    analytic: Array,
    numeric: Array,
    others: Mapping[str, Array] | None = None,
) -> Diagnosis:
    """Name the mistake that turns the true gradient ``numeric`` into ``analytic``.

    Args:
        analytic: the supplied gradient of one parameter.
        numeric: its numerical gradient, same shape.
        others: numerical gradients of the other parameters, to detect a swap.

    Returns:
        A :class:`Diagnosis`; ``kind="scattered"`` when no simple pattern fits.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    na, nn = float(np.linalg.norm(a)), float(np.linalg.norm(n))
    if nn == 0 and na > 0:
        return Diagnosis(
            "unused", 0.0, "the cost does not change with this parameter (its finite "
            "differences are exactly 0): does the cost use it? If not, its gradient is 0"
        )
    if nn > 0 and na <= FIT * nn:
        return Diagnosis("zero", 0.0, "the gradient is zero where it should not be (missing?)")
    if nn > 0:
        c = float(np.vdot(n, a) / np.vdot(n, n))
        if c != 0 and _fits(a, c * n):
            if abs(c + 1) <= FIT:
                return Diagnosis("sign", -1.0, "×−1 — the gradient has the wrong sign")
            if c < 0:
                return Diagnosis("sign", c, f"×{c:.4g} — wrong sign and off by a factor")
            return Diagnosis("factor", c, _factor_text(c))
    if a.ndim == 2 and _fits(a.reshape(a.shape[::-1]).T, n):
        return Diagnosis("transpose", None, "the gradient is transposed (reshaped from its .T)")
    if a.ndim == 2 and a.shape[0] == a.shape[1] and _fits(a.T, n):
        return Diagnosis("transpose", None, "the gradient is the transpose of the right one")
    for name, other in (others or {}).items():
        if np.shape(other) == a.shape and _fits(a, np.asarray(other, dtype=np.float64)):
            return Diagnosis("swapped", None, f"this is the gradient of {name!r}: swapped?")
    wrong = int(np.count_nonzero(~np.isclose(a, n, rtol=1e-6, atol=1e-6 * max(nn, na) / 1e3)))
    return Diagnosis(
        "scattered", None, f"{wrong} of {a.size} entries differ, with no simple pattern"
    )
