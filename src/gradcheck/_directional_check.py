"""The directional strategy: a verdict from random projections, then localisation.

:func:`directional_check` runs the verdict of ``gradcheck._directional`` and, when it
disagrees, ``gradcheck._localise``; it describes what it found as an
:class:`~gradcheck._build.Outcome` for the report builder.
"""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import chain
from typing import Any, NamedTuple

import numpy as np

from gradcheck._build import Outcome, ParameterOutcome
from gradcheck._directional import Directional, directional
from gradcheck._directional_probe import Probe, Prober, Segment
from gradcheck._evaluate import Evaluator
from gradcheck._kinkfree import at_zeros, recheck, zeros_note
from gradcheck._localise import Localisation
from gradcheck._localise import localise as run_localise
from gradcheck._norms import norm2
from gradcheck._numerics import SAFETY, STEP_RETRY, STEP_RETRY_RATIO
from gradcheck._report import Diagnosis, Entry, Status

__all__ = ["DIRECTIONAL_UNCERTAIN", "direction_salt", "directional_check"]

Array = np.ndarray[Any, Any]
#: A directional verdict that could not see a relative error of this size in some
#: parameter (at the stated miss probability) is ``inconclusive`` there: half the
#: gradient's size still catches every factor, sign, zero or swap mistake, and is
#: what a float32 cost's noise allows (measured bound ≈ 0.16 on a small tanh model).
DIRECTIONAL_UNCERTAIN = 0.5


def direction_salt(j0: float) -> int:
    """The cost's value at θ, as the bits of its float64: mixed into the seed of the
    directions.

    With the seed alone, every check of the same size draws the same directions, and
    the entry where both happen to be near zero (about one in ``1/δ``: entry 901 of
    1000 at ``seed=0``) is blind in every such check: an error there is missed every
    time, not with probability ``δ``. The cost's value differs between problems and
    between points of one model, so blind entries are no longer shared, while one
    problem still gets the same directions every run.

    >>> direction_salt(0.0), direction_salt(1.0)
    (0, 4607182418800017408)
    """
    return int(np.float64(j0).view(np.uint64))


def directional_check(
    ev: Evaluator,
    leaves: list[Array],
    names: list[str],
    analytic: list[Array],
    j0: float,
    *,
    rtol: float | None,
    seed: int,
    miss: float,
    localise: bool,
    budget: int,
    roundoff: float | None = None,
    work: Any = None,
    scales: list[Array] | None = None,
    words: tuple[str, str] = ("the gradient", "the cost's slope"),
    claim_u: float = 0.0,
) -> Outcome:
    """The ``directional`` mode: verdict, then localisation and diagnosis on failure.

    Every difference (the report's and each parameter's) is the lesson's
    ``‖a − R‖ / (‖a‖ + ‖R‖)`` over the probes of exactly that set of parameters: the
    verdict's (and, with a single parameter, its diagnosis') probes for the report,
    the probes of the whole parameter alone for a parameter (NaN where there are
    none). With a single parameter the two are the same number.

    Parameter statuses after a failed verdict: ``failed`` where localisation found
    the parameter wrong (or it is the only parameter), ``passed`` where a probe of
    the whole parameter alone agreed, ``inconclusive`` where neither is known
    (localisation off, or not reached): the report fails, but a row that was never
    examined alone cannot say that it passed. ``roundoff``, ``work`` and ``scales``:
    see :class:`~gradcheck._directional.Prober`. ``words`` name the claim and the
    slope it is compared with in the notes (``check_jacobian``: "the vjp", "uᵀout's
    slope"); ``claim_u``: the claim's own unit round-off, where the caller knows it.
    """
    rng = np.random.default_rng([seed, 1, direction_salt(j0)])
    prober = Prober(ev, leaves, analytic, j0, rtol, roundoff, work, scales, claim_u)
    verdict = _smaller_steps(prober, names, rng, miss, directional(prober, names, rng, miss))
    again = recheck(prober, leaves, verdict, names, rng) if verdict.kinked else None
    verdict = verdict if again is None else again.verdict
    loc = Localisation()
    if verdict.wrong and localise:
        loc = run_localise(prober, names, [x.shape for x in leaves], rng, budget, verdict.probes)
    seen = [*verdict.probes, *verdict.alone, *chain(*loc.wrong.values())]
    probes = list({id(p): p for p in seen}.values())
    root = tuple((i, 0, x.size) for i, x in enumerate(leaves) if x.size)
    results, messages = [], []
    for i, (name, leaf) in enumerate(zip(names, leaves)):
        # a 0-size leaf has nothing to check: passed, as in full mode (its bound of
        # inf read as "could only see an error of inf", attack35 H145)
        status, note = _status(i, name, verdict, loc, len(root)) if leaf.size else _EMPTY
        messages += [note] if note else []
        mine = [p for p in probes if p.segments == ((i, 0, leaf.size),)]
        results.append(_result(i, name, leaf, status, verdict, loc, mine))
    if again is not None and again.entries:
        results = [at_zeros(r, again.entries.get(i, ())) for i, r in enumerate(results)]
        messages.append(zeros_note(again))
    wrong = verdict.wrong or any(r.status == "failed" for r in results)
    overall: Status = "failed" if wrong else "passed"
    if overall == "passed" and any(r.status == "inconclusive" for r in results):
        overall = "inconclusive"
    if verdict.wrong:
        messages.append(_failure_note(verdict, loc, localise, names, words))
    elif verdict.kinked:
        messages.append(_kink_note(verdict, words))
    elif verdict.unresolved:
        messages.append(verdict.text)
    noise = max(p.noise for p in verdict.probes)
    guarantee = {
        "directions": len(verdict.probes),
        "relative_error": verdict.bound,
        "miss_probability": miss,
        "text": verdict.text,
        "noise": noise,
    }
    localisation = _summary(loc, names) if verdict.wrong and localise else {}
    difference = _difference([p for p in probes if p.segments == root])
    return Outcome(
        tuple(results),
        difference,
        noise=float(noise),
        notes=tuple(messages),
        status=overall,
        guarantee=guarantee,
        localisation=localisation,
    )


