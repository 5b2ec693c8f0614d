"""Turning per-entry comparisons into a :class:`~gradcheck.Report`.

A parameter fails if any entry is ``wrong``, is inconclusive if none is wrong but some
are ``uncertain`` (or every entry sits at a kink), and passes otherwise; the report
fails if any parameter failed, else is inconclusive if any was (``docs/numerics.md``).
Worst entries are ranked by :func:`rank`. This module builds every entrywise report
and the report of a check that stopped early, from the same options record.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from gradcheck import _compare as cmp
from gradcheck import _kinks as kinks
from gradcheck._diagnose import diagnose
from gradcheck._numerics import norm2
from gradcheck._report import Entry, ParameterResult, Report, Status

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

Array = np.ndarray[Any, Any]
ENTRY_FAILURES = ("wrong", "nonsmooth", "uncertain")
#: How many worst entries a parameter result and the report keep.
WORST = 5
#: One parameter's comparison: (name, private leaf, comparison, checked flat indices).
Result = tuple[str, Array, cmp.Comparison, Array]


#: The order of entry statuses in a worst list: a wrong entry is what a reader looks
#: for; an unresolved one makes the verdict inconclusive; one at a kink is kept out
#: of the verdict (its error against the averaged slopes is often the largest of all).
RANK = {"wrong": 0, "uncertain": 1, "nonsmooth": 2, "ok": 3}


def rank(status: Array, abs_error: Array, tolerance: Array) -> Array:
    """Indices from worst to best: by :data:`RANK` of the status, then by error
    relative to tolerance (an error with zero tolerance is infinitely far off), then
    by absolute error; ties keep their order."""
    err = np.nan_to_num(np.asarray(abs_error, dtype=np.float64), nan=-np.inf)
    tol = np.asarray(tolerance, dtype=np.float64)
    ratio = np.where(tol > 0, err / np.where(tol > 0, tol, 1.0), np.where(err > 0, np.inf, 0.0))
    group = np.array([RANK.get(str(x), len(RANK)) for x in np.asarray(status).tolist()])
    return np.lexsort((-err, -ratio, group))


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


def _worst(entries: list[Entry]) -> tuple[Entry, ...]:
    """The :data:`WORST` worst of every parameter's worst entries, ranked alike."""
    order = rank(
        np.array([e.status for e in entries], dtype=object),
        np.array([e.abs_error for e in entries], dtype=np.float64),
        np.array([e.tolerance for e in entries], dtype=np.float64),
    )
    return tuple(entries[int(j)] for j in order[:WORST])


#: The detection bound of a parameter that checked nothing (an empty array, or a check
#: that stopped before comparing): no error, however large, is known to be caught. A
#: bound of 0 would claim the opposite, that every error is. JSON writes it as null
#: (``report.schema.json``), like every non-finite number.
NO_BOUND = math.inf

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


def overall_status(statuses: list[Status]) -> Status:
    """The report's verdict: ``failed`` if any parameter failed (a gradient known to be
    wrong outweighs one that could not be judged), else ``inconclusive`` if any was,
    else ``passed``."""
    if "failed" in statuses:
        return "failed"
    if "inconclusive" in statuses:
        return "inconclusive"
    return "passed"


