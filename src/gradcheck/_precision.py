"""Precision: judge a cost by the precision its values show.

Two things decide a low-precision check (issue 11 §2, ``docs/numerics.md``): the
float64 route, which checks the formula on a float64 copy of the parameters
(``gradcheck._float64_route``), and, here, **hidden precision**: a cost that computes in
float32 inside but returns a float64 (``float(...)``, ``.item()``), or has a
low-precision stage inside, is judged by how its values move, not by the dtype it
returns (:func:`cost_noise`, :func:`directional_work`). :func:`unseen_notes`
(``gradcheck._unseen``) says what a check limited by precision could not see.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck import _kinks as kinks
from gradcheck._directional import effective_roundoff
from gradcheck._evaluate import Delta, Evaluator
from gradcheck._hidden_jumps import direction, jump_noise
from gradcheck._norms import noise_from_table
from gradcheck._numerics import (
    HIDDEN_MAGNITUDE,
    HIDDEN_STEP,
    HIDDEN_STEP16,
    NOISE_LIKE,
    NOISY,
    SHOWN_NOISE,
    STAGE16_NOISE,
    STAGE_NOISE,
)
from gradcheck._tolerances import unit_roundoff
from gradcheck._unseen import unseen_notes

__all__ = [
    "HIDDEN_NOTE",
    "Noise",
    "cost_noise",
    "directional_work",
    "hidden_note",
    "terms_size",
    "unseen_notes",
]

Array = np.ndarray[Any, Any]
_U16 = unit_roundoff(np.float16)
_U32 = unit_roundoff(np.float32)
_U64 = unit_roundoff(np.float64)
_TINY = float(np.finfo(np.float64).tiny)

#: Values that repeat at the float64 probe where the move seen at ``HIDDEN_STEP``, scaled
#: down to it (``_SHRINK``), is above 64 round-offs ``u64·|J|`` are a stage's (kzoo
#: f32stage_many); a float64 cost would have moved there.
_STILL = 64 * _U64
_SHRINK = math.sqrt(_U64) / HIDDEN_STEP
#: How much narrower the table is that tells a narrow feature from a stage's noise
#: (:func:`_smooth_closer`): a bump of width ``w`` read at steps ``s`` has ``k``-th
#: differences falling as ``(s/w)^k``, so at ``s/16`` the estimates spread by ``16²`` per
#: order, far past ``NOISE_LIKE``; a float32 stage's values repeat there.
_CLOSER = 16.0


def hidden_note(work: Any) -> str:
    """The note of a float64 cost found to compute in ``work`` (float32, float16) inside."""
    name = np.dtype(work).name
    return (
        f"the cost returns float64 values but computes in {name} inside: its values move "
        f"in {name}-sized steps, so it is judged with {name}'s steps and tolerances "
        "(compute it in float64 to check the formula more tightly)"
    )


#: The note of a cost found to compute in float32 inside.
HIDDEN_NOTE = hidden_note(np.float32)


class Noise(NamedTuple):
    """The cost's noise, the dtype it computes in when below what it returns, and the
    report's note saying so."""

    sigma: float
    work: np.dtype[Any] | None  # float32: a float64 value computed in float32 inside
    note: str = HIDDEN_NOTE
    #: Where ``work`` was read from how the values move (:func:`_noisy`), not from the
    #: values themselves: the float64 probe's noise (``gradcheck._stairs`` rule 2).
    fine: float | None = None


def _noisy_note(work: np.dtype[Any], sigma: float) -> str:
    """The note of a float64 cost whose measured noise is that of ``work``."""
    return (
        f"the cost returns float64 values, but they are as noisy as {work} round-off "
        f"(noise {sigma:.2g}; a {work} stage inside?), so it is judged with {work}'s "
        "steps and tolerances (compute every stage in float64 to check the formula "
        "more tightly)"
    )


