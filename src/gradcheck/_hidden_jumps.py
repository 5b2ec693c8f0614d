"""Jumps: a low-precision stage added to a smooth float64 cost (attack34 H131).

``0.5·Σ sin θ + float(Σ a·sin(θ.astype(np.float16)))``, part of a loss computed in lower
precision, moves at float64's probe through its float64 part, so its values are read as
a float64 cost's (``gradcheck._precision.cost_noise``); at float64's steps the stage is a
staircase whose stairs are wider than the step, its differences miss the stage's slope,
autograd's gradient failed and a gradient missing the whole stage passed with a bound
of 1e-5. Along the probes' direction (:func:`direction`) at
:data:`~gradcheck._numerics.JUMP_STEP` (and ``HIDDEN_STEP16``) such a cost jumps:
:func:`jump_noise` takes the difference of its table furthest from the table's trend and
halves its interval down to :data:`~gradcheck._numerics.JUMP_END`, following the half
that departs more. A jump keeps its departure at every size; a continuous cost's halves
with the interval (a kink, a feature's slope) or falls faster (curvature). A jump
where an input lies on a rounding midpoint of float16 or float32 is a stage of that
dtype (:func:`_stage_of`); one where an input lies on a grid ``m/(2^j·10^k)`` is a
quantiser's (:func:`_on_grid`: its derivative 0 between the stairs is its own); any
other is a stage of an intermediate (attack37 H181: ``(a·sin θ).astype(np.float16)``).
A stage is judged with its steps (``gradcheck._stairs`` rules 2 and 3 then leave the
slope across the stairs, which no difference at float64's steps can tell from the slope
between them, inconclusive).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck._entries import domain_error
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import Delta, Evaluator
from gradcheck._norms import noise_from_table
from gradcheck._numerics import JUMP_END, JUMP_FINE, JUMP_KEPT, JUMP_STEP
from gradcheck._steps import entry_scale
from gradcheck._tolerances import unit_roundoff

__all__ = ["Jump", "direction", "jump_noise"]

Array = np.ndarray[Any, Any]

#: A probe moves a non-zero entry by at most ``3 / _PROBE_REACH`` of itself.
_PROBE_REACH = 1024.0
#: The level from which a departure that falls as a continuous cost's ends the probe.
_EARLY = 5
#: The halvings at the end whose departures a jump keeps (``JUMP_KEPT``).
_LAST = 4
_U64 = unit_roundoff(np.float64)
#: The grids a quantiser's stairs are tested on (:func:`_on_grid`): ``M = c·2^j·10^k``,
#: ``c`` 1 or 3 (``round(θ·3e5)/3e5``, tests/test_stairs.py, jumps where ``θ·6e5`` is odd).
_GRID = np.unique([c * 2.0**j * 10.0**k for c in (1, 3) for j in range(12) for k in range(-6, 16)])
#: The chance allowed that a stage of an intermediate is taken for a quantiser's stair.
_GRID_MISS = 1e-3
#: A jump above this many float32 round-offs of the terms is no float32 stage's.
_F32_JUMP = 4 * unit_roundoff(np.float32)
_KS = (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)
_CENTRES = np.arange(-2.5, 3.0)


def direction(leaves: Sequence[Array], step: float, seed: int) -> list[tuple[int, Array]]:
    """The probes' private random direction at relative step ``step``, per leaf."""
    rng = np.random.default_rng(seed)
    deltas = []
    for i, leaf in enumerate(leaves):
        scale = entry_scale(leaf.reshape(-1))
        # a non-zero entry moves by at most 3/1024 of itself: a step across 0, or most
        # of the way there, meets whatever the cost does at 0 (a pole of 1/θ read as
        # noise of |J|, F12); only entries below 1.5e-5 × the rms are held back at √u64
        theta = np.abs(np.real(leaf.reshape(-1)), dtype=np.float64)
        with np.errstate(over="ignore"):  # θ of 1e305: inf, and the scale stands
            reach = theta / (_PROBE_REACH * step)
        scale = np.where(theta > 0, np.minimum(scale, reach), scale)
        deltas.append((i, step * scale * rng.choice([-1.0, 1.0], size=scale.size)))
    return deltas


