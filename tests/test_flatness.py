"""Tests for gradcheck._flatness: what exact zeros prove, and the probe of a flat cost."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

import gradcheck
from _deltas import delta_evaluator
from gradcheck import _flatness as flatness
from gradcheck._evaluate import NonFinite
from gradcheck._numerics import SMALLEST
from gradcheck._tolerances import resolution

Array = np.ndarray[Any, Any]
MODES = ("full", "directional")


def _offset_cost(dtype: Any) -> Any:
    """``Σθ + c`` with ``c`` so large that the values' spacing (8 in float32 at 1e8,
    16 in float64 at 1e17) hides the gradient of 1 at every step (lead_z1)."""
    off = dtype(1e8) if dtype == np.float32 else dtype(1e17)
    return lambda p: (np.sum(p) + off).astype(dtype)


class TestTheCostsResolution:
    """core23's exact-zero rule passed a claim of 0 for ``Σθ + 1e8`` (float32) and
    ``Σθ + 1e17`` (float64), whose true gradient is 1: differences of exactly 0 only
    prove ``|g| ≤ R``, the resolution of the values at the steps."""

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_a_zero_claim_hidden_by_the_values_spacing_is_not_passed(
        self, dtype: Any, mode: str, seed: int
    ) -> None:
        x = np.random.default_rng(seed).uniform(-1, 1, 3 + seed).astype(dtype)
        report = gradcheck.check(_offset_cost(dtype), x, np.zeros_like, mode=mode)
        assert report.status == "inconclusive", str(report)
        assert any("cannot be excluded" in m for m in report.messages), str(report)

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @pytest.mark.parametrize("mode", MODES)
    def test_the_right_claim_is_not_failed(self, dtype: Any, mode: str) -> None:
        x = np.array([0.5, -0.3, 0.2], dtype=dtype)
        report = gradcheck.check(_offset_cost(dtype), x, np.ones_like, mode=mode)
        assert report.status != "failed", str(report)

    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("weight", [1.0, 1e-3])
    def test_beside_a_used_parameter_the_resolution_must_meet_its_scale(
        self, mode: str, weight: float
    ) -> None:
        # a's claim 0 hides a gradient of 1 under spacing(1e17) = 16; b is judged fine
        x = {"a": np.array([0.5, -0.3, 0.2]), "b": np.array([1.5, 0.7, 1.2])}

        def cost(p: dict[str, Array]) -> float:
            return float(np.sum(p["a"]) + 1e17 + weight * np.sum(p["b"] ** 2))

        def grad(p: dict[str, Array]) -> dict[str, Array]:
            return {"a": 0 * p["a"], "b": 2 * weight * p["b"]}

        report = gradcheck.check(cost, x, grad, mode=mode)
        assert report.status != "passed", str(report)
        assert report.parameters["a"].status != "passed", str(report)

    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_a_piecewise_constant_part_beside_a_used_parameter_passes(
        self, mode: str, dtype: Any
    ) -> None:
        x = {"a": np.array([0.5, -1.5, 2.5], dtype=dtype), "b": np.array([1.5, 0.7], dtype=dtype)}

        def cost(p: dict[str, Array]) -> Any:
            return np.sum(np.sign(p["a"])) + np.sum(p["b"] ** 2)

        def grad(p: dict[str, Array]) -> dict[str, Array]:
            return {"a": 0 * p["a"], "b": 2 * p["b"]}

        report = gradcheck.check(cost, x, grad, mode=mode)
        assert report.status == "passed", str(report)


_WHOLE_ZERO = {
    "constant": lambda p: 3.0,
    "softmax over one": lambda p: float(np.sum(np.exp(p - p) / np.exp(p - p))),
    "sign": lambda p: float(np.sum(np.sign(p))),
    "floor": lambda p: float(np.sum(np.floor(3 * p))),
    "square at 0": lambda p: float(np.sum(p**2)),
}


class TestAWholeZeroGradient:
    """Where the whole claim is 0 and every difference is exactly 0, the moves of
    :func:`probe_flat` decide: flat, or changing by far more than a gradient within
    the resolution could make (jumps, curvature), passes in both modes."""

    @pytest.mark.parametrize("name", sorted(_WHOLE_ZERO))
    @pytest.mark.parametrize("seed", [0, 1, 2, 3])
    @pytest.mark.parametrize("n", [1, 2, 9])
    def test_a_correct_zero_gradient_passes_in_both_modes(
        self, name: str, seed: int, n: int
    ) -> None:
        # integers + 0.5 ± 0.1: no entry within a step of a jump of sign or floor(3p)
        rng = np.random.default_rng(seed)
        x = rng.integers(-3, 4, n) + 0.5 + rng.uniform(-0.1, 0.1, n)
        if name == "square at 0":
            x = np.zeros(n)
        for mode in MODES:
            report = gradcheck.check(_WHOLE_ZERO[name], x, np.zeros_like, mode=mode)
            assert report.status == "passed", f"{mode}\n{report}"

    @pytest.mark.parametrize("mode", MODES)
    def test_a_flat_cost_says_how_far_it_looked(self, mode: str) -> None:
        report = gradcheck.check(lambda p: 3.0, np.arange(4.0), np.zeros_like, mode=mode)
        said = [*report.messages, report.guarantee.get("text", "")]  # directional: its text
        note = next(m for m in said if "flat" in m)
        assert f"{flatness.RADIUS:.3g}" in note and f"{2 * len(flatness.MOVES)} evaluations" in note

    def test_the_probes_evaluations_are_counted(self) -> None:
        calls = []

        def cost(p: Array) -> float:
            calls.append(1)
            return 3.0

        report = gradcheck.check(cost, np.arange(4.0), np.zeros_like)
        assert report.evaluations == len(calls)
        assert report.evaluations >= 2 * len(flatness.MOVES)

    @pytest.mark.parametrize("mode", MODES)
    def test_a_cost_not_finite_at_a_move_is_inconclusive(self, mode: str) -> None:
        def cost(p: Array) -> float:
            return 1.0 if np.all(np.abs(p) < 5) else float("nan")

        report = gradcheck.check(cost, np.array([0.5, -1.0]), np.zeros_like, mode=mode)
        assert report.status == "inconclusive", str(report)
        assert any("not finite" in m for m in report.messages), str(report)

    @pytest.mark.parametrize("mode", MODES)
    def test_a_wrong_non_zero_claim_still_fails(self, mode: str) -> None:
        x = np.array([0.5, -1.5, 2.5])
        report = gradcheck.check(_WHOLE_ZERO["sign"], x, np.array([0.0, 1e-3, 0.0]), mode=mode)
        assert report.status == "failed", str(report)


class TestProbeFlat:
    """The probe itself: moves, early stop, what it reports."""

    @staticmethod
    def _ev(cost: Any, leaves: list[Array]) -> Any:
        def finite(moved: list[Array]) -> Any:
            value = cost(moved)
            if not np.isfinite(value):
                raise NonFinite("cost returned nan")
            return value

        return delta_evaluator(finite, leaves)

    def test_a_flat_cost_is_probed_at_every_move_both_ways(self) -> None:
        leaves = [np.zeros(3)]
        flat = flatness.probe_flat(
            self._ev(lambda m: 1.0, leaves), [np.ones(3)], 1.0, np.random.default_rng(0), len
        )
        assert flat.changed is None and flat.settled
        assert flat.evaluations == 2 * len(flatness.MOVES) and flat.radius == flatness.RADIUS

    def test_it_stops_at_the_first_move_that_changes_the_cost(self) -> None:
        leaves = [np.zeros(2)]
        cost = lambda m: 1e8 + float(np.sum(m[0]))  # noqa: E731
        flat = flatness.probe_flat(
            self._ev(cost, leaves), [np.ones(2)], 1e8, np.random.default_rng(0), lambda d: 1e3
        )
        assert flat.changed is not None and flat.change > 0
        assert flat.hidden == flat.changed * 1e3 and not flat.settled
        assert flat.evaluations <= 2 * flatness.MOVES.index(flat.changed) + 2

    def test_a_non_finite_value_is_a_change_never_settled(self) -> None:
        leaves = [np.zeros(2)]
        cost = lambda m: 1.0 if np.all(np.abs(m[0]) < 0.5) else float("inf")  # noqa: E731
        flat = flatness.probe_flat(
            self._ev(cost, leaves), [np.ones(2)], 1.0, np.random.default_rng(1), lambda d: 0.0
        )
        assert flat.changed is not None and np.isnan(flat.change) and not flat.settled

    def test_no_user_rng_is_touched(self) -> None:
        np.random.seed(5)
        random.seed(5)
        before = (np.random.get_state()[1].copy(), random.getstate())
        gradcheck.check(lambda p: 3.0, np.arange(4.0), np.zeros_like)
        assert np.array_equal(np.random.get_state()[1], before[0])
        assert random.getstate() == before[1]


def test_resolution_is_twice_the_round_off_over_the_step() -> None:
    assert float(resolution(8.0, 2.0)) == 8.0
    assert float(resolution(0.0, 1.0)) == 2 * SMALLEST  # a cost of 0 still rounds
    assert resolution(np.array([1.0, 2.0]), np.array([1.0, 4.0])).tolist() == [2.0, 1.0]
