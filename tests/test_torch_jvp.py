"""``gradcheck._torch_jvp``: forward-mode AD through dual tensors (the batched gradients
are tests/test_torch_forward.py's)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from _torch_cases import unary
from gradcheck._torch_jvp import fold, forward_error, jvp
from gradcheck._torch_rng import RNG_SEED, SeededRng

#: sin with a backward rule and no forward-mode rule.
NoJvp = unary(torch.sin, lambda x, g: g * torch.cos(x))


class BrokenJvp(NoJvp):
    """A ``jvp`` that reads what only ``save_for_backward`` filled: its own bug."""

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("saved tensors were never saved for forward")


class TestFold:
    def test_real(self) -> None:
        out = torch.tensor([1.0, 2.0], dtype=torch.float32)
        w = torch.tensor([3.0, -1.0], dtype=torch.float32)
        got = fold(out, w)
        assert got.dtype == torch.float64 and float(got) == 1.0

    def test_complex_is_re_sum_conj_w_out(self) -> None:
        out = torch.tensor([1 + 2j, 3j], dtype=torch.complex64)
        w = torch.tensor([2 - 1j, 1j], dtype=torch.complex64)
        expected = (np.conj([2 - 1j, 1j]) * np.array([1 + 2j, 3j])).sum().real
        got = fold(out, w)
        assert got.dtype == torch.float64 and float(got) == pytest.approx(expected, abs=0)

    def test_a_dot_product_that_autograd_and_vmap_take(self) -> None:
        """The real fold is one dot product over the flat entries: its gradient is the
        cotangent, it runs under ``torch.func.vmap`` (the batched cost), and a sparse
        output falls back to the product's sum."""
        out = torch.linspace(-1, 1, 12, dtype=torch.float32).reshape(3, 4).requires_grad_()
        w = torch.arange(12, dtype=torch.float64).reshape(3, 4)
        got = fold(out, w)
        assert got.dtype == torch.float64
        value = float(got.detach())
        assert value == pytest.approx(float((out.detach().double() * w).sum()), rel=1e-15)
        (g,) = torch.autograd.grad(got, out)
        assert torch.equal(g, w.float())
        stack = torch.stack([out.detach(), 2 * out.detach()])
        both = torch.func.vmap(lambda o: fold(o, w))(stack)
        assert both.tolist() == pytest.approx([value, 2 * value], rel=1e-15)
        sparse = out.detach().double().to_sparse()
        assert float(fold(sparse, w)) == pytest.approx(value, rel=1e-15)


class TestJvp:
    def test_j_v_of_each_output_asked_for(self) -> None:
        a = torch.tensor([[1.0, 2.0], [0.0, -1.0]], dtype=torch.float64)

        def call(ts: dict[str, torch.Tensor]) -> list[Any]:
            return [a @ ts["x"], ts["x"].sum() * ts["y"], 7.0]

        ts = {"x": torch.tensor([0.5, 2.0], dtype=torch.float64), "y": torch.ones(3)}
        tangents = {"x": torch.tensor([1.0, -1.0]), "y": torch.zeros(3)}
        first, second = jvp(call, ts, tangents, [0, 1], SeededRng(RNG_SEED))
        assert first.tolist() == [-1.0, 1.0]
        assert second.tolist() == [0.0, 0.0, 0.0]

    def test_an_output_that_ignores_the_inputs_has_zero_tangent(self) -> None:
        def call(ts: dict[str, torch.Tensor]) -> list[Any]:
            return [torch.ones(2, dtype=torch.float64)]

        ts = {"x": torch.ones(2, dtype=torch.float64)}
        (out,) = jvp(call, ts, {"x": torch.ones(2)}, [0], SeededRng(RNG_SEED))
        assert out.tolist() == [0.0, 0.0]


class TestForwardError:
    @staticmethod
    def _error(fn: Any) -> Any:
        ts = {"x": torch.linspace(-1, 1, 4, dtype=torch.float64)}
        return forward_error(lambda t: [fn(t["x"])], ts, SeededRng(RNG_SEED))

    def test_none_where_forward_mode_runs(self) -> None:
        assert self._error(torch.sin) is None

    def test_a_function_without_a_jvp_has_no_forward_mode(self) -> None:
        why = self._error(NoJvp.apply)
        assert why is not None and why.missing and why.unable == ""
        assert why.error.startswith("NotImplementedError")

    def test_a_jvp_that_raises_is_its_own_bug(self) -> None:
        why = self._error(BrokenJvp.apply)
        assert why is not None and not why.missing and why.unable == ""
        assert why.error == "RuntimeError: saved tensors were never saved for forward"

    def test_nested_forward_ad_is_unable_not_a_bug(self) -> None:
        def nested(x: torch.Tensor) -> torch.Tensor:
            return torch.func.jvp(torch.sin, (x,), (torch.ones_like(x),))[1]

        why = self._error(nested)
        assert why is not None and not why.missing and "torch cannot nest it" in why.unable
        assert why.error.startswith("RuntimeError: Nested forward mode AD is not supported")

    def test_a_tensor_hook_is_unable_not_a_bug(self) -> None:
        def hooked(x: torch.Tensor) -> torch.Tensor:
            y = x * 1.0
            y.register_hook(lambda g: g)
            return y.sin()

        why = self._error(hooked)
        assert why is not None and not why.missing and "registers a tensor hook" in why.unable
