"""Kink entries re-checked at nearby points where the cost is smooth (rule 5 of kinks).

Finite differences at θ cannot judge an entry at a kink (``gradcheck._kinks``, rule
4): several kinks meeting there (a dead ReLU unit, every sample's pre-activation
exactly 0) can put a correct framework gradient outside the one-sided slopes, and a
wrong one too. When ``grad`` is a function, those entries are checked again where the
kinks have come apart:

1. **Move.** δ is a seeded random move of ``MOVE`` central steps (``u^(1/3)·s``) per
   entry, each of random sign and ``0.5–1`` of that size (generator ``[seed, STREAM]``;
   deltas on the evaluator's private copy; ``grad`` gets a copy of the moved
   parameters). The two mirrored points θ ± δ see both sides of each kink.
2. **Judge.** The entries are compared at both points with the engine's own steps,
   tolerances and rule 3 (straddled kinks resolved with smaller steps). A move finds an
   entry wrong when it is wrong at either point, right when it is right at both. In a
   parameter with kinks at θ the ``wrong`` entries go too: a jump below the noise
   (float32) hides a kink, and the convention there looks wrong.
3. **Move again.** A move can leave a kink within a step of the moved point: the dead
   unit's pre-activation there is ``Σ_k x_k δw_k + δb``, a sum of random terms that
   cancels now and then (3% of dead-unit draws, issue 11 §4). Two samples' kinks then
   within one step also defeat rule 3's single-kink location, and a right entry can
   look wrong (0.1% of draws). So the entries that a move leaves unsettled or finds
   wrong get a fresh move (generator ``[seed, STREAM, k]``, ``GROW`` times the last
   one's size), up to ``TRIES`` moves in all. Independent draws make the same accident
   at every move unlikely, and a larger move makes each less likely still.
4. **Settle.** An entry is ``ok`` once more moves found it right than wrong (one at a
   kink at θ whose claim lies outside θ's one-sided slopes only once a move showed
   several kinks meeting at θ, :func:`_several`, and the claim lies within the slopes
   widened for them, ``Comparison.off``: agreement at θ ± δ is evidence for θ ± δ,
   and a claim outside the slopes of one kink is no derivative at θ, attack26 H07,
   attack27 H43; such entries get fresh moves until one shows several kinks), and
   ``wrong`` once it was found wrong ``CONFIRM`` times, and more often than right; the
   comparison at θ counts as one finding for an entry it found wrong (not for one at a
   kink, which it could not judge). A wrong entry is named in the report. An entry
   unsettled after ``TRIES`` moves keeps its status at θ (``nonsmooth``, kept out of
   the verdict) where its claim matches one of θ's one-sided slopes (a clip at its
   bound); a bracketed one that matches neither could hide an error of any size and is
   ``uncertain``: its parameter is inconclusive, not passed on its other entries
   (attack33 H122: 26 of 30 entries kept out, one entry ×1.5 passed).

A real bug in such an entry is wrong at the moved points like anywhere else, and is
named there. Every move is a delta on the private copy: the user's arrays and the
global generators are untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import Delta, Evaluator, Point
from gradcheck._kinks import RAN, exact_steps
from gradcheck._numerics import SAFETY
from gradcheck._steps import relative_step

if TYPE_CHECKING:
    from gradcheck._compare import Comparison

__all__ = [
    "CONFIRM",
    "GROW",
    "MOVE",
    "SINGLE",
    "STREAM",
    "TRIES",
    "MovedCheck",
    "Shifted",
    "recheck",
]

Array = np.ndarray[Any, Any]
#: The first move is ``MOVE`` central steps (``u^(1/3)·s``) in every entry: far enough
#: that its own steps do not straddle the moved kinks, near enough to check the same
#: formula (1e-4 relative in float64, 8% in float32).
MOVE = 16.0
#: Moves in all (the first and up to ``TRIES − 1`` fresh ones). One move leaves 3.2%
#: of dead-unit draws unsettled (1,000 draws of a 4×3 affine + ReLU with two dead
#: units, docs/numerics.md); four independent moves leave about 1e-6 of them so,
#: and a real bug, wrong at every move, is confirmed at the second.
TRIES = 4
#: Each fresh move is this many times the last one's size: a cancellation within a step
#: is ``GROW`` times less likely, while the last move (``MOVE · GROW³`` = 128 steps,
#: 8e-4 relative in float64) still checks the formula near θ.
GROW = 2.0
#: A wrong entry must be found wrong this many times (and more often than right): a
#: move can leave two samples' kinks within one step (1 dead-unit draw in 1000), where
#: rule 3's single-kink location misjudges the entry; independent moves rarely both do.
#: An entry wrong at θ (not at a kink) needs one move to agree, as before fresh moves.
CONFIRM = 2
#: The stream of the private generators that draw the moves (``[seed, STREAM, k]``).
STREAM = 3
#: A move's two points match θ's one-sided slopes (one kink through θ) to within
#: their allowances and this share of the slopes' jump (the move, 16 steps, shifts
#: each side's slope by its curvature times 1e-4 relative; a dead unit's moved pieces
#: differed from θ's slopes by 8% of the jump and were taken for one kink at 10%).
SINGLE = 0.02


class Shifted:
    """An evaluator at the parameters moved by ``moves`` (one array per parameter).

    Points of single-entry deltas become the move plus the delta; the move of the
    perturbed parameter is split around the entry, so no two deltas overlap and no
    N-long array is built per point.
    """

    def __init__(self, ev: Evaluator, moves: Sequence[Array]) -> None:
        self.ev = ev
        self.moves = [m.reshape(-1) for m in moves]

    def __call__(self, points: Sequence[Point]) -> Array:
        return self.ev([self._shift(p) for p in points])

    def _shift(self, point: Point) -> Point:
        touched = {d.leaf: int(d.indices) for d in point}
        out = [Delta(k, slice(None), m) for k, m in enumerate(self.moves) if k not in touched]
        for d in point:
            j, m = touched[d.leaf], self.moves[d.leaf]
            out.append(Delta(d.leaf, j, m[j] + d.amount()))
            rest = (slice(0, j), slice(j + 1, m.size))
            out += [Delta(d.leaf, s, m[s]) for s in rest if s.stop > s.start]
        return tuple(out)


#: ``check_at(evaluator, j0, i, leaf, idx, analytic, floor)``: the entries ``idx`` of
#: parameter ``i`` (whose values are ``leaf``) compared at the evaluator's point, with
#: the engine's steps, tolerances and rule 3; ``floor`` is the least gradient scale.
MovedCheck = Callable[[Evaluator, float, int, Array, Array, Array, float], "Comparison"]
#: ``(name, private leaf, comparison, checked flat indices)``, as the engine keeps them.
Result = tuple[str, Array, "Comparison", Array]


class Tally(NamedTuple):
    """What the moves found so far, over one parameter's re-checked entries."""

    wrongs: Array  # int: moves with the entry wrong at one of their two points
    oks: Array  # int: moves with the entry right at both points
    reach: Array  # float: the largest mismatch the latest deciding move could hide
    numeric: Array  # float: the finite difference where the entry was last wrong
    error: Array  # float: the analytic value's distance from it there
    #: bool: a move found the entry right at two points on different pieces, neither
    #: of them θ's one-sided slopes: several kinks meet at θ (module doc, rule 4)
    several: Array
    #: bool: the claim at θ lies outside θ's one-sided slopes: right moves settle it
    #: only once one shows several kinks, and only where it lies within the slopes
    #: widened for them (``widened``, :attr:`gradcheck._compare.Comparison.off`)
    needs: Array
    widened: Array

    @classmethod
    def start(cls, wrong: Array, needs: Array | None = None, widened: Array | None = None) -> Tally:
        """No move yet; the entries ``wrong`` (a mask) were found wrong at θ, which counts;
        ``needs`` and ``widened`` (masks, default none) as the attributes say."""
        n = wrong.size
        wrongs, oks = wrong.astype(int), np.zeros(n, dtype=int)
        nan, no = np.full(n, np.nan), np.zeros(n, dtype=bool)
        needs = no if needs is None else needs
        widened = no if widened is None else widened
        return cls(wrongs, oks, np.zeros(n), nan, nan.copy(), no.copy(), needs, widened)

    def wrong(self) -> Array:
        """Entries wrong at ``CONFIRM`` moves, and at more moves than right."""
        return (self.wrongs >= CONFIRM) & (self.wrongs > self.oks)

    def agree(self) -> Array:
        """Entries right at both points of more moves than they were wrong at."""
        return self.oks > self.wrongs

    def ok(self) -> Array:
        """Entries that agree, and whose claim at θ the moves' evidence covers."""
        return self.agree() & (~self.needs | (self.widened & self.several))

    def open(self) -> Array:
        """The positions still unsettled."""
        return np.flatnonzero(~(self.wrong() | self.ok()))

    def add(self, at: Array, found: Sequence[Comparison], slopes: Array | None = None) -> Tally:
        """This tally with one move's two comparisons of the entries at positions ``at``,
        whose one-sided slopes at θ are ``slopes`` (left, right; one row per position;
        ``None``: not known, no move shows several kinks)."""
        if not found:
            return self
        status = np.array([f.status for f in found])
        wrong = np.any(status == "wrong", axis=0)
        ok = np.all(status == "ok", axis=0) & ~wrong
        wrongs, oks, reach = self.wrongs.copy(), self.oks.copy(), self.reach.copy()
        numeric, error = self.numeric.copy(), self.error.copy()
        wrongs[at[wrong]] += 1
        oks[at[ok]] += 1
        reach[at[wrong | ok]] = np.max([f.reach for f in found], axis=0)[wrong | ok]
        for f in found:  # the last point where each entry is wrong
            bad = f.status == "wrong"
            numeric[at[bad]], error[at[bad]] = f.numeric[bad], f.abs_error[bad]
        several = self.several.copy()
        if slopes is not None:
            several[at[ok]] |= _several(found, slopes[at])[ok]
        return self._replace(
            wrongs=wrongs, oks=oks, reach=reach, numeric=numeric, error=error, several=several
        )


