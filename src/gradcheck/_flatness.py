"""Exact zeros: what differences of exactly 0 prove, and the probe of a flat cost.

A claim of exactly 0 against central differences of exactly 0 at ``h`` and ``h/2``
agrees to the last bit, but that proves less than it seems: the cost's values are
rounded to their spacing, so a difference of exactly 0 at step ``h`` only shows that
``|g| ≤ R``, the *resolution* ``R = 2·max(σ, SMALLEST)/h``
(``gradcheck._tolerances.resolution``). ``Σθ + 1e8`` in float32 has a spacing of 8
there: its true gradient of 1 shows differences of exactly 0 at every step the check
takes (/tmp/attack23/lead_z1.py). So an exact zero passes only where ``R`` is within
:data:`~gradcheck._compare.UNCERTAIN` of a gradient scale (the parameter's, or the
model's largest: the reach rule every entry meets); elsewhere it is ``uncertain``
with a reach of ``R``.

Where the *whole* claimed gradient is 0 and every difference is exactly 0 (a constant
cost, softmax over a size-1 dim, ``Σ sign(θ)``, ``Σθ²`` at 0, ``Σθ + 1e8``) there is
no gradient scale. :func:`probe_flat` then moves every parameter together along
random directions by geometrically growing amounts ``t`` (:data:`MOVES`, up to
:data:`RADIUS` times each entry's scale) and finds the smallest move that changes the
cost, and by how much, ``ΔJ``. A gradient within ``R`` changes the cost at that move
by at most ``H = t·B`` (``B`` bounds ``|g·d|`` for the direction ``d``). The check
passes where the cost never changes (flat), or where ``H ≤ UNCERTAIN·|ΔJ|``: a
hidden gradient could make at most 10% of the change the cost shows (``sign`` at its
jumps, ``Σθ²`` by its curvature). Where ``H`` is more (``Σθ + 1e8``: its change at
the first move that shows one is the hidden gradient's own), or the cost raises or
is not finite there, the check is ``inconclusive`` and says so. Both modes use this
rule (docs/numerics.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple, Protocol

import numpy as np

from gradcheck._compare import UNCERTAIN
from gradcheck._evaluate import CostRaised, Delta, Evaluator, NonFinite


class Probe(Protocol):
    """What the exact-zero rules read of a directional probe
    (``gradcheck._directional.Probe``; a protocol: the import goes one way)."""

    @property
    def analytic(self) -> float: ...
    @property
    def numeric(self) -> float: ...
    @property
    def fd_error(self) -> float: ...
    @property
    def resolved(self) -> bool: ...
    @property
    def resolution(self) -> float: ...


class Prober(Protocol):
    """What :func:`zero_parameters` uses of ``gradcheck._directional.Prober``."""

    g: list[Array]

    def probe(
        self, segments: tuple[tuple[int, int, int], ...], rng: np.random.Generator | None
    ) -> Probe: ...


__all__ = [
    "MOVES",
    "RADIUS",
    "Flat",
    "WholeZero",
    "exact_probe",
    "flat_note",
    "probe_flat",
    "whole_zero",
    "zero_parameters",
]

Array = np.ndarray[Any, Any]

#: The moves of :func:`probe_flat`, relative to ``max(|θ|, 1)``, smallest first, each
#: taken both ways (22 evaluations at most): a factor √10 apart, from near the check's
#: steps to :data:`RADIUS`, far beyond any step. A cost constant that far is flat, not
#: merely too coarse to resolve ``h``.
MOVES = tuple(10.0 ** (k / 2) for k in range(-6, 5))
#: The largest move of :func:`probe_flat` (relative to ``max(|θ|, 1)``).
RADIUS = MOVES[-1]


class Flat(NamedTuple):
    """What :func:`probe_flat` found.

    Attributes:
        changed: the smallest move ``t`` at which the cost differed from ``J0``, raised
            or was not finite; ``None`` if it never did.
        change: ``|J − J0|`` at that move (NaN where the cost raised or was not finite).
        hidden: the most a gradient within the resolution could change the cost at that
            move, ``t·B``.
        radius: the largest move tried.
        evaluations: the cost evaluations spent.
    """

    changed: float | None
    change: float
    hidden: float
    radius: float
    evaluations: int

    @property
    def settled(self) -> bool:
        """Whether the zero gradient is resolved: the cost is flat, or a gradient within
        the resolution makes at most :data:`~gradcheck._compare.UNCERTAIN` of its change."""
        return self.changed is None or self.hidden <= UNCERTAIN * self.change


def probe_flat(
    ev: Evaluator,
    scales: list[Array],
    j0: float,
    rng: np.random.Generator,
    bound: Callable[[list[Array]], float],
) -> Flat:
    """The smallest move ``±t·d`` of every parameter together that changes the cost.

    Each move has its own direction ``d = z·m``, ``z`` standard normal drawn from
    ``rng`` (a private generator: no user RNG is touched) and ``m`` each entry's scale
    (flat, float64). A Gaussian direction has no two entries of equal weight whose
    moves could cancel in a linear cost, and a fresh one per move makes jumps that
    cancel at one move (``sign`` of two entries flipping together) unlikely to cancel
    at every other. ``bound(d)`` is ``B``, the largest ``|g·d|`` of a gradient within
    the resolution. Moves grow over :data:`MOVES`; the probe stops at the first that
    changes the cost.
    """
    spent = 0
    for t in MOVES:
        dirs = [rng.standard_normal(m.size) * m for m in scales]
        for sign in (1.0, -1.0):
            point = tuple(
                Delta(i, slice(0, d.size), d, sign * t) for i, d in enumerate(dirs) if d.size
            )
            spent += 1
            try:
                value = ev([point])[0]
            except (NonFinite, CostRaised):
                return Flat(t, math.nan, math.inf, t, spent)
            if value != j0:
                return Flat(t, abs(value - j0), t * bound(dirs), t, spent)
    return Flat(None, 0.0, 0.0, RADIUS, spent)


def flat_note(flat: Flat, bound: float, scale: str) -> str:
    """The sentence on a whole-zero check's :func:`probe_flat`: ``bound`` is ``R``,
    ``scale`` names the entries' scale the moves are relative to."""
    zero = f"the gradient is exactly 0 and so is every finite difference (|g| ≤ {bound:.2g})"
    if flat.changed is None:
        return (
            f"{zero}; the cost is exactly constant at moves up to {flat.radius:.3g}·"
            f"{scale} along random directions ({flat.evaluations} evaluations): it is flat"
        )
    where = f"±{flat.changed:.3g}·{scale} along a random direction"
    if not math.isfinite(flat.hidden):
        return (
            f"{zero} at the check's steps, but the cost raises or is not finite at a "
            f"move of {where}: "
            "a gradient below that bound cannot be excluded"
        )
    share = (
        f"changes it by {flat.change:.3g}, of which a gradient below {bound:.2g} could "
        f"make {flat.hidden:.2g}"
    )
    if flat.settled:
        return (
            f"{zero}; the smallest move that changes the cost, {where}, {share}: the zero "
            "gradient is resolved"
        )
    return (
        f"{zero} at the check's steps, but that is the resolution of the cost's values "
        f"there: the smallest move that changes the cost, {where}, {share}, so a "
        f"gradient below {bound:.2g} cannot be excluded; try a larger eps or a higher precision"
    )


