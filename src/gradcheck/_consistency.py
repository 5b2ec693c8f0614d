"""The JVP–VJP consistency check: two forms of one Jacobian, compared exactly.

Two forms of one derivative must give the same ``uᵀ J v`` for every ``u`` and ``v``,
exactly up to round-off, with no finite differences: a ``jvp`` rule that disagrees with
its ``vjp`` is caught even where finite differences are too noisy to see it. Any form
that is a linear map of flat vectors (a :class:`LinearMap`: ``J v`` or ``uᵀ J``) can be
compared by :func:`agreement`; :func:`consistency` compares the forms a user gave to
:func:`gradcheck.check_jacobian`. The tolerance is
:func:`gradcheck._tolerances.consistency_tolerance`, the adapters' rule too (see there
and :func:`agreement` for its reason).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from gradcheck._linear import Forms, Memo
from gradcheck._norms import norm2
from gradcheck._numerics import CONSISTENCY_RTOL
from gradcheck._steps import entry_scale
from gradcheck._tolerances import consistency_tolerance, unit_roundoff

__all__ = [
    "PAIRS",
    "STATIONARY_ROUNDOFFS",
    "Consistency",
    "LinearMap",
    "Magnitudes",
    "agreement",
    "consistency",
    "homogeneous",
    "linearity",
    "magnitudes",
    "random_pairs",
]

Array = np.ndarray[Any, Any]
#: Random pairs ``(u, v)`` of the consistency check: each pair is one exact identity.
PAIRS = 3
#: The consistency floor applies where both forms' scales ``‖u‖‖Jv‖`` are at most this
#: many unit round-offs of the floor ``‖u ⊙ f‖·‖v / s‖``: at a stationary point of a
#: function whose curvature is ``|f|/s²`` the derivative at a rounded point is
#: ``u·|f|/s``; cos at π…5π (attack13 F3 and its tests) measures 6 to 36 round-offs,
#: growing with ``k`` (its curvature is 1, not ``|f|/s²``); 64 leaves a factor 2. A
#: derivative of ordinary size is far above it: cos(x) + x at inputs of 1e-12 is
#: 8e3 round-offs, a constant 1e14 output beside sin(x) 170, 1e12 2e4 (attack20 A1).
#: Not covered: cos at 10π and beyond (a correct pair may fail), and a float64 output
#: above 1e15 (float32: 1e6) beside ordinary ones (a wrong pair may pass the
#: consistency test; the finite differences still judge each form).
STATIONARY_ROUNDOFFS = 64.0


class LinearMap(NamedTuple):
    """One form of a Jacobian as a map of flat float64 vectors.

    Attributes:
        name: the form's name, for the report (``"jvp"``).
        apply: ``v ↦ J v`` (length ``n`` to ``m``), or ``u ↦ uᵀ J`` when ``transposed``.
        transposed: whether ``apply`` is ``uᵀ J`` (a VJP).
    """

    name: str
    apply: Callable[[Array], Array]
    transposed: bool


class Consistency(NamedTuple):
    """The consistency check of two forms over random pairs ``(u, v)``.

    Attributes:
        forms: the two forms compared.
        values: per pair, ``uᵀJv`` by the first and by the second form.
        tolerance: per pair, the round-off allowance.
        wrong: whether any pair disagrees beyond it.
        uncertain: whether a disagreement may be the forms' rounding, not a wrong
            form (:func:`linearity`): reported inconclusive, with the reason.
    """

    forms: tuple[str, str]
    values: tuple[tuple[float, float], ...]
    tolerance: tuple[float, ...]
    wrong: bool
    uncertain: bool = False

    def worst(self) -> int:
        """The pair farthest beyond its allowance (the first where none is)."""

        def beyond(i: int) -> float:
            x, y = self.values[i]
            gap, tol = abs(x - y), self.tolerance[i]
            if math.isnan(gap):
                return math.inf
            if tol > 0:
                return gap / tol
            return math.inf if gap > 0 else 0.0  # an allowance of 0: exact zeros agree

        return max(range(len(self.values)), key=beyond)

    def text(self) -> str:
        """One line for a person."""
        a, b = self.forms
        k = self.worst()
        x, y = self.values[k]
        verdict = "disagree" if self.wrong else "agree"
        digits = next((d for d in range(6, 18) if f"{x:.{d}g}" != f"{y:.{d}g}"), 17)
        line = (
            f"{a} and {b} {verdict}: uᵀJv = {x:.{digits}g} by {a}, {y:.{digits}g} by {b} "
            f"(random u, v; allowance {self.tolerance[k]:.2g}: round-off and a relative "
            f"{CONSISTENCY_RTOL:g} of Σ|uᵢ(Jv)ᵢ| + Σ|(uᵀJ)ⱼvⱼ|)"
        )
        if not self.uncertain:
            return line
        return (
            f"{line}; {a} keeps {a}(2x) = 2·{a}(x) and {a}(-x) = -{a}(x), and the finite "
            f"differences could not resolve its entries, so this may be its rounding (small "
            f"values computed as the difference of large terms), not a wrong {a}: "
            f"inconclusive"
        )


class Magnitudes(NamedTuple):
    """What sets the consistency check's absolute round-off floor (see
    :func:`gradcheck._tolerances.consistency_tolerance`).

    Attributes:
        values: ``|f|``, the function's values at the point, flat (length ``m``).
        scales: the inputs' entry scales ``max(|θ_j|, rms θ)``, flat (length ``n``).
    """

    values: Array
    scales: Array

    def floor(self, u: Array, v: Array) -> float:
        """``‖u ⊙ f‖·‖v / s‖``, each factor scaled before the product (values of 1e200
        or 1e-200 neither overflow nor underflow there, attack20 A13, A14)."""
        return _product_norm(u, self.values) * _product_norm(v, 1.0 / self.scales)


def _product_norm(a: Array, b: Array) -> float:
    """``‖a ⊙ b‖`` without overflow or underflow of the products where it is a normal
    float: each factor is divided by its largest entry first."""
    ta, tb = _abs_max(a), _abs_max(b)
    if not (ta > 0 and tb > 0 and math.isfinite(ta) and math.isfinite(tb)):
        with np.errstate(over="ignore", invalid="ignore"):
            return norm2(a * b)
    with np.errstate(under="ignore"):
        scaled = a / ta
        scaled *= b / tb  # (a / ta) · (b / tb), in place
        return ta * tb * norm2(scaled)


def _abs_max(a: Array) -> float:
    """``max |a|`` (0 for an empty array, NaN where ``a`` has one) without the array
    ``|a|``: a fresh temporary per vector was most of the consistency check's time at
    10⁵ entries (each one new memory to fault in)."""
    a = np.asarray(a)
    if not a.size:
        return 0.0
    hi, lo = float(a.max()), float(a.min())
    return abs(max(hi, -lo)) if hi == hi else hi


def agreement(
    maps: Sequence[LinearMap],
    n: int,
    m: int,
    roundoff: float,
    seed: int,
    pairs: int = PAIRS,
    magnitudes: Magnitudes | None = None,
    vectors: Sequence[tuple[Array, Array]] = (),
) -> list[Consistency]:
    """Compare every two ``maps`` on ``pairs`` random ``(u, v)``: ``uᵀ(J v)`` against
    ``(uᵀ J) v``, exact up to round-off (no finite differences).

    Each map gives ``s = uᵀJv`` (``u·apply(v)``, or ``apply(u)·v`` when transposed).
    Two maps agree on a pair when ``|s_a − s_b|`` is within
    :func:`gradcheck._tolerances.consistency_tolerance` of the pair's scale
    ``Σ|uᵢ(Jv)ᵢ| + Σ|(uᵀJ)ⱼvⱼ|``, each sum taken from the form that gives it (from the one
    form when both are alike): the rounding of sums of ``n + m`` products of random
    sign, and a relative floor for forms accurate to less than round-off (an
    ill-conditioned solve, float32 internals; see ``CONSISTENCY_RTOL``).

    Args:
        maps: the forms to compare (fewer than two: nothing to compare).
        n, m: the numbers of input and output entries.
        roundoff: the unit round-off the tolerance is counted in.
        seed: seeds the private generator of ``u`` and ``v``.
        pairs: how many random pairs.
        magnitudes: the function's values and the inputs' scales, for the tolerance's
            absolute floor (``None``: no floor).
        vectors: the pairs ``(u, v)`` to compare on, in place of ``pairs`` random ones
            (the projections' shared ``(u, w_k)``, ``gradcheck._jacproj``).
    """
    if len(maps) < 2:
        return []
    chosen = vectors or random_pairs(n, m, seed, pairs)
    us, vs = [u for u, _ in chosen], [v for _, v in chosen]
    floors = [magnitudes.floor(u, v) if magnitudes else 0.0 for u, v in zip(us, vs)]
    terms: dict[str, list[_Terms]] = {f.name: [] for f in maps}
    for u, v in zip(us, vs):
        for f in maps:
            w = np.asarray(f.apply(u if f.transposed else v), dtype=np.float64)
            terms[f.name].append(_terms(w, v if f.transposed else u))
    out = []
    for i, a in enumerate(maps):
        for b in maps[i + 1 :]:
            judged = [
                _judge(roundoff, n + m, a, b, ta, tb, fl)
                for ta, tb, fl in zip(terms[a.name], terms[b.name], floors)
            ]
            pair = tuple((ta.value, tb.value) for ta, tb in zip(terms[a.name], terms[b.name]))
            tol = tuple(t for t, _ in judged)
            out.append(Consistency((a.name, b.name), pair, tol, any(w for _, w in judged)))
    return out


def random_pairs(n: int, m: int, seed: int, pairs: int = PAIRS) -> list[tuple[Array, Array]]:
    """The random ``(u, v)`` (lengths ``m`` and ``n``) :func:`agreement` draws from
    ``seed``: a caller that passes them as ``vectors`` reads the same products again
    (a :class:`~gradcheck._linear.Memo` matches vectors by identity)."""
    rng = np.random.default_rng([seed, 13])
    us = [rng.standard_normal(m) for _ in range(pairs)]
    vs = [rng.standard_normal(n) for _ in range(pairs)]
    return list(zip(us, vs))


class _Terms(NamedTuple):
    """One form's ``uᵀJv`` on one pair, as ``2^log2 · (dot, size)``: ``dot`` and ``size``
    (``Σ|terms|``) of the products scaled by the largest entry of either factor, so that
    neither overflows nor underflows (a vjp of 1.5e308 gave ``uᵀJv = inf`` by both forms
    and a correct pair failed, core22 / attack20 A14)."""

    dot: float
    size: float
    log2: float  # -inf: a zero vector

    @property
    def value(self) -> float:
        """``uᵀJv`` itself, for the report (``±inf`` beyond float64)."""
        with np.errstate(over="ignore"):
            return float(self.dot * np.exp2(self.log2)) if self.dot else 0.0


def _terms(w: Array, x: Array) -> _Terms:
    """The :class:`_Terms` of ``w · x``."""
    tw, tx = _abs_max(w), _abs_max(x)
    if not (math.isfinite(tw) and math.isfinite(tx)):  # inf or NaN: compared as such
        with np.errstate(over="ignore", invalid="ignore"):
            dot = float(w @ x)
        return _Terms(dot, math.inf, 0.0)
    if not (tw > 0 and tx > 0):
        return _Terms(0.0, 0.0, -math.inf)
    with np.errstate(under="ignore"):
        sw, sx = w / tw, x / tx
        dot = float(sw @ sx)
        size = float(np.abs(sw, out=sw) @ np.abs(sx, out=sx))  # |sw|·|sx|, in place
    return _Terms(dot, size, math.log2(tw) + math.log2(tx))


class _Judgement(NamedTuple):
    """:func:`_judge`'s answer for one pair: its allowance and whether it disagrees."""

    allowance: float
    wrong: bool


def _judge(
    roundoff: float, size: int, a: LinearMap, b: LinearMap, ta: _Terms, tb: _Terms, floor: float
) -> _Judgement:
    """The allowance of one pair (for the report; ``inf`` beyond float64) and whether the
    two forms disagree beyond it, compared in units of ``2^L``, ``L`` the larger of the
    two forms' exponents, so that values of 1e308 neither overflow nor cancel to NaN.

    The scale is ``Σ|uᵢ(Jv)ᵢ| + Σ|(uᵀJ)ⱼvⱼ|``, the sums of absolute products behind
    each side (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1: the
    rounding of a dot product is bounded by ``γₙ·Σ|xᵢyᵢ|``), not ``‖u‖‖Jv‖ + ‖uᵀJ‖‖v‖``:
    with outputs spanning 12 decades the norms pair the large entries of ``u`` with the
    large entries of ``Jv`` that never multiply each other, and the allowance was 1e8
    times ``uᵀJv`` (core22, /tmp/scale/mixed.py).
    """
    top = max(ta.log2, tb.log2)
    if not math.isfinite(top):  # both forms are exactly 0, or one is not finite
        gap = abs(ta.value - tb.value)
        return _Judgement(0.0, not gap <= 0.0)
    ra, rb = float(np.exp2(ta.log2 - top)), float(np.exp2(tb.log2 - top))
    sa, sb = ta.size * ra, tb.size * rb
    with np.errstate(over="ignore", under="ignore"):
        fl = floor / float(np.exp2(top)) if floor > 0 else 0.0
        tol = consistency_tolerance(
            roundoff, size, _scale(a, b, sa, sb), _floor(fl, sa, sb, roundoff)
        )
        wrong = not abs(ta.dot * ra - tb.dot * rb) <= tol  # NaN: wrong
        return _Judgement(float(tol * np.exp2(top)), wrong)


def _floor(floor: float, sa: float, sb: float, roundoff: float) -> float:
    """``floor`` where both forms are round-off next to it, else 0.

    The floor (:meth:`Magnitudes.floor`) stands for derivatives as large as ``|f|/s``
    known at a rounded point; it is the right allowance only where the forms themselves
    are that round-off (a stationary point: their scales ``sa``, ``sb`` are at most
    :data:`STATIONARY_ROUNDOFFS` round-offs of it). Elsewhere the forms are judged on
    their own scale: an output offset by 1e12 or inputs of scale 1e-10 make ``|f|/s``
    huge without any round-off in the derivative, and a floor there would pass a 2×
    error (attack20 A1).
    """
    return floor if max(sa, sb) <= STATIONARY_ROUNDOFFS * roundoff * floor else 0.0


def _scale(a: LinearMap, b: LinearMap, sa: float, sb: float) -> float:
    """``Σ|uᵢ(Jv)ᵢ| + Σ|(uᵀJ)ⱼvⱼ|``: each term from the form that gives it."""
    if a.transposed == b.transposed:
        return 2 * max(sa, sb)
    return sa + sb


def magnitudes(forms: Forms, outputs: Array, scales: Sequence[Array] | None = None) -> Magnitudes:
    """The :class:`Magnitudes` of ``fn``'s flat ``outputs`` at the forms' parameters;
    ``scales``: the leaves' entry scales, where the caller has them."""
    if scales is None:
        scales = [entry_scale(x.reshape(-1)) for x in forms.leaves]
    flat = np.concatenate(scales) if scales else np.zeros(0)
    return Magnitudes(np.abs(np.asarray(outputs, dtype=np.float64)), flat)


def consistency(
    forms: Forms, seed: int, pairs: int = PAIRS, outputs: Array | None = None
) -> list[Consistency]:
    """:func:`agreement` of the forms the user gave (``jacobian``, ``jvp``, ``vjp``);
    ``outputs`` (``fn``'s flat values at the parameters) set its round-off floor."""
    maps = [
        LinearMap(f, partial(forms.uj, f) if f == "vjp" else partial(forms.jv, f), f == "vjp")
        for f in forms.given
    ]
    lay = forms.layout
    mags = None if outputs is None else magnitudes(forms, outputs)
    return agreement(maps, lay.n, lay.m, lay.roundoff(), seed, pairs, mags)


def linearity(
    forms: Forms,
    matrices: dict[str, Array],
    seed: int,
    unresolved: frozenset[str] = frozenset(),
) -> list[Consistency]:
    """Each ``jvp``/``vjp`` form on random tangents against its own matrix.

    The entrywise check reads a ``jvp`` or ``vjp`` on basis vectors only (``n`` JVPs of
    ``e_j``, ``m`` VJPs of ``e_i``), where a rule that is not linear in its tangent
    (``J |v|``, ``J v ‖v‖``: a dropped sign, a stray normalisation) agrees with a
    linear one. The form on random ``u``, ``v`` must give the same ``uᵀJv`` as the
    matrix it built from the basis vectors. Both come from the same code, so they agree
    to its working precision: the allowance is counted in float32 round-offs at least
    (a form with float32 internals differs from itself by that much; a form that is
    not linear differs by O(1)).

    A form the finite differences could not resolve (its name in ``unresolved``: an
    entry of its matrix came out uncertain) that disagrees with its basis matrix is
    tested for what rounding cannot break: ``F(2x) = 2F(x)`` and ``F(−x) = −F(x)``
    (:func:`homogeneous`). A rule that is not linear in the ways that happen (a
    dropped sign, a stray normalisation, a one-sided rule) fails that, and stays
    failed. One that keeps both may be computing small values as the difference of
    large terms, its results rounding noise on basis vectors and on dense ones alike
    (a right ``hvp`` of a saturated softmax, ``p⊙Av − p(pᵀAv)`` with ``1 − max p``
    below 1e-13, failed 3 seeds of 12, attack35 H142's full-mode twin): the row is
    ``uncertain``, reported inconclusive with that reason, since nothing measured says
    the form is wrong.
    """
    out = []
    lay = forms.layout
    roundoff = max(lay.roundoff(), unit_roundoff(np.float32))
    for name, mat in matrices.items():
        if name == "jacobian":
            continue
        transposed = name == "vjp"
        own = LinearMap(
            name,
            Memo(partial(forms.uj, name) if transposed else partial(forms.jv, name)),
            transposed,
        )
        basis = LinearMap(f"{name} on basis vectors", partial(_times, mat, transposed), transposed)
        pairs = random_pairs(lay.n, lay.m, seed + 1)
        c = agreement([own, basis], lay.n, lay.m, roundoff, seed + 1, vectors=pairs)[0]
        if c.wrong and name in unresolved and homogeneous(own, lay.n, lay.m, roundoff, pairs):
            c = c._replace(uncertain=True)
        out.append(c)
    return out


def homogeneous(
    own: LinearMap, n: int, m: int, roundoff: float, pairs: Sequence[tuple[Array, Array]]
) -> bool:
    """Whether ``own`` keeps ``F(2x) = 2F(x)`` and ``F(−x) = −F(x)`` on ``pairs`` (the
    caller's own, so that a memoised ``own`` is not called on them again). Scaling by 2
    and negation commute with rounding, so a linear formula keeps both to the last bit
    however much it rounds; a dropped sign (``J|v|``), a stray normalisation (``J v/‖v‖``,
    ``J v‖v‖``) or a one-sided rule (``J max(v, 0)``) breaks one of them."""
    maps = [
        own,
        LinearMap(f"{own.name}(2x)/2", partial(_scaled, own.apply, 2.0), own.transposed),
        LinearMap(f"-{own.name}(-x)", partial(_scaled, own.apply, -1.0), own.transposed),
    ]
    return not any(c.wrong for c in agreement(maps, n, m, roundoff, 0, vectors=pairs))


def _scaled(apply: Callable[[Array], Array], c: float, x: Array) -> Array:
    """``F(c x) / c``."""
    return np.asarray(apply(c * x), dtype=np.float64) / c


def _times(mat: Array, transposed: bool, x: Array) -> Array:
    """``uᵀ A`` (``transposed``) or ``A v``."""
    return np.asarray(x @ mat if transposed else mat @ x)
