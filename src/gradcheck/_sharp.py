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

**Kinks that are not.** A feature narrower than the step looks like a kink at θ: a
Gaussian bump of width ``1e-7`` under steps of ``6e-6`` is absent at ``θ ± h`` and
``θ ± h/2``, so its one-sided slopes differ at both steps, and the entry went to the kink
rules, which keep it out of the verdict and (``grad`` a function) re-checked it at a
nearby point where the bump is absent and any claim agrees (attack28 H61: a sign-flipped
gradient passed). :func:`unkinked` compares each entry at a kink at θ again at the step
:data:`LEVELS` levels smaller, but no smaller than a kink of the jump measured at ``h/2``
would still stand out of the noise at, and persist, if it were anywhere a kink counts as
at θ (``KINK_SEEN`` round-off slopes). A real kink is a kink there too; an entry with no
kink there is smooth on that scale: it is judged where that step and one :data:`FINER`
times smaller agree (as above), else it is ``uncertain``, named as a feature the step
cannot resolve. An entry straddling a kink that rule 3 could not clear is judged there
where two steps agree, else it stays the kink rules'.

**Wrong at one scale only.** A step that spans a quantiser's stairs (``round(x·K)/K``)
measures the slope across them, smooth-looking and with a small spread, and failed the
stairs' right derivative (attack27 H48). :func:`confirm` measures each ``wrong`` entry
again at a step :data:`FINER` times smaller than the one that judged it
(``Comparison.step``): a cost smooth on the scale of that step gives an estimate within
both allowances, with 64 times less truncation. One further off, or whose spread is
truncation there, or a kink, contradicts it: the entry is judged where two smaller steps
agree (as :func:`sharpen`), else it is ``uncertain``. :data:`CONFIRM` entries are
checked first, every one only where one of them was contradicted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from gradcheck._compare import NOISE_SPREAD, Comparison
from gradcheck._kinks import OFFSET_NOISE, exact_steps
from gradcheck._numerics import SAFETY

__all__ = [
    "CONFIRM",
    "FINER",
    "KINK_SEEN",
    "LEVELS",
    "Rejudged",
    "agree",
    "confirm",
    "sharpen",
    "truncated",
    "unkinked",
]

Array = np.ndarray[Any, Any]
#: Each further step is this many times smaller: the truncation falls ``FINER²`` = 64
#: times, the round-off grows 8 times.
FINER = 8.0
#: At most this many smaller steps (4 evaluations each, central): down to ``h/4096``,
#: a feature 4000 times narrower than the first step.
LEVELS = 4
#: The smaller step that tests a kink at θ keeps its jump ``J`` (slope units) this many
#: round-off slopes ``σ/s`` above 0. A kink counts as at θ when it is within
#: ``OFFSET_NOISE·σ/|J|`` (20σ/|J|) of it; a step 8 times that sees it at θ ± s and at
#: θ ± s/2 (jumps within 0.86 of each other: it persists, ``gradcheck._kinks`` rule 1),
#: and 10 times above the detection threshold ``JUMP_NOISE·σ/(s/2)``.
KINK_SEEN = 8.0 * OFFSET_NOISE
#: Wrong entries first checked at a step :data:`FINER` times smaller (4 evaluations
#: each): where none is contradicted the rest stand unchecked (a wrong gradient pays
#: at most 32 evaluations per parameter), else every one is checked.
CONFIRM = 8


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


class Rejudged(NamedTuple):
    """:func:`sharpen`'s, :func:`unkinked`'s and :func:`confirm`'s answer: the
    comparison, and how many of its entries the smaller steps judged."""

    comparison: Comparison
    judged: int


def sharpen(
    comp: Comparison,
    theta: Array,
    h: Array,
    dtype: Any,
    noise: Array,
    measure: Callable[[Array, Array], Comparison],
) -> Rejudged:
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
        return Rejudged(comp, 0)
    out = comp.subset(np.arange(comp.status.size))
    settled = _descend(out, todo, h[todo], None, theta, dtype, noise, h, measure)
    return Rejudged(out, settled)


def _descend(
    out: Comparison,
    todo: Array,
    step: Array,
    before: Comparison | None,
    theta: Array,
    dtype: Any,
    noise: Array,
    h: Array,
    measure: Callable[[Array, Array], Comparison],
) -> int:
    """The entries at positions ``todo`` of ``out``, measured at ``step`` (``before``
    their comparison there, ``None``: not measured), compared at steps :data:`FINER`
    times smaller, up to :data:`LEVELS` times; each is settled (in ``out``) where two
    steps agree. Returns how many were settled."""
    settled = 0
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
            done = judged & agree(again, before)
            out.replace(todo[done], again.subset(done))
            settled += int(np.count_nonzero(done))
        else:
            done = np.zeros(todo.size, dtype=bool)
        # go on with what is not settled and still truncated or just judged
        go = ~done & (judged | truncated(again, noise[todo] * (h[todo] / step)))
        todo, step, before = todo[go], step[go], again.subset(go)
    return settled