def _several(found: Sequence[Comparison], slopes: Array) -> Array:
    """Whether a move's two points θ ± δ lie on different pieces (their differences
    apart by more than both allowances) that are not θ's one-sided slopes (to within
    the allowances and ``SINGLE`` of the slopes' jump): one kink through θ puts θ ± δ
    on its two sides, whose slopes are θ's one-sided ones; a feature narrower than the
    move (a bump) puts them on one smooth piece."""
    if len(found) != 2:
        return np.zeros(slopes.shape[0], dtype=bool)
    plus, minus = found
    allow = sum(f.tolerance + SAFETY * f.fd_error for f in found)
    left, right = slopes[:, 0], slopes[:, 1]
    with np.errstate(invalid="ignore"):
        share = SINGLE * np.abs(right - left)  # beyond the pieces' own curvature
        apart = np.abs(plus.numeric - minus.numeric) > allow + share
        match = np.minimum(
            np.abs(plus.numeric - right) + np.abs(minus.numeric - left),
            np.abs(plus.numeric - left) + np.abs(minus.numeric - right),
        )
        one = match <= allow + share
    return np.asarray(apart & ~one, dtype=bool)


def _targets(c: Comparison) -> Array:
    """Entries at a kink that no finite difference at θ could settle, and the wrong
    entries of a parameter with kinks at θ (a jump below the noise hides its kink)."""
    unsettled = (c.status == "nonsmooth") | (c.status == "uncertain")
    wrong = (c.status == "wrong") & np.any(c.kink == 0)
    return np.flatnonzero((np.isfinite(c.kink) & unsettled) | wrong)


