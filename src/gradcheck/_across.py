"""Entries whose steps reach across 0 (rule 7 of ``gradcheck._kinks``).

Steps are relative to ``max(|θ_j|, rms θ)``: an entry far below its
parameter's rms (``1/θ`` at ``θ_j = 1.1e-8`` beside 2.0) has ``θ_j ± h`` on both
sides of 0 and jumps over a pole or branch there, and its estimate comes from the
other branch (wrong sign, off by 1e5: F12), or reads the pole as a kink at θ. An
entry not ``ok`` whose steps reach across 0 is compared again at a step relative to
``|θ_j|`` alone, on its own side;
where the two estimates differ by more than both allowances together
(``tol + SAFETY·e`` each), the first crossed something, and the second judges the
entry. A smooth cost gives two estimates that agree: the first verdict stands. An
``uncertain`` first estimate is no evidence either way: where the own-side one is
``ok`` or ``wrong``, it judges the entry (``log|θ|`` at 1.1e-8, attack20 P6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

import numpy as np

from gradcheck._kinks import Compared, exact_steps
from gradcheck._numerics import SAFETY
from gradcheck._steps import relative_step

__all__ = ["AcrossZero", "across_zero"]

Array = np.ndarray[Any, Any]
_C = TypeVar("_C", bound=Compared)


class AcrossZero(NamedTuple, Generic[_C]):
    """:func:`across_zero`'s answer: the comparison, and how many entries the second
    estimate judged."""

    comparison: _C
    judged: int


def across_zero(
    comp: _C,
    theta: Array,
    h: Array,
    method: Any,
    dtype: Any,
    measure: Callable[[Array, Array], _C],
) -> AcrossZero[_C]:
    """Rule 7: entries not ``ok`` whose steps ``h`` reach across 0, judged again at steps
    relative to their own ``|θ|`` where the two estimates disagree.

    Args:
        comp: the comparison of some entries of one parameter, at steps ``h``.
        theta: those entries' values.
        method, dtype: the difference method and the parameter's dtype.
        measure: ``measure(k, h)`` compares the entries at positions ``k`` with steps ``h``.

    Returns:
        The comparison, and how many entries the second estimate judged.
    """
    judged = comp.status != "ok"  # wrong, or a kink (at θ or straddled) that may be 0's
    k = np.flatnonzero(judged & (h >= np.abs(theta)) & (theta != 0))
    own = exact_steps(theta[k], relative_step(method, dtype) * np.abs(theta[k]), dtype)
    # a step below the smallest normal number (θ subnormal) resolves nothing
    fit = (own >= np.finfo(np.float64).tiny) & (own < np.abs(theta[k]))
    k, own = k[fit], own[fit]
    if not k.size:
        return AcrossZero(comp, 0)
    again = measure(k, own)
    first = comp.tolerance[k] + SAFETY * comp.fd_error[k]
    second = again.tolerance + SAFETY * again.fd_error
    apart = np.abs(again.numeric - comp.numeric[k]) > first + second
    # an uncertain first estimate is no evidence to disagree with: a resolved own-side
    # one judges the entry (log|θ| at 1.1e-8: the first steps' spread is the branch's)
    apart |= (comp.status[k] == "uncertain") & np.isin(again.status, ("ok", "wrong"))
    if not np.any(apart):
        return AcrossZero(comp, 0)
    out = comp.subset(np.arange(comp.status.size))
    out.replace(k[apart], again.subset(apart))
    return AcrossZero(out, int(np.count_nonzero(apart)))