def jump_noise(
    evaluate: Evaluator,
    leaves: Sequence[Array],
    j0: float,
    seed: int,
    floor: float,
    step: float = JUMP_STEP,
    terms: float = 0.0,
) -> Jump | None:
    """The noise of the table at relative step ``step`` (6 evaluations), and the dtype of
    the stage, where the cost jumps inside it off a quantiser's grid (:func:`_on_grid`),
    else ``None``. ``terms`` (the terms' size, at least ``|j0|``) tells a float32 stage's
    jump from a float16 one's where no input's midpoint does (:func:`_stage_of`).

    The trend is the least-squares quadratic through the table's differences; a
    departure is a difference minus the trend's over its interval. The largest is
    followed down halvings (one evaluation each). For the first ``_EARLY`` a continuous
    cost's falls with the interval ``L`` as ``L`` (a kink, a feature's slope) or faster,
    many small jumps' (a float32 stage's) as ``√L``, and a fall like a continuous cost's,
    or to ``floor``, ends the probe (5 evaluations). Then the slope between the stairs is
    measured (2 evaluations at ``JUMP_END``) and departures are taken from it down to
    intervals of ``JUMP_END``: a jump keeps its own, the half without one has none, and a
    feature wider than ``JUMP_END`` is continuous there. A jump keeps ``JUMP_KEPT`` of
    the departure 4 halvings before the last, above ``floor``.
    """
    deltas = direction(leaves, step, seed)
    flat = [np.real(leaf.reshape(-1)).astype(np.float64) for leaf in leaves]

    def at(ks: Sequence[float]) -> Array:
        points = [tuple(Delta(i, slice(None), d, k) for i, d in deltas) for k in ks]
        return np.asarray(np.real(evaluate(points)), dtype=np.float64)

    try:
        return _probe(at, step, j0, max(abs(j0), terms), floor, flat, deltas)
    except GradcheckError as err:
        if domain_error(err):  # a move out of the cost's domain: no evidence either way
            return None
        raise  # the user's own error


def _probe(
    at: Callable[[Sequence[float]], Array],
    step: float,
    j0: float,
    terms: float,
    floor: float,
    flat: list[Array],
    deltas: list[tuple[int, Array]],
) -> Jump | None:
    """:func:`jump_noise`'s probe, evaluating ``at`` points ``k`` steps along."""
    vals = at(_KS)
    table = np.concatenate([vals[:3], [j0], vals[3:]])
    if not np.all(np.isfinite(table)):
        return None
    diffs = np.diff(table)
    trend = np.polyfit(_CENTRES, diffs, 2)

    between: list[float] = []  # the trend's slope less the slope between the stairs

    def departure(lo: float, hi: float, j_lo: float, j_hi: float, shift: float) -> float:
        slope = float(np.polyval(trend, (lo + hi) / 2)) - shift
        return abs(j_hi - j_lo - slope * (hi - lo))

    def follow(i: int) -> tuple[float, float, float] | None:
        """Where the jump in the table's interval ``i`` is (its interval's middle, in
        steps), followed down to ``JUMP_FINE``, the interval's width and the jump's size;
        or ``None``."""
        lo, hi, j_lo, j_hi = _CENTRES[i] - 0.5, _CENTRES[i] + 0.5, table[i], table[i + 1]
        best = kept = departure(lo, hi, j_lo, j_hi, 0.0)
        if not best > floor:
            return None
        history, at_best, shift = [best], 0, 0.0
        for level in range(1, math.ceil(math.log2(step / JUMP_FINE)) + 1):
            if level == _EARLY + 1:
                # below the stairs' spacing the slope to follow is the one between them
                # (a stage's values do not move there): a jump keeps its departure from
                # it, and the half without one departs by nothing
                if not between:
                    tiny = JUMP_END / step
                    j_p, j_m = at([tiny, -tiny])
                    between.append(float(np.polyval(trend, 0.0)) - (j_p - j_m) / (2 * tiny))
                shift = between[0]
                history = [departure(lo, hi, j_lo, j_hi, shift)]
            mid = (lo + hi) / 2
            j_mid = float(at([mid])[0])
            left = departure(lo, mid, j_lo, j_mid, shift)
            right = departure(mid, hi, j_mid, j_hi, shift)
            if left >= right:
                hi, j_hi, kept = mid, j_mid, left
            else:
                lo, j_lo, kept = mid, j_mid, right
            history.append(kept)
            if level <= _EARLY and kept >= best:
                best, at_best = kept, level
            # a continuous cost keeps up to about 1.8·best·2^-k, k halvings after its
            # largest departure (the whole interval's can cancel in part), many small
            # jumps about 2^(-k/2); one whose departure falls to its round-off is
            # continuous there
            k = level - at_best
            if not kept > floor or (level == _EARLY and k >= 4 and kept < 2.5 * best / 2**k):
                return None
            if (hi - lo) * step < JUMP_END and kept < JUMP_KEPT * history[-1 - _LAST]:
                return None  # a feature resolved below JUMP_END: its departure halves
        # the last halvings: a jump keeps its departure, a feature resolved there halves
        if kept < JUMP_KEPT * history[-1 - _LAST]:
            return None
        return (lo + hi) / 2, hi - lo, kept

    i = int(np.argmax(np.abs(diffs - np.polyval(trend, _CENTRES))))
    found = follow(i)
    if found is None:
        return None
    where, width, size = found
    moved = [leaf + where * d for (_, d), leaf in zip(deltas, flat)]
    work = _stage_of(moved, deltas, width)
    if work is None:
        if _on_grid(moved, deltas, width):
            return None  # a quantiser's stair: its derivative 0 between them is its own
        # a stage of an intermediate: its jump is a float16 spacing of what it rounds
        # unless no larger than a float32 one of the terms
        work = np.dtype(np.float32 if size <= _F32_JUMP * terms else np.float16)
    return Jump(noise_from_table(table), work)


