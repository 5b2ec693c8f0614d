"""Naming Jacobian entries and diagnosing a wrong Jacobian block.

An entry is named by (output index, parameter, input index): ``out[2] / W[0, 1]``.
A block is one output array against one parameter, seen as a matrix (its output
entries × its input entries). A wrong block is diagnosed with the mistakes of
``gradcheck._diagnose`` — zero (a **missing block**), sign, factor, **transposed**
(the claimed block equals the finite-difference block's transpose: square blocks) and
swapped with another output's block — and then, where no pattern of the whole block
fits, with the patterns of rows and columns: **swapped outputs** (the claimed rows are
the right rows in another order), one **wrong output row**, one **wrong input column**.
Each is said in one line; a Jacobian is never dumped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from gradcheck._diagnose import FIT, NAMED, _ratio, counted, diagnose
from gradcheck._norms import norm2
from gradcheck._report import Diagnosis, entry_label

__all__ = ["Block", "diagnose_block", "out_label"]

Array = np.ndarray[Any, Any]


class Block(NamedTuple):
    """One output leaf against one parameter: names, shapes and the entries' label prefix."""

    out: str
    param: str
    out_shape: tuple[int, ...]
    in_shape: tuple[int, ...]
    prefix: str  # the form's prefix ("jvp: ") when several forms are checked

    @property
    def name(self) -> str:
        """The block's name in the report: ``"out / W"`` (with the form's prefix)."""
        return f"{self.prefix}{self.out} / {self.param}"

    def out_index(self, row: int) -> tuple[int, ...]:
        """The output index of flat row ``row``."""
        return (
            tuple(int(t) for t in np.unravel_index(row, self.out_shape)) if self.out_shape else ()
        )

    def in_index(self, col: int) -> tuple[int, ...]:
        """The input index of flat column ``col``."""
        return tuple(int(t) for t in np.unravel_index(col, self.in_shape)) if self.in_shape else ()

    def row_label(self, row: int) -> str:
        """``"out[2]"``."""
        return entry_label(self.out, self.out_index(row))

    def col_label(self, col: int) -> str:
        """``"W[0, 1]"``."""
        return entry_label(self.param, self.in_index(col))

    def label(self, row: int, col: int) -> str:
        """``"out[2] / W[0, 1]"``."""
        return f"{self.row_label(row)} / {self.col_label(col)}"


def out_label(block: Block, row: int) -> str:
    """The :class:`~gradcheck.Entry` ``parameter`` of row ``row``: ``"out[2] / W"``, so that
    the entry's label reads ``out[2] / W[0, 1]``."""
    return f"{block.prefix}{block.row_label(row)} / {block.param}"


def _fits(a: Array, b: Array) -> bool:
    scale = max(float(norm2(a)), float(norm2(b)))
    return scale > 0 and float(norm2(a - b)) <= FIT * scale


_BLOCK_TEXT = {
    "unused": "the outputs do not change with this parameter (finite differences exactly 0), "
    "but the claimed block is not zero",
    "zero": "the block is zero where it should not be (a missing block?)",
    "transpose": "the block is transposed: it equals the finite-difference block's transpose "
    "(J given where Jᵀ was meant?)",
}


def diagnose_block(
    block: Block,
    claimed: Array,
    numeric: Array,
    status: Array,
    others: Mapping[str, Array] | None = None,
) -> Diagnosis:
    """Name the mistake that turns the finite-difference block ``numeric`` into ``claimed``.

    Args:
        block: which block (for the text).
        claimed, numeric, status: the block as ``rows × columns`` matrices.
        others: the finite-difference blocks of the same shape for other outputs (a
            block swapped with another output's).
    """
    wrong = status == "wrong"
    d = diagnose(claimed, numeric, others, status=status, name=block.name)
    if d.kind in _BLOCK_TEXT:
        return Diagnosis(d.kind, d.factor, _BLOCK_TEXT[d.kind])
    if d.kind == "swapped":
        return Diagnosis("swapped", None, d.text.replace("gradient", "block"))
    if d.kind in ("sign", "factor") and d.factor is not None:
        # the fit is relative to the block's norm: one wrong row of large entries
        # would "be" the block, so the factor must fit every row on its own scale too
        scale = np.maximum(np.max(np.abs(claimed), axis=1), np.max(np.abs(numeric), axis=1))
        keep = scale > 0
        rows_a = claimed[keep] / scale[keep, None]
        rows_n = numeric[keep] / scale[keep, None]
        if _fits(rows_a, d.factor * rows_n):
            return Diagnosis(d.kind, d.factor, "the block is " + _scaled(d.factor))
    return (
        _swapped_rows(block, claimed, numeric, wrong)
        or _one_line(block, claimed, numeric, wrong, axis=1)
        or _one_line(block, claimed, numeric, wrong, axis=0)
        or _scattered(block, wrong, status)
    )


