"""``gradcheck._tolerances``: the default screening tolerance per dtype and method, and
the round-off rules, each value exact (mutation testing)."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck._numerics import CONSISTENCY_ROUNDOFFS, CONSISTENCY_RTOL, PLAUSIBLE, RTOL, SMALLEST
from gradcheck._tolerances import (
    consistency_tolerance,
    default_rtol,
    plausible,
    resolution,
    unit_roundoff,
)


class TestToleranceTablePerDtype:
    """Each floating dtype reads its own row of RTOL; complex reads its real part's
    row; wider-than-float64 precision gets float64's row (the tightest there is)."""

    @pytest.mark.parametrize("method", ["central", "forward", "richardson", "complex"])
    @pytest.mark.parametrize(
        ("dtype", "row"),
        [
            (np.float16, "float16"),
            (np.float32, "float32"),
            (np.float64, "float64"),
            (np.complex64, "float32"),
            (np.complex128, "float64"),
            (np.longdouble, "float64"),
            (np.clongdouble, "float64"),
        ],
    )
    def test_row(self, dtype: type, row: str, method: str) -> None:
        assert default_rtol(dtype, method) == RTOL[row][method]  # type: ignore[arg-type]


class TestUnitRoundoff:
    @pytest.mark.parametrize(
        ("dtype", "eps"),
        [(np.float16, 2.0**-10), (np.float32, 2.0**-23), (np.float64, 2.0**-52)],
    )
    def test_each_dtypes_epsilon(self, dtype: type, eps: float) -> None:
        assert unit_roundoff(dtype) == eps
        assert unit_roundoff(np.dtype(dtype).name) == eps

    def test_a_complex_dtype_has_its_parts_epsilon(self) -> None:
        assert unit_roundoff(np.complex64) == 2.0**-23
        assert unit_roundoff(np.complex128) == 2.0**-52


class TestResolution:
    def test_twice_the_round_off_over_the_step(self) -> None:
        got = resolution(3e-9, 1e-3)
        assert got.dtype == np.float64 and got.shape == ()
        assert float(got) == 2.0 * 3e-9 / 1e-3

    def test_per_entry_steps_and_round_offs(self) -> None:
        sigma, h = np.array([1e-9, 4e-8]), np.array([1e-3, 2e-2])
        got = resolution(sigma, h)
        assert got.tolist() == [2.0 * 1e-9 / 1e-3, 2.0 * 4e-8 / 2e-2]

    def test_a_float32_step_gives_a_float64_bound(self) -> None:
        got = resolution(1e-7, np.float32(0.5))
        assert got.dtype == np.float64 and float(got) == 4e-7
        sigma, h = np.array([2**-10], dtype=np.float32), np.array([0.5], dtype=np.float32)
        got = resolution(sigma, h)
        assert got.dtype == np.float64 and got.tolist() == [2**-8]

    def test_no_round_off_still_leaves_the_smallest_number(self) -> None:
        assert float(resolution(0.0, 0.5)) == 4.0 * SMALLEST
        assert resolution(np.array([0.0, 1.0]), 0.5).tolist() == [4.0 * SMALLEST, 4.0]


class TestConsistencyTolerance:
    def test_round_offs_grow_with_the_square_root_of_the_size(self) -> None:
        u = 2.0**-52
        ulps = CONSISTENCY_ROUNDOFFS * 10.0 * u  # size 100
        assert consistency_tolerance(u, 100, 3.0) == (ulps + CONSISTENCY_RTOL) * 3.0

    def test_the_floor_adds_round_offs_only(self) -> None:
        u = 2.0**-23
        ulps = CONSISTENCY_ROUNDOFFS * 3.0 * u  # size 9
        got = consistency_tolerance(u, 9, 2.0, 5.0)
        assert got == (ulps + CONSISTENCY_RTOL) * 2.0 + ulps * 5.0
        assert consistency_tolerance(u, 9, 2.0) == (ulps + CONSISTENCY_RTOL) * 2.0

    def test_no_scale_leaves_the_floors_round_offs(self) -> None:
        u = 2.0**-52
        assert consistency_tolerance(u, 4, 0.0, 8.0) == CONSISTENCY_ROUNDOFFS * 2.0 * u * 8.0


class TestPlausible:
    def test_a_tenth_of_the_scale_exactly_is_plausible(self) -> None:
        g64 = np.array([0.5, -10.0])
        assert PLAUSIBLE * 10.0 == 1.0  # exact in float64, as the differences below
        assert plausible(np.array([0.5, -9.0]), g64, 0.0)
        assert not plausible(np.array([0.5, np.nextafter(-9.0, 0.0)]), g64, 0.0)

    def test_the_largest_difference_counts(self) -> None:
        g64 = np.array([1.0, 2.0, -4.0])
        assert not plausible(np.array([1.0, 2.0, -4.5]), g64, 0.0)
        assert not plausible(np.array([1.5, 2.0, -4.0]), g64, 0.0)
        assert plausible(np.array([1.3, 2.3, -4.3]), g64, 0.0)

    def test_the_floor_when_it_is_larger(self) -> None:
        g64 = np.array([2.0**-20, -(2.0**-19)])
        user = np.array([3 * 2.0**-20, -(2.0**-19)])  # 2⁻¹⁹ off: exact
        assert not plausible(user, g64, 2.0**-20)
        assert plausible(user, g64, 2.0**-19)
        assert plausible(user, g64, 2.0**-18)

    def test_the_scale_when_it_is_larger(self) -> None:
        g64 = np.array([10.0])
        assert plausible(np.array([11.0]), g64, 0.5)
        assert not plausible(np.array([11.5]), g64, 0.5)

    def test_an_empty_parameter_is_plausible(self) -> None:
        assert plausible(np.zeros(0), np.zeros(0), 0.0)
