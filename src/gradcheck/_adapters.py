"""What ``check_function`` of the torch and JAX adapters shares: modes, outputs, consistency.

A function of arrays with several outputs has one derivative per output, and two ways
to compute it in autodiff: reverse mode (a VJP, the backward) and forward mode (a JVP).
``check_function`` checks each requested mode for each floating output on its own
(``Run``): the scalar ``<out_k, w_k>`` with a random cotangent ``w_k`` is checked
against finite differences, its gradient computed by the mode's rule, so a wrong rule
is named by mode, output and input. :func:`combine` makes one report of the runs.

With both modes, :func:`consistency` also compares the two rules with each other, with
no finite differences: ``uᵀ(J v) = (uᵀJ) v`` for random ``u`` and ``v``, exact up to
round-off (``gradcheck._adapter_consistency``, with the forward rule's
:func:`linearity`), so a ``jvp`` that disagrees with its backward is caught even where
finite differences are too noisy to see it.

>>> check_modes(["fwd", "rev"])
('fwd', 'rev')
>>> run_name("fwd", 1, True, "input0"), run_name("rev", 0, False, "input0")
('fwd/out[1]/input0', 'input0')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal, NamedTuple

import numpy as np

from gradcheck._adapter_consistency import (
    Retried,
    consistency,
    linearity,
    magnitudes,
    retry_failed,
)
from gradcheck._build import WORST, Outcome, build_report, overall_status, rank
from gradcheck._consistency import Consistency
from gradcheck._engine import NOT_DETERMINISTIC
from gradcheck._errors import GradcheckError
from gradcheck._jacdir import cotangent as shared_cotangent
from gradcheck._jacreport import consistency_result
from gradcheck._options import Options
from gradcheck._report import Entry, ParameterResult, Report

__all__ = [
    "MODES",
    "Consistency",
    "Mode",
    "NoForward",
    "Options",
    "Retried",
    "Run",
    "check_modes",
    "choose_modes",
    "combine",
    "consistency",
    "fair_share",
    "linearity",
    "magnitudes",
    "require_entries",
    "retry_failed",
    "run_name",
]

Array = np.ndarray[Any, Any]
Mode = Literal["rev", "fwd"]
#: ``modes`` values: ``"rev"`` (reverse mode: the VJP, a backward) and ``"fwd"``
#: (forward mode: the JVP).
MODES: tuple[Mode, ...] = ("rev", "fwd")


#: The linearity check's result name in a forward-only report.
LINEARITY = "linearity: jvp"


class NoForward(NamedTuple):
    """Why forward mode did not run on ``fn``: what one probing JVP raised.

    ``missing`` tells the two cases apart: ``fn`` has no forward mode (a torch
    ``Function`` without a ``jvp`` raises ``NotImplementedError``, a JAX ``custom_vjp``
    a ``TypeError``), so the default ``modes`` is ``("rev",)``; or its forward-mode
    rule exists and raised, a bug reported as an error, never skipped.
    """

    error: str
    missing: bool
    unable: str = ""  # why fn cannot run under the check's forward AD at all, if so


class Run(NamedTuple):
    """One mode's check of one output: its report, and the names it checked under."""

    mode: Mode
    output: int
    inputs: tuple[str, ...]
    report: Report


def check_modes(modes: object) -> tuple[Mode, ...] | None:
    """``modes`` as a tuple (``None``: what the function supports), or a clear error."""
    if modes is None:
        return None
    if isinstance(modes, str):
        modes = (modes,)
    if not isinstance(modes, (tuple, list)) or not modes:
        raise GradcheckError(
            f"modes={modes!r}: give a tuple of 'rev' (reverse mode, the backward) and/or "
            "'fwd' (forward mode, the jvp), e.g. modes=('rev', 'fwd')"
        )
    bad = [m for m in modes if m not in MODES]
    if bad or len(set(modes)) != len(modes):
        what = f"unknown mode {bad[0]!r}" if bad else "a mode given twice"
        raise GradcheckError(
            f"modes={tuple(modes)!r} has {what}: choose from 'rev' (reverse mode, the "
            "backward) and 'fwd' (forward mode, the jvp), each at most once"
        )
    return tuple(modes)


def fair_share(z: Array, f0: Array, moved: Array, eps: float) -> Array | None:
    """A real output's cotangent draw ``z`` with every entry's fair share (attack20 A7).

    With plain normal draws, an output entry whose derivative is 1e9 swamps the others
    in ``<out, w>``: a sign-flipped rule on every other entry is below the fold's
    tolerance. As in ``check_jacobian`` (:func:`gradcheck._jacdir.cotangent`), each
    entry's draw is divided by its derivative scale, ``|f(θ + w₀) − f(θ)|`` along one
    random step ``w₀`` (``moved``), floored at its round-off (``eps``); the largest
    weight is 1. ``None`` where ``moved`` is unusable (not finite, another shape).
    """
    f0, moved = np.asarray(f0, np.float64).reshape(-1), np.asarray(moved, np.float64)
    if moved.size != f0.size or not np.all(np.isfinite(moved)):
        return None
    u = shared_cotangent(z.reshape(-1), moved.reshape(-1) - f0, float(eps), f0)  # one u: no array
    top = float(np.max(np.abs(u), initial=0.0))
    shared: Array = (u / top if top > 0 else u).reshape(z.shape)
    return shared


