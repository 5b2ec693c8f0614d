"""``gradcheck._quotients``: the noise of a cost's values and the round-off they show."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck._quotients import (
    SHOWN_DISTINCT,
    STAGE1,
    central,
    first_estimate,
    noise_for,
    richardson,
    roundoff,
    shown_roundoff,
    table,
    table_spread,
    value_noise,
)


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


class TestQuotients:
    """Each quotient's exact arithmetic (mutation testing: every factor and column)."""

    def test_central(self) -> None:
        assert central(np.array([3.0]), np.array([1.0]), np.array([0.25])).tolist() == [4.0]

    def test_richardson_of_three_central_differences(self) -> None:
        best, spread = richardson(np.array([1.0]), np.array([2.0]), np.array([4.0]))
        # r1 = (4·2 − 1)/3 = 7/3, r2 = (4·4 − 2)/3 = 14/3, best = (16 r2 − r1)/15
        assert best.tolist() == pytest.approx([217 / 45], rel=1e-15)
        assert spread.tolist() == pytest.approx([7 / 45], rel=1e-12)

    def test_the_table_of_a_cubic(self) -> None:
        # J = θ³ at θ = 1: C(h) = 3 + h², at h, h/2, h/4
        h = np.array([0.5])
        offsets = np.array(STAGE1["richardson"], dtype=float)
        vals = ((1.0 + offsets * h[0]) ** 3)[None, :]
        c1, c2, c3 = table(vals, h)
        assert [c1[0], c2[0], c3[0]] == [3.25, 3.0625, 3.015625]
        assert table_spread(vals, h).tolist() == [0.0]
        assert first_estimate("richardson", 1.0, vals, h).tolist() == [3.0]

    def test_each_methods_first_estimate(self) -> None:
        h = np.array([0.25, 0.5])
        assert first_estimate("central", 1.0, np.array([[3.0, 1.0], [2.0, 0.0]]), h).tolist() == [
            4.0,
            2.0,
        ]
        assert first_estimate("forward", 1.0, np.array([[3.0], [0.0]]), h).tolist() == [8.0, -2.0]
        vals = np.array([[1.0 + 0.5j], [2.0 - 1.0j]])
        got = first_estimate("complex", 1.0, vals, h)
        assert got.dtype == np.float64 and got.tolist() == [2.0, -2.0]
        got = first_estimate("complex", 1.0, vals.astype(np.complex64), h.astype(np.float32))
        assert got.dtype == np.float64 and got.tolist() == [2.0, -2.0]  # float32 values too

    def test_an_overflowing_quotient_is_inf_without_a_warning(self) -> None:
        vals = np.array([[1e308, -1e308]])
        assert first_estimate("central", 0.0, vals, np.array([1e-10])).tolist() == [np.inf]
        assert roundoff("central", 1e300, np.array([1e-10])).tolist() == [np.inf]

    @pytest.mark.parametrize(
        ("method", "gain"),
        [("central", 1.0), ("forward", 2.0), ("complex", 0.0), ("richardson", 8.0)],
    )
    def test_the_round_off_each_method_inherits(self, method: str, gain: float) -> None:
        got = roundoff(method, 2.0**-50, np.array([0.5, 2.0]))  # type: ignore[arg-type]
        assert got.dtype == np.float64
        assert got.tolist() == [gain * 2.0**-49, gain * 2.0**-51]
        same = noise_for(method, 2.0**-50, np.array([0.5, 2.0]), False)  # type: ignore[arg-type]
        assert same is not None and same.tolist() == got.tolist()
        assert noise_for(method, 2.0**-50, np.array([0.5]), True) is None  # type: ignore[arg-type]
        h32 = np.array([0.5, 2.0], dtype=np.float32)
        got32 = roundoff(method, 2.0**-50, h32)  # type: ignore[arg-type]
        assert got32.dtype == np.float64 and got32.tolist() == got.tolist()


class TestValueNoiseExactly:
    U = 2.0**-23  # u · tiny is then a subnormal, not 0
    TINY = float(np.finfo(np.float64).tiny)

    def test_the_cost_at_theta_counts_too(self) -> None:
        vals = np.array([[1.0, -2.0]])
        assert value_noise(0.0, self.U, -16.0, vals, np.ones(1)).tolist() == [16.0 * self.U]

    def test_float32_values_give_float64_noise(self) -> None:
        vals = np.array([[1.0, -4.0]], dtype=np.float32)
        got = value_noise(0.0, self.U, 2.0, vals, np.ones(1))
        assert got.dtype == np.float64 and got.tolist() == [4.0 * self.U]

    def test_per_entry_measured_noise(self) -> None:
        vals = np.array([[1.0, 1.0], [1.0, 1.0]])
        sigma = np.array([1e-3, 0.0])
        assert value_noise(sigma, self.U, 1.0, vals, np.ones(2)).tolist() == [1e-3, self.U]

    def test_moving_subnormals_get_the_floor_whatever_the_claim(self) -> None:
        vals = np.array([[5e-324, 0.0], [0.0, 0.0]])
        got = value_noise(0.0, self.U, 0.0, vals, np.zeros(2))
        assert got.tolist() == [self.U * self.TINY, 0.0] and got[0] > 0

    def test_values_of_tiny_exactly_are_their_own_round_off(self) -> None:
        vals = np.array([[self.TINY, 0.0]])
        assert value_noise(0.0, self.U, 0.0, vals, np.ones(1)).tolist() == [self.U * self.TINY]
        big = np.array([[4.0 * self.TINY, 0.0]])
        assert value_noise(0.0, 0.5, 0.0, big, np.ones(1)).tolist() == [2.0 * self.TINY]

    def test_no_values_broadcast_the_noise_to_the_claims_shape(self) -> None:
        got = value_noise(0.5, self.U, 1.0, np.zeros((0, 2)), np.zeros((2, 0)))
        assert got.shape == (2, 0) and got.dtype == np.float64
        got = value_noise(0.5, self.U, 1.0, np.zeros((0, 2)), np.zeros(3))
        assert got.tolist() == [0.5, 0.5, 0.5]
        got = value_noise(np.float32(0.5), self.U, 1.0, np.zeros((0, 2)), np.zeros(2))
        assert got.dtype == np.float64 and got.tolist() == [0.5, 0.5]


class TestShownRoundoffExactly:
    def test_three_distinct_numbers_are_evidence(self) -> None:
        assert SHOWN_DISTINCT == 3
        vals = np.float32([0.1, 0.2]).astype(np.float64)
        assert shown_roundoff(float(np.float32(0.3)), vals) == 2.0**-24

    def test_values_in_several_arrays_and_complex_values(self) -> None:
        a = np.float32([0.1]).astype(np.float64)
        b = np.float32([0.2, 0.3]).astype(np.complex128) + 0j
        assert shown_roundoff(0.5, a, b) == 2.0**-24

    def test_values_beyond_float16_are_judged_in_float32(self) -> None:
        vals = np.float32([1e5, 2e5, 3e5]).astype(np.float64)  # beyond float16's 65504
        assert shown_roundoff(float(np.float32(1e5)), vals) == 2.0**-24

    def test_values_beyond_float32_show_nothing(self) -> None:
        assert shown_roundoff(1e300, np.array([2e300, 4e300])) == 0.0
