"""Kinks: entries where the cost has no derivative, and entries a step away from one.

A kink is a point where the one-sided derivatives differ (ReLU at 0, ``|x|`` at 0,
ties in ``max``, ``clip`` at its bounds). Finite differences across one measure the
average of the two slopes, which no gradient need equal. The rule, per entry that
fails the screen (``gradcheck._compare``, rule 3), from the five values
``J(θ ± h)``, ``J(θ ± h/2)`` and ``J0``:

1. **Detect.** The one-sided slopes differ by ``jump(s) = (J(θ+s) − 2 J0 + J(θ−s))/s``.
   For a smooth cost ``jump(s) ≈ s J''`` halves with ``s``; across a kink it does not.
   A jump that stays (``|jump(h/2)| > 0.75 |jump(h)|``) above the noise and the
   tolerance is a kink within about ``h/2`` of θ.
2. **Locate.** The four secant slopes over ``[−h, −h/2, 0, h/2, h]`` are equal on a
   straight piece; a kink at ``d`` mixes the two slopes in the interval that holds
   it. The third difference ``T = J(θ+h) − 2 J(θ+h/2) + 2 J(θ−h/2) − J(θ−h)``
   (zero for a straight or parabolic piece) over the outer slopes' difference gives
   ``d = T / (s₄ − s₁)`` exactly for a piecewise-linear cost, for ``|d| < h/2``.
   A jump at ``h`` that vanishes at ``h/2`` is a kink between ``h/2`` and ``h``, where
   the share missing from a smooth cost's half, ``|jump(h/2) − jump(h)/2|``, stands out
   of the noise as rule 1's jump must (a tanh MLP's 10 ulps at ``h``, 1 at ``h/2``, did not).
   ``T`` carries the noise of four values, standard deviation ``√10·σ``: a kink
   with ``|T| ≤ OFFSET_NOISE·σ`` (about six standard deviations) is *at* θ.
3. **Resolve** a kink away from θ: the steps straddle it and measure no derivative
   at all (``|x|`` at ``1e-7`` with a step of 1e-6 gives ``x/h``). The entry is
   compared again with steps ``|d|/ZOOM``, clear of it, up to ``LEVELS`` times, or
   else it is ``uncertain``. ``T`` also holds the two sides' curvature difference
   (times ``h²/4``): a kink at θ can look ``d`` away, and shows at θ at the smaller
   step. Steps stay ``MARGIN`` times above the least one that still sees the jump.
   A kink nearer to θ than ``ZOOM`` spacings of θ has no smaller step: it is at θ.
4. **At θ** the entry is ``nonsmooth``, kept out of the verdict. It is *bracketed*
   when the analytic value lies between the one-sided slopes (± tolerance), as
   relu'(0) = 0 does. Each side's slope is taken both at ``h/2`` and extrapolated
   (``2 D(h/2) − D(h)``, ``D(s) = ±(J(θ±s) − J0)/s``): on a curved side the first is
   off the one-sided derivative by ``(h/4)·J''``, which put ``clip``'s derivative at
   its bound beside ``cos θ`` outside the bracket (attack26 G5). Several kinks meeting
   at θ (a zero-initialised unit: every sample's pre-activation is 0) can put a
   correct framework gradient outside them
   (Kakade & Lee, NeurIPS 2018; Bolte & Pauwels, Math. Program. 2021; see
   ``docs/numerics.md``). Finite differences at θ cannot tell that from a bug: an
   unbracketed kink is not wrong, and not excused: its parameter is inconclusive.
5. **Nearby points**, when ``grad`` is a function: the kink entries are checked again
   at θ ± δ, a small seeded random move where the kinks have come apart, with fresh
   moves for entries one leaves at a kink (``gradcheck._nearby``), which settle an entry
   at θ only where its claim lies within θ's slopes, or within :attr:`Sites.off` where
   a move shows several kinks meeting at θ. The report says which happened.
7. **Across 0.** Entries whose steps reach across 0: ``gradcheck._across``.
6. **Noise.** A kink in the noise table (``J(θ + kδ)``, ``k = −3..3``) passes for noise,
   up to a million times the real one. A kink at θ leaves both halves (``k = −3..0``,
   ``0..3``; third differences, variance ``C(6, 3)·σ² = 20σ²``) smooth: when the whole
   is ``KINKED`` times rougher, the halves' estimate is used. One half ``KINKED``
   times rougher than the other holds a kink: the table is measured again ``SHRINK``
   times narrower, up to ``NARROWER`` times, and the smallest estimate is kept. A
   narrower table whose values span more than ``RESOLUTION`` times what the wider
   table's steepest secant allows is below the cost's resolution (a staircase, e.g.
   ``log(1 + ε)`` with ``ε ≈ 1e-7`` rounding ``1 + ε`` to ``ulp(1)``, attack25 G10):
   its estimate, and every narrower one, is not used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, TypeVar

import numpy as np

from gradcheck._norms import noise_from_table

__all__ = [
    "LEVELS",
    "OFFSET_NOISE",
    "RAN",
    "RESOLUTION",
    "SCREEN",
    "ZOOM",
    "Sites",
    "below_resolution",
    "exact_steps",
    "locate",
    "messages",
    "resolve",
    "table_noise",
    "unbracketed",
]

Array = np.ndarray[Any, Any]
#: Entries that pass the screen are examined for a kink as well when their one-sided
#: slopes at ``h`` differ by this share of the gradient scale: a smooth cost's differ
#: by ``h·f''``, which at float32's step (``4.9e-3·s``) reaches 10% only where the
#: gradient changes 20 times over the entry's scale; a smaller kink with a matching
#: central difference is a bracketed value within 5% of either slope anyway.
SCREEN = 0.1
#: A jump that keeps this share of itself when the step halves is a kink (a smooth
#: cost's jump halves: share 0.5).
PERSISTS = 0.75
#: The jump must exceed this many noise-sized slope errors (``σ / (h/2)``).
JUMP_NOISE = 8.0
#: A jump at ``h`` that all but vanishes at ``h/2`` (less than this share; a smooth
#: cost keeps half, and the missing half must exceed ``JUMP_NOISE`` noise slopes) is a
#: kink between ``h/2`` and ``h`` from θ: only the outer steps reach it. Its offset is
#: taken as ``h``, so the smaller steps are ``h/ZOOM``.
BEYOND = 0.25
#: A narrower table whose values span more than this many times what the wider
#: table's steepest secant allows over its width (a continuous cost's values near θ
#: move no faster than its secants around θ, up to curvature and noise) jumps by more
#: than the cost resolves: it is below the cost's resolution, a staircase that a
#: deterministic cost repeats exactly (attack25 G10: steps of 1.4e-17 in a cost of
#: 4e-7; the narrowest tables sat on one step, read 3e-23, and right entries failed).
RESOLUTION = 2.0
#: ``|T| ≤ OFFSET_NOISE·σ`` puts the kink at θ: ``T`` sums four noisy values with
#: weights 1, 2, 2, 1 (standard deviation ``√10·σ``), so 20σ is six deviations.
OFFSET_NOISE = 20.0
#: A kink at distance ``d`` is re-examined with steps ``|d| / ZOOM`` (and half that):
#: well clear of it, yet no smaller than needed (round-off grows as ``σ/h``).
ZOOM = 4.0
#: The smaller steps stay this many times above the least step at which the jump
#: still stands out of the noise (``2·JUMP_NOISE·σ/|jump|``): a kink nearer to θ than
#: that cannot be told from one at θ, and a smaller step would not even see it.
MARGIN = 4.0
#: At most this many rounds of smaller steps; an entry still straddling a kink after
#: them is ``uncertain``.
LEVELS = 3
#: A noise table whose halves are this much smoother than the whole straddles a kink
#: at θ: for pure noise both halves' third differences would have to be under 1% of
#: their standard deviation (probability about 6e-5). One half this much rougher
#: than the other holds a kink: pure noise does that about 1.3% of the time, and
#: then pays 6 more evaluations and keeps the smaller of two valid estimates.
KINKED = 100.0
#: How much narrower each further noise table is: a kink 3 steps away falls outside.
SHRINK = 64.0
#: At most this many narrower tables (6 evaluations each); 64³ brings float64's
#: ``√u·s`` table down to ``6e-14·s``, near the parameters' own rounding.
NARROWER = 3
#: :attr:`gradcheck._compare.Comparison.nearby` once rule 5's moves ran.
RAN = "ran"


class _Estimates(NamedTuple):
    """:func:`_table_estimates`'s answer: the whole table's noise, its halves' least and most."""

    whole: float
    low: float
    high: float


