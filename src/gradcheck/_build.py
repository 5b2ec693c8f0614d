"""The one place a :class:`~gradcheck.Report` and its parameter results are made.

Every strategy (entrywise, directional, a check that stopped early, a Jacobian check)
describes what it found as an :class:`Outcome` of :class:`ParameterOutcome` records,
and :func:`build_report` turns that into the report. So every report is made by the
same rules: its ``mode`` is the options' ``resolved_mode`` (a report always says how
it ran, also one that stopped early), its options are a copy, its verdict is
:func:`overall_status` of its parameters unless the strategy states one, and its
worst entries are ranked by :func:`rank` across every parameter.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._report import Diagnosis, Entry, ParameterResult, Report, Status

__all__ = [
    "NO_BOUND",
    "RANK",
    "WORST",
    "Outcome",
    "ParameterOutcome",
    "build_report",
    "overall_status",
    "rank",
]

Array = np.ndarray[Any, Any]
#: How many worst entries a parameter result and the report keep.
WORST = 5
#: The detection bound of a parameter that checked nothing (an empty array, or a check
#: that stopped before comparing): no error, however large, is known to be caught. A
#: bound of 0 would claim the opposite, that every error is. JSON writes it as null
#: (``report.schema.json``), like every non-finite number.
NO_BOUND = math.inf
#: The order of entry statuses in a worst list: a wrong entry is what a reader looks
#: for; an unresolved one makes the verdict inconclusive; one at a kink is kept out
#: of the verdict (its error against the averaged slopes is often the largest of all).
RANK = {"wrong": 0, "uncertain": 1, "nonsmooth": 2, "ok": 3}


class ParameterOutcome(NamedTuple):
    """What a strategy found for one parameter (see :class:`~gradcheck.ParameterResult`
    for the meaning of each field; ``size`` is the product of ``shape``).

    Attributes:
        name: the parameter's name.
        shape: its shape.
        dtype: its dtype, as a string (the real dtype of the checked copy).
        status: its verdict.
        difference: ``‖a − n‖ / (‖a‖ + ‖n‖)`` over what was compared (NaN for nothing).
        checked: how many entries were compared one by one.
        max_abs_error: the largest ``|analytic − numeric|`` of those (NaN for none).
        failed: how many entries are ``wrong``.
        nonsmooth: how many entries sit at a kink.
        uncertain: how many entries could not be resolved.
        worst: its worst entries, already ranked (at most :data:`WORST` are kept).
        diagnosis: the mistake that fits a failed parameter, if any.
        detection_bound: the error this check vouches to catch; :data:`NO_BOUND` when
            nothing is known to be caught.
        errors: per-entry ``|analytic − numeric|`` in the parameter's shape (NaN where
            not checked), for pictures; None when not known entry by entry.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    status: Status
    difference: float
    checked: int
    max_abs_error: float = math.nan
    failed: int = 0
    nonsmooth: int = 0
    uncertain: int = 0
    worst: tuple[Entry, ...] = ()
    diagnosis: Diagnosis | None = None
    detection_bound: float = NO_BOUND
    errors: Array | None = None


def outcome_of(result: ParameterResult) -> ParameterOutcome:
    """A finished result as the outcome it was built from, for a check that reports a
    sub-check's results as its own (rename or extend it with ``_replace``).

    >>> p = ParameterOutcome("x", (2,), "float64", "passed", 0.0, checked=2)
    >>> report = build_report(Outcome([p], 0.0), evaluations=1, start=0.0, options={})
    >>> outcome_of(report.parameters["x"]) == p
    True
    """
    return ParameterOutcome(*(getattr(result, f) for f in ParameterOutcome._fields))


class Outcome(NamedTuple):
    """What a strategy hands to :func:`build_report`.

    Attributes:
        parameters: one record per parameter, in the parameters' order.
        difference: the report's difference over everything compared (NaN for nothing).
        noise: the cost's measured noise (0 when not measured).
        notes: the strategy's messages, in the order a reader should see them.
        status: the verdict, when the strategy decides it (a directional verdict may
            fail with no parameter named); None: :func:`overall_status` of the
            parameters.
        guarantee: the directional guarantee (``report.guarantee``); empty otherwise.
        localisation: what localisation found (``report.localisation``); empty otherwise.
    """

    parameters: tuple[ParameterOutcome, ...]
    difference: float
    noise: float = 0.0
    notes: tuple[str, ...] = ()
    status: Status | None = None
    guarantee: Mapping[str, Any] | None = None
    localisation: Mapping[str, Any] | None = None


