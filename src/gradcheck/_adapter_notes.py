"""The adapters' notes on the float64 route's report: precision figures, verdicts moved.

``gradcheck._frameworks`` checks the formula on a float64 copy and the user's
low-precision gradient beside it; these functions write what that found into the
engine's report: each parameter's precision figure (:func:`with_precision`), a
parameter the round-off verdicts could not settle made ``inconclusive``
(:func:`unresolved`), and on the ``mixed`` route a failed parameter whose whole
gradient is round-off made ``inconclusive`` (:func:`roundoff_bound`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from gradcheck._build import overall_status
from gradcheck._numerics import ATOL_ROUNDOFFS, CANCELLATION
from gradcheck._report import ParameterResult, Report, Status
from gradcheck._roundoff_verdict import UNIT as _UNIT
from gradcheck._roundoff_verdict import Analytic

__all__ = ["adapter_words", "figure", "roundoff_bound", "unresolved", "with_precision"]

Array = np.ndarray[Any, Any]


def figure(user: Array, g64: Array) -> float:
    """``max |user − g64| / max |g64|`` (0 when both are zero)."""
    diff = float(np.max(np.abs(user - g64), initial=0.0))
    scale = float(np.max(np.abs(g64), initial=0.0))
    return diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))


def with_precision(
    report: Report,
    user: Analytic,
    g64: dict[str, Array],
    checked: dict[str, Array],
    floor: float,
    reach: dict[str, float] | None = None,
) -> Report:
    """Set each parameter's precision figure and say the largest in a message.

    A parameter whose float64 gradient is itself below ``floor`` (zero in exact
    arithmetic, like a bias before BatchNorm) has no scale to be relative to: its
    figure is recorded but left out of the message, which says so instead. A parameter
    whose user gradient was taken as round-off within ``reach`` of its scale states at
    least that as its detection bound (attack33 H124: a backward wrong by ``1 + R``
    only in the user's dtype passed under a stated bound thousands of times smaller).
    """
    params: dict[str, ParameterResult] = {}
    raised: list[str] = []
    for n, p in report.parameters.items():
        size = figure(user.grads[n], g64[n]) if n in g64 else None
        params[n] = replace(p, precision=size)
        far = (reach or {}).get(n, 0.0)
        if far > p.detection_bound:
            params[n] = replace(params[n], detection_bound=far)
            raised.append(f"{n} ({far:.2g})")
    used = [n for n, p in params.items() if p.precision is not None and checked[n] is g64[n]]
    # in a half dtype the floor (100 round-offs) is most of the largest entry: zero
    # there is one round-off of it, as the reference's rule has it (attack33 H124 note)
    half = _UNIT.get(user.dtype, 0.0) >= _UNIT["float16"]
    at = floor / ATOL_ROUNDOFFS if half else floor
    zero = [n for n in used if float(np.max(np.abs(g64[n]), initial=0.0)) <= at]
    shown = {n: params[n].precision for n in used if n not in zero}
    messages = list(report.messages)
    if zero:
        messages.append(
            f"{', '.join(zero)}: the gradient is zero up to {user.dtype} round-off of the "
            f"model's largest entry, so its {user.dtype} value is all round-off (its "
            "precision figure has no scale of its own)"
        )
    if shown:
        worst = max(shown, key=lambda n: shown[n] or 0.0)
        largest = shown[worst] or 0.0
        why = (
            " (cancellation, e.g. a saturated tanh)"
            if largest > CANCELLATION * _UNIT.get(user.dtype, 0.0)
            else ""
        )
        messages.append(
            f"{user.dtype} round-off of your gradient against the same computation in "
            f"float64: up to {largest:.2g} ({100 * largest:.2g}%) on {worst}{why}; it does "
            "not enter the verdict"
        )
    if raised:
        messages.append(
            f"{', '.join(raised)}: a {user.dtype} gradient this far from the formula, "
            f"relative to its scale, passes as {user.dtype} round-off, so an error made "
            f"only in {user.dtype} below that is not seen: the stated detection bound "
            f"covers it; precision='model' checks the {user.dtype} gradient itself"
        )
    return replace(report, parameters=params, messages=tuple(messages))


def unresolved(
    report: Report, unresolved: dict[str, str], checked: dict[str, Array], g64: dict[str, Array]
) -> Report:
    """A parameter whose difference from float64 cannot be told from round-off
    (``gradcheck._roundoff_verdict``) and whose formula passed: inconclusive, not passed."""
    params, messages = dict(report.parameters), list(report.messages)
    for n, why in unresolved.items():
        p = params.get(n)
        if p is not None and p.status == "passed" and checked[n] is g64[n]:
            params[n] = replace(p, status="inconclusive", diagnosis=None)
            messages.append(why)
    if params == report.parameters:
        return report
    status = overall_status([p.status for p in params.values()])
    return replace(report, status=status, parameters=params, messages=tuple(messages))


def roundoff_bound(report: Report, user: Analytic) -> Report:
    """``mixed`` route: a parameter whose whole gradient is within the model's
    round-off cannot be judged on its own scale; failed there, it is inconclusive."""
    unit = _UNIT.get(user.dtype, 0.0)
    largest = max((float(np.max(np.abs(g), initial=0.0)) for g in user.grads.values()), default=0.0)
    floor = ATOL_ROUNDOFFS * unit * largest
    params, messages = dict(report.parameters), list(report.messages)
    for n, p in report.parameters.items():
        scale = float(np.max(np.abs(user.grads[n]), initial=0.0))
        if p.status == "failed" and scale <= floor:
            params[n] = replace(p, status="inconclusive", diagnosis=None)
            messages.append(
                f"{n}: its gradient (largest entry {scale:.3g}) is within {user.dtype} "
                f"round-off of the model's largest ({largest:.3g}), so its {user.dtype} "
                "gradient cannot be judged on its own scale; fix the float64 copy's "
                "backward so the formula can be checked in float64"
            )
    statuses = {p.status for p in params.values()}
    status: Status = (
        "failed"
        if "failed" in statuses
        else ("inconclusive" if "inconclusive" in statuses else "passed")
    )
    return replace(report, status=status, parameters=params, messages=tuple(messages))


#: The core's advice about its ``grad`` argument, which an adapter's caller does not
#: pass (attack22 C7d), and what to do instead through the adapter.
_CORE_ADVICE = {
    "pass grad as a function and let the cost follow its input's dtype, or compute it in "
    "float64, to see smaller ones": "check in float64 to see smaller ones (precision="
    "'float64', the default, uses a float64 copy where one computes the same loss)",
    "grad was given as values, so they were not re-checked at a nearby smooth point; pass "
    "grad as a function to do that": "the framework's gradient is taken at this point only, "
    "so they were not re-checked at a nearby smooth point; check at another point to "
    "judge them",
}


def adapter_words(message: str) -> str:
    """``message`` with the core's advice about ``grad`` in the adapter's words."""
    for core, own in _CORE_ADVICE.items():
        message = message.replace(core, own)
    return message