def _table_estimates(values: Array) -> _Estimates:
    """The whole table's noise estimate, and the smaller and larger of its halves'."""
    whole = noise_from_table(values)
    halves = [float(abs(np.diff(v, n=3)[0])) / np.sqrt(20.0) for v in (values[:4], values[3:])]
    return _Estimates(whole, min(halves), max(halves))


def table_noise(table: Callable[[float], Array]) -> float:
    """The cost's noise (rule 6) from ``table(shrink)``: the 7 values ``J(θ + k·shrink·δ)``.

    >>> table_noise(lambda shrink: np.abs(np.arange(-3.0, 4.0)))  # a kink at θ, no noise
    0.0
    """
    best, shrink, wider = np.inf, 1.0, None
    for _ in range(NARROWER + 1):
        values = table(shrink)
        if wider is not None and below_resolution(wider, values):
            break
        whole, low, high = _table_estimates(values)
        smooth_halves = high <= KINKED * low
        if smooth_halves and whole > KINKED * high:
            return float(min(best, high))
        best = min(best, whole)
        if smooth_halves:
            break
        wider, shrink = values, shrink / SHRINK
    return float(best)


def below_resolution(wider: Array, narrower: Array) -> bool:
    """Whether ``narrower`` (``SHRINK`` times narrower than ``wider``) spans more than
    a continuous cost can: its values then sit on the steps of a staircase.

    >>> below_resolution(np.arange(7.0), np.arange(7.0) / SHRINK)
    False
    >>> below_resolution(np.arange(7.0), np.array([0.0, 0, 0, 0, 1, 1, 1]))
    True
    """
    allowed = float(np.max(np.abs(np.diff(wider)))) * (narrower.size - 1) / SHRINK
    return float(np.ptp(narrower)) > RESOLUTION * allowed