def _swapped_rows(block: Block, a: Array, n: Array, wrong: Array) -> Diagnosis | None:
    """The wrong rows are the right rows in another order."""
    rows = np.flatnonzero(np.any(wrong, axis=1))
    if rows.size < 2:
        return None
    target = {}
    for r in rows.tolist():
        match = [s for s in rows.tolist() if s != r and _fits(a[r], n[s])]
        if not match:
            return None
        target[r] = match[0]
    if sorted(target.values()) != sorted(target):
        return None
    names = ", ".join(block.row_label(r) for r in rows[:NAMED].tolist())
    return Diagnosis(
        "swapped",
        None,
        f"swapped outputs: the rows of {names} hold each other's derivatives (outputs permuted?)",
    )


def _one_line(block: Block, a: Array, n: Array, wrong: Array, axis: int) -> Diagnosis | None:
    """Every wrong entry lies in one row (``axis=1``) or one column (``axis=0``), and
    most of that line is wrong: the line is named, with its pattern."""
    lines = np.flatnonzero(np.any(wrong, axis=axis))
    length = wrong.shape[axis]
    if lines.size != 1 or length < 2:
        return None
    k = int(lines[0])

    def take(x: Array) -> Array:
        return np.asarray(x[k] if axis == 1 else x[:, k])

    count = int(np.count_nonzero(take(wrong)))
    if count < 2 or count * 2 < length:
        return None
    line_a, line_n = take(a), take(n)
    what = (
        f"the row of output {block.row_label(k)}"
        if axis == 1
        else f"the column of input {block.col_label(k)}"
    )
    text = f"{what} is wrong ({count} of {length} entries)"
    nn = float(norm2(line_n))
    if nn > 0 and float(norm2(line_a)) <= FIT * nn:
        text += ": it is zero where it should not be (missing?)"
    elif nn > 0:
        c = _ratio(line_a, line_n, nn)
        if abs(c - 1) > FIT and _fits(line_a, c * line_n):
            text += ": it is " + _scaled(c)
    return Diagnosis("row" if axis == 1 else "column", None, text)


def _scaled(c: float) -> str:
    """``c`` times the finite differences, in words (no ``1/m`` hint: a Jacobian's row
    or block is no mean over a batch)."""
    if abs(c + 1) <= FIT:
        return "×−1, the wrong sign"
    k, inv = counted(c), counted(1 / c) if c else 0
    if k >= 2 and abs(c - k) <= FIT * abs(c):
        return f"×{k}, {k} times too large"
    if inv >= 2 and abs(1 / c - inv) <= FIT * abs(1 / c):
        return f"×1/{inv} ({c:.4g}), {inv} times too small"
    sign = "wrong sign and " if c < 0 else ""
    return f"×{c:.4g}, {sign}off by a constant factor"


def _scattered(block: Block, wrong: Array, status: Array) -> Diagnosis:
    """No pattern: how many entries are wrong, and the first few, named."""
    where = np.argwhere(wrong)
    k = int(where.shape[0])
    text = f"{k} of {wrong.size} entries {'is' if k == 1 else 'are'} wrong"
    left = int(np.count_nonzero(status == "uncertain"))
    if left:
        text += f" ({left} more could not be resolved)"
    named = ", ".join(block.label(int(r), int(c)) for r, c in where[:NAMED])
    more = ", …" if k > NAMED else ""
    return Diagnosis(
        "scattered", None, f"{text}, with no simple pattern: {named}{more}" if k else text
    )
