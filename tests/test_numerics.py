"""Step sizes, tolerances and noise estimates: each formula against its known value."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck._numerics import (
    RTOL,
    check_method,
    default_rtol,
    noise_from_table,
    relative_step,
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
