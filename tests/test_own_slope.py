"""gradcheck._own_slope and the float64 route's use of it (gradcheck._adapter_verdicts).

attack26 H19 / H30 (false failures): a right float32 loss that clamps at
``finfo(x.dtype).eps`` computes another function in float32 than its float64 copy;
its float32 gradient (autograd's exact gradient of the float32 loss) failed 2/2
(torch) and 3/3 (JAX) with "a hook or backward acting only in float32".
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import pytest

from gradcheck._own_slope import AGREE, NEAR, STAIRS, STEPS, _Gap, _read, _reading, own_slope

Array = np.ndarray[Any, Any]


def _square(p: dict[str, Array]) -> float:
    return float(np.sum(p["w"].astype(np.float64) ** 2))


THETA = {"w": np.array([1.0, -2.0, 0.5], dtype=np.float32)}
RIGHT = {"w": 2 * THETA["w"].astype(np.float64)}


def _other(p: dict[str, Array]) -> float:
    """``_square`` plus ``0.15 · w[1]``: another function (a dtype-dependent loss)."""
    return _square(p) + 0.15 * float(p["w"][1])


class TestOwnSlope:
    def test_a_float32_only_backward_has_the_formulas_slope(self) -> None:
        wrong = {"w": RIGHT["w"] * (1 + 2.0**-10)}
        got = own_slope(_square, _square, THETA, wrong, RIGHT, ["w"])
        assert got == {"w": "formula"}

    def test_a_dtype_dependent_loss_has_the_users_slope(self) -> None:
        own = {"w": RIGHT["w"] + np.array([0.0, 0.15, 0.0])}
        assert own_slope(_other, _square, THETA, own, RIGHT, ["w"]) == {"w": "own"}

    def test_halfway_is_unresolved(self) -> None:
        half = {"w": RIGHT["w"] + np.array([0.0, 0.3, 0.0])}
        assert own_slope(_other, _square, THETA, half, RIGHT, ["w"]) == {"w": "unresolved"}

    def test_a_loss_too_noisy_at_every_step_is_unresolved(self) -> None:
        draws = np.random.default_rng(0)

        def noisy(p: dict[str, Array]) -> float:
            return _square(p) + float(draws.standard_normal())

        wrong = {"w": RIGHT["w"] * (1 + 2.0**-8)}
        got = own_slope(noisy, _square, THETA, wrong, RIGHT, ["w"])
        assert got == {"w": "unresolved"}

    def test_a_stages_stairs_are_not_read(self) -> None:
        # a float64 loss with a float16 term, its backward x1.05 only in float16: steps
        # below the stairs read -1/0.05 on both sides, and were unresolved (trust35)
        draws = np.random.default_rng(0)
        theta = {"w": draws.standard_normal(20)}
        a = draws.standard_normal(20)

        def staged(p: dict[str, Array]) -> float:
            low = np.sin(p["w"].astype(np.float16)).astype(np.float64)
            return float(np.sum(0.5 * np.sin(p["w"]) + a.astype(np.float16) * low))

        def wide(p: dict[str, Array]) -> float:
            return float(np.sum(0.5 * np.sin(p["w"]) + a.astype(np.float16) * np.sin(p["w"])))

        stage = a.astype(np.float16) * np.cos(theta["w"])
        g64 = {"w": 0.5 * np.cos(theta["w"]) + stage}
        wrong = {"w": g64["w"] + 0.05 * stage}
        args = (staged, wide, theta, wrong, g64, ["w"])
        assert own_slope(*args) == {"w": "unresolved"}
        assert own_slope(*args, stairs=2.0**-10) == {"w": "formula"}
        assert STAIRS * 2.0**-10 * np.sqrt(20) > STEPS[-4]  # 2^-12 is below them

    def test_a_raising_loss_is_unresolved(self) -> None:
        def raising(p: dict[str, Array]) -> float:
            raise ValueError("off the domain")

        wrong = {"w": RIGHT["w"] * 1.01}
        got = own_slope(raising, _square, THETA, wrong, RIGHT, ["w"])
        assert got == {"w": "unresolved"}

    def test_no_difference_is_the_formula(self) -> None:
        assert own_slope(_square, _square, THETA, RIGHT, RIGHT, ["w"]) == {"w": "formula"}

    @pytest.mark.parametrize("convention", ["conjugate", "plain"])
    def test_complex_parameters_in_either_convention(self, convention: str) -> None:
        z = {"z": np.array([1 + 2j, -0.5j], dtype=np.complex64)}

        def energy(p: dict[str, Array]) -> float:
            return float(np.sum(np.abs(p["z"].astype(np.complex128)) ** 2))

        def shifted(p: dict[str, Array]) -> float:  # + 0.2 · Im z[0]
            return energy(p) + 0.2 * float(p["z"][0].imag)

        g = 2 * z["z"].astype(np.complex128)  # ∂x + i ∂y
        g = g if convention == "conjugate" else g.conj()
        bump = 0.2j if convention == "conjugate" else -0.2j
        right, own = {"z": g}, {"z": g + np.array([bump, 0])}
        assert own_slope(shifted, energy, z, own, right, ["z"], convention) == {"z": "own"}
        wrong = {"z": g * (1 + 2.0**-9)}
        got = own_slope(energy, energy, z, wrong, right, ["z"], convention)
        assert got == {"z": "formula"}

    def test_steps_are_a_factor_of_four_apart(self) -> None:
        assert STEPS[0] == 4.0 and STEPS[-1] == 2.0**-18
        assert all(a == 4 * b for a, b in pairwise(STEPS))


class TestTheLadder:
    """:func:`_read` and :func:`_reading`, each bound met exactly (mutation testing)."""

    def test_the_first_two_adjacent_readings_that_agree_decide(self) -> None:
        assert _read([0.0, 0.9, 0.95, 0.0]) == "own"
        assert _read([0.9, 0.0, 0.05, 0.95]) == "formula"
        assert _read([0.5, 0.55, 0.0, 0.0]) == "unresolved"

    def test_readings_that_cannot_be_read_are_passed_over(self) -> None:
        nan = float("nan")
        assert _read([nan, 0.1, 0.1]) == "formula"
        assert _read([0.1, nan, 1.0, 1.0]) == "own"
        assert _read([nan, nan]) == "unresolved"
        assert _read([float("inf"), float("inf"), 1.0]) == "unresolved"

    def test_no_two_agreeing_is_unresolved(self) -> None:
        assert _read([0.0, 0.5, 1.0]) == "unresolved"
        assert _read([0.0]) == "unresolved"
        assert _read([]) == "unresolved"

    def test_readings_exactly_agree_apart_agree(self) -> None:
        assert _read([0.0, AGREE]) == "formula"
        assert _read([0.0, AGREE + 2.0**-20, AGREE + 2.0**-19]) == "formula"
        assert _read([1.0, 1.0 - AGREE]) == "own"

    def test_readings_exactly_near_of_zero_or_one(self) -> None:
        assert _read([NEAR, NEAR]) == "formula"
        assert _read([-NEAR, -NEAR]) == "formula"
        assert _read([NEAR + 2.0**-20, NEAR + 2.0**-20]) == "unresolved"
        assert _read([1 - NEAR, 1 - NEAR]) == "own"
        assert _read([1 + NEAR, 1 + NEAR]) == "own"
        assert _read([1 + NEAR + 2.0**-20, 1 + NEAR + 2.0**-20]) == "unresolved"

    def test_one_sided_slopes_exactly_agree_apart_are_averaged(self) -> None:
        # L − L64 = k·max(s, 0) along d: one-sided slopes k and 0
        params = {"w": np.array([0.0, 0.0])}
        d = np.array([1.0, 0.0])

        def gap(k: float) -> Any:
            return _Gap(lambda p: k * max(float(p["w"][0]), 0.0), lambda p: 0.0, params)

        assert _reading(gap(AGREE), "w", d, 0.5, 0.0) == AGREE / 2
        assert _reading(gap(AGREE), "w", d, 1.0, 0.0) == AGREE / 2  # a move of exactly 1
        got = _reading(gap(AGREE * (1 + 2.0**-20)), "w", d, 0.5, 0.0)
        assert np.isnan(got)

    def test_the_move_of_a_float32_parameter_is_measured_exactly(self) -> None:
        # θ₀ = 1e-3 moved by 3: the float32 point minus θ₀ is exact in float64 only; a
        # one-sided slope AGREE up and 0 down reads AGREE/2 exactly
        params = {"w": np.array([1e-3, 2.0], dtype=np.float32)}
        theta0 = float(params["w"][0])
        gap = _Gap(lambda p: AGREE * max(float(p["w"][0]) - theta0, 0.0), lambda p: 0.0, params)
        point = np.float32(np.float32(1e-3) + 3.0)
        assert float(point - params["w"][0]) != float(point) - theta0
        assert _reading(gap, "w", np.array([1.0, 0.0]), 3.0, 0.0) == AGREE / 2

    def test_a_step_too_small_to_move_the_parameter_reads_nothing(self) -> None:
        params = {"w": np.array([1.0, 2.0], dtype=np.float32)}
        gap = _Gap(_square, _square, params)
        assert np.isnan(_reading(gap, "w", np.array([1.0, 0.0]), 1e-12, 0.0))
        assert _reading(gap, "w", np.array([1.0, 0.0]), 2.0**-10, 0.0) == 0.0

    def test_a_raising_step_reads_nothing(self) -> None:
        def loss(p: dict[str, Array]) -> float:
            if float(p["w"][0]) < 1.0:
                raise ValueError("off the domain")
            return _square(p)

        gap = _Gap(loss, _square, {"w": np.array([1.0, 2.0])})
        assert np.isnan(_reading(gap, "w", np.array([1.0, 0.0]), 0.25, 0.0))


class TestOwnSlopeEdges:
    def test_a_loss_raising_at_the_parameters_leaves_every_name_unresolved(self) -> None:
        def raising(p: dict[str, Array]) -> float:
            raise ValueError("off the domain")

        theta = {"a": np.array([1.0], dtype=np.float32), **THETA}
        user = {"a": np.array([2.0]), "w": RIGHT["w"] * 1.01}
        g64 = {"a": np.array([2.0]), "w": RIGHT["w"]}
        got = own_slope(raising, _square, theta, user, g64, ["a", "w"])
        assert got == {"a": "unresolved", "w": "unresolved"}

    def test_the_gap_at_the_parameters_is_read_once(self) -> None:
        calls: list[int] = []

        def counted(p: dict[str, Array]) -> float:
            calls.append(1)
            return _square(p)

        theta = {"a": np.array([1.0, 3.0], dtype=np.float32), **THETA}
        user = {"a": np.array([2.0, 6.5]), "w": RIGHT["w"] * 1.01}
        g64 = {"a": np.array([2.0, 6.0]), "w": RIGHT["w"]}
        got = own_slope(counted, _square, theta, user, g64, ["a", "w"])
        assert got == {"a": "formula", "w": "formula"}
        assert len(calls) == 1 + 2 * 2 * len(STEPS)

    def test_a_parameter_of_zeros_steps_by_its_unit_scale(self) -> None:
        # L − L64 = 0.6·w[1] only while |w[1]| < 2⁻¹⁵: the two smallest steps of a
        # scale of 1 (2⁻¹⁸, 2⁻¹⁶) stay inside and read the user's slope; of a scale
        # of 2, the second would not
        def other(p: dict[str, Array]) -> float:
            w1 = float(p["w"][1])
            return _square(p) + (0.6 * w1 if abs(w1) < 2.0**-15 else 0.0)

        zeros = {"w": np.zeros(3, dtype=np.float32)}
        own = {"w": np.array([0.0, 0.6, 0.0])}
        assert own_slope(other, _square, zeros, own, {"w": np.zeros(3)}, ["w"]) == {"w": "own"}

    def test_the_steps_are_relative_to_a_scale_below_one(self) -> None:
        # scale 2⁻⁴: the two smallest steps (2⁻²², 2⁻²⁰) stay within 2⁻¹⁹ of θ₁, where
        # L − L64 = 0.6·(w₁ − θ₁); steps relative to 1 would not
        theta = np.array([0.0, 2.0**-4], dtype=np.float32)

        def other(p: dict[str, Array]) -> float:
            moved = float(p["w"][1]) - float(theta[1])
            return _square(p) + (0.6 * moved if abs(moved) < 2.0**-19 else 0.0)

        g64 = {"w": 2 * theta.astype(np.float64)}
        own = {"w": g64["w"] + np.array([0.0, 0.6])}
        assert own_slope(other, _square, {"w": theta}, own, g64, ["w"]) == {"w": "own"}

    def test_a_real_parameter_in_the_plain_convention(self) -> None:
        own = {"w": RIGHT["w"] + np.array([0.0, 0.15, 0.0])}
        assert own_slope(_other, _square, THETA, own, RIGHT, ["w"], "plain") == {"w": "own"}

    @pytest.mark.parametrize("part", ["real", "imag"])
    def test_a_complex_parameter_moved_in_both_parts(self, part: str) -> None:
        # a loss 0.2·(Re z₀)² (or (Im z₀)²) beside the copy's: the steps move z₀'s real
        # and imaginary parts as the difference does, each from its own value
        z = {"z": np.array([1 + 2j, -0.5j], dtype=np.complex64)}

        def energy(p: dict[str, Array]) -> float:
            return float(np.sum(np.abs(p["z"].astype(np.complex128)) ** 2))

        def other(p: dict[str, Array]) -> float:
            z0 = complex(p["z"][0])
            return energy(p) + 0.2 * (z0.real if part == "real" else z0.imag) ** 2

        g = 2 * z["z"].astype(np.complex128)
        bump = 0.4 if part == "real" else 0.8j  # ∂x + i ∂y of the extra term at z₀
        own = {"z": g + np.array([bump, 0])}
        assert own_slope(other, energy, z, own, {"z": g}, ["z"]) == {"z": "own"}


class TestTorchDtypeDependentLoss:
    """H19: before, failed 2/2 naming a float32-only hook or backward."""

    @staticmethod
    def _model() -> tuple[Any, Any]:
        torch = pytest.importorskip("torch")

        class Sq(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.w = torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0, 1e-3]))

            def forward(self, x: Any) -> Any:
                v = (self.w * x) ** 2  # the last entry ~1e-8, below float32's eps
                return torch.sqrt(v.clamp(min=torch.finfo(v.dtype).eps)).sum()

        return Sq(), torch

    @pytest.mark.parametrize("seed", [0, 1])
    def test_a_finfo_eps_clamp_is_inconclusive_with_the_reason(self, seed: int) -> None:
        import gradcheck.torch as gt

        m, torch = self._model()
        gen = torch.Generator().manual_seed(seed)
        x = torch.tensor([0.5, -0.3, 0.7, 0.1]) + 0.01 * torch.randn(4, generator=gen)
        report = gt.check_module(m, lambda mm: mm(x))
        assert report.status == "inconclusive", str(report)
        assert report.parameters["w"].status == "inconclusive"
        note = next(n for n in report.messages if n.startswith("w: the float32 gradient"))
        assert "computes another function in float32" in note
        assert "hook or backward acting only" not in str(report)
        model = gt.check_module(m, lambda mm: mm(x), precision="model")
        assert model.status != "failed", str(model)


def test_a_jax_finfo_eps_clamp_is_inconclusive() -> None:
    jnp = pytest.importorskip("jax.numpy")
    import gradcheck.jax as gj

    x = jnp.asarray([0.5, -0.3, 0.7, 0.1], jnp.float32)

    def f(p: Any) -> Any:
        v = (p["w"] * x) ** 2
        return jnp.sum(jnp.sqrt(jnp.maximum(v, jnp.finfo(v.dtype).eps)))

    report = gj.check(f, {"w": jnp.asarray([1.0, 2.0, 3.0, 1e-3], jnp.float32)})
    assert report.status == "inconclusive", str(report)
    assert any("computes another function in float32" in n for n in report.messages)
