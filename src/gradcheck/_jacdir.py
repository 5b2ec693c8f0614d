"""The projections' shared finite differences: one set of evaluations for every form.

A projection check evaluates ``f`` (the whole output vector) at ``θ ± w_k`` and
``θ ± w_k/2`` along a few random steps ``w_k``. Those rows serve every form at once:

* the cotangent fold ``uᵀf`` (:class:`Folded`): its values are ``rows @ u``, what
  ``check``'s directional verdict (``gradcheck._modes.directional_check``) compares
  with ``uᵀJ w_k`` from a ``vjp`` (or a ``jacobian``), with its stated guarantee;
* each output of a ``jvp`` or ``jacobian`` form, compared with the same rows output by
  output (:func:`gradcheck._jacalong.along`): ``J w_k`` against the Richardson differences;
* the consistency check, on the pairs ``(u, w_k)`` (``gradcheck._jacproj``).

**Each output's fair share** (attack13 F4). With ``u ~ N(0, I)``, an output 10⁷ times
smaller than another adds 10⁻⁷ of ``uᵀJ``: a missing or sign-flipped small output
passes the fold. So ``u_i = z_i / s_i`` (:func:`cotangent`) with ``s_i`` output
``i``'s derivative scale along one random step: the finite difference
``|f_i(θ + w₀) − f_i(θ)|`` (one evaluation; the truth, so a claim that misses or
inflates a row does not change its share), floored at :data:`SHARE_NOISE` times the
output's round-off (an output that does not move is not weighted up into its own
rounding), at :data:`SHARE_RANGE` of the largest scale, and, for an output that
does not move at all, at :data:`SHARE_RULE` ``·√u`` of the scale of the output that
moves most (a rule's round-off in a structurally zero output is not weighted up
either). Every output then adds about ``|z_i|`` to ``uᵀJ w``, and an error in one
output's row is an error of its own size in the fold (relative to that row).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradcheck._evaluate import Delta, Point
from gradcheck._jacgrid import VectorEvaluator
from gradcheck._steps import entry_scale

__all__ = [
    "SHARE_NOISE",
    "SHARE_RANGE",
    "SHARE_RULE",
    "Folded",
    "cotangent",
    "flat_step",
    "probe_points",
    "random_steps",
    "taken_step",
]

Array = np.ndarray[Any, Any]
#: An output's weight in the fold is at most that of a derivative this many times its
#: round-off ``2u·|f_i|`` (per step): an output that does not depend on the
#: parameters adds at most 1e-10 of its share in noise, far below the float64
#: screening tolerance of Richardson differences (1e-9).
SHARE_NOISE = 1e10
#: Outputs whose scale is below this share of the largest are weighted as that share:
#: ``u`` spans at most 12 decades (a fold of 10⁶ outputs stays far from overflow).
SHARE_RANGE = 1e-12
#: The scale of an output that does not move beyond its rounding (a structural zero)
#: is at least this times ``√u`` of the scale of the output that moves most,
#: ``max|f_i(θ + w₀) − f_i(θ)|`` (attack24 F1). A rule's round-off is about
#: ``u`` of the largest derivative it computes, also in an output whose derivative is 0
#: (QR's backward leaves 1e-16 in R's structurally zero entries), and the output's weight
#: amplifies it: at most ``1/(10√u)`` of that output's weight, the amplified round-off is
#: at most ``√u/10`` of its share (1e-9 in float64, 3.5e-5 in float32, 3e-3 in float16),
#: far below each dtype's screening tolerance (:data:`gradcheck._numerics.RTOL`: 1e-7,
#: 1e-3, 5e-2). Before, such an output took the weight ``1/SHARE_RANGE``.
SHARE_RULE = 10.0


class Folded:
    """An evaluator of ``uᵀ f`` (``check``'s scalar cost) that keeps the rows of ``f``
    it evaluated, with the step ``w`` of each call's first point (``θ + w``, copied
    at once: a directional probe reuses its step's memory).

    With ``keep=False`` (a check of the ``vjp`` form alone: no other form is compared
    with the rows, no pair ``(u, w)`` is needed) nothing is kept: each row is folded
    as it comes (``VectorEvaluator.fold``), never copied."""

    def __init__(self, ev: VectorEvaluator, u: Array, keep: bool = True) -> None:
        self.ev, self.u, self.keep = ev, u, keep
        self.sizes = [x.size for x in ev.leaves]
        self.calls: list[tuple[Array, Array]] = []

    def __call__(self, points: Sequence[Point]) -> Array:
        """``uᵀ f`` at each point."""
        if not self.keep:
            return self.ev.fold(self.u, points)
        rows = self.ev(points)
        self.calls.append((flat_step(points[0], self.sizes) if points else np.zeros(0), rows))
        return np.asarray(rows @ self.u)


def cotangent(z: Array, change: Array, roundoff: Array | float, f0: Array) -> Array:
    """``u = z / s``: each output's fair share (module doc).

    Args:
        z: standard normal draws, one per output.
        change: ``f(θ + w₀) − f(θ)`` along one random step ``w₀``.
        roundoff: each output's unit round-off (one number where every output has
            the same: no array of them is made or read).
        f0: ``f(θ)``.
    """
    ru = roundoff if isinstance(roundoff, float) else np.asarray(roundoff, dtype=np.float64)
    size = np.abs(f0)  # |f0|, and from the scale on 2u·|f0|
    moved = np.abs(change)
    s = size * (SHARE_NOISE * 2 * ru)
    np.maximum(s, moved, out=s)
    top = float(s.max()) if s.size else 0.0
    if not top > 0 or not math.isfinite(top):
        return z
    np.maximum(s, SHARE_RANGE * top, out=s)  # (a floor below ``top``: the largest stays)
    size *= 2.0 * ru
    # the largest scale now: ``top`` or one the floor raised (no other entry changed),
    # without a pass over the outputs to find it again
    top = max(top, _floor_still(s, moved, size, ru))
    np.divide(top, s, out=s)
    s *= z  # z · (top / s)
    return s


def _floor_still(s: Array, moved: Array, rounding: Array, ru: Array | float) -> float:
    """Raise, in place, the scale ``s`` of each output that did not move beyond its own
    rounding (``|change| ≤ 2u·|f0|``, ``moved`` against ``rounding``: a structural zero)
    to :data:`SHARE_RULE` ``·√u`` of the scale of the output that moves most. An output
    that moves keeps its own scale, however small (attack25 G6: a part 1e-14 of
    another's, ×2 wrong, passed). Returns the largest scale it set (0 if none)."""
    still = moved <= rounding
    if not still.any():
        return 0.0
    where = np.nonzero(still)[0]
    top = int(np.argmax(moved))  # the largest derivative's output
    floor = (SHARE_RULE * float(s[top])) * np.sqrt(np.broadcast_to(ru, s.shape)[where])
    raised = np.maximum(s[where], floor)
    s[where] = raised
    return float(raised.max())


def flat_step(point: Point, sizes: Sequence[int]) -> Array:
    """The flat step ``w`` of a point ``θ + w`` whose deltas add slices."""
    starts = np.cumsum([0, *sizes])
    w = np.zeros(int(starts[-1]))
    for d in point:
        a, b, _ = d.indices.indices(sizes[d.leaf])
        base = int(starts[d.leaf])
        w[base + a : base + b] = d.factor * np.asarray(d.values, dtype=np.float64)
    return w


def taken_step(leaves: Sequence[Array], w: Array, *, own: bool = False) -> Array:
    """The step the rows at ``θ ± w``, ``θ ± w/2`` (:func:`probe_points`) actually took,
    as the Richardson combination sees it: ``(4/3)(s(w/2) − s(−w/2)) − (1/6)(s(w) − s(−w))``
    with ``s(t) = fl(θ + t) − θ`` in each leaf's dtype (the evaluator's arithmetic).

    It is ``w`` up to the rounding of ``θ + w``: half an ulp of ``θ_j`` per point, which
    is a relative error of ``u·|θ_j| / |w_j|`` in one output's derivative, far above the
    comparison's tolerance where ``w_j`` is small (a small draw ``z_j``) and ``θ_j`` is
    not (``sin`` near π: a correct jvp failed). ``J`` applied to it is what the rows
    measure, to the truncation error. ``own``: ``w`` (a float64 array) is the caller's
    to overwrite, and is returned as the taken step (no copy of it).
    """
    own = own and isinstance(w, np.ndarray) and w.dtype == np.float64 and w.ndim == 1
    out = w if own else np.array(w, dtype=np.float64)
    start = 0
    for x in leaves:
        k = x.size
        if x.dtype == np.float64:
            _taken64(x.reshape(-1), out[start : start + k])
        elif x.dtype.kind == "f":
            base = x.reshape(-1).astype(np.float64)
            wk = out[start : start + k].copy()

            def s(t: Array, base: Array = base, dtype: Any = x.dtype) -> Array:
                return np.asarray((base + t).astype(dtype).astype(np.float64) - base)

            half = 0.5 * wk
            out[start : start + k] = (4.0 / 3.0) * (s(half) - s(-half)) - (s(wk) - s(-wk)) / 6.0
        start += k
    return out


def _taken64(base: Array, w: Array) -> None:
    """:func:`taken_step` of a float64 leaf, in place of its step ``w``: the same
    operations (``θ + (−t)`` is ``θ − t`` exactly; ``w·0.5`` and ``w *= 0.5`` round
    alike), so the same bits, without the casts to and from float64 (each a copy) and
    with two temporaries instead of twenty: at N = 10⁶ the combination took about
    100 ms per step. ``s(±w)`` first, then ``w`` itself is halved in place for
    ``s(±w/2)``."""
    c = np.add(base, w)
    c -= base  # s(w)
    d = np.subtract(base, w)
    d -= base  # s(−w)
    c -= d
    c /= 6.0
    half = np.multiply(w, 0.5, out=w)
    a = np.add(base, half, out=d)
    a -= base  # s(w/2)
    b = np.subtract(base, half, out=half)
    b -= base  # s(−w/2)
    a -= b
    a *= 4.0 / 3.0
    np.subtract(a, c, out=w)


def probe_points(w: Sequence[Array]) -> list[Point]:
    """``θ ± w``, ``θ ± w/2`` for per-leaf steps ``w`` (the order of a directional
    probe, ``gradcheck._directional.Prober.probe``)."""
    half = [x * 0.5 for x in w]
    return [
        tuple(Delta(i, slice(None), x, t) for i, x in enumerate(vs))
        for vs, t in ((w, 1.0), (w, -1.0), (half, 1.0), (half, -1.0))
    ]


def random_steps(
    leaves: Sequence[Array],
    rng: np.random.Generator,
    rel: float,
    scales: Sequence[Array] | None = None,
) -> list[Array]:
    """One random step per leaf: ``rel · s ⊙ z``, the largest entry moving about
    ``3·rel·s`` (as a directional probe's); ``scales``: the leaves' entry scales
    ``s``, where the caller has them."""
    zs = [rng.standard_normal(x.size, dtype=np.float32) for x in leaves]  # as a probe's
    # max |z| without the array |z| (as a probe's: ``Prober.probe``)
    zmax = max((max(float(z.max()), -float(z.min())) for z in zs if z.size), default=0.0)
    h = rel / (zmax / 3.0) if zmax > 0 else rel
    if scales is None:
        scales = [entry_scale(x.reshape(-1)) for x in leaves]
    steps = []
    for s, z in zip(scales, zs):
        w = np.multiply(s, z, dtype=np.float64)
        w *= h  # in place: (s·z)·h, the same bits as a fresh product
        steps.append(w)
    return steps
