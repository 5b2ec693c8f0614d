"""Each ``jvp``/``jacobian`` form compared output by output along the shared steps.

The projections' rows (``gradcheck._jacdir``: ``f`` at ``θ ± w_k`` and ``θ ± w_k/2``)
give every output's Richardson difference along ``w_k``; :func:`along` compares each
with ``J w_k`` by the form, by ``check``'s directional rule per output, and
:func:`along_results` reports one result per output leaf, naming the wrong outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck._build import NO_BOUND, WORST, ParameterOutcome
from gradcheck._diagnose import diagnose
from gradcheck._directional_check import DIRECTIONAL_UNCERTAIN
from gradcheck._linear import Forms
from gradcheck._norms import norm2
from gradcheck._numerics import SAFETY
from gradcheck._report import Diagnosis, Entry
from gradcheck._tolerances import unit_roundoff

__all__ = [
    "ARGUMENT_ROUNDOFFS",
    "CONSTANT_CLAIM",
    "SCREEN_MARGIN",
    "Along",
    "allow",
    "along",
    "along_results",
    "rejudge",
    "smallest_rounding",
]

Array = np.ndarray[Any, Any]
#: An output whose values did not move at all along the steps (a structural zero) may
#: carry a claim up to this many round-offs ``u`` of the largest output's claim: a rule
#: that couples the outputs leaves its round-off there (torch's QR jvp 0.1u, LayerNorm's
#: backward over one feature 100u to 450u, attack23 D1), and 1024u (2.3e-13 in float64)
#: still fails an error of 1e-12 of the largest output planted on such an output.
CONSTANT_CLAIM = 1024.0
#: :func:`along`'s screen judges against its lower bound of the tolerance times this:
#: the bound and the full rule's tolerance are sums rounded differently (each a few
#: ulps, 1e-16 relative), so an output within the bound, less this margin, is within the
#: full rule's tolerance however the sums round.
SCREEN_MARGIN = 1.0 - 1e-9
#: An output the full rule found wrong is judged again with this many round-offs of
#: ``f``'s own arguments, ``u·|J (θ⊙ρ)|`` (:func:`rejudge`): Richardson's weights
#: sum to 3 in absolute value, times the noise rule's 6. ``sin(c⊙x)`` at ``c x`` near
#: ``kπ`` rounds its argument by ``u·|c x|``, a change of ``u·|J_ii θ_i|`` in
#: ``f_i ≈ 0`` that neither ``6u·|f_i|`` nor the fourth difference of five values
#: need show: at 10⁶ outputs a right jvp failed 2 checks of 17 (attack36 H164). A
#: relative error above ``18u/rel`` of the step (3e-12 in float64) still fails.
ARGUMENT_ROUNDOFFS = 18.0


class Along(NamedTuple):
    """One form's output-by-output comparison along the shared steps.

    Attributes:
        analytic: ``J w_k`` by the form, ``K × m``.
        numeric: the Richardson differences of ``f`` along ``w_k``, ``K × m``.
        fd_error: their error estimates ``|R − C(w/2)|``, ``K × m``.
        tolerance: per output, the largest tolerance over the steps (for the outputs
            that pass :func:`along`'s screen, the screen's lower bound of it).
        wrong: per output, whether a step disagrees beyond it.
        abs_error: ``|analytic − numeric|``, ``K × m``.
        unseen: per output, whether it agrees only thanks to the rounding of numbers
            below the smallest normal (``floor``), which is half its size or more: not
            judged (``None``: none such).
    """

    analytic: Array
    numeric: Array
    fd_error: Array
    tolerance: Array
    wrong: Array
    abs_error: Array
    unseen: Array | None = None


def smallest_rounding(roundoff: Array) -> Array:
    """Per output of unit round-off ``roundoff``, the rounding of a value below its
    dtype's smallest normal: the smallest subnormal (half of it, the rounding itself,
    is no float64 number) of float64, float32, float16, else bfloat16."""
    u = np.asarray(roundoff, dtype=np.float64)
    half = np.where(u <= unit_roundoff(np.float16), 2.0**-25, 2.0**-134)
    sub = np.where(u <= unit_roundoff(np.float32), 2.0**-150, half)
    return np.where(u <= unit_roundoff(np.float64), 2.0**-1074, sub)


def along(
    rows: Sequence[Array],
    f0: Array,
    claims: Array,
    roundoff: Array,
    rtol: float,
    floor: float = 0.0,
) -> Along:
    """Compare ``claims`` (``K × m``, ``J w_k``) with the rows of ``f`` at
    ``θ ± w_k, θ ± w_k/2`` (``rows[k]`` is ``4 × m``), output by output.

    Each output is judged as ``check``'s directional verdict judges its cost
    (``gradcheck._directional``, in units of the step): ``R = (4 C(w/2) − C(w))/3``,
    ``e = |R − C(w/2)|``, the output's noise ``σ`` by ECnoise on its five values
    floored at its round-off (the largest over the steps, one tolerance per output),
    and ``|a − R| ≤ rtol·(S + max(|a|, |R|)) + SAFETY·e + 6σ`` with ``S`` the RMS of
    the claims over the steps. That tolerance is at least ``rtol·|a_k| + 6u·|f_i|``
    at every step ``k`` (``σ ≥ u·|f_i|``; the other terms are not negative): only the
    outputs that miss this lower bound (less :data:`SCREEN_MARGIN`, for the rounding
    of the two sums) at some step are judged in full (a few passes over the outputs
    instead of some thirty: at 10⁶ outputs the full rule would cost more than the
    evaluations). Without the ``rtol·|a|`` term the screen let about 7% of a correct
    function's outputs through to the full rule (Richardson's truncation error is above
    ``6u·|f_i|``), whose gathers of their columns cost more than the screen.

    Numbers below the smallest normal round by an absolute amount: the full rule's ``σ``
    is at least an output's :func:`smallest_rounding` (a subnormal ``f_i`` moves by its
    spacing or not at all), and ``floor`` is what the claims' own such rounding can add
    (a subnormal Jacobian times the step: attack36 H162). An output that agrees only
    with these, while they are half its claim or slope or more, is ``unseen``: neither
    wrong nor judged.
    """
    a = np.asarray(claims, dtype=np.float64)
    numeric = np.empty_like(a)
    for k, r in enumerate(rows):
        rk = numeric[k]
        np.subtract(r[0], r[1], out=rk)
        rk *= -1.0 / 6.0  # − C(w)/3, C(w) = (r₀ − r₁)/2
        rk += (4.0 / 3.0) * (r[2] - r[3])  # + 4 C(w/2)/3
    low = (6.0 * SCREEN_MARGIN) * np.asarray(roundoff) * np.abs(f0)
    diff = np.abs(a - numeric)
    screen = np.abs(a)
    screen *= rtol * SCREEN_MARGIN
    screen += low
    with np.errstate(invalid="ignore"):
        suspect = np.flatnonzero(np.any(~(diff <= screen), axis=0))
    tolerance = np.max(screen, axis=0, initial=0.0)
    fd_error = np.zeros(a.shape)
    wrong = np.zeros(a.shape[1], dtype=bool)
    unseen = None
    if suspect.size:
        sub = [r[:, suspect] for r in rows]
        tau, e = _full_tolerance(sub, f0[suspect], a[:, suspect], roundoff[suspect], rtol)
        fd_error[:, suspect] = e
        tau = np.maximum(tau, _constant_allowance(sub, f0[suspect], a, roundoff[suspect]))
        least = 6.0 * smallest_rounding(roundoff[suspect]) + floor
        tolerance[suspect] = tau + least
        with np.errstate(invalid="ignore"):
            wrong[suspect] = np.any(~(diff[:, suspect] <= tau + least), axis=0)
            saved = ~wrong[suspect] & np.any(~(diff[:, suspect] <= tau), axis=0)
        if saved.any():
            size = np.max(np.maximum(np.abs(a[:, suspect]), np.abs(numeric[:, suspect])), axis=0)
            unseen = np.zeros(a.shape[1], dtype=bool)
            unseen[suspect] = saved & (least >= DIRECTIONAL_UNCERTAIN * size)
    return Along(a, numeric, fd_error, tolerance, wrong, diff, unseen)


def _constant_allowance(rows: Sequence[Array], f0: Array, a: Array, roundoff: Array) -> Array:
    """Per output, the claim a rule's round-off can leave where ``f`` did not move:
    :data:`CONSTANT_CLAIM` ``· u`` of the largest claim of any output, for the outputs
    whose values at every step equal ``f(θ)`` exactly (0 elsewhere).

    Such an output's finite differences are exactly 0 (R's structurally zero entries
    of a wide QR), and its own tolerance with them; a rule that couples the outputs
    leaves its round-off there (torch's QR jvp: 4e-22 where the other outputs move by
    1e-5), and a correct ``jvp`` failed (attack24 F1). ``a`` holds every output's
    claims (``K × m``)."""
    constant = np.ones(f0.shape, dtype=bool)
    for r in rows:
        constant &= np.all(r == f0, axis=0)
    peak = float(np.max(np.abs(a), initial=0.0)) if constant.any() else 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(constant, CONSTANT_CLAIM * roundoff * peak, 0.0)


def rejudge(cmp: Along, spread: Array, roundoff: float) -> Along:
    """``cmp`` with its wrong outputs judged again, their tolerance raised by
    :data:`ARGUMENT_ROUNDOFFS` ``· roundoff · spread``: ``spread`` is ``|J (θ⊙ρ)|``
    per output for random signs ``ρ`` (``‖J_i ⊙ θ‖`` on average, exactly
    ``|J_ii θ_i|`` for an elementwise ``f``), ``roundoff`` the parameters' unit
    round-off, so the term is what rounding ``f``'s arguments moves each output by."""
    with np.errstate(over="ignore", invalid="ignore"):
        return allow(cmp, ARGUMENT_ROUNDOFFS * roundoff * spread)


