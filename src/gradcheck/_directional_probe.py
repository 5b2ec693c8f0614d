"""One directional comparison: a probe along a direction ``v`` on some parameters.

For a direction ``v`` the analytic directional derivative is ``a = gᵀv``; the
numerical one is the Richardson extrapolation ``R = (4 C(h/2) − C(h)) / 3`` of the
central differences ``C(t) = (J(θ+tv) − J(θ−tv)) / 2t`` — four evaluations per
direction. Its error is estimated by ``e = |R − C(h/2)|``, the cost's noise ``σ`` by
ECnoise on the five equally spaced values ``J(θ + k h/2 v)``, ``k = −2..2``
(``gradcheck._norms.noise_from_table``), and the mismatch is accepted when
``|a − R| ≤ τ = rtol·(S + max(|a|, |R|)) + SAFETY·e + 6σ/h`` with ``S`` the spread of
``a`` (below) — the same rule as the per-entry one in ``gradcheck._compare``.

**Round-off floors.** Five values give a single fourth difference, so ECnoise's ``σ``
from one direction is a one-sample estimate: it is 0 whenever the five values happen
to lie on a cubic to the last bit (a float64 MLP's loss does this in about one
direction in ten). So ``σ`` is floored at ``u·|J|``, the rounding of the cost's own
value (as the entrywise path does, ``gradcheck._precision.cost_noise``), and the verdict
judges every direction with the largest ``σ`` of its directions. When ``C(h)`` and
``C(h/2)`` round to the same value, ``e`` is 0 but the tolerance no longer collapses:
equal quotients mean that ``C(h/2)``'s truncation error is below the quotients'
round-off (``|C(h/2) − C(h)|`` carries up to ``1.5 ulp/h`` of rounding), ``R``'s is far
below ``C(h/2)``'s, and ``R``'s own rounding (at most ``1.5 ulp/h``, ``ulp ≤ u·|J|``) is
covered four times by ``6σ/h ≥ 6u·|J|/h``. A separate floor on ``e`` (at its
round-off, ``σ/2h``) was measured to add nothing but a 1.4 times looser stated bound.
Without the floor on ``σ`` a correct float64 MLP with 10⁶ parameters (issue 11) failed
in 2 to 6 seeds of 12; with it, the largest mismatch over 60 seeds is 0.18 of ``τ``.

**Kinks.** The five values also say whether the direction straddles a kink of the
cost (``gradcheck._kinks`` rules 1 and 2: the one-sided slopes differ as much at
``h/2`` as at ``h``), or kinks at and off θ together (the jump neither stays nor halves).
That test reads as little as it can measured across the kink: its noise is ECnoise's
``σ`` up to ``KINKED`` times the values' rounding, and its tolerance the screen and
``6σ/h`` (:func:`_kinked`); a probe across a kink measures its noise again from a table
whose halves a kink at θ leaves smooth (:meth:`Prober.unkinked`) and stays kinked (a
table across many kinks off θ is rough in both halves, and its ``σ`` would hide them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from gradcheck import _kinks as kinks
from gradcheck._evaluate import Delta, Evaluator
from gradcheck._norms import noise_from_table, norm2
from gradcheck._numerics import CLAIM_ROUNDOFFS, EXACT_LEAST, NORM2_SQUARES_SAFE, SAFETY
from gradcheck._steps import entry_scale
from gradcheck._tolerances import default_rtol, resolution, unit_roundoff

__all__ = ["STEP_EXPONENT", "Probe", "Prober", "Segment", "claim_roundoff", "effective_roundoff"]

Array = np.ndarray[Any, Any]
#: ``(leaf, start, stop)``: a flat index range of one parameter.
Segment = tuple[int, int, int]
#: The step exponent per precision: ``h ~ u^p`` times the entry scale. The tolerance
#: rests on ``e = |R − C(h/2)|``, the error of the second-order ``C(h/2)``, plus the
#: noise term ``6σ/h``. In float64 the noise is tiny and truncation dominates, so the
#: central-difference step ``u^(1/3)`` minimises the tolerance (``e ~ u^(2/3)``); on
#: ``Σ sin θ`` with N = 10⁶ it tightens the stated detectable error from 4e-5 (with
#: ``u^(1/5)``) to 1e-7, enough to see one entry off by 1e-3 among a million in every
#: seed tried. In float32 and below the cost's rounding noise dominates and the larger
#: step ``u^(1/5)`` (R's own optimum, order 4) keeps ``6σ/h`` small: with ``u^(1/3)``
#: a float32 MLP's stated bound grows to 0.9 (inconclusive), with ``u^(1/5)`` it is 0.16.
STEP_EXPONENT = {8: 1 / 3, 4: 1 / 5, 2: 1 / 5}
_TINY = float(np.finfo(np.float64).tiny)
_U32 = unit_roundoff(np.float32)
#: The claim's rounding at least, an entry: float64's smallest subnormal (half of it, the
#: rounding, is no float64 number) and half float32's.
_HALF_SUB64 = 2.0**-1074
_HALF_SUB32 = 2.0**-150
#: How many leading entries :func:`_all_in` tests before the whole array.
_PREFIX = 64


def _relative_step(dtype: Any) -> float:
    exponent = STEP_EXPONENT.get(np.dtype(dtype).itemsize, 1 / 5)
    return float(unit_roundoff(dtype) ** exponent)


def effective_roundoff(values: Array, u: float) -> float:
    """The round-off the cost's values show: ``u``, or a coarser dtype's they fit exactly.

    A cost computed in float32 and returned as a Python float (``float(x.sum())``,
    torch's ``.item()``) gives float64 values that are all exactly float32 numbers; a
    float64 computation gives one with probability 2⁻²⁹ per value. Its rounding is
    float32's, whatever dtype it is returned in: the noise floor must use that. Values
    that are all equal say nothing about their precision (``u`` is kept).

    >>> effective_roundoff(np.array([0.5, 1.25]), 2.0**-52) == unit_roundoff(np.float16)
    True
    >>> effective_roundoff(np.array([0.1, 1.25]), 2.0**-52)
    2.220446049250313e-16
    """
    if not np.ptp(values) > 0:
        return u
    for dtype in (np.float16, np.float32):
        eps = unit_roundoff(dtype)
        with np.errstate(over="ignore"):
            fits = bool(np.all(values.astype(dtype).astype(values.dtype) == values))
        if eps > u and fits:
            return eps
    return u


class Drawn(NamedTuple):
    """A direction on one segment as drawn, ``c·(z ⊙ s)``: kept instead of its float64
    values, which the probe needs only in the prober's work space (a fresh N-array per
    probe cost ~190 page faults per 10⁵ entries, every check) and a kink's table or
    localisation's diagnosis recompute."""

    z: Array
    scale: Array
    c: float = 1.0

    def values(self, out: Array | None = None) -> Array:
        """``c·(z ⊙ s)`` in float64 (into ``out`` when given), bit for bit the values the
        probe stepped along."""
        v = np.multiply(self.z, self.scale, out=out, dtype=np.float64)
        if self.c != 1.0:
            v *= self.c
        return v


