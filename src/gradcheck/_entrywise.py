"""The entrywise strategy (``full`` and ``sample`` modes): every chosen entry compared.

For each parameter the method's finite differences are evaluated at every chosen
entry (stage 3) and the entries that fail the screening tolerance are examined again
(stage 4, ``gradcheck._compare``). Entries whose steps straddle a kink are compared
again with steps clear of it (``gradcheck._kinks``), entries at a kink are checked
again at nearby points (``gradcheck._nearby``), and entries left ``uncertain`` are
tried again at the classic step. :func:`entrywise` returns what it found as a
:class:`~gradcheck._plan.Ran` for the report builder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from gradcheck import _compare as cmp
from gradcheck import _kinks as kinks
from gradcheck import _nearby as nearby
from gradcheck import _precision as prec
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import CostRaised, Delta, Evaluator, NonFinite
from gradcheck._inputs import analytic_gradient
from gradcheck._modes import Sample, sample_indices, sample_size
from gradcheck._numerics import (
    RETRY_GROWTH,
    RTOL,
    SAFETY,
    UNSEEN,
    Method,
    default_rtol,
    noise_steps,
    relative_step,
    steps,
    unit_roundoff,
)
from gradcheck._plan import Plan, Point, Ran
from gradcheck._pytree import unflatten
from gradcheck._summary import Result, summarise

__all__ = ["Compared", "entrywise"]

Array = np.ndarray[Any, Any]
_FLOAT64_U = unit_roundoff(np.float64)
_TINY = float(np.finfo(np.float64).tiny)


class Compared(NamedTuple):
    """Stages 3 and 4 over every parameter.

    Attributes:
        results: each parameter's comparison, in the parameters' order.
        notes: what the comparisons found worth saying (parameters judged on the
            model's scale, errors too small to be seen).
    """

    results: list[Result]
    notes: tuple[str, ...] = ()


def entrywise(plan: Plan, ev: Evaluator, point: Point) -> Ran:
    """The ``full`` or ``sample`` check of ``plan`` at ``point``, evaluating with ``ev``."""
    hidden = None if plan.complex_step else prec.terms_size(point.analytic, point.leaves)
    noise = prec.cost_noise(ev, point.leaves, point.j0, point.roundoff, plan.seed, hidden=hidden)
    noise, sigmas = _leaf_noise(ev, point, plan.seed, hidden, noise)
    sigma, work = noise.sigma, noise.work
    rng = np.random.default_rng([plan.seed, 2])
    chosen = [
        sample_indices(x.size, sample_size(x.size, plan.mode.size), rng)
        if isinstance(plan.mode, Sample)
        else np.arange(x.size)
        for x in point.leaves
    ]
    low = point.roundoff > _FLOAT64_U
    s = _Setting(plan.method, point.j0, sigma, plan.rtol, plan.atol, plan.fixed, low, work, sigmas)
    compared = _check_leaves(
        ev,
        s,
        point.leaves,
        plan.names,
        point.analytic,
        plan.eps,
        chosen,
        grad_at=_gradient_at(plan),
        seed=plan.seed,
    )
    outcome = summarise(compared.results, point.analytic, sigma, plan.pairs, point.j0)
    hidden_note = (noise.note,) if work is not None else ()
    notes = (*hidden_note, *compared.notes, *outcome.notes)
    return Ran(outcome._replace(notes=notes), work)


def _own_roundoff(point: Point, leaf: Array) -> float:
    """The unit round-off of ``leaf``'s dtype, or of the cost's when that is coarser."""
    return max(point.cost_roundoff or point.roundoff, unit_roundoff(leaf.real.dtype))


def _leaf_noise(
    ev: Evaluator, point: Point, seed: int, hidden: float | None, noise: prec.Noise
) -> tuple[prec.Noise, tuple[float, ...]]:
    """The cost's noise, and each parameter's noise floor in its own dtype.

    ``noise`` is floored at the coarsest round-off of the cost's and every parameter's
    dtype; one float32 parameter would hide every float64 one's errors below float32's
    round-off. Parameters whose own round-off (with the cost's) is the finest get the
    noise probed again at that round-off, moving only them (a coarser parameter moved
    by less than its spacing rounds to a jump of one spacing or none: noise that is
    not the cost's); when that probe finds a cost computing in float32 inside, every
    parameter keeps the coarse floor and float32's steps.
    """
    own = [_own_roundoff(point, leaf) for leaf in point.leaves]
    coarse = tuple(noise.sigma for _ in own)
    fine_u = min(own, default=point.roundoff)
    if noise.work is not None or fine_u >= point.roundoff:
        return noise, coarse
    keep = {i for i, u in enumerate(own) if u == fine_u}

    def moving_fine(points: Sequence[Any]) -> Array:
        return ev([tuple(d for d in p if d.leaf in keep) for p in points])

    fine = prec.cost_noise(moving_fine, point.leaves, point.j0, fine_u, seed, hidden=hidden)
    if fine.work is not None:
        return fine._replace(sigma=max(noise.sigma, fine.sigma)), coarse
    return noise, tuple(fine.sigma if u == fine_u else noise.sigma for u in own)


def _gradient_at(plan: Plan) -> Callable[[list[Array]], list[Array]] | None:
    """The gradient function at given leaves, when the gradient is a function."""
    grad = plan.grad
    if not callable(grad):
        return None

    def at(moved: list[Array]) -> list[Array]:
        return analytic_gradient(grad, unflatten(plan.treedef, moved), plan.names).values

    return at


@dataclass(frozen=True)
class _Setting:
    """What every per-entry comparison of one check shares."""

    method: Method
    j0: float
    sigma: float
    rtol: float | None
    atol: float | None
    fixed: bool
    low_precision: bool
    work: np.dtype[Any] | None = None  # the cost's own dtype, when below the leaves'
    sigmas: tuple[float, ...] = ()  # each parameter's noise floor (``_leaf_noise``)

    def at(self, i: int) -> _Setting:
        """The setting for parameter ``i``: its own noise floor."""
        return replace(self, sigma=self.sigmas[i]) if self.sigmas else self

    def dtype(self, leaf: Array) -> np.dtype[Any]:
        """The dtype whose round-off sets ``leaf``'s steps and tolerances."""
        own = leaf.real.dtype
        return own if self.work is None or self.work.itemsize >= own.itemsize else self.work


def _compare_entries(
    ev: Evaluator,
    s: _Setting,
    i: int,
    leaf: Array,
    idx: Array,
    h: Array,
    a: Array,
    rtol: float,
    floor: float,
) -> cmp.Comparison:
    """Stages 3 and 4 for the entries ``idx`` of parameter ``i`` at steps ``h``."""
    method = s.method
    offsets = cmp.STAGE1[method]
    # Python floats are cheaper to build and add; float64 arithmetic is identical. In
    # lower precision NumPy scalars keep θ + h computed in float64, then rounded.
    hl = h.tolist() if leaf.dtype == np.float64 else list(h)
    vals1 = ev([(Delta(i, j, o * hj),) for j, hj in zip(idx.tolist(), hl) for o in offsets])
    vals1 = vals1.reshape(idx.size, len(offsets))
    real1 = np.real(vals1) if method != "complex" else vals1
    numeric = cmp.first_estimate(method, s.j0, real1, h)
    sigma = cmp.value_noise(s.sigma, unit_roundoff(s.dtype(leaf)), s.j0, real1, a)
    tol = cmp.tolerance(
        method, a, numeric, h, sigma=sigma, rtol=rtol, atol=s.atol, fixed=s.fixed, floor=floor
    )
    nu = cmp.noise_for(method, sigma, h, s.fixed)
    sus = np.flatnonzero(cmp.examined(method, a, numeric, tol, real1, s.j0, h, floor, nu))
    offs2 = cmp.RECHECK[method]
    vals2 = ev([(Delta(i, int(idx[k]), o * hl[k]),) for k in sus for o in offs2])
    vals2 = vals2.reshape(sus.size, len(offs2))
    if method != "complex":
        vals2 = np.real(vals2)
    return cmp.compare(
        method,
        a,
        numeric,
        h,
        tol,
        j0=s.j0,
        sigma=sigma,
        fixed=s.fixed,
        stage1=real1,
        recheck=vals2,
        floor=floor,
        low_precision=s.low_precision,
    )


def _check_leaves(
    ev: Evaluator,
    s: _Setting,
    leaves: list[Array],
    names: list[str],
    analytic: list[Array],
    eps: float | None,
    chosen: list[Array],
    *,
    grad_at: Callable[[list[Array]], list[Array]] | None = None,
    seed: int = 0,
) -> Compared:
    """Stages 3 and 4 for every parameter.

    Entries whose steps straddle a kink are compared again with smaller steps, and
    with ``grad_at`` (the gradient at given parameters) entries at a kink are checked
    again at nearby points (``gradcheck._nearby``). Entries left ``uncertain`` are
    tried again at the classic step (``gradcheck._numerics``, "Retry step") when it
    is much larger. Each parameter is judged on its own gradient scale; one whose
    gradient is zero within round-off on the model's (:func:`_zero_parameters`).
    """
    out = []
    every = s
    for i, (name, leaf) in enumerate(zip(names, leaves)):
        s = every.at(i)
        flat = np.real(leaf.reshape(-1))
        idx = chosen[i]
        dtype = s.dtype(leaf)
        h = steps(flat, s.method, eps, dtype)[idx]
        a = analytic[i].reshape(-1)[idx]
        r = default_rtol(dtype, s.method) if s.rtol is None else s.rtol
        if eps is None:
            h, comp = _first_compare(ev, s, i, leaf, idx, h, a, r, name)
        else:
            comp = _compare_entries(ev, s, i, leaf, idx, h, a, r, 0.0)
        if eps is None:
            comp = _straddled_kinks(ev, s, i, leaf, idx, a, r, comp)
            comp = _across_zero(ev, s, i, leaf, idx, h, a, r, comp, name)
            _retry(ev, s, i, leaf, idx, h, a, r, comp)
        out.append((name, leaf, comp, idx))
    if grad_at is not None:
        out = nearby.recheck(out, ev, grad_at, partial(_check_moved, every, eps), seed)
    s = every
    if s.fixed:
        return Compared(out)
    zero = _zero_parameters(out, analytic)
    # a failed parameter's bound holds its own claimed error: no sentence on it (F24)
    judged = [(n, leaf, c) for n, leaf, c, _ in zero.results if not np.any(c.status == "wrong")]
    bounds = [(n, c.detection_bound, s.dtype(leaf)) for n, leaf, c in judged]
    unseen = prec.unseen_notes(bounds, s.method)
    return Compared(zero.results, (*zero.notes, *unseen))


def _first_compare(
    ev: Evaluator,
    s: _Setting,
    i: int,
    leaf: Array,
    idx: Array,
    h: Array,
    a: Array,
    r: float,
    name: str,
) -> tuple[Array, cmp.Comparison]:
    """The first comparison of parameter ``i``'s entries ``idx``, and the steps it used.

    Where the cost returns inf or NaN, or raises, and some entries' steps reach across 0
    (``x·log x`` at ``x = 1e-8`` beside 0.5: the step 2.1e-6 leaves the domain), those
    entries are stepped relative to their own ``|θ|``, on their own side
    (``gradcheck._kinks`` rule 7), and the comparison is run again; if that fails too,
    the first error stands (attack20 P7). A note says so.
    """
    try:
        return h, _compare_entries(ev, s, i, leaf, idx, h, a, r, 0.0)
    except (NonFinite, CostRaised) as first:
        theta = np.real(leaf.reshape(-1))[idx]
        dtype = s.dtype(leaf)
        own = kinks.exact_steps(theta, relative_step(s.method, dtype) * np.abs(theta), dtype)
        cross = (h >= np.abs(theta)) & (own >= _TINY) & (own < np.abs(theta))
        if s.method == "complex" or not _domain_error(first) or not np.any(cross):
            raise
        h = np.where(cross, own, h)
        try:
            comp = _compare_entries(ev, s, i, leaf, idx, h, a, r, 0.0)
        except (NonFinite, CostRaised):
            raise first from None
    note = (
        f"{name}: {int(np.count_nonzero(cross))} entries' steps reached across 0 and left "
        "the cost's domain: they are judged at steps within their own side, relative to |θ|"
    )
    return h, replace(comp, notes=(*comp.notes, note))


def _domain_error(err: GradcheckError) -> bool:
    """Whether the cost's failure is a domain's edge: NaN or inf, or a numeric error
    (a RuntimeWarning raised as an error, a math domain error). Any other exception
    from the cost is the user's (a bug, an injected fault) and must reach them."""
    return isinstance(err, NonFinite) or isinstance(
        err.__cause__, (ArithmeticError, ValueError, Warning)
    )


def _zero_parameters(results: list[Result], analytic: list[Array]) -> Compared:
    """Judge each parameter whose gradient is zero within round-off on the model's scale.

    Every parameter is judged on its own gradient scale, except one that has none: a
    parameter whose analytic and numerical gradients are both within the screening
    tolerance of 0 at every entry (a bias before a normalisation) is compared on the
    model's scale, the largest gradient scale of any parameter
    (``gradcheck._compare.on_model_scale``), and a note says so.
    """
    model = max((c.scale for _, _, c, _ in results), default=0.0)
    peak = max((c.peak for _, _, c, _ in results), default=0.0) or model
    out, notes = [], []
    for (name, leaf, c, idx), g in zip(results, analytic):
        if cmp.zero_within_noise(c, g.reshape(-1)[idx]) and c.scale < model:
            c = cmp.on_model_scale(c, model, peak)
            size = float(np.max(c.tolerance, initial=0.0))
            notes.append(
                f"{name}: the gradient is zero to within round-off (|g| ≤ {size:.2g} at "
                f"every entry), so it has no scale of its own: it is judged on the model's "
                f"largest gradient entry ({peak:.2g}), and errors above "
                f"{c.detection_bound:.2g} of that are caught"
            )
        out.append((name, leaf, c, idx))
    return Compared(out, tuple(notes))


def _retry(
    ev: Evaluator,
    s: _Setting,
    i: int,
    leaf: Array,
    idx: Array,
    h: Array,
    a: Array,
    rtol: float,
    comp: cmp.Comparison,
) -> None:
    """Try entries of ``comp`` again at a larger step (in place): the classic step or
    the noise step (``gradcheck._numerics.noise_steps``), whichever is larger.

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
    """
    noise = cmp.roundoff(s.method, s.sigma, h)
    dtype = s.dtype(leaf)
    # the noise's share of the reach, not the reach: a planted error must meet the
    # same steps as the clean check whose stated bound it tests
    loud = noise > _unseen_level(s.method, dtype) * comp.scale / (SAFETY * (1 + cmp.NOISE_SPREAD))
    again = (comp.status == "uncertain") | ((comp.status == "ok") & loud)
    unsure = np.flatnonzero(again & cmp.roundoff_limited(comp, noise))
    if not unsure.size:
        return
    flat = np.real(leaf.reshape(-1))
    classic = steps(flat, s.method, None, dtype, classic=True)
    # the claimed gradient's size where the estimates' own noise inflates their scale
    size = min(comp.scale, comp.peak) if comp.peak > 0 else comp.scale
    h2 = np.maximum(classic, noise_steps(flat, s.method, dtype, s.sigma, size))[idx[unsure]]
    grow = h2 >= RETRY_GROWTH * h[unsure]
    k = unsure[grow]
    if not k.size:
        return
    try:
        _retry_at(ev, s, i, leaf, idx, h, h2[grow], k, a, rtol, comp)
    except (NonFinite, CostRaised) as err:  # the classic step left the cost's domain (exp
        if not _domain_error(err):  # overflowing at 1e4 × the parameter's scale): the
            raise  # entries stay uncertain; any other exception is the user's, and stands


def _unseen_level(method: Method, dtype: Any) -> float:
    """The round-off share of an ``ok`` entry's reach, relative to the gradient scale,
    above which it is tried again at the noise step: where the report would say errors
    could not be seen (:data:`~gradcheck._numerics.UNSEEN` times float64's screening
    tolerance), and at least the dtype's own screening tolerance (a float32 check's
    natural bound is above float64's level)."""
    return max(UNSEEN * RTOL["float64"][method], default_rtol(dtype, method))


def _retry_at(
    ev: Evaluator,
    s: _Setting,
    i: int,
    leaf: Array,
    idx: Array,
    h: Array,
    h2: Array,
    k: Array,
    a: Array,
    rtol: float,
    comp: cmp.Comparison,
) -> None:
    """The retry of the entries at positions ``k`` of ``comp`` at steps ``h2``
    (:func:`_retry`); ``comp`` is changed only once every evaluation has returned."""
    flat = np.real(leaf.reshape(-1))
    floor = _kept_scale(comp, a, k)
    again = _compare_entries(ev, s, i, leaf, idx[k], h2, a[k], rtol, floor)
    consistent = np.abs(again.numeric - comp.numeric[k]) <= _allowance(comp)[k]
    resolved = (again.status == "ok") | ((again.status != "uncertain") & consistent)
    # a retry's wrong, and what it left open, are compared again between the two steps
    todo = np.flatnonzero((again.status == "wrong") | ~resolved)
    if todo.size:
        at = k[todo]
        mean = np.sqrt(h[at]) * np.sqrt(h2[todo])  # h·h2 can underflow
        mid = kinks.exact_steps(flat[idx[at]], mean, leaf.real.dtype)
        check = _compare_entries(ev, s, i, leaf, idx[at], mid, a[at], rtol, floor)
        agree = np.abs(check.numeric - again.numeric[todo]) <= _allowance(check)
        confirmed = resolved[todo] & (again.status[todo] == "wrong") & agree
        resolved[todo[~confirmed]] = False
        first = np.abs(check.numeric - comp.numeric[at]) <= _allowance(comp)[at]
        settle = ~confirmed & ((check.status == "ok") | ((check.status == "wrong") & first))
        if np.any(settle):
            comp.replace(at[settle], check.subset(settle))
    if np.any(resolved):
        comp.replace(k[resolved], again.subset(resolved))
    _rescale(comp, a, s.fixed)


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
    fixed tolerance)."""
    big = np.maximum(np.abs(a), np.abs(comp.numeric))
    scale = float(np.max(big, where=np.isfinite(big), initial=0.0))
    if not scale < comp.scale:
        return
    comp.scale = scale
    if not fixed:
        comp.status[(comp.status == "ok") & (comp.reach > cmp.UNCERTAIN * scale)] = "uncertain"


def _allowance(c: cmp.Comparison) -> Array:
    """How far each estimate of ``c`` may be from the true derivative: ``tol + SAFETY·e``."""
    return np.asarray(c.tolerance + SAFETY * c.fd_error)


def _check_moved(
    s: _Setting,
    eps: float | None,
    ev: Evaluator,
    j0: float,
    i: int,
    leaf: Array,
    idx: Array,
    a: Array,
    floor: float,
) -> cmp.Comparison:
    """The entries ``idx`` of parameter ``i`` compared at a moved point (``gradcheck._nearby``):
    ``ev`` evaluates there, ``j0`` is the cost and ``leaf`` the parameter there."""
    at = replace(s.at(i), j0=j0)
    h = steps(np.real(leaf.reshape(-1)), s.method, eps, s.dtype(leaf))[idx]
    r = default_rtol(s.dtype(leaf), s.method) if s.rtol is None else s.rtol
    comp = _compare_entries(ev, at, i, leaf, idx, h, a, r, floor)
    return comp if eps is not None else _straddled_kinks(ev, at, i, leaf, idx, a, r, comp)


def _across_zero(
    ev: Evaluator,
    s: _Setting,
    i: int,
    leaf: Array,
    idx: Array,
    h: Array,
    a: Array,
    r: float,
    comp: cmp.Comparison,
    name: str,
) -> cmp.Comparison:
    """Wrong entries whose steps jumped across 0, judged at a step on their own side
    (``gradcheck._kinks`` rule 7), and a note saying so."""

    def measure(k: Array, hk: Array) -> cmp.Comparison:
        return _compare_entries(ev, s, i, leaf, idx[k], hk, a[k], r, comp.scale)

    theta = np.real(leaf.reshape(-1))[idx]
    out, n = kinks.across_zero(comp, theta, h, s.method, s.dtype(leaf), measure)
    if not n:
        return out
    note = (
        f"{name}: {n} entries' steps reached across 0, where the cost jumps (a pole or "
        "branch at 0?): they are judged at a step within their own side, relative to |θ|"
    )
    return replace(out, notes=(*out.notes, note))


def _straddled_kinks(
    ev: Evaluator,
    s: _Setting,
    i: int,
    leaf: Array,
    idx: Array,
    a: Array,
    r: float,
    comp: cmp.Comparison,
) -> cmp.Comparison:
    """Entries whose steps straddle a kink, compared again with steps clear of it.

    A step below the cost's resolution is no evidence of a wrong gradient, so a cost
    that does not move at the smaller steps leaves the entry ``uncertain``.
    """
    low = replace(s, low_precision=True)
    floor = comp.scale

    def measure(k: Array, hk: Array) -> cmp.Comparison:
        return _compare_entries(ev, low, i, leaf, idx[k], hk, a[k], r, floor)

    return kinks.resolve(comp, np.real(leaf.reshape(-1))[idx], s.dtype(leaf), measure)