def allow(cmp: Along, extra: Array) -> Along:
    """``cmp`` with its wrong outputs judged again, their tolerance raised by ``extra``
    (per output): a rounding the comparison did not know of."""
    flagged = np.flatnonzero(cmp.wrong)
    tolerance, wrong = cmp.tolerance.copy(), cmp.wrong.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        tolerance[flagged] += extra[flagged]
        wrong[flagged] = np.any(~(cmp.abs_error[:, flagged] <= tolerance[flagged]), axis=0)
    return cmp._replace(tolerance=tolerance, wrong=wrong)


class _FullTolerance(NamedTuple):
    """:func:`_full_tolerance`'s answer: per output tolerances and per row error estimates."""

    tolerance: Array
    errors: Array


def _full_tolerance(
    rows: Sequence[Array], f0: Array, a: Array, roundoff: Array, rtol: float
) -> _FullTolerance:
    """:func:`along`'s full rule for some outputs: their tolerance (one per output) and
    the finite differences' error estimates (``K × m``)."""
    numeric, errors, noise = [], [], []
    for r in rows:
        c2 = r[2] - r[3]
        rich = (4 * c2 - (r[0] - r[1]) / 2) / 3
        numeric.append(rich)
        errors.append(np.abs(rich - c2))
        with np.errstate(over="ignore", invalid="ignore"):
            # the fourth difference of the table r₁, r₃, f0, r₂, r₀
            fourth = np.abs(r[1] + r[0] - 4 * (r[3] + r[2]) + 6 * f0) / np.sqrt(70.0)
        big = np.maximum(np.maximum(np.abs(r[0]), np.abs(r[1])), np.abs(f0))
        u = _effective_roundoff(np.asarray(r), f0, roundoff)
        noise.append(np.maximum(np.where(np.isfinite(fourth), fourth, big), u * big))
    rn, e = np.array(numeric), np.array(errors)
    sigma = np.max(np.array(noise), axis=0)
    spread = np.hypot.reduce(a, axis=0) / np.sqrt(a.shape[0])  # RMS; no a² (1e200: A14)
    tol = rtol * (spread + np.maximum(np.abs(a), np.abs(rn))) + SAFETY * e + 6.0 * sigma
    return _FullTolerance(np.max(tol, axis=0), e)