def require_entries(sizes: dict[str, int]) -> None:
    """Raise, naming them, when every checked tensor (by name: its entry count) is
    empty: there is nothing to check (``torch.autograd.gradcheck`` passes it vacuously;
    a report of no entry would claim a check that never ran)."""
    if not sizes or any(sizes.values()):
        return
    names = list(sizes)
    what = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    verb = "has" if len(names) == 1 else "have"
    raise GradcheckError(
        f"{what} {verb} no entries (size 0): there is nothing to check; pass at least one "
        "tensor with an entry"
    )


class Chosen(NamedTuple):
    """What :func:`choose_modes` chose: the modes to check, and the report's notes
    on the choice (none where every mode asked for, or supported, runs)."""

    modes: tuple[Mode, ...]
    notes: list[str]


def choose_modes(
    wanted: tuple[Mode, ...] | None, probe: NoForward | None, remedy: str, broken: str
) -> Chosen:
    """The modes to check and a note on the choice.

    Args:
        wanted: the checked ``modes`` option (``None``: not given).
        probe: why forward mode did not run on this function (``None``: it ran).
        remedy: what gives a function forward mode, for the error and the note.
        broken: the forward rule's name and what to look for when it raises (a bug).

    Raises:
        GradcheckError: ``"fwd"`` asked for where forward mode cannot run, or the
            function's forward-mode rule raised (whatever ``modes`` asked: a rule that
            crashes is a bug to report, not a mode to skip).
    """
    if probe is None:
        return Chosen(wanted or MODES, [])
    error = probe.error.rstrip(".")
    if probe.unable:  # not fn's rule: the framework cannot run fn in forward mode
        cause = f"fn cannot run under forward AD: it raised {error}; {probe.unable}"
        if wanted is not None and "fwd" in wanted:
            raise GradcheckError(f"modes={wanted!r} asks for forward mode, but {cause}")
        return Chosen(wanted or ("rev",), [f"forward mode not checked: {cause}"])
    if not probe.missing:
        raise GradcheckError(
            f"{broken.format(error=error)}; fix it, or check modes=('rev',) to skip forward mode"
        )
    if wanted is not None and "fwd" in wanted:
        raise GradcheckError(
            f"modes={wanted!r} asks for forward mode, but fn's forward-mode derivative "
            f"raised {error}: {remedy}, or check modes=('rev',)"
        )
    if wanted is not None:
        return Chosen(wanted, [])
    return Chosen(
        ("rev",),
        [
            f"forward mode not checked: fn's forward-mode derivative raised {error} "
            f"(modes defaults to what fn supports: ('rev',)); {remedy} to check it too"
        ],
    )


def run_name(mode: Mode, output: int, several: bool, name: str) -> str:
    """A checked parameter's name: the input's, under its output and mode.

    ``"input0"`` for a reverse check of a function with one floating output (the
    adapters' names before forward mode), ``"fwd/out[1]/input0"`` in general.
    """
    parts = [*(["fwd"] if mode == "fwd" else []), *([f"out[{output}]"] if several else [])]
    return "/".join([*parts, name])


def combine(
    runs: Sequence[Run],
    notes: Sequence[str],
    agreement: Consistency | None,
    rules: dict[Mode, str],
    seconds: float,
    linear: Consistency | None = None,
) -> Report:
    """One report of the runs: every run's parameters, the worst entries of all, the
    runs' messages once each, a line naming what is wrong, and the consistency verdict.

    Args:
        runs: the checks made, in order.
        notes: the adapter's own notes (how ``modes`` was chosen, ...).
        agreement: the JVP–VJP comparison, when both modes ran.
        rules: what each mode runs, for messages (``"the jvp (forward AD)"``).
        seconds: the adapter's whole time.
        linear: the forward rule's linearity check (:func:`linearity`), where run.
    """
    first = runs[0].report
    params = {n: p for r in runs for n, p in r.report.parameters.items()}
    entries = [e for r in runs for e in r.report.worst]
    messages = list(dict.fromkeys(m for r in runs for m in r.report.messages))
    messages += [*notes, *_wrong(runs, rules)]
    status = overall_status([r.report.status for r in runs])
    # fn that does not repeat ran its two rules on different draws (attack23 D5)
    judged = not any(m.startswith(NOT_DETERMINISTIC) for r in runs for m in r.report.messages)
    if agreement is not None:
        messages.append(_agreement_text(agreement, rules, judged))
        params.update(_agreement_result(agreement, judged=judged))
        if agreement.wrong and judged:
            status = "failed"
    if linear is not None:
        params.update(_agreement_result(linear, LINEARITY, judged))
        if linear.wrong and judged:
            messages.append(_nonlinear_text(linear, rules))
            status = "failed"
    several = len(runs) > 1
    return replace(
        first,
        status=status,
        difference=max(r.report.difference for r in runs),
        parameters=params,
        worst=tuple(_ranked(entries)[:WORST]),
        evaluations=sum(r.report.evaluations for r in runs),
        seconds=seconds,
        options={
            **first.options,
            "modes": sorted({r.mode for r in runs}, key=MODES.index),
            **({"consistency": not agreement.wrong} if agreement is not None and judged else {}),
        },
        noise=max(r.report.noise for r in runs),
        messages=tuple(messages),
        localisation=_localisation(runs) if several else first.localisation,
    )


