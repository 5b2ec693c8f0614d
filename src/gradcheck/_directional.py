"""Random-projection (directional) checks: a verdict whose cost does not grow with N.

The verdict compares the gradient with the cost's slope along a few random
directions ``v``, each a probe of ``gradcheck._directional_probe``: the analytic
directional derivative ``a = gᵀv`` against the Richardson extrapolation ``R`` of
central differences along ``v``, accepted when ``|a − R| ≤ τ = rtol·(S + max(|a|,
|R|)) + SAFETY·e + 6σ/h`` (that module's doc: the error ``e``, the noise ``σ`` and
their floors).

**One tolerance.** The verdict's directions are all judged against the largest of
their tolerances, ``τ_max``: the tolerance the guarantee below is computed from, so
that "a mismatch beyond the stated tolerance" and the stated detectable error are
one statement.

**Directions.** ``v = ⊕_p c_p · s_p ⊙ z_p`` with ``z ~ N(0, I)``, ``s`` the per-entry
scale of the step rule (``max(|θ_i|, rms θ)``) and ``c_p = G_ref / G_p``,
``G_p = ‖s_p ⊙ g_p‖``, ``G_ref = max(min_p G_p, CLIP · max_p G_p)``: every parameter
contributes equally to ``a`` (a bias is not drowned by a large weight matrix), and
``S = √(Σ_p c_p² G_p²)``.

**Kinks.** Every direction spans every entry, so a kink that one probe straddles lies
within the others' steps too, where the jumps of several kinks can cancel (the probe
looks smooth) while their one-sided slopes add up in the mismatch (attack26 H32: a
right ``clip`` gradient failed). Once any probe straddles a kink, every probe is taken
as straddling it, with its noise measured where a kink cannot pass for it, and none
is evidence either way: a probe that disagrees is no wrong gradient, one that agrees
no right one (its ``e`` is the kink's wherever a kink lies off θ: a gradient 3.5% off
passed with a stated detectable error of 0.36, attack26 H22). The verdict is then
*kinked*: ``gradcheck._kinkfree`` takes the entries at the kink out of the directions
and judges them one by one, or the verdict is inconclusive.

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
from typing import NamedTuple

import numpy as np

from gradcheck import _flatness as flatness
from gradcheck._directional_probe import (
    STEP_EXPONENT,
    Probe,
    Prober,
    Segment,
    effective_roundoff,
)
from gradcheck._tolerances import default_rtol

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

#: Directions of the verdict: 2 × 4 evaluations + 2 at the unperturbed point = 10.
DIRECTIONS = 2
#: Default ``δ`` of the stated guarantee: 1 in 1000 checks may miss an error of the
#: stated size.
MISS_PROBABILITY = 1e-3
#: Largest ratio of parameter weights ``c_p``: a parameter with a 10⁻³ times smaller
#: gradient than the largest one is still weighted up, one smaller still is not (its
#: step would swamp the others').
CLIP = 1e-3


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
    #: where an explicit ``rtol`` set the screen: ``ρ_p*`` with the dtype's default
    #: screen instead, what the noise and truncation alone leave unseen (a bound grown
    #: by the user's own ``rtol=0.1`` is no sign of an unresolved gradient, mut26)
    seen: tuple[float, ...] = ()

    @property
    def wrong(self) -> bool:
        """Whether any direction disagrees where the cost is smooth along it."""
        return any(p.wrong and not p.kink for p in (*self.probes, *self.alone))

    @property
    def kinked(self) -> bool:
        """Whether a direction straddles a kink of the cost (and none disagrees where
        it is smooth): the claim is a one-sided or a chosen slope there (ReLU's 0 at
        0, the first of tied maxima), which a single direction cannot judge; and one
        that agrees proves nothing either, its tolerance holding the kink's own
        ``e = |R − C(h/2)|`` wherever a kink lies off θ (attack26 H22: a gradient 3.5%
        off passed with a detectable error of 0.36)."""
        return not self.wrong and any(p.kink for p in self.probes)


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
    probes, sigma, tau = _judged(prober, first)
    bounds = [
        detectable(tau / (weights[i] * n), directions, miss) if n > 0 else math.inf
        for i, n in enumerate(norms)
    ]
    finite = [b for b in bounds if math.isfinite(b)]
    bound = max(finite) if finite else math.inf
    seen: tuple[float, ...] = ()
    if prober.rtol is not None and prober.rtol > 0:
        ratio = max(default_rtol(prober.dtypes[s[0]], "richardson") for s in segments) / prober.rtol
        own = max(p.judged(sigma).tolerance - p.screen * (1.0 - ratio) for p in probes)
        seen = tuple(
            detectable(own / (weights[i] * n), directions, miss) if n > 0 else math.inf
            for i, n in enumerate(norms)
        )
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
        alone = tuple(
            replace(p, kink=True)
            if p.wrong and not p.kink and _straddles(prober, p.segments, rng)
            else p
            for p in alone
        )
    return Directional(probes, weights, bounds, bound, miss, text, exact, alone=alone, seen=seen)


class _Judged(NamedTuple):
    """:func:`_judged`'s answer: the probes judged, their noise ``σ`` and tolerance ``τ``."""

    probes: tuple[Probe, ...]
    sigma: float
    tau: float


def _judged(prober: Prober, first: list[Probe]) -> _Judged:
    """The verdict's probes judged with their largest noise ``σ`` and tolerance ``τ``.

    Every probe spans every entry: a kink one of them straddles is within the others'
    steps too, where the jumps of several kinks can cancel (the probe looks smooth)
    while their one-sided slopes add up in the mismatch (attack26 H32 seed 4). So once
    one probe straddles a kink, all are taken to, with their noise measured where a
    kink cannot pass for it (:meth:`Prober.unkinked`): the verdict is kinked.
    """
    if any(p.kink for p in first):
        first = [replace(p if p.kink else prober.unkinked(p), kink=True) for p in first]
    sigma = max(p.noise for p in first)
    tau = max(p.judged(sigma).tolerance for p in first)
    probes = tuple(p.judged(sigma, tau) for p in first)
    prober.noise_floor = max(prober.noise_floor, sigma)
    return _Judged(probes, sigma, tau)


def _straddles(prober: Prober, segments: tuple[Segment, ...], rng: np.random.Generator) -> bool:
    """Whether a fresh direction on ``segments`` straddles a kink (4 evaluations).

    Asked before a disagreement fails the gradient: several kinks' jumps can cancel
    along one direction and its mismatch be theirs; along an independent one they
    show, unless they cancel again. The direction comes from a child of ``rng``, whose
    own stream (localisation's directions) it leaves as it was.
    """
    return prober.probe(segments, rng.spawn(1)[0]).kink