def _move(leaves: Sequence[Array], seed: int, attempt: int) -> list[Array]:
    """The ``attempt``-th move δ (from 0), rounded so that θ ± δ is representable."""
    rng = np.random.default_rng([seed, STREAM, attempt] if attempt else [seed, STREAM])
    out = []
    for x in leaves:
        flat = x.reshape(-1)
        rms = float(np.sqrt(np.mean(flat.astype(np.float64) ** 2))) if flat.size else 0.0
        scale = np.maximum(np.abs(flat), rms or 1.0)  # an empty leaf moves nothing
        size = MOVE * GROW**attempt * relative_step("central", x.dtype) * scale
        delta = size * rng.uniform(0.5, 1.0, flat.size) * rng.choice([-1.0, 1.0], flat.size)
        out.append(exact_steps(flat, delta, x.dtype))
    return out


def _at_move(
    results: Sequence[Result],
    todo: Sequence[Array],
    ev: Evaluator,
    grad_at: Callable[[list[Array]], list[Array]],
    check_at: MovedCheck,
    move: Sequence[Array],
) -> list[list[Comparison]]:
    """Each parameter's entries ``todo`` compared at θ + δ and θ − δ (none: empty)."""
    found: list[list[Comparison]] = [[] for _ in results]
    for sign in (1.0, -1.0):
        moves = [sign * m for m in move]
        moved = [
            (leaf.reshape(-1) + m).astype(leaf.dtype).reshape(leaf.shape)
            for (_, leaf, _, _), m in zip(results, moves)
        ]
        shifted = Shifted(ev, moves)
        j0 = float(np.real(shifted([()])[0]))
        grads = grad_at(moved)
        for i, ((_, _, c, idx), t) in enumerate(zip(results, todo)):
            if t.size:
                a = grads[i].reshape(-1)[idx[t]]
                found[i].append(check_at(shifted, j0, i, moved[i], idx[t], a, c.scale))
    return found


