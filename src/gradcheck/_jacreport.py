"""The report of a Jacobian check: one result per block, the worst entries, one line per
finding.

Each form given is checked on its own; its blocks (one output leaf against one
parameter) are the report's parameters, named ``"out / W"`` — with the form's prefix
(``"jvp: out / W"``) when several forms are checked. A disagreement of two forms
(``gradcheck._consistency``) is a result of its own, ``"consistency: jvp vs
vjp"``, which fails the report whatever the finite differences say.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from gradcheck._build import NO_BOUND, RANK, WORST, Outcome, ParameterOutcome, build_report
from gradcheck._consistency import Consistency
from gradcheck._jacdiag import Block, diagnose_block, out_label
from gradcheck._jacgrid import Grid
from gradcheck._layout import Layout
from gradcheck._report import Diagnosis, Entry, Report
from gradcheck._summary import difference, parameter_status

__all__ = ["BlockDiagnosis", "entrywise_report", "not_deterministic"]

Array = np.ndarray[Any, Any]
#: ``diagnose_block``'s signature: (block, claimed, numeric, status, others) → diagnosis.
BlockDiagnosis = Callable[[Block, Array, Array, Array, Mapping[str, Array]], Diagnosis]


def blocks(layout: Layout, form: str, several: bool) -> list[tuple[Block, slice, slice]]:
    """Every block of the layout with its rows and columns in the flat Jacobian."""
    prefix = f"{form}: " if several else ""
    return [
        (Block(on, pn, os_, ps, prefix), rs, cs)
        for on, os_, rs in zip(layout.out_names, layout.out_shapes, layout.out_slices())
        for pn, ps, cs in zip(layout.in_names, layout.in_shapes, layout.in_slices())
    ]


def _entries(block: Block, a: Array, g: Grid, rs: slice, cs: slice, ranks: Array) -> list[Entry]:
    """The block's :data:`WORST` worst entries (``ranks``: :func:`_ranks` of its
    statuses)."""
    status = g.status[rs, cs].reshape(-1)
    err = g.abs_error[rs, cs].reshape(-1)
    tol = g.tolerance[rs, cs].reshape(-1)
    cols = cs.stop - cs.start
    out = []
    for k in _top(ranks.reshape(-1), err, tol).tolist():
        r, c = divmod(int(k), cols)
        an, nu = float(a[rs, cs][r, c]), float(g.numeric[rs, cs][r, c])
        big = max(abs(an), abs(nu))
        out.append(
            Entry(
                parameter=out_label(block, r),
                index=block.in_index(c),
                analytic=an,
                numeric=nu,
                abs_error=float(err[k]),
                rel_error=float(err[k]) / big if big > 0 else 0.0,
                tolerance=float(tol[k]),
                fd_error=float(g.fd_error[rs, cs][r, c]),
                status=str(status[k]),  # type: ignore[arg-type]
            )
        )
    return out


def _ranks(status: Array) -> Array:
    """Each status's :data:`RANK` (``len(RANK)`` for another), as ``int8``: one Python
    comparison per entry, with ``"ok"``, and the others only where it is not. A
    block has up to 2²² entries, and its counts, kinks and worst entries compared
    every entry with each status: eight passes of a Python comparison (speed27)."""
    ranks = np.full(status.shape, RANK["ok"], dtype=np.int8)
    other = status != "ok"
    if other.any():
        rest = status[other]
        ranks[other] = np.select([rest == s for s in RANK], list(RANK.values()), len(RANK))
    return ranks


def _top(ranks: Array, err: Array, tol: Array) -> Array:
    """The :data:`WORST` worst entries in :func:`gradcheck._summary.rank`'s order, from
    the statuses' :func:`_ranks` (``rank`` reads each status in Python)."""
    ratio = np.where(tol > 0, err / np.where(tol > 0, tol, 1.0), np.where(err > 0, np.inf, 0.0))
    return lex_smallest([ranks, -ratio, -err], WORST)


