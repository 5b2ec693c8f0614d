"""Each output's noise, round-off and step dtype in a Jacobian check.

:func:`output_noise` and :func:`block_noise` measure each output's noise by ECnoise,
floored at its own round-off (:func:`output_roundoff`) and at the parameters'
(:func:`noise_floor`, that floor alone, which the entrywise grid screens with before
it knows whether it needs the measurement); and
:func:`row_step_dtypes` gives each output row the dtype its steps are sized for. The
entrywise grid (``gradcheck._jacgrid``) and the projections (``gradcheck._jacproj``)
read them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradcheck._evaluate import Delta, SerialEvaluator
from gradcheck._steps import entry_scale
from gradcheck._tolerances import unit_roundoff

__all__ = ["block_noise", "noise_floor", "output_noise", "output_roundoff", "row_step_dtypes"]

Array = np.ndarray[Any, Any]


def output_noise(
    ev: SerialEvaluator,
    leaves: list[Array],
    f0: Array,
    u: float,
    seed: int,
    floor: Array | float | None = None,
    moving: Sequence[int] | None = None,
) -> Array:
    """Each output's noise: ECnoise (``k = 4``, Moré & Wild 2011, as
    ``gradcheck._norms.noise_from_table``) on the 7-point table of ``f`` at relative
    steps ``k·√u`` (``k = −3..3``) along a random-sign direction scaled by the entry
    scales, floored at ``floor·|f_i|`` (``floor`` per output, or ``u``).

    ``moving`` restricts the direction to those parameters (all by default)."""
    rng = np.random.default_rng(seed)
    step = math.sqrt(u)
    deltas = [
        (i, step * entry_scale(x.reshape(-1)) * rng.choice([-1.0, 1.0], size=x.size))
        for i, x in enumerate(leaves)
    ]
    if moving is not None:
        deltas = [d for d in deltas if d[0] in moving]
    ks = (-3, -2, -1, 1, 2, 3)
    vals = ev([tuple(Delta(i, slice(None), d, k) for i, d in deltas) for k in ks])
    table = np.concatenate([vals[:3], f0[None, :], vals[3:]])
    with np.errstate(over="ignore", invalid="ignore"):
        diffs = np.diff(table, n=4, axis=0)
        # scaled before squaring (as ``_norms.norm2``): outputs above ~1e154 would
        # overflow ``diffs**2`` and read as noise as large as the value
        big = np.max(np.abs(diffs), axis=0)
        unit = np.where(big > 0, big, 1.0)
        sigma = unit * np.sqrt(np.mean((diffs / unit) ** 2, axis=0) / math.comb(8, 4))
    sigma = np.where(np.isfinite(sigma), sigma, np.abs(f0))
    low = u if floor is None else floor
    return np.asarray(np.maximum(sigma, low * np.abs(f0)), dtype=np.float64)


def output_roundoff(dtypes: Sequence[np.dtype[Any]], shapes: Sequence[tuple[int, ...]]) -> Array:
    """Each flat output's unit round-off, in its own dtype (float64 for integers)."""
    parts = [
        np.full(math.prod(shape), unit_roundoff(d if d.kind == "f" else np.float64))
        for shape, d in zip(shapes, dtypes)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def block_noise(
    ev: SerialEvaluator,
    leaves: list[Array],
    f0: Array,
    out_roundoff: Array,
    seed: int,
) -> Array:
    """Each output's noise per parameter (``m × P``), each in its own dtypes.

    An output's floor is the round-off of its own dtype (``out_roundoff``, per flat
    output) and of the parameters moved: one float32 output does not floor a float64
    one's noise at float32's round-off, nor one float32 parameter a float64 one's
    (attack13 F33; ``check`` does the same per parameter,
    ``gradcheck._entrywise._leaf_noise``). The table moves every parameter; when
    their dtypes differ, each dtype's parameters but the coarsest are probed again
    alone, at their round-off (a coarser parameter moved by less than its spacing
    rounds to a jump: noise that is not the function's), and their blocks are judged
    with that noise: with float64, float32 and float16 parameters, the float32 ones
    get float32's noise, not float16's (attack20 A10).
    """
    own = [unit_roundoff(x.dtype if x.dtype.kind == "f" else np.float64) for x in leaves]
    coarse = max(own)
    u = max(coarse, float(np.max(out_roundoff, initial=0.0)))
    sigma = output_noise(ev, leaves, f0, u, seed, np.maximum(out_roundoff, coarse))
    out = np.repeat(sigma[:, None], len(leaves), axis=1)
    for fine in sorted(set(own) - {coarse}):
        keep = [p for p, r in enumerate(own) if r == fine]
        u_fine = max(fine, float(np.max(out_roundoff, initial=0.0)))
        quiet = output_noise(ev, leaves, f0, u_fine, seed, np.maximum(out_roundoff, fine), keep)
        out[:, keep] = quiet[:, None]
    return out


def noise_floor(leaves: Sequence[Array], f0: Array, out_roundoff: Array) -> Array:
    """The floor of :func:`block_noise` alone (``m × P``, no evaluation): ``u·|f_i|``
    with ``u`` the round-off of output ``i``'s own dtype or parameter ``p``'s, the
    coarser; :func:`block_noise` is never below it.

    >>> noise_floor([np.zeros(2), np.zeros(1, np.float32)], np.array([2.0]), np.array([0.5]))
    array([[1., 1.]])
    """
    own = [unit_roundoff(x.dtype if x.dtype.kind == "f" else np.float64) for x in leaves]
    cols = [np.maximum(out_roundoff, r) * np.abs(f0) for r in own]
    return np.stack(cols, axis=1) if cols else np.zeros((f0.size, 0))


#: The dtypes a row's own round-off can ask for, finest first.
_STEP_DTYPES = tuple(np.dtype(d) for d in (np.float64, np.float32, np.float16))


def row_step_dtypes(dtype: np.dtype[Any], out_roundoff: Array | None, m: int) -> list[Any]:
    """Each output row's step dtype for a parameter of ``dtype``: the parameter's own,
    or the row's output dtype where that is coarser (``out_roundoff``, per flat output;
    ``None``: the parameter's for every row).

    A float16 output beside a float64 one (attack20 A5, t14): steps sized for the
    finest output never moved the float16 values, and their rows were inconclusive
    even for a claim 1.5 times the right one; each row is now differenced at its own
    output's precision (one more set of ``2n`` evaluations per coarser dtype).
    """
    if out_roundoff is None:
        return [dtype] * m
    u = unit_roundoff(dtype)
    out = []
    for r in np.asarray(out_roundoff, dtype=np.float64).tolist():
        coarse = [d for d in _STEP_DTYPES if unit_roundoff(d) <= r]
        own = coarse[-1] if coarse else _STEP_DTYPES[0]
        out.append(own if unit_roundoff(own) > u else dtype)
    return out
