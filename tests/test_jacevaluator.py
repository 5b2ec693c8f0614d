"""``gradcheck._jacevaluator``: a vector function's evaluations, one flat row per point."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck._evaluate import Delta, GlobalRng
from gradcheck._jacevaluator import VectorEvaluator
from gradcheck._pytree import flatten

Array = np.ndarray[Any, Any]


def evaluator(fn: Any, x: Array, size: int) -> VectorEvaluator:
    names, _, tree = flatten(x)
    return VectorEvaluator(fn, tree, [np.array(x)], names, GlobalRng(), size=size)


class TestVectorEvaluator:
    def test_rows_are_flat_outputs_and_the_copy_is_restored(self) -> None:
        x = np.array([1.0, 2.0])
        ev = evaluator(lambda p: {"a": p * 2, "b": p.sum()}, x, 3)
        rows = ev([(), (Delta(0, 1, 0.5),)])
        assert rows.tolist() == [[2.0, 4.0, 3.0], [2.0, 5.0, 3.5]]
        assert ev.leaves[0].tolist() == [1.0, 2.0] and ev.count == 2

    def test_output_changing_size_is_an_error(self) -> None:
        ev = evaluator(lambda p: p[p > 1.5], np.array([1.0, 2.0]), 1)
        with pytest.raises(GradcheckError, match="must keep its shape"):
            ev([(Delta(0, 0, 1.0),)])

    def test_non_finite_output_is_named(self) -> None:
        ev = evaluator(lambda p: np.array([1.0, 1.0 / p[0]]), np.array([1.0, 2.0]), 2)
        match = r"inf in output out\[1\].*x\[0\]"
        with pytest.raises(GradcheckError, match=match), np.errstate(divide="ignore"):
            ev([(Delta(0, 0, -1.0),)])

    @pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
    @pytest.mark.parametrize("fold", [False, True])
    def test_a_non_finite_entry_is_named_beside_finite_ones(self, bad: float, fold: bool) -> None:
        # the totals that screen for non-finite values (the sum, or the fold uᵀrow)
        # are not finite whatever the other entries are, even with u = 0 there
        out = np.array([1e300, -1e300, 2.0, 3.0, 4.0])
        moved = out.copy()
        moved[3] = bad
        ev = evaluator(lambda p: moved if p[0] > 1.5 else out, np.ones(5), 5)
        u = np.array([1.0, 1.0, 1.0, 0.0, 1.0])
        with pytest.raises(GradcheckError, match=rf"{bad} in output out\[3\]"):
            if fold:
                ev.fold(u, [(Delta(0, 0, 1.0),)])
            else:
                ev([(Delta(0, 0, 1.0),)])

    @pytest.mark.parametrize("fold", [False, True])
    def test_finite_outputs_whose_total_overflows_are_not_an_error(self, fold: bool) -> None:
        out = np.array([1.5e308, 1.5e308, 1.0])
        ev = evaluator(lambda p: out * p[0], np.ones(3), 3)
        if fold:
            assert ev.fold(np.ones(3), [()]).tolist() == [math.inf]  # as rows @ u would be
        else:
            assert ev([()]).tolist() == [out.tolist()]

    @pytest.mark.parametrize(
        "out",
        [
            np.array([[1.5, -2.0], [0.0, 4.0]]),
            np.array([1, -2, 0, 4], dtype=np.int32),
            np.array([True, False, True, True]),
            np.array([1.5, -2.0, 0.0, 4.0], dtype=np.float32),
            np.ma.masked_array([1.5, -2.0, 0.0, 4.0]),
            [np.array([1.5, -2.0]), np.array([0.0, 4.0])],
        ],
    )
    def test_a_bare_array_reads_as_its_one_leaf_tree(self, out: Any) -> None:
        # a plain ndarray skips the tree walk: same row, dtype and names as a tree's
        ev = evaluator(lambda p: out, np.ones(2), 4)
        flat = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in flatten(out)[1]])
        assert ev([()]).tolist() == [flat.tolist()]
        assert ev.fold(np.ones(4), [()]).tolist() == [float(flat.sum())]
        assert ev.result_dtype == np.result_type(*[np.asarray(x).dtype for x in flatten(out)[1]])

    def test_a_bare_array_of_strings_is_refused(self) -> None:
        ev = evaluator(lambda p: np.array(["a", "b"]), np.ones(2), 2)
        with pytest.raises(GradcheckError, match="non-numeric"):
            ev([()])

    def test_a_bare_array_names_its_entry_as_out(self) -> None:
        out = np.array([[1.0, 2.0], [np.nan, 3.0]])
        ev = evaluator(lambda p: out, np.ones(2), 4)
        with pytest.raises(GradcheckError, match=r"nan in output out\[1, 0\]"):
            ev([()])

    def test_fold_is_each_row_times_u_and_keeps_no_row(self) -> None:
        x = np.array([1.0, 2.0])
        ev = evaluator(lambda p: {"a": p * 2, "b": p.sum()}, x, 3)
        points = [(), (Delta(0, 1, 0.5),), (Delta(0, 0, -1.0),)]
        u = np.array([0.5, -1.0, 2.0])
        rows = ev(points)
        assert ev.fold(u, points).tolist() == (rows @ u).tolist()
        assert ev.count == 6 and ev.leaves[0].tolist() == [1.0, 2.0]
        assert ev([()]).shape == (1, 3)  # rows again after a fold
