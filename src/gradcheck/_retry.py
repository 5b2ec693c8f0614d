"""Entries tried again at a larger step: the classic step or the noise step.

Entries left ``uncertain``, and ``ok`` ones whose round-off share of the reach is
large, are compared again at the larger of the classic step ``max(1, |θ|)·u^(1/(p+1))``
and the noise step (``gradcheck._steps.noise_steps``); a retry may resolve or
confirm, never overrule (``docs/numerics.md``, "Retry step" and "Noise step").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck import _compare as cmp
from gradcheck import _kinks as kinks
from gradcheck._entries import Entries, Setting, compare_entries, domain_error
from gradcheck._evaluate import CostRaised, Evaluator, NonFinite
from gradcheck._numerics import RETRY_GROWTH, RTOL, SAFETY, UNSEEN, Method
from gradcheck._steps import noise_steps, steps
from gradcheck._tolerances import default_rtol

__all__ = ["retry"]

Array = np.ndarray[Any, Any]


def retry(ev: Evaluator, s: Setting, e: Entries, comp: cmp.Comparison) -> None:
    """Try entries of ``comp`` again at a larger step (in place): the classic step or
    the noise step (``gradcheck._steps.noise_steps``), whichever is larger.

    Tried are the ``uncertain`` entries, and the ``ok`` ones whose round-off share of
    the reach, ``SAFETY · (1 + NOISE_SPREAD) · ν``, is above :func:`_unseen_level`
    (``1e9 + Σ sin θ``: ``ν ≈ 0.04``, a 5% error passed, attack20 A9); the choice does
    not depend on the errors, so a planted error meets the steps of the clean check
    whose bound it tests. Only entries that round-off limits are tried: a larger step lowers the
    round-off but raises the truncation error, so it cannot resolve an entry whose
    function varies faster than the first step (``gradcheck._compare.roundoff_limited``).
    The retry may resolve or confirm; a ``wrong`` from it stands only where its estimate
    agrees with the first one to within the first one's own error allowance
    ``tol + SAFETY · e`` (``consistent``), and where the estimate at the geometric mean
    of the two steps agrees with it to within that one's allowance. A step far beyond
    the scale the cost varies on (``sin(5e5·b)`` at ``b = 1e-6`` with float32's steps:
    hundreds of periods) aliases into an estimate of any value with a small Richardson
    spread, and a first estimate drowned in noise is consistent with any value. The
    step between also settles what the retry left open or got wrong: as ``ok``, or as
    ``wrong`` where it agrees with the first estimate (the retry's own rule).
    ``comp`` is the comparison of the entries ``e``.
    """
    noise = cmp.roundoff(s.method, s.sigma, e.h)
    dtype = s.dtype(e.leaf)
    # the noise's share of the reach, not the reach: a planted error must meet the
    # same steps as the clean check whose stated bound it tests
    loud = noise > _unseen_level(s.method, dtype) * comp.scale / (SAFETY * (1 + cmp.NOISE_SPREAD))
    again = (comp.status == "uncertain") | ((comp.status == "ok") & loud & ~comp.exact)
    unsure = np.flatnonzero(again & cmp.roundoff_limited(comp, noise))
    if not unsure.size:
        return
    flat = np.real(e.leaf.reshape(-1))
    classic = steps(flat, s.method, None, dtype, classic=True)
    # the claimed gradient's size where the estimates' own noise inflates their scale
    size = min(comp.scale, comp.peak) if comp.peak > 0 else comp.scale
    h2 = np.maximum(classic, noise_steps(flat, s.method, dtype, s.sigma, size))[e.idx[unsure]]
    grow = h2 >= RETRY_GROWTH * e.h[unsure]
    k = unsure[grow]
    if not k.size:
        return
    try:
        _retry_at(ev, s, e, k, h2[grow], comp)
    except (NonFinite, CostRaised) as err:  # the classic step left the cost's domain (exp
        if not domain_error(err):  # overflowing at 1e4 × the parameter's scale): the
            raise  # entries stay uncertain; any other exception is the user's, and stands


def _unseen_level(method: Method, dtype: Any) -> float:
    """The round-off share of an ``ok`` entry's reach, relative to the gradient scale,
    above which it is tried again at the noise step: where the report would say errors
    could not be seen (:data:`~gradcheck._numerics.UNSEEN` times float64's screening
    tolerance), and at least the dtype's own screening tolerance (a float32 check's
    natural bound is above float64's level)."""
    return max(UNSEEN * RTOL["float64"][method], default_rtol(dtype, method))


def _retry_at(
    ev: Evaluator, s: Setting, e: Entries, k: Array, h2: Array, comp: cmp.Comparison
) -> None:
    """The retry of the entries at positions ``k`` of ``e`` (compared in ``comp``) at
    steps ``h2`` (:func:`retry`); ``comp`` is changed only once every evaluation has
    returned."""
    floor = _kept_scale(comp, e.a, k)
    again = compare_entries(ev, s, e.take(k, h2), floor)
    consistent = np.abs(again.numeric - comp.numeric[k]) <= _allowance(comp)[k]
    resolved = (again.status == "ok") | ((again.status != "uncertain") & consistent)
    # a retry's wrong, and what it left open, are compared again between the two steps
    todo = np.flatnonzero((again.status == "wrong") | ~resolved)
    if todo.size:
        at = k[todo]
        mean = np.sqrt(e.h[at]) * np.sqrt(h2[todo])  # h·h2 can underflow
        mid = kinks.exact_steps(e.theta[at], mean, e.leaf.real.dtype)
        check = compare_entries(ev, s, e.take(at, mid), floor)
        agree = np.abs(check.numeric - again.numeric[todo]) <= _allowance(check)
        confirmed = resolved[todo] & (again.status[todo] == "wrong") & agree
        resolved[todo[~confirmed]] = False
        first = np.abs(check.numeric - comp.numeric[at]) <= _allowance(comp)[at]
        settle = ~confirmed & ((check.status == "ok") | ((check.status == "wrong") & first))
        if np.any(settle):
            comp.replace(at[settle], check.subset(settle))
    if np.any(resolved):
        comp.replace(k[resolved], again.subset(resolved))
    _rescale(comp, e.a, s.fixed)


def _kept_scale(comp: cmp.Comparison, a: Array, k: Array) -> float:
    """The gradient scale a retry of the entries ``k`` is judged on: the largest claimed
    entry, and the largest ``max(|a|, |D|)`` of the entries not tried again. The
    estimates being replaced are drowned in noise (``1e12 + Σ sin θ``: 3.9 for a
    gradient of 0.9 at the first step), and a scale taken from them let the retry
    pass entries whose reach was 23% of the true scale (core22, A9)."""
    keep = np.ones(comp.numeric.shape, dtype=bool)
    keep[k] = False
    kept = np.abs(comp.numeric)
    claimed = float(np.max(np.abs(a), where=np.isfinite(a), initial=0.0))
    return max(claimed, float(np.max(kept, where=keep & np.isfinite(kept), initial=0.0)))


def _rescale(comp: cmp.Comparison, a: Array, fixed: bool) -> None:
    """``comp``'s gradient scale from its entries after a retry (in place), and its
    ``ok`` entries whose reach exceeds :data:`~gradcheck._compare.UNCERTAIN` of that
    scale made ``uncertain`` (the rule of ``gradcheck._compare.compare``; none under a
    fixed tolerance).

    The scale only shrinks (a retry's estimates are no evidence of a larger gradient),
    and the rule applies again whatever it did: a retry judges its entries on its own
    scale, and merged into a parameter of a far smaller one they passed a zero float32
    backward with a stated bound of 8.8e7 (attack22 C6)."""
    big = np.maximum(np.abs(a), np.abs(comp.numeric))
    scale = float(np.max(big, where=np.isfinite(big), initial=0.0))
    comp.scale = min(scale, comp.scale)
    if not fixed:
        ok = comp.status == "ok"
        # exact agreement (``gradcheck._compare.exact_zero``) is ok while its resolution
        # is within reach of the scale (``gradcheck._flatness``)
        comp.exact &= ~(comp.resolution > cmp.UNCERTAIN * comp.scale)
        comp.status[ok & (comp.reach > cmp.UNCERTAIN * comp.scale) & ~comp.exact] = "uncertain"


def _allowance(c: cmp.Comparison) -> Array:
    """How far each estimate of ``c`` may be from the true derivative: ``tol + SAFETY·e``."""
    return np.asarray(c.tolerance + SAFETY * c.fd_error)
