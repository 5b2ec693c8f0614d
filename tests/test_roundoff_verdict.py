"""gradcheck._roundoff_verdict: a float32 gradient's difference from float64, reproduced.

attack26 G8: a backward rounding its gradient to bfloat16 only in float32 passed as
"cancellation" (the nudges see rounding redraw, as round-off does); the reference
(the formula computed in float32) tells it apart from the formula's own round-off.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np
import pytest

from gradcheck._evaluate import preserve_rng
from gradcheck._numerics import CANCELLATION
from gradcheck._roundoff_verdict import (
    REPRODUCED,
    SYSTEMATIC,
    Analytic,
    Side,
    judge,
    verdicts,
)

Array = np.ndarray[Any, Any]
U32 = 2.0**-23
G64 = {"w": 1.7 * np.cos(np.linspace(-1.3, 1.1, 7))}  # off every short grid


def _bits(g: Array, k: int) -> Array:
    """``g`` rounded to ``k`` mantissa bits (bfloat16 is 8, float16 11)."""
    m, e = np.frexp(g)
    return np.ldexp(np.round(m * 2.0**k) / 2.0**k, e)


class TestJudge:
    def test_a_reproduced_difference_is_round_off(self) -> None:
        ref = {"w": G64["w"] * (1 + 300 * U32)}  # heavy float32 round-off of the formula
        assert judge(ref, G64, ref, U32, 0.0) == {"w": "reproduced"}

    def test_within_reproduced_round_offs_is_round_off(self) -> None:
        ref = {"w": G64["w"] * (1 + 2 * U32)}
        user = {"w": ref["w"] + 0.9 * REPRODUCED * U32 * np.max(np.abs(G64["w"]))}
        assert judge(user, G64, ref, U32, 0.0) == {"w": "reproduced"}

    @pytest.mark.parametrize("k", [6, 8, 10, 11])
    def test_a_gradient_rounded_to_few_bits_is_systematic(self, k: int) -> None:
        ref = {"w": G64["w"] * (1 + U32)}
        user = {"w": _bits(ref["w"], k)}
        assert judge(user, G64, ref, U32, 0.0) == {"w": "systematic"}

    @pytest.mark.parametrize("k", [14, 16])
    def test_a_small_rounding_is_never_passed(self, k: int) -> None:
        # below CANCELLATION round-offs: a differently computed reference could do it
        ref = {"w": G64["w"] * (1 + U32)}
        user = {"w": _bits(ref["w"], k)}
        assert judge(user, G64, ref, U32, 0.0) == {"w": "unresolved"}

    def test_a_difference_the_reference_shares_is_unresolved(self) -> None:
        # the reference itself far from float64: the user's gradient no farther from it
        ref = {"w": G64["w"] * (1 + 2e-3)}
        user = {"w": G64["w"] * (1 + 4e-3)}
        assert SYSTEMATIC * 4e-3 > 2e-3
        assert judge(user, G64, ref, U32, 0.0) == {"w": "unresolved"}

    def test_round_off_computed_in_another_order_is_round_off(self) -> None:
        # a fused float32 kernel: as far from the reference as the reference is from g64
        ref = {"w": G64["w"] * (1 + 40 * U32)}
        user = {"w": G64["w"] * (1 - 40 * U32)}
        assert judge(user, G64, ref, U32, 0.0) == {"w": "round-off"}

    def test_a_zero_gradient_within_the_floor_is_round_off(self) -> None:
        g64 = {"b": np.zeros(3)}
        user = {"b": np.array([1e-6, -2e-6, 0.0])}
        assert judge(user, g64, {"b": np.zeros(3)}, U32, 1e-5) == {"b": "round-off"}

    def test_reproduced_round_off_of_a_zero_gradient_is_reproduced_whatever_its_size(
        self,
    ) -> None:
        # attack26 G9: a bias before BatchNorm, inputs near 1000: float32 gives 1.4e-5
        g64 = {"b": np.array([1e-17, 0.0, -3e-18])}
        user = {"b": np.array([1.4e-5, -6e-6, 2e-6])}
        assert judge(user, g64, {"b": user["b"].copy()}, U32, 1e-6) == {"b": "reproduced"}
        other = {"b": np.array([-1.4e-5, 6e-6, 2e-6])}  # not reproduced: judged by size
        assert judge(user, g64, other, U32, 1e-6) == {"b": "round-off"}

    def test_the_systematic_bound_is_above_accumulation(self) -> None:
        ref = {"w": G64["w"]}
        user = {"w": G64["w"] * (1 + 0.9 * CANCELLATION * U32)}
        assert judge(user, G64, ref, U32, 0.0) == {"w": "unresolved"}


def _never(kind: str) -> Side:
    raise AssertionError(f"the nudges were not needed (make({kind!r}))")


def _side(gradient: Any, reference: Any) -> Side:
    params = {"w": G64["w"].copy()}
    return Side(params, sum, sum, gradient, nullcontext, "none", "float64", reference)


class TestVerdicts:
    def _user(self, g: Array) -> Analytic:
        return Analytic(1.0, {"w": g}, "float32")

    def test_a_reference_with_another_loss_is_not_used(self) -> None:
        # a 5-round-off difference is not measured: the model side is never built
        ref = _side(lambda p: (1.0, {"w": G64["w"]}), lambda p: (1.5, {"w": G64["w"]}))
        user = self._user(G64["w"] * (1 + 5 * U32))
        with preserve_rng() as rng:
            found = verdicts(_never, ref, G64, user, 0.0, rng)
        assert found.systematic == {} and found.unresolved == {}

    def test_a_raising_reference_falls_back_to_the_nudges(self) -> None:
        def reference(_: Any) -> Any:
            raise RuntimeError("an operation the reference cannot run")

        made: list[str] = []

        def make(kind: str) -> Side:
            made.append(kind)
            return _side(lambda p: (1.0, {"w": 1.05 * np.cos(p["w"])}), None)

        side = Side(
            {"w": G64["w"].copy()},
            sum,
            sum,
            lambda p: (1.0, {"w": np.cos(p["w"])}),
            nullcontext,
            "none",
            "float64",
            reference,
        )
        g64 = {"w": np.cos(G64["w"])}
        with preserve_rng() as rng:
            found = verdicts(make, side, g64, self._user(1.05 * g64["w"]), 0.0, rng)
        assert made == ["model"]
        assert list(found.systematic) == ["w"] and "nudged" in found.systematic["w"]

    def test_a_bfloat16_rounding_is_named(self) -> None:
        ref = G64["w"] * (1 + U32)
        side = _side(lambda p: (1.0, {"w": G64["w"]}), lambda p: (1.0, {"w": ref}))
        with preserve_rng() as rng:
            found = verdicts(_never, side, G64, self._user(_bits(ref, 8)), 0.0, rng)
        assert list(found.systematic) == ["w"]
        assert "bfloat16" in found.systematic["w"] and "same formula" in found.systematic["w"]