class _Probed(NamedTuple):
    """:func:`_probe`'s answer: the noise estimate, and every cost value it saw."""

    sigma: float
    values: Array


def _probe(
    evaluate: Evaluator, leaves: list[Array], j0: float, step: float, seed: int, kinked: bool
) -> _Probed:
    """Noise from 6 evaluations at relative steps ``k · step`` along a private random
    direction (:func:`_direction`), and every value seen. With ``kinked``, 12 where a
    kink near θ spoils the first table (``gradcheck._kinks``, rule 6); else the plain
    ECnoise estimate."""
    deltas = direction(leaves, step, seed)
    ks = (-3, -2, -1, 1, 2, 3)
    seen: list[Array] = [np.array([j0])]

    def table(shrink: float) -> Array:
        points = [tuple(Delta(i, slice(None), d, k * shrink) for i, d in deltas) for k in ks]
        vals = np.real(evaluate(points))
        seen.append(vals)
        return np.concatenate([vals[:3], [j0], vals[3:]])

    sigma = kinks.table_noise(table) if kinked else noise_from_table(table(1.0))
    return _Probed(sigma, np.concatenate(seen))


def _numbers(values: Array, dtype: Any) -> bool:
    """Whether every value is exactly a number of ``dtype`` (all equal ones included)."""
    with np.errstate(over="ignore"):
        return bool(np.all(values.astype(dtype).astype(np.float64) == values))


def terms_size(analytic: Sequence[Array], leaves: Sequence[Array]) -> float:
    """``Σ |g_i θ_i|`` over every entry: how much rounding the inputs alone moves ``J``
    per unit round-off, the size of the terms that make the cost."""
    return sum(
        float(np.abs(g.reshape(-1)) @ np.abs(np.real(x.reshape(-1)).astype(np.float64)))
        for g, x in zip(analytic, leaves)
    )


def cost_noise(
    evaluate: Evaluator,
    leaves: list[Array],
    j0: float,
    u: float,
    seed: int,
    *,
    analytic: Sequence[Array] | None,
) -> Noise:
    """The cost's noise, floored at the round-off its values show (``u·|J|`` or coarser).

    A cost computed in float32 but returned as float64 often does not move at the float64
    probe's step ``√u``. With ``analytic`` (a float64 check), when every value of that
    probe is a float32 number, a probe at :data:`~gradcheck._numerics.HIDDEN_STEP` (6
    evaluations) decides: values that move and are all float32 numbers are a float32
    computation (a float64 one gives seven by chance with probability ``2^(-29·7)``);
    the values decide, not their noise (float32 inputs moved by equal steps can round
    onto an exact lattice). Values below ``HIDDEN_MAGNITUDE`` of the terms are no
    evidence. Such a cost's noise is that probe's, floored at ``u32·|J|``, and ``work``
    is float32: it is checked with float32's steps and tolerances.
    """
    sigma, values = _probe(evaluate, leaves, j0, math.sqrt(u), seed, kinked=True)
    sigma = max(sigma, effective_roundoff(values, u) * abs(j0))
    if analytic is None or u > _U64:
        return Noise(sigma, None)
    if not _numbers(values, np.float32):
        terms = terms_size(analytic, leaves)
        noise = _noisy(evaluate, leaves, j0, seed, Noise(sigma, None), values, terms)
        return noise if noise.work is not None else _jumps(evaluate, leaves, j0, seed, noise, terms)
    hidden_sigma, work, still = _hidden(evaluate, leaves, j0, seed, analytic)
    if work is None and not still and np.unique(values).size <= 2:
        # J(θ) a float32 number by chance, the stage's total scaled in float64: its
        # values are no stage's numbers, yet repeat (attack32 H110)
        terms = terms_size(analytic, leaves)
        return _noisy(evaluate, leaves, j0, seed, Noise(sigma, None), values, terms)
    if work is None:
        return Noise(sigma, None)
    floor = unit_roundoff(work) * abs(j0)
    return Noise(max(hidden_sigma, floor), work, hidden_note(work))


