"""Step sizes, tolerances and noise estimates: each formula against its known value."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError
from gradcheck._numerics import (
    NOISE_STEP_CAP,
    RTOL,
    Method,
    check_method,
    default_rtol,
    entry_scale,
    noise_from_table,
    noise_steps,
    norm2,
    relative_step,
    rms_of,
    steps,
)


class TestRelativeStep:
    @pytest.mark.parametrize(
        ("method", "power"), [("forward", 1 / 2), ("central", 1 / 3), ("richardson", 1 / 7)]
    )
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_exponent_per_method(self, method: str, power: float, dtype: type) -> None:
        eps = np.finfo(dtype).eps
        assert relative_step(method, dtype) == pytest.approx(eps**power)  # type: ignore[arg-type]


class TestSteps:
    def test_explicit_eps_is_exact(self) -> None:
        assert np.all(steps(np.array([1.0, 1e6]), "central", 1e-7, np.float64) == 1e-7)

    def test_steps_are_representable(self) -> None:
        theta = np.array([0.1, 3.3, 1234.5678])
        h = steps(theta, "central", None, np.float64)
        assert np.all((theta + h) - theta == h)

    @pytest.mark.parametrize("scale", [1e-6, 1.0, 1e4])
    def test_relative_to_the_parameter_scale(self, scale: float) -> None:
        theta = np.array([1.0, -2.0, 0.5]) * scale
        h = steps(theta, "central", None, np.float64)
        assert np.all(h / np.abs(theta) < 1e-4)
        assert np.all(h / np.abs(theta) > 1e-6)

    def test_zero_entry_takes_the_array_scale(self) -> None:
        h = steps(np.array([0.0, 0.5, 0.5]), "central", None, np.float64)
        assert h[0] == pytest.approx(
            relative_step("central", np.float64) * 0.5 * np.sqrt(2 / 3), rel=1e-6
        )

    def test_all_zero_array_uses_one(self) -> None:
        h = steps(np.zeros(3), "forward", None, np.float64)
        assert h == pytest.approx(np.sqrt(np.finfo(float).eps))


class TestTolerances:
    def test_float32_is_looser_than_float64(self) -> None:
        for method in ("central", "forward", "richardson", "complex"):
            assert default_rtol(np.float32, method) > default_rtol(np.float64, method)  # type: ignore[arg-type]

    def test_float64_central_catches_1e_minus_4(self) -> None:
        assert RTOL["float64"]["central"] <= 1e-6

    def test_unknown_method(self) -> None:
        with pytest.raises(GradcheckError, match=r"unknown method 'fast'.*'central'"):
            check_method("fast")


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


class TestEntryScaleAndSteps:
    """The scale of an entry and its step, by the formulas of the module doc."""

    def test_scale_is_the_larger_of_the_entry_and_the_rms(self) -> None:
        assert entry_scale(np.array([0.0, 3.0, -4.0])).tolist() == [
            pytest.approx(np.sqrt(25 / 3)),
            3.0,
            4.0,
        ]
        assert entry_scale(np.array([0.0, 3.0, -4.0]), classic=True).tolist() == [1.0, 3.0, 4.0]

    @pytest.mark.parametrize("s", [1e-320, 1e-300, 1e-170, 1e-160, 1.0, 1e160, 1e200, 1e300])
    def test_the_rms_neither_underflows_nor_overflows(self, s: float) -> None:
        # Σθ² underflows below about 1e-154 (the scale became 1, a step of 6e-6 for an
        # entry of 1e-170) and overflows above about 1e154 (the check was refused)
        mag = np.array([0.0, 3.0, 4.0]) * s
        assert rms_of(mag) == pytest.approx(np.sqrt(25 / 3) * s, rel=1e-6 if s > 1e-300 else 1e-2)
        h = steps(mag * np.array([1, -1, 1]), "central", None, np.float64)
        assert h.tolist() == pytest.approx(
            (relative_step("central", np.float64) * entry_scale(mag)).tolist(), rel=1e-3
        )
        assert entry_scale(mag)[0] == pytest.approx(rms_of(mag))

    @pytest.mark.parametrize("s", [1e-160, 1e-141, 1e-140, 1e-139, 1e-100, 1.0, 1e150, 1e152])
    def test_the_rms_from_plain_squares_is_the_scaled_one(self, s: float) -> None:
        # where Σθ² is trusted (NORM2_SQUARES_SAFE) it is summed as it is; across that
        # border and below it the RMS is the one of the array scaled by its largest
        mag = np.abs(np.random.default_rng(3).standard_normal(10**5)) * s
        top = float(mag.max())
        scaled = top * np.sqrt(float((mag / top) @ (mag / top)) / mag.size)
        assert rms_of(mag) == pytest.approx(scaled, rel=1e-13)

    @pytest.mark.parametrize("mag", [np.zeros(0), np.zeros(3)])
    def test_an_empty_or_zero_array_has_rms_zero(self, mag: np.ndarray) -> None:  # type: ignore[type-arg]
        assert rms_of(mag) == 0.0

    def test_an_empty_parameter_has_no_scales(self) -> None:
        assert entry_scale(np.zeros(0)).shape == (0,)
        assert steps(np.zeros(0), "central", None, np.float64).shape == (0,)

    def test_float32_near_its_largest_value_is_scaled_in_float64(self) -> None:
        theta = np.array([3e19, 4e19], dtype=np.float32)  # Σ θ² overflows float32
        scale = entry_scale(theta)
        assert scale.dtype == np.float64
        assert scale.tolist() == pytest.approx([np.sqrt(12.5e38), 4e19], rel=1e-6)

    def test_the_classic_step_is_relative_to_one_for_small_entries(self) -> None:
        theta = np.array([1e-6])
        classic = steps(theta, "central", None, np.float64, classic=True)
        assert classic[0] == pytest.approx(relative_step("central", np.float64), rel=1e-6)
        assert steps(theta, "central", None, np.float64)[0] == pytest.approx(
            1e-6 * relative_step("central", np.float64), rel=1e-6
        )

    @pytest.mark.parametrize("stored", [np.float32, np.float64])
    def test_steps_are_representable_in_the_working_dtype(self, stored: type) -> None:
        theta = np.array([0.1, 1.0 / 3.0, 7.0, 1234.5678], dtype=stored)
        h = steps(theta, "central", None, np.float32)
        work = theta.astype(np.float32)
        assert ((work + h.astype(np.float32)) - work).astype(np.float64).tolist() == h.tolist()

    def test_complex_steps_are_not_rounded_to_representable_ones(self) -> None:
        theta = np.array([0.1, 1.0 / 3.0, 7.0])
        h = steps(theta, "complex", None, np.float64)
        assert h.tolist() == (relative_step("complex", np.float64) * entry_scale(theta)).tolist()


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


class TestUnknownMethodMessage:
    def test_lists_every_method(self) -> None:
        with pytest.raises(GradcheckError) as info:
            check_method("fast")
        assert str(info.value) == (
            "unknown method 'fast': choose one of 'central', 'forward', 'complex', 'richardson'"
        )


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


class TestNoiseSteps:
    """Steps sized to the measured noise (attack20 A9)."""

    def test_at_the_dtypes_round_off_they_are_the_automatic_steps(self) -> None:
        theta = np.array([0.3, -1.2, 2.0])
        u = float(np.finfo(np.float64).eps)
        scale = float(np.sqrt(np.mean(theta**2)))
        plain = steps(theta, "central", None, np.float64)
        assert np.array_equal(
            noise_steps(theta, "central", np.float64, 0.5 * u * scale, 1.0), plain
        )

    @pytest.mark.parametrize("method", ["central", "forward", "richardson"])
    def test_they_grow_as_the_noise_to_the_methods_power(self, method: Method) -> None:
        theta = np.array([1.0, -1.0])
        h1 = noise_steps(theta, method, np.float64, 1e-12, 1.0)
        h2 = noise_steps(theta, method, np.float64, 1e-9, 1.0)
        power = {"central": 1 / 3, "forward": 1 / 2, "richardson": 1 / 7}[method]
        assert h2 / h1 == pytest.approx(np.full(2, 1e3**power), rel=1e-6)
        assert np.all((theta + h2) - theta == h2)

    def test_capped_at_a_tenth_of_the_scale(self) -> None:
        h = noise_steps(np.array([2.0, -2.0]), "central", np.float64, 1e3, 1.0)
        assert h == pytest.approx(np.full(2, NOISE_STEP_CAP * 2.0))

    def test_no_gradient_scale_gives_the_automatic_steps(self) -> None:
        theta = np.array([1.0, 3.0])
        plain = steps(theta, "central", None, np.float32)
        assert np.array_equal(noise_steps(theta, "central", np.float32, 1.0, 0.0), plain)
