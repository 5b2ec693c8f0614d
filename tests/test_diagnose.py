"""Diagnosis of wrong gradients: each mistake is recognised, and only it."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck._diagnose import diagnose

RNG = np.random.default_rng(3)
TRUE = RNG.standard_normal((4, 3))


class TestDiagnose:
    @pytest.mark.parametrize(
        ("factor", "text"),
        [(2.0, "×2 —"), (4.0, "4/m where 1/m"), (0.25, "×1/4"), (1.7, "×1.7 —")],
    )
    def test_factor(self, factor: float, text: str) -> None:
        d = diagnose(factor * TRUE, TRUE)
        assert d.kind == "factor" and d.factor == pytest.approx(factor)
        assert text in d.text

    def test_sign(self) -> None:
        d = diagnose(-TRUE, TRUE)
        assert d.kind == "sign" and d.factor == pytest.approx(-1.0)

    def test_zero(self) -> None:
        assert diagnose(np.zeros_like(TRUE), TRUE).kind == "zero"

    def test_unused_when_the_cost_never_moved(self) -> None:
        d = diagnose(TRUE, np.zeros_like(TRUE))
        assert d.kind == "unused" and "does the cost use it?" in d.text

    def test_both_zero_is_not_unused(self) -> None:
        assert diagnose(np.zeros_like(TRUE), np.zeros_like(TRUE)).kind != "unused"

    def test_square_transpose(self) -> None:
        sq = RNG.standard_normal((3, 3))
        assert diagnose(sq.T, sq).kind == "transpose"

    def test_reshaped_transpose(self) -> None:
        assert diagnose(TRUE.T.reshape(TRUE.shape), TRUE).kind == "transpose"

    def test_swapped(self) -> None:
        other = RNG.standard_normal((4, 3))
        d = diagnose(other, TRUE, {"b2": other})
        assert d.kind == "swapped" and "'b2'" in d.text

    def test_scattered_is_not_called_a_factor(self) -> None:
        wrong = TRUE * (1 + 0.05 * RNG.standard_normal(TRUE.shape))
        assert diagnose(wrong, TRUE).kind == "scattered"
