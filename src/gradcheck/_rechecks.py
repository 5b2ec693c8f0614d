"""The entrywise strategy's second looks: entries compared again at other steps.

After an entry's first comparison (:func:`first_compare`, which steps entries whose
steps left the cost's domain on their own side of 0), ``gradcheck._entrywise`` asks
each rule in turn: entries whose steps straddle a kink (:func:`straddled_kinks`,
``gradcheck._kinks``), whose steps reach across 0 (:func:`across_zero`,
``gradcheck._across``), that look like kinks at θ but are smooth at a smaller step
(:func:`not_kinks`), and that vary faster than their step (:func:`sharp_features`,
``gradcheck._sharp``). Each compares the entries it takes afresh (:func:`measurer`)
and adds a note saying what it did (:func:`noted`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from gradcheck import _across as across
from gradcheck import _compare as cmp
from gradcheck import _kinks as kinks
from gradcheck import _sharp as sharp
from gradcheck._entries import Entries, Setting, compare_entries, domain_error
from gradcheck._evaluate import CostRaised, Delta, Evaluator, NonFinite
from gradcheck._steps import relative_step
from gradcheck._tolerances import unit_roundoff

__all__ = [
    "FirstCompare",
    "across_zero",
    "first_compare",
    "measurer",
    "not_kinks",
    "noted",
    "sharp_features",
    "straddled_kinks",
]

Array = np.ndarray[Any, Any]
_TINY = float(np.finfo(np.float64).tiny)


class FirstCompare(NamedTuple):
    """The first comparison of some entries, and the entries at the steps it used."""

    entries: Entries
    comparison: cmp.Comparison


def first_compare(ev: Evaluator, s: Setting, e: Entries, name: str) -> FirstCompare:
    """The first comparison of the entries ``e``, and the entries at the steps it used.

    Where the cost returns inf or NaN, or raises, and some entries' steps reach across 0
    (``x·log x`` at ``x = 1e-8`` beside 0.5: the step 2.1e-6 leaves the domain), those
    entries are stepped relative to their own ``|θ|``, on their own side
    (``gradcheck._kinks`` rule 7), and the comparison is run again; if that fails too,
    the first error stands (attack20 P7). A note says so.
    """
    try:
        return FirstCompare(e, compare_entries(ev, s, e, 0.0))
    except (NonFinite, CostRaised) as first:
        theta = e.theta
        dtype = s.dtype(e.leaf)
        own = kinks.exact_steps(theta, relative_step(s.method, dtype) * np.abs(theta), dtype)
        cross = (e.h >= np.abs(theta)) & (own >= _TINY) & (own < np.abs(theta))
        if s.method == "complex" or not domain_error(first) or not np.any(cross):
            raise
        e = e._replace(h=np.where(cross, own, e.h))
        try:
            comp = compare_entries(ev, s, e, 0.0)
        except (NonFinite, CostRaised):
            raise first from None
    note = (
        f"{name}: {int(np.count_nonzero(cross))} entries' steps reached across 0 and left "
        "the cost's domain: they are judged at steps within their own side, relative to |θ|"
    )
    return FirstCompare(e, noted(comp, note))


def noted(comp: cmp.Comparison, note: str) -> cmp.Comparison:
    """``comp`` with ``note`` after its notes."""
    return replace(comp, notes=(*comp.notes, note))


def measurer(
    ev: Evaluator, s: Setting, e: Entries, scale: float
) -> Callable[[Array, Array], cmp.Comparison]:
    """``measure(k, h)``: the entries at positions ``k`` of ``e`` compared afresh at steps
    ``h`` (what the re-checks at other steps call)."""

    def measure(k: Array, hk: Array) -> cmp.Comparison:
        return compare_entries(ev, s, e.take(k, hk), scale)

    return measure


def across_zero(
    ev: Evaluator, s: Setting, e: Entries, comp: cmp.Comparison, name: str
) -> cmp.Comparison:
    """Wrong entries of ``e`` (compared in ``comp``) whose steps jumped across 0, judged
    at a step on their own side (``gradcheck._kinks`` rule 7), and a note saying so."""

    measure = measurer(ev, s, e, comp.scale)
    out, n = across.across_zero(comp, e.theta, e.h, s.method, s.dtype(e.leaf), measure)
    if not n:
        return out
    note = (
        f"{name}: {n} entries' steps reached across 0, where the cost jumps (a pole or "
        "branch at 0?): they are judged at a step within their own side, relative to |θ|"
    )
    return noted(out, note)


def not_kinks(
    ev: Evaluator, s: Setting, e: Entries, comp: cmp.Comparison, name: str
) -> cmp.Comparison:
    """Entries of ``e`` at a kink at θ that a smaller step shows smooth (a feature
    narrower than the step, ``gradcheck._sharp.unkinked``), and a note."""

    def jump(k: Array) -> Array:
        half = e.h[k] / 2
        at = [(Delta(e.i, int(j), o * hj),) for j, hj in zip(e.idx[k], half) for o in (1, -1)]
        vals = np.real(ev(at)).reshape(k.size, 2)
        return np.asarray((vals[:, 0] - 2.0 * s.j0 + vals[:, 1]) / half)

    if s.method != "central":
        return comp
    sigma = max(s.sigma, unit_roundoff(s.dtype(e.leaf)) * abs(s.j0))
    measure = measurer(ev, s, e, comp.scale)
    out, n = sharp.unkinked(comp, e.theta, e.h, s.dtype(e.leaf), jump, sigma, measure)
    if not n:
        return out
    left = int(np.count_nonzero(out.status[np.isnan(out.kink)] == "uncertain"))
    note = (
        f"{name}: {n} entries looked like kinks at θ (their one-sided slopes differ at the "
        "step) but are smooth at a smaller step: the cost has a feature narrower than the "
        "step there; they are judged where two smaller steps agree"
    )
    if left:
        note += f" ({left} could not be, and are left unresolved)"
    return noted(out, note)


def sharp_features(
    ev: Evaluator, s: Setting, e: Entries, comp: cmp.Comparison, name: str
) -> cmp.Comparison:
    """Entries of ``e`` left ``uncertain`` by truncation (a feature narrower than the
    step), compared again at smaller steps (``gradcheck._sharp``), and a note."""

    if s.method != "central":  # the truncation the module doc's rule rests on: h²
        return comp
    if cmp.zero_within_noise(comp, e.a, with_error=True):  # no scale: _entrywise._zero_parameters'
        return comp
    noise = cmp.roundoff(s.method, s.sigma, e.h)
    out, n = sharp.sharpen(
        comp, e.theta, e.h, s.dtype(e.leaf), noise, measurer(ev, s, e, comp.scale)
    )
    if not n:
        return out
    note = (
        f"{name}: {n} entries vary faster than their step (their differences' truncation "
        "error was large): they are judged at smaller steps, where two steps agree"
    )
    return noted(out, note)


def straddled_kinks(ev: Evaluator, s: Setting, e: Entries, comp: cmp.Comparison) -> cmp.Comparison:
    """Entries of ``e`` (compared in ``comp``) whose steps straddle a kink, compared
    again with steps clear of it.

    A step below the cost's resolution is no evidence of a wrong gradient, so a cost
    that does not move at the smaller steps leaves the entry ``uncertain``.
    """
    low = replace(s, low_precision=True)
    floor = comp.scale

    def measure(k: Array, hk: Array) -> cmp.Comparison:
        return compare_entries(ev, low, e.take(k, hk), floor)

    return kinks.resolve(comp, e.theta, s.dtype(e.leaf), measure)