def summarise(
    results: list[Result],
    analytic: list[Array],
    evaluations: int,
    start: float,
    options: dict[str, Any],
    sigma: float,
    notes: list[str],
) -> Report:
    """The report of an entrywise check (full or sample mode).

    Args:
        results: each parameter's comparison, in the parameters' order.
        analytic: each parameter's analytic gradient, shaped like it.
        evaluations: how many times the cost was called.
        start: ``time.perf_counter()`` when the check started.
        options: the options the report records; its ``resolved_mode`` is the
            report's ``mode`` (the same record :func:`inconclusive` gets).
        sigma: the cost's measured noise.
        notes: messages from before the comparison (how the gradient was read).

    Returns:
        The :class:`~gradcheck.Report`.
    """
    params: dict[str, ParameterResult] = {}
    all_a, all_n, worst = [], [], []
    messages = list(notes)
    numeric_full = {
        name: c.numeric.reshape(leaf.shape)
        for name, leaf, c, idx in results
        if idx.size == leaf.size
    }
    for (name, leaf, c, idx), g in zip(results, analytic):
        a = g.reshape(-1)[idx]
        all_a.append(a)
        all_n.append(c.numeric)
        counts = {s: int(np.count_nonzero(c.status == s)) for s in ENTRY_FAILURES}
        status = parameter_status(
            counts["wrong"], counts["uncertain"], counts["nonsmooth"], int(idx.size)
        )
        if status == "passed" and kinks.unbracketed(c):  # kinks.py rule 4: no evidence
            status = "inconclusive"
        diag = None
        if status == "failed" and name in numeric_full:
            others = {n: v for n, v in numeric_full.items() if n != name}
            diag = diagnose(g, numeric_full[name], others, status=c.status, name=name)
        entries = _entries(name, leaf.shape, idx, a, c, WORST)
        errors = np.full(leaf.size, np.nan)
        errors[idx] = c.abs_error
        worst += entries
        params[name] = ParameterResult(
            name=name, shape=tuple(leaf.shape), dtype=str(leaf.real.dtype), status=status,
            difference=difference(a, c.numeric),
            max_abs_error=float(c.abs_error.max()) if idx.size else 0.0,
            checked=int(idx.size), size=int(leaf.size), failed=counts["wrong"],
            nonsmooth=counts["nonsmooth"], uncertain=counts["uncertain"],
            worst=tuple(entries), diagnosis=diag, detection_bound=_bound(c, idx),
            errors=errors.reshape(leaf.shape),
        )  # fmt: skip
        messages += [*kinks.messages(name, c), *c.notes]
        still = int(np.count_nonzero(c.flat & (c.status == "uncertain")))
        if still:
            messages.append(
                f"{name}: the cost returned exactly the same value at every step for "
                f"{still} entries, though the gradient says it should change: its "
                "dependence on them is lost to rounding inside the cost (cancellation, "
                "such as (1e4 + f) − 1e4 in float32) or absent; compute the cost in "
                "float64 to check them"
            )
        if counts["uncertain"] > still:
            messages.append(
                f"{name}: {counts['uncertain'] - still} entries could not be resolved: the "
                f"cost's noise ({sigma:.2g}) or curvature swamps the finite differences there"
            )
    overall = overall_status([p.status for p in params.values()])
    if overall == "inconclusive" and _zero_within_error(results, analytic):
        messages.append(ZERO_GRADIENT)
    diff = difference(np.concatenate(all_a), np.concatenate(all_n))
    return _report(
        overall, diff, params, _worst(worst), evaluations, start, options, sigma, messages
    )


def _report(
    status: Status,
    diff: float,
    params: dict[str, ParameterResult],
    worst: tuple[Entry, ...],
    evaluations: int,
    start: float,
    options: dict[str, Any],
    sigma: float,
    messages: list[str],
) -> Report:
    """The one place an entrywise or inconclusive report is built: its mode is the
    options' ``resolved_mode``, so a report always says how it ran."""
    return Report(
        status=status,
        difference=diff,
        parameters=params,
        worst=worst,
        evaluations=evaluations,
        seconds=time.perf_counter() - start,
        options=dict(options),
        noise=sigma,
        messages=tuple(messages),
        mode=str(options.get("resolved_mode", "full")),
    )


def inconclusive(
    names: list[str],
    leaves: list[Array],
    evaluations: int,
    start: float,
    msg: str,
    options: dict[str, Any],
    notes: list[str],
) -> Report:
    """The report of a check that stopped before comparing any entry (a cost that
    is not deterministic): every parameter ``inconclusive``, with the same options
    (and so the same mode) a finished check would report, and ``notes`` + ``msg``.
    """
    nan = float("nan")
    params = {
        n: ParameterResult(
            name=n,
            shape=tuple(x.shape),
            dtype=str(x.real.dtype),
            status="inconclusive",
            difference=nan,
            max_abs_error=nan,
            checked=0,
            size=int(x.size),
            detection_bound=NO_BOUND,
        )
        for n, x in zip(names, leaves)
    }
    return _report("inconclusive", nan, params, (), evaluations, start, options, 0.0, [*notes, msg])
