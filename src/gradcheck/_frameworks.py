"""What the PyTorch and JAX adapters share: precision routes, probes, tolerance, report.

A gradient computed in float32 (or lower) carries its backward pass's round-off (the
guide's saturated ``tanh`` loses 0.9% in float32 with a right formula). So the adapters
separate formula from precision (``docs/frameworks.md``), along one of three routes:

* ``float64`` (default below float64): the analytic gradient of a float64 copy
  against float64 finite differences, by the engine's float64 rule; the user's-dtype
  gradient against its float64 self is :attr:`~gradcheck.ParameterResult.precision`,
  reported, not judged, when :func:`plausible` (round-off can explain it); otherwise
  the user's gradient itself is checked, and fails;
* ``mixed``: the copy's loss agrees but its backward raises: the user's gradient
  against float64 differences, ``rtol =`` :data:`ANALYTIC_RTOL`, every parameter on
  its own scale; one whose gradient is all within the model's round-off is
  ``inconclusive`` rather than ``failed`` (issue 11 §3);
* ``same``: one dtype throughout (a float64 model, ``precision="model"``, or the copy
  raises or disagrees, :data:`CONSISTENT`).

>>> analytic_rtol("float32"), analytic_rtol("float64")
(0.0001, None)
>>> agrees(1.0000001, 1.0)
True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal, NamedTuple

import numpy as np

from gradcheck._adapter_notes import adapter_words as _adapter_words
from gradcheck._adapter_notes import roundoff_bound, unresolved, with_precision
from gradcheck._adapter_probe import first_value, probe_batched
from gradcheck._adapter_roundoff import within_loss_roundoff
from gradcheck._adapter_verdicts import Judged, judge_float64
from gradcheck._engine import check
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng
from gradcheck._modes import Directional as DirectionalMode
from gradcheck._modes import resolve_mode
from gradcheck._numerics import ATOL_ROUNDOFFS, PLAUSIBLE
from gradcheck._parallel import Probed
from gradcheck._report import Report
from gradcheck._roundoff_verdict import UNIT as _UNIT
from gradcheck._roundoff_verdict import Analytic, Gradient, Side
from gradcheck._tolerances import plausible

__all__ = [
    "ANALYTIC_RTOL",
    "ATOL_ROUNDOFFS",
    "CONSISTENT",
    "PLAUSIBLE",
    "PRECISIONS",
    "Analytic",
    "Gradient",
    "Side",
    "agrees",
    "analytic_rtol",
    "check_adapted",
    "check_precision",
    "first_value",
    "plausible",
    "probe_batched",
]

Array = np.ndarray[Any, Any]
Route = Literal["float64", "mixed", "same"]
#: ``precision`` values: ``"float64"`` (the formula checked in float64, the default) or
#: ``"model"`` (everything in the model's own dtype).
PRECISIONS = ("float64", "model")
#: ``rtol`` for an analytic gradient computed in a low-precision dtype against float64
#: finite differences (the ``mixed`` route): a float32 backward pass is good to a few
#: hundred round-offs relative to the gradient's scale (``n`` terms summed in float32
#: carry errors up to ``n · u``, ``√n · u`` typically; Higham, *Accuracy and Stability
#: of Numerical Algorithms*, §4.2); 1e-4 is about 840 float32 round-offs, ten times
#: tighter than the engine's float32 default. For the half types about 10 round-offs.
ANALYTIC_RTOL = {"float32": 1e-4, "float16": 1e-2, "bfloat16": 6e-2}
#: The float64 copy must compute the same loss as the model to this relative accuracy
#: (a float32 forward pass of a small model is good to ~1e-6); a larger difference
#: means the copy is not the same function (dtype-dependent code or randomness), and
#: the check falls back to the model's dtype rather than compare two functions.
CONSISTENT = 1e-3


def check_precision(precision: object) -> str:
    """Return ``precision`` if it is known, else raise naming the valid ones."""
    if precision not in PRECISIONS:
        raise GradcheckError(
            f"unknown precision {precision!r}: choose one of {', '.join(map(repr, PRECISIONS))}"
        )
    return str(precision)


def analytic_rtol(dtype: str) -> float | None:
    """The ``rtol`` for an analytic gradient of ``dtype`` (``None``: engine default)."""
    return ANALYTIC_RTOL.get(dtype)


def agrees(user: float, numeric: float, dtype: str = "float64") -> bool:
    """Whether the numeric side's loss is the user's loss, computed in ``dtype``: to
    :data:`CONSISTENT` relative, or 8 of ``dtype``'s epsilons for the half types."""
    rel = max(CONSISTENT, 8 * _UNIT.get(dtype, 0.0))
    return abs(user - numeric) <= rel * max(abs(user), abs(numeric), 1e-300)


