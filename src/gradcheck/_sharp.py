"""Entries whose cost varies faster than their step, compared again at smaller steps.

An entry is ``uncertain`` when the spread of its Richardson table ``e = |D − R| + ν``
would hide a 10% error (``gradcheck._compare`` rule 4). Where that spread is the
round-off ``ν``, a larger step helps (``gradcheck._retry``); where it is truncation,
the cost has a feature narrower than the step (``log1p((x/w)²)`` with ``w = 5e-7``
beside entries of 1e-2, whose step is 6e-8: the accuracy benchmark's "sharp
features", 44 of 500 cases inconclusive), and only a smaller step resolves it. The
truncation of a central difference falls as ``h²`` and its round-off grows as
``1/h``, so :func:`sharpen` compares such entries again at steps :data:`FINER` times
smaller, up to :data:`LEVELS` times, while truncation stays the larger part of ``e``.

Only the central method is sharpened (``gradcheck._entrywise``): its estimate at the
re-examined entries is the Richardson ``R``, whose error falls faster than ``e``'s
``h²``, so ``e`` bounds it once two steps agree; a forward difference's own ``O(h)``
bias is not bounded so (a planted error of 1.1 times the bound passed).

A smaller step's estimate is trusted only where the next smaller one confirms it:
both give the same status, ``ok`` or ``wrong``, and estimates that agree to within
both allowances (``tol + SAFETY·e`` each). A step still comparable with the feature
gives a secant slope whose Richardson spread can understate its error; two steps
``FINER`` times apart agreeing to within their spreads are in the asymptotic range
(their truncations differ by a factor ``FINER²``). Entries never confirmed keep
their first (``uncertain``) result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck._compare import NOISE_SPREAD, Comparison
from gradcheck._kinks import exact_steps
from gradcheck._numerics import SAFETY

__all__ = ["FINER", "LEVELS", "sharpen", "truncated"]

Array = np.ndarray[Any, Any]
#: Each further step is this many times smaller: the truncation falls ``FINER²`` = 64
#: times, the round-off grows 8 times.
FINER = 8.0
#: At most this many smaller steps (4 evaluations each, central): down to ``h/4096``,
#: a feature 4000 times narrower than the first step.
LEVELS = 4


def truncated(c: Comparison, noise: Array) -> Array:
    """Entries, not at a kink, whose ``e`` is truncation more than :data:`FINER` times
    over the round-off it could hold (``(1 + NOISE_SPREAD)·ν``, ``noise`` is ``ν``), so
    that a ``FINER`` times smaller step lowers it: ``uncertain`` ones, and ``ok`` ones
    whose allowance is mostly that truncation (``SAFETY·e`` above the tolerance).

    The ``ok`` ones matter to the stated bound: an entry that passes the screen has no
    ``e`` measured, and its small reach can set the bound; the same entry with an error
    planted fails the screen, and its measured ``e`` (a sharp feature's) then hides an
    error of that bound (``sharp features`` seed 227: an entry whose ``D(h)`` happened
    to be 2e-6 off while ``R`` was 1% off)."""
    ok = (c.status == "ok") & (SAFETY * c.fd_error > c.tolerance)
    return np.asarray(
        ((c.status == "uncertain") | ok)
        & np.isnan(c.kink)
        & ~c.flat
        & (c.fd_error > FINER * (1.0 + NOISE_SPREAD) * noise),
        dtype=bool,
    )


def sharpen(
    comp: Comparison,
    theta: Array,
    h: Array,
    dtype: Any,
    noise: Array,
    measure: Callable[[Array, Array], Comparison],
) -> tuple[Comparison, int]:
    """Compare :func:`truncated` entries again at smaller steps (module doc).

    Args:
        comp: the comparison of some entries of one parameter, at steps ``h``.
        theta: those entries' values; dtype: the parameter's dtype.
        noise: each entry's round-off ``ν`` at ``h``.
        measure: ``measure(k, h)`` compares the entries at positions ``k`` of ``comp``
            with steps ``h``.

    Returns:
        The comparison (new where any entry was settled), and how many were settled.
    """
    todo = np.flatnonzero(truncated(comp, noise))
    if not todo.size:
        return comp, 0
    out = comp.subset(np.arange(comp.status.size))
    settled = 0
    step = h[todo]
    before: Comparison | None = None
    for _ in range(LEVELS):
        step = exact_steps(theta[todo], step / FINER, dtype)
        keep = step > 0
        todo, step = todo[keep], step[keep]
        if before is not None:
            before = before.subset(keep)
        if not todo.size:
            break
        again = measure(todo, step)
        # differences of exactly 0 prove only |g| ≤ their resolution, which a smaller
        # step coarsens: such a step settles nothing (an exact zero's own rule judges)
        judged = np.isin(again.status, ("ok", "wrong")) & ~again.exact
        if before is not None:
            agree = np.abs(again.numeric - before.numeric) <= _allowed(again) + _allowed(before)
            done = judged & (again.status == before.status) & agree
            out.replace(todo[done], again.subset(done))
            settled += int(np.count_nonzero(done))
        else:
            done = np.zeros(todo.size, dtype=bool)
        # go on with what is not settled and still truncated or just judged
        go = ~done & (judged | truncated(again, noise[todo] * (h[todo] / step)))
        todo, step, before = todo[go], step[go], again.subset(go)
    return out, settled


def _allowed(c: Comparison) -> Array:
    """Each entry's allowance, ``tol + SAFETY·e``."""
    return np.asarray(c.tolerance + SAFETY * c.fd_error, dtype=np.float64)