@dataclass(frozen=True)
class Probe:
    """One directional comparison: analytic ``a``, numerical ``numeric``, its error."""

    segments: tuple[Segment, ...]
    analytic: float
    numeric: float
    fd_error: float
    tolerance: float
    noise: float
    wrong: bool
    drawn: tuple[Drawn, ...]  # the direction on each segment (:attr:`direction`)
    step: float  # h
    screen: float  # the tolerance's rtol part, rtol·(S + max(|a|, |R|))
    #: the cost has a kink within the steps along the direction (``gradcheck._kinks``
    #: rules 1 and 2: its one-sided slopes differ as much at ``h/2`` as at ``h``)
    kink: bool = False
    #: the values are 0 or at least ``EXACT_LEAST``: an exact zero there is evidence
    resolved: bool = True
    #: the noise floor ``σ`` may not go below (``u·|J|``, the prober's ``noise_floor``)
    floor: float = 0.0
    #: ``J(θ+hv), J(θ−hv), J(θ+hv/2), J(θ−hv/2)`` and ``J0``: the kink test is taken
    #: again from them once the noise is measured where a kink cannot pass for it
    values: tuple[float, ...] = ()

    @property
    def direction(self) -> tuple[Array, ...]:
        """The direction's values on each segment (float64, computed afresh)."""
        return tuple(d.values() for d in self.drawn)

    @property
    def resolution(self) -> float:
        """The largest ``|∇J·v|`` that differences of exactly 0 here leave possible."""
        return float(resolution(self.noise, self.step))

    def judged(self, noise: float, tolerance: float | None = None) -> Probe:
        """This probe with the cost's noise ``σ`` raised to ``noise`` (never lowered).

        Its tolerance is recomputed with that ``σ`` and then, when ``tolerance`` is
        given, replaced by it (the verdict's common ``τ_max``).
        """
        sigma = max(self.noise, noise)
        tol = _tolerance(self.screen, self.fd_error, sigma, self.step)
        if tolerance is not None:
            tol = max(tol, tolerance)
        wrong = abs(self.analytic - self.numeric) > tol
        return replace(self, noise=sigma, tolerance=tol, wrong=wrong)