def _noise_like(table: Array) -> bool:
    """Whether a probe's table varies like noise, not like a smooth function.

    Noise of standard deviation ``σ`` gives ``k``-th differences whose RMS over
    ``√C(2k, k)`` is ``σ`` for every ``k`` (ECnoise, Moré & Wild 2011); a smooth function
    sampled at a step far below the scale it varies on gives differences that shrink by
    that ratio at each order. The estimates for ``k = 2, 3, 4`` agree to within
    :data:`~gradcheck._numerics.NOISE_LIKE` for a float32 stage (1.3 to 1.5), while a
    feature of width 1e-7 read at ``√u64`` spreads them by 400 to 4·10⁶.
    """
    top = float(np.max(np.abs(table)))
    if not 0 < top < math.inf:
        return False
    unit = table / top  # scaled: a cost of 1e200 would overflow the squares
    est = [float(np.mean(np.diff(unit, n=k) ** 2)) / math.comb(2 * k, k) for k in (2, 3, 4)]
    return min(est) > 0 and max(est) <= NOISE_LIKE**2 * min(est)


def _noisy(
    evaluate: Evaluator,
    leaves: list[Array],
    j0: float,
    seed: int,
    noise: Noise,
    values: Array,
    hidden: float,
) -> Noise:
    """``noise``, or the noise of a float64 cost with a low-precision stage inside.

    Such a cost (``float(u @ np.tanh(A @ p).astype(np.float16))``) returns float64
    numbers, no float32 ones, but its values move in the stage's steps: the float64
    probe measures float32-sized noise (:data:`~gradcheck._numerics.NOISY`) that varies
    like noise (:func:`_noise_like`: curvature of a narrow feature does not), or its
    values repeat where the stage does not move at ``√u64`` (a float64 cost moves by
    ``√u64 · T`` there). The probe at :data:`~gradcheck._numerics.HIDDEN_STEP` measures
    it then: :data:`~gradcheck._numerics.SHOWN_NOISE` of float32's round-off of the
    terms or more, up to :data:`~gradcheck._numerics.STAGE_NOISE` of them (more is a
    pole crossed, a jump), is judged with float32's steps and tolerances; float16's
    where the float64 probe saw at most two values (a float16 stage, 3e4 times finer
    than its spacing, seldom moves) and the second probe measured none or at least
    :data:`~gradcheck._numerics.STAGE16_NOISE` float32 round-offs of the terms (a
    float32 stage scaled in float64 repeats too) (F27): with float64's, a step that did
    not move the stage gave differences of exactly 0, and a right gradient failed.
    """
    size = max(abs(j0), hidden)
    if size < _TINY:  # subnormal values repeat and jump by underflow, no stage's rounding
        return noise
    distinct = np.unique(values).size
    table = np.concatenate([values[1:4], [j0], values[4:7]])  # the first, k = -3..3
    noisy = noise.sigma >= NOISY * _U32 * size and _noise_like(table)
    if noisy and distinct == values.size:
        noisy = not _smooth_closer(evaluate, leaves, j0, seed)
    if not size > 0 or (distinct == values.size and not noisy):
        return noise
    sigma2, moved = _probe(evaluate, leaves, j0, HIDDEN_STEP, seed, kinked=False)
    half = distinct <= 2 and not 0 < sigma2 < STAGE16_NOISE * _U32 * size
    if distinct <= 2 and np.ptp(moved) == 0:
        # a float16 stage scaled in float64 (a mean: no float16 number) moves at neither
        sigma2, _ = _probe(evaluate, leaves, j0, HIDDEN_STEP16, seed, kinked=False)
    sigma = max(noise.sigma, sigma2)
    if distinct <= 2 and np.ptp(moved) * _SHRINK > _STILL * abs(j0):
        # repeats where float64 moves, then an exact lattice (a float32 stage's inputs
        sigma = max(sigma, SHOWN_NOISE * _U32 * size)  # moved by equal steps): no noise
    if not SHOWN_NOISE * _U32 * size <= sigma <= STAGE_NOISE * size:
        return noise
    work = np.dtype(np.float16 if half else np.float32)
    return Noise(sigma, work, _noisy_note(work, sigma), noise.sigma)


