"""Random-projection (directional) checks: a verdict whose cost does not grow with N.

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

**One tolerance.** The verdict's directions are all judged against the largest of
their tolerances, ``τ_max``: the tolerance the guarantee below is computed from, so
that "a mismatch beyond the stated tolerance" and the stated detectable error are
one statement.

**Directions.** ``v = ⊕_p c_p · s_p ⊙ z_p`` with ``z ~ N(0, I)``, ``s`` the per-entry
scale of the step rule (``max(|θ_i|, rms θ)``) and ``c_p = G_ref / G_p``,
``G_p = ‖s_p ⊙ g_p‖``, ``G_ref = max(min_p G_p, CLIP · max_p G_p)``: every parameter
contributes equally to ``a`` (a bias is not drowned by a large weight matrix), and
``S = √(Σ_p c_p² G_p²)``.

**Guarantee.** Let ``ε = g − ∇J`` be the gradient's error. The mismatch is
``εᵀv + f`` where ``f`` is the finite-difference error; ``εᵀv ~ N(0, Σ_p c_p²
‖s_p ⊙ ε_p‖²)``. A centred Gaussian puts the most mass on a centred interval
(Anderson's inequality), so whatever ``f`` is, one direction misses with probability
at most ``erf(τ / (√2 · std))``, and ``K`` independent directions with probability at
most ``erf(τ_max / (√2 · std))^K``. So a parameter whose relative error
``ρ_p = ‖s_p ⊙ ε_p‖ / ‖s_p ⊙ g_p‖`` is at least

    ρ_p* = τ_max / (√2 · c_p G_p · erfinv(δ^(1/K)))

is caught with probability at least ``1 − δ``. (The argument treats ``f`` as fixed
given the error's projection; ``tests/test_directional.py`` checks the stated bound
against the empirical miss rate.) This is the random-projection test of Freivalds'
algorithm applied to the gradient (and the idea behind torch's ``fast_mode``), with a
stated miss probability instead of a fixed tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gradcheck import _flatness as flatness
from gradcheck import _kinks as kinks
from gradcheck._evaluate import Delta, Evaluator
from gradcheck._norms import noise_from_table, norm2
from gradcheck._numerics import EXACT_LEAST, NORM2_SQUARES_SAFE, SAFETY
from gradcheck._steps import entry_scale
from gradcheck._tolerances import default_rtol, resolution, unit_roundoff

__all__ = [
    "CLIP",
    "DIRECTIONS",
    "MISS_PROBABILITY",
    "STEP_EXPONENT",
    "Directional",
    "Probe",
    "Prober",
    "Segment",
    "detectable",
    "directional",
    "effective_roundoff",
    "erfinv",
]

Array = np.ndarray[Any, Any]
#: ``(leaf, start, stop)``: a flat index range of one parameter.
Segment = tuple[int, int, int]
#: Directions of the verdict: 2 × 4 evaluations + 2 at the unperturbed point = 10.
DIRECTIONS = 2
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
#: Default ``δ`` of the stated guarantee: 1 in 1000 checks may miss an error of the
#: stated size.
MISS_PROBABILITY = 1e-3
#: Largest ratio of parameter weights ``c_p``: a parameter with a 10⁻³ times smaller
#: gradient than the largest one is still weighted up, one smaller still is not (its
#: step would swamp the others').
CLIP = 1e-3
_TINY = float(np.finfo(np.float64).tiny)


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


def erfinv(y: float) -> float:
    """The inverse of :func:`math.erf` on [0, 1), by bisection (NumPy has none).

    >>> round(erfinv(math.erf(0.5)), 12)
    0.5
    """
    lo, hi = 0.0, 10.0
    for _ in range(64):  # 10 / 2⁶⁴ ≈ 5e-19: below the spacing of doubles near the root
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erf(mid) < y else (lo, mid)
    return (lo + hi) / 2


def detectable(tau_over_std: float, directions: int, miss: float) -> float:
    """The relative error caught with probability ``1 − miss`` (module doc's ρ*).

    Args:
        tau_over_std: the tolerance divided by the projection's spread per unit
            relative error (``τ / (c_p G_p)``).
        directions: independent directions ``K``.
        miss: the allowed miss probability ``δ``.

    >>> round(detectable(1e-3, 2, 1e-3), 4)
    0.0252
    """
    return tau_over_std / (math.sqrt(2.0) * erfinv(miss ** (1.0 / directions)))


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
    direction: tuple[Array, ...]  # the direction's values on each segment
    step: float  # h
    screen: float  # the tolerance's rtol part, rtol·(S + max(|a|, |R|))
    #: the cost has a kink within the steps along the direction (``gradcheck._kinks``
    #: rules 1 and 2: its one-sided slopes differ as much at ``h/2`` as at ``h``)
    kink: bool = False
    #: the values are 0 or at least ``EXACT_LEAST``: an exact zero there is evidence
    resolved: bool = True
    #: the noise floor ``σ`` may not go below (``u·|J|``, the prober's ``noise_floor``)
    floor: float = 0.0

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


def _tolerance(screen: float, err: float, sigma: float, h: float) -> float:
    """``τ = rtol·(S + max(|a|, |R|)) + SAFETY·e + 6σ/h`` (module doc)."""
    return screen + SAFETY * err + 6.0 * sigma / h  # 6σ/h: 3 std of R's noise (1.9 σ/h)


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
        self.roundoff = max(unit_roundoff(d) for d in self.dtypes) if roundoff is None else roundoff
        self.noise_floor = 0.0
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
        dirs, a, spread, vmax = [], 0.0, 0.0, 0.0
        for leaf, lo, hi in segments:
            c = 1.0 if weights is None else weights[leaf]
            if along is not None:
                z = along[leaf][lo:hi]
            else:
                assert rng is not None
                # Drawn in float32: half the fresh memory of float64 (the draws are a third
                # of a check's time at N = 10⁶), Gaussian to about 1e-7, widened below.
                z = rng.standard_normal(hi - lo, dtype=np.float32)
            zmax = max(float(z.max()), -float(z.min())) if z.size else 0.0
            v = np.multiply(z, self.scale[leaf][lo:hi], dtype=np.float64)
            if c != 1.0:
                v *= c
            dirs.append(v)
            a += float(self.g[leaf][lo:hi] @ v)
            spread = math.hypot(spread, c * self.norm(leaf, lo, hi))  # S, never overflowing
            vmax = max(vmax, c * zmax)
        rel = max(_relative_step(self.dtypes[s[0]]) for s in segments)
        h = rel / max(vmax / 3.0 if vmax > 0 else 1.0, 1e-300)  # largest entry moves ~3·rel·s
        full, half, start = [], [], 0  # ±h·v and ±h·v/2 (halving is exact), in _work
        for v in dirs:
            hv = np.multiply(v, h, out=self._work[start : start + v.size])
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
        rtol = self.rtol
        if rtol is None:
            rtol = max(default_rtol(self.dtypes[s[0]], "richardson") for s in segments)
        screen = rtol * (spread + max(abs(a), abs(numeric)))
        tol = _tolerance(screen, err, sigma, h)
        mags = np.abs(table)
        # the kink test's noise is the values' rounding: ECnoise's fourth difference
        # of a table across a kink is the kink's own 2·(h/2)·jump, not noise
        site = kinks.locate(
            *(np.array([x]) for x in (jp, jm, jp2, jm2)),
            j0=self.j0,
            h=np.array([h]),
            sigma=floor,
            tol=np.array([tol]),
            analytic=np.array([a]),
        )
        return Probe(
            tuple(segments),
            a,
            numeric,
            err,
            tol,
            sigma,
            abs(a - numeric) > tol,
            tuple(dirs),
            h,
            screen,
            kink=bool(site.kink[0]),
            resolved=bool(np.all((mags == 0) | (mags >= EXACT_LEAST))),
            floor=floor,
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
        return replace(p, noise=sigma).judged(sigma)


@dataclass(frozen=True)
class Directional:
    """The directional verdict: probes, per-parameter detectable errors, the text."""

    probes: tuple[Probe, ...]
    weights: dict[int, float]
    bounds: list[float]  # ρ_p* per parameter (inf where G_p = 0)
    bound: float  # the largest finite ρ_p*
    miss: float
    text: str
    #: parameters whose gradient is exactly 0 against differences of exactly 0
    exact: frozenset[int] = frozenset()
    #: the whole gradient is exactly 0, and so are the differences, but the cost is not
    #: flat (``gradcheck._flatness``): no verdict, ``text`` says why
    unresolved: bool = False
    #: where every disagreement was across a kink: one probe of each parameter alone
    #: (a ReLU net's output layer is smooth where its hidden layers have kinks)
    alone: tuple[Probe, ...] = ()

    @property
    def wrong(self) -> bool:
        """Whether any direction disagrees where the cost is smooth along it."""
        return any(p.wrong and not p.kink for p in (*self.probes, *self.alone))

    @property
    def kinked(self) -> bool:
        """Whether a direction disagrees across a kink of the cost (and none where it
        is smooth): the claim is a one-sided or a chosen slope there (ReLU's 0 at 0,
        the first of tied maxima), which a single direction cannot judge."""
        return not self.wrong and any(p.wrong and p.kink for p in self.probes)


_ZERO = (
    "the gradient is exactly 0, and the cost is exactly 0 at every step (exact agreement; "
    "a relative error is not defined for a zero gradient)"
)


def directional(
    prober: Prober,
    names: list[str],
    rng: np.random.Generator,
    miss: float,
    directions: int = DIRECTIONS,
) -> Directional:
    """Run the verdict's ``directions`` probes over every parameter (module doc)."""
    sizes = [g.size for g in prober.g]
    norms = [prober.norm(i) for i in range(len(sizes))]
    gmax = max(norms)
    ref = max(min(norms), CLIP * gmax) if gmax > 0 else 1.0
    weights = {i: (ref / n if n > ref else 1.0) for i, n in enumerate(norms)}
    segments = tuple((i, 0, n) for i, n in enumerate(sizes) if n)
    first = [prober.probe(segments, rng, weights) for _ in range(directions)]
    first = [prober.unkinked(p) if p.kink else p for p in first]
    sigma = max(p.noise for p in first)
    tau = max(p.judged(sigma).tolerance for p in first)
    probes = tuple(p.judged(sigma, tau) for p in first)
    prober.noise_floor = max(prober.noise_floor, sigma)
    bounds = [
        detectable(tau / (weights[i] * n), directions, miss) if n > 0 else math.inf
        for i, n in enumerate(norms)
    ]
    finite = [b for b in bounds if math.isfinite(b)]
    bound = max(finite) if finite else math.inf
    if gmax == 0 and all(flatness.exact_probe(p) for p in probes):
        if all(p.noise == 0 for p in probes):  # values all 0: as the entrywise rule
            return Directional(probes, weights, bounds, bound, miss, _ZERO, frozenset(weights))
        # |∇J·v| ≤ R along each probe's v = s⊙z; d = s⊙z' is as likely to meet ∇J:
        # 3 standard deviations of that chance
        hidden = 3.0 * max(p.resolution for p in probes)
        flat = flatness.probe_flat(prober.ev, prober.scale, prober.j0, rng, lambda d: hidden)
        prober.evaluations += flat.evaluations
        text = f"{directions} random directions: " + flatness.flat_note(flat, hidden, "s")
        flat_ok = flat.settled
        exact = frozenset(weights) if flat_ok else frozenset()
        return Directional(probes, weights, bounds, bound, miss, text, exact, not flat_ok)
    text = (
        f"{directions} random directions: a relative gradient error of {bound:.2g} or more "
        f"in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry scale) is caught with "
        f"probability ≥ {1 - miss:.4g}"
    )
    quiet = gmax > 0 and not any(p.wrong for p in probes)  # else localisation judges them
    exact = flatness.zero_parameters(prober, norms, rng) if quiet else frozenset()
    alone: tuple[Probe, ...] = ()
    if (
        len(segments) > 1
        and any(p.wrong for p in probes)
        and all(p.kink for p in probes if p.wrong)
    ):
        alone = tuple(prober.probe((s,), rng).judged(sigma) for s in segments)
    return Directional(probes, weights, bounds, bound, miss, text, exact, alone=alone)