def recheck(
    results: list[Result],
    ev: Evaluator,
    grad_at: Callable[[list[Array]], list[Array]],
    check_at: MovedCheck,
    seed: int,
) -> list[Result]:
    """Settle the kink entries at nearby points where the cost is smooth (module doc).

    Args:
        results: the engine's per-parameter results at θ.
        ev: the evaluator at θ (on the private copy; moves are deltas on it).
        grad_at: the analytic gradient, flattened in parameter order, at given leaves.
        check_at: compares entries at a moved point (see :data:`MovedCheck`).
        seed: the check's seed.

    Returns:
        New results: entries wrong at a moved point are ``wrong``, entries that agree
        at both points of a move are ``ok``; each such parameter's comparison records
        that the moves ran (``nearby``) and carries a note saying what they found.
    """
    targets = [_targets(c) for _, _, c, _ in results]
    if not any(t.size for t in targets):
        return results
    leaves = [leaf for _, leaf, _, _ in results]
    tallies = [
        Tally.start(c.status[t] == "wrong", (c.kink[t] == 0) & ~c.bracketed[t], c.off[t])
        for (_, _, c, _), t in zip(results, targets)
    ]
    moves, failure = 0, ""
    for attempt in range(TRIES):
        todo = [v.open() for v in tallies]
        if not any(k.size for k in todo):
            break
        try:
            sub = [t[k] for t, k in zip(targets, todo)]
            move = _move(leaves, seed, attempt)
            found = _at_move(results, sub, ev, grad_at, check_at, move)
        except GradcheckError as exc:
            failure = str(exc)
            break
        slopes = [c.slopes[t] for (_, _, c, _), t in zip(results, targets)]
        tallies = [v.add(k, f, sl) for v, k, f, sl in zip(tallies, todo, found, slopes)]
        moves += 1
    if not moves:
        return [_failed(r, failure) if t.size else r for r, t in zip(results, targets)]
    return [
        _settle(r, t, v, moves, failure) if t.size else r
        for r, t, v in zip(results, targets, tallies)
    ]


