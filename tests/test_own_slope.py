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

from gradcheck._own_slope import STEPS, own_slope

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