def _jumps(
    evaluate: Evaluator, leaves: list[Array], j0: float, seed: int, noise: Noise, hidden: float
) -> Noise:
    """``noise``, or the noise of a float64 cost with a low-precision stage added to it.

    Such a cost's float64 part moves at the float64 probe, its stage does not (attack34
    H131); at :data:`~gradcheck._numerics.JUMP_STEP` the stage jumps
    (``gradcheck._hidden_jumps``), where an input crosses a rounding midpoint of the
    stage's dtype. Its table's noise up to :data:`~gradcheck._numerics.STAGE_NOISE` of
    the terms is judged with that dtype's steps and tolerances, and the staircase rules
    (``gradcheck._stairs``) compare its wrong entries again in float64.
    """
    size = max(abs(j0), hidden)
    if not size >= _TINY:
        return noise
    floor = max(_STILL * size, 16 * noise.sigma)
    jump = jump_noise(evaluate, leaves, j0, seed, floor, terms=size)
    if jump is None:  # a float16 stage may not move at JUMP_STEP along that direction
        jump = jump_noise(evaluate, leaves, j0, seed, floor, HIDDEN_STEP16, size)
    if jump is None or not jump.sigma <= STAGE_NOISE * size:
        return noise
    return Noise(jump.sigma, jump.work, _jump_note(jump.work, jump.sigma), noise.sigma)


def _jump_note(work: np.dtype[Any], sigma: float) -> str:
    """The note of a float64 cost found to jump like a ``work`` stage added to it."""
    return (
        f"the cost returns float64 values that move smoothly at float64's steps but jump "
        f"at wider ones like {work} round-off (noise {sigma:.2g}): part of it moves only in "
        f"{work}'s steps (a {work} stage added to it?), whose slope across its stairs "
        f"differences at float64's steps cannot see, so it is judged with {work}'s steps "
        "and tolerances (compute every stage in float64 to check the formula more tightly)"
    )


def _smooth_closer(evaluate: Evaluator, leaves: list[Array], j0: float, seed: int) -> bool:
    """Whether the float64 probe's table, taken :data:`_CLOSER` times narrower (6
    evaluations), is smooth: its values all differ and do not vary like noise.

    A stage's rounding stays noise there, or its values repeat (a float32 stage moves
    by a sixtieth of its spacing per step); a feature narrower than the float64 probe
    (five Gaussian bumps of width 1e-7 under steps of 1.5e-8: noise-like at ``√u64``,
    attack28) is smooth at a sixteenth of it, and is no stage."""
    _, values = _probe(evaluate, leaves, j0, math.sqrt(_U64) / _CLOSER, seed, kinked=False)
    table = np.concatenate([values[1:4], [j0], values[4:7]])
    return bool(np.unique(values).size == values.size and not _noise_like(table))


def directional_work(
    evaluate: Evaluator,
    leaves: list[Array],
    j0: float,
    u: float,
    seed: int,
    analytic: Sequence[Array],
) -> np.dtype[Any] | None:
    """float32 or float16 where a float64 check in directional mode has a cost that
    computes in it inside (see :func:`cost_noise`), else ``None``.

    The directional mode has no noise probe, so the hidden-precision probes (6 or 12
    evaluations, :func:`_hidden`) run only when ``J(θ)`` is a nonzero float32 number (a
    float64 computation gives one with probability 2⁻²⁹; small integers more often, at
    the cost of 6 evaluations). The terms' size (:func:`terms_size`) is computed then.
    """
    if u > _U64 or j0 == 0 or not _numbers(np.array([j0]), np.float32):
        return None
    return _hidden(evaluate, leaves, j0, seed, analytic).work


