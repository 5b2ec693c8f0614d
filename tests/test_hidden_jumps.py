"""A low-precision stage added to a smooth float64 cost (``gradcheck._hidden_jumps``,
attack34 H131): its jumps at wider steps than float64's are found, and the slope across
its stairs, which float64's steps cannot see, leaves both readings inconclusive."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import _hidden_jumps as jumps
from gradcheck._numerics import HIDDEN_STEP16, JUMP_STEP

Array = np.ndarray[Any, Any]


def _line(cost: Callable[[Array], float], x: Array) -> Callable[[Sequence[Any]], Array]:
    """An evaluator of ``cost`` at ``x`` moved by each point's deltas (one leaf)."""

    def evaluate(points: Sequence[Any]) -> Array:
        out = []
        for point in points:
            moved = x.copy()
            for d in point:
                moved[d.indices] += d.factor * d.values
            out.append(cost(moved))
        return np.array(out)

    return evaluate


def _noise(cost: Callable[[Array], float], x: Array, step: float = JUMP_STEP) -> Any:
    return jumps.jump_noise(_line(cost, x), [x], cost(x), 0, 1e-13, step)


class TestJumpNoise:
    """Only a discontinuity keeps its departure from the table's trend down to a
    sixteenth of the step; a continuous cost's falls with the interval."""

    x = np.random.default_rng(0).standard_normal(20)

    @pytest.mark.parametrize(
        "cost",
        [
            lambda p: float(np.sum(np.sin(3 * p))),  # curvature
            lambda p: float(np.sum(np.abs(p - 1e-4))),  # kinks within the table
            lambda p: float(np.sum(np.exp(-(((p - 0.3) / 1e-4) ** 2)))),  # a narrow bump
        ],
        ids=["smooth", "kinks", "bump"],
    )
    def test_a_continuous_cost_has_none(self, cost: Callable[[Array], float]) -> None:
        assert _noise(cost, self.x) is None

    def test_a_quantiser_added_to_a_smooth_cost_is_no_stage(self) -> None:
        # it jumps at (m + 1/2)/K, no input's rounding midpoint: its derivative 0 is its
        # own (tests/test_stairs.py), not a stage's slope across the stairs
        def cost(p: Array) -> float:
            return float(np.sum(np.sin(p)) + np.sum(np.round(p * 1e3)) / 1e3)

        assert _noise(cost, self.x) is None

    def test_a_table_lookup_is_no_stage(self) -> None:
        # floor((θ + 4)·500) jumps where θ·500 is a whole number: a grid (attack37 look.py)
        table = np.sin(3 * np.linspace(-4, 4, 4001))

        def cost(p: Array) -> float:
            idx = np.clip(np.floor((p + 4) * 500).astype(int), 0, 4000)
            return float(0.5 * np.sum(np.sin(p)) + np.sum(table[idx]))

        assert _noise(cost, self.x) is None

    def test_a_float16_stage_of_an_intermediate_is_a_stage(self) -> None:
        # attack37 H181: it jumps where a·sin θ rounds, no input's midpoint or grid
        a = np.random.default_rng(1).standard_normal(20)

        def cost(p: Array) -> float:
            return float(0.5 * np.sum(np.sin(p)) + np.sum((a * np.sin(p)).astype(np.float16)))

        jump = _noise(cost, self.x)
        assert jump is not None and jump.work == np.float16

    def test_a_float32_stage_jumps_where_an_input_rounds(self) -> None:
        def cost(p: Array) -> float:
            stage = np.sum(np.sin(p.astype(np.float32)), dtype=np.float32)
            return float(np.sum(np.sin(p)) + float(stage))

        jump = _noise(cost, self.x)
        assert jump is not None and jump.work == np.float32 and 0 < jump.sigma < 1e-5

    def test_a_float16_stage_jumps_at_its_own_step(self) -> None:
        # attack34 H131 seed 2: the direction hardly moves the stage at JUMP_STEP
        r = np.random.default_rng(2)
        a, x = r.standard_normal(20), r.standard_normal(20)

        def cost(p: Array) -> float:
            stage = np.sum((a * np.sin(p.astype(np.float16))).astype(np.float16), dtype=np.float16)
            return float(0.5 * np.sum(np.sin(p)) + float(stage))

        assert _noise(cost, x) is None
        jump = _noise(cost, x, HIDDEN_STEP16)
        assert jump is not None and jump.work == np.float16


def _mixed(dtype: Any, seed: int) -> tuple[Callable[[Array], float], Array, Array]:
    r = np.random.default_rng(seed)
    a, x = r.standard_normal(20), r.standard_normal(20)

    def cost(p: Array) -> float:
        stage = np.sum((a * np.sin(p.astype(dtype))).astype(dtype), dtype=dtype)
        return float(0.5 * np.sum(np.sin(p)) + float(stage))

    return cost, x, a


