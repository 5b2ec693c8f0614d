"""gradcheck._order2_rows: second-order rows of a gradient that is zero within round-off."""

from __future__ import annotations

import math

import numpy as np

from gradcheck._build import ParameterOutcome
from gradcheck._order2_rows import ZeroGradientRows, split_name, zero_gradient_rows
from gradcheck._results import Entry


def _row(name: str, error: float) -> ParameterOutcome:
    worst = (Entry(name, (0,), 1.0, 1.0 + error, error, error, 0.0, 0.0, "uncertain"),)
    return ParameterOutcome(
        name, (3,), "float64", "inconclusive", math.nan, 3, error, uncertain=1, worst=worst
    )


class TestZeroGradientRows:
    def test_a_zero_gradients_block_is_judged_on_the_largest_second_derivative(self) -> None:
        rows = [_row("input0 / cotangent0", 1e-12), _row("input1 / cotangent0", 1e-12)]
        g0 = {"input0": np.zeros(3), "input1": np.ones(3)}
        result = zero_gradient_rows(rows, g0, None)
        assert isinstance(result, ZeroGradientRows)
        assert [r.status for r in result.rows] == ["passed", "inconclusive"]
        assert list(result.notes) == ["input0 / cotangent0"]
        assert result.notes["input0 / cotangent0"].startswith("input0 / *: the gradient of")

    def test_split_name(self) -> None:
        assert split_name("input0 / cotangent0") == ("input0", "cotangent0")
        assert split_name("input0") is None
