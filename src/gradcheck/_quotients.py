"""Difference quotients of a cost's values, and the round-off they inherit.

The offsets every method evaluates (:data:`STAGE1`, :data:`RECHECK`), the quotients and
Richardson table built from them (:func:`first_estimate`), and the noise: the cost's own
(:func:`value_noise`, :func:`shown_roundoff`) and what a quotient at step ``h`` makes of
it (:func:`roundoff`). ``gradcheck._compare`` judges the entries with them.

>>> import numpy as np
>>> vals = np.array([[1.0 + 2e-3, 1.0 - 2e-3]])  # J(θ ± h) of a slope-2 cost, h = 1e-3
>>> first_estimate("central", 1.0, vals, np.array([1e-3])).round(6).tolist()
[2.0]
>>> roundoff("forward", 1e-16, np.array([0.5])).tolist()  # ν = 2σ / h
[4e-16]
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple, ParamSpec, TypeVar

import numpy as np

from gradcheck._numerics import Method

__all__ = [
    "NOISE_GAIN",
    "RECHECK",
    "SHOWN_DISTINCT",
    "STAGE1",
    "Richardson",
    "central",
    "first_estimate",
    "noise_for",
    "overflow_is_inf",
    "richardson",
    "roundoff",
    "shown_roundoff",
    "table",
    "table_spread",
    "value_noise",
]

Array = np.ndarray[Any, Any]
_P = ParamSpec("_P")
_R = TypeVar("_R")


def overflow_is_inf(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` with NumPy's overflows giving ``inf`` silently: ``σ/h`` at a step
    near the underflow (a parameter of 1e-308: steps of 1e-314) or a tolerance of a
    huge ``rtol`` is beyond float64, and an infinite allowance is then the right value
    (the entry is ``uncertain``; with a fixed tolerance, what the user asked for).
    Without this, a check warns, an error under ``-W error`` and pytest's
    ``filterwarnings = error``. Applied by assignment after each ``def``, not as
    ``@overflow_is_inf``: mutmut makes no mutant of a decorated function
    (``make mutate``, docs/testing.md)."""

    @functools.wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with np.errstate(over="ignore"):
            return fn(*args, **kwargs)

    return run


#: Offsets, as multiples of ``h``, evaluated for every entry.
STAGE1: dict[str, tuple[complex, ...]] = {
    "central": (1, -1),
    "forward": (1,),
    "complex": (1j,),
    "richardson": (1, -1, 0.5, -0.5, 0.25, -0.25),
}
#: Offsets evaluated again for entries that fail the screen.
RECHECK: dict[str, tuple[complex, ...]] = {
    "central": (0.5, -0.5),
    "forward": (-1, 0.5, -0.5),
    "complex": (0.5j,),
    "richardson": (),
}
#: Round-off amplification: the numerical derivative's noise is ``NOISE_GAIN · σ / h``.
NOISE_GAIN = {"central": 1.0, "forward": 2.0, "complex": 0.0, "richardson": 8.0}


def central(jp: Array, jm: Array, h: Array) -> Array:
    """The central difference ``(J(θ + h) − J(θ − h)) / 2h`` of the values ``jp``, ``jm``."""
    return (jp - jm) / (2.0 * h)  # the lesson's formula, in the lesson's order


class Richardson(NamedTuple):
    """:func:`richardson`'s answer: the best estimate and its distance from the second-best."""

    best: Array
    spread: Array


def richardson(c1: Array, c2: Array, c3: Array) -> Richardson:
    """The Richardson extrapolation of central differences at ``h``, ``h/2``, ``h/4``
    and its spread: the best estimate, and its distance from the second-best."""
    r1, r2 = (4 * c2 - c1) / 3, (4 * c3 - c2) / 3
    best = (16 * r2 - r1) / 15
    return Richardson(best, np.abs(best - r2))


def table(vals: Array, h: Array) -> list[Array]:
    """The central differences at ``h``, ``h/2``, ``h/4`` from the ``richardson``
    stage-1 values."""
    return [central(vals[:, i], vals[:, i + 1], h * s) for i, s in ((0, 1), (2, 0.5), (4, 0.25))]


def table_spread(vals: Array, h: Array) -> Array:
    """The spread of the Richardson table from the ``richardson`` stage-1 values."""
    c1, c2, c3 = table(vals, h)
    return richardson(c1, c2, c3).spread


def first_estimate(method: Method, j0: float, vals: Array, h: Array) -> Array:
    """The method's derivative estimate from the stage-1 values (columns = STAGE1)."""
    if method == "central":
        return central(vals[:, 0], vals[:, 1], h)
    if method == "forward":
        return (vals[:, 0] - j0) / h
    if method == "complex":
        return np.asarray(np.imag(vals[:, 0]) / h, dtype=np.float64)
    return richardson(*table(vals, h)).best


