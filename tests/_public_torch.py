"""Public PyTorch cases: the tutorials' and the documentation's autograd Functions.

Each ``autograd.Function`` is transcribed (restyled) from the source named on its
case; a ``bug`` argument plants one mistake in its backward. They are checked with
``gradcheck.torch.check_function`` and ``torch.autograd.gradcheck``, both at defaults.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import gradcheck.torch as gt
from _public_base import Case, Run, Source, Variant, guarded

__all__ = ["CASES", "PYTORCH", "Tensor", "randn", "torch_run", "x_tensor"]

Tensor = torch.Tensor
_BSD = "BSD-3-Clause"


def torch_run(fn: Callable[..., Any], *inputs: Any) -> Callable[[], Run]:
    """A runner: gradcheck's ``check_function`` and torch's gradcheck, both at defaults.

    Torch's gradcheck warns that float32 inputs will likely fail; that warning (an error
    under this suite's ``filterwarnings``) is silenced: its verdict is what is recorded.
    """

    def run() -> Run:
        report, error = guarded(lambda: gt.check_function(fn, *inputs))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Input #\\d+ requires gradient and is not a double")
            try:
                peer = bool(torch.autograd.gradcheck(fn, inputs, raise_exception=False))
            except RuntimeError:
                peer = False
        return Run(report, peer, None, error)

    return run


def _float32(inputs: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        t.detach().float().requires_grad_(True) if isinstance(t, Tensor) else t for t in inputs
    )


def x_tensor(*values: float) -> Tensor:
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def randn(seed: int, *shape: int) -> Tensor:
    g = np.random.default_rng(seed).standard_normal(shape)
    return torch.tensor(g, dtype=torch.float64, requires_grad=True)


def legendre3(bug: bool) -> Callable[..., Any]:
    """``LegendrePolynomial3``: P3(x) = (5x³ − 3x) / 2, P3'(x) = 3 (5x² − 1) / 2."""

    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            ctx.save_for_backward(x)
            return 0.5 * (5 * x**3 - 3 * x)

        @staticmethod
        def backward(ctx: Any, grad_output: Tensor) -> Tensor:
            (x,) = ctx.saved_tensors
            return grad_output * (3.0 if bug else 1.5) * (5 * x**2 - 1)

    return LegendrePolynomial3.apply  # type: ignore[no-any-return]


def my_relu(bug: bool) -> Callable[..., Any]:
    """``MyReLU``: clamp(min=0); the gradient is zeroed where the input is negative."""

    class MyReLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx: Any, grad_output: Tensor) -> Tensor:
            (x,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[(x > 0) if bug else (x < 0)] = 0
            return grad_input

    return MyReLU.apply  # type: ignore[no-any-return]


def linear(bug: bool) -> Callable[..., Any]:
    """``LinearFunction``: input @ weight.T + bias."""

    class LinearFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
            ctx.save_for_backward(x, weight, bias)
            return x.mm(weight.t()) + bias.unsqueeze(0).expand(x.shape[0], -1)

        @staticmethod
        def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, ...]:
            x, weight, _ = ctx.saved_tensors
            grad_weight = x.t().mm(grad_output) if bug else grad_output.t().mm(x)
            return grad_output.mm(weight), grad_weight, grad_output.sum(0)

    return LinearFunction.apply  # type: ignore[no-any-return]


def mul_constant(bug: bool) -> Callable[..., Any]:
    """``MulConstant``: tensor * constant, the constant a non-tensor argument."""

    class MulConstant(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor, constant: float) -> Tensor:
            ctx.constant = constant
            return x * constant

        @staticmethod
        def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, None]:
            return (grad_output if bug else grad_output * ctx.constant), None

    return MulConstant.apply  # type: ignore[no-any-return]