class Sites(NamedTuple):
    """What the five cost values say about kinks, per re-examined entry."""

    kink: Array  # bool: the one-sided slopes differ at every step
    #: float: the kink's estimated position relative to θ (NaN: none; 0: at θ), no
    #: nearer than ``ZOOM · MARGIN`` times the least step that still sees it
    offset: Array
    at_point: Array  # bool: a kink at θ, to within the noise
    bracketed: Array  # bool: the analytic value lies between the one-sided slopes
    off: Array  # bool: ... widened: half their spread, 0 and their sum (rule 5)
    slopes: Array  # float (n, 2): the left and right slopes at h/2


def locate(
    jp: Array,
    jm: Array,
    jp2: Array,
    jm2: Array,
    *,
    j0: float,
    h: Array,
    sigma: float | Array,
    tol: Array,
    analytic: Array,
) -> Sites:
    """Rules 1, 2 and 4 of the module doc for values at ``θ ± h`` and ``θ ± h/2``."""
    half = h / 2
    j_big, j_small = (jp - 2.0 * j0 + jm) / h, (jp2 - 2.0 * j0 + jm2) / half
    kink = (
        (np.abs(j_small) > PERSISTS * np.abs(j_big))
        & (np.abs(j_small) > JUMP_NOISE * sigma / half)
        & (np.abs(j_small) > tol)
    )
    third = jp - 2.0 * jp2 + 2.0 * jm2 - jm
    outer = (jp - jp2 - jm2 + jm) / half
    with np.errstate(divide="ignore", invalid="ignore"):
        # rule 1 sees a kink within h/2: an offset past that is no kink's (a jump of
        # the value: ``third / outer`` is ±c over noise). An infinite one (outer slopes
        # exactly equal: a float32 loss's one-quantum jump, attack21 B5) stays
        # infinite: no step can be placed clear of it.
        raw = third / outer
        offset = np.where(kink, np.where(np.isfinite(raw), np.clip(raw, -half, half), raw), np.nan)
        least = ZOOM * MARGIN * JUMP_NOISE * 2 * sigma / np.abs(j_small)
    offset = np.where(offset < 0, -1.0, 1.0) * np.maximum(np.abs(offset), least)
    at_point = kink & (np.abs(third) <= OFFSET_NOISE * sigma)
    beyond = (
        ~kink
        & (np.abs(j_small) < BEYOND * np.abs(j_big))
        & (np.abs(j_small - j_big / 2) > JUMP_NOISE * sigma / half)
        & (np.abs(j_big) > tol)
    )
    offset = np.where(beyond, h, np.where(at_point, 0.0, offset))
    # each side's slope at h/2 and extrapolated from h/2 and h (2 D(h/2) − D(h)): the
    # first is off the one-sided derivative by about (h/4)·J'' on a curved side
    slope_p, slope_m = (jp2 - j0) / half, (j0 - jm2) / half
    ext_p, ext_m = 2.0 * slope_p - (jp - j0) / h, 2.0 * slope_m - (j0 - jm) / h
    sides = np.stack([slope_p, slope_m, ext_p, ext_m])
    low, high = np.min(sides, axis=0) - tol, np.max(sides, axis=0) + tol
    bracketed = (analytic >= low) & (analytic <= high)
    # several kinks at θ (rule 5): half the spread more, and every kink off (0) or on
    more = (np.max(sides, axis=0) - np.min(sides, axis=0)) / 2
    ends = np.stack([np.zeros_like(slope_p), slope_p + slope_m, ext_p + ext_m])
    wide_low = np.minimum(low - more, np.min(ends, axis=0) - tol)
    wide_high = np.maximum(high + more, np.max(ends, axis=0) + tol)
    off = (analytic >= wide_low) & (analytic <= wide_high)
    return Sites(kink | beyond, offset, at_point, bracketed, off, np.stack([slope_m, slope_p], 1))