def confirm(
    comp: Comparison,
    theta: Array,
    h: Array,
    dtype: Any,
    noise: Array,
    measure: Callable[[Array, Array], Comparison],
) -> Rejudged:
    """``wrong`` entries checked at a step :data:`FINER` times smaller than the one
    that judged them (module doc, "Wrong at one scale only").

    Args:
        comp: the comparison of some entries of one parameter.
        theta, h, dtype, noise, measure: as :func:`sharpen`'s.

    Returns:
        The comparison (new where an entry was contradicted), and how many were.
    """
    wrong = (comp.status == "wrong") & np.isfinite(comp.step) & np.isnan(comp.kink)
    todo = np.flatnonzero(wrong & ~comp.flat & ~comp.exact)
    if not todo.size:
        return Rejudged(comp, 0)
    out = comp.subset(np.arange(comp.status.size))
    n = _contradicted(out, todo[:CONFIRM], theta, h, dtype, noise, measure)
    if n and todo.size > CONFIRM:
        n += _contradicted(out, todo[CONFIRM:], theta, h, dtype, noise, measure)
    return Rejudged(out, n) if n else Rejudged(comp, 0)


def _contradicted(
    out: Comparison,
    todo: Array,
    theta: Array,
    h: Array,
    dtype: Any,
    noise: Array,
    measure: Callable[[Array, Array], Comparison],
) -> int:
    """The entries at positions ``todo`` of ``out`` measured at a step :data:`FINER`
    times smaller than their own: where that contradicts their result, they are
    ``uncertain`` (in ``out``) unless two smaller steps agree on them. Returns how many
    were contradicted."""
    step = exact_steps(theta[todo], out.step[todo] / FINER, dtype)
    keep = step > 0
    todo, step = todo[keep], step[keep]
    if not todo.size:
        return 0
    again = measure(todo, step)
    before = out.subset(todo)
    apart = np.abs(again.numeric - before.numeric) > _allowed(again) + _allowed(before)
    # a cost smooth on the scale of h is 64 times smoother at h/8: a spread there that
    # is truncation, or a kink, says it is not (the estimates may still agree within it)
    grown = FINER * (1.0 + NOISE_SPREAD) * noise[todo] * (h[todo] / step)
    apart |= (again.fd_error > grown) | np.isfinite(again.kink)
    todo, step, again = todo[apart], step[apart], again.subset(apart)
    out.replace(todo, again)  # its spread, not the wrong one's, goes on to the report
    out.status[todo] = "uncertain"
    _descend(out, todo, step, again, theta, dtype, noise, h, measure)
    return int(todo.size)


def agree(again: Comparison, before: Comparison) -> Array:
    """Where two steps' comparisons of the same entries agree: the same status, and
    values within the sum of their allowances."""
    close = np.abs(again.numeric - before.numeric) <= _allowed(again) + _allowed(before)
    return np.asarray((again.status == before.status) & close, dtype=bool)


def _allowed(c: Comparison) -> Array:
    """Each entry's allowance, ``tol + SAFETY·e``."""
    return np.asarray(c.tolerance + SAFETY * c.fd_error, dtype=np.float64)


def unkinked(
    comp: Comparison,
    theta: Array,
    h: Array,
    dtype: Any,
    jump: Callable[[Array], Array],
    sigma: float,
    measure: Callable[[Array, Array], Comparison],
) -> Rejudged:
    """Entries at a kink at θ that smaller steps show smooth (module doc, last part).

    Args:
        comp: the comparison of some entries of one parameter, at steps ``h``.
        theta: those entries' values; dtype: the parameter's dtype.
        jump: ``jump(k)``: the one-sided slopes' difference at ``h/2`` of the entries at
            positions ``k`` (``(J(θ + h/2) − 2 J0 + J(θ − h/2)) / (h/2)``).
        sigma: the cost's noise.
        measure: ``measure(k, h)`` compares the entries at positions ``k`` with steps ``h``.

    Returns:
        The comparison (new where an entry was not a kink), and how many were not.
    """
    at = (comp.kink == 0) & (comp.status == "nonsmooth")
    todo = np.flatnonzero(at | (np.isfinite(comp.kink) & (comp.status == "uncertain")))
    if not todo.size:
        return Rejudged(comp, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        least = KINK_SEEN * sigma / np.abs(jump(todo))
    step = np.maximum(h[todo] / FINER**LEVELS, least)
    step = exact_steps(theta[todo], step, dtype)
    fit = (step > 0) & (step <= h[todo] / FINER)  # else no smaller step can tell
    todo, step = todo[fit], step[fit]
    if not todo.size:
        return Rejudged(comp, 0)
    first = measure(todo, step)
    smooth = np.isnan(first.kink)  # a kink anywhere near: a kink's entry, as it was
    todo, step, first = todo[smooth], step[smooth], first.subset(smooth)
    if not todo.size:
        return Rejudged(comp, 0)
    out = comp.subset(np.arange(comp.status.size))
    # at θ: no kink at a step 8 times as far as a kink counted at θ can be, so smooth
    # there, and unresolved unless confirmed below; a straddled kink that rule 3 could
    # not clear stays the kink rules' unless confirmed (a smooth side, as rule 3)
    mine = at[todo]
    out.replace(todo[mine], first.subset(mine))
    out.status[todo[mine]] = "uncertain"
    finer = exact_steps(theta[todo], step / FINER, dtype)
    judged = np.isin(first.status, ("ok", "wrong")) & ~first.exact & (finer > 0)
    if np.any(judged):
        k = np.flatnonzero(judged)
        again, before = measure(todo[k], finer[k]), first.subset(k)
        done = np.isnan(again.kink) & agree(again, before)
        out.replace(todo[k[done]], again.subset(done))
        mine[k[done]] = True
    return Rejudged(out, int(np.count_nonzero(mine)))
