"""``gradcheck._quotients``: the noise of a cost's values and the round-off they show."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck._quotients import shown_roundoff, value_noise


class TestValueNoise:
    U = float(np.finfo(np.float64).eps) / 2
    TINY = float(np.finfo(np.float64).tiny)

    def test_the_values_round_off_floors_the_measured_noise(self) -> None:
        vals = np.array([[1.0, 3.0], [-8.0, 2.0]])
        got = value_noise(0.0, self.U, 2.0, vals, np.array([1.0, 0.0]))
        assert got.tolist() == [3.0 * self.U, 8.0 * self.U]
        assert value_noise(1.0, self.U, 2.0, vals, np.ones(2)).tolist() == [1.0, 1.0]

    def test_underflowed_values_resolve_the_smallest_subnormal_for_a_non_zero_claim(
        self,
    ) -> None:
        vals = np.zeros((3, 2))
        got = value_noise(0.0, 1e-3, 0.0, vals, np.array([1e-170, 0.0, -2.0]))
        assert got.tolist() == [1e-3 * self.TINY, 0.0, 1e-3 * self.TINY]

    def test_no_values_leave_the_measured_noise(self) -> None:
        got = value_noise(0.5, self.U, 1.0, np.zeros((0, 2)), np.zeros(0))
        assert got.shape == (0,)


class TestShownRoundoff:
    """Values that are all float16 or float32 numbers show that dtype's round-off."""

    def test_float32_numbers(self) -> None:
        vals = np.float32([0.1, 0.2, 0.3]).astype(np.float64)
        assert shown_roundoff(0.7, vals) == 0.0  # 0.7 is no float32 number
        j0 = float(np.float32(0.7))
        assert shown_roundoff(j0, vals) == float(np.finfo(np.float32).eps) / 2

    def test_float16_numbers(self) -> None:
        vals = np.float16([0.1, 0.2, 0.3]).astype(np.float64)
        assert shown_roundoff(0.5, vals) == float(np.finfo(np.float16).eps) / 2

    @pytest.mark.parametrize(
        "vals",
        [[0.1, 0.2, 0.3], [1.0, 1.0, 1.0], [1.0, 2.0, 1.0], [np.inf, 1.0, 2.0]],
        ids=["float64", "all-equal", "two-values", "non-finite"],
    )
    def test_no_evidence(self, vals: list[float]) -> None:
        assert shown_roundoff(1.0, np.array(vals)) == 0.0