def _wrong(runs: Sequence[Run], rules: dict[Mode, str]) -> list[str]:
    """One line per failing mode: which outputs, and which inputs, are wrong."""
    lines = []
    outputs = sorted({r.output for r in runs})
    for mode in MODES:
        mine = [r for r in runs if r.mode == mode]
        bad = [
            (r.output, n)
            for r in mine
            for n, p in r.report.parameters.items()
            if p.status == "failed"
        ]
        if not bad:
            continue
        outs = sorted({o for o, _ in bad})
        names = sorted({n.rsplit("/", 1)[-1] for _, n in bad})
        inputs = sorted({n.rsplit("/", 1)[-1] for r in mine for n in r.inputs})
        of = (
            "every output"
            if outs == outputs and len(outputs) > 1
            else ", ".join(f"out[{o}]" for o in outs)
        )
        wrt = "every input" if names == inputs and len(inputs) > 1 else ", ".join(names)
        others = [m for m in MODES if m != mode and any(r.mode == m for r in runs)]
        agree = [m for m in others if all(r.report.status != "failed" for r in runs if r.mode == m)]
        tail = f"; {rules[agree[0]]} agrees with finite differences" if agree else ""
        lines.append(f"{rules[mode]} is wrong: the derivative of {of} with respect to {wrt}{tail}")
    return lines


def _agreement_text(c: Consistency, rules: dict[Mode, str], judged: bool = True) -> str:
    """The consistency check's line for the report, naming the framework's rules (not
    ``judged``: fn does not repeat, so the rules' runs saw different draws)."""
    if not judged:
        return (
            f"{rules['fwd']} and {rules['rev']} not compared: fn does not repeat (see "
            "above), so the two rules ran on different draws of its random numbers"
        )
    if not c.wrong:
        return (
            f"{rules['fwd']} and {rules['rev']} agree: uᵀ(J v) = (uᵀJ) v for "
            f"{len(c.values)} random pairs (u, v), to round-off"
        )
    k = c.worst()  # an allowance that underflowed to 0 is no division (attack20 A16)
    (forward, reverse), tolerance = c.values[k], c.tolerance[k]
    return (
        f"{rules['fwd']} and {rules['rev']} disagree: uᵀ(J v) = {forward:.6g} by the "
        f"forward rule but (uᵀJ) v = {reverse:.6g} by the reverse rule, for random u, v "
        f"(tolerance {tolerance:.2g}, round-off only): one of the two rules is wrong"
    )


def _nonlinear_text(c: Consistency, rules: dict[Mode, str]) -> str:
    """The linearity check's line for a report it fails."""
    k = c.worst()
    (direct, assembled), tolerance = c.values[k], c.tolerance[k]
    return (
        f"{rules['fwd']} is not linear in its tangent: uᵀ(J v) = {direct:.6g} by the rule "
        f"at a random tangent v but {assembled:.6g} by the Jacobian it gives on basis "
        f"tangents (tolerance {tolerance:.2g}, round-off only): a forward rule must be "
        "linear in t (abs(t), t**2 or a branch on t's sign are not)"
    )


def _agreement_result(
    c: Consistency, name: str | None = None, judged: bool = True
) -> dict[str, ParameterResult]:
    """The consistency check as a result of its own (``"consistency: jvp vs vjp"``, as
    ``check_jacobian`` reports it, or ``name``), made by the one report builder;
    ``inconclusive`` where not ``judged`` (fn does not repeat)."""
    result = consistency_result(c)
    if not judged:
        result = result._replace(status="inconclusive", failed=0, diagnosis=None)
    outcome = Outcome((result if name is None else result._replace(name=name),), math.nan)
    return build_report(outcome, evaluations=0, start=0.0, options={}).parameters


def _localisation(runs: Sequence[Run]) -> dict[str, Any]:
    """The runs' directional localisations as one: pinned entries and regions joined."""
    found = [r.report.localisation for r in runs if r.report.localisation]
    if not found:
        return {}
    return {
        "evaluations": sum(int(f.get("evaluations", 0)) for f in found),
        "exhausted": any(bool(f.get("exhausted", False)) for f in found),
        "pinned": [p for f in found for p in f.get("pinned", [])],
        "regions": [g for f in found for g in f.get("regions", [])],
    }


def _ranked(entries: Sequence[Entry]) -> list[Entry]:
    """``entries`` from worst to best, ranked as a report's worst list."""
    if not entries:
        return []
    status = np.array([e.status for e in entries])
    order = rank(
        status, np.array([e.abs_error for e in entries]), np.array([e.tolerance for e in entries])
    )
    return [entries[int(j)] for j in order]