def rank(status: Array, abs_error: Array, tolerance: Array) -> Array:
    """Indices from worst to best: by :data:`RANK` of the status, then by error
    relative to tolerance (an error with zero tolerance is infinitely far off), then
    by absolute error; ties keep their order."""
    err = np.nan_to_num(np.asarray(abs_error, dtype=np.float64), nan=-np.inf)
    tol = np.asarray(tolerance, dtype=np.float64)
    with np.errstate(over="ignore"):  # rtol=1e-320: an error 1e320 tolerances off is inf
        ratio = err / np.where(tol > 0, tol, 1.0)
    ratio = np.where(tol > 0, ratio, np.where(err > 0, np.inf, 0.0))
    group = np.array([RANK.get(str(x), len(RANK)) for x in np.asarray(status).tolist()])
    return np.lexsort((-err, -ratio, group))


def _worst(entries: Sequence[Entry]) -> tuple[Entry, ...]:
    """The :data:`WORST` worst of every parameter's worst entries, ranked alike."""
    if not entries:
        return ()
    order = rank(
        np.array([e.status for e in entries], dtype=object),
        np.array([e.abs_error for e in entries], dtype=np.float64),
        np.array([e.tolerance for e in entries], dtype=np.float64),
    )
    return tuple(entries[int(j)] for j in order[:WORST])


def overall_status(statuses: Sequence[Status]) -> Status:
    """The report's verdict: ``failed`` if any parameter failed (a gradient known to be
    wrong outweighs one that could not be judged), else ``inconclusive`` if any was,
    else ``passed``."""
    if "failed" in statuses:
        return "failed"
    if "inconclusive" in statuses:
        return "inconclusive"
    return "passed"


def _parameter(p: ParameterOutcome) -> ParameterResult:
    """The public record of one parameter."""
    return ParameterResult(
        name=p.name,
        shape=tuple(p.shape),
        dtype=p.dtype,
        status=p.status,
        difference=p.difference,
        max_abs_error=p.max_abs_error,
        checked=p.checked,
        size=math.prod(p.shape),
        failed=p.failed,
        nonsmooth=p.nonsmooth,
        uncertain=p.uncertain,
        worst=tuple(p.worst[:WORST]),
        diagnosis=p.diagnosis,
        detection_bound=p.detection_bound,
        errors=p.errors,
    )


def build_report(
    outcome: Outcome,
    *,
    evaluations: int,
    start: float,
    options: Mapping[str, Any],
    notes: Sequence[str] = (),
) -> Report:
    """The report of one check: the only place a ``Report`` or ``ParameterResult`` is made.

    Args:
        outcome: what the strategy found (:class:`Outcome`).
        evaluations: how many times the function was called, all stages together.
        start: ``time.perf_counter()`` when the check started (the report's
            ``seconds`` run from it to now).
        options: the options the report records (copied). Its ``"resolved_mode"``
            (``"full"`` when absent) is the report's ``mode``.
        notes: messages from before the strategy ran (how the derivative was read),
            shown before the outcome's own notes.

    Returns:
        The :class:`~gradcheck.Report`. Its status is ``outcome.status`` or, when that
        is None, :func:`overall_status` of the parameters; its ``worst`` are the
        :data:`WORST` worst of all parameters' worst entries, ranked by :func:`rank`.

    >>> p = ParameterOutcome("x", (2,), "float64", "passed", 0.0, checked=2)
    >>> r = build_report(Outcome((p,), 0.0), evaluations=6, start=time.perf_counter(),
    ...                  options={"resolved_mode": "full"})
    >>> r.status, r.mode, r.parameters["x"].size
    ('passed', 'full', 2)
    """
    params = {p.name: _parameter(p) for p in outcome.parameters}
    if len(params) != len(outcome.parameters):
        names = [p.name for p in outcome.parameters]
        twice = sorted({n for n in names if names.count(n) > 1})
        raise GradcheckError(
            f"two results share the name {twice[0]!r}: the report would keep only one of "
            "them; rename the parameters (or outputs) so that their names differ"
        )
    status = outcome.status or overall_status([p.status for p in params.values()])
    return Report(
        status=status,
        difference=outcome.difference,
        parameters=params,
        worst=_worst([e for p in params.values() for e in p.worst]),
        evaluations=evaluations,
        seconds=time.perf_counter() - start,
        options=dict(options),
        noise=outcome.noise,
        messages=(*notes, *outcome.notes),
        mode=str(options.get("resolved_mode", "full")),
        guarantee=dict(outcome.guarantee or {}),
        localisation=dict(outcome.localisation or {}),
    )
