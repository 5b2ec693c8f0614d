"""The float64 route's verdict on each parameter's low-precision gradient.

``gradcheck._frameworks`` checks the formula on a float64 copy; each parameter's
user-dtype gradient beside the copy's is then round-off (reproduced or measured by
``gradcheck._roundoff_verdict``, or within the plausibility bound: the copy's gradient
is checked), no round-off (the user's own gradient is checked, and fails: a hook or
backward acting only in the user's dtype) or unresolved (``inconclusive``). Before a
parameter is called wrong, the user's loss's own slope along the difference is read
(``gradcheck._own_slope``): a loss that computes another function in its own dtype
(a clamp at ``finfo(x.dtype).eps``, attack26 H19/H30) has the user's gradient as its
slope there, and the parameter is ``inconclusive`` with that reason, never failed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from gradcheck._adapter_notes import figure
from gradcheck._evaluate import GlobalRng
from gradcheck._numerics import ATOL_ROUNDOFFS, PLAUSIBLE
from gradcheck._own_slope import Slope, own_slope
from gradcheck._roundoff_verdict import UNIT, Analytic, Side, verdicts
from gradcheck._tolerances import plausible

__all__ = ["Judged", "judge_float64"]

Array = np.ndarray[Any, Any]


class Judged(NamedTuple):
    """The float64 route's verdicts on the user's gradient beside the copy's.

    Attributes:
        floor: the model's round-off floor (``ATOL_ROUNDOFFS`` round-offs of its
            largest float64 gradient entry).
        grads: the gradient the engine checks for each parameter: the copy's (the
            formula) or, where the difference is no round-off, the user's own.
        notes: what was found, for the report.
        unresolved: the parameters to report ``inconclusive`` if their formula
            passes, each with the note saying why.
        reach: for each parameter whose user gradient was taken as round-off, the
            largest difference from the formula that could pass so, relative to its
            scale: what the report's stated bound must cover (attack33 H124).
    """

    floor: float
    grads: dict[str, Array]
    notes: list[str]
    unresolved: dict[str, str]
    reach: dict[str, float] | None = None


def judge_float64(
    make: Callable[[str], Side],
    side: Side,
    g64: dict[str, Array],
    user: Analytic,
    rng: GlobalRng,
    convention: str = "conjugate",
) -> Judged:
    """Which parameters' user gradients are round-off of the formula (the copy's
    gradient ``g64`` is checked), which are no round-off (the user's is checked: a
    backward acting only in the user's dtype), which cannot be told (``inconclusive``).

    Args:
        make: builds a :class:`~gradcheck._roundoff_verdict.Side` by precision.
        side: the float64 copy's side.
        g64: the float64 copy's gradients.
        user: the user's own analytic pass.
        rng: the user's global RNG states, put back before every call of user code.
        convention: what a complex parameter's gradient holds (the engine's
            ``complex_convention``).
    """
    largest = max((float(np.max(np.abs(g), initial=0.0)) for g in g64.values()), default=0)
    floor = ATOL_ROUNDOFFS * UNIT.get(user.dtype, 0.0) * largest
    found = verdicts(make, side, g64, user, floor, rng)
    notes: list[str] = []
    if found.failure:
        notes.append(
            f"the {user.dtype} gradient's difference from float64 was not measured for "
            f"round-off ({found.failure} at parameters nudged to measure it): a hook or "
            f"backward acting only in {user.dtype} by a few percent could pass unseen; "
            f"precision='model' checks the {user.dtype} gradient itself"
        )
    if found.unmoved:
        notes.append(
            f"{', '.join(found.unmoved)}: the {user.dtype} gradient's difference from "
            "float64 was not measured for round-off: no nudge of the parameters (up to "
            "four times their scale) moved the gradient by as much as the difference; a "
            f"hook or backward acting only in {user.dtype} by a few percent could pass "
            f"unseen; precision='model' checks the {user.dtype} gradient itself"
        )
    grads, wrong = dict(user.grads), dict(found.systematic)
    for n, g in g64.items():
        if n in wrong:
            continue
        if n in found.reproduced or plausible(user.grads[n], g, floor):
            grads[n] = g
        else:
            wrong[n] = (
                f"{n}: the {user.dtype} gradient differs from the same computation in "
                f"float64 by {figure(user.grads[n], g):.2g} of its scale, more than "
                f"{user.dtype} round-off explains: a hook or backward acting only in "
                f"{user.dtype} (or round-off that leaves it useless); the {user.dtype} "
                "gradient itself is checked"
            )
    open_ = dict(found.unresolved)
    for n in list(wrong) if side.differs else ():  # another loss: no verdict on it
        grads[n] = g64[n]
        open_[n] = (
            f"{n}: the {user.dtype} gradient differs from the float64 copy's by "
            f"{figure(user.grads[n], g64[n]):.2g} of its scale, but {side.differs}: a "
            f"backward acting only in {user.dtype} cannot be told from the gradient of that "
            "other loss; the formula is checked in float64"
        )
        del wrong[n]
    slopes = _slopes(make, g64, user, wrong, rng, convention)
    for n, why in wrong.items():
        if slopes.get(n, "formula") == "formula":
            notes.append(why)
        else:
            grads[n] = g64[n]
            open_[n] = _slope_note(n, user, figure(user.grads[n], g64[n]), slopes[n])
    reach = {n: _reach(n, g64, floor, found.reach) for n in g64 if grads[n] is g64[n]}
    return Judged(floor, grads, notes, open_, reach)


def _reach(n: str, g64: dict[str, Array], floor: float, found: dict[str, float] | None) -> float:
    """How far parameter ``n``'s user gradient may be from the formula and pass as
    round-off, relative to its scale: the reference's rule where it judged ``n``, else
    the size rule (``PLAUSIBLE`` of the scale, or the model's round-off floor)."""
    if found is not None and n in found:
        return found[n]
    scale = float(np.max(np.abs(g64[n]), initial=0.0))
    return max(PLAUSIBLE, floor / scale) if scale > 0 else math.inf


def _slopes(
    make: Callable[[str], Side],
    g64: dict[str, Array],
    user: Analytic,
    wrong: dict[str, str],
    rng: GlobalRng,
    convention: str,
) -> dict[str, Slope]:
    """:func:`~gradcheck._own_slope.own_slope` of the user's loss in its own dtype for
    the parameters about to be called wrong (none where NumPy has no such dtype)."""
    if not wrong or _no_numpy(user.dtype):
        return {}
    model, wide = make("model"), make("float64")

    def loss(params: dict[str, Array]) -> float:
        with model.scope():
            rng.reset()
            return float(model.cost(params))

    def loss64(params: dict[str, Array]) -> float:
        cast = {n: np.asarray(a, dtype=wide.params[n].dtype) for n, a in params.items()}
        with wide.scope():
            rng.reset()
            return float(wide.cost(cast))

    # a stage below the parameters' dtype (H131) reads only steps across its stairs
    stairs = UNIT.get(user.dtype, 0.0) if user.given else 0.0
    return own_slope(loss, loss64, model.params, user.grads, g64, wrong, convention, stairs)


def _slope_note(n: str, user: Analytic, size: float, slope: Slope) -> str:
    """Why parameter ``n``, whose gradient differs from float64 by ``size`` of its
    scale, is ``inconclusive`` after its loss's own slope was read as ``slope``."""
    dtype = user.dtype
    head = f"{n}: the {dtype} gradient differs from the float64 copy's by {size:.2g} of its scale"
    if slope == "own":
        return (
            f"{head}, and your {dtype} loss's own slope along that difference is the "
            f"{dtype} gradient's, not the float64 formula's: your loss computes another "
            f"function in {dtype} (code that depends on the dtype, e.g. a clamp at "
            f"finfo(x.dtype).eps), so the formula checked in float64 cannot judge the "
            f"{dtype} gradient; make the loss the same in both dtypes, or use "
            f"precision='model' to check the {dtype} gradient against {dtype} differences"
        )
    return (
        f"{head}, more than round-off explains, but your {dtype} loss's own slope along "
        f"that difference shows neither the {dtype} gradient's nor the float64 formula's "
        f"(too noisy, or a kink within every step): a backward acting only in {dtype} "
        f"cannot be told from a loss that depends on the dtype; the formula is checked "
        f"in float64; precision='model' checks the {dtype} gradient itself"
    )


def _no_numpy(dtype: str) -> bool:
    try:
        return not np.issubdtype(np.dtype(dtype), np.floating)
    except TypeError:
        return True