def my_cube(bug: bool) -> Callable[..., Any]:
    """``MyCube``: returns (x³, 3x²); backward adds the second output's ``grad_dx · 6x``."""

    class MyCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> tuple[Tensor, Tensor]:
            dx = 3 * x**2
            ctx.save_for_backward(x, dx)
            return x**3, dx

        @staticmethod
        def backward(ctx: Any, grad_output: Tensor, grad_dx: Tensor) -> Tensor:
            x, dx = ctx.saved_tensors
            return grad_output * dx + (0 if bug else grad_dx * 6 * x)

    return MyCube.apply  # type: ignore[no-any-return]


def exp(bug: bool) -> Callable[..., Any]:
    """``Exp`` (the ``torch.autograd.Function`` docstring): saves the result."""

    class Exp(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, i: Tensor) -> Tensor:
            result = i.exp()
            ctx.save_for_backward(i if bug else result)
            return result

        @staticmethod
        def backward(ctx: Any, grad_output: Tensor) -> Tensor:
            (saved,) = ctx.saved_tensors
            return grad_output * saved

    return Exp.apply  # type: ignore[no-any-return]


def _src(repo: str, path: str, commit: str, what: str) -> Source:
    return Source(repo, path, commit, _BSD, what)


_TUTORIALS = "pytorch/tutorials"
PYTORCH = "pytorch/pytorch"
_EXTENDING = ("docs/source/notes/extending.rst", "9457fcf98d74285b60d498b0669cec01b5d23bbb")


def _pair(
    name: str,
    source: Source,
    make: Callable[[bool], Callable[..., Any]],
    bug: str,
    wrong: tuple[str, ...],
    *inputs: Any,
    float32: bool = False,
) -> Case:
    variants = [
        Variant("published", "passed", torch_run(make(False), *inputs)),
        Variant(f"bug: {bug}", "failed", torch_run(make(True), *inputs), wrong),
    ]
    if float32:
        f32, why = _float32(inputs), "float32, as the tutorial runs it"
        variants += [
            Variant(f"published, {why}", "passed", torch_run(make(False), *f32)),
            Variant(f"bug: {bug}, {why}", "failed", torch_run(make(True), *f32), wrong),
        ]
    return Case(name, "torch", source, tuple(variants))


CASES: tuple[Case, ...] = (
    _pair(
        "torch tutorial LegendrePolynomial3",
        _src(
            _TUTORIALS,
            "beginner_source/examples_autograd/polynomial_custom_function.py",
            "c53e7d4efc0e39e455c531d21ec7db28ba220214",
            "LegendrePolynomial3 forward/backward",
        ),
        legendre3,
        "factor 2",
        ("input0",),
        randn(21, 6),
        float32=True,
    ),
    _pair(
        "torch tutorial MyReLU",
        _src(
            _TUTORIALS,
            "beginner_source/examples_autograd/two_layer_net_custom_function.py",
            "8bcd0ac63dff35599649fc78711b6c155717823f",
            "MyReLU forward/backward",
        ),
        my_relu,
        "mask inverted",
        ("input0",),
        randn(22, 3, 4),
        float32=True,
    ),
    _pair(
        "torch docs LinearFunction",
        _src(
            PYTORCH,
            *_EXTENDING,
            "LinearFunction (combined forward and context), bias always given",
        ),
        linear,
        "missing transpose in grad_weight",
        ("input1",),
        randn(23, 4, 3),
        randn(24, 3, 3),
        randn(25, 3),
    ),
    _pair(
        "torch docs MulConstant",
        _src(PYTORCH, *_EXTENDING, "MulConstant"),
        mul_constant,
        "constant forgotten",
        ("input0",),
        randn(26, 5),
        2.5,
    ),
    _pair(
        "torch docs MyCube (two outputs)",
        _src(PYTORCH, *_EXTENDING, "MyCube"),
        my_cube,
        "second output's term missing",
        ("out[1]/input0",),
        randn(27, 4),
    ),
    _pair(
        "torch docs Exp",
        _src(
            PYTORCH,
            "torch/autograd/function.py",
            "593e2fee9dbe6b0572027151bc704466225e9bdd",
            "Exp (Function's docstring example)",
        ),
        exp,
        "saved the input, not the result",
        ("input0",),
        randn(28, 5),
    ),
)
