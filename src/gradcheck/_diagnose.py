"""Which common mistake explains a wrong gradient.

Given a parameter's analytic gradient ``a`` and the numerical one ``n``, test the
mistakes people make by hand, in order: a parameter the cost does not use at all
(its numerical gradient is exactly 0), a zero (missing) gradient, a gradient right
as a whole but for a few entries (no pattern: they are named), a wrong sign, a
constant factor (a doubled term, a ``k/m`` for ``1/m``), a transpose, and a gradient
swapped with another parameter's. A pattern "fits" when it explains ``a`` to within
:data:`FIT` relative error; a factor within :data:`FIT` of 1 is no factor. Counts
and patterns use only the entries the comparison judged: one at a kink or one it
could not resolve is named as such, never as a difference.

>>> n = np.array([[1.0, 2.0], [3.0, 4.0]])
>>> diagnose(2 * n, n).text
'×2 — the gradient is 2 times too large (a doubled term?)'
>>> diagnose(n.T, n).kind
'transpose'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from gradcheck._norms import norm2
from gradcheck._results import Diagnosis, entry_label

__all__ = ["CONJUGATED", "FIT", "NAMED", "diagnose", "scaled"]

#: A pattern fits when ‖a − pattern(n)‖ ≤ FIT · ‖a‖: loose enough for the
#: finite-difference error in ``n``, tight enough that a 1% scattered error is not
#: called a factor.
FIT = 1e-3

#: How many wrong entries a diagnosis names (the report's worst entries show more).
NAMED = 5

Array = np.ndarray[Any, Any]


def _fits(a: Array, b: Array) -> bool:
    scale = max(float(norm2(a)), float(norm2(b)))
    return scale > 0 and float(norm2(a - b)) <= FIT * scale


COUNTABLE = 1e6
"""Factors (or their inverses) named as integers, "×3", "×1/4", stay below this: a
factor of a million is a scale bug, not a count of repeated terms."""


def counted(c: float) -> int:
    """``c`` rounded to an integer where it could count repeated terms (below
    :data:`COUNTABLE`), else 0: ``round`` of 1e308 is a 300-digit integer, of ``inf``
    an OverflowError."""
    return round(c) if abs(c) < COUNTABLE else 0


def _factor_text(c: float) -> str:
    """The words for a gradient off by the factor ``c``: an integer factor or its
    inverse is named with its likely cause."""
    k = counted(c)
    if k >= 2 and abs(c - k) <= FIT * abs(c):
        hint = "a doubled term?" if k == 2 else f"{k}/m where 1/m was meant?"
        return f"×{k} — the gradient is {k} times too large ({hint})"
    inv = 1 / c
    j = counted(inv)
    if j >= 2 and abs(inv - j) <= FIT * abs(inv):
        return f"×1/{j} ({c:.4g}) — the gradient is {j} times too small (an extra 1/m?)"
    return f"×{c:.4g} — the gradient is off by a constant factor"


def scaled(c: float) -> Diagnosis:
    """The diagnosis of a gradient that is ``c`` times the right one (``c`` not near
    1): the wrong sign (``c ≈ −1``), the wrong sign and a factor, or a factor
    (:func:`_factor_text`). Used by :func:`diagnose` and by the directional strategy's
    ``gradcheck._localise.diagnose_directional``."""
    if abs(c + 1) <= FIT:
        return Diagnosis("sign", -1.0, "×−1 — the gradient has the wrong sign")
    if c < 0:
        return Diagnosis("sign", c, f"×{c:.4g} — wrong sign and off by a factor")
    return Diagnosis("factor", c, _factor_text(c))


def _label(name: str, shape: tuple[int, ...], k: int, pair: bool) -> str:
    """Flat index ``k`` as ``W[0, 2]``; of a complex parameter's real view (``pair``),
    as ``z[0] (imag)``."""
    index = tuple(int(t) for t in np.unravel_index(k, shape))
    if pair:
        return entry_label(name, index[:-1], ("real", "imag")[index[-1]])
    return entry_label(name, index)


def _labels(name: str, shape: tuple[int, ...], where: Array, pair: bool = False) -> str:
    """The first :data:`NAMED` of the flat indices ``where`` as ``W[0, 2]``, then "…"."""
    labels = [_label(name, shape, int(k), pair) for k in where[:NAMED]]
    return ", ".join(labels) + (", …" if where.size > NAMED else "")


#: The diagnosis of a complex gradient that is the conjugate of the right one.
CONJUGATED = (
    "conjugated? — the gradient is the complex conjugate of the right one: a missing "
    "conj(), or a gradient in the other convention (option complex_convention: "
    "'conjugate', the default, for ∂J/∂x + i·∂J/∂y as torch's .grad holds; 'plain' for "
    "∂J/∂x − i·∂J/∂y as jax.grad returns)"
)


def _complex_pattern(a: Array, n: Array, judged: Array) -> Diagnosis | None:
    """For a complex parameter's real views (trailing axis: real, imaginary part): the
    conjugate, the transpose and the conjugate transpose of a complex matrix."""
    conj = n * np.array([1.0, -1.0])
    if _fits(a[judged], conj[judged]):
        return Diagnosis("conjugate", None, CONJUGATED)
    if a.ndim == 3 and a.shape[0] == a.shape[1]:
        if _fits(a.transpose(1, 0, 2)[judged], n[judged]):
            return Diagnosis("transpose", None, "the gradient is the transpose of the right one")
        if _fits(a.transpose(1, 0, 2)[judged], conj[judged]):
            return Diagnosis(
                "conjugate",
                None,
                "conjugated? — the gradient is the conjugate transpose (.H) of the right "
                "one: a transpose where .T was meant, or the other complex_convention",
            )
    return None


def _scattered(name: str, a: Array, status: Array, pair: bool = False) -> Diagnosis:
    """No pattern: how many entries are wrong, which, and what the count leaves out."""
    wrong = np.flatnonzero(status == "wrong")
    k = int(wrong.size)
    text = f"{k} of {a.size} entries {'is' if k == 1 else 'are'} wrong"
    left = [
        f"{count} more {what}"
        for count, what in (
            (int(np.count_nonzero(status == "nonsmooth")), "sit at kinks"),
            (int(np.count_nonzero(status == "uncertain")), "could not be resolved"),
        )
        if count
    ]
    if left:
        text += f" ({' and '.join(left)}, not counted)"
    text += ", with no simple pattern"
    labels = _labels(name, a.shape, wrong, pair)
    return Diagnosis("scattered", None, f"{text}: {labels}" if k else text)


def _ratio(a: np.ndarray[Any, Any], n: np.ndarray[Any, Any], norm: float) -> float:
    """The least-squares factor ``c`` of ``a ≈ c·n``; ``n`` scaled by its norm where its
    dot products overflow (gradients of 1e300); ``inf`` where the factor itself does."""
    with np.errstate(over="ignore", invalid="ignore"):
        c = float(np.vdot(n, a) / np.vdot(n, n))
    if math.isfinite(c):
        return c
    with np.errstate(over="ignore"):  # a factor beyond 1e308 is inf
        return float(np.vdot(n / norm, a / norm) / np.vdot(n / norm, n / norm))


def diagnose(
    analytic: Array,
    numeric: Array,
    others: Mapping[str, Array] | None = None,
    *,
    status: Array | None = None,
    name: str = "",
    pair: bool = False,
) -> Diagnosis:
    """Name the mistake that turns the true gradient ``numeric`` into ``analytic``.

    Only the entries the comparison could judge (``ok`` or ``wrong``) are fitted:
    an entry at a kink or one the finite differences could not resolve says nothing
    about a pattern. A gradient that is right as a whole, to within :data:`FIT`, is
    no factor, sign or transpose: a few of its entries are wrong, and they are named.

    Args:
        analytic: the supplied gradient of one parameter.
        numeric: its numerical gradient, same shape.
        others: numerical gradients of the other parameters, to detect a swap.
        status: the comparison's per-entry status (``ok``, ``wrong``, ``nonsmooth``,
            ``uncertain``), same shape; by default an entry is ``wrong`` unless
            ``analytic`` and ``numeric`` agree to 1e-6 relative.
        name: the parameter's name, for the entries the text names.
        pair: the arrays are a complex parameter's real views (trailing axis of 2:
            real, imaginary part; ``gradcheck._complex``): the complex patterns apply
            (conjugated, transposed, conjugate-transposed) instead of the real
            transposes, and entries are named by part.

    Returns:
        A :class:`Diagnosis`; ``kind="scattered"`` when no simple pattern fits.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if status is None:
        scale = max(float(norm2(a)), float(norm2(n)))
        close = np.isclose(a, n, rtol=1e-6, atol=1e-6 * scale / 1e3)
        status = np.where(close, "ok", "wrong")
    st = np.asarray(status).reshape(a.shape)
    judged = (st == "ok") | (st == "wrong")
    aj, nj = a[judged], n[judged]
    na, nn = float(norm2(aj)), float(norm2(nj))
    if not np.any(n) and np.any(a):
        return Diagnosis(
            "unused",
            0.0,
            "the cost does not change with this parameter (its finite "
            "differences are exactly 0): does the cost use it? If not, its gradient is 0",
        )
    if nn > 0 and na <= FIT * nn:
        return Diagnosis("zero", 0.0, "the gradient is zero where it should not be (missing?)")
    if _fits(aj, nj):
        return _scattered(name, a, st, pair)  # right as a whole: a few entries are wrong
    if nn > 0:
        c = _ratio(aj, nj, nn)
        if abs(c - 1) > FIT and _fits(aj, c * nj):
            return scaled(c)
    if pair:
        found = _complex_pattern(a, n, judged)
        if found is not None:
            return found
    elif a.ndim == 2 and a.shape[0] == a.shape[1] and _fits(a.T[judged], nj):
        return Diagnosis("transpose", None, "the gradient is the transpose of the right one")
    if not pair and a.ndim == 2 and _fits(a.reshape(a.shape[::-1]).T[judged], nj):
        return Diagnosis("transpose", None, "the gradient is transposed (reshaped from its .T)")
    for other_name, other in (others or {}).items():
        o = np.asarray(other, dtype=np.float64)
        if o.shape == a.shape and _fits(aj, o[judged]):
            return Diagnosis("swapped", None, f"this is the gradient of {other_name!r}: swapped?")
    return _scattered(name, a, st, pair)
