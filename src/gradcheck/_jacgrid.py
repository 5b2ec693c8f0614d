"""Entrywise Jacobian check: every entry against finite differences, as ``check`` judges.

Row ``i`` of a Jacobian is the gradient of the scalar ``f_i``, so entry ``(i, j)`` is
judged exactly as :func:`gradcheck.check` judges ``∂f_i/∂θ_j`` (``gradcheck._compare``):
the same steps (``gradcheck._steps.steps``, per input entry), the same screening
tolerance, re-examination at ``h/2`` and verdict rules, with ``f_i``'s own value and
noise. One evaluation of ``f`` gives every output, so ``2n`` evaluations (central
differences) give every column, and the re-examination evaluates only the columns
some row needs. The noise of each output is measured by ECnoise on one table of 6
evaluations along a random direction (as ``check``'s probe), floored at the round-off
its value shows (``u·|f_i|``; ``gradcheck._jacnoise``), and only when some entry
fails the screen with that floor alone (a smooth function checked against a right
Jacobian costs ``2n`` evaluations and the point's).

Scales: each row of each parameter's block is judged on its own largest entry, as
``check`` judges a parameter; a block or a row that is zero within round-off, and a
Hessian's rows, on a larger one (``gradcheck._jacscale``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck import _compare as cmp
from gradcheck._evaluate import Delta, SerialEvaluator
from gradcheck._jacevaluator import VectorEvaluator
from gradcheck._jaclinear import Linear, column_values, evaluated, linear_noise
from gradcheck._jacnoise import (
    block_noise,
    noise_floor,
    output_noise,
    output_roundoff,
    row_step_dtypes,
)
from gradcheck._jacscale import on_block_scale, unmoved, zero_rows
from gradcheck._numerics import Method
from gradcheck._steps import steps
from gradcheck._tolerances import default_rtol, unit_roundoff

__all__ = [
    "Entrywise",
    "Grid",
    "VectorEvaluator",
    "block_noise",
    "entrywise",
    "noise_floor",
    "output_noise",
    "output_roundoff",
    "row_step_dtypes",
]

Array = np.ndarray[Any, Any]


class Setting(NamedTuple):
    """What every comparison of one entrywise check shares."""

    method: Method
    eps: float | None
    rtol: float | None
    atol: float | None
    fixed: bool


class Grid(NamedTuple):
    """Every entry's comparison, as ``m × n`` arrays (outputs × flat inputs).

    ``rows`` holds, per output row and parameter, the comparison of that row's block
    (its ``detection_bound`` and notes are read from there).
    """

    numeric: Array
    abs_error: Array
    tolerance: Array
    fd_error: Array
    status: Array  # of str
    rows: list[list[cmp.Comparison]]
    #: bool: at a ``nonsmooth`` entry, whether the claim lies between the one-sided
    #: slopes (``gradcheck._kinks`` rule 4); empty for a grid built without kinks
    bracketed: Array = np.zeros((0, 0), dtype=bool)


def _points(leaf: int, h: Array, offsets: Sequence[complex], cols: Array) -> list[Any]:
    hl = h.tolist()
    return [
        (Delta(leaf, int(j), float(np.real(o)) * hl[k]),)
        for k, j in enumerate(cols.tolist())
        for o in offsets
    ]


class Entrywise(NamedTuple):
    """What :func:`entrywise` found: each claimed matrix's grid, and the noise (``m ×
    P``) its entries were judged with."""

    grids: list[Grid]
    sigma: Array


def entrywise(
    ev: SerialEvaluator,
    s: Setting,
    leaves: list[Array],
    claimed: Sequence[Array],
    f0: Array,
    sigma: Array,
    out_roundoff: Array | None = None,
    measure: Callable[[], Array] | None = None,
    linear: Linear | None = None,
    blocks: Array | None = None,
) -> Entrywise:
    """Compare each claimed ``m × n`` Jacobian with finite differences of ``f``.

    The finite differences are evaluated once and shared by every claimed matrix
    (the re-examined columns are those any of them needs). ``sigma`` is each output's
    noise, per parameter (``m × P``, :func:`block_noise`) or for all (``m``).
    With ``measure`` (:func:`block_noise`'s evaluations), ``sigma`` is only its floor
    (:func:`noise_floor`): the noise is measured when some entry fails the screen
    with the floor or is re-examined (:func:`_needs`), and every entry is then judged
    with the measured noise; when none is, the check costs ``2n`` evaluations and the
    floor is the noise (``docs/numerics.md`` says why that is sound).
    ``out_roundoff``: each flat output's round-off (:func:`output_roundoff`); a row
    whose output is coarser than a parameter (float16 values of float64 parameters) is
    differenced at steps sized for its own round-off (:func:`row_step_dtypes`).
    ``linear``: the parameters ``f`` is linear in, whose columns take half the
    evaluations or none (``gradcheck._jaclinear``).
    ``blocks``: each row's output leaf, where the rows of one leaf share a scale (a
    Hessian's, ``gradcheck._jacscale.zero_rows``); ``None``: each row is judged on its own.
    """
    lin = linear if linear is not None and linear.any() else None
    sigma = np.broadcast_to(sigma.reshape(f0.size, -1), (f0.size, len(leaves)))
    n_offsets = len(cmp.STAGE1[s.method])
    hs, stage1, dtypes, groups = [], [], [], []
    for i, leaf in enumerate(leaves):
        flat = np.real(leaf.reshape(-1))
        dtype = leaf.real.dtype
        kinds = row_step_dtypes(dtype, out_roundoff, f0.size)
        rows_h = np.empty((f0.size, flat.size))
        vals_all = np.empty((flat.size, n_offsets, f0.size))
        group = []
        for kind in dict.fromkeys(kinds):
            rows = np.array([k == kind for k in kinds], dtype=bool)
            h = steps(flat, s.method, s.eps, kind)
            vals = _values(ev, i, h, cmp.STAGE1[s.method], np.arange(flat.size), f0, lin)
            rows_h[rows] = h
            vals_all[:, :, rows] = vals[:, :, rows]
            group.append((h, rows))
        hs.append(rows_h)
        dtypes.append(dtype)
        stage1.append(vals_all)
        groups.append(group)
    starts = np.cumsum([0] + [x.size for x in leaves])
    judged = linear_noise(sigma, lin)
    firsts = [_first(s, J, hs, stage1, starts, dtypes, f0, judged) for J in claimed]
    if measure is not None and _needs(firsts):
        sigma = np.broadcast_to(measure().reshape(f0.size, -1), (f0.size, len(leaves)))
        judged = linear_noise(sigma, lin)
        firsts = [_first(s, J, hs, stage1, starts, dtypes, f0, judged) for J in claimed]
    rechecks = []
    offs = cmp.RECHECK[s.method]
    for p, leaf in enumerate(leaves):
        full = np.zeros((leaf.size, len(offs), f0.size))
        for h, rows in groups[p]:
            need = np.zeros(leaf.size, dtype=bool)
            for first in firsts:
                for row in np.flatnonzero(rows).tolist():
                    need |= first[row][p].examined
            cols = np.flatnonzero(need)
            if not (cols.size and offs):
                continue
            vals = _values(ev, p, h[cols], offs, cols, f0, lin)
            full[np.ix_(cols, np.arange(len(offs)), np.flatnonzero(rows))] = vals[:, :, rows]
        rechecks.append(full)
    # the precision the values show: from evaluated ones (a scalar cotangent's are made)
    shown = cmp.shown_roundoff(f0, *evaluated(stage1, lin))
    grids = [
        _grid(s, J, hs, stage1, rechecks, starts, dtypes, f0, judged, shown, first, blocks)
        for J, first in zip(claimed, firsts)
    ]
    return Entrywise(grids, np.asarray(sigma))


def _values(
    ev: SerialEvaluator,
    leaf: int,
    h: Array,
    offsets: Sequence[complex],
    cols: Array,
    f0: Array,
    linear: Linear | None,
) -> Array:
    """``f`` at each offset of each column ``cols`` of parameter ``leaf`` (steps ``h``),
    ``cols × offsets × m``: evaluated, or fewer evaluations where ``f`` is linear in it."""

    def evaluate(offs: tuple[complex, ...]) -> Array:
        return ev(_points(leaf, h, offs, cols)).reshape(cols.size, len(offs), f0.size)

    return column_values(evaluate, offsets, f0, linear, leaf, h)


def _needs(firsts: list[list[list[Screened]]]) -> bool:
    """Whether some entry of some claimed matrix is re-examined (:func:`_first`)."""
    return any(bool(np.any(p.examined)) for first in firsts for row in first for p in row)


def _rtol(s: Setting, dtype: np.dtype[Any]) -> float:
    return default_rtol(dtype, s.method) if s.rtol is None else s.rtol


class Screened(NamedTuple):
    """One row block's first stage (:func:`_first`): the estimates, the screening
    tolerance and which entries are re-examined; :func:`_grid` judges from them."""

    numeric: Array
    tolerance: Array
    examined: Array
    scale: float  # the row block's gradient scale, computed once for every rule


def _first(
    s: Setting,
    J: Array,
    hs: list[Array],
    stage1: list[Array],
    starts: Array,
    dtypes: list[np.dtype[Any]],
    f0: Array,
    sigma: Array,
) -> list[list[Screened]]:
    """Per output row and parameter: the first stage, and which entries the comparison
    re-examines."""
    out = []
    for i in range(f0.size):
        row = []
        for p, rows_h in enumerate(hs):
            a, h = J[i, starts[p] : starts[p + 1]], rows_h[i]
            vals = stage1[p][:, :, i]
            numeric = cmp.first_estimate(s.method, float(f0[i]), vals, h)
            scale = cmp.gradient_scale(a, numeric, 0.0)
            tol = cmp.tolerance(
                s.method,
                a,
                numeric,
                h,
                sigma=float(sigma[i, p]),
                rtol=_rtol(s, dtypes[p]),
                atol=s.atol,
                fixed=s.fixed,
                scale=scale,
            )
            nu = cmp.noise_for(s.method, float(sigma[i, p]), h, s.fixed)
            ex = cmp.examined(
                s.method, a, numeric, tol, vals, float(f0[i]), h, 0.0, nu, scale=scale
            )
            row.append(Screened(numeric, tol, ex, scale))
        out.append(row)
    return out


def _grid(
    s: Setting,
    J: Array,
    hs: list[Array],
    stage1: list[Array],
    rechecks: list[Array],
    starts: Array,
    dtypes: list[np.dtype[Any]],
    f0: Array,
    sigma: Array,
    shown: float,
    first: list[list[Screened]],
    blocks: Array | None = None,
) -> Grid:
    """Every row's comparison with the claimed ``J`` (its first stage ``first``, from
    :func:`_first` with the same ``sigma``: not computed twice), then the zero-row
    scales (``shown``: the round-off every output's values show,
    ``gradcheck._compare.shown_roundoff``)."""
    rows: list[list[cmp.Comparison]] = []
    for i in range(f0.size):
        row = []
        for p, rows_h in enumerate(hs):
            a, h = J[i, starts[p] : starts[p + 1]], rows_h[i]
            vals = stage1[p][:, :, i]
            j0, sg = float(f0[i]), float(sigma[i, p])
            numeric, tol, ex, scale = first[i][p]
            recheck = rechecks[p][ex][:, :, i]
            low = dtypes[p].itemsize < 8 or unit_roundoff(dtypes[p]) > unit_roundoff(np.float64)
            row.append(
                cmp.compare(
                    s.method,
                    a,
                    numeric,
                    h,
                    tol,
                    j0=j0,
                    sigma=sg,
                    fixed=s.fixed,
                    stage1=vals,
                    recheck=recheck,
                    low_precision=low,
                    shown=shown,
                    reexamined=ex,
                    scale=scale,
                )
            )
        rows.append(row)
    if not s.fixed:
        rows = zero_rows(rows, J, starts, max(unit_roundoff(d) for d in dtypes))
        if blocks is not None:
            rows = on_block_scale(rows, blocks)
    fields = [
        np.stack([np.concatenate([getattr(c, name) for c in row]) for row in rows])
        if rows
        else np.zeros((0, J.shape[1]))
        for name in ("numeric", "abs_error", "tolerance", "fd_error", "status", "bracketed")
    ]
    numeric, abs_error, tolerance, fd_error, status, bracketed = fields
    zero = J == 0  # the statuses compared only there (a Python comparison per entry)
    if zero.any():
        zero &= unmoved(stage1, f0)
        zero[zero] = status[zero] == "uncertain"
        status[zero] = "ok"
    return Grid(numeric, abs_error, tolerance, fd_error, status, rows, bracketed.astype(bool))
