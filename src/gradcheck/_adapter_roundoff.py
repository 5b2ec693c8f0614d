"""Is a low-precision gradient's difference from its float64 self round-off? Measured.

The adapters check the formula on a float64 copy and compare the user's float32
gradient ``g32`` with its float64 self ``g64`` (``gradcheck._frameworks``). Round-off
and code that acts only in float32 (a tensor hook, a ``custom_vjp`` whose backward
tests the dtype) can both make ``d = g32 − g64`` a few percent of the gradient: a
saturated ``tanh`` loses several percent with a right formula, a hook ``g · 1.01``
loses 1%. Their size cannot tell them apart; their behaviour can. Round-off depends
on how every intermediate value happens to round: move the parameters far enough
that those values round anew and ``d`` takes a new, unrelated value. Code acting in
float32 computes a smooth function of the parameters: ``d`` moves with them, stays
the same or stays proportional to the gradient (a hook that scales it).

So :func:`measure` evaluates both gradients at :data:`POINTS` nudged copies of the
parameters (each entry moved by its own random share of the nudge, so that no two
points move ``g64`` alike), at the smallest relative nudge (:data:`NUDGES`) that moves
some entries of ``g64`` by :data:`MOVES` times their own ``|d|``, and asks whether the
discrepancies of those entries at the nudged points are explained by ``d`` itself
(constant) or by ``d`` plus a multiple of the gradient's move (a scaling by at most
:data:`SCALING`): a residual above :data:`UNEXPLAINED` of ``|d|`` is round-off; below
it the difference is systematic. Each entry is judged only where it moved: a flat
entry (``cos`` near 0) keeps its rounding under any nudge, and a difference that
carries most of ``|d|`` there would otherwise look constant (attack21 B4: a 5% hook
passed; a flat entry's 8% round-off beside a moving one was called systematic).
Where no nudge moves any entry enough (a gradient that does not depend on the
parameters), nothing is measured; a nudged evaluation that raises ends the
measurement, and the adapter says so in the report.

>>> import numpy as np
>>> g = lambda p: {"w": np.cos(p["w"])}
>>> hook = Probe(lambda p: {"w": 1.01 * np.cos(p["w"])}, g, {"w": np.linspace(-1, 1, 5)})
>>> measure(hook, {"w": 0.01 * np.cos(np.linspace(-1, 1, 5))})["w"]
'systematic'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal, NamedTuple

import numpy as np

from gradcheck._build import overall_status
from gradcheck._numerics import Method
from gradcheck._report import Report
from gradcheck._steps import steps

__all__ = [
    "MOVES",
    "NUDGES",
    "POINTS",
    "SCALING",
    "UNEXPLAINED",
    "Probe",
    "Verdict",
    "measure",
    "within_loss_roundoff",
]

Array = np.ndarray[Any, Any]
Grads = dict[str, Array]
Verdict = Literal["round-off", "systematic", "unmeasured"]
#: Nudged points per relative nudge: each one is a fresh draw of every intermediate's
#: rounding, and a scaling fitted to several cannot also fit their round-off.
POINTS = 5
#: Relative nudges tried, smallest first (``2⁻²⁰ ≈ 1e-6``, about eight float32
#: round-offs, up to four times each entry's scale: a gradient as flat as ``cos``
#: near 0 needs that to move at all), a factor of four apart.
NUDGES = tuple(2.0**-k for k in range(20, -3, -2))
#: An entry is judged once the nudge moves its ``g64`` by this many times its own
#: ``|d|`` (median over the points). Measured on 1097 simulated float32
#: saturated-tanh gradients (``tests/test_adapter_roundoff.py``'s model, 1–3 rows,
#: pre-activations 4–9): judged from moves of ``|d|/16`` on, none is called
#: systematic (1 keeps a factor 16); the 16 used before, taken over the whole
#: parameter, left a hook on a flat gradient unmeasured (attack21 B4).
MOVES = 1.0
#: ... or by this share of ``g64``'s own scale, when that is less.
HALF = 0.5
#: The share of ``|d|`` the constant or scaling explanation may leave unexplained for
#: the difference to be systematic: round-off drawn anew leaves about ``|d|`` itself.
#: Entries whose ``|d|`` is below this share of the largest are not judged.
UNEXPLAINED = 0.05
#: The largest scaling ``|α|`` in ``d = d0 + α·Δg`` that counts as code: a hook
#: scaling by ``f`` gives ``α = f − 1``, within ``±0.1`` where the difference is
#: plausible (``gradcheck._numerics.PLAUSIBLE``). ``α = −1`` is a ``g32`` that did not
#: move while ``g64`` did: a quantised float32 value (``1 − tanh²`` near 1 moves in
#: steps of 10% of itself), which is round-off.
SCALING = 0.5


class Probe(NamedTuple):
    """The two gradients at other parameter values.

    Attributes:
        user: the gradient in the user's dtype (hooks and dtype-specific rules
            included), as float64 arrays, at parameters given in that dtype.
        wide: the float64 copy's gradient at the same values.
        params: the unperturbed parameters, in the user's dtype.
    """

    user: Callable[[Grads], Grads]
    wide: Callable[[Grads], Grads]
    params: Grads


def _top(a: Array) -> float:
    return float(np.max(np.abs(a), initial=0.0))


def _nudged(params: Grads, scale: float, draw: np.random.Generator) -> Grads:
    """``θ + scale·s·(|θ| + rms θ)`` per entry, ``|s|`` in ``[½, 1]`` with a random
    sign, rounded to ``θ``'s dtype: the points move ``g64`` by different amounts."""
    out = {}
    for n, p in params.items():
        rms = float(np.sqrt(np.mean(np.square(p, dtype=np.float64)))) if p.size else 0.0
        size = np.abs(p.astype(np.float64)) + (rms or 1.0)
        share = draw.choice([-1.0, 1.0], size=p.shape) * draw.uniform(0.5, 1.0, size=p.shape)
        out[n] = (p.astype(np.float64) + scale * share * size).astype(p.dtype)
    return out


