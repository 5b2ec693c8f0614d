"""Turning per-entry comparisons into an :class:`~gradcheck._build.Outcome`.

A parameter fails if any entry is ``wrong``, is inconclusive if none is wrong but some
are ``uncertain`` (or every entry sits at a kink), and passes otherwise; the report
fails if any parameter failed, else is inconclusive if any was (``docs/numerics.md``).
Worst entries are ranked by :func:`rank`. This module describes what an entrywise
check found, and what a check that stopped early knows; ``gradcheck._build`` makes
both reports.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradcheck import _compare as cmp
from gradcheck import _kinks as kinks
from gradcheck._build import (
    NO_BOUND,
    RANK,
    WORST,
    Outcome,
    ParameterOutcome,
    overall_status,
    rank,
)
from gradcheck._diagnose import diagnose
from gradcheck._inputs import NonFiniteEntry
from gradcheck._norms import norm2
from gradcheck._report import Entry, Status
from gradcheck._results import entry_label
from gradcheck._tolerances import unit_roundoff

__all__ = [
    "NO_BOUND",
    "RANK",
    "WORST",
    "ZERO_GRADIENT",
    "difference",
    "inconclusive",
    "overall_status",
    "parameter_status",
    "rank",
    "summarise",
]

_TINY = float(np.finfo(np.float64).tiny)
_U64 = unit_roundoff(np.float64)

Array = np.ndarray[Any, Any]
ENTRY_FAILURES = ("wrong", "nonsmooth", "uncertain")
#: One parameter's comparison: (name, private leaf, comparison, checked flat indices).
Result = tuple[str, Array, cmp.Comparison, Array]


def _entries(
    name: str, shape: tuple[int, ...], idx: Array, a: Array, c: cmp.Comparison, k: int
) -> list[Entry]:
    """The ``k`` worst entries, in :func:`rank`'s order."""
    out = []
    for j in rank(c.status, c.abs_error, c.tolerance)[:k]:
        big = max(abs(a[j]), abs(c.numeric[j]))
        out.append(
            Entry(
                parameter=name,
                index=tuple(int(t) for t in np.unravel_index(int(idx[j]), shape)),
                analytic=float(a[j]),
                numeric=float(c.numeric[j]),
                abs_error=float(c.abs_error[j]),
                rel_error=float(c.abs_error[j] / big) if big > 0 else 0.0,
                tolerance=float(c.tolerance[j]),
                fd_error=float(c.fd_error[j]),
                status=str(c.status[j]),  # type: ignore[arg-type]
            )
        )
    return out


#: The message of a check whose whole gradient is zero to within its error.
ZERO_GRADIENT = (
    "the gradient is zero to within the finite differences' own error at every entry: "
    "with no non-zero gradient to judge a relative error by, the check cannot conclude; "
    "check at a point where the gradient is not zero (θ = 0 is often a symmetric point)"
)


def _zero_within_error(results: list[Result], analytic: list[Array]) -> bool:
    """Whether the only thing missing is a scale: every checked entry has ``|a|`` and
    ``|D|`` within its reach, while the cost's noise did not swamp the screen."""
    for (_, _, c, idx), g in zip(results, analytic):
        big = np.maximum(np.abs(g.reshape(-1)[idx]), np.abs(c.numeric))
        if np.any(big > c.reach) or np.any(c.tolerance > cmp.UNCERTAIN * c.scale):
            return False
    return True


def difference(a: Array, n: Array) -> float:
    """The lesson's ‖a − n‖₂ / (‖a‖₂ + ‖n‖₂); 0 when both are 0."""
    den = float(norm2(a) + norm2(n))
    return float(norm2(a - n)) / den if den > 0 else 0.0


def _bound(c: cmp.Comparison, idx: Array) -> float:
    """The parameter's detection bound; ``inf`` when no entry was checked: with nothing
    compared no error of any size is known to be caught (:data:`NO_BOUND`)."""
    return c.detection_bound if idx.size else NO_BOUND


def parameter_status(wrong: int, uncertain: int, nonsmooth: int, checked: int) -> Status:
    """A parameter with a ``wrong`` entry fails. Without one it is inconclusive when
    an entry is ``uncertain`` or when every checked entry sits at a kink (nothing was
    judged: Σ|x| at x = 0); otherwise it passes."""
    if wrong:
        return "failed"
    if uncertain or (checked and nonsmooth == checked):
        return "inconclusive"
    return "passed"


