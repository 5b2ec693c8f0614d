"""Turn cost values into numerical derivatives, error estimates and per-entry verdicts.

The verdict rule, for one entry with analytic value ``a`` and numerical estimate
``D`` at step ``h``:

1. **Screen.** ``|a − D| ≤ tol = atol + rtol · max(|a|, |D|) + 3ν`` passes at once.
   ``rtol`` is the method and dtype's default (:data:`gradcheck._numerics.RTOL`),
   ``atol = rtol × the largest gradient entry of the same parameter`` (errors are
   judged on the scale of that parameter's gradient), and ``ν`` is the round-off
   error the difference quotient inherits from the cost's measured noise ``σ``
   (``σ/h`` for central differences).
2. **Re-examine** entries that fail the screen, with two more evaluations at ``h/2``.
   The Richardson extrapolation ``R = (4 C(h/2) − C(h)) / 3`` of the central
   differences ``C`` is a higher-order estimate; ``e = |D − R| + ν`` estimates the
   error of ``D`` itself — the spread of the Richardson table.
3. **Kinks** (``gradcheck._kinks``). With ``J0`` the unperturbed cost, the one-sided
   slopes differ by ``jump(s) = (J(θ+s) − 2 J0 + J(θ−s)) / s``. For a smooth cost
   ``jump(s) ≈ s f''`` halves with ``s``; at a kink (ReLU at 0, ties in max/abs) it
   does not. An entry whose jump stays (``|jump(h/2)| > 0.75 |jump(h)|``, above noise
   and tolerance) has a kink within its steps: at θ it is ``nonsmooth``, kept out of
   the verdict (:attr:`Comparison.kink` 0); away from θ the steps straddle it and the
   entry is ``uncertain`` until the engine compares it with smaller steps
   (:attr:`Comparison.kink` is the kink's estimated offset).
4. **Decide.** ``|a − D| ≤ tol + SAFETY · e`` is ``ok`` — unless that allowance is more
   than :data:`UNCERTAIN` of the parameter's gradient scale, when the entry is
   ``uncertain`` (the finite differences, drowned in noise, cannot resolve it: this
   is how a float32 cost too noisy to conclude comes out ``inconclusive`` instead of
   ``passed``), as is an ``ok`` entry whose reach, the largest error it could hide,
   exceeds :data:`UNCERTAIN` (an entry whose reach, with ``e`` not measured, would
   exceed it is re-examined first, :func:`examined`); otherwise
   ``wrong``. With an explicit ``rtol``/``atol`` the rule is the fixed one,
   ``|a − D| ≤ atol + rtol · max(|a|, |D|)``, with no allowance for ``e``.
5. **Unresponsive.** An entry that fails the screen although the cost returned exactly
   ``J0`` at every step (``J(θ ± h) = J(θ ± h/2) = J0``) saw no change at all: the
   cost does not depend on that entry, or its dependence is lost to rounding inside
   the cost (cancellation). In float64 the loss would need intermediates about
   ``1/u ≈ 4.5e15`` times the entry's contribution ``|a|·h``, so the entry is
   ``wrong`` (the cost does not use it, and its gradient should be 0). In float32 and
   below 1/u is 1.7e7 or less, and ``(1e4 + f) − 1e4`` in float32 already loses every
   change of ``f`` under 1e-3: the entry is ``uncertain``, and the report says why
   (:attr:`Comparison.flat`).
6. **Exact zero.** A claim of exactly 0 against central differences of exactly 0 at ``h``
   and ``h/2`` (and a method's estimate of 0) agrees to the last bit, which proves
   ``|g| ≤ R``, the values' resolution (``gradcheck._tolerances.resolution``): ``ok``
   where ``R`` is within :data:`UNCERTAIN` of the scale, else ``uncertain`` with a reach
   of ``R`` (:func:`exact_zero`, :attr:`Comparison.exact`; a whole-zero gradient is
   ``gradcheck._flatness``'s).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradcheck import _kinks
from gradcheck._comparison import (
    NOISE_SPREAD,
    UNCERTAIN,
    Comparison,
    on_model_scale,
    roundoff_limited,
    zero_within_noise,
)
from gradcheck._numerics import EXACT_LEAST, SAFETY, SCREEN_NOISE, Method
from gradcheck._quotients import (
    RECHECK,
    SHOWN_DISTINCT,
    STAGE1,
    central,
    first_estimate,
    noise_for,
    overflow_is_inf,
    richardson,
    roundoff,
    shown_roundoff,
    table,
    table_spread,
    value_noise,
)
from gradcheck._tolerances import resolution

__all__ = [
    "NOISE_SPREAD",
    "RECHECK",
    "SHOWN_DISTINCT",
    "STAGE1",
    "UNCERTAIN",
    "Comparison",
    "compare",
    "examined",
    "first_estimate",
    "gradient_scale",
    "noise_for",
    "on_model_scale",
    "roundoff",
    "roundoff_limited",
    "shown_roundoff",
    "tolerance",
    "value_noise",
    "zero_within_noise",
]

Array = np.ndarray[Any, Any]


def gradient_scale(analytic: Array, numeric: Array, floor: float) -> float:
    """The largest ``max(|a|, |D|)`` over the entries whose estimate is finite, or
    ``floor``. An estimate that overflowed (cost round-off over a step near the
    underflow) is no measure of the gradient's size; its entry is ``uncertain``.

    :func:`examined`, :func:`tolerance` and :func:`compare` take it as ``scale=``
    where the caller has it (an entrywise Jacobian check: once per output row, not
    four times, speed28)."""
    big = np.maximum(np.abs(analytic), np.abs(numeric))
    return max(float(np.max(big, where=np.isfinite(big), initial=0.0)), floor)


def examined(
    method: Method,
    analytic: Array,
    numeric: Array,
    tol: Array,
    stage1: Array,
    j0: float,
    h: Array,
    floor: float = 0.0,
    noise: Array | None = None,
    *,
    scale: float | None = None,
) -> Array:
    """Which entries are re-examined (rules 2 and 3): those that fail the screen, and
    those whose one-sided slopes at ``h`` differ by :data:`gradcheck._kinks.SCREEN` of
    the gradient scale or more (a kink can hide behind a central difference that
    matches: ``|x|`` at 0 gives 0 exactly). ``stage1`` holds the columns of
    :data:`STAGE1`.

    With ``noise`` (each entry's ``ν``; ``None`` for a fixed tolerance), also the
    entries whose reach with ``e`` not measured, ``tol + |a − D| + SAFETY · (|a − D| +
    NOISE_SPREAD · ν)``, exceeds :data:`UNCERTAIN` of the gradient scale: measured, their
    ``e`` is usually a third of that worst case, and an entry whose reach stays above it
    is ``uncertain`` (:func:`compare`). Not those whose reach would exceed it even with
    the least ``e``, ``ν``: they are ``uncertain`` whatever the two evaluations show.
    ``scale``: :func:`gradient_scale` of these arguments, where the caller has it."""
    mismatch = np.abs(analytic - numeric)
    out = mismatch > tol
    if scale is None:  # once for both rules (``scale``: the caller's, where it has it)
        scale = gradient_scale(analytic, numeric, floor)
    if method in ("central", "richardson") and out.size:
        jump = (np.real(stage1[:, 0]) - 2.0 * j0 + np.real(stage1[:, 1])) / h
        out |= np.abs(jump) > _kinks.SCREEN * scale
    if noise is not None and method in ("central", "forward") and out.size:
        worst = tol + mismatch + SAFETY * (mismatch + NOISE_SPREAD * noise)
        least = tol + mismatch + SAFETY * noise  # e is at least ν
        hopeless = least > UNCERTAIN * scale
        out |= (worst > UNCERTAIN * scale) & ~hopeless
        # a claim of 0 against a difference of 0 may be exact agreement (exact_zero)
        out |= hopeless & (analytic == 0) & (numeric == 0)
    return np.asarray(out)


examined = overflow_is_inf(examined)


def exact_zero(analytic: Array, values: Array, *differences: Array) -> Array:
    """Which entries agree to the last bit: the claim is exactly 0, and so is every
    difference quotient given (the method's estimate, and the central differences at
    ``h`` and ``h/2``), and ``values`` (one row per entry: ``J0`` and the values
    differenced) are 0 or at least :data:`~gradcheck._numerics.EXACT_LEAST` in magnitude.

    A cost that does not move under the steps (``sign``, ``floor``, ``round``,
    ``argmax`` away from their jumps, a constant) or moves by the same amount both ways
    (``Σθ²`` at 0) shows a derivative of exactly 0 at two steps: a claim of 0 agrees
    with it exactly, whatever the cost's noise, up to the values' resolution ``R``
    (:func:`compare` judges that; ``gradcheck._flatness``, which the directional mode
    shares). Two steps, not one:
    a jump at ``θ + h`` and another at ``θ − h`` cancel in ``C(h)`` but not in
    ``C(h/2)``. A jump within ``h`` of θ moves the differences: that entry is a kink's
    (``gradcheck._kinks``), not an exact zero. Subnormal values round by an absolute
    spacing that can hide a gradient (``Σθ²`` at 1e-160): no exact zero there."""
    mag = np.abs(values)
    out = np.asarray(analytic == 0) & np.all((mag == 0) | (mag >= EXACT_LEAST), axis=1)
    for d in differences:
        out = out & (d == 0)
    return np.asarray(out, dtype=bool)


def tolerance(
    method: Method,
    analytic: Array,
    numeric: Array,
    h: Array,
    *,
    sigma: float | Array,
    rtol: float,
    atol: float | None,
    fixed: bool,
    floor: float = 0.0,
    scale: float | None = None,
) -> Array:
    """The screening tolerance of each entry (step 1 of the module doc's rule).

    Args:
        method: the difference method.
        analytic, numeric, h: per-entry gradient, estimate and step.
        sigma: the cost's measured noise.
        rtol, atol: tolerances; ``atol=None`` means ``rtol ×`` the gradient scale.
        fixed: the user gave ``rtol``/``atol``: no allowance for noise.
        floor: the least gradient scale (the first attempt's, for a retry).
        scale: :func:`gradient_scale` of these arguments, where the caller has it.
    """
    big = np.maximum(np.abs(analytic), np.abs(numeric))
    if scale is None:
        scale = gradient_scale(analytic, numeric, floor)
    base = rtol * scale if atol is None else atol
    noise = 0.0 if fixed else SCREEN_NOISE * roundoff(method, sigma, h)
    return np.asarray(base + rtol * big + noise, dtype=np.float64)


tolerance = overflow_is_inf(tolerance)


def compare(
    method: Method,
    analytic: Array,
    numeric: Array,
    h: Array,
    tol: Array,
    *,
    j0: float,
    sigma: float | Array,
    fixed: bool,
    stage1: Array,
    recheck: Array,
    floor: float = 0.0,
    low_precision: bool = False,
    shown: float | None = None,
    reexamined: Array | None = None,
    scale: float | None = None,
) -> Comparison:
    """Classify each entry (see the module doc for the rule).

    Args:
        method: the difference method.
        analytic, numeric, h: per-entry gradient, estimate and step.
        tol: per-entry screening tolerance from :func:`tolerance`.
        j0: the unperturbed cost; sigma: its noise (per entry: :func:`value_noise`).
        fixed: the user gave ``rtol``/``atol``: no allowance for estimated error.
        stage1: stage-1 cost values, one row per entry (columns = STAGE1).
        recheck: re-examination values, one row per entry that failed the screen
            (columns = RECHECK), in order.
        floor: the least gradient scale (the first attempt's, for a retry).
        low_precision: the cost or the parameter is below float64: unresponsive
            entries are ``uncertain`` rather than ``wrong`` (module doc, rule 5).
        shown: the round-off the cost's values show (:func:`shown_roundoff`); by
            default that of ``j0`` and ``stage1``. Where it is coarser than ``sigma``
            says, it is the noise, and the comparison is one in low precision.
        reexamined: :func:`examined` of these arguments (``noise`` by
            :func:`noise_for`), where the caller computed it to choose ``recheck``'s
            rows (an entrywise Jacobian check: once per row, not twice).
        scale: :func:`gradient_scale` of these arguments, where the caller has it.
    """
    mismatch = np.abs(analytic - numeric)
    if scale is None:
        scale = gradient_scale(analytic, numeric, floor)
    screen = tol  # the caller's: it chose the entries re-examined (``recheck``'s rows)
    # the caller's noise chose the entries re-examined, with ``screen``
    chosen = noise_for(method, sigma, h, fixed)
    if shown is None:
        shown = shown_roundoff(j0, stage1)
    # values of a coarser dtype than declared: its round-off is their noise (F2, F27)
    if shown > 0 and not fixed and method != "complex":
        wider = value_noise(sigma, shown, j0, stage1, analytic)
        extra = roundoff(method, wider, h) - roundoff(method, sigma, h)
        tol, sigma, low_precision = tol + 3 * np.maximum(extra, 0.0), wider, True
    noise = roundoff(method, sigma, h)
    suspicious = mismatch > tol
    fd_error = np.zeros_like(numeric)
    e_all = mismatch + NOISE_SPREAD * noise  # e where it is not measured (see reach)
    exact = np.zeros(numeric.shape, dtype=bool)
    if method == "richardson" and numeric.size:  # its table is all in stage 1
        e_all = table_spread(stage1, h) + noise
        rows = np.column_stack([np.full(numeric.size, j0), stage1])
        exact = exact_zero(analytic, np.real(rows), numeric, *table(stage1, h))
    status = _verdicts(mismatch <= tol)
    flat = np.zeros(numeric.shape, dtype=bool)
    kink, bracketed = np.full(numeric.shape, np.nan), np.zeros(numeric.shape, dtype=bool)
    off, slopes = np.zeros(numeric.shape, dtype=bool), np.full((*numeric.shape, 2), np.nan)
    if reexamined is None:
        reexamined = examined(method, analytic, numeric, screen, stage1, j0, h, floor, chosen)
    idx = np.flatnonzero(reexamined)
    if idx.size and method != "complex":
        s1, hh, j = stage1[idx], h[idx], recheck
        if method == "central":
            jp, jm, jp2, jm2 = s1[:, 0], s1[:, 1], j[:, 0], j[:, 1]
        elif method == "forward":
            jp, jm, jp2, jm2 = s1[:, 0], j[:, 0], j[:, 1], j[:, 2]
        else:
            jp, jm, jp2, jm2 = s1[:, 2], s1[:, 3], s1[:, 4], s1[:, 5]
            hh = hh / 2
        c1, c2 = central(jp, jm, hh), central(jp2, jm2, hh / 2)
        if method == "richardson":
            _, spread = richardson(central(s1[:, 0], s1[:, 1], 2 * hh), c1, c2)
            err = spread + noise[idx]
        else:
            rows = np.column_stack([np.full(idx.size, j0), s1, j])
            exact[idx] = exact_zero(analytic[idx], np.real(rows), numeric[idx], c1, c2)
            err = np.abs(numeric[idx] - (4 * c2 - c1) / 3) + noise[idx]
        screened = ~suspicious[idx]  # examined for a kink only (see examined())
        fd_error[idx] = np.where(screened, 0.0, err)
        e_all[idx] = err
        a = analytic[idx]
        sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64), numeric.shape)[idx]
        site = _kinks.locate(jp, jm, jp2, jm2, j0=j0, h=hh, sigma=sig, tol=tol[idx], analytic=a)
        kink[idx], bracketed[idx], off[idx] = site.offset, site.bracketed, site.off
        slopes[idx] = site.slopes
        allowed = tol[idx] + (0.0 if fixed else SAFETY * err)
        verdict = _verdicts(mismatch[idx] <= allowed)
        if not fixed:
            verdict[(verdict == "ok") & (SAFETY * err > UNCERTAIN * scale)] = "uncertain"
        verdict[screened] = "ok"
        verdict[site.at_point] = "nonsmooth"
        verdict[site.kink & ~site.at_point] = "uncertain"
        if not fixed:
            # rule 5 is for entries that fail the screen: one examined only for its
            # reach agrees with the claim, and its reach decides (uncertain)
            still = np.all(s1 == j0, axis=1) & np.all(j == j0, axis=1) & ~screened
            verdict[still] = "uncertain" if low_precision else "wrong"
            flat[idx] = still
        status[idx] = verdict
    elif idx.size:  # complex step: compare with the half step
        err = np.abs(numeric[idx] - np.imag(recheck[:, 0]) / (h[idx] / 2))
        fd_error[idx] = err
        e_all[idx] = err
        allowed = tol[idx] + (0.0 if fixed else SAFETY * err)
        status[idx] = np.where(mismatch[idx] <= allowed, "ok", "wrong")
    allowed_all = tol + (0.0 if fixed else SAFETY * fd_error)
    reach = tol + mismatch + (0.0 if fixed else SAFETY * e_all)
    exact &= status == "ok"  # a kink's entry stays the kink rules'
    # exact zeros prove |g| <= R only: they pass where R is within reach of the scale
    res = np.where(exact, resolution(np.broadcast_to(sigma, numeric.shape), h), np.nan)
    reach[exact] = np.maximum(reach[exact], res[exact])
    exact &= res <= UNCERTAIN * scale
    if not fixed:  # agreement within a tolerance that would hide a 10% error proves
        # nothing, nor does agreement whose reach would hide one (attack20 A9)
        blind = (allowed_all > UNCERTAIN * scale) | (reach > UNCERTAIN * scale)
        status[(status == "ok") & blind & ~exact] = "uncertain"
    overflowed = ~np.isfinite(numeric)
    status[overflowed], reach[overflowed] = "uncertain", math.inf
    peak = float(np.abs(analytic).max()) if analytic.size else 0.0
    return Comparison(
        numeric,
        mismatch,
        tol,
        fd_error,
        status,
        reach,
        flat,
        scale,
        kink,
        bracketed,
        peak=peak,
        exact=exact,
        resolution=res,
        off=off,
        slopes=slopes,
        step=np.array(h, dtype=np.float64),
    )


compare = overflow_is_inf(compare)

#: ``"wrong"`` and ``"ok"``, indexed by a comparison's truth (:func:`_verdicts`).
_WRONG_OK = np.array(["wrong", "ok"], dtype=object)


def _verdicts(ok: Array) -> Array:
    """``"ok"`` where ``ok``, else ``"wrong"``, as a new object array (the statuses the
    rules then overwrite). Indexing two shared strings: ``np.where`` to a string array
    and ``astype(object)`` made a new string per entry, a third of the Python time of
    a 1000 × 1000 entrywise Jacobian check's comparisons (speed27)."""
    return _WRONG_OK[ok.astype(np.intp)]
