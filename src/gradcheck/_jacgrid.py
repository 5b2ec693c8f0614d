"""Entrywise Jacobian check: every entry against finite differences, as ``check`` judges.

Row ``i`` of a Jacobian is the gradient of the scalar ``f_i``, so entry ``(i, j)`` is
judged exactly as :func:`gradcheck.check` judges ``∂f_i/∂θ_j`` (``gradcheck._compare``):
the same steps (``gradcheck._numerics.steps``, per input entry), the same screening
tolerance, re-examination at ``h/2`` and verdict rules, with ``f_i``'s own value and
noise. One evaluation of ``f`` gives every output, so ``2n`` evaluations (central
differences) give every column, and the re-examination evaluates only the columns
some row needs. The noise of each output is measured by ECnoise on one table of 6
evaluations along a random direction (as ``check``'s probe), floored at the round-off
its value shows (``u·|f_i|``; ``gradcheck._jacnoise``), and only when some entry
fails the screen with that floor alone (a smooth function checked against a right
Jacobian costs ``2n`` evaluations and the point's).

Scales: each row of each parameter's block is judged on its own largest entry, as
``check`` judges a parameter. A row of a block that is zero within round-off (an
output that does not depend on that parameter) is judged on the row's largest entry
over all parameters, and a row that is zero everywhere on the Jacobian's largest
entry (``check``'s "model scale", ``gradcheck._compare.on_model_scale``).
A Hessian's rows are one gradient's entries (``check_hessian``: ``blocks``): a row
whose entries its own output's round-off cannot resolve (the gradient's entry ``p_y −
1 ≈ −1`` of a confident softmax cross-entropy, its Hessian entries 1e-10 and below)
is judged on its block's largest entry, as ``check`` judges every entry of one
parameter on that parameter's scale (attack25 G4).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck import _compare as cmp
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import Delta, NonFinite, Point, SerialEvaluator, _result_dtype
from gradcheck._flat_values import as_array
from gradcheck._jaclinear import Linear, column_values, evaluated, linear_noise
from gradcheck._jacnoise import (
    block_noise,
    noise_floor,
    output_noise,
    output_roundoff,
    row_step_dtypes,
)
from gradcheck._numerics import Method, default_rtol, steps, unit_roundoff
from gradcheck._pytree import flatten

#: A claimed Jacobian entry within this many round-offs of the Jacobian's largest entry,
#: where the finite differences see nothing, is round-off of 0 (:func:`_zero_rows`): 64,
#: as ``gradcheck._consistency.STATIONARY_ROUNDOFFS``, covers the rounding of a
#: framework's sums over a few dozen terms of that size (γₙ ≈ n·u, Higham §3.1).
ANALYTIC_ROUNDOFFS = 64.0

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


class VectorEvaluator(SerialEvaluator):
    """A :class:`~gradcheck._evaluate.SerialEvaluator` whose cost returns arrays: each
    point's row is the flat output vector (every leaf of the output pytree, in
    flatten order). The first evaluation fixes the output's size; a later one of
    another size, a non-numeric or a non-finite one is an error naming the output.
    """

    target = "fn"

    def __init__(self, *args: Any, size: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.size = size
        self._fold: Array | None = None

    def fold(self, u: Array, points: Sequence[Point]) -> Array:
        """``uᵀ f`` at each point, each row read once and not kept: for a caller that
        needs nothing else of the rows (``gradcheck._jacdir.Folded``). No row is copied
        into a fresh ``len(points) × size`` array (at N = 10⁶, a copy and page faults
        per row)."""
        self._fold = u
        try:
            return self(points)
        finally:
            self._fold = None

    def _buffer(self, count: int) -> Array:
        return np.empty(count if self._fold is not None else (count, self.size))

    def _read(self, value: Any) -> Any:
        if type(value) is np.ndarray and value.dtype.kind in "biuf":
            # one real NumPy array, the common output: the same row, dtype and name
            # ("out") as the tree walk gives, without it and the dtype tests (at
            # N = 10³, 14-23 µs per evaluation instead of 67-102 µs: 11 per check)
            names, arrays = ["out"], [value]
            self.result_dtype = value.dtype
            row = np.asarray(value, dtype=np.float64).reshape(-1)
        else:
            names, arrays, row = self._tree_row(value)
        if row.size != self.size:
            raise GradcheckError(
                f"fn returned {row.size} values here but {self.size} at the parameters: its "
                "output must keep its shape"
            )
        # the sum (or the fold uᵀrow, u finite) is finite when every value is: one pass,
        # no temporary (a NaN, or an infinity times anything, even 0, is not finite);
        # only a total that is not (or finite values that overflow it) is searched
        # entry by entry
        with np.errstate(over="ignore", invalid="ignore"):
            if self._fold is not None:
                total = float(row @ self._fold)
            else:
                total = float(np.add.reduce(row)) if row.size else 0.0
        if not math.isfinite(total):
            bad = np.flatnonzero(~np.isfinite(row))
            if bad.size:
                where = _out_label(names, arrays, int(bad[0]))
                raise NonFinite(f"fn returned {row[bad[0]]} in output {where} ")
        return row if self._fold is None else total

    def _tree_row(self, value: Any) -> tuple[list[str], list[Array], Array]:
        """A pytree output's leaf names, leaves and flat row (its leaves concatenated)."""
        names, leaves, treedef = flatten(value)
        arrays = [as_array(x) for x in leaves]
        if treedef.kind == "leaf":
            names = ["out"]
        flat = [np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays if _numeric(a)]
        if len(flat) != len(arrays):
            raise GradcheckError("fn returned non-numeric values: it must return real arrays")
        if arrays:
            self.result_dtype = np.result_type(*[_result_dtype(a) for a in arrays])
        # one leaf: its flat view, copied once by ``_run`` into the row it returns
        row = flat[0] if len(flat) == 1 else np.concatenate(flat) if flat else np.zeros(0)
        return names, arrays, row


