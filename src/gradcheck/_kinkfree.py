"""A directional verdict past the parameters that sit exactly at a kink (attack24 F7).

Pruned weights, zero-initialised parameters and exact zeros under ``relu``, ``|·|`` or
an L1 penalty put entries of ``θ`` exactly at a kink of the cost. Every random
direction meets them at once, so every probe straddles a kink and the directional
verdict is inconclusive (``gradcheck._directional``), for right and wrong gradients
alike: a gradient off by 10% everywhere was not failed.

Such entries are few and findable: they are exactly 0. When the verdict's only
disagreements are across kinks, :func:`recheck` takes the entries that are exactly 0
(at most :data:`KINK_ENTRIES`) out of the directions and draws the verdict's probes
again: where those are smooth, the rest of the gradient is judged at full strength (a
wrong gradient elsewhere fails), and each entry taken out is checked on its own from
the four values ``J(θ ± h eᵢ)``, ``J(θ ± h eᵢ/2)`` (:func:`one_entry`):

* smooth there (a zero bias): ``ok`` or ``wrong`` by the directional rule;
* a kink at ``θ`` (``gradcheck._kinks`` rules 1, 2 and 4) whose one-sided slopes
  bracket the claim: ``nonsmooth``, consistent (relu'(0) = 0, a one-sided derivative,
  a subgradient of the L1 term); its derivative does not exist, so no relative error
  is stated for it;
* a kink whose slopes do not bracket the claim, or one near but not at ``θ``:
  ``uncertain`` (coinciding kinks can put a correct framework gradient outside the
  slopes, as the entrywise rule says, ``docs/numerics.md``, Kinks).

Where a new probe still straddles a kink (a kink not at an exact zero: a dead unit's
pre-activation, ``clip`` at a bound), or there are more than :data:`KINK_ENTRIES`
exact zeros, nothing changes: the verdict stays inconclusive.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from gradcheck import _kinks as kinks
from gradcheck._build import WORST, ParameterOutcome
from gradcheck._comparison import UNCERTAIN
from gradcheck._directional import Directional, detectable
from gradcheck._directional_probe import Probe, Prober
from gradcheck._evaluate import Delta
from gradcheck._kinksearch import DISAGREE_EVALUATIONS, search
from gradcheck._numerics import SAFETY
from gradcheck._report import Entry, Status
from gradcheck._results import EntryStatus
from gradcheck._tolerances import default_rtol, unit_roundoff

__all__ = ["KINK_ENTRIES", "Recheck", "at_zeros", "one_entry", "recheck", "zeros_note"]

Array = np.ndarray[Any, Any]
#: The most exact-zero entries checked one by one (4 evaluations each): pruned or
#: zero-initialised entries are few next to a model's; beyond this the verdict stays
#: inconclusive, as before, rather than spend more than 2048 evaluations.
KINK_ENTRIES = 512


class Recheck(NamedTuple):
    """The verdict with the kink entries left out, and those entries one by one.

    Attributes:
        verdict: the directional verdict of the probes that leave them out.
        entries: per parameter (by position), its left-out entries' results.
        left_out: how many entries were left out.
        found: how many of them ``gradcheck._kinksearch`` found (the rest are 0).
        searched: the evaluations that search spent.
    """

    verdict: Directional
    entries: dict[int, tuple[Entry, ...]]
    left_out: int
    found: int = 0
    searched: int = 0


def recheck(
    prober: Prober, leaves: list[Array], verdict: Directional, names: list[str], rng: Any
) -> Recheck | None:
    """The verdict again with the kink entries of ``leaves`` (the private parameters)
    left out: those exactly 0 and, where the probes that leave these out still straddle
    a kink, those ``gradcheck._kinksearch`` finds (module doc); ``None`` where that
    cannot help (too many such entries, or the new probes straddle a kink too)."""
    zeros = [np.flatnonzero(leaf.reshape(-1) == 0) for leaf in leaves]
    count = sum(z.size for z in zeros)
    if count > KINK_ENTRIES:
        return None
    first = _probes(prober, verdict, zeros, rng) if count else None
    found = searched = 0
    if first is None:
        more = search(prober, zeros, rng, KINK_ENTRIES - count)
        if more is None or not any(m.size for m in more.entries):
            return None
        zeros = [np.union1d(z, m) for z, m in zip(zeros, more.entries)]
        found, searched = sum(m.size for m in more.entries), more.evaluations
        count += found
        first = _probes(prober, verdict, zeros, rng)
        if first is None:  # a kink left in the directions: its σ is no noise
            return None
    if any(p.wrong for p in first):  # entries behind the disagreement, one by one
        more = search(
            prober, zeros, rng, KINK_ENTRIES - count, disagree=True, budget=DISAGREE_EVALUATIONS
        )
        if more is not None and any(m.size for m in more.entries):
            zeros = [np.union1d(z, m) for z, m in zip(zeros, more.entries)]
            extra = sum(m.size for m in more.entries)
            found, searched, count = found + extra, searched + more.evaluations, count + extra
            first = _probes(prober, verdict, zeros, rng)
            if first is None:
                return None
    sigma = max(p.noise for p in first)
    tau = max(p.judged(sigma).tolerance for p in first)
    probes = tuple(p.judged(sigma, tau) for p in first)
    prober.noise_floor = max(prober.noise_floor, sigma)
    if any(p.wrong for p in probes) and _probes(prober, verdict, zeros, rng.spawn(1)[0]) is None:
        return None  # fresh directions straddle a kink the disagreeing ones' jumps hid
    norms = [prober.norm(i) for i in range(len(zeros))]
    bounds = [
        detectable(tau / (verdict.weights[i] * n), len(probes), verdict.miss) if n > 0 else math.inf
        for i, n in enumerate(norms)
    ]
    finite = [b for b in bounds if math.isfinite(b)]
    bound = max(finite) if finite else math.inf
    text = (
        f"{len(probes)} random directions, {count} entr{'y' if count == 1 else 'ies'} "
        f"at a kink left out and checked one by one: a relative gradient error of "
        f"{bound:.2g} or more in any one parameter (‖s⊙(g−∇J)‖/‖s⊙g‖, s the entry "
        f"scale) is caught with probability ≥ {1 - verdict.miss:.4g}"
    )
    new = replace(verdict, probes=probes, bounds=bounds, bound=bound, text=text, seen=())
    entries: dict[int, tuple[Entry, ...]] = {}
    if not new.wrong:  # a wrong gradient elsewhere fails without them
        for i, idx in enumerate(zeros):
            if idx.size:
                shape = tuple(leaves[i].shape)
                flat = leaves[i].reshape(-1)
                entries[i] = tuple(
                    one_entry(prober, i, int(j), names[i], shape, sigma, float(flat[j].real))
                    for j in idx
                )
    return Recheck(new, entries, count, found, searched)


def _probes(
    prober: Prober, verdict: Directional, left_out: list[Array], rng: Any
) -> list[Probe] | None:
    """The verdict's probes drawn again with the entries ``left_out`` drawn as 0;
    ``None`` where one still straddles a kink."""
    sizes = [g.size for g in prober.g]
    segments = tuple((i, 0, n) for i, n in enumerate(sizes) if n)
    first = []
    for _ in verdict.probes:
        along = {}
        for i, n in enumerate(sizes):
            z = rng.standard_normal(n, dtype=np.float32)
            z[left_out[i]] = 0.0
            along[i] = z
        p = prober.probe(segments, None, verdict.weights, along=along)
        if p.kink:
            return None
        first.append(p)
    return first


def one_entry(
    prober: Prober,
    leaf: int,
    j: int,
    name: str,
    shape: tuple[int, ...],
    sigma: float,
    theta: float = 0.0,
) -> Entry:
    """Entry ``j`` of parameter ``leaf`` (value ``theta``) judged on its own (module
    doc): 4 evaluations at ``θ ± h eⱼ`` and ``θ ± h eⱼ/2``, ``h`` the central step
    ``u^(1/3)`` of its entry scale; ``sigma`` is the verdict's noise.

    A kink within the steps but not at ``θ`` is measured again with steps clear of it
    (``gradcheck._kinks`` rule 3, up to ``LEVELS`` times): a kink at ``θ`` with a
    different curvature on each side looks ``h²``-far away (a dead unit's weight:
    ``½ r²`` is curved on the live side only, attack26 G5) and shows at ``θ`` at the
    smaller step."""
    dtype = prober.dtypes[leaf]
    h = float(unit_roundoff(dtype) ** (1 / 3) * prober.scale[leaf][j])
    a = float(prober.g[leaf][j])
    rtol = prober.rtol if prober.rtol is not None else default_rtol(dtype, "richardson")
    peak = float(np.max(np.abs(prober.g[leaf]), initial=0.0))
    for level in range(kinks.LEVELS + 1):
        step = np.array([h])
        points = [(Delta(leaf, slice(j, j + 1), step, t),) for t in (1.0, -1.0, 0.5, -0.5)]
        jp, jm, jp2, jm2 = (float(x) for x in np.real(prober.ev(points)))
        prober.evaluations += 4
        c1, c2 = (jp - jm) / (2 * h), (jp2 - jm2) / h
        numeric = (4 * c2 - c1) / 3
        err = abs(numeric - c2)
        tol = rtol * (peak + max(abs(a), abs(numeric))) + SAFETY * err + 6.0 * sigma / h
        site = kinks.locate(
            *(np.array([x]) for x in (jp, jm, jp2, jm2)),
            j0=prober.j0,
            h=step,
            sigma=max(prober.noise_floor, sigma),
            tol=np.array([tol]),
            analytic=np.array([a]),
        )
        if not site.kink[0] or site.at_point[0] or level == kinks.LEVELS:
            break
        smaller = kinks.exact_steps(
            np.array([theta]), np.array([abs(float(site.offset[0])) / kinks.ZOOM]), dtype
        )
        if not 0 < smaller[0] < h:
            break
        h = float(smaller[0])
    status: EntryStatus
    if site.kink[0]:
        at = bool(site.at_point[0] and site.bracketed[0])
        status = "nonsmooth" if at else "uncertain"
        numeric = c2  # the mean of the one-sided slopes at h/2
    else:
        status = "ok" if abs(a - numeric) <= tol else "wrong"
        # as the entrywise rule: an allowance beyond the screen of more than UNCERTAIN of
        # the gradient scale could hide a 10% error (steps still across a kink 1e-9 off
        # θ: ok with 30% between claim and differences, attack on 'near kinks')
        screen = rtol * (peak + max(abs(a), abs(numeric)))
        scale = max(peak, abs(a), abs(numeric))
        if status == "ok" and tol - screen > UNCERTAIN * scale:
            status = "uncertain"
    gap = abs(a - numeric)
    big = max(abs(a), abs(numeric))
    index = tuple(int(k) for k in np.unravel_index(j, shape)) if shape else ()
    return Entry(name, index, a, numeric, gap, gap / big if big > 0 else 0.0, tol, err, status)


def at_zeros(result: ParameterOutcome, entries: tuple[Entry, ...]) -> ParameterOutcome:
    """A parameter's directional outcome with its exact-zero entries' results: a
    ``wrong`` one fails it, an ``uncertain`` one leaves a passed one inconclusive."""
    if not entries:
        return result
    count = Counter(e.status for e in entries)
    status: Status = result.status
    if count["wrong"]:
        status = "failed"
    elif count["uncertain"] and status == "passed":
        status = "inconclusive"
    order = {"wrong": 0, "uncertain": 1, "nonsmooth": 2, "ok": 3}
    mine = sorted(entries, key=lambda e: (order[e.status], -e.abs_error))
    known = [] if math.isnan(result.max_abs_error) else [result.max_abs_error]
    judged = [e.abs_error for e in entries if e.status in ("ok", "wrong")]  # not kinks'
    return result._replace(
        status=status,
        checked=result.checked + len(entries),
        max_abs_error=max([*known, *judged], default=result.max_abs_error),
        failed=result.failed + count["wrong"],
        nonsmooth=result.nonsmooth + count["nonsmooth"],
        uncertain=result.uncertain + count["uncertain"],
        worst=(*[e for e in mine if e.status == "wrong"], *result.worst, *mine)[:WORST],
    )


def zeros_note(again: Recheck) -> str:
    """What :func:`recheck` did, in words, naming the entries that are not ``ok``."""
    every = [e for group in again.entries.values() for e in group]
    count = Counter(e.status for e in every)

    def named(status: str) -> str:
        some = [e.label() for e in every if e.status == status]
        more = f" and {len(some) - 3} more" if len(some) > 3 else ""
        return ", ".join(some[:3]) + more

    parts = [f"{count['ok']} smooth and right"] if count["ok"] else []
    if count["nonsmooth"]:
        parts.append(
            f"{count['nonsmooth']} at a kink, the claim between the one-sided slopes "
            f"(not judged further: there is no derivative there; {named('nonsmooth')})"
        )
    if count["uncertain"]:
        parts.append(
            f"{count['uncertain']} at a kink with the claim outside the one-sided slopes "
            f"or a kink near but not at the point, inconclusive ({named('uncertain')}): "
            f"several kinks meeting there can put a correct claim outside them, which "
            f"differences at the point cannot judge; use mode='full', which re-checks "
            f"such entries at nearby smooth points when the gradient is a function"
        )
    if count["wrong"]:
        parts.append(f"{count['wrong']} wrong ({named('wrong')})")
    zero = again.left_out - again.found
    which = [f"{zero} exactly at 0"] if zero else []
    if again.found:
        which.append(
            f"{again.found} found at a kink by splitting the directions' support "
            f"({again.searched} evaluations)"
        )
    return (
        f"{again.left_out} entr{'y' if again.left_out == 1 else 'ies'} ({', '.join(which)}) "
        f"put every random direction across a kink: they were left out of the directions, "
        f"and the "
        f"rest of the gradient was checked at full strength; those entries, checked one "
        f"by one (4 evaluations each, more near a kink): " + "; ".join(parts)
    )