def summarise(
    results: list[Result],
    analytic: list[Array],
    sigma: float,
    pairs: frozenset[str] = frozenset(),
    j0: float = 1.0,
) -> Outcome:
    """What an entrywise check (full or sample mode) found.

    Args:
        results: each parameter's comparison, in the parameters' order.
        analytic: each parameter's analytic gradient, shaped like it.
        sigma: the cost's measured noise.
        pairs: the names of the complex parameters, checked as real views
            (``gradcheck._complex``): their diagnosis knows the complex patterns.
        j0: the cost at the point: a subnormal one names underflow as what left
            entries unresolved.

    Returns:
        The :class:`~gradcheck._build.Outcome`, with the messages the comparisons call for.
    """
    numeric_full = {
        name: c.numeric.reshape(leaf.shape)
        for name, leaf, c, idx in results
        if idx.size == leaf.size
    }
    params, messages = [], []
    for result, g in zip(results, analytic):
        params.append(_parameter(result, g, numeric_full, result[0] in pairs))
        messages += _messages(result, sigma, j0)
    if overall_status([p.status for p in params]) == "inconclusive" and _zero_within_error(
        results, analytic
    ):
        messages.append(ZERO_GRADIENT)
    all_a = np.concatenate([g.reshape(-1)[idx] for (_, _, _, idx), g in zip(results, analytic)])
    all_n = np.concatenate([c.numeric for _, _, c, _ in results])
    return Outcome(tuple(params), difference(all_a, all_n), sigma, tuple(messages))


def _parameter(
    result: Result, g: Array, numeric_full: dict[str, Array], pair: bool = False
) -> ParameterOutcome:
    """One parameter's outcome; ``numeric_full`` holds the fully checked parameters'
    numerical gradients (what a diagnosis compares with); ``pair``: a complex
    parameter's real view."""
    name, leaf, c, idx = result
    a = g.reshape(-1)[idx]
    counts = {s: int(np.count_nonzero(c.status == s)) for s in ENTRY_FAILURES}
    status = parameter_status(
        counts["wrong"], counts["uncertain"], counts["nonsmooth"], int(idx.size)
    )
    if status == "passed" and kinks.unbracketed(c):  # kinks.py rule 4: no evidence
        status = "inconclusive"
    diag = None
    if status == "failed" and name in numeric_full:
        others = {n: v for n, v in numeric_full.items() if n != name}
        diag = diagnose(g, numeric_full[name], others, status=c.status, name=name, pair=pair)
    errors = np.full(leaf.size, np.nan)
    errors[idx] = c.abs_error
    return ParameterOutcome(
        name=name,
        shape=tuple(leaf.shape),
        dtype=str(leaf.real.dtype),
        status=status,
        difference=difference(a, c.numeric),
        checked=int(idx.size),
        max_abs_error=float(c.abs_error.max()) if idx.size else math.nan,  # none compared
        failed=counts["wrong"],
        nonsmooth=counts["nonsmooth"],
        uncertain=counts["uncertain"],
        worst=tuple(_entries(name, leaf.shape, idx, a, c, WORST)),
        diagnosis=diag,
        detection_bound=_bound(c, idx),
        errors=errors.reshape(leaf.shape),
    )


def _messages(result: Result, sigma: float, j0: float = 1.0) -> list[str]:
    """What a reader should know about one parameter's comparison."""
    name, _, c, _ = result
    messages = [*kinks.messages(name, c), *c.notes]
    uncertain = int(np.count_nonzero(c.status == "uncertain"))
    still = int(np.count_nonzero(c.flat & (c.status == "uncertain")))
    coarse = (c.status == "uncertain") & np.isfinite(c.resolution) & ~c.flat
    if np.any(coarse):  # exact zeros whose resolution no gradient scale reaches
        bound = float(np.max(c.resolution[coarse]))
        messages.append(
            f"{name}: {int(np.count_nonzero(coarse))} entries could not be resolved: the "
            f"gradient and the differences are exactly 0 there, but the cost's values are "
            f"too coarse at the steps to show a gradient below {bound:.2g}"
        )
    if still:
        messages.append(
            f"{name}: the cost returned exactly the same value at every step for "
            f"{still} entries, though the gradient says it should change: its "
            "dependence on them is lost to rounding inside the cost (cancellation, "
            "such as (1e4 + f) − 1e4 in float32) or absent; compute the cost in "
            "float64 to check them"
        )
    still += int(np.count_nonzero(coarse))  # said above: no "noise" sentence for them
    if uncertain > still and 0 < abs(j0) < _TINY:
        messages.append(
            f"{name}: {uncertain - still} entries could not be resolved: the cost's value "
            f"({j0:.2g}) is subnormal, below float64's smallest normal number ({_TINY:.2g}), "
            f"where it underflows and moves only in steps of {_TINY * _U64:.2g}, which "
            "swamp the finite differences there; scale the cost up (by 1e300, say) to check it"
        )
    elif uncertain > still:
        messages.append(
            f"{name}: {uncertain - still} entries could not be resolved: the "
            f"cost's noise ({sigma:.2g}) or curvature swamps the finite differences there"
        )
    return messages


