"""``gradcheck._norms``: noise estimates and norms at every magnitude."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gradcheck
from gradcheck._norms import noise_from_table, norm2, rms_of


class TestNoise:
    def test_recovers_the_noise_level_of_iid_errors(self) -> None:
        rng = np.random.default_rng(0)
        sigma = 1e-3
        estimates = [
            noise_from_table(np.linspace(0, 1, 7) ** 2 + sigma * rng.standard_normal(7))
            for _ in range(400)
        ]
        assert np.sqrt(np.mean(np.square(estimates))) == pytest.approx(sigma, rel=0.15)

    def test_smooth_function_has_no_noise(self) -> None:
        x = 1 + 1e-8 * np.arange(7)
        assert noise_from_table(x**2) < 1e-15


class TestNoiseTable:
    """ECnoise with k = 4: fourth differences, normalised by C(8, 4) = 70."""

    def test_the_fourth_difference_of_a_quartic_is_its_constant(self) -> None:
        assert noise_from_table(np.arange(7.0) ** 4) == pytest.approx(24 / np.sqrt(70))

    def test_five_values_make_one_fourth_difference(self) -> None:
        values = np.array([0.0, 0.0, 1.0, 0.0, 0.0])  # fourth difference 6
        assert noise_from_table(values) == pytest.approx(6 / np.sqrt(70))

    @pytest.mark.parametrize("n", [0, 1, 4])
    def test_too_short_a_table_has_no_noise_estimate(self, n: int) -> None:
        assert noise_from_table(np.ones(n)) == 0.0

    def test_a_float32_table_is_differenced_in_float64(self) -> None:
        values = np.array([3e38, -3e38] * 4, dtype=np.float32)  # differences overflow
        assert np.isfinite(noise_from_table(values))


class TestExtremeMagnitudes:
    """Nothing warns at magnitudes where squares overflow (t11-attack F2)."""

    @pytest.mark.parametrize("s", [1e160, 1e200, 1e300])
    def test_huge_costs_pass_without_warnings(self, s: float) -> None:
        x = np.array([0.3, -0.7, 1.1])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            report = gradcheck.check(lambda p: s * np.sum(np.sin(p)), x, lambda p: s * np.cos(p))
        assert report.status == "passed"

    def test_huge_wrong_gradient_fails_without_warnings(self) -> None:
        x = np.array([0.3, -0.7, 1.1])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            report = gradcheck.check(
                lambda p: 1e300 * np.sum(np.sin(p)), x, lambda p: -1e300 * np.cos(p)
            )
        assert report.status == "failed"

    def test_norm2(self) -> None:
        assert norm2(np.array([3e200, 4e200])) == pytest.approx(5e200)
        assert norm2(np.array([3.0, 4.0])) == 5.0
        assert norm2(np.array([np.inf, 1.0])) == np.inf
        # squares that underflow (attack20 A13): scaled by the largest entry first
        assert norm2(np.array([3e-200, 4e-200])) == pytest.approx(5e-200, rel=1e-15, abs=0)
        assert norm2(np.array([1e-170, 1e-300, -1e-160])) == pytest.approx(1e-160, rel=1e-15, abs=0)
        assert norm2(np.full(10**4, 1e-300)) == pytest.approx(1e-298, rel=1e-12, abs=0)
        assert norm2(np.zeros(3)) == 0.0 and norm2(np.zeros(0)) == 0.0
        assert np.isnan(norm2(np.array([np.nan, 1e-200])))
        assert noise_from_table(np.array([0, 1e200, 0, -1e200, 0, 1e200, 0])) > 1e199


class TestRmsOf:
    """The RMS of magnitudes, plain where the squares are safe, scaled elsewhere."""

    def test_plain_squares(self) -> None:
        assert rms_of(np.array([3.0, 4.0])) == float(np.sqrt(12.5))

    @pytest.mark.parametrize("s", [1e-200, 1e200, 1e300])
    def test_squares_that_underflow_or_overflow_are_scaled(self, s: float) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = rms_of(np.array([3.0, 4.0]) * s)
        assert got == pytest.approx(np.sqrt(12.5) * s, rel=1e-15, abs=0)

    def test_the_users_error_settings_do_not_reach_it(self) -> None:
        with np.errstate(all="raise"):
            assert rms_of(np.array([3e-200, 4e-200])) == pytest.approx(
                np.sqrt(12.5) * 1e-200, rel=1e-15, abs=0
            )
            assert rms_of(np.array([3e200, 4e200])) == pytest.approx(np.sqrt(12.5) * 1e200)

    def test_no_entries_zeros_and_non_finite_entries(self) -> None:
        assert rms_of(np.zeros(0)) == 0.0 and rms_of(np.zeros(4)) == 0.0
        assert rms_of(np.array([np.inf, 1.0])) == np.inf
        assert np.isnan(rms_of(np.array([1.0, np.nan])))


class TestNoiseTableExactly:
    def test_huge_differences_are_normalised_as_small_ones(self) -> None:
        values = np.array([0, 1e200, 0, -1e200, 0, 1e200, 0])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = noise_from_table(values)
        d = np.diff(values / 1e200, n=4)  # three fourth differences, of C(8, 4) = 70 each
        assert got == pytest.approx(1e200 * np.sqrt(np.mean(d**2) / 70), rel=1e-14)

    def test_the_rms_of_every_window(self) -> None:
        values = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])  # fourth differences 6, -4
        assert noise_from_table(values) == pytest.approx(np.sqrt((36 + 16) / 2 / 70), rel=1e-15)


class TestNorm2Exactly:
    def test_a_norm_just_below_the_safe_sum_is_scaled(self) -> None:
        v = np.array([3e-150, 4e-150])  # squares 2.5e-299: below NORM2_SQUARES_SAFE²
        assert norm2(v) == pytest.approx(5e-150, rel=1e-15, abs=0)

    def test_a_norm_of_non_finite_entries_is_not_scaled(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert norm2(np.array([np.inf, -np.inf])) == np.inf
            assert np.isnan(norm2(np.array([np.inf, np.nan])))

    def test_a_float32_array_is_normed_in_float64(self) -> None:
        v = np.array([3e30, 4e30], dtype=np.float32)
        assert norm2(v) == pytest.approx(5e30, rel=1e-6)

    def test_float32_values_are_normed_in_float64_arithmetic(self) -> None:
        v = np.array([1.0, 2.0**-13], dtype=np.float32)  # float32: √(1 + 2⁻²⁶) rounds to 1
        assert norm2(v) == math.sqrt(1.0 + 2.0**-26) > 1.0

    def test_the_users_error_settings_do_not_reach_it(self) -> None:
        # squares that underflow or overflow under np.seterr(all="raise"): not raised
        with np.errstate(all="raise"):
            assert norm2(np.array([3e-200, 4e-200])) == pytest.approx(5e-200, rel=1e-15, abs=0)
            assert norm2(np.array([3e200, 4e200])) == pytest.approx(5e200, rel=1e-15)