def _no_numpy(dtype: str) -> bool:
    try:
        return not np.issubdtype(np.dtype(dtype), np.floating)
    except TypeError:
        return True


class _Choice(NamedTuple):
    """The route taken, its side, the gradient to check, and why (for the report).

    ``gap``: on the ``same`` route after a float64 copy whose loss differs from the
    user's, ``|loss − loss64|``, the user's loss's measured round-off (else 0).
    """

    route: Route
    side: Side
    grads: dict[str, Array]
    g64: dict[str, Array]
    notes: list[str]
    gap: float = 0.0


class _Refusal(NamedTuple):
    """Why the float64 copy cannot be used, and ``|loss − loss64|`` where they differ."""

    why: str
    gap: float = 0.0


def _float64_route(
    make: Callable[[str], Side], user: Analytic, rng: GlobalRng
) -> _Choice | _Refusal:
    """The ``float64`` or ``mixed`` route, or why the float64 copy cannot be used."""
    side = make("float64")
    with side.scope():
        rng.reset()
        try:
            value, g = side.gradient(side.params)
        except Exception as exc:
            backward = f"{type(exc).__name__}: {exc}"
            value, g = first_value(side.cost, side.params, rng), {}
            if not np.isfinite(value):
                return _Refusal(f"{side.what} could not be used (it raised {backward})")
    notes: list[str] = []
    if not agrees(user.value, value, user.dtype):
        why = f"{side.what} could not be used (its loss {value!r} differs from {user.value!r})"
        differs = _constants(side, user, rng) if g and _no_numpy(user.dtype) else ""
        if not differs:
            return _Refusal(why, abs(float(user.value) - float(value)))
        side, notes = side._replace(differs=differs), [_constants_note(side, user, value)]
    if not g:
        note = (
            f"the backward pass of {side.what} raised {backward}; the {user.dtype} "
            "gradient is checked against float64 finite differences"
        )
        return _Choice("mixed", side, user.grads, {}, [note])
    g64 = {n: np.zeros_like(user.grads[n]) if x is None else x for n, x in g.items()}
    return _Choice("float64", side, user.grads, g64, notes)


def _constants(side: Side, user: Analytic, rng: GlobalRng) -> str:
    """Why a float64 copy whose loss is not the user's is the user's computation all the
    same, or ``""``: run with the user's dtypes and forward constants
    (:attr:`~gradcheck._roundoff_verdict.Side.replayed` with floats) its loss is the
    user's bit for bit, so what differs is constants the forward takes from the dtype
    (``finfo(x.dtype).eps``, GELU's ``approximate`` chosen by dtype). For a dtype NumPy
    has not (bfloat16), which cannot be checked in its own dtype instead: that right
    function raised, or passed, by the seed (trust35: 3 seeds XPX)."""
    if side.replayed is None:
        return ""
    with side.scope():
        rng.reset()
        try:
            value, _ = side.replayed(side.params, True)
        except Exception:  # no replay: the copy is refused as before
            return ""
    if value != user.value:
        return ""
    return (
        f"the float64 copy computes another loss than your {user.dtype} one (constants "
        f"your forward takes from the dtype, as an eps of finfo(x.dtype))"
    )