def inconclusive(names: list[str], leaves: list[Array], msg: str) -> Outcome:
    """What a check that stopped before comparing any entry (a cost that is not
    deterministic) knows: every parameter ``inconclusive``, and why (``msg``).

    Built by :func:`gradcheck._build.build_report` with the same options as a
    finished check, its report keeps the mode and options it would have run with.
    """
    params = tuple(
        ParameterOutcome(
            name=n,
            shape=tuple(x.shape),
            dtype=str(x.real.dtype),
            status="inconclusive",
            difference=math.nan,
            checked=0,
        )
        for n, x in zip(names, leaves)
    )
    return Outcome(params, math.nan, 0.0, (msg,), status="inconclusive")


def non_finite_failed(outcome: Outcome, entries: Sequence[NonFiniteEntry], j0: float) -> Outcome:
    """``outcome`` with the parameters whose gradient has NaN or infinite entries failed.

    The cost is finite at θ (``j0``; a NaN cost stops the check first), so its
    derivative there is a number, and a gradient of NaN or inf is wrong, whatever the
    finite differences say: the framework-computed gradient is the thing under test
    (attack23 D3: ``jnp.where(x > 0, jnp.sqrt(x), 0)`` at ``x = −1`` back-propagates
    the NaN of the branch not taken). Each such entry counts once among its parameter's
    ``failed``: those the strategy counted already (:func:`_counted`) are not added.
    """
    if not entries:
        return outcome
    by_name: dict[str, list[NonFiniteEntry]] = {}
    for e in entries:
        by_name.setdefault(e.parameter, []).append(e)
    pinned = set((outcome.localisation or {}).get("pinned", ()))
    params, notes = [], []
    for p in outcome.parameters:
        bad = by_name.get(p.name, [])
        if bad:
            added = sum(1 for e in bad if not _counted(p, e, pinned))
            p = p._replace(status="failed", failed=p.failed + added)
            where = ", ".join(f"{e.parameter}{list(e.at)} ({e.value})" for e in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            notes.append(
                f"{p.name}: the gradient is not finite at {where}{more}, where the cost is "
                f"finite ({j0:.6g}): a wrong gradient (a NaN from a branch not taken, as in "
                "where(x > 0, sqrt(x), 0), back-propagates: compute that branch on safe inputs)"
            )
        params.append(p)
    return outcome._replace(
        parameters=tuple(params), notes=(*notes, *outcome.notes), status="failed"
    )


def _counted(p: ParameterOutcome, e: NonFiniteEntry, pinned: set[str]) -> bool:
    """Whether ``p.failed`` counts the non-finite entry ``e`` already: an entrywise
    check compared it (its error is known; :func:`mark_non_finite` made it ``wrong``),
    or localisation pinned it (``pinned``: the labels of the pinned entries). One not
    sampled, or in a directional check not pinned, is not counted yet."""
    if p.errors is not None:
        return not math.isnan(float(p.errors.reshape(-1)[e.flat]))
    return entry_label(e.parameter, e.at) in pinned


def mark_non_finite(results: list[Result], entries: Sequence[NonFiniteEntry]) -> list[Result]:
    """``results`` with the checked entries whose gradient is NaN or infinite ``wrong``
    (their analytic value was read as 0)."""
    out = []
    for name, leaf, c, idx in results:
        bad = np.isin(idx, [e.flat for e in entries if e.parameter == name])
        if np.any(bad):
            status = c.status.copy()
            status[bad] = "wrong"
            c = dataclasses.replace(c, status=status)
        out.append((name, leaf, c, idx))
    return out
