"""Finite differences along parameters a function is linear in: half the evaluations.

A backward ``G(x, w) = J(x)ᵀ w`` is linear in its cotangent ``w`` (any correct one is:
``gradcheck._order2``), so its values on one side of ``w`` give those on the other:
``G(x, w − t e) = 2 G(x, w) − G(x, w + t e)`` for every step ``t`` and direction ``e``.
The entrywise grid (``gradcheck._jacgrid``) evaluates only the positive offsets of
such a parameter's columns and reflects them through ``f(θ)`` (one evaluation per
column at steps ``±h``, not two; the same at ``±h/2``). Where the linear parameters
hold one entry ``w ≠ 0`` in all, ``G(x, w + t) = G(x, w)·(w + t)/w``: its column costs
no evaluation. For a linear ``f`` the values so made are those an evaluation gives,
up to round-off; the differences from them are those of ``f`` (one-sided differences,
exact for a linear function, so without truncation error), so every rule that judges
the entries (``gradcheck._compare``) reads them as it reads evaluated ones.

What linearity gives up, and why that is sound for a backward: an ``f`` that is *not*
linear in ``w`` (a wrong backward) is differenced one-sidedly along ``w``, with an
error ``O(h)`` the central difference would not have; the first-order check, which
compares ``G(x, w)`` with differences of ``⟨f(x), w⟩`` at a random ``w``, fails such a
backward by itself. The reflected values carry the round-off of two values, ``f(θ)``'s
twice: :data:`NOISE_FACTOR` scales their noise accordingly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "NOISE_FACTOR",
    "Linear",
    "column_values",
    "evaluated",
    "linear_noise",
    "linear_values",
]

Array = np.ndarray[Any, Any]
#: The noise of a difference from reflected values, over that of a central difference:
#: ``(f(θ + h e) − f(θ))/h`` carries ``ε₊ − ε₀`` over ``h`` where ``(f₊ − f₋)/2h``
#: carries ``ε₊ − ε₋`` over ``2h`` (independent round-offs of one size: twice as
#: large), as ``gradcheck._compare.NOISE_GAIN`` has the forward method's gain twice
#: the central one's.
NOISE_FACTOR = 2.0
#: The coarser dtypes a function's values can show (``gradcheck._quotients._SHOWN``):
#: made values are rounded to the grain the evaluated ones show, so that a float32
#: output looks float32 to every rule that reads the values' precision.
_GRAINS = (np.dtype(np.float16), np.dtype(np.float32))


class Linear(NamedTuple):
    """Which parameters (leaves, in order) a checked function is linear in, jointly.

    Attributes:
        leaves: per leaf, whether ``f`` is linear in it (with the other such leaves).
        scalar: the one entry's value where the linear leaves hold one entry in all
            and it is not 0 (then ``f`` is homogeneous in it); else ``None``.
    """

    leaves: tuple[bool, ...]
    scalar: float | None

    @classmethod
    def of(cls, flags: Sequence[bool], values: Sequence[Array]) -> Linear:
        """The record for ``flags`` per leaf, whose values are ``values``."""
        flags = tuple(bool(f) for f in flags)
        held = [np.ravel(v) for v, f in zip(values, flags) if f]
        size = sum(v.size for v in held)
        w = float(held[0][0]) if size == 1 and held[0].size == 1 else 0.0
        return cls(flags, w if w != 0.0 and np.isfinite(w) else None)

    def any(self) -> bool:
        """Whether ``f`` is linear in some leaf."""
        return any(self.leaves)


def _grain(values: Sequence[Array]) -> np.dtype[Any]:
    """The coarsest dtype every value is exactly a number of (float64 at most)."""
    seen = np.concatenate([np.ravel(v) for v in values])
    with np.errstate(over="ignore", invalid="ignore"):
        for dtype in _GRAINS:
            if np.all(seen.astype(dtype).astype(np.float64) == seen):
                return dtype
    return np.dtype(np.float64)


def linear_values(
    evaluate: Callable[[tuple[complex, ...]], Array],
    offsets: Sequence[complex],
    f0: Array,
    relative: Array | None,
) -> Array:
    """``f`` at each offset of each column of a linear parameter, ``cols × offsets × m``.

    Args:
        evaluate: ``evaluate(offsets) -> cols × len(offsets) × m``, the evaluations.
        offsets: the step multiples asked for (``gradcheck._compare.STAGE1`` or
            ``RECHECK``); complex ones (a complex step) are all evaluated.
        f0: ``f(θ)``, flat.
        relative: per column, ``h / w`` where ``f`` is homogeneous in the one entry
            ``w`` (:attr:`Linear.scalar`): no evaluation then; else ``None``.
    """
    offs = tuple(offsets)
    if any(complex(o).imag != 0 for o in offs):
        return evaluate(offs)
    if relative is not None:
        scale = 1.0 + np.multiply.outer(relative, np.real(np.array(offs, dtype=complex)))
        # not rounded to a grain: f0 alone cannot show one (small integers are float16
        # numbers), and the grid reads the precision from evaluated values only
        return np.asarray(f0[None, None, :] * scale[:, :, None])
    own = tuple(o for o in offs if complex(o).real > 0 or -o not in offs)
    vals = evaluate(own)
    at = {o: vals[:, k] for k, o in enumerate(own)}
    grain = _grain([f0, vals])
    made = {o: (2.0 * f0 - at[-o]).astype(grain).astype(np.float64) for o in offs if o not in at}
    return np.stack([at[o] if o in at else made[o] for o in offs], axis=1)


def column_values(
    evaluate: Callable[[tuple[complex, ...]], Array],
    offsets: Sequence[complex],
    f0: Array,
    linear: Linear | None,
    leaf: int,
    h: Array,
) -> Array:
    """``f`` at each offset of the columns of parameter ``leaf`` (steps ``h``): all
    evaluated, or by :func:`linear_values` where ``linear`` says ``f`` is linear in it."""
    if linear is None or not linear.leaves[leaf]:
        return evaluate(tuple(offsets))
    w = linear.scalar
    return linear_values(evaluate, offsets, f0, None if w is None else h / w)


def linear_noise(sigma: Array, linear: Linear | None) -> Array:
    """The noise the entries are judged with (``m × P``): ``sigma``, times
    :data:`NOISE_FACTOR` for the parameters whose values are reflected."""
    if linear is None or linear.scalar is not None:
        return sigma
    factor = np.where(linear.leaves, NOISE_FACTOR, 1.0)
    return np.asarray(sigma * factor[None, :])


def evaluated(values: Sequence[Array], linear: Linear | None) -> list[Array]:
    """The parameters' values that were evaluated: all but a homogeneous one's, made
    from ``f(θ)`` alone (the precision the values show is read from these)."""
    if linear is None or linear.scalar is None:
        return list(values)
    return [v for v, flag in zip(values, linear.leaves) if not flag]