def _numeric(a: Array) -> bool:
    return bool(np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_)


def _out_label(names: list[str], arrays: list[Array], flat: int) -> str:
    for name, a in zip(names, arrays):
        if flat < a.size:
            idx = np.unravel_index(flat, a.shape) if a.shape else ()
            return name + (f"[{', '.join(map(str, idx))}]" if idx else "")
        flat -= a.size
    return "?"


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
    Hessian's, :func:`_zero_rows`); ``None``: each row is judged on its own.
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
            tol = cmp.tolerance(
                s.method,
                a,
                numeric,
                h,
                sigma=float(sigma[i, p]),
                rtol=_rtol(s, dtypes[p]),
                atol=s.atol,
                fixed=s.fixed,
            )
            nu = cmp.noise_for(s.method, float(sigma[i, p]), h, s.fixed)
            ex = cmp.examined(s.method, a, numeric, tol, vals, float(f0[i]), h, 0.0, nu)
            row.append(Screened(numeric, tol, ex))
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
            numeric, tol, ex = first[i][p]
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
                )
            )
        rows.append(row)
    if not s.fixed:
        rows = _zero_rows(rows, J, starts, max(unit_roundoff(d) for d in dtypes))
        if blocks is not None:
            rows = _on_block_scale(rows, blocks)
    fields = [
        np.stack([np.concatenate([getattr(c, name) for c in row]) for row in rows])
        if rows
        else np.zeros((0, J.shape[1]))
        for name in ("numeric", "abs_error", "tolerance", "fd_error", "status", "bracketed")
    ]
    numeric, abs_error, tolerance, fd_error, status, bracketed = fields
    status = np.where((status == "uncertain") & (J == 0) & _unmoved(stage1, f0), "ok", status)
    return Grid(numeric, abs_error, tolerance, fd_error, status, rows, bracketed.astype(bool))


def _unmoved(stage1: list[Array], f0: Array) -> Array:
    """``m × n``: whether every first-stage value of output ``i`` under steps of input
    ``j`` equals ``f_i`` bit for bit. A claim of exactly 0 there is no uncertain entry:
    the output did not move at all (the commonest Jacobian structure, an output that
    does not depend on a parameter), whatever ``f_i``'s noise elsewhere; the noise
    estimate moves every input at once."""
    parts = [np.all(v == f0, axis=1).T for v in stage1]
    return np.concatenate(parts, axis=1) if parts else np.zeros((f0.size, 0), dtype=bool)


def _zero_rows(
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
    (``gradcheck._compare.on_model_scale``), as ``check`` judges a zero parameter.
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
        zero = [cmp.zero_within_noise(c, a, w) for c, a, w in zip(row, blocks, screens[i])]
        if all(zero):
            scale, peak = top, top_peak
        new = []
        for c, is_zero, w in zip(row, zero, screens[i]):
            if is_zero and c.scale < scale:
                c = cmp.on_model_scale(c, scale, peak, w)
            new.append(c)
        out.append(new)
    return out


def _on_block_scale(rows: list[list[cmp.Comparison]], blocks: Array) -> list[list[cmp.Comparison]]:
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