class TestStageAddedToAFloat64Cost:
    """attack34 H131: ``0.5·Σ sin θ + float(float16 Σ a·sin θ₁₆)``. On main the smooth
    gradient (autograd's) failed 3/3 and one missing the whole stage passed 3/3 with a
    bound of 1.2e-5; now both are inconclusive, and a wrong one beyond both fails."""

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_float16_stage(self, seed: int) -> None:
        cost, x, a = _mixed(np.float16, seed)
        right = gradcheck.check(cost, x, lambda p: (0.5 + a) * np.cos(p))
        assert right.status == "inconclusive"
        assert any("float16 stage added to it" in m for m in right.messages)
        assert gradcheck.check(cost, x, lambda p: 0.5 * np.cos(p)).status == "inconclusive"
        assert gradcheck.check(cost, x, lambda p: -(0.5 + a) * np.cos(p)).status == "failed"

    @pytest.mark.parametrize("seed", [0, 1, 3])
    def test_float32_stage(self, seed: int) -> None:
        # main: right F3/3, the stage missing P1 F2
        cost, x, a = _mixed(np.float32, seed)
        assert gradcheck.check(cost, x, lambda p: (0.5 + a) * np.cos(p)).status == "passed"
        assert gradcheck.check(cost, x, lambda p: 0.5 * np.cos(p)).status == "inconclusive"
        assert gradcheck.check(cost, x, lambda p: 2 * (0.5 + a) * np.cos(p)).status == "failed"


def _intermediate(shape: str, seed: int) -> tuple[Callable[[Array], float], Array, Any]:
    """attack37 H181: a float16 cast of an intermediate added to ``0.5·Σ sin θ``, its
    point and the stage's gradient."""
    r = np.random.default_rng(seed)
    a, x = r.standard_normal(20), r.standard_normal(20)
    b = r.standard_normal((20, 20)) / np.sqrt(20)
    f16 = np.float16
    if shape == "mid16":
        return (
            lambda p: float(0.5 * np.sum(np.sin(p)) + np.sum((a * np.sin(p)).astype(f16))),
            x,
            lambda p: a * np.cos(p),
        )
    if shape == "mat16":
        return (
            lambda p: float(0.5 * np.sum(np.sin(p)) + np.sum(np.tanh((b @ p).astype(f16)))),
            x,
            lambda p: b.T @ (1 - np.tanh(b @ p) ** 2),
        )
    return (
        lambda p: float(0.5 * np.sum(np.sin(p)) + 0.1 * np.sum(np.exp(0.3 * p).astype(f16))),
        x,
        lambda p: 0.03 * np.exp(0.3 * p),
    )


class TestStageOfAnIntermediate:
    """attack37 H181: ``(a·sin θ).astype(np.float16)``, ``tanh((B θ).astype(np.float16))``,
    ``exp(0.3θ).astype(np.float16)`` jump where the intermediate rounds, at no input's
    midpoint: on main 11e5eca autograd's gradient failed 3/3 each and one missing the
    stage passed 3/3 with a bound of 2e-7 (its error 0.09 to 4.6); now both are
    inconclusive, and a sign error fails."""

    @pytest.mark.parametrize("seed", [0, 1, 2])
    @pytest.mark.parametrize("shape", ["mid16", "mat16", "exp16"])
    def test_right_and_missing_stage_are_inconclusive(self, shape: str, seed: int) -> None:
        cost, x, stage = _intermediate(shape, seed)
        right = gradcheck.check(cost, x, lambda p: 0.5 * np.cos(p) + stage(p), seed=seed)
        assert right.status == "inconclusive", str(right)
        assert any("float16 stage added to it" in m for m in right.messages)
        drop = gradcheck.check(cost, x, lambda p: 0.5 * np.cos(p), seed=seed)
        assert drop.status == "inconclusive", str(drop)
        flip = gradcheck.check(cost, x, lambda p: -0.5 * np.cos(p) - stage(p), seed=seed)
        assert flip.status == "failed", str(flip)


class TestQuantisedIntermediate:
    """attack37 H214: ``round(tanh(Bθ)·256)/256`` (fake-quantised activations) jumps where
    an intermediate crosses its grid, which no input shows: it reads as a stage, and its
    own derivative (0 across the quantiser) was failed 1/4 by the kink entries re-checked
    nearby at the stage's steps, which span its stairs; they are compared again in
    float64 as the others are (``gradcheck._stairs`` rule 2): inconclusive, never failed
    (main: passed; a quantiser and a stage cannot be told apart)."""

    @pytest.mark.parametrize("seed", [0, 1, 2, 3])
    def test_its_own_derivative_is_not_failed(self, seed: int) -> None:
        r = np.random.default_rng(seed)
        r.standard_normal(20)
        x, b = r.standard_normal(20), r.standard_normal((20, 20)) / np.sqrt(20)

        def cost(p: Array) -> float:
            return float(0.5 * np.sum(np.sin(p)) + np.sum(np.round(np.tanh(b @ p) * 256) / 256))

        own = gradcheck.check(cost, x, lambda p: 0.5 * np.cos(p), seed=seed)
        assert own.status == "inconclusive", str(own)
        wrong = gradcheck.check(cost, x, lambda p: 0.55 * np.cos(p), seed=seed)
        assert wrong.status == "failed", str(wrong)