def _effective_roundoff(rows: Array, f0: Array, roundoff: Array) -> Array:
    """Per output, ``gradcheck._directional.effective_roundoff``: the round-off its
    values show (a float32 computation returned as float64 rounds as float32). Only
    outputs whose ``f(θ)`` is such a number are examined further (a float64
    computation gives one with probability 2⁻²⁹)."""
    u = np.asarray(roundoff, dtype=np.float64)
    for dtype in (np.float32, np.float16):
        eps = unit_roundoff(dtype)
        with np.errstate(over="ignore"):
            maybe = np.flatnonzero((eps > u) & (f0.astype(dtype).astype(np.float64) == f0))
        if not maybe.size:
            continue
        table = rows[:, maybe]
        with np.errstate(over="ignore"):
            fits = np.all(table.astype(dtype).astype(np.float64) == table, axis=0)
        moved = np.ptp(np.vstack([table, f0[maybe][None, :]]), axis=0) > 0
        u = u.copy()
        u[maybe[fits & moved]] = eps
    return u


class AlongResults(NamedTuple):
    """A ``jvp``/``jacobian`` form's comparison: one result per output leaf
    (``rows``), its wrong flat outputs (``wrong``, indices into the flat output), and
    those it could not judge (``unseen``: :attr:`Along.unseen`)."""

    rows: list[ParameterOutcome]
    wrong: list[int]
    unseen: tuple[int, ...] = ()