class WholeZero(NamedTuple):
    """:func:`whole_zero`'s answer: the rows, settled or as given, and its note (if any)."""

    results: list[Any]
    notes: tuple[str, ...]


def whole_zero(
    results: list[Any], ev: Evaluator, leaves: list[Array], j0: float, seed: int
) -> WholeZero:
    """The entrywise check's rule for a claimed gradient that is 0 everywhere.

    ``results`` are ``(name, leaf, comparison, idx)`` rows. Where every parameter's
    gradient scale is 0 and every checked entry is an exact zero
    (``Comparison.resolution`` finite: ``uncertain``, as no scale is within reach of
    ``R``), :func:`probe_flat` decides (module doc): resolved, they are ``ok``; else
    they stay ``uncertain``. A note says which. Anything else is returned unchanged,
    with no note.
    """
    comps = [c for _, _, c, _ in results if c.numeric.size]
    if not comps or any(c.scale > 0 or not np.all(np.isfinite(c.resolution)) for c in comps):
        return WholeZero(results, ())
    per_leaf = [float(np.max(c.resolution, initial=0.0)) for _, _, c, _ in results]
    scales = [
        np.maximum(np.abs(np.real(leaf), dtype=np.float64).reshape(-1), 1.0) for leaf in leaves
    ]

    def bound(dirs: list[Array]) -> float:  # |g·d| ≤ Σ R_i·|d_i|
        return sum(r * float(np.sum(np.abs(d))) for r, d in zip(per_leaf, dirs))

    flat = probe_flat(ev, scales, j0, np.random.default_rng([seed, 24]), bound)
    if flat.settled:
        results = [(n, leaf, _settled(c), idx) for n, leaf, c, idx in results]
    return WholeZero(results, (flat_note(flat, max(per_leaf), "max(|θ|, 1)"),))


def _settled(c: Any) -> Any:
    """Comparison ``c`` with its exact zeros ``ok`` (a flat cost's)."""
    exact = np.isfinite(c.resolution)
    status = c.status.copy()
    status[exact] = "ok"
    return replace(c, status=status, exact=exact)


def zero_parameters(prober: Prober, norms: list[float], rng: np.random.Generator) -> frozenset[int]:
    """The directional mode's parameters with a gradient of exactly 0 beside others.

    One probe of all of them together (4 evaluations) that sees differences of exactly
    0 (:func:`exact_probe`) with a resolution within
    :data:`~gradcheck._compare.UNCERTAIN` of the largest parameter's ``‖s⊙g‖`` passes
    them, instead of a bound of ``inf`` (attack20 A15). Where the cost moves along
    them, or its values are too coarse to show a gradient of that size (``Σθ + 1e8``
    beside another parameter), they stay without a bound (``inconclusive``).
    """
    zero = tuple((i, 0, prober.g[i].size) for i, n in enumerate(norms) if n == 0)
    zero = tuple(s for s in zero if s[2] > 0)
    if not zero:
        return frozenset()
    p = prober.probe(zero, rng)
    if not exact_probe(p) or p.resolution > UNCERTAIN * max(norms):
        return frozenset()
    return frozenset(s[0] for s in zero)


def exact_probe(p: Probe) -> bool:
    """Whether a probe saw a claim of exactly 0 and central differences ``C(h)``,
    ``C(h/2)`` of exactly 0 (``numeric`` and ``fd_error`` both 0), as the entrywise
    path's exact zeros (``gradcheck._compare.exact_zero``). Not where the values are
    subnormal: ``Σθ²`` at θ = 1e-160 shows differences of exactly 0 under steps of
    1e-166. What that proves is bounded by ``p.resolution`` (module doc)."""
    return p.analytic == 0 and p.numeric == 0 and p.fd_error == 0 and p.resolved