first_estimate = overflow_is_inf(first_estimate)


def value_noise(sigma: float | Array, u: float, j0: float, values: Array, analytic: Array) -> Array:
    """Each entry's noise: the cost's ``σ``, and at least the round-off of the values
    it was differenced from, ``u · max(|J0|, |J(θ ± h)|)``, or ``u · tiny`` where those
    are all below ``tiny`` and the entry's ``analytic`` value is not 0.

    ``σ`` is measured at θ. Where the cost is far larger at θ ± h (a retry's classic
    step 6e-6 for a parameter of 1e-170: ``Σθ²`` is 3.6e-11 there and 0 at θ) its
    values carry that much more round-off, and where they underflow (``Σθ²`` at 1e-160
    is subnormal) their resolution is the smallest subnormal, ``u · tiny``, not
    ``u · |J|``: without this floor a cost that lost the entry to rounding was
    "unresponsive", and a correct gradient failed. A claim of exactly 0 predicts no
    change, so exact zeros at every step agree with it to the last bit: there the
    floor stays 0 (a cost that is 0 near θ, all of a dropout's outputs dropped, has
    nothing to resolve, and its zero gradient passes). Values that are subnormal but
    not all 0 get the floor whatever the claim: a zero claim against ``Σθ²`` at 1e-160
    (1.4e-319, moving) passed while the correct claim was inconclusive (attack20 A2).
    """
    tiny = float(np.finfo(np.float64).tiny)
    if not values.size:
        return np.array(np.broadcast_to(np.asarray(sigma, dtype=np.float64), analytic.shape))
    mag = np.max(np.abs(values), axis=1, initial=abs(j0))
    # a claim of 0 is spared the floor only where every value is exactly 0: values that
    # move among subnormals (Σθ² at 1e-160) do not agree with it to the last bit
    mag = np.where((mag < tiny) & ((analytic != 0) | (mag > 0)), tiny, mag)
    return np.asarray(np.maximum(sigma, u * mag), dtype=np.float64)


#: The dtypes whose numbers a cost's values can show it computes in, coarsest first.
_SHOWN = (np.dtype(np.float16), np.dtype(np.float32))
#: Distinct values needed as evidence: a float64 computation gives ``k`` distinct
#: float32 numbers by chance with probability about ``2^(-29·k)``.
SHOWN_DISTINCT = 3


def shown_roundoff(*values: float | Array) -> float:
    """The unit round-off the cost's values show, or 0 where they show none.

    A float64 cost with a float16 or float32 stage whose result is only cast up
    (``(A32 @ p.astype(np.float32)).astype(np.float64)``) returns numbers of that
    dtype: when ``J0`` and every value differenced from are exactly such numbers, at
    least :data:`SHOWN_DISTINCT` of them distinct, they move in that dtype's steps
    whatever dtype is declared, and their round-off is that dtype's (F2, F27).
    ``values`` are ``J0`` and the arrays of values (a check_jacobian grid passes every
    output's, so that a saturated output, all 1.0, is judged by its neighbours').
    """
    seen = np.concatenate([np.real(np.asarray(v)).reshape(-1) for v in values]).astype(float)
    if not np.all(np.isfinite(seen)):
        return 0.0
    with np.errstate(over="ignore"):
        for dtype in _SHOWN:
            if np.all(seen.astype(dtype).astype(np.float64) == seen):
                distinct = np.unique(seen).size >= SHOWN_DISTINCT
                return float(np.finfo(dtype).eps) / 2 if distinct else 0.0
    return 0.0


def roundoff(method: Method, sigma: float | Array, h: Array) -> Array:
    """Each entry's ``ν = NOISE_GAIN · σ / h``: the round-off its difference quotient
    inherits from the cost's noise (``inf`` where that is beyond float64)."""
    return np.asarray(NOISE_GAIN[method] * sigma / h, dtype=np.float64)


roundoff = overflow_is_inf(roundoff)


def noise_for(method: Method, sigma: float | Array, h: Array, fixed: bool) -> Array | None:
    """The ``noise`` argument of ``gradcheck._compare.examined`` for a comparison with
    noise ``sigma`` at steps ``h``: each entry's ``ν``, or ``None`` under a fixed
    tolerance (no reach rule). The caller choosing the re-examined entries and
    ``gradcheck._compare.compare`` must agree."""
    return None if fixed else roundoff(method, sigma, h)
