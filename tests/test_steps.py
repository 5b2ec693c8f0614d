"""``gradcheck._steps``: each entry's step, its scale, and steps sized to the noise."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck._norms import rms_of
from gradcheck._numerics import NOISE_STEP_CAP, Method
from gradcheck._steps import check_method, entry_scale, noise_steps, relative_step, steps


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


class TestUnknownMethodMessage:
    def test_lists_every_method(self) -> None:
        with pytest.raises(GradcheckError) as info:
            check_method("fast")
        assert str(info.value) == (
            "unknown method 'fast': choose one of 'central', 'forward', 'complex', 'richardson'"
        )

    def test_unknown_method(self) -> None:
        with pytest.raises(GradcheckError, match=r"unknown method 'fast'.*'central'"):
            check_method("fast")


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


class TestStepsExactly:
    """Each rule's value, not only its size (mutation testing)."""

    def test_relative_steps_per_method_and_dtype(self) -> None:
        assert relative_step("forward", np.float64) == 2.0**-26
        assert relative_step("complex", np.float32) == float((2.0**-23) ** 0.5)
        assert relative_step("central", np.float32) == float((2.0**-23) ** (1 / 3))
        assert relative_step("richardson", np.float64) == float((2.0**-52) ** (1 / 7))

    def test_an_array_of_subnormals_scales_as_its_dtypes_smallest_normal(self) -> None:
        tiny64 = float(np.finfo(np.float64).tiny)
        assert entry_scale(np.array([5e-324, -1e-323])).tolist() == [tiny64, tiny64]
        tiny32 = float(np.finfo(np.float32).tiny)
        sub32 = np.array([1e-45, 0.0], dtype=np.float32)
        assert entry_scale(sub32).tolist() == [tiny32, tiny32]
        assert entry_scale(np.array([0, 0, 0], dtype=np.int64)).tolist() == [1.0, 1.0, 1.0]
        assert entry_scale(np.array([1e-323 + 2j])).tolist() == [tiny64]

    def test_the_scale_is_a_new_array(self) -> None:
        theta = np.array([0.5, 2.0])
        scale = entry_scale(theta)
        scale[0] = 7.0
        assert theta.tolist() == [0.5, 2.0]

    def test_an_explicit_step_is_float64_in_the_parameters_shape(self) -> None:
        h = steps(np.zeros((2, 3), dtype=np.float32), "central", np.float32(0.25), np.float32)
        assert h.dtype == np.float64 and h.shape == (2, 3) and np.all(h == 0.25)


class TestNoiseStepsExactly:
    def test_between_the_automatic_step_and_the_cap(self) -> None:
        theta = np.array([1.0, -1.0])
        h = noise_steps(theta, "central", np.float64, 1e-7, 1.0)
        assert h.tolist() == pytest.approx([1e-7 ** (1 / 3)] * 2, rel=1e-12)
        assert np.all((theta + h) - theta == h)

    def test_relative_to_the_gradient_scale(self) -> None:
        theta = np.array([1.0, -1.0])
        h = noise_steps(theta, "forward", np.float64, 1e-8, 4.0)
        assert h.tolist() == pytest.approx([(1e-8 / 4.0) ** 0.5] * 2, rel=1e-12)

    def test_relative_to_each_entrys_scale(self) -> None:
        theta = np.array([4.0, 0.0])  # scales 4 and rms √8
        h = noise_steps(theta, "forward", np.float64, 1e-6, 1.0)
        s = np.array([4.0, np.sqrt(8.0)])
        assert h.tolist() == pytest.approx((s * np.sqrt(1e-6 / s)).tolist(), rel=1e-12)

    def test_no_noise_or_no_gradient_scale_gives_the_automatic_steps(self) -> None:
        theta = np.array([0.3, -1.2])
        plain = steps(theta, "central", None, np.float64)
        for sigma, g in [(0.0, 1.0), (1e-3, 0.0), (1e-3, float("nan")), (float("nan"), 1.0)]:
            assert noise_steps(theta, "central", np.float64, sigma, g).tolist() == plain.tolist()

    def test_never_below_the_automatic_step(self) -> None:
        theta = np.array([0.3, -1.2])
        plain = steps(theta, "richardson", None, np.float64)
        got = noise_steps(theta, "richardson", np.float64, 1e-300, 1.0)
        assert got.tolist() == plain.tolist()

    def test_never_below_the_working_dtypes_automatic_step(self) -> None:
        theta = np.array([0.3, -1.2])
        plain = steps(theta, "central", None, np.float32)
        assert noise_steps(theta, "central", np.float32, 1e-30, 1.0).tolist() == plain.tolist()

    def test_representable_in_the_working_dtype(self) -> None:
        theta = np.array([0.1, 1.0 / 3.0, 7.0, 1234.5678])  # float64, checked in float32
        h = noise_steps(theta, "central", np.float32, 1e-4, 1.0)
        work = theta.astype(np.float32)
        assert ((work + h.astype(np.float32)) - work).astype(np.float64).tolist() == h.tolist()

    def test_an_infinite_noise_is_capped(self) -> None:
        h = noise_steps(np.array([2.0, -2.0]), "forward", np.float64, float("inf"), 1.0)
        assert h.tolist() == pytest.approx([NOISE_STEP_CAP * 2.0] * 2, rel=1e-14)

    def test_complex_noise_steps_are_not_rounded(self) -> None:
        theta = np.array([0.1, 1.0 / 3.0])
        h = noise_steps(theta, "complex", np.float64, 1e-9, 1.0)
        assert h.tolist() == (entry_scale(theta) * np.sqrt(1e-9 / entry_scale(theta))).tolist()

    def test_a_step_below_the_working_dtypes_resolution_is_kept_as_computed(self) -> None:
        # 1e-8 in float16 is 0 and its step 1e-9 too: no representable step exists, and
        # the step stays the rule's value (neither 0, which would divide by zero, nor NaN)
        h = steps(np.array([1e-8, -1e-8]), "central", None, np.float16)
        assert h.tolist() == [relative_step("central", np.float16) * 1e-8] * 2


def test_noise_steps_at_extreme_ratios_do_not_warn() -> None:
    # sigma / (G * s) overflows to inf (mut27): the step is capped, silently (pytest
    # turns the overflow warning into an error)
    theta = np.array([1e-300, 2e-300])
    h = noise_steps(theta, "central", np.float64, 1e300, 1e-10)
    assert np.all(np.isfinite(h)) and np.all(h > 0)
