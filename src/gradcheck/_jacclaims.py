"""The round-off a ``jvp``/``jacobian`` form's own claims carry.

A form computed in float32 for float64 parameters (``A32 @ t32``: a derivative in float32)
returns float32 numbers, or a Jacobian of them: each output's ``J w`` is then off by the
float32 rounding of its terms ``J_ij w_j`` and of their sum, far above float64's
round-off where the terms cancel (attack35 H141). :func:`form_roundoff` tells such a
form from a float64 one, and :func:`claim_allowance` sizes what its rounding can move
each output by, from the form's claims along sign-flipped copies of the steps. The
form's values are only read. :func:`claim_floor` is a claim's rounding below the
smallest normal, and :func:`fitted_noise` the outputs' noise where a rounding inside
``f`` hides from the five values of a step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradcheck._evaluate import Delta
from gradcheck._norms import norm2
from gradcheck._numerics import CLAIM_ROUNDOFFS, CLAIM_SAMPLES, FIT_MARGIN, FIT_OFFSETS
from gradcheck._steps import entry_scale
from gradcheck._tolerances import unit_roundoff

__all__ = [
    "claim_allowance",
    "claim_floor",
    "fitted_noise",
    "form_roundoff",
    "unseen_note",
]

Array = np.ndarray[Any, Any]
_U32 = unit_roundoff(np.float32)
#: Entries of a Jacobian examined at a time (:func:`_all_in` reads a copy of each block).
_BLOCK = 1 << 20


def _all_in(values: Array, dtype: Any) -> bool:
    """Whether every entry of ``values`` is exactly a number of ``dtype``, examined in
    blocks of :data:`_BLOCK` entries (a Jacobian need not be copied whole); the first
    block that is not ends the search."""
    flat = values.reshape(-1)
    for start in range(0, flat.size, _BLOCK):
        part = flat[start : start + _BLOCK]
        with np.errstate(over="ignore", invalid="ignore"):
            if not np.all(part.astype(dtype).astype(np.float64) == part):
                return False
    return True


def form_roundoff(values: Array, leaves: Sequence[Array]) -> float:
    """float32's unit round-off where ``values`` (a form's claims, or its Jacobian) are
    all float32 numbers, not all float16 ones, and some parameter is float64 with an
    entry that is no float32 number, else 0 (as ``check``'s
    ``gradcheck._directional_probe.claim_roundoff``: a float64 computation gives a
    float32 number with probability 2⁻²⁹ an entry)."""
    wide = any(
        x.dtype.kind == "f" and x.dtype.itemsize == 8 and not _all_in(x, np.float32) for x in leaves
    )
    if not wide or not values.size or not _all_in(values, np.float32):
        return 0.0
    return 0.0 if _all_in(values, np.float16) else _U32


def claim_allowance(
    apply: Callable[[Array], Array],
    claims: Array,
    steps: Sequence[Array],
    unit: float,
    seed: int,
) -> Array:
    """Per output, the most a form's own rounding of unit ``unit`` moves its claims
    ``claims[k] = J w_k``: :data:`~gradcheck._numerics.CLAIM_ROUNDOFFS` ``· unit · √n``
    times ``‖J_i ⊙ w_k‖``, the size of the terms the form summed (the largest over the
    steps).

    ``‖J_i ⊙ w_k‖²`` is the mean of ``(J_i·(ρ ⊙ w_k))²`` over random signs ``ρ``:
    it is estimated from the claim itself and
    :data:`~gradcheck._numerics.CLAIM_SAMPLES` calls of the form (``apply``) on
    sign-flipped copies of each step. Each term rounds by ``unit`` relative, and a sum
    of ``n`` of them in that precision adds about ``√n`` such roundings (a random walk
    of partial sums): measured, a float32 ``A32 @ t32`` is off by 1.4 (n = 300) to
    4 (n = 5000) times ``unit·‖J_i ⊙ w‖`` at the median, 10 and 24 at the largest of
    10⁵ outputs, where ``|J_i·w|`` alone, the size of the claim, is 400 times smaller
    than the terms at one output in 10⁵ (attack35 H141).
    """
    rng = np.random.default_rng([seed, 29])
    n = steps[0].size if steps else 0
    scale = np.zeros(claims.shape[1])
    for k, w in enumerate(steps):
        with np.errstate(over="ignore", invalid="ignore"):
            total = claims[k] ** 2
            for _ in range(CLAIM_SAMPLES):
                signs = rng.integers(0, 2, w.size)
                flipped = np.asarray(apply(np.where(signs == 1, w, -w)), dtype=np.float64)
                total += flipped**2
        with np.errstate(over="ignore", invalid="ignore"):
            np.fmax(scale, np.sqrt(total / (CLAIM_SAMPLES + 1)), out=scale)
    allowance: Array = (CLAIM_ROUNDOFFS * unit * math.sqrt(max(n, 1))) * scale
    allowance[~np.isfinite(allowance)] = 0.0  # a claim of inf or NaN is no rounding
    return allowance


def claim_floor(steps: Sequence[Array], unit: float) -> float:
    """What a form's entries below the smallest normal can move its claims by, at most
    over the steps: each carries an absolute rounding of up to the smallest subnormal
    (float64's; half float32's for a claim of unit ``unit`` float32's), which ``J w``
    sums to ``‖w‖`` times it, and :data:`~gradcheck._numerics.CLAIM_ROUNDOFFS` of that
    (as ``check``'s probe: attack36 H162, a Jacobian of 1e-320 with 4 digits)."""
    least = 2.0**-150 if unit else 2.0**-1074
    with np.errstate(over="ignore"):
        return CLAIM_ROUNDOFFS * least * max((norm2(w) for w in steps), default=0.0)


def unseen_note(labels: Sequence[str], count: int, prefix: str) -> str:
    """The note of the outputs a form's comparison could not judge
    (``gradcheck._jacalong.Along.unseen``); ``labels`` name the first of ``count``."""
    more = f" and {count - len(labels)} more" if count > len(labels) else ""
    return (
        f"{prefix}not judged (J v against f's differences within the rounding of numbers "
        "below the smallest normal: a derivative that is subnormal or underflows to 0): "
        f"{', '.join(labels)}{more}; inconclusive there, neither right nor wrong"
    )


def fitted_noise(
    ev: Any, leaves: Sequence[Array], f0: Array, u: float, seed: int, floor: Array
) -> Array:
    """Each output's noise ``σ``: the residual of a least-squares quartic through ``f``
    at ``θ`` and at :data:`~gradcheck._numerics.FIT_OFFSETS` times a random-sign step
    of ``√u`` times the entry scales (the direction of the full mode's
    ``gradcheck._jacnoise.output_noise``, at irregular points), times
    :data:`~gradcheck._numerics.FIT_MARGIN`; at least ``floor·|f_i|``.
    ``len(FIT_OFFSETS)`` evaluations of ``ev``."""
    rng = np.random.default_rng([seed, 37])
    step = math.sqrt(u)
    deltas = [
        (i, step * entry_scale(x.reshape(-1)) * rng.choice([-1.0, 1.0], size=x.size))
        for i, x in enumerate(leaves)
    ]
    vals = ev([tuple(Delta(i, slice(None), d, t) for i, d in deltas) for t in FIT_OFFSETS])
    t = np.array([0.0, *FIT_OFFSETS])
    vander = np.vander(t, 5)
    with np.errstate(over="ignore", invalid="ignore"):
        table = np.vstack([np.zeros_like(f0)[None, :], np.asarray(vals) - f0])
        big = np.max(np.abs(table), axis=0)
        unit = np.where(big > 0, big, 1.0)  # scaled before squaring (as output_noise)
        scaled = table / unit
        coef = np.linalg.lstsq(vander, scaled, rcond=None)[0]
        resid = scaled - vander @ coef
        sigma = unit * np.sqrt(np.sum(resid**2, axis=0) / (t.size - 5))
    sigma = np.where(np.isfinite(sigma), sigma, np.abs(f0))
    return np.asarray(np.maximum(FIT_MARGIN * sigma, floor * np.abs(f0)), dtype=np.float64)
