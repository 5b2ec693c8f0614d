"""gradcheck._adapter_roundoff: a float32-vs-float64 difference measured as round-off or not.

Attack 20 A12: a hook or a dtype-specific backward 1-5% off passed as "cancellation";
a saturated tanh's few percent of real round-off must still be told apart from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck._adapter_roundoff import Probe, measure
from gradcheck._numerics import CANCELLATION

Array = np.ndarray[Any, Any]
U32 = 2.0**-23


#: attack21 B4's input (``torch.manual_seed(3); torch.randn(5)``): ``cos`` is flat near
#: its largest entries, so no nudge up to the entries' scale moves ``g`` by 16 ``|d|``.
FLAT = np.array([0.8033, 0.1748, 0.0890, -0.6137, 0.0462], np.float32)


def _sin(scale: float, offset: float = 0.0, w: Array | None = None) -> Probe:
    """``g = cos(w)``; the user's dtype computes ``scale·g + offset`` (code, not round-off)."""
    w = np.linspace(-1.3, 1.1, 6).astype(np.float32) if w is None else w

    def user(p: dict[str, Array]) -> dict[str, Array]:
        return {"w": scale * np.cos(p["w"].astype(np.float64)) + offset}

    def wide(p: dict[str, Array]) -> dict[str, Array]:
        return {"w": np.cos(p["w"].astype(np.float64))}

    return Probe(user, wide, {"w": w})


def _d0(probe: Probe) -> dict[str, Array]:
    user, wide = probe.user(probe.params), probe.wide(probe.params)
    return {n: user[n] - wide[n] for n in user}


class TestSystematic:
    @pytest.mark.parametrize("scale", [1.01, 1.03, 1.05, 0.98])
    def test_a_scaled_gradient_is_systematic(self, scale: float) -> None:
        probe = _sin(scale)
        assert measure(probe, _d0(probe)) == {"w": "systematic"}

    @pytest.mark.parametrize("offset", [1e-3, -2e-2])
    def test_a_constant_offset_is_systematic(self, offset: float) -> None:
        probe = _sin(1.0, offset)
        assert measure(probe, _d0(probe)) == {"w": "systematic"}

    @pytest.mark.parametrize("scale", [1.02, 1.05, 1.08, 1.099, 0.97, 0.92])
    def test_a_scaled_flat_gradient_is_systematic(self, scale: float) -> None:
        # attack21 B4: the whole parameter never moved by 16 |d|, so it was unmeasured
        probe = _sin(scale, w=FLAT)
        assert measure(probe, _d0(probe)) == {"w": "systematic"}

    @pytest.mark.parametrize("seed", range(8))
    @pytest.mark.parametrize("size", [5, 20])
    def test_a_scaled_gradient_near_zero_is_systematic(self, seed: int, size: int) -> None:
        draw = np.random.default_rng(seed)
        w = (draw.uniform(0.2, 0.8) * draw.normal(size=size)).astype(np.float32)
        probe = _sin(1.05, w=w)
        assert measure(probe, _d0(probe)) == {"w": "systematic"}

    @pytest.mark.parametrize("seed", [0, 1, 7])
    def test_the_verdict_does_not_depend_on_the_nudges_seed(self, seed: int) -> None:
        probe = _sin(1.02)
        assert measure(probe, _d0(probe), seed=seed) == {"w": "systematic"}


def _tanh_probe(pre: Array, x: Array) -> Probe:
    """``d/dW Σ tanh(W x)`` for ``W x = pre``: float32 round-off of ``1 − tanh²``."""
    w = (np.outer(pre, x) / float(x @ x)).astype(np.float32)

    def grad(p: dict[str, Array], dtype: Any) -> dict[str, Array]:
        t = np.tanh(p["w"].astype(dtype) @ x.astype(dtype))
        return {"w": np.outer(1 - t * t, x.astype(dtype)).astype(np.float64)}

    return Probe(lambda p: grad(p, np.float32), lambda p: grad(p, np.float64), {"w": w})


