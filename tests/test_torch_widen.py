"""The float64 copy computes in float64 whatever tensors the loss brings
(gradcheck._torch_widen; attack25 G1)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import gradcheck.torch as gt
from gradcheck._torch_widen import Widen


class TestWiden:
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
    def test_a_low_precision_target_meets_float64_logits(self, dtype: torch.dtype) -> None:
        x = torch.randn(5, dtype=torch.float64, requires_grad=True)
        y = (torch.rand(5) > 0.5).to(dtype)
        with Widen():
            loss = nn.functional.binary_cross_entropy_with_logits(x, y)
            (g,) = torch.autograd.grad(loss, x)
        assert loss.dtype == torch.float64 and g.dtype == torch.float64
        expected = nn.functional.binary_cross_entropy_with_logits(x, y.double())
        assert torch.equal(loss, expected)
        assert y.dtype == dtype  # the user's tensor itself is not changed

    def test_complex64_becomes_complex128(self) -> None:
        with Widen():
            out = torch.ones(2, dtype=torch.complex128) * torch.tensor(
                [1 / 3j, 1], dtype=torch.complex64
            )
        assert out.dtype == torch.complex128

    def test_other_tensors_and_casts_the_user_wrote_are_left_alone(self) -> None:
        i = torch.arange(3)
        a = torch.ones(2)
        with Widen():
            j = i * 2
            b = torch.ones(2, dtype=torch.float64).float()
            a.add_(1)  # in place on the user's float32 tensor: it lands there
        assert j.dtype == torch.int64 and b.dtype == torch.float32
        assert a.dtype == torch.float32 and a.tolist() == [2.0, 2.0]


def _tanh(factor: float) -> Any:
    class Tanh(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
            y = torch.tanh(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
            (y,) = ctx.saved_tensors
            return g * (1 - y * y) * factor

    return Tanh


class TestFloat32TensorsInTheLoss:
    """attack25 G1 (g03_bce_f32target.py, g17_checkfn_f32closure.py): a float32 target
    or captured weight left the float64 copy's loss float32, its differences float32,
    and a x1.002 backward (in every dtype) passed."""

    @pytest.mark.parametrize("factor", [1.0, 1.002])
    @pytest.mark.parametrize("seed", [0, 1])
    def test_check_module_with_a_float32_target(self, factor: float, seed: int) -> None:
        tanh = _tanh(factor)

        class M(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.l1, self.l2 = nn.Linear(8, 16), nn.Linear(16, 1)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.l2(tanh.apply(self.l1(x)))

        torch.manual_seed(seed)
        m, x, y = M(), torch.randn(64, 8), (torch.rand(64, 1) > 0.5).float()
        report = gt.check_module(
            m, lambda mm: nn.functional.binary_cross_entropy_with_logits(mm(x), y)
        )
        assert report.status == ("passed" if factor == 1.0 else "failed"), str(report)
        assert report.options["route"] == "float64"
        assert y.dtype == torch.float32

    @pytest.mark.parametrize("factor", [1.0, 1.002])
    def test_check_function_with_captured_float32_tensors(self, factor: float) -> None:
        tanh = _tanh(factor)
        torch.manual_seed(2)
        x = torch.randn(64, 8, requires_grad=True)
        w, y = torch.randn(8, 1), (torch.rand(64, 1) > 0.5).float()

        def fn(t: torch.Tensor) -> torch.Tensor:
            return nn.functional.binary_cross_entropy_with_logits(tanh.apply(t) @ w, y)

        report = gt.check_function(fn, x, modes=("rev",))
        assert report.status == ("passed" if factor == 1.0 else "failed"), str(report)
        assert report.options["route"] == "float64"
        assert not any("could not be used" in m for m in report.messages)
