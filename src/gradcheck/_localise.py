"""Localisation: after a failed directional verdict, find the wrong entries.

Adaptive group testing by bisection. A *region* is a set of flat index ranges
(:data:`gradcheck._directional.Segment`); a directional probe restricted to it (four
evaluations) tells whether the gradient is wrong somewhere inside. Starting from the
whole parameter set, each region known wrong is split — first into its parameters
(or two halves of the parameter list when there are more than :data:`FANOUT`), then a
single parameter into two halves of its index range — and the children are probed.
Wrong children are split further, down to single entries, which are then *pinned
exactly*, with their analytic and numerical values. ``k`` wrong entries among ``N``
cost about ``8 k log₂ N`` evaluations (one wrong entry among 10⁶: 160).

A child probe can miss an error that is a tiny part of its region; when no child of a
wrong region is wrong, the children are probed again with fresh directions
(:data:`RETRIES` times), and then the region itself once more: only when that probe
disagrees too is the region reported as *known wrong* (two probes saw the error, its
children's probes missed it). When it agrees, the region's first disagreement is not
confirmed and the region is reported as *unconfirmed*, not as wrong: a region is never
named on a single probe's word. (A single false alarm, such as the ones a collapsed
tolerance gave before ``gradcheck._directional`` floored the noise, used to name the
whole parameter set, or a correct half next to a planted entry, as known wrong.)
A parameter whose error is dense is not bisected: when a pattern explains it
(``diagnose_directional``: zero, sign, factor, transpose, swapped — the mistakes of
``gradcheck._diagnose``, tested on projections) it is reported with that diagnosis;
when more than :data:`MAX_REGIONS` of its regions are wrong at once, those regions
are reported as known wrong. The search stops at ``budget`` evaluations; whatever
is still open is reported as known wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradcheck._diagnose import FIT, scaled
from gradcheck._directional_probe import Probe, Prober, Segment
from gradcheck._results import Diagnosis, Entry

__all__ = ["BUDGET", "FANOUT", "MAX_REGIONS", "RETRIES", "Localisation", "localise"]

Array = np.ndarray[Any, Any]
#: Default evaluation budget of a localisation (one wrong entry among 10⁶ needs ~160).
BUDGET = 400
#: Regions of at most this many parameters are split into single parameters.
FANOUT = 8
#: More wrong regions than this in one parameter at one level: the error is dense.
MAX_REGIONS = 8
#: Fresh-direction retries when a wrong region has no wrong child.
RETRIES = 2
#: The most evaluations a parameter's diagnosis spends (two probes): not begun with
#: less of the budget left (``budget=0`` spent 8, mut26).
_DIAGNOSIS = 8


@dataclass
class Localisation:
    """What localisation established.

    Attributes:
        wrong: parameter index → probes that found it wrong (parameter level).
        ok: parameters probed and found right.
        pinned: wrong entries named exactly.
        regions: ``(leaf, start, stop)`` flat ranges known to hold an error.
        unconfirmed: ranges one probe found wrong that a second probe did not confirm
            and none of whose parts disagreed.
        compared: ``(leaf, flat index)`` of every entry probed alone.
        diagnoses: parameter index → diagnosis.
        evaluations: cost evaluations spent.
        exhausted: the budget ran out before the search finished.
    """

    wrong: dict[int, list[Probe]] = field(default_factory=dict)
    ok: set[int] = field(default_factory=set)
    pinned: list[Entry] = field(default_factory=list)
    regions: list[Segment] = field(default_factory=list)
    unconfirmed: list[Segment] = field(default_factory=list)
    compared: set[tuple[int, int]] = field(default_factory=set)
    diagnoses: dict[int, Diagnosis] = field(default_factory=dict)
    evaluations: int = 0
    exhausted: bool = False


def _children(region: tuple[Segment, ...]) -> list[tuple[Segment, ...]]:
    if len(region) > FANOUT:
        mid = len(region) // 2
        return [region[:mid], region[mid:]]
    if len(region) > 1:
        return [(s,) for s in region]
    leaf, lo, hi = region[0]
    if hi - lo <= 1:
        return []
    mid = (lo + hi) // 2
    return [((leaf, lo, mid),), ((leaf, mid, hi),)]


def _fits(pred: float, probe: Probe) -> bool:
    return abs(pred - probe.numeric) <= FIT * max(abs(pred), abs(probe.numeric)) + probe.tolerance


def diagnose_directional(
    prober: Prober,
    leaf: int,
    probes: Sequence[Probe],
    shapes: Sequence[tuple[int, ...]],
    names: Sequence[str],
) -> Diagnosis:
    """Which mistake explains parameter ``leaf``, from its probes' projections.

    A candidate true gradient ``C`` fits when ``Cᵀv ≈ R`` (the numerical directional
    derivative) on every probe, within :data:`gradcheck._diagnose.FIT` relative and
    the probe's tolerance. The factor is estimated from the probe along ``s ⊙ g``.
    """
    g = prober.g[leaf]
    v = [p.direction[0] for p in probes]
    if all(abs(p.analytic) <= FIT * abs(p.numeric) for p in probes) and any(
        abs(p.numeric) > p.tolerance for p in probes
    ):
        return Diagnosis("zero", 0.0, "the gradient is zero where it should not be (missing?)")
    best = max(probes, key=lambda p: abs(p.numeric))
    if best.numeric != 0 and best.analytic != 0:  # c = 0 fits nothing (attack37 H213)
        c = best.analytic / best.numeric
        if abs(c - 1) > 10 * FIT and all(_fits(p.analytic / c, p) for p in probes):
            return scaled(c)
    shape = shapes[leaf]
    cands: list[tuple[Array, Diagnosis]] = []
    if len(shape) == 2:
        a2 = g.reshape(shape)
        cands.append(
            (
                a2.reshape(shape[::-1]).T.reshape(-1),
                Diagnosis("transpose", None, "the gradient is transposed (reshaped from its .T)"),
            )
        )
        if shape[0] == shape[1]:
            cands.append(
                (
                    a2.T.reshape(-1),
                    Diagnosis("transpose", None, "the gradient is the transpose of the right one"),
                )
            )
    for q, other in enumerate(prober.g):
        if q != leaf and tuple(shapes[q]) == tuple(shape):
            cands.append(
                (
                    other,
                    Diagnosis("swapped", None, f"this is the gradient of {names[q]!r}: swapped?"),
                )
            )
    for cand, diag in cands:
        if all(_fits(float(cand @ vi), p) for vi, p in zip(v, probes)):
            return diag
    return Diagnosis("scattered", None, "the error has no simple pattern (see the entries)")


def localise(
    prober: Prober,
    names: Sequence[str],
    shapes: Sequence[tuple[int, ...]],
    rng: np.random.Generator,
    budget: int = BUDGET,
    top: Sequence[Probe] = (),
) -> Localisation:
    """Bisect the failed verdict down to parameters and entries (module doc).

    Args:
        prober: the directional prober the verdict used.
        names, shapes: the parameters'.
        rng: the private generator for fresh directions.
        budget: evaluations to spend at most.
        top: the verdict's probes (reused when there is a single parameter).
    """
    out = Localisation()
    start = prober.evaluations
    sizes = [g.size for g in prober.g]
    root = tuple((i, 0, n) for i, n in enumerate(sizes) if n)
    level: list[tuple[Segment, ...]] = [root]
    if (
        len(root) == 1
        and top
        and budget >= _DIAGNOSIS
        and _explained(prober, out, root[0][0], top[0], names, shapes, rng)
    ):
        level = []
    while level:
        nxt: list[tuple[Segment, ...]] = []
        per_leaf: dict[int, int] = {}
        for region in level:
            kids = _children(region)
            if not kids:
                continue
            found: list[tuple[tuple[Segment, ...], Probe]] = []
            for _ in range(1 + RETRIES):
                if prober.evaluations - start + 4 * len(kids) > budget:
                    out.exhausted = True
                    break
                probes = [(k, prober.probe(k, rng)) for k in kids]
                found = [(k, p) for k, p in probes if p.wrong and not p.kink]
                for k, p in probes:
                    if len(k) == 1 and k[0][2] - k[0][1] == 1:
                        out.compared.add(k[0][:2])
                    if not p.wrong and len(k) == 1 and k[0][1:] == (0, sizes[k[0][0]]):
                        out.ok.add(k[0][0])
                if found:
                    break
            if not found and not out.exhausted:
                if prober.evaluations - start + 4 > budget:
                    out.exhausted = True
                elif not prober.probe(region, rng).wrong:
                    out.unconfirmed += list(region)
                    continue
            if out.exhausted or not found:
                out.regions += list(region)
                continue
            for kid, p in found:
                leaf, lo, hi = kid[0]
                if len(kid) == 1 and (lo, hi) == (0, sizes[leaf]):
                    out.ok.discard(leaf)
                    spare = budget - (prober.evaluations - start)
                    if spare >= _DIAGNOSIS and _explained(prober, out, leaf, p, names, shapes, rng):
                        continue
                if len(kid) == 1 and hi - lo == 1:
                    out.pinned.append(_entry(prober, names[leaf], shapes[leaf], lo, p))
                    continue
                per_leaf[leaf] = per_leaf.get(leaf, 0) + 1
                nxt.append(kid)
        dense = {leaf for leaf, n in per_leaf.items() if n > MAX_REGIONS}
        out.regions += [s for r in nxt for s in r if s[0] in dense]
        level = [r for r in nxt if r[0][0] not in dense or len(r) > 1]
    if len(root) == 1 and top and not out.wrong and (out.pinned or out.regions):
        out.wrong[root[0][0]] = list(top)
    for e in out.pinned:
        leaf = names.index(e.parameter)
        out.wrong.setdefault(leaf, [])
    for leaf, _, _ in out.regions:
        out.wrong.setdefault(leaf, [])
    out.evaluations = prober.evaluations - start
    return out


def _explained(
    prober: Prober,
    out: Localisation,
    leaf: int,
    probe: Probe,
    names: Sequence[str],
    shapes: Sequence[tuple[int, ...]],
    rng: np.random.Generator,
) -> bool:
    """Parameter ``leaf`` is wrong: diagnose it; True when a pattern explains it."""
    n = prober.g[leaf].size
    seg: tuple[Segment, ...] = ((leaf, 0, n),)
    g = prober.g[leaf]
    probes = [probe]
    if np.any(g):
        # along s ⊙ g over its largest entry, each factor scaled first: the direction's
        # size is the step's business, and s ⊙ g, gᵀ(s ⊙ s ⊙ g) over- or underflow for
        # gradients or parameters of 1e200 or 1e-200 (attack20 A16)
        s = prober.scale[leaf]
        z = (s / np.max(s)) * (g / np.max(np.abs(g)))
        probes.append(prober.probe(seg, None, along={leaf: z / np.max(np.abs(z))}))
    probes.append(prober.probe(seg, rng))
    out.wrong[leaf] = probes
    diag = diagnose_directional(prober, leaf, probes, shapes, names)
    out.diagnoses[leaf] = diag
    return diag.kind != "scattered" or n == 1


def _entry(prober: Prober, name: str, shape: tuple[int, ...], flat: int, p: Probe) -> Entry:
    """A single-entry probe as an :class:`Entry`: ``numeric = R / v``."""
    v = float(p.direction[0][0])
    leaf = p.segments[0][0]
    a = float(prober.g[leaf][flat])
    num = p.numeric / v
    big = max(abs(a), abs(num))
    return Entry(
        parameter=name,
        index=tuple(int(t) for t in np.unravel_index(flat, shape)) if shape else (),
        analytic=a,
        numeric=num,
        abs_error=abs(a - num),
        rel_error=abs(a - num) / big if big > 0 else 0.0,
        tolerance=p.tolerance / abs(v),
        fd_error=p.fd_error / abs(v),
        status="wrong",
    )