def lex_smallest(keys: list[Array], k: int) -> Array:
    """``np.lexsort(keys[::-1])[:k]`` (``keys[0]`` most significant, ties in index
    order) without sorting every entry: a full sort of 2²² entries takes about a
    second, longer than the rest of a 1000 × 1000 report.

    Key by key, a partition finds the ``k``-th smallest value among the entries still
    tied: those below it are in the answer, those equal to it stay tied for the next
    key; entries equal on every key are taken in index order. Only the survivors are
    sorted. Keys with NaN take the full sort.
    """
    if any(np.isnan(key).any() for key in keys if key.dtype.kind == "f"):
        return np.lexsort(keys[::-1])[:k]
    sure = [np.empty(0, dtype=np.intp)]
    tied = np.arange(keys[0].size)
    for key in keys:
        need = k - sum(s.size for s in sure)
        if tied.size <= need:
            break
        vals = key[tied]
        cut = np.partition(vals, need - 1)[need - 1]
        sure.append(tied[vals < cut])
        tied = tied[vals == cut]
    # Still tied after every key: equal on all of them, so the first in index order.
    tied = tied[: k - sum(s.size for s in sure)]
    cand = np.sort(np.concatenate([*sure, tied]))
    return cand[np.lexsort([key[cand] for key in keys[::-1]])][:k]


class BlockResult(NamedTuple):
    """One block's outcome, and its notes for the report."""

    outcome: ParameterOutcome
    notes: list[str]


def _block_result(
    block: Block,
    a: Array,
    g: Grid,
    rs: slice,
    cs: slice,
    p: int,
    others: dict[str, Array],
    diagnose: BlockDiagnosis = diagnose_block,
) -> BlockResult:
    """One block's outcome, and its notes."""
    st = g.status[rs, cs]
    ranks = _ranks(st)
    counts = {
        s: int(np.count_nonzero(ranks == RANK[s])) for s in ("wrong", "uncertain", "nonsmooth")
    }
    status = parameter_status(counts["wrong"], counts["uncertain"], counts["nonsmooth"], st.size)
    loose = _unbracketed(g, rs, cs, ranks == RANK["nonsmooth"])
    if status == "passed" and loose:  # _kinks rule 4, as check: a kink is no evidence
        status = "inconclusive"
    diag = None
    if status == "failed":
        diag = diagnose(block, a[rs, cs], g.numeric[rs, cs], st, others)
    bounds = [row[p].detection_bound for row in g.rows[rs]]
    shape = block.out_shape + block.in_shape
    notes = []
    if counts["uncertain"]:
        notes.append(
            f"{block.name}: {counts['uncertain']} entries could not be resolved: the outputs' "
            "noise or curvature swamps the finite differences there"
        )
    if counts["nonsmooth"]:
        text = f"{block.name}: {counts['nonsmooth']} entries sit at kinks (not judged)"
        if loose:
            text += (
                f"; {loose} of them claim a value outside their one-sided slopes, which "
                "finite differences at this point cannot judge (a wrong entry, or a "
                "framework's convention where several kinks meet): the block is inconclusive"
            )
        notes.append(text)
    result = ParameterOutcome(
        name=block.name,
        shape=shape,
        dtype="float64",
        status=status,
        difference=difference(a[rs, cs], g.numeric[rs, cs]),
        max_abs_error=float(g.abs_error[rs, cs].max(initial=0.0)),
        checked=int(st.size),
        failed=counts["wrong"],
        nonsmooth=counts["nonsmooth"],
        uncertain=counts["uncertain"],
        worst=tuple(_entries(block, a, g, rs, cs, ranks)),
        diagnosis=diag,
        detection_bound=max(bounds, default=NO_BOUND),
        errors=g.abs_error[rs, cs].reshape(shape),
    )
    return BlockResult(result, notes)


