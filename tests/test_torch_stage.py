"""gradcheck._torch_stage: a float64 function computing a stage in a lower precision.

attack34 H131: ``0.5 Σ sin(x) + Σ a·sin(x)`` with the second term computed in float16
(or bfloat16) from float64 ``x``: at float64 steps that stage is constant, so autograd's
own gradient failed ("the backward (autograd.grad) is wrong", 3/3), and a backward
missing the stage's term could pass. The function is now checked as a model of the
stage's dtype: the formula on its float64 copy (casts kept in float64), autograd's
gradient beside it as that dtype's round-off.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import gradcheck.torch as gt
from gradcheck._torch_stage import Stage, Stages, note

HALF = (torch.float16, torch.bfloat16, torch.float32)


class _Sin(torch.autograd.Function):
    """``sin`` whose backward is times ``factor`` (only below float64: ``half_only``)."""

    factor, half_only = 1.0, False

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        wrong = not _Sin.half_only or g.dtype in HALF
        return g * x.cos() * (_Sin.factor if wrong else 1.0)


def _check(
    dtype: torch.dtype,
    seed: int,
    factor: float | None = None,
    half_only: bool = False,
    **options: Any,
) -> Any:
    """``0.5 Σ sin(x) + Σ a·sin(x)``, the second term computed in ``dtype`` (by autograd,
    or by ``_Sin`` with its backward times ``factor``) from float64 ``x``."""
    torch.manual_seed(seed)
    a = torch.randn(20, dtype=torch.float64)
    x = torch.randn(20, dtype=torch.float64, requires_grad=True)

    def fn(t: torch.Tensor) -> torch.Tensor:
        low = t.to(dtype).sin() if factor is None else _Sin.apply(t.to(dtype))
        return 0.5 * t.sin().sum() + (a.to(dtype) * low).sum().double()

    _Sin.factor, _Sin.half_only = (1.0 if factor is None else factor), half_only
    try:
        return gt.check_function(fn, x, **options)
    finally:
        _Sin.factor, _Sin.half_only = 1.0, False


class TestAStageBelowTheInputs:
    """main: autograd's gradient failed (float16, bfloat16 3/3, float32 1/3); a backward
    without the stage's term passed (float16, bfloat16 3/3)."""

    @pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
    @pytest.mark.parametrize("seed", [0, 1])
    def test_autograds_gradient_passes(self, dtype: torch.dtype, seed: int) -> None:
        report = _check(dtype, seed)
        assert report.status == "passed", str(report)
        name = str(dtype).removeprefix("torch.")
        assert f"fn computes part of its result in {name} (aten::" in str(report)
        assert report.options["user_dtype"] == name

    @pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
    def test_a_right_custom_function_on_the_stage_passes(self, dtype: torch.dtype) -> None:
        assert _check(dtype, 0, 1.0).status == "passed"

    @pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
    @pytest.mark.parametrize("factor", [0.0, 1.05])
    def test_a_wrong_backward_of_the_stage_fails(self, dtype: torch.dtype, factor: float) -> None:
        report = _check(dtype, 0, factor)
        assert report.status == "failed", str(report)

    # acting only below float64, the error is the reference's to see (the float64
    # copy's formula is right); float16's own slope along it is a staircase: unread
    @pytest.mark.parametrize(
        ("dtype", "status"), [(torch.bfloat16, "failed"), (torch.float16, "inconclusive")]
    )
    def test_a_backward_wrong_only_in_the_stage_is_not_passed(
        self, dtype: torch.dtype, status: str
    ) -> None:
        report = _check(dtype, 0, 0.0, half_only=True)
        assert report.status == status, str(report)

    def test_precision_model_keeps_the_inputs_dtype(self) -> None:
        report = _check(torch.bfloat16, 0, precision="model")
        assert report.options["user_dtype"] == "float64"
        assert "fn computes part of its result" not in str(report)


class _StagedModel(nn.Module):
    """A float64 model whose hidden layer adds a tanh computed in ``dtype`` (by ``_Tanh``)."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.l1, self.l2, self.dtype = nn.Linear(6, 8), nn.Linear(8, 3), dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.l1(x)
        return self.l2(0.5 * torch.tanh(h) + _Tanh.apply(h.to(self.dtype)).to(h.dtype))


class _Tanh(torch.autograd.Function):
    """``tanh`` whose backward is times ``factor`` (only below float64: ``half_only``)."""

    factor, half_only = 1.0, False

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        wrong = not _Tanh.half_only or g.dtype in HALF
        return g * (1 - y * y) * (_Tanh.factor if wrong else 1.0)


class TestAModelsStage:
    """check_module on a float64 model with a stage in float16 or bfloat16: main failed
    the right model 3/3 and passed one without the stage's term 3/3."""

    @pytest.mark.parametrize(
        ("dtype", "factor", "half_only", "status"),
        [
            (torch.float16, 1.0, False, "passed"),
            (torch.bfloat16, 1.0, False, "passed"),
            (torch.bfloat16, 0.0, False, "failed"),
            (torch.float16, 0.0, True, "failed"),
        ],
    )
    def test_it_is_checked_as_a_model_of_the_stages_dtype(
        self, dtype: torch.dtype, factor: float, half_only: bool, status: str
    ) -> None:
        torch.manual_seed(0)
        m = _StagedModel(dtype).double()
        x, y = torch.randn(10, 6, dtype=torch.float64), torch.randn(10, 3, dtype=torch.float64)
        _Tanh.factor, _Tanh.half_only = factor, half_only
        try:
            report = gt.check_module(m, lambda mm: ((mm(x) - y) ** 2).mean())
        finally:
            _Tanh.factor, _Tanh.half_only = 1.0, False
        assert report.status == status, str(report)
        name = str(dtype).removeprefix("torch.")
        assert f"the loss computes part of its result in {name}" in str(report)


class TestStages:
    def test_the_least_precise_result_is_found(self) -> None:
        x = torch.ones(3, dtype=torch.float64)
        with Stages() as stages:
            (x.half().sin().double() + x.float().exp().double()).sum()
        assert stages.below([x]) == Stage("float16", "aten::sin", "float64")

    def test_a_constant_or_a_cast_computes_nothing(self) -> None:
        x = torch.ones(3, dtype=torch.float64)
        with Stages() as stages:
            c = torch.tensor(0.1, dtype=torch.float32)  # a factory: no tensor argument
            (x * c).float().double().sum()
        assert stages.below([x]) is None

    def test_a_stage_as_precise_as_the_inputs_is_none(self) -> None:
        x = torch.ones(3, dtype=torch.float64)
        with Stages() as stages:
            (x.sin() * 2).sum()
        assert stages.below([x]) is None

    def test_only_float64_inputs_have_a_stage(self) -> None:
        # a half function's stages are the reference's replay (gradcheck._torch_replay)
        x = torch.ones(3, dtype=torch.float16)
        with Stages() as stages:
            x.bfloat16().sin().half()
        assert stages.below([x]) is None

    def test_the_note_names_the_stage(self) -> None:
        text = note(Stage("bfloat16", "aten::mul", "float64"))
        assert text.startswith(
            "fn computes part of its result in bfloat16 (aten::mul first), below its "
            "float64 inputs: at float64 steps a bfloat16 stage is piecewise constant, so "
            "it is checked as a bfloat16 computation where its float64 copy"
        )