def _failed(result: Result, why: str) -> Result:
    """``result`` with the reason its kink entries could not be re-checked."""
    name, leaf, c, idx = result
    out = c.subset(np.arange(c.status.size))
    out.nearby = why
    return name, leaf, out, idx


def _settle(result: Result, t: Array, tally: Tally, moves: int, failure: str) -> Result:
    """Apply the moves' findings to the entries ``t``, with a note saying what they were."""
    name, leaf, c, idx = result
    out = c.subset(np.arange(c.status.size))
    wrong, ok = tally.wrong(), tally.ok()
    agree = tally.agree() & ~wrong
    outside = agree & ~ok  # claims outside θ's slopes that no move showed several kinks for
    out.status[t[wrong]], out.status[t[ok]] = "wrong", "ok"
    settled = wrong | ok
    # unsettled kink entries whose claim matches neither one-sided slope at θ could hide
    # an error of any size: kept out as nonsmooth and bracketed (noisy slopes bracket
    # anything), they let their parameter pass on the others (attack33 H122: 26 of 30);
    # a clip at its bound matches one side and stays; an unbracketed one leaves its
    # parameter inconclusive already, and its own message says why
    hidden = ~settled & ~agree & (c.status[t] == "nonsmooth") & c.bracketed[t]
    hidden &= ~_one_side(c, t)
    out.status[t[hidden]] = "uncertain"
    out.reach[t[settled]] = tally.reach[settled]
    out.nearby = RAN
    before = c.status[t] == "wrong"
    text = f"{name}: re-checked {int((~before).sum())} kink entries"
    if before.any():
        text += f" and {int(before.sum())} entries wrong at θ, where the cost has kinks,"
    text += f" at a nearby smooth point (the parameters moved by ±{MOVE:g} finite-difference steps"
    if moves > 1:
        text += f", then {_fresh(moves - 1)} for entries a move left at a kink or found wrong"
    text += f"): {int(agree.sum())} agree there"
    if np.any(outside):
        text += (
            f", of which {int(outside.sum())} claim a value at θ outside the one-sided "
            "slopes measured at θ, and no move showed several kinks meeting there: "
            "agreement at nearby points says nothing of the value at θ itself, so they "
            "stay unjudged"
        )
    if wrong.any():
        k = int(np.flatnonzero(wrong)[0])
        where = tuple(int(v) for v in np.unravel_index(int(idx[t[k]]), leaf.shape))
        text += (
            f", {int(wrong.sum())} are wrong there (e.g. {name}{list(where)}: finite "
            f"differences {tally.numeric[k]:.6g}, off by {tally.error[k]:.3g})"
        )
    if np.any(~settled & ~agree):
        text += f", {int((~settled & ~agree).sum())} could not be resolved there either"
    if failure:
        text += f" (a further move failed: {failure})"
    out.notes = (*c.notes, text)
    return name, leaf, out, idx


def _one_side(c: Comparison, t: Array) -> Array:
    """Whether each entry ``t``'s claim matches one of θ's one-sided slopes at ``h/2``
    to within its tolerance, or where they were not measured (NaN: no evidence).

    The claim is ``numeric ± abs_error``; at a kink ``numeric`` is the slopes' mean, so
    the mirror of one side's slope is the other's, and either sign serves."""
    slopes, tol = c.slopes[t], c.tolerance[t]
    claims = c.numeric[t][:, None] + np.array([-1.0, 1.0]) * c.abs_error[t][:, None]
    near = np.abs(claims[:, :, None] - slopes[:, None, :]) <= tol[:, None, None]
    unmeasured = ~np.all(np.isfinite(slopes), axis=1)
    return np.asarray(np.any(near, axis=(1, 2)) | unmeasured, dtype=bool)


def _fresh(n: int) -> str:
    """``"1 fresh, larger move"`` or ``"n fresh, larger moves"``."""
    return f"{n} fresh, larger move" + ("s" if n > 1 else "")