def along_results(forms: Forms, cmp: Along, prefix: str) -> AlongResults:
    """A ``jvp``/``jacobian`` form's comparison as one result per output leaf, and its
    wrong flat outputs."""
    lay = forms.layout
    err = cmp.abs_error
    wrong_all = np.flatnonzero(cmp.wrong)
    unseen = np.flatnonzero(cmp.unseen) if cmp.unseen is not None else np.zeros(0, dtype=int)
    out = []
    for name, shape, dtype, s in zip(
        lay.out_names, lay.out_shapes, lay.out_dtypes, lay.out_slices()
    ):
        wrong = wrong_all[(wrong_all >= s.start) & (wrong_all < s.stop)]
        worst: tuple[Entry, ...] = ()
        diagnosis = None
        if wrong.size:
            worst = _worst(cmp, err, wrong, f"{prefix}{name}", shape, s.start)
            diagnosis = _diagnosis(cmp, err, s, f"{prefix}{name}", tuple(shape))
        den = norm2(cmp.analytic[:, s]) + norm2(cmp.numeric[:, s])
        out.append(
            ParameterOutcome(
                name=f"{prefix}{name} along v",
                shape=tuple(shape),
                dtype=str(dtype),
                status="failed"
                if wrong.size
                else "inconclusive"
                if np.any((unseen >= s.start) & (unseen < s.stop))
                else "passed",
                difference=norm2(err[:, s]) / den if den > 0 else 0.0,
                checked=int(s.stop - s.start),
                max_abs_error=float(np.max(err[:, s], initial=0.0)),
                failed=int(wrong.size),
                worst=worst,
                diagnosis=diagnosis,
                detection_bound=NO_BOUND,
            )
        )
    return AlongResults(out, wrong_all.tolist(), tuple(unseen.tolist()))


def _diagnosis(cmp: Along, err: Array, s: slice, name: str, shape: tuple[int, ...]) -> Diagnosis:
    """The pattern of one output leaf's wrong outputs, fitted on each output at its
    worst direction: an output is one entry, wrong if it is wrong along any direction
    (the directions are not entries: stacking them named ``out[5007]`` of 5000)."""
    ratio = err[:, s] / np.maximum(cmp.tolerance[s], 1e-300)
    k, cols = np.argmax(ratio, axis=0), np.arange(ratio.shape[1])
    fits = np.all(err[:, s] <= cmp.tolerance[s], axis=0)
    judged = np.where(fits, "ok", "wrong")
    a, n = cmp.analytic[:, s][k, cols], cmp.numeric[:, s][k, cols]
    return diagnose(a.reshape(shape), n.reshape(shape), status=judged.reshape(shape), name=name)


def _worst(
    cmp: Along, err: Array, wrong: Array, name: str, shape: tuple[int, ...], start: int
) -> tuple[Entry, ...]:
    """The :data:`~gradcheck._build.WORST` worst of the ``wrong`` flat outputs, each at
    its worst step."""
    ratio = err[:, wrong] / np.maximum(cmp.tolerance[wrong], 1e-300)
    k = np.argmax(ratio, axis=0)
    order = np.argsort(-ratio[k, np.arange(wrong.size)])[:WORST]
    return tuple(
        _entry(
            name,
            shape,
            int(wrong[j]) - start,
            cmp.analytic[k[j], wrong[j]],
            cmp.numeric[k[j], wrong[j]],
            err[k[j], wrong[j]],
            cmp.tolerance[wrong[j]],
            cmp.fd_error[k[j], wrong[j]],
        )
        for j in order.tolist()
    )


def _entry(
    name: str,
    shape: tuple[int, ...],
    flat: int,
    a: float,
    n: float,
    e: float,
    tol: float,
    fd: float,
) -> Entry:
    big = max(abs(a), abs(n))
    index = tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
    return Entry(
        parameter=name,
        index=index,
        analytic=float(a),
        numeric=float(n),
        abs_error=float(e),
        rel_error=float(e) / big if big > 0 else 0.0,
        tolerance=float(tol),
        fd_error=float(fd),
        status="wrong" if not e <= tol else "ok",
    )