def _unbracketed(g: Grid, rs: slice, cs: slice, kinks: Array) -> int:
    """How many of the block's kink entries (``kinks``: its ``nonsmooth`` ones) claim a
    value outside their one-sided slopes."""
    if g.bracketed.shape != g.status.shape:
        return int(np.count_nonzero(kinks))
    return int(np.count_nonzero(kinks & ~g.bracketed[rs, cs]))


def consistency_result(c: Consistency) -> ParameterOutcome:
    """A consistency check as a result of its own, one entry per random pair
    ``(u, v)``: failed when the forms disagree, inconclusive where that may be their
    rounding (``Consistency.uncertain``)."""
    errors = [abs(x - y) for x, y in c.values]
    a, b = c.forms
    return ParameterOutcome(
        name=f"consistency: {a} vs {b}",
        shape=(len(c.values),),
        dtype="float64",
        status=("inconclusive" if c.uncertain else "failed") if c.wrong else "passed",
        difference=max(
            (abs(x - y) / (abs(x) + abs(y)) if x or y else 0.0 for x, y in c.values), default=0.0
        ),
        max_abs_error=max(errors, default=0.0),
        checked=len(c.values),
        failed=sum(e > t for e, t in zip(errors, c.tolerance)),
        diagnosis=Diagnosis("inconsistent", None, c.text()) if c.wrong else None,
        detection_bound=0.0,
    )


def entrywise_report(
    layout: Layout,
    given: tuple[str, ...],
    claimed: list[Array],
    grids: list[Grid],
    agree: list[Consistency],
    evaluations: int,
    start: float,
    options: dict[str, Any],
    sigma: Array,
    diagnose: BlockDiagnosis = diagnose_block,
) -> Report:
    """The report of an entrywise Jacobian check (module doc); ``diagnose`` names a
    failed block's mistake (complex views bring their own patterns,
    ``gradcheck._jac_complex_report``)."""
    params: list[ParameterOutcome] = []
    messages: list[str] = []
    for form, a, g in zip(given, claimed, grids):
        found = blocks(layout, form, len(given) > 1)
        for block, rs, cs in found:
            p = layout.in_names.index(block.param)
            others = {
                b.name: g.numeric[r2, c2]
                for b, r2, c2 in found
                if b.param == block.param and b.out != block.out
            }
            res, notes = _block_result(block, a, g, rs, cs, p, others, diagnose)
            params.append(res)
            messages += notes
    params += [consistency_result(c) for c in agree]
    messages += [c.text() for c in agree]
    diff = max((difference(a, g.numeric) for a, g in zip(claimed, grids)), default=0.0)
    noise = float(np.max(sigma, initial=0.0))
    outcome = Outcome(tuple(params), diff, noise, tuple(messages))
    return build_report(outcome, evaluations=evaluations, start=start, options=options)


def not_deterministic(
    layout: Layout,
    given: tuple[str, ...],
    agree: list[Consistency],
    evaluations: int,
    start: float,
    options: dict[str, Any],
) -> Report:
    """The report of a check whose ``fn`` gave two different outputs at the parameters:
    its blocks are ``inconclusive``; the forms' consistency, which needs no ``fn``, is
    still judged (a disagreement fails the report)."""
    nan = float("nan")
    params = [
        ParameterOutcome(b.name, b.out_shape + b.in_shape, "float64", "inconclusive", nan, 0)
        for form in given
        for b, _, _ in blocks(layout, form, len(given) > 1)
    ]
    msg = (
        "fn is not deterministic: two evaluations at the same parameters gave different "
        "outputs. Dropout or sampling? Fix its random numbers (a seeded generator inside "
        "fn) so that each call repeats."
    )
    params += [consistency_result(c) for c in agree]
    outcome = Outcome(tuple(params), nan, 0.0, (msg, *[c.text() for c in agree]))
    return build_report(outcome, evaluations=evaluations, start=start, options=options)