def claim_roundoff(g: Array, leaf: Array) -> float:
    """float32's unit round-off where a float64 parameter ``leaf`` (some entry no float32
    number) has a gradient ``g`` of float32 numbers, not all of them float16 ones (a
    float64 computation gives a float32 number with probability 2⁻²⁹ an entry; integer
    or simple gradients, ``2·θ`` of float32 data, are float64's), else 0: the claim's own
    rounding, which its directional derivative sums
    (:data:`~gradcheck._numerics.CLAIM_ROUNDOFFS`, attack35 H141)."""
    if leaf.real.dtype.itemsize <= 4 or not g.size or _all_in(leaf.real, np.float32):
        return 0.0
    return _U32 if _all_in(g, np.float32) and not _all_in(g, np.float16) else 0.0


def _all_in(values: Array, dtype: Any) -> bool:
    """Whether every entry of ``values`` is exactly a number of ``dtype`` (the first
    :data:`_PREFIX` first: a float64 computation's values fail there, sparing the full
    pass and its two temporaries)."""
    with np.errstate(over="ignore"):
        for part in (values[:_PREFIX], values):
            if not np.all(part.astype(dtype).astype(np.float64) == part):
                return False
    return True


def _tolerance(screen: float, err: float, sigma: float, h: float) -> float:
    """``τ = rtol·(S + max(|a|, |R|)) + SAFETY·e + 6σ/h`` (module doc)."""
    return screen + SAFETY * err + 6.0 * sigma / h  # 6σ/h: 3 std of R's noise (1.9 σ/h)


def _kinked(values: tuple[float, ...], h: float, sigma: float, tol: float, a: float) -> bool:
    """Whether a probe's values straddle a kink (``gradcheck._kinks`` rules 1 and 2).

    ``sigma`` and ``tol`` must not hold anything measured across the kink itself: the
    tolerance is the screen and ``6σ/h``, without ``SAFETY·e`` (``e = |R − C(h/2)|`` is
    the kink's own where one lies between ``h/2`` and ``h``), and ECnoise's fourth
    difference of a table across a kink is the kink's own ``2·(h/2)·jump``, so its
    ``σ`` is taken only up to ``KINKED`` times the values' rounding; a
    tolerance grown by either hides the jump that made it (attack26 H22: five
    tied maxima stated a detectable error of 0.36 instead of 5e-7 and passed a
    gradient 3.5% off; H32: a clip bound 9e-6 from θ raised the noise floor a million
    times, and a kink entry judged with it failed).
    """
    jp, jm, jp2, jm2, j0 = values
    site = kinks.locate(
        *(np.array([x]) for x in (jp, jm, jp2, jm2)),
        j0=j0,
        h=np.array([h]),
        sigma=sigma,
        tol=np.array([tol]),
        analytic=np.array([a]),
    )
    # A smooth cost's jump halves with the step (``jump(s) = s·J''`` up to ``s³``); one
    # that neither stays nor vanishes but departs from half by more than the noise and
    # the tolerance is kinks at and off θ together (five ties at θ and a near-tie
    # 1e-5 away: attack26 H22), which rules 1 and 2 alone call smooth.
    big, small = (jp - 2.0 * j0 + jm) / h, (jp2 - 2.0 * j0 + jm2) / (h / 2)
    off = abs(small - big / 2)
    irregular = off > kinks.JUMP_NOISE * sigma / (h / 2) and off > tol
    return bool(site.kink[0]) or irregular


