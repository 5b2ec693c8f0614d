"""The float64 copy computes in float64 whatever tensors the loss brings
(gradcheck._torch_widen; attack25 G1)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import gradcheck.torch as gt
from _wrong_by import RIGHT_AND_WRONG, expect, smaller_error_over_seeds
from gradcheck._torch_widen import Widen, as_written, backwards


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

    def test_as_written_turns_it_off(self) -> None:
        # the round-off reference runs the model's casts as written (attack27 H47)
        x = torch.ones(2, dtype=torch.float64)
        with Widen(), as_written():
            assert x.float().dtype == torch.float32
        with Widen():
            assert x.float().dtype == torch.float64

    def test_complex64_becomes_complex128(self) -> None:
        with Widen():
            out = torch.ones(2, dtype=torch.complex128) * torch.tensor(
                [1 / 3j, 1], dtype=torch.complex64
            )
        assert out.dtype == torch.complex128

    def test_other_tensors_and_in_place_operations_are_left_alone(self) -> None:
        i = torch.arange(3)
        a = torch.ones(2)
        with Widen():
            j = i * 2
            a.add_(1)  # in place on the user's float32 tensor: it lands there
            bits = a.view(torch.int32)  # a bit-level view: the float32 bits
            k = torch.ones(2, dtype=torch.float64).to(torch.int64)
        assert j.dtype == torch.int64 and k.dtype == torch.int64
        assert a.dtype == torch.float32 and a.tolist() == [2.0, 2.0]
        assert bits.tolist() == [0x40000000] * 2

    @pytest.mark.parametrize(
        "cast",
        [
            lambda x, y: x.float(),
            lambda x, y: x.half(),
            lambda x, y: x.bfloat16(),
            lambda x, y: x.to(torch.float32),
            lambda x, y: x.to("cpu", torch.float32),
            lambda x, y: x.to(dtype=torch.float32, copy=True),
            lambda x, y: x.to(y),
            lambda x, y: x.type(torch.FloatTensor),
            lambda x, y: x.type("torch.FloatTensor"),
            lambda x, y: x.type(torch.float32),
        ],
    )
    def test_a_cast_to_a_lower_precision_keeps_float64(self, cast: Any) -> None:
        """attack26 (G1 residue): a cast the loss writes kept float32 in the copy."""
        x = torch.tensor([1 / 3, 2 / 3], dtype=torch.float64, requires_grad=True)
        with Widen():
            out = cast(x, torch.ones(2))
            (g,) = torch.autograd.grad((out * out).sum(), x)
        assert out.dtype == torch.float64 and g.dtype == torch.float64
        assert torch.equal(out, x) and torch.equal(g, 2 * x)

    def test_a_dtype_asked_of_an_operation_is_float64(self) -> None:
        x = torch.tensor([1 / 3, 2 / 3], dtype=torch.float64)
        with Widen():
            total = x.sum(dtype=torch.float32)
            soft = torch.softmax(x, 0, dtype=torch.float16)
        assert total.dtype == soft.dtype == torch.float64
        assert total.item() == x.sum().item()
        assert torch.equal(soft, torch.softmax(x, 0))

    def test_float_of_a_float64_tensor_is_the_tensor(self) -> None:
        x = torch.ones(2, dtype=torch.float64)
        with Widen():
            assert x.float() is x and x.to(torch.float32) is x
            z = x.cfloat()
        assert z.dtype == torch.complex128

    def test_tensors_made_from_no_tensor_keep_their_values_in_float64(self) -> None:
        torch.manual_seed(0)
        drawn = torch.randn(3)
        torch.manual_seed(0)
        with Widen():
            made = [
                torch.tensor(0.1, dtype=torch.float32),
                torch.tensor(0.1),  # the default dtype
                torch.zeros(2, dtype=torch.float32),
                torch.arange(3) / 3,
                torch.randn(3),
            ]
        assert all(t.dtype == torch.float64 for t in made)
        assert made[0].item() == made[1].item() == torch.tensor(0.1).item()
        assert made[3].tolist() == (torch.arange(3) / 3).double().tolist()
        assert torch.equal(made[4], drawn.double())

    def test_an_out_tensor_is_the_one_written(self) -> None:
        out = torch.zeros(2)
        with Widen():
            torch.add(torch.ones(2, dtype=torch.float64), 1, out=out)
        assert out.dtype == torch.float32 and out.tolist() == [2.0, 2.0]


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

    @RIGHT_AND_WRONG
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
        expect(report, factor, "route")
        assert y.dtype == torch.float32

    @RIGHT_AND_WRONG
    def test_check_function_with_captured_float32_tensors(self, factor: float) -> None:
        tanh = _tanh(factor)
        torch.manual_seed(2)
        x = torch.randn(64, 8, requires_grad=True)
        w, y = torch.randn(8, 1), (torch.rand(64, 1) > 0.5).float()

        def fn(t: torch.Tensor) -> torch.Tensor:
            return nn.functional.binary_cross_entropy_with_logits(tanh.apply(t) @ w, y)

        report = gt.check_function(fn, x, modes=("rev",))
        expect(report, factor, "route")
        assert not any("could not be used" in m for m in report.messages)


def _scale(factor: float) -> Any:
    class Scale(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
            return x * 1.0

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
            return g * factor  # off by `factor` in every dtype

    return Scale


#: Losses that cast the float64 copy's output back to float32 (attack26 G1 residue).
_CAST_LOSSES = {
    "float": lambda o, y: nn.functional.mse_loss(o.float(), y),
    "to": lambda o, y: nn.functional.mse_loss(o.to(torch.float32), y),
    "to_tensor": lambda o, y: nn.functional.mse_loss(o.to(y), y),
    "type_class": lambda o, y: nn.functional.mse_loss(o.type(torch.FloatTensor), y),
    "type_name": lambda o, y: nn.functional.mse_loss(o.type("torch.FloatTensor"), y),
    "cross_entropy": lambda o, y: nn.functional.cross_entropy(o.float(), y.argmax(1)),
    "constant": lambda o, y: ((o.float() - y) ** 2).mean() * torch.tensor(0.7, dtype=torch.float32),
    "sum_dtype": lambda o, y: ((o - y) ** 2).sum(dtype=torch.float32),
    "zeros_setitem": lambda o, y: _set_into_zeros(o - y),
}


def _set_into_zeros(d: torch.Tensor) -> torch.Tensor:
    z = torch.zeros(d.shape[0], dtype=torch.float32)
    z[:] = d.sum(1)
    return (z**2).mean()


class TestCastsInTheLoss:
    """attack26 (G1 residue, attack25 g28): a loss casting to float32 itself
    (``F.mse_loss(m(x).float(), y)``) kept the "float64" copy's loss float32, and a
    backward off by ×1.002 (×1.0005) in every dtype passed on 3 seeds of 3 in ten cast
    forms; now every one fails and the right backward passes."""

    @staticmethod
    def _check(form: str, factor: float, seed: int) -> Any:
        scale = _scale(factor)

        class M(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.l1, self.l2 = nn.Linear(5, 7), nn.Linear(7, 3)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.l2(scale.apply(torch.tanh(self.l1(x))))

        torch.manual_seed(seed)
        m, x, y = M(), torch.randn(6, 5), torch.randn(6, 3)
        state = {k: v.clone() for k, v in m.state_dict().items()}
        report = gt.check_module(m, lambda mm: _CAST_LOSSES[form](mm(x), y))
        assert all(torch.equal(state[k], v) for k, v in m.state_dict().items())
        assert m.l1.weight.dtype == torch.float32 and y.dtype == torch.float32
        return report

    @RIGHT_AND_WRONG
    @pytest.mark.parametrize("form", sorted(_CAST_LOSSES))
    def test_check_module(self, form: str, factor: float) -> None:
        report = self._check(form, factor, 0)
        expect(report, factor, "route", "numeric_dtype")

    @smaller_error_over_seeds
    def test_a_smaller_error_over_seeds(self, factor: float, seed: int) -> None:
        report = self._check("float", factor, seed)
        expect(report, factor)

    @RIGHT_AND_WRONG
    def test_check_function_with_a_cast(self, factor: float) -> None:
        scale = _scale(factor)
        torch.manual_seed(3)
        x = torch.randn(4, 5, requires_grad=True)
        report = gt.check_function(lambda a: torch.tanh(scale.apply(a).float()), x)
        expect(report, factor, "numeric_dtype")
        assert x.dtype == torch.float32

    def test_a_cast_it_cannot_widen_falls_back_and_says_so(self) -> None:
        """A bit-level view of the copy's float64 output has another shape: the copy
        raises, and the check runs in float32, saying so (``numeric_dtype``)."""
        torch.manual_seed(4)
        m, x, y = nn.Linear(5, 3), torch.randn(6, 5), torch.randn(6, 3)

        def loss(mm: nn.Module) -> torch.Tensor:
            o = mm(x)
            return (torch.where(o.view(torch.int32) < 0, -o, o) - y).pow(2).mean()

        report = gt.check_module(m, loss)
        assert report.options["route"] == "same"
        assert report.options["numeric_dtype"] == "float32"
        assert any("could not be used" in msg for msg in report.messages)


_dropout = torch.nn.functional.dropout


def _dtype_dropout(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    """``F.dropout`` whose mask depends on the tensor's dtype, as CUDA's kernel does (an
    H200 drew other float64 masks than float32 ones from one seed; tools/gpu_check.py)."""
    if torch.overrides.has_torch_function_unary(input):
        return torch.overrides.handle_torch_function(  # type: ignore[no-any-return]
            _dtype_dropout, (input,), input, p=p, training=training, inplace=inplace
        )
    if training and input.dtype == torch.float64:
        torch.rand(3)  # another draw pattern
    return _dropout(input, p, training, inplace)


_dtype_dropout.__name__ = "dropout"


class _HalfCos(torch.autograd.Function):
    """``sin``, whose backward casts to float16 itself (as a Function given the dtype of
    its stage does)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return g * x.half().cos()


