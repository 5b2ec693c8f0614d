"""gradcheck._order2_rows: second-order rows of a gradient that is zero within round-off."""

from __future__ import annotations

import math

import numpy as np
import pytest

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


class TestSamePoint:
    """``gradcheck._order2.same_point``: bit for bit, whatever entry differs (the leading
    entries are compared first, the rest after: both parts count)."""

    def _point(self) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(0)
        return {"x": rng.standard_normal((30, 10)), "w": rng.standard_normal(300)}

    def test_equal_copies_are_the_point(self) -> None:
        from gradcheck._order2 import same_point

        point = self._point()
        point["x"][3, 4] = np.nan
        assert same_point({k: v.copy() for k, v in point.items()}, point)
        assert same_point(point, point)

    @pytest.mark.parametrize("where", [0, 63, 64, 299])
    def test_one_entry_off_anywhere_is_another_point(self, where: int) -> None:
        from gradcheck._order2 import same_point

        point = self._point()
        moved = {k: v.copy() for k, v in point.items()}
        moved["w"][where] = np.nextafter(moved["w"][where], np.inf)
        assert not same_point(moved, point)

    def test_signed_zero_dtype_shape_and_names_count(self) -> None:
        from gradcheck._order2 import same_point

        zero = {"x": np.zeros(100)}
        negative = {"x": np.zeros(100)}
        negative["x"][80] = -0.0
        assert not same_point(negative, zero)
        assert not same_point({"x": np.zeros(100, np.float32)}, zero)
        assert not same_point({"x": np.zeros((10, 10))}, zero)
        assert not same_point({"y": np.zeros(100)}, zero)
        z = {"x": np.array([1 + 2j, 3j])}
        assert same_point({"x": z["x"].copy()}, z)
        assert not same_point({"x": np.array([1 + 2j, 4j])}, z)