def _constants_note(side: Side, user: Analytic, value: float) -> str:
    """The report's note on a copy taken by :func:`_constants`."""
    dtype = user.dtype
    return (
        f"the float64 side ({side.what}) computes another loss ({value!r}) than yours "
        f"({user.value!r}), but "
        f"run in your dtypes with your forward's constants (an eps of finfo(x.dtype), a "
        f"choice made by the dtype) it is yours bit for bit: the formula is checked on "
        f"the copy, with float64's constants, and your {dtype} gradient beside it is "
        f"never failed for its difference ({dtype} cannot be checked in its own dtype: "
        f"NumPy has no {dtype} type)"
    )


def _choose(
    make: Callable[[str], Side], user: Analytic, precision: str, rng: GlobalRng, unused: str | None
) -> _Choice:
    """Pick the route (module doc); raise ``unused`` when the loss ignores its input."""
    fallback, gap = None, 0.0
    if user.dtype != "float64" and precision == "float64":
        chosen = _float64_route(make, user, rng)
        if isinstance(chosen, _Choice):
            _unused(chosen.g64, user, unused)
            return chosen
        fallback, gap = chosen
    user = user._replace(dtype=user.given or user.dtype)  # a stage's: at the inputs' dtype
    if _no_numpy(user.dtype):
        if fallback is None:
            raise GradcheckError(
                f"precision='model' cannot check {user.dtype}: NumPy has no {user.dtype} "
                "type. Leave precision at its default, 'float64', which checks the formula "
                "on a float64 copy and reports the round-off of your dtype."
            )
        raise GradcheckError(
            f"{fallback}, and {user.dtype} cannot be checked in its own dtype (NumPy has "
            f"no {user.dtype} type): make the loss work when the parameters and inputs "
            "are float64 (no dtype written into it)"
        )
    side = make("model")
    notes = [] if fallback is None else [f"{fallback}; checked in {user.dtype}"]
    g: dict[str, Array | None] = {}
    if unused is not None:
        with side.scope():
            rng.reset()
            try:
                _, g = side.gradient(side.params)
            except Exception:  # the engine's evaluations will say what fails
                g = {}
    _unused({n: np.zeros(1) if x is None else x for n, x in g.items()}, user, unused)
    return _Choice("same", side, user.grads, {}, notes, gap if math.isfinite(gap) else 0.0)


def _unused(side_grads: dict[str, Array], user: Analytic, message: str | None) -> None:
    """Raise ``message`` when the loss ignores every parameter it is given but the
    user's own pass has a gradient: it computes the loss from something else."""
    if message is None or not side_grads or any(np.any(g != 0) for g in side_grads.values()):
        return
    if any(np.any(g != 0) for g in user.grads.values()):
        raise GradcheckError(message)


