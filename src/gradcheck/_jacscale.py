"""The scales a Jacobian's entries are judged on, where a row's own says nothing.

Each row of each parameter's block is judged on its own largest entry, as ``check``
judges a parameter. A row of a block that is zero within round-off (an
output that does not depend on that parameter) is judged on the row's largest entry
over all parameters, and a row that is zero everywhere on the Jacobian's largest
entry (``check``'s "model scale", ``gradcheck._compare.on_model_scale``); such a
block's ``nonsmooth`` entries are noise, not kinks (:func:`zero_rows`).
A Hessian's rows are one gradient's entries (``check_hessian``: ``blocks``): a row
whose entries its own output's round-off cannot resolve (the gradient's entry ``p_y −
1 ≈ −1`` of a confident softmax cross-entropy, its Hessian entries 1e-10 and below)
is judged on its block's largest entry, as ``check`` judges every entry of one
parameter on that parameter's scale (attack25 G4). An entry claimed exactly 0 whose
output did not move at all under its steps is no uncertain one (:func:`unmoved`).

>>> import numpy as np
>>> f0 = np.array([1.0, 2.0])
>>> stage1 = [np.array([[[1.0, 2.5], [1.0, 1.5]]])]  # 1 entry × 2 offsets × 2 outputs
>>> unmoved(stage1, f0).tolist()  # output 0 never moved, output 1 did
[[True], [False]]
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from gradcheck import _compare as cmp

__all__ = ["ANALYTIC_ROUNDOFFS", "on_block_scale", "unmoved", "zero_rows"]

#: A claimed Jacobian entry within this many round-offs of the Jacobian's largest entry,
#: where the finite differences see nothing, is round-off of 0 (:func:`zero_rows`): 64,
#: as ``gradcheck._consistency.STATIONARY_ROUNDOFFS``, covers the rounding of a
#: framework's sums over a few dozen terms of that size (γₙ ≈ n·u, Higham §3.1).
ANALYTIC_ROUNDOFFS = 64.0

Array = np.ndarray[Any, Any]


def unmoved(stage1: list[Array], f0: Array) -> Array:
    """``m × n``: whether every first-stage value of output ``i`` under steps of input
    ``j`` equals ``f_i`` bit for bit. A claim of exactly 0 there is no uncertain entry:
    the output did not move at all (the commonest Jacobian structure, an output that
    does not depend on a parameter), whatever ``f_i``'s noise elsewhere; the noise
    estimate moves every input at once."""
    parts = [np.all(v == f0, axis=1).T for v in stage1]
    return np.concatenate(parts, axis=1) if parts else np.zeros((f0.size, 0), dtype=bool)


def zero_rows(
    rows: list[list[cmp.Comparison]], J: Array, starts: Array, roundoff: float = 0.0
) -> list[list[cmp.Comparison]]:
    """Judge each row block that is zero within round-off on the row's scale, and a row
    zero everywhere on the Jacobian's (module doc).

    "Zero within round-off" counts the claim's own round-off too, up to
    :data:`ANALYTIC_ROUNDOFFS` round-offs of the Jacobian's largest entry: an output
    that is exactly constant (R's structural zeros in a wide QR) has no noise, and its
    differences are exactly 0, while the framework's Jacobian leaves 5.6e-17 there
    beside entries of 3.4 (attack24 F1). Such an entry is judged on the row's or the
    Jacobian's scale with a reach of at least that screen plus its claim
    (``gradcheck._compare.on_model_scale``), as ``check`` judges a zero parameter;
    claims that are such round-off make a block zero also with differences within the
    screen plus their estimated error (:func:`_zero`), and its ``nonsmooth`` entries
    are noise (:func:`_no_kinks`).
    """
    row_scale = [max((c.scale for c in row), default=0.0) for row in rows]
    row_peak = [max((c.peak for c in row), default=0.0) for row in rows]
    top = max(row_scale, default=0.0)
    top_peak = max(row_peak, default=0.0) or top
    own = ANALYTIC_ROUNDOFFS * roundoff * top_peak
    screens = [[np.maximum(c.tolerance, own) for c in row] for row in rows]
    out = []
    for i, row in enumerate(rows):
        scale, peak = (row_scale[i], row_peak[i] or row_scale[i])
        blocks = [J[i, starts[p] : starts[p + 1]] for p in range(len(row))]
        zero = [_zero(c, a, w, own) for c, a, w in zip(row, blocks, screens[i])]
        if all(zero):
            scale, peak = top, top_peak
        new = []
        for c, is_zero, w in zip(row, zero, screens[i]):
            if is_zero and c.scale < scale:
                c = cmp.on_model_scale(_no_kinks(c, w), scale, peak, w)
            new.append(c)
        out.append(new)
    return out


def _zero(c: cmp.Comparison, a: Array, screen: Array, own: float) -> bool:
    """Whether a row block is zero within round-off: claims and differences within
    ``screen``; or claims that are round-off of 0 (within ``own``) and differences
    within ``screen`` plus their own estimated error. The second keeps the verdict off
    a noise draw: a Hessian block of an output that does not depend on the parameter
    (a batch-normalised layer's weight gradient along the bias before it) has
    differences that are round-off divided by the step, and whether one lands just
    past the screen depended on the reduction order, so on the thread count
    (test_torch_order2's BatchNorm block: inconclusive with one thread, passed with
    two). Claims above round-off keep the stricter rule: a truncation error there
    could hide a small true entry."""
    if cmp.zero_within_noise(c, a, screen):
        return True
    rounded = bool(np.all(np.abs(a) <= own))
    return rounded and cmp.zero_within_noise(c, a, screen, with_error=True)


def _no_kinks(c: cmp.Comparison, screen: Array) -> cmp.Comparison:
    """A zero block's ``nonsmooth`` entries as ``uncertain``, with a reach of at least
    ``screen`` plus their claim: differences that are round-off divided by the step
    show no kink, only noise (their one-sided slopes disagree by chance), and the
    block is judged on the row's or the model's scale as a whole."""
    kinks = c.status == "nonsmooth"
    if not kinks.any():
        return c
    status, reach = c.status.copy(), c.reach.copy()
    status[kinks] = "uncertain"
    reach[kinks] = np.maximum(np.nan_to_num(reach[kinks], nan=0.0, posinf=0.0), 0.0)
    reach[kinks] = np.maximum(reach[kinks], screen[kinks] + c.abs_error[kinks])
    kink = c.kink.copy()
    kink[kinks] = np.nan
    return dataclasses.replace(c, status=status, reach=reach, kink=kink)


def on_block_scale(rows: list[list[cmp.Comparison]], blocks: Array) -> list[list[cmp.Comparison]]:
    """Each row's ``uncertain`` entries judged on the largest entry of its block (the
    rows of one output leaf, ``blocks[i]`` its index, times one parameter): a Hessian's
    rows are one gradient's entries, which ``check`` judges on their parameter's scale.
    ``wrong`` entries stay wrong; the detection bound becomes the block's."""
    out = [list(row) for row in rows]
    for b in np.unique(blocks).tolist():
        members = np.flatnonzero(blocks == b).tolist()
        for p in range(len(rows[members[0]]) if members else 0):
            scale = max(rows[i][p].scale for i in members)
            peak = max(rows[i][p].peak or rows[i][p].scale for i in members)
            for i in members:
                c = rows[i][p]
                if c.scale < scale and np.any(c.status == "uncertain"):
                    out[i][p] = cmp.on_model_scale(c, scale, peak)
    return out