class Prober:
    """Runs directional comparisons on sub-ranges of the parameters.

    Args:
        ev: the evaluator.
        leaves: private parameter copies.
        analytic: the supplied gradient, flattened per parameter (float64).
        j0: the cost at the unperturbed point.
        rtol: screening tolerance; ``None`` for the dtype's default.
        roundoff: the unit round-off ``u`` of the cost's values (the noise floor is
            ``u·|J|``); ``None`` for the largest of the parameters' dtypes.
        work: the dtype the cost computes in, where it is coarser than a parameter's
            (float32 inside a float64 cost, ``gradcheck._precision``): it sets that
            parameter's step and default tolerance.
        scales: the leaves' entry scales (``gradcheck._steps.entry_scale``, flat),
            where the caller has computed them already; only read.
        claim_u: the claim's own unit round-off where the caller knows it (``uᵀJ`` of
            a Jacobian of float32 numbers: ``gradcheck._jacclaims``), else 0.

    Attributes:
        noise_floor: the smallest ``σ`` a probe uses: ``u·|J|``, raised by the verdict
            to its own noise estimate so that localisation's probes do not judge with
            less noise than the verdict saw.
    """

    def __init__(
        self,
        ev: Evaluator,
        leaves: list[Array],
        analytic: list[Array],
        j0: float,
        rtol: float | None,
        roundoff: float | None = None,
        work: Any = None,
        scales: list[Array] | None = None,
        claim_u: float = 0.0,
    ) -> None:
        self.ev, self.j0 = ev, j0
        self.g = [np.asarray(a, dtype=np.float64).reshape(-1) for a in analytic]
        if scales is None:
            scales = [entry_scale(leaf.reshape(-1)) for leaf in leaves]
        self.scale = scales
        self.dtypes = [leaf.real.dtype for leaf in leaves]
        if work is not None:
            self.dtypes = [min(d, np.dtype(work), key=lambda t: t.itemsize) for d in self.dtypes]
        self.rtol = rtol
        #: The claim's own round-off per parameter (:func:`claim_roundoff`).
        self.claim_u = [
            max(claim_roundoff(g, leaf.reshape(-1)), claim_u) for g, leaf in zip(self.g, leaves)
        ]
        #: Half the claim's smallest spacing where it has entries below its dtype's smallest
        #: normal (subnormal, or underflowed to 0): each carries that much rounding at
        #: least, relative to nothing (attack36 H162), else 0.
        self.claim_floor = [
            (_HALF_SUB32 if cu else _HALF_SUB64) if g.size and np.min(np.abs(g)) < _TINY else 0.0
            for g, cu in zip(self.g, self.claim_u)
        ]
        self.roundoff = max(unit_roundoff(d) for d in self.dtypes) if roundoff is None else roundoff
        self.noise_floor = 0.0
        #: The steps' factor: 1, or ``STEP_RETRY`` for a verdict taken again at smaller
        #: steps where truncation set its bound (``gradcheck._directional_check``).
        self.shrink = 1.0
        self.evaluations = 0
        self._norms: dict[tuple[int, int, int | None], float] = {}
        #: Work space for the steps ``h·v`` and ``h·v/2`` of one probe, reused by every
        #: probe: at N = 10⁶ each fresh 8 MB array costs about 1 ms in page faults.
        self._work = np.empty(2 * sum(g.size for g in self.g))

    def norm(self, leaf: int, lo: int = 0, hi: int | None = None) -> float:
        """``‖s ⊙ g‖`` over a range of one parameter (remembered: probes repeat ranges)."""
        key = (leaf, lo, hi if hi is not None and hi < self.g[leaf].size else None)
        if key not in self._norms:
            g = self.g[leaf][lo:hi]
            sg = np.multiply(self.scale[leaf][lo:hi], g, out=self._work[: g.size])
            with np.errstate(over="ignore", under="ignore"):
                squares = float(sg @ sg)  # unless over/underflowed (1e±200: attack20 A14, A16)
            fast = NORM2_SQUARES_SAFE**2 <= squares < math.inf
            self._norms[key] = math.sqrt(squares) if fast else norm2(sg)
        return self._norms[key]

    def probe(
        self,
        segments: tuple[Segment, ...],
        rng: np.random.Generator | None,
        weights: dict[int, float] | None = None,
        along: dict[int, Array] | None = None,
    ) -> Probe:
        """Compare along a random direction on ``segments`` (or along ``along``)."""
        weight = {s[0]: 1.0 if weights is None else weights[s[0]] for s in segments}
        spread = 0.0  # S, never overflowing; before the loop below fills the work space
        for leaf, lo, hi in segments:  # (a norm's first use takes it as scratch)
            spread = math.hypot(spread, weight[leaf] * self.norm(leaf, lo, hi))
        drawn, dirs, vnorms, a, vmax, start = [], [], [], 0.0, 0.0, 0
        for leaf, lo, hi in segments:
            c = weight[leaf]
            if along is not None:  # a copy: a caller may reuse its array (_kinksearch)
                z = np.array(along[leaf][lo:hi])
            else:
                assert rng is not None
                # Drawn in float32: half the fresh memory of float64 (the draws are a third
                # of a check's time at N = 10⁶), Gaussian to about 1e-7, widened below.
                z = rng.standard_normal(hi - lo, dtype=np.float32)
            zmax = max(float(z.max()), -float(z.min())) if z.size else 0.0
            drawn.append(Drawn(z, self.scale[leaf][lo:hi], c))
            # the values in the work space, where ``h·v`` replaces them below
            v = drawn[-1].values(out=self._work[start : start + hi - lo])
            dirs.append(v)
            start += 2 * (hi - lo)
            vnorms.append(norm2(v) if self.claim_floor[leaf] > 0 else 0.0)
            a += float(self.g[leaf][lo:hi] @ v)
            vmax = max(vmax, c * zmax)
        rel = self.shrink * max(_relative_step(self.dtypes[s[0]]) for s in segments)
        h = rel / max(vmax / 3.0 if vmax > 0 else 1.0, 1e-300)  # largest entry moves ~3·rel·s
        full, half, start = [], [], 0  # ±h·v and ±h·v/2 (halving is exact), in _work
        for v in dirs:
            hv = np.multiply(v, h, out=v)
            full.append(hv)
            half.append(np.multiply(hv, 0.5, out=self._work[start + v.size : start + 2 * v.size]))
            start += 2 * v.size
        points = [
            tuple(Delta(s[0], slice(s[1], s[2]), hv, t) for s, hv in zip(segments, vs))
            for vs, t in ((full, 1.0), (full, -1.0), (half, 1.0), (half, -1.0))
        ]
        jp, jm, jp2, jm2 = (float(x) for x in np.real(self.ev(points)))
        self.evaluations += 4
        c1, c2 = (jp - jm) / (2 * h), (jp2 - jm2) / h
        numeric = (4 * c2 - c1) / 3
        err = abs(numeric - c2)
        table = np.array([jm, jm2, self.j0, jp2, jp])
        u = effective_roundoff(table, self.roundoff)
        top = float(np.max(np.abs(table)))
        if top < _TINY and (top > 0 or a != 0):  # subnormal values round by u·tiny, not
            top = _TINY  # u·|J| (which underflows to 0): ``_compare.value_noise``
        floor = max(self.noise_floor, u * top)
        sigma = max(noise_from_table(table), floor)
        # the kink test's noise: ECnoise's where it is near the values' rounding (a sum
        # of many terms rounds by several u·|J|), at most KINKED times that rounding (a
        # kink in the table makes its own σ); beyond, ``unkinked`` measures it again
        quiet = min(sigma, kinks.KINKED * floor)
        rtol = self.rtol
        if rtol is None:
            rtol = max(default_rtol(self.dtypes[s[0]], "richardson") for s in segments)
        screen = rtol * (spread + max(abs(a), abs(numeric)))
        screen += CLAIM_ROUNDOFFS * max(self.claim_u[s[0]] for s in segments) * spread
        floors = [(self.claim_floor[s[0]], n) for s, n in zip(segments, vnorms)]
        if any(f > 0 for f, _ in floors):  # the claim's absolute rounding, summed by a
            screen += CLAIM_ROUNDOFFS * norm2(np.array([f * n for f, n in floors]))
        tol = _tolerance(screen, err, sigma, h)
        mags = np.abs(table)
        values = (jp, jm, jp2, jm2, self.j0)
        return Probe(
            tuple(segments),
            a,
            numeric,
            err,
            tol,
            sigma,
            abs(a - numeric) > tol,
            tuple(drawn),
            h,
            screen,
            kink=_kinked(values, h, quiet, screen + 6.0 * quiet / h, a),
            resolved=bool(np.all((mags == 0) | (mags >= EXACT_LEAST))),
            floor=floor,
            values=values,
        )

    def unkinked(self, p: Probe) -> Probe:
        """``p`` with its noise measured again where a kink cannot pass for it.

        ``p``'s five values straddle a kink (``p.kink``): their fourth difference is
        the kink's, and ``6σ/h`` then covers the kink's own mismatch and any gradient
        error below it (attack24 F7: five ReLUs at 0 among 20000 entries stated 0.36
        instead of 1e-7, and passed an entry off by 100%). ``_kinks`` rule 6 measures
        the noise along ``p``'s direction from a 7-value table whose halves a kink at θ
        leaves smooth (6 evaluations, more if a kink lies off θ).
        """
        step = p.step / 2

        def table(shrink: float) -> Array:
            points = [
                tuple(
                    Delta(s[0], slice(s[1], s[2]), v, k * shrink * step)
                    for s, v in zip(p.segments, p.direction)
                )
                for k in (-3, -2, -1, 1, 2, 3)
            ]
            self.evaluations += 6
            values = np.real(self.ev(points)).astype(np.float64)
            return np.insert(values, 3, self.j0)

        sigma = max(kinks.table_noise(table), p.floor)
        # the kink stays: a table across many kinks off θ (30 entries 1e-7 from one,
        # attack28 H63) is rough in both halves too, and its σ would hide them again
        return replace(p, noise=sigma).judged(sigma)
