"""Second-order report rows: a block's names, and the blocks of a zero gradient.

A gradient that is 0 whatever the point (the bias before a train-mode batch norm,
which the norm removes) has a derivative of 0, whose analytic and numeric values are
both round-off: :func:`zero_gradient_rows` judges its inconclusive blocks on the
largest second derivative seen, as first order judges a zero gradient on the model's
largest entry (``gradcheck._order2`` reports them; split from it, unchanged).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from gradcheck._build import ParameterOutcome
from gradcheck._tolerances import default_rtol, unit_roundoff

__all__ = [
    "ZERO_GRADIENT_POWER",
    "ZERO_ROW",
    "ZeroGradientRows",
    "split_name",
    "zero_gradient_rows",
]

Array = np.ndarray[Any, Any]
Params = dict[str, Array]
#: A gradient whose largest entry is at most ``u^(2/3)`` times the model's largest is
#: zero within round-off (a bias before a train-mode batch norm): about first order's
#: screening tolerance for a zero gradient, ``3ν`` with ``ν ≈ u·|f|/h`` and
#: ``h ≈ u^(1/3)`` (``gradcheck._compare.zero_within_noise``), relative to the scale.
ZERO_GRADIENT_POWER = 2 / 3
ZERO_ROW = (
    "{out} / *: the gradient of {out} is zero within round-off, so its derivative is "
    "judged on the largest second derivative seen ({scale:.3g}), as first order judges a "
    "zero gradient on the model's largest entry: errors above {bound:.3g} (rtol × that) "
    "are caught"
)


class ZeroGradientRows(NamedTuple):
    """The rows after :func:`zero_gradient_rows`, and ``{block: note}`` for each block
    it judged."""

    rows: list[ParameterOutcome]
    notes: dict[str, str]


def zero_gradient_rows(
    rows: list[ParameterOutcome], g0: Params, rtol: float | None
) -> ZeroGradientRows:
    """The inconclusive blocks of gradients that are zero within round-off, judged on
    the largest second derivative seen, as first order judges a zero gradient on the
    model's largest entry (``atol = rtol ×`` it, docs/numerics.md).

    A gradient that is 0 whatever the point (a bias that a train-mode batch norm
    removes) has a derivative of 0: its analytic and numeric values are both
    round-off, which the block's own scale cannot resolve. Failed blocks, and those
    with an error above ``rtol`` (the option, or the dtype's default) times that largest
    value, stay as they are. Returns the rows and ``{block: note}`` for those judged.
    """
    top = max((float(np.max(np.abs(g), initial=0.0)) for g in g0.values()), default=0.0)
    zero = {
        n
        for n, g in g0.items()
        if float(np.max(np.abs(g), initial=0.0))
        <= unit_roundoff(g.dtype) ** ZERO_GRADIENT_POWER * top
    }
    entries = [e for r in rows for e in r.worst]
    scale = max((max(abs(e.analytic), abs(e.numeric)) for e in entries), default=0.0)
    scale = max((abs(e.analytic) for e in entries), default=0.0) or scale
    out, notes = [], {}
    for row in rows:
        block = split_name(row.name)
        r = default_rtol(row.dtype, "central") if rtol is None else float(rtol)
        bound = r * scale
        if (
            block is None
            or block.output not in zero
            or row.status != "inconclusive"
            or row.failed
            or not bound
            or not row.max_abs_error <= bound
        ):
            out.append(row)
            continue
        worst = tuple(
            dataclasses.replace(e, status="ok") if e.status != "wrong" else e for e in row.worst
        )
        out.append(
            row._replace(
                status="passed",
                nonsmooth=0,
                uncertain=0,
                worst=worst,
                detection_bound=r,
            )
        )
        notes[row.name] = ZERO_ROW.format(out=block[0], scale=scale, bound=bound)
    return ZeroGradientRows(out, notes)


class Block(NamedTuple):
    """A second-order block's names: the output (an input's gradient) and what it is
    differentiated against."""

    output: str
    against: str


def split_name(row: str) -> Block | None:
    """``("input0", "cotangent0")`` for the block ``"input0 / cotangent0"``."""
    parts = row.split(" / ")
    return Block(parts[-2].split(": ")[-1], parts[-1]) if len(parts) >= 2 else None