def _judged(moves: list[Array], d0: Array, g0: Array) -> Array:
    """The entries the nudge moved enough to judge (a boolean mask over ``d0``)."""
    typical = np.median(np.abs(np.stack(moves)), axis=0)
    need = np.minimum(MOVES * np.abs(d0), HALF * _top(g0))
    judged: Array = (typical >= need) & (np.abs(d0) > UNEXPLAINED * _top(d0))
    return judged


def _explained(d: list[Array], moves: list[Array], d0: Array) -> float:
    """The share of ``|d0|`` neither ``d0`` (constant) nor ``d0 + α·Δg`` explains."""
    constant = max(_top(dk - d0) for dk in d)
    den = sum(float(np.sum(m * m)) for m in moves)
    alpha = sum(float(np.sum((dk - d0) * m)) for dk, m in zip(d, moves)) / den if den else 0.0
    scaled = (
        max(_top(dk - d0 - alpha * m) for dk, m in zip(d, moves))
        if abs(alpha) <= SCALING
        else math.inf
    )
    return min(constant, scaled) / max(_top(d0), 1e-300)


def measure(probe: Probe, d0: Grads, seed: int = 0) -> dict[str, Verdict]:
    """Whether each parameter's ``d0 = g32 − g64`` (named in ``d0``) is round-off.

    Args:
        probe: the two gradients at other parameter values.
        d0: the discrepancies at the unperturbed parameters, for the parameters to
            judge.
        seed: the nudges' private generator (no global RNG is used).

    Returns:
        ``"round-off"``, ``"systematic"`` or ``"unmeasured"`` per parameter of ``d0``.

    Raises:
        Exception: whatever a nudged evaluation raised; the caller says in the report
            that the difference was not measured, and why.
    """
    verdicts: dict[str, Verdict] = dict.fromkeys(d0, "unmeasured")
    draw = np.random.default_rng([seed, 21])
    g0 = probe.wide(probe.params)
    for scale in NUDGES:
        points = [_nudged(probe.params, scale, draw) for _ in range(POINTS)]
        wide = [probe.wide(p) for p in points]
        judged = {
            n: _judged([w[n] - g0[n] for w in wide], d, g0[n])
            for n, d in d0.items()
            if verdicts[n] == "unmeasured"
        }
        ready = {n: k for n, k in judged.items() if np.any(k)}
        if not ready:
            continue
        user = [probe.user(p) for p in points]
        for n, k in ready.items():
            d = [u[n][k] - w[n][k] for u, w in zip(user, wide)]
            moves = [w[n][k] - g0[n][k] for w in wide]
            if not all(np.all(np.isfinite(x)) for x in (*d, *moves)):
                continue
            verdicts[n] = (
                "round-off" if _explained(d, moves, d0[n][k]) > UNEXPLAINED else "systematic"
            )
        if all(v != "unmeasured" for v in verdicts.values()):
            break
    return verdicts


def within_loss_roundoff(
    report: Report, params: Grads, gap: float, dtype: str, options: dict[str, Any]
) -> Report:
    """A parameter failed only by less than its loss's round-off can hide: inconclusive.

    Checked in its own dtype because its loss differs from the float64 copy's by
    ``gap`` (cancellation: a confident classifier's cross-entropy, attack21 B5), the
    loss carries at least that much round-off, and central differences at step ``h``
    carry ``gap / h`` of it: a float32 loss that moves in steps of ``gap`` gives a
    difference quotient of exactly 0 for an entry of gradient ``1e-7``. A failed
    parameter whose every error is within that (at the engine's first steps, the
    smallest: the largest allowance) is not judged wrong.
    """
    parameters, messages = dict(report.parameters), list(report.messages)
    method: Method = options.get("method") or "central"
    for name, p in report.parameters.items():
        if p.status != "failed" or p.errors is None or name not in params:
            continue
        theta = np.asarray(params[name])
        h = steps(theta.reshape(-1).astype(np.float64), method, options.get("eps"), theta.dtype)
        err = np.asarray(p.errors, dtype=np.float64).reshape(-1)
        seen = ~np.isnan(err)
        if not np.all(err[seen] <= gap / h[seen]):
            continue
        parameters[name] = replace(p, status="inconclusive", diagnosis=None)
        messages.append(
            f"{name}: every difference from the finite differences (largest "
            f"{float(np.max(err[seen], initial=0.0)):.2g}) is within what the {dtype} "
            f"loss's round-off ({gap:.2g}, its difference from float64) does to them; "
            f"{dtype} cannot judge this gradient here (its loss cancels): check it at "
            "less extreme inputs, or make the loss work in float64"
        )
    if parameters == report.parameters:
        return report
    status = overall_status([p.status for p in parameters.values()])
    return replace(report, status=status, parameters=parameters, messages=tuple(messages))