class Jump(NamedTuple):
    """A jump found: the table's noise, and the dtype whose rounding of an input made it."""

    sigma: float
    work: np.dtype[Any]


def _stage_of(
    moved: list[Array], deltas: list[tuple[int, Array]], width: float
) -> np.dtype[Any] | None:
    """float16 or float32 where an entry of ``moved`` (the point of a jump, found to within
    ``width`` steps ``deltas``) lies on a rounding midpoint of that dtype: a stage that
    casts its inputs jumps there and only there (``x.astype(np.float16)``); a quantiser
    ``round(θ·K)/K`` jumps at ``(m + ½)/K``, within reach of a float16 midpoint with
    probability ``n · 2e-6``, of a float32 one ``n · 1e-6`` (attack27 h61,
    ``tests/test_stairs.py``: its derivative 0 is its own, between its stairs)."""
    for dtype in (np.float16, np.float32):
        for x, (_, d) in zip(moved, deltas):
            reach = np.abs(d) * width + 4 * _U64 * np.abs(x)
            with np.errstate(over="ignore", invalid="ignore"):
                near = x.astype(dtype)
                other = np.nextafter(near, np.where(x > near, np.inf, -np.inf).astype(dtype))
                mid = (near.astype(np.float64) + other.astype(np.float64)) / 2
                hit = np.isfinite(mid) & (np.abs(x - mid) <= reach)
            if np.any(hit):
                return np.dtype(dtype)
    return None


def _on_grid(moved: list[Array], deltas: list[tuple[int, Array]], width: float) -> bool:
    """Whether an entry of ``moved`` (the point of a jump, found to within ``width`` steps
    ``deltas``) lies on a grid ``m / M`` with ``M = c·2^j·10^k``, ``c`` 1 or 3 (:data:`_GRID`): a
    quantiser's stair (``round(θ·K)/K`` at ``θ·2K`` odd, ``floor((θ + 4)·500)``, a table
    lookup), whose derivative 0 between them is its own. A stage of an intermediate
    (``(a·sin θ).astype(np.float16)``) jumps where the intermediate rounds: an entry lies
    on a grid by chance with probability ``2·M·reach``; the grids are taken from the
    coarsest while the sum of that over every entry stays below :data:`_GRID_MISS`."""
    x = np.concatenate([np.ravel(v) for v in moved])
    reach = np.concatenate([np.abs(d) * width for _, d in deltas]) + 4 * _U64 * np.abs(x)
    chance = np.cumsum(_GRID) * 2 * float(np.sum(reach))
    with np.errstate(over="ignore", invalid="ignore"):
        for grid in _GRID[chance <= _GRID_MISS]:
            scaled = x * grid
            if np.any(np.abs(scaled - np.round(scaled)) <= reach * grid):
                return True
    return False