def check_adapted(
    make: Callable[[str], Side],
    user: Analytic,
    *,
    precision: str,
    rng: GlobalRng,
    notes: Sequence[str],
    options: dict[str, Any],
    start: float,
    unused: str | None,
) -> Report:
    """Choose the route, probe vectorisation, run the engine, annotate the report.

    Args:
        make: ``make("float64")`` or ``make("model")`` builds a :class:`Side`.
        user: the user's own analytic pass.
        precision: ``"float64"`` or ``"model"`` (checked).
        rng: the user's global RNG states, saved on entry to the adapter; they are put
            back before every call of the user's code and before the engine saves them.
        notes: messages to add to the report.
        options: the user's other options, forwarded to the engine.
        start: ``time.perf_counter()`` on entry to the adapter (the report's seconds
            count the adapter's own passes).
        unused: the usage error raised when the loss ignores the parameters it is
            given although the user's pass has a gradient (``None``: not probed; a
            function of its parameters alone, as in JAX, cannot make that mistake).
    """
    choice = _choose(make, user, precision, rng, unused)
    if choice.route == "same" and user.given:  # as _choose checked it
        user = user._replace(dtype=user.given)
    side, grads = choice.side, dict(choice.grads)
    notes = [*notes, *choice.notes]
    judged = Judged(0.0, grads, [], {})
    if choice.route == "float64":
        judged = judge_float64(
            make, choice.side, choice.g64, user, rng, options.get("complex_convention", "conjugate")
        )
        grads, notes = judged.grads, [*notes, *judged.notes]
    numeric = "float64" if choice.route != "same" else user.dtype
    u = float(np.finfo(np.dtype(numeric)).eps)
    with side.scope():
        batched: Callable[[Any], Any] | None = None
        if (
            options.get("executor") is None
            and options.get("execution") is None
            and not _directional(options, side.params)
        ):
            j0 = first_value(side.cost, side.params, rng)
            why = probe_batched(side.batched, side.cost, side.params, j0, u, rng)
            if why is None:
                batched = Probed(side.batched)
            else:
                notes.append(f"evaluations are not vectorised ({side.vmap}: {why})")
        report = _run_engine(side, grads, choice.route, user, batched, notes, options, rng)
    if choice.route == "float64":
        report = with_precision(report, user, choice.g64, grads, judged.floor, judged.reach)
        report = unresolved(report, judged.unresolved, grads, choice.g64)
    if choice.route == "mixed":
        report = roundoff_bound(report, user)
    if choice.gap > 0:
        report = within_loss_roundoff(report, side.params, choice.gap, user.dtype, options)
    info = {
        "precision": "model" if choice.route == "same" and user.dtype != "float64" else "float64",
        "analytic_dtype": "float64" if choice.route == "float64" else user.dtype,
        "user_dtype": user.dtype,
        "numeric_dtype": numeric,
        "route": choice.route,
        "vectorised": batched is not None,
    }
    return replace(report, options={**report.options, **info}, seconds=time.perf_counter() - start)


def _directional(options: dict[str, Any], params: dict[str, Array]) -> bool:
    """Whether the engine runs the directional check: its stacks would be one probe's 4
    points, and probing ``vmap`` costs more than the 8 serial evaluations it would save
    (docs/evaluations.md). A rule on the mode, not on timings: the same report whatever
    the load. A mode the engine refuses is left to it (it names the option)."""
    total = sum(int(np.size(a)) for a in params.values())
    try:
        return isinstance(resolve_mode(options.get("mode", "auto"), total), DirectionalMode)
    except GradcheckError:
        return False


def _run_engine(
    side: Side,
    grads: dict[str, Array],
    route: Route,
    user: Analytic,
    batched: Callable[[Any], Any] | None,
    notes: list[str],
    options: dict[str, Any],
    rng: GlobalRng,
) -> Report:
    """The engine's check with the route's tolerance; notes say what was compared."""
    opts = dict(options)
    tolerance = "the engine's error-estimate rule"
    rtol = analytic_rtol(user.dtype)
    given = opts.get("rtol") is not None or opts.get("atol") is not None
    if route == "mixed" and rtol is not None and not given:
        opts["rtol"] = rtol
        tolerance = (
            f"rtol={rtol:g} for a {user.dtype} analytic gradient, each parameter "
            "on its own gradient scale"
        )
    elif given:
        tolerance = "the rtol/atol given"
    if batched is not None:
        opts["batched"] = batched
    analytic = {"float64": "float64 (the same formula)", "mixed": user.dtype, "same": user.dtype}[
        route
    ]
    numeric = user.dtype if route == "same" else "float64"
    rng.reset()
    report = check(side.cost, side.params, grads, **opts)
    notes = [
        *notes,
        f"analytic gradient in {analytic}, finite differences in {numeric}; tolerance: {tolerance}",
    ]
    own = tuple(_adapter_words(m) for m in report.messages)
    return replace(report, messages=(*own, *notes))
