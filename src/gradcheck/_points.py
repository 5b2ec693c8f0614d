"""Points of the parameter space, as the evaluators take them, and their description.

A :data:`Point` is the unperturbed parameters plus a sparse perturbation: the
:class:`Delta` values added at some flat indices of some parameter arrays.
:func:`describe` and :func:`edge_hint` put one into words for an error message.

>>> point = (Delta(0, 5, 1e-5),)
>>> describe(point, ["W1"], [(2, 3)])
'with W1[1, 2] perturbed by +1e-05'
>>> describe((), ["W1"], [(2, 3)])
'at the unperturbed parameters'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Delta", "Point", "describe", "edge_hint"]

Array = np.ndarray[Any, Any]


class Delta(NamedTuple):
    """Add ``factor · values`` at flat ``indices`` of parameter number ``leaf``.

    A named tuple rather than a dataclass: a full check builds two per entry, and a
    tuple is several times cheaper to build (and pickles for process executors).
    ``factor`` lets the points of a directional probe (``±h·v``, ``±h·v/2``) share one
    array ``values = h·v`` instead of each carrying an N-long copy.
    """

    leaf: int
    indices: Any  # int, slice or integer array
    values: Any  # scalar or array broadcastable to the indices
    factor: float = 1.0

    def amount(self) -> Any:
        """``factor · values`` (``values`` itself when the factor is 1)."""
        return self.values if self.factor == 1.0 else self.factor * self.values


Point = tuple[Delta, ...]


def _label(name: str, shape: tuple[int, ...], flat: int) -> str:
    """``"W1[2, 3]"`` for flat index ``flat`` of ``name`` (just the name for a scalar)."""
    idx = np.unravel_index(flat, shape) if shape else ()
    return name + (f"[{', '.join(map(str, idx))}]" if idx else "")


def describe(point: Point, names: Sequence[str], shapes: Sequence[tuple[int, ...]]) -> str:
    """Human text for a point: ``"with W1[2, 3] perturbed by +1e-05"``."""
    if not point:
        return "at the unperturbed parameters"
    parts = []
    for d in point:
        if isinstance(d.indices, (int, np.integer)):
            label = _label(names[d.leaf], shapes[d.leaf], int(d.indices))
            amount = d.amount()
            parts.append(f"{label} perturbed by {complex(amount).real or amount:+.3g}")
        else:
            parts.append(f"{names[d.leaf]} perturbed along a direction")
    return "with " + " and ".join(parts)


def edge_hint(
    point: Point, names: Sequence[str], shapes: Sequence[tuple[int, ...]], base: Sequence[Array]
) -> str:
    """Why the cost may be non-finite at ``point`` and what to do, for an error message.

    ``base`` holds the unperturbed parameters, flat. A step of one entry may leave the
    cost's domain (``sqrt`` at 1e-7 stepped by −4e-6): the entry's value is named, and
    ``method="forward"``, whose steps go up only, is offered for a step down. A step
    along a direction (the noise probe, a directional probe, a nearby point) names the
    entries whose sign it flips, the usual edge (``sqrt``, ``log`` at 0).
    """
    if not point:
        return ": the cost is not defined at the parameters given"
    if len(point) == 1 and isinstance(point[0].indices, (int, np.integer)):
        d = point[0]
        theta = float(np.real(base[d.leaf][int(d.indices)]))
        step = float(np.real(d.amount()))
        fix = 'use method="forward" (its steps go up only) or move' if step < 0 else "move"
        return (
            f": {_label(names[d.leaf], shapes[d.leaf], int(d.indices))} is {theta:.3g}, so "
            f"the step to {theta + step:.3g} may leave the cost's domain; {fix} the point "
            "away from the edge"
        )
    flips = _flipped(point, names, shapes, base)
    if flips:
        return f": the step turns {flips}, which may leave the cost's domain; move the point away"
    return ": the cost is not defined this near the parameters (the edge of its domain?)"


def _flipped(
    point: Point, names: Sequence[str], shapes: Sequence[tuple[int, ...]], base: Sequence[Array]
) -> str:
    """The first entry whose sign ``point`` flips (``"x[0] from 1e-12 to -3e-09"``)."""
    found: list[str] = []
    for d in point:
        flat = np.arange(base[d.leaf].size)[d.indices].reshape(-1)
        before = np.real(base[d.leaf][flat]).astype(np.float64)
        after = before + np.real(np.broadcast_to(d.amount(), before.shape))
        crossed = np.flatnonzero((before * after < 0) | ((before == 0) & (after != 0)))
        found += [
            f"{_label(names[d.leaf], shapes[d.leaf], int(flat[k]))} from {before[k]:.3g} to "
            f"{after[k]:.3g}"
            for k in crossed[: 2 - len(found)]
        ]
        if len(found) >= 2:
            break
    return " and ".join(found)
