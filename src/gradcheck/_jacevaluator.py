"""Evaluating a vector function at perturbed parameters: one flat row per point.

:class:`VectorEvaluator` is the :class:`~gradcheck._evaluate.SerialEvaluator` of
``check_jacobian``: its function returns arrays (any pytree of them), and each point's
row is the flat output vector; a fold ``uᵀ f`` is read without keeping the rows.

>>> import numpy as np
>>> from gradcheck._evaluate import Delta
>>> from gradcheck._pytree import flatten
>>> from gradcheck._rng import GlobalRng
>>> names, _, tree = flatten(np.array([1.0, 2.0]))
>>> ev = VectorEvaluator(
...     lambda p: {"a": 2 * p, "b": p.sum()}, tree, [np.array([1.0, 2.0])], names,
...     GlobalRng(), size=3,
... )
>>> ev([(), (Delta(0, 1, 0.5),)]).tolist()
[[2.0, 4.0, 3.0], [2.0, 5.0, 3.5]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._evaluate import NonFinite, Point, SerialEvaluator, _result_dtype
from gradcheck._flat_values import as_array
from gradcheck._pytree import flatten

__all__ = ["TreeRow", "VectorEvaluator"]

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

    def _tree_row(self, value: Any) -> TreeRow:
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
        return TreeRow(names, arrays, row)


class TreeRow(NamedTuple):
    """A pytree output as one row: its leaf names, its leaves and their values, flat."""

    names: list[str]
    arrays: list[Array]
    row: Array


def _numeric(a: Array) -> bool:
    return bool(np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_)


def _out_label(names: list[str], arrays: list[Array], flat: int) -> str:
    for name, a in zip(names, arrays):
        if flat < a.size:
            idx = np.unravel_index(flat, a.shape) if a.shape else ()
            return name + (f"[{', '.join(map(str, idx))}]" if idx else "")
        flat -= a.size
    return "?"