class Compared(Protocol):
    """What the kink rules read and write of a comparison: the fields of
    :class:`gradcheck._compare.Comparison` they use (that module calls this one, so
    this one names what it needs instead of importing it back)."""

    numeric: Array
    tolerance: Array
    fd_error: Array
    status: Array
    kink: Array
    bracketed: Array
    nearby: str

    def subset(self: _C, where: Array) -> _C:
        """The results of the entries ``where``."""
        ...

    def replace(self: _C, where: Array, other: _C) -> None:
        """Take ``other``'s results for the entries ``where``."""
        ...


_C = TypeVar("_C", bound=Compared)


def _straddled(c: Compared) -> Array:
    """Entries whose steps straddle a kink away from θ (status ``uncertain``)."""
    return np.flatnonzero(np.isfinite(c.kink) & (c.kink != 0) & (c.status == "uncertain"))


def exact_steps(theta: Array, h: Array, dtype: Any) -> Array:
    """``h`` rounded so that ``θ + h`` is representable in ``dtype`` (0 where it is not)."""
    work = np.asarray(theta, dtype=dtype)
    return np.asarray(((work + h.astype(dtype)) - work).astype(np.float64))


def resolve(comp: _C, theta: Array, dtype: Any, measure: Callable[[Array, Array], _C]) -> _C:
    """Rule 3: re-examine straddled kinks with steps that stay clear of them.

    Args:
        comp: the comparison of some entries of one parameter.
        theta: those entries' values.
        dtype: the parameter's dtype (steps must be representable in it).
        measure: ``measure(k, h)`` compares the entries at positions ``k`` of ``comp``
            with steps ``h``.

    Returns:
        A new comparison; entries still straddling a kink stay ``uncertain``.
    """
    out = comp.subset(np.arange(comp.status.size))
    todo = _straddled(out)
    for _ in range(LEVELS):
        if not todo.size:
            break
        h = exact_steps(theta[todo], np.abs(out.kink[todo]) / ZOOM, dtype)
        at = todo[h == 0]  # within spacings of θ: at θ for every step (σ = 0, H43)
        out.status[at], out.kink[at] = "nonsmooth", 0.0
        todo = todo[h > 0]
        if not todo.size:
            break
        again = measure(todo, h[h > 0])
        after = todo[_straddled(again)]
        lost = np.isnan(again.kink) & (again.status == "uncertain")
        again.kink[lost] = out.kink[todo[lost]]  # still a kink entry, for rule 5
        out.replace(todo, again)
        todo = after
    return out


def messages(name: str, c: Compared) -> list[str]:
    """The report's lines about ``name``'s kinks (rules 4 and 5); empty when it has none."""
    at = c.status == "nonsmooth"
    n = int(np.count_nonzero(at))
    loose = int(np.count_nonzero(at & ~c.bracketed))
    lines = []
    if n:
        text = (
            f"{name}: {n} entries sit at a kink (one-sided derivatives differ); they are "
            "kept out of the verdict"
        )
        if loose:
            text += (
                f"; {loose} of them lie outside their one-sided slopes, which finite "
                "differences at this point cannot judge (several kinks meeting here, such "
                "as samples' ReLU pre-activations at exactly 0, can put the framework's "
                f"convention there, and so can a wrong gradient): {_unjudged(name, c)}"
            )
        lines.append(text)
    if c.nearby not in ("", RAN) and not loose:
        lines.append(f"{name}: could not re-check its kink entries at a nearby point: {c.nearby}")
    return lines


def _unjudged(name: str, c: Compared) -> str:
    """What rule 5 did about kink entries outside their slopes."""
    if c.nearby == RAN:
        return (
            "re-checked at nearby smooth points, they still sat at a kink at every one "
            f"(see {name}'s re-check note), or agreed there, which says nothing of "
            "their value at this point"
        )
    if c.nearby:
        return f"re-checking them at a nearby smooth point failed: {c.nearby}"
    return (
        "grad was given as values, so they were not re-checked at a nearby smooth point; "
        "pass grad as a function to do that"
    )


def unbracketed(c: Compared) -> int:
    """How many entries sit at a kink with the analytic value outside its slopes."""
    return int(np.count_nonzero((c.status == "nonsmooth") & ~c.bracketed))
