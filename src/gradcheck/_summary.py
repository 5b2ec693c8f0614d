"""Turning per-entry comparisons into a :class:`~gradcheck.Report`.

A parameter fails if any entry is ``wrong``, is inconclusive if none is wrong but some
are ``uncertain`` (or every entry sits at a kink), and passes otherwise; the report
takes the worst of its parameters (``docs/numerics.md``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from gradcheck import _compare as cmp
from gradcheck._diagnose import diagnose
from gradcheck._report import Entry, ParameterResult, Report, Status

__all__ = ["WORST", "ZERO_GRADIENT", "difference", "inconclusive", "summarise"]

Array = np.ndarray[Any, Any]
ENTRY_FAILURES = ("wrong", "nonsmooth", "uncertain")
#: How many worst entries a parameter result and the report keep.
WORST = 5
#: One parameter's comparison: (name, private leaf, comparison, checked flat indices).
Result = tuple[str, Array, cmp.Comparison, Array]


def _entries(name: str, shape: tuple[int, ...], idx: Array, a: Array, c: cmp.Comparison,
             k: int) -> list[Entry]:  # fmt: skip
    """The ``k`` worst entries: non-ok first, then by error relative to tolerance."""
    ratio = c.abs_error / np.where(c.tolerance > 0, c.tolerance, np.inf)
    rank = ratio + np.where(c.status == "ok", 0.0, 1e300)
    rank = np.where(np.isnan(rank), 0.0, rank)
    order = np.argsort(-rank, kind="stable")[:k]
    out = []
    for j in order:
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
    den = float(np.linalg.norm(a) + np.linalg.norm(n))
    return float(np.linalg.norm(a - n)) / den if den > 0 else 0.0


def summarise(
    results: list[Result],
    analytic: list[Array],
    evaluations: int,
    start: float,
    options: dict[str, Any],
    sigma: float,
    notes: list[str],
) -> Report:
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
        judged = idx.size - counts["nonsmooth"]
        status: Status = "failed" if counts["wrong"] else "passed"
        if status == "passed" and (counts["uncertain"] or (idx.size and judged == 0)):
            status = "inconclusive"
        diag = None
        if status == "failed" and name in numeric_full:
            others = {n: v for n, v in numeric_full.items() if n != name}
            diag = diagnose(g, numeric_full[name], others)
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
            worst=tuple(entries), diagnosis=diag, detection_bound=c.detection_bound,
            errors=errors.reshape(leaf.shape),
        )  # fmt: skip
        if counts["nonsmooth"]:
            messages.append(
                f"{name}: {counts['nonsmooth']} entries sit at a kink (one-sided derivatives "
                "differ); they are kept out of the verdict"
            )
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
    statuses = {p.status for p in params.values()}
    overall: Status = "failed" if "failed" in statuses else (
        "inconclusive" if "inconclusive" in statuses else "passed")  # fmt: skip
    if overall == "inconclusive" and _zero_within_error(results, analytic):
        messages.append(ZERO_GRADIENT)
    worst.sort(key=lambda e: (e.status == "ok", -(e.abs_error / e.tolerance if e.tolerance else 0)))
    return Report(
        status=overall,
        difference=difference(np.concatenate(all_a), np.concatenate(all_n)),
        parameters=params,
        worst=tuple(worst[:WORST]),
        evaluations=evaluations,
        seconds=time.perf_counter() - start,
        options=options,
        noise=sigma,
        messages=tuple(messages),
    )


def inconclusive(names: list[str], leaves: list[Array], evaluations: int, start: float,
                  msg: str, method: str, eps: float | None, seed: int) -> Report:  # fmt: skip
    nan = float("nan")
    params = {
        n: ParameterResult(n, tuple(x.shape), str(x.real.dtype), "inconclusive", nan, nan, 0,
                           int(x.size))
        for n, x in zip(names, leaves)
    }
    return Report("inconclusive", float("nan"), params, (), evaluations,
                  time.perf_counter() - start, {"method": method, "eps": eps, "seed": seed},
                  messages=(msg,))  # fmt: skip