class TestRoundOff:
    @pytest.mark.parametrize("rows", [1, 3])
    @pytest.mark.parametrize("seed", range(6))
    def test_saturated_tanh_round_off_is_round_off(self, rows: int, seed: int) -> None:
        draw = np.random.default_rng(seed)
        probe = _tanh_probe(draw.uniform(6.0, 8.0, rows), draw.normal(size=4))
        d0 = _d0(probe)
        figure = np.max(np.abs(d0["w"])) / np.max(np.abs(probe.wide(probe.params)["w"]))
        assert figure > CANCELLATION * U32  # heavy cancellation: the probe runs
        assert measure(probe, d0) == {"w": "round-off"}

    @pytest.mark.parametrize("seed", [47, 92, 370, 396, 788, 1100])
    def test_round_off_the_old_rule_called_systematic(self, seed: int) -> None:
        # 47: g32 of one row frozen (quantised) while g64 moved 16 |d|; the others: a
        # saturated row that did not move beside a row that moved the parameter's top
        draw = np.random.default_rng(seed)
        rows = int(draw.integers(1, 4))
        probe = _tanh_probe(draw.uniform(4.0, 9.0, rows), draw.normal(size=4))
        d0 = _d0(probe)
        figure = np.max(np.abs(d0["w"])) / np.max(np.abs(probe.wide(probe.params)["w"]))
        assert CANCELLATION * U32 < figure < 0.1
        assert measure(probe, d0) == {"w": "round-off"}

    @pytest.mark.parametrize("step", [0.1, 0.01])
    def test_a_quantised_gradient_that_does_not_move_is_round_off(self, step: float) -> None:
        # a float32 value that moves in coarse steps (1 − tanh² near 1): at nudges
        # smaller than a step g32 stays put while g64 moves, a "scaling" by exactly −1
        w = np.arccos(np.array([0.5, 0.3, -0.2, 0.7])).astype(np.float32)

        def user(p: dict[str, Array]) -> dict[str, Array]:
            return {"w": np.round(np.cos(p["w"].astype(np.float64)) / step) * step}

        probe = Probe(user, _sin(1.0).wide, {"w": w})
        d0 = _d0(probe)
        assert 0 < np.max(np.abs(d0["w"])) < 1e-6
        assert measure(probe, d0) == {"w": "round-off"}

    def test_a_user_dtype_hook_on_top_of_heavy_round_off_is_not_called_systematic(self) -> None:
        # the same tanh with a 1.001 scaling: the round-off (several percent) swamps it
        probe = _tanh_probe(np.array([7.5]), np.array([1.0, -0.5, 0.3, 2.0]))
        user = probe.user
        scaled = Probe(lambda p: {"w": 1.001 * user(p)["w"]}, probe.wide, probe.params)
        assert measure(scaled, _d0(scaled)) == {"w": "round-off"}


class TestUnmeasured:
    def test_a_gradient_that_never_moves_is_not_measured(self) -> None:
        def user(p: dict[str, Array]) -> dict[str, Array]:
            return {"w": np.full(p["w"].shape, 1.01)}

        def wide(p: dict[str, Array]) -> dict[str, Array]:
            return {"w": np.ones(p["w"].shape)}

        probe = Probe(user, wide, {"w": np.ones(3, np.float32)})
        assert measure(probe, _d0(probe)) == {"w": "unmeasured"}

    def test_a_failing_evaluation_is_left_to_the_caller(self) -> None:
        probe = _sin(1.05)
        calls = []

        def wide(p: dict[str, Array]) -> dict[str, Array]:
            calls.append(1)
            if len(calls) > 1:
                raise FloatingPointError("overflow at a nudged point")
            return probe.wide(p)

        broken = Probe(probe.user, wide, probe.params)
        with pytest.raises(FloatingPointError, match="overflow at a nudged point"):
            measure(broken, _d0(probe))

    def test_no_global_rng_is_used(self) -> None:
        state = np.random.get_state()
        probe = _sin(1.05)
        measure(probe, _d0(probe))
        after = np.random.get_state()
        assert state[0] == after[0] and np.array_equal(state[1], after[1])