class _Hidden(NamedTuple):
    """What the hidden-precision probes saw: the cost's noise there and the dtype its
    values show (``None``: no coarser dtype)."""

    sigma: float
    work: np.dtype[Any] | None
    #: Neither probe moved the cost (the second, at ``HIDDEN_STEP16``, ran).
    still: bool = False


def _hidden(
    evaluate: Evaluator, leaves: list[Array], j0: float, seed: int, analytic: Sequence[Array]
) -> _Hidden:
    """The probe at :data:`~gradcheck._numerics.HIDDEN_STEP` (6 evaluations) and, where
    it did not move the cost and ``J(θ)`` is a float16 number, the one at
    :data:`~gradcheck._numerics.HIDDEN_STEP16` (6 more): a float16 computation does not
    move at the first. Their values decide (:func:`_values_work`). A nonzero cost that
    moves at neither is taken as float16 too where float16 could have rounded the
    second probe's moves away (:func:`_rounded_away`): a float16 sum of many small
    terms does (``A16 @ p16`` with 2·10⁴ entries), and float64's steps then read
    finite differences of exactly 0 as a wrong gradient.
    """
    terms = terms_size(analytic, leaves)
    sigma, values = _probe(evaluate, leaves, j0, HIDDEN_STEP, seed, kinked=False)
    if np.ptp(values) > 0 or not _numbers(values, np.float16):
        return _Hidden(sigma, _values_work(values, sigma, j0, terms))
    sigma, values = _probe(evaluate, leaves, j0, HIDDEN_STEP16, seed, kinked=False)
    if np.ptp(values) == 0:
        stuck = j0 != 0 and _rounded_away(analytic, leaves, j0, seed, terms)
        return _Hidden(sigma, np.dtype(np.float16) if stuck else None, still=True)
    return _Hidden(sigma, _values_work(values, sigma, j0, terms))


def _rounded_away(
    analytic: Sequence[Array], leaves: list[Array], j0: float, seed: int, terms: float
) -> bool:
    """Whether float16 could have rounded away the change the gradient predicts for the
    largest move of the probe at :data:`~gradcheck._numerics.HIDDEN_STEP16`, where
    float64 would have shown it: below float16's round-off of the terms,
    ``u16 · Σ|g_i θ_i|``, and above 64 float64 round-offs of ``J``. A larger
    predicted change that did not come is the gradient's (or the cost ignores its
    parameters), and float64's steps judge it; a smaller one (parameters of 1e-48
    beside a cost of 1) no dtype could show, and is no evidence of float16 either; a
    zero gradient (``terms`` 0) is judged by float64's steps too."""
    deltas = direction(leaves, HIDDEN_STEP16, seed)
    change = 3 * abs(sum(float(np.real(analytic[i]).reshape(-1) @ d) for i, d in deltas))
    return 64 * _U64 * abs(j0) < change < _U16 * terms


def _values_work(values: Array, sigma: float, j0: float, terms: float) -> np.dtype[Any] | None:
    """float16 or float32 when a probe's values show a cost computed in it: they move,
    some is above :data:`~gradcheck._numerics.HIDDEN_MAGNITUDE` of the terms, every
    one is a number of that dtype (float16 before float32: every float16 number is a
    float32 one), and their noise is no more than a stage's rounding
    (:data:`~gradcheck._numerics.STAGE_NOISE` of the terms' size): a cost whose values
    jump by whole units (``np.sum(np.round(p))``) gives float16 numbers too, and is no
    low-precision computation."""
    size = max(abs(j0), terms)
    large = float(np.max(np.abs(values))) > HIDDEN_MAGNITUDE * size
    if not (large and np.ptp(values) > 0 and sigma <= STAGE_NOISE * size):
        return None
    for dtype in (np.float16, np.float32):
        if _numbers(values, dtype):
            return np.dtype(dtype)
    return None
