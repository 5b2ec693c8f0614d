"""``gradcheck._numerics``: the defaults themselves (each method's step exponent, the
tolerance table), read through the functions that use them."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck._numerics import RTOL
from gradcheck._steps import relative_step
from gradcheck._tolerances import default_rtol


class TestRelativeStep:
    @pytest.mark.parametrize(
        ("method", "power"),
        [("forward", 1 / 2), ("central", 1 / 3), ("richardson", 1 / 7), ("complex", 1 / 2)],
    )
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_exponent_per_method(self, method: str, power: float, dtype: type) -> None:
        eps = np.finfo(dtype).eps
        assert relative_step(method, dtype) == pytest.approx(eps**power)  # type: ignore[arg-type]


class TestTolerances:
    def test_float32_is_looser_than_float64(self) -> None:
        for method in ("central", "forward", "richardson", "complex"):
            assert default_rtol(np.float32, method) > default_rtol(np.float64, method)  # type: ignore[arg-type]

    def test_float64_central_catches_1e_minus_4(self) -> None:
        assert RTOL["float64"]["central"] <= 1e-6
