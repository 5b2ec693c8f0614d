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
    # copy's formula is right); float16's own slope along it is read at steps across
    # the stage's stairs only (trust35: below them it read -20, and was inconclusive)
    @pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
    def test_a_backward_wrong_only_in_the_stage_fails(self, dtype: torch.dtype) -> None:
        report = _check(dtype, 0, 0.0, half_only=True)
        assert report.status == "failed", str(report)

    def test_precision_model_keeps_the_inputs_dtype(self) -> None:
        report = _check(torch.bfloat16, 0, precision="model")
        assert report.options["user_dtype"] == "float64"
        assert "fn computes part of its result" not in str(report)


class _CastSin(torch.autograd.Function):
    """``sin`` computed in the ``dtype`` the forward is given, its backward casting to it
    itself (``cos`` in that dtype too), times ``factor`` (only where that is below
    float64: ``half_only``)."""

    factor, half_only = 1.0, False

    @staticmethod
    def forward(ctx: Any, t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        ctx.save_for_backward(t)
        ctx.dtype = dtype
        return t.to(dtype).sin()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        (t,) = ctx.saved_tensors
        c = t.to(ctx.dtype).cos()
        wrong = not _CastSin.half_only or c.dtype in HALF
        return (g * c * (_CastSin.factor if wrong else 1.0)).to(t.dtype), None


def _cast_check(dtype: torch.dtype, seed: int, factor: float, half_only: bool = False) -> Any:
    """``0.5 Σ sin(x) + Σ a·sin(x)``, the second term by ``_CastSin`` in ``dtype``."""
    torch.manual_seed(seed)
    a = torch.randn(20, dtype=torch.float64)
    x = torch.randn(20, dtype=torch.float64, requires_grad=True)

    def fn(t: torch.Tensor) -> torch.Tensor:
        return 0.5 * t.sin().sum() + (a.to(dtype) * _CastSin.apply(t, dtype)).sum().double()

    _CastSin.factor, _CastSin.half_only = factor, half_only
    try:
        return gt.check_function(fn, x)
    finally:
        _CastSin.factor, _CastSin.half_only = 1.0, False


class TestABackwardThatCastsItself:
    """attack36 on H131's fix (trust35): a custom Function whose backward casts to the
    stage's dtype itself (``t.to(ctx.dtype).cos()``) ran that cast on the float64 copy too
    (autograd runs a backward outside any TorchFunctionMode), so the copy's "float64"
    formula was float16's, and the right Function failed (float16, bfloat16 3/3 each).
    Its backward now runs under the copy's widening (``_torch_widen.backwards``)."""

    @pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
    @pytest.mark.parametrize("seed", [0, 1])
    def test_the_right_function_passes(self, dtype: torch.dtype, seed: int) -> None:
        report = _cast_check(dtype, seed, 1.0)
        assert report.status == "passed", str(report)

    @pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
    @pytest.mark.parametrize(("factor", "half_only"), [(1.05, False), (0.0, False), (1.05, True)])
    def test_a_wrong_backward_fails(
        self, dtype: torch.dtype, factor: float, half_only: bool
    ) -> None:
        report = _cast_check(dtype, 0, factor, half_only)
        assert report.status == "failed", str(report)


class _CastTanh(torch.autograd.Function):
    """``tanh`` in the ``dtype`` the forward is given, cast back; its backward casts
    itself, times ``factor`` (only where its value is below float64: ``half_only``)."""

    factor, half_only = 1.0, False

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.dtype = dtype
        return torch.tanh(x.to(dtype)).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        y = torch.tanh(x.to(ctx.dtype))
        wrong = not _CastTanh.half_only or y.dtype in HALF
        k = _CastTanh.factor if wrong else 1.0
        return (g.to(ctx.dtype) * (1 - y * y) * k).to(x.dtype), None


class _CastModel(nn.Module):
    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.l1, self.l2, self.dtype = nn.Linear(6, 8), nn.Linear(8, 3), dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.l1(x)
        return self.l2(0.5 * torch.tanh(h) + _CastTanh.apply(h, self.dtype))


class TestAModelsBackwardThatCastsItself:
    """check_module, a float64 model with ``_CastTanh`` in float16 or bfloat16: main
    failed the right model 3/3 each (trust35)."""

    @pytest.mark.parametrize(
        ("dtype", "factor", "half_only", "status"),
        [
            (torch.float16, 1.0, False, "passed"),
            (torch.bfloat16, 1.0, False, "passed"),
            (torch.float16, 1.05, True, "failed"),
            (torch.bfloat16, 0.0, False, "failed"),
        ],
    )
    def test_it_is_checked_as_a_model_of_the_stages_dtype(
        self, dtype: torch.dtype, factor: float, half_only: bool, status: str
    ) -> None:
        torch.manual_seed(0)
        m = _CastModel(dtype).double()
        x, y = torch.randn(10, 6, dtype=torch.float64), torch.randn(10, 3, dtype=torch.float64)
        _CastTanh.factor, _CastTanh.half_only = factor, half_only
        try:
            report = gt.check_module(m, lambda mm: ((mm(x) - y) ** 2).mean())
        finally:
            _CastTanh.factor, _CastTanh.half_only = 1.0, False
        assert report.status == status, str(report)


def _cast_only(shape: str, seed: int, drop: bool = False) -> Any:
    """attack37 H182's shapes: ``0.5 Σ sin(t)`` plus a term rounded by a cast alone; with
    ``drop``, autograd's gradient without that term's (a wrong backward)."""
    torch.manual_seed(seed)
    a = torch.randn(20, dtype=torch.float64)
    b = torch.randn(20, 20, dtype=torch.float64) / 20**0.5
    x = torch.randn(20, dtype=torch.float64, requires_grad=True)
    terms = {
        "castmid": lambda t: (a * t.sin()).half().double().sum(),
        "castmat": lambda t: torch.tanh((b @ t).half().double()).sum(),
        "to_mid": lambda t: (a * t.sin()).to(torch.bfloat16).to(torch.float64).sum(),
    }

    def fn(t: torch.Tensor) -> torch.Tensor:
        term = terms[shape](t)
        if drop:  # the term's value, no gradient through it
            term = term.detach() + 0 * t.sum()
        return 0.5 * t.sin().sum() + term

    return gt.check_function(fn, x)


class TestACastOnlyStage:
    """attack37 H182: main failed autograd's right gradient 3/3 in each shape ("the
    backward (autograd.grad) is wrong"): the cast was not recorded as a stage."""

    @pytest.mark.parametrize("shape", ["castmid", "castmat", "to_mid"])
    def test_autograds_gradient_passes(self, shape: str) -> None:
        report = _cast_only(shape, 0)
        assert report.status == "passed", str(report)
        assert "(aten::_to_copy first)" in str(report)

    @pytest.mark.parametrize("shape", ["castmid", "to_mid"])
    def test_a_backward_without_the_stage_fails(self, shape: str) -> None:
        assert _cast_only(shape, 0, drop=True).status == "failed"


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

    def test_a_cast_of_a_tensor_with_grad_is_a_stage(self) -> None:
        # attack37 H182: a stage made by a cast alone rounds there
        x = torch.ones(3, dtype=torch.float64, requires_grad=True)
        with Stages() as stages:
            (x.sin() * 2).half().double().sum()
        assert stages.below([x]) == Stage("float16", "aten::_to_copy", "float64")
        with Stages() as stages:
            (x * torch.ones(3, dtype=torch.float64).half()).sum()  # a constant's cast
            x.double().float().double().sum()  # a float32 one: no half stage
        assert stages.below([x]) == Stage("float32", "aten::_to_copy", "float64")

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