def _truncated(verdict: Directional) -> bool:
    """Whether a smooth verdict's bound is above :data:`DIRECTIONAL_UNCERTAIN` by the
    truncation of its steps: ``SAFETY·e`` of the probe with the largest error estimate
    is :data:`~gradcheck._numerics.STEP_RETRY_RATIO` times its noise term ``6σ/h``."""
    if verdict.wrong or verdict.kinked or verdict.unresolved or not verdict.probes:
        return False
    if verdict.bound <= DIRECTIONAL_UNCERTAIN:
        return False
    worst = max(verdict.probes, key=lambda p: p.fd_error)
    return SAFETY * worst.fd_error > STEP_RETRY_RATIO * 6.0 * worst.noise / worst.step


def _smaller_steps(
    prober: Prober, names: list[str], rng: np.random.Generator, miss: float, verdict: Directional
) -> Directional:
    """``verdict``, or the verdict taken again along fresh directions with steps
    :data:`~gradcheck._numerics.STEP_RETRY` times as large, where truncation left a
    smooth first verdict unable to see a relative error of
    :data:`DIRECTIONAL_UNCERTAIN` (attack33 H127: mixed-scale float32 parameters,
    whose small entries move by steps sized by the others, were inconclusive 3 times
    in 6). The second is taken where it disagrees, or is smooth and states a smaller
    bound; both are whole verdicts, each with its own guarantee and kink test. A
    kinked first verdict is not taken again: a retry that sees no kink and agrees can
    still have crossed one (a kink 1e-9 off θ passed a claim its steps saw 30% off,
    ``tests/test_kinkfree.py``). The retry costs ``4·DIRECTIONS`` evaluations; a
    child generator draws its directions, so the later ones (localisation's) are the
    same whether it is taken or not."""
    if not _truncated(verdict):
        return verdict
    floor, prober.shrink = prober.noise_floor, STEP_RETRY
    again = directional(prober, names, rng.spawn(1)[0], miss)
    if again.wrong or (not again.kinked and again.bound < verdict.bound):
        return again
    prober.shrink, prober.noise_floor = 1.0, floor
    return verdict


def _result(
    i: int,
    name: str,
    leaf: Array,
    status: Status,
    verdict: Directional,
    loc: Localisation,
    probes: list[Probe],
) -> ParameterOutcome:
    """Parameter ``i``'s outcome; ``probes`` are those of the whole parameter alone."""
    pinned = [e for e in loc.pinned if e.parameter == name]
    bound = verdict.bounds[i]
    return ParameterOutcome(
        name=name,
        shape=tuple(leaf.shape),
        dtype=str(leaf.real.dtype),
        status=status,
        difference=_difference(probes),
        checked=sum(1 for j, _ in loc.compared if j == i),
        max_abs_error=max((e.abs_error for e in pinned), default=float("nan")),
        failed=len(pinned),
        worst=tuple(pinned[:5]),
        diagnosis=_diagnosis(i, loc, pinned),
        detection_bound=bound,  # inf where the gradient is 0: nothing is known caught
    )


def _summary(loc: Localisation, names: list[str]) -> dict[str, Any]:
    """``report.localisation``: what localisation established, as plain data."""

    def ranges(segments: list[Segment]) -> list[dict[str, Any]]:
        return [{"parameter": names[s[0]], "start": s[1], "stop": s[2]} for s in segments]

    return {
        "evaluations": loc.evaluations,
        "exhausted": loc.exhausted,
        "pinned": [e.label() for e in loc.pinned],
        "regions": ranges(loc.regions),
        "unconfirmed": ranges(loc.unconfirmed),
    }