class TestCustomFunctionBackwards:
    """trust35: autograd runs a custom Function's backward outside any TorchFunctionMode,
    so its own casts computed the float64 copy's gradient in float16."""

    x = torch.linspace(0.1, 1.0, 5, dtype=torch.float64)

    def _grad(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        (g,) = torch.autograd.grad(out.sum(), x)
        return g

    def test_the_backward_runs_widened(self) -> None:
        x = self.x.clone().requires_grad_()
        with Widen():
            out = backwards(_HalfCos.apply(x) * 2)
        assert torch.equal(self._grad(out, x), 2 * self.x.cos())

    def test_without_it_the_backward_computes_in_float16(self) -> None:
        x = self.x.clone().requires_grad_()
        with Widen():
            out = _HalfCos.apply(x) * 2
        assert torch.equal(self._grad(out, x), 2 * self.x.half().cos().double())

    def test_a_graph_made_before_the_mode_is_left_alone(self) -> None:
        x = self.x.clone().requires_grad_()
        before = _HalfCos.apply(x)  # the user's own graph, reached through a tensor
        with Widen():
            mine = _HalfCos.apply(x)
            out = backwards(before * 2 + mine)
        assert "apply" not in vars(before.grad_fn) and "apply" in vars(mine.grad_fn)
        assert torch.equal(self._grad(out, x), 2 * self.x.half().cos().double() + self.x.cos())

    def test_nothing_is_touched_without_the_mode_or_grad(self) -> None:
        x = self.x.clone().requires_grad_()
        plain = _HalfCos.apply(x)
        with Widen(), as_written():
            written = _HalfCos.apply(x)
            assert backwards(written) is written
        assert backwards(plain) is plain
        assert "apply" not in vars(plain.grad_fn) and "apply" not in vars(written.grad_fn)
        with Widen(), torch.no_grad():
            assert backwards(_HalfCos.apply(x)).grad_fn is None


class TestDropoutMasks:
    """The float64 copy keeps the model's dropout masks, whatever dtype draws them."""

    def test_the_mask_is_the_one_the_model_dtype_draws(self, monkeypatch: Any) -> None:
        monkeypatch.setattr(torch.nn.functional, "dropout", _dtype_dropout)
        x = torch.randn(200)
        torch.manual_seed(3)
        user = torch.nn.functional.dropout(x, 0.3)
        torch.manual_seed(3)
        with Widen(torch.float32):
            wide = torch.nn.functional.dropout(x.double(), 0.3)
        assert wide.dtype == torch.float64
        assert torch.equal(wide == 0, user == 0)
        assert torch.allclose(wide, user.double(), rtol=1e-6, atol=0)
        torch.manual_seed(3)
        with Widen():  # no dtype given: drawn in float64, another mask here
            assert not torch.equal(torch.nn.functional.dropout(x.double(), 0.3) == 0, user == 0)

    @pytest.mark.parametrize("inplace", [False, True])
    def test_a_model_with_dtype_dependent_masks_keeps_the_float64_route(
        self, inplace: bool, monkeypatch: Any
    ) -> None:
        """Before, its float64 copy computed another loss (other masks): checked in
        float32 instead, inconclusive with every bound widened (CNN + BatchNorm + dropout
        on an H200: tools/gpu_check.py)."""
        monkeypatch.setattr(torch.nn.functional, "dropout", _dtype_dropout)
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Linear(6, 8), nn.Dropout(0.3, inplace=inplace), nn.Tanh(), nn.Linear(8, 2)
        )
        x = torch.randn(5, 6)
        report = gt.check_module(model, lambda m: m(x).square().mean())
        assert report.options["route"] == "float64", str(report)
        assert report.status == "passed", str(report)