def _difference(probes: list[Probe]) -> float:
    """``‖a − R‖ / (‖a‖ + ‖R‖)`` over ``probes`` (NaN for none, 0 when both are 0)."""
    if not probes:
        return float("nan")
    a = np.array([p.analytic for p in probes])
    n = np.array([p.numeric for p in probes])
    den = norm2(a) + norm2(n)  # not NumPy's norm: a cost of 1e-200 or 1e200 (attack20 A16)
    with np.errstate(over="ignore"):
        return norm2(a - n) / den if den > 0 else 0.0


class Judged(NamedTuple):
    """A parameter's status, and its note ("": none)."""

    status: Status
    note: str = ""


_EMPTY = Judged("passed")


def _status(i: int, name: str, verdict: Directional, loc: Localisation, count: int) -> Judged:
    """Parameter ``i``'s status (see :func:`directional_check`) and its note, if any."""
    bound = verdict.bounds[i]
    if i in loc.wrong or (verdict.wrong and count == 1):
        return Judged("failed")
    if verdict.wrong:
        return Judged("passed") if i in loc.ok else Judged("inconclusive")
    if verdict.kinked or verdict.unresolved:  # the note says why (directional_check)
        return Judged("inconclusive")
    seen = verdict.seen[i] if verdict.seen else bound
    if seen > DIRECTIONAL_UNCERTAIN and i not in verdict.exact:
        return Judged(
            "inconclusive",
            f"{name}: the directional check could only see a relative error of "
            f"{bound:.2g} or more (its gradient is tiny next to the noise); use mode='full'",
        )
    return Judged("passed")


def _failure_note(
    verdict: Directional,
    loc: Localisation,
    localise: bool,
    names: list[str],
    words: tuple[str, str],
) -> str:
    """What failed, in words, when the verdict disagrees."""
    worst = _worst([p for p in (*verdict.probes, *verdict.alone) if p.wrong and not p.kink])
    claim, slope = distinct(worst.analytic, worst.numeric)
    gap = abs(worst.analytic - worst.numeric)
    what = (
        f"the directional check disagrees: along a random direction {words[0]} gives "
        f"{claim}, {words[1]} is {slope} (they differ by {gap:.2g}; tolerance "
        f"{worst.tolerance:.2g})"
    )
    if len(names) == 1:
        return what
    if not localise:
        return what + "; localisation is off (localise=False), so no parameter is named"
    if not loc.wrong and loc.unconfirmed:
        return what + (
            "; localisation could not confirm it: a second probe of the same "
            "parameters agreed and none of their parts disagreed, so no parameter "
            "is named (an error near the stated bound, or a false alarm)"
        )
    if not loc.wrong:
        return what + (
            "; no single parameter could be blamed: the error is spread thinly "
            "over several parameters"
        )
    return what


def _worst(probes: list[Probe]) -> Probe:
    """The probe whose mismatch is the most tolerances (one of 0 is infinitely many)."""

    def tolerances(p: Probe) -> float:
        gap = abs(p.analytic - p.numeric)
        return gap / p.tolerance if p.tolerance > 0 else math.inf if gap > 0 else 0.0

    return max(probes, key=tolerances)


def _kink_note(verdict: Directional, words: tuple[str, str]) -> str:
    """Why a verdict whose only disagreements are across kinks is inconclusive."""
    worst = _worst([p for p in verdict.probes if p.kink])
    claim, slope = distinct(worst.analytic, worst.numeric)
    return (
        f"along a random direction the cost has a kink at or near the point (its "
        f"one-sided slopes differ as much at half the step: a ReLU at 0, tied maxima), "
        f"where {words[0]} gives {claim} and {words[1]} is {slope}: a derivative at a "
        f"kink is one of its one-sided or chosen slopes, which a direction cannot judge; "
        f"use mode='full', which judges kinks entry by entry"
    )


def distinct(a: float, b: float, least: int = 6) -> tuple[str, str]:
    """``a`` and ``b`` with at least ``least`` significant digits, and as many more as
    it takes to tell them apart (17 at most: every float64 is then exact).

    >>> distinct(5171.4912345, 5171.4893)
    ('5171.491', '5171.489')
    >>> distinct(1.5, 1.5)
    ('1.5', '1.5')
    """
    for digits in range(least, 18):
        x, y = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if x != y or a == b:
            return x, y
    return x, y


def _diagnosis(i: int, loc: Localisation, pinned: list[Entry]) -> Diagnosis | None:
    """Localisation's diagnosis of parameter ``i``, saying what is known without entries."""
    diag = loc.diagnoses.get(i)
    if diag is None or diag.kind != "scattered" or pinned:
        return diag
    ranges = sum(1 for leaf, _, _ in loc.regions if leaf == i)
    known = (
        f"{ranges} flat index range{'s' if ranges != 1 else ''} known to hold it, listed above"
        if ranges
        else "not narrowed down further"
    )
    return replace(diag, text=f"the error has no simple pattern ({known})")
